# SPDX-License-Identifier: MIT
# tests/inspect/lib.sh - shared by the ipckit ls/stat/gc tests (sourced).
# Expects B (the ipckit binary), H (the holder helper) and HERE (this dir).

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

TMPD=$(mktemp -d /tmp/ipk-inspect.XXXXXX)
HOLDERS=""

cleanup() {
	for p in $HOLDERS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMPD"
}
trap cleanup EXIT

# start_nowait KIND NAME: run a holder in the background (under $START_AS,
# e.g. a setpriv command, if set); sets PID and OUT (its output file). wait_ready waits until every
# holder started so far holds its object.
PENDING=""
start_nowait() {
	local out="$TMPD/holder.$RANDOM.$RANDOM"
	${START_AS:-} "$H" "$1" "$2" >"$out" 2>&1 &
	PID=$!
	OUT=$out
	HOLDERS="$HOLDERS $PID"
	PENDING="$PENDING $PID:$out"
}

wait_ready() {
	local e p out i
	for e in $PENDING; do
		p=${e%%:*}
		out=${e#*:}
		for i in $(seq 500); do
			grep -q '^ready' "$out" 2>/dev/null && break
			kill -0 "$p" 2>/dev/null || fail "holder $p died: $(cat "$out")"
			sleep 0.02
		done
		grep -q '^ready' "$out" || fail "holder $p not ready: $(cat "$out")"
	done
	PENDING=""
}

# start KIND NAME: start_nowait and wait_ready.
start() {
	start_nowait "$1" "$2"
	wait_ready
}

# wait_for CMD...: until CMD succeeds (5 s at most).
wait_for() {
	local i
	for i in $(seq 250); do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}

# kill9 PID...: SIGKILL and reap.
kill9() {
	local p
	for p in "$@"; do
		kill -9 "$p"
		wait "$p" 2>/dev/null
	done
}

# In a private IPC, mount and PID namespace with its own /dev/shm, mqueue
# mount and /proc (root only): what these tests create and remove cannot
# touch the host's or other tests' objects, and every process there is ours
# (a host process that root may not inspect cannot make gc's view blind).
# Re-executes the calling script; skips without root.
private_ns() {
	if [ -n "${IPK_INSPECT_NS:-}" ]; then
		mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "mount tmpfs /dev/shm"
		mkdir -p /dev/mqueue
		mount -t mqueue mqueue /dev/mqueue || fail "mount mqueue"
		return 0
	fi
	[ "$(id -u)" = 0 ] || skip "needs root: runs in a private IPC and mount namespace"
	local ns="--ipc --mount --pid --fork --mount-proc --propagation private"
	unshare $ns true 2>/dev/null || skip "unshare $ns not permitted here"
	trap - EXIT
	rm -rf "$TMPD"
	IPK_INSPECT_NS=1 exec unshare $ns bash "$0" "$@"
}
