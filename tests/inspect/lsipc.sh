#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/inspect/lsipc.sh IPCKIT HOLDER: for System V objects, `ipckit ls
# --json` agrees with util-linux `lsipc --json` and with `ipcs` on keys, ids,
# owners, modes and sizes. Private IPC namespace: exactly our objects.
set -u
B=$1
H=$2
HERE=$(dirname "$0")
. "$HERE/lib.sh"
command -v lsipc >/dev/null || skip "lsipc (util-linux) not installed"
command -v ipcs >/dev/null || skip "ipcs (util-linux) not installed"
private_ns "$@"

start_nowait sysv-shm 0x4b3001
start_nowait sysv-shm 0 # IPC_PRIVATE
start_nowait sysv-msg 0x4b3002
start_nowait sysv-msg 0x7fffff01
start_nowait sysv-sem 0x4b3003
start_nowait sysv-sem 0
wait_ready

"$B" ls --json --type sysv-msg,sysv-shm,sysv-sem >"$TMPD/ls.json" || fail "ipckit ls"
lsipc -m --json -b -o KEY,ID,OWNER,PERMS,SIZE,NATTCH,CPID,LPID >"$TMPD/m.json" || fail "lsipc -m"
lsipc -q --json -b -o KEY,ID,OWNER,PERMS,USEDBYTES,MSGS >"$TMPD/q.json" || fail "lsipc -q"
lsipc -s --json -b -o KEY,ID,OWNER,PERMS,NSEMS >"$TMPD/s.json" || fail "lsipc -s"
ipcs -m -q -s >"$TMPD/ipcs.txt" || fail "ipcs"

python3 - "$TMPD" <<'PY' || fail "ipckit ls and lsipc/ipcs disagree"
import json, stat, sys
d = sys.argv[1]
objs = json.load(open(d + "/ls.json"))["objects"]

def perms(mode):  # 0600 -> rw-------
    return stat.filemode(mode)[1:]

def mine(kind, fields):
    return sorted(tuple(f(o) for f in fields) for o in objs if o["kind"] == kind)

def theirs(path, top, fields):
    rows = json.load(open(path)).get(top, [])
    return sorted(tuple(r[f] for f in fields) for r in rows)

checks = [
    ("sysv-shm", d + "/m.json", "sharedmemory",
     [lambda o: o["name"], lambda o: str(o["id"]), lambda o: o["user"],
      lambda o: perms(int(o["mode"], 8)), lambda o: str(o["size"]),
      lambda o: str(o["count"]), lambda o: str(o["cpid"]), lambda o: str(o["lpid"])],
     ["key", "id", "owner", "perms", "size", "nattch", "cpid", "lpid"]),
    ("sysv-msg", d + "/q.json", "messages",
     [lambda o: o["name"], lambda o: str(o["id"]), lambda o: o["user"],
      lambda o: perms(int(o["mode"], 8)), lambda o: str(o["size"]), lambda o: str(o["count"])],
     ["key", "id", "owner", "perms", "usedbytes", "msgs"]),
    ("sysv-sem", d + "/s.json", "semaphores",
     [lambda o: o["name"], lambda o: str(o["id"]), lambda o: o["user"],
      lambda o: perms(int(o["mode"], 8)), lambda o: str(o["count"])],
     ["key", "id", "owner", "perms", "nsems"]),
]
ok = True
for kind, path, top, mf, tf in checks:
    a, b = mine(kind, mf), theirs(path, top, tf)
    if a != b or len(a) != 2:
        print("%s: ipckit %s\n   lsipc  %s" % (kind, a, b), file=sys.stderr)
        ok = False

# ipcs: "key id owner perms bytes|used-bytes|nsems [nattch|messages]"
sect, rows = None, {"sysv-msg": [], "sysv-shm": [], "sysv-sem": []}
for line in open(d + "/ipcs.txt"):
    if "Message Queues" in line: sect = "sysv-msg"
    elif "Shared Memory" in line: sect = "sysv-shm"
    elif "Semaphore Arrays" in line: sect = "sysv-sem"
    elif line.startswith("0x"):
        f = line.split()
        rows[sect].append((f[0], f[1], f[2], f[3], f[4]))
for kind in rows:
    a = sorted((o["name"], str(o["id"]), o["user"], o["mode"][1:],
                str(o["count"] if kind == "sysv-sem" else o["size"]))
               for o in objs if o["kind"] == kind)
    if a != sorted(rows[kind]):
        print("%s: ipckit %s\n   ipcs   %s" % (kind, a, sorted(rows[kind])), file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY
echo ok
