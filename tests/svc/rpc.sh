#!/bin/bash
# tests/svc/rpc.sh - examples/rpc, the key-value service: set, get, del,
# mset and mget (calls in flight), a GET held until a later SET answers
# it (a reply out of order), a missing key, and SIGTERM removing the
# socket file.
. "$(dirname "$0")/../cli/lib.sh"
RPC=${2:?usage: $0 IPCKIT RPC}
N=$T/kv.sock

start srv "$RPC" serve "$N"
for i in $(seq 200); do [ -S "$N" ] && break; sleep 0.05; done
[ -S "$N" ] || fail "no socket at $N"

run 0 "$RPC" set "$N" colour blue
run 0 "$RPC" get "$N" colour
[ "$(cat "$T/run.out")" = blue ] || fail "get: $(cat "$T/run.out")"
run 0 "$RPC" mset "$N" a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8
run 0 "$RPC" mget "$N" h g f e d c b a colour
[ "$(tr '\n' ' ' <"$T/run.out")" = "h 8 g 7 f 6 e 5 d 4 c 3 b 2 a 1 colour blue " ] ||
	fail "mget: $(cat "$T/run.out")"
run 1 "$RPC" get "$N" missing
run 0 "$RPC" del "$N" colour
run 1 "$RPC" get "$N" colour

# a GET waits up to 100 ms for its key; a SET meanwhile answers it, while
# the GETs before it in the same client are still waiting
start held "$RPC" mget "$N" later a
sleep 0.02
run 0 "$RPC" set "$N" later now
finish held 0
[ "$(tr '\n' ' ' <"$T/held.out")" = "later now a 1 " ] || fail "held: $(cat "$T/held.out")"

kill -TERM "$srv"
finish srv 0
[ -e "$N" ] && fail "socket file left"
exit 0
