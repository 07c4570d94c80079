#!/usr/bin/env bash
# Installs what is missing, builds FastBroker in release mode and starts it. With no arguments
# it runs the embedded default configuration (WebSocket ws://127.0.0.1:8080/ws, RawSocket
# 127.0.0.1:8081, realm "realm1" open to anonymous); any arguments are passed to fastbroker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product fastbroker
exec .build/release/fastbroker "$@"
