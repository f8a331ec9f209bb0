#!/bin/bash
# examples/log-collector does what its comment promises: loggers' lines all
# reach the file, in order per logger, stamped with their real pid and uid;
# the logger killed mid-stream loses at most the line it was writing, and
# nothing torn is written; the collect and log roles work from a shell.
set -eu
LC=${1:?usage: $0 LOG-COLLECTOR}
T=$(mktemp -d)
trap 'rm -rf "$T"; [ -n "${cpid:-}" ] && kill "$cpid" 2>/dev/null; true' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$LC" --producers 3 --lines 2000 --out "$T/out.log" >"$T/run.out" || fail "demo: $(cat "$T/run.out")"
cat "$T/run.out"
grep -q '^collector: 6000 lines from 3 loggers' "$T/run.out" || fail "summary: $(cat "$T/run.out")"
victim=$(sed -n 's/^collector: logger \([0-9]*\) killed after \([0-9]*\) lines; \([01]\) half-written.*/\1 \2 \3/p' "$T/run.out")
[ -n "$victim" ] || fail "no victim line: $(cat "$T/run.out")"
read -r vpid vlines skipped <<<"$victim"
[ "$(wc -l <"$T/out.log")" -eq $((6000 + vlines)) ] || fail "file has $(wc -l <"$T/out.log") lines"
uid=$(id -u)
# each logger's lines in order, numbered from 0 without a gap, its own pid
for pid in $(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$T/out.log" | sort -u); do
	grep "^pid=$pid uid=$uid seq=" "$T/out.log" |
		awk -v pid="$pid" '{ split($3, a, "[=:]"); if (a[2] != NR - 1) { print "pid " pid ": seq " a[2] " at line " NR; exit 1 }
			sub(/.*request /, ""); sub(/ handled.*/, ""); if ($0 != NR - 1) { print "pid " pid ": request " $0 " at " NR; exit 1 } }' ||
		fail "logger $pid out of order"
done
[ "$(grep -c "^pid=$vpid " "$T/out.log")" -eq "$vlines" ] || fail "victim's lines"

# the two roles
name=/lc-test-$$
"$LC" collect "$name" "$T/c.log" & cpid=$!
for _ in $(seq 100); do [ -e "/dev/shm$name" ] && break; sleep 0.05; done
"$LC" log "$name" "first line" "second line" & lpid=$!
wait "$lpid" || fail "log role"
for _ in $(seq 100); do [ "$(wc -l <"$T/c.log")" -ge 2 ] && break; sleep 0.05; done
kill -TERM "$cpid"
wait "$cpid" || fail "collect role"
cpid=
grep -qx "pid=$lpid uid=$uid seq=0: first line" "$T/c.log" || fail "collect: $(cat "$T/c.log")"
grep -qx "pid=$lpid uid=$uid seq=1: second line" "$T/c.log" || fail "collect: $(cat "$T/c.log")"
[ -e "/dev/shm$name" ] && fail "collector left its name behind"
echo ok
