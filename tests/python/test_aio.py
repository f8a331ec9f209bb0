"""asyncio: `async for` over a subscriber, `await ch.recv()` on channels,
through the loop's reader on the object's descriptor, without a thread
per object."""

import asyncio
import threading

import pytest

import ipckit
import ipckit.aio


def test_async_for_subscriber(name):
    async def main():
        with ipckit.Publisher(name) as pub, ipckit.Subscriber(name) as sub:
            threads = threading.active_count()
            got = []

            async def consume():
                async for m in sub:
                    got.append(m)
                    if len(got) == 5:
                        break

            task = asyncio.ensure_future(consume())
            await asyncio.sleep(0)
            for i in range(5):
                pub.publish(b"%d" % i)
                await asyncio.sleep(0.001)
            await asyncio.wait_for(task, 5)
            assert got == [b"0", b"1", b"2", b"3", b"4"]
            assert threading.active_count() == threads  # no Python thread
            with pytest.raises(asyncio.TimeoutError):
                await sub.arecv(0.05)

    asyncio.run(main())


def test_async_iteration_ends_with_the_publisher(name):
    async def main():
        pub = ipckit.Publisher(name)
        async with ipckit.aio.Subscriber(name) as sub:
            for i in range(3):
                pub.publish(b"%d" % i)
            pub.close()
            return [m async for m in sub]

    assert asyncio.run(main()) == [b"0", b"1", b"2"]


def test_await_channel_recv(tmp):
    url = "unix:%s/a" % tmp

    async def main():
        lst = ipckit.Listener(url)
        async with ipckit.aio.Channel(url, timeout=5) as cl:
            srv = ipckit.aio.Channel.__new__(ipckit.aio.Channel)
            srv.sync = lst.accept(5)
            waiter = asyncio.ensure_future(srv.recv())
            await asyncio.sleep(0.01)
            assert not waiter.done()
            await cl.send(b"hello")
            assert await asyncio.wait_for(waiter, 5) == b"hello"
            # many concurrent waiters on one loop, each on its own fd
            pairs = [ipckit.Channel.pipe() for _ in range(20)]
            tasks = [asyncio.ensure_future(r.arecv(5)) for r, _ in pairs]
            for i, (_, w) in enumerate(pairs):
                await w.asend(b"%d" % i)
            assert await asyncio.gather(*tasks) == [b"%d" % i for i in range(20)]
            for r, w in pairs:
                r.close()
                w.close()
            srv.close()
        lst.close()

    asyncio.run(main())


def test_asend_waits_for_room():
    async def main():
        r, w = ipckit.Channel.pipe("pipe:?pipesize=4096&msgsize=8192")
        n = 0
        while True:
            try:
                w.send(b"x" * 1000, timeout=0)
                n += 1
            except BlockingIOError:
                break
        sender = asyncio.ensure_future(w.asend(b"L" * 1000))
        await asyncio.sleep(0.01)
        assert not sender.done()  # the pipe is full
        for _ in range(n):
            await r.arecv(5)
        await asyncio.wait_for(sender, 5)
        assert await r.arecv(5) == b"L" * 1000
        r.close()
        w.close()

    asyncio.run(main())
