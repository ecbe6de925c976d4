"""Every value a GitHub Actions expression can take, for the places where a check must judge a value that
the workflow computes (a job's container image, a service image).

This is not an evaluator of the whole expression language. It knows what decides the set of values an
image expression can produce: literals (``'text'``, numbers, ``true``, ``false``, ``null``), context
properties resolved by the caller (``matrix.NAME``, ``matrix.NAME.FIELD``), parentheses and the operators
``||``, ``&&``, ``!``, ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``. Anything else (``inputs.*``,
``vars.*``, function calls, a context the caller does not resolve) is :data:`UNKNOWN`: a value the file
does not determine, which the caller must treat as unverifiable, never as fine.

Semantics follow GitHub's documentation of expressions: ``a || b`` is ``a`` when ``a`` is truthy, else
``b``; ``a && b`` is ``a`` when ``a`` is falsy, else ``b``; falsy are ``null``, ``false``, ``0``, ``-0``,
``NaN`` and ``''``; string comparison ignores case. An UNKNOWN operand may be truthy or falsy, so both
branches count. Results are over-approximations: a value in the set may be impossible, but a value the
workflow can produce is never left out.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_VALUES",
    "UNKNOWN",
    "ExpressionError",
    "Possible",
    "Resolver",
    "as_text",
    "possible_values",
]

# A template whose parts multiply out to more values than this is UNKNOWN (never walked further).
MAX_VALUES = 256
# Parentheses, `!` and property chains nest at most this deep (the parser is recursive).
MAX_DEPTH = 64


class _Unknown:
    """The type of :data:`UNKNOWN`."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        """The one instance."""
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        """``UNKNOWN``."""
        return "UNKNOWN"


UNKNOWN = _Unknown()
"""A value the file does not determine (an input, a variable, a function's result)."""


class ExpressionError(ValueError):
    """An expression this module cannot read (GitHub would reject it, or it is beyond the depth limit)."""


@dataclass(frozen=True)
class Possible:
    """One value an expression can take, and where it was written when it came from one YAML node.

    ``value`` is ``None`` (null), ``bool``, ``float``, ``str``, :data:`UNKNOWN`, or a container (mapping or
    sequence) given as the caller's node object (only property access looks into it).
    """

    value: object
    origin: object | None = None


Resolver = Callable[[Sequence[str]], "list[Possible] | None"]
"""Values of a context path such as ``("matrix", "image")``; None when the caller does not know them."""


# --- tokens --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>-?(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<op>\|\||&&|==|!=|<=|>=|<|>|!|\(|\)|\[|\]|\.|,|\*)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"unexpected character {text[pos:].lstrip()[:1]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


# --- syntax tree ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    value: object


@dataclass(frozen=True)
class _Path:
    """A context property chain: ``matrix.image``, ``matrix['image']``; ``None`` parts are unknowable."""

    parts: tuple[str | None, ...]


@dataclass(frozen=True)
class _Opaque:
    """A function call or another construct whose value is not modelled (its operands are still read)."""


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _Binary:
    op: str
    left: _Node
    right: _Node


_Node = _Literal | _Path | _Opaque | _Not | _Binary

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'a value'}")
        self.pos += 1
        return token

    def parse(self) -> _Node:
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self.binary(0)
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    _LEVELS: tuple[frozenset[str], ...] = (
        frozenset({"||"}),
        frozenset({"&&"}),
        frozenset({"==", "!="}),
        frozenset({"<", "<=", ">", ">="}),
    )

    def binary(self, level: int) -> _Node:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while (
            (token := self.peek()) is not None
            and token[0] == "op"
            and token[1] in self._LEVELS[level]
        ):
            self.take()
            node = _Binary(token[1], node, self.binary(level + 1))
        return node

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} levels deep")

    def unary(self) -> _Node:
        token = self.peek()
        if token == ("op", "!"):
            self.take()
            self.nested()
            node: _Node = _Not(self.unary())
            self.depth -= 1
            return node
        return self.postfix(self.primary())

    def primary(self) -> _Node:
        kind, text = self.take()
        if kind == "string":
            return _Literal(text[1:-1].replace("''", "'"))
        if kind == "number":
            return _Literal(
                float(int(text, 16)) if text.lower().lstrip("-").startswith("0x") else float(text)
            )
        if kind == "name":
            if text in ("true", "false"):
                return _Literal(text == "true")
            if text == "null":
                return _Literal(None)
            if self.peek() == ("op", "("):
                self.take()
                self.nested()
                while self.peek() != ("op", ")"):
                    self.binary(0)
                    if self.peek() == ("op", ","):
                        self.take()
                    elif self.peek() != ("op", ")"):
                        raise ExpressionError("expected , or ) in a function call")
                self.take(")")
                self.depth -= 1
                return _Opaque()
            return _Path((text,))
        if (kind, text) == ("op", "("):
            self.nested()
            node = self.binary(0)
            self.take(")")
            self.depth -= 1
            return node
        raise ExpressionError(f"unexpected {text!r}")

    def postfix(self, node: _Node) -> _Node:
        while (token := self.peek()) is not None and token in (("op", "."), ("op", "[")):
            self.take()
            part: str | None
            if token[1] == ".":
                kind, text = self.take()
                if kind != "name" and (kind, text) != ("op", "*"):
                    raise ExpressionError("expected a property name after '.'")
                part = None if text == "*" else text
            else:
                self.nested()
                index = self.binary(0)
                self.take("]")
                self.depth -= 1
                part = (
                    index.value
                    if isinstance(index, _Literal) and isinstance(index.value, str)
                    else None
                )
            node = _Path((*node.parts, part)) if isinstance(node, _Path) else _Opaque()
        return node


# --- evaluation ----------------------------------------------------------------------------------------


def _truthy(value: object) -> bool | None:
    """GitHub's truthiness; None for UNKNOWN (either)."""
    if value is UNKNOWN:
        return None
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True  # a mapping or a sequence


_JS_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_JS_PREFIXED = {"0x": 16, "0o": 8, "0b": 2}


def _to_number(value: object) -> float:
    """GitHub's conversion of a value to a number for comparing mixed types: null 0, booleans 1/0, a
    string read as a JavaScript number literal ('' is 0; anything else is NaN), containers NaN."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if not isinstance(value, str):
        return math.nan
    text = value.strip(" \t\n\r\v\f\u00a0\ufeff\u2028\u2029")
    if text == "":
        return 0.0
    if _JS_NUMBER.fullmatch(text):
        return float(text)
    if text in ("Infinity", "+Infinity", "-Infinity"):
        return -math.inf if text.startswith("-") else math.inf
    base = _JS_PREFIXED.get(text[:2].lower())
    if base is not None:
        try:
            return float(int(text[2:], base))
        except ValueError:
            return math.nan
    return math.nan


def _upper(text: str) -> str:
    """Upper case as GitHub compares strings (ignoring case), leaving the dotless i alone."""
    return "".join(c if c == "\u0131" else c.upper() for c in text)


def _compare(op: str, left: object, right: object) -> bool | None:
    """GitHub's comparison of two known values; None when either is UNKNOWN.

    Values of different types are compared as numbers (see :func:`_to_number`); strings compare
    ignoring case; NaN is neither equal, less nor greater; containers are equal only to themselves and
    have no order. ``<=`` is "equal or less", ``>=`` "equal or greater".
    """
    if left is UNKNOWN or right is UNKNOWN:
        return None
    a, b = left, right
    scalar = (str, float, bool, type(None))
    if type(a) is not type(b) and isinstance(a, scalar) and isinstance(b, scalar):
        a, b = _to_number(a), _to_number(b)
    equal = less = greater = False
    if isinstance(a, str) and isinstance(b, str):
        x, y = _upper(a), _upper(b)
        equal, less, greater = x == y, x < y, x > y
    elif isinstance(a, float) and isinstance(b, float):
        equal, less, greater = a == b, a < b, a > b  # all False for NaN
    elif isinstance(a, bool) and isinstance(b, bool):
        equal, less, greater = a == b, b and not a, a and not b
    elif a is None and b is None:
        equal = True
    elif type(a) is type(b):
        equal = a is b
    if op == "==":
        return equal
    if op == "!=":
        return not equal
    if op == "<":
        return less
    if op == ">":
        return greater
    return equal or (less if op == "<=" else greater)


class _Budget:
    """Counts the values produced for one expression; past MAX_VALUES the result is UNKNOWN."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, n: int) -> None:
        self.count += n
        if self.count > MAX_VALUES:
            raise _TooMany


class _TooMany(Exception):  # noqa: N818 - internal signal, never escapes the module
    """More values than MAX_VALUES."""


def _unique(values: Iterator[Possible]) -> list[Possible]:
    seen: set[tuple[object, int]] = set()
    out: list[Possible] = []
    for p in values:
        key = (
            p.value if isinstance(p.value, str | float | bool | type(None)) else id(p.value),
            id(p.origin),
        )
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _eval(node: _Node, resolve: Resolver, budget: _Budget) -> list[Possible]:
    if isinstance(node, _Literal):
        return [Possible(node.value)]
    if isinstance(node, _Opaque):
        return [Possible(UNKNOWN)]
    if isinstance(node, _Path):
        if any(part is None for part in node.parts):
            return [Possible(UNKNOWN)]
        found = resolve([p for p in node.parts if p is not None])
        if found is None:
            return [Possible(UNKNOWN)]
        budget.add(len(found))
        return found
    if isinstance(node, _Not):
        out: list[Possible] = []
        for p in _eval(node.operand, resolve, budget):
            truth = _truthy(p.value)
            out += [Possible(True), Possible(False)] if truth is None else [Possible(not truth)]
        return _unique(iter(out))
    left = _eval(node.left, resolve, budget)
    if node.op in _COMPARISONS:
        right = _eval(node.right, resolve, budget)
        results: set[bool] = set()
        for a, b in itertools.product(left, right):
            outcome = _compare(node.op, a.value, b.value)
            results |= {True, False} if outcome is None else {outcome}
        return [Possible(v) for v in sorted(results)]
    right_values: list[Possible] | None = None

    def right_side() -> list[Possible]:
        nonlocal right_values
        if right_values is None:
            right_values = _eval(node.right, resolve, budget)
        return right_values

    picked: list[Possible] = []
    for p in left:
        truth = _truthy(p.value)
        if node.op == "||":
            if truth is not False:
                picked.append(p)
            if truth is not True:
                picked += right_side()
        else:  # &&
            if truth is not True:
                picked.append(p)
            if truth is not False:
                picked += right_side()
    budget.add(len(picked))
    return _unique(iter(picked))


def as_text(value: object) -> str | None:
    """The text GitHub substitutes for ``value`` inside a string; None for UNKNOWN and containers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value == int(value) else repr(value)
    if isinstance(value, str):
        return value
    return None


def _split_template(text: str) -> list[tuple[bool, str]]:
    """``(is_expression, text)`` parts of a value with ``${{ }}`` in it. An expression ends at the first
    ``}}`` outside a string literal; an unterminated one raises ExpressionError."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            if pos < len(text):
                parts.append((False, text[pos:]))
            return parts
        if start > pos:
            parts.append((False, text[pos:start]))
        i = start + 3
        in_string = False
        while i < len(text):
            if text[i] == "'":
                in_string = not in_string
            elif not in_string and text.startswith("}}", i):
                break
            i += 1
        else:
            raise ExpressionError("`${{` without a closing `}}`")
        parts.append((True, text[start + 3 : i]))
        pos = i + 2


def possible_values(text: str, resolve: Resolver) -> list[Possible]:
    """Every value the string ``text`` (a YAML value that may hold ``${{ }}``) can take.

    A value that is one expression and nothing else keeps the expression's type (so ``null`` and ``''``
    mean "no value"); a value that mixes text and expressions is the text with each expression's value
    substituted, for every combination. Text without expressions is returned as is. An expression that
    cannot be read, or more than :data:`MAX_VALUES` combinations, give ``[Possible(UNKNOWN)]``.
    """
    if "${{" not in text:
        return [Possible(text)]
    budget = _Budget()
    try:
        parts = _split_template(text)
        if len(parts) == 1 and parts[0][0]:
            return _eval(_Parser(parts[0][1]).parse(), resolve, budget)
        choices: list[list[Possible]] = []
        for is_expression, part in parts:
            if not is_expression:
                choices.append([Possible(part)])
                continue
            values = _eval(_Parser(part).parse(), resolve, budget)
            choices.append(values)
        total = math.prod(len(c) for c in choices)
        budget.add(total)
        out: list[Possible] = []
        for combination in itertools.product(*choices):
            texts = [as_text(p.value) for p in combination]
            if any(t is None for t in texts):
                out.append(Possible(UNKNOWN))
                continue
            origins = {id(p.origin): p.origin for p in combination if p.origin is not None}
            origin = next(iter(origins.values())) if len(origins) == 1 else None
            out.append(Possible("".join(t for t in texts if t is not None), origin))
        return _unique(iter(out))
    except (ExpressionError, _TooMany, RecursionError):
        return [Possible(UNKNOWN)]
