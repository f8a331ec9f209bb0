#!/bin/bash
# tests/cli/start.sh - where `ipckit sub` and `ipckit bridge` start on a
# ring, and what they say of it ("N messages, M lost, K skipped"):
#  - a subscriber (and a bridge) that waited for the ring starts at its
#    first message, even when the publisher wrote before it looked again;
#  - one that finds the ring there starts at its end: what was there is
#    skipped, not lost;
#  - --from oldest, --from SEQ (into overwritten history: the gap is lost);
#  - --from where it cannot apply, or twice, is a usage error.
. "$(dirname "$0")/lib.sh"
B=$IPCKIT

Q=/ipk-cli-start-$$
Q2=/ipk-cli-start2-$$
H=/ipk-cli-start-h-$$
trap 'rm -f /dev/shm$Q* /dev/shm$Q2* /dev/shm$H*; cleanup' EXIT

# published N: until the ring at $1 says N messages were published.
published() {
	local i
	for i in $(seq 500); do
		"$B" stat --json "shm:$1" 2>/dev/null | grep -q "\"published\": $2[,}]" && return 0
		sleep 0.01
	done
	fail "shm:$1 never published $2: $("$B" stat "shm:$1" 2>&1 | tail -3)"
}

# waiting PID: until process PID waits for a name (an inotify watch open).
waiting() {
	local i
	for i in $(seq 500); do
		ls -l "/proc/$1/fd" 2>/dev/null | grep -q inotify && return 0
		sleep 0.01
	done
	fail "process $1 never waited for its ring"
}

# A publisher fed through a FIFO we hold open: lines go in with `feed`.
start_pub() {
	mkfifo "$T/in"
	exec 3<>"$T/in"
	start pub "$B" pub "shm:$1" <"$T/in" 3>&- # only we write to it
	for i in $(seq 500); do [ -e "/dev/shm$1-bell" ] && return; sleep 0.01; done
	fail "the publisher never made shm:$1"
}
feed() { printf '%s\n' "$@" >&3; }
stop_pub() {
	exec 3>&-
	finish pub 0
	rm -f "$T/in"
}

# --- a subscriber that waited: from the first message ------------------------
start sub "$B" sub "shm:$Q" --count 3 --timeout 10
waiting "$sub"
kill -STOP "$sub" # and does not look again until the publisher is done
start_pub "$Q"
feed a b c
published "$Q" 3
kill -CONT "$sub"
finish sub 0
printf 'a\nb\nc\n' >"$T/want"
same_file "$T/sub.out" "$T/want"
grep -qx 'ipckit sub: 3 messages, 0 lost, 0 skipped' "$T/sub.err" || fail "sub: $(cat "$T/sub.err")"
echo "sub waiting before the publisher: a b c, $(tail -1 "$T/sub.err")"

# --- one that finds it there: from the end; --from oldest: all --------------
start late "$B" sub "shm:$Q" --count 1 --timeout 10
start old "$B" sub "shm:$Q" --from oldest --count 4 --timeout 10
for i in $(seq 500); do
	[ "$("$B" stat --json "shm:$Q" | grep -o '"pid": [0-9]*' | wc -l)" -ge 3 ] && break
	sleep 0.01
done
feed d
finish late 0
finish old 0
[ "$(cat "$T/late.out")" = d ] || fail "late: $(cat "$T/late.out")"
grep -qx 'ipckit sub: 1 messages, 0 lost, 3 skipped' "$T/late.err" || fail "late: $(cat "$T/late.err")"
printf 'a\nb\nc\nd\n' >"$T/want"
same_file "$T/old.out" "$T/want"
grep -qx 'ipckit sub: 4 messages, 0 lost, 0 skipped' "$T/old.err" || fail "old: $(cat "$T/old.err")"
stop_pub
echo "late: $(tail -1 "$T/late.err"); --from oldest: $(tail -1 "$T/old.err")"

# --- a bridge that waited: from the first message too ------------------------
start bridge "$B" bridge --timeout 10 "shm:$Q" "shm:$Q2"
start sub2 "$B" sub "shm:$Q2" --count 3 --timeout 10
waiting "$bridge"
kill -STOP "$bridge"
start_pub "$Q"
feed x y z
published "$Q" 3
kill -CONT "$bridge"
finish sub2 0
printf 'x\ny\nz\n' >"$T/want"
same_file "$T/sub2.out" "$T/want"
stop_pub
finish bridge 0 # its source closed
grep -Eq 'forwarded 3, lost 0, skipped 0,' "$T/bridge.err" || fail "bridge: $(cat "$T/bridge.err")"
echo "bridge waiting before the publisher: $(tail -1 "$T/bridge.err")"

# --- --from SEQ into overwritten history -------------------------------------
run 0 "$B" pub "shm:$H?capacity=4096" --rate 0 --count 2000 --size 64 --keep
run 0 "$B" sub "shm:$H" --from 100 --quiet --timeout 5
read -r got lost skipped < <(sed -n 's/^ipckit sub: \([0-9]*\) messages, \([0-9]*\) lost, \([0-9]*\) skipped$/\1 \2 \3/p' "$T/run.err")
[ "$skipped" = 100 ] && [ "$lost" -gt 0 ] && [ $((got + lost + skipped)) = 2000 ] ||
	fail "--from 100: $(cat "$T/run.err")"
echo "--from 100 of 2000 in a 4 KiB ring: $(cat "$T/run.err")"

# --- the scenario as a user types it: sub first, then a short piped input ----
for i in 1 2 3 4 5; do
	start sub "$B" sub "shm:$Q-$i" --count 3 --timeout 10
	waiting "$sub" # started first, as in another shell
	printf 'a\nb\nc\n' | "$B" pub "shm:$Q-$i" 2>"$T/pub.err" || fail "pub: $(cat "$T/pub.err")"
	finish sub 0
	printf 'a\nb\nc\n' >"$T/want"
	same_file "$T/sub.out" "$T/want"
	grep -qx 'ipckit sub: 3 messages, 0 lost, 0 skipped' "$T/sub.err" || fail "sub: $(cat "$T/sub.err")"
	[ ! -e "/dev/shm$Q-$i" ] || fail "pub left shm:$Q-$i behind"
done
echo "sub, then printf 'a\nb\nc\n' | ipckit pub: all three, 5 times of 5"

# ... and with a bridge in the subscriber's place
start bridge "$B" bridge "shm:$Q" "shm:$Q2"
start sub2 "$B" sub "shm:$Q2" --count 3 --timeout 10
waiting "$bridge"
printf 'x\ny\nz\n' | "$B" pub "shm:$Q" 2>"$T/pub.err" || fail "pub: $(cat "$T/pub.err")"
finish sub2 0
finish bridge 0
printf 'x\ny\nz\n' >"$T/want"
same_file "$T/sub2.out" "$T/want"
grep -Eq 'forwarded 3, lost 0, skipped 0,' "$T/bridge.err" || fail "bridge: $(cat "$T/bridge.err")"
echo "bridge, then a piped pub: $(tail -1 "$T/bridge.err")"

# --- --wait-subscribers: nothing is published before they are there ----------
printf 'p\nq\n' >"$T/lines"
start pub "$B" pub "shm:$Q" --wait-subscribers 2 <"$T/lines"
for i in $(seq 500); do [ -e "/dev/shm$Q-bell" ] && break; sleep 0.01; done
start s1 "$B" sub "shm:$Q" --count 2 --timeout 10
start s2 "$B" sub "shm:$Q" --count 2 --timeout 10
finish s1 0
finish s2 0
finish pub 0
[ "$(cat "$T/s1.out" "$T/s2.out" | tr '\n' ' ')" = "p q p q " ] ||
	fail "subscribers got: $(cat "$T/s1.out" "$T/s2.out")"
run 1 "$B" pub "shm:$Q" --wait-subscribers 1 --timeout 0.2 </dev/null
grep -q "0 of 1 subscribers attached within --timeout" "$T/run.err" || fail "$(cat "$T/run.err")"
echo "--wait-subscribers 2: both got p and q; none within --timeout: exit 1"

# --- a subscriber killed with SIGKILL never keeps a lingering publisher ------
mkfifo "$T/in"
exec 3<>"$T/in"
start pub "$B" pub "shm:$Q" --linger 30 <"$T/in" 3>&-
for i in $(seq 500); do [ -e "/dev/shm$Q-bell" ] && break; sleep 0.01; done
start s3 "$B" sub "shm:$Q" --timeout 10
for i in $(seq 500); do
	[ "$("$B" stat --json "shm:$Q" | grep -o '"pid": [0-9]*' | wc -l)" -ge 2 ] && break
	sleep 0.01
done
echo last >&3
exec 3>&-
sleep 0.3 # the publisher lingers for its subscriber
kill -0 "$pub" 2>/dev/null || fail "pub did not linger for its subscriber"
kill -STOP "$s3"
t0=$(date +%s%N)
kill -KILL "$s3"
finish pub 0
wait "$s3" 2>/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 500 ] || fail "pub lingered $ms ms after its subscriber was killed"
echo "pub --linger 30: gone ${ms} ms after its only subscriber was killed with SIGKILL"

# --- usage -----------------------------------------------------------------------
run 2 "$B" sub "fifo:$T/f" --from 0
err_is "--from applies to shm: and dbus: rings"
run 2 "$B" sub "shm:$Q?from=end" --from 0
err_is "--from and the URL's from= both"
run 2 "$B" sub "shm:$Q" --from start
err_is "from must be 'end', 'oldest' or a sequence number"
run 2 "$B" pub "fifo:$T/f" --linger 1 </dev/null
err_is "--linger and --wait-subscribers apply to rings"
echo "--from misused: exit 2 with the reason"
