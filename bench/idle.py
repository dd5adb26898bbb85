#!/usr/bin/env python3
"""Loopback peers for bench/idle-memory.

  idle.py server PORT [--lifetime S]          echo server on 127.0.0.1:PORT, exits after S seconds (default 900)
  idle.py client PORT N --ready FILE [--hold S]
      opens N connections to 127.0.0.1:PORT, checks each with a one-byte echo, writes
      "<open> <failed> <first error>" to FILE, then holds them idle for S seconds (default 300) or until SIGTERM
"""
import argparse
import asyncio
import os
import signal

CONCURRENT_CONNECTS = 200
STEP_TIMEOUT = 10


async def server(port, lifetime):
    async def echo(reader, writer):
        try:
            while data := await reader.read(4096):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(echo, "127.0.0.1", port, backlog=4096)
    async with srv:
        await asyncio.sleep(lifetime)


async def client(port, n, ready, hold):
    gate = asyncio.Semaphore(CONCURRENT_CONNECTS)
    held = []

    async def open_one():
        async with gate:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), STEP_TIMEOUT)
            held.append(writer)
            writer.write(b"x")
            await writer.drain()
            if await asyncio.wait_for(reader.readexactly(1), STEP_TIMEOUT) != b"x":
                raise ValueError("wrong echo")

    results = await asyncio.gather(*(open_one() for _ in range(n)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    first = f"{type(errors[0]).__name__}: {errors[0]}" if errors else ""
    with open(ready + ".tmp", "w") as f:
        f.write(f"{n - len(errors)} {len(errors)} {first}\n")
    os.rename(ready + ".tmp", ready)  # the reader never sees a half-written file
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), hold)
    except asyncio.TimeoutError:
        pass
    for writer in held:
        writer.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    s.add_argument("--lifetime", type=float, default=900)
    c = sub.add_parser("client")
    c.add_argument("port", type=int)
    c.add_argument("n", type=int)
    c.add_argument("--ready", required=True)
    c.add_argument("--hold", type=float, default=300)
    a = ap.parse_args()
    if a.cmd == "server":
        asyncio.run(server(a.port, a.lifetime))
    else:
        asyncio.run(client(a.port, a.n, a.ready, a.hold))


if __name__ == "__main__":
    main()
