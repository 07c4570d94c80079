# Topic-keyed caches do not pin memory (issue 10 item 4): a client publishes ~31 MiB of distinct
# topics, each once, long ones (60 KiB, limits.max_uri_bytes raised) and many short ones, while a
# pattern subscription makes the router cache every lookup. The broker's caches (the per-loop
# match cache, the routers' and the sessions' permission caches) stay within their byte budgets
# throughout, per the gauge `fastbroker_loop_cache_bytes`; the process's RSS comes back; and once
# nobody publishes, the idle sweep (LoopContext, every 10 s) empties the caches.
#
# Before the fix the caches were bounded by entries only (1,024 each, of up to max_uri_bytes):
# the same traffic left ~65 MiB pinned (31 MiB in the publisher's permission cache, as much in
# the match cache) long after the publications, and the match cache was never swept.
# Bounds now, per loop: match cache 512 KiB + router permission cache 256 KiB, plus 8 KiB per
# session (TopicIndex.cacheByteLimit, TopicPermissionCache).

import time

from adversarial_conftest import assert_healthy
from broker_memory import RSS_MEANINGFUL, rss_bytes
from rawwire import RawSocketClient, dumps, get_metrics, metric_sum

LONG_TOPIC_BYTES = 60 * 1024
LONG_TOPICS = 520               # 30.5 MiB
SHORT_TOPICS = 4_000            # 200 B each: many entries rather than many bytes
SHORT_TOPIC_BYTES = 200
BATCH = 40                      # publications in flight (acknowledged)
CACHE_BOUND_PER_LOOP = 512 * 1024 + 256 * 1024
CACHE_BOUND_PER_SESSION = 8 * 1024
RSS_KEPT = 8 << 20              # before the fix: ~65 MiB
RSS_RETURN_SECONDS = 8.0
SWEEP_SECONDS = 25.0            # two sweep periods of 10 s, and slack
GAUGE = "fastbroker_loop_cache_bytes"
PUBLISHED, EVENT, SUBSCRIBED = 17, 36, 33


def long_topics(config):
    config["limits"]["max_uri_bytes"] = 64 * 1024
    config["limits"]["max_message_bytes"] = 128 * 1024


def cache_bytes(broker):
    _, text = get_metrics(broker)
    value = metric_sum(text, GAUGE)
    assert value is not None, f"{GAUGE} missing from /metrics"
    return int(value)


def topic(i):
    if i < LONG_TOPICS:
        head = f"com.example.cached.long{i}."
        return head + "x" * (LONG_TOPIC_BYTES - len(head))
    head = f"com.example.cached.short{i}."
    return head + "y" * (SHORT_TOPIC_BYTES - len(head))


def publish_all(publisher, check):
    """Each topic once, acknowledged, BATCH at a time; `check()` after every batch."""
    total = LONG_TOPICS + SHORT_TOPICS
    for start in range(0, total, BATCH):
        ids = range(start + 1, min(start + BATCH, total) + 1)
        frames = b"".join(bytes([0]) + len(p).to_bytes(3, "big") + p
                          for p in (dumps([16, n, {"acknowledge": True}, topic(n - 1), []]) for n in ids))
        assert publisher.send_bytes(frames)
        for n in ids:
            reply = publisher.recv_msg(timeout=20.0)
            assert reply[:2] == [PUBLISHED, n], f"expected PUBLISHED for {n}, got {reply!r}"
        check()


def test_distinct_topics_published_once_do_not_pin_memory(fresh_broker):
    broker = fresh_broker(long_topics)
    loops = broker.config["loops"]
    bound = loops * CACHE_BOUND_PER_LOOP + 2 * CACHE_BOUND_PER_SESSION
    with RawSocketClient(broker.rs_port, timeout=10.0) as subscriber, \
            RawSocketClient(broker.rs_port, timeout=10.0) as publisher:
        subscriber.hello()
        publisher.hello()
        # The pattern makes every publication's router cache its lookup; it matches none of the
        # cached topics, so no EVENT traffic. The exact subscription receives the sentinel.
        subscriber.send_msg([32, 1, {"match": "prefix"}, "org.example.unmatched."])
        subscriber.send_msg([32, 2, {}, "com.example.cached.sentinel"])
        replies = [subscriber.recv_msg(), subscriber.recv_msg()]
        assert [r[:2] for r in replies] == [[SUBSCRIBED, 1], [SUBSCRIBED, 2]], replies
        rss_before = rss_bytes(broker)
        peak = [0]

        def check():
            held = cache_bytes(broker)
            peak[0] = max(peak[0], held)
            assert held <= bound, f"the caches hold {held} bytes after {LONG_TOPICS} long topics (bound {bound})"

        publish_all(publisher, check)
        # Sentinel: the subscriber's loop has routed every publication before it.
        publisher.send_msg([16, 999_999, {"acknowledge": True}, "com.example.cached.sentinel", ["end"]])
        assert publisher.recv_msg(timeout=10.0)[:2] == [PUBLISHED, 999_999]
        event = subscriber.recv_msg(timeout=10.0)
        assert event[0] == EVENT and event[4] == ["end"], event
        check()
        assert peak[0] > 0, f"{GAUGE} never counted a cached topic: the measurement is void"

        deadline = time.monotonic() + (RSS_RETURN_SECONDS if RSS_MEANINGFUL else 0)
        while rss_bytes(broker) - rss_before > RSS_KEPT and time.monotonic() < deadline:
            time.sleep(0.1)
        kept = rss_bytes(broker) - rss_before
        print(f"loops={loops}: caches peaked at {peak[0] >> 10} KiB (bound {bound >> 10} KiB); RSS kept "
              f"{kept >> 10} KiB after ~{(LONG_TOPICS * LONG_TOPIC_BYTES + SHORT_TOPICS * SHORT_TOPIC_BYTES) >> 20} MiB "
              f"of distinct topics")
        assert not RSS_MEANINGFUL or kept <= RSS_KEPT, (
            f"{RSS_RETURN_SECONDS} s after the publications RSS is still {kept >> 20} MiB above its figure "
            f"before them (bound {RSS_KEPT >> 20} MiB)")

        # The publisher leaves (its session's cache goes with it) and nobody publishes any more:
        # the idle sweep lets go of everything the routers' caches hold.
        publisher.close()
        deadline = time.monotonic() + SWEEP_SECONDS
        while (held := cache_bytes(broker)) > 0:
            assert time.monotonic() < deadline, f"the caches still hold {held} bytes {SWEEP_SECONDS} s after the last publication"
            time.sleep(0.5)
    assert_healthy(broker)
