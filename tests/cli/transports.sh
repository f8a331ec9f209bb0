#!/bin/bash
# Lines sent by `ipckit send` in one process come out of `ipckit recv` in
# another, equal and in order, over every transport of the CLI; --count
# stops the receiver after N messages.
. "$(dirname "$0")/lib.sh"

# What goes over every transport: spaces, UTF-8, a line longer than
# PIPE_BUF, and enough numbered lines that a reordering would show.
{
	echo 'first line'
	echo '  leading and trailing spaces  '
	echo 'ünïcödé ✓'
	head -c 6000 /dev/zero | tr '\0' x
	echo
	seq 1 50 | sed 's/^/line /'
} >"$T/lines"

# check URL RECV-OPTS...: a server prints what a client sent.
check() {
	local url=$1
	shift
	start rx "$IPCKIT" recv --timeout 20 "$@" "$url"
	# The client waits for the server by itself (the library retries the
	# connect or open until --timeout): no sleep needed.
	run 0 "$IPCKIT" send --timeout 20 "$url" <"$T/lines"
	finish rx 0
	same_file "$T/rx.out" "$T/lines"
	[ -s "$T/rx.err" ] && fail "$url: recv wrote to stderr: $(cat "$T/rx.err")"
	return 0
}

n=$(wc -l <"$T/lines")

# Stream transports end when the sender closes (-EPIPE: exit 0); datagrams
# have no end, so their receiver counts.
check "fifo:$T/fifo"
check "unix:$T/stream.sock"
check "unix:@ipckit-cli-$$-abstract"
check "unix+seqpacket:$T/seq.sock"
check "unix+dgram:$T/dgram.sock" --count "$n"
check "tcp:127.0.0.1:$(free_port)"

# The server removes what it created.
for f in fifo stream.sock seq.sock dgram.sock; do
	[ -e "$T/$f" ] && fail "$T/$f left behind"
done

# A FIFO writer that starts first waits for the FIFO and its reader.
start tx "$IPCKIT" send --timeout 20 "fifo:$T/late" 'sent before the reader'
run 0 "$IPCKIT" recv --timeout 20 --count 1 "fifo:$T/late"
finish tx 0
[ "$(cat "$T/run.out")" = 'sent before the reader' ] || fail "late reader: got '$(cat "$T/run.out")'"

# TEXT on the command line is one message; --listen/--connect swap roles.
start rx "$IPCKIT" recv --connect --timeout 20 --count 1 "unix:$T/swap.sock"
run 0 "$IPCKIT" send --listen --timeout 20 "unix:$T/swap.sock" 'hello, world'
finish rx 0
[ "$(cat "$T/rx.out")" = 'hello, world' ] || fail "swapped roles: got '$(cat "$T/rx.out")'"

# --count N: exactly the first N messages, then exit 0.
for url in "unix+dgram:$T/count.sock" "unix:$T/count.sock" "fifo:$T/count.fifo"; do
	start rx "$IPCKIT" recv --timeout 20 --count 3 "$url"
	start tx "$IPCKIT" send --timeout 20 "$url" <"$T/lines"
	finish rx 0
	# The sender may or may not see the receiver go; only the receiver counts.
	wait "$tx"
	head -n 3 "$T/lines" >"$T/want3"
	same_file "$T/rx.out" "$T/want3"
done

# --keep leaves the socket file for the next server.
start rx "$IPCKIT" recv --keep --timeout 20 "unix:$T/keep.sock"
run 0 "$IPCKIT" send --timeout 20 "unix:$T/keep.sock" kept
finish rx 0
[ -S "$T/keep.sock" ] || fail "--keep: $T/keep.sock was removed"
exit 0
