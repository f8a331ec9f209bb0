"""Channel over every transport of the C API: round trips, tags, recv_into,
fileno, context manager, timeouts, and the GIL released while waiting."""

import os
import select
import socket
import threading
import time

import pytest

import ipckit
from conftest import wait_for


def roundtrip(a, b):
    a.send(b"ping")
    assert b.recv(5) == b"ping"
    b.send(bytearray(b"pong"))
    assert a.recv(5) == b"pong"
    a.send(memoryview(b"x" * 1000))
    buf = bytearray(2000)
    n = b.recv_into(buf, 5)
    assert n == 1000 and buf[:n] == b"x" * 1000
    a.send(b"")
    assert b.recv(5) == b""


@pytest.mark.parametrize("scheme", ["unix", "unix+seqpacket", "tcp"])
def test_stream_and_seqpacket(scheme, tmp):
    url = "tcp:127.0.0.1:0" if scheme == "tcp" else "%s:%s/s" % (scheme, tmp)
    with ipckit.Listener(url) as lst:
        with ipckit.Channel(lst.address, timeout=5) as cl, lst.accept(5) as srv:
            if scheme == "unix+seqpacket":  # an empty message is refused there
                cl.send(b"a")
                assert srv.recv(5) == b"a"
                with pytest.raises(OSError) as e:
                    cl.send(b"")
                assert e.value.errno == 22
            else:
                roundtrip(cl, srv)


def test_unix_create_accepts_one_peer(tmp, procs):
    url = "unix:%s/one" % tmp
    p = procs.python(
        "import ipckit,sys; c=ipckit.Channel(sys.argv[1], timeout=10); c.send(b'hi');"
        "assert c.recv(10)==b'back'", url)
    with ipckit.Channel(url, create=True, timeout=10) as srv:
        assert srv.recv(10) == b"hi"
        srv.send(b"back")
    assert p.wait(10) == 0


def test_unix_dgram(tmp):
    url = "unix+dgram:%s/d" % tmp
    with ipckit.Channel(url, create=True) as srv, ipckit.Channel(url, timeout=5) as cl:
        cl.send(b"q")
        assert srv.recv(5) == b"q"
        srv.send(b"r")  # to the sender of the last message
        assert cl.recv(5) == b"r"


def test_abstract_unix():
    url = "unix:@ipk-py-%d" % os.getpid()
    with ipckit.Listener(url) as lst, ipckit.Channel(url, timeout=5) as cl:
        with lst.accept(5) as srv:
            roundtrip(cl, srv)


def test_pipe():
    r, w = ipckit.Channel.pipe("pipe:?msgsize=4096")
    with r, w:
        w.send(b"abc")
        assert r.recv(1) == b"abc"
        assert r.max_msg == 4096
        with pytest.raises(OSError) as e:
            w.send(b"x" * 5000)
        assert e.value.errno == 90  # EMSGSIZE before anything is sent
        assert r.url == "pipe:?msgsize=4096"


def test_fifo(tmp):
    url = "fifo:%s/f" % tmp
    with ipckit.Channel(url, create=True, direction="r") as rd:
        with ipckit.Channel(url, direction="w", timeout=5) as wr:
            wr.send(b"through the fifo")
            assert rd.recv(5) == b"through the fifo"
            with pytest.raises(OSError) as e:
                wr.recv(0)
            assert e.value.errno == 9  # EBADF: the writing end of a one-way channel


def test_mq_priorities(name):
    url = "mq:%s?maxmsg=8&msgsize=128" % name
    with ipckit.Channel(url, create=True) as a, ipckit.Channel(url, timeout=5) as b:
        a.send(b"low", tag=1)
        a.send(b"high", tag=9)
        assert b.recv_tag(5) == (b"high", 9)
        assert b.recv_tag(5) == (b"low", 1)
        assert b.max_msg == 128


def test_sysvmq_types(procs):
    url = "sysvmq:private"
    # a private queue has no key: use a keyed one made for this test
    key = 0x1F000000 | (os.getpid() & 0xFFFFF)
    url = "sysvmq:%d" % key
    with ipckit.Channel(url, create=True, excl=True) as a, ipckit.Channel(url) as b:
        a.send(b"one", tag=1)
        a.send(b"two", tag=2)
        assert b.recv(5, select=2) == b"two"
        assert b.recv_tag(5) == (b"one", 1)
        # the watcher's eventfd polls readable when a message is there
        a.send(b"three", tag=3)
        r, _, _ = select.select([b.fileno()], [], [], 5)
        assert r
        assert b.recv(0) == b"three"


def test_shm_channel(name):
    url = "shm:%s?capacity=65536" % name
    with ipckit.Channel(url, create=True) as pub, ipckit.Channel(url, timeout=5) as sub:
        pub.send(b"m1")
        assert sub.recv(5) == b"m1"
        assert sub.lost == 0
        with pytest.raises(OSError) as e:
            pub.fileno()  # a ring's publisher never waits: no descriptor
        assert e.value.errno == 95


def test_fileno_polls_readable(tmp):
    url = "unix:%s/p" % tmp
    with ipckit.Listener(url) as lst, ipckit.Channel(url, timeout=5) as cl:
        srv = lst.accept(5)
        assert isinstance(srv.fileno(), int)
        assert select.select([srv.fileno()], [], [], 0)[0] == []
        cl.send(b"x")
        assert select.select([srv.fileno()], [], [], 5)[0] == [srv.fileno()]
        assert srv.recv(0) == b"x"
        srv.close()


def test_context_manager_closes(tmp):
    url = "unix:%s/c" % tmp
    with ipckit.Listener(url) as lst:
        with ipckit.Channel(url, timeout=5) as cl:
            pass
        assert cl.closed
        with pytest.raises(ValueError):
            cl.send(b"x")
        srv = lst.accept(5)
        with pytest.raises(BrokenPipeError) as e:
            srv.recv(5)  # the peer closed
        assert e.value.filename == lst.address
        srv.close()
        srv.close()  # twice is fine
    assert not os.path.exists("%s/c" % tmp)  # the listener removed its socket


def test_timeouts(tmp):
    r, w = ipckit.Channel.pipe()
    with r, w:
        with pytest.raises(BlockingIOError):
            r.recv(0)
        t = time.monotonic()
        with pytest.raises(TimeoutError) as e:
            r.recv(0.05)
        dt = time.monotonic() - t
        assert 0.045 <= dt < 1.0, dt
        assert e.value.errno == 110 and e.value.filename == "pipe:"
        assert "ETIMEDOUT" in str(e.value)
        # a timeout longer than one of the internal wait slices (0.1 s)
        t = time.monotonic()
        with pytest.raises(TimeoutError):
            r.recv(0.25)
        assert 0.24 <= time.monotonic() - t < 1.5
        with pytest.raises(ValueError):
            r.recv(-1)


def test_gil_released_while_blocked():
    r, w = ipckit.Channel.pipe()
    got = []
    t = threading.Thread(target=lambda: got.append(r.recv(10)))
    t.start()
    # this thread keeps running Python code while the other waits in recv
    n, end = 0, time.monotonic() + 0.2
    while time.monotonic() < end:
        n += 1
    assert n > 10000, n
    assert t.is_alive()
    w.send(b"wake")
    t.join(10)
    assert got == [b"wake"]
    r.close()
    w.close()


def test_close_from_another_thread_ends_a_blocked_recv():
    r, w = ipckit.Channel.pipe()
    err = []

    def rx():
        try:
            r.recv()
        except (OSError, ValueError) as e:
            err.append(e)

    t = threading.Thread(target=rx)
    t.start()
    time.sleep(0.05)  # likely blocked by now; if not, recv() sees the close at once
    r.close()
    t.join(5)
    assert not t.is_alive() and err
    w.close()


def test_concurrent_sends_from_threads_stay_whole(tmp):
    r, w = ipckit.Channel.pipe("pipe:?msgsize=100000")
    msgs = [bytes([i]) * 50000 for i in range(8)]
    got = []
    rt = threading.Thread(target=lambda: got.extend(r.recv(10) for _ in range(8 * 4)))
    rt.start()
    ts = [threading.Thread(target=lambda m=m: [w.send(m, timeout=10) for _ in range(4)])
          for m in msgs]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    rt.join(10)
    assert sorted(got) == sorted(msgs * 4)
    r.close()
    w.close()


def test_send_accepts_buffers_and_numpy(tmp):
    np = pytest.importorskip("numpy", reason="python3-numpy not installed")
    r, w = ipckit.Channel.pipe()
    with r, w:
        a = np.arange(100, dtype=np.int32)
        w.send(a)
        out = np.zeros(100, dtype=np.int32)
        assert r.recv_into(out, 5) == 400
        assert (out == a).all()
        w.send(a)
        small = np.zeros(10, dtype=np.int32)
        with pytest.raises(OSError) as e:
            r.recv_into(small, 5)  # does not fit: nothing consumed
        assert e.value.errno == 90
        assert r.recv(5) == a.tobytes()


def test_pipe_across_fork():
    r, w = ipckit.Channel.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            r.close()
            for i in range(100):
                w.send(b"%d" % i)
            w.close()
        finally:
            os._exit(0)
    w.close()
    got = [int(m) for m in r]
    assert got == list(range(100))
    assert os.waitpid(pid, 0)[1] == 0
    r.close()
