"""Shared fixtures of the Python tests: names that carry the test's pid,
the ipckit CLI of this build, and processes stopped by their own pid."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import ipckit

_count = [0]


@pytest.fixture
def name():
    """A ring/queue name unique to this process and test: '/ipk-py-PID-N'."""
    _count[0] += 1
    n = "/ipk-py-%d-%d" % (os.getpid(), _count[0])
    yield n
    for suffix in ("", "-bell", "-cons"):
        try:
            os.unlink("/dev/shm" + n[0:] + suffix)
        except OSError:
            pass


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


@pytest.fixture
def cli():
    path = os.environ.get("IPCKIT_CLI") or shutil.which("ipckit")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("no ipckit CLI (IPCKIT_CLI is set by the meson test)")
    return path


class Procs:
    """Child processes of one test; whatever is left is killed by pid."""

    def __init__(self):
        self.procs = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def python(self, code, *args, **kw):
        env = dict(os.environ)
        return self.start([sys.executable, "-c", code, *map(str, args)], env=env, **kw)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.stop()


def wait_for(cond, timeout=10.0, what="condition"):
    """Poll cond() until true, within a deadline (for events with no fd)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.002)


def fds():
    return len(os.listdir("/proc/self/fd"))


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


assert ipckit.Channel  # the package under test is importable
