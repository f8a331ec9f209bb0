#!/bin/bash
# tests/cli/wait.sh - wait=futex|spin|adaptive on a ring subscriber's URL:
# each receives every message, and the mode is the one asked for: a
# subscriber told to spin burns CPU while it waits, one on the futex
# almost none. On mode=mpsc, wait=spin is the spinning consumer and
# wait=adaptive (which that queue does not have) is an error.
. "$(dirname "$0")/lib.sh"
B=$IPCKIT

Q=/ipk-cli-wait-$$
trap 'rm -f /dev/shm$Q* /dev/shm$Q-m*; cleanup' EXIT
TCK=$(getconf CLK_TCK)

# cpu_ticks PID: user + system time of PID so far, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

mkfifo "$T/in"
exec 3<>"$T/in"
start pub "$B" pub "shm:$Q" <"$T/in" 3>&-
for i in $(seq 500); do [ -e "/dev/shm$Q-bell" ] && break; sleep 0.01; done

for mode in futex spin adaptive; do
	start sub "$B" sub "shm:$Q?wait=$mode" --count 3 --timeout 20 </dev/null
	sleep 0.2 # it opens and waits: the ring is there, so it starts at its end
	t0=$(cpu_ticks "$sub")
	sleep 0.5
	used=$(($(cpu_ticks "$sub") - t0))
	case $mode in
	spin) [ "$used" -ge $((TCK / 20)) ] || fail "wait=spin used $used ticks in 0.5 s: not spinning" ;;
	futex) [ "$used" -le $((TCK / 50)) ] || fail "wait=futex used $used ticks in 0.5 s" ;;
	esac
	printf '%s\n' "$mode-1" "$mode-2" "$mode-3" >&3
	finish sub 0
	[ "$(tr '\n' ' ' <"$T/sub.out")" = "$mode-1 $mode-2 $mode-3 " ] ||
		fail "wait=$mode received '$(cat "$T/sub.out")'"
	echo "wait=$mode: 3 messages, $used ticks of CPU in 0.5 s of waiting ($TCK a second)"
done
exec 3>&-
finish pub 0

run 2 "$B" sub "shm:$Q?wait=busy"
err_is "wait must be 'futex', 'spin' or 'adaptive'"
run 2 "$B" recv "unix:$T/s?wait=spin"
err_is "wait= is for ring subscribers only"

# mode=mpsc: wait=spin is the spinning consumer; adaptive is refused
start cons "$B" recv "shm:$Q-m?mode=mpsc&wait=spin" --count 1 --timeout 20 </dev/null
for i in $(seq 500); do [ -e "/dev/shm$Q-m-door" ] && break; sleep 0.01; done
t0=$(cpu_ticks "$cons")
sleep 0.5
used=$(($(cpu_ticks "$cons") - t0))
[ "$used" -ge $((TCK / 20)) ] || fail "mpsc wait=spin used $used ticks in 0.5 s: not spinning"
run 0 "$B" send "shm:$Q-m?mode=mpsc" one
finish cons 0
[ "$(cat "$T/cons.out")" = one ] || fail "mpsc wait=spin received '$(cat "$T/cons.out")'"
run 1 "$B" recv "shm:$Q-m?mode=mpsc&wait=adaptive" --count 1
grep -q "Invalid argument" "$T/run.err" || fail "mpsc wait=adaptive: $(cat "$T/run.err")"
echo "mode=mpsc: wait=spin spins ($used ticks in 0.5 s), wait=adaptive refused"
exit 0
