#!/bin/bash
# examples/faq-measure: each of its three measurements runs briefly and
# reports every row it should, with numbers that are well-formed: present,
# positive where a cost or a count must be, p50 <= p99 <= max. Their values
# depend on the machine and its load, so they are not judged here.
. "$(dirname "$0")/lib.sh"

FAQ=${2:?usage: $0 ipckit faq-measure}
command -v python3 >/dev/null 2>&1 || skip "python3 is needed to read the JSON report"

run 2 "$FAQ" --pairs 9
err_is "^faq-measure: bad value '9' for --pairs"
run 2 "$FAQ" sideways
grep -q "unknown measurement 'sideways'" "$T/run.err" || fail "no usage error: $(cat "$T/run.err")"

# check SECTION: reads the JSON report in $T/run.out, asserts on it
check() {
	python3 - "$1" "$T/run.out" <<'PY' || fail "$1: $(cat "$T/run.out")"
import json, sys
section, path = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
rows = doc[section]

def lat(r, a, b, c):
    assert 0 < r[a] <= r[b] <= r[c], (a, b, c, r)

if section == "notify":
    got = sorted((r["rate"], r["relay"], r["matches"]) for r in rows)
    want = sorted((rate, relay, m) for rate in (100, 1000)
                  for relay, m in (("mq_notify", ""), ("poll", "p99"), ("poll", "p50")))
    assert got == want, got
    for r in rows:
        assert r["messages"] >= 10 and r["seconds"] > 0, r
        assert r["cpu_ms_per_s"] > 0 and r["wakeups_per_s"] > 0, r
        assert (r["poll_interval_us"] > 0) == (r["relay"] == "poll"), r
        lat(r, "delay_p50_us", "delay_p99_us", "delay_max_us")
elif section == "pairs":
    got = sorted((r["transport"], r["pairs"]) for r in rows)
    want = sorted((t, n) for t in ("unix-epoll", "ring-queue", "ring-queue-spin", "sysvmq")
                  for n in (1, 2))
    assert got == want, got
    for r in rows:
        assert r["msgs_per_s"] > 0 and r["per_pair"] > 0, r
        assert r["cpus"] > 0 and r["msgs_per_cpu_s"] > 0, r
else:
    assert [r["backing"] for r in rows] == ["shm_open", "file+msync", "file+writeback"], rows
    assert doc["background_threshold_mib"] > 0 and doc["batch_bytes"] == 65536, doc
    for r in rows:
        assert r["bytes"] > 0 and r["seconds"] > 0 and r["mb_per_s"] > 0, r
        assert r["fsync_ms"] >= 0 and r["written_back_mib"] >= 0, r
        assert r["faults_per_mib"] > 0, r  # every row writes fresh pages
        lat(r, "batch_p50_us", "batch_p99_us", "batch_max_us")
    assert rows[2]["bytes"] == 2 << 20, rows[2]
    assert rows[2]["dirty_peak_mib"] > 0, rows[2]
PY
}

# measure ARGS...: runs faq-measure like run 0, and checks that the queues,
# rings and files it named with its pid are gone afterwards
measure() {
	local pid st left
	"$FAQ" "$@" >"$T/run.out" 2>"$T/run.err" &
	pid=$!
	wait "$pid"
	st=$?
	[ "$st" -eq 0 ] || fail "'faq-measure $*' exited $st; stderr: $(cat "$T/run.err")"
	left=$(ls /dev/mqueue /dev/shm "$T" 2>/dev/null | grep -E "^ipk-faq-$pid([-.]|$)")
	[ -z "$left" ] || fail "'faq-measure $*' left behind: $left"
}

measure notify --json --rates 100,1000 --duration 0.1
check notify
measure pairs --json --pairs 1,2 --duration 0.05
check pairs
measure mapfile --json --size 1M --file-size 2M --duration 1 --dir "$T"
check mapfile
exit 0
