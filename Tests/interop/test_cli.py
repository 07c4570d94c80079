# The command line (SPEC §2, §3): `fastbroker check-config` accepts the test config and
# rejects broken ones naming the JSON path of the error; `fastbroker --config` on a broken
# config refuses to start.

import copy
import json
import re
import socket
import subprocess

import pytest

from conftest import base_config, broker_binary, free_port, make_broker
from wampclient import connect, publish, run, unique


def path_pattern(parts):
    """Accepts the common spellings of a JSON path: a.b[0].c, $.a.b[0].c, /a/b/0/c, a.b.0.c."""
    dotted = ""
    for p in parts:
        dotted += f"[{p}]" if isinstance(p, int) else (("." if dotted else "") + p)
    alternatives = [
        re.escape(dotted),
        "/" + "/".join(re.escape(str(p)) for p in parts),
        re.escape(".".join(str(p) for p in parts)),
    ]
    return re.compile("|".join(alternatives))


def check_config(directory, config_text):
    path = directory / "config.json"
    path.write_text(config_text)
    (directory / "users.json").write_text("[]")
    r = subprocess.run([broker_binary(), "check-config", str(path)], capture_output=True, timeout=20)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def good_config():
    return base_config(free_port(), free_port())


def test_check_config_accepts_fixture_config(broker):
    r = subprocess.run([broker.binary, "check-config", str(broker.config_path)], capture_output=True,
                       timeout=20)
    assert r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")


def _set(cfg, parts, value):
    target = cfg
    for p in parts[:-1]:
        target = target[p]
    target[parts[-1]] = value


def _delete(cfg, parts):
    target = cfg
    for p in parts[:-1]:
        target = target[p]
    del target[parts[-1]]


BROKEN = [
    ("port is a string", ["listeners", 0, "port"], "eighty"),
    ("port out of range", ["listeners", 1, "port"], 70000),
    ("unknown transport", ["listeners", 1, "transport"], "carrier-pigeon"),
    ("unknown serializer", ["listeners", 0, "serializers"], ["json", "xml"]),
    ("bad match policy", ["realms", 1, "roles", 0, "permissions", 0, "match"], "regex"),
    ("publish not a bool", ["realms", 0, "roles", 0, "permissions", 0, "publish"], "yes"),
    ("negative max_message_bytes", ["limits", "max_message_bytes"], -5),
    ("bad slow_consumer", ["limits", "slow_consumer"], "explode"),
    ("realm name not a string", ["realms", 2, "name"], 42),
    ("loops negative", ["loops"], -1),
    ("max_uri_bytes zero", ["limits", "max_uri_bytes"], 0),
    ("max_subscriptions_per_session a string", ["limits", "max_subscriptions_per_session"], "1000"),
    ("max_list_option_entries negative", ["limits", "max_list_option_entries"], -1),
    ("max_connections fractional", ["limits", "max_connections"], 1.5),
    ("max_connections_per_ip zero", ["limits", "max_connections_per_ip"], 0),
    ("frame_timeout_ms over int32", ["limits", "frame_timeout_ms"], 2**31),
    ("idle_timeout_ms a bool", ["limits", "idle_timeout_ms"], True),
    ("max_retained_bytes negative", ["limits", "max_retained_bytes"], -1),
    ("permission URI over max_uri_bytes", ["realms", 1, "roles", 0, "permissions", 0, "uri"],
     "com.example." + "x" * 1100),
]

LIMIT_KEYS = ["max_message_bytes", "max_session_outbound_bytes", "slow_consumer", "handshake_timeout_ms",
              "max_uri_bytes", "max_subscriptions_per_session", "max_list_option_entries", "max_connections",
              "max_connections_per_ip", "frame_timeout_ms", "idle_timeout_ms", "max_retained_bytes"]


@pytest.mark.parametrize("what,parts,value", BROKEN, ids=[b[0] for b in BROKEN])
def test_check_config_names_json_path(tmp_path, what, parts, value):
    cfg = good_config()
    _set(cfg, parts, value)
    code, out = check_config(tmp_path, json.dumps(cfg))
    assert code != 0, f"{what}: check-config accepted it:\n{out}"
    assert path_pattern(parts).search(out), f"{what}: output does not name the path {parts}:\n{out}"


def test_check_config_defaults_prints_every_limit(tmp_path):
    r = subprocess.run([broker_binary(), "check-config", "--defaults"], capture_output=True, timeout=20)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, out
    limits = json.loads(r.stdout)["limits"]
    assert sorted(limits) == sorted(LIMIT_KEYS), out
    assert 0 < limits["max_uri_bytes"] <= 4096, "issue 9: max_uri_bytes defaults to at most 4 KiB"
    # The printed defaults are a valid limits object.
    cfg = good_config()
    cfg["limits"] = limits
    code, checked = check_config(tmp_path, json.dumps(cfg))
    assert code == 0, checked


def test_check_config_missing_required_key(tmp_path):
    cfg = good_config()
    _delete(cfg, ["realms", 1, "name"])
    code, out = check_config(tmp_path, json.dumps(cfg))
    assert code != 0, out
    assert path_pattern(["realms", 1]).search(out), out


def test_check_config_syntax_error(tmp_path):
    text = json.dumps(good_config(), indent=2)
    broken = re.sub(r'("loops": -?\d+,)', r"\1,", text, count=1)
    assert broken != text
    code, out = check_config(tmp_path, broken)
    assert code != 0, out
    assert out.strip(), "a syntax error must be explained"
    # It should say where: a line (the error is on line 2) or a byte offset.
    assert re.search(r"line\s*:?\s*2|:2:|offset|column|position|byte", out, re.I), out


def test_check_config_missing_file(tmp_path):
    r = subprocess.run([broker_binary(), "check-config", str(tmp_path / "nope.json")],
                       capture_output=True, timeout=20)
    assert r.returncode != 0


def test_start_with_broken_config_fails(tmp_path):
    cfg = good_config()
    _set(cfg, ["listeners", 0, "port"], "eighty")
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(cfg))
    r = subprocess.run([broker_binary(), "--config", str(path)], capture_output=True, timeout=20)
    assert r.returncode != 0
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert path_pattern(["listeners", 0, "port"]).search(out), out


def test_second_broker_on_the_same_ports_refuses_to_start(broker):
    """Every loop binds with SO_REUSEPORT, which would let a second broker silently take half
    the connections: it must refuse to start instead, and the first keeps serving."""
    result = subprocess.run([broker_binary(), "--config", str(broker.config_path)],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "EADDRINUSE" in result.stderr and "another broker" in result.stderr, result.stderr
    assert broker.alive()

    async def body():
        s = await connect(broker, "rs", "realm1")
        await publish(s, unique("com.example.still"), 1)
    run(body())


@pytest.mark.parametrize("reuseaddr", [False, True], ids=["plain", "SO_REUSEADDR"])
def test_port_held_by_another_process_is_refused(tmp_path_factory, reuseaddr):
    """A port another live process listens on is taken (with or without SO_REUSEADDR on its
    socket): the broker refuses to start and says which port and why."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if reuseaddr:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        b = make_broker(tmp_path_factory, "held", lambda cfg: cfg["listeners"][1].update(port=port))
        b.config_path.write_text(json.dumps(b.config))
        result = subprocess.run([b.binary, "--config", str(b.config_path)], cwd=b.dir,
                                capture_output=True, text=True, timeout=20)
        assert result.returncode == 1, (result.returncode, result.stderr)
        assert f"127.0.0.1:{port} is in use by another process" in result.stderr, result.stderr
        assert "EADDRINUSE" in result.stderr, result.stderr
    finally:
        holder.close()
