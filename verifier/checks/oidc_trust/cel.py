"""A parser for the Common Expression Language (CEL), the language of GCP attribute conditions.

The whole grammar of the CEL language definition (``cel-spec/doc/langdef.md``): the ternary, ``||``,
``&&``, relations (``== != < <= > >= in``), arithmetic, ``!`` and ``-``, member access, indexing, calls,
list and map literals, message construction, and every literal form (decimal and hex ``int``, ``uint``
with ``u``, ``double``, single-, double- and triple-quoted strings, raw strings, bytes, their escapes,
``true``/``false``/``null``), with ``//`` comments and the reserved words.

Hand-written on purpose, and proved against a reference: the trust check does not *evaluate* a condition
against one token, it walks the syntax tree to find the *set* of tokens it admits, and the PyPI CEL
packages give evaluation (``common-expression-language``) or a lark tree that costs ~0.1 s of import
(``cel-python``) on a path that must start fast. ``tests/unit/checks/test_oidc_trust_cel.py`` runs a
generated set of expressions through this parser and through cel-python and fails on any disagreement
about what parses. Nesting is capped (:data:`MAX_DEPTH`): deeper input raises :class:`CelDepthError`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Deeper expressions are refused rather than walked (cel-go's default recursion limit is 250; real
# conditions nest a few levels). Counted in syntax-tree levels.
MAX_DEPTH = 48


class CelSyntaxError(ValueError):
    """The text is not a CEL expression (message says where)."""


class CelDepthError(CelSyntaxError):
    """The expression nests deeper than :data:`MAX_DEPTH`."""


class Token(NamedTuple):
    """One lexical token: kind is STR, BYTES, INT, UINT, DOUBLE, IDENT or the operator text itself."""

    kind: str
    text: str
    pos: int


# langdef.md "Syntax": RESERVED = BOOL_LIT | NULL_LIT | "in" | these; they cannot name a variable or a
# function (``a.if`` as a field selection stays allowed).
RESERVED = frozenset(
    {
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)
_KEYWORDS = frozenset({"true", "false", "null", "in"})

_SPACE = re.compile(r"(?:[ \t\n\r\f]+|//[^\n]*)*")
# langdef.md: BYTES_LIT ::= [bB] STRING_LIT and STRING_LIT ::= [rR]? (quoted): the bytes prefix comes first.
_STRING_START = re.compile(r"((?:[bB][rR]?|[rR])?)(\'\'\'|\"\"\"|\'|\")")
_NUMBER = re.compile(
    r"0x[0-9a-fA-F]+[uU]?"
    r"|[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?"
    r"|[0-9]+[eE][+-]?[0-9]+"
    r"|[0-9]+[uU]?"
)
_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "?", ":", "(", ")", "[", "]", "{", "}")
_OPS_ALL = (*_OPS, ",", ".", "+", "-", "*", "/", "%")
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "?": "?",
}
_INT64_MAX = (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raise CelSyntaxError on anything else."""
    out: list[Token] = []
    pos = 0
    n = len(text)
    while True:
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]  # matches the empty string
        if pos >= n:
            return out
        start = _STRING_START.match(text, pos)
        if start:
            token, pos = _string(text, pos, start.group(1).lower(), start.group(2), start.end())
            out.append(token)
            continue
        m = _NUMBER.match(text, pos)
        if m:
            out.append(_number(m.group(0), pos))
            pos = m.end()
            if pos < n and (text[pos].isalnum() or text[pos] == "_"):
                raise CelSyntaxError(f"malformed number at offset {m.start()}")
            continue
        m = _IDENT.match(text, pos)
        if m:
            out.append(Token("IDENT", m.group(0), pos))
            pos = m.end()
            continue
        for op in _OPS_ALL:
            if text.startswith(op, pos):
                out.append(Token(op, op, pos))
                pos += len(op)
                break
        else:
            raise CelSyntaxError(f"unexpected character {text[pos]!r} at offset {pos}")


def _number(text: str, pos: int) -> Token:
    low = text.lower()
    if low.startswith("0x"):
        if low.endswith("u"):
            if int(low[2:-1], 16) > _UINT64_MAX:
                raise CelSyntaxError(f"uint literal out of range at offset {pos}")
            return Token("UINT", str(int(low[2:-1], 16)), pos)
        if int(low[2:], 16) > _INT64_MAX:
            raise CelSyntaxError(f"int literal out of range at offset {pos}")
        return Token("INT", str(int(low[2:], 16)), pos)
    if "." in low or "e" in low:
        return Token("DOUBLE", text, pos)
    if low.endswith("u"):
        if int(low[:-1]) > _UINT64_MAX:
            raise CelSyntaxError(f"uint literal out of range at offset {pos}")
        return Token("UINT", str(int(low[:-1])), pos)
    if int(low) > _INT64_MAX + 1:
        raise CelSyntaxError(f"int literal out of range at offset {pos}")
    return Token("INT", str(int(low)), pos)


def _string(text: str, pos: int, prefix: str, quote: str, body: int) -> tuple[Token, int]:
    """One string or bytes literal starting at ``pos``; returns the token and the offset after it."""
    raw, is_bytes = "r" in prefix, "b" in prefix
    triple = len(quote) == 3
    out: list[str] = []
    i, n = body, len(text)
    while True:
        if i >= n:
            raise CelSyntaxError(f"unterminated string starting at offset {pos}")
        if text.startswith(quote, i):
            value = "".join(out)
            if is_bytes:
                # Bytes literals are sequences of octets; keep them as latin-1 text for the tree.
                value = value.encode("utf-8", "surrogateescape").decode("latin-1")
            return Token("BYTES" if is_bytes else "STR", value, pos), i + len(quote)
        c = text[i]
        if c in "\r\n" and not triple:
            raise CelSyntaxError(f"newline in a single-line string starting at offset {pos}")
        if c == "\\" and not raw:
            value, i = _escape(text, i, pos, is_bytes)
            out.append(value)
            continue
        if c == "\\" and raw and i + 1 < n and text[i + 1] in "'\"" and not triple:
            # A raw string still cannot contain its own quote: r'\'' is r'\' followed by a quote.
            out.append(c)
            i += 1
            continue
        out.append(c)
        i += 1


def _escape(text: str, i: int, pos: int, is_bytes: bool) -> tuple[str, int]:
    nxt = text[i + 1 : i + 2]
    if nxt in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[nxt], i + 2
    if nxt in "xX" and nxt:
        digits = text[i + 2 : i + 4]
        if len(digits) == 2 and all(c in "0123456789abcdefABCDEF" for c in digits):
            return chr(int(digits, 16)), i + 4
    elif nxt in "uU" and nxt and not is_bytes:
        width = 4 if nxt == "u" else 8
        digits = text[i + 2 : i + 2 + width]
        if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
            code = int(digits, 16)
            if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                return chr(code), i + 2 + width
    elif nxt and nxt in "0123":
        digits = text[i + 1 : i + 4]
        if len(digits) == 3 and all(c in "01234567" for c in digits):
            return chr(int(digits, 8)), i + 4
    raise CelSyntaxError(f"invalid escape sequence in the string starting at offset {pos}")


# --- syntax tree -------------------------------------------------------------------------------------
# Plain slotted classes rather than dataclasses: the tree is built per condition, and a dozen generated
# dataclasses cost more at import than all the parsing a run does.


class _Node:
    """Base: positional fields named in ``_fields``, value equality, readable repr, nesting depth."""

    __slots__: tuple[str, ...] = ("depth",)
    _fields: tuple[str, ...] = ()
    depth: int

    def __init__(self, *values: object) -> None:
        deepest = 0
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, _Node):
                    deepest = max(deepest, child.depth)
                elif isinstance(child, tuple):
                    deepest = max([deepest, *(c.depth for c in child if isinstance(c, _Node))])
        self.depth = deepest + 1
        if self.depth > MAX_DEPTH:
            raise CelDepthError(f"the expression nests deeper than {MAX_DEPTH} levels")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, *(repr(getattr(self, f)) for f in self._fields)))

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"


class Ternary(_Node):
    """``cond ? then : other``"""

    __slots__ = _fields = ("cond", "then", "other")
    cond: Node
    then: Node
    other: Node


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


class Neg(_Node):
    """``-a``"""

    __slots__ = _fields = ("item",)
    item: Node


class Compare(_Node):
    """``left OP right`` for ``== != < <= > >= in``."""

    __slots__ = _fields = ("op", "left", "right")
    op: str
    left: Node
    right: Node


class Arith(_Node):
    """``left OP right`` for ``+ - * / %``."""

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
    """``assertion.repository``, ``assertion['sub']``, ``attribute.x``: a variable and constant keys."""

    __slots__ = _fields = ("parts",)
    parts: tuple[str, ...]


class Select(_Node):
    """``target.name`` on something that is not a variable path (``f(x).y``)."""

    __slots__ = _fields = ("target", "name")
    target: Node
    name: str


class Index(_Node):
    """``target[key]`` with a key that is not a string literal on a path."""

    __slots__ = _fields = ("target", "key")
    target: Node
    key: Node


class Literal(_Node):
    """A literal; ``kind`` is string, bytes, int, uint, double, bool or null."""

    __slots__ = _fields = ("value", "kind")
    value: str | int | float | bool | None
    kind: str


class ListLit(_Node):
    """``['a', 'b']``"""

    __slots__ = _fields = ("items",)
    items: tuple[Node, ...]


class MapLit(_Node):
    """``{'k': v}``: entries as (key, value) pairs."""

    __slots__ = _fields = ("entries",)
    entries: tuple[tuple[Node, Node], ...]


class Message(_Node):
    """``pkg.Type{field: value}``"""

    __slots__ = _fields = ("type_name", "fields")
    type_name: str
    fields: tuple[tuple[str, Node], ...]


Node = (
    Ternary
    | Or
    | And
    | Not
    | Neg
    | Compare
    | Arith
    | Call
    | Path
    | Select
    | Index
    | Literal
    | ListLit
    | MapLit
    | Message
)

_RELOPS = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.i = 0
        self.nesting = 0

    def peek(self, kind: str | None = None, text: str | None = None, ahead: int = 0) -> bool:
        j = self.i + ahead
        if j >= len(self.tokens):
            return False
        tok = self.tokens[j]
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
        node = self.expr()
        if self.i != len(self.tokens):
            tok = self.tokens[self.i]
            raise CelSyntaxError(f"unexpected {tok.text!r} at offset {tok.pos}")
        return node

    def expr(self) -> Node:
        # Each nested expression costs a dozen Python frames: refuse deep input before Python does.
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise CelDepthError(f"the expression nests deeper than {MAX_DEPTH} levels")
        cond = self.or_()
        if self.peek("?"):
            self.i += 1
            then = self.or_()
            self.take(":")
            cond = Ternary(cond, then, self.expr())
        self.nesting -= 1
        return cond

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek("||"):
            self.i += 1
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.relation()]
        while self.peek("&&"):
            self.i += 1
            items.append(self.relation())
        return items[0] if len(items) == 1 else And(tuple(items))

    def relation(self) -> Node:
        left = self.addition()
        while True:
            if self.i < len(self.tokens) and self.tokens[self.i].kind in _RELOPS:
                op = self.tokens[self.i].kind
            elif self.peek("IDENT", "in"):
                op = "in"
            else:
                return left
            self.i += 1
            left = Compare(op, left, self.addition())

    def addition(self) -> Node:
        left = self.multiplication()
        while self.peek("+") or self.peek("-"):
            op = self.tokens[self.i].kind
            self.i += 1
            left = Arith(op, left, self.multiplication())
        return left

    def multiplication(self) -> Node:
        left = self.unary()
        while self.peek("*") or self.peek("/") or self.peek("%"):
            op = self.tokens[self.i].kind
            self.i += 1
            left = Arith(op, left, self.unary())
        return left

    def unary(self) -> Node:
        if self.peek("!"):
            count = 0
            while self.peek("!"):
                self.i += 1
                count += 1
            node: Node = self.member()
            for _ in range(count):
                node = Not(node)
            return node
        if self.peek("-"):
            # CEL.g4: a single '-' before a number is part of the literal; a run of them is unary.
            count = 0
            while self.peek("-", ahead=count):
                count += 1
            if count == 1 and self._negative_literal():
                return self.member()
            self.i += count
            node = self.member()
            for _ in range(count):
                node = Neg(node)
            return node
        return self.member()

    def _negative_literal(self) -> bool:
        """``-`` directly before an int or double literal is part of the literal (CEL.g4 ``literal``)."""
        return self.peek("-") and (self.peek("INT", ahead=1) or self.peek("DOUBLE", ahead=1))

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.peek("."):
                self.i += 1
                name = self.take("IDENT").text
                if name in _KEYWORDS:
                    raise CelSyntaxError(f"{name!r} cannot be selected as a field")
                if self.peek("("):
                    node = Call(node, name, self.args("(", ")"))
                    _check_macro(node, self.tokens[self.i - 1].pos)
                elif isinstance(node, Path):
                    node = Path((*node.parts, name))
                else:
                    node = Select(node, name)
            elif self.peek("["):
                self.i += 1
                key = self.expr()
                self.take("]")
                if (
                    isinstance(node, Path)
                    and isinstance(key, Literal)
                    and key.kind == "string"
                    and isinstance(key.value, str)
                ):
                    node = Path((*node.parts, key.value))
                else:
                    node = Index(node, key)
            else:
                return node

    def args(self, open_: str, close: str) -> tuple[Node, ...]:
        self.take(open_)
        items: list[Node] = []
        if close == "]" and self.peek(",") and self.peek("]", ahead=1):
            self.i += 2  # `[,]`: an empty list with its optional trailing comma
            return ()
        if not self.peek(close):
            items.append(self.expr())
            while self.peek(","):
                self.i += 1
                if close == "]" and self.peek(close):
                    break  # a trailing comma is allowed in a list literal, not in call arguments
                items.append(self.expr())
        self.take(close)
        return tuple(items)

    def primary(self) -> Node:
        tok = self.tokens[self.i] if self.i < len(self.tokens) else None
        if tok is None:
            raise CelSyntaxError("unexpected end of input")
        if tok.kind == "-" and self._negative_literal():
            self.i += 1
            number = self.tokens[self.i]
            self.i += 1
            return _literal(number, negative=True)
        if tok.kind in ("STR", "BYTES", "INT", "UINT", "DOUBLE"):
            self.i += 1
            return _literal(tok)
        if tok.kind == "(":
            self.i += 1
            node = self.expr()
            self.take(")")
            return node
        if tok.kind == "[":
            return ListLit(self.args("[", "]"))
        if tok.kind == "{":
            return MapLit(self.map_entries())
        leading_dot = tok.kind == "."
        if leading_dot:
            self.i += 1
        ident = self.take("IDENT")
        name = ident.text
        if name in ("true", "false") and not leading_dot:
            return Literal(name == "true", "bool")
        if name == "null" and not leading_dot:
            return Literal(None, "null")
        reserved = name in RESERVED or name in _KEYWORDS
        if self.peek("("):
            if reserved:
                raise CelSyntaxError(f"reserved identifier {name!r} at offset {ident.pos}")
            call = Call(None, ("." if leading_dot else "") + name, self.args("(", ")"))
            _check_macro(call, ident.pos)
            return call
        # A qualified name followed by '{' is a message construction: pkg.Type{field: value}.
        j, parts = self.i, [name]
        while self.peek(".", ahead=j - self.i) and self.peek("IDENT", ahead=j - self.i + 1):
            parts.append(self.tokens[j + 1].text)
            j += 2
        if self.peek("{", ahead=j - self.i):
            if any(p in _KEYWORDS for p in parts):
                raise CelSyntaxError(f"keyword in the message type at offset {ident.pos}")
            self.i = j
            return Message(("." if leading_dot else "") + ".".join(parts), self.field_inits())
        if reserved:
            raise CelSyntaxError(f"reserved identifier {name!r} at offset {ident.pos}")
        return Path((("." if leading_dot else "") + name,))

    def map_entries(self) -> tuple[tuple[Node, Node], ...]:
        self.take("{")
        entries: list[tuple[Node, Node]] = []
        if self.peek(",") and self.peek("}", ahead=1):
            self.i += 2
            return ()
        while not self.peek("}"):
            key = self.expr()
            self.take(":")
            entries.append((key, self.expr()))
            if not self.peek(","):
                break
            self.i += 1
        self.take("}")
        return tuple(entries)

    def field_inits(self) -> tuple[tuple[str, Node], ...]:
        self.take("{")
        fields: list[tuple[str, Node]] = []
        if self.peek(",") and self.peek("}", ahead=1):
            self.i += 2
            return ()
        while not self.peek("}"):
            name = self.take("IDENT").text
            self.take(":")
            fields.append((name, self.expr()))
            if not self.peek(","):
                break
            self.i += 1
        self.take("}")
        return tuple(fields)


# Macros are expanded while parsing (langdef.md "Macros"): with their arity, their arguments must have the
# macro's shape, or the expression does not parse.
_COMPREHENSIONS = {"all": (2,), "exists": (2,), "exists_one": (2,), "filter": (2,), "map": (2, 3)}


def _check_macro(call: Call, pos: int) -> None:
    if call.target is None and call.name == "has" and len(call.args) == 1:
        arg = call.args[0]
        if not (isinstance(arg, Select) or (isinstance(arg, Path) and len(arg.parts) > 1)):
            raise CelSyntaxError(f"has() needs a field selection at offset {pos}")
    elif call.target is not None and len(call.args) in _COMPREHENSIONS.get(call.name, ()):
        var = call.args[0]
        if not (isinstance(var, Path) and len(var.parts) == 1):
            raise CelSyntaxError(f"{call.name}() needs a variable name first at offset {pos}")


def _literal(tok: Token, negative: bool = False) -> Literal:
    if tok.kind == "STR":
        return Literal(tok.text, "string")
    if tok.kind == "BYTES":
        return Literal(tok.text, "bytes")
    if tok.kind == "UINT":
        return Literal(int(tok.text), "uint")
    if tok.kind == "INT":
        value = -int(tok.text) if negative else int(tok.text)
        if value > _INT64_MAX:
            raise CelSyntaxError(f"int literal out of range at offset {tok.pos}")
        return Literal(value, "int")
    number = float(tok.text)
    return Literal(-number if negative else number, "double")


def parse(text: str) -> Node:
    """Parse one CEL expression; raise CelSyntaxError (CelDepthError when too deep) otherwise."""
    tokens = tokenize(text)
    if not tokens:
        raise CelSyntaxError("empty expression")
    try:
        return _Parser(tokens, text).parse()
    except RecursionError:
        raise CelDepthError(f"the expression nests deeper than {MAX_DEPTH} levels") from None
