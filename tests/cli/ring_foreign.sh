#!/bin/bash
# tests/cli/ring_foreign.sh - `ipckit pub` as root never adopts a ring that
# nobody left behind (mode 0666, its publisher killed): it refuses, naming
# the owner and the mode, and leaves the ring as it was. Needs root and
# setpriv for the second uid; skips otherwise.
. "$(dirname "$0")/lib.sh"
B=$IPCKIT

[ "$(id -u)" = 0 ] || skip "not root: needs a second uid (nobody)"
command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"
R=/ipk-cli-foreign-$$
trap 'rm -f "/dev/shm$R" "/dev/shm$R-bell"; cleanup' EXIT
mkfifo "$T/in"
exec 3<>"$T/in"
start pub setpriv --reuid=nobody --regid=nogroup --clear-groups "$B" pub "shm:$R?perm=0666" <"$T/in"
echo secret >&3
for i in $(seq 500); do
	[ -e "/dev/shm$R-bell" ] && break
	sleep 0.01
done
[ "$(stat -c %U:%a "/dev/shm$R")" = nobody:666 ] || fail "nobody's ring: $(ls -l "/dev/shm$R")"
kill -9 "$pub"
wait "$pub" 2>/dev/null
ino=$(stat -c %i "/dev/shm$R")
run 1 "$B" pub "shm:$R" </dev/null
err_is "shm:$R: .*\(EPERM\): a file is there, owned by uid 65534, mode 0666"
[ "$(stat -c %i:%U:%a "/dev/shm$R")" = "$ino:nobody:666" ] || fail "the ring was touched"
echo "nobody's dead 0666 ring: $(cat "$T/run.err")"
