#!/usr/bin/env python3
# The report half of bench/compare.sh: reads the fastbench JSON of every run in $OUT
# (run-BROKER-TRANSPORT-SERIALIZER-TAG-REP.json), picks the median run of each cell, prints the
# tables and writes $RESULTS (bench/RESULTS.md): FastBroker vs nats-server (issue 12's rows), vs
# Crossbar (JSON), latency without coordinated omission, the workloads users run, memory per
# connection, cross-node figures (compare_report_cluster.py), MessagePack and CBOR vs JSON, TLS vs
# plaintext, loops, the exactness of the shared/filters
# workloads, issue 3's targets, and perf/callgrind.sh's latest instruction counts
# (perf/out/callgrind.*.summary.json) if present.
# Everything it needs comes from the environment compare.sh exports.

import datetime
import glob
import json
import os
import re
import statistics

from compare_report_cluster import cluster_section

env = os.environ
out, results = env["OUT"], env["RESULTS"]

# runs[(broker, transport, serializer, tag)] = [result, ...]
runs = {}
for path in sorted(glob.glob(os.path.join(out, "run-*.json"))):
    m = re.match(r"run-(crossbar|fastbroker|fastbrokerL2|nats|fbcluster|natscluster)-(rs|ws|rss|wss|nats)-(json|msgpack|cbor)-(.+)-(\d+)\.json$", os.path.basename(path))
    if not m:
        continue
    broker, transport, serializer, tag, _ = m.groups()
    with open(path) as f:
        runs.setdefault((broker, transport, serializer, tag), []).append(json.load(f))


def pick(broker, transport, serializer, tag):
    """The median run (delivered/s; p99 for latency), or the first failed one when none is ok."""
    results = runs.get((broker, transport, serializer, tag), [])
    ok = [r for r in results if r["status"] == "ok"]
    if not ok:
        return results[0] if results else None
    if tag.startswith("lat"):
        ok.sort(key=lambda r: r["latency_us"]["p99"])
        return ok[(len(ok) - 1) // 2]
    ok.sort(key=lambda r: r["delivered_per_s"])
    return ok[len(ok) // 2]


def good(r):
    return r is not None and r["status"] == "ok"


def rate(v):
    return f"{v/1e6:.2f} M/s" if v >= 1e6 else (f"{v/1e3:.1f} k/s" if v >= 1e3 else f"{v:.0f}/s")


def us(v):
    return f"{v/1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs"


def cell(r, latency=False):
    if r is None:
        return "—"
    if r["status"] == "unsupported":
        return "unsupported"
    if r["status"] != "ok":
        return "error"
    if latency:
        l = r["latency_us"]
        return f"p50 {us(l['p50'])} · p99 {us(l['p99'])} · p99.9 {us(l['p99_9'])}"
    return rate(r["delivered_per_s"])


def side(r, f):
    return f(r) if good(r) else "—"


def tool_cpu(r):
    return "%.0f%%" % r["tool_cpu_percent"]


def broker_ns(r):
    return "—" if r["broker_ns_per_event"] is None else "%.0f" % r["broker_ns_per_event"]


def others(r):
    return "—" if r.get("other_cpu_percent") is None else "%.0f%%" % r["other_cpu_percent"]


def per_cpu_second(r):
    return rate(1e9 / r["broker_ns_per_event"]) if r["broker_ns_per_event"] else "—"


def ratio(a, b, key="delivered_per_s", fmt="{:.2f}×"):
    """b ÷ a on `key` when both runs are good."""
    if not (good(a) and good(b)) or not a[key] or b[key] is None:
        return "—"
    return fmt.format(b[key] / a[key])


def pair(a, b, f):
    return f"{side(a, f)} · {side(b, f)}"


def trio(a, b, c, f):
    return f"{side(a, f)} · {side(b, f)} · {side(c, f)}"


def cpu_ratio(a, b):
    """How many more events per broker CPU-second b gets than a (= a's ns/event ÷ b's)."""
    if not (good(a) and good(b)) or not a["broker_ns_per_event"] or not b["broker_ns_per_event"]:
        return "—"
    return f"{a['broker_ns_per_event'] / b['broker_ns_per_event']:.2f}×"


TRANSPORT = {"rs": "RawSocket", "ws": "WebSocket", "rss": "RawSocket + TLS", "wss": "WebSocket + TLS", "nats": "NATS protocol"}
NAMES = {"1to1": "1→1", "fanout": "1→100 fan-out", "nton": "16→16 one topic", "shared": "1→shared group of 10",
         "filters": "100 subscribers, different filters",
         "conn10k": "10,000 connections, one subscription each (1→10,000)",
         "topics100k": "100,000 topics over 100 subscribers, publications spread over them",
         "p16": "1→1, 16-byte payload", "p1k": "1→1, 1 KiB payload", "p64k": "1→1, 64 KiB payload",
         "fanoutp16": "1→100, 16-byte payload", "fanoutp1k": "1→100, 1 KiB payload", "fanoutp64k": "1→100, 64 KiB payload",
         "prefix": "1→100, prefix subscriptions", "wildcard": "1→100, wildcard subscriptions",
         "cross": "1→100, JSON publisher, MessagePack subscribers", "wampcra": "WAMP-CRA session set-ups (10 at a time)"}
BROKER_NAMES = {"crossbar": "Crossbar", "fastbroker": "FastBroker", "nats": "nats-server"}


def latency_label(tag):
    """lat1@5k → 1→1 at 5,000/s; lat100@50 → 1→100 at 50 % of peak."""
    subscribers, point = tag[3:].split("@")
    at = "5,000 publications/s" if point == "5k" else f"{point} % of the broker's peak"
    return f"1→{subscribers} at {at}"

# --- FastBroker vs Crossbar, JSON ---------------------------------------------------------------
main_rows = [("rs", "1to1"), ("rs", "fanout"), ("rs", "nton"), ("rs", "shared"), ("rs", "filters"),
             ("rs", "lat1@5k"), ("rs", "lat1@50"), ("ws", "1to1"), ("ws", "fanout")]
lines = ["| Workload | Transport | Crossbar | FastBroker | FastBroker ÷ Crossbar | Events per broker CPU-second CB · FB (ratio) | Published/s CB · FB | Loss CB · FB | Load-tool CPU CB · FB | Broker CPU ns/event CB · FB | Others' CPU CB · FB |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
for transport, tag in main_rows:
    cb, fb = pick("crossbar", transport, "json", tag), pick("fastbroker", transport, "json", tag)
    if cb is None and fb is None:
        continue
    latency = tag.startswith("lat")
    if latency and not tag.endswith("@5k"):
        rates = " · ".join("%s %s" % (n, rate(r["rate"])) for n, r in (("CB", cb), ("FB", fb)) if r is not None and r.get("rate"))
        label, vs = f"latency, {latency_label(tag)} ({rates})", "— (different rates)"
    elif latency:
        label = f"latency, {latency_label(tag)}"
        vs = f"p99 {cb['latency_us']['p99'] / fb['latency_us']['p99']:.1f}× lower" if good(cb) and good(fb) and fb["latency_us"]["p99"] > 0 else "—"
    else:
        label = NAMES[tag]
        vs = ratio(cb, fb, fmt="**{:.1f}×**")
    per_cpu = "—"
    if not latency and good(cb) and good(fb) and cb["broker_ns_per_event"] and fb["broker_ns_per_event"]:
        per_cpu = f"{per_cpu_second(cb)} · {per_cpu_second(fb)} ({cb['broker_ns_per_event'] / fb['broker_ns_per_event']:.1f}×)"
    lines.append(f"| {label} | {TRANSPORT[transport]} | {cell(cb, latency)} | {cell(fb, latency)} | {vs} | {per_cpu} "
                 f"| {pair(cb, fb, lambda r: rate(r['published_per_s']))} | {pair(cb, fb, lambda r: str(r['loss']))} "
                 f"| {pair(cb, fb, tool_cpu)} | {pair(cb, fb, broker_ns)} | {pair(cb, fb, others)} |")
main_table = "\n".join(lines)

# --- MessagePack and CBOR vs JSON ----------------------------------------------------------------
lines = ["| Workload | Transport | FastBroker JSON · msgpack | FB msgpack ÷ JSON | FB events per broker CPU-second JSON · msgpack (ratio) | Crossbar JSON · msgpack | CB msgpack ÷ JSON | FB ÷ CB, msgpack | Loss FB · CB (msgpack) | Load-tool CPU FB JSON · msgpack | Broker CPU ns/event FB JSON · msgpack · CB msgpack | Others' CPU FB JSON · msgpack |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
cbor_lines = ["| Workload | Transport | FastBroker JSON · msgpack · CBOR | **FB CBOR ÷ JSON** | FB CBOR ÷ msgpack | Events per broker CPU-second JSON · msgpack · CBOR | Broker CPU ns/event JSON · msgpack · CBOR | Load-tool CPU JSON · msgpack · CBOR | Loss CBOR |",
              "|---|---|---|---|---|---|---|---|---|"]
for transport, tag in [("rs", "1to1"), ("rs", "fanout"), ("ws", "fanout"), ("rs", "filters")]:
    fj, fm, fc = (pick("fastbroker", transport, serializer, tag) for serializer in ("json", "msgpack", "cbor"))
    cj, cm = pick("crossbar", transport, "json", tag), pick("crossbar", transport, "msgpack", tag)
    if fc is not None:
        cbor_lines.append(f"| {NAMES[tag]} | {TRANSPORT[transport]} | {cell(fj)} · {cell(fm)} · {cell(fc)} | **{ratio(fj, fc)}** "
                          f"| {ratio(fm, fc)} | {trio(fj, fm, fc, per_cpu_second)} | {trio(fj, fm, fc, broker_ns)} "
                          f"| {trio(fj, fm, fc, tool_cpu)} | {side(fc, lambda r: str(r['loss']))} |")
    if fm is None and cm is None:
        continue
    lines.append(f"| {NAMES[tag]} | {TRANSPORT[transport]} | {cell(fj)} · {cell(fm)} | **{ratio(fj, fm)}** "
                 f"| {pair(fj, fm, per_cpu_second)} ({cpu_ratio(fj, fm)}) | {cell(cj)} · {cell(cm)} | {ratio(cj, cm)} "
                 f"| {ratio(cm, fm, fmt='{:.1f}×')} | {pair(fm, cm, lambda r: str(r['loss']))} | {pair(fj, fm, tool_cpu)} "
                 f"| {side(fj, broker_ns)} · {side(fm, broker_ns)} · {side(cm, broker_ns)} | {pair(fj, fm, others)} |")
msgpack_table = "\n".join(lines)
cbor_table = "\n".join(cbor_lines) if len(cbor_lines) > 2 else "Not measured."

# --- TLS vs plaintext -----------------------------------------------------------------------------
lines = ["| Workload | Transport | Plaintext | TLS | **TLS ÷ plaintext, delivered/s** | Broker CPU ns/event plaintext · TLS (TLS cost) | Events per broker CPU-second plaintext · TLS | Loss plaintext · TLS | Load-tool CPU plaintext · TLS | Load-tool ns/event plaintext · TLS | Others' CPU plaintext · TLS |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
tls_ratios = []
for plain_t, tls_t, tag in [("rs", "rss", "1to1"), ("rs", "rss", "fanout"), ("ws", "wss", "fanout")]:
    p, t = pick("fastbroker", plain_t, "json", tag), pick("fastbroker", tls_t, "json", tag)
    if t is None:
        continue
    cost = "—"
    if good(p) and good(t) and p["broker_ns_per_event"] and t["broker_ns_per_event"]:
        cost = f"{broker_ns(p)} · {broker_ns(t)} (×{t['broker_ns_per_event'] / p['broker_ns_per_event']:.2f})"
    if good(p) and good(t):
        tls_ratios.append(t["delivered_per_s"] / p["delivered_per_s"])
    lines.append(f"| {NAMES[tag]} | {TRANSPORT[plain_t]} | {cell(p)} | {cell(t)} | **{ratio(p, t)}** | {cost} "
                 f"| {pair(p, t, per_cpu_second)} | {pair(p, t, lambda r: str(r['loss']))} | {pair(p, t, tool_cpu)} "
                 f"| {pair(p, t, lambda r: '%.0f' % r['tool_ns_per_event'])} | {pair(p, t, others)} |")
tls_table = "\n".join(lines)

# --- loops ----------------------------------------------------------------------------------------
lines = [f"| Workload | Transport | loops: {env['FB_LOOPS']} (CPU 0) | loops: {env['MULTI_LOOPS']} (CPUs 0–1) | **ratio** | Broker CPU | Broker CPU ns/event | Events per broker CPU-second | Load-tool CPU | Loss | Others' CPU |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
for transport, tag in [("rs", "fanout"), ("rs", "1to1"), ("rs", "nton")]:
    one, multi = pick("fastbroker", transport, "json", tag), pick("fastbrokerL2", transport, "json", tag)
    if multi is None:
        continue
    lines.append(f"| {NAMES[tag]} | {TRANSPORT[transport]} | {cell(one)} | {cell(multi)} | **{ratio(one, multi)}** "
                 f"| {pair(one, multi, lambda r: '%.0f%%' % r['broker_cpu_percent'])} | {pair(one, multi, broker_ns)} "
                 f"| {pair(one, multi, per_cpu_second)} | {pair(one, multi, tool_cpu)} | {pair(one, multi, lambda r: str(r['loss']))} "
                 f"| {pair(one, multi, others)} |")
loops_table = "\n".join(lines)

# --- Exactness of shared / filters (every run summed) ---------------------------------------------
lines = ["| Broker | Workload | Transport | Serializer | Runs | Delivered/s (median) | Deliveries owed | Received | Loss | Duplicates | Misrouted | Per subscriber, fewest–most (median run) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
for (broker, transport, serializer, tag), rs in sorted(runs.items()):
    if tag not in ("shared", "filters"):
        continue
    ok = [r for r in rs if r["status"] == "ok"]
    name = {**BROKER_NAMES, "fastbrokerL2": f"FastBroker loops: {env['MULTI_LOOPS']}"}[broker]
    if not ok:
        lines.append(f"| {name} | {NAMES[tag]} | {TRANSPORT[transport]} | {serializer} | {len(rs)} | {rs[0]['status']} | — | — | — | — | — | — |")
        continue
    median = pick(broker, transport, serializer, tag)
    owed, got = sum(r["expected_total"] for r in ok), sum(r["received_total"] for r in ok)
    lines.append(f"| {name} | {NAMES[tag]} | {TRANSPORT[transport]} | {serializer} | {len(ok)} | {rate(median['delivered_per_s'])} "
                 f"| {owed:,} | {got:,} | {owed - got} | {sum(r['duplicates'] for r in ok)} | {sum(r['misrouted'] for r in ok)} "
                 f"| {median['subscriber_received_min']:,}–{median['subscriber_received_max']:,} |")
exact_table = "\n".join(lines)

# --- FastBroker vs nats-server: issue 12's rows, same tool ----------------------------------------
def transport_of(broker, transport="rs"):
    return "nats" if broker == "nats" else transport


def p99(r):
    return r["latency_us"]["p99"] if good(r) else None


nats_lines = ["| Workload | nats-server | FastBroker | **FastBroker ÷ NATS** | Broker CPU ns/event NATS · FB | Loss NATS · FB |",
              "|---|---|---|---|---|---|"]
for tag in ["1to1", "fanout", "nton", "shared", "lat1@5k", "lat100@5k", "p16", "p1k", "p64k", "fanoutp64k", "conn10k", "topics100k"]:
    nt, fb = pick("nats", "nats", "json", tag), pick("fastbroker", "rs", "json", tag)
    if nt is None and fb is None:
        continue
    if tag.startswith("lat"):
        vs = f"**{p99(nt) / p99(fb):.2f}** (p99 NATS ÷ FB)" if p99(nt) and p99(fb) else "—"
        nats_lines.append(f"| latency, {latency_label(tag)} | {cell(nt, True)} | {cell(fb, True)} | {vs} | — | {pair(nt, fb, lambda r: str(r['loss']))} |")
    else:
        nats_lines.append(f"| {NAMES[tag]} | {cell(nt)} | {cell(fb)} | **{ratio(nt, fb, fmt='{:.2f}')}** | {pair(nt, fb, broker_ns)} "
                          f"| {pair(nt, fb, lambda r: str(r['loss']))} |")
nats_table = "\n".join(nats_lines) if len(nats_lines) > 2 else "Not measured (nats-server not found)."

# --- Latency without coordinated omission -----------------------------------------------------------
lat_lines = ["| Broker | Workload | Rate (publications/s) | p50 | p99 | p99.9 | max | Sent >100 µs late (worst) | Loss |",
             "|---|---|---|---|---|---|---|---|---|"]
for broker in ("fastbroker", "nats", "crossbar"):
    for tag in ("lat1@5k", "lat1@50", "lat1@90", "lat100@5k", "lat100@50", "lat100@90"):
        r = pick(broker, transport_of(broker), "json", tag)
        if r is None:
            continue
        if not good(r):
            lat_lines.append(f"| {BROKER_NAMES[broker]} | {latency_label(tag)} | — | {r['status']} | | | | | |")
            continue
        l = r["latency_us"]
        lat_lines.append(f"| {BROKER_NAMES[broker]} | {latency_label(tag)} | {r['rate']:,} | {us(l['p50'])} | **{us(l['p99'])}** "
                         f"| {us(l['p99_9'])} | {us(l['max'])} | {r.get('late_sends', 0):,} ({us(r.get('max_send_delay_us', 0))}) | {r['loss']} |")
latency_table = "\n".join(lat_lines)
try:
    with open(os.path.join(out, "latency-skipped.txt")) as f:
        latency_skipped = "Skipped: " + "; ".join(line.strip() for line in f if line.strip()) + "."
except OSError:
    latency_skipped = ""

# --- Workloads users run --------------------------------------------------------------------------
user_lines = ["| Workload | Crossbar | FastBroker | nats-server | FB ÷ CB | FB ÷ NATS | Broker RSS at the end CB · FB · NATS | Loss CB · FB · NATS |",
              "|---|---|---|---|---|---|---|---|"]


def rss(r):
    return f"{r['broker_rss_kib'] / 1024:.0f} MiB" if good(r) and r.get("broker_rss_kib") else "—"


def setups_cell(r):
    if r is None:
        return "—"
    if r["status"] != "ok":
        return r["status"]
    return f"{r['setups_per_s']:,.0f} set-ups/s (p99 {us(r['setup_us']['p99'])})"


for tag in ["conn10k", "topics100k", "p16", "p1k", "p64k", "fanoutp16", "fanoutp1k", "fanoutp64k", "prefix", "wildcard", "cross", "wampcra"]:
    cb, fb, nt = (pick(b, transport_of(b), "json", tag) for b in ("crossbar", "fastbroker", "nats"))
    if cb is None and fb is None and nt is None:
        continue
    if tag == "wampcra":
        user_lines.append(f"| {NAMES[tag]} | {setups_cell(cb)} | {setups_cell(fb)} | — (no WAMP-CRA) | {ratio(cb, fb, fmt='{:.1f}×')} | — | — | — |")
        continue
    user_lines.append(f"| {NAMES[tag]} | {cell(cb)} | {cell(fb)} | {cell(nt)} | {ratio(cb, fb, fmt='{:.1f}×')} | {ratio(nt, fb, fmt='{:.2f}')} "
                      f"| {trio(cb, fb, nt, rss)} | {trio(cb, fb, nt, lambda r: str(r['loss']))} |")
users_table = "\n".join(user_lines)

# --- Memory per connection (bench/memory-per-connection.sh, FastBroker) ----------------------------
mem_lines = ["| Transport | Sessions | Idle RSS | Bytes per idle session | Bytes per subscription to a new topic | Bytes per further subscriber of one topic |",
             "|---|---|---|---|---|---|"]
for path in sorted(glob.glob(os.path.join(out, "memory-*.json"))):
    with open(path) as f:
        m = json.load(f)
    mem_lines.append(f"| {m['transport']} | {m['sessions']:,} | {m['idle_kib'] / 1024:.0f} MiB | {m['bytes_per_idle_session']:,} "
                     f"| {m['bytes_per_distinct_topic_subscription']:,} | {m['bytes_per_subscriber_of_one_topic']:,} |")
memory_table = "\n".join(mem_lines) if len(mem_lines) > 2 else "Not measured (MEMORY=0)."

# --- Targets (issue 3) ----------------------------------------------------------------------------
targets = []


def target(name, r, value, goal, fmt, lower=False):
    if not good(r):
        targets.append(f"| {name} | {fmt(goal)} | not measured | — |")
        return
    ok = value <= goal if lower else value >= goal
    if ok or value <= 0:
        miss = ""
    elif lower:
        miss = f"{value / goal:.1f}× over"
    else:
        miss = f"{goal / value:.1f}× short" if goal / value >= 1.1 else f"{100 * (1 - value / goal):.0f}% short"
    targets.append(f"| {name} | {fmt(goal)} | {fmt(value)} | {'met' if ok else 'missed, ' + miss} |")


fb11, cb11 = pick("fastbroker", "rs", "json", "1to1"), pick("crossbar", "rs", "json", "1to1")
target("1→1 delivered", fb11, fb11["delivered_per_s"] if good(fb11) else 0, 1.5e6, rate)
if good(fb11) and good(cb11):
    target("1→1 vs Crossbar", fb11, fb11["delivered_per_s"] / cb11["delivered_per_s"], 100, lambda v: f"{v:.0f}×")
fbf = pick("fastbroker", "rs", "json", "fanout")
target("1→100 delivered", fbf, fbf["delivered_per_s"] if good(fbf) else 0, 5e6, rate)
fbn = pick("fastbroker", "rs", "json", "nton")
target("16→16 delivered", fbn, fbn["delivered_per_s"] if good(fbn) else 0, 2e6, rate)
fbl = pick("fastbroker", "rs", "json", "lat1@5k")
target("p99 at 5,000/s", fbl, fbl["latency_us"]["p99"] if good(fbl) else 0, 100, us, lower=True)
fbh = pick("fastbroker", "rs", "json", "lat1@50")
target(f"p99 at half of peak ({rate(fbh['rate'])})" if good(fbh) else "p99 at half of peak", fbh,
       fbh["latency_us"]["p99"] if good(fbh) else 0, 1000, us, lower=True)

# --- callgrind (perf/callgrind.sh summaries) ------------------------------------------------------
callgrind = []
for path in sorted(glob.glob(os.path.join(env["CALLGRIND_DIR"], "callgrind.*.summary.json"))):
    with open(path) as f:
        c = json.load(f)
    marginal = f"**{c['marginal_ir_per_event']:,.0f}**" if c.get("marginal_ir_per_event") else "—"
    callgrind.append(f"| {NAMES.get(c['workload'], c['workload'])} | {TRANSPORT.get(c['transport'], c['transport'])} | {c['serializer']} "
                     f"| {c['delivered']:,} | {marginal} | {c['total_ir_per_event']:,.0f} | {c['commit']} | {c['date']} |")
if callgrind:
    callgrind_section = "\n".join([
        "Instructions the broker executes per delivered event, counted by valgrind (`perf/callgrind.sh WORKLOAD`, release",
        "build, loops: 1, 64-byte payload). Instruction counts do not depend on the machine's load: these are the",
        "figures to compare between commits. Marginal = (measured run − a set-up-only baseline run) ÷ events delivered;",
        "issue 3's target for 1→100 is under 1,500.",
        "",
        "| Workload | Transport | Serializer | Events delivered | Marginal Ir per event | Total Ir per event (start-up and set-up included) | Commit | Measured |",
        "|---|---|---|---|---|---|---|---|"] + callgrind)
else:
    callgrind_section = "Not measured: run `perf/callgrind.sh fanout` and `perf/callgrind.sh 1to1` before `bench/compare.sh`."

# --- Notes ----------------------------------------------------------------------------------------
notes = []
for (broker, transport, serializer, tag), rs in sorted(runs.items()):
    r = pick(broker, transport, serializer, tag)
    if r is not None and r["status"] != "ok":
        notes.append(f"- {broker}, {tag} over {TRANSPORT[transport]}/{serializer}: {r['status']} — {r['note']}")
    failed = [x for x in rs if x["status"] == "error"]
    if failed and r is not None and r["status"] == "ok":
        notes.append(f"- {broker}, {tag} over {TRANSPORT[transport]}/{serializer}: {len(failed)} of {len(rs)} runs failed, e.g. {failed[0]['note']}")

loads = []
try:
    with open(os.path.join(out, "loads.txt")) as f:
        loads = [float(x) for x in f.read().split()]
except OSError:
    pass
contended = [r for rs in runs.values() for r in rs if (r.get("other_cpu_percent") or 0) > 25]
measured = [r for rs in runs.values() for r in rs if r.get("other_cpu_percent") is not None]
contention = (f"other processes used more than a quarter of a core during {len(contended)} of {len(measured)} runs' "
              f"measured windows (the Others' CPU columns)") if measured else "other processes' CPU not measured"
load_during = (f"1-minute load average sampled before each of the {len(loads)} runs: min {min(loads):.2f}, "
               f"median {statistics.median(loads):.2f}, max {max(loads):.2f}") if loads else "not sampled"
load_during += "; " + contention

machine = f"""- Date: {datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}; FastBroker commit {env["COMMIT"]}
- Machine: nproc {env["NPROC"]}, {env["CPU_MODEL"]}, kernel {os.uname().release}
- Swift: {env["SWIFT_VERSION"]}
- Crossbar.io {env["CB_VERSION"]} on CPython {env["PY_VERSION"]} (PyPI, in bench/.venv); FastBroker release build, loops: {env["FB_LOOPS"]} unless the row says otherwise
- nats-server: {env.get("NATS_VERSION") or "not run"} (Debian package, defaults, pinned like Crossbar)
- Pinning: {env["PINNING"]}
- Load average (1, 5, 15 min) at the start: {env["LOAD_START"]}; at the end: {env["LOAD_END"]}; {load_during}.
  On this shared 2-CPU VM anything above ~2 (the broker and fastbench themselves make ~1.5–2) means other
  processes competed for the pinned CPUs during the runs
- TLS: {env["TLS_DESC"]}
- Each run: {env["WARMUP"]} s warm-up, {env["DURATION"]} s measured, {env["PAYLOAD"]}-byte first argument (same encoded size in JSON and
  MessagePack); {env["REPEATS"]} interleaved rounds ({env.get("LATENCY_REPEATS", env["REPEATS"])} for the 5,000/s latency rows), the median run shown (median delivered/s; for latency rows, median p99).
  Whole script: {env["elapsed"]} s."""

doc = f"""# FastBroker vs nats-server and Crossbar.io, across cluster nodes, and FastBroker's serializers, TLS and loops

Produced by `bench/compare.sh` (do not edit by hand; rerun it). Same load tool (`fastbench`, which
speaks WAMP and the NATS protocol), same workloads, same machine, one run. Raw JSON of every run:
`bench/results-latest/`; plots: `bench/plots/`.

{machine}

## FastBroker vs nats-server (issue 12)

{nats_table}

Both measured by fastbench: FastBroker over RawSocket/JSON, nats-server over its own text protocol
(PUB/SUB/MSG; acknowledgements are PING/PONG), with the same `[timestamp, publication, "x…"]`
payload and the same counting. Ratios ≥ 1 mean FastBroker is ahead (for latency: NATS's p99 ÷
FastBroker's). Filters have no NATS equivalent; a shared group is a NATS queue group.

## Cross-node: a 3-node cluster (issue 11)

{cluster_section(pick, cell, good, ratio)}

## Latency without coordinated omission

{latency_table}

Publication k is scheduled at k ÷ rate and stamped with that scheduled time; fastbench sends every
publication whose time has passed on each loop iteration (the loop polls without blocking while
pacing, so sends leave within microseconds of their time) and one held back (window full, socket
backed up) goes late with its original stamp — never skipped. Latency is from the scheduled time to
the arrival at the LAST subscriber of the publication (1→100: the slowest of the 100). Peaks are each
broker's own median 1→1 and 1→100 throughput above. {latency_skipped}

## Workloads users run

{users_table}

## Memory per connection (FastBroker)

{memory_table}

## FastBroker vs Crossbar (JSON)

{main_table}

How to read it: delivered = events received by subscribers per second in the measured window;
ratios are FastBroker ÷ Crossbar. Loss = events published minus events received over the whole
run, counted exactly after a drain. Load-tool CPU is fastbench's own CPU time (getrusage) over the
window as a share of one core — a value near 100% would mean the tool limits the figure. Broker
CPU is the broker process's (Crossbar: its router worker's) CPU time per delivered event; events per
broker CPU-second is its inverse — what the broker would deliver with a whole core to itself, the
figure least disturbed by other processes on a shared machine. Others' CPU is the machine's busy CPU
time (/proc/stat) over the window minus the tool's and the broker's, in % of one core: other
processes competing. A competitor on the broker's pinned core halves the figure — delivered/s drops
to about half, broker CPU to ~50% and load-tool CPU with it — while ns/event stays put. In the
throughput rows publishers keep up to 8,192 deliveries outstanding, so their latency is queueing
time and is not shown; the latency rows publish at a fixed rate.

## MessagePack vs JSON

{msgpack_table}

Same workloads with `--serializer msgpack` (RawSocket serializer 2; WebSocket `wamp.2.msgpack`, binary
frames). The event's first argument `[timestamp, publication, "x…"]` encodes to the same {env["PAYLOAD"]} bytes in
both serializers, so the comparison is of the serializers' cost, not of payload sizes.

### CBOR vs JSON and MessagePack (FastBroker)

{cbor_table}

`--serializer cbor` (RawSocket serializer 3; WebSocket `wamp.2.cbor`, binary frames), the same
workloads and the same {env["PAYLOAD"]}-byte first argument, run right after the JSON and MessagePack runs of
each round. Ratios above 1 mean CBOR delivers more events per second.

## TLS vs plaintext (FastBroker, JSON)

{tls_table}

TLS ÷ plaintext is the throughput kept with TLS on (1.00× = TLS costs nothing; 0.80× = 20% fewer
events/s); the TLS cost column is the broker CPU per event with TLS ÷ without. Plaintext and TLS
listeners are on the same broker process; the runs alternate within each round.

## loops: {env["MULTI_LOOPS"]} vs loops: {env["FB_LOOPS"]} (FastBroker, JSON)

{loops_table}

The loops: {env["FB_LOOPS"]} broker is pinned to CPU 0 with fastbench on CPU 1. The loops: {env["MULTI_LOOPS"]} broker may use
CPUs 0–1 and fastbench stays pinned to CPU 1, so on this 2-core machine one broker loop shares a core with
the load tool: the ratio shows what a second loop gains when the machine has no spare core, not the
scaling on a machine with one core per loop. Broker CPU above 100% is the two loops together.

## Shared group and filters: delivered counts are exact

{exact_table}

Summed over every run. fastbench puts the publication number in each event and checks each delivery:
a publication delivered twice (to two group members, or to two filtered subscribers) is a duplicate;
for filters, publication n carries kwargs `{{"k": n mod 100}}` and subscriber i filters `k = i`, so a
delivery to another subscriber is misrouted. Loss 0, no duplicates and nothing misrouted = each event
reached exactly one group member, and exactly the subscriber whose filter matches.

## Instructions per delivered event (callgrind)

{callgrind_section}

## Targets (issue 3)

| Target | Goal | FastBroker | |
|---|---|---|---|
{chr(10).join(targets)}

## Notes

{chr(10).join(notes) if notes else "- Every run completed."}

Raw JSON of every run: `bench/results-latest/` (committed with this file; the working copy of
the run, with broker logs, stays in `bench/results/<timestamp>-<commit>/`).
"""
with open(results, "w") as f:
    f.write(doc)
print(doc)
print(f"wrote {results}")
