#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/gc.sh IPCKIT HOLDER: one object of every kind, each made and
# held by its own process; ls lists each with its holder; after SIGKILL of
# some holders `gc` lists exactly the orphans (and as unknown what may still
# have a user) and `gc --yes` removes exactly the orphans, never an object a
# live process holds or maps. Private IPC, mount and PID namespace.
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
private_ns "$@"
C="python3 $HERE/check.py"
J=$TMPD/ls.json
T=$TMPD
# Not unix: /proc/net/unix is the network namespace's, so other tests'
# sockets are listed here too, their holders unseen (unknown).
GCT="--type sysv-msg,sysv-shm,sysv-sem,mq,shm,sem,ring,fifo,memfd"

# Left behind once their holders are killed (ipckit gc's business):
start_nowait ring /gc-ring;       P_RING=$PID
start_nowait sysv-shm 0x4b1002;   P_SHM=$PID
# Left behind too, but whose creator nobody records: gc must keep them
# (unknown: a live process may still use them).
start_nowait sysv-msg 0x4b1001;   P_MSG=$PID
start_nowait sysv-sem 0x4b1003;   P_SEM=$PID
start_nowait mq /gc-mq;           P_MQ=$PID
start_nowait shm /gc-shm;         P_PSHM=$PID
start_nowait sem /gc-sem;         P_PSEM=$PID
start_nowait fifo "$T/gc.fifo";   P_FIFO=$PID
start_nowait unix "$T/gc.sock";   P_UNIX=$PID
# Held by live processes until the end:
start_nowait ring /live-ring;     P_LRING=$PID
start_nowait ring /held-ring;     P_HRING=$PID
start_nowait sysv-shm 0x4b2002;   P_LSHM=$PID
start_nowait sysv-msg 0x4b2001;   P_LMSG=$PID
start_nowait memfd gc-memfd;      P_MEMFD=$PID

wait_ready
start_nowait sub /gc-ring;        P_RSUB=$PID
start_nowait sub /held-ring;      P_HSUB=$PID
wait_ready

"$B" ls --json >"$J" || fail "ls --json failed"
# (Ring pages are part of their ring, not objects of their own.)
$C batch "$J" <<EOF || fail "ls --json: objects and holders"
holder ring /gc-ring $P_RING
holder ring /gc-ring $P_RSUB
holder sysv-shm 0x004b1002 $P_SHM
field sysv-shm 0x004b1002 cpid $P_SHM
field sysv-msg 0x004b1001 lpid $P_MSG
field sysv-sem 0x004b1003 lpid $P_SEM
field sysv-sem 0x004b1003 count 2
holder mq /gc-mq $P_MQ
field mq /gc-mq count 1
holder shm /gc-shm $P_PSHM
holder sem /gc-sem $P_PSEM
holder fifo "$T/gc.fifo" $P_FIFO
holder unix "$T/gc.sock" $P_UNIX
field unix "$T/gc.sock" socket.state '"listening"'
holder memfd memfd:gc-memfd $P_MEMFD
field ring /gc-ring ring.publisher_pid $P_RING
field ring /gc-ring ring.publisher_alive true
field ring /gc-ring ring.published 10
field ring /gc-ring ring.epoch 1
absent shm:/gc-ring-bell
EOF

# Nothing is an orphan while everything is held.
"$B" gc $GCT --json >"$T/gc0.json" || fail "gc --json"
$C exact "$T/gc0.json" || fail "orphans while all held"

kill9 $P_RING $P_RSUB $P_MSG $P_SHM $P_SEM $P_MQ $P_PSHM $P_PSEM $P_FIFO $P_UNIX $P_HRING

ORPHANS="ring:/gc-ring sysv-shm:0x004b1002"
UNKNOWN="sysv-msg:0x004b1001 sysv-sem:0x004b1003 mq:/gc-mq shm:/gc-shm sem:/gc-sem"
"$B" gc $GCT >"$T/gc1.txt" || fail "gc dry run"
grep -q "^2 orphans (the unknown are kept)" "$T/gc1.txt" ||
	fail "dry-run summary: $(cat "$T/gc1.txt")"
# (so the dry run removed nothing:)
"$B" gc $GCT --json >"$T/gc1.json" || fail "gc --json after kill"
$C exact "$T/gc1.json" $ORPHANS $UNKNOWN || fail "gc listing after SIGKILL"
$C state "$T/gc1.json" orphan $ORPHANS || fail "orphans after SIGKILL"

"$B" gc $GCT --yes >"$T/gc2.txt" || fail "gc --yes: $(cat "$T/gc2.txt")"
[ "$(grep -c '^removed' "$T/gc2.txt")" = 2 ] || fail "gc --yes output: $(cat "$T/gc2.txt")"
"$B" ls --json >"$J" || fail "ls"
$C absent "$J" $ORPHANS || fail "an orphan survived gc --yes"
$C present "$J" $UNKNOWN ring:/live-ring \
	ring:/held-ring sysv-shm:0x004b2002 sysv-msg:0x004b2001 memfd:memfd:gc-memfd ||
	fail "gc --yes removed something it must not"
[ -e /dev/shm/gc-ring-bell ] && fail "ring's -bell page left behind"
[ -S "$T/gc.sock" ] || fail "socket file removed"
[ -p "$T/gc.fifo" ] || fail "fifo removed"
$C batch "$J" <<EOF || fail "after gc --yes"
no-orphans
field ring /held-ring ring.publisher_alive false
holder ring /held-ring $P_HSUB
EOF

# rm by URL: the ones gc leaves alone.
"$B" rm mq:/gc-mq shm:/gc-shm sem:/gc-sem sysvmq:0x4b2001 sysvmq:0x4b1001 sysvsem:0x4b1003 \
	unix:"$T/gc.sock" fifo:"$T/gc.fifo" || fail "rm"
"$B" ls --json >"$J" || fail "ls"
$C absent "$J" $UNKNOWN sysv-msg:0x004b2001 || fail "rm left something"
[ -e "$T/gc.sock" ] && fail "rm unix: socket file still there"
[ -e "$T/gc.fifo" ] && fail "rm fifo: still there"
"$B" rm sysvshm:id=999999 2>"$T/err" && fail "rm of a missing id succeeded"
echo ok
