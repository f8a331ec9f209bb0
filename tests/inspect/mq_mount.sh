#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/mq_mount.sh IPCKIT HOLDER: POSIX queues without an mqueue
# mount. As root ipckit mounts a private one (in a mount namespace of its
# own, leaving none behind) and lists the queue with its holder; as nobody
# it says the filesystem is not mounted and how to mount it. Private IPC,
# mount and PID namespace (root), where /dev/mqueue is unmounted.
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
private_ns "$@"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
$AS_NOBODY true 2>/dev/null || skip "setpriv cannot switch to uid 65534 here"
E=$TMPD/err

start mq /ipk-mq-mount
P_MQ=$PID
while grep -q " - mqueue " /proc/self/mountinfo; do
	umount "$(awk '/ - mqueue / { print $5; exit }' /proc/self/mountinfo)" ||
		fail "umount mqueue"
done
"$B" ls --type mq --json >"$TMPD/mq.json" 2>"$E" || fail "ls --type mq: $(cat "$E")"
python3 "$HERE/check.py" holder "$TMPD/mq.json" mq /ipk-mq-mount $P_MQ ||
	fail "mq not listed with its holder"
grep -q " - mqueue " /proc/self/mountinfo && fail "ipckit ls left an mqueue mount behind"
$AS_NOBODY "$B" ls --type mq >/dev/null 2>"$E" || fail "ls --type mq as nobody"
grep -q "mqueue filesystem is not mounted (mount -t mqueue none /dev/mqueue" "$E" ||
	fail "no word about the missing mqueue mount: $(cat "$E")"
echo ok
