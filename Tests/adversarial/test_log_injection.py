# Client text in the broker's log and in its ABORT/ERROR messages (issue 9 item 9d): a GOODBYE
# reason, an authid or an authmethod list full of newlines and tens of kilobytes long must
# neither forge log lines nor make them huge, and must not be echoed back at full length.

from conftest import assert_healthy
from rawwire import RawSocketClient

FORGED = "FORGED-LINE fastbroker : session 1 closed"


def log_lines(broker, marker):
    text = (broker.dir / "stderr.log").read_bytes()
    return [line for line in text.split(b"\n") if marker.encode() in line]


def assert_no_forged_line(broker, tag):
    forged = [line for line in (broker.dir / "stderr.log").read_bytes().split(b"\n")
              if line.startswith(tag.encode())]
    assert not forged, f"a client forged log lines: {forged[:2]!r}"


def test_goodbye_reason_is_escaped_and_capped_in_the_log(broker):
    tag = FORGED + " goodbye"
    reason = "com.example.bye\n" + tag + "\r\n" + "a" * 60_000
    with RawSocketClient(broker.rs_port, timeout=5) as c:
        session = c.hello("realm1")[1]
        c.send_msg([6, {}, reason])
        assert c.recv_msg() == [6, {}, "wamp.close.goodbye_and_out"]
        c.wait_closed(3)
    # The close is logged before the reply is written, so it is in the file by now.
    lines = log_lines(broker, f"session {session} closed")
    assert len(lines) == 1, lines
    assert len(lines[0]) < 1024, f"log line of {len(lines[0])} bytes"
    assert b"com.example.bye\\n" + tag.encode() + b"\\r\\n" in lines[0], lines[0][:400]
    assert_no_forged_line(broker, tag)
    assert_healthy(broker)


def test_authid_is_escaped_and_capped_in_the_log(broker):
    tag = FORGED + " authid"
    with RawSocketClient(broker.rs_port, timeout=5) as c:
        session = c.hello("realm1", {"roles": {"subscriber": {}}, "authid": "x\n" + tag + "\n" + "b" * 30_000})[1]
        c.send_msg([6, {}, "wamp.close.close_realm"])
        assert c.recv_msg()[0] == 6
    lines = log_lines(broker, f"session {session} opened")
    assert len(lines) == 1 and len(lines[0]) < 1024, [line[:200] for line in lines]
    assert_no_forged_line(broker, tag)
    assert_healthy(broker)


def test_abort_quoting_client_input_is_capped(broker):
    """HELLO offering only unknown authmethods: the ABORT names them, cut to a bounded length."""
    methods = [f"method-{i}-" + "m" * 100 for i in range(300)]
    with RawSocketClient(broker.rs_port, timeout=5) as c:
        c.handshake()
        c.send_msg([1, "realm1", {"roles": {"subscriber": {}}, "authmethods": methods}])
        msg = c.recv_msg()
        assert msg[0] == 3 and msg[2] == "wamp.error.not_authorized", msg[:1] + [str(msg[1:])[:300]]
        text = msg[1]["message"]
        assert len(text.encode()) < 300 and text.endswith("bytes)"), text
        c.wait_closed(3)
    assert_healthy(broker)
