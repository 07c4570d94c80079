# The `cluster` section (SPEC §7) through the command line: `fastbroker check-config` accepts the
# spec's example and refuses each mistake with a line naming its JSON path and what was wrong.

import json
import subprocess

import pytest

from conftest import base_config, broker_binary, free_port


def check_config(directory, cluster):
    config = base_config(free_port(), free_port())
    config["cluster"] = cluster
    (directory / "users.json").write_text("[]")
    path = directory / "config.json"
    path.write_text(json.dumps(config))
    r = subprocess.run([broker_binary(), "check-config", str(path)], capture_output=True, timeout=20)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def test_spec_example_is_accepted(tmp_path):
    code, out = check_config(tmp_path, {"node": "n1", "nats": {"servers": ["nats://127.0.0.1:4222"]}})
    assert code == 0, out
    code, out = check_config(tmp_path, {"node": "eu-1", "nats": {"servers": ["nats://a:4222", "nats://b:4222"],
                                                                  "lease_ttl_ms": 10000}})
    assert code == 0, out


BROKEN = [
    ("node missing", {"nats": {"servers": ["nats://a"]}},
     '$.cluster: missing required key "node"'),
    ("node with a dot", {"node": "n.1", "nats": {"servers": ["nats://a"]}},
     "$.cluster.node: expected 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-' "
     '(it names this node in NATS subjects), got "n.1"'),
    ("servers empty", {"node": "n1", "nats": {"servers": []}},
     "$.cluster.nats.servers: at least one NATS server URL is required"),
    ("comma list in one URL", {"node": "n1", "nats": {"servers": ["nats://a:1,nats://b:2"]}},
     '$.cluster.nats.servers[0]: "nats://a:1,nats://b:2" must be one URL '
     "(list several servers as separate array elements)"),
    ("wrong scheme", {"node": "n1", "nats": {"servers": ["nats://a", "tcp://b:4222"]}},
     '$.cluster.nats.servers[1]: "tcp://b:4222" must start with "nats://"'),
    ("lease TTL too short", {"node": "n1", "nats": {"servers": ["nats://a"], "lease_ttl_ms": 10}},
     "$.cluster.nats.lease_ttl_ms: expected an integer from 1000 to 3600000 (milliseconds), got 10"),
    ("misspelt key", {"node": "n1", "nats": {"servers": ["nats://a"]}, "nat": {}},
     '$.cluster.nat: unknown key "nat" (did you mean "nats"?); allowed keys: node, nats'),
]


@pytest.mark.parametrize("what,cluster,line", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_mistake_is_named_by_its_path(tmp_path, what, cluster, line):
    code, out = check_config(tmp_path, cluster)
    assert code != 0, f"{what}: accepted:\n{out}"
    assert line in out, f"{what}: expected the line\n  {line}\nin:\n{out}"
