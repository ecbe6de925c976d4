"""The oidc-trust CEL parser against a reference: cel-rust (PyPI ``common-expression-language``).

A differential test: a generated set of expressions (valid ones from the CEL grammar, every literal form,
reserved words, and the same expressions with one character deleted, inserted or doubled) goes through
both parsers, and any disagreement about *whether it parses* fails. The reference is a test dependency
only; the check itself parses with :mod:`verifier.checks.oidc_trust.cel`.
"""

from __future__ import annotations

import os
import random

import cel as reference
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.checks.oidc_trust import cel

NAMES = ["assertion", "attribute", "a", "_x", "b1", "sub", "if", "for", "in", "null", "true", "x_y"]
FIELDS = ["sub", "repository", "repository_owner_id", "ref", "if", "in", "true", "null", "_"]
STRING_BODIES = [
    "acme/app",
    "repo:acme/app:ref:refs/heads/main",
    "",
    "it\\'s",
    '\\"q\\"',
    "\\n\\t\\\\",
    "\\x41\\x7a",
    "\\u00e9",
    "\\U0001F600",
    "\\101\\377",
    "\\a\\b\\f\\v\\?\\`",
    "\\q",
    "\\x4",
    "\\400",
    "\\uD800",
    "\\U00110000",
    ".*",
    "^repo:acme/.*$",
]
NUMBERS = [
    "0",
    "42",
    "0x1F",
    "0XaB",
    "1u",
    "42U",
    "0x1Fu",
    "18446744073709551615u",
    "18446744073709551616u",
    "9223372036854775807",
    "9223372036854775808",
    "1.5",
    ".5",
    "1e3",
    "2.5e-3",
    "1E+2",
    "1.",
    "1e",
    "00",
    "1_000",
]


@st.composite
def string_literal(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from(STRING_BODIES))
    prefix = draw(st.sampled_from(["", "", "r", "R", "b", "B", "br", "rb", "Rb", "bR"]))
    quote = draw(st.sampled_from(["'", '"', "'''", '"""']))
    if quote == '"' and "\\'" in body:
        body = body.replace("\\'", "'")
    return f"{prefix}{quote}{body}{quote}"


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(NUMBERS),
        string_literal(),
        st.sampled_from(["true", "false", "null"]),
        st.sampled_from(NAMES),
        st.sampled_from(NAMES).map(lambda n: "." + n),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        pair = st.tuples(inner, inner)
        return st.one_of(
            st.tuples(inner, st.sampled_from(FIELDS)).map(lambda t: f"{t[0]}.{t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(
                inner, st.sampled_from(["startsWith", "matches", "size", "exists"]), inner
            ).map(lambda t: f"{t[0]}.{t[1]}({t[2]})"),
            st.tuples(st.sampled_from(["has", "size", "f", "int", "if"]), inner).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.lists(inner, min_size=1, max_size=2).map(lambda xs: "[" + ", ".join(xs) + ",]"),
            st.lists(pair, max_size=2).map(
                lambda ps: "{" + ", ".join(f"{k}: {v}" for k, v in ps) + "}"
            ),
            st.tuples(st.sampled_from(["Msg", "a.b.Msg", ".Msg", "if.Msg"]), inner).map(
                lambda t: f"{t[0]}{{f: {t[1]}}}"
            ),
            inner.map(lambda x: f"({x})"),
            st.tuples(st.sampled_from(["!", "-", "!!", "--", "!-", "-!"]), inner).map(
                lambda t: f"{t[0]}{t[1]}"
            ),
            st.tuples(
                inner,
                st.sampled_from(
                    ["==", "!=", "<", "<=", ">", ">=", "in", "&&", "||", "+", "-", "*", "/", "%"]
                ),
                inner,
            ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} ? {t[1]} : {t[2]}"),
            inner.map(lambda x: f"{x} // comment"),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(expressions())
    how = draw(st.sampled_from(["keep", "keep", "delete", "insert", "double"]))
    if how == "keep" or not text:
        return text
    at = draw(st.integers(0, len(text) - 1))
    if how == "delete":
        return text[:at] + text[at + 1 :]
    if how == "double":
        return text[: at + 1] + text[at:]
    char = draw(st.sampled_from(list("()[]{}'\".,!?:&|=<>-+*/% \\\nrbu0x")))
    return text[:at] + char + text[at:]


def ours(text: str) -> bool:
    try:
        cel.parse(text)
    except cel.CelSyntaxError:
        return False
    return True


def theirs(text: str) -> bool:
    try:
        reference.compile(text)
    except Exception:  # noqa: BLE001 - the reference raises its own (unexported) error types
        return False
    return True


def random_expression(rng: random.Random, depth: int = 0) -> str:
    """One expression from the CEL grammar (same vocabulary as :func:`expressions`), drawn with ``rng``:
    plain ``random`` draws thousands a second, where a hypothesis strategy draws tens."""
    if depth > 3 or rng.random() < 0.3:
        kind = rng.randrange(5)
        if kind == 0:
            return rng.choice(NUMBERS)
        if kind == 1:
            body = rng.choice(STRING_BODIES)
            quote = rng.choice(["'", '"', "'''", '"""'])
            if quote == '"' and "\\'" in body:
                body = body.replace("\\'", "'")
            return (
                rng.choice(["", "", "r", "R", "b", "B", "br", "rb", "Rb", "bR"])
                + quote
                + body
                + quote
            )
        if kind == 2:
            return rng.choice(["true", "false", "null"])
        return ("." if kind == 3 else "") + rng.choice(NAMES)
    sub = [random_expression(rng, depth + 1) for _ in range(3)]
    form = rng.randrange(13)
    if form == 0:
        return f"{sub[0]}.{rng.choice(FIELDS)}"
    if form == 1:
        return f"{sub[0]}[{sub[1]}]"
    if form == 2:
        return f"{sub[0]}.{rng.choice(['startsWith', 'matches', 'size', 'exists', 'map'])}({', '.join(sub[1 : 1 + rng.randrange(3)])})"
    if form == 3:
        return f"{rng.choice(['has', 'size', 'f', 'int', 'if'])}({sub[1]})"
    if form == 4:
        return "[" + ", ".join(sub[: rng.randrange(4)]) + rng.choice(["", ",", ",,"]) + "]"
    if form == 5:
        return (
            "{"
            + ", ".join(f"{k}: {v}" for k, v in zip(sub[:1], sub[1:2], strict=False))
            + rng.choice(["", ","])
            + "}"
        )
    if form == 6:
        return f"{rng.choice(['Msg', 'a.b.Msg', '.Msg', 'if.Msg', 'in.Msg'])}{{f: {sub[0]}}}"
    if form == 7:
        return f"({sub[0]})"
    if form == 8:
        return rng.choice(["!", "-", "!!", "--", "!-", "-!"]) + sub[0]
    if form == 9:
        op = rng.choice(
            ["==", "!=", "<", "<=", ">", ">=", "in", "&&", "||", "+", "-", "*", "/", "%"]
        )
        return f"{sub[0]} {op} {sub[1]}"
    if form == 10:
        return f"{sub[0]} ? {sub[1]} : {sub[2]}"
    if form == 11:
        return f"{sub[0]} // comment\n"
    return f"{sub[0]}{rng.choice(['', ' '])}{rng.choice(['', '.', ','])}"


def random_mutation(rng: random.Random, text: str) -> str:
    how = rng.choice(["keep", "keep", "delete", "insert", "double"])
    if how == "keep" or not text:
        return text
    at = rng.randrange(len(text))
    if how == "delete":
        return text[:at] + text[at + 1 :]
    if how == "double":
        return text[: at + 1] + text[at:]
    return text[:at] + rng.choice(list("()[]{}'\".,!?:&|=<>-+*/% \\\nrbu0x")) + text[at:]


# Bounded for the suite (a few seconds); CEL_DIFF_EXAMPLES=200000 runs a longer differential by hand.
DIFF_EXAMPLES = int(os.environ.get("CEL_DIFF_EXAMPLES", "20000"))


def test_parser_agrees_with_cel_rust_on_what_parses() -> None:
    rng = random.Random(15)  # noqa: S311 - test data, a fixed seed keeps the suite stable
    disagreements = []
    parsed = 0
    for _ in range(DIFF_EXAMPLES):
        text = random_mutation(rng, random_expression(rng))
        mine = ours(text)
        parsed += mine
        if mine != theirs(text):
            disagreements.append((text, "ours" if mine else "reference"))
    assert not disagreements, disagreements[:20]
    # the set is a real mix of valid and invalid input, not one kind
    assert DIFF_EXAMPLES * 0.2 < parsed < DIFF_EXAMPLES * 0.8


@settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(mutated())
def test_parser_agrees_with_cel_rust_on_hypothesis_examples(text: str) -> None:
    assert ours(text) == theirs(text), (text, "ours" if ours(text) else "reference")


@pytest.mark.parametrize(
    "text",
    [
        "assertion.repository_owner == 'acme' ? true : true",
        "assertion.sub.matches(r'^repo:acme/.*')",
        "assertion.repository == '''acme/app'''",
        'assertion.sub == """x"""',
        "b'\\x00\\377' == bytes('x')",
        "1.5 > 1.0 && 0x1F == 31 && 42u == uint(42)",
        "has(assertion.sub) && {'a': 1}['a'] == 1",
        "google.protobuf.Int64Value{value: 1} != null",
        "[1, 2,].exists(x, x > 1)",
        "a.if == 1  // a reserved word can be a field",
    ],
)
def test_full_grammar_samples_parse_in_both(text: str) -> None:
    assert ours(text) and theirs(text)


@pytest.mark.parametrize(
    "text",
    ["if == 1", "a.in", "1.", "'\\400'", "rb'x'", "!-x", "'a\nb'", "9223372036854775808", "f(1,)"],
)
def test_invalid_samples_fail_in_both(text: str) -> None:
    assert not ours(text) and not theirs(text)
