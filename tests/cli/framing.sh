#!/bin/bash
# framing=line and framing=none on byte streams, against programs that do
# not speak ipckit: the shell's echo and cat through a FIFO, socat on Unix
# and TCP sockets both ways, and Python's socket module; a peer that sends
# half a line and closes, and a line over the maximum.
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null 2>&1 || skip "socat is not installed"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "$PY is not installed"

# until CMD succeeds, 10 s at most, or the process NAME (if given) exits
until_ok() {
	local name=$1 i
	shift
	for i in $(seq 200); do
		"$@" && return 0
		[ -n "$name" ] && ! kill -0 "${!name}" 2>/dev/null && break
		sleep 0.05
	done
	fail "'$*' never became true${name:+; $name: $(cat "$T/$name.err")}"
}

# A Unix stream socket at $1 accepts connections (listening, not just bound).
unix_listening() {
	grep -q " 00010000 .* $1\$" /proc/net/unix
}

# Something listens on TCP port $1 of 127.0.0.1.
tcp_listening() {
	grep -q ":$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp
}

want() {
	printf "$@" >"$T/want"
}

# --- FIFO: echo and cat into ipckit recv, cat out of ipckit send ---
start rx "$IPCKIT" recv --timeout 20 "fifo:$T/f?framing=line"
until_ok rx test -p "$T/f"
{ echo one; echo; echo 'two words'; printf 'half'; } >"$T/f" # one writer, then closed
finish rx 0
want 'one\n\ntwo words\nhalf\n'
same_file "$T/rx.out" "$T/want"

printf 'from\na file\n' >"$T/in"
start rx "$IPCKIT" recv --raw --timeout 20 "fifo:$T/f?framing=line"
until_ok rx test -p "$T/f"
cat "$T/in" >"$T/f"
finish rx 0
want 'froma file' # --raw: each line's bytes, no newline added
same_file "$T/rx.out" "$T/want"

printf 'a\nb c\n' >"$T/in"
start tx "$IPCKIT" send --listen --timeout 20 "fifo:$T/g?framing=line" <"$T/in"
until_ok tx test -p "$T/g"
cat "$T/g" >"$T/cat.out"
finish tx 0
want 'a\nb c\n'
same_file "$T/cat.out" "$T/want"

# A line over msgsize= is an error, never split; the line before it arrives.
start rx "$IPCKIT" recv --timeout 20 "fifo:$T/f?framing=line&msgsize=8"
until_ok rx test -p "$T/f"
printf '12345678\n123456789\nok\n' >"$T/f"
finish rx 1
want '12345678\n'
same_file "$T/rx.out" "$T/want"
grep -q 'Message too long (EMSGSIZE): a line of more than 8 bytes' "$T/rx.err" ||
	fail "stderr: $(cat "$T/rx.err")"

# Without framing=line the shell's text is a protocol error, as before.
start rx "$IPCKIT" recv --timeout 20 "fifo:$T/f"
until_ok rx test -p "$T/f"
echo hi >"$T/f"
finish rx 1
grep -q 'EPROTO' "$T/rx.err" || fail "stderr: $(cat "$T/rx.err")"

# --- socat on a Unix socket, both ways ---
start rx "$IPCKIT" recv --timeout 20 "unix:$T/s?framing=line"
until_ok rx unix_listening "$T/s"
printf 'hello\nfrom socat\nhalf a line' | socat -u - "UNIX-CONNECT:$T/s" || fail "socat could not send"
finish rx 0
want 'hello\nfrom socat\nhalf a line\n'
same_file "$T/rx.out" "$T/want"

start tx "$IPCKIT" send --listen --timeout 20 "unix:$T/s?framing=line" 'to socat'
until_ok tx unix_listening "$T/s"
socat -u "UNIX-CONNECT:$T/s" - >"$T/socat.out" || fail "socat could not receive"
finish tx 0
want 'to socat\n'
same_file "$T/socat.out" "$T/want"

# socat listens, ipckit connects
start srv socat -u "UNIX-LISTEN:$T/u" -
until_ok srv unix_listening "$T/u"
printf 'x\ny\n' | "$IPCKIT" send --timeout 10 "unix:$T/u?framing=line" || fail "send to socat"
finish srv 0
want 'x\ny\n'
same_file "$T/srv.out" "$T/want"

# a TEXT that holds a newline would become two lines: refused, nothing sent
start srv socat -u "UNIX-LISTEN:$T/u" -
until_ok srv unix_listening "$T/u"
run 1 "$IPCKIT" send --timeout 10 "unix:$T/u?framing=line" $'two\nlines'
err_is 'a message holds a newline'
finish srv 0
[ -s "$T/srv.out" ] && fail "socat received: $(cat "$T/srv.out")"

printf 'p\nq' >"$T/in"
start srv socat -u - "UNIX-LISTEN:$T/u" <"$T/in"
until_ok srv unix_listening "$T/u"
run 0 "$IPCKIT" recv --connect --timeout 10 "unix:$T/u?framing=line"
finish srv 0
want 'p\nq\n'
same_file "$T/run.out" "$T/want"

# --- socat on TCP, both ways ---
port=$(free_port)
start rx "$IPCKIT" recv --timeout 20 "tcp:127.0.0.1:$port?framing=line"
until_ok rx tcp_listening "$port"
printf 'over\ntcp\nand half' | socat -u - "TCP:127.0.0.1:$port" || fail "socat could not send"
finish rx 0
want 'over\ntcp\nand half\n'
same_file "$T/rx.out" "$T/want"

port=$(free_port)
start srv socat -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" -
until_ok srv tcp_listening "$port"
printf 'to\nsocat\n' | "$IPCKIT" send --timeout 10 "tcp:127.0.0.1:$port?framing=line" ||
	fail "send to socat over tcp"
finish srv 0
want 'to\nsocat\n'
same_file "$T/srv.out" "$T/want"

# --- Python's socket module as the client ---
# py_client FAMILY ADDRESS DATA: connect (retrying until the server is up),
# send DATA, shut down the sending side, print every line received.
cat >"$T/client.py" <<'EOF'
import socket, sys, time
family, addr, data = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if family == "unix":
    s, target = socket.socket(socket.AF_UNIX), addr
else:
    s, target = socket.socket(socket.AF_INET), ("127.0.0.1", int(addr))
deadline = time.monotonic() + 10
while True:
    try:
        s.connect(target)
        break
    except (FileNotFoundError, ConnectionRefusedError):
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
try:
    if data:
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError, OSError):
    pass  # a sender that was done before us has closed: read what it sent
try:
    for line in s.makefile("rb"):
        sys.stdout.buffer.write(line)
except ConnectionResetError:
    pass  # a server that refused a line closed with it unread
EOF

start rx "$IPCKIT" recv --timeout 20 "unix:$T/p?framing=line"
"$PY" "$T/client.py" unix "$T/p" $'first\nsecond\nno newline' || fail "python client (unix)"
finish rx 0
want 'first\nsecond\nno newline\n'
same_file "$T/rx.out" "$T/want"

port=$(free_port)
start rx "$IPCKIT" recv --timeout 20 "tcp:127.0.0.1:$port?framing=line"
"$PY" "$T/client.py" tcp "$port" $'one\r\ntwo\n' || fail "python client (tcp)"
finish rx 0
want 'one\r\ntwo\n' # only '\n' ends a line
same_file "$T/rx.out" "$T/want"

# Python reads the lines ipckit sends (and sends nothing).
printf 'line 1\nline 2\n' >"$T/in"
start tx "$IPCKIT" send --listen --timeout 20 "unix:$T/p?framing=line" <"$T/in"
"$PY" "$T/client.py" unix "$T/p" '' >"$T/py.out" || fail "python client reading"
finish tx 0
want 'line 1\nline 2\n'
same_file "$T/py.out" "$T/want"

# A line over the maximum from Python: an error that names it.
start rx "$IPCKIT" recv --timeout 20 "unix:$T/p?framing=line&msgsize=16"
"$PY" "$T/client.py" unix "$T/p" "short
$(printf 'x%.0s' $(seq 100))
after
" || fail "python client (long line)"
finish rx 1
want 'short\n'
same_file "$T/rx.out" "$T/want"
grep -q 'a line of more than 16 bytes' "$T/rx.err" || fail "stderr: $(cat "$T/rx.err")"

# --- framing=none: bytes as they are, both ways ---
head -c 200000 /dev/urandom >"$T/blob"
start rx "$IPCKIT" recv --raw --timeout 20 "unix:$T/n?framing=none"
until_ok rx unix_listening "$T/n"
socat -u "OPEN:$T/blob" "UNIX-CONNECT:$T/n" || fail "socat could not send the blob"
finish rx 0
same_file "$T/rx.out" "$T/blob"

port=$(free_port)
start srv socat -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" -
until_ok srv tcp_listening "$port"
"$IPCKIT" send --raw --timeout 10 "tcp:127.0.0.1:$port?framing=none&msgsize=262144" <"$T/blob" ||
	fail "send --raw to socat"
finish srv 0
same_file "$T/srv.out" "$T/blob"

# Everything each end created is gone.
left=$(ls "$T" | grep -Ev '\.(out|err|py)$|^(want|in|blob)$')
[ -z "$left" ] || fail "left behind in $T: $left"
exit 0
