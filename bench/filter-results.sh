#!/usr/bin/env bash
# bench/filter-results.sh: regenerates the measured table at the top of bench/FILTER-RESULTS.md
# (between its "filter-results.sh" markers; the analysis below it is prose) and its raw JSON
# (bench/results-latest/filter.json) at the current commit. Refuses a tree with uncommitted changes
# (FILTER_ALLOW_DIRTY=1 runs anyway and says so). Builds FilterBench (release, --export-dynamic so
# allocations are counted), runs it RUNS times (default 5) and keeps the median of the per-run
# best-of-5 ns per evaluation; then, unless CALLGRIND=0, counts instructions per evaluation with
# valgrind: (Ir at 1,001 iterations − Ir at 1) ÷ 5,000 (5 rounds of 1,000), case by case.
# Env: RUNS (5), ITERATIONS (FilterBench's default when unset), CALLGRIND (1), FILTER_JSON (where the
# raw JSON goes, default bench/results-latest/filter.json). About 3 minutes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${RUNS:-5}
CALLGRIND=${CALLGRIND:-1}
if [ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no)" ] && [ "${FILTER_ALLOW_DIRTY:-0}" != 1 ]; then
    echo "[filter-results] the tree has uncommitted changes: commit them or set FILTER_ALLOW_DIRTY=1" >&2
    exit 1
fi
COMMIT=$(cd "$ROOT" && git rev-parse HEAD)$(cd "$ROOT" && git diff --quiet HEAD || echo "+uncommitted")
WORK=$(mktemp -d /tmp/filter-results.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

(cd "$ROOT" && swift build -c release --product FilterBench -Xlinker --export-dynamic >/dev/null)
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)/FilterBench
for run in $(seq 1 "$RUNS"); do
    echo "[filter-results] run $run of $RUNS" >&2
    "$BIN" ${ITERATIONS:-} > "$WORK/run-$run.txt"
done
if [ "$CALLGRIND" = 1 ]; then
    command -v valgrind >/dev/null || { echo "[filter-results] installing valgrind" >&2; apt-get install -y --no-install-recommends valgrind >/dev/null; }
    for name in "0 (const)" "1 clause" "3 clauses" "10 clauses"; do
        for iterations in 1 1001; do
            valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$BIN" "$iterations" --vm-only --case "$name" >/dev/null 2>&1
            printf '%s\t%s\t%s\n' "$name" "$iterations" "$(grep -E '^(summary|totals):' "$WORK/cg.out" | head -1 | awk '{print $2}')" >> "$WORK/callgrind.tsv"
        done
    done
fi
FILTER_JSON=${FILTER_JSON:-$HERE/results-latest/filter.json}
mkdir -p "$(dirname "$FILTER_JSON")"
python3 - "$WORK" "$RUNS" "$COMMIT" "$HERE/FILTER-RESULTS.md" "$FILTER_JSON" <<'PY'
import datetime, json, os, statistics, sys
work, runs, commit, doc_path, json_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cases = {}   # name -> lists of (vm ns, vm allocs, foundation ns, foundation allocs)
for run in range(1, runs + 1):
    for line in open(os.path.join(work, f"run-{run}.txt")):
        name, rest = line[:12].strip(), line[12:].split()
        if len(rest) == 5 and rest[0].replace(".", "").isdigit():
            cases.setdefault(name, []).append(rest)
ir = {}
cg = os.path.join(work, "callgrind.tsv")
if os.path.exists(cg):
    counts = {}
    for line in open(cg):
        name, iterations, total = line.rstrip("\n").split("\t")
        counts.setdefault(name, {})[int(iterations)] = int(total)
    ir = {name: (c[1001] - c[1]) / 5000 for name, c in counts.items() if 1 in c and 1001 in c}
rows, result = [], {"commit": commit, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                    "runs": runs, "cases": {}}
for name, values in cases.items():
    vm = statistics.median(float(v[0]) for v in values)
    foundation = statistics.median(float(v[2]) for v in values)
    result["cases"][name] = {"vm_ns": vm, "vm_allocations": values[0][1], "foundation_ns": foundation,
                             "foundation_allocations": values[0][3], "ir_per_evaluation": ir.get(name)}
    irs = f"{ir[name]:,.0f}" if name in ir else "—"
    rows.append(f"| {name} | {vm:.1f} | {irs} | {values[0][1]} | {foundation / 1000:.1f} µs, {values[0][3]} allocs | {foundation / vm:.0f}× |")
with open(json_path, "w") as f:
    json.dump(result, f, indent=2)
block = "\n".join([
    "<!-- filter-results.sh: begin (generated; rerun bench/filter-results.sh) -->",
    f"Latest `bench/filter-results.sh`: commit {commit}, {result['date']}, {os.uname().nodename} "
    f"(nproc {os.cpu_count()}); median of {runs} runs' best-of-5; raw JSON in `bench/results-latest/filter.json`.",
    "",
    "| case | FilterVM ns | Ir/eval | allocs | Foundation decode + check | speed-up |",
    "|---|---:|---:|---:|---|---:|",
    *rows,
    "<!-- filter-results.sh: end -->"])
doc = open(doc_path).read()
begin, end = doc.find("<!-- filter-results.sh: begin"), doc.find("<!-- filter-results.sh: end -->")
if begin >= 0 and end > begin:
    doc = doc[:begin] + block + doc[end + len("<!-- filter-results.sh: end -->"):]
else:
    title_end = doc.index("\n") + 1
    doc = doc[:title_end] + "\n" + block + "\n" + doc[title_end:]
open(doc_path, "w").write(doc)
print(block)
PY
