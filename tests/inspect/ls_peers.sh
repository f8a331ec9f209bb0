#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/ls_peers.sh IPCKIT HOLDER: `ipckit stat` of a listening Unix
# socket shows its peers with their credentials: a client of another uid
# (nobody). Root only (to run the client as another user).
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: the client runs as another uid"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
$AS_NOBODY true 2>/dev/null || skip "setpriv cannot switch to uid 65534 here"

start unix "$TMPD/ls.sock"
P_UNIX=$PID
chmod 755 "$TMPD"
chmod 777 "$TMPD/ls.sock"
START_AS=$AS_NOBODY start connect "$TMPD/ls.sock"
CLIENT=$PID
for i in $(seq 100); do
	"$B" stat unix:"$TMPD/ls.sock" >"$TMPD/s.txt" 2>/dev/null || fail "stat unix"
	grep -q "peers:   1" "$TMPD/s.txt" && break
	sleep 0.05
done
grep -q "pid $P_UNIX" "$TMPD/s.txt" || fail "stat unix holder: $(cat "$TMPD/s.txt")"
grep -q "pid $CLIENT (inspect-holder) uid 65534" "$TMPD/s.txt" ||
	fail "stat peers: $(cat "$TMPD/s.txt")"
grep -q "conns=1" "$TMPD/s.txt" || fail "stat conns: $(cat "$TMPD/s.txt")"
echo ok
