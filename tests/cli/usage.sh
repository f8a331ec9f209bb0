#!/bin/bash
# Usage errors exit 2 with one specific line; runtime failures exit 1 with
# the errno name; --help and --version exit 0.
. "$(dirname "$0")/lib.sh"

# --help for the tool and each command: usage on stdout, nothing on stderr.
for cmd in "" send recv bench; do
	run 0 "$IPCKIT" $cmd --help
	grep -q "^Usage: ipckit $cmd" "$T/run.out" || fail "'ipckit $cmd --help': $(head -1 "$T/run.out")"
	[ -s "$T/run.err" ] && fail "'ipckit $cmd --help' wrote to stderr"
done
run 0 "$IPCKIT" --help
for cmd in send recv bench; do
	grep -q "^  $cmd " "$T/run.out" || fail "ipckit --help does not list $cmd"
done
run 0 "$IPCKIT" --version
grep -Eq '^ipckit [0-9]+\.[0-9]+\.[0-9]+$' "$T/run.out" || fail "--version: $(cat "$T/run.out")"

# Exit 2, and a message that names the problem.
run 2 "$IPCKIT"
err_is "^ipckit: missing command"
run 2 "$IPCKIT" frobnicate
err_is "^ipckit: unknown command 'frobnicate'"
# demo was the measurement before bench; bench --only pipe,fifo,... runs it.
run 2 "$IPCKIT" demo
err_is "^ipckit: unknown command 'demo'"
run 2 "$IPCKIT" --frob
err_is "^ipckit: unknown option '--frob'$"
run 2 "$IPCKIT" send --bogus "unix:$T/s" hi
err_is "^ipckit send: unknown option '--bogus'$"
run 2 "$IPCKIT" recv -Z "unix:$T/s"
err_is "^ipckit recv: unknown option '-Z'$"
run 2 "$IPCKIT" send --count 3 "unix:$T/s" hi
err_is "^ipckit send: unknown option '--count'$"
run 2 "$IPCKIT" recv --co "unix:$T/s"
err_is "^ipckit recv: ambiguous option '--co'"
run 2 "$IPCKIT" recv --raw=yes "unix:$T/s"
err_is "^ipckit recv: option '--raw' takes no argument$"
run 2 "$IPCKIT" recv "unix:$T/s" --timeout
err_is "^ipckit recv: option '--timeout' needs an argument$"
run 2 "$IPCKIT" recv
err_is "^ipckit recv: missing URL"
run 2 "$IPCKIT" send --timeout 1
err_is "^ipckit send: missing URL"
run 2 "$IPCKIT" send "unix:$T/s" one two
err_is "^ipckit send: unexpected argument 'two'$"
run 2 "$IPCKIT" recv "unix:$T/s" extra
err_is "^ipckit recv: unexpected argument 'extra'$"

# A bad URL says what is wrong and where (the offset is the library's).
run 2 "$IPCKIT" send tcp:host hi
err_is "^ipckit send: bad URL 'tcp:host': .+ \(at offset [0-9]+\)$"
run 2 "$IPCKIT" recv 'nosuch:/x'
err_is "^ipckit recv: bad URL 'nosuch:/x': .+ \(at offset [0-9]+\)$"
run 2 "$IPCKIT" recv "unix:$T/s?bogus=1"
err_is "^ipckit recv: bad URL 'unix:$T/s\?bogus=1': .+ \(at offset [0-9]+\)$"
run 2 "$IPCKIT" recv pipe:
err_is "^ipckit recv: 'pipe:': a pipe: channel joins related processes only"

# Bad numbers.
for bad in abc -1 1.2.3 '' 1s; do
	run 2 "$IPCKIT" recv --timeout "$bad" "unix:$T/s"
	err_is "^ipckit recv: bad --timeout '$bad': want seconds"
done
for bad in 0 -3 abc 2x ' 4' 99999999999999999999999; do
	run 2 "$IPCKIT" recv --count "$bad" "unix:$T/s"
	err_is "^ipckit recv: bad --count '$bad'"
done

# Options that do not fit together.
run 2 "$IPCKIT" recv --listen --connect "unix:$T/s"
err_is "^ipckit recv: --listen and --connect exclude each other$"
run 2 "$IPCKIT" send --excl "unix:$T/s" hi
err_is "^ipckit send: --excl and --keep apply only to the end that creates"
run 2 "$IPCKIT" send --raw "unix:$T/s" hi
err_is "^ipckit send: --raw sends standard input and takes no TEXT$"

# Runtime failures: exit 1, the object, the system's words and errno name.
start=$(date +%s%N)
run 1 "$IPCKIT" send --timeout 0 "unix:$T/nobody.sock" hi
err_is "^ipckit send: unix:$T/nobody.sock: No such file or directory \(ENOENT\)$"
run 1 "$IPCKIT" recv --connect --timeout 0.3 "unix:$T/nobody.sock"
err_is "^ipckit recv: unix:$T/nobody.sock: .+ \(ETIMEDOUT\)$"
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -lt 5000 ] || fail "--timeout 0 and 0.3 took $elapsed ms together"

: >"$T/plain"
run 1 "$IPCKIT" recv --excl "fifo:$T/plain"
err_is "^ipckit recv: fifo:$T/plain: File exists \(EEXIST\): a file is there, owned by uid $(id -u), mode 0[0-7]{3}$"
[ -f "$T/plain" ] || fail "--excl removed the existing file"

# A reader that never comes: the FIFO writer gives up instead of hanging.
start rx "$IPCKIT" recv --keep --count 1 --timeout 20 "fifo:$T/once"
run 0 "$IPCKIT" send --timeout 20 "fifo:$T/once" one
finish rx 0
run 1 "$IPCKIT" send --timeout 0 "fifo:$T/once" two
err_is "^ipckit send: fifo:$T/once: .+ \(ENXIO\)$"

# A receive that times out is a failure, after what did arrive.
start rx "$IPCKIT" recv --timeout 2 "unix+dgram:$T/quiet.sock"
run 0 "$IPCKIT" send --timeout 20 "unix+dgram:$T/quiet.sock" only
finish rx 1
[ "$(cat "$T/rx.out")" = only ] || fail "before the timeout: got '$(cat "$T/rx.out")'"
grep -q '(ETIMEDOUT)$' "$T/rx.err" || fail "timeout: $(cat "$T/rx.err")"
exit 0
