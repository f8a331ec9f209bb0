# tests/notify/lib.sh - sourced by the shell tests of tests/notify/ (the
# pattern of tests/cli/lib.sh): a private directory named with the pid, the
# processes this test started (and only those) killed on exit, assertions
# that say what was expected, and a wait for a process to block signals.
#
# Exit 0 passes, 77 skips, anything else fails.

set -u

IPCKIT=${1:?usage: $0 PATH-TO-ipckit [MORE...]}

T=$(mktemp -d "${TMPDIR:-/tmp}/ipckit-notify-$$-XXXX") || exit 1
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL ${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}: $*" >&2
	exit 1
}

skip() {
	echo "SKIP ${BASH_SOURCE[1]##*/}: $*" >&2
	exit 77
}

# start NAME CMD...: "$@" in the background, stdout in $T/NAME.out, stderr
# in $T/NAME.err; its pid in PIDS and in the variable named NAME.
start() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	PIDS+=($!)
	printf -v "$name" '%s' "$!"
}

# finish NAME WANT: wait for the process started as NAME, check its status.
finish() {
	local name=$1 want=$2 pid st
	pid=${!name}
	wait "$pid"
	st=$?
	[ "$st" -eq "$want" ] ||
		fail "$name exited $st, want $want; stderr: $(cat "$T/$name.err")"
}

# run WANT CMD...: CMD with stdout in $T/run.out, stderr in $T/run.err.
run() {
	local want=$1 st
	shift
	"$@" >"$T/run.out" 2>"$T/run.err"
	st=$?
	[ "$st" -eq "$want" ] ||
		fail "'$*' exited $st, want $want; stderr: $(cat "$T/run.err")"
}

# The stderr of the last run must be exactly one line matching the regex.
err_is() {
	local lines
	lines=$(wc -l <"$T/run.err")
	[ "$lines" -eq 1 ] || fail "stderr has $lines lines, want 1: $(cat "$T/run.err")"
	grep -Eq -- "$1" "$T/run.err" || fail "stderr '$(cat "$T/run.err")' does not match '$1'"
}

# blocked PID SIGNAL: wait (up to 10 s) until PID blocks SIGNAL (a name
# such as RTMIN+1), i.e. until `ipckit signal wait` has its signalfd and the
# signal can no longer kill it. (Sanitizer runtimes block other signals of
# their own, so the one bit is checked.)
blocked() {
	local i mask num
	num=$(kill -l "$2") || fail "unknown signal $2"
	for ((i = 0; i < 1000; i++)); do
		mask=$(awk '/^SigBlk:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ -n "$mask" ] || fail "process $1 is gone"
		(((0x$mask >> (num - 1)) & 1)) && return 0
		sleep 0.01
	done
	fail "process $1 never blocked $2"
}
