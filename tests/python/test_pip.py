"""`pip install ./python` into a fresh venv works offline with Debian's
packages (python3-venv, python3-pip, python3-mesonpy), and the installed
package moves a message through a ring and a channel."""

import importlib.util
import os
import subprocess
import sys

import pytest


def test_pip_install_into_venv(tmp):
    src = os.environ.get("IPCKIT_PY_SRC")
    if not src or not os.path.exists(os.path.join(src, "pyproject.toml")):
        pytest.skip("IPCKIT_PY_SRC (set by the meson test) does not name python/")
    for mod, pkg in (("venv", "python3-venv"), ("ensurepip", "python3-venv"),
                     ("mesonpy", "python3-mesonpy"), ("pip", "python3-pip")):
        if importlib.util.find_spec(mod) is None:
            pytest.skip("no %s module (apt-get install %s)" % (mod, pkg))
    venv = tmp / "v"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=60)
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)  # the venv must find its own copy
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation",
                        "--no-index", src], env=env, capture_output=True, timeout=200)
    assert r.returncode == 0, r.stdout.decode()[-3000:] + r.stderr.decode()[-3000:]
    code = ("import ipckit, os; n='/ipk-py-pip-%d' % os.getpid()\n"
            "assert 'site-packages' in ipckit.__file__, ipckit.__file__\n"
            "with ipckit.Publisher(n) as p, ipckit.Subscriber(n) as s:\n"
            "    p.publish(b'installed'); assert s.recv(5) == b'installed'\n"
            "r, w = ipckit.Channel.pipe(); w.send(b'x'); assert r.recv(5) == b'x'\n"
            "print(ipckit.lib_version())\n")
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], env=env, cwd=str(tmp),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.strip() == b"0.1.0"
