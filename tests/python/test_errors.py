"""Every error the package names: OSError subclasses with errno, the URL as
filename, "strerror (ENAME)" as text, and kernel limits named as the CLI
names them."""

import errno
import os
import signal
import subprocess
import sys

import pytest

import ipckit
from conftest import wait_for


def check(e, err, url):
    assert isinstance(e, OSError)
    assert e.errno == err
    assert e.filename == url
    assert "(%s)" % errno.errorcode[err] in str(e)


def test_timeout_error(name):
    with pytest.raises(TimeoutError) as e:
        ipckit.Subscriber(name, timeout=0.05)
    check(e.value, errno.ETIMEDOUT, name)
    r, w = ipckit.Channel.pipe()
    with pytest.raises(TimeoutError) as e:
        r.recv(0.01)
    check(e.value, errno.ETIMEDOUT, "pipe:")


def test_blocking_io_error(name):
    with ipckit.Publisher(name) as pub, ipckit.Subscriber(name) as sub:
        with pytest.raises(BlockingIOError) as e:
            sub.recv(0)
        check(e.value, errno.EAGAIN, name)


def test_file_not_found(name, tmp):
    with pytest.raises(FileNotFoundError) as e:
        ipckit.Subscriber(name)
    check(e.value, errno.ENOENT, name)
    with pytest.raises(FileNotFoundError) as e:
        ipckit.Channel("mq:%s" % name, timeout=0)
    check(e.value, errno.ENOENT, "mq:%s" % name)
    url = "unix:%s/none" % tmp
    with pytest.raises(FileNotFoundError):
        ipckit.Channel(url, timeout=0)


def test_connection_refused(tmp):
    path = "%s/stale" % tmp
    s = __import__("socket").socket(__import__("socket").AF_UNIX)
    s.bind(path)
    s.close()  # a socket file nobody listens on
    with pytest.raises(ConnectionRefusedError) as e:
        ipckit.Channel("unix:" + path, timeout=0)
    check(e.value, errno.ECONNREFUSED, "unix:" + path)


def test_broken_pipe_peer_gone():
    r, w = ipckit.Channel.pipe()
    r.close()
    with pytest.raises(BrokenPipeError) as e:
        w.send(b"x")
    check(e.value, errno.EPIPE, "pipe:")
    w.close()


def test_broken_pipe_publisher_closed(name):
    pub = ipckit.Publisher(name)
    sub = ipckit.Subscriber(name)
    pub.close()
    with pytest.raises(BrokenPipeError) as e:
        sub.recv(1)
    check(e.value, errno.EPIPE, name)
    sub.close()


def test_publisher_death_then_new_epoch(name, procs):
    code = ("import ipckit,sys,time; p=ipckit.Publisher(sys.argv[1], capacity=65536);"
            "p.publish(b'from the first'); print('ready', flush=True); time.sleep(60)")
    p = procs.python(code, name, stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\n"
    sub = ipckit.Subscriber(name, from_="oldest")
    assert sub.recv(5) == b"from the first"
    p.kill()
    p.wait()
    with pytest.raises(ipckit.PublisherDiedError) as e:
        sub.recv(5)
    assert isinstance(e.value, ConnectionError)
    check(e.value, errno.EOWNERDEAD, name)
    with ipckit.Publisher(name, capacity=65536) as pub:  # takes the ring over
        with pytest.raises(ConnectionResetError) as e:
            sub.recv(5)
        check(e.value, errno.ECONNRESET, name)
        pub.publish(b"second epoch")
        assert sub.recv(5) == b"second epoch"
        assert pub.stats()["epoch"] == 2
    sub.close()


def test_permission_error(name):
    # something at the name open to others beyond the mode asked for is
    # never adopted
    fd = os.open("/dev/shm" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
    os.fchmod(fd, 0o666)
    os.close(fd)
    with pytest.raises(PermissionError) as e:
        ipckit.Publisher(name)
    check(e.value, errno.EPERM, name)
    fifo = "/tmp/ipk-py-perm-%d" % os.getpid()
    os.mkfifo(fifo, 0o666)
    os.chmod(fifo, 0o666)
    try:
        with pytest.raises(PermissionError) as e:
            ipckit.Channel("fifo:" + fifo, create=True, direction="r")
        assert "owned by uid %d, mode 0666" % os.getuid() in str(e.value)
    finally:
        os.unlink(fifo)


def test_exists_and_busy(name):
    with ipckit.Publisher(name):
        with pytest.raises(FileExistsError) as e:
            ipckit.Publisher(name, excl=True)
        check(e.value, errno.EEXIST, name)
        with pytest.raises(OSError) as e:
            ipckit.Publisher(name)  # a live publisher holds it
        check(e.value, errno.EBUSY, name)


def test_message_too_long(name):
    with ipckit.Publisher(name, capacity=4096) as pub:
        with pytest.raises(OSError) as e:
            pub.publish(b"x" * 4096)
        check(e.value, errno.EMSGSIZE, name)


def test_malformed_url_says_where():
    with pytest.raises(ValueError) as e:
        ipckit.Channel("mq:/q?maxmsg=abc", timeout=0)
    assert "offset" in str(e.value)
    with pytest.raises(ValueError):
        ipckit.url_check("nosuch:/x")
    assert ipckit.url_check("unix:/tmp/x") is None


def test_kernel_limit_named(name):
    # more messages than fs.mqueue.msg_max allows (65536 is over it even for root)
    url = "mq:%s?maxmsg=65536" % name
    with pytest.raises(OSError) as e:
        ipckit.Channel(url, create=True)
    if "limit:" not in str(e.value):
        pytest.fail("no limit named: %s" % e.value)
    assert "limit: fs.mqueue.msg_max (sysctl -w fs.mqueue.msg_max=N)" in str(e.value)
    assert e.value.filename == url


def test_stale_view_is_oserror(name):
    with ipckit.Publisher(name, capacity=4096, max_msg=256) as pub, \
            ipckit.Subscriber(name) as sub:
        pub.publish(b"x")
        v = sub.view(1)
        for i in range(100):
            pub.publish(b"%0200d" % i)
        with pytest.raises(ipckit.StaleViewError) as e:
            v.validate()
        check(e.value, errno.ESTALE, name)


def test_closed_objects_raise_valueerror(name):
    pub = ipckit.Publisher(name)
    sub = ipckit.Subscriber(name)
    pub.close()
    sub.close()
    for f in (lambda: pub.publish(b"x"), lambda: sub.recv(0), sub.fileno, sub.view):
        with pytest.raises(ValueError):
            f()
