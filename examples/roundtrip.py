"""Connect to FastBroker with Autobahn|Python, subscribe, publish, and get the event back.

    python3 examples/roundtrip.py [ws://127.0.0.1:8080/ws]
"""
import asyncio
import sys

from autobahn.asyncio.component import Component
from autobahn.wamp.types import PublishOptions

url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8080/ws"
component = Component(transports=url, realm="realm1")


@component.on_join
async def joined(session, details):
    print(f"joined realm1 as session {details.session} ({details.authrole})")
    received = asyncio.get_running_loop().create_future()
    await session.subscribe(lambda *args, **kwargs: received.set_result((args, kwargs)), "com.example.hello")
    # exclude_me=False: by default a publisher does not receive its own events.
    await session.publish("com.example.hello", "hello", 42, who="world",
                          options=PublishOptions(acknowledge=True, exclude_me=False))
    args, kwargs = await asyncio.wait_for(received, 5)
    print(f"event: args={list(args)} kwargs={kwargs}")
    await session.leave()


if __name__ == "__main__":
    from autobahn.asyncio.component import run
    run([component], log_level="warn")
