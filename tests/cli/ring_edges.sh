#!/bin/bash
# tests/cli/ring_edges.sh - a ring's edges from the command line:
#  - a FIFO planted at /dev/shm/NAME: `sub --timeout 1` and `pub` refuse it
#    at once (well under the timeout), saying what is there and whose;
#  - `ipckit sub` and `ipckit bridge` follow 30 publishers killed with
#    SIGKILL and restarted after pauses of 0 to 500 ms: every message
#    arrives in order, each restart is reported once, nothing is lost.
. "$(dirname "$0")/lib.sh"
B=$IPCKIT

ms() { date +%s%3N; }

# --- a FIFO at the ring's name ---------------------------------------------
F=/ipk-cli-edge-fifo-$$
mkfifo "/dev/shm$F"
trap 'rm -f "/dev/shm$F"; cleanup' EXIT
t0=$(ms)
run 1 "$B" sub "shm:$F" --timeout 1
[ $(($(ms) - t0)) -lt 500 ] || fail "sub took $(($(ms) - t0)) ms to refuse a FIFO"
err_is "shm:$F: .*\(EPROTO\): a FIFO is there, owned by uid $(id -u), mode 0[0-7]{3}"
run 1 "$B" pub "shm:$F" </dev/null
err_is "\(EPROTO\): a FIFO is there"
[ -p "/dev/shm$F" ] || fail "the FIFO was removed"
rm -f "/dev/shm$F"
echo "a FIFO at the name: refused at once: $(cat "$T/run.err")"

# --- restarts ------------------------------------------------------------------
LIVES=30

# wait_line FILE LINE: until FILE has LINE (10 s at most).
wait_line() {
	local i
	for i in $(seq 1000); do
		grep -qx -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	fail "'$2' never reached $1: $(tail -3 "$1")"
}

# restarts RING OUT: publishers on RING, each killed after its message
# reached OUT (what the subscriber under test printed).
restarts() {
	local ring=$1 out=$2 i p
	for i in $(seq "$LIVES"); do
		mkfifo "$T/in$i"
		exec 3<>"$T/in$i"
		start pub "$B" pub "shm:$ring" <"$T/in$i"
		if [ "$i" = 1 ]; then
			# until the subscriber is attached (it starts at the end)
			for p in $(seq 500); do
				echo warm >&3
				grep -q warm "$out" 2>/dev/null && break
				sleep 0.02
			done
		fi
		echo "m$i" >&3
		wait_line "$out" "m$i"
		kill -9 "$pub"
		wait "$pub" 2>/dev/null
		exec 3>&-
		rm -f "$T/in$i"
		sleep "$(awk -v i="$i" -v n="$LIVES" 'BEGIN { printf "%.3f", (i - 1) * 0.5 / (n - 1) }')"
	done
}

# in_order OUT: m1..mLIVES, each once, in order.
in_order() {
	local want got
	want=$(seq -f 'm%g' "$LIVES")
	got=$(grep -x 'm[0-9]*' "$1")
	[ "$got" = "$want" ] || fail "messages out of order or missing in $1: $(echo $got)"
}

# restarted ERR: each restart reported once, and never a failure.
restarted() {
	local n
	n=$(grep -c "the publisher restarted" "$1")
	[ "$n" = $((LIVES - 1)) ] || fail "$n restarts reported in $1, want $((LIVES - 1))"
	grep -q "the publisher died; waiting for a successor" "$1" ||
		fail "no death reported in $1"
}

R=/ipk-cli-edge-$$
start sub "$B" sub "shm:$R"
restarts "$R" "$T/sub.out"
kill -INT "$sub"
finish sub 0
in_order "$T/sub.out"
restarted "$T/sub.err"
grep -Eq "ipckit sub: [0-9]+ messages, 0 lost" "$T/sub.err" || fail "sub: $(tail -1 "$T/sub.err")"
rm -f "/dev/shm$R" "/dev/shm$R-bell"
echo "sub: $LIVES publishers killed and restarted, all followed: $(tail -1 "$T/sub.err")"

R2=/ipk-cli-edge-out-$$
start bridge "$B" bridge "shm:$R" "shm:$R2"
start sub2 "$B" sub "shm:$R2"
restarts "$R" "$T/sub2.out"
kill -INT "$bridge"
finish bridge 0
finish sub2 0 # the bridge closed its ring: the end
in_order "$T/sub2.out"
restarted "$T/bridge.err"
grep -Eq "forwarded [0-9]+, lost 0" "$T/bridge.err" || fail "bridge: $(tail -1 "$T/bridge.err")"
rm -f "/dev/shm$R" "/dev/shm$R-bell"
echo "bridge: $LIVES publishers killed and restarted, all followed: $(tail -1 "$T/bridge.err")"
