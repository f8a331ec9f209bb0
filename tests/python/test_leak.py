"""No leak: resident memory and open descriptors stay flat across 10^6
receives (copies, batches, views) and 10^4 open/close cycles."""

import gc

import ipckit
from conftest import fds, rss_kib


def test_flat_across_a_million_receives(name):
    with ipckit.Publisher(name, capacity=1 << 20) as pub, ipckit.Subscriber(name) as sub:
        msgs = [b"%063d" % i for i in range(1000)]
        buf = bytearray(64)

        def rounds(k):
            for _ in range(k):
                pub.publish_batch(msgs)
                for _ in range(200):  # 1000 messages, four ways
                    sub.recv(0)
                    sub.recv_into(buf, 0)
                for _ in range(100):
                    with sub.view(0) as mv:
                        mv[0]
                    sub.view(0).validate()
                got = 0
                while got < 400:
                    got += len(sub.recv_batch(100, 0))

        rounds(100)  # warm up: buffers, free lists, caches
        gc.collect()
        rss, nfd = rss_kib(), fds()
        rounds(900)  # with the warm-up, 10^6 receives
        gc.collect()
        assert fds() == nfd
        assert rss_kib() - rss < 1024, (rss, rss_kib())
        assert sub.counts()["delivered"] == 1000000


def test_flat_across_open_close_cycles(name, tmp):
    pub = ipckit.Publisher(name, capacity=65536)

    def cycles(k):
        for _ in range(k):
            with ipckit.Subscriber(name) as s:
                pub.publish(b"x")
                s.recv(0)
            r, w = ipckit.Channel.pipe()
            w.close()
            r.close()

    cycles(500)
    gc.collect()
    rss, nfd = rss_kib(), fds()
    cycles(9500)  # with the warm-up, 10^4 cycles of each
    gc.collect()
    assert fds() == nfd
    assert rss_kib() - rss < 1024, (rss, rss_kib())
    pub.close()


def test_errors_do_not_leak(name):
    def errs(k):
        for _ in range(k):
            try:
                ipckit.Subscriber(name + "-missing")
            except FileNotFoundError:
                pass

    errs(1000)
    gc.collect()
    rss, nfd = rss_kib(), fds()
    errs(10000)
    gc.collect()
    assert fds() == nfd
    assert rss_kib() - rss < 512
