#!/usr/bin/env python3
"""bench/memory_per_connection.py: broker memory per idle session and per subscription.

Run by bench/memory-per-connection.sh against a fresh broker (PID and RawSocket/WebSocket port
given). Steps, each measured as the broker's VmRSS (median of 5 samples 100 ms apart, after the
step settles for --settle seconds):
  idle -> N idle sessions (HELLO/WELCOME, then silent) -> 10 of them subscribe to --topics distinct
  topics each -> every session subscribes to one shared topic -> all closed (measured after
  --closed-settle seconds, past jemalloc's page decay; then again after as long with a fresh
  session every 100 ms, which lets jemalloc purge).
Prints and writes JSON with the deltas per session and per subscription.
"""
import argparse
import asyncio
import base64
import json
import os
import statistics
import struct
import time

HELLO = json.dumps([1, "realm1", {"roles": {"subscriber": {}}}]).encode()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measured_rss(pid, settle):
    await asyncio.sleep(settle)
    samples = []
    for _ in range(5):
        samples.append(rss_kib(pid))
        await asyncio.sleep(0.1)
    return statistics.median(samples)


class Session:
    """One WAMP JSON session over RawSocket or WebSocket (client frames masked)."""

    def __init__(self, transport, port):
        self.transport, self.port = transport, port
        self.replies = {}
        self.waiters = {}

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        if self.transport == "rawsocket":
            self.writer.write(bytes([0x7F, 0xF1, 0, 0]))
            reply = await self.reader.readexactly(4)
            assert reply[1] & 0x0F == 1, f"RawSocket handshake refused: {reply.hex()}"
        else:
            key = base64.b64encode(os.urandom(16)).decode()
            self.writer.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n").encode())
            head = await self.reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head[:80]
        self.send(HELLO)
        welcome = await self.receive()
        assert welcome[0] == 2, welcome

    def send(self, payload):
        if self.transport == "rawsocket":
            self.writer.write(struct.pack(">I", len(payload)) + payload)
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        length = len(payload)
        header = bytes([0x81]) + (bytes([0x80 | length]) if length < 126 else bytes([0x80 | 126]) + struct.pack(">H", length))
        self.writer.write(header + mask + masked)

    async def receive(self):
        if self.transport == "rawsocket":
            while True:
                header = await self.reader.readexactly(4)
                payload = await self.reader.readexactly(int.from_bytes(header[1:], "big"))
                if header[0] & 0x07 == 0:
                    return json.loads(payload)
        while True:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", await self.reader.readexactly(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(length)
            if first & 0x0F in (1, 2):
                return json.loads(payload)

    async def subscribe_all(self, topics):
        """Pipelines one SUBSCRIBE per topic and waits for every SUBSCRIBED."""
        for request, topic in enumerate(topics, start=1):
            self.send(json.dumps([32, request, {}, topic]).encode())
        await self.writer.drain()
        for _ in topics:
            reply = await self.receive()
            assert reply[0] == 33, f"SUBSCRIBE refused: {reply}"

    def close(self):
        self.writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--transport", choices=["rawsocket", "websocket"], default="rawsocket")
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=10, help="sessions that subscribe to distinct topics")
    parser.add_argument("--topics", type=int, default=1000, help="distinct topics per subscribing session")
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--closed-settle", type=float, default=15.0, help="wait after closing every session")
    parser.add_argument("--out")
    args = parser.parse_args()

    result = {"transport": args.transport, "sessions": args.sessions}
    result["idle_kib"] = await measured_rss(args.pid, args.settle)
    sessions = [Session(args.transport, args.port) for _ in range(args.sessions)]
    for start in range(0, len(sessions), 100):   # in batches: the accept backlog is finite
        await asyncio.gather(*(s.open() for s in sessions[start:start + 100]))
    result["sessions_kib"] = await measured_rss(args.pid, args.settle)
    started = time.monotonic()
    await asyncio.gather(*(s.subscribe_all([f"mem.s{i}.t{j}" for j in range(args.topics)])
                           for i, s in enumerate(sessions[:args.subscribers])))
    result["distinct_subscribe_seconds"] = round(time.monotonic() - started, 3)
    result["distinct_subscriptions"] = args.subscribers * args.topics
    result["distinct_kib"] = await measured_rss(args.pid, args.settle)
    await asyncio.gather(*(s.subscribe_all(["mem.shared"]) for s in sessions))
    result["shared_subscribers"] = len(sessions)
    result["shared_kib"] = await measured_rss(args.pid, args.settle)
    for s in sessions:
        s.close()
    # jemalloc returns freed pages after its decay time (10 s by default): wait past it.
    result["closed_kib"] = await measured_rss(args.pid, args.closed_settle)
    # Without a background thread jemalloc purges only when the broker allocates: a fresh session
    # every 100 ms (like the soak's HELLO probe) for --closed-settle seconds tells a leak from pages
    # merely not yet returned.
    deadline = time.monotonic() + args.closed_settle
    while time.monotonic() < deadline:
        probe = Session(args.transport, args.port)
        await probe.open()
        probe.close()
        await asyncio.sleep(0.1)
    result["closed_active_kib"] = await measured_rss(args.pid, 0.5)

    result["bytes_per_idle_session"] = round((result["sessions_kib"] - result["idle_kib"]) * 1024 / args.sessions)
    result["bytes_per_distinct_topic_subscription"] = round(
        (result["distinct_kib"] - result["sessions_kib"]) * 1024 / result["distinct_subscriptions"])
    result["bytes_per_subscriber_of_one_topic"] = round((result["shared_kib"] - result["distinct_kib"]) * 1024 / len(sessions))
    print(json.dumps(result))
    if args.out:
        with open(args.out, "w") as out:
            json.dump(result, out, indent=1)


if __name__ == "__main__":
    asyncio.run(main())
