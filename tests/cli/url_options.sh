#!/bin/bash
# url_options.sh - one option name for one meaning on every scheme: mode= is
# only shm:'s ring or queue, so a permission spelled mode=0OOO on any other
# scheme is a bad URL (exit 2) whose message names perm=, and nothing is
# created; perm= and shm:'s mode=queue open. Every URL the command line and
# the man pages show (ipckit --help, ipckit CMD --help, the ipckit*(1)
# command lines) opens without EINVAL: placeholders and addresses become
# private ones (a path under $T, a name and a key of this pid, a local
# port), the options stay as printed.
. "$(dirname "$0")/lib.sh"

docs=$(dirname "$0")/../../docs
n=ipk-urlopt-$$
o=$T/o # where the paths go
mkdir "$o" || fail "mkdir $o"
key=$((0x5e000000 + $$ % 0xffff * 256)) # System V keys key + 0..255 are this test's

# The System V queues of this test's keys.
sysv_ours() {
	local k
	for k in $(ipcs -q | awk '$1 ~ /^0x/ { print $1 }'); do
		((k >= key && k < key + 256)) && echo "$k"
	done
}

# Removes whatever a failed run left under this test's names and keys.
gone() {
	local f k
	rm -f /dev/shm/"$n"-*
	for f in /dev/mqueue/"$n"-*; do
		[ -e "$f" ] && python3 -c \
			"import ctypes, sys; ctypes.CDLL(None).mq_unlink(sys.argv[1].encode())" "/${f##*/}"
	done
	for k in $(sysv_ours); do
		ipcrm -Q "$k"
	done
}
trap 'gone 2>/dev/null; cleanup' EXIT

# A permission as mode=: exit 2 at once, the message names perm=, nothing made.
for u in "mq:/$n-0" "fifo:$o/f" "unix:$o/u" "unix+dgram:$o/d" "unix+seqpacket:$o/s" \
	"sysvmq:$key"; do
	run 2 "$IPCKIT" recv "$u?mode=0600" --timeout 0
	err_is "^ipckit recv: bad URL '$(printf '%s' "$u" | sed 's/[+.]/\\&/g')\?mode=0600': .*permissions are perm= \(at offset $((${#u} + 1))\)$"
done
u="mq:/$n-0?perm=0600&"
run 2 "$IPCKIT" send "${u}mode=0600" x
err_is "permissions are perm= \(at offset ${#u}\)$"
[ ! -e "/dev/mqueue/$n-0" ] || fail "a bad URL created /dev/mqueue/$n-0"
[ -z "$(ls "$o")" ] || fail "a bad URL created $(ls "$o")"
[ -z "$(sysv_ours)" ] || fail "a bad URL created System V queue $key"
echo "  mode=0600 on mq:, fifo:, unix*:, sysvmq:: exit 2 and the message names perm="

# The same object with perm= is made with those permissions.
hex=$(printf '0x%08x' "$key")
start rx "$IPCKIT" recv --count 1 "sysvmq:$key?perm=0640"
for ((i = 0; i < 500; i++)); do
	perms=$(ipcs -q | awk -v k="$hex" '$1 == k { print $4 }')
	[ -n "$perms" ] && break
	sleep 0.01
done
[ "$perms" = 640 ] || fail "sysvmq: perm=0640 made '$perms'"
run 0 "$IPCKIT" send "sysvmq:$key" x
finish rx 0
run 1 "$IPCKIT" recv --listen --timeout 0 "shm:/$n-1?mode=queue&perm=0600"
grep -q 'bad URL\|EINVAL' "$T/run.err" && fail "shm: mode=queue&perm=: $(cat "$T/run.err")"
echo "  sysvmq:?perm=0640 made 0640; shm:?mode=queue&perm=0600 parses"

# urls FILE: the channel URLs in FILE, one a line. An "(options: ?...)"
# after a URL belongs to it.
urls() {
	sed -E 's/([a-z+]+:[^[:space:]]*) \(options: (\?[^;)]*)/\1\2 /' "$1" |
		grep -oE "(^|[^a-z+])(fifo|unix|unix\+dgram|unix\+seqpacket|tcp|mq|sysvmq|shm|dbus|nats):[^[:space:]'\",;()]+" |
		sed -E 's/^[^a-z]//; s/\[\?OPTIONS\]$//; s/[.:]$//'
}

# private URL I: the URL with its address made ours, its options kept.
private() {
	local url=$1 i=$2 scheme addr query=
	scheme=${url%%:*}
	addr=${url#*:}
	case $addr in *\?*) query="?${addr#*\?}" addr=${addr%%\?*} ;; esac
	case $scheme in
	fifo | unix | unix+dgram | unix+seqpacket)
		case $addr in @*) addr=@$n-$i ;; *) addr=$o/p$i ;; esac ;;
	tcp) addr=127.0.0.1:0 ;;
	mq | shm) addr=/$n-$i ;;
	sysvmq) addr=$(printf '0x%x' $((key + i))) ;;
	dbus) addr=org.ipckit.UrlOptions$$.x/n$i ;;
	nats) addr=//127.0.0.1:1/${addr##*/} ;;
	esac
	printf '%s:%s%s\n' "$scheme" "$addr" "$(printf '%s' "$query" | sed -E 's/=N(&|$)/=4096\1/g')"
}

"$IPCKIT" --help >"$T/help" || fail "ipckit --help failed"
for cmd in $(awk '/^Commands:/ { on = 1; next } on && !NF { exit } on { print $1 }' "$T/help"); do
	"$IPCKIT" "$cmd" --help >>"$T/help" 2>&1 || fail "ipckit $cmd --help failed"
done
urls "$T/help" >"$T/urls"
grep -q '^shm:/name?' "$T/urls" || fail "no shm: URL with options in ipckit --help: $(grep shm: "$T/help")"
if [ -d "$docs" ]; then
	grep -hE '(^[[:space:]]*(\$ )?|\| )ipckit [a-z]+ ' "$docs"/ipckit*.1.scd >"$T/man"
	urls "$T/man" >>"$T/urls"
	from="ipckit --help, ipckit CMD --help and ipckit*(1)"
else
	from="ipckit --help and ipckit CMD --help (no docs/ beside the tests)"
fi
sort -u -o "$T/urls" "$T/urls"
[ "$(wc -l <"$T/urls")" -ge 10 ] || fail "only $(wc -l <"$T/urls") URLs found: $(cat "$T/urls")"

i=2
while read -r url; do
	u=$(private "$url" "$i")
	i=$((i + 1))
	# the end that creates; dbus: only subscribes (publishing is pub --bus)
	how=--listen
	[ "${u%%:*}" = dbus ] && how=--connect
	st=0
	timeout 10 "$IPCKIT" recv $how --timeout 0 "$u" </dev/null >"$T/open.out" 2>"$T/open.err" ||
		st=$?
	if [ "$st" -eq 2 ] || [ "$st" -ge 124 ] || grep -q 'bad URL\|EINVAL' "$T/open.err"; then
		fail "$url (opened as $u, $how) exited $st: $(cat "$T/open.err")"
	fi
done <"$T/urls"
left=$(ls -A "$o"; ls -d /dev/shm/"$n"-* /dev/mqueue/"$n"-* 2>/dev/null; sysv_ours)
[ -z "$left" ] || fail "the opens left behind: $left"
echo "  $(wc -l <"$T/urls") URLs from $from open without EINVAL: $(tr '\n' ' ' <"$T/urls")"
exit 0
