"""ring_feed (python/tools/ring_feed.c), the C publisher of the benchmark,
against a Python subscriber taking batches: what the feeder says it
published is what the subscriber received plus what it lost, message by
message (each payload carries its sequence number). Tiny counts."""

import array
import json
import os
import signal
import subprocess

import pytest

import ipckit


@pytest.fixture
def feeder():
    path = os.environ.get("IPCKIT_RING_FEED")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("no ring_feed (IPCKIT_RING_FEED is set by the meson test)")
    return path


@pytest.fixture
def name(request):
    n = "/ipk-pyfeed-%d-%s" % (os.getpid(), request.node.name)
    yield n
    for suffix in ("", "-bell"):
        try:
            os.unlink("/dev/shm" + n + suffix)
        except OSError:
            pass


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


def start(procs, feeder, name, *args):
    p = subprocess.Popen([feeder, name, *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    procs.append(p)
    return p


def finish(p):
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err.decode()
    return json.loads(out)


class Taker:
    """Receives batches until the publisher closes, checking each payload:
    sequence numbers rise, and every gap is matched by the ring's loss
    count growing by exactly as much."""

    def __init__(self, sub, size=64, into=False):
        self.sub, self.size, self.into = sub, size, into
        self.got = 0
        self.next = 0  # the sequence number expected next
        self.gaps = 0

    def recv(self, n, timeout):
        if not self.into:
            return self.sub.recv_batch(n, timeout)
        buf, off = bytearray(n * self.size), array.array("Q", [0]) * (n + 1)
        k = self.sub.recv_batch_into(buf, off, timeout)
        assert off[0] == 0 and off[k] == k * self.size
        return [bytes(buf[off[i]:off[i + 1]]) for i in range(k)]

    def batch(self, n=256, timeout=10):
        lost0 = self.sub.lost
        msgs = self.recv(n, timeout)
        gaps = 0
        for m in msgs:
            assert len(m) == self.size
            seq = int.from_bytes(m[:8], "little")
            assert seq >= self.next, (seq, self.next)
            assert m[8:] == bytes([seq & 0xFF]) * (self.size - 8), seq
            gaps += seq - self.next
            self.next = seq + 1
        assert gaps == self.sub.lost - lost0, (gaps, self.sub.lost, lost0)
        self.got += len(msgs)
        self.gaps += gaps
        return len(msgs)

    def drain(self):
        with pytest.raises(BrokenPipeError):
            while True:
                self.batch()


def subscribe(name):
    return ipckit.Subscriber(name, timeout=10)


@pytest.mark.parametrize("into", [False, True], ids=["recv_batch", "recv_batch_into"])
def test_counts_agree(feeder, name, procs, into):
    p = start(procs, feeder, name, "--count", 5000, "--batch", 32)
    with subscribe(name) as sub:
        t = Taker(sub, into=into)
        t.drain()
        res = finish(p)
        c = sub.counts()
    assert res["published"] == res["count"] == 5000
    assert res["stopped"] is False
    # 5000 x 64 B fit the 16 MiB ring many times over: nothing to lose
    assert (t.got, c["lost"]) == (5000, 0)
    assert t.next == res["published"]
    assert c["delivered"] + c["lost"] == res["published"]
    assert not os.path.exists("/dev/shm" + name)  # the feeder removed its ring


@pytest.mark.parametrize("into", [False, True], ids=["recv_batch", "recv_batch_into"])
def test_loss_is_counted(feeder, name, procs, into):
    """A 4 KiB ring that the feeder laps while the subscriber does not read:
    the subscriber loses most, and delivered + lost is still published."""
    p = start(procs, feeder, name, "--count", 20000, "--batch", 32, "--capacity", 4096)
    with subscribe(name) as sub:
        res = finish(p)  # all published, the ring closed: then read
        t = Taker(sub, into=into)
        t.drain()
        c = sub.counts()
    assert res["published"] == 20000
    assert c["lost"] > 0 and t.gaps == c["lost"]
    assert t.got == c["delivered"]
    assert t.got + c["lost"] == res["published"]
    assert t.next == res["published"]  # the newest messages are never lost


def test_sigterm_stops_cleanly(feeder, name, procs):
    p = start(procs, feeder, name, "--count", 10**9, "--rate", 20000, "--batch", 8)
    with subscribe(name) as sub:
        t = Taker(sub)
        while t.got < 100:
            t.batch()
        p.send_signal(signal.SIGTERM)
        t.drain()
        res = finish(p)
        c = sub.counts()
    assert res["stopped"] is True and 100 <= res["published"] < 10**9
    assert t.got + c["lost"] == res["published"] == t.next
    assert not os.path.exists("/dev/shm" + name)


def test_no_subscriber_times_out(feeder, name, procs):
    p = start(procs, feeder, name, "--count", 10, "--timeout", 0.05)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1
    assert b"0 of 1 subscribers attached" in err
    assert not os.path.exists("/dev/shm" + name)


def test_usage_errors(feeder, name, procs):
    for args in ([name, "--size", 4], [name, "--batch", 0], [name, "--rate", "x"], []):
        p = subprocess.Popen([feeder, *map(str, args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        procs.append(p)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 2, (args, err)
        assert err.startswith(b"ring_feed: "), err


def test_rate(feeder, name, procs):
    """--rate paces the batches: 2000 messages at 20000/s take about 0.1 s."""
    p = start(procs, feeder, name, "--count", 2000, "--rate", 20000, "--batch", 8)
    with subscribe(name) as sub:
        t = Taker(sub)
        t.drain()
        res = finish(p)
    assert t.got == res["published"] == 2000
    assert 0.09 <= res["seconds"] < 5, res
