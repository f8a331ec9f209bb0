#!/bin/bash
# POSIX queues from the shell: priorities set by `send --priority` come out
# highest first with `recv --show-meta`; a missing queue is ENOENT; a
# limit error names the limit; `ipckit mq limits` reads the kernel's.
. "$(dirname "$0")/lib.sh"

q=/ipk-cli-$$
unlink_q() {
	python3 -c "import ctypes, sys; ctypes.CDLL(None).mq_unlink(sys.argv[1].encode())" "$q" \
		2>/dev/null
}
trap 'unlink_q; cleanup' EXIT

run 1 "$IPCKIT" send --timeout 0 "mq:$q" "nobody"
err_is "mq:$q: No such file or directory \(ENOENT\)$"

# the creator keeps the queue, so the messages wait in it
run 0 "$IPCKIT" send --listen --keep --priority 1 "mq:$q" "low"
run 0 "$IPCKIT" send --priority 9 "mq:$q" "high"
run 0 "$IPCKIT" send --priority 5 "mq:$q" "mid"
run 0 "$IPCKIT" recv --connect --count 3 --show-meta --timeout 5 "mq:$q"
printf '9\thigh\n5\tmid\n1\tlow\n' >"$T/want"
same_file "$T/run.out" "$T/want"
run 1 "$IPCKIT" recv --connect --count 1 --timeout 0 "mq:$q"
err_is "Resource temporarily unavailable \(EAGAIN\)"

run 0 "$IPCKIT" mq limits
grep -q '^fs.mqueue.msg_max ' "$T/run.out" || fail "no fs.mqueue.msg_max in: $(cat "$T/run.out")"
grep -q '^kernel.msgmni ' "$T/run.out" || fail "no kernel.msgmni in: $(cat "$T/run.out")"

# Over fs.mqueue.msgsize_max as an unprivileged user: mq_unpriv.sh.
exit 0
