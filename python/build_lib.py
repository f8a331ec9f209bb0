#!/usr/bin/env python3
"""Build libipckit.a from the checkout above python/ for `pip install ./python`.

    build_lib.py SRCDIR BUILDDIR OUTPUT

Configures the C project in BUILDDIR (once) with the options a wheel
needs, builds only its static library, and copies it to OUTPUT. The C
project's own meson files say which sources make the library, so this
stays right as they change; nothing of the C project is installed.
"""

import os
import shutil
import subprocess
import sys


def meson():
    exe = shutil.which("meson")
    return [exe] if exe else [sys.executable, "-m", "mesonbuild.mesonmain"]


def main():
    src, bdir, out = sys.argv[1:4]
    if not os.path.exists(os.path.join(bdir, "build.ninja")):
        subprocess.run(meson() + ["setup", bdir, src, "--buildtype=release",
                                  "-Db_ndebug=if-release", "-Dman=disabled",
                                  "-Dnats=disabled", "-Ddbus=disabled", "-Dfuzz=false",
                                  "-Db_staticpic=true"],
                       check=True, stdout=sys.stderr)
    subprocess.run(meson() + ["compile", "-C", bdir, "src/ipckit:static_library"],
                   check=True, stdout=sys.stderr)
    shutil.copyfile(os.path.join(bdir, "src", "libipckit.a"), out)


if __name__ == "__main__":
    main()
