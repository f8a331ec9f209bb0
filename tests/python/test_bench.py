"""python3 -m ipckit.bench runs (tiny counts): every row prints. Not a
timing test: the numbers are in docs/python.md."""

import os
import subprocess
import sys


def test_bench_smoke(cli):
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "ipckit.bench", "--count", "50", "--sizes",
                        "64,4096", "--cli", cli], capture_output=True, timeout=100, env=env)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    out = r.stdout.decode()
    for row in ("ring-spin", "ring-sleep", "ring-batch", "unix", "mp-pipe", "mp-queue",
                "C shm-ring", "C publisher -> Python", "1 MiB: view()"):
        assert row in out, (row, out)
    assert "faster than multiprocessing.Pipe" in out
