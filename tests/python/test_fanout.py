"""Fan-out: one Python publisher, several Python subscriber processes; each
accounts for every message exactly: the gaps in the sequence numbers it
received are exactly the losses the library reports."""

import subprocess
import time

import ipckit

SUB = r"""
import sys, time, ipckit
name, slow = sys.argv[1], int(sys.argv[2])
sub = ipckit.Subscriber(name, timeout=10)
print("attached", flush=True)
got, gaps, expect = 0, 0, 0
try:
    while True:
        for m in sub.recv_batch(64):
            seq = int(m[:16])
            assert seq >= expect, (seq, expect)
            gaps += seq - expect
            expect = seq + 1
            got += 1
            if slow and got % 50 == 0:
                time.sleep(0.001)
except BrokenPipeError:
    pass
c = sub.counts()
print(got, gaps, c["lost"], c["delivered"], c["skipped"], flush=True)
"""

N = 20000


def test_fanout_exact_losses(name, procs):
    with ipckit.Publisher(name, capacity=8192) as pub:
        subs = [procs.python(SUB, name, slow, stdout=subprocess.PIPE) for slow in (0, 0, 1)]
        for p in subs:
            assert p.stdout.readline() == b"attached\n"
        deadline = time.monotonic() + 10
        while pub.subscribers() < 3:  # attached: counted from their open on
            assert time.monotonic() < deadline
            time.sleep(0.001)
        for i in range(0, N, 100):
            pub.publish_batch([b"%016d" % j + b"." * 48 for j in range(i, i + 100)])
            if i % 2000 == 0:
                time.sleep(0.001)  # let the fast ones keep up most of the time
    results = []
    for p in subs:
        out, _ = p.communicate(timeout=20)
        assert p.returncode == 0
        got, gaps, lost, delivered, skipped = map(int, out.split())
        # every message is either received or counted lost, and the count
        # of losses is exactly the holes in what was received
        assert skipped == 0
        assert got == delivered
        assert gaps == lost, (gaps, lost)
        assert got + lost == N, (got, lost)
        results.append((got, lost))
    assert results[2][1] > 0, "the slow subscriber lost nothing: the test proves little"
