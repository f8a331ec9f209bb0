"""Subscriber.recv_batch_into(buffer, offsets): messages packed one after
another into the caller's buffer, offsets[i]..offsets[i+1] each; the same
messages, order and errors as recv_batch()."""

import array
import os

import pytest

import ipckit


@pytest.fixture
def ring():
    name = "/ipk-pybi-%d" % os.getpid()
    with ipckit.Publisher(name, capacity=1 << 20) as pub, ipckit.Subscriber(name) as sub:
        yield pub, sub


def offsets(n):
    return array.array("Q", [0]) * (n + 1)


def take(sub, buf, off, timeout=0):
    k = sub.recv_batch_into(buf, off, timeout)
    assert off[0] == 0
    return [bytes(buf[off[i]:off[i + 1]]) for i in range(k)]


def test_packed_in_order(ring):
    pub, sub = ring
    msgs = [bytes([i % 256]) * (i % 100) for i in range(300)]  # lengths 0..99
    pub.publish_batch(msgs)
    buf, off, got = bytearray(64 * 100), offsets(64), []
    while len(got) < len(msgs):
        batch = take(sub, buf, off)
        assert 1 <= len(batch) <= 64
        got += batch
    assert got == msgs
    with pytest.raises(BlockingIOError):
        sub.recv_batch_into(buf, off, 0)
    assert sub.counts()["delivered"] == 300 and sub.lost == 0


def test_numpy_offsets(ring):
    np = pytest.importorskip("numpy")
    pub, sub = ring
    pub.publish_batch([b"%08d" % i for i in range(10)])
    data, off = np.zeros(80, np.uint8), np.zeros(11, np.uint64)
    assert sub.recv_batch_into(data, off, 0) == 10
    assert list(off) == list(range(0, 88, 8))
    assert data.tobytes() == b"".join(b"%08d" % i for i in range(10))


def test_large_first_takes_the_whole_buffer(ring):
    """A first message larger than its share (len(buffer) // max) is taken
    alone; one larger than the buffer is EMSGSIZE and not consumed."""
    pub, sub = ring
    pub.publish(b"a" * 500)
    pub.publish(b"b" * 2000)
    pub.publish(b"c")
    buf, off = bytearray(1000), offsets(10)
    assert take(sub, buf, off) == [b"a" * 500]
    with pytest.raises(OSError) as e:
        sub.recv_batch_into(buf, off, 0)
    assert e.value.errno == 90  # EMSGSIZE
    assert take(sub, bytearray(4096), off) == [b"b" * 2000]  # 409-byte shares
    assert take(sub, buf, off) == [b"c"]


def test_bad_offsets(ring):
    pub, sub = ring
    buf = bytearray(64)
    for bad in (array.array("I", [0] * 4), array.array("Q", [0]), memoryview(bytearray(16))):
        with pytest.raises(TypeError):
            sub.recv_batch_into(buf, bad, 0)
    with pytest.raises(BufferError):
        sub.recv_batch_into(buf, b"\0" * 16, 0)
    with pytest.raises(TypeError):
        sub.recv_batch_into(b"read-only", offsets(2), 0)


def test_closed_publisher(ring):
    pub, sub = ring
    pub.publish(b"last")
    pub.close()
    buf, off = bytearray(64), offsets(4)
    assert take(sub, buf, off) == [b"last"]
    with pytest.raises(BrokenPipeError):
        sub.recv_batch_into(buf, off, 1.0)
