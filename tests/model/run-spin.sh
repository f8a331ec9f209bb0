#!/bin/sh
# tests/model/run-spin.sh MODEL - check a SPIN model exhaustively: the model
# as written must verify without errors, and each BUG_* variant it names
# must fail (so the model can tell right from wrong). Exit 77 without spin
# or a C compiler.
set -eu
model=$(realpath "$1")
command -v spin >/dev/null 2>&1 || { echo "SKIP: spin is not installed (Debian package spin)"; exit 77; }
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { echo "SKIP: no C compiler for pan"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

# Usage: check VARIANT → prints the number of errors pan found
check() {
	rm -f pan pan.c pan.h pan.t pan.m pan.b pan.p ./*.trail
	if [ "$1" = none ]; then spin -a "$model" >/dev/null; else spin -D"$1" -a "$model" >/dev/null; fi
	# no sanitizer flags for the checker itself
	env -u CFLAGS "$cc" -O2 -DSAFETY -DNOFAIR -DMEMLIM=1024 -o pan pan.c 2>/dev/null
	# bounded: a model that outgrows 1 GiB or a minute is a failure
	timeout 60 ./pan -m100000 >out 2>&1 || true
	sed -n 's/.*errors: \([0-9]*\).*/\1/p' out | head -1
}

errs=$(check none)
grep -E 'states, stored|errors:' out
if [ "$errs" != 0 ]; then
	echo "FAIL: the model has errors:"; cat out; exit 1
fi
for bug in $(grep -o "BUG_[A-Z]*" "$model" | sort -u); do
	errs=$(check "$bug")
	if [ -z "$errs" ] || [ "$errs" = 0 ]; then
		echo "FAIL: variant $bug verified, but it is wrong"; cat out; exit 1
	fi
	echo "$bug: $errs error(s) found, as it should"
done
echo "ok"
