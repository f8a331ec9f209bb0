#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks on `ipckit ls --json` / `ipckit gc --json` output for the inspect tests.

  check.py holder FILE KIND NAME PID   the object is listed and PID holds it
  check.py present FILE KIND:NAME...   each is listed
  check.py absent FILE KIND:NAME...    none is listed
  check.py exact FILE KIND:NAME...     the list (ls objects or gc array) is exactly these
  check.py state FILE GC KIND:NAME...  the objects whose "gc" is GC are exactly these
  check.py field FILE KIND NAME PATH VALUE   obj[PATH] (dotted) == VALUE (as JSON)
  check.py no-orphans FILE             no object is marked orphan
  check.py schema FILE SCHEMA          FILE (ls, or gc's array) validates against SCHEMA
  check.py batch FILE <LINES           each line "CMD ARG..." (shell words) against FILE
Exit 0 if true; 1 with the reason on stderr; 77 (skip) for schema without
python3-jsonschema (nothing checked).
"""
import json
import sys


def objects(path):
    with open(path) as f:
        doc = json.load(f)
    return doc["objects"] if isinstance(doc, dict) else doc


def find(objs, kind, name):
    for o in objs:
        if o["kind"] == kind and o["name"] == name:
            return o
    return None


def _die(msg):
    print("check.py: " + msg, file=sys.stderr)
    sys.exit(1)


die = _die


def main():
    if sys.argv[1] == "batch":
        # check.py batch FILE: one "CMD ARG..." per stdin line (shell words),
        # each against FILE; the first that fails names its line.
        import shlex
        for line in sys.stdin:
            words = shlex.split(line)
            if words:
                check(words[0], sys.argv[2], words[1:], line.strip())
        return
    check(sys.argv[1], sys.argv[2], sys.argv[3:], None)


def check(cmd, path, args, line):
    if line is not None:
        global die
        plain = globals()["_die"]
        die = lambda msg: plain("%s: %s" % (line, msg))
    objs = objects(path)
    if cmd == "holder":
        kind, name, pid = args[0], args[1], int(args[2])
        o = find(objs, kind, name)
        if o is None:
            die("%s %s not listed" % (kind, name))
        pids = [h["pid"] for h in o["holders"]]
        if pid not in pids:
            die("%s %s: holders %s, want %d among them" % (kind, name, pids, pid))
    elif cmd in ("present", "absent"):
        for a in args:
            kind, name = a.split(":", 1)
            o = find(objs, kind, name)
            if cmd == "present" and o is None:
                die("%s not listed" % a)
            if cmd == "absent" and o is not None:
                die("%s still listed" % a)
    elif cmd == "exact":
        got = sorted("%s:%s" % (o["kind"], o["name"]) for o in objs)
        want = sorted(args)
        if got != want:
            die("got %s, want %s" % (got, want))
    elif cmd == "state":
        got = sorted("%s:%s" % (o["kind"], o["name"]) for o in objs if o["gc"] == args[0])
        want = sorted(args[1:])
        if got != want:
            die("%s: got %s, want %s" % (args[0], got, want))
    elif cmd == "field":
        kind, name, fpath, value = args
        o = find(objs, kind, name)
        if o is None:
            die("%s %s not listed" % (kind, name))
        v = o
        for k in fpath.split("."):
            v = v[k]
        if v != json.loads(value):
            die("%s %s: %s = %r, want %s" % (kind, name, fpath, v, value))
    elif cmd == "no-orphans":
        bad = ["%s:%s" % (o["kind"], o["name"]) for o in objs if o["orphan"]]
        if bad:
            die("orphans: %s" % bad)
    elif cmd == "schema":
        try:
            import jsonschema
        except ImportError:
            print("SKIP: python3 jsonschema missing: schema not checked", file=sys.stderr)
            sys.exit(77)
        with open(path) as f, open(args[0]) as g:
            doc, schema = json.load(f), json.load(g)
        if isinstance(doc, list):  # gc --json: the objects of an ls document
            doc = {"version": 1, "procs_scanned": 0, "mqueue_mount": None,
                   "denied_pids": [], "objects": doc}
        try:
            jsonschema.validate(doc, schema)
        except jsonschema.ValidationError as e:
            die("schema: %s" % e.message)
    else:
        die("unknown command " + cmd)


main()
