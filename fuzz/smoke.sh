#!/usr/bin/env bash
# CI's fuzz stage: builds every fuzz target (fuzz/*/entry.swift) and runs each for a bounded time
# on a copy of its seed corpus, one after the other. Prints one line per target; on a crash,
# timeout or OOM prints the end of libFuzzer's output and the crashing input, and fails after
# the remaining targets have run (so one report shows every broken target).
#   fuzz/smoke.sh [seconds per target, default 20]      FUZZ_TARGETS="json http" for a subset
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
failed=()
for entry in fuzz/*/entry.swift; do
  name=$(basename "$(dirname "$entry")")
  [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]] && continue
  log=fuzz/out/$name/smoke.log
  mkdir -p "fuzz/out/$name"
  start=$SECONDS
  # -timeout: an input slower than this is a hang (quadratic work), not bad luck.
  if bash fuzz/run.sh "$name" "$seconds" -timeout=20 -rss_limit_mb=2048 >"$log" 2>&1; then
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    echo "fuzz $name: ok, ${runs:-?} executions ($((SECONDS - start))s incl. build)"
  else
    echo "fuzz $name: FAILED ($((SECONDS - start))s) — end of $log:"
    grep -v "Cannot export local symbol" "$log" | tail -40
    for crash in fuzz/out/"$name"/crashes/*; do
      [ -f "$crash" ] && { echo "input $crash (base64):"; base64 "$crash" | head -20; }
    done
    failed+=("$name")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz targets failed: ${failed[*]}"; exit 1; }
