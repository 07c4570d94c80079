#!/usr/bin/env bash
# Installs what is missing and runs every test: Swift unit tests (framing, JSON, WAMP-CRA,
# config, filter VM, broker core incl. the allocation test), then the Python suites that drive
# the real broker with Autobahn (interop) and check the filter VM against moto (differential).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

echo "== swift build"
swift build --build-tests
echo "== swift test"
swift test --skip-build --disable-swift-testing

export FASTBROKER_BIN="$PWD/.build/debug/fastbroker"
export FILTER_EVAL="$PWD/.build/debug/filter-eval"
suites=()
for d in Tests/interop Tests/differential; do
  if ls "$d"/test_*.py >/dev/null 2>&1; then suites+=("$d"); fi
done
if [ ${#suites[@]} -gt 0 ]; then
  echo "== pytest ${suites[*]}"
  python3 -m pytest -q -p no:cacheprovider "${suites[@]}"
fi
# The interop suite again with two event loops, so sessions of one test sit on different loops
# and every feature crosses the lock-free inter-loop queues.
echo "== pytest Tests/interop with loops: 2"
FASTBROKER_TEST_LOOPS=2 python3 -m pytest -q -p no:cacheprovider Tests/interop
