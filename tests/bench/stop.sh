#!/bin/bash
# tests/bench/stop.sh IPCKIT - SIGINT and SIGTERM stop `ipckit bench` within
# a second in every state: at once after start, while two sides measure,
# while a row's server runs (nats-server, dbus-daemon), later in the run;
# sent to bench alone or, as a terminal's Ctrl-C does, to its whole process
# group. Each run exits 0 with one line "ipckit bench: stopped by SIGxxx
# after K of 13 cases" on stderr; no process of it is left (by session and
# by the children seen before the signal, never by name), nor anything named
# with its tag (ipkb-PID-) in /dev/shm, /tmp, /var/tmp, the POSIX queues,
# System V queues or abstract sockets. --json FILE leaves no file, --json -
# prints nothing. A reader of standard output that goes away stops it the
# same way; `| head -1` after a whole run is quiet. Paced and fan-out cases
# stop the same way.
#
# Exit 0 passes, 77 skips, anything else fails.
set -u

IPCKIT=${1:?usage: $0 PATH-TO-ipckit}
ONLY=shm-ring,fifo,unix-stream,mq,sysvmq,nats,dbus-call
CASES=13 # one size: rtt of all seven, throughput of all but dbus-call
BENCH=(bench --time 0.2 -s 64 --only "$ONLY")

T=$(mktemp -d "${TMPDIR:-/tmp}/ipckit-bench-stop-$$-XXXX") || exit 1
RAN=()    # every bench pid: its process group and its tag are ours
FAILED=0 # an assertion failed: the test goes on, to say all that is wrong

fail() {
	echo "FAIL stop.sh:${BASH_LINENO[0]}: $*" >&2
	FAILED=1
}

die() {
	echo "FAIL stop.sh:${BASH_LINENO[0]}: $*" >&2
	exit 1
}

skip() {
	echo "SKIP stop.sh: $*" >&2
	exit 77
}

# The key bench/chan.c gives its System V queues: 0x49, the pid's low 16 bits.
sysv_prefix() {
	printf '0x49%04x' $(($1 & 0xffff))
}

# What a bench that failed the test may have left, by its pid and tag only.
cleanup() {
	local p f
	for p in "${RAN[@]}"; do
		kill -KILL -- "-$p" 2>/dev/null
		rm -rf /dev/shm/ipkb-"$p"-* /tmp/ipkb-"$p"-* /var/tmp/ipkb-"$p"-* \
			/dev/mqueue/ipkb-"$p"-* 2>/dev/null
		for f in 3-0 3-1 10-0 10-1; do # the mq row's cases, see nothing_left
			"$IPCKIT" rm "mq:/ipkb-$p-$f" >/dev/null 2>&1
		done
		for f in $(ipcs -q 2>/dev/null | awk -v k="$(sysv_prefix "$p")" \
			'tolower($1) ~ "^"k { print $1 }'); do
			ipcrm -Q "$f" 2>/dev/null
		done
	done
	rm -rf "$T"
}
trap cleanup EXIT

command -v setsid >/dev/null || skip "no setsid (util-linux)"
# bash starts background commands with SIGINT ignored; a terminal's are not.
env --default-signal=INT true 2>/dev/null || skip "env has no --default-signal (coreutils 8.31)"
RUN=(setsid env --default-signal=INT "$IPCKIT")

# stat PID: "STATE PPID PGRP SESSION STARTTIME" of /proc/PID/stat, or nothing.
pstat() {
	local s rest
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	rest=${s##*) }
	set -- $rest
	echo "$1 $2 $3 $4 ${20}"
}

# Every process now: "PID PPID SESSION STARTTIME" lines.
procs() {
	local f p st
	for f in /proc/[0-9]*; do
		p=${f#/proc/}
		st=$(pstat "$p") || continue
		set -- $st
		echo "$p $2 $4 $5"
	done
}

# kids PID: the pids of PID's children (PID has one thread).
kids() {
	local k
	{ read -r k <"/proc/$1/task/$1/children"; } 2>/dev/null
	echo ${k:-}
}

# descendants PID: "PID:STARTTIME" of every process below PID.
descendants() {
	local k start
	for k in $(kids "$1"); do
		start=$(pstat "$k" | cut -d' ' -f5)
		[ -n "$start" ] || continue # gone already
		echo "$k:$start"
		descendants "$k"
	done
}

# in_session SID: pids of the processes of session SID.
in_session() {
	procs | awk -v s="$1" '$3 == s { print $1 }'
}

# children PID COMM: pids of PID's children called COMM.
children() {
	local k comm
	for k in $(kids "$1"); do
		{ read -r comm <"/proc/$k/comm"; } 2>/dev/null && [ "$comm" = "$2" ] && echo "$k"
	done
}

# until_true WHAT CMD...: runs CMD every 5 ms until it succeeds; fails after
# 10 s, or when the bench ($pid) has ended first.
until_true() {
	local what=$1 i
	shift
	for ((i = 0; i < 2000; i++)); do
		"$@" && return 0
		case $(pstat "$pid" | cut -d' ' -f1) in
		'' | Z) die "bench ended before $what: $(cat "$T/err") $(cat "$T/out")" ;;
		esac
		sleep 0.005
	done
	die "never saw $what"
}

runs_ipckit() {
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ipckit ]
}

caught_within_1s() {
	local i
	for ((i = 0; i < 200; i++)); do
		catches_stop && return 0
		sleep 0.005
	done
	return 1
}

catches_stop() {
	local c
	c=$(sed -n 's/^SigCgt:\t*//p' "/proc/$pid/status" 2>/dev/null)
	[ -n "$c" ] && (((0x$c & 0x4002) == 0x4002))
}

# Both measuring processes of a case run.
measuring() {
	[ "$(children "$pid" ipckit | wc -l)" -ge 2 ]
}

has_child() {
	[ -n "$(children "$pid" "$1")" ]
}

# start [ARGS...]: bench in a session of its own (so that its process group
# and everything it starts can be told apart), stdout in $T/out.
start() {
	"${RUN[@]}" "${BENCH[@]}" "$@" >"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	RAN+=("$pid")
	until_true "ipckit run as $pid" runs_ipckit
	[ "$(pstat "$pid" | cut -d' ' -f4)" = "$pid" ] || die "setsid did not make $pid a session"
}

# ended_within PID: waits until PID has ended (zombie or gone), at most 2 s;
# prints the milliseconds since $t0.
ended_within() {
	local i s
	for ((i = 0; i < 400; i++)); do
		s=$(pstat "$1" | cut -d' ' -f1)
		[ -z "$s" ] || [ "$s" = Z ] && break
		sleep 0.005
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}

# nothing_left PID SNAPSHOT: no process of the run, nothing with its tag.
nothing_left() {
	local p=$1 snap=$2 e q n s
	s=$(in_session "$p")
	[ -z "$s" ] || fail "processes of the run left: $(for q in $s; do
		printf '%s(%s) ' "$q" "$(cat /proc/$q/comm 2>/dev/null)"
	done)"
	s=0
	for e in $snap; do
		[ "$(pstat "${e%%:*}" | cut -d' ' -f5)" = "${e##*:}" ] && s=$((s + 1))
	done
	[ $s = 0 ] || fail "$s of the children seen before the signal outlived the run"
	for e in /dev/shm/ipkb-"$p"-* /tmp/ipkb-"$p"-* /var/tmp/ipkb-"$p"-*; do
		[ -e "$e" ] && fail "$e left behind"
	done
	if [ -d /dev/mqueue ] && mountpoint -q /dev/mqueue 2>/dev/null; then
		for e in /dev/mqueue/ipkb-"$p"-*; do
			[ -e "$e" ] && fail "mq $e left behind"
		done
	else
		# Without the mount: the queues mq rows make, case 3 (rtt) and 10.
		for n in 3 10; do
			for q in 0 1; do
				"$IPCKIT" recv --connect --timeout 0 "mq:/ipkb-$p-$n-$q" 2>&1 |
					grep -q '(ENOENT)$' || fail "mq:/ipkb-$p-$n-$q left behind"
			done
		done
	fi
	ipcs -q | awk '{ print tolower($1) }' | grep -q "^$(sysv_prefix "$p")" &&
		fail "System V queue $(sysv_prefix "$p")xx left behind: $(ipcs -q)"
	grep -q "@ipkb-$p-" /proc/net/unix && fail "abstract socket @ipkb-$p- left behind"
	return 0
}

# stop_at SIG MOMENT [--group] [-- BENCH ARGS]: starts a run, waits for
# MOMENT (a function, or a number of seconds), sends SIG to bench (or to
# its process group) and checks how it ended.
stop_at() {
	local sig=$1 moment=$2 group= st ms snap k target at
	shift 2
	[ "${1:-}" = --group ] && group=1 && shift
	at="at $moment${group:+ (to the group)}"
	[ "${1:-}" = -- ] && shift
	start "$@"
	# A bench that never catches them is sent them all the same.
	caught_within_1s || echo "  bench $pid does not catch SIGINT and SIGTERM" >&2
	case $moment in
	[0-9]*) sleep "$moment" ;;
	*) until_true "$moment" $moment ;;
	esac
	snap=$(descendants "$pid")
	target=$pid
	[ -n "$group" ] && target=-$pid
	t0=$(date +%s%N)
	kill -"$sig" -- "$target"
	ms=$(ended_within "$pid")
	if [ "$ms" -ge 1000 ]; then
		fail "SIG$sig $at: bench still ran after $ms ms"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	st=$?
	[ "$st" = 0 ] || fail "SIG$sig $at: exit status $st, want 0"
	k=$(sed -nE "s/^ipckit bench: stopped by SIG$sig after ([0-9]+) of $CASES cases\$/\\1/p" "$T/err")
	[ "$(wc -l <"$T/err")" = 1 ] && [ -n "$k" ] ||
		fail "SIG$sig $at: stderr '$(cat "$T/err")', want the summary line"
	# What finished is printed (the table), no JSON document.
	if [ -z "$k" ]; then
		: # said above
	elif [ "$k" = 0 ] || [ "${*: -1}" = - ]; then
		[ ! -s "$T/out" ] || fail "SIG$sig $at: $k cases, yet printed: $(head -3 "$T/out")"
	else
		head -1 "$T/out" | grep -q '^ipckit bench ' ||
			fail "SIG$sig $at: no table of the finished cases: $(cat "$T/out")"
	fi
	nothing_left "$pid" "$snap"
	echo "  SIG$sig $at: ended in $ms ms, $(tail -1 "$T/err")," \
		"$(echo "$snap" | wc -w) children seen before"
	kill -KILL -- "-$pid" 2>/dev/null # what a failed run left
}

servers=0
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] && servers=$((servers + 1))
command -v dbus-daemon >/dev/null && servers=$((servers + 2))

for sig in INT TERM; do
	stop_at $sig 0
	stop_at $sig measuring
	stop_at $sig measuring --group
	if [ $sig = INT ] && ((servers & 1)); then
		stop_at $sig "has_child nats-server"
	elif [ $sig = TERM ] && ((servers & 2)); then
		stop_at $sig "has_child dbus-daemon" --group
	else
		echo "  (no server for SIG$sig: nats-server or dbus-daemon not installed)"
	fi
	# Later in the run: no JSON document, in a file or on stdout.
	if [ $sig = INT ]; then
		stop_at $sig 1.5 -- --json "$T/r.json"
		[ ! -e "$T/r.json" ] || fail "a stopped run left --json $T/r.json"
	else
		stop_at $sig 1.5 -- --json -
	fi
done

# Paced cases: during a paced case (the sender asleep on its schedule) and
# during a fan-out case (five processes: the publisher, four subscribers).
# The 4-subscriber case is not the last, so that it is stopped, not ended.
BENCH=(bench --quick --time 0.5 -s 64 --only pipe,shm-ring --rates 1k --subscribers 4,1
	--kinds rate,fanout)
CASES=4 # rate: pipe, shm-ring; fanout: shm-ring to 4, to 1

fanning() {
	[ "$(children "$pid" ipckit | wc -l)" -ge 5 ]
}

stop_at INT measuring
stop_at TERM fanning --group
BENCH=(bench --time 0.2 -s 64 --only "$ONLY")
CASES=13

# A reader of standard output that goes away mid-run stops it.
mkfifo "$T/pipe"
"${RUN[@]}" "${BENCH[@]}" >"$T/pipe" 2>"$T/err" </dev/null &
pid=$!
RAN+=("$pid")
sleep 30 <"$T/pipe" &
reader=$!
until_true measuring measuring
snap=$(descendants "$pid")
kill "$reader"
wait "$reader" 2>/dev/null
t0=$(date +%s%N)
ms=$(ended_within "$pid")
if [ "$ms" -ge 1000 ]; then
	fail "bench ran on for $ms ms after its reader went away"
	kill -KILL "$pid" 2>/dev/null
fi
wait "$pid"
st=$?
[ "$st" = 0 ] || fail "reader gone: exit status $st; stderr: $(cat "$T/err")"
grep -Eqx "ipckit bench: stopped by a closed standard output after [0-9]+ of $CASES cases" "$T/err" &&
	[ "$(wc -l <"$T/err")" = 1 ] || fail "reader gone: stderr '$(cat "$T/err")'"
nothing_left "$pid" "$snap"
echo "  reader gone: ended in $ms ms, $(tail -1 "$T/err")"
kill -KILL -- "-$pid" 2>/dev/null

# | head -1 after a whole (quick) run: the first line, exit 0, quiet.
(
	echo $BASHPID >"$T/pid"
	exec "$IPCKIT" bench --quick -s 64 --only shm-ring,fifo,mq,sysvmq 2>"$T/err"
) | head -1 >"$T/head"
st=${PIPESTATUS[0]}
pid=$(cat "$T/pid")
RAN+=("$pid")
[ "$st" = 0 ] || fail "| head -1: exit status $st; stderr: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "| head -1 said: $(cat "$T/err")"
grep -q '^ipckit bench ' "$T/head" || fail "head -1 got '$(cat "$T/head")'"
nothing_left "$pid" ""
echo "  | head -1: exit $st, $(wc -l <"$T/err") lines on stderr"
exit $FAILED
