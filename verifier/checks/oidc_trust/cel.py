"""A tokenizer and parser for the subset of CEL that GCP attribute conditions use.

Hand-written on purpose: the conditions are one-line expressions over ``assertion.*`` /
``attribute.*`` with ``==``, ``!=``, ``&&``, ``||``, ``!``, ``in [...]``, ``startsWith``, ``endsWith``,
``contains``, ``matches``, parentheses and string literals. A full CEL implementation would evaluate
an expression against one token; this check needs the opposite: the *set* of tokens an expression
admits, which means walking the syntax tree, not evaluating it. ~150 lines of parser avoid a runtime
dependency (the PyPI CEL packages pull in lark/regex grammars and still give only evaluation).
Anything outside the subset is reported as unsupported, never guessed.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class CelSyntaxError(ValueError):
    """The condition is not valid in the supported subset (message says where)."""


class Token(NamedTuple):
    """One lexical token: kind is STR, NUM, IDENT or the operator/punctuation text itself."""

    kind: str
    text: str
    pos: int


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<num>\d+)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|&&|\|\||<=|>=|[!()\[\],.<>+])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raise CelSyntaxError on anything else."""
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise CelSyntaxError(
                f"unexpected character {text[pos:].lstrip()[:1]!r} at offset {pos}"
            )
        if m.group("str") is not None:
            body = m.group("str")[1:-1]
            value = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(1)), body)
            out.append(Token("STR", value, m.start("str")))
        elif m.group("num") is not None:
            out.append(Token("NUM", m.group("num"), m.start("num")))
        elif m.group("ident") is not None:
            out.append(Token("IDENT", m.group("ident"), m.start("ident")))
        else:
            op = m.group("op")
            out.append(Token(op, op, m.start("op")))
        pos = m.end()
    return out


# --- syntax tree -------------------------------------------------------------------------------------
# Plain slotted classes rather than dataclasses: the tree is built per condition, and eight generated
# dataclasses cost more at import than all the parsing a run does.


class _Node:
    """Base: positional fields named in ``_fields``, value equality, readable repr."""

    __slots__: tuple[str, ...] = ()
    _fields: tuple[str, ...] = ()

    def __init__(self, *values: object) -> None:
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, *(repr(getattr(self, f)) for f in self._fields)))

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"


class Or(_Node):
    """``a || b || ...``"""

    __slots__ = _fields = ("items",)
    items: tuple[Node, ...]


class And(_Node):
    """``a && b && ...``"""

    __slots__ = _fields = ("items",)
    items: tuple[Node, ...]


class Not(_Node):
    """``!a``"""

    __slots__ = _fields = ("item",)
    item: Node


class Compare(_Node):
    """``left == right`` / ``left != right`` / ``left in right``."""

    __slots__ = _fields = ("op", "left", "right")
    op: str
    left: Node
    right: Node


class Call(_Node):
    """``target.name(args)`` (method) or ``name(args)`` (target None)."""

    __slots__ = _fields = ("target", "name", "args")
    target: Node | None
    name: str
    args: tuple[Node, ...]


class Path(_Node):
    """``assertion.repository``, ``assertion['sub']``, ``attribute.x``."""

    __slots__ = _fields = ("parts",)
    parts: tuple[str, ...]


class Literal(_Node):
    """A string, number, bool or null literal."""

    __slots__ = _fields = ("value",)
    value: str | int | bool | None


class ListLit(_Node):
    """``['a', 'b']``"""

    __slots__ = _fields = ("items",)
    items: tuple[Node, ...]


Node = Or | And | Not | Compare | Call | Path | Literal | ListLit


class _Parser:
    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.i = 0

    def peek(self, kind: str | None = None, text: str | None = None) -> bool:
        if self.i >= len(self.tokens):
            return False
        tok = self.tokens[self.i]
        return (kind is None or tok.kind == kind) and (text is None or tok.text == text)

    def take(self, kind: str, text: str | None = None) -> Token:
        if not self.peek(kind, text):
            where = self.tokens[self.i].pos if self.i < len(self.tokens) else len(self.text)
            found = self.tokens[self.i].text if self.i < len(self.tokens) else "end of input"
            raise CelSyntaxError(f"expected {text or kind} at offset {where}, found {found!r}")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_()
        if self.i != len(self.tokens):
            tok = self.tokens[self.i]
            raise CelSyntaxError(f"unexpected {tok.text!r} at offset {tok.pos}")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek("||"):
            self.i += 1
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.unary()]
        while self.peek("&&"):
            self.i += 1
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        if self.peek("!"):
            self.i += 1
            return Not(self.unary())
        return self.compare()

    def compare(self) -> Node:
        left = self.postfix()
        for op in ("==", "!=", "<", ">", "<=", ">="):
            if self.peek(op):
                self.i += 1
                return Compare(op, left, self.postfix())
        if self.peek("IDENT", "in"):
            self.i += 1
            return Compare("in", left, self.postfix())
        return left

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.peek("."):
                self.i += 1
                name = self.take("IDENT").text
                if self.peek("("):
                    node = Call(node, name, self.args("(", ")"))
                elif isinstance(node, Path):
                    node = Path((*node.parts, name))
                else:
                    raise CelSyntaxError(f"field {name!r} of a non-path")
            elif self.peek("["):
                self.i += 1
                key = self.take("STR").text
                self.take("]")
                if not isinstance(node, Path):
                    raise CelSyntaxError(f"index [{key!r}] of a non-path")
                node = Path((*node.parts, key))
            else:
                return node

    def args(self, open_: str, close: str) -> tuple[Node, ...]:
        self.take(open_)
        items: list[Node] = []
        if not self.peek(close):
            items.append(self.or_())
            while self.peek(","):
                self.i += 1
                items.append(self.or_())
        self.take(close)
        return tuple(items)

    def primary(self) -> Node:
        if self.peek("STR"):
            return Literal(self.take("STR").text)
        if self.peek("NUM"):
            return Literal(int(self.take("NUM").text))
        if self.peek("("):
            self.i += 1
            node = self.or_()
            self.take(")")
            return node
        if self.peek("["):
            return ListLit(self.args("[", "]"))
        tok = self.take("IDENT")
        if tok.text in ("true", "false"):
            return Literal(tok.text == "true")
        if tok.text == "null":
            return Literal(None)
        if self.peek("("):
            return Call(None, tok.text, self.args("(", ")"))
        return Path((tok.text,))


def parse(text: str) -> Node:
    """Parse one condition; raise CelSyntaxError when it is not in the supported subset."""
    tokens = tokenize(text)
    if not tokens:
        raise CelSyntaxError("empty condition")
    return _Parser(tokens, text).parse()
