#!/bin/bash
# signals.sh - SIGINT and SIGTERM stop every streaming command promptly in
# every state: before its object exists, waiting for a peer or a ring,
# mid-stream, blocked on a full queue. Each ends within a second with exit
# status 0 and its summary line, and what it created is gone (unless
# --keep). A reader of standard output that goes away (| head -1) ends
# recv and sub the same way, quietly.
. "$(dirname "$0")/lib.sh"

n=ipk-cli-sig-$$
key=$(printf '0x%x' $((0x5e000000 + $$ % 0xffffff)))

# ready NAME: waits until the process started as NAME runs ipckit, catches
# SIGINT and SIGTERM, and sleeps (so it waits for something).
ready() {
	local pid=${!1} i caught state comm
	for ((i = 0; i < 500; i++)); do
		comm=$(cat "/proc/$pid/comm" 2>/dev/null)
		caught=$(sed -n 's/^SigCgt:\t*//p' "/proc/$pid/status" 2>/dev/null)
		state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
		if [ "$comm" = ipckit ] && [ -n "$caught" ] &&
			(((0x$caught & 0x4002) == 0x4002)) && [ "$state" = S ]; then
			return 0
		fi
		[ -z "$state" ] || [ "$state" = Z ] && fail "$1 ended early: $(cat "$T/$1.err")"
		sleep 0.01
	done
	fail "$1 never got ready (state $state, caught ${caught:-none})"
}

# stop NAME SIG WANT: sends SIG, checks that the process ends within 1 s
# (it is then a zombie or gone) and exits WANT.
stop() {
	local name=$1 sig=$2 want=$3 pid=${!1} i state t0
	t0=$(date +%s%N)
	kill -"$sig" "$pid"
	for ((i = 0; i < 200; i++)); do
		state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
		[ -z "$state" ] || [ "$state" = Z ] && break
		sleep 0.005
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$ms" -ge 1000 ]; then
		kill -KILL "$pid" 2>/dev/null
		fail "$name ignored $sig for $ms ms"
	fi
	finish "$name" "$want"
	echo "  $name: $sig ended it in $ms ms: $(tail -1 "$T/$name.err")"
}

# said NAME REGEX: the last line of NAME's stderr matches.
said() {
	tail -1 "$T/$1.err" | grep -Eqx -- "$2" || fail "$1 said '$(cat "$T/$1.err")', want '$2'"
}

gone() {
	[ ! -e "$1" ] || fail "$1 left behind"
}

# mq_there NAME: whether POSIX queue NAME exists (/dev/mqueue need not be
# mounted). Takes nothing from an empty queue.
mq_there() {
	! "$IPCKIT" recv --connect --timeout 0 "mq:/$1" 2>&1 | grep -q '(ENOENT)$'
}

mq_gone() {
	! mq_there "$1" || fail "mq:/$1 left behind"
}

sysv_gone() {
	! ipcs -q | grep -qi "^$key " || fail "System V queue $key left behind"
}

for sig in INT TERM; do
	# recv, waiting for a message on an object it created.
	start rx "$IPCKIT" recv "mq:/$n"
	ready rx
	mq_there "$n" || fail "recv did not create mq:/$n"
	stop rx $sig 0
	said rx "ipckit recv: stopped by SIG$sig after 0 messages"
	mq_gone "$n"

	start rx "$IPCKIT" recv "sysvmq:$key"
	ready rx
	stop rx $sig 0
	said rx "ipckit recv: stopped by SIG$sig after 0 messages"
	sysv_gone

	# recv, waiting for a peer: a socket, a FIFO.
	start rx "$IPCKIT" recv "unix:$T/s.sock"
	ready rx
	[ -S "$T/s.sock" ] || fail "recv did not listen on $T/s.sock"
	stop rx $sig 0
	gone "$T/s.sock"
	start rx "$IPCKIT" recv "fifo:$T/f"
	ready rx
	stop rx $sig 0
	gone "$T/f"

	# mid-stream: two messages, then the signal.
	start rx "$IPCKIT" recv "unix+dgram:$T/d.sock"
	ready rx
	run 0 "$IPCKIT" send "unix+dgram:$T/d.sock" one
	run 0 "$IPCKIT" send "unix+dgram:$T/d.sock" two
	ready rx
	stop rx $sig 0
	said rx "ipckit recv: stopped by SIG$sig after 2 messages"
	[ "$(cat "$T/rx.out")" = "$(printf 'one\ntwo')" ] || fail "recv printed $(cat "$T/rx.out")"
	gone "$T/d.sock"

	# --keep: the object stays.
	start rx "$IPCKIT" recv --keep "mq:/$n"
	ready rx
	stop rx $sig 0
	mq_there "$n" || fail "recv --keep removed mq:/$n"
	run 0 "$IPCKIT" rm "mq:/$n"

	# send: before its object exists; waiting for a FIFO's reader.
	start tx "$IPCKIT" send "unix:$T/nobody.sock" hi
	ready tx
	stop tx $sig 0
	said tx "ipckit send: stopped by SIG$sig after 0 messages"
	start tx "$IPCKIT" send --listen "fifo:$T/w" hi
	ready tx
	[ -p "$T/w" ] || fail "send --listen did not make $T/w"
	stop tx $sig 0
	gone "$T/w"

	# send, blocked on a full queue (one message fits).
	start tx "$IPCKIT" send --listen --keep "mq:/$n?maxmsg=1&msgsize=64" first
	finish tx 0
	start tx "$IPCKIT" send "mq:/$n" second
	ready tx
	stop tx $sig 0
	said tx "ipckit send: stopped by SIG$sig after 0 messages"
	run 0 "$IPCKIT" rm "mq:/$n"

	# sub and bridge, waiting for a ring to appear.
	start sub "$IPCKIT" sub "shm:/$n"
	ready sub
	stop sub $sig 0
	said sub "ipckit sub: 0 messages, 0 lost, 0 skipped"
	start br "$IPCKIT" bridge --timeout 30 "shm:/$n" "shm:/$n-b"
	ready br
	stop br $sig 0
	said br "ipckit bridge: forwarded 0, lost 0, skipped 0, 0 msg/s over [0-9.]+ s"
	gone "/dev/shm/$n-b"

	# pub, waiting for input; a subscriber and a bridge mid-stream.
	mkfifo "$T/in"
	exec 5<>"$T/in"
	start pub "$IPCKIT" pub "shm:/$n" <"$T/in"
	ready pub
	[ -e "/dev/shm/$n" ] || fail "pub did not create shm:/$n"
	start sub "$IPCKIT" sub "shm:/$n"
	start br "$IPCKIT" bridge "shm:/$n" "shm:/$n-b"
	ready sub
	ready br
	while [ ! -e "/dev/shm/$n-b" ]; do sleep 0.01; done
	printf 'a\nb\n' >&5
	while [ "$(wc -l <"$T/sub.out")" -lt 2 ]; do sleep 0.01; done
	stop sub $sig 0
	said sub "ipckit sub: 2 messages, 0 lost, 0 skipped"
	stop br $sig 0
	said br "ipckit bridge: forwarded 2, lost 0, .*"
	gone "/dev/shm/$n-b"
	stop pub $sig 0
	said pub "ipckit pub: published 2 messages"
	gone "/dev/shm/$n"
	exec 5>&-
	rm -f "$T/in"

	# pub, blocked on a full queue that nobody consumes.
	start pub "$IPCKIT" pub "shm:/$n?mode=queue&capacity=4096" --rate 0 --size 64
	ready pub
	stop pub $sig 0
	said pub "ipckit pub: published [0-9]+ messages"
	gone "/dev/shm/$n"

	# signal wait.
	start sw "$IPCKIT" signal wait
	ready sw
	stop sw $sig 0
	said sw "ipckit signal: stopped by SIG$sig after 0 signals"
done

# The reader of standard output goes away: recv and sub stop quietly (exit
# 0, nothing on stderr) and remove what they created.
# (recv runs in the background of the subshell only to have its pid.)
("$IPCKIT" recv "mq:/$n" 2>"$T/pipe.err" &
	echo $! >"$T/pipe.pid"
	wait $!
	echo $? >"$T/pipe.st") | head -1 >"$T/head.out" &
PIDS+=($!)
while [ ! -s "$T/pipe.pid" ]; do sleep 0.01; done
PIDS+=("$(cat "$T/pipe.pid")")
while ! mq_there "$n"; do sleep 0.01; done
i=0
while [ ! -s "$T/pipe.st" ] && [ $i -lt 300 ]; do
	"$IPCKIT" send --timeout 1 "mq:/$n" "m$i" 2>/dev/null
	i=$((i + 1))
	sleep 0.01
done
[ "$(cat "$T/pipe.st" 2>/dev/null)" = 0 ] || fail "recv | head -1: status '$(cat "$T/pipe.st" 2>/dev/null)', stderr: $(cat "$T/pipe.err")"
[ ! -s "$T/pipe.err" ] || fail "recv | head -1 said: $(cat "$T/pipe.err")"
[ "$(cat "$T/head.out")" = m0 ] || fail "head got '$(cat "$T/head.out")'"
mq_gone "$n"
echo "  recv | head -1: exit 0, quiet, mq:/$n removed"

start pub "$IPCKIT" pub "shm:/$n" --rate 1000
("$IPCKIT" sub "shm:/$n" 2>"$T/pipe.err"
	echo $? >"$T/pipe.st") | head -1 >"$T/head.out"
[ "$(cat "$T/pipe.st" 2>/dev/null)" = 0 ] || fail "sub | head -1: status '$(cat "$T/pipe.st" 2>/dev/null)'"
grep -Eqx 'ipckit sub: [0-9]+ messages, [0-9]+ lost, [0-9]+ skipped' "$T/pipe.err" || fail "sub | head -1 said: $(cat "$T/pipe.err")"
[ "$(wc -l <"$T/pipe.err")" -eq 1 ] || fail "sub | head -1 said more: $(cat "$T/pipe.err")"
stop pub TERM 0
gone "/dev/shm/$n"
echo "  sub | head -1: exit 0, only the summary"
exit 0
