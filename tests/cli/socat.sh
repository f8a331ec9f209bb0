#!/bin/bash
# A datagram from another tool (socat) arrives whole at
# `ipckit recv unix+dgram:`: the channel adds no framing of its own there.
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null 2>&1 || skip "socat is not installed"

sock="$T/d.sock"
start rx "$IPCKIT" recv --count 2 --timeout 20 "unix+dgram:$sock"
# socat does not retry: wait (bounded) until the receiver has bound.
for _ in $(seq 200); do
	[ -S "$sock" ] && break
	kill -0 "$rx" 2>/dev/null || break
	sleep 0.05
done
[ -S "$sock" ] || fail "receiver did not bind $sock: $(cat "$T/rx.err")"

printf 'hello from socat' | socat - "UNIX-SENDTO:$sock" ||
	fail "socat could not send"
printf 'two words\nand a newline' | socat - "UNIX-SENDTO:$sock" ||
	fail "socat could not send"
finish rx 0
printf 'hello from socat\ntwo words\nand a newline\n' >"$T/want"
same_file "$T/rx.out" "$T/want"
exit 0
