"""Writes the session fuzz target's seed corpus (fuzz/session/corpus/): short WAMP conversations
in the input format entry.swift describes, in JSON and MessagePack, covering the handshake,
broadcast, pattern, filtered and consumer-group subscriptions across both loops, publishes with
options, unsubscribes, GOODBYE and abrupt disconnects. Run: .venv/bin/python fuzz/session/make_corpus.py"""

import json
from pathlib import Path

import msgpack

OUT = Path(__file__).resolve().parent / "corpus"
HELLO = [1, "realm1", {"roles": {"publisher": {}, "subscriber": {}}}]
SETTLE, CLOSE = 0x20, 0x10


def conversation(name, serializers, steps):
    """serializers: per client 'json' or 'msgpack'; steps: (client, message or raw bytes, flags)."""
    head = (len(serializers) - 1) | sum((s == "msgpack") << (2 + i) for i, s in enumerate(serializers))
    out = bytearray([head])
    for client, message, flags in steps:
        if isinstance(message, bytes):
            payload, kind = message, 3
        elif serializers[client] == "json":
            payload, kind = json.dumps(message, separators=(",", ":")).encode(), 0
        else:
            payload, kind = msgpack.packb(message), 0
        out += bytes([client | kind << 2 | flags, len(payload) & 0xFF, len(payload) >> 8]) + payload
    (OUT / name).write_bytes(bytes(out))


def pubsub():
    return [
        (0, HELLO, 0), (1, HELLO, SETTLE),
        (1, [32, 1, {}, "com.a.b"], 0),
        (1, [32, 2, {"match": "prefix"}, "com.a"], 0),
        (1, [32, 3, {"match": "wildcard"}, "com..b"], SETTLE),
        (0, [16, 1, {"acknowledge": True, "exclude_me": False}, "com.a.b", [1, "x"], {"k": 2.5}], SETTLE),
        (0, [16, 2, {"exclude": [1], "eligible_authid": ["a"]}, "com.a.c", [], {}], SETTLE),
        (1, [34, 4, 1], 0),
        (1, [6, {}, "wamp.close.normal"], SETTLE),
    ]


def groups(close_flags):
    return [
        (0, HELLO, 0), (1, HELLO, 0), (2, HELLO, SETTLE),
        (0, [32, 1, {"_type": "failover", "_group": "g"}, "com.g"], SETTLE),
        (1, [32, 1, {"_type": "failover", "_group": "g"}, "com.g"], SETTLE),
        (2, [32, 1, {"_type": "shared"}, "com.s"], SETTLE),
        (2, [16, 1, {"acknowledge": True}, "com.g", [1]], 0),
        (2, [16, 2, {}, "com.g", [2]], close_flags),
        (2, [16, 3, {}, "com.g", [3]], SETTLE),
        (1, [34, 2, 1], SETTLE),
    ]


def main():
    OUT.mkdir(exist_ok=True)
    conversation("pubsub-json", ["json", "json"], pubsub())
    conversation("pubsub-msgpack", ["msgpack", "msgpack"], pubsub())
    conversation("pubsub-mixed", ["json", "msgpack"], pubsub())
    conversation("groups-graceful", ["json", "json", "msgpack"], groups(SETTLE))
    conversation("groups-abrupt", ["json", "json", "msgpack"],
                 groups(0)[:7] + [(0, [16, 9, {}, "com.g", [9]], CLOSE | SETTLE)] + groups(0)[7:])
    conversation("filter", ["json", "json"], [
        (0, HELLO, 0), (1, HELLO, SETTLE),
        (1, [32, 1, {"_filter": "price > :min AND begins_with(#sym, :p)",
                     "_filter_values": {":min": 100, ":p": "AB"}, "_filter_names": {"#sym": "symbol"}}, "com.f"], SETTLE),
        (0, [16, 1, {}, "com.f", [], {"price": 101, "symbol": "ABC"}], 0),
        (0, [16, 2, {}, "com.f", [], {"price": 99, "symbol": "ABC"}], SETTLE),
    ])
    conversation("permissions-realm2", ["json", "json"], [
        (0, [1, "realm2", {}], 0), (1, [1, "realm2", {}], SETTLE),
        (1, [32, 1, {"match": "prefix"}, "com.x."], 0),
        (1, [32, 2, {}, "com.x.private.data"], SETTLE),
        (0, [16, 1, {"acknowledge": True}, "com.x.private.data"], SETTLE),
    ])
    conversation("protocol-errors", ["json", "msgpack"], [
        (0, [16, 1, {}, "com.a"], 0),                       # PUBLISH before HELLO
        (1, HELLO, 0), (1, HELLO, SETTLE),                  # HELLO twice
        (0, b"\x00\x00\x00\x05[1,\"", 0),                   # truncated frame, raw
        (1, b"\x07\xff\xff\xff", SETTLE),                   # reserved frame kind
    ])


if __name__ == "__main__":
    main()
