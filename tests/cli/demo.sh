#!/bin/bash
# `ipckit demo` runs every transport, prints one row each, reaps its peers
# and leaves nothing under /tmp.
. "$(dirname "$0")/lib.sh"

start demo "$IPCKIT" demo --count 200 --sizes 64
finish demo 0
[ -s "$T/demo.err" ] && fail "demo wrote to stderr: $(cat "$T/demo.err")"
head -1 "$T/demo.out" | grep -q '^transport  *size  *p50 (µs)  *p99 (µs)  *msgs/s$' ||
	fail "header: $(head -1 "$T/demo.out")"
for t in pipe fifo unix unix+dgram unix+seqpacket tcp; do
	# name, size, p50, p99, msgs/s with p50 <= p99
	row=$(grep -E "^${t/+/\\+} +64 +[0-9.]+ +[0-9.]+ +[0-9]+$" "$T/demo.out") ||
		fail "no row for $t in: $(cat "$T/demo.out")"
	awk '{ exit !($3 > 0 && $3 <= $4 && $5 > 0) }' <<<"$row" || fail "$t: bad numbers: $row"
done
[ "$(wc -l <"$T/demo.out")" -eq 7 ] || fail "want header + 6 rows: $(cat "$T/demo.out")"
left=$(ls /tmp/ipckit-demo-"$demo"* 2>/dev/null)
[ -z "$left" ] || fail "left behind: $left"

# Two sizes: a row per transport and size, the larger over the default
# msgsize (the demo raises it).
start demo "$IPCKIT" demo --count 20 --sizes 100,70000
finish demo 0
[ "$(grep -cE ' 100 ' "$T/demo.out")" -eq 6 ] || fail "size 100: $(cat "$T/demo.out")"
[ "$(grep -cE ' 70000 ' "$T/demo.out")" -eq 6 ] || fail "size 70000: $(cat "$T/demo.out")"
# Peers that cannot keep up (a 10 µs limit per step: no child even starts
# that fast) make the demo fail with one line per transport, reap its
# children and still remove everything it or they created.
start demo "$IPCKIT" demo --count 10 --sizes 64 --timeout 0.00001
finish demo 1
grep -qv '^ipckit demo: [a-z+]*: ' "$T/demo.err" && fail "stray stderr: $(cat "$T/demo.err")"
[ "$(grep -c '^ipckit demo: ' "$T/demo.err")" -ge 1 ] || fail "no error reported"
left=$(ls /tmp/ipckit-demo-"$demo"* 2>/dev/null)
[ -z "$left" ] || fail "left behind after failures: $left"
exit 0
