# Fixtures for the interop tests: write a broker config (three realms, a userdb with unsalted,
# `fastbroker user add`-salted and derive_key-salted users), start the real `fastbroker`
# process on free ports, wait until it accepts connections, and on teardown stop it with
# SIGTERM and require exit code 0.
#
# Binary: $FASTBROKER_BIN, default <repo>/.build/debug/fastbroker.
# Run: python3 -m pytest Tests/interop -q

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from autobahn.wamp import auth

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[2]
MAX_MESSAGE_BYTES = 65536

# Users. alice and dave: unsalted secrets. carol: salted, derived key computed here with
# Autobahn's derive_key (independent of the broker). bob: added with `fastbroker user add`.
ALICE = ("alice", "alice-secret")
DAVE = ("dave", "dave-secret")
CAROL = ("carol", "carol-pass")
CAROL_SALT, CAROL_ITERATIONS, CAROL_KEYLEN = "carol-salt-7f3a", 500, 32
BOB = ("bob", "bob-pass")
BOB_ITERATIONS = 1000

SECURE_REALM = "com.example.secure"
CLOSED_REALM = "com.example.closed"


def broker_binary():
    path = os.environ.get("FASTBROKER_BIN") or str(REPO / ".build" / "debug" / "fastbroker")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"fastbroker binary not found at {path} (build it, or set FASTBROKER_BIN)")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_config(ws_port, rs_port, userdb="users.json"):
    user_perm = [{"uri": "com.example.", "match": "prefix", "publish": True, "subscribe": True}]
    guest_perm = [{"uri": "com.example.public.", "match": "prefix", "publish": False, "subscribe": True}]
    config = {
        "loops": int(os.environ.get("FASTBROKER_TEST_LOOPS", "1")),
        "listeners": [
            {"transport": "websocket", "host": "127.0.0.1", "port": ws_port, "path": "/ws",
             "serializers": ["json"]},
            {"transport": "rawsocket", "host": "127.0.0.1", "port": rs_port,
             "serializers": ["json"]},
        ],
        "realms": [
            {"name": "realm1",
             "auth": {"anonymous": {"role": "anonymous"}},
             "roles": [{"name": "anonymous", "permissions": [
                 {"uri": "", "match": "prefix", "publish": True, "subscribe": True}]}]},
            {"name": SECURE_REALM,
             "auth": {"wampcra": {"userdb": userdb}, "anonymous": {"role": "guest"}},
             "roles": [{"name": "user", "permissions": user_perm},
                       {"name": "guest", "permissions": guest_perm}]},
            {"name": CLOSED_REALM,
             "auth": {"wampcra": {"userdb": userdb}},
             "roles": [{"name": "user", "permissions": user_perm}]},
        ],
        "limits": {"max_message_bytes": MAX_MESSAGE_BYTES, "max_session_outbound_bytes": 8388608,
                   "slow_consumer": "disconnect", "handshake_timeout_ms": 5000},
        "metrics": {"path": "/metrics"},
    }
    return json.loads(json.dumps(config))  # no shared sub-objects: tests mutate one place


def user_add(binary, userdb, authid, role, password, iterations=None, stdin_suffix="\n"):
    """Runs `fastbroker user add`; the password goes in as `echo PASSWORD |` would send it."""
    cmd = [binary, "user", "add", "--userdb", str(userdb), "--authid", authid, "--role", role,
           "--password-stdin"]
    if iterations is not None:
        cmd += ["--iterations", str(iterations)]
    return subprocess.run(cmd, input=(password + stdin_suffix).encode(), capture_output=True,
                          timeout=20)


class Broker:
    def __init__(self, binary, directory, config):
        self.binary = binary
        self.dir = directory
        self.config = config
        self.config_path = directory / "broker.json"
        self.ws_port = config["listeners"][0]["port"]
        self.rs_port = config["listeners"][1]["port"]
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}/ws"
        self.userdb = directory / "users.json"
        self.proc = None
        self.user_add_result = None
        self.exit_checked = False

    def start(self, timeout=10.0):
        self.config_path.write_text(json.dumps(self.config, indent=2))
        self.stdout = open(self.dir / "stdout.log", "wb")
        self.stderr = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen([self.binary, "--config", str(self.config_path)],
                                     stdout=self.stdout, stderr=self.stderr, cwd=self.dir)
        deadline = time.monotonic() + timeout
        pending = {self.ws_port, self.rs_port}
        while pending:
            if self.proc.poll() is not None:
                pytest.fail(f"fastbroker exited with {self.proc.returncode} during start-up:\n"
                            f"{self.logs()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"fastbroker did not accept connections on {pending} within "
                            f"{timeout}s:\n{self.logs()}")
            for port in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    pending.discard(port)
                except OSError:
                    pass
            if pending:
                time.sleep(0.05)
        return self

    def logs(self):
        out = []
        for name in ("stdout.log", "stderr.log"):
            p = self.dir / name
            if p.exists():
                out.append(f"--- {name} ---\n" + p.read_text(errors="replace")[-4000:])
        return "\n".join(out)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signals the broker and returns (exit code, seconds taken); kills it on timeout."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                return None, time.monotonic() - start
        for f in (self.stdout, self.stderr):
            f.close()
        return self.proc.returncode, time.monotonic() - start

    def finish(self):
        """Teardown: the broker must still be running, and SIGTERM must end it with exit 0."""
        if self.exit_checked:
            return
        self.exit_checked = True
        was_alive = self.alive()
        code, took = self.stop()
        assert was_alive, f"fastbroker died during the tests (exit {code}):\n{self.logs()}"
        assert code == 0, f"fastbroker exit code after SIGTERM was {code} ({took:.1f}s):\n{self.logs()}"


def make_broker(tmp_path_factory, name="broker", mutate=None):
    binary = broker_binary()
    directory = tmp_path_factory.mktemp(name)
    config = base_config(free_port(), free_port())
    if mutate:
        mutate(config)
    broker = Broker(binary, directory, config)
    users = [
        {"authid": ALICE[0], "role": "user", "secret": ALICE[1]},
        {"authid": DAVE[0], "role": "user", "secret": DAVE[1]},
        {"authid": CAROL[0], "role": "user", "salt": CAROL_SALT, "iterations": CAROL_ITERATIONS,
         "keylen": CAROL_KEYLEN,
         "derived_key": auth.derive_key(CAROL[1], CAROL_SALT, CAROL_ITERATIONS,
                                        CAROL_KEYLEN).decode("ascii")},
    ]
    broker.userdb.write_text(json.dumps(users, indent=2))
    broker.user_add_result = user_add(binary, broker.userdb, BOB[0], "user", BOB[1], BOB_ITERATIONS)
    return broker


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """One running broker per test module."""
    b = make_broker(tmp_path_factory).start()
    yield b
    b.finish()


@pytest.fixture
def fresh_broker(tmp_path_factory):
    """A broker of one's own (for tests that stop it or reload it). The test stops it itself;
    if it did not, teardown does, and requires exit 0."""
    brokers = []

    def factory(mutate=None):
        b = make_broker(tmp_path_factory, "fresh", mutate).start()
        brokers.append(b)
        return b

    yield factory
    for b in brokers:
        if b.alive():
            b.finish()


@pytest.fixture(scope="module")
def broker2(tmp_path_factory):
    """One running broker with two loops per test module (sessions placed on given loops with
    loop_placement.py, e.g. consumer groups whose members and home are on different loops)."""
    def two_loops(config):
        config["loops"] = 2
    b = make_broker(tmp_path_factory, "two-loops", mutate=two_loops).start()
    yield b
    b.finish()


# Health checks for the adversarial suite (Tests/adversarial): defined here so that both
# folders' conftest modules offer the same names whichever pytest imports as `conftest`.
def hello_round_trip_seconds(broker, realm="realm1"):
    """Seconds from TCP connect to WELCOME for a new RawSocket session (raises if none)."""
    from rawwire import RawSocketClient
    start = time.monotonic()
    with RawSocketClient(broker.rs_port, timeout=1.0) as client:
        client.hello(realm)
    return time.monotonic() - start


def assert_healthy(broker):
    """The broker survived an attack: still running and a fresh HELLO answered within 1 s.
    (An established `wampclient.Healthy` pair proves other sessions keep receiving.)"""
    assert broker.alive(), f"fastbroker died:\n{broker.logs()}"
    took = hello_round_trip_seconds(broker)
    assert took < 1.0, f"fresh HELLO took {took:.2f}s"


def with_healthy(broker, attack):
    """Runs the blocking `attack` while a `wampclient.Healthy` pair is open, then checks both
    health probes: the pair still exchanges an event, and `assert_healthy`."""
    import asyncio
    from wampclient import Healthy, run

    async def body():
        healthy = await Healthy(broker).open()
        await asyncio.to_thread(attack)
        await healthy.roundtrip()
    run(body())
    assert_healthy(broker)
