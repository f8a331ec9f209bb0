#!/usr/bin/env python3
# tests/bench/check_bench.py IPCKIT SCHEMA [--sanitized]
#
# Runs the real `ipckit bench --quick --json FILE` and checks what it wrote:
# the JSON validates against docs/bench-schema.json (benchschema.py), every
# row of `ipckit bench --list` has a record for every size and kind it
# declares that a default run has (rtt, throughput; the paced kinds are
# check_paced.py's),
# none failed, every row produced numbers for at least one case, anything
# not applicable says why, percentiles are ordered, rates are consistent.
# Then --csv, --same-cpu, quiet stderr off a terminal, and the usage errors
# (unknown mechanism, size 0, a CPU that does not exist ...) exit 2 with a
# message naming the problem. --sanitized (ASan builds): the quick run may
# take up to 60 s instead of 20 s.
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchschema  # noqa: E402

IPCKIT, SCHEMA = sys.argv[1], sys.argv[2]
SANITIZED = "--sanitized" in sys.argv[3:]
failures = []



def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def run(args, timeout=120):
    return subprocess.run([IPCKIT, "bench"] + args, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


with open(SCHEMA) as f:
    schema = json.load(f)

benchschema.check_catches(schema)

# ---- the rows and what they declare
lst = run(["--list"])
if lst.returncode != 0:
    raise SystemExit("ipckit bench --list: exit %d: %s" % (lst.returncode, lst.stderr))
rows = {}
for line in lst.stdout.splitlines():
    name, cls, kinds = line.split()[:3]
    for k in kinds.split(","):
        if k not in ("rtt", "throughput", "rate", "fanout"):
            fail("--list: row %s has kind %r" % (name, k))
    # A default run has no paced cases.
    rows[name] = (cls, [k for k in kinds.split(",") if k in ("rtt", "throughput")])
for must in ("limit", "shm-ring", "unix-stream"):
    if must not in rows:
        fail("--list has no row %r" % must)

# ---- the quick run
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "bench.json")
    t0 = time.monotonic()
    p = run(["--quick", "--json", out])
    elapsed = time.monotonic() - t0
    limit_s = 60 if SANITIZED else 20
    print("quick run: %.1f s, exit %d" % (elapsed, p.returncode))
    if p.returncode != 0:
        fail("--quick exit %d: %s" % (p.returncode, p.stderr.strip()))
    if elapsed > limit_s:
        fail("--quick took %.1f s (limit %d s)" % (elapsed, limit_s))
    if p.stderr:
        fail("stderr is not a terminal, yet something was written: %r" % p.stderr[:200])
    for size in (64, 4096, 65536):
        if "== %d bytes, round trip ==" % size not in p.stdout:
            fail("table has no round-trip group for %d bytes" % size)
    with open(out) as f:
        doc = json.load(f)

for e in benchschema.validate(doc, schema, schema):
    fail(e)
if doc["config"]["sizes"] != [64, 4096, 65536]:
    fail("default sizes: %r" % doc["config"]["sizes"])
m = doc["machine"]
if m["cpus"] == [m["cpus"][0]] * 2 and m["online_cpus"] > 1:
    fail("default run on one CPU although %d are online" % m["online_cpus"])

recs = {}
for r in doc["results"]:
    key = (r["mechanism"], r["size"], r["kind"])
    if key in recs:
        fail("duplicate record %r" % (key,))
    recs[key] = r
ok_rows = set()
for name, (cls, kinds) in rows.items():
    for size in (64, 4096, 65536):
        for kind in kinds:
            r = recs.get((name, size, kind))
            if r is None:
                fail("no record for %s %d %s" % (name, size, kind))
                continue
            if r["class"] != cls:
                fail("%s: class %s, --list says %s" % (name, r["class"], cls))
            if r["status"] == "failed":
                fail("%s %d %s failed: %s" % (name, size, kind, r.get("reason")))
            elif r["status"] == "n/a":
                if not r.get("reason"):
                    fail("%s %d %s: n/a without a reason" % (name, size, kind))
            else:
                ok_rows.add(name)
for name, (cls, kinds) in rows.items():
    if name in ok_rows:
        continue
    # a peer this build lacks (an optional dependency) is n/a throughout,
    # saying so; any other row must measure something
    reasons = [recs.get((name, 64, k), {}).get("reason") or "" for k in kinds]
    if cls == "peer" and all(x.startswith("built without") for x in reasons):
        continue
    fail("row %s produced no numbers at all" % name)

for (name, size, kind), r in sorted(recs.items()):
    if r["status"] != "ok":
        for k in ("p50_ns", "msgs_per_s", "samples"):
            if r[k] is not None:
                fail("%s %d %s: %s set although %s" % (name, size, kind, k, r["status"]))
        continue
    if r["samples"] < 1 or r["msgs_per_s"] <= 0:
        fail("%s %d %s: no samples or no rate" % (name, size, kind))
    if abs(r["mb_per_s"] - r["msgs_per_s"] * size / 1e6) > 0.01 * r["mb_per_s"] + 0.01:
        fail("%s %d %s: MB/s %r does not match msgs/s %r" % (name, size, kind, r["mb_per_s"],
                                                            r["msgs_per_s"]))
    if kind == "rtt":
        chain = [r["min_ns"], r["p50_ns"], r["p90_ns"], r["p99_ns"], r["p999_ns"], r["max_ns"]]
        if chain != sorted(chain) or chain[0] <= 0:
            fail("%s %d: percentiles not ordered: %r" % (name, size, chain))
        if r["samples"] < 100:
            fail("%s %d: only %d round trips" % (name, size, r["samples"]))
    else:
        if r["p50_ns"] is not None:
            fail("%s %d throughput: has percentiles" % (name, size))
    if r["class"] == "library" and r["raw"]:
        twin = recs.get((r["raw"], size, kind))
        if twin and twin["status"] == "ok" and r["ratio_raw"] is None:
            fail("%s %d %s: no ratio to its raw twin %s" % (name, size, kind, r["raw"]))
    if name != "limit" and recs.get(("limit", size, kind), {}).get("status") == "ok" \
            and r["ratio_limit"] is None:
        fail("%s %d %s: no ratio to the limit" % (name, size, kind))

# ---- --csv and --same-cpu, a small run
p = run(["--same-cpu", "--only", "limit,pipe,shm-queue", "--sizes", "64", "--time", "0.005",
         "--csv"])
if p.returncode != 0:
    fail("--same-cpu --csv: exit %d: %s" % (p.returncode, p.stderr))
else:
    lines = p.stdout.strip().splitlines()
    if not lines[0].startswith("mechanism,size,kind,status,p50_ns"):
        fail("--csv header: %r" % lines[0])
    if len(lines) != 1 + 6:
        fail("--csv: %d records, want 6: %r" % (len(lines) - 1, lines))
    for line in lines[1:]:
        if ",ok," not in line:
            fail("--csv --same-cpu: %r" % line)

# ---- usage errors: exit 2, one message naming the problem, nothing run
cpus = os.sched_getaffinity(0)
bad_cpu = max(cpus) + 1
usage = [
    (["--only", "nosuch"], r"unknown mechanism 'nosuch'"),
    (["--only", "limit,nosuch"], r"unknown mechanism 'nosuch'"),
    (["--sizes", "0"], r"bad size '0'"),
    (["--sizes", "64,0"], r"bad size '0'"),
    (["--sizes", "abc"], r"bad size 'abc'"),
    (["--cpus", "0,%d" % bad_cpu], r"CPU %d does not exist" % bad_cpu),
    (["--cpus", "%d,0" % bad_cpu], r"CPU %d does not exist" % bad_cpu),
    (["--cpus", "zero"], r"bad --cpus 'zero'"),
    (["--plot", "out.txt"], r"bad --plot 'out.txt'"),
    (["--time", "0"], r"bad --time '0'"),
    (["--bogus"], r"unknown option '--bogus'"),
    (["extra"], r"unexpected operand 'extra'"),
]
for args, pattern in usage:
    p = run(args)
    if p.returncode != 2:
        fail("%s: exit %d, want 2" % (args, p.returncode))
    if not re.search(r"^ipckit bench: .*" + pattern, p.stderr):
        fail("%s: message %r does not match %r" % (args, p.stderr, pattern))
    if p.stdout:
        fail("%s: printed on stdout: %r" % (args, p.stdout[:100]))

# A --json path that cannot be written fails at once (exit 1), not after the run.
t0 = time.monotonic()
p = run(["--json", "/nonexistent-dir/bench.json"])
if p.returncode != 1 or "/nonexistent-dir/bench.json: No such file or directory" not in p.stderr:
    fail("--json to a missing directory: exit %d, %r" % (p.returncode, p.stderr))
if time.monotonic() - t0 > 5:
    fail("--json to a missing directory: ran the benchmark before failing")

p = run(["--help"])
if p.returncode != 0 or not p.stdout.startswith("Usage: ipckit bench"):
    fail("--help: exit %d %r" % (p.returncode, p.stdout[:80]))

if failures:
    print("%d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok: %d records, %d rows" % (len(recs), len(rows)))
