#!/bin/bash
# tests/notify/example.sh - runs examples/signals (the worker pool
# supervisor) and checks what it reports: every job once, the crashed
# worker seen through its pidfd and replaced, heartbeats from the timer.
. "$(dirname "$0")/lib.sh"
SIGNALS=${2:?usage: $0 IPCKIT SIGNALS-EXAMPLE}

run 2 "$SIGNALS" 0
run 0 "$SIGNALS" 3 5
out=$T/run.out
for w in 0 1 2; do
	for j in 0 1 2 3 4; do
		id=$((w * 100 + j))
		n=$(grep -c "^job $id done by worker $w " "$out")
		[ "$n" -eq 1 ] || fail "job $id reported $n times: $(cat "$out")"
	done
done
[ "$(grep -c '^job ' "$out")" -eq 15 ] || fail "want 15 job lines: $(cat "$out")"
grep -Eq '^worker 0 \(pid [0-9]+\) died: killed by SIGKILL with 3 jobs left$' "$out" ||
	fail "no crash report for worker 0: $(cat "$out")"
[ "$(grep -c '^worker 0 started' "$out")" -eq 2 ] || fail "worker 0 not restarted: $(cat "$out")"
grep -q '^worker 0 started (pid [0-9]*), jobs 2..4$' "$out" ||
	fail "the replacement does not resume at job 2: $(cat "$out")"
[ "$(grep -c 'exited with status 0$' "$out")" -eq 3 ] || fail "want 3 clean exits: $(cat "$out")"
grep -q '^heartbeat: ' "$out" || fail "no heartbeat: $(cat "$out")"
[ "$(tail -1 "$out")" = "all done: 15/15 jobs done" ] || fail "last line: $(tail -1 "$out")"
exit 0
