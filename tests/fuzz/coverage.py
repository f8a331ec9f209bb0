#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Does libFuzzer see the code a target fuzzes?

  coverage.py TARGET-EXE OWN-SOURCE CORPUS-DIR FILE=MIN...

Runs TARGET-EXE once over every input of CORPUS-DIR (-runs=0, nothing
mutated, nothing written) with -print_coverage=1 and reads the edges it
counted, function by function. Passes when
  - `cov:` is larger than the edges OWN-SOURCE (the target's own code)
    covered: the counter grows with code outside the target, and
  - each FILE (a library source the target fuzzes, e.g. src/url.c) has at
    least MIN of its edges covered by the corpus.
A library built without coverage instrumentation has no edges at all, so
both fail. Exit 0 passes, 1 fails, 77 skips (no llvm-symbolizer: the
coverage report cannot name files).
"""
import os
import re
import subprocess
import sys

FUNC = re.compile(r"^(UN)?COVERED_FUNC: hits: \d+ edges: (\d+)/(\d+) (\S+) (\S+?):\d+$")
DONE = re.compile(r"^#\d+\s+DONE\s+cov: (\d+) ")


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    exe, own, corpus = argv[1:4]
    need = {}
    for arg in argv[4:]:
        name, _, least = arg.rpartition("=")
        need[name] = int(least)
    name = os.path.basename(exe)

    run = subprocess.run([exe, "-runs=0", "-print_coverage=1", corpus],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = run.stdout.splitlines()
    if run.returncode != 0:
        print("\n".join(out[-30:]))
        sys.exit("%s: exit %d over its corpus %s" % (name, run.returncode, corpus))

    cov = None
    covered = {}  # source file -> edges covered
    total = {}  # source file -> edges in its functions
    for line in out:
        m = DONE.match(line)
        if m:
            cov = int(m.group(1))
            continue
        m = FUNC.match(line)
        if m:
            path = os.path.normpath(m.group(5))
            covered[path] = covered.get(path, 0) + int(m.group(2))
            total[path] = total.get(path, 0) + int(m.group(3))
    if cov is None:
        print("\n".join(out[-30:]))
        sys.exit("%s: no 'DONE cov:' line in libFuzzer's output" % name)
    if not total:
        print("SKIP: %s: the coverage report names no source files "
              "(llvm-symbolizer not on PATH?)" % name)
        sys.exit(77)

    def edges(suffix, table):
        return sum(n for p, n in table.items() if p.endswith(os.sep + suffix))

    ok = True
    own_cov = edges(own, covered)
    if edges(own, total) == 0:
        print("%s: no function of %s in the coverage report" % (name, own))
        ok = False
    print("%s: cov: %d over %s, of which %s itself %d" % (name, cov, corpus, own, own_cov))
    if cov <= own_cov:
        print("%s: FAIL: nothing outside %s is covered: the code it fuzzes is not "
              "instrumented" % (name, own))
        ok = False
    for src, least in need.items():
        got = edges(src, covered)
        print("%s: %s: %d of %d edges covered, want >= %d" %
              (name, src, got, edges(src, total), least))
        if got < least:
            print("%s: FAIL: %s is %s" % (name, src,
                  "not instrumented" if got == 0 else "covered less than before"))
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv)
