#!/bin/bash
# tests/cli/ring_version.sh - a ring made by another ipckit release (another
# layout version in its header) is a clear error for `ipckit sub`, and
# `ipckit ls` and `stat` say what it is; the ring itself is left alone and
# its publisher still removes it at the end.
. "$(dirname "$0")/lib.sh"
B=$IPCKIT

R=/ipk-cli-version-$$
trap 'rm -f "/dev/shm$R" "/dev/shm$R-bell"; cleanup' EXIT
mkfifo "$T/in"
exec 3<>"$T/in"
start pub "$B" pub "shm:$R" <"$T/in" 3>&-
for i in $(seq 500); do
	[ -e "/dev/shm$R-bell" ] && break
	sleep 0.01
done
[ -e "/dev/shm$R-bell" ] || fail "no ring at $R"
# The layout version is the header's second 32-bit word: make it 3.
version() { od -An -tu4 -j4 -N4 "/dev/shm$R" | tr -d ' '; }
[ "$(version)" = 4 ] || fail "this release's layout is $(version), want 4"
printf '\003\000\000\000' | dd of="/dev/shm$R" bs=1 seek=4 conv=notrunc status=none
ino=$(stat -c %i "/dev/shm$R")

run 1 "$B" sub "shm:$R" --count 1
err_is "^ipckit sub: shm:$R: Protocol not supported \(EPROTONOSUPPORT\): a ring of another layout version; its publisher and subscribers must run the same ipckit release$"
echo "sub: $(cat "$T/run.err")"
run 0 "$B" ls
grep -E "^ +$R .*another layout version \(EPROTONOSUPPORT\)" "$T/run.out" >/dev/null ||
	fail "ls: $(grep -- "$R" "$T/run.out")"
run 0 "$B" stat "shm:$R"
grep -q "header:  another layout version (EPROTONOSUPPORT)" "$T/run.out" ||
	fail "stat: $(cat "$T/run.out")"
[ "$(stat -c %i "/dev/shm$R"):$(version)" = "$ino:3" ] || fail "the ring was touched"

# Its publisher ends as usual and removes what it made.
printf '\004\000\000\000' | dd of="/dev/shm$R" bs=1 seek=4 conv=notrunc status=none
exec 3>&-
finish pub 0
[ ! -e "/dev/shm$R" ] && [ ! -e "/dev/shm$R-bell" ] || fail "left behind: $(ls /dev/shm | grep -- "${R#/}")"
echo "ls and stat say 'another layout version'; the publisher removed its ring"
