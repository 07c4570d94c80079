#!/usr/bin/env python3
"""bench/soak_monitor.py: the soak test's observer, beside the load (bench/soak.sh starts it).

Two threads, each on a 100 ms schedule, until SIGTERM/SIGINT:
- RSS: VmRSS of the broker from /proc/PID/status;
- HELLO probe: a fresh RawSocket JSON session (TCP connect, RawSocket handshake, HELLO) timed
  from connect to WELCOME, then closed. A probe that gets no WELCOME within --timeout counts as
  failed (and as that long in the percentiles). A probe late by more than a tick starts at once.
Each probe also records how late its thread woke from the 100 ms wait (ms): a control for CPU
starvation of the monitor itself on a shared machine (a probe cannot be faster than its own
process gets scheduled).
Writes JSON: {"rss": [[wall_s, kib], ...], "probes": [[wall_s, ms or null, error or null, wake_late_ms], ...]}.
"""
import argparse
import json
import signal
import socket
import struct
import threading
import time

TICK = 0.1
HELLO = json.dumps([1, "realm1", {"roles": {"subscriber": {}, "publisher": {}}}]).encode()


def read_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def recv_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def probe_once(port, timeout):
    """Milliseconds from connect to WELCOME; raises on anything else."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(max(0.001, timeout - (time.monotonic() - started)))
        sock.sendall(bytes([0x7F, 0xF1, 0, 0]))
        reply = recv_exact(sock, 4)
        if reply[0] != 0x7F or reply[1] & 0x0F != 1:
            raise ConnectionError(f"RawSocket handshake refused: {reply.hex()}")
        sock.sendall(struct.pack(">I", len(HELLO)) + HELLO)
        while True:
            header = recv_exact(sock, 4)
            length = int.from_bytes(header[1:], "big")
            payload = recv_exact(sock, length)
            if header[0] & 0x07 != 0:   # ping/pong frames
                continue
            message = json.loads(payload)
            if message[0] == 2:
                return (time.monotonic() - started) * 1000
            raise ConnectionError(f"not WELCOME: {payload[:200]!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--port", type=int, required=True, help="RawSocket port (JSON)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    rss, probes = [], []

    def sample_rss():
        next_at = time.monotonic()
        while not stop.is_set():
            try:
                kib = read_rss_kib(args.pid)
            except OSError:
                break   # the broker is gone
            rss.append([time.time(), kib])
            next_at += TICK
            stop.wait(max(0.0, next_at - time.monotonic()))

    def probe():
        next_at = time.monotonic()
        while not stop.is_set():
            at = time.time()
            late = round(max(0.0, time.monotonic() - next_at) * 1000, 3)
            try:
                probes.append([at, round(probe_once(args.port, args.timeout), 3), None, late])
            except Exception as error:   # noqa: BLE001 — every failure is a data point
                probes.append([at, None, f"{type(error).__name__}: {error}"[:200], late])
            next_at = max(next_at + TICK, time.monotonic())
            stop.wait(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=sample_rss, daemon=True), threading.Thread(target=probe, daemon=True)]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        stop.wait(0.5)
    for thread in threads:
        thread.join(timeout=args.timeout + 1)
    with open(args.out, "w") as out:
        json.dump({"tick_s": TICK, "rss": rss, "probes": probes}, out)


if __name__ == "__main__":
    main()
