# SUBSCRIBE options as an attack surface: repeated keys must cost linear work (the last one wins,
# as for PUBLISH), and filter_values/filter_names with more entries than a 4 KiB filter
# expression can use are refused before they are decoded. Each attack is bounded (< 64 KiB, a
# few seconds) and followed by the health checks.

import json
import time

from conftest import with_healthy
from rawwire import RawSocketClient
from wampclient import unique

ATTACK_SECONDS = 5.0
MAX_PLACEHOLDERS = 4096 // 2  # SubscriptionFilter.maxPlaceholderEntries


def subscribe_bytes(request, members, topic):
    """A SUBSCRIBE whose options dict has exactly `members` ((key, value) pairs, repeats kept)."""
    body = ",".join(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}" for k, v in members)
    return f'[32,{request},{{{body}}},{json.dumps(topic)}]'.encode()


def test_repeated_subscribe_option_keys_are_linear_and_the_last_wins(broker):
    def attack():
        topic = unique("com.example.subrepeat")
        with RawSocketClient(broker.rs_port) as subscriber, RawSocketClient(broker.rs_port) as publisher:
            subscriber.hello()
            publisher.hello()
            members = [("match", "exact"), ("filter", "a = :v")] * 1500 + [("match", "prefix")]
            start = time.monotonic()
            for request in range(1, 4):
                subscriber.send_msg(subscribe_bytes(request, members, topic))
            replies = [subscriber.recv_msg(timeout=ATTACK_SECONDS) for _ in range(3)]
            took = time.monotonic() - start
            # The filter (no filter_values for :v) is refused each time, before any subscription.
            for request, reply in enumerate(replies, start=1):
                assert reply[:3] == [8, 32, request] and reply[4] == "wamp.error.invalid_argument", reply
            assert took < ATTACK_SECONDS, f"3 SUBSCRIBEs with 3,001 repeated option keys took {took:.1f}s"
            # Without the filter, the last match ("prefix") is the one that counts.
            subscriber.send_msg(subscribe_bytes(4, [("match", "exact")] * 3500 + [("match", "prefix")], topic))
            assert subscriber.recv_msg(timeout=ATTACK_SECONDS)[:2] == [33, 4]
            publisher.send_msg([16, 1, {"acknowledge": True}, topic + ".below", ["prefix"]])
            assert publisher.recv_msg()[:2] == [17, 1]
            event = subscriber.recv_msg()
            assert event[0] == 36 and event[4] == ["prefix"], event
    with_healthy(broker, attack)


def test_filter_maps_with_more_entries_than_an_expression_can_use_are_refused(broker):
    def attack():
        topic = unique("com.example.filtermaps")
        with RawSocketClient(broker.rs_port) as subscriber:
            subscriber.hello()
            values = {f":v{i}": i for i in range(MAX_PLACEHOLDERS + 1)}
            names = {f"#n{i}": "a" for i in range(MAX_PLACEHOLDERS + 1)}
            cases = [("filter_values", {"filter": "a = :v0", "filter_values": values}),
                     ("filter_names", {"filter": "#n0 = 1", "filter_names": names})]
            for request, (option, options) in enumerate(cases, start=1):
                subscriber.send_msg([32, request, options, topic])
                reply = subscriber.recv_msg(timeout=ATTACK_SECONDS)
                assert reply[:3] == [8, 32, request] and reply[4] == "wamp.error.invalid_argument", reply
                assert reply[3]["message"] == (
                    f"options.{option} has more than {MAX_PLACEHOLDERS} entries: "
                    "a filter expression of at most 4096 bytes cannot use them all"), reply
    with_healthy(broker, attack)
