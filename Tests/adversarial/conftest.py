# Adversarial tests: bounded loopback attacks on the real `fastbroker` process, one file per
# class of attack (sizes, counts, nesting, repetition, Unicode, timing, never reading). Each
# attack is followed by `assert_healthy`: a fresh HELLO must be answered within 1 s and an
# established publisher/subscriber pair must keep exchanging events.
#
# The broker fixtures and clients are the interop suite's (Tests/interop): this file loads its
# conftest under another module name so both folders can run in one pytest session.

import importlib.util
import sys
from pathlib import Path

INTEROP = Path(__file__).resolve().parents[1] / "interop"
sys.path.insert(0, str(INTEROP))

_spec = importlib.util.spec_from_file_location("interop_conftest", INTEROP / "conftest.py")
interop_conftest = importlib.util.module_from_spec(_spec)
sys.modules["interop_conftest"] = interop_conftest
_spec.loader.exec_module(interop_conftest)

# Re-export everything (fixtures, users, helpers): when both folders run in one pytest session,
# interop tests doing `from conftest import ALICE` may get this module as `conftest`.
globals().update({k: v for k, v in vars(interop_conftest).items() if not k.startswith("__")})
# Test files may also import the helpers as `adversarial_conftest` (unambiguous).
sys.modules.setdefault("adversarial_conftest", sys.modules[__name__])
