#!/bin/bash
# tests/bench/peers.sh IPCKIT - the peer rows of `ipckit bench` (ZeroMQ, nng,
# iceoryx, Boost.Interprocess; bench/peer_*.c): each runs briefly at 64
# bytes, round trip and stream, and either measured (status ok, class peer,
# a version naming the library) or, when this build lacks the library
# (--list says "not built"), is n/a with a reason that says what to
# install or set; never failed, never missing. The iceoryx rows may also be n/a
# because a RouDi that is not ours runs on this host (iceoryx 2.0 allows
# one): then they say so. Afterwards nothing of the run is left: no
# iox-roudi it started (found by the run's tag in its command line, not
# by name), none of iceoryx's fixed names that were not there before, and
# nothing named with the run's tag (ipkb-PID-) in /dev/shm or /tmp. Then the
# same for a run stopped by SIGTERM while its RouDi runs. 1 MiB streams
# through ZeroMQ and nng end: closing does not drop the last message.
#
# Exit 0 passes, 77 skips, anything else fails.
set -u

IPCKIT=${1:?usage: $0 PATH-TO-ipckit}
ROWS=(zmq-ipc zmq-ipc-poll nng-ipc nng-ipc-poll iceoryx iceoryx-poll boost-mq boost-mq-poll)
IOX_NAMES=(/dev/shm/iceoryx_mgmt /tmp/roudi /tmp/roudi.lock /tmp/iox-unique-roudi.lock)

T=$(mktemp -d "${TMPDIR:-/tmp}/ipckit-bench-peers-$$-XXXX") || exit 1
RAN=()   # every bench pid: its tag is ours
FAILED=0 # an assertion failed: the test goes on, to say all that is wrong

fail() {
	echo "FAIL peers.sh:${BASH_LINENO[0]}: $*" >&2
	FAILED=1
}

# The iox-roudi processes a bench @1 started: their config is in its tag's
# directory (bench/peer_iceoryx.c), so they are found by that.
roudis_of() {
	local p
	for p in $(pgrep -x iox-roudi); do
		grep -qa "ipkb-$1-" "/proc/$p/cmdline" 2>/dev/null && echo "$p"
	done
}

cleanup() {
	local p r
	for p in "${RAN[@]}"; do
		kill -KILL "$p" 2>/dev/null
		for r in $(roudis_of "$p"); do kill -KILL "$r"; done
		rm -rf /dev/shm/ipkb-"$p"-* /tmp/ipkb-"$p"-* 2>/dev/null
	done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# Which of iceoryx's fixed names exist now (a RouDi of someone else's).
iox_names() {
	local n
	for n in "${IOX_NAMES[@]}"; do
		[ -e "$n" ] && echo "$n"
	done | sort
}

# Nothing of bench @1 is left; @2: the iceoryx names there before it ran.
nothing_left() {
	local r left
	r=$(roudis_of "$1")
	[ -z "$r" ] || fail "bench $1 left iox-roudi running: pid $r"
	left=$(ls -d /dev/shm/ipkb-"$1"-* /tmp/ipkb-"$1"-* 2>/dev/null)
	[ -z "$left" ] || fail "bench $1 left: $left"
	left=$(comm -13 <(echo "$2") <(iox_names))
	[ -z "$left" ] || fail "bench $1 left iceoryx's names: $left"
}

[ -x "$IPCKIT" ] || { echo "FAIL peers.sh: no $IPCKIT" >&2; exit 1; }
"$IPCKIT" bench --list >"$T/list" || { echo "FAIL peers.sh: --list" >&2; exit 1; }
for row in "${ROWS[@]}"; do
	grep -q "^$row  *peer " "$T/list" || fail "--list has no peer row $row"
done

# ---- --peers picks every peer row and the ipckit rows they compete with
"$IPCKIT" bench --peers --list >"$T/peers" || fail "--peers --list: exit $?"
for row in "${ROWS[@]}" limit shm-ring-spin shm-ring shm-queue unix-stream; do
	grep -q "^$row " "$T/peers" || fail "--peers leaves out $row"
done
[ "$(wc -l <"$T/peers")" -eq $((${#ROWS[@]} + 5)) ] || fail "--peers picks more: $(cat "$T/peers")"
"$IPCKIT" bench --peers --only limit >/dev/null 2>"$T/err"
[ $? -eq 2 ] || fail "--peers with --only: want exit 2"
grep -q -- "--peers and --only both choose the rows" "$T/err" || fail "--peers --only: $(cat "$T/err")"

# ---- every peer row, briefly
before=$(iox_names)
only=$(
	IFS=,
	echo "${ROWS[*]}"
)
"$IPCKIT" bench --quick --time 0.02 --sizes 64 --only "$only" --json "$T/run.json" \
	>"$T/out" 2>"$T/err" &
pid=$!
RAN+=("$pid")
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "bench exit $rc: $(cat "$T/err")"
grep -q '\[peer\]' "$T/out" || fail "the table marks no row [peer]"
nothing_left "$pid" "$before"

python3 - "$T/run.json" "$T/list" "${ROWS[@]}" <<'EOF' || FAILED=1
import json, sys

doc = json.load(open(sys.argv[1]))
listed = {l.split()[0]: l for l in open(sys.argv[2])}
bad = 0

def fail(msg):
    global bad
    print("FAIL peers.sh (json): " + msg, file=sys.stderr)
    bad = 1

recs = {(r["mechanism"], r["kind"]): r for r in doc["results"]}
for row in sys.argv[3:]:
    built = "(not built)" not in listed.get(row, "")
    for kind in ("rtt", "throughput"):
        r = recs.get((row, kind))
        if r is None:
            fail("%s %s: no record" % (row, kind))
            continue
        if r["class"] != "peer":
            fail("%s: class %r, want peer" % (row, r["class"]))
        why = r.get("reason", "")
        if not built:
            if r["status"] != "n/a" or "built without" not in why or ":" not in why:
                fail("%s %s: built without it, yet %s: %r" % (row, kind, r["status"], why))
            if r["version"] is not None:
                fail("%s: version %r although not built" % (row, r["version"]))
            continue
        if not r["version"] or not any(c.isdigit() for c in r["version"]):
            fail("%s: version %r" % (row, r["version"]))
        if r["status"] == "n/a" and row.startswith("iceoryx") and "another iox-roudi" in why:
            print("peers.sh: %s %s n/a: %s" % (row, kind, why))
            continue
        if r["status"] != "ok":
            fail("%s %s: %s: %s" % (row, kind, r["status"], why))
            continue
        if r["samples"] < 1 or r["msgs_per_s"] <= 0:
            fail("%s %s: no samples" % (row, kind))
        if kind == "rtt" and not 0 < r["p50_ns"] <= r["p99_ns"]:
            fail("%s: p50 %r, p99 %r" % (row, r["p50_ns"], r["p99_ns"]))
sys.exit(bad)
EOF

# ---- the last message of a case arrives although its sender closes at once
# (zmq_close() and nng_close() may drop what is queued): 1 MiB streams,
# whose last message (B's acknowledgement) is still queued when B closes.
"$IPCKIT" bench --quick --timeout 5 --sizes 1048576 --kinds throughput \
	--only zmq-ipc,nng-ipc --json "$T/big.json" >/dev/null 2>"$T/err3" &
pid=$!
RAN+=("$pid")
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "1 MiB streams: exit $rc: $(cat "$T/err3")"
nothing_left "$pid" "$before"

# ---- stopped by SIGTERM while its own RouDi runs: that RouDi ends too
if grep -q "^iceoryx .*(not built)" "$T/list"; then
	echo "peers.sh: iceoryx not built: no stop check"
elif [ -n "$(iox_names)" ]; then
	echo "peers.sh: another RouDi's names exist: no stop check"
else
	"$IPCKIT" bench --time 5 --sizes 64 --only iceoryx >/dev/null 2>"$T/err2" &
	pid=$!
	RAN+=("$pid")
	# Wait (bounded) for its RouDi, then for both sides under it.
	for _ in $(seq 300); do
		[ -n "$(roudis_of "$pid")" ] && [ "$(pgrep -c -P "$pid")" -ge 3 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	[ -n "$(roudis_of "$pid")" ] || fail "no RouDi of bench $pid seen"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "stopped bench exit $rc: $(cat "$T/err2")"
	grep -q "stopped by SIGTERM" "$T/err2" || fail "no stop line: $(cat "$T/err2")"
	nothing_left "$pid" ""
fi

[ "$FAILED" -eq 0 ] || exit 1
echo "peers.sh: ok"
