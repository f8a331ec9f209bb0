#!/bin/bash
# lifecycle.sh - what the command line guarantees around its channels:
# descriptors 0, 1 and 2 are open before any channel is (a closed one is
# /dev/null, so no channel lands on it); a sysvmq: send without --type is
# of type 1; perm= sets permissions on every named scheme; an option
# missing its argument says so; options that cannot go together are usage
# errors (exit 2) with a specific message.
. "$(dirname "$0")/lib.sh"

n=ipk-cli-life-$$
key=$(printf '0x%x' $((0x5f000000 + $$ % 0xffffff)))

# waits until the process started as NAME sleeps in ipckit
sleeping() {
	local pid=${!1} i
	for ((i = 0; i < 500; i++)); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ipckit ] &&
			[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = S ] && return 0
		sleep 0.01
	done
	fail "$1 never waited"
}

# Closed 0, 1 and 2: each is /dev/null while recv waits on its queue.
"$IPCKIT" recv --count 1 "mq:/$n" <&- >&- 2>&- &
rx=$!
PIDS+=("$rx")
sleeping rx
for fd in 0 1 2; do
	[ "$(readlink "/proc/$rx/fd/$fd")" = /dev/null ] ||
		fail "fd $fd of recv is $(readlink "/proc/$rx/fd/$fd"), want /dev/null"
done
run 0 "$IPCKIT" send "mq:/$n" one
finish rx 0
echo "  <&- >&- 2>&-: fds 0, 1, 2 were /dev/null; the channel got another"

# pub with standard input closed publishes nothing (it read its own ring
# file when the ring landed on fd 0).
run 0 "$IPCKIT" pub "shm:/$n" <&-
err_is "^ipckit pub: published 0 messages$"
[ ! -e "/dev/shm/$n" ] || fail "pub <&- left /dev/shm/$n"
echo "  pub <&-: $(cat "$T/run.err")"

# sysvmq: without --type sends type 1, the documented default.
start rx "$IPCKIT" recv --count 1 --show-meta "sysvmq:$key"
sleeping rx
run 0 "$IPCKIT" send "sysvmq:$key" hello
finish rx 0
[ "$(cat "$T/rx.out")" = "$(printf '1\thello')" ] || fail "recv got '$(cat "$T/rx.out")'"
echo "  send sysvmq:KEY hello: received as type 1"

# perm= on every named scheme; mode= is shm:'s ring or queue.
run 0 "$IPCKIT" --help
grep -q 'perm=0600' "$T/run.out" || fail "--help shows no perm=: $(grep shm: "$T/run.out")"
grep -q 'mode=0' "$T/run.out" && fail "--help still shows mode= for permissions"
start rx "$IPCKIT" recv --count 1 --keep "fifo:$T/p?perm=0640"
sleeping rx
[ "$(stat -c %a "$T/p")" = 640 ] || fail "fifo perm=0640 made $(stat -c %a "$T/p")"
run 0 "$IPCKIT" send "fifo:$T/p" x
finish rx 0
start rx "$IPCKIT" recv --count 1 "unix:$T/u.sock?perm=0604"
sleeping rx
[ "$(stat -c %a "$T/u.sock")" = 604 ] || fail "unix perm=0604 made $(stat -c %a "$T/u.sock")"
run 0 "$IPCKIT" send "unix:$T/u.sock" x
finish rx 0
run 2 "$IPCKIT" recv "shm:/$n?mode=0600"
err_is "mode must be 'ring', 'queue' or 'mpsc' \(permissions: perm=\)"
run 2 "$IPCKIT" recv "fifo:$T/p?mode=0600"
err_is "mode= is shm:'s ring, queue or mpsc only; permissions are perm="
echo "  perm=: fifo 0640 and unix 0604 as asked; shm: mode=0600 names perm="

# An option without its argument says so, in every command.
run 2 "$IPCKIT" signal send 1 USR1 --value
err_is "^ipckit signal: option '--value' needs an argument$"
run 2 "$IPCKIT" signal wait --count
err_is "^ipckit signal: option '--count' needs an argument$"
run 2 "$IPCKIT" bridge --count
err_is "^ipckit bridge: option '--count' needs an argument$"
run 2 "$IPCKIT" bridge -t
err_is "^ipckit bridge: option '-t' needs an argument$"
run 2 "$IPCKIT" sub "shm:/$n" --count
err_is "^ipckit sub: option '--count' needs an argument$"
run 2 "$IPCKIT" bench --sizes
err_is "^ipckit bench: option '--sizes' needs an argument$"
run 2 "$IPCKIT" bench --only
err_is "^ipckit bench: option '--only' needs an argument$"
echo "  a missing argument is named as such"

# Options that cannot go together: exit 2 and why, before anything opens.
run 2 "$IPCKIT" send --type 3 "unix:$T/s" hi
err_is "^ipckit send: --type applies to sysvmq: URLs only, not 'unix:$T/s'$"
run 2 "$IPCKIT" send --priority 3 "sysvmq:$key" hi
err_is "^ipckit send: --priority applies to mq: URLs only, not 'sysvmq:$key'$"
run 2 "$IPCKIT" send --type 2 --priority 3 "mq:/$n" hi
err_is "^ipckit send: --type \(sysvmq:\) and --priority \(mq:\) exclude each other$"
run 2 "$IPCKIT" recv --type 2 "mq:/$n"
err_is "^ipckit recv: --type applies to sysvmq: URLs only, not 'mq:/$n'$"
run 2 "$IPCKIT" sub --listen "shm:/$n"
err_is "^ipckit sub: --listen on a shm: ring would make this end its publisher"
run 2 "$IPCKIT" pub --connect "shm:/$n"
err_is "^ipckit pub: --connect on a shm: ring would make this end a subscriber"
run 2 "$IPCKIT" sub --keep "shm:/$n"
err_is "^ipckit sub: --excl and --keep apply only to the end that creates"
run 2 "$IPCKIT" recv --listen --connect "mq:/$n"
err_is "^ipckit recv: --listen and --connect exclude each other$"
run 2 "$IPCKIT" pub --count -3 "shm:/$n"
err_is "^ipckit pub: bad --count '-3'"
run 2 "$IPCKIT" bridge --count -1 "shm:/$n" "shm:/$n-b"
err_is "^ipckit bridge: bad --count '-1'"
[ ! -e "/dev/shm/$n" ] || fail "a usage error left /dev/shm/$n"
echo "  impossible combinations: exit 2 with their reasons"
exit 0
