#!/usr/bin/env python3
# The plots half of bench/compare.sh: reads the raw JSON in bench/results-latest/ and writes SVGs a
# reader would rather look at than read: delivered/s per workload against each peer
# (throughput.svg, log scale), and latency percentile curves without coordinated omission
# (latency-1to1.svg, latency-1to100.svg: p50 … max at each measured rate). Usage: DIR OUT_DIR.

import glob
import json
import os
import re
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
import matplotlib.ticker  # noqa: E402

source, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
runs = {}
for path in glob.glob(os.path.join(source, "run-*.json")):
    m = re.match(r"run-(crossbar|fastbroker|fastbrokerL2|nats)-(rs|ws|rss|wss|nats)-(json|msgpack)-(.+)-(\d+)\.json$", os.path.basename(path))
    if m:
        with open(path) as f:
            runs.setdefault(m.groups()[:4], []).append(json.load(f))

BROKERS = [("fastbroker", "FastBroker", "#1f77b4"), ("nats", "nats-server", "#2ca02c"), ("crossbar", "Crossbar", "#d62728")]


def median_run(broker, tag, key):
    transport = "nats" if broker == "nats" else "rs"
    ok = [r for r in runs.get((broker, transport, "json", tag), []) if r["status"] == "ok"]
    if not ok:
        return None
    ok.sort(key=key)
    return ok[len(ok) // 2]


# --- Throughput per workload ------------------------------------------------------------------------
tags = ["1to1", "fanout", "nton", "shared", "filters", "conn10k", "topics100k", "p16", "p1k", "p64k",
        "fanoutp16", "fanoutp1k", "fanoutp64k", "prefix", "wildcard", "cross"]
labels = {"1to1": "1→1", "fanout": "1→100", "nton": "16→16", "shared": "shared group", "filters": "filters",
          "conn10k": "10k conns", "topics100k": "100k topics", "p16": "1→1 16 B", "p1k": "1→1 1 KiB", "p64k": "1→1 64 KiB",
          "fanoutp16": "1→100 16 B", "fanoutp1k": "1→100 1 KiB", "fanoutp64k": "1→100 64 KiB", "prefix": "prefix",
          "wildcard": "wildcard", "cross": "JSON→msgpack"}
present = [t for t in tags if any(median_run(b, t, lambda r: r["delivered_per_s"]) for b, _, _ in BROKERS)]
if present:
    fig, ax = plt.subplots(figsize=(max(8, len(present) * 0.9), 4.5))
    width = 0.8 / len(BROKERS)
    for i, (broker, name, colour) in enumerate(BROKERS):
        values = []
        for t in present:
            r = median_run(broker, t, lambda r: r["delivered_per_s"])
            values.append(r["delivered_per_s"] if r else 0)
        ax.bar([x + (i - 1) * width for x in range(len(present))], values, width, label=name, color=colour)
    ax.set_yscale("log")
    ax.set_ylabel("events delivered per second (median run, log scale)")
    ax.set_xticks(range(len(present)))
    ax.set_xticklabels([labels[t] for t in present], rotation=35, ha="right")
    ax.legend()
    ax.set_title("Throughput per workload (same load tool, same machine)")
    fig.tight_layout()
    fig.savefig(os.path.join(target, "throughput.svg"))
    plt.close(fig)

# --- Latency percentile curves --------------------------------------------------------------------
percentiles = [("p50", 50), ("p99", 99), ("p99_9", 99.9), ("max", 100)]
for subscribers in ("1", "100"):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for broker, name, colour in BROKERS:
        for point, style in (("5k", "-"), ("50", "--"), ("90", ":")):
            r = median_run(broker, f"lat{subscribers}@{point}", lambda r: r["latency_us"]["p99"])
            if not r:
                continue
            xs = [1 / (1 - p / 100) if p < 100 else 1e4 for _, p in percentiles]   # 2, 100, 1000, "max"
            ys = [r["latency_us"][k] for k, _ in percentiles]
            ax.plot(xs, ys, style, marker="o", color=colour, label=f"{name} at {r['rate']:,}/s")
            drawn = True
    if not drawn:
        plt.close(fig)
        continue
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([2, 100, 1000, 1e4])
    ax.set_xticklabels(["p50", "p99", "p99.9", "max"])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_ylabel("latency, µs (scheduled send → last subscriber)")
    ax.set_title(f"Latency without coordinated omission, 1→{subscribers}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(os.path.join(target, f"latency-1to{subscribers}.svg"))
    plt.close(fig)
print(f"plots written to {target}")
