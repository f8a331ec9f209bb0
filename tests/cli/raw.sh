#!/bin/bash
# --raw moves binary data as one message, byte for byte; a message over
# msgsize= is refused with EMSGSIZE and a hint, not cut.
. "$(dirname "$0")/lib.sh"

head -c 100000 /dev/urandom >"$T/in"
# NUL and newline bytes must survive too.
printf 'a\0b\nc\0' >>"$T/in"

for url in "unix:$T/raw.sock" "unix+seqpacket:$T/rawseq.sock" "fifo:$T/raw.fifo" \
	"tcp:127.0.0.1:$(free_port)"; do
	url="$url?msgsize=200000"
	start rx "$IPCKIT" recv --raw --timeout 20 "$url"
	run 0 "$IPCKIT" send --raw --timeout 20 "$url" <"$T/in"
	finish rx 0
	same_file "$T/rx.out" "$T/in"
done

# Datagrams: the whole message must fit the socket's send buffer, which
# the library raises to msgsize= but the kernel caps at net.core.wmem_max.
# 100 KB fits the cap of most hosts. Where it does not, the refusal must
# name the error and the cap must explain it, and a datagram that fits
# this host is then checked byte for byte instead: the check always runs.
url="unix+dgram:$T/rawd.sock?msgsize=200000"
start rx "$IPCKIT" recv --raw --count 1 --timeout 20 "$url"
if "$IPCKIT" send --raw --timeout 20 "$url" <"$T/in" 2>"$T/dgram.err"; then
	finish rx 0
	same_file "$T/rx.out" "$T/in"
else
	grep -q EMSGSIZE "$T/dgram.err" || grep -q ENOBUFS "$T/dgram.err" ||
		fail "dgram raw send: $(cat "$T/dgram.err")"
	wmem=$(cat /proc/sys/net/core/wmem_max) ||
		fail "100 KB datagram refused and net.core.wmem_max unreadable: $(cat "$T/dgram.err")"
	[ "$wmem" -lt $((100006 + 1024)) ] ||
		fail "100 KB datagram refused although net.core.wmem_max is $wmem: $(cat "$T/dgram.err")"
	head -c $((wmem / 2)) /dev/urandom >"$T/fit"
	run 0 "$IPCKIT" send --raw --timeout 20 "$url" <"$T/fit"
	finish rx 0
	same_file "$T/rx.out" "$T/fit"
	echo "raw.sh: net.core.wmem_max is $wmem: a datagram of $((wmem / 2)) bytes checked instead of 100 KB" >&2
fi

# Without msgsize= the default maximum (65536) applies: refused, exit 1.
start rx "$IPCKIT" recv --raw --timeout 20 "unix:$T/small.sock"
run 1 "$IPCKIT" send --raw --timeout 20 "unix:$T/small.sock" <"$T/in"
err_is "^ipckit send: unix:$T/small.sock: .*\(EMSGSIZE\).*65536.*msgsize="
finish rx 0
[ -s "$T/rx.out" ] && fail "a refused message still arrived ($(wc -c <"$T/rx.out") bytes)"

# A sender allowed more than the receiver: the receiver refuses the message
# (EPROTO) and names its maximum, instead of cutting it.
start rx "$IPCKIT" recv --raw --timeout 20 "unix:$T/less.sock"
# (The sender may or may not see the connection shut down mid-write.)
start tx "$IPCKIT" send --raw --timeout 20 "unix:$T/less.sock?msgsize=200000" <"$T/in"
finish rx 1
wait "$tx"
grep -q '(EPROTO).*65536.*msgsize=' "$T/rx.err" || fail "receiver: $(cat "$T/rx.err")"
[ -s "$T/rx.out" ] && fail "receiver printed part of a refused message"

# Exactly the maximum passes.
head -c 65536 /dev/urandom >"$T/max"
start rx "$IPCKIT" recv --raw --timeout 20 "unix:$T/max.sock"
run 0 "$IPCKIT" send --raw --timeout 20 "unix:$T/max.sock" <"$T/max"
finish rx 0
same_file "$T/rx.out" "$T/max"
exit 0
