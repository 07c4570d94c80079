#!/usr/bin/env python3
"""Generates msgpack_differential.txt (next to this script): seeded random MessagePack inputs (WAMP-shaped messages
packed with varied, often non-minimal encodings, and byte-level mutations of them) with the verdict
and decoded value of Python's msgpack package, the independent implementation that
MessagePackDifferentialTests.swift checks the scanner, the decoder and the transcoder against.

Every valid input is packed by pack() below, which picks a random legal width for each header
(fixint / int 8..64 / uint 8..64, float 32 / 64, fixstr / str 8/16/32, bin 8/16/32, fixarray /
array 16/32, fixmap / map 16/32); msgpack.unpackb must give back the value (asserted), so the
encodings are vouched for by the independent implementation.

Verdict: Python accepts (msgpack.unpackb(raw=False, strict_map_key=False), strict UTF-8, refuses
trailing data) AND nothing the broker refuses by design: no ExtType, every map key a str, nesting
depth <= 64. Line format:

  A <base64 input> <h_value> <h_json> <h_back> <m>
  R <base64 input>

  h_value: fnv1a64 of canonical(value)               — decodeValue must give this
  h_json:  fnv1a64 of canonical(json_image(value))   — messagePackToJSON, then JSON decodeValue
  h_back:  fnv1a64 of canonical(back_image(value))   — messagePackToJSON then jsonToMessagePack
  m:       1 when the input is a WAMP message (an array of at most 7 elements) else 0

Canonical form (mirrored in the Swift test): n t f | i<decimal> | d<16 hex digits of the float64
bits> | s<hex utf8>; | b<hex>; | [a,b] | {k<hex utf8>=v,...}.
JSON image (the WAMP rules, see PayloadTranscoder.swift): bytes -> str "\\0" + base64; NaN and
infinities -> null. Back image: NaN and infinities -> null (binary comes back as bytes), and a str
that starts with U+0000 followed by canonical base64 comes back as bytes (the WAMP rule cannot tell it
from a binary: Autobahn's JSON serializer decodes it the same way).

Lives in Fixtures/ so SwiftPM ignores it (the folder is excluded from the test target).
Run: python3 Fixtures/generate_msgpack_differential.py  (deterministic: fixed seed)
"""
import base64, math, os, random, struct
import msgpack

SEED = 20240612
COUNT_VALID = 1200
COUNT_MUTATED = 2400

rng = random.Random(SEED)

# ---- packing with random legal widths ----------------------------------------------------------


def minimal_or(choices):
    """The first choice (minimal) 60% of the time, else any legal one."""
    return choices[0] if rng.random() < 0.6 else rng.choice(choices)


def pack(v, out):
    if v is None:
        out += b"\xc0"
    elif v is True:
        out += b"\xc3"
    elif v is False:
        out += b"\xc2"
    elif isinstance(v, int):
        choices = []
        if 0 <= v < 128:
            choices.append(("B", None))
        if -32 <= v < 0:
            choices.append(("b", None))
        for code, fmt, lo, hi in [(0xCC, ">B", 0, 255), (0xCD, ">H", 0, 65535), (0xCE, ">I", 0, 2**32 - 1),
                                  (0xCF, ">Q", 0, 2**64 - 1), (0xD0, ">b", -128, 127), (0xD1, ">h", -2**15, 2**15 - 1),
                                  (0xD2, ">i", -2**31, 2**31 - 1), (0xD3, ">q", -2**63, 2**63 - 1)]:
            if lo <= v <= hi:
                choices.append((code, fmt))
        code, fmt = minimal_or(choices)
        if code == "B":
            out += bytes([v])
        elif code == "b":
            out += struct.pack(">b", v)
        else:
            out += bytes([code]) + struct.pack(fmt, v)
    elif isinstance(v, F32):
        out += b"\xca" + struct.pack(">f", v)
    elif isinstance(v, float):
        out += b"\xcb" + struct.pack(">d", v)
    elif isinstance(v, str):
        data = v.encode("utf-8")
        n = len(data)
        choices = ([("fix",)] if n < 32 else []) + [c for c in [(0xD9, ">B", 255), (0xDA, ">H", 65535), (0xDB, ">I", 2**32 - 1)] if n <= c[2]]
        c = minimal_or(choices)
        out += bytes([0xA0 | n]) if c[0] == "fix" else bytes([c[0]]) + struct.pack(c[1], n)
        out += data
    elif isinstance(v, bytes):
        n = len(v)
        c = minimal_or([c for c in [(0xC4, ">B", 255), (0xC5, ">H", 65535), (0xC6, ">I", 2**32 - 1)] if n <= c[2]])
        out += bytes([c[0]]) + struct.pack(c[1], n) + v
    elif isinstance(v, Pairs):
        n = len(v)
        c = minimal_or(([("fix",)] if n < 16 else []) + [(0xDE, ">H"), (0xDF, ">I")])
        out += bytes([0x80 | n]) if c[0] == "fix" else bytes([c[0]]) + struct.pack(c[1], n)
        for k, x in v:
            pack(k, out)
            pack(x, out)
    elif isinstance(v, list):
        n = len(v)
        c = minimal_or(([("fix",)] if n < 16 else []) + [(0xDC, ">H"), (0xDD, ">I")])
        out += bytes([0x90 | n]) if c[0] == "fix" else bytes([c[0]]) + struct.pack(c[1], n)
        for x in v:
            pack(x, out)
    elif isinstance(v, msgpack.ExtType):
        out += msgpack.packb(v)
    else:
        raise AssertionError(type(v))


class F32(float):
    """A float to pack as float 32 (its value is exactly representable)."""


class Pairs(list):
    """A map as (key, value) pairs, so duplicate and non-str keys survive."""


# ---- random values ----------------------------------------------------------------------------

INT_EDGES = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53 - 1, 2**53,
             2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, -1, -32, -33, -128, -129, -32768, -32769, -2**31,
             -2**31 - 1, -2**53, -2**63]
FLOAT_EDGES = [0.0, -0.0, 0.1, 1.0, -1.5, 3.141592653589793, 1e16, 1e-7, 5e-324, 1.7976931348623157e308,
               2.0**53, 1e300, float("inf"), float("-inf"), float("nan")]
CHARS = list("abcXYZ019 _-.:/\"\\") + ["\x00", "\x01", "\x1f", "\x7f", "é", "ß", "中", "\u2028", "\ufeff",
                                      "\uffff", "😀", "\U0010ffff"]


def gen_string(max_len=6):
    r = rng.random()
    if r < 0.03:
        return "x" * rng.choice([31, 32, 255, 256])
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, max_len)))


def gen_scalar():
    r = rng.random()
    if r < 0.25:
        return rng.choice(INT_EDGES) if rng.random() < 0.5 else rng.randint(-1000, 100000)
    if r < 0.35:
        x = rng.choice(FLOAT_EDGES) if rng.random() < 0.5 else rng.uniform(-1e6, 1e6)
        return x
    if r < 0.42:
        return F32(struct.unpack(">f", struct.pack(">f", rng.uniform(-100, 100)))[0]) if rng.random() < 0.8 \
            else F32(rng.choice([0.0, float("inf"), 0.5, 16777216.0]))
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
        return [gen_value(d + 1) for _ in range(rng.choice([0, 1, 2, 3, 16]) if rng.random() < 0.1 else rng.randint(0, 3))]
    return gen_map(d)


def gen_map(d):
    n = rng.choice([0, 1, 2, 3, 16]) if rng.random() < 0.1 else rng.randint(0, 3)
    return Pairs((gen_string(), gen_value(d + 1)) for _ in range(n))


def gen_message():
    r = rng.random()
    request = rng.choice([1, 2, 127, 128, 65536, 2**32, 2**53])
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
    if r < 0.9:  # any array, sometimes longer than 7 elements
        return [gen_value(1) for _ in range(rng.randint(0, 10))]
    if r < 0.95:  # things the broker refuses by design
        bad = rng.choice([msgpack.ExtType(1, b"abc"), msgpack.ExtType(127, b"12345678"),
                          Pairs([(1, "int key")]), Pairs([(b"k", "bin key")]), Pairs([(None, 1)])])
        return [16, 1, Pairs(), "t", [bad]]
    return gen_value(0)  # a bare value (not a message)


def deep(levels):
    v = []
    for _ in range(levels - 1):
        v = [v]
    return v


# ---- Python's verdict and canonical forms -------------------------------------------------------


def python_verdict(data):
    try:
        return True, msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True,
                                     object_pairs_hook=Pairs)
    except Exception:
        return False, None


def acceptable(v, depth=0):
    """What the broker refuses beyond Python: ext types, non-str keys, depth > 64."""
    if isinstance(v, (msgpack.ExtType, msgpack.Timestamp)):  # ext -1 unpacks as a Timestamp
        return False
    if isinstance(v, Pairs):
        return depth < 64 and all(isinstance(k, str) and acceptable(x, depth + 1) for k, x in v)
    if isinstance(v, list):
        return depth < 64 and all(acceptable(x, depth + 1) for x in v)
    return True


def canonical(v):
    if v is None:
        return "n"
    if v is True:
        return "t"
    if v is False:
        return "f"
    if isinstance(v, int):
        return "i%d" % v
    if isinstance(v, float):
        return "d" + struct.pack(">d", v).hex()
    if isinstance(v, str):
        return "s" + v.encode().hex() + ";"
    if isinstance(v, bytes):
        return "b" + v.hex() + ";"
    if isinstance(v, Pairs):
        return "{" + ",".join("k" + k.encode().hex() + "=" + canonical(x) for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    raise AssertionError(type(v))


def json_image(v):
    if isinstance(v, bytes):
        return "\x00" + base64.b64encode(v).decode()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Pairs):
        return Pairs((k, json_image(x)) for k, x in v)
    if isinstance(v, list):
        return [json_image(x) for x in v]
    return v


def strict_b64(text):
    """The bytes of canonical padded base64 text (what re-encodes to the same text), else None."""
    try:
        data = base64.b64decode(text, validate=True)
    except Exception:
        return None
    return data if base64.b64encode(data).decode() == text else None


def back_image(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, str) and v.startswith("\x00") and strict_b64(v[1:]) is not None:
        return strict_b64(v[1:])  # the WAMP rule cannot tell such a str from a binary
    if isinstance(v, str):
        return v
    if isinstance(v, Pairs):
        return Pairs((k, back_image(x)) for k, x in v)
    if isinstance(v, list):
        return [back_image(x) for x in v]
    return v


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def same(a, b):
    return canonical(a) == canonical(b)


INTERESTING = [b"\xc0", b"\xc1", b"\xc4", b"\xd9", b"\xdc\xff\xff", b"\xdd\xff\xff\xff\xff", b"\xdf\x7f\xff\xff\xff",
               b"\xdb\xff\xff\xff\xff", b"\xc6\x00\x01\x00\x00", b"\xd4\x01\x00", b"\xc7\x01\x05x", b"\x9f", b"\x8f",
               b"\xa5", b"\xff", b"\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x00"]


def mutate(data, rng=rng, interesting=INTERESTING):
    """Byte-level mutations (also used by generate_cbor_differential.py with its own rng and bytes)."""
    data = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        op = rng.random()
        pos = rng.randint(0, len(data))
        if op < 0.25 and data:
            del data[min(pos, len(data) - 1)]
        elif op < 0.5:
            data[pos:pos] = rng.choice(interesting)
        elif op < 0.75 and data:
            data[min(pos, len(data) - 1)] = rng.randint(0, 255)
        elif op < 0.9:
            data = data[:pos]
        else:
            data[pos:pos] = data[pos:pos + rng.randint(1, 6)]
    return bytes(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    lines = []
    counts = {"A": 0, "R": 0, "messages": 0}
    inputs = []
    for k in range(COUNT_VALID):
        v = gen_message()
        out = bytearray()
        pack(v, out)
        ok, back = python_verdict(bytes(out))
        assert ok and (isinstance(v, msgpack.ExtType) or back == v or not acceptable(v) or
                       any(isinstance(x, float) and math.isnan(x) for x in flatten(v))), (v, back)
        inputs.append(bytes(out))
    for levels in (63, 64, 65, 66):  # the depth limit
        out = bytearray()
        pack(deep(levels), out)
        inputs.append(bytes(out))
    inputs += [mutate(rng.choice(inputs)) for _ in range(COUNT_MUTATED)]
    for data in inputs:
        ok, v = python_verdict(data)
        b64 = base64.b64encode(data).decode()
        if ok and acceptable(v):
            m = 1 if isinstance(v, list) and not isinstance(v, Pairs) and len(v) <= 7 else 0
            lines.append("A %s %s %s %s %d" % (b64, fnv1a64(canonical(v)), fnv1a64(canonical(json_image(v))),
                                               fnv1a64(canonical(back_image(v))), m))
            counts["A"] += 1
            counts["messages"] += m
        else:
            lines.append("R " + b64)
            counts["R"] += 1
    with open(os.path.join(here, "msgpack_differential.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(counts)


def flatten(v):
    if isinstance(v, Pairs):
        for k, x in v:
            yield k
            yield from flatten(x)
    elif isinstance(v, list):
        for x in v:
            yield from flatten(x)
    else:
        yield v


if __name__ == "__main__":
    main()
