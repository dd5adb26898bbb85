#!/usr/bin/env python3
"""System calls per GiB relayed (iperf3) or per connection (wrk), counted with strace: Strait against HAProxy.

  bulk-syscalls.py [--workload iperf|wrk] [--proxies strait,haproxy-splice] [--jar JAR] [--java-opts OPTS]
                   [--route-option 'KEY: VALUE' ...] [--config-option 'KEY: VALUE' ...]
                   [--haproxy-backlog N] [--haproxy-pipesize SIZE]
                   iperf: [--bytes 4G] [--warmup-bytes 1G] [--sample-bytes 256M] [--reverse]
                   wrk:   [--wrk-conns 50] [--wrk-seconds 10] [--warmup-seconds 5]

iperf (the default): an `iperf3 -s` backend and each proxy in turn on loopback. Per proxy: one unrecorded
`iperf3 -c -n --warmup-bytes` through it (JIT, pools); then `strace -c -f -p PID` on the proxy while one
`iperf3 -c -n --bytes` stream runs (client -> proxy -> server; --reverse: iperf3 -R, server -> client); then
`strace -f -y -e trace=splice -p PID` while `iperf3 -n --sample-bytes` runs, which gives the size of each splice(2)
call, socket -> pipe ("in") and pipe -> socket ("out"), told apart by the descriptors strace -y names. Prints each
syscall per GiB (and per 64 KiB in brackets), the epoll wake-ups (epoll_wait, epoll_pwait, epoll_pwait2 calls), then
the splice sizes: calls, mean and median bytes moved, a histogram, and the lengths asked. Counts, not times; but how
many bytes wait per wake-up depends on how fast each side runs, and strace slows the proxy, so treat the splice sizes
as what a slowed proxy sees.

wrk: nginx serving a 0.6 KB page (as bench/run's wrk workload), `wrk -t 2 -c --wrk-conns -H 'Connection: close'`
for --wrk-seconds through each proxy under `strace -c -f`, after --warmup-seconds unrecorded; divides each count by
wrk's request count (one connection each) and prints `nstat -az TcpExtListenOverflows TcpExtListenDrops` deltas over
the counted run (machine-wide counters: other processes' listeners count too).

Proxies (--proxies, comma-separated): `strait` (java --java-opts -jar --jar, one route from a config file: the
defaults of --listen/--backend, plus each --route-option as a route key, e.g. 'writeBufferWaterMark: {high: 128KiB}',
and each --config-option as a top-level key, e.g. 'splice: off' or 'backlog: 128'); `haproxy` (mode tcp, copying);
`haproxy-splice` (option splice-request and splice-response); `haproxy-splice-auto` (option splice-auto). HAProxy
runs with nbthread 2, `backlog --haproxy-backlog` and, with --haproxy-pipesize, `tune.pipesize` (F_SETPIPE_SZ on
its pipes; otherwise the kernel's 64 KiB). Ports come from the OS. Needs strace, plus iperf3 (iperf) or wrk, nginx
and nstat (wrk), and haproxy for the HAProxy kinds. Every process it starts is stopped when it exits.

  bench/bulk-syscalls.py                                        # Strait (splice: auto) vs HAProxy splice, 4 GiB
  bench/bulk-syscalls.py --proxies strait,haproxy --config-option 'splice: off'   # the copy path
  bench/bulk-syscalls.py --proxies haproxy-splice --haproxy-pipesize 1M           # what a 1 MiB pipe buys
  bench/bulk-syscalls.py --workload wrk --proxies strait,haproxy --config-option 'backlog: 128'
"""
import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from syscount import free_port, haproxy_config, parse_counts, wait_listen

GIB = 1 << 30
SOCKET_CALLS = (
    "accept", "accept4", "socket", "connect", "getsockname", "getpeername", "getsockopt", "setsockopt",
    "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "read", "write", "readv", "writev", "recvfrom",
    "sendto", "recvmsg", "sendmsg", "shutdown", "close", "fcntl", "ioctl", "splice", "pipe2",
)
WAKEUPS = ("epoll_wait", "epoll_pwait", "epoll_pwait2")
SPAWNED = []


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text.upper())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def spawn(cmd, log):
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    SPAWNED.append(proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_backend(args, work):
    port = free_port()
    if args.workload == "iperf":
        proc = spawn(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)], open(os.path.join(work, "iperf3-s.log"), "w"))
        wait_listen(port, proc)
        return proc, port
    d = os.path.join(work, "nginx")
    os.makedirs(os.path.join(d, "www"))
    os.chmod(work, 0o755)  # nginx's workers (not root) read the page
    with open(os.path.join(d, "www", "index.html"), "w") as f:
        f.write("<!doctype html><title>strait bench</title><p>" + "x" * 512 + "</p>\n")
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"""daemon off;
worker_processes auto;
worker_rlimit_nofile 16384;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 8000; }}
http {{
    access_log off;
    default_type text/html;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {d}/www;
    }}
}}
""")
    proc = spawn(["nginx", "-p", d, "-e", os.path.join(d, "error.log"), "-c", os.path.join(d, "nginx.conf")],
                 open(os.path.join(work, "nginx.log"), "w"))
    wait_listen(port, proc)
    return proc, port


def start_proxy(kind, args, backend, work):
    port = free_port()
    if kind == "strait":
        cfg = os.path.join(work, "strait.yaml")
        with open(cfg, "w") as f:
            f.writelines(f"{option}\n" for option in args.config_option)
            f.write(f"routes:\n  - listen: 127.0.0.1:{port}\n    backends: [127.0.0.1:{backend}]\n")
            f.writelines(f"    {option}\n" for option in args.route_option)
        cmd = ["java", *args.java_opts.split(), "-jar", args.jar, "--config", cfg]
    elif kind.startswith("haproxy"):
        splice = {"haproxy": [], "haproxy-splice": ["option splice-request", "option splice-response"],
                  "haproxy-splice-auto": ["option splice-auto"]}.get(kind)
        if splice is None:
            sys.exit(f"unknown proxy {kind}")
        cfg = os.path.join(work, kind + ".cfg")
        haproxy_config(cfg, port, backend,
                       global_lines=[f"tune.pipesize {args.haproxy_pipesize}"] if args.haproxy_pipesize else [],
                       listen_lines=[f"backlog {args.haproxy_backlog}", *splice])
        cmd = ["haproxy", "-db", "-f", cfg]
    else:
        sys.exit(f"unknown proxy {kind}")
    proc = spawn(cmd, open(os.path.join(work, kind + ".log"), "w"))
    wait_listen(port, proc)
    return proc, port


def iperf(port, nbytes, reverse):
    cmd = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n", str(nbytes)] + (["-R"] if reverse else [])
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900, text=True)
    if r.returncode != 0:
        sys.exit("iperf3 failed:\n" + r.stdout[-2000:])


def wrk(port, conns, seconds):
    cmd = ["wrk", "-t", "2", "-c", str(conns), "-d", f"{seconds}s", "-H", "Connection: close",
           f"http://127.0.0.1:{port}/index.html"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 60, text=True)
    m = re.search(r"(\d+) requests in", r.stdout)
    if r.returncode != 0 or not m:
        sys.exit("wrk failed:\n" + r.stdout[-2000:])
    errors = re.search(r"Socket errors:.*|Non-2xx.*", r.stdout)
    return int(m.group(1)), errors.group(0) if errors else ""


def strace(pid, out, *extra):
    proc = subprocess.Popen(["strace", "-f", "-o", out, *extra, "-p", str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(2)  # strace attaches to every thread
    return proc


def detach(proc):
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)


def fd_kinds(pid):
    kinds = {}
    d = f"/proc/{pid}/fd"
    for fd in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        kinds[int(fd)] = "pipe" if target.startswith("pipe:") else "socket" if target.startswith("socket:") else "other"
    return kinds


SPLICE = re.compile(r"splice\((\d+)(?:<(\w+):[^>]*>)?, [^,]+, (\d+)(?:<(\w+):[^>]*>)?, [^,]+, (\d+),[^)]*\)\s+= (-?\d+)")


def parse_splices(path, kinds):
    """{direction: [returned sizes]} and {direction: [asked lengths]}, EAGAINs as 0."""
    sizes, asked, pending = collections.defaultdict(list), collections.defaultdict(list), {}
    with open(path) as f:
        for line in f:
            pid, _, rest = line.partition(" ")
            if rest.endswith("<unfinished ...>\n"):
                pending[pid] = rest.split(" <unfinished")[0]
                continue
            if "resumed>" in rest:
                rest = pending.pop(pid, "") + rest.split("resumed>", 1)[1]
            m = SPLICE.search(rest)
            if not m:
                continue
            length, ret = int(m.group(5)), int(m.group(6))
            k_in = m.group(2) or kinds.get(int(m.group(1)), "?")  # strace -y names the descriptor's kind
            k_out = m.group(4) or kinds.get(int(m.group(3)), "?")
            direction = "in" if k_out == "pipe" else "out" if k_in == "pipe" else f"{k_in}->{k_out}"
            sizes[direction].append(max(ret, 0))
            asked[direction].append(length)
    return sizes, asked


BUCKETS = ((0, "EAGAIN/0"), (4095, "1 B-4 KiB"), (16383, "4-16 KiB"), (32767, "16-32 KiB"), (65535, "32-64 KiB"),
           (65536, "64 KiB"), (1 << 62, "> 64 KiB"))


def splice_summary(sizes, asked):
    lines = []
    for direction in sorted(sizes):
        got = sizes[direction]
        moved = [s for s in got if s > 0]
        hist = collections.Counter()
        for s in got:
            hist[next(label for top, label in BUCKETS if s <= top)] += 1
        shares = ", ".join(f"{label} {hist[label] / len(got):.0%}" for _, label in BUCKETS if hist[label])
        asks = collections.Counter(asked[direction]).most_common(2)
        lines.append(f"| {direction} | {len(got)} | {sum(moved) / max(len(moved), 1) / 1024:.1f} KiB | "
                     f"{sorted(moved)[len(moved) // 2] / 1024 if moved else 0:.1f} KiB | {shares} | "
                     + ", ".join(f"{a} ({c})" for a, c in asks) + " |")
    return lines


def nstat():
    r = subprocess.run(["nstat", "-az", "TcpExtListenOverflows", "TcpExtListenDrops"], stdout=subprocess.PIPE,
                       text=True)
    return {p[0]: int(p[1]) for p in (line.split() for line in r.stdout.splitlines()) if len(p) >= 2
            and p[0].startswith("TcpExt")}


def run_kind(kind, args, backend, work):
    proc, port = start_proxy(kind, args, backend, work)
    out = os.path.join(work, kind + ".strace")
    try:
        if args.workload == "iperf":
            iperf(port, args.warmup_bytes, args.reverse)
            time.sleep(1)
            tracer = strace(proc.pid, out, "-c")
            iperf(port, args.bytes, args.reverse)
            detach(tracer)
            counts = parse_counts(out)
            sample = os.path.join(work, kind + ".splices")
            tracer = strace(proc.pid, sample, "-y", "-e", "trace=splice")
            client = subprocess.Popen(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n", str(args.sample_bytes)]
                                      + (["-R"] if args.reverse else []), stdout=subprocess.DEVNULL)
            kinds = {}
            while client.poll() is None:  # the connection's descriptors, in case strace -y did not name them
                kinds.update(fd_kinds(proc.pid))
                time.sleep(0.05)
            detach(tracer)
            splices = parse_splices(sample, kinds)
            return counts, args.bytes / GIB, splices, None
        wrk(port, args.wrk_conns, args.warmup_seconds)
        time.sleep(1)
        before = nstat()
        tracer = strace(proc.pid, out, "-c")
        conns, errors = wrk(port, args.wrk_conns, args.wrk_seconds)
        detach(tracer)
        after = nstat()
        drops = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        return parse_counts(out), conns, None, (drops, errors)
    finally:
        stop(proc)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=("iperf", "wrk"), default="iperf")
    p.add_argument("--proxies", default="strait,haproxy-splice")
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--jar", default=os.path.join(here, "..", "proxy-server", "target", "proxy-server.jar"))
    p.add_argument("--java-opts", default="-Xms256m -Xmx256m -XX:+AlwaysPreTouch")
    p.add_argument("--route-option", action="append", default=[], help="a route key for Strait, e.g. 'deferAccept: 1s'")
    p.add_argument("--config-option", action="append", default=[],
                   help="a top-level key for Strait, e.g. 'splice: off' or 'backlog: 128'")
    p.add_argument("--haproxy-backlog", type=int, default=1024)
    p.add_argument("--haproxy-pipesize", type=parse_size, default=0,
                   help="HAProxy's tune.pipesize (F_SETPIPE_SZ on its pipes); default: the kernel's 64 KiB")
    p.add_argument("--bytes", type=parse_size, default=parse_size("4G"))
    p.add_argument("--warmup-bytes", type=parse_size, default=parse_size("1G"))
    p.add_argument("--sample-bytes", type=parse_size, default=parse_size("256M"))
    p.add_argument("--reverse", action="store_true", help="iperf3 -R: the bulk goes server -> client")
    p.add_argument("--wrk-conns", type=int, default=50)
    p.add_argument("--wrk-seconds", type=int, default=10)
    p.add_argument("--warmup-seconds", type=int, default=5)
    args = p.parse_args()
    need = ["strace"] + (["iperf3"] if args.workload == "iperf" else ["wrk", "nginx", "nstat"])
    need += ["haproxy"] if "haproxy" in args.proxies else []
    missing = [t for t in need if not shutil.which(t)]
    if missing:
        sys.exit("missing: " + " ".join(missing))
    work = tempfile.mkdtemp(prefix="strait-bulk.")
    backend_proc, backend = start_backend(args, work)
    kinds = args.proxies.split(",")
    try:
        results = {k: run_kind(k, args, backend, work) for k in kinds}
    finally:
        stop(backend_proc)
    unit = "GiB" if args.workload == "iperf" else "connection"
    if args.workload == "iperf":
        print(f"per GiB ({args.bytes / GIB:g} GiB, one iperf3 stream{' -R' if args.reverse else ''}), strace -c -f; "
              "in brackets: per 64 KiB\n")
    else:
        print("per connection (" + ", ".join(f"{k}: {results[k][1]} conns" for k in kinds)
              + f"; wrk -c{args.wrk_conns} Connection: close), strace -c -f\n")
    print("| syscall | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    names = sorted({n for r in results.values() for n in r[0]}, key=lambda n: (n not in SOCKET_CALLS, n))
    totals, wakeups = dict.fromkeys(kinds, 0.0), dict.fromkeys(kinds, 0.0)
    for n in names:
        cells, show = [], False
        for k in kinds:
            c, e = results[k][0].get(n, (0, 0))
            per = c / results[k][1]
            totals[k] += per
            wakeups[k] += per if n in WAKEUPS else 0
            show |= per >= (0.5 if args.workload == "iperf" else 0.05)
            cell = f"{per:.0f}" if args.workload == "iperf" else f"{per:.2f}"
            if args.workload == "iperf":
                cell += f" ({per / 16384:.2f})"
            cells.append(cell + (f" ({e / results[k][1]:.{0 if args.workload == 'iperf' else 2}f} err)" if e else ""))
        if show:
            print(f"| {n} | " + " | ".join(cells) + " |")
    fmt = (lambda v: f"{v:.0f} ({v / 16384:.2f})") if args.workload == "iperf" else (lambda v: f"{v:.2f}")
    print("| epoll wake-ups (epoll_wait/pwait/pwait2) | " + " | ".join(fmt(wakeups[k]) for k in kinds) + " |")
    print("| **total** | " + " | ".join(f"**{fmt(totals[k])}**" for k in kinds) + " |")
    if args.workload == "iperf":
        print(f"\nsplice(2) sizes, strace -e trace=splice over {args.sample_bytes >> 20} MiB "
              "(in: socket -> pipe, out: pipe -> socket)\n")
        print("| proxy, direction | calls | mean moved | median moved | distribution | length asked (calls) |")
        print("|---|---|---|---|---|---|")
        for k in kinds:
            for line in splice_summary(*results[k][2]):
                print(line.replace("| ", f"| {k} ", 1))
    else:
        print()
        for k in kinds:
            drops, errors = results[k][3]
            print(f"- {k}: nstat during the counted run: "
                  + ", ".join(f"{n} +{v}" for n, v in sorted(drops.items())) + (f"; wrk: {errors}" if errors else ""))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        for proc in SPAWNED:
            stop(proc)
