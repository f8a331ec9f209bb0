#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/sidecar as a proxy a service could rely on, against a raw-byte
upstream that lives in this process (a thread per upstream connection):

  transparent  every byte value, 1 MiB each way, unchanged
  half-close   the client shuts down its writing and still gets the whole
               reply; the upstream saw EOF after exactly the bytes sent; and
               the other way round: the upstream ends its sending first and
               the client's later bytes still reach it
  concurrency  200 connections open at once (the proxy holds 400 sockets
               at the same time), each gets its own bytes back
  isolation    an upstream reset, an unreachable upstream and a client
               that resets mid-stream end only their own connection
  limits       --connect-timeout (an upstream that never answers the
               handshake), --idle-timeout, and --max-conns leaving a peer
               in the kernel's backlog until a connection closes
  backpressure a client that stops reading while the upstream pushes 200 MB:
               the upstream is held back and the proxy's VmRSS stays flat
  signals      SIGPIPE is ignored; SIGTERM and SIGINT stop it with exit 0,
               a summary, and the socket file removed

  sidecar.py SIDECAR-EXE           the above
  sidecar.py SIDECAR-EXE nobody    the second-uid checks (root and setpriv):
               the file system keeps nobody out of a 0700 directory (EACCES),
               the credential check refuses it from an open socket (logged),
               --allow-uid and --allow-gid let it in

Exit 0 passes, 1 fails, 77 skips.
"""
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

EXE = None
TMO = 20.0  # generous: the machine may be loaded, and ASan is slow
MIB = 1 << 20
STARTED = []  # the sidecars this test started: stopped exactly


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr, flush=True)
    for p in STARTED:
        if p.poll() is None:
            p.kill()
            p.wait()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


# ---- the upstream: a raw byte service, one thread per connection ----------
# The first 4 bytes choose what it does:
#   ECHO            echo every byte; at EOF send "EOF <n>\n" and close
#   SRCE TOKEN SIZE send SIZE bytes, shutdown(SHUT_WR), count what arrives
#                   until EOF, then close (TOKEN: 8 bytes naming the run)
#   RSET            close with a reset (SO_LINGER 0)
PATTERN = os.urandom(MIB)
sent = {}      # TOKEN -> bytes an SRCE connection has sent so far
received = {}  # TOKEN -> bytes it received after its own EOF


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError
        buf += d
    return buf


def serve(s):
    try:
        cmd = recv_exact(s, 4)
        if cmd == b"ECHO":
            n = 0
            while True:
                d = s.recv(65536)
                if not d:
                    break
                s.sendall(d)
                n += len(d)
            s.sendall(b"EOF %d\n" % n)
        elif cmd == b"SRCE":
            token = recv_exact(s, 8)
            size = int.from_bytes(recv_exact(s, 8), "little")
            sent[token] = 0
            view = memoryview(PATTERN)
            while sent[token] < size:
                # small sends: a blocking Unix send returns only once
                # all of it is queued, and the count is what we watch
                pos = sent[token] % MIB
                k = s.send(view[pos:pos + min(65536, size - sent[token], MIB - pos)])
                sent[token] += k
            s.shutdown(socket.SHUT_WR)
            n = 0
            while True:
                d = s.recv(65536)
                if not d:
                    break
                n += len(d)
            received[token] = n
        elif cmd == b"RSET":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    except (OSError, EOFError):
        pass
    finally:
        s.close()


def upstream(path):
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(1024)

    def run():
        while True:
            s, _ = ls.accept()
            threading.Thread(target=serve, args=(s,), daemon=True).start()

    threading.Thread(target=run, daemon=True).start()
    return ls


# ---- the sidecar under test -------------------------------------------------
class Sidecar:
    def __init__(self, tmp, name, *args, nofile=None):
        self.path = os.path.join(tmp, name, "sc.sock")
        self.err = os.path.join(tmp, name + ".err")
        if "--dir-mode" not in args:
            args += ("--dir-mode", "0700")
        limit = None
        if nofile:  # RLIMIT_NOFILE of the proxy: to run it out of descriptors
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        with open(self.err, "w") as err:
            self.p = subprocess.Popen([EXE, "--listen", self.path] + list(args),
                                      stdout=subprocess.PIPE, stderr=err, text=True,
                                      preexec_fn=limit)
        STARTED.append(self.p)
        line = self.p.stdout.readline()  # printed once it accepts
        check(line.startswith("sidecar: listening on unix:" + self.path),
              "%s did not start: %r %s" % (name, line, self.log()))

    def log(self):
        with open(self.err) as f:
            return f.read()

    def rss_kib(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        fail("no VmRSS")

    def sockets(self):
        n = 0
        for fd in os.listdir("/proc/%d/fd" % self.p.pid):
            try:
                n += os.readlink("/proc/%d/fd/%s" % (self.p.pid, fd)).startswith("socket:")
            except OSError:
                pass
        return n

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(TMO)
        except subprocess.TimeoutExpired:
            fail("sidecar ignored signal %d" % sig)
        out = self.p.stdout.read()
        check(rc == 0, "sidecar exit %d after signal %d: %s" % (rc, sig, self.log()))
        check("sidecar: stopped:" in out, "no summary: %r" % out)
        check(not os.path.exists(self.path), "socket file left behind: " + self.path)
        return out


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TMO)
    s.connect(path)
    return s


def recv_all(s):
    chunks = []
    while True:
        d = s.recv(MIB)
        if not d:
            return b"".join(chunks)
        chunks.append(d)


def exchange(path, data):
    """ECHO data: send it from a thread (the reply flows meanwhile), shut
    down writing, return everything received until EOF."""
    s = connect(path)

    def send():
        s.sendall(b"ECHO" + data)
        s.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=send)
    t.start()
    got = recv_all(s)
    t.join()
    s.close()
    return got


def refused(path):
    """Is a connection closed before anything comes back?"""
    s = connect(path)
    try:
        s.sendall(b"ECHOme")
        s.shutdown(socket.SHUT_WR)
        return s.recv(4096) == b""
    except OSError:  # reset, or a broken pipe
        return True
    finally:
        s.close()


def wait_until(cond, what, timeout=TMO):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(0.01)


# ---- the checks -------------------------------------------------------------
def transparent_and_half_close(sc):
    data = bytes(range(256)) * 4096 + os.urandom(MIB)
    got = exchange(sc.path, data)
    check(got == data + b"EOF %d\n" % len(data),
          "echo through the proxy: got %d bytes, want %d + trailer" % (len(got), len(data)))
    print("transparent, half-close: %d bytes each way, reply after SHUT_WR" % len(data))

    # the upstream ends first: the client sees EOF, its later bytes still go up
    s = connect(sc.path)
    s.sendall(b"SRCE" + b"halfclos" + (100000).to_bytes(8, "little"))
    got = recv_all(s)
    check(len(got) == 100000 and got == PATTERN[:100000],
          "upstream's bytes before its EOF: %d" % len(got))
    s.sendall(b"x" * 5000)
    s.shutdown(socket.SHUT_WR)
    wait_until(lambda: b"halfclos" in received, "the upstream to see the client's EOF")
    check(received[b"halfclos"] == 5000,
          "after its own EOF the upstream got %d bytes, want 5000" % received[b"halfclos"])
    check(s.recv(1) == b"", "the proxy did not close once both sides ended")
    s.close()
    print("half-close the other way: upstream EOF first, 5000 bytes still delivered")


def concurrent(sc, n=200, size=32768):
    base = sc.sockets()
    socks = [connect(sc.path) for _ in range(n)]
    # every connection is open at once: the proxy holds both ends of each
    wait_until(lambda: sc.sockets() >= base + 2 * n, "%d connections at once" % n)
    peak = sc.sockets() - base
    datas = [os.urandom(size) for _ in range(n)]
    results = [None] * n

    def run(i):
        s = socks[i]
        try:
            s.sendall(b"ECHO" + datas[i])  # fits in the socket buffers
            s.shutdown(socket.SHUT_WR)
            results[i] = recv_all(s)
        except OSError as e:
            results[i] = repr(e).encode()
        s.close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    bad = [i for i in range(n) if results[i] != datas[i] + b"EOF %d\n" % size]
    check(not bad, "%d of %d connections got wrong bytes (first: #%d, %r...)" %
          (len(bad), n, bad[0] if bad else 0, results[bad[0]][:40] if bad else b""))
    wait_until(lambda: sc.sockets() == base, "the proxy to close all %d connections" % n)
    print("concurrency: %d connections open at once (%d proxy sockets), all bytes right"
          % (n, peak))


def isolation(sc, tmp):
    # a long-lived connection that must survive the others' trouble
    keep = connect(sc.path)
    keep.sendall(b"ECHOfirst")
    check(recv_exact(keep, 5) == b"first", "keep-alive echo")

    s = connect(sc.path)  # the upstream resets
    s.sendall(b"RSET")
    try:
        check(s.recv(1) == b"", "an upstream reset did not end its connection")
    except ConnectionResetError:
        pass
    s.close()

    s = connect(sc.path)  # the client resets while the upstream streams
    s.sendall(b"SRCE" + b"resetcli" + (64 * MIB).to_bytes(8, "little"))
    recv_exact(s, 65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    s.close()

    dead = Sidecar(tmp, "dead", "--upstream", "unix:" + os.path.join(tmp, "nobody-here.sock"))
    s = connect(dead.path)  # nobody upstream: the client sees the end at once
    try:
        check(s.recv(1) == b"", "a connection to a missing upstream stayed open")
    except ConnectionResetError:
        pass
    s.close()
    wait_until(lambda: "upstream" in dead.log(), "the proxy to log the missing upstream")
    dead.stop()

    keep.sendall(b"second")
    check(recv_exact(keep, 6) == b"second", "the keep-alive connection broke")
    keep.shutdown(socket.SHUT_WR)
    check(recv_all(keep) == b"EOF 11\n", "keep-alive trailer")
    keep.close()
    check(sc.alive(), "the proxy died: " + sc.log())
    print("isolation: upstream reset, client reset, missing upstream: others unaffected")


def timeouts_and_limit(tmp):
    """--connect-timeout, --idle-timeout and --max-conns, side by side."""
    # a TCP upstream that never completes a handshake: its accept queue
    # (backlog 0) holds one connection, so the kernel drops further SYNs
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    filler = socket.socket()
    filler.setblocking(False)
    filler.connect_ex(blackhole.getsockname())
    # an --idle-timeout shorter than the connect timeout does not cut a
    # connect short: a connecting connection is not idle
    slow = Sidecar(tmp, "slowup", "--upstream", "tcp:127.0.0.1:%d" % blackhole.getsockname()[1],
                   "--connect-timeout", "2", "--idle-timeout", "1")
    lim = Sidecar(tmp, "limit", "--upstream", "unix:" + os.path.join(tmp, "up.sock"),
                  "--max-conns", "1", "--idle-timeout", "1")
    idle_sockets = lim.sockets()
    t0 = time.monotonic()
    a = connect(slow.path)
    a.sendall(b"ECHOwaiting")
    b1 = connect(lim.path)
    b1.sendall(b"ECHOx")
    check(recv_exact(b1, 1) == b"x", "first connection under --max-conns 1")
    b2 = connect(lim.path)  # the kernel's backlog takes it; the proxy does not
    b2.sendall(b"ECHOy")
    time.sleep(0.2)
    check(lim.sockets() == idle_sockets + 2,
          "--max-conns 1: the proxy holds %d sockets" % (lim.sockets() - idle_sockets))
    try:
        check(a.recv(1) == b"", "a connection to a silent upstream stayed open")
    except ConnectionResetError:
        pass
    waited = time.monotonic() - t0
    check(waited > 1.9, "connect timeout after %.2f s, want 2 s" % waited)
    wait_until(lambda: "upstream connect: Connection timed out" in slow.log(),
               "the connect timeout in the log")
    check(b1.recv(1) == b"", "the idle connection was not closed")
    check(recv_exact(b2, 1) == b"y", "the queued connection after the idle one closed")
    b2.shutdown(socket.SHUT_WR)
    check(recv_all(b2) == b"EOF 1\n", "queued connection trailer")
    for s in (a, b1, b2, filler, blackhole):
        s.close()
    slow.stop()
    lim.stop()
    print("limits: connect timeout after %.1f s, idle connection closed, "
          "--max-conns 1 queued the second until then" % waited)


def out_of_descriptors(tmp):
    """At its descriptor limit the proxy leaves waiting peers in the
    kernel's backlog, failing at most the one it accepted when it ran out,
    and says so once, not at every retry."""
    base = Sidecar(tmp, "fdbase", "--upstream", "unix:" + os.path.join(tmp, "up.sock"))
    n = len(os.listdir("/proc/%d/fd" % base.p.pid))
    base.stop()
    # two descriptors per connection: room for two, and one left over
    sc = Sidecar(tmp, "nofd", "--upstream", "unix:" + os.path.join(tmp, "up.sock"),
                 nofile=n + 5)
    peers, served, dropped = [], 0, 0
    for i in range(8):
        s = connect(sc.path)
        s.settimeout(0.3)
        peers.append(s)
        try:
            s.sendall(b"ECHOz")
            if s.recv(1) == b"z":
                served += 1
            else:
                dropped += 1
        except socket.timeout:
            pass  # queued in the backlog: what we want
        except OSError:
            dropped += 1
    check(served == 2, "out of descriptors: %d served, want 2" % served)
    check(dropped <= 1, "out of descriptors: %d peers dropped, want at most 1" % dropped)
    time.sleep(0.6)  # two sweeps
    lines = sc.log().count("Too many open files")
    check(lines <= 2, "out of descriptors: %d lines of errors in 0.6 s" % lines)
    for s in peers:
        s.close()
    sc.stop()
    print("out of descriptors: 2 served, %d dropped, the other %d queued; %d error lines"
          % (dropped, 8 - 2 - dropped, lines))


def backpressure(sc, size=200 * MIB):
    token = b"bigslow!"
    base = sc.rss_kib()
    s = connect(sc.path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"SRCE" + token + size.to_bytes(8, "little"))
    # a reader that stops: the upstream fills the proxy's buffer and the
    # kernel's, then must wait
    wait_until(lambda: sent.get(token, 0) > 0, "the upstream to start")
    time.sleep(0.5)  # time in which an unbounded proxy would take hundreds of MB
    held = sent[token]
    peak = sc.rss_kib()
    check(held < 32 * MIB, "the upstream pushed %d MB into a stalled reader" % (held // MIB))
    # then read it all, slowly at first, watching the proxy's memory
    buf = bytearray(MIB)
    got = 0
    last = 0
    while True:
        n = s.recv_into(buf)
        if n == 0:
            break
        got += n
        if got - last >= 16 * MIB:
            last = got
            peak = max(peak, sc.rss_kib())
            if got < 64 * MIB:
                time.sleep(0.02)
    s.close()
    check(got == size, "read %d bytes, want %d" % (got, size))
    grew = peak - base
    # two 64 KiB buffers per connection; without backpressure this is ~200 MB
    check(grew < 24 * 1024, "proxy VmRSS grew %d KiB while moving 200 MB" % grew)
    print("backpressure: stalled reader held the upstream at %.1f MB; 200 MB moved, "
          "proxy VmRSS %d -> peak %d KiB (+%d)" % (held / MIB, base, peak, grew))


def signals(sc, tmp):
    os.kill(sc.p.pid, signal.SIGPIPE)
    check(exchange(sc.path, b"still") == b"stillEOF 5\n", "after SIGPIPE")
    check(sc.alive(), "SIGPIPE killed the proxy")
    out = sc.stop(signal.SIGTERM)
    print("SIGPIPE ignored; SIGTERM: " + out.strip())
    other = Sidecar(tmp, "int", "--upstream", "unix:" + os.path.join(tmp, "up.sock"))
    other.stop(signal.SIGINT)
    print("SIGINT: exit 0, socket file removed")


def main_checks(tmp):
    upstream(os.path.join(tmp, "up.sock"))
    sc = Sidecar(tmp, "run", "--upstream", "unix:" + os.path.join(tmp, "up.sock"),
                 "--dir-mode", "0700")
    check(os.stat(os.path.dirname(sc.path)).st_mode & 0o7777 == 0o700, "directory mode")
    check(os.stat(sc.path).st_mode & 0o7777 == 0o600, "socket mode")
    transparent_and_half_close(sc)
    concurrent(sc)
    isolation(sc, tmp)
    timeouts_and_limit(tmp)
    out_of_descriptors(tmp)
    backpressure(sc)
    signals(sc, tmp)
    return 0


# ---- the second uid ---------------------------------------------------------
NOBODY_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("EACCES"); sys.exit(0)
try:
    s.sendall(b"ECHOhi"); s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = s.recv(4096)
        if not d: break
        got += d
except (ConnectionResetError, BrokenPipeError):
    print("closed"); sys.exit(0)
print(repr(got))
"""


def as_nobody(path):
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "/usr/bin/python3", "-c", NOBODY_CLIENT, path],
                       capture_output=True, text=True, timeout=TMO)
    check(r.returncode == 0, "client as nobody: %s" % r.stderr)
    return r.stdout.strip()


def nobody_checks(tmp):
    if os.geteuid() != 0:
        print("SKIP: the second-uid checks need root (setpriv to uid 65534)")
        return 77
    try:
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "/usr/bin/python3", "-c", "pass"], capture_output=True, timeout=TMO)
    except FileNotFoundError:
        r = None
    if r is None or r.returncode != 0:
        print("SKIP: cannot run /usr/bin/python3 as uid 65534 with setpriv")
        return 77
    os.chmod(tmp, 0o755)
    up = "unix:" + os.path.join(tmp, "up.sock")
    upstream(os.path.join(tmp, "up.sock"))
    os.chmod(os.path.join(tmp, "up.sock"), 0o600)  # only the proxy reaches it

    closed = Sidecar(tmp, "closed", "--upstream", up, "--dir-mode", "0700")
    check(as_nobody(closed.path) == "EACCES", "nobody reached a socket in a 0700 directory")
    check("refused" not in closed.log(), "the proxy saw nobody despite the directory")
    closed.stop()
    print("nobody: EACCES at connect in a 0700 directory")

    opened = Sidecar(tmp, "open", "--upstream", up, "--dir-mode", "0755", "--mode", "0666")
    check(os.stat(opened.path).st_mode & 0o7777 == 0o666, "socket mode 0666")
    got = as_nobody(opened.path)
    check(got in ("b''", "closed"),
          "nobody got through an own-uid-only proxy: %s" % got)
    wait_until(lambda: "refused uid 65534 gid 65534 pid" in opened.log(), "the refusal log")
    check(exchange(opened.path, b"me") == b"meEOF 2\n", "own uid after a refusal")
    opened.stop()
    print("nobody: refused by credentials on an open socket (logged)")

    for opt, val in (("--allow-uid", "65534"), ("--allow-gid", "65534")):
        s = Sidecar(tmp, "allow" + opt[8:], "--upstream", up, "--dir-mode", "0755",
                    "--mode", "0666", opt, val)
        got = as_nobody(s.path)
        check(got == repr(b"hiEOF 2\n"), "nobody with %s %s got %s" % (opt, val, got))
        if opt == "--allow-gid" and 65534 not in os.getgroups() and os.getegid() != 65534:
            check(refused(s.path), "root got through --allow-gid 65534")
        s.stop()
        print("nobody: admitted with %s %s" % (opt, val))
    return 0


def main():
    global EXE
    if len(sys.argv) < 2:
        print("usage: sidecar.py SIDECAR-EXE [nobody]", file=sys.stderr)
        return 2
    EXE = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="ipk-sidecar-%d-" % os.getpid()) as tmp:
        try:
            if sys.argv[2:] == ["nobody"]:
                return nobody_checks(tmp)
            return main_checks(tmp)
        except (OSError, EOFError) as e:  # a timeout among them: the proxy hung
            traceback.print_exc()
            fail("%s: %s" % (type(e).__name__, e))
        finally:
            for p in STARTED:
                if p.poll() is None:
                    p.kill()
                    p.wait()


if __name__ == "__main__":
    sys.exit(main())
