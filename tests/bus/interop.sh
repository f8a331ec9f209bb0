#!/bin/bash
# tests/bus/interop.sh IPCKIT DBUS-SENSOR - clients from outside the
# project against examples/dbus-sensor and a ring offered by
# `ipckit pub --bus`: busctl (introspect, call, get-property,
# set-property), gdbus (call, introspect, monitor) and dbus-send
# --print-reply, through a private dbus-daemon this script starts and kills
# by its pid. Also `ipckit sub dbus:...`, and the bad input a client can
# send (wrong signature, unknown method and property, read-only property,
# out-of-range value). Exit 0 passes, 77 skips.

# shellcheck source=../cli/lib.sh
. "$(dirname "$0")/../cli/lib.sh"
SENSOR=${2:?usage: $0 IPCKIT DBUS-SENSOR}
"$IPCKIT" --version >/dev/null 2>&1 || skip "cannot run $IPCKIT here (a cross build?)"

for tool in dbus-daemon busctl gdbus dbus-send; do
	command -v $tool >/dev/null || skip "$tool is not installed (scripts/install-deps)"
done

# --- a private bus ---------------------------------------------------------
cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
start busd dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile --print-address=1 </dev/null
for _ in $(seq 50); do
	[ -s "$T/busd.out" ] && break
	sleep 0.1
done
ADDR=$(head -n1 "$T/busd.out")
case $ADDR in unix:*) ;; *) fail "dbus-daemon printed no address: $(cat "$T/busd.err")" ;; esac
export DBUS_SESSION_BUS_ADDRESS=$ADDR

NAME=org.ipckit.Sensor.P$$
OBJ=/org/ipckit/Sensor
IF=org.ipckit.Sensor1
start sensor "$SENSOR" --address "$ADDR" --name "$NAME" </dev/null
for _ in $(seq 50); do
	grep -q serves "$T/sensor.out" && break
	if ! kill -0 "$sensor" 2>/dev/null; then
		grep -q "not supported\|Operation not supported" "$T/sensor.err" &&
			skip "built without libsystemd"
		fail "dbus-sensor died: $(cat "$T/sensor.err")"
	fi
	sleep 0.1
done
grep -q serves "$T/sensor.out" || fail "dbus-sensor did not start: $(cat "$T/sensor.err")"

bctl() { busctl --address="$ADDR" "$@"; }

# --- busctl --------------------------------------------------------------------
run 0 bctl introspect "$NAME" $OBJ $IF
grep -Eq '^\.GetReading +method +- +dt ' "$T/run.out" || fail "introspect: $(cat "$T/run.out")"
grep -Eq '^\.SamplingRate +property +u +10 +emits-change writable' "$T/run.out" ||
	fail "introspect: $(cat "$T/run.out")"
grep -Eq '^\.Readings +property +t +[0-9]+ +-' "$T/run.out" || fail "introspect: $(cat "$T/run.out")"
grep -Eq '^\.NewReading +signal +dt ' "$T/run.out" || fail "introspect: $(cat "$T/run.out")"

run 0 bctl call "$NAME" $OBJ $IF GetReading
grep -Eq '^dt [0-9.]+ [0-9]+$' "$T/run.out" || fail "call: $(cat "$T/run.out")"
run 0 bctl get-property "$NAME" $OBJ $IF SamplingRate
[ "$(cat "$T/run.out")" = "u 10" ] || fail "get-property: $(cat "$T/run.out")"

# a property set by busctl is seen by gdbus
run 0 bctl set-property "$NAME" $OBJ $IF SamplingRate u 50
run 0 gdbus call --address "$ADDR" --dest "$NAME" --object-path $OBJ \
	--method org.freedesktop.DBus.Properties.Get $IF SamplingRate
[ "$(cat "$T/run.out")" = "(<uint32 50>,)" ] || fail "gdbus Get: $(cat "$T/run.out")"

# bad input
run 1 bctl set-property "$NAME" $OBJ $IF Readings t 5
grep -q "not writable" "$T/run.err" || fail "read-only: $(cat "$T/run.err")"
run 1 bctl set-property "$NAME" $OBJ $IF SamplingRate u 5000
grep -q "SamplingRate must be 1 to 1000" "$T/run.err" || fail "range: $(cat "$T/run.err")"
run 1 bctl call "$NAME" $OBJ $IF GetReading s x
grep -q "Invalid arguments 's'" "$T/run.err" || fail "signature: $(cat "$T/run.err")"
run 1 bctl call "$NAME" $OBJ $IF Nope
grep -q "Unknown method Nope" "$T/run.err" || fail "unknown method: $(cat "$T/run.err")"
run 1 bctl get-property "$NAME" $OBJ $IF Nope
grep -q "or property Nope" "$T/run.err" || fail "unknown property: $(cat "$T/run.err")"
run 1 dbus-send --bus="$ADDR" --print-reply --dest="$NAME" $OBJ \
	org.freedesktop.DBus.Properties.Get string:$IF string:Nope
grep -q "org.freedesktop.DBus.Error.UnknownProperty" "$T/run.err" ||
	fail "dbus-send unknown property: $(cat "$T/run.err")"
run 1 dbus-send --bus="$ADDR" --print-reply --dest="$NAME" $OBJ $IF.Nope
grep -q "org.freedesktop.DBus.Error.UnknownMethod" "$T/run.err" ||
	fail "dbus-send unknown method: $(cat "$T/run.err")"
run 1 dbus-send --bus="$ADDR" --print-reply --dest="$NAME" $OBJ \
	org.freedesktop.DBus.Properties.Set string:$IF string:Readings variant:uint64:1
grep -q "org.freedesktop.DBus.Error.PropertyReadOnly" "$T/run.err" ||
	fail "dbus-send read-only: $(cat "$T/run.err")"

# --- gdbus introspect: the XML with signatures and argument names -----------
run 0 gdbus introspect --address "$ADDR" --dest "$NAME" --object-path $OBJ --xml
x=$(tr -d '\n' <"$T/run.out")
echo "$x" | grep -Eq '<interface name="org.ipckit.Sensor1">' || fail "no interface in XML"
echo "$x" | grep -Eq '<method name="GetReading"> *<arg type="d" name="value" direction="out"/> *<arg type="t" name="seq" direction="out"/>' ||
	fail "GetReading in XML: $x"
echo "$x" | grep -Eq '<signal name="NewReading"> *<arg type="d" name="value"/> *<arg type="t" name="seq"/>' ||
	fail "NewReading in XML: $x"
echo "$x" | grep -Eq '<property name="SamplingRate" type="u" access="readwrite">' ||
	fail "SamplingRate in XML: $x"
echo "$x" | grep -Eq '<property name="Readings" type="t" access="read">' ||
	fail "Readings in XML: $x"

# --- a signal is seen by gdbus monitor ----------------------------------------
start mon gdbus monitor --address "$ADDR" --dest "$NAME" --object-path $OBJ </dev/null
for _ in $(seq 50); do
	grep -q "NewReading" "$T/mon.out" && break
	sleep 0.1
done
kill "$mon" 2>/dev/null
grep -Eq "$OBJ: $IF.NewReading \([0-9.]+, uint64 [0-9]+\)" "$T/mon.out" ||
	fail "gdbus monitor saw no NewReading: $(cat "$T/mon.out")"

# --- dbus-send --print-reply ------------------------------------------------
run 0 dbus-send --bus="$ADDR" --print-reply --dest="$NAME" $OBJ $IF.GetReading
grep -Eq '^ +double [0-9.]+$' "$T/run.out" || fail "dbus-send: $(cat "$T/run.out")"
grep -Eq '^ +uint64 [0-9]+$' "$T/run.out" || fail "dbus-send: $(cat "$T/run.out")"

kill "$sensor"
finish sensor 0

# --- a ring offered by ipckit pub --bus ------------------------------------------
RING=org.ipckit.Feed.P$$
RPATH=/org/ipckit/ring/quotes
start pub "$IPCKIT" pub --bus "dbus:$RING/quotes?capacity=65536&msgsize=512" --rate 200 --size 48 </dev/null
for _ in $(seq 50); do
	bctl status "$RING" >/dev/null 2>&1 && break
	sleep 0.1
done
run 0 bctl introspect "$RING" $RPATH org.ipckit.Ring1
grep -Eq '^\.Open +method +- +hh ' "$T/run.out" || fail "ring introspect: $(cat "$T/run.out")"
grep -Eq '^\.Capacity +property +t +65536 +const' "$T/run.out" ||
	fail "ring introspect: $(cat "$T/run.out")"
grep -Eq '^\.MaxMessage +property +u +512 +const' "$T/run.out" ||
	fail "ring introspect: $(cat "$T/run.out")"
grep -Eq "^\.PublisherPid +property +u +$pub " "$T/run.out" ||
	fail "ring introspect (pid $pub): $(cat "$T/run.out")"
grep -Eq '^\.Restarted +signal +tu ' "$T/run.out" || fail "ring introspect: $(cat "$T/run.out")"
run 0 gdbus call --address "$ADDR" --dest "$RING" --object-path $RPATH \
	--method org.freedesktop.DBus.Properties.Get org.ipckit.Ring1 Published
grep -Eq '^\(<uint64 [0-9]+>,\)$' "$T/run.out" || fail "Published: $(cat "$T/run.out")"
run 1 bctl set-property "$RING" $RPATH org.ipckit.Ring1 Capacity t 1
grep -q "not writable" "$T/run.err" || fail "ring read-only: $(cat "$T/run.err")"

run 0 "$IPCKIT" sub "dbus:$RING/quotes" --count 20 --timeout 5
[ "$(wc -l <"$T/run.out")" -eq 20 ] || fail "sub: $(wc -l <"$T/run.out") lines"
prev=
while read -r seq _; do
	[ -z "$prev" ] || [ "$seq" -eq $((prev + 1)) ] || fail "sub: $seq after $prev"
	prev=$seq
done <"$T/run.out"
grep -q "20 messages, 0 lost" "$T/run.err" || fail "sub summary: $(cat "$T/run.err")"

# bad URLs and a ring nobody offers
run 2 "$IPCKIT" sub "dbus:$RING"
run 2 "$IPCKIT" sub "dbus:$RING/quotes?bus=elsewhere"
run 1 "$IPCKIT" sub "dbus:$RING/absent" --timeout 0
run 2 "$IPCKIT" pub "dbus:$RING/quotes"

kill "$pub"
finish pub 0
grep -Eq 'published [0-9]+ messages' "$T/pub.err" || fail "pub: $(cat "$T/pub.err")"

# lines from standard input: a line every 50 ms through a FIFO, so the
# bus is served while no line is complete; the subscriber sees consecutive
# lines from wherever it joined
mkfifo "$T/lines"
(for i in $(seq 1 400); do
	echo "line $i"
	sleep 0.05
done >"$T/lines") &
PIDS+=($!)
start pub2 "$IPCKIT" pub --bus "dbus:$RING/lines" <"$T/lines"
run 0 "$IPCKIT" sub "dbus:$RING/lines" --count 3 --timeout 10
[ "$(wc -l <"$T/run.out")" -eq 3 ] || fail "lines: $(cat "$T/run.out")"
prev=
while read -r word n; do
	[ "$word" = line ] || fail "lines: '$word $n'"
	[ -z "$prev" ] || [ "$n" -eq $((prev + 1)) ] || fail "lines: $n after $prev"
	prev=$n
done <"$T/run.out"
kill "$pub2"
finish pub2 0

# on_bus PID: until process PID is connected to the bus (and so has asked
# for the ring once: it connects only to ask).
on_bus() {
	local i
	for i in $(seq 500); do
		bctl list --unique --no-pager 2>/dev/null | grep -Eq "^:[0-9.]+ +$1 " && return 0
		sleep 0.01
	done
	fail "process $1 never connected to the bus"
}

# The scenario of a new user: a subscriber waits, then a publisher gets
# three lines and ends. It lingers, serving the bus, until the subscriber
# has opened the ring and read them: all three arrive, none lost.
for round in 1 2 3; do
	start early "$IPCKIT" sub "dbus:$RING/short" --count 3 --timeout 10 </dev/null
	on_bus "$early"
	sleep 0.05
	printf 'a\nb\nc\n' | run 0 "$IPCKIT" pub --bus "dbus:$RING/short"
	finish early 0
	[ "$(tr '\n' ' ' <"$T/early.out")" = "a b c " ] ||
		fail "round $round: sub before a short pub --bus got '$(cat "$T/early.out")'"
	grep -q "3 messages, 0 lost, 0 skipped" "$T/early.err" ||
		fail "round $round: sub before a short pub --bus: $(cat "$T/early.err")"
done

# --wait-subscribers with --bus: the bus is served while it waits.
run 1 "$IPCKIT" pub --bus "dbus:$RING/nobody" --wait-subscribers 1 --timeout 0.3 </dev/null
grep -q "0 of 1 subscribers attached within --timeout" "$T/run.err" ||
	fail "wait-subscribers, nobody: $(cat "$T/run.err")"
start w1 "$IPCKIT" sub "dbus:$RING/waited" --count 3 --timeout 10 </dev/null
printf 'a\nb\nc\n' |
	run 0 "$IPCKIT" pub --bus "dbus:$RING/waited" --wait-subscribers 1 --linger 0 --timeout 10
finish w1 0
grep -q "3 messages, 0 lost, 0 skipped" "$T/w1.err" || fail "wait-subscribers: $(cat "$T/w1.err")"

# A subscriber killed with SIGKILL while the publisher lingers for it
# ends the linger at once, not after --linger's 30 s.
mkfifo "$T/few"
exec 4<>"$T/few"
start lp "$IPCKIT" pub --bus "dbus:$RING/kill9" --linger 30 <"$T/few" 4>&-
start victim "$IPCKIT" sub "dbus:$RING/kill9" --from oldest --count 100 --timeout 10 </dev/null
printf 'x\ny\n' >&4
for i in $(seq 500); do [ "$(wc -l <"$T/victim.out")" -eq 2 ] && break; sleep 0.01; done
[ "$(wc -l <"$T/victim.out")" -eq 2 ] || fail "kill9: the subscriber got '$(cat "$T/victim.out")': $(cat "$T/victim.err" "$T/lp.err")"
exec 4>&- # end of input: the publisher lingers for its subscriber
sleep 0.3
kill -0 "$lp" 2>/dev/null || fail "pub --bus did not linger for its subscriber: $(cat "$T/lp.err")"
t0=$(date +%s%N)
kill -KILL "$victim"
finish victim 137
finish lp 0
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 5000 ] || fail "pub --bus lingered $ms ms for a subscriber killed with SIGKILL"
echo "pub --bus: lingers for its subscribers, ends ${ms} ms after the last was killed"

# A subscriber waiting for an offer that never comes stops on SIGINT and
# SIGTERM (its wait is sliced), with its summary, in well under its limit.
for sig in INT TERM; do
	start waiter "$IPCKIT" sub "dbus:$RING/never" </dev/null
	sleep 0.3
	t0=$(date +%s%N)
	kill -$sig "$waiter"
	finish waiter 0
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -lt 2000 ] || fail "sub waiting for an offer took $ms ms to stop on SIG$sig"
	grep -q "0 messages, 0 lost, 0 skipped" "$T/waiter.err" ||
		fail "sub waiting, SIG$sig: $(cat "$T/waiter.err")"
done

kill "$busd"
finish busd 0
exit 0
