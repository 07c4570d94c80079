# Content filters on subscriptions (SPEC §5.1) through the real broker with Autobahn|Python:
# subscribers on both loops (loops: 2), over WebSocket and RawSocket, each get exactly the
# events whose kwargs their filter accepts — checked against independent Python predicates —
# and bad filters are refused with wamp.error.invalid_argument and a message saying where.

import asyncio
import random
import sys
from pathlib import Path

import pytest
from autobahn.wamp.exception import ApplicationError

from conftest import make_broker
from wampclient import Inbox, connect, publish, run, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from fastbroker_autobahn import FastBrokerSubscribeOptions  # noqa: E402


@pytest.fixture(scope="module")
def broker2(tmp_path_factory):
    """A broker with two loops, so subscribers of one topic sit on different loops."""
    def two_loops(config):
        config["loops"] = 2
    b = make_broker(tmp_path_factory, "filters", mutate=two_loops).start()
    yield b
    b.finish()


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# (expression, filter_values, filter_names, independent predicate over the event's kwargs)
FILTERS = [
    ("price > :min", {":min": 100}, None,
     lambda k: is_number(k.get("price")) and k["price"] > 100),
    ("begins_with(sym, :p)", {":p": "AB"}, None,
     lambda k: isinstance(k.get("sym"), str) and k["sym"].startswith("AB")),
    ("attribute_not_exists(flag) OR flag = :f", {":f": False}, None,
     lambda k: "flag" not in k or k["flag"] is False),
    ("size(tags) >= :n AND contains(tags, :t)", {":n": 2, ":t": "hot"}, None,
     lambda k: isinstance(k.get("tags"), list) and len(k["tags"]) >= 2 and "hot" in k["tags"]),
    ("#s IN (:a, :b)", {":a": "open", ":b": "held"}, {"#s": "status"},
     lambda k: k.get("status") in ("open", "held") and isinstance(k.get("status"), str)),
    ("price BETWEEN 10 AND 20 AND NOT sym = 'ABX'", None, None,
     lambda k: is_number(k.get("price")) and 10 <= k["price"] <= 20 and k.get("sym") != "ABX"),
    ("nested.lvl[1].x = :v", {":v": 7}, None,
     lambda k: _nested_x(k) == 7 and not isinstance(_nested_x(k), bool)),
    ("attribute_type(price, :N) and price <> 15", {":N": "N"}, None,
     lambda k: is_number(k.get("price")) and k["price"] != 15),
]


def _nested_x(k):
    try:
        return k["nested"]["lvl"][1]["x"]
    except (KeyError, IndexError, TypeError):
        return None


def random_kwargs(rng):
    k = {}
    if rng.random() < 0.8:
        k["price"] = rng.choice([5, 10, 15, 20, 21, 99, 100, 101, 150.5, -3, "100", None])
    if rng.random() < 0.7:
        k["sym"] = rng.choice(["ABC", "ABX", "AB", "XAB", "ab", "Zed"])
    if rng.random() < 0.4:
        k["flag"] = rng.choice([True, False, 0, "false"])
    if rng.random() < 0.5:
        k["tags"] = rng.sample(["hot", "new", "cold", "sale"], rng.randint(0, 4))
    if rng.random() < 0.5:
        k["status"] = rng.choice(["open", "held", "closed", 1])
    if rng.random() < 0.3:
        k["nested"] = {"lvl": [{"x": 1}, {"x": rng.choice([7, 8, "7"])}]}
    return k


def options(expr, values, names):
    return FastBrokerSubscribeOptions(filter=expr, filter_values=values, filter_names=names,
                                      details_arg="details")


def test_each_subscriber_gets_exactly_the_matching_events(broker2):
    async def body():
        topic = unique("com.example.filtered")
        inboxes = []
        for i, (expr, values, names, _pred) in enumerate(FILTERS):
            s = await connect(broker2, "ws" if i % 2 else "rs", "realm1")
            inbox = Inbox(s)
            await s.subscribe(inbox.handler, topic, options=options(expr, values, names))
            inboxes.append(inbox)
        # An unfiltered subscriber sees everything (broadcast is unaffected by filters).
        plain_session = await connect(broker2, "rs", "realm1")
        plain = Inbox(plain_session)
        await plain.subscribe(topic)

        pub = await connect(broker2, "ws", "realm1")
        rng = random.Random(20261125)
        sent = []
        for n in range(300):
            if n % 25 == 0:
                await publish(pub, topic, n)          # no kwargs: filters see {}
                sent.append((n, {}))
            else:
                kw = random_kwargs(rng)
                await publish(pub, topic, n, **kw)
                sent.append((n, kw))
        everything = [e.args[0] for e in [await plain.get() for _ in sent]]
        assert everything == [n for n, _ in sent]
        for (expr, _v, _n, pred), inbox in zip(FILTERS, inboxes):
            expected = [n for n, kw in sent if pred(kw)]
            assert 0 < len(expected) < len(sent), f"test data should exercise {expr!r} both ways"
            got = [(await inbox.get()).args[0] for _ in expected]
            assert got == expected, f"filter {expr!r}: got {got}, expected {expected}"
        # Nothing beyond the matching events.
        await asyncio.sleep(0.3)
        for (expr, *_), inbox in zip(FILTERS, inboxes):
            assert inbox.queue.empty(), f"filter {expr!r} let through extra events: {inbox.queue._queue}"
    run(body(), timeout=60)


def test_identical_filters_share_a_subscription_across_transports_and_spellings(broker2):
    async def body():
        topic = unique("com.example.shared")
        a = await connect(broker2, "ws", "realm1")
        b = await connect(broker2, "rs", "realm1")
        c = await connect(broker2, "rs", "realm1")
        sa = await a.subscribe(lambda *x, **y: None, topic, options=options("v > :x", {":x": 3}, None))
        # Same bound program, different spelling (keyword case, literal instead of placeholder).
        sb = await b.subscribe(lambda *x, **y: None, topic, options=options("v  >  3", None, None))
        sc = await c.subscribe(lambda *x, **y: None, topic, options=options("v > :x", {":x": 4}, None))
        assert sa.id == sb.id
        assert sc.id != sa.id, "different filter values make a different subscription"
    run(body())


@pytest.mark.parametrize("expr,values,names,fragment", [
    ("price > :min AND (", {":min": 1}, None, "column"),
    ("price > :nope", None, None, ":nope"),
    ("price > :min", {":min": 1, ":unused": 2}, None, ":unused"),
    ("frobnicate(price)", None, None, "frobnicate"),
    ("price IN (" + ", ".join(str(i) for i in range(101)) + ")", None, None, "100"),
    ("#missing = 1", None, None, "#missing"),
])
def test_bad_filters_are_refused_with_invalid_argument(broker2, expr, values, names, fragment):
    async def body():
        s = await connect(broker2, "ws", "realm1")
        with pytest.raises(ApplicationError) as refused:
            await s.subscribe(lambda *a, **k: None, unique("com.example.bad"),
                              options=options(expr, values, names))
        assert refused.value.error == "wamp.error.invalid_argument"
        message = refused.value.args[0]
        assert fragment in message, message
        # The session survives a refused SUBSCRIBE.
        await s.subscribe(lambda *a, **k: None, unique("com.example.ok"))
    run(body())


def test_wrongly_typed_filter_options_are_refused(broker2):
    async def body():
        s = await connect(broker2, "rs", "realm1")
        for opts, fragment in [
            (FastBrokerSubscribeOptions(filter=42), "filter must be a string"),
            (FastBrokerSubscribeOptions(filter="a = :v", filter_values=[1]), "filter_values must be a dict"),
            (FastBrokerSubscribeOptions(filter="#a = 1", filter_names={"#a": 1}), "must be a string"),
            (FastBrokerSubscribeOptions(filter_values={":v": 1}), "without options.filter"),
        ]:
            with pytest.raises(ApplicationError) as refused:
                await s.subscribe(lambda *a, **k: None, unique("com.example.typed"), options=opts)
            assert refused.value.error == "wamp.error.invalid_argument"
            assert fragment in refused.value.args[0], refused.value.args[0]
    run(body())
