#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/denied.sh IPCKIT HOLDER: processes whose /proc entries may
# not be read. ls and gc report them (and denied_pids) and say "run as root"
# only when not root: as root without CAP_SYS_PTRACE (closed to root too)
# they do not; as nobody they do. What such a process may hold is not
# proven absent: a ring with a dead publisher is unknown, not an orphan.
# Private IPC, mount and PID namespace (root).
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
private_ns "$@"
C="python3 $HERE/check.py"
T=$TMPD
E=$T/err
if command -v setpriv >/dev/null; then
	AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
	NO_PTRACE="setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace"
else
	skip "setpriv (util-linux) not installed: cannot run as nobody or without CAP_SYS_PTRACE"
fi
$AS_NOBODY true 2>/dev/null || skip "setpriv cannot switch to uid 65534 here"
$NO_PTRACE true 2>/dev/null || skip "setpriv cannot drop CAP_SYS_PTRACE here"
chmod 755 "$T"

start ring /den-live
P_LIVE=$PID
start ring /den-dead
kill9 $PID

# Root with every capability reads every process here: no report.
"$B" ls --json >"$T/root.json" 2>"$E" || fail "ls as root: $(cat "$E")"
grep -q "could not be inspected" "$E" && fail "ls as root: $(cat "$E")"
"$B" gc --json --type ring >"$T/root-gc.json" || fail "gc as root"
$C field "$T/root-gc.json" ring /den-dead gc '"orphan"' || fail "gc as root"

# Root without CAP_SYS_PTRACE may not read a process with more
# capabilities: reported, without "run as root" (it is root).
$NO_PTRACE "$B" ls --json >"$T/np.json" 2>"$E" || fail "ls without ptrace: $(cat "$E")"
grep -q "could not be inspected" "$E" || fail "ls without ptrace: no report: $(cat "$E")"
grep -q "run as root" "$E" && fail "ls as root says 'run as root': $(cat "$E")"
python3 - "$T/np.json" "$P_LIVE" <<'PY' || fail "ls without ptrace: denied pids"
import json, sys
doc = json.load(open(sys.argv[1]))
assert int(sys.argv[2]) in doc["denied_pids"], doc["denied_pids"]
PY
$NO_PTRACE "$B" gc --json --type ring >"$T/np-gc.json" 2>"$E" || fail "gc without ptrace"
grep -q "run as root" "$E" && fail "gc as root says 'run as root': $(cat "$E")"
$C field "$T/np-gc.json" ring /den-dead gc '"unknown"' || fail "gc without ptrace: dead ring"
grep -q '"gc_reason": "publisher [0-9]* dead, but [0-9]* process.* could not be inspected' \
	"$T/np-gc.json" || fail "gc without ptrace: reason: $(cat "$T/np-gc.json")"

# nobody: reported, with "run as root"; gc proves nothing about rings.
$AS_NOBODY "$B" ls --json >"$T/nobody.json" 2>"$E" || fail "ls as nobody: $(cat "$E")"
grep -q "could not be inspected (holders may be missing; run as root)" "$E" ||
	fail "ls as nobody: $(cat "$E")"
python3 - "$T/nobody.json" "$P_LIVE" <<'PY' || fail "ls as nobody: denied pids"
import json, sys
doc = json.load(open(sys.argv[1]))
assert int(sys.argv[2]) in doc["denied_pids"], doc["denied_pids"]
PY
# (root's 0600 ring is unreadable to nobody: it is plain shared memory then)
$AS_NOBODY "$B" gc --type ring,shm >"$T/nobody-gc.txt" 2>"$E" || fail "gc as nobody: $(cat "$E")"
grep -q "run as root" "$E" || fail "gc as nobody: no 'run as root': $(cat "$E")"
grep -qE "^unknown (ring|shm) +/den-dead: .*could not be inspected" "$T/nobody-gc.txt" ||
	fail "gc as nobody: $(cat "$T/nobody-gc.txt")"
$AS_NOBODY "$B" gc --yes --type ring,shm >/dev/null 2>&1 || fail "gc --yes as nobody"
[ -e /dev/shm/den-dead ] || fail "gc --yes as nobody removed an unproven ring"
echo ok
