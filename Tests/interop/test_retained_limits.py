# Event retention under pressure (SPEC §3 `max_retained_bytes`, §5): many large retained topics,
# published from sessions on every loop at once, never hold more than the limit — checked on the
# broker's own gauge `fastbroker_retained_bytes` and by what a `get_retained` prefix subscription
# gets back (only the most recently retained topics, oldest evicted first) — and a retained
# event larger than the limit alone is refused with an ERROR naming the limit.

import asyncio
import re

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions

from conftest import make_broker
from loop_placement import connect_on_loop
from rawwire import get_metrics
from wampclient import Inbox, connect, publish, run, unique

LIMIT = 64 * 1024
LOOPS = 2


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    def configure(config):
        config["loops"] = LOOPS
        config["limits"]["max_retained_bytes"] = LIMIT
        config["limits"]["max_message_bytes"] = 4 * LIMIT   # room for a PUBLISH over LIMIT
    b = make_broker(tmp_path_factory, "retained-limits", mutate=configure).start()
    yield b
    b.finish()


def metric(broker, name):
    _, text = get_metrics(broker)
    found = re.search(rf'^{name}(?:\{{realm="realm1"\}})? (\S+)$', text, re.M)
    assert found, f"{name} missing from /metrics"
    return int(float(found.group(1)))


def test_many_large_retained_topics_stay_within_the_limit(small_store):
    async def body():
        base = unique("com.example.flood")
        publishers = [await connect_on_loop(small_store, i) for i in range(LOOPS)]
        blob = "x" * 4000
        rounds = 60   # 60 × 2 × ~4.3 KB ≈ 8× the limit

        async def flood(index, session):
            for i in range(rounds):
                await publish(session, f"{base}.p{index}.t{i}", blob, i, options=PublishOptions(acknowledge=True, retain=True))
        await asyncio.gather(*(flood(i, s) for i, s in enumerate(publishers)))

        held = metric(small_store, "fastbroker_retained_bytes")
        assert 0 < held <= LIMIT
        assert metric(small_store, "fastbroker_retained_evictions_total") > 0
        topics = metric(small_store, "fastbroker_retained_topics")
        assert 0 < topics <= LIMIT // 4000

        sub = await connect(small_store, "ws", "realm1")
        inbox = Inbox(sub)
        await inbox.subscribe(f"{base}.", match="prefix", get_retained=True)
        await publish(publishers[0], f"{base}.sentinel", "sentinel")
        events = await inbox.until("sentinel")
        assert len(events) == topics
        assert all(e.details.retained is True for e in events)
        # Oldest evicted first: each publisher's surviving topics are its latest ones.
        for index in range(LOOPS):
            kept = sorted(e.args[1] for e in events if f".p{index}." in e.details.topic)
            assert kept == list(range(rounds - len(kept), rounds)), kept
    run(body())


def test_retained_event_larger_than_the_limit_is_refused_naming_it(small_store):
    async def body():
        session = await connect(small_store, "ws", "realm1")
        with pytest.raises(ApplicationError) as refused:
            await publish(session, unique("com.example.huge"), "y" * (LIMIT + 1),
                          options=PublishOptions(acknowledge=True, retain=True))
        assert refused.value.error == "fastbroker.error.limit_exceeded"
        assert "is larger than limits.max_retained_bytes (65536)" in refused.value.args[0]
        _, text = get_metrics(small_store)
        assert re.search(r'^fastbroker_limit_refusals_total\{limit="max_retained_bytes"\} [1-9]', text, re.M)
    run(body())
