#!/bin/bash
# tests/bench/check_plot.sh IPCKIT - `ipckit bench --plot` draws an SVG and a
# PNG with gnuplot: per size, the rows ranked in bars with the family key,
# raw twins and the limit's line; the paced chart (receiver CPU against
# latency) when there are paced cases; the throughput bars when there are
# only streams. Skips (77) where gnuplot is not installed.
set -u
IPCKIT=$1
command -v gnuplot >/dev/null 2>&1 || { echo "SKIP: gnuplot not installed (gnuplot-nox)"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for ext in svg png; do
	"$IPCKIT" bench --quick --only limit,pipe,pipe-raw,shm-ring --sizes 64,4096 --time 0.005 \
		--kinds rtt,rate --rates 5k,20k --plot "$T/b.$ext" >"$T/out" 2>"$T/err" ||
		{ echo "FAIL: --plot $ext: $(cat "$T/err")"; exit 1; }
	[ -s "$T/b.$ext" ] || { echo "FAIL: $T/b.$ext is empty"; exit 1; }
done
grep -q "<svg" "$T/b.svg" || { echo "FAIL: b.svg is not SVG"; exit 1; }
for want in pipe-raw shm-ring "64 bytes, round trip" "4096 bytes, round trip" "limit " \
	"shared memory" pipes "64 bytes, paced one-way" "4096 bytes, paced one-way" \
	"receiver CPU" "■ 5k" "● 20k msg/s"; do
	grep -q "$want" "$T/b.svg" || { echo "FAIL: b.svg has no '$want'"; exit 1; }
done
[ "$(head -c 4 "$T/b.png" | tail -c 3)" = PNG ] || { echo "FAIL: b.png is not PNG"; exit 1; }
# Two bar charts of four rows and two paced charts: taller than one of each.
h=$(od -An -tu1 -j20 -N4 "$T/b.png" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
[ "$h" -gt 1200 ] || { echo "FAIL: b.png is $h pixels high, want all four charts"; exit 1; }
# More than six rows paced: a small chart per row.
"$IPCKIT" bench --quick --only limit,pipe,pipe-raw,fifo,fifo-raw,unix-dgram,unix-dgram-raw,mq \
	--sizes 64 --time 0.005 --kinds rate --rates 20k --plot "$T/s.svg" >/dev/null 2>"$T/err" ||
	{ echo "FAIL: small charts --plot: $(cat "$T/err")"; exit 1; }
grep -q "per row: x receiver CPU" "$T/s.svg" || { echo "FAIL: s.svg has no small charts"; exit 1; }
# Streams only: bars of the time per message.
"$IPCKIT" bench --only limit,pipe,pipe-raw --sizes 64 --time 0.005 --kinds throughput \
	--plot "$T/t.svg" >/dev/null 2>"$T/err" || { echo "FAIL: throughput --plot: $(cat "$T/err")"; exit 1; }
grep -q "64 bytes, one-way stream: time per message" "$T/t.svg" ||
	{ echo "FAIL: t.svg has no throughput bars"; exit 1; }
# gnuplot's data file goes to $TMPDIR and is removed afterwards; a TMPDIR
# that is no directory is named in the error.
mkdir "$T/tmpd"
TMPDIR=$T/tmpd "$IPCKIT" bench --only limit --sizes 64 --time 0.005 --plot "$T/d.svg" \
	>/dev/null 2>"$T/err" || { echo "FAIL: TMPDIR=$T/tmpd: $(cat "$T/err")"; exit 1; }
[ -z "$(ls -A "$T/tmpd")" ] || { echo "FAIL: left in TMPDIR: $(ls -A "$T/tmpd")"; exit 1; }
TMPDIR=$T/nosuch "$IPCKIT" bench --only limit --sizes 64 --time 0.005 --plot "$T/e.svg" \
	>/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: TMPDIR missing: exit $rc, want 1"; exit 1; }
grep -q "TMPDIR $T/nosuch is not a directory" "$T/err" ||
	{ echo "FAIL: TMPDIR missing: $(cat "$T/err")"; exit 1; }
long=$T/$(printf '%4100s' '' | tr ' ' a)
TMPDIR=$long "$IPCKIT" bench --only limit --sizes 64 --time 0.005 --plot "$T/f.svg" \
	>/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: TMPDIR too long: exit $rc, want 1"; exit 1; }
grep -q "is too long" "$T/err" || { echo "FAIL: TMPDIR too long: $(cat "$T/err")"; exit 1; }
# Without gnuplot on PATH: a clear runtime error (exit 1), not a crash.
mkdir "$T/empty"
PATH=$T/empty "$IPCKIT" bench --only limit --sizes 64 --time 0.005 --plot "$T/c.svg" \
	>/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: no gnuplot: exit $rc, want 1"; exit 1; }
grep -q "gnuplot not found" "$T/err" || { echo "FAIL: no gnuplot: $(cat "$T/err")"; exit 1; }
echo ok
