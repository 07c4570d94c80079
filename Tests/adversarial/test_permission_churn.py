# Per-topic permission checks under churn (issue 9 item 4): a prefix subscription that reaches a
# denied topic is checked on every delivered topic, with a per-loop verdict cache bounded in
# entries and bytes. An attacker publishing thousands of distinct long topics must neither grow
# the broker without bound nor slip the denied topic through when the cache is emptied and refilled.

from rawwire import RawSocketClient

from conftest import assert_healthy

REALM = "com.adv.perm"
SECRET = "com.adv.secret"


def add_realm(config):
    config["realms"].append({
        "name": REALM,
        "auth": {"anonymous": {"role": "reader"}},
        "roles": [{"name": "reader", "permissions": [
            {"uri": SECRET, "match": "exact", "publish": True, "subscribe": False},
            {"uri": "", "match": "prefix", "publish": True, "subscribe": True}]}]})


def test_distinct_topic_churn_keeps_the_denied_topic_out(fresh_broker):
    broker = fresh_broker(add_realm)
    with RawSocketClient(broker.rs_port) as sub, RawSocketClient(broker.rs_port) as pub:
        sub.hello(REALM)
        pub.hello(REALM)
        sub.send_msg([32, 1, {"match": "prefix"}, "com.adv."])
        assert sub.recv_msg()[:2] == [33, 1]
        filler = "x" * 900   # ~290 topics fill the cache's byte budget: it is emptied many times
        request = 100
        batches, per_batch = 10, 300
        for batch in range(batches):
            for i in range(per_batch):
                request += 1
                pub.send_msg([16, request, {}, f"com.adv.t{batch}_{i}.{filler}", [request]])
            request += 1
            pub.send_msg([16, request, {}, SECRET, ["secret"]])
            request += 1
            pub.send_msg([16, request, {"acknowledge": True}, f"com.adv.end{batch}", ["end"]])
            reply = pub.recv_msg(timeout=10)
            assert reply[:2] == [17, request], reply
            for i in range(per_batch):
                event = sub.recv_msg(timeout=10)
                assert event[0] == 36 and event[4] != ["secret"], event
            event = sub.recv_msg(timeout=10)
            assert event[0] == 36 and event[4] == ["end"], f"the secret topic was delivered: {event}"
    assert_healthy(broker)
