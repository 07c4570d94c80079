#!/usr/bin/env bash
# Installs what is missing and runs every test, in stages that each print their time:
#   setup        system libraries and the pinned Python venv (scripts/setup.sh --test)
#   build        debug build of everything, tests included
#   unit         Swift unit tests (framing, JSON, WAMP-CRA, config, filter VM, broker core incl.
#                the allocation test)
#   bench-smoke  fastbench against the debug broker, every workload briefly (bench/smoke.sh): the load
#                tool runs and its accounting finds the deliveries exact (not a benchmark)
#   differential the filter VM against moto's DynamoDB evaluator (plain debug filter-eval)
#   asan         the broker built with AddressSanitizer; the interop and adversarial suites run
#                against it with one loop and with two (so sessions sit on different loops and
#                every feature crosses the inter-loop queues). Any ASan report fails the run.
#   tsan         the cross-loop, queue and cluster (libnats threads) unit tests under ThreadSanitizer;
#                any report fails.
#   fuzz         every fuzz target built with libFuzzer + ASan and run briefly on its corpus
#                (fuzz/smoke.sh); a crash, timeout or OOM fails the run.
# The interop suite runs only against the ASan build: it is the same broker code with checks,
# and a plain duplicate would add the suite's time twice for nothing the ASan runs do not cover.
# TEST_STAGES="unit asan" runs a subset (setup and the builds a stage needs always run).
set -euo pipefail
cd "$(dirname "$0")/.."
stages=${TEST_STAGES:-"unit bench-smoke differential asan tsan fuzz"}
wants() { [[ " $stages " == *" $1 "* ]]; }

timings=()
report() {
  echo "== stage timings"
  printf '   %s\n' "${timings[@]}"
  echo "   total: ${SECONDS}s"
}
trap report EXIT
# stage <name> <command…>: runs one stage; its time goes into the summary, FAILED if it fails.
# (A function run as a stage is in an `if`, where `set -e` does not apply: chain with && there.)
stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "== $name"
  if "$@"; then
    timings+=("$name: ok ($((SECONDS - start))s)")
  else
    local rc=$?
    timings+=("$name: FAILED ($((SECONDS - start))s)")
    echo "== $name FAILED (exit $rc)"
    exit "$rc"
  fi
}

stage setup bash scripts/setup.sh --test
# The venv first on PATH: pytest, and the Swift tests that run `python3` (Autobahn and TLS
# interop), get the pinned packages.
export PATH="$PWD/.venv/bin:$PATH"
python=.venv/bin/python
# One pytest process per suite folder: the interop tests `from conftest import …`, and in one
# process that name would resolve to whichever folder's conftest.py was loaded last.
pytest_suites() {
  local rc=0
  for d in "$@"; do
    if ls "$d"/test_*.py >/dev/null 2>&1; then
      "$python" -m pytest -q -p no:cacheprovider "$d" || rc=1
    fi
  done
  return $rc
}

if wants unit || wants differential || wants bench-smoke; then
  stage build swift build --build-tests
fi
if wants unit; then stage unit swift test --skip-build --disable-swift-testing; fi
if wants bench-smoke; then stage bench-smoke bash bench/smoke.sh; fi
differential() { FILTER_EVAL="$PWD/.build/debug/filter-eval" pytest_suites Tests/differential; }
if wants differential; then stage differential differential; fi

# AddressSanitizer: reports go to files (not the broker's stderr, which tests read); any file
# there fails the stage. Leak detection is off: this stage looks for memory errors; what the
# broker still holds when a test stops it is not a defect (the session fuzz target checks that
# connections are released).
asan_reports=$PWD/.build-asan/reports
asan_clean() {
  if compgen -G "$asan_reports/*" >/dev/null; then
    echo "AddressSanitizer reported:"; cat "$asan_reports"/*; return 1
  fi
}
asan_suites() {
  mkdir -p "$asan_reports"
  FASTBROKER_TEST_LOOPS=$1 ASAN_OPTIONS="detect_leaks=0:log_path=$asan_reports/asan" \
    FASTBROKER_BIN="$PWD/.build-asan/debug/fastbroker" pytest_suites Tests/interop Tests/adversarial
  local rc=$?
  asan_clean && return $rc
}
if wants asan; then
  stage asan-build swift build -c debug --sanitize=address --product fastbroker --scratch-path .build-asan
  rm -rf "$asan_reports"
  stage "asan-interop loops=1" asan_suites 1
  stage "asan-interop loops=2" asan_suites 2
fi

# ThreadSanitizer on the tests where two loop threads share state: the MPSC inbox queues and
# the sessions on two loops exchanging events. halt_on_error makes the first report fail the test.
# No suppressions: every lock is a PThreadLock (a pthread mutex, which TSan models; Swift's
# Mutex on Linux uses raw futexes TSan cannot see), and the inboxes hand over with atomics.
# TSan needs its own malloc: libjemalloc is replaced in this build by scripts/tsan/mallctl-absent.c,
# built as libjemalloc.so.2 into a folder the test binary's rpath names (searched before the
# system's library folders, so the real jemalloc is never loaded).
# (LoopBoundTests is left out: it checks a debug trap by re-running the test binary as a child,
# which says nothing about races.)
tsan_tests=${TSAN_TESTS:-"MPSCQueueTests|CrossLoopTests|CrossLoopBacklogTests|OutboundQueueTests|RemotePublicationTests|PThreadLockTests|ClusterRoutingTests|ClusterLeaseTests|ClusterReconnectTests|ClusterGroupTests|ClusterRetentionTests"}
tsan_build() {
  local lib=$PWD/.build-tsan/no-jemalloc
  mkdir -p "$lib" &&
    clang -shared -fPIC -O1 -Wl,-soname,libjemalloc.so.2 -o "$lib/libjemalloc.so.2" scripts/tsan/mallctl-absent.c &&
    swift build --build-tests --sanitize=thread --scratch-path .build-tsan -Xlinker -rpath -Xlinker "$lib"
}
if wants tsan; then
  stage tsan-build tsan_build
  stage tsan-tests env TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
    swift test --skip-build --disable-swift-testing --sanitize=thread --scratch-path .build-tsan --filter "$tsan_tests"
fi

if wants fuzz; then stage fuzz bash fuzz/smoke.sh "${FUZZ_SMOKE_SECONDS:-20}"; fi
