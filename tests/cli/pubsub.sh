#!/bin/bash
# pubsub.sh - `ipckit pub` and `ipckit sub` on shm: rings between separate
# processes: lines from standard input reach two subscribers in order; a
# synthetic --rate feed carries "SEQ TIME_NS" padded to --size; a subscriber
# that cannot keep up with a small ring reports its losses, and what it got
# plus what it lost is what was published; SIGINT ends both cleanly with
# their summaries; a queue (mode=queue) loses nothing; bad options exit 2.
. "$(dirname "$0")/lib.sh"

name=/ipk-cli-pubsub-$$
url="shm:$name"

# Lines: the publisher creates the ring at once and reads its lines a
# second later, when both subscribers are in (they start at the ring's end).
(sleep 1; printf 'alpha\nbeta\ngamma\n') | "$IPCKIT" pub "$url" 2>"$T/pub.err" &
pub=$!
PIDS+=("$pub")
start sub1 "$IPCKIT" sub "$url" --count 3 --timeout 10
start sub2 "$IPCKIT" sub "$url" --timeout 10
finish pub 0
finish sub1 0
finish sub2 0
printf 'alpha\nbeta\ngamma\n' >"$T/want"
same_file "$T/sub1.out" "$T/want"
same_file "$T/sub2.out" "$T/want"
grep -qx 'ipckit sub: 3 messages, 0 lost, 0 skipped' "$T/sub1.err" || fail "sub1: $(cat "$T/sub1.err")"
grep -qx 'ipckit sub: 3 messages, 0 lost, 0 skipped' "$T/sub2.err" || fail "sub2: $(cat "$T/sub2.err")"
grep -qx 'ipckit pub: published 3 messages' "$T/pub.err" || fail "pub: $(cat "$T/pub.err")"
[ ! -e "/dev/shm$name" ] || fail "the publisher left /dev/shm$name behind"

# Synthetic feed: the subscriber joins whenever it can and takes 20.
start pub "$IPCKIT" pub "$url" --rate 2000 --size 48 --count 100000
run 0 "$IPCKIT" sub "$url" --count 20 --timeout 10
[ "$(wc -l <"$T/run.out")" -eq 20 ] || fail "want 20 lines: $(cat "$T/run.out")"
awk 'length($0) != 48 || $1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ { exit 1 }
     NR > 1 && $1 != prev + 1 { exit 1 } { prev = $1 }' "$T/run.out" ||
	fail "synthetic messages malformed or out of order: $(head -3 "$T/run.out")"
kill -INT "$pub"
finish pub 0
grep -Eq '^ipckit pub: published [0-9]+ messages$' "$T/pub.err" || fail "pub: $(cat "$T/pub.err")"

# Losses: a 4 KiB ring, a publisher at full speed, and a subscriber whose
# standard output is a pipe nobody reads until the publisher is done. The
# newest message survives, and delivered + lost + skipped accounts for every
# message published, exactly.
mkfifo "$T/slow"
"$IPCKIT" sub "$url" --timeout 10 >"$T/slow" 2>"$T/sub.err" &
sub=$!
PIDS+=("$sub")
exec 4<"$T/slow"
start pub "$IPCKIT" pub "$url?capacity=4096" --rate 0 --count 2000000 --size 64
finish pub 0
cat <&4 >"$T/sub.out"
exec 4<&-
finish sub 0
read -r got lost skipped < <(sed -n 's/^ipckit sub: \([0-9]*\) messages, \([0-9]*\) lost, \([0-9]*\) skipped$/\1 \2 \3/p' "$T/sub.err")
[ -n "$got" ] || fail "no summary from sub: $(cat "$T/sub.err")"
first=$(head -1 "$T/sub.out" | cut -d' ' -f1)
last=$(tail -1 "$T/sub.out" | cut -d' ' -f1)
[ "$(wc -l <"$T/sub.out")" -eq "$got" ] || fail "printed $(wc -l <"$T/sub.out"), said $got"
[ "$last" = 1999999 ] || fail "last message $last, want 1999999"
[ "$lost" -gt 0 ] || fail "a blocked subscriber of a 4 KiB ring lost nothing"
[ $((got + lost + skipped)) -eq 2000000 ] ||
	fail "got $got + lost $lost + skipped $skipped: not the 2000000 published"

# SIGINT: a subscriber waiting on a silent publisher, and that publisher
# waiting for input, both end with their summaries.
# (The publisher's input ends only after 3 s; it closes the ring, and so
# removes its name, at once on SIGINT.)
sleep 3 | "$IPCKIT" pub "$url" 2>"$T/pub.err" &
pub=$!
PIDS+=("$pub")
start sub "$IPCKIT" sub "$url"
sleep 0.5
kill -INT "$sub"
finish sub 0
grep -qx 'ipckit sub: 0 messages, 0 lost, 0 skipped' "$T/sub.err" || fail "sub: $(cat "$T/sub.err")"
kill -INT "$pub"
sleep 0.5
[ ! -e "/dev/shm$name" ] || fail "the publisher did not stop on SIGINT"
finish pub 0
grep -qx 'ipckit pub: published 0 messages' "$T/pub.err" || fail "pub: $(cat "$T/pub.err")"

# A queue: the consumer starts late and still gets every message.
start pub "$IPCKIT" pub "$url?mode=queue&capacity=4096" --rate 0 --count 5000 --size 32
sleep 0.3
run 0 "$IPCKIT" sub "$url?mode=queue" --timeout 10
[ "$(wc -l <"$T/run.out")" -eq 5000 ] || fail "queue: $(wc -l <"$T/run.out") of 5000"
grep -qx 'ipckit sub: 5000 messages, 0 lost, 0 skipped' "$T/run.err" || fail "queue sub: $(cat "$T/run.err")"
finish pub 0

# Bad options.
run 2 "$IPCKIT" pub "$url" --rate fast
err_is "bad --rate 'fast'"
run 2 "$IPCKIT" pub "$url" --size 64k --rate 1
err_is "bad --size '64k'"
run 2 "$IPCKIT" pub "$url" --size 100
err_is "--size applies to synthetic messages"
run 2 "$IPCKIT" sub "$url" --rate 5
err_is "unknown option '--rate'"
run 2 "$IPCKIT" sub "shm:$name?mode=fast"
err_is "mode must be 'ring', 'queue' or 'mpsc'"
run 1 "$IPCKIT" sub "$url" --timeout 0
err_is "No such file or directory \(ENOENT\)"
exit 0
