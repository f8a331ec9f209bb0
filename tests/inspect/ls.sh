#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/ls.sh IPCKIT HOLDER: the table and its filters (--type,
# --pid, --user), and `ipckit stat` of a ring, a queue, a socket, with
# --watch rates. Host namespace, names unique to this run. (A socket's peers
# of another uid: ls_peers.sh.)
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
C="python3 $HERE/check.py"
R=/ipk-ls-$$
# The holders die by SIGKILL: remove what they leave (after lib.sh's cleanup).
trap 'cleanup; rm -f /dev/shm/ipk-ls-$$ /dev/shm/ipk-ls-$$-bell /dev/shm/ipk-ls-watch-$$*' EXIT

start ring $R
P_PUB=$PID
start sub $R
P_SUB=$PID
start unix "$TMPD/ls.sock"
P_UNIX=$PID
start memfd ipk-ls-$$
P_MEMFD=$PID

# Table: grouped by kind, our ring with both holders.
"$B" ls --type ring >"$TMPD/t.txt" || fail "ls --type ring"
head -1 "$TMPD/t.txt" | grep -qx ring || fail "table: first group is not 'ring'"
grep -E "^  $R +" "$TMPD/t.txt" | grep -q "$P_PUB(inspect-holder),$P_SUB(inspect-holder)" ||
	fail "table: ring holders: $(grep "$R" "$TMPD/t.txt")"
grep -q "^unix" "$TMPD/t.txt" && fail "--type ring listed sockets"

# --pid: only what the process holds, created or used last.
"$B" ls --json --pid $P_UNIX >"$TMPD/p.json" || fail "ls --pid"
$C exact "$TMPD/p.json" unix:"$TMPD/ls.sock" || fail "ls --pid $P_UNIX"
"$B" ls --json --pid $P_SUB >"$TMPD/p.json" || fail "ls --pid"
$C exact "$TMPD/p.json" ring:$R || fail "ls --pid $P_SUB"
# --user: ours are owned by us; nobody owns none of them.
"$B" ls --json --user "$(id -u)" --type ring >"$TMPD/u.json" || fail "ls --user"
$C present "$TMPD/u.json" ring:$R || fail "ls --user $(id -u)"
"$B" ls --json --user 65534 --type ring,unix >"$TMPD/u.json" || fail "ls --user 65534"
$C absent "$TMPD/u.json" ring:$R unix:"$TMPD/ls.sock" || fail "ls --user 65534"
"$B" ls --user no-such-user-$$ >/dev/null 2>&1
[ $? = 2 ] || fail "ls --user no-such-user: want exit 2"

# stat: one object, with its holders' uids.
"$B" stat shm:$R >"$TMPD/s.txt" || fail "stat ring"
grep -q "publisher: pid $P_PUB, alive; epoch 1" "$TMPD/s.txt" || fail "stat: $(cat "$TMPD/s.txt")"
grep -q "published: 10 messages" "$TMPD/s.txt" || fail "stat: $(cat "$TMPD/s.txt")"
grep -q "pid $P_SUB (inspect-holder) uid $(id -u)" "$TMPD/s.txt" || fail "stat holders"
"$B" stat unix:"$TMPD/ls.sock" >"$TMPD/s.txt" || fail "stat unix"
grep -q "stream listening" "$TMPD/s.txt" || fail "stat unix: $(cat "$TMPD/s.txt")"
grep -q "pid $P_UNIX" "$TMPD/s.txt" || fail "stat unix holder"
"$B" stat memfd:ipk-ls-$$ >"$TMPD/s.txt" || fail "stat memfd"
grep -q "pid $P_MEMFD" "$TMPD/s.txt" || fail "stat memfd holder"

# --watch: rates over the interval, from a publisher at 200 messages/s.
W=/ipk-ls-watch-$$
"$B" pub --rate 200 --size 64 shm:$W 2>/dev/null &
PUB=$!
HOLDERS="$HOLDERS $PUB"
for i in $(seq 100); do [ -e /dev/shm/ipk-ls-watch-$$ ] && break; sleep 0.02; done
"$B" stat --watch=0.5 --count 3 --json shm:$W >"$TMPD/w.json" || fail "stat --watch"
[ "$(wc -l <"$TMPD/w.json")" = 3 ] || fail "stat --watch --count 3: $(cat "$TMPD/w.json")"
python3 - "$TMPD/w.json" <<'PY' || fail "stat --watch rates"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert "rate" not in lines[0]
for l in lines[1:]:
    r = l["rate"]
    assert 100 <= r["msgs_per_s"] <= 300, r
    assert r["bytes_per_s"] >= 64 * 100, r
    assert l["object"]["ring"]["publisher_alive"] is True
PY
"$B" stat --watch=0.2 --count 2 shm:$W >"$TMPD/w.txt" || fail "stat --watch text"
grep -q "rate: .* messages/s" "$TMPD/w.txt" || fail "stat --watch: $(cat "$TMPD/w.txt")"
# SIGINT and SIGTERM end a watch at once (not at the next refresh), exit 0.
for sig in INT TERM; do
	"$B" stat --watch=5 shm:$W >"$TMPD/w.sig" &
	SW=$!
	for i in $(seq 200); do [ -s "$TMPD/w.sig" ] && break; sleep 0.01; done
	t0=$(date +%s%N)
	kill -$sig $SW
	wait $SW
	st=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ $st = 0 ] && [ $ms -lt 1000 ] || fail "stat --watch, SIG$sig: exit $st after $ms ms"
done
kill $PUB
wait $PUB 2>/dev/null
"$B" stat --watch=0 shm:$R >/dev/null 2>&1
[ $? = 2 ] || fail "stat --watch=0: want exit 2"
echo ok
