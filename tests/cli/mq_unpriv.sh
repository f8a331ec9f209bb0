#!/bin/bash
# mq_unpriv.sh - a POSIX queue over fs.mqueue.msgsize_max, created by a user
# without CAP_SYS_RESOURCE (who may not exceed the limit), fails with exit 1
# and an error that names the limit and creates nothing. Run as root it
# drops to nobody with setpriv; run as a user without CAP_SYS_RESOURCE it
# runs as that user; otherwise it is a skip that says why.
. "$(dirname "$0")/lib.sh"

q=/ipk-cli-unpriv-$$
unlink_q() {
	python3 -c "import ctypes, sys; ctypes.CDLL(None).mq_unlink(sys.argv[1].encode())" "$q" \
		2>/dev/null
}
trap 'unlink_q; cleanup' EXIT

limit=/proc/sys/fs/mqueue/msgsize_max
[ -r "$limit" ] || skip "no $limit: this kernel has no POSIX message queues"
max=$(cat "$limit")

# CAP_SYS_RESOURCE is capability 24.
cap_sys_resource() {
	local eff
	eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$1/status")
	(((0x$eff >> 24) & 1))
}

as=()
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || skip "root, and no setpriv to drop to nobody with"
	id -u nobody >/dev/null 2>&1 || skip "root, and no user nobody to drop to"
	group=nogroup
	getent group nogroup >/dev/null || group=nobody
	getent group "$group" >/dev/null || skip "root, and no group nogroup or nobody to drop to"
	as=(setpriv --reuid=nobody --regid="$group" --clear-groups)
	"${as[@]}" "$IPCKIT" --version >/dev/null 2>&1 ||
		skip "nobody cannot run $IPCKIT (a build directory only root may enter?)"
	who="nobody (setpriv from root)"
elif cap_sys_resource self; then
	skip "uid $(id -u) has CAP_SYS_RESOURCE, which lifts fs.mqueue.msgsize_max, and no root to drop it with setpriv"
else
	who="uid $(id -u), without CAP_SYS_RESOURCE"
fi

run 1 "${as[@]}" "$IPCKIT" send --listen "mq:$q?msgsize=$((max + 1))" x
err_is "^ipckit send: mq:$q\?msgsize=$((max + 1)): .*limit: fs\.mqueue\.msgsize_max"
python3 -c "
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.mq_open(sys.argv[1].encode(), os.O_RDONLY)
sys.exit(0 if fd < 0 and ctypes.get_errno() == 2 else 1)" "$q" ||
	fail "the refused send left mq:$q behind"
echo "  as $who: msgsize=$((max + 1)) over fs.mqueue.msgsize_max $max: $(cat "$T/run.err")"
exit 0
