#!/bin/bash
# examples/sensor-relay: every reading is forwarded, alarms included, by a
# relay that only mq_notify wakes; it exits 0 and removes its queue.
. "$(dirname "$0")/lib.sh"

RELAY=${2:?usage: $0 ipckit sensor-relay}
run 0 "$RELAY"
grep -Eq '^relay: forwarded 20 readings \(5 alarms\) in [0-9]+ wake-ups; relay CPU time [0-9.]+ ms$' \
	"$T/run.out" || fail "unexpected summary: $(tail -3 "$T/run.out")"
exit 0
