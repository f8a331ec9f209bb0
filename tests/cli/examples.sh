#!/bin/bash
# The examples do what their comments promise: fifo-sync's worker meets the
# server or times out cleanly; log-pipeline's collector is held back by the
# slow analyzer and loses nothing; market-data's subscribers each see every
# quote of a modest-rate feed, in order, with ordered latency percentiles.
. "$(dirname "$0")/lib.sh"
FIFO_SYNC=${2:?usage: $0 IPCKIT FIFO-SYNC LOG-PIPELINE MARKET-DATA}
LOG_PIPELINE=${3:?usage: $0 IPCKIT FIFO-SYNC LOG-PIPELINE MARKET-DATA}
MARKET_DATA=${4:?usage: $0 IPCKIT FIFO-SYNC LOG-PIPELINE MARKET-DATA}

run 2 "$FIFO_SYNC"
grep -q '^Usage: fifo-sync server PATH' "$T/run.err" || fail "no usage: $(cat "$T/run.err")"
run 0 "$FIFO_SYNC" --help

# No server: the worker fails within its timeout instead of hanging.
t0=$(date +%s%N)
run 1 "$FIFO_SYNC" worker "$T/nobody" --timeout 0.3
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 5000 ] || fail "worker took $ms ms to give up"
grep -Eq 'no server .*\((ETIMEDOUT|ENOENT|ENXIO|EAGAIN)\)' "$T/run.err" ||
	fail "worker without server: $(cat "$T/run.err")"

# Server first, then a worker: all its messages arrive, in order, and the
# server exits once the worker closes. (One worker only: a second one that
# started late could find the server already gone.)
start srv "$FIFO_SYNC" server "$T/sync"
start w1 "$FIFO_SYNC" worker "$T/sync" --timeout 20
finish w1 0
finish srv 0
got=$(grep -c "^server: worker $w1: " "$T/srv.out")
[ "$got" -eq 4 ] || fail "worker $w1: $got messages, want 4: $(cat "$T/srv.out")"
grep "^server: worker $w1: " "$T/srv.out" | tail -1 | grep -q 'job 3 of 3 done' ||
	fail "worker $w1: messages out of order"
[ -e "$T/sync" ] && fail "server left its FIFO behind"

# Worker first: it waits for the server's FIFO, then for the server.
start w1 "$FIFO_SYNC" worker "$T/late" --timeout 20
start srv "$FIFO_SYNC" server "$T/late"
finish w1 0
finish srv 0
[ "$(grep -c "^server: worker $w1: " "$T/srv.out")" -eq 4 ] ||
	fail "late server: $(cat "$T/srv.out")"

# Backpressure: at 2 ms per line the analyzer takes ~500 lines a second; a
# collector that did not block would send millions. Memory stays flat and
# every line sent is analysed.
run 0 "$LOG_PIPELINE" --seconds 1.5 --delay-us 2000
sent=$(sed -n 's/^collector: \([0-9]*\) lines sent in .*/\1/p' "$T/run.out")
seen=$(sed -n 's/^analyzer: \([0-9]*\) lines analysed.*/\1/p' "$T/run.out")
[ -n "$sent" ] && [ -n "$seen" ] || fail "log-pipeline output: $(cat "$T/run.out")"
[ "$sent" -eq "$seen" ] || fail "sent $sent lines but the analyzer saw $seen"
[ "$sent" -gt 100 ] && [ "$sent" -lt 5000 ] || fail "sent $sent lines: no backpressure?"
read -r lo hi < <(sed -n 's/.*RSS stayed between \([0-9]*\) and \([0-9]*\) KiB/\1 \2/p' "$T/run.out")
[ -n "$lo" ] && [ $((hi - lo)) -lt 1024 ] || fail "RSS grew from $lo to $hi KiB"
run 0 "$LOG_PIPELINE" --count 50 --delay-us 0
grep -q '^analyzer: 50 lines analysed' "$T/run.out" || fail "--count 50: $(cat "$T/run.out")"

# Market data: 3 subscribers of a 20,000 quotes/s feed for 1 s. The 1 MiB
# ring holds ~0.7 s of quotes, so even a subscriber descheduled for a while
# keeps up: each reports all 20,000, the last one #19999, none lost.
run 0 "$MARKET_DATA" --subs 3 --rate 20000 --seconds 1
grep -qx 'publisher: 20000 quotes at 20000/s to 3 subscribers' "$T/run.out" ||
	fail "market-data: $(cat "$T/run.out")"
for i in 1 2 3; do
	line=$(grep "^sub $i: " "$T/run.out") || fail "no line from sub $i: $(cat "$T/run.out")"
	case $line in
	"sub $i: 20000 quotes (last #19999), 0 lost, latency p50 "*) ;;
	*) fail "sub $i: $line" ;;
	esac
	echo "$line" | awk '{ if (!($11 <= $14 && $14 <= $17 && $17 <= $20)) exit 1 }' ||
		fail "percentiles out of order: $line"
done
run 2 "$MARKET_DATA" --subs 0
exit 0
