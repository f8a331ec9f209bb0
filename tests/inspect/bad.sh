#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/bad.sh IPCKIT HOLDER: bad input to ls/stat/gc/rm; objects and
# processes that vanish while being listed. (/proc entries we may not read:
# denied.sh; no mqueue mount: mq_mount.sh.)
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
E=$TMPD/err

# Unknown --type: usage error naming it.
"$B" ls --type bogus >/dev/null 2>"$E"
[ $? = 2 ] || fail "ls --type bogus: want exit 2"
grep -q "unknown --type 'bogus'" "$E" || fail "ls --type bogus: $(cat "$E")"
"$B" gc --type ring,nope >/dev/null 2>"$E"
[ $? = 2 ] || fail "gc --type ring,nope: want exit 2"
"$B" ls --pid 0 >/dev/null 2>&1
[ $? = 2 ] || fail "ls --pid 0: want exit 2"
"$B" gc --yes --dry-run >/dev/null 2>&1
[ $? = 2 ] || fail "gc --yes --dry-run: want exit 2"

# A URL naming nothing: exit 1 with the name and ENOENT.
for cmd in stat rm; do
	urls="shm:/ipk-none-$$ sysvmq:$((0x7ead0000 + $$ % 65536))"
	[ $cmd = stat ] && urls="$urls mq:/ipk-none-$$ unix:@ipk-none-$$ memfd:none-$$"
	for url in $urls; do
		"$B" $cmd "$url" >/dev/null 2>"$E"
		[ $? = 1 ] || fail "$cmd $url: want exit 1"
		grep -q "$url.*ENOENT" "$E" || fail "$cmd $url: $(cat "$E")"
	done
	# Not an object URL at all: usage error.
	"$B" $cmd tcp:localhost:1 >/dev/null 2>"$E"
	[ $? = 2 ] || fail "$cmd tcp:...: want exit 2"
	"$B" $cmd >/dev/null 2>&1
	[ $? = 2 ] || fail "$cmd without URL: want exit 2"
done
# rm of a name where something of another kind is: says what, keeps it.
mkfifo /dev/shm/ipk-bad-fifo-$$
"$B" rm shm:/ipk-bad-fifo-$$ >/dev/null 2>"$E"
rc=$?
[ -p /dev/shm/ipk-bad-fifo-$$ ] || fail "rm shm: over a FIFO removed the FIFO"
rm -f /dev/shm/ipk-bad-fifo-$$
[ $rc = 1 ] || fail "rm shm: over a FIFO: exit $rc, want 1"
grep -q "no such object: a FIFO is there, owned by uid $(id -u)" "$E" ||
	fail "rm shm: over a FIFO: $(cat "$E")"

# rm with one malformed URL among good ones removes nothing.
: >/dev/shm/ipk-bad-keep-$$
"$B" rm shm:/ipk-bad-keep-$$ bogus >/dev/null 2>"$E"
[ $? = 2 ] || fail "rm GOOD bogus: want exit 2"
[ -e /dev/shm/ipk-bad-keep-$$ ] || fail "rm GOOD bogus removed GOOD"
"$B" rm shm:/ipk-bad-keep-$$ >/dev/null || fail "rm shm"
[ -e /dev/shm/ipk-bad-keep-$$ ] && fail "rm shm: still there"

# Objects and processes that vanish while being listed: no error, no crash.
churn() {
	local i=0
	while [ ! -e "$TMPD/stop" ]; do
		i=$((i + 1))
		"$H" ring /ipk-vanish-$$-$i >/dev/null 2>&1 &
		local p=$!
		: >/dev/shm/ipk-vanish-shm-$$-$i
		sleep 0.005
		kill -9 $p 2>/dev/null
		wait $p 2>/dev/null
		rm -f /dev/shm/ipk-vanish-$$-$i /dev/shm/ipk-vanish-$$-$i-bell \
			/dev/shm/ipk-vanish-shm-$$-$i
	done
}
churn &
CHURN=$!
HOLDERS="$HOLDERS $CHURN"
for i in $(seq 5); do
	"$B" ls --json >"$TMPD/v.json" 2>"$E" || fail "ls while objects vanish: $(cat "$E")"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMPD/v.json" ||
		fail "ls --json while objects vanish: not JSON"
	"$B" gc >/dev/null 2>"$E" || fail "gc while objects vanish: $(cat "$E")"
done
touch "$TMPD/stop"
wait $CHURN 2>/dev/null
ls /dev/shm | grep -q "^ipk-vanish-.*$$-" && fail "churn left objects behind"

echo ok
