# One session subscribing to ever more topics (SPEC §3 `max_subscriptions_per_session`): past
# the cap each SUBSCRIBE gets ERROR `fastbroker.error.limit_exceeded` naming the limit, while the
# session and its existing subscriptions keep working. An identical re-subscribe (same id back)
# does not count twice; consumer-group memberships count; an UNSUBSCRIBE frees a place.

from conftest import assert_healthy
from rawwire import RawSocketClient, get_metrics

CAP = 3
LIMIT_EXCEEDED = "fastbroker.error.limit_exceeded"


def cap(config):
    config["limits"]["max_subscriptions_per_session"] = CAP


def subscribe(client, request, topic, options=None):
    client.send_msg([32, request, options or {}, topic])
    return client.recv_msg()


def assert_refused(reply, request):
    assert reply[:3] == [8, 32, request], reply
    assert reply[4] == LIMIT_EXCEEDED, reply
    assert "max_subscriptions_per_session" in reply[3]["message"] and str(CAP) in reply[3]["message"], reply


def test_subscription_cap(fresh_broker):
    broker = fresh_broker(cap)
    with RawSocketClient(broker.rs_port) as client, RawSocketClient(broker.rs_port) as publisher:
        client.hello()
        publisher.hello()
        ids = [subscribe(client, i + 1, f"com.example.cap{i}") for i in range(CAP)]
        assert all(r[0] == 33 for r in ids), ids
        again = subscribe(client, 10, "com.example.cap0")
        assert again[:2] == [33, 10] and again[2] == ids[0][2], "identical re-subscribe must return the same id"
        assert_refused(subscribe(client, 11, "com.example.over"), 11)
        assert_refused(subscribe(client, 12, "com.example.", {"match": "prefix"}), 12)
        # The session still works: its subscriptions deliver (acknowledged publish as sentinel).
        publisher.send_msg([16, 1, {"acknowledge": True}, "com.example.cap1", ["x"]])
        assert publisher.recv_msg()[0] == 17
        event = client.recv_msg()
        assert event[0] == 36 and event[1] == ids[1][2] and event[4] == ["x"], event
        # An UNSUBSCRIBE frees a place, which a consumer-group membership then takes.
        client.send_msg([34, 13, ids[2][2]])
        assert client.recv_msg()[:2] == [35, 13]
        joined = subscribe(client, 14, "com.example.group", {"type": "shared", "group": "g"})
        assert joined[:2] == [33, 14], joined
        assert_refused(subscribe(client, 15, "com.example.after_group"), 15)
        assert_refused(subscribe(client, 16, "com.example.group2", {"type": "shared", "group": "g"}), 16)
    _, text = get_metrics(broker)
    assert 'fastbroker_limit_refusals_total{limit="max_subscriptions_per_session"} 4' in text
    assert_healthy(broker)
