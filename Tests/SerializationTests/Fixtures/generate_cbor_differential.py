#!/usr/bin/env python3
"""Generates cbor_differential.txt (next to this script): seeded random CBOR inputs (WAMP-shaped
messages encoded with varied, often non-minimal argument widths, half/single/double floats, and
byte-level mutations of them) with the verdict and decoded value of Python's cbor2 package, the
independent implementation that CBORDifferentialTests.swift checks the scanner, the decoder and the
transcoders against.

Every valid input is encoded by enc() below, which picks a random legal width for each head;
cbor2.loads must give back the value (asserted), so the encodings are vouched for by cbor2.

Verdict: cbor2 accepts (cbor2.loads, which refuses trailing data and invalid UTF-8) AND the bytes
hold nothing the broker refuses by design (structure_ok below, a walk over the heads only): no tag
except 55799 in front of the whole item, no undefined or other simple value, every map key a text
string, nesting depth <= 64. Indefinite lengths are accepted (the Swift test rewrites them with
CBORDefiniteLengths first, as a connection does). Values always come from cbor2. Line format:

  A <base64 input> <h_value> <h_json> <h_back> <m>
  R <base64 input>

  h_value: fnv1a64 of canonical(value)              — decodeValue must give this (an integer
           below -2**63, which no other serializer carries, reads as the nearest double)
  h_json:  fnv1a64 of canonical(json_image(value))  — cbor → JSON, then JSON decodeValue
  h_back:  the same hash as h_value                 — cbor → msgpack, then msgpack decodeValue
  m:       1 when the input is a WAMP message (an array of at most 7 elements) else 0

Canonical form and the JSON image: as in generate_msgpack_differential.py (imported from there).
cbor2 decodes a map into a dict (a duplicate key keeps its first position and its last value); the
Swift test folds duplicates the same way before hashing.
Run: python3 Fixtures/generate_cbor_differential.py  (deterministic: fixed seed)
"""
import base64, math, os, random, struct, sys
from collections.abc import Mapping
import cbor2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_msgpack_differential import canonical, json_image, fnv1a64, mutate, Pairs, CHARS  # noqa: E402

SEED = 20261206
COUNT_VALID = 1200
COUNT_MUTATED = 2400

rng = random.Random(SEED)


def head(major, arg, out, minimal=None):
    widths = [w for w, limit in ((0, 23), (1, 0xFF), (2, 0xFFFF), (4, 0xFFFFFFFF), (8, 2**64 - 1)) if arg <= limit]
    w = widths[0] if (minimal or rng.random() < 0.6) else rng.choice(widths)
    if w == 0:
        out.append(major << 5 | arg)
    else:
        out.append(major << 5 | {1: 24, 2: 25, 4: 26, 8: 27}[w])
        out += arg.to_bytes(w, "big")


class F16(float):
    """A float to encode as a half (its value is exactly representable)."""


class F32(float):
    """A float to encode as a single (its value is exactly representable)."""


class Raw(bytes):
    """Bytes inserted as they are (refused items: tags, undefined, simple values, indefinite lengths)."""


def enc(v, out):
    if v is None:
        out.append(0xF6)
    elif v is True:
        out.append(0xF5)
    elif v is False:
        out.append(0xF4)
    elif isinstance(v, Raw):
        out += v
    elif isinstance(v, int):
        head(0, v, out) if v >= 0 else head(1, -1 - v, out)
    elif isinstance(v, F16):
        out += b"\xf9" + struct.pack(">e", v)
    elif isinstance(v, F32):
        out += b"\xfa" + struct.pack(">f", v)
    elif isinstance(v, float):
        out += b"\xfb" + struct.pack(">d", v)
    elif isinstance(v, str):
        data = v.encode("utf-8")
        head(3, len(data), out)
        out += data
    elif isinstance(v, bytes):
        head(2, len(v), out)
        out += v
    elif isinstance(v, Pairs):
        head(5, len(v), out)
        for k, x in v:
            enc(k, out)
            enc(x, out)
    elif isinstance(v, list):
        head(4, len(v), out)
        for x in v:
            enc(x, out)
    else:
        raise AssertionError(type(v))


INT_EDGES = [0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**64 - 1,
             -1, -24, -25, -256, -257, -65537, -2**31, -2**63, -2**63 - 1, -2**64]
FLOAT_EDGES = [0.0, -0.0, 0.1, 1.0, -1.5, 1e16, 1e-7, 5e-324, 1.7976931348623157e308, float("inf"), float("-inf"),
               float("nan")]
HALF_EDGES = [0.0, -0.0, 1.0, 0.5, 65504.0, 5.960464477539063e-08, 6.103515625e-05, -2.0, float("inf"), float("nan")]
REFUSED = [Raw(b"\xc1\x1a\x00\x00\x00\x01"), Raw(b"\xd8\x20\x61a"), Raw(b"\xc2\x41\x01"), Raw(b"\xf7"), Raw(b"\xf0"),
           Raw(b"\xf8\x20"), Raw(b"\xd9\xd9\xf7\x01")]
# Indefinite lengths: read (a connection rewrites them with definite lengths).
INDEFINITE = [Raw(b"\x9f\x01\xff"), Raw(b"\x5f\x41a\x42bc\xff"), Raw(b"\x7f\x61a\x62\xc3\xa9\xff"), Raw(b"\xbf\xff"),
              Raw(b"\xbf\x61k\x9f\x01\x9f\xff\xff\xff"), Raw(b"\x5f\xff"), Raw(b"\x9f\xbf\x61x\xf9\x3c\x00\xff\xff")]


def gen_string(max_len=6):
    if rng.random() < 0.03:
        return "x" * rng.choice([23, 24, 255, 256])
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, max_len)))


def gen_scalar():
    r = rng.random()
    if r < 0.25:
        return rng.choice(INT_EDGES) if rng.random() < 0.5 else rng.randint(-1000, 100000)
    if r < 0.33:
        return rng.choice(FLOAT_EDGES) if rng.random() < 0.5 else rng.uniform(-1e6, 1e6)
    if r < 0.38:
        return F32(struct.unpack(">f", struct.pack(">f", rng.uniform(-100, 100)))[0])
    if r < 0.43:
        return F16(rng.choice(HALF_EDGES))
    if r < 0.65:
        return gen_string()
    if r < 0.75:
        return bytes(rng.randint(0, 255) for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 16, 255, 256])))
    return rng.choice([None, True, False])


def gen_value(d):
    r = rng.random()
    if d >= 4 or r < 0.55:
        return gen_scalar()
    if r < 0.75:
        return [gen_value(d + 1) for _ in range(rng.choice([0, 1, 2, 3, 24]) if rng.random() < 0.1 else rng.randint(0, 3))]
    return gen_map(d)


def gen_map(d):
    n = rng.choice([0, 1, 2, 3, 24]) if rng.random() < 0.1 else rng.randint(0, 3)
    keys = set()
    members = Pairs()
    for _ in range(n):
        k = gen_string()
        if k not in keys:  # cbor2 folds duplicates; valid inputs have none (mutations may make some)
            keys.add(k)
            members.append((k, gen_value(d + 1)))
    return members


def gen_message():
    r = rng.random()
    request = rng.choice([1, 2, 23, 24, 65536, 2**32, 2**53])
    if r < 0.2:
        return [1, "com.example.realm", Pairs([("roles", Pairs([("subscriber", Pairs()), ("publisher", Pairs())]))])]
    if r < 0.4:
        return [32, request, gen_map(1), "com.example.topic." + gen_string(3)]
    if r < 0.8:
        msg = [16, request, gen_map(1), "com.topic"]
        if rng.random() < 0.8:
            msg.append([gen_value(2) for _ in range(rng.randint(0, 4))])
            if rng.random() < 0.7:
                msg.append(gen_map(2))
        return msg
    if r < 0.9:
        return [gen_value(1) for _ in range(rng.randint(0, 10))]
    if r < 0.95:
        bad = rng.choice(REFUSED + INDEFINITE + [Pairs([(1, "int key")]), Pairs([(b"k", "bytes key")])])
        return [16, 1, Pairs(), "t", [bad]]
    return gen_value(0)


def deep(levels):
    v = []
    for _ in range(levels - 1):
        v = [v]
    return v


def structure_ok(data):
    """The broker's by-design refusals, from the heads alone (values come from cbor2)."""
    start = 3 if data[:3] == b"\xd9\xd9\xf7" else 0
    try:
        return item(data, start, 1) == len(data)
    except (Refused, IndexError):
        return False


class Refused(Exception):
    pass


def item(data, i, depth, key=False):
    """Offset after the item at i; Refused for what the broker refuses by design."""
    b = data[i]
    major, info = b >> 5, b & 31
    if key and major != 3:
        raise Refused()  # a map key that is not a text string
    if info in (28, 29, 30):
        raise Refused()
    if info == 31:
        if major in (2, 3):  # chunks of the same major type, then break
            i += 1
            while data[i] != 0xFF:
                if data[i] >> 5 != major or data[i] & 31 == 31:
                    raise Refused()
                i = item(data, i, depth)
            return i + 1
        if major in (4, 5):
            if depth > 64:
                raise Refused()
            i += 1
            n = 0
            while data[i] != 0xFF:
                i = item(data, i, depth + 1, key=(major == 5 and n % 2 == 0))
                n += 1
            return i + 1
        raise Refused()  # break or reserved
    width = {24: 1, 25: 2, 26: 4, 27: 8}.get(info, 0)
    if i + 1 + width > len(data):
        raise Refused()
    arg = int.from_bytes(data[i + 1:i + 1 + width], "big") if width else info
    i += 1 + width
    if major in (2, 3):
        return i + arg
    if major in (4, 5):
        if depth > 64:
            raise Refused()
        for n in range(arg * (2 if major == 5 else 1)):
            i = item(data, i, depth + 1, key=(major == 5 and n % 2 == 0))
        return i
    if major == 6:
        raise Refused()
    if major == 7 and info not in (20, 21, 22, 25, 26, 27):
        raise Refused()
    return i


def python_verdict(data):
    try:
        return True, cbor2.loads(data)
    except Exception:
        return False, None


def pairs_of(v):
    """cbor2's value with dicts as Pairs (insertion order), for the shared canonical form. (Under
    the self-describe tag cbor2 decodes immutably: tuples and frozendicts.)"""
    if isinstance(v, Mapping):
        return Pairs((k, pairs_of(x)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return [pairs_of(x) for x in v]
    return v


def msgpack_image(v):
    """What cbor → msgpack gives: every number below -2**63 as the nearest double."""
    if isinstance(v, int) and not isinstance(v, bool) and v < -2**63:
        return float(v)
    if isinstance(v, Pairs):
        return Pairs((k, msgpack_image(x)) for k, x in v)
    if isinstance(v, list):
        return [msgpack_image(x) for x in v]
    return v


INTERESTING = [b"\xf6", b"\xf7", b"\xff", b"\x9f", b"\xbf", b"\x5f", b"\x7f", b"\xc0", b"\xd9\xd9\xf7", b"\x1c",
               b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", b"\x7a\xff\xff\xff\xff", b"\xb8\xff", b"\x61", b"\xf9",
               b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x00"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    inputs = []
    for _ in range(COUNT_VALID):
        v = gen_message()
        out = bytearray()
        if rng.random() < 0.05:
            out += b"\xd9\xd9\xf7"  # the self-describe tag
        enc(v, out)
        inputs.append(bytes(out))
    for levels in (63, 64, 65, 66):
        out = bytearray()
        enc(deep(levels), out)
        inputs.append(bytes(out))
    inputs += [mutate(rng.choice(inputs), rng, INTERESTING) for _ in range(COUNT_MUTATED)]
    lines = []
    counts = {"A": 0, "R": 0, "messages": 0}
    for data in inputs:
        ok, v = python_verdict(data)
        b64 = base64.b64encode(data).decode()
        if ok and structure_ok(data):
            v = msgpack_image(pairs_of(v))
            m = 1 if isinstance(v, list) and not isinstance(v, Pairs) and len(v) <= 7 else 0
            lines.append("A %s %s %s %s %d" % (b64, fnv1a64(canonical(v)), fnv1a64(canonical(json_image(v))),
                                               fnv1a64(canonical(v)), m))
            counts["A"] += 1
            counts["messages"] += m
        else:
            lines.append("R " + b64)
            counts["R"] += 1
    with open(os.path.join(here, "cbor_differential.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(counts)


if __name__ == "__main__":
    main()
