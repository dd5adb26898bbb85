#!/usr/bin/env python3
"""Loopback peers for bench/slow-readers.

  slow.py server PORT --stats FILE [--lifetime S] [--sndbuf B]
      on 127.0.0.1:PORT, writes to every accepted connection as fast as the socket takes it and never reads;
      every 0.5 s rewrites FILE with "<accepted> <open> <bytes to open connections> <min> <median> <max>"
      (bytes written per open connection); exits after S seconds (default 900)
  slow.py client PORT N --ready FILE [--hold S] [--rcvbuf B] [--tls] [--concurrency C] [--step-timeout S]
      opens N connections to 127.0.0.1:PORT with SO_RCVBUF B (default 4096) and never reads from them (--tls: each
      completes a TLS handshake first, without verifying the certificate, then reads nothing more);
      writes "<open> <failed> <first error>" to FILE, then holds them for S seconds (default 300) or until SIGTERM
"""
import argparse
import asyncio
import os
import selectors
import signal
import socket
import ssl
import statistics
import time

CHUNK = b"\x5a" * 65536
CONCURRENT_CONNECTS = 200
STEP_TIMEOUT = 10


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)  # the reader never sees a half-written file


def server(port, stats, lifetime, sndbuf):
    sel = selectors.DefaultSelector()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(4096)
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ)
    sent = {}  # open socket -> bytes written to it
    accepted = 0
    deadline = time.monotonic() + lifetime
    next_stats = 0.0
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    while not stop and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            if s is lsock:
                for _ in range(256):
                    try:
                        c, _ = lsock.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    if sndbuf:
                        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
                    sel.register(c, selectors.EVENT_WRITE)
                    sent[c] = 0
                    accepted += 1
                continue
            try:
                while True:  # until the socket's send buffer is full
                    n = s.send(CHUNK)
                    sent[s] += n
                    if n < len(CHUNK):
                        break
            except BlockingIOError:
                pass
            except OSError:  # the proxy closed or reset the connection
                sel.unregister(s)
                del sent[s]
                s.close()
        now = time.monotonic()
        if now >= next_stats:
            next_stats = now + 0.5
            v = sorted(sent.values()) or [0]
            write_atomically(
                stats, f"{accepted} {len(sent)} {sum(sent.values())} {v[0]} {int(statistics.median(v))} {v[-1]}\n")
    for s in list(sent):
        s.close()


async def wait_fd(loop, fd, writable, timeout):
    """Until fd is readable (or writable), at most timeout seconds."""
    ready = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if writable else (loop.add_reader, loop.remove_reader)
    add(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, timeout)
    finally:
        remove(fd)


async def tls_handshake(loop, s, context, timeout):
    """Wraps the connected non-blocking socket s in TLS and completes the handshake; the TLS socket."""
    t = context.wrap_socket(s, server_hostname="bench.test", do_handshake_on_connect=False)
    while True:
        try:
            t.do_handshake()
            return t
        except ssl.SSLWantReadError:
            await wait_fd(loop, t.fileno(), False, timeout)
        except ssl.SSLWantWriteError:
            await wait_fd(loop, t.fileno(), True, timeout)


async def client(port, n, ready, hold, rcvbuf, tls, concurrency, step_timeout):
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    held = []
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    async def open_one():
        async with gate:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: sets the window scale
            s.setblocking(False)
            await asyncio.wait_for(loop.sock_connect(s, ("127.0.0.1", port)), step_timeout)
            if context is not None:
                held.append(await tls_handshake(loop, s, context, step_timeout))  # the same descriptor, now TLS

    results = await asyncio.gather(*(open_one() for _ in range(n)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    first = f"{type(errors[0]).__name__}: {errors[0]}" if errors else ""
    write_atomically(ready, f"{n - len(errors)} {len(errors)} {first}\n")
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), hold)
    except asyncio.TimeoutError:
        pass
    for s in held:
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    s.add_argument("--stats", required=True)
    s.add_argument("--lifetime", type=float, default=900)
    s.add_argument("--sndbuf", type=int, default=0, help="SO_SNDBUF per connection; 0: kernel autotuning")
    c = sub.add_parser("client")
    c.add_argument("port", type=int)
    c.add_argument("n", type=int)
    c.add_argument("--ready", required=True)
    c.add_argument("--hold", type=float, default=300)
    c.add_argument("--rcvbuf", type=int, default=4096)
    c.add_argument("--tls", action="store_true", help="complete a TLS handshake on each connection first")
    c.add_argument("--concurrency", type=int, default=CONCURRENT_CONNECTS, help="connects (and handshakes) at once")
    c.add_argument("--step-timeout", type=float, default=STEP_TIMEOUT, help="seconds for a connect or a handshake step")
    a = ap.parse_args()
    if a.cmd == "server":
        server(a.port, a.stats, a.lifetime, a.sndbuf)
    else:
        asyncio.run(client(a.port, a.n, a.ready, a.hold, a.rcvbuf, a.tls, a.concurrency, a.step_timeout))


if __name__ == "__main__":
    main()
