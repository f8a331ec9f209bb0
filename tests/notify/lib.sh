# tests/notify/lib.sh - sourced by the shell tests of tests/notify/: the
# helpers of tests/cli/lib.sh, plus a wait for a process to block a signal.
# shellcheck source=../cli/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

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
