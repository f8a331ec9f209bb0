#!/bin/bash
# tests/notify/cli_signal.sh - `ipckit signal send|wait`: a round trip with
# payloads in order, usage errors (exit 2), a missing process and a full
# queue (exit 1, the limit named), a timeout.
. "$(dirname "$0")/lib.sh"

# Usage errors: exit 2, one specific line.
run 2 "$IPCKIT" signal
err_is 'missing subcommand'
run 2 "$IPCKIT" signal frob
err_is "unknown subcommand 'frob'"
run 2 "$IPCKIT" signal send 1
err_is 'send wants PID and SIGNAL'
run 2 "$IPCKIT" signal send 1 NOSUCH
err_is "bad signal 'NOSUCH'"
run 2 "$IPCKIT" signal send 1 0
err_is "bad signal '0'"
run 2 "$IPCKIT" signal send 1 65
err_is "bad signal '65'"
run 2 "$IPCKIT" signal send 0 USR1
err_is "bad PID '0'"
run 2 "$IPCKIT" signal send x USR1
err_is "bad PID 'x'"
run 2 "$IPCKIT" signal send 1 USR1 --value 9999999999
err_is "bad --value '9999999999'"
run 2 "$IPCKIT" signal wait KILL
err_is 'KILL cannot be waited for'
run 2 "$IPCKIT" signal wait RTMIN --count 0
err_is "bad --count '0'"
run 2 "$IPCKIT" signal wait --value 3
err_is 'wait takes no --value'
run 0 "$IPCKIT" signal --help
grep -q 'ipckit signal send PID SIGNAL' "$T/run.out" || fail "--help: $(cat "$T/run.out")"

# A process that does not exist: a reaped child's pid.
sh -c 'exit 0' &
gone=$!
wait $gone
run 1 "$IPCKIT" signal send "$gone" RTMIN+1 --value 3
err_is "SIGRTMIN\+1 to pid $gone: No such process \(ESRCH\)"

# Round trip: three RT signals keep their order and values; a standard one
# comes through too.
start w "$IPCKIT" signal wait RTMIN+1 USR1 --count 4 --timeout 20
blocked "$w" RTMIN+1
for v in 5 -6 7; do
	run 0 "$IPCKIT" signal send "$w" RTMIN+1 --value "$v"
done
run 0 "$IPCKIT" signal send "$w" SIGUSR1 --value 8
finish w 0
uid=$(id -u)
want="SIGRTMIN+1 value=5 pid=P uid=$uid
SIGRTMIN+1 value=-6 pid=P uid=$uid
SIGRTMIN+1 value=7 pid=P uid=$uid
SIGUSR1 value=8 pid=P uid=$uid"
got=$(sed -E 's/ pid=[1-9][0-9]* / pid=P /' "$T/w.out")
[ "$got" = "$want" ] || fail "got:
$(cat "$T/w.out")
want (P: a pid):
$want"

# Nothing comes: exit 1 after the timeout, with what was received.
run 1 "$IPCKIT" signal wait RTMIN+2 --timeout 0.2
err_is 'timed out after 0 signals'

# A full queue: a receiver whose RLIMIT_SIGPENDING is 0 refuses every
# queued signal; the sender names the limit.
start full bash -c "ulimit -i 0 && exec '$IPCKIT' signal wait RTMIN+3 --timeout 20"
blocked "$full" RTMIN+3
run 1 "$IPCKIT" signal send "$full" RTMIN+3 --value 1
err_is 'Resource temporarily unavailable \(EAGAIN\); limit: RLIMIT_SIGPENDING.*ulimit -i'
kill -TERM "$full"
wait "$full" 2>/dev/null
exit 0
