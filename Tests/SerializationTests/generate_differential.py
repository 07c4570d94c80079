#!/usr/bin/env python3
"""Generates Fixtures/differential.txt: seeded random JSON texts (valid ones and byte-level mutations)
with the verdict of Python's strict json module, the independent implementation the scanner is
checked against (JSONDifferentialTests.swift).

Line format:  A <base64 input> <fnv1a64 of canonical form>   (Python accepts)
              R <base64 input>                               (Python refuses)

Python is made strict where it is lenient by default:
  - bytes are decoded as strict UTF-8 first (refuses overlongs, encoded surrogates, a BOM makes
    json.loads(str) refuse), instead of json.loads(bytes), which would also sniff UTF-16/32 and skip a BOM;
  - NaN / Infinity / -Infinity are refused through parse_constant;
  - numbers stay text (parse_int/parse_float wrap the literal) so huge integers are not refused by int()'s digit limit.
Python accepts lone surrogate escapes ("\\ud800"), and so does the scanner; both canonical forms map a
lone surrogate to U+FFFD. Accepted texts nested deeper than 64 levels are dropped (the scanner's limit).

Canonical form (mirrored in the Swift test): n t f | #<number text> | s<hex utf8>; |
[a,b] | {k<hex utf8>=v,...} (members in order, duplicates kept).

Run: python3 generate_differential.py  (deterministic: fixed seed)
"""
import base64, json, os, random

SEED = 20240611
COUNT_VALID = 1000
COUNT_MUTATED = 2000


REFUSED = object()


class Pairs(list):
    pass


def reject_constant(name):
    raise ValueError("non-RFC constant " + name)


def python_verdict(data):
    try:
        text = data.decode("utf-8")  # strict
        value = json.loads(text, parse_constant=reject_constant, parse_int=Number, parse_float=Number,
                           object_pairs_hook=Pairs)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return REFUSED
    return value


class Number(str):
    pass


def fix_surrogates(s):
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)


def canonical(v):
    if v is None:
        return "n"
    if v is True:
        return "t"
    if v is False:
        return "f"
    if isinstance(v, Pairs):
        return "{" + ",".join("k" + fix_surrogates(k).encode().hex() + "=" + canonical(x) for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    if isinstance(v, Number):
        return "#" + v
    if isinstance(v, str):
        return "s" + fix_surrogates(v).encode().hex() + ";"
    raise AssertionError(type(v))


def depth(v):
    if isinstance(v, list):  # Pairs is a list too
        inner = [x for _, x in v] if isinstance(v, Pairs) else v
        return 1 + max((depth(x) for x in inner), default=0)
    return 0


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


# ---- random valid JSON text ------------------------------------------------------------------

rng = random.Random(SEED)
WS = [" ", "\t", "\n", "\r"]
CHARS = list("abcXYZ019 _-.:/") + ['"', "\\", "\x00", "\x01", "\x1f", "\x7f", "é", "ß", "中", "\u2028",
                                    "\ufeff", "\uffff", "😀", "\U0010ffff"]


def ws():
    return "".join(rng.choice(WS) for _ in range(rng.choice([0, 0, 0, 1, 2])))


def gen_number():
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(0, 1000))
    if r < 0.45:
        return str(rng.choice([2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30]))
    if r < 0.55:
        return "-" + str(rng.randint(0, 2**63))
    mantissa = rng.choice(["0", "-0", "1", "-12", "123456789"])
    if rng.random() < 0.6:
        mantissa += "." + str(rng.randint(0, 99999))
    if rng.random() < 0.5:
        mantissa += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 400))
    return mantissa


def gen_string():
    out = ['"']
    for _ in range(rng.randint(0, 5)):
        c = rng.choice(CHARS)
        r = rng.random()
        if c in '"\\' or ord(c) < 0x20:
            short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}.get(c)
            out.append(short if short and r < 0.5 else "\\u%04x" % ord(c))
        elif r < 0.15 and ord(c) <= 0xFFFF:
            out.append(("\\u%04X" if r < 0.07 else "\\u%04x") % ord(c))
        elif r < 0.2 and ord(c) > 0xFFFF:
            hi, lo = divmod(ord(c) - 0x10000, 0x400)
            out.append("\\u%04x\\u%04x" % (0xD800 + hi, 0xDC00 + lo))
        else:
            out.append(c)
    r = rng.random()
    if r < 0.05:
        out.append(rng.choice(["\\ud800", "\\udfff", "\\ud83dx", "\\ude00\\ud83d", "\\/", "\\b\\f\\r"]))
    out.append('"')
    return "".join(out)


def gen_value(d):
    r = rng.random()
    if d >= 3 or r < 0.55:
        return rng.choice([gen_number, gen_string, gen_string, lambda: rng.choice(["true", "false", "null"])])()
    if r < 0.75:
        items = [ws() + gen_value(d + 1) + ws() for _ in range(rng.randint(0, 3))]
        return "[" + ",".join(items) + (ws() if not items else "") + "]"
    members = [ws() + gen_string() + ws() + ":" + ws() + gen_value(d + 1) + ws() for _ in range(rng.randint(0, 3))]
    return "{" + ",".join(members) + "}"


def gen_text():
    r = rng.random()
    if r < 0.85:  # WAMP-like: a top-level array, sometimes longer than 7 elements
        items = [ws() + gen_value(1) + ws() for _ in range(rng.randint(0, 9))]
        return ws() + "[" + ",".join(items) + "]" + ws()
    return ws() + gen_value(0) + ws()


INTERESTING = [b",", b"]", b"[", b"}", b"{", b'"', b"\\", b"0", b".", b"e", b"-", b"+", b" ", b":", b"\x00",
               b"\x80", b"\xc0", b"\xc3", b"\xed", b"\xf4\x90", b"\xff", b"N", b"t", b"\x0b", b"\xef\xbb\xbf",
               b"\\u", b"\\ud800", b"1", b"/", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\xaf", b"\xe0\x80\xaf",
               b"\xf0\x80\x80\xaf", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc2\x80", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]


def mutate(data):
    data = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        op = rng.random()
        pos = rng.randint(0, len(data))
        if op < 0.3 and data:
            del data[min(pos, len(data) - 1)]
        elif op < 0.6:
            data[pos:pos] = rng.choice(INTERESTING)
        elif op < 0.8 and data:
            data[min(pos, len(data) - 1)] = rng.randint(0, 255)
        elif op < 0.9:
            data = data[:pos]
        else:
            seg = data[pos:pos + rng.randint(1, 6)]
            data[pos:pos] = seg
    return bytes(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    lines = []
    accepted = refused = 0
    texts = [gen_text().encode("utf-8", "surrogatepass") for _ in range(COUNT_VALID)]
    cases = texts + [mutate(rng.choice(texts)) for _ in range(COUNT_MUTATED)]
    for data in cases:
        value = python_verdict(data)
        b64 = base64.b64encode(data).decode()
        if value is REFUSED:
            lines.append("R " + b64)
            refused += 1
        elif depth(value) <= 64:
            lines.append("A %s %s" % (b64, fnv1a64(canonical(value))))
            accepted += 1
    with open(os.path.join(here, "Fixtures", "differential.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("accepted %d, refused %d" % (accepted, refused))


if __name__ == "__main__":
    main()
