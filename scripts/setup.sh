#!/usr/bin/env bash
# Installs what FastBroker needs on a fresh Debian machine with Swift: the system libraries
# (libuv, OpenSSL, jemalloc) and, with --test, the Python packages the interop and
# differential tests drive the broker with. Skips what is already there.
set -euo pipefail

need_apt=()
for pkg in libuv1-dev libssl-dev libjemalloc-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  if ! python3 -c "import autobahn, msgpack, moto, boto3, pytest, hypothesis" 2>/dev/null; then
    echo "setup: installing Python test packages"
    python3 -m pip install -q --disable-pip-version-check autobahn msgpack moto boto3 pytest hypothesis
  fi
fi
