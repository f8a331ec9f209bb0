"""asyncio faces of ipckit objects: recv() and send() are coroutines.

    async with ipckit.aio.Channel("unix:/tmp/s") as ch:
        await ch.send(b"ping")
        print(await ch.recv())

    async for msg in ipckit.aio.Subscriber("/feed", timeout=5):
        ...

They wait with the running loop's add_reader()/add_writer() on the
object's descriptor: no thread per object. Opening (the constructor) runs
synchronously: pass timeout=0 to fail at once rather than block the loop.
"""

from . import Channel as _Channel
from . import Subscriber as _Subscriber

__all__ = ["Channel", "Subscriber"]


class _Wrap:
    __slots__ = ("sync",)

    def fileno(self):
        return self.sync.fileno()

    def close(self):
        self.sync.close()

    @property
    def closed(self):
        return self.sync.closed

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.sync.close()
        return False

    def __aiter__(self):
        return self.sync.__aiter__()


class Channel(_Wrap):
    """ipckit.Channel whose recv() and send() are coroutines (same arguments)."""

    __slots__ = ()

    def __init__(self, url, **kw):
        self.sync = _Channel(url, **kw)

    async def recv(self, timeout=None):
        return await self.sync.arecv(timeout)

    async def send(self, data, *, tag=0, timeout=None):
        return await self.sync.asend(data, tag=tag, timeout=timeout)

    @property
    def url(self):
        return self.sync.url


class Subscriber(_Wrap):
    """ipckit.Subscriber whose recv() and recv_batch() are coroutines."""

    __slots__ = ()

    def __init__(self, name, **kw):
        self.sync = _Subscriber(name, **kw)

    async def recv(self, timeout=None):
        return await self.sync.arecv(timeout)

    async def recv_batch(self, max=64, timeout=None):
        return await self.sync.arecv_batch(max, timeout)

    @property
    def lost(self):
        return self.sync.lost
