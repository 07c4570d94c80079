# Adversarial tests: bounded loopback attacks on the real `fastbroker` process, one file per
# class of attack (sizes, counts, nesting, repetition, Unicode, timing, never reading). Each
# attack is followed by `assert_healthy`: a fresh HELLO must be answered within 1 s and an
# established publisher/subscriber pair must keep exchanging events.
#
# The broker fixtures and clients are the interop suite's (Tests/interop): this file loads its
# conftest under another module name so both folders can run in one pytest session.

import importlib.util
import sys
import time
from pathlib import Path

INTEROP = Path(__file__).resolve().parents[1] / "interop"
sys.path.insert(0, str(INTEROP))

_spec = importlib.util.spec_from_file_location("interop_conftest", INTEROP / "conftest.py")
interop_conftest = importlib.util.module_from_spec(_spec)
sys.modules["interop_conftest"] = interop_conftest
_spec.loader.exec_module(interop_conftest)

broker = interop_conftest.broker              # noqa: F811  (pytest fixture, module scope)
fresh_broker = interop_conftest.fresh_broker  # noqa: F811  (pytest fixture, per test)

from rawwire import RawSocketClient  # noqa: E402

# Test files import the helpers below from here ("conftest" is ambiguous when the interop folder
# runs in the same pytest session).
sys.modules.setdefault("adversarial_conftest", sys.modules[__name__])


def hello_round_trip_seconds(broker, realm="realm1"):
    """Seconds from TCP connect to WELCOME for a new RawSocket session (raises if none)."""
    start = time.monotonic()
    with RawSocketClient(broker.rs_port, timeout=1.0) as client:
        client.hello(realm)
    return time.monotonic() - start


def assert_healthy(broker, healthy=None):
    """The broker survived: still running, a fresh HELLO answered within 1 s, and (when given)
    an established `wampclient.Healthy` pair still round-trips an event (call from async code
    as `await healthy.roundtrip()` instead; this checks only the process and the HELLO)."""
    assert broker.alive(), f"fastbroker died:\n{broker.logs()}"
    took = hello_round_trip_seconds(broker)
    assert took < 1.0, f"fresh HELLO took {took:.2f}s"
