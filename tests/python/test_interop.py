"""The C side and the Python side talk both ways: the ipckit CLI of this
build publishes and Python subscribes, Python publishes and the CLI
subscribes; the same over a unix: channel and a POSIX queue."""

import subprocess

import ipckit


def test_cli_publishes_python_subscribes(cli, name, procs):
    url = "shm:%s?capacity=65536" % name
    lines = [b"line %d" % i for i in range(100)]
    p = procs.start([cli, "pub", url, "--linger", "5"], stdin=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    # the ring may not exist yet: wait for it, then start at its first message
    with ipckit.Subscriber(url + "&from=oldest", timeout=10) as sub:
        p.stdin.write(b"\n".join(lines) + b"\n")
        p.stdin.close()
        got = [sub.recv(10) for _ in lines]
        assert got == lines
        assert sub.lost == 0
    # the CLI lingers while a subscriber is attached: this one has closed
    assert p.wait(10) == 0
    assert b"100" in p.stderr.read()


def test_cli_synthetic_rate_into_python_batches(cli, name, procs):
    url = "shm:%s?capacity=1048576" % name
    p = procs.start([cli, "pub", url, "--rate", "0", "--size", "64", "--count", "20000",
                     "--wait-subscribers", "1", "--linger", "5", "-t", "10"],
                    stderr=subprocess.PIPE)
    with ipckit.Subscriber(name, timeout=10, from_="oldest") as sub:
        n = 0
        seqs = []
        c = sub.counts()
        while n + c["lost"] + c["skipped"] < 20000:
            for m in sub.recv_batch(256, 10):
                assert len(m) == 64
                seqs.append(int(m.split()[0]))
                n += 1
            c = sub.counts()
        assert n + c["lost"] + c["skipped"] == 20000
        assert n > 0
        assert seqs == sorted(seqs)
    assert p.wait(10) == 0


def test_python_publishes_cli_subscribes(cli, name, procs):
    url = "shm:%s?capacity=65536" % name
    with ipckit.Publisher(url) as pub:
        p = procs.start([cli, "sub", "shm:" + name, "--count", "50", "-t", "10"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline_ok = False
        for _ in range(5000):
            if pub.subscribers() >= 1:
                deadline_ok = True
                break
            if p.poll() is not None:
                break
            __import__("time").sleep(0.002)
        assert deadline_ok, "the CLI subscriber never attached"
        for i in range(50):
            pub.publish(b"py %d" % i)
        out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert out.splitlines() == [b"py %d" % i for i in range(50)]
    assert b"50 messages, 0 lost" in err


def test_unix_channel_both_ways(cli, tmp, procs):
    url = "unix:%s/s" % tmp
    with ipckit.Listener(url) as lst:
        p = procs.start([cli, "send", url, "-t", "10"], stdin=subprocess.PIPE)
        p.stdin.write(b"from C\nsecond\n")
        p.stdin.close()
        with lst.accept(10) as ch:
            assert ch.recv(10) == b"from C"
            assert ch.recv(10) == b"second"
        assert p.wait(10) == 0
    r = procs.start([cli, "recv", "--listen", url, "--count", "2", "-t", "10"],
                    stdout=subprocess.PIPE)
    with ipckit.Channel(url, timeout=10) as ch:
        ch.send(b"from Python")
        ch.send(b"bye")
    out, _ = r.communicate(timeout=10)
    assert out.splitlines() == [b"from Python", b"bye"]


def test_mq_priorities_with_cli(cli, name, procs):
    url = "mq:%s?maxmsg=8&msgsize=256" % name
    with ipckit.Channel(url, create=True) as q:
        subprocess.run([cli, "send", url, "--priority", "7", "seven"], check=True, timeout=10)
        subprocess.run([cli, "send", url, "--priority", "2", "two"], check=True, timeout=10)
        assert q.recv_tag(5) == (b"seven", 7)
        assert q.recv_tag(5) == (b"two", 2)
        q.send(b"to C", tag=3)
        out = subprocess.run([cli, "recv", "--connect", url, "--count", "1", "--show-meta",
                              "-t", "5"], capture_output=True, check=True, timeout=10).stdout
        assert out == b"3\tto C\n"
