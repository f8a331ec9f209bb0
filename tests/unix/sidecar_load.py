#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/sidecar under real load: examples/hot-upgrade serves HTTP/1.1
keep-alive on loopback TCP; wrk (-t2 -c64 --latency) runs 5 s straight to
it, then 10 s through the sidecar's loopback TCP side (wrk speaks only TCP).
Fails on any wrk socket error (connect, read, write, timeout), a non-2xx
answer or zero requests through the sidecar; on a connection the sidecar
still holds after wrk has gone; or on a sidecar that does not stop cleanly
on SIGTERM. Then wrk -t1 -c1 runs 2 s each way (the hops' own cost,
without 64 connections queueing on few CPUs), and one keep-alive client
makes 2000 requests one after the other over the sidecar's Unix socket,
and straight over TCP, for the latency an application on the Unix side
sees.

It prints the proxy's added latency (wrk's avg, p50, p99) and its
throughput against the direct run; docs/sidecar.md quotes it. The numbers
are reported, never asserted: the machine may be loaded.

  sidecar_load.py SIDECAR-EXE HOT-UPGRADE-EXE [ROUNDS [SECONDS]]
ROUNDS > 1 alternates direct and sidecar runs of SECONDS each (default 5)
and prints the median of each figure, for docs/sidecar.md; the test runs
one round. Exit 0 passes, 1 fails, 77 skips (no wrk). About 21 s.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TMO = 30.0
DIRECT_S = 5
SIDECAR_S = 10  # the 10 s under load
ONE_S = 2  # wrk -t1 -c1
PROBE_N = 2000
STARTED = []


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr, flush=True)
    stop_all()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def stop_all():
    for p in STARTED:
        if p.poll() is None:
            p.kill()
            p.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, what, timeout=TMO):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(0.02)


def to_ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    check(m, "wrk latency %r" % v)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def wrk(url, seconds, conns=64):
    """Run wrk; return its figures, parsed from its plain output."""
    r = subprocess.run(["wrk", "-t%d" % min(conns, 2), "-c%d" % conns, "-d%ds" % seconds,
                        "--timeout", "5s", "--latency", url],
                       capture_output=True, text=True, timeout=seconds + TMO)
    out = r.stdout
    check(r.returncode == 0, "wrk exit %d: %s %s" % (r.returncode, out, r.stderr))
    res = {"out": out}
    m = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    check(m, "no latency line in wrk output:\n" + out)
    res["avg"], res["max"] = to_ms(m.group(1)), to_ms(m.group(3))
    for pct in ("50", "99"):
        m = re.search(r"^\s*%s%%\s+(\S+)" % pct, out, re.M)
        check(m, "no %s%% line in wrk output:\n%s" % (pct, out))
        res["p" + pct] = to_ms(m.group(1))
    m = re.search(r"^\s*(\d+) requests in", out, re.M)
    check(m, "no request count in wrk output:\n" + out)
    res["requests"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    check(m, "no Requests/sec in wrk output:\n" + out)
    res["rps"] = float(m.group(1))
    m = re.search(r"Socket errors: (.*)", out)
    res["errors"] = m.group(1) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    return res


def probe(family, addr, n=PROBE_N):
    """n keep-alive requests, one at a time: per-request µs, p50 and p99."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(TMO)
    s.connect(addr)
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    lat = []
    buf = b""
    for _ in range(n):
        t0 = time.perf_counter_ns()
        s.sendall(req)
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                m = re.search(rb"Content-Length: (\d+)", buf[:end])
                check(m, "no Content-Length: %r" % buf[:200])
                total = end + 4 + int(m.group(1))
                if len(buf) >= total:
                    check(buf.startswith(b"HTTP/1.1 200"), "answer %r" % buf[:40])
                    buf = buf[total:]
                    break
            d = s.recv(65536)
            check(d, "the server closed a keep-alive connection")
            buf += d
        lat.append((time.perf_counter_ns() - t0) / 1000)
    s.close()
    lat.sort()
    return lat[len(lat) // 2], lat[len(lat) * 99 // 100]


def sockets(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    if len(sys.argv) not in (3, 4, 5):
        print("usage: sidecar_load.py SIDECAR-EXE HOT-UPGRADE-EXE [ROUNDS [SECONDS]]",
              file=sys.stderr)
        return 2
    if not shutil.which("wrk"):
        print("SKIP: wrk is not installed (Debian package wrk; scripts/install-deps)")
        return 77
    sc_exe, hu_exe = (os.path.abspath(a) for a in sys.argv[1:3])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    seconds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    tmp = tempfile.mkdtemp(prefix="ipk-sidecar-load-%d-" % os.getpid())
    try:
        return run(tmp, sc_exe, hu_exe, rounds, seconds)
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def median(runs, key):
    v = sorted(r[key] for r in runs)
    return v[len(v) // 2]


def run(tmp, sc_exe, hu_exe, rounds, seconds):
    port = free_port()
    pidfile = os.path.join(tmp, "hu.pid")
    hu_log = open(os.path.join(tmp, "hu.log"), "w")
    hu = subprocess.Popen([hu_exe, "--listen", "127.0.0.1:%d" % port, "--pidfile", pidfile],
                          stdout=hu_log, stderr=subprocess.STDOUT)
    STARTED.append(hu)

    def hu_ready():
        check(hu.poll() is None, "hot-upgrade exited %s" % hu.returncode)
        try:
            with open(pidfile) as f:
                return int(f.read()) == hu.pid
        except (OSError, ValueError):
            return False

    wait_until(hu_ready, "hot-upgrade to listen")

    path = os.path.join(tmp, "run", "sidecar.sock")
    sc_err = open(os.path.join(tmp, "sc.err"), "w")
    sc = subprocess.Popen([sc_exe, "--listen", path, "--dir-mode", "0700",
                           "--upstream", "tcp:127.0.0.1:%d" % port, "--tcp-listen", "0"],
                          stdout=subprocess.PIPE, stderr=sc_err, text=True)
    STARTED.append(sc)
    line = sc.stdout.readline()
    m = re.search(r"tcp:127\.0\.0\.1:(\d+)", line)
    check(line.startswith("sidecar: listening on unix:") and m, "sidecar: %r" % line)
    sc_port = int(m.group(1))
    idle_sockets = sockets(sc.pid)

    directs, proxieds = [], []
    for _ in range(rounds):
        directs.append(wrk("http://127.0.0.1:%d/" % port,
                           seconds if rounds > 1 else DIRECT_S))
        proxied = wrk("http://127.0.0.1:%d/" % sc_port, seconds if rounds > 1 else SIDECAR_S)
        check(proxied["errors"] is None, "wrk through the sidecar: socket errors: %s\n%s"
              % (proxied["errors"], proxied["out"]))
        check(proxied["non2xx"] == 0,
              "%d non-2xx answers through the sidecar" % proxied["non2xx"])
        check(proxied["requests"] > 0, "no request went through the sidecar")
        proxieds.append(proxied)
    direct = {k: median(directs, k) for k in ("requests", "rps", "avg", "p50", "p99")}
    proxied = {k: median(proxieds, k) for k in ("requests", "rps", "avg", "p50", "p99")}
    ratios = sorted(p["rps"] / d["rps"] for d, p in zip(directs, proxieds))
    # one connection, one request at a time: the cost of the extra hops
    # without the queueing of 64 connections on 2 CPUs
    one_d = wrk("http://127.0.0.1:%d/" % port, ONE_S, conns=1)
    one_p = wrk("http://127.0.0.1:%d/" % sc_port, ONE_S, conns=1)
    check(one_p["errors"] is None and one_p["requests"] > 0,
          "wrk -c1 through the sidecar: %s" % one_p["out"])
    # every connection wrk opened is closed again, both ends
    wait_until(lambda: sockets(sc.pid) == idle_sockets, "the sidecar to close wrk's connections")
    rss = rss_kib(sc.pid)

    p_direct = probe(socket.AF_INET, ("127.0.0.1", port))
    p_unix = probe(socket.AF_UNIX, path)

    sc.send_signal(signal.SIGTERM)
    try:
        rc = sc.wait(TMO)
    except subprocess.TimeoutExpired:
        fail("the sidecar ignored SIGTERM")
    summary = sc.stdout.read().strip()
    check(rc == 0, "sidecar exit %d" % rc)
    check(not os.path.exists(path), "socket file left behind")
    hu.send_signal(signal.SIGTERM)
    hu.wait(TMO)

    print("wrk -t2 -c64 --latency, HTTP/1.1 keep-alive, examples/hot-upgrade upstream%s"
          % (", median of %d alternating rounds" % rounds if rounds > 1 else ""))
    print("%-22s %9s %10s %9s %9s %9s" % ("", "requests", "req/s", "avg ms", "p50 ms",
                                          "p99 ms"))
    for name, r in (("direct (%d s)" % (seconds if rounds > 1 else DIRECT_S), direct),
                    ("via sidecar tcp (%d s)" % (seconds if rounds > 1 else SIDECAR_S),
                     proxied)):
        print("%-22s %9d %10.0f %9.3f %9.3f %9.3f" % (name, r["requests"], r["rps"],
                                                       r["avg"], r["p50"], r["p99"]))
    print("sidecar: throughput %.2fx direct; added latency avg %+.3f ms, p50 %+.3f ms, "
          "p99 %+.3f ms; socket errors: none; VmRSS after %d KiB"
          % (proxied["rps"] / direct["rps"], proxied["avg"] - direct["avg"],
             proxied["p50"] - direct["p50"], proxied["p99"] - direct["p99"], rss))
    if rounds > 1:
        print("throughput ratio per round: " + " ".join("%.2f" % r for r in ratios))
    print("wrk -t1 -c1 --latency (%d s each): one request at a time" % ONE_S)
    for name, r in (("direct", one_d), ("via sidecar tcp", one_p)):
        print("%-22s %9d %10.0f %9.3f %9.3f %9.3f" % (name, r["requests"], r["rps"],
                                                       r["avg"], r["p50"], r["p99"]))
    print("sidecar: added latency p50 %+.3f ms, throughput %.2fx direct"
          % (one_p["p50"] - one_d["p50"], one_p["rps"] / one_d["rps"]))
    for d in directs:
        if d["errors"]:
            print("(a direct run had socket errors: %s)" % d["errors"])
    print("one keep-alive client, %d requests one at a time (Python):" % PROBE_N)
    print("  direct tcp        p50 %7.1f us  p99 %7.1f us" % p_direct)
    print("  via sidecar unix  p50 %7.1f us  p99 %7.1f us  (added p50 %+.1f us)"
          % (p_unix[0], p_unix[1], p_unix[0] - p_direct[0]))
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
