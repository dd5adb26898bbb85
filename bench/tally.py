#!/usr/bin/env python3
"""Turns raw load-generator output into rows, and rows into the benchmark table and chart.

  tally.py record --tsv F --kind iperf|redis|pgbench|wrk|stime --test NAME --proxy P --round N [--cpu-s S] RAW
      parses RAW and appends rows "label, unit, kind, proxy, round, value" to F (exit 1 if RAW shows a failure)
  tally.py report --tsv F --header H --out PREFIX --proxies a,b,c --rounds N
      writes PREFIX.md (medians, ratio to direct, Strait/HAProxy) and PREFIX.png, prints the table
      [--baseline B]: also each row's change against baseline B (rows in the same format as F, e.g. the
      results.tsv of an earlier run), in the .md and printed

Row kinds: "rate" (higher is better, ratio to direct shown), "latency" (lower is better, ratio to direct
shown), "cpu" (proxy CPU cost, no direct value).
"""
import argparse
import csv
import json
import math
import re
import statistics
import sys
from collections import OrderedDict

GIB = 1 << 30
NAMES = {"direct": "direct", "strait": "Strait", "strait-b": "Strait B (STRAIT_JAR_B)", "haproxy": "HAProxy 2.6", "haproxy-splice": "HAProxy+splice",
         "nginx": "nginx stream", "socat": "socat", "strait-tls": "Strait TLS (OpenSSL)",
         "strait-tls-jdk": "Strait TLS (JDK)", "haproxy-tls": "HAProxy ssl", "stunnel": "stunnel4",
         "strait-tls-rsa": "Strait TLS (OpenSSL, RSA)", "strait-tls-jdk-rsa": "Strait TLS (JDK, RSA)",
         "haproxy-tls-rsa": "HAProxy ssl (RSA)"}


class Failed(Exception):
    pass


# ---------------------------------------------------------------- parsers: raw text -> [(label, unit, kind, value)]

def parse_iperf(text, test, cpu_s):
    try:
        doc = json.loads(text[text.index("{"):])
    except ValueError as e:
        raise Failed(f"not iperf3 JSON: {e}")
    if doc.get("error"):
        raise Failed(doc["error"])
    received = doc["end"]["sum_received"]
    rows = [(f"iperf3 {test}", "Gbit/s", "rate", received["bits_per_second"] / 1e9)]
    if cpu_s is not None and received["bytes"] > 0:
        rows.append((f"proxy CPU, iperf3 {test}", "CPU-s/GiB", "cpu", cpu_s / (received["bytes"] / GIB)))
    return rows


def parse_redis(text, test, cpu_s):
    lines = [l for l in text.splitlines() if l.startswith('"')]
    rows = []
    for r in csv.DictReader(lines):
        if r["test"] == "PING_INLINE":  # PING_MBULK is the same round trip in the protocol clients use
            continue
        rows.append((f"redis {r['test']} {test}", "req/s", "rate", float(r["rps"])))
        if "-P" not in test:  # a pipelined batch's latency says little about the proxy
            rows.append((f"redis {r['test']} {test} p99", "ms", "latency", float(r["p99_latency_ms"])))
    if not rows:
        raise Failed("no CSV results: " + text.strip()[-300:])
    return rows


def parse_pgbench(text, test, cpu_s):
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    lat = re.search(r"latency average = ([\d.]+) ms", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    if not tps or not lat:
        raise Failed("no tps/latency: " + text.strip()[-300:])
    if failed and int(failed.group(1)) > 0:
        raise Failed(f"{failed.group(1)} failed transactions")
    return [(f"pgbench -S {test}", "tps", "rate", float(tps.group(1))),
            (f"pgbench -S {test} latency avg", "ms", "latency", float(lat.group(1)))]


def wrk_ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def parse_wrk(text, test, cpu_s):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if not rps or not total or int(total.group(1)) == 0:
        raise Failed("no requests: " + text.strip()[-300:])
    requests = int(total.group(1))
    errors = sum(map(int, re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                                    text).groups())) if "Socket errors" in text else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(non2xx.group(1)) if non2xx else 0
    if errors > 0.01 * requests:  # fast failures would otherwise count as a high rate
        raise Failed(f"{errors} errors in {requests} requests")
    rows = [(f"wrk {test}", "new conns/s", "rate", float(rps.group(1)))]
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    if p99:
        rows.append((f"wrk {test} p99", "ms", "latency", wrk_ms(*p99.groups())))
    if cpu_s:
        rows.append((f"proxy CPU, wrk {test}", "new conns per CPU-s", "cpu", requests / cpu_s))
    return rows


def parse_stime(text, test, cpu_s):
    done = re.search(r"(\d+) connections in ([\d.]+) real seconds", text)
    if not done or int(done.group(1)) == 0:
        raise Failed("no connections: " + text.strip()[-300:])
    rows = [(f"openssl s_time {test} new connections", "conns/s", "rate",
             int(done.group(1)) / float(done.group(2)))]
    if cpu_s:
        rows.append((f"proxy CPU, s_time {test}", "new conns per CPU-s", "cpu", int(done.group(1)) / cpu_s))
    return rows


PARSERS = {"stime": parse_stime, "iperf": parse_iperf, "redis": parse_redis, "pgbench": parse_pgbench, "wrk": parse_wrk}


def record(a):
    with open(a.raw, errors="replace") as f:
        text = f.read()
    try:
        rows = PARSERS[a.kind](text, a.test, a.cpu_s)
    except (Failed, KeyError, TypeError, AttributeError) as e:
        print(f"{a.raw}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    with open(a.tsv, "a") as f:
        for label, unit, kind, value in rows:
            f.write(f"{label}\t{unit}\t{kind}\t{a.proxy}\t{a.round}\t{value:.6g}\n")
    print("  ".join(f"{label}: {fmt(value)} {unit}" for label, unit, _, value in rows))
    return 0


# ---------------------------------------------------------------- report

def fmt(v):
    """Three significant digits, k/M suffixes: 17.6, 5.71, 56.0k, 561k, 1.20M."""
    x, suffix = (v / 1e6, "M") if abs(v) >= 1e6 else (v / 1e3, "k") if abs(v) >= 1e3 else (v, "")
    digits = 0 if x == 0 else max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{digits}f}{suffix}"


def load(tsv):
    rows = OrderedDict()  # label -> {"unit", "kind", "values": {proxy: [..]}}
    with open(tsv) as f:
        for line in f:
            if line.startswith("#") or not line.strip():  # a baseline's comments
                continue
            label, unit, kind, proxy, _round, value = line.rstrip("\n").split("\t")
            row = rows.setdefault(label, {"unit": unit, "kind": kind, "values": {}})
            row["values"].setdefault(proxy, []).append(float(value))
    order = {"rate": 0, "latency": 1, "cpu": 2}  # stable: workloads keep their order within each kind
    return OrderedDict(sorted(rows.items(), key=lambda item: order[item[1]["kind"]]))


def medians(rows):
    return {label: {p: statistics.median(v) for p, v in row["values"].items()} for label, row in rows.items()}


def lower_is_better(row):
    return row["kind"] == "latency" or row["unit"].startswith("CPU-s")


def row_title(label, row):
    return f"{label}, {row['unit']}" + (" ↓" if lower_is_better(row) else "")


def table(rows, med, proxies, rounds):
    compare = "strait" in proxies and "haproxy" in proxies
    head = ["workload"] + [NAMES.get(p, p) for p in proxies] + (["Strait/HAProxy"] if compare else [])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, row in rows.items():
        m, direct = med[label], med[label].get("direct")
        cells = []
        for p in proxies:
            if p not in m:
                cells.append("-" if row["kind"] == "cpu" and p == "direct" else "fail")
                continue
            cell = fmt(m[p])
            if p != "direct" and row["kind"] != "cpu" and direct:
                cell += f" ({m[p] / direct:.2f})"
            if len(row["values"][p]) < rounds:
                cell += f" [{len(row['values'][p])}/{rounds}]"
            cells.append(cell)
        if compare:
            cells.append(f"{m['strait'] / m['haproxy']:.2f}" if m.get("strait") and m.get("haproxy") else "-")
        out.append("| " + " | ".join([row_title(label, row)] + cells) + " |")
    return "\n".join(out)


def spread(rows, proxies):
    head = ["workload"] + [NAMES.get(p, p) for p in proxies]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, row in rows.items():
        cells = []
        for p in proxies:
            v = row["values"].get(p)
            cells.append(f"{fmt(min(v))}-{fmt(max(v))}" if v else "-")
        out.append("| " + " | ".join([row_title(label, row)] + cells) + " |")
    return "\n".join(out)


def chart(rows, med, proxies, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [p for p in proxies if p != "direct"]
    panels = []  # (title, labels, {proxy: [values]}, reference line)
    for kind, title in (("rate", "throughput / rate relative to direct (higher is better)"),
                        ("latency", "latency relative to direct (lower is better)")):
        labels = [l for l, r in rows.items() if r["kind"] == kind and med[l].get("direct")]
        if labels and others:
            panels.append((title, labels, {p: [med[l].get(p, 0) / med[l]["direct"] for l in labels] for p in others}, 1))
    for unit in OrderedDict.fromkeys(r["unit"] for r in rows.values() if r["kind"] == "cpu"):
        labels = [l for l, r in rows.items() if r["kind"] == "cpu" and r["unit"] == unit]
        better = "lower" if lower_is_better(rows[labels[0]]) else "higher"
        panels.append((f"proxy CPU: {unit} ({better} is better)", labels,
                       {p: [med[l].get(p, 0) for l in labels] for p in others}, None))
    if not panels:
        return False
    heights = [0.35 * len(labels) * max(1, len(others)) * 0.45 + 1.2 for _, labels, _, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    colors = plt.get_cmap("tab10")
    for ax, (title, labels, values, ref) in zip(axes[:, 0], panels):
        width = 0.8 / max(1, len(values))
        for i, (p, vs) in enumerate(values.items()):
            ys = [y + i * width for y in range(len(labels))]
            bars = ax.barh(ys, vs, height=width, label=NAMES.get(p, p), color=colors(proxies.index(p)))
            ax.bar_label(bars, labels=[fmt(v) if v else "fail" for v in vs], fontsize=7, padding=2)
        ax.set_yticks([y + width * (len(values) - 1) / 2 for y in range(len(labels))],
                      [l.removeprefix("proxy CPU, ") for l in labels], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10, loc="left")
        if ref:
            ax.axvline(ref, color="grey", linestyle="--", linewidth=1)
        ax.margins(x=0.12)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", ncol=len(names), fontsize=8)
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / sum(heights)))
    fig.savefig(path, dpi=110)
    return True


# Differences under this are noise with 3 rounds on a shared 2-core machine (PERFORMANCE.md).
NOISE = 0.15


def strait_score(row, m):
    """Strait's figure relative to the same run, so that runs on different days compare: its ratio to direct, or
    for proxy CPU rows (no direct) its ratio to HAProxy; None when that run lacks one of the two."""
    ref = m.get("haproxy") if row["kind"] == "cpu" else m.get("direct")
    return m["strait"] / ref if m.get("strait") and ref else None


def against_baseline(rows, med, base_rows):
    """Each row's change against the baseline, as a markdown table; 'worse' past the noise, in the bad direction."""
    base_med = medians(base_rows)
    out = ["| workload | baseline | now | change | |", "|---|---|---|---|---|"]
    for label, row in rows.items():
        if label not in base_rows or "strait" not in med[label]:
            continue
        then, now = strait_score(base_rows[label], base_med[label]), strait_score(row, med[label])
        if then is None or now is None:
            continue
        change = now / then - 1
        bad = change > NOISE if lower_is_better(row) else change < -NOISE
        good = change < -NOISE if lower_is_better(row) else change > NOISE
        of = "of HAProxy" if row["kind"] == "cpu" else "of direct"
        out.append(f"| {row_title(label, row)} | {then:.2f} {of} | {now:.2f} | {change:+.0%} | "
                   f"{'**worse**' if bad else 'better' if good else ''} |")
    return "\n".join(out) if len(out) > 2 else None


def report(a):
    proxies = a.proxies.split(",")
    rows = load(a.tsv)
    if not rows:
        print("no results recorded", file=sys.stderr)
        return 1
    med = medians(rows)
    main = table(rows, med, proxies, a.rounds)
    with open(a.header) as f:
        header = f.read()
    notes = (f"Medians of {a.rounds} rounds; (ratio to direct, measured in the same minutes). ↓ lower is better, "
             "otherwise higher is better. Strait/HAProxy compares with HAProxy without splice. "
             "[k/n]: only k of n rounds succeeded; fail: none did. Proxy CPU is utime+stime of the proxy's "
             "processes over the workload, from /proc/PID/stat.")
    versus = ""
    if a.baseline:
        compared = against_baseline(rows, med, load(a.baseline))
        if compared:
            versus = (f"\n### Against the baseline\n\nStrait's ratio (to direct; proxy CPU rows: to HAProxy) in "
                      f"`{a.baseline_name or a.baseline}` and in this run. **worse**: by more than {NOISE:.0%} (noise "
                      f"with 3 rounds), in the row's bad direction.\n\n{compared}\n")
    with open(a.out + ".md", "w") as f:
        f.write(f"{header}\n{main}\n\n{notes}\n{versus}\n### Spread (min-max over rounds)\n\n"
                f"{spread(rows, proxies)}\n")
    print(main)
    if versus:
        print(versus)
    try:
        title = header.splitlines()[0].lstrip("# ") + f": medians of {a.rounds} rounds"
        drew = chart(rows, med, proxies, a.out + ".png", title)
    except ImportError:
        print("no matplotlib: no chart (apt-get install -y python3-matplotlib)", file=sys.stderr)
        return 1
    if drew:
        print(f"\nwrote {a.out}.md and {a.out}.png")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--tsv", required=True)
    r.add_argument("--kind", required=True, choices=sorted(PARSERS))
    r.add_argument("--test", required=True)
    r.add_argument("--proxy", required=True)
    r.add_argument("--round", required=True, type=int)
    r.add_argument("--cpu-s", type=float)
    r.add_argument("raw")
    p = sub.add_parser("report")
    p.add_argument("--tsv", required=True)
    p.add_argument("--header", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--proxies", required=True)
    p.add_argument("--rounds", required=True, type=int)
    p.add_argument("--baseline", help="rows to compare with (same format as --tsv)")
    p.add_argument("--baseline-name", help="how the report names the baseline (default: its path)")
    a = ap.parse_args()
    return record(a) if a.cmd == "record" else report(a)


if __name__ == "__main__":
    sys.exit(main())
