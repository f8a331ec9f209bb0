#!/bin/bash
# tests/bus/bench.sh IPCKIT - the D-Bus rows of `ipckit bench` (bench/bus.c):
# both run through the private dbus-daemon they start and give numbers;
# the daemon is gone afterwards; without dbus-daemon on PATH both are
# "n/a" with the reason, and the run still succeeds. Exit 0 passes, 77 skips.

# shellcheck source=../cli/lib.sh
. "$(dirname "$0")/../cli/lib.sh"

command -v dbus-daemon >/dev/null || skip "dbus-daemon is not installed"
"$IPCKIT" --version >/dev/null 2>&1 || skip "cannot run $IPCKIT here (a cross build?)"

run 0 "$IPCKIT" bench --only dbus-call,dbus-signal --quick --sizes 64,4096 --json -
grep -q '"built without libsystemd' "$T/run.out" && skip "built without libsystemd"
for row in '"mechanism": "dbus-call", "size": 64, "kind": "rtt", "status": "ok"' \
	'"mechanism": "dbus-call", "size": 4096, "kind": "rtt", "status": "ok"' \
	'"mechanism": "dbus-signal", "size": 64, "kind": "throughput", "status": "ok"' \
	'"mechanism": "dbus-signal", "size": 4096, "kind": "throughput", "status": "ok"'; do
	grep -qF "$row" "$T/run.out" || fail "no '$row' in: $(cat "$T/run.out" "$T/run.err")"
done
# each case started its own daemon under /tmp/ipkb-PID-N-bus and removed it

ls -d /tmp/ipkb-*-bus 2>/dev/null | grep -q . && fail "a bench bus directory was left: $(ls -d /tmp/ipkb-*-bus)"

# no dbus-daemon: n/a, with the reason, and exit 0
run 0 env PATH=/nonexistent "$IPCKIT" bench --only dbus-call,dbus-signal --quick --sizes 64
[ "$(grep -c 'n/a: dbus-daemon not found' "$T/run.out")" -eq 2 ] ||
	fail "want two n/a rows: $(cat "$T/run.out")"

exit 0
