#!/bin/bash
# tests/svc/cli.sh - ipckit serve and ipckit call: echo and a command's
# output as replies, usage errors, a refused uid, and SIGINT, SIGTERM and
# SIGPIPE stopping both commands in each state they wait in, the socket
# file removed and a running CMD ended (one that ignores SIGTERM too).
. "$(dirname "$0")/../cli/lib.sh"

N=$T/svc.sock

# up to 10 s for the server's socket file
wait_sock() {
	local i
	for i in $(seq 200); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	fail "no socket at $1"
}

# up to 10 s for a file to have content
wait_file() {
	local i
	for i in $(seq 200); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	fail "nothing in $1"
}

run 0 "$IPCKIT" serve --help
grep -q 'Usage: ipckit serve NAME' "$T/run.out" || fail "serve --help: $(cat "$T/run.out")"
run 0 "$IPCKIT" call --help
grep -q 'Usage: ipckit call NAME' "$T/run.out" || fail "call --help"
run 2 "$IPCKIT" call "$N"
err_is 'want NAME and TEXT'
run 2 "$IPCKIT" serve relative-name
err_is "bad NAME 'relative-name'"
run 2 "$IPCKIT" serve "$N" extra
err_is "a command goes after '--'"
run 2 "$IPCKIT" serve "$N" --
err_is "nothing after '--'"
run 1 "$IPCKIT" call --timeout 0.2 "$N" x
err_is 'ETIMEDOUT'

# echo, then SIGINT while idle
start srv "$IPCKIT" serve "$N"
wait_sock "$N"
run 0 "$IPCKIT" call "$N" hello
[ "$(cat "$T/run.out")" = hello ] || fail "echo: $(cat "$T/run.out")"
printf 'two\nlines\n' | run 0 "$IPCKIT" call "$N" -
[ "$(cat "$T/run.out")" = "$(printf 'two\nlines')" ] || fail "stdin: $(cat "$T/run.out")"
kill -INT "$srv"
finish srv 0
grep -q 'stopped by SIGINT after 2 requests' "$T/srv.err" || fail "$(cat "$T/srv.err")"
[ -e "$N" ] && fail "socket file left after SIGINT"

# a command's output; --raw; then SIGPIPE
start srv "$IPCKIT" serve "$N" --count 5 -- tr a-z A-Z
wait_sock "$N"
run 0 "$IPCKIT" call "$N" hello
[ "$(cat "$T/run.out")" = HELLO ] || fail "tr: $(cat "$T/run.out")"
run 0 "$IPCKIT" call --raw --spin "$N" abc
[ "$(od -An -c "$T/run.out" | tr -d ' ')" = ABC ] || fail "raw: $(od -c "$T/run.out")"
kill -PIPE "$srv"
finish srv 0
grep -q 'stopped by SIGPIPE after 2 requests' "$T/srv.err" || fail "$(cat "$T/srv.err")"
[ -e "$N" ] && fail "socket file left after SIGPIPE"

# SIGTERM while CMD runs: CMD ended, the waiting call fails with EPIPE
start srv "$IPCKIT" serve "$N" -- sh -c "echo \$\$ > $T/cmd.pid; exec sleep 30"
wait_sock "$N"
start cl "$IPCKIT" call "$N" x
wait_file "$T/cmd.pid"
kill -TERM "$srv"
finish srv 0
finish cl 1
grep -q 'EPIPE' "$T/cl.err" || fail "call: $(cat "$T/cl.err")"
kill -0 "$(cat "$T/cmd.pid")" 2>/dev/null && fail "CMD still runs after SIGTERM"
[ -e "$N" ] && fail "socket file left after SIGTERM"

# up to 10 s until process $1 catches signal $2 (its handler is set)
wait_caught() {
	local i mask
	for i in $(seq 200); do
		mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ -n "$mask" ] && (((0x$mask >> ($2 - 1)) & 1)) && return 0
		sleep 0.05
	done
	fail "process $1 does not catch signal $2"
}

# SIGTERM while a CMD that ignores it, and closed its output, runs on:
# its process group is killed a second later, serve ends within 3 s
start srv "$IPCKIT" serve "$N" -- sh -c "echo \$\$ > $T/cmd3.pid; trap '' TERM; exec >&-; sleep 20"
wait_sock "$N"
start cl "$IPCKIT" call "$N" x
wait_file "$T/cmd3.pid"
kill -TERM "$srv"
# gone: reaped by bash already, or a zombie
srv_gone() {
	local st
	st=$(awk '{ print $3 }' "/proc/$srv/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}
for i in $(seq 60); do
	srv_gone && break
	sleep 0.05
done
if ! srv_gone; then
	kill -KILL "$srv" "$(cat "$T/cmd3.pid")" 2>/dev/null
	fail "serve still runs 3 s after SIGTERM (CMD ignores SIGTERM)"
fi
finish srv 0
finish cl 1
grep -q 'EPIPE' "$T/cl.err" || fail "call: $(cat "$T/cl.err")"
kill -0 "$(cat "$T/cmd3.pid")" 2>/dev/null && fail "CMD still runs after SIGTERM"
[ -e "$N" ] && fail "socket file left after SIGTERM"

# a call stopped while it waits for the reply (the server runs CMD for
# it), and while it waits for a server
start srv "$IPCKIT" serve "$N" -- sh -c "echo \$\$ > $T/cmd2.pid; exec sleep 30"
wait_sock "$N"
start cl "$IPCKIT" call "$N" x
wait_file "$T/cmd2.pid"
kill -TERM "$cl"
finish cl 0
grep -q 'stopped by SIGTERM' "$T/cl.err" || fail "call: $(cat "$T/cl.err")"
kill -INT "$srv"
finish srv 0
start cl "$IPCKIT" call "$N" x
wait_caught "$cl" 2
kill -INT "$cl"
finish cl 0
grep -q 'stopped by SIGINT' "$T/cl.err" || fail "call: $(cat "$T/cl.err")"

# a reader of the reply that went away: a quiet stop
start srv "$IPCKIT" serve "$N"
wait_sock "$N"
( "$IPCKIT" call "$N" "$(head -c 3000 /dev/zero | tr '\0' x)" 2>"$T/pipe.err"
  echo $? >"$T/pipe.st" ) | true
[ "$(cat "$T/pipe.st")" = 0 ] || fail "call | true: exit $(cat "$T/pipe.st"): $(cat "$T/pipe.err")"
kill -INT "$srv"
finish srv 0

# another uid, refused by --allow-uid (an abstract name: no file mode in the way)
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "note: not root or no setpriv: the refused-uid part is not run" >&2
	exit 0
fi
A="@ipk-svc-cli-$$"
start srv "$IPCKIT" serve "$A" --allow-uid 0
run 0 "$IPCKIT" call --timeout 10 "$A" root
run 1 setpriv --reuid 65534 --regid 65534 --clear-groups "$IPCKIT" call --timeout 10 "$A" nobody
err_is 'EACCES'
kill -TERM "$srv"
finish srv 0
exit 0
