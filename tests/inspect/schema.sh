#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/schema.sh IPCKIT HOLDER: `ipckit ls --json` and `ipckit gc
# --json` (its objects) validate against docs/ls-schema.json, with a live
# ring, a dead one and a System V queue among them. Skips without
# python3-jsonschema. Host namespace, names unique to this run.
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3 jsonschema missing: schema not checked"
S=$HERE/../../docs/ls-schema.json
R=/ipk-schema-$$
trap 'cleanup; rm -f /dev/shm/ipk-schema-$$* /dev/shm/ipk-schema-dead-$$*' EXIT

start ring $R
start ring /ipk-schema-dead-$$
kill9 $PID
start sysv-msg $((0x4b5000 + $$ % 4096))
"$B" ls --json >"$TMPD/ls.json" 2>/dev/null || fail "ls --json"
python3 "$HERE/check.py" schema "$TMPD/ls.json" "$S" || fail "ls --json against the schema"
python3 "$HERE/check.py" present "$TMPD/ls.json" ring:$R ring:/ipk-schema-dead-$$ || fail "ls"
"$B" gc --json >"$TMPD/gc.json" 2>/dev/null || fail "gc --json"
python3 "$HERE/check.py" schema "$TMPD/gc.json" "$S" || fail "gc --json against the schema"
python3 "$HERE/check.py" present "$TMPD/gc.json" ring:/ipk-schema-dead-$$ || fail "gc --json"
"$B" rm shm:/ipk-schema-dead-$$ sysvmq:$((0x4b5000 + $$ % 4096)) >/dev/null || fail "rm"
echo ok
