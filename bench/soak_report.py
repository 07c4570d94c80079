#!/usr/bin/env python3
"""bench/soak_report.py: checks the runs bench/soak.sh made and writes bench/SOAK.md.

Reads, per run in $OUT: run-*.json (phase times), monitor-*.json (RSS and HELLO probes),
fastbench-*.json (publications, per-subscriber checks), metrics-*.txt (/metrics after the run),
config-*.json. Checks per run, each PASS or FAIL:
- rss_bound: peak RSS <= idle RSS + C x (2 x max_message_bytes + max_session_outbound_bytes +
  per-connection fixed cost), C = every client connection plus the probe's;
- healthy_lossless: every healthy subscriber stayed connected and got every accepted publication
  of every publisher (in order, no duplicate): the publications it misses are exactly those the
  broker refused with ERROR, and the tool never wrote off a stalled window;
- slow_policy: `disconnect`: at least one slow subscriber got ABORT fastbroker.error.slow_consumer
  and /metrics' slow-consumer disconnects equal the slow subscribers the broker closed;
  `drop`: no slow subscriber closed, and /metrics' drops equal the publications the slow
  subscribers missed (accepted x slow subscribers - received), and at least one was dropped;
- hello_p99: fresh HELLO -> WELCOME under 100 ms at p99 while the clients are on, no probe failed;
- rss_after: RSS after the clients left and SETTLE seconds passed is within the tolerance of idle.
"""
import glob
import json
import os
import platform
import re
import statistics
import subprocess

OUT = os.environ["OUT"]
REPORT = os.environ["REPORT"]
MIB = 1024 * 1024
# Per-connection cost beyond the rings and the outbound queue (session, socket, parser state):
# bench/memory-per-connection.sh measures it; this is that figure rounded well up.
FIXED_PER_CONNECTION = int(os.environ.get("SOAK_FIXED_PER_CONNECTION", 64 * 1024))
TOLERANCE_FLOOR = int(os.environ.get("SOAK_RSS_TOLERANCE_MIB", 32)) * MIB
TOLERANCE_SHARE = 0.10
HELLO_P99_MS = 100.0


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def metric_values(text):
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        try:
            values[name] = float(value)
        except ValueError:
            pass
    return values


def mib(kib):
    return f"{kib / 1024:.1f}" if kib is not None else "–"


def analyse(name):
    run = json.load(open(f"{OUT}/run-{name}.json"))
    monitor = json.load(open(f"{OUT}/monitor-{name}.json"))
    config = json.load(open(f"{OUT}/config-{name}.json"))
    try:
        bench = json.load(open(f"{OUT}/fastbench-{name}.json"))
    except (OSError, ValueError):
        bench = {"status": "missing", "notes": ["fastbench wrote no result"], "healthy": []}
    metrics = metric_values(open(f"{OUT}/metrics-{name}.txt").read())
    limits = config["limits"]
    start, end = run["tool_start"], run["tool_end"]
    rss = monitor["rss"]
    idle = statistics.median([k for t, k in rss if t < start] or [rss[0][1]])
    peak = max(k for t, k in rss if t >= start)
    last = rss[-1][0]
    after = statistics.median([k for t, k in rss if t >= last - 2.0])
    connections = bench.get("publishers", 0) + bench.get("healthy_subscribers", 0) + bench.get("slow_subscribers", 0) + 1
    per_connection = 2 * limits["max_message_bytes"] + limits["max_session_outbound_bytes"] + FIXED_PER_CONNECTION
    bound_kib = idle + connections * per_connection / 1024
    tolerance_kib = max(TOLERANCE_FLOOR / 1024, TOLERANCE_SHARE * (peak - idle))

    probes = [p for p in monitor["probes"] if start <= p[0] <= end]
    failed = [p for p in probes if p[1] is None]
    times = [p[1] if p[1] is not None else 2000.0 for p in probes]
    late = [p[3] for p in probes if len(p) > 3]
    # HELLO by phase: publishing (load), after it until fastbench exits (drain), with no clients (after).
    phases = {"load": (bench.get("load_start") or start, bench.get("load_end") or end),
              "drain": (bench.get("load_end") or end, end), "after": (end, float("inf"))}
    by_phase = {k: percentile([p[1] if p[1] is not None else 2000.0 for p in monitor["probes"] if a <= p[0] < z], 99)
                for k, (a, z) in phases.items()}
    hello = {"count": len(probes), "failed": len(failed), "p50": percentile(times, 50), "p99": percentile(times, 99),
             "max": max(times) if times else None, "wake_late_p99": percentile(late, 99),
             "idle_p99": percentile([p[1] for p in monitor["probes"] if p[0] < start and p[1] is not None], 99),
             "by_phase_p99": by_phase}

    drops = {m.group(1): v for k, v in metrics.items() if (m := re.fullmatch(r'fastbroker_drops_total\{reason="(\w+)"\}', k))}
    slow_disconnects = metrics.get("fastbroker_slow_consumer_disconnects_total")
    refused = bench.get("refused", 0)
    accepted = bench.get("accepted", 0)
    healthy = bench.get("healthy", [])
    checks = {}
    checks["rss_bound"] = peak <= bound_kib
    checks["healthy_lossless"] = (bench.get("status") == "ok" and bool(healthy) and bench.get("stalls", 1) == 0
                                  and all(h["failed"] is None and h["missing"] == refused and h["out_of_order"] == 0
                                          for h in healthy))
    slow_closed = bench.get("slow_consumer_aborts", 0) + bench.get("slow_other_closes", 0)
    slow_missed = None
    if run["policy"] == "disconnect":
        checks["slow_policy"] = bench.get("slow_consumer_aborts", 0) >= 1 and slow_disconnects == slow_closed
    else:
        slow_missed = accepted * bench.get("slow_subscribers", 0) - sum(bench.get("slow_received", []))
        checks["slow_policy"] = slow_closed == 0 and slow_missed > 0 and sum(drops.values()) == slow_missed
    checks["hello_p99"] = bool(probes) and not failed and hello["p99"] < HELLO_P99_MS
    checks["rss_after"] = after - idle <= tolerance_kib
    return {"name": name, "run": run, "limits": limits, "loops": config["loops"], "bench": bench, "metrics": metrics,
            "drops": drops, "slow_disconnects": slow_disconnects, "slow_closed": slow_closed, "slow_missed": slow_missed,
            "idle": idle, "peak": peak, "after": after, "bound": bound_kib, "tolerance": tolerance_kib,
            "per_connection": per_connection, "connections": connections, "hello": hello, "checks": checks,
            "loadavg": open(f"{OUT}/loadavg-{name}.txt").read().split()}


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": mem / 1024 / 1024, "kernel": platform.release(),
            "swift": swift[0] if swift else "?"}


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def main():
    env = dict(os.environ)
    if os.path.exists(f"{OUT}/params.json"):   # written by soak.sh: lets the report be re-run on old results
        env = {**json.load(open(f"{OUT}/params.json")), **{k: v for k, v in env.items() if k in ("OUT", "REPORT")}}
    names = [os.path.basename(p)[4:-5] for p in sorted(glob.glob(f"{OUT}/run-*.json"), key=os.path.getmtime)]
    runs = [analyse(n) for n in names]
    box = machine()
    rel = os.path.relpath(OUT, os.path.dirname(REPORT))
    lines = ["# Soak test (issue 10)", "",
             f"Written by `bench/soak.sh` ({env.get('DURATION')} s of load per run). Commit `{env.get('COMMIT')}`"
             + (" — **uncommitted changes: figures are not of any commit**" if "uncommitted" in env.get("COMMIT", "") else "") + ".",
             f"Machine: {box['nproc']} CPUs ({box['cpu']}), {box['memory_gib']:.1f} GiB, Linux {box['kernel']}; {box['swift']}.",
             f"Load average (1/5/15 min) before: {env.get('LOAD_START')}, after: {env.get('LOAD_END')} — other processes "
             "share the CPUs (nothing is pinned); broker, load tool and monitor all run on this machine.",
             f"Raw results: `{rel}/` (config, fastbench and monitor JSON, /metrics after each run).", ""]
    busiest = max([float(x) for r in runs for x in r["loadavg"]] + [float(env.get("LOAD_START", "0 0 0").split()[0])])
    if busiest > (box["nproc"] or 1):
        lines += [f"**The machine was shared and busy** (1-minute load average up to {busiest:.1f} on {box['nproc']} CPUs, other "
                  "work running besides this test): throughput and HELLO times are those of a starved broker and probe, not of "
                  "the broker alone (see the control column); memory figures and the exact counts (losses, drops) do not "
                  "depend on it.", ""]
    if runs:
        limits = runs[0]["limits"]
        lines += ["## Load and limits", "",
                  f"Each run: a fresh broker; {env.get('IDLE')} s idle; `fastbench soak`: {env.get('PUBLISHERS')} publishers on one "
                  f"topic, {env.get('HEALTHY')} healthy subscribers (read as fast as they can) and {env.get('SLOW')} slow ones "
                  f"({runs[0]['bench'].get('slow_read_bytes', 0) // 1024} KiB every {runs[0]['bench'].get('slow_read_ms')} ms; "
                  "reconnect 0.5 s after the broker closes them); publishers publish as fast as the "
                  f"healthy subscribers take it (at most {env.get('WINDOW')} events outstanding per healthy subscriber) and their "
                  "sockets allow, every 64th PUBLISH acknowledged, then one acknowledged sentinel each; "
                  f"then {env.get('SETTLE')} s with no clients. 64-byte payloads, JSON.",
                  "", "Limits (the rest are defaults):", "", "```json", json.dumps(limits), "```", "",
                  f"RSS bound = idle + C × (2 × max_message_bytes + max_session_outbound_bytes + {FIXED_PER_CONNECTION // 1024} KiB) "
                  f"= idle + {runs[0]['connections']} × {runs[0]['per_connection'] / 1024:.0f} KiB = idle + "
                  f"{runs[0]['connections'] * runs[0]['per_connection'] / MIB:.0f} MiB: every connection (clients and the probe) "
                  "may hold a receive ring of up to twice the largest message (reserved in powers of two), a full outbound queue, "
                  "and its fixed session cost (measured by bench/memory-per-connection.sh, rounded well up).",
                  f"RSS after: within max({TOLERANCE_FLOOR // MIB} MiB, {int(TOLERANCE_SHARE * 100)} % of peak − idle) of idle, "
                  f"{env.get('SETTLE')} s after the clients left (median of the last 2 s).", ""]
    lines += ["## Runs", "",
              "| run | loops | policy | load s | published | accepted | refused | healthy got (min) | healthy missing | slow got | "
              "slow closed (ABORT slow_consumer) | metrics: delivered / drops / slow disconnects | RSS MiB idle / peak / after (bound) | "
              "HELLO ms p50 / p99 / max (n, failed) | HELLO p99 ms idle / load / drain / after; monitor wake-up lateness p99 (control) | load avg |",
              "|" + "---|" * 16]
    for r in runs:
        b, m, h = r["bench"], r["metrics"], r["hello"]
        healthy = b.get("healthy", [])
        lines.append(
            f"| {r['run']['transport']} | {r['loops']} | {r['run']['policy']} | {fmt(b.get('load_seconds'))} | {b.get('published', '–')} | "
            f"{b.get('accepted', '–')} | {b.get('refused', '–')} | {min((x['received'] for x in healthy), default='–')} | "
            f"{max((x['missing'] for x in healthy), default='–')} | {sum(b.get('slow_received', []))} | "
            f"{r['slow_closed']} ({b.get('slow_consumer_aborts', '–')}) | {int(m.get('fastbroker_events_delivered_total', 0))} / "
            f"{', '.join(f'{k} {int(v)}' for k, v in r['drops'].items()) or '–'} / {fmt(r['slow_disconnects'], 0)} | "
            f"{mib(r['idle'])} / {mib(r['peak'])} / {mib(r['after'])} ({mib(r['bound'])}) | "
            f"{fmt(h['p50'])} / {fmt(h['p99'])} / {fmt(h['max'])} ({h['count']}, {h['failed']}) | "
            f"{fmt(h['idle_p99'])} / {fmt(h['by_phase_p99']['load'])} / {fmt(h['by_phase_p99']['drain'])} / "
            f"{fmt(h['by_phase_p99']['after'])}; {fmt(h['wake_late_p99'])} | {' → '.join(r['loadavg'])} |")
    lines += ["", "## Checks", "", "| run | rss_bound | healthy_lossless | slow_policy | hello_p99 | rss_after |", "|---|---|---|---|---|---|"]
    for r in runs:
        c = r["checks"]
        lines.append(f"| {r['name']} | " + " | ".join("PASS" if c[k] else "**FAIL**" for k in
                                                     ("rss_bound", "healthy_lossless", "slow_policy", "hello_p99", "rss_after")) + " |")
    notes = [(r["name"], n) for r in runs for n in r["bench"].get("notes", [])[:2]]
    if notes:
        lines += ["", "First notes of the load tool per run (refusals, closes):", ""]
        lines += [f"- {name}: `{note[:240]}`" for name, note in notes]
    memory = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(os.path.dirname(OUT), "memory-*.json")))]
    if memory:
        lines += ["", "## Memory per connection and per subscription (`bench/memory-per-connection.sh`)", "",
                  "Fresh broker, loops: 1, JSON; VmRSS medians after each step settles. Separate from the soak runs above.", "",
                  "| transport | idle MiB | + N idle sessions | per idle session | + 10,000 subscriptions (10 sessions × 1,000 topics) "
                  "| per distinct-topic subscription | + every session on one shared topic | per subscriber of an existing topic "
                  "| all closed (15 s later) | then 15 s of a fresh session every 100 ms |", "|---|---|---|---|---|---|---|---|---|---|"]
        for m in memory:
            lines.append(
                f"| {m['transport']} | {mib(m['idle_kib'])} | {m['sessions']} → {mib(m['sessions_kib'])} | {m['bytes_per_idle_session']} B "
                f"| → {mib(m['distinct_kib'])} | {m['bytes_per_distinct_topic_subscription']} B | → {mib(m['shared_kib'])} "
                f"| {m['bytes_per_subscriber_of_one_topic']} B | {mib(m['closed_kib'])} | {mib(m.get('closed_active_kib'))} |")
    lines += ["", "HELLO is timed from TCP connect to WELCOME by a fresh RawSocket session every 100 ms, over the whole "
              "time fastbench runs (connecting 1,000+ sessions, load, drain). The control column is how late the monitor's "
              "own thread woke from its 100 ms wait (p99): when it is large, the machine, not only the broker, delays the probe.",
              "", "Check definitions: see the docstring of `bench/soak_report.py` and bench/README.md (Soak test).", ""]
    with open(REPORT, "w") as out:
        out.write("\n".join(lines))
    with open(f"{OUT}/summary.json", "w") as out:
        json.dump({"machine": box, "runs": [{k: v for k, v in r.items() if k != "metrics"} for r in runs]}, out, indent=1, default=str)
    for r in runs:
        print(r["name"], " ".join(f"{k}={'PASS' if v else 'FAIL'}" for k, v in r["checks"].items()))


if __name__ == "__main__":
    main()
