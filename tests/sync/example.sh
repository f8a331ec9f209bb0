#!/bin/bash
# examples/shared-counter does what its comment promises: under each of the
# seven primitives N processes reach exactly N x COUNT increments, and
# after a holder is killed the next process is told and repairs (mutex),
# finds the lock released (SEM_UNDO, file locks), or finds it still taken
# (POSIX semaphores). Usage errors exit 2.
set -u
EXE=${1:?usage: $0 SHARED-COUNTER}
case ${MESON_EXE_WRAPPER:-} in
*qemu*)
	echo "SKIP: shared-counter's robust mutex needs the kernel's robust lists, which" \
		"qemu-user does not keep (test-sync_mutex checks that ipk_mutex_init refuses)"
	exit 77
	;;
esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

"$EXE" --help >"$T/out" 2>&1 || fail "--help: exit $?"
grep -q '^Usage: shared-counter' "$T/out" || fail "--help: $(cat "$T/out")"
"$EXE" --procs 0 >"$T/out" 2>&1
[ $? -eq 2 ] || fail "--procs 0: want exit 2"
grep -q "bad --procs '0'" "$T/out" || fail "--procs 0: $(cat "$T/out")"
"$EXE" extra >/dev/null 2>&1
[ $? -eq 2 ] || fail "operand: want exit 2"

"$EXE" --procs 3 --count 2000 >"$T/out" 2>"$T/err" &
pid=$!
wait $pid || fail "exit $?: $(cat "$T/out" "$T/err")"
cat "$T/out"
for p in mutex posix-sem unnamed-sem sysv-sem flock fcntl ofd; do
	grep -Eq "^$p +3 x 2000 increments: counter 6000 \(ok\), [0-9]+ ops/s$" "$T/out" ||
		fail "$p: no correct count line"
done
grep -Eq '^recovery: mutex +holder [0-9]+ killed; next locker was told \(IPK_MUTEX_OWNER_DIED\), repaired the counter, marked it consistent: ok$' "$T/out" ||
	fail "mutex recovery"
for p in sysv-sem flock fcntl ofd; do
	grep -Eq "^recovery: $p +holder [0-9]+ killed; the lock was released, nobody was told; the journal shows a half-done update \(repaired\)$" "$T/out" ||
		fail "$p recovery"
done
for p in posix-sem unnamed-sem; do
	grep -Eq "^recovery: $p +holder [0-9]+ killed; still taken: nothing undoes a POSIX semaphore's wait \(ETIMEDOUT\)$" "$T/out" ||
		fail "$p: want still taken"
done
# nothing left behind: no semaphore, no lock file (both are named by its pid)
[ -e "/dev/shm/sem.shared-counter-$pid" ] && fail "left its named semaphore in /dev/shm"
[ -e "/tmp/shared-counter-$pid.lock" ] && fail "left its lock file in /tmp"
exit 0
