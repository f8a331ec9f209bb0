#!/bin/bash
# A client from outside the project: Python's sysv_ipc module sends typed
# messages that `ipckit recv sysvmq:` receives with their types (in order,
# and selectively), and receives what `ipckit send --type` sent.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
$PY -c 'import sysv_ipc' 2>/dev/null || skip "python3-sysv-ipc is not installed"

key=$((0x1b000000 + $$))
py() {
	$PY -c "import sys, sysv_ipc
key = $key
$1" || fail "python: $1"
}
trap 'py "
try:
    sysv_ipc.MessageQueue(key).remove()
except sysv_ipc.ExistentialError:
    pass" 2>/dev/null; cleanup' EXIT

py "q = sysv_ipc.MessageQueue(key, sysv_ipc.IPC_CREX, mode=0o600)
for text, t in ((b'alpha', 3), (b'beta', 1), (b'gamma', 2), (b'delta', 3)):
    q.send(text, type=t)"

# every message, in order, with its type
run 0 "$IPCKIT" recv --connect --count 4 --show-meta "sysvmq:$key"
printf '3\talpha\n1\tbeta\n2\tgamma\n3\tdelta\n' >"$T/want"
same_file "$T/run.out" "$T/want"

# selective receive with the kernel's rules
py "q = sysv_ipc.MessageQueue(key)
for text, t in ((b'a3', 3), (b'b1', 1), (b'c2', 2), (b'd5', 5)):
    q.send(text, type=t)"
run 0 "$IPCKIT" recv --connect --count 1 --show-meta --type 2 "sysvmq:$key"
printf '2\tc2\n' >"$T/want"
same_file "$T/run.out" "$T/want"
run 0 "$IPCKIT" recv --connect --count 1 --show-meta --type -4 "sysvmq:$key"
printf '1\tb1\n' >"$T/want"
same_file "$T/run.out" "$T/want"
run 0 "$IPCKIT" recv --connect --count 2 --show-meta "sysvmq:$key"
printf '3\ta3\n5\td5\n' >"$T/want"
same_file "$T/run.out" "$T/want"

# the other way: ipckit sends typed messages, Python picks them by type
run 0 "$IPCKIT" send --type 7 "sysvmq:$key" "seven"
run 0 "$IPCKIT" send --type 4 "sysvmq:$key" "four"
py "q = sysv_ipc.MessageQueue(key)
m, t = q.receive(type=4, block=False)
assert (m, t) == (b'four', 4), (m, t)
m, t = q.receive(block=False)
assert (m, t) == (b'seven', 7), (m, t)"

# a type below 1 cannot be sent
run 2 "$IPCKIT" send --type 0 "sysvmq:$key" "zero"
err_is "bad --type '0'"
exit 0
