"""Differential test: FilterVM (through the filter-eval tool) against moto's DynamoDB
FilterExpression evaluator, driven in-process with mock_aws (moto 5.2.1, boto3).

From a seed, generate random documents and random filter expressions (placeholders for every
value, random #names, random keyword case); put the documents into a mocked table in DynamoDB's
typed form, Scan with FilterExpression + ExpressionAttributeNames/Values, and compare the set of
matching documents with filter-eval's answer for the same documents given as JSON text. Any
disagreement prints the expression, values, names, document, both answers and fails.

Where moto deviates from the AWS documentation, the (expression, document) pair is excluded by
`moto_unreliable` below; each rule cites the documented behaviour. The excluded share is printed.

    pytest Tests/differential/test_filter_moto.py            # default: ~2000 expressions
    FILTER_DIFF_EXPRESSIONS=20000 FILTER_DIFF_SEED=7 pytest ...
    FILTER_EVAL=/path/to/filter-eval pytest ...               # default .build/debug/filter-eval
"""

import json
import os
import random
import subprocess
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("FILTER_DIFF_SEED", "20240611"))
EXPRESSIONS = int(os.environ.get("FILTER_DIFF_EXPRESSIONS", "2000"))
DOCS_PER_ROUND = 30
EXPRESSIONS_PER_ROUND = 100

MISSING = object()

# ---------------------------------------------------------------------------------------------
# Values. A value is a tuple in DynamoDB terms: ("N", text), ("S", str), ("BOOL", b), ("NULL",),
# ("L", [values]), ("M", {key: value}). Numbers keep their JSON text so that both sides see the
# same spelling ("12.50", "1E+3").
#
# Numbers 0 and 1 are never generated: moto compares cast values with Python ==, where
# Decimal(1) == True and Decimal(0) == False, so a BOOL would equal an N. The AWS docs
# (Expressions.OperatorsAndFunctions, "Making comparisons"; and Data types: BOOL and N are
# distinct types) make such comparisons false.
# ---------------------------------------------------------------------------------------------

NUMBER_TEXTS = [
    "2", "3", "5", "-2", "-7", "10", "42", "100", "2.5", "2.50", "-3.25", "1E+3", "1000", "0.5",
    "-0.5", "12345678901234567890123", "12345678901234567890124", "0.000123", "1.23e-4", "7.0",
    "99999999999999999999999999999999999999", "-99999999999999999999999999999999999999",
]
STRINGS = ["", "a", "ab", "abc", "b", "ba", "B", "A b", "é", "e\u0301", "😀", "a😀", "x\"y", "back\\slash",
           "hello", "hel", "lo", "\u00ff", "\uffff", "zz"]
TYPE_NAMES = ["S", "N", "BOOL", "NULL", "L", "M", "SS", "NS", "BS", "B"]


def rand_scalar(rng):
    kind = rng.choice(["N", "N", "S", "S", "BOOL", "NULL"])
    if kind == "N":
        return ("N", rng.choice(NUMBER_TEXTS))
    if kind == "S":
        return ("S", rng.choice(STRINGS))
    if kind == "BOOL":
        return ("BOOL", rng.random() < 0.5)
    return ("NULL",)


def rand_value(rng, depth=0):
    r = rng.random()
    if depth < 2 and r < 0.12:
        return ("L", [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 3))])
    if depth < 2 and r < 0.22:
        return ("M", {rng.choice(["x", "y", "z"]): rand_value(rng, depth + 1) for _ in range(rng.randint(0, 3))})
    return rand_scalar(rng)


TOP_NAMES = ["a", "b", "c", "m", "l", "with space", "dash-name", "ünï", "status"]
BARE_OK = {"a", "b", "c", "m", "l"}  # usable without #name (not reserved, plain identifiers)

# Most attributes have a usual type (as real event payloads do), so that ordering comparisons
# mostly meet their own type; 20% of the time they hold anything. Mixed types are the point of
# several rules, but moto cannot be trusted with them (see moto_unreliable), so too many would
# only exclude pairs.
HOME_TYPES = {("a",): "N", ("b",): "S", ("with space",): "S", ("dash-name",): "N", ("status",): "S",
              ("m", "x"): "N", ("m", "y"): "S", ("l", 0): "N", ("l", 1): "S"}


def rand_typed(rng, home, depth=1):
    if home and rng.random() < 0.8:
        if home == "N":
            return ("N", rng.choice(NUMBER_TEXTS))
        return ("S", rng.choice(STRINGS))
    return rand_value(rng, depth)


def rand_doc(rng):
    doc = {}
    for name in TOP_NAMES:
        if rng.random() < 0.2:
            continue
        if name == "m" and rng.random() < 0.8:
            doc[name] = ("M", {k: rand_typed(rng, HOME_TYPES.get(("m", k))) for k in ["x", "y", "z"]
                               if rng.random() < 0.8})
        elif name == "l" and rng.random() < 0.8:
            doc[name] = ("L", [rand_typed(rng, HOME_TYPES.get(("l", i))) for i in range(rng.randint(0, 4))])
        else:
            doc[name] = rand_typed(rng, HOME_TYPES.get((name,)), 0)
    return doc


def to_typed(v):
    """DynamoDB wire form for boto3's low-level client."""
    t = v[0]
    if t == "N":
        return {"N": v[1]}
    if t == "S":
        return {"S": v[1]}
    if t == "BOOL":
        return {"BOOL": v[1]}
    if t == "NULL":
        return {"NULL": True}
    if t == "L":
        return {"L": [to_typed(x) for x in v[1]]}
    return {"M": {k: to_typed(x) for k, x in v[1].items()}}


def to_json_text(v, rng):
    """JSON text with random spacing and random escaping (exercises the raw-byte reader)."""
    sp = lambda: rng.choice(["", "", " ", "\n  "])
    t = v[0]
    if t == "N":
        return v[1]
    if t == "S":
        return json.dumps(v[1], ensure_ascii=rng.random() < 0.5)
    if t == "BOOL":
        return "true" if v[1] else "false"
    if t == "NULL":
        return "null"
    if t == "L":
        return "[" + sp() + ("," + sp()).join(to_json_text(x, rng) for x in v[1]) + sp() + "]"
    items = [json.dumps(k, ensure_ascii=rng.random() < 0.5) + sp() + ":" + sp() + to_json_text(x, rng)
             for k, x in v[1].items()]
    return "{" + sp() + ("," + sp()).join(items) + sp() + "}"


def to_plain_json(v):
    """filter_values form: plain JSON (numbers as JSON number text)."""
    t = v[0]
    if t == "N":
        return v[1]
    if t == "S":
        return json.dumps(v[1])
    if t == "BOOL":
        return "true" if v[1] else "false"
    if t == "NULL":
        return "null"
    if t == "L":
        return "[" + ",".join(to_plain_json(x) for x in v[1]) + "]"
    return "{" + ",".join(json.dumps(k) + ":" + to_plain_json(x) for k, x in v[1].items()) + "}"


# ---------------------------------------------------------------------------------------------
# Expressions, generated as small ASTs so that the exclusion rules can inspect them.
# Paths are lists of steps: str (key) or int (index, single digit: moto's lexer only accepts
# `[0-9]`).
# ---------------------------------------------------------------------------------------------

PATHS = [["a"], ["b"], ["c"], ["m"], ["l"], ["m", "x"], ["m", "y"], ["m", "z"], ["l", 0], ["l", 1],
         ["l", 2], ["m", "x", 0], ["with space"], ["dash-name"], ["ünï"], ["status"], ["nope"], ["m", "nope"]]


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.values = {}
        self.names = {}

    def kw(self, word):
        return self.rng.choice([word, word.lower(), word.capitalize()])

    def value(self, v):
        key = ":v%d" % len(self.values)
        self.values[key] = v
        return ("const", v, key)

    def path_text(self, path):
        out = ""
        for step in path:
            if isinstance(step, int):
                out += "[%d]" % step
                continue
            if out:
                out += "."
            if step in BARE_OK and step not in ("status",) and self.rng.random() < 0.7:
                out += step
            else:
                existing = [k for k, n in self.names.items() if n == step]
                key = existing[0] if existing else "#n%d" % len(self.names)
                self.names[key] = step
                out += key
        return out

    def operand_text(self, op):
        if op[0] == "const":
            return op[2]
        if op[0] == "path":
            return self.path_text(op[1])
        return "size(%s)" % self.path_text(op[1])

    def rand_path(self):
        return ("path", self.rng.choice(PATHS))

    def orderable_const(self, path=None):
        home = HOME_TYPES.get(tuple(path[1])) if path and path[0] == "path" else None
        if home and self.rng.random() < 0.8:
            return self.value((home, self.rng.choice(NUMBER_TEXTS if home == "N" else STRINGS)))
        if self.rng.random() < 0.5:
            return self.value(("N", self.rng.choice(NUMBER_TEXTS)))
        return self.value(("S", self.rng.choice(STRINGS)))

    def atom(self):
        rng = self.rng
        kind = rng.choice(["cmp", "cmp", "cmp", "between", "in", "exists", "not_exists", "type", "begins",
                           "contains", "size"])
        if kind == "cmp":
            op = rng.choice(["=", "<>", "<", "<=", ">", ">="])
            lhs = self.rand_path()
            if op in ("=", "<>"):
                r = rng.random()
                rhs = self.value(rand_value(rng)) if r < 0.75 else self.rand_path()
            else:
                rhs = self.orderable_const(lhs) if rng.random() < 0.8 else self.rand_path()
            if rng.random() < 0.3:
                lhs, rhs = rhs, lhs
            node = ("cmp", op, lhs, rhs)
            return node, "%s %s %s" % (self.operand_text(lhs), op, self.operand_text(rhs))
        if kind == "between":
            a = self.rand_path()
            home = HOME_TYPES.get(tuple(a[1]))
            if (home == "N") if home and rng.random() < 0.8 else rng.random() < 0.5:
                lo, hi = sorted([Decimal(rng.choice(NUMBER_TEXTS)) for _ in range(2)])
                lo, hi = self.value(("N", str(lo))), self.value(("N", str(hi)))
            else:
                lo, hi = sorted([rng.choice(STRINGS) for _ in range(2)], key=lambda s: s.encode())
                lo, hi = self.value(("S", lo)), self.value(("S", hi))
            node = ("between", a, lo, hi)
            return node, "%s %s %s %s %s" % (self.operand_text(a), self.kw("BETWEEN"), self.operand_text(lo),
                                             self.kw("AND"), self.operand_text(hi))
        if kind == "in":
            a = self.rand_path()
            items = [self.value(rand_value(rng)) for _ in range(rng.randint(1, 5))]
            node = ("in", a, items)
            return node, "%s %s (%s)" % (self.operand_text(a), self.kw("IN"),
                                         ", ".join(self.operand_text(i) for i in items))
        if kind in ("exists", "not_exists"):
            p = self.rand_path()
            fn = "attribute_exists" if kind == "exists" else "attribute_not_exists"
            return (kind, p), "%s(%s)" % (fn, self.operand_text(p))
        if kind == "type":
            p = self.rand_path()
            t = self.value(("S", rng.choice(TYPE_NAMES)))
            return ("type", p, t), "attribute_type(%s, %s)" % (self.operand_text(p), self.operand_text(t))
        if kind == "begins":
            p = self.rand_path()
            s = self.value(("S", rng.choice(STRINGS)))
            return ("begins", p, s), "begins_with(%s, %s)" % (self.operand_text(p), self.operand_text(s))
        if kind == "contains":
            p = self.rand_path()
            if rng.random() < 0.8:
                x = self.value(rand_scalar(rng) if rng.random() < 0.8 else rand_value(rng))
            else:
                x = self.rand_path()
                if x[1] == p[1]:
                    x = self.value(rand_scalar(rng))
            return ("contains", p, x), "contains(%s, %s)" % (self.operand_text(p), self.operand_text(x))
        # size(path) compared with a number
        # size() of a path that usually holds S, L or M: moto raises on any other (see below).
        p = ("size", rng.choice([["b"], ["m"], ["l"], ["m", "y"], ["l", 1], ["with space"], ["c"]]))
        op = rng.choice(["=", "<>", "<", "<=", ">", ">="])
        n = self.value(("N", str(rng.choice([2, 3, 4, 5, 6, 7, 10]))))
        return ("cmp", op, p, n), "%s %s %s" % (self.operand_text(p), op, self.operand_text(n))

    def condition(self, depth):
        """Returns (node, text, shape); shape is atom, not, paren or the binary operator."""
        rng = self.rng
        r = rng.random()
        if depth >= 3 or r < 0.35:
            node, text = self.atom()
            return node, text, "atom"
        if r < 0.5:
            node, text, shape = self.condition(depth + 1)
            # NOT binds tighter than AND/OR: a binary child must be parenthesised. `NOT NOT x`
            # is valid DynamoDB grammar ("NOT condition") but moto's parser rejects it ("Bad NOT
            # expression"), so a NOT child is parenthesised too (FilterVM unit tests cover NOT NOT).
            if shape in ("and", "or", "not") or (shape != "paren" and rng.random() < 0.3):
                text = "(%s)" % text
            return ("not", node), "%s %s" % (self.kw("NOT"), text), "not"
        op = rng.choice(["and", "or"])
        parts = []
        for _ in range(2):
            node, text, shape = self.condition(depth + 1)
            # Parenthesise a binary child unless it is the same operator (associative), and
            # sometimes an atom; never a parenthesis again (DynamoDB: redundant parentheses).
            if (shape in ("and", "or") and (shape != op or rng.random() < 0.5)) or \
                    (shape in ("atom", "not") and rng.random() < 0.3):
                text = "(%s)" % text
            parts.append((node, text))
        return (op, parts[0][0], parts[1][0]), "%s %s %s" % (parts[0][1], self.kw(op.upper()), parts[1][1]), op


# ---------------------------------------------------------------------------------------------
# moto deviations from the AWS documentation, per (atom, document). A pair is excluded if any
# atom of its expression is unreliable under moto for that document.
# ---------------------------------------------------------------------------------------------

def resolve(doc, path):
    v = ("M", doc)
    for step in path:
        if isinstance(step, int):
            if v[0] != "L" or step >= len(v[1]):
                return MISSING
            v = v[1][step]
        else:
            if v[0] != "M" or step not in v[1]:
                return MISSING
            v = v[1][step]
    return v


def operand_value(doc, op):
    if op[0] == "const":
        return op[1]
    if op[0] == "path":
        return resolve(doc, op[1])
    return ("SIZE", resolve(doc, op[1]))


def falsy(v):
    return (v[0] == "S" and v[1] == "") or (v[0] == "N" and Decimal(v[1]) == 0)


def moto_unreliable(node, doc):
    kind = node[0]
    if kind in ("and", "or"):
        return moto_unreliable(node[1], doc) or moto_unreliable(node[2], doc)
    if kind == "not":
        return moto_unreliable(node[1], doc)
    if kind in ("cmp", "between", "in", "contains"):
        ops = [node[2], node[3]] if kind == "cmp" else [node[1], node[2], node[3]] if kind == "between" \
            else [node[1]] + node[2] if kind == "in" else [node[1], node[2]]
        vals = [operand_value(doc, o) for o in ops]
        for v in vals:
            # moto's FuncSize raises "Invalid attribute name"/"Invalid filter expression" (and the
            # whole Scan fails) for size() of a missing path or a non-sized type; AWS documents
            # size(path) only as "returns a number representing an attribute's size", and SPEC
            # §5.1 makes comparisons with a missing value false.
            if v is not MISSING and v[0] == "SIZE" and (v[1] is MISSING or v[1][0] not in ("S", "L", "M")):
                return True
        def is_none(v):
            return v is MISSING or v[0] == "NULL"
        if kind == "cmp" and node[1] in ("=", "<>") or kind == "in":
            # moto maps a missing attribute and NULL both to Python None, so missing = missing
            # and missing = NULL are true; AWS: a comparison with a missing attribute is false
            # ("a = b: true if a is equal to b" needs both to exist; see also attribute_exists).
            if any(v is MISSING for v in vals) and sum(is_none(v) for v in vals) >= 2:
                return True
        if kind == "cmp" and node[1] not in ("=", "<>") or kind == "between":
            present = [v for v in vals if v is not MISSING]
            types = {("N" if v[0] == "SIZE" else v[0]) for v in present}
            # moto orders with Python's < on cast values: Decimal vs str raises TypeError, bool vs
            # Decimal and list vs list compare, dict raises. AWS: "<, <=, >, >=" and BETWEEN apply
            # to N, S and B of the same type; anything else is false.
            if len(present) == len(vals) and (len(types) > 1 or not types <= {"N", "S"}):
                return True
            # moto's FuncBetween tests Python truthiness of the operands, so "" or 0 as a value
            # or bound makes BETWEEN false; AWS: "a BETWEEN b AND c: true if a >= b and a <= c".
            if kind == "between" and any(v is not MISSING and v[0] != "SIZE" and falsy(v) for v in vals):
                return True
            # moto's OpLessThan etc. return False only when an operand is None; a NULL present
            # against a non-NULL is covered by the type rule above.
        if kind == "contains":
            # moto: `operand in attr` with a missing path operand is `None in list`, true when
            # the list holds a NULL; AWS: contains needs the operand to exist.
            if vals[1] is MISSING:
                return True
        return False
    return False


# ---------------------------------------------------------------------------------------------
# The two evaluators.
# ---------------------------------------------------------------------------------------------

def filter_eval_path():
    path = Path(os.environ.get("FILTER_EVAL", ROOT / ".build" / "debug" / "filter-eval"))
    if "FILTER_EVAL" not in os.environ:
        subprocess.run(["swift", "build", "--product", "filter-eval"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    assert path.exists(), "filter-eval not found at %s" % path
    return path


def moto_matches(client, table, expr, values, names, doc_count):
    """Set of matching document indexes, or None if moto raised for this expression."""
    kwargs = {"TableName": table, "FilterExpression": expr}
    if values:
        kwargs["ExpressionAttributeValues"] = {k: to_typed(v) for k, v in values.items()}
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        items = client.scan(**kwargs)["Items"]
        return {int(i["pk"]["S"][1:]) for i in items}
    except Exception:  # moto crashes (TypeError) or refuses (size of missing path): per doc below
        return None


def moto_match_one(client, table, expr, values, names, index):
    kwargs = {"TableName": table, "KeyConditionExpression": "pk = :pk__", "FilterExpression": expr,
              "ExpressionAttributeValues": {":pk__": {"S": "d%d" % index}}}
    kwargs["ExpressionAttributeValues"].update({k: to_typed(v) for k, v in values.items()})
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        return len(client.query(**kwargs)["Items"]) == 1
    except Exception as error:  # recorded as a failure by the caller unless the pair is excluded
        return "raised: %s" % str(error)[:200]


@mock_aws
def test_filter_vm_agrees_with_moto():
    tool = filter_eval_path()
    rng = random.Random(SEED)
    client = boto3.client("dynamodb", region_name="us-east-1")
    compared = excluded = 0
    failures = []
    rounds = max(1, EXPRESSIONS // EXPRESSIONS_PER_ROUND)
    for round_index in range(rounds):
        table = "t%d" % round_index
        client.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        docs = [rand_doc(rng) for _ in range(DOCS_PER_ROUND)]
        for i, doc in enumerate(docs):
            item = {k: to_typed(v) for k, v in doc.items()}
            item["pk"] = {"S": "d%d" % i}
            client.put_item(TableName=table, Item=item)
        doc_texts = [to_json_text(("M", doc), rng) for doc in docs]
        cases = []
        for _ in range(EXPRESSIONS_PER_ROUND):
            g = Gen(rng)
            node, text, _ = g.condition(0)
            cases.append((node, text, g.values, g.names))
        # Hand-built request lines: number text must reach filter-eval exactly as written.
        lines = []
        for (_, text, values, names) in cases:
            vals = "{" + ",".join(json.dumps(k) + ":" + to_plain_json(v) for k, v in values.items()) + "}"
            lines.append('{"expr": %s, "values": %s, "names": %s, "docs": %s}' % (
                json.dumps(text), vals, json.dumps(names), json.dumps(doc_texts)))
        out = subprocess.run([str(tool)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                             check=True).stdout.splitlines()
        assert len(out) == len(cases)
        for (node, text, values, names), line in zip(cases, out):
            ours = json.loads(line)
            if not ours["ok"]:
                failures.append("filter-eval refused %r values=%s names=%s: %s" % (text, values, names, ours["error"]))
                continue
            theirs = moto_matches(client, table, text, values, names, len(docs))
            for i, doc in enumerate(docs):
                if moto_unreliable(node, doc):
                    excluded += 1
                    continue
                if theirs is None:
                    moto_result = moto_match_one(client, table, text, values, names, i)
                else:
                    moto_result = i in theirs
                compared += 1
                if moto_result != ours["results"][i]:
                    failures.append(
                        "DISAGREE expr=%r\n  values=%s\n  names=%s\n  doc=%s\n  moto=%s filter-eval=%s\n  program:\n    %s"
                        % (text, {k: to_plain_json(v) for k, v in values.items()}, names, doc_texts[i],
                           moto_result, ours["results"][i],
                           ours["fingerprint"].replace("\n", "\n    ")))
        client.delete_table(TableName=table)
        if len(failures) > 20:
            break
    print("\ncompared %d (expression, document) pairs, excluded %d (moto deviations), seed %d"
          % (compared, excluded, SEED))
    if failures:
        pytest.fail("%d disagreements, first ones:\n%s" % (len(failures), "\n".join(failures[:10])))
    assert compared > EXPRESSIONS * DOCS_PER_ROUND // 2, "too many exclusions to be a meaningful test"
