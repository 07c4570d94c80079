#!/usr/bin/env bash
# Installs what FastBroker needs on a fresh Debian 12 machine with Swift: the system libraries
# (libuv, OpenSSL, jemalloc, the NATS C client) and, with --test, nats-server and a Python virtual
# environment `.venv/` holding the pinned packages of Tests/requirements.txt (the interop, adversarial and differential suites drive
# the broker with them). A venv, because Debian's python3 refuses `pip install` outside one
# (PEP 668). Skips what is already there: apt packages that are installed, and the venv while the
# requirements file is unchanged (a stamp in .venv/ holds its hash).
set -euo pipefail
cd "$(dirname "$0")/.."

test_deps=false
[ "${1:-}" = "--test" ] && test_deps=true

need_apt=()
for pkg in libuv1-dev libssl-dev libjemalloc-dev libnats-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if $test_deps; then
  # Debian splits venv support (ensurepip) out of python3; a stock image may lack python3 itself.
  command -v python3 >/dev/null || need_apt+=(python3)
  python3 -c "import ensurepip, venv" 2>/dev/null || need_apt+=(python3-venv)
  # The cluster tests start their own NATS servers (SPEC §7).
  dpkg-query -W -f='${Status}' nats-server 2>/dev/null | grep -q "install ok installed" || need_apt+=(nats-server)
  # The partition and latency test (Tests/interop/test_cluster_netns.py) needs ip and tc.
  { command -v ip && command -v tc; } >/dev/null || need_apt+=(iproute2)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if $test_deps; then
  requirements=Tests/requirements.txt
  stamp=.venv/requirements.sha256
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
  fi
  echo "setup: installing $requirements into .venv/"
  # A fresh venv each time the pins change, so packages dropped from the file do not linger.
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-input -r "$requirements"
  echo "$want" > "$stamp"
fi
