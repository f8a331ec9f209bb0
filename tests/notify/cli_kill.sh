#!/bin/bash
# tests/notify/cli_kill.sh - interop with a client from outside the
# project: procps kill(1) queues a value (`kill -s RTMIN+1 -q 42 PID`) and
# `ipckit signal wait` prints it with kill's own pid as the sender.
. "$(dirname "$0")/lib.sh"

KILL=
for k in /bin/kill /usr/bin/kill; do
	if [ -x "$k" ] && "$k" --version 2>&1 | grep -q procps; then
		KILL=$k
		break
	fi
done
[ -n "$KILL" ] || skip "no procps kill (with -q) in /bin or /usr/bin: apt-get install procps"

start w "$IPCKIT" signal wait RTMIN+1 --count 3 --timeout 20
blocked "$w" RTMIN+1
kpids=()
for v in 42 43 44; do
	"$KILL" -s RTMIN+1 -q "$v" "$w" &
	kpids+=($!)
	wait $! || fail "$KILL -s RTMIN+1 -q $v $w failed"
done
finish w 0
want="SIGRTMIN+1 value=42 pid=${kpids[0]} uid=$(id -u)
SIGRTMIN+1 value=43 pid=${kpids[1]} uid=$(id -u)
SIGRTMIN+1 value=44 pid=${kpids[2]} uid=$(id -u)"
[ "$(cat "$T/w.out")" = "$want" ] || fail "got:
$(cat "$T/w.out")
want:
$want"

# And the other way: ipckit sends, a shell trap (bash, outside the
# project) receives a standard signal.
start t bash -c 'trap "echo got USR2; exit 0" USR2; echo ready; while :; do sleep 0.05; done'
for ((i = 0; i < 500; i++)); do
	[ -s "$T/t.out" ] && break
	sleep 0.01
done
run 0 "$IPCKIT" signal send "$t" USR2
finish t 0
grep -qx 'got USR2' "$T/t.out" || fail "bash trap: $(cat "$T/t.out")"
exit 0
