"""What bench/conn-syscalls.py and bench/bulk-syscalls.py share: a free loopback port, waiting for a listener, the
HAProxy relay they compare against, and the table that `strace -c` writes."""
import socket
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Whether something listens on 127.0.0.1:port, from /proc/net/tcp (a test connection would reach the backend,
    and iperf3 -s takes one for a test)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):  # Netty's epoll listener is an IPv6 socket
        with open(table) as f:
            if any(p[1].endswith(f":{port:04X}") and p[3] == "0A" for p in (line.split() for line in f)):
                return True
    return False


def wait_listen(port, proc, deadline=120):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} exited with {proc.returncode}")
        if listening(port):
            return
        time.sleep(0.1)
    sys.exit(f"{proc.args[0]} did not listen on {port} within {deadline}s")


def parse_counts(path):
    """`strace -c -o PATH`'s table: {syscall: (calls, errors)}."""
    calls = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if len(parts) >= 5 and parts[-1] != "total" and parts[3].isdigit():
                calls[parts[-1]] = (int(parts[3]), int(parts[4]) if len(parts) == 6 else 0)
    return calls


def haproxy_config(path, port, backend, threads=2, global_lines=(), listen_lines=()):
    """Writes an HAProxy `mode tcp` relay from 127.0.0.1:port to 127.0.0.1:backend to path (bench/lib.sh's
    settings), with extra lines for its global and listen sections."""
    extra_global = "".join(f"    {line}\n" for line in global_lines)
    extra_listen = "".join(f"    {line}\n" for line in listen_lines)
    with open(path, "w") as f:
        f.write(f"""global
    maxconn 4000
    nbthread {threads}
{extra_global}defaults
    mode tcp
    timeout connect 5s
    timeout client 10m
    timeout server 10m
listen relay
    bind 127.0.0.1:{port}
{extra_listen}    server backend 127.0.0.1:{backend}
""")
