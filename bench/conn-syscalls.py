#!/usr/bin/env python3
"""System calls per proxied connection, counted with strace -c: Strait against HAProxy (mode tcp).

  conn-syscalls.py [--proxies strait,haproxy] [--conns N] [--warmup N] [--jar JAR] [--java-opts OPTS]
                   [--strait-args ARGS] [--route-option 'KEY: VALUE' ...] [--first-byte-delay-ms MS]

For each proxy: start a loopback echo backend (this process, a thread) and the proxy, run --warmup connections
(JIT, pools), attach `strace -c -f -p PID`, run --conns connections one after another (connect, send 16 bytes,
read the echo, close: the client closes first, as a PHP or health-check client does), detach, and divide each
syscall's count by N. Counts, not times: they do not depend on a loaded machine. Prints one markdown table with a
column per proxy. A JVM also makes calls of its own (GC and compiler threads: futex, sched_yield, ...), listed
after the socket calls; rows under 0.05 per connection in every column are left out.

Strait runs with one route from flags (--listen/--backend); with --route-option (repeatable, e.g.
--route-option 'deferAccept: 1s') it runs from a config file holding that one route with these keys added, which
has the same defaults. --first-byte-delay-ms makes each client wait that long after its connect before it sends.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from syscount import free_port, haproxy_config, parse_counts, wait_listen

STEP_TIMEOUT = 10
PAYLOAD = b"0123456789abcdef"
SOCKET_CALLS = (
    "accept", "accept4", "socket", "connect", "bind", "listen", "getsockname", "getpeername", "getsockopt",
    "setsockopt", "epoll_ctl", "epoll_wait", "epoll_pwait", "read", "write", "readv", "writev", "recvfrom",
    "sendto", "recvmsg", "sendmsg", "shutdown", "close", "fcntl", "ioctl", "splice", "pipe2",
)


def echo_backend():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1024)

    def serve(conn):
        with conn:
            conn.settimeout(STEP_TIMEOUT)
            try:
                while data := conn.recv(4096):
                    conn.sendall(data)
            except OSError:
                pass

    def accept_loop():
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    return srv.getsockname()[1]


def connections(port, n, delay=0.0):
    for _ in range(n):
        with socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT) as c:
            if delay:
                time.sleep(delay)  # a client that thinks before its first bytes (what deferAccept is for)
            c.sendall(PAYLOAD)
            got = b""
            while len(got) < len(PAYLOAD):
                chunk = c.recv(4096)
                if not chunk:
                    raise SystemExit("proxy closed before the echo came back")
                got += chunk
            if got != PAYLOAD:
                raise SystemExit("echo differs")


def start_proxy(kind, args, backend, work):
    port = free_port()
    if kind == "strait":
        if args.route_option:
            cfg = os.path.join(work, "strait.yaml")
            with open(cfg, "w") as f:
                f.write(f"routes:\n  - listen: 127.0.0.1:{port}\n    backends: [127.0.0.1:{backend}]\n")
                f.writelines(f"    {option}\n" for option in args.route_option)
            route = ["--config", cfg]
        else:
            route = ["--listen", f"127.0.0.1:{port}", "--backend", f"127.0.0.1:{backend}"]
        cmd = ["java", *args.java_opts.split(), "-jar", args.jar, *route, *args.strait_args.split()]
    elif kind == "haproxy":
        cfg = os.path.join(work, "haproxy.cfg")
        haproxy_config(cfg, port, backend, threads=args.haproxy_threads)
        cmd = ["haproxy", "-db", "-f", cfg]
    else:
        sys.exit(f"unknown proxy {kind}")
    log = open(os.path.join(work, kind + ".log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    wait_listen(port, proc)
    return proc, port


def count(kind, args, backend, work):
    proc, port = start_proxy(kind, args, backend, work)
    try:
        connections(port, args.warmup, args.first_byte_delay_ms / 1000)
        time.sleep(1)  # let the warm-up's closes finish before counting
        out = os.path.join(work, kind + ".strace")
        strace = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(proc.pid)],
                                  stderr=subprocess.DEVNULL)
        time.sleep(2)  # strace attaches to every thread
        connections(port, args.conns, args.first_byte_delay_ms / 1000)
        time.sleep(1)  # the last closes
        strace.send_signal(signal.SIGINT)
        strace.wait(timeout=30)
        return parse_counts(out)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--proxies", default="strait,haproxy")
    p.add_argument("--conns", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=3000)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--jar", default=os.path.join(here, "..", "proxy-server", "target", "proxy-server.jar"))
    p.add_argument("--java-opts", default="-Xms256m -Xmx256m -XX:+AlwaysPreTouch")
    p.add_argument("--strait-args", default="")
    p.add_argument("--route-option", action="append", default=[],
                   help="a route key for Strait's one route, as YAML: 'deferAccept: 1s' (repeatable)")
    p.add_argument("--first-byte-delay-ms", type=float, default=0,
                   help="each client waits this long between its connect and its 16 bytes")
    p.add_argument("--haproxy-threads", type=int, default=2)
    args = p.parse_args()
    if not shutil.which("strace"):
        sys.exit("strace is missing: apt-get install strace")
    backend = echo_backend()
    kinds = args.proxies.split(",")
    work = tempfile.mkdtemp(prefix="strait-syscalls.")
    results = {k: count(k, args, backend, work) for k in kinds}
    names = sorted({n for r in results.values() for n in r})
    names.sort(key=lambda n: (n not in SOCKET_CALLS, n))
    print(f"per connection, {args.conns} connections (connect, 16-byte echo, client closes), strace -c -f\n")
    print("| syscall | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    totals = dict.fromkeys(kinds, 0.0)
    for n in names:
        per = [results[k].get(n, (0, 0)) for k in kinds]
        if all(c / args.conns < 0.05 for c, _ in per):
            continue
        cells = []
        for k, (c, e) in zip(kinds, per):
            totals[k] += c / args.conns
            cells.append(f"{c / args.conns:.2f}" + (f" ({e / args.conns:.2f} err)" if e else ""))
        print(f"| {n} | " + " | ".join(cells) + " |")
    print("| **total** | " + " | ".join(f"**{totals[k]:.1f}**" for k in kinds) + " |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
