"""ipckit: every Linux IPC mechanism behind one API, from Python.

    Channel(url, ...)     one end of a message channel: fifo:, unix:,
                          unix+dgram:, unix+seqpacket:, tcp:, mq:, sysvmq:,
                          shm: (and pipe: through Channel.pipe())
    Listener(url)         many peers on unix:, unix+seqpacket:, tcp:
    Publisher(name)       the broadcast ring's publisher (never waits)
    Subscriber(name)      one of any number of read-only subscribers:
                          recv, recv_batch, recv_batch_into (one
                          buffer, no object per message), view(), lost
    ls()                  the host's IPC objects, as `ipckit ls --json`

Timeouts are seconds (float; None waits forever, 0 tries once and raises
BlockingIOError). Errors are OSError subclasses that carry errno and the
object's URL: TimeoutError, BrokenPipeError (the peer or publisher closed),
ConnectionResetError (a new publisher epoch), FileNotFoundError,
PermissionError, StaleViewError, PublisherDiedError.

Every object works with asyncio without a thread: ``await ch.arecv()``,
``await ch.asend(b)``, ``async for msg in sub``; see ipckit.aio for
objects whose recv() itself is a coroutine.

The GIL is released while a call waits and around large copies; a spinning
subscriber spins without it.
"""

import asyncio as _asyncio
from urllib.parse import parse_qsl as _parse_qsl

from . import _ipckit
from ._ipckit import (
    Listener,
    PublisherDiedError,
    StaleViewError,
    View,
    errname,
    lib_version,
    url_check,
)

__all__ = [
    "Channel",
    "Listener",
    "Publisher",
    "Subscriber",
    "View",
    "StaleViewError",
    "PublisherDiedError",
    "ls",
    "errname",
    "lib_version",
    "url_check",
]

__version__ = "0.1.0"


async def _wait_fd(fd, writable=False):
    """Wait until fd polls readable (or writable) on the running loop."""
    loop = _asyncio.get_running_loop()
    fut = loop.create_future()

    def ready():
        if not fut.done():
            fut.set_result(None)

    if writable:
        loop.add_writer(fd, ready)
    else:
        loop.add_reader(fd, ready)
    try:
        await fut
    finally:
        if writable:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


class Channel(_ipckit.Channel):
    __doc__ = _ipckit.Channel.__doc__
    __slots__ = ()

    async def arecv(self, timeout=None):
        """Receive one message without blocking the event loop.

        Waits on fileno() with the loop's reader (no thread); timeout in
        seconds raises TimeoutError.
        """
        return await _asyncio.wait_for(self._arecv(), timeout)

    async def _arecv(self):
        while True:
            try:
                return self.recv(0)
            except BlockingIOError:
                await _wait_fd(self.fileno())

    async def asend(self, data, *, tag=0, timeout=None):
        """Send one message without blocking the event loop (waits for room
        with the loop's writer on fileno())."""
        return await _asyncio.wait_for(self._asend(data, tag), timeout)

    async def _asend(self, data, tag):
        while True:
            try:
                return self.send(data, tag=tag, timeout=0)
            except BlockingIOError:
                await _wait_fd(self.fileno(), writable=True)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return self.recv()
        except BrokenPipeError:
            raise StopIteration from None

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self._arecv()
        except BrokenPipeError:
            raise StopAsyncIteration from None


_ipckit._set_channel_type(Channel)  # Listener.accept() returns ipckit.Channel


def _ring_url(url, known):
    """'/name', 'shm:/name?opt=v&...' -> ('/name', {opt: v})."""
    if url is None:
        return None, {}
    if not isinstance(url, str):
        raise TypeError("a ring's name is a str: '/name' or 'shm:/name?...'")
    if url.startswith("shm:"):
        url_check(url)
        url = url[4:]
    name, _, query = url.partition("?")
    opts = dict(_parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    for k in opts:
        if k not in known:
            raise ValueError("%s: option %s= does not apply here" % (url, k))
    return name, opts


class Publisher(_ipckit.Publisher):
    __doc__ = _ipckit.Publisher.__doc__
    __slots__ = ()

    def __init__(self, name, **kw):
        name, opts = _ring_url(name, ("capacity", "msgsize", "mode", "perm"))
        if "capacity" in opts:
            kw.setdefault("capacity", int(opts["capacity"], 0))
        if "msgsize" in opts:
            kw.setdefault("max_msg", int(opts["msgsize"], 0))
        if "perm" in opts:
            kw.setdefault("mode", int(opts["perm"], 8))
        if opts.get("mode") == "queue":
            kw.setdefault("queue", True)
        super().__init__(name, **kw)


class Subscriber(_ipckit.Subscriber):
    __doc__ = _ipckit.Subscriber.__doc__
    __slots__ = ()

    def __init__(self, name, **kw):
        # what only a creator sets (capacity=, msgsize=, perm=) is the ring's own here
        name, opts = _ring_url(name, ("from", "mode", "capacity", "msgsize", "perm"))
        if "from" in opts:
            f = opts["from"]
            kw.setdefault("from_", f if f in ("end", "oldest") else int(f))
        super().__init__(name, **kw)

    def __iter__(self):
        return self

    def __next__(self):
        """The next message; the iteration ends when the publisher closes."""
        try:
            return self.recv()
        except BrokenPipeError:
            raise StopIteration from None

    async def arecv(self, timeout=None):
        """The next message without blocking the event loop (the loop's
        reader on fileno(), no Python thread)."""
        return await _asyncio.wait_for(self._arecv(), timeout)

    async def _arecv(self):
        while True:
            try:
                return self.recv(0)
            except BlockingIOError:
                await _wait_fd(self.fileno())

    async def arecv_batch(self, max=64, timeout=None):
        """recv_batch() without blocking the event loop."""
        return await _asyncio.wait_for(self._arecv_batch(max), timeout)

    async def _arecv_batch(self, max):
        while True:
            try:
                return self.recv_batch(max, 0)
            except BlockingIOError:
                await _wait_fd(self.fileno())

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self._arecv()
        except BrokenPipeError:
            raise StopAsyncIteration from None


_KINDS = ("sysv-msg", "sysv-shm", "sysv-sem", "mq", "shm", "sem", "ring", "unix", "fifo",
          "memfd")


def ls(kinds=None, *, document=False):
    """The IPC objects on this host, as `ipckit ls --json` lists them.

    kinds: None for all, or names among sysv-msg sysv-shm sysv-sem mq shm
    sem ring unix fifo memfd (a list, or one comma-separated str).
    Returns the list of object dicts ("objects" of the JSON document,
    docs/ls-schema.json); document=True returns the whole document
    (version, procs_scanned, mqueue_mount, denied_pids, objects).
    Unlike the CLI run as root, it never mounts a private mqueue
    filesystem when /dev/mqueue is not mounted (that would change this
    process's mount namespace): POSIX queues are then left out, and
    mqueue_mount is None.
    """
    mask = 0
    if kinds is not None:
        if isinstance(kinds, str):
            kinds = [k for k in kinds.split(",") if k]
        for k in kinds:
            mask |= 1 << _ipckit._kind_parse(k)
        if not mask:
            raise ValueError("ls(): an empty list of kinds")
    doc = _ipckit._scan(mask)
    return doc if document else doc["objects"]
