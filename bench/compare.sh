#!/usr/bin/env bash
# bench/compare.sh: FastBroker against Crossbar.io on the same workloads, in one run, with the same
# load tool (fastbench). Installs Crossbar from PyPI into bench/.venv, builds the release broker and
# load tool, starts both brokers (Crossbar from bench/crossbar/config.json, FastBroker from an
# equivalent generated config), runs every workload against each in turn (interleaved, REPEATS
# times, medians reported), prints a markdown table with ratios and writes bench/RESULTS.md.
#
# Environment knobs: DURATION (s, measured window per run, default 5), WARMUP (s, default 1),
# REPEATS (default 3), PAYLOAD (bytes, default 64), FB_LOOPS (FastBroker loops, default 1: the broker
# gets one core), CROSSBAR_VERSION (default 26.10.1), RESULTS (output file, default bench/RESULTS.md).
# The whole script takes about 5–6 minutes on the 2-core machine (plus the Crossbar install once).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
REPEATS=${REPEATS:-3}
PAYLOAD=${PAYLOAD:-64}
FB_LOOPS=${FB_LOOPS:-1}
CROSSBAR_VERSION=${CROSSBAR_VERSION:-26.10.1}
RESULTS=${RESULTS:-$HERE/RESULTS.md}
FB_WS_PORT=${FB_WS_PORT:-18080}
FB_RS_PORT=${FB_RS_PORT:-18081}
CB_WS_PORT=${CB_WS_PORT:-28080}
CB_RS_PORT=${CB_RS_PORT:-28081}
OUT=$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
started=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { echo "[compare] $*" >&2; }

# --- Crossbar in a venv ---------------------------------------------------------------------------
VENV=$HERE/.venv
if ! "$VENV/bin/crossbar" version >/dev/null 2>&1; then
    log "installing crossbar==$CROSSBAR_VERSION into bench/.venv (once)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip >/dev/null
    "$VENV/bin/pip" install --quiet "crossbar==$CROSSBAR_VERSION"
fi
CB_VERSION=$("$VENV/bin/python" -c 'import crossbar; print(crossbar.__version__)')
PY_VERSION=$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')

# --- FastBroker and fastbench, release ------------------------------------------------------------
log "building fastbroker and fastbench (release)"
(cd "$ROOT" && swift build -c release --product fastbroker >/dev/null && swift build -c release --product fastbench >/dev/null)
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
FASTBENCH=$BIN/fastbench
FASTBROKER=$BIN/fastbroker

# --- CPU pinning: broker on CPU 0, load tool on CPU 1 ---------------------------------------------
NPROC=$(nproc)
if [ "$NPROC" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_BROKER=(taskset -c 0)
    PIN_TOOL=(taskset -c 1)
    PINNING="brokers pinned to CPU 0 and fastbench to CPU 1 with taskset (other processes on the machine are not excluded)"
else
    PIN_BROKER=()
    PIN_TOOL=()
    PINNING="no pinning (nproc=$NPROC or taskset missing): broker and load tool share the CPUs"
fi
log "$PINNING"

# --- Start both brokers ---------------------------------------------------------------------------
cat > "$OUT/fastbroker.json" <<EOF
{
  "loops": $FB_LOOPS,
  "listeners": [
    {"transport": "websocket", "host": "127.0.0.1", "port": $FB_WS_PORT, "path": "/ws", "serializers": ["json"]},
    {"transport": "rawsocket", "host": "127.0.0.1", "port": $FB_RS_PORT, "serializers": ["json"]}
  ],
  "realms": [
    {"name": "realm1",
     "auth": {"anonymous": {"role": "anonymous"}},
     "roles": [{"name": "anonymous", "permissions": [{"uri": "", "match": "prefix", "publish": true, "subscribe": true}]}]}
  ],
  "limits": {"max_message_bytes": 16777216, "max_session_outbound_bytes": 268435456,
             "slow_consumer": "disconnect", "handshake_timeout_ms": 10000}
}
EOF
mkdir -p "$OUT/crossbar-node"
sed -e "s/\"port\": 28081/\"port\": $CB_RS_PORT/" -e "s/\"port\": 28080/\"port\": $CB_WS_PORT/" \
    "$HERE/crossbar/config.json" > "$OUT/crossbar-node/config.json"

FB_PID=""
CB_PID=""
cleanup() {
    [ -n "$FB_PID" ] && kill "$FB_PID" 2>/dev/null || true
    [ -n "$CB_PID" ] && kill "$CB_PID" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT

wait_port() {   # wait_port PORT WHAT
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "$2 did not open port $1; see $OUT"
    exit 1
}

# A port already listening would be shared silently: FastBroker binds with SO_REUSEPORT, so a
# leftover broker would take half the connections and publishers and subscribers would not meet.
for port in "$FB_RS_PORT" "$FB_WS_PORT" "$CB_RS_PORT" "$CB_WS_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "port $port is already in use (a leftover broker?); stop it or set FB_*_PORT / CB_*_PORT"
        exit 1
    fi
done

log "starting FastBroker (loops=$FB_LOOPS) on rs:$FB_RS_PORT ws:$FB_WS_PORT"
"${PIN_BROKER[@]}" "$FASTBROKER" --config "$OUT/fastbroker.json" > "$OUT/fastbroker.log" 2>&1 &
FB_PID=$!
log "starting Crossbar $CB_VERSION on rs:$CB_RS_PORT ws:$CB_WS_PORT"
"${PIN_BROKER[@]}" "$VENV/bin/crossbar" start --cbdir "$OUT/crossbar-node" --loglevel warn > "$OUT/crossbar.log" 2>&1 &
CB_PID=$!
wait_port "$FB_RS_PORT" FastBroker
wait_port "$FB_WS_PORT" FastBroker
wait_port "$CB_RS_PORT" Crossbar
wait_port "$CB_WS_PORT" Crossbar
# The router worker, a child of the Crossbar controller, is the process that routes: its CPU is the broker's.
CB_WORKER=$(pgrep -P "$CB_PID" -f crossbar-worker | head -1 || true)
[ -n "$CB_WORKER" ] || CB_WORKER=$CB_PID

url_of() {   # url_of BROKER TRANSPORT
    case "$1:$2" in
        fastbroker:rs) echo "rs://127.0.0.1:$FB_RS_PORT" ;;
        fastbroker:ws) echo "ws://127.0.0.1:$FB_WS_PORT/ws" ;;
        crossbar:rs) echo "rs://127.0.0.1:$CB_RS_PORT" ;;
        crossbar:ws) echo "ws://127.0.0.1:$CB_WS_PORT/ws" ;;
    esac
}
pid_of() { if [ "$1" = fastbroker ]; then echo "$FB_PID"; else echo "$CB_WORKER"; fi; }

bench() {   # bench BROKER TRANSPORT WORKLOAD TAG REP [extra fastbench args...]; writes BROKER-TRANSPORT-TAG-REP.json
    local broker=$1 transport=$2 workload=$3 tag=$4 rep=$5
    shift 5
    "${PIN_TOOL[@]}" "$FASTBENCH" --url "$(url_of "$broker" "$transport")" --workload "$workload" \
        --payload "$PAYLOAD" --duration "$DURATION" --warmup "$WARMUP" --broker-pid "$(pid_of "$broker")" \
        --label "$broker" --json "$OUT/$broker-$transport-$tag-$rep.json" "$@" >&2 \
        || log "$broker $transport $tag run $rep failed (kept in the table as an error)"
}

unsupported() {   # unsupported BROKER TRANSPORT WORKLOAD: true when run 1 reported it unsupported
    grep -q '"status": "unsupported"' "$OUT/$1-$2-$3-1.json" 2>/dev/null
}

RUNS=("rs 1to1" "rs fanout" "rs nton" "rs shared" "rs filters" "rs latency" "ws 1to1" "ws fanout")
for rep in $(seq 1 "$REPEATS"); do
    log "round $rep of $REPEATS"
    if [ $((rep % 2)) -eq 1 ]; then order=(crossbar fastbroker); else order=(fastbroker crossbar); fi
    for run in "${RUNS[@]}"; do
        set -- $run
        for broker in "${order[@]}"; do
            if [ "$rep" -gt 1 ] && unsupported "$broker" "$1" "$2"; then continue; fi
            if [ "$2" = latency ]; then bench "$broker" "$1" latency latency@5000 "$rep" --rate 5000
            else bench "$broker" "$1" "$2" "$2" "$rep"; fi
        done
    done
done

# Latency at half of each broker's own median 1->1 peak.
half_peak() {
    python3 - "$OUT" "$1" <<'EOF'
import glob, json, statistics, sys
rates = [json.load(open(f)).get("delivered_per_s", 0) for f in glob.glob(f"{sys.argv[1]}/{sys.argv[2]}-rs-1to1-*.json")]
rates = [r for r in rates if r > 0]
print(max(100, int(statistics.median(rates) / 2)) if rates else 0)
EOF
}
for broker in crossbar fastbroker; do
    rate=$(half_peak "$broker")
    if [ "$rate" -gt 0 ]; then
        for rep in $(seq 1 "$REPEATS"); do bench "$broker" rs latency latency@half "$rep" --rate "$rate"; done
    fi
done

cleanup
trap - EXIT
elapsed=$(( $(date +%s) - started ))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Table and RESULTS.md -------------------------------------------------------------------------
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
SWIFT_VERSION=$(swift --version 2>&1 | head -1)
export LOAD_START LOAD_END OUT RESULTS NPROC PINNING CB_VERSION PY_VERSION FB_LOOPS DURATION WARMUP PAYLOAD REPEATS CPU_MODEL SWIFT_VERSION elapsed
python3 - <<'EOF'
import glob, json, os, re, statistics, sys
env = os.environ
out, results = env["OUT"], env["RESULTS"]
runs = {}
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    name = os.path.basename(path)
    m = re.match(r"(crossbar|fastbroker)-(rs|ws)-(.+)-(\d+)\.json$", name)
    if not m or name == "fastbroker.json":
        continue
    broker, transport, workload, _ = m.groups()
    with open(path) as f:
        runs.setdefault((transport, workload), {}).setdefault(broker, []).append(json.load(f))

def pick(results, latency):
    ok = [r for r in results if r["status"] == "ok"]
    if not ok:
        return results[0] if results else None
    key = (lambda r: r["latency_us"]["p99"]) if latency else (lambda r: r["delivered_per_s"])
    ok.sort(key=key)
    return ok[(len(ok) - 1) // 2] if latency else ok[len(ok) // 2]

def rate(v): return f"{v/1e6:.2f} M/s" if v >= 1e6 else (f"{v/1e3:.1f} k/s" if v >= 1e3 else f"{v:.0f}/s")
def us(v): return f"{v/1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs"
def cell(r, latency):
    if r is None: return "—"
    if r["status"] == "unsupported": return "unsupported"
    if r["status"] != "ok": return "error"
    if latency:
        l = r["latency_us"]; return f"p50 {us(l['p50'])} · p99 {us(l['p99'])} · p99.9 {us(l['p99_9'])}"
    return rate(r["delivered_per_s"])
def tool_cpu(r): return "%.0f%%" % r["tool_cpu_percent"]
def broker_cpu(r): return "—" if r["broker_ns_per_event"] is None else "%.0f" % r["broker_ns_per_event"]
def side(r, f):
    return f(r) if r is not None and r["status"] == "ok" else "—"

names = {"1to1": "1→1", "fanout": "1→100 fan-out", "nton": "16→16 one topic", "shared": "1→shared group of 10",
         "filters": "100 subscribers, different filters"}
order = ["1to1", "fanout", "nton", "shared", "filters"]
def sort_key(k):
    transport, workload = k
    base = workload.split("@")[0]
    rank = order.index(base) if base in order else len(order)
    at = 1 if workload.endswith("@half") else 0
    return (transport != "rs", rank, at)

lines = ["| Workload | Transport | Crossbar | FastBroker | FastBroker ÷ Crossbar | Events per broker CPU-second CB · FB (ratio) | Published/s CB · FB | Loss CB · FB | Load-tool CPU CB · FB | Broker CPU ns/event CB · FB |",
         "|---|---|---|---|---|---|---|---|---|---|"]
summary = {}
for key in sorted(runs, key=sort_key):
    transport, workload = key
    latency = workload.startswith("latency")
    cb = pick(runs[key].get("crossbar", []), latency)
    fb = pick(runs[key].get("fastbroker", []), latency)
    summary[key] = (cb, fb)
    if latency and workload == "latency@half":
        rates = " · ".join("%s %s" % (n, rate(r["rate"])) for n, r in (("CB", cb), ("FB", fb)) if r is not None and r.get("rate"))
        label = f"latency, 1→1 at half of each broker's 1→1 peak ({rates})"
        ratio = "— (different rates)"
    elif latency:
        label = f"latency, 1→1 at {int(workload.split('@')[1]):,} events/s"
        ok = cb and fb and cb["status"] == "ok" and fb["status"] == "ok" and fb["latency_us"]["p99"] > 0
        ratio = f"p99 {cb['latency_us']['p99'] / fb['latency_us']['p99']:.1f}× lower" if ok else "—"
    else:
        label = names.get(workload, workload)
        ok = cb and fb and cb["status"] == "ok" and fb["status"] == "ok" and cb["delivered_per_s"] > 0
        ratio = f"**{fb['delivered_per_s'] / cb['delivered_per_s']:.1f}×**" if ok else "—"
    pub = f"{side(cb, lambda r: rate(r['published_per_s']))} · {side(fb, lambda r: rate(r['published_per_s']))}"
    loss = f"{side(cb, lambda r: str(r['loss']))} · {side(fb, lambda r: str(r['loss']))}"
    tool = f"{side(cb, tool_cpu)} · {side(fb, tool_cpu)}"
    bcpu = f"{side(cb, broker_cpu)} · {side(fb, broker_cpu)}"
    per_cpu = "—"
    if not latency and cb and fb and cb["status"] == "ok" and fb["status"] == "ok" and cb["broker_ns_per_event"] and fb["broker_ns_per_event"]:
        per_cpu = f"{rate(1e9 / cb['broker_ns_per_event'])} · {rate(1e9 / fb['broker_ns_per_event'])} ({cb['broker_ns_per_event'] / fb['broker_ns_per_event']:.1f}×)"
    lines.append(f"| {label} | {'RawSocket' if transport == 'rs' else 'WebSocket'} | {cell(cb, latency)} | {cell(fb, latency)} | {ratio} | {per_cpu} | {pub} | {loss} | {tool} | {bcpu} |")
table = "\n".join(lines)

notes = []
for key, (cb, fb) in summary.items():
    for broker, r in (("Crossbar", cb), ("FastBroker", fb)):
        if r is not None and r["status"] != "ok":
            notes.append(f"- {broker}, {key[1]} over {'RawSocket' if key[0] == 'rs' else 'WebSocket'}: {r['status']} — {r['note']}")

def get(transport, workload, broker):
    pair = summary.get((transport, workload))
    if not pair: return None
    r = pair[0 if broker == "crossbar" else 1]
    return r if r is not None and r["status"] == "ok" else None
targets = []
def target(name, r, value, goal, fmt, lower=False):
    if r is None: targets.append(f"| {name} | {fmt(goal)} | not measured | — |"); return
    ok = value <= goal if lower else value >= goal
    if ok or value <= 0:
        miss = ""
    elif lower:
        miss = f"{value / goal:.1f}× over"
    else:
        miss = f"{goal / value:.1f}× short" if goal / value >= 1.1 else f"{100 * (1 - value / goal):.0f}% short"
    targets.append(f"| {name} | {fmt(goal)} | {fmt(value)} | {'met' if ok else 'missed, ' + miss} |")
fb11 = get("rs", "1to1", "fastbroker"); cb11 = get("rs", "1to1", "crossbar")
target("1→1 delivered", fb11, fb11["delivered_per_s"] if fb11 else 0, 1.5e6, rate)
if fb11 and cb11:
    target("1→1 vs Crossbar", fb11, fb11["delivered_per_s"] / cb11["delivered_per_s"], 100, lambda v: f"{v:.0f}×")
fbf = get("rs", "fanout", "fastbroker"); target("1→100 delivered", fbf, fbf["delivered_per_s"] if fbf else 0, 5e6, rate)
fbn = get("rs", "nton", "fastbroker"); target("16→16 delivered", fbn, fbn["delivered_per_s"] if fbn else 0, 2e6, rate)
fbl = get("rs", "latency@5000", "fastbroker")
target("p99 at 5,000/s", fbl, fbl["latency_us"]["p99"] if fbl else 0, 100, us, lower=True)
fbh = get("rs", "latency@half", "fastbroker")
target(f"p99 at half of peak ({rate(fbh['rate'])})" if fbh else "p99 at half of peak", fbh, fbh["latency_us"]["p99"] if fbh else 0, 1000, us, lower=True)

import datetime
machine = f"""- Date: {datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
- Machine: nproc {env["NPROC"]}, {env["CPU_MODEL"]}, kernel {os.uname().release}
- Swift: {env["SWIFT_VERSION"]}
- Crossbar.io {env["CB_VERSION"]} on CPython {env["PY_VERSION"]} (PyPI, in bench/.venv); FastBroker release build, loops: {env["FB_LOOPS"]}
- Pinning: {env["PINNING"]}
- Load average (1, 5, 15 min) at the start: {env["LOAD_START"]}; at the end: {env["LOAD_END"]} — on a shared 2-CPU
  VM anything above ~2 means other processes competed for the pinned CPUs during the runs
- Each run: {env["WARMUP"]} s warm-up, {env["DURATION"]} s measured, {env["PAYLOAD"]}-byte payload, JSON serializer;
  {env["REPEATS"]} interleaved rounds, the median run shown (median delivered/s; for latency rows, median p99).
  Whole script: {env["elapsed"]} s."""

doc = f"""# FastBroker vs Crossbar.io

Produced by `bench/compare.sh` (do not edit by hand; rerun it). Same load tool (`fastbench`), same
workloads, same machine, one run.

{machine}

{table}

How to read it: delivered = events received by subscribers per second in the measured window;
ratios are FastBroker ÷ Crossbar. Loss = events published minus events received over the whole
run, counted exactly after a drain. Load-tool CPU is fastbench's own CPU time (getrusage) over the
window as a share of one core — a value near 100% would mean the tool limits the figure. Broker
CPU is the broker process's (Crossbar: its router worker's) CPU time per delivered event; events per
broker CPU-second is its inverse — what the broker would deliver with a whole core to itself, the
figure least disturbed by other processes on a shared machine. In the
throughput rows publishers keep up to 8,192 deliveries outstanding, so their latency is queueing
time and is not shown; the latency rows publish at a fixed rate.

## Targets (issue 3)

| Target | Goal | FastBroker | |
|---|---|---|---|
{chr(10).join(targets)}

## Notes

{chr(10).join(notes) if notes else "- Every run completed."}

Raw JSON of every run: `bench/results/<timestamp>/` (not committed).
"""
with open(results, "w") as f:
    f.write(doc)
print(table)
print()
print("\n".join(["| Target | Goal | FastBroker | |", "|---|---|---|---|"] + targets))
print(f"\nwrote {results}")
EOF
