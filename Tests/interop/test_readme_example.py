# The README's Autobahn snippet (examples/roundtrip.py) connects to a real broker and gets its
# event back: run it as a user would, as its own process.

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "roundtrip.py"


def test_readme_example_round_trips_an_event(broker):
    result = subprocess.run([sys.executable, str(EXAMPLE), broker.ws_url], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "joined realm1" in result.stdout
    assert "event: args=['hello', 42] kwargs={'who': 'world'}" in result.stdout, result.stdout
