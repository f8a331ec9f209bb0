#!/bin/bash
# tests/bench/check_plot.sh IPCKIT - `ipckit bench --plot` draws an SVG and a
# PNG with gnuplot; skips (77) where gnuplot is not installed.
set -u
IPCKIT=$1
command -v gnuplot >/dev/null 2>&1 || { echo "SKIP: gnuplot not installed (gnuplot-nox)"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for ext in svg png; do
	"$IPCKIT" bench --only limit,pipe,pipe-raw --sizes 64,4096 --time 0.005 \
		--plot "$T/b.$ext" >"$T/out" 2>"$T/err" || { echo "FAIL: --plot $ext: $(cat "$T/err")"; exit 1; }
	[ -s "$T/b.$ext" ] || { echo "FAIL: $T/b.$ext is empty"; exit 1; }
done
grep -q "<svg" "$T/b.svg" || { echo "FAIL: b.svg is not SVG"; exit 1; }
grep -q "pipe-raw" "$T/b.svg" || { echo "FAIL: b.svg has no pipe-raw line"; exit 1; }
[ "$(head -c 4 "$T/b.png" | tail -c 3)" = PNG ] || { echo "FAIL: b.png is not PNG"; exit 1; }
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
