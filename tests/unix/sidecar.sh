#!/bin/bash
# examples/sidecar: the app reaches the TCP upstream through the proxy's
# Unix socket; as a second uid (nobody, via setpriv) the socket file's
# directory keeps it out (EACCES at connect), and with the files opened up
# the proxy's credential check refuses it (logged with its uid) unless
# nobody's uid is allowed. Skips the second-uid part without root/setpriv.
# Usage: sidecar.sh SIDECAR-EXE
set -u
SC=${1:?usage: $0 SIDECAR-EXE}
T=$(mktemp -d /tmp/ipk-sidecar.XXXXXX)
chmod 0755 "$T"
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
D=$T/run

"$SC" upstream "$port" >"$T/up.out" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q listening "$T/up.out" && break; sleep 0.05; done

start_proxy() {
	rm -f "$T/proxy.out"
	"$SC" proxy "$D" "$port" "$@" >"$T/proxy.out" 2>&1 &
	PROXY=$!
	PIDS="$PIDS $PROXY"
	for _ in $(seq 100); do grep -q listening "$T/proxy.out" && return; sleep 0.05; done
	fail "proxy did not start: $(cat "$T/proxy.out")"
}
stop_proxy() { kill "$PROXY" 2>/dev/null; wait "$PROXY" 2>/dev/null; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# defaults: directory 0700, socket 0600, only our uid
start_proxy
[ "$(stat -c %a "$D")" = 700 ] || fail "dir mode $(stat -c %a "$D"), want 700"
[ "$(stat -c %a "$D/proxy.sock")" = 600 ] || fail "socket mode $(stat -c %a "$D/proxy.sock")"
out=$("$SC" app "$D" hello) || fail "app: $out"
[ "$out" = "upstream: hello" ] || fail "app got '$out'"
grep -q "accepted uid $(id -u) " "$T/proxy.out" || fail "no accept log: $(cat "$T/proxy.out")"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	stop_proxy
	echo "SKIP: second-uid checks need root and setpriv"
	exit 77
fi
# so nobody can run the binary at all (its build directory is ours)
as_nobody "$SC" 2>/dev/null; [ $? = 2 ] || { stop_proxy; echo "SKIP: nobody cannot run $SC"; exit 77; }

# 1. file permissions: nobody cannot reach the socket in a 0700 directory
err=$(as_nobody "$SC" app "$D" hello 2>&1) && fail "nobody got through: $err"
echo "$err" | grep -q EACCES || fail "nobody: want EACCES, got: $err"
grep -q "uid 65534" "$T/proxy.out" && fail "the proxy saw nobody despite the file mode"
stop_proxy

# 2. files opened up (0755 dir, 0666 socket): credentials refuse nobody
start_proxy --dir-mode 0755 --mode 0666
[ "$(stat -c %a "$D/proxy.sock")" = 666 ] || fail "socket mode $(stat -c %a "$D/proxy.sock")"
err=$(as_nobody "$SC" app "$D" hello 2>&1) && fail "nobody got through: $err"
grep -q "refused uid 65534 pid" "$T/proxy.out" || fail "no refusal logged: $(cat "$T/proxy.out")"
out=$("$SC" app "$D" again) || fail "app after refusal: $out"
[ "$out" = "upstream: again" ] || fail "app got '$out'"
stop_proxy

# 3. nobody's uid allowed: through
start_proxy --dir-mode 0755 --mode 0666 --allow-uid 65534
out=$(as_nobody "$SC" app "$D" hi 2>&1) || fail "allowed nobody: $out"
[ "$out" = "upstream: hi" ] || fail "nobody got '$out'"
grep -q "accepted uid 65534" "$T/proxy.out" || fail "no accept log for nobody"
stop_proxy
echo ok
