"""python3 -m ipckit.bench - what a message costs from Python.

Two processes pinned to two CPUs (the first two this process may use, or
--cpus A,B). For each mechanism and size: round-trip latency (p50, p99)
of a ping-pong, and one-way messages/s of a stream (lossless mechanisms;
a ring is a broadcast feed that never waits, so its one-way row is the
rate a subscriber took while counting what it lost). Rows:

  ring-spin     ipckit ring, subscriber busy-spinning (without the GIL)
  ring-sleep    ipckit ring, subscriber sleeping on the futex
  ring-batch    ipckit ring, publish_batch/recv_batch of 64 (one-way)
  unix          ipckit unix: channel
  mp-pipe       multiprocessing.Pipe (send_bytes/recv_bytes)
  mp-queue      multiprocessing.Queue
  sysv-ipc      sysv_ipc.MessageQueue (if installed)
  zmq-pair      pyzmq PAIR over ipc:// (if installed)
  C ring        `ipckit bench` rows shm-ring-spin and shm-ring (--cli PATH)

and three checks of the issue's targets: ring p50 against mp-pipe p50,
a Python subscriber taking 64-byte messages in batches from a C publisher,
and view() against recv() for 1 MiB.

The C publisher is ring_feed (python/tools/ring_feed.c, built next to the
package in a meson build directory; --feeder PATH): batches of 32
numbered messages through ipk_ring_publish_batch(), flat out and then
paced at 5 M msg/s. The subscriber takes recv_batch(256) (a bytes object
per message) and recv_batch_into(256) (one buffer and offsets), checks
that the numbers rise with every gap counted as lost, and that received
+ lost = published. Without ring_feed, `ipckit pub --rate 0` stands in
(it formats text per message: it measures itself, not the subscriber).
"""

import argparse
import array
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time

import ipckit

try:
    import sysv_ipc
except ImportError:
    sysv_ipc = None
try:
    import zmq
except ImportError:
    zmq = None

now = time.perf_counter_ns


def _msgmax():
    try:
        with open("/proc/sys/kernel/msgmax") as f:
            return int(f.read())
    except OSError:
        return 8192


SYSV_MSGMAX = _msgmax()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def pin(cpu):
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        pass


# ---- each mechanism: make(), then side(role) -> (send, recv, close) ----

class Ring:
    def __init__(self, tag, spin):
        self.a = "/ipk-pybench-%d-%s-a" % (os.getpid(), tag)
        self.b = "/ipk-pybench-%d-%s-b" % (os.getpid(), tag)
        self.spin = spin

    def side(self, role, ready):
        out, inp = (self.a, self.b) if role == 0 else (self.b, self.a)
        pub = ipckit.Publisher(out, capacity=1 << 22, max_msg=1 << 20)
        ready()
        sub = ipckit.Subscriber(inp, timeout=10, spin=self.spin)
        return pub.publish, sub.recv, lambda: (sub.close(), pub.close())


class Unix:
    def __init__(self, tag):
        self.url = "unix:@ipk-pybench-%d-%s?msgsize=1048576" % (os.getpid(), tag)

    def side(self, role, ready):
        if role == 0:
            lst = ipckit.Listener(self.url)
            ready()
            ch = lst.accept(10)
            lst.close()
        else:
            ready()
            ch = ipckit.Channel(self.url, timeout=10)
        return ch.send, ch.recv, ch.close


class MpPipe:
    def __init__(self, tag):
        self.ends = mp.Pipe()

    def side(self, role, ready):
        c = self.ends[role]
        ready()
        return c.send_bytes, c.recv_bytes, c.close


class MpQueue:
    def __init__(self, tag):
        self.q = (mp.Queue(), mp.Queue())

    def side(self, role, ready):
        out, inp = self.q[role], self.q[1 - role]
        ready()
        return out.put, inp.get, lambda: None


class SysvIpc:
    def __init__(self, tag):
        self.q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX, max_message_size=1 << 16)

    def side(self, role, ready):
        q = self.q
        mine, theirs = (1, 2) if role == 0 else (2, 1)
        ready()
        return (lambda m: q.send(m, True, theirs), lambda: q.receive(True, mine)[0],
                lambda: None)

    def cleanup(self):
        try:
            self.q.remove()
        except sysv_ipc.ExistentialError:
            pass


class ZmqPair:
    def __init__(self, tag):
        self.addr = "ipc:///tmp/ipk-pybench-%d-%s" % (os.getpid(), tag)

    def side(self, role, ready):
        ctx = zmq.Context()
        s = ctx.socket(zmq.PAIR)
        if role == 0:
            s.bind(self.addr)
        else:
            s.connect(self.addr)
        ready()
        return s.send, s.recv, lambda: (s.close(linger=0), ctx.term())


# ---- the two processes ----

def peer(mech, cpu, n_rtt, n_ow, size, ready_ev, go_ev, res_q):
    """Side 1: echo n_rtt pings, then take a stream of n_ow messages."""
    pin(cpu)
    send, recv, close = mech.side(1, ready_ev.set)
    res_q.put("subscribed")  # the parent's first ping must find us attached
    go_ev.wait()
    for _ in range(n_rtt):
        send(recv())
    t0 = None
    got = 0
    for _ in range(n_ow):
        recv()
        if t0 is None:
            t0 = now()
        got += 1
    dt = now() - t0 if t0 else 0
    send(b"done")
    res_q.put((got, dt))
    close()


def run(mech, cpus, n_rtt, n_ow, size):
    ready_ev, go_ev, res_q = mp.Event(), mp.Event(), mp.Queue()
    p = mp.Process(target=peer, args=(mech, cpus[1], n_rtt, n_ow, size, ready_ev, go_ev, res_q))
    p.start()
    pin(cpus[0])
    ready_ev.wait(10)
    send, recv, close = mech.side(0, lambda: None)
    assert res_q.get(timeout=30) == "subscribed"
    go_ev.set()
    msg = b"x" * size
    lat = []
    for _ in range(n_rtt):
        t = now()
        send(msg)
        recv()
        lat.append(now() - t)
    for _ in range(n_ow):
        send(msg)
    recv()  # "done"
    got, dt = res_q.get(timeout=60)
    p.join(10)
    close()
    if hasattr(mech, "cleanup"):
        mech.cleanup()
    warm = lat[len(lat) // 10:]  # the first tenth warms caches and wakes CPUs
    return {"p50_ns": pct(warm, 50), "p99_ns": pct(warm, 99),
            "msgs_per_s": got * 1e9 / dt if dt else None}


def ring_stream(cpus, n, size, batch):
    """One-way from a Python publisher to a Python subscriber over the
    ring; the subscriber counts what it took and what it lost."""
    name = "/ipk-pybench-%d-stream" % os.getpid()
    ready, res = mp.Event(), mp.Queue()

    def sub_side():
        pin(cpus[1])
        s = ipckit.Subscriber(name, timeout=10)
        ready.set()
        got, t0 = 0, None
        try:
            while True:
                got += len(s.recv_batch(batch))
                if t0 is None:
                    t0 = now()
        except BrokenPipeError:
            pass
        res.put((got, now() - t0, s.lost))

    pub = ipckit.Publisher(name, capacity=1 << 24)
    p = mp.Process(target=sub_side)
    p.start()
    pin(cpus[0])
    ready.wait(10)
    msgs = [b"x" * size] * batch
    for _ in range(n // batch):
        pub.publish_batch(msgs)
    pub.close()
    got, dt, lost = res.get(timeout=60)
    p.join(10)
    return {"msgs_per_s": got * 1e9 / dt if dt else None, "lost": lost, "received": got}


def c_publisher_to_python(cli, cpus, n):
    """The C publisher (`ipckit pub --rate 0 --size 64`) into a Python
    subscriber taking batches of 256."""
    name = "/ipk-pybench-%d-cpub" % os.getpid()
    p = subprocess.Popen(["taskset", "-c", str(cpus[1]), cli, "pub", "shm:%s?capacity=16777216"
                          % name, "--rate", "0", "--size", "64", "--count", str(n),
                          "--wait-subscribers", "1", "--linger", "0"],
                         stderr=subprocess.DEVNULL)
    pin(cpus[0])
    got = 0
    with ipckit.Subscriber(name, timeout=10, from_="oldest") as s:
        t0 = None
        try:
            while True:
                b = s.recv_batch(256, 10)
                if t0 is None:
                    t0 = now()
                got += len(b)
        except (BrokenPipeError, TimeoutError):
            pass
        dt = now() - t0
        lost = s.lost
    p.wait(30)
    return {"msgs_per_s": got * 1e9 / dt if dt else None, "received": got, "lost": lost}


def find_feeder():
    here = os.path.join(os.path.dirname(os.path.abspath(ipckit.__file__)), "ring_feed")
    for path in (here, os.environ.get("IPCKIT_RING_FEED")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def c_feed_to_python(feeder, cpus, n, how, rate=0, batch=256):
    """ring_feed publishing n numbered 64-byte messages in batches of 32
    (flat out, or at rate msg/s) into a Python subscriber taking batches
    of up to `batch`, with recv_batch ("list") or recv_batch_into
    ("into"). Order and loss are checked per batch: the first number of a
    batch is the one after the last batch's plus what the ring says was
    lost in between, and a batch has no gap inside."""
    name = "/ipk-pybench-%d-feed-%s" % (os.getpid(), how)
    args = [feeder, name, "--count", str(n), "--batch", "32", "--size", "64",
            "--rate", str(rate)]
    p = subprocess.Popen(args, stdout=subprocess.PIPE,
                         preexec_fn=lambda: pin(cpus[1]))
    pin(cpus[0])
    got = bad = 0
    nxt = 0  # the number expected next
    buf, off = bytearray(64 * batch), array.array("Q", [0]) * (batch + 1)
    seq = int.from_bytes
    try:
        with ipckit.Subscriber(name, timeout=10) as s:
            rb, ri = s.recv_batch, s.recv_batch_into
            t0 = t1 = None
            lost = 0
            try:
                while True:
                    if how == "into":
                        k = ri(buf, off, 10)
                        first = seq(buf[off[0]:off[0] + 8], "little")
                        last = seq(buf[off[k - 1]:off[k - 1] + 8], "little")
                    else:
                        b = rb(batch, 10)
                        k = len(b)
                        first, last = seq(b[0][:8], "little"), seq(b[-1][:8], "little")
                    t1, c1 = now(), time.thread_time_ns()
                    if t0 is None:
                        t0, c0 = t1, c1
                    now_lost = s.lost
                    if first != nxt + now_lost - lost or last != first + k - 1:
                        bad += 1
                    lost, nxt = now_lost, last + 1
                    got += k
            except (BrokenPipeError, TimeoutError):
                pass
            c = s.counts()
    finally:
        out = p.communicate(timeout=60)[0]
    res = json.loads(out) if p.returncode == 0 else {"published": None, "msgs_per_s": None}
    dt = (t1 - t0) if t0 is not None and t1 > t0 else 0
    cpu = (c1 - c0) if t0 is not None else 0
    return {"how": how, "rate": rate, "received": got, "lost": c["lost"],
            # CPU time of the subscriber per message taken: what a message
            # costs it, whatever else ran on its CPU meanwhile
            "cpu_ns_per_msg": cpu / got if got > 1 and cpu else None,
            "published": res["published"], "feeder_msgs_per_s": res["msgs_per_s"],
            "msgs_per_s": got * 1e9 / dt if dt else None,
            "counts_agree": res["published"] == c["delivered"] + c["lost"] == got + c["lost"],
            "order_errors": bad}


def view_vs_recv(n):
    """1 MiB messages: view() and validate, against recv() copies."""
    name = "/ipk-pybench-%d-view" % os.getpid()
    size = 1 << 20
    out = {}
    with ipckit.Publisher(name, capacity=1 << 23, max_msg=size) as pub, \
            ipckit.Subscriber(name) as sub:
        msg = b"v" * size
        for how in ("recv", "view"):
            spent = 0
            for _ in range(n):
                pub.publish(msg)
                t = now()
                if how == "recv":
                    m = sub.recv(0)
                    m[-1]
                else:
                    with sub.view(0) as mv:
                        mv[-1]
                spent += now() - t
            out[how + "_per_s"] = n * 1e9 / spent
    out["ratio"] = out["view_per_s"] / out["recv_per_s"]
    return out


def c_rows(cli, sizes, quick):
    args = [cli, "bench", "--only", "shm-ring-spin,shm-ring", "--sizes",
            ",".join(map(str, sizes)), "--json", "-"]
    if quick:
        args.append("--quick")
    try:
        doc = json.loads(subprocess.run(args, capture_output=True, timeout=120,
                                        check=True).stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        return {"error": str(e)}
    return {(r["mechanism"], r["size"]): r for r in doc["results"] if r["kind"] == "rtt"}


def fmt_ns(v):
    if v is None or v != v:
        return "-"
    return "%.1f us" % (v / 1000) if v >= 1000 else "%d ns" % v


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m ipckit.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,65536", help="message sizes (default 64,65536)")
    ap.add_argument("--count", type=int, default=20000, help="round trips per row")
    ap.add_argument("--cpus", help="A,B (default: the first two usable)")
    ap.add_argument("--cli", default=shutil.which("ipckit") or os.environ.get("IPCKIT_CLI"),
                    help="the ipckit CLI, for the C rows and the C publisher")
    ap.add_argument("--feeder", default=find_feeder(),
                    help="ring_feed, the C publisher of the c-pub checks (default: next to "
                    "the package, or $IPCKIT_RING_FEED)")
    ap.add_argument("--only", help="rows to run, comma-separated")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args(argv)
    mp.set_start_method("fork", force=True)
    cpus = sorted(os.sched_getaffinity(0))
    if a.cpus:
        cpus = [int(c) for c in a.cpus.split(",")]
    if len(cpus) < 2:
        cpus = cpus * 2
    sizes = [int(s) for s in a.sizes.split(",")]
    only = set(a.only.split(",")) if a.only else None
    quick = a.count < 1000

    mechs = [("ring-spin", lambda t: Ring(t, True)), ("ring-sleep", lambda t: Ring(t, False)),
             ("unix", Unix), ("mp-pipe", MpPipe), ("mp-queue", MpQueue)]
    if sysv_ipc:
        mechs.append(("sysv-ipc", SysvIpc))
    if zmq:
        mechs.append(("zmq-pair", ZmqPair))
    rows = []
    for size in sizes:
        for mname, make in mechs:
            if only and mname not in only:
                continue
            if mname == "sysv-ipc" and size > SYSV_MSGMAX:
                rows.append(dict(mechanism=mname, size=size, p50_ns=None, p99_ns=None,
                                 msgs_per_s=None, note="over kernel.msgmax"))
                continue
            n = a.count if size <= 4096 else max(a.count // 10, 10)
            # a ring never waits for its subscriber: its one-way row is
            # ring-batch, which counts what the subscriber lost
            n_ow = 0 if mname.startswith("ring") else n
            r = run(make("%s-%d" % (mname, size)), cpus, n, n_ow, size)
            rows.append(dict(r, mechanism=mname, size=size))
        if not only or "ring-batch" in only:
            r = ring_stream(cpus, a.count * 10 if size <= 4096 else a.count, size, 64)
            rows.append(dict(r, mechanism="ring-batch", size=size, p50_ns=None, p99_ns=None))
    c = c_rows(a.cli, sizes, quick) if a.cli and (not only or "c" in only) else {}
    extra = {}
    if a.feeder and (not only or "c-pub" in only):
        n = a.count * 100
        extra["c_publisher_to_python_batches_64B"] = c_feed_to_python(a.feeder, cpus, n, "list")
        extra["c_publisher_to_python_batch_into_64B"] = c_feed_to_python(
            a.feeder, cpus, n, "into")
        extra["c_publisher_5M_to_python_batches_64B"] = c_feed_to_python(
            a.feeder, cpus, n, "list", rate=5000000)
    elif a.cli and (not only or "c-pub" in only):
        extra["c_publisher_to_python_batches_64B"] = c_publisher_to_python(
            a.cli, cpus, a.count * 100)
    if not only or "view" in only:
        extra["view_vs_recv_1MiB"] = view_vs_recv(max(a.count // 100, 5))

    if a.json:
        print(json.dumps({"cpus": cpus[:2], "rows": rows, "c_ring": {
            "%s/%d" % k: v for k, v in c.items()} if "error" not in c else c, "checks": extra},
            indent=1))
        return 0
    print("python3 -m ipckit.bench: CPUs %d,%d, %s" % (cpus[0], cpus[1], sys.version.split()[0]))
    print("%-12s %7s %10s %10s %12s" % ("mechanism", "size", "rtt p50", "rtt p99", "one-way/s"))
    for r in rows:
        ow = r.get("msgs_per_s")
        print("%-12s %7d %10s %10s %12s%s" % (
            r["mechanism"], r["size"], fmt_ns(r.get("p50_ns")), fmt_ns(r.get("p99_ns")),
            "%.0f" % ow if ow else "-",
            "  (lost %d)" % r["lost"] if "lost" in r else "  (" + r["note"] + ")"
            if "note" in r else ""))
    if "error" in c:
        print("C ring: %s" % c["error"])
    for (m, size), r in sorted(c.items()) if "error" not in c else ():
        print("%-12s %7d %10s %10s %12s" % ("C " + m, size, fmt_ns(r.get("p50_ns")),
                                            fmt_ns(r.get("p99_ns")), "-"))
    by = {(r["mechanism"], r["size"]): r for r in rows}
    for size in sizes:
        ring, pipe = by.get(("ring-spin", size)), by.get(("mp-pipe", size))
        if ring and pipe and ring["p50_ns"]:
            print("ring-spin p50 is %.1fx faster than multiprocessing.Pipe at %d B (target 10x)"
                  % (pipe["p50_ns"] / ring["p50_ns"], size))
    for key in ("c_publisher_to_python_batches_64B", "c_publisher_to_python_batch_into_64B",
                "c_publisher_5M_to_python_batches_64B"):
        cp = extra.get(key)
        if not cp:
            continue
        if "how" not in cp:  # ipckit pub standing in for ring_feed
            print("C publisher -> Python recv_batch, 64 B: %.2f M msg/s received (%d lost; "
                  "publisher `ipckit pub --rate 0`, not ring_feed: it is the limit; "
                  "target 5 M)" % ((cp["msgs_per_s"] or 0) / 1e6, cp["lost"]))
            continue
        print("C publisher -> Python %s(256), 64 B, ring_feed %s: %.2f M msg/s received "
              "(%.0f ns CPU each), %d lost of %s published (ring_feed %.2f M msg/s); "
              "delivered + lost = published: %s; order errors: %d; target 5 M" % (
                  "recv_batch_into" if cp["how"] == "into" else "recv_batch",
                  "at %.0f M msg/s" % (cp["rate"] / 1e6) if cp["rate"] else "flat out",
                  (cp["msgs_per_s"] or 0) / 1e6, cp["cpu_ns_per_msg"] or 0, cp["lost"],
                  cp["published"],
                  (cp["feeder_msgs_per_s"] or 0) / 1e6,
                  "yes" if cp["counts_agree"] else "NO", cp["order_errors"]))
    v = extra.get("view_vs_recv_1MiB")
    if v:
        print("1 MiB: view() %.0f/s, recv() %.0f/s: view is %.1fx (target 5x)"
              % (v["view_per_s"], v["recv_per_s"], v["ratio"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
