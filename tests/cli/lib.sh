# tests/cli/lib.sh - sourced by every CLI test: a private directory named
# with the pid, the servers this test started (and only those) killed on
# exit, and assertions that say what was expected.
#
# Exit 0 passes, 77 skips, anything else fails.

set -u

IPCKIT=${1:?usage: $0 PATH-TO-ipckit}

# sun_path holds 108 bytes: fall back to /tmp when $TMPDIR is deep.
base=${TMPDIR:-/tmp}
[ ${#base} -gt 40 ] && base=/tmp
T=$(mktemp -d "$base/ipckit-cli-$$-XXXX") || exit 1
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

# Starts "$@" in the background with stdout in $T/$name.out and stderr in
# $T/$name.err; records its pid in PIDS and in the variable named $name.
# Standard input is the caller's: bash would give a background command
# /dev/null without the explicit <&0.
start() {
	local name=$1
	shift
	"$@" <&0 >"$T/$name.out" 2>"$T/$name.err" &
	PIDS+=($!)
	printf -v "$name" '%s' "$!"
}

# finish NAME WANT: waits for the process started as NAME and checks its
# exit status.
finish() {
	local name=$1 want=$2 pid st
	pid=${!name}
	wait "$pid"
	st=$?
	[ "$st" -eq "$want" ] ||
		fail "$name exited $st, want $want; stderr: $(cat "$T/$name.err")"
}

# run WANT_STATUS CMD...: runs CMD with stdout in $T/run.out, stderr in
# $T/run.err, and checks its exit status.
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

same_file() {
	cmp -s "$1" "$2" || fail "$1 differs from $2: $(diff "$1" "$2" | head -5)"
}

# A TCP port nobody listens on right now.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	else
		echo $((20000 + RANDOM % 40000))
	fi
}
