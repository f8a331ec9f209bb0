"""ipckit.ls() gives what `ipckit ls --json` prints, as dicts."""

import json
import os
import subprocess

import pytest

import ipckit


def find(objs, kind, name):
    hits = [o for o in objs if o["kind"] == kind and o["name"] == name]
    assert len(hits) == 1, (kind, name, len(hits))
    return hits[0]


def test_ls_matches_the_cli(cli, name):
    with ipckit.Publisher(name, capacity=65536) as pub, \
            ipckit.Channel("mq:%s-q?maxmsg=4&msgsize=64" % name, create=True) as q:
        pub.publish(b"1")
        pub.publish(b"2")
        q.send(b"queued")
        doc = json.loads(subprocess.run([cli, "ls", "--json", "--type", "ring,mq"],
                                        capture_output=True, check=True).stdout)
        mine = ipckit.ls(["ring", "mq"], document=True)
        assert set(mine) == set(doc)
        assert mine["version"] == doc["version"] == 1
        kinds = [("ring", name)]
        # without an mqueue mount the CLI (as root) mounts a private one in
        # a namespace of its own; ls() never does (it would move this process)
        if mine["mqueue_mount"]:
            kinds.append(("mq", name + "-q"))
        else:
            assert not [o for o in mine["objects"] if o["kind"] == "mq"]
        for kind, n in kinds:
            a = find(mine["objects"], kind, n)
            b = find(doc["objects"], kind, n)
            assert a.keys() == b.keys()
            for k in a:
                if k not in ("holders", "gc_reason"):
                    assert a[k] == b[k], (k, a[k], b[k])
            assert os.getpid() in [h["pid"] for h in a["holders"]]
        ring = find(mine["objects"], "ring", name)["ring"]
        assert ring["publisher_pid"] == os.getpid() and ring["publisher_alive"]
        assert ring["published"] == 2 and ring["capacity"] == 65536
        if mine["mqueue_mount"]:
            assert find(mine["objects"], "mq", name + "-q")["count"] == 1


def test_ls_kinds():
    assert all(o["kind"] == "unix" for o in ipckit.ls("unix"))
    assert isinstance(ipckit.ls(), list)
    with pytest.raises(ValueError):
        ipckit.ls(["nonsense"])
