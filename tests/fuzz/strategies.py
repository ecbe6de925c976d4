"""Hypothesis strategies for hostile input: generated values, and mutations of real documents.

Real documents (the vendored upstream SARIF, SBOMs, bundles, trust policies, workflows) are the seeds: most
mutations change one value deep inside an otherwise valid document, which is where readers trust their
input most. The atoms are the values that broke readers before: huge integers, deep nesting, lone
surrogates, control characters, wrong types, empty containers.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

from hypothesis import strategies as st

DEEP = 5_000
HOSTILE_STRINGS = (
    "",
    "\ud800",
    "a\udfffb",
    "line\nforged: line",
    "\x1b[31mred\x1b[0m",
    "\x00",
    "\r",
    "\u2028",
    "../../../../etc/passwd",
    "sha256:" + "0" * 64,
    "sha256:",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "not-a-time",
    "-1",
    "%",
    "https://",
    "=",
    "*",
    "\\",
    "A" * 10_000,
)
HOSTILE_NUMBERS: tuple[Any, ...] = (0, -1, 2**63, -(2**63) - 1, 2**64, 10**30, 1e308, -0.0, 0.5)


def _leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(HOSTILE_STRINGS),
        st.sampled_from(HOSTILE_NUMBERS),
    )


json_values: st.SearchStrategy[Any] = st.recursive(
    _leaves(),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=10), st.sampled_from(HOSTILE_STRINGS)), children, max_size=4
        ),
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, seed: Any, max_mutations: int = 3) -> Any:
    """``seed`` with 1..max_mutations changes, each at a random place (biased towards deep places)."""
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, max_mutations))):
        doc = _mutate(draw, doc)
    return doc


def _mutate(draw: st.DrawFn, node: Any) -> Any:
    children: list[Any] = (
        list(node)
        if isinstance(node, dict)
        else list(range(len(node)))
        if isinstance(node, list)
        else []
    )
    if children and draw(st.integers(0, 9)) < 8:
        key = draw(st.sampled_from(children))
        action = draw(
            st.sampled_from(
                ("descend", "descend", "descend", "delete", "replace", "type", "extreme", "extreme")
            )
        )
        if action == "descend":
            node[key] = _mutate(draw, node[key])
        elif action == "delete":
            del node[key]
        elif action == "replace":
            node[key] = draw(json_values)
        elif action == "extreme":
            node[key] = _extreme(draw, node[key])
        else:
            node[key] = other_type(node[key])
        return node
    return draw(json_values)


_DIGITS = re.compile(r"-?[0-9]+")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
EXTREME_INTS = (
    "0",
    "-1",
    "253402300800",  # the first second after the year 9999
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "99999999999999999999",
    "9" * 5_000,
)
EXTREME_TIMES = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-01:00",
    "2023-02-30T00:00:00Z",
    "2023-07-12T15:56:35",
)


def _extreme(draw: st.DrawFn, value: Any) -> Any:
    """A value of the same kind at its edge: huge or negative numbers (also as the digit strings protobuf
    JSON uses for int64), times at the ends of the calendar, and base64 whose decoded content is damaged
    (a JSON document inside is mutated itself, so nested encodings such as a log entry's body are reached)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return draw(
            st.sampled_from((2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, 253402300800, -1, 0))
        )
    if not isinstance(value, str):
        return other_type(value)
    if _DIGITS.fullmatch(value):
        return draw(st.sampled_from(EXTREME_INTS))
    if _TIME.match(value):
        return draw(st.sampled_from(EXTREME_TIMES))
    if len(value) >= 8 and _BASE64.fullmatch(value):
        raw = base64.b64decode(value)
        try:
            inner = json.loads(raw)
        except ValueError:
            damaged = draw(byte_mutations(raw))
        else:
            damaged = json.dumps(draw(mutated(inner))).encode("ascii")
        return base64.b64encode(damaged).decode("ascii")
    return draw(st.sampled_from(HOSTILE_STRINGS))


def other_type(value: Any) -> Any:
    """The same information in the wrong type: a list for a string, a string for a number, …"""
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return {}


def encode(doc: Any, *, pretty: bool = False) -> bytes:
    """JSON bytes of ``doc``; lone surrogates are written as ``\\udXXX`` escapes, as a hostile file would."""
    return json.dumps(doc, indent=2 if pretty else None).encode("ascii")


@st.composite
def raw_json_attacks(draw: st.DrawFn) -> bytes:
    """Whole files that are JSON only on the surface: deep nesting, huge numbers, junk, other encodings."""
    kind = draw(
        st.sampled_from(
            (
                "deep-list",
                "deep-object",
                "bigint",
                "bigint-nested",
                "truncated",
                "utf16",
                "bytes",
                "nan",
                "dupkeys",
                "empty",
            )
        )
    )
    if kind == "deep-list":
        return b"[" * DEEP + b"]" * DEEP
    if kind == "deep-object":
        return b'{"a":' * DEEP + b"1" + b"}" * DEEP
    if kind == "bigint":
        return b"9" * 5_000
    if kind == "bigint-nested":
        return b'{"runs": [{"x": ' + b"1" * 5_000 + b'}], "version": 1}'
    if kind == "truncated":
        return b'{"a": [1, 2, {"b": "c'
    if kind == "utf16":
        return '{"a": 1}'.encode("utf-16")
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "nan":
        return b'{"a": NaN, "b": Infinity}'
    if kind == "dupkeys":
        return b'{"a": 1, "a": 2}'
    return b""


FRAGMENTS = (
    b"\xff\xfe",
    b"\x00",
    b"\xed\xa0\x80",
    b"[" * 2000,
    b"{" * 2000,
    b"${" * 500,
    b"(" * 2000,
    b"9" * 5000,
    b"\n- ",
    b": :",
    b"&a *a",
    b"\x1b[2J",
    b"\t",
    b'"',
    b"<<EOF\n",
    b"}",
    b"\\u",
    b"!Ref ",
    b"\r",
)


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes flipped, with text deleted or duplicated, or with a hostile fragment
    spliced in; one to three times."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(("truncate", "flip", "delete", "duplicate", "splice", "splice"))
        )
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        end = draw(st.integers(pos, min(len(data), pos + 200)))
        if kind == "truncate":
            data = data[:pos]
        elif kind == "flip" and data:
            data = data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1 :]
        elif kind == "delete":
            data = data[:pos] + data[end:]
        elif kind == "duplicate":
            data = data[:end] + data[pos:end] + data[end:]
        else:
            data = data[:pos] + draw(st.sampled_from(FRAGMENTS)) + data[pos:]
    return data


@st.composite
def raw_yaml_attacks(draw: st.DrawFn) -> bytes:
    """Whole YAML files that attack the loader rather than the reader behind it."""
    kind = draw(
        st.sampled_from(
            (
                "deep-flow",
                "deep-block",
                "deep-800",
                "bigint",
                "dupkeys",
                "laughs",
                "recursive",
                "tags",
                "merge",
                "multi",
                "control",
                "bytes",
            )
        )
    )
    if kind == "deep-flow":
        return b"a: " + b"[" * DEEP + b"]" * DEEP + b"\n"
    if kind == "deep-block":
        return "".join(" " * i + f"k{i}:\n" for i in range(1_500)).encode()
    if kind == "deep-800":
        return b"version: 1\nwebhook: " + b"[" * 800 + b"]" * 800 + b"\n"
    if kind == "bigint":
        return b"version: " + b"9" * 5_000 + b"\n"
    if kind == "dupkeys":
        return b"version: 1\nversion: 1\n"
    if kind == "laughs":
        lines = [b"a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]".encode() for i in range(1, 9)]
        return b"\n".join(lines) + b"\n"
    if kind == "recursive":
        return b"webhook: &x {a: *x}\n"
    if kind == "tags":
        return draw(
            st.sampled_from(
                (
                    b"a: !!python/object:os.system x\n",
                    b"a: !!set {x}\n",
                    b"a: !Ref x\n",
                    b"a: !!binary '%%'\n",
                    b"a: 2001-12-14 99:99:99\n",
                )
            )
        )
    if kind == "merge":
        return b"base: &b {version: 1}\n<<: *b\nm: {<<: 1}\n"
    if kind == "multi":
        return b"version: 1\n---\nversion: 1\n"
    if kind == "control":
        return draw(
            st.sampled_from(
                (
                    'a: "\x1b[2J"\n',
                    'a: "\\ud800"\n',
                    'a: "\\x00"\n',
                    "a: \u2028\n",
                    "\ufeffversion: 1\n",
                )
            )
        ).encode("utf-8", "surrogatepass")
    return draw(st.binary(max_size=64))
