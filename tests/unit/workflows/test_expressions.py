"""Possible values of GitHub expressions (verifier.workflows.expressions).

The differential test runs GitHub's own evaluator (``@actions/expressions`` from npm, installed with
tests/github-workflow-parser; without it the test FAILS) on generated expressions over a known matrix:
there every operand is known, so the set of possible values must be exactly GitHub's one value.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from verifier.workflows.expressions import (
    MAX_VALUES,
    UNKNOWN,
    Possible,
    as_text,
    possible_values,
)

PARSER_DIR = Path(__file__).resolve().parents[2] / "github-workflow-parser"
MATRIX: dict[str, Any] = {
    "s": "Ubuntu:22.04",
    "e": "",
    "n": 2.0,
    "z": 0.0,
    "t": True,
    "f": False,
    "u": None,
    "o": {"image": "alpine@sha256:" + "ab" * 32, "empty": ""},
    "num": "10",
}


def resolve_known(path: Sequence[str]) -> list[Possible] | None:
    """The matrix above as a resolver: a property of a non-object, or a missing one, is null."""
    if path[0] != "matrix":
        return None
    value: Any = MATRIX
    for part in path[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    return [Possible(value)]


def values(text: str, resolve: Any = resolve_known) -> list[object]:
    return [p.value for p in possible_values(text, resolve)]


# --- by hand ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", ["plain text"]),
        ("${{ 'a' }}", ["a"]),
        ("${{ 'it''s' }}", ["it's"]),
        ("${{ matrix.s }}", ["Ubuntu:22.04"]),
        ("${{ matrix.o.image }}", ["alpine@sha256:" + "ab" * 32]),
        ("${{ matrix['o']['empty'] || 'x' }}", ["x"]),
        ("${{ matrix.missing }}", [None]),
        ("${{ matrix.u || '' }}", [""]),
        ("${{ matrix.t && 'yes' || 'no' }}", ["yes"]),
        ("${{ matrix.f && 'yes' || 'no' }}", ["no"]),
        ("${{ matrix.s == 'ubuntu:22.04' }}", [True]),  # strings compare ignoring case
        ("${{ matrix.num == 10 }}", [True]),  # mixed types compare as numbers
        ("${{ null == 0 }}", [True]),
        ("${{ 'abc' < 5 }}", [False]),  # NaN
        ("img:${{ matrix.n }}-${{ matrix.t }}", ["img:2-true"]),
        ("${{ 'a}}b' }}", ["a}}b"]),  # `}}` inside a string does not end the expression
    ],
)
def test_known_values(text: str, expected: list[object]) -> None:
    assert values(text) == expected


def test_unknown_operands_keep_every_branch() -> None:
    assert values("${{ inputs.image || vars.DEFAULT }}") == [UNKNOWN]
    assert sorted(map(str, values("${{ inputs.on == 'true' && 'redis:7' || '' }}"))) == [
        "",
        "redis:7",
    ]
    # An unknown left side of || may be falsy: the right side is possible too.
    assert values("${{ inputs.image || 'ubuntu' }}") == [UNKNOWN, "ubuntu"]
    assert values("${{ fromJSON(inputs.list)[0] }}") == [UNKNOWN]
    assert values("${{ !inputs.x }}") == [True, False]


@pytest.mark.parametrize(
    "text",
    [
        "${{ matrix.a",  # no closing braces
        "${{ 'unterminated }}",
        "${{ a b }}",
        "${{ ( }}",
        "${{ }}",
        "${{ a ? b : c }}",
        "${{ " + "(" * 100 + "1" + ")" * 100 + " }}",  # deeper than MAX_DEPTH
        "${{ " + "!" * 100 + "true }}",
    ],
)
def test_what_cannot_be_read_is_unknown_never_an_error(text: str) -> None:
    assert values(text) == [UNKNOWN]


def test_combinations_past_the_budget_are_unknown() -> None:
    many = [Possible(f"v{i}") for i in range(MAX_VALUES)]

    def resolve(path: Sequence[str]) -> list[Possible] | None:
        return list(many) if path[0] == "matrix" else None

    assert len(values("${{ matrix.a }}", resolve)) == MAX_VALUES
    assert values("${{ matrix.a }}:${{ matrix.b }}", resolve) == [UNKNOWN]


def test_origin_of_a_substituted_value_is_kept() -> None:
    origin = object()

    def resolve(path: Sequence[str]) -> list[Possible] | None:
        return [Possible("alpine", origin), Possible(None)]

    got = possible_values("docker.io/${{ matrix.img }}:3", resolve)
    assert [(p.value, p.origin) for p in got] == [
        ("docker.io/alpine:3", origin),
        ("docker.io/:3", None),
    ]


def test_metamorphic_parentheses_and_double_negation_change_nothing() -> None:
    rng = random.Random(7)  # noqa: S311 - a fixed seed for reproducible cases, not cryptography
    for _ in range(200):
        expr = _expression(rng, 3)
        plain = values("${{ " + expr + " }}")
        assert values("${{ (" + expr + ") }}") == plain
        assert values("${{ !!(" + expr + ") }}") == [
            bool(v) if not isinstance(v, str | float | dict) else _truthy(v) for v in plain
        ]


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value != ""
    if isinstance(value, float):
        return value != 0 and not math.isnan(value)
    return True


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (2.0, "2"),
        (1.5, "1.5"),
        ("x", "x"),
        ({}, None),
    ],
)
def test_as_text(value: object, text: str | None) -> None:
    assert as_text(value) == text


# --- against GitHub's evaluator -------------------------------------------------------------------------

LITERALS = [
    "''",
    "'a'",
    "'A'",
    "'x:1'",
    "'10'",
    "' 7 '",
    "'0x1F'",
    "0",
    "1",
    "1.5",
    "-2",
    "true",
    "false",
    "null",
]
REFS = [
    "matrix.s",
    "matrix.e",
    "matrix.n",
    "matrix.z",
    "matrix.t",
    "matrix.f",
    "matrix.u",
    "matrix.o.image",
]
REFS += ["matrix.o.empty", "matrix.missing", "matrix.num", "matrix.o", "matrix['s']"]
OPERATORS = ["||", "&&", "==", "!=", "<", "<=", ">", ">="]


def _expression(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(LITERALS + REFS)
    shape = rng.random()
    if shape < 0.15:
        return "!" + _expression(rng, depth - 1)
    if shape < 0.3:
        return "(" + _expression(rng, depth - 1) + ")"
    return f"{_expression(rng, depth - 1)} {rng.choice(OPERATORS)} {_expression(rng, depth - 1)}"


def _github(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (apt-get install -y nodejs npm)", pytrace=False)
    if not (PARSER_DIR / "node_modules" / "@actions" / "expressions").is_dir():
        pytest.fail(
            f"@actions/expressions is not installed: run `npm ci` in {PARSER_DIR}", pytrace=False
        )
    proc = subprocess.run(
        [node, str(PARSER_DIR / "evaluate.mjs")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    out: list[dict[str, Any]] = json.loads(proc.stdout)
    return out


def _same(ours: object, theirs: dict[str, Any]) -> bool:
    kind, value = theirs["kind"], theirs.get("value")
    if kind == "Null":
        return ours is None
    if kind == "Boolean":
        return ours is value
    if kind == "Number":
        return isinstance(ours, float) and (ours == value or (math.isnan(ours) and value is None))
    if kind == "String":
        return ours == value
    return ours == value  # an object from the matrix


def test_known_expressions_evaluate_exactly_as_github_does() -> None:
    rng = random.Random(20261207)  # noqa: S311 - a fixed seed for reproducible cases
    expressions = sorted({_expression(rng, 3) for _ in range(600)})
    templates = [f"img:${{{{ {e} }}}}" for e in expressions[:150]]
    github = _github(
        [{"expr": e, "matrix": MATRIX} for e in expressions]
        + [{"expr": e[len("img:${{ ") : -len(" }}")], "matrix": MATRIX} for e in templates]
    )
    assert all(g["kind"] != "Error" for g in github), [g for g in github if g["kind"] == "Error"][
        :3
    ]
    wrong = []
    for expr, theirs in zip(expressions, github, strict=False):
        ours = values("${{ " + expr + " }}")
        if len(ours) != 1 or not _same(ours[0], theirs):
            wrong.append((expr, ours, theirs))
    for template, theirs in zip(templates, github[len(expressions) :], strict=True):
        ours = values(template)
        text = theirs["text"]
        expected = [UNKNOWN] if text is None else ["img:" + text]
        if ours != expected:
            wrong.append((template, ours, theirs))
    assert wrong == []
    assert len(expressions) > 400
