# Which event loop a session lands on, for tests that need sessions on given loops (consumer
# groups across loops, a loop's pause seen by its other sessions). The broker spreads connections
# over its loops with SO_REUSEPORT (the kernel picks by address), so a test connects, reads the
# per-loop sessions gauge back and keeps the session if it landed where wanted.

import asyncio
import re
import time

from rawwire import RawSocketClient, get_metrics
from wampclient import connect


def loop_sessions(broker):
    """{loop index: open sessions} from `fastbroker_loop_sessions`."""
    _, text = get_metrics(broker)
    return {int(m.group(1)): int(float(m.group(2)))
            for m in re.finditer(r'^fastbroker_loop_sessions\{loop="(\d+)"\} (\S+)', text, re.M)}


def session_with_loop(broker, loops, attempts=40):
    """A RawSocket session and the loop it landed on (a reading disturbed by another session
    opening or closing meanwhile is discarded and retried)."""
    for _ in range(attempts):
        before = loop_sessions(broker)
        client = RawSocketClient(broker.rs_port, timeout=5.0)
        client.hello()
        after = loop_sessions(broker)
        changed = {i: after.get(i, 0) - before.get(i, 0) for i in range(loops)}
        grew = [i for i, d in changed.items() if d == 1]
        if len(grew) == 1 and all(d == 0 for i, d in changed.items() if i != grew[0]):
            return client, grew[0]
        client.close()
    raise AssertionError(f"could not tell which loop a new session landed on in {attempts} attempts")


def session_on_loop(broker, loop, loops, attempts=40):
    """A RawSocket session on `loop`. The sessions that landed elsewhere are kept open until one
    lands there (closing them at once would disturb the next readings), then closed."""
    spare = []
    try:
        for _ in range(attempts):
            client, landed = session_with_loop(broker, loops)
            if landed == loop:
                return client
            spare.append(client)
        raise AssertionError(f"no session landed on loop {loop} in {attempts} attempts")
    finally:
        for client in spare:
            client.close()


async def connect_on_loop(broker, loop_index, transport="ws", attempts=40):
    """An Autobahn session on `loop_index` (`wampclient.connect` until one lands there)."""
    spare = []
    for _ in range(attempts):
        before = await asyncio.to_thread(loop_sessions, broker)
        s = await connect(broker, transport, "realm1")
        after = await asyncio.to_thread(loop_sessions, broker)
        if after.get(loop_index, 0) > before.get(loop_index, 0):
            for x in spare:
                x.leave()
            return s
        spare.append(s)
    raise AssertionError(f"no session landed on loop {loop_index} in {attempts} attempts")


def wait_loop_sessions_below(broker, loop, count_before, timeout=5.0):
    """Waits until a session on `loop` closed (its gauge went below `count_before`)."""
    deadline = time.monotonic() + timeout
    while loop_sessions(broker).get(loop, 0) >= count_before:
        assert time.monotonic() < deadline, "the broker did not notice the closed connection"
        time.sleep(0.02)
