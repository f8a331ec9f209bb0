#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/gc_live.sh IPCKIT HOLDER: `gc --yes` removes only what is
# proven orphaned. Kept (listed "unknown"): a System V queue whose creator
# lives, one whose creator is blocked receiving another type while a message
# waits (the message and the receiver survive), semaphore sets whose creator
# lives or is stopped, a ring closed with --keep, an unattached segment whose
# creator lives. Not listed (in use): what a stopped process publishes or
# maps. Removed: a ring whose publisher was killed, segments whose creator
# exited (one whose pid a later process took), a ring page without its ring.
# Private IPC, mount and PID namespace.
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
private_ns "$@"
C="python3 $HERE/check.py"
T=$TMPD
J=$T/ls.json
# Not unix: /proc/net/unix is the network namespace's, so other tests'
# sockets are listed here too, their holders unseen (unknown).
GCT="--type sysv-msg,sysv-shm,sysv-sem,mq,shm,sem,ring,fifo,memfd"

# First, as it needs time to pass: a segment whose creator exits now; its
# pid goes to a later process at the end.
"$H" shm-once 0x4b4006 &
P_REUSED=$!
wait $P_REUSED || fail "shm-once 0x4b4006"
T0=$(date +%s)

# A: a queue whose creator lives and never sent; a sender that exited left
# a message.
start msg-create 0x4b4001
"$H" msg-send 0x4b4001:1 || fail "msg-send A"
# B: the creator blocks for a message of type 2; an exited sender left one
# of type 1.
start msg-wait 0x4b4002
P_B=$PID
OUT_B=$OUT
"$H" msg-send 0x4b4002:1 || fail "msg-send B"
blocked() { grep -q msgrcv /proc/$1/wchan; }
wait_for blocked $P_B || fail "receiver not blocked in msgrcv: $(cat /proc/$P_B/wchan)"
# C: a semaphore set whose creator lives; its last operator exited.
start sem-create 0x4b4003
"$H" sem-op 0x4b4003 || fail "sem-op C"
# D: stopped processes: a set's creator, a ring's publisher, a mapper.
start sem-create 0x4b4004
P_D=$PID
"$H" sem-op 0x4b4004 || fail "sem-op D"
start ring /stopped-ring
P_DR=$PID
start shm /stopped-shm
P_DS=$PID
kill -STOP $P_D $P_DR $P_DS
stopped() { grep -q '^State:.*T' /proc/$1/status; }
for p in $P_D $P_DR $P_DS; do wait_for stopped $p || fail "$p not stopped"; done
# F: a ring its publisher closed and kept on purpose.
echo hi | "$B" pub --keep shm:/kept-ring 2>/dev/null || fail "pub --keep"
[ -e /dev/shm/kept-ring ] || fail "pub --keep left no ring"
# G: an unattached segment whose creator lives.
start shm-create 0x4b4007
# E: dead last users: a ring whose publisher was killed, a segment whose
# creator exited, a ring's -bell page without its ring (magic "BELL").
start ring /dead-ring
kill9 $PID
"$H" shm-once 0x4b4005 || fail "shm-once 0x4b4005"
printf 'BELL' >/dev/shm/lone-bell

# The pid of 0x4b4006's creator, now taken by a process started more than
# 2 s after the segment was made (start times are compared with it).
past() { [ "$(date +%s)" -ge "$1" ]; }
wait_for past $((T0 + 3)) || fail "clock"
start_nowait at-pid $P_REUSED
for i in $(seq 250); do
	grep -q '^ready' "$OUT" && break
	if ! kill -0 $PID 2>/dev/null; then
		wait $PID
		[ $? = 77 ] && skip "clone3 set_tid refused: cannot reuse a pid here"
		fail "at-pid $P_REUSED: $(cat "$OUT")"
	fi
	sleep 0.02
done
grep -q "^ready $P_REUSED\$" "$OUT" || fail "at-pid $P_REUSED: $(cat "$OUT")"
PENDING=""

ORPHANS="ring:/dead-ring sysv-shm:0x004b4005 sysv-shm:0x004b4006 shm:/lone-bell"
UNKNOWN="sysv-msg:0x004b4001 sysv-msg:0x004b4002 sysv-sem:0x004b4003 sysv-sem:0x004b4004
	ring:/kept-ring sysv-shm:0x004b4007"
"$B" gc $GCT --json >"$T/g1.json" || fail "gc --json"
$C state "$T/g1.json" orphan $ORPHANS || fail "orphans"
$C state "$T/g1.json" unknown $UNKNOWN || fail "unknown"
"$B" gc $GCT >"$T/g1.txt" || fail "gc"
grep -q "^unknown sysv-msg 0x004b4001: the kernel records no creator.*ipckit rm sysvmq:0x004b4001" \
	"$T/g1.txt" || fail "gc text: $(cat "$T/g1.txt")"
grep -q "^unknown ring     /kept-ring: its publisher closed it and kept it" "$T/g1.txt" ||
	fail "gc text: $(cat "$T/g1.txt")"
grep -q "^orphan  sysv-shm 0x004b4006: not attached; creator $P_REUSED and last attacher $P_REUSED dead" \
	"$T/g1.txt" || fail "gc text: $(cat "$T/g1.txt")"
grep -q "^4 orphans (the unknown are kept)" "$T/g1.txt" || fail "gc summary: $(cat "$T/g1.txt")"

"$B" gc $GCT --yes >"$T/g2.txt" || fail "gc --yes: $(cat "$T/g2.txt")"
[ "$(grep -c '^removed' "$T/g2.txt")" = 4 ] || fail "gc --yes: $(cat "$T/g2.txt")"
# (Other tests' Unix sockets are seen too: /proc/net/unix is the network
# namespace's, their holders are not seen from here.)
[ "$(grep -cE '^kept +(sysv-msg 0x004b400[12]|sysv-sem 0x004b400[34]|ring +/kept-ring|sysv-shm 0x004b4007): ' \
	"$T/g2.txt")" = 6 ] || fail "gc --yes: $(cat "$T/g2.txt")"
"$B" ls --json >"$J" || fail "ls"
$C absent "$J" $ORPHANS || fail "an orphan survived gc --yes"
[ -e /dev/shm/dead-ring-bell ] && fail "the dead ring's -bell page survived"
$C present "$J" $UNKNOWN ring:/stopped-ring shm:/stopped-shm ||
	fail "gc --yes removed what a live process may use"
$C batch "$J" <<EOF || fail "after gc --yes"
field sysv-msg 0x004b4001 count 1
field sysv-msg 0x004b4002 count 1
field ring /stopped-ring gc '"in-use"'
field shm /stopped-shm gc '"in-use"'
holder shm /stopped-shm $P_DS
EOF

# B's receiver, continued, gets the message it waits for and the one that
# waited for it (not EIDRM).
kill -CONT $P_D $P_DR $P_DS
"$H" msg-send 0x4b4002:2 || fail "msg-send B type 2"
wait $P_B
rc=$?
[ $rc = 0 ] || fail "receiver: exit $rc: $(cat "$OUT_B")"
grep -q "^got 2 pending-2" "$OUT_B" || fail "receiver: $(cat "$OUT_B")"
grep -q "^got 1 pending-1" "$OUT_B" || fail "receiver lost the pending message: $(cat "$OUT_B")"
echo ok
