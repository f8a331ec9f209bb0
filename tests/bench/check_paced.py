#!/usr/bin/env python3
# tests/bench/check_paced.py IPCKIT SCHEMA
#
# The paced cases of `ipckit bench` (--rates, --kinds rate,fanout): a short
# run of one cheap row (pipe) at a low rate, and of the broadcast ring
# (shm-ring) to 4 subscribers. Checks that the records validate against
# docs/bench-schema.json, carry one-way latency percentiles in order, the
# CPU of each side as a share of one CPU, the sender's rate, one entry per
# receiver (4 for the fan-out, each with every message), and that sizes
# under 16 bytes are n/a with the reason; the same in the table and the
# CSV; and the usage errors of the new options. Values are never compared
# with speeds: the machine may be loaded.
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchschema  # noqa: E402

IPCKIT, SCHEMA = sys.argv[1], sys.argv[2]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def run(args, timeout=60):
    return subprocess.run([IPCKIT, "bench", "--quick", "--time", "0.05"] + args,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


with open(SCHEMA) as f:
    schema = json.load(f)
benchschema.check_catches(schema)


def check_latency(what, r, messages):
    chain = [r["min_ns"], r["p50_ns"], r["p90_ns"], r["p99_ns"], r["p999_ns"], r["max_ns"]]
    if None in chain or chain != sorted(chain) or chain[-1] <= 0:
        fail("%s: percentiles missing or out of order: %r" % (what, chain))
    if r["samples"] != messages:
        fail("%s: %r samples, want %d" % (what, r["samples"], messages))


def check_cpu(what, v):
    # A share of one CPU: never negative, and a process has one thread
    # that matters here, so never much above one CPU.
    if not isinstance(v, (int, float)) or v < 0 or v > 1.5:
        fail("%s: CPU share %r is not between 0 and one CPU" % (what, v))


def paced_run(args):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "p.json")
        p = run(args + ["--json", out])
        if p.returncode != 0:
            fail("%s: exit %d: %s" % (args, p.returncode, p.stderr.strip()))
            return None
        with open(out) as f:
            doc = json.load(f)
    for e in benchschema.validate(doc, schema, schema):
        fail("%s: %s" % (args, e))
    return doc


# ---- paced, one receiver: pipe at 2000 messages/s, and a size too small
doc = paced_run(["--only", "pipe", "--sizes", "64,8", "--rates", "2k", "--kinds", "rate"])
if doc:
    if doc["config"]["kinds"] != ["rate"] or doc["config"]["rates"] != [2000.0]:
        fail("config: %r" % doc["config"])
    recs = {(r["mechanism"], r["size"], r["kind"]): r for r in doc["results"]}
    if sorted(recs) != [("pipe", 8, "rate"), ("pipe", 64, "rate")]:
        fail("records: %r" % sorted(recs))
    small = recs.get(("pipe", 8, "rate"))
    if small and (small["status"] != "n/a" or "16 bytes" not in small.get("reason", "")):
        fail("8 bytes: %r %r, want n/a naming the 16 bytes" % (small["status"],
                                                              small.get("reason")))
    r = recs.get(("pipe", 64, "rate"))
    if r and r["status"] != "ok":
        fail("pipe 64 rate: %s: %s" % (r["status"], r.get("reason")))
    elif r:
        if r["rate"] != 2000 or r["subscribers"] != 1:
            fail("rate %r, subscribers %r" % (r["rate"], r["subscribers"]))
        n = r["subs"][0]["samples"] if r["subs"] else 0
        if n < 100:
            fail("only %d messages timed, want at least 100" % n)
        check_latency("pipe rate", r, n)
        check_latency("pipe rate receiver 0", dict(r["subs"][0], samples=n), n)
        check_cpu("cpu_send", r["cpu_send"])
        check_cpu("cpu_recv", r["cpu_recv"])
        if r["subs"][0]["cpu"] != r["cpu_recv"]:
            fail("one receiver: its cpu %r is not cpu_recv %r" % (r["subs"][0]["cpu"],
                                                                 r["cpu_recv"]))
        if not r["msgs_per_s"] or r["msgs_per_s"] <= 0 or r["msgs_per_s"] > 2000 * 1.2:
            fail("sent %r messages/s at a rate of 2000" % r["msgs_per_s"])
        if not isinstance(r["late"], int) or r["late"] < 0 or r["late"] > n:
            fail("late: %r" % r["late"])
        if not isinstance(r["behind"], bool):
            fail("behind: %r" % r["behind"])

# ---- fan-out: the broadcast ring to 4 subscribers
doc = paced_run(["--only", "shm-ring", "--sizes", "64", "--rates", "1k", "--subscribers", "4",
                 "--kinds", "fanout"])
if doc:
    recs = [r for r in doc["results"] if r["kind"] == "fanout"]
    if len(recs) != 1:
        fail("fan-out: %d records, want 1" % len(recs))
    for r in recs:
        if r["status"] != "ok":
            fail("fan-out: %s: %s" % (r["status"], r.get("reason")))
            continue
        if r["subscribers"] != 4 or not r["subs"] or len(r["subs"]) != 4:
            fail("fan-out: subscribers %r, subs %r" % (r["subscribers"], r["subs"]))
            continue
        if [s["subscriber"] for s in r["subs"]] != [0, 1, 2, 3]:
            fail("fan-out: subscriber numbers %r" % [s["subscriber"] for s in r["subs"]])
        each = r["subs"][0]["samples"]
        if each < 100:
            fail("fan-out: %d messages per subscriber, want at least 100" % each)
        for s in r["subs"]:
            # Every subscriber receives every message.
            check_latency("subscriber %d" % s["subscriber"], s, each)
            check_cpu("subscriber %d cpu" % s["subscriber"], s["cpu"])
        check_latency("fan-out, all", r, 4 * each)
        check_cpu("publisher", r["cpu_send"])
        if abs(r["cpu_recv"] - sum(s["cpu"] for s in r["subs"])) > 1e-5:
            fail("cpu_recv %r is not the subscribers' sum" % r["cpu_recv"])
        if r["max_ns"] != max(s["max_ns"] for s in r["subs"]):
            fail("max over all %r is not the subscribers' largest" % r["max_ns"])

# ---- table and CSV
p = run(["--only", "pipe,shm-ring", "--sizes", "64", "--rates", "5k", "--subscribers", "2",
         "--kinds", "rate,fanout"])
if p.returncode != 0:
    fail("table: exit %d: %s" % (p.returncode, p.stderr))
for want in ("== 64 bytes, paced one-way at 5.0 k msg/s ==",
             "== 64 bytes, fan-out at 5.0 k msg/s (latency over all subscribers) =="):
    if want not in p.stdout:
        fail("table has no %r:\n%s" % (want, p.stdout))
if not re.search(r"^pipe +\S+ \S+ .*%", p.stdout, re.M):
    fail("table: no pipe line with a CPU share:\n%s" % p.stdout)
if not re.search(r"^shm-ring +2 ", p.stdout, re.M):
    fail("table: no shm-ring line for 2 subscribers:\n%s" % p.stdout)
p = run(["--only", "shm-ring", "--sizes", "64", "--rates", "5k", "--subscribers", "2",
         "--kinds", "rate,fanout", "--csv"])
lines = p.stdout.strip().splitlines()
head = lines[0].split(",") if lines else []
if head[-6:] != ["rate", "subscribers", "subscriber", "late", "cpu_send", "cpu_recv"]:
    fail("CSV header: %r" % head)
else:
    rows = [dict(zip(head, ln.split(","))) for ln in lines[1:]]
    kinds = [(r["kind"], r["subscriber"]) for r in rows]
    if kinds != [("rate", ""), ("fanout", ""), ("fanout", "0"), ("fanout", "1")]:
        fail("CSV records: %r" % kinds)
    for r in rows:
        if r["status"] != "ok" or r["rate"] != "5000.0" or not r["p50_ns"] or not r["cpu_recv"]:
            fail("CSV record: %r" % r)

# ---- usage errors: exit 2 and a message that names the problem
for args, pattern in [
    (["--rates", "0"], r"bad rate '0' in --rates"),
    (["--rates", "1k,fast"], r"bad rate 'fast' in --rates"),
    (["--rates", "20M"], r"bad rate '20M' in --rates"),
    (["--subscribers", "0"], r"bad count '0' in --subscribers"),
    (["--subscribers", "65"], r"bad count '65' in --subscribers"),
    (["--kinds", "rtt,pingpong"], r"unknown kind 'pingpong' in --kinds"),
]:
    p = run(args)
    if p.returncode != 2 or not re.search(r"^ipckit bench: .*" + pattern, p.stderr):
        fail("%s: exit %d, %r; want 2 and %r" % (args, p.returncode, p.stderr, pattern))

if failures:
    print("%d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok")
