"""Evaluate Terraform expressions the way ``terraform plan`` would, as far as the module's text decides them.

The HCL reader (:mod:`verifier.sources.trust_policy_files`) keeps every expression as its source text
(``${var.org}``, ``${local.s}``, ``${x ? "a" : "b"}``). :class:`Scope` renders those texts against one module:
variable defaults, locals, ``path.module``, the iterator of a ``dynamic`` block, conditionals, ``for``
expressions, the arithmetic and comparison operators, the common collection and string functions, and
``file()`` / ``templatefile()`` through the module's reader (template directives included). What the
text does not decide (a variable without default, a resource attribute known after apply, an unknown function)
stays as its ``${...}`` text, which the trust evaluator treats as a template. A conditional whose condition is
not known renders to a :class:`Choice` of both branches: the reader turns those into several renderings and the
check lets the worst decide.

Hand-written, like the reader: ``tfparse`` (Aqua's defsec evaluator, PyPI) was measured for this
(``docs/checks/oidc-trust.md``): it drops ``dynamic`` blocks nested in a block, renders unknown values as
``null`` (so a condition on ``var.x`` without default silently loses its value) and returns ``{}`` for a file
it cannot parse unless told to stop, and it is a 60 MB native library. Nesting is capped
(:data:`MAX_DEPTH`); deeper input raises :class:`HclEvalError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from verifier.models.trust import UNSUPPORTED_MARK

MAX_DEPTH = 48
# A document whose choices multiply beyond this is not expanded further (the rest stay templates).
MAX_RENDERINGS = 32


class HclEvalError(ValueError):
    """The expression is too deep or malformed (message says which)."""


class HclDepthError(HclEvalError):
    """The expression nests deeper than :data:`MAX_DEPTH`."""


class Unknown:
    """A value the module's text does not decide; ``text`` is its source (``var.org``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Unknown({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("Unknown", self.text))


class Choice:
    """One of several values, depending on something the text does not decide (``var.x ? a : b``)."""

    __slots__ = ("label", "names", "options")

    def __init__(self, label: str, options: list[Any], names: list[str] | None = None) -> None:
        self.label = label
        self.options = options
        self.names = names

    def name(self, index: int) -> str:
        """What choosing option ``index`` means (``var.strict = false``)."""
        if self.names is not None and index < len(self.names):
            return self.names[index]
        if len(self.options) == 2:
            return f"{self.label} = {'true' if index == 0 else 'false'}"
        return f"{self.label}: option {index + 1}"

    def __repr__(self) -> str:
        return f"Choice({self.label!r}, {self.options!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Choice) and (other.label, other.options) == (
            self.label,
            self.options,
        )

    def __hash__(self) -> int:
        return hash(("Choice", self.label))


# --- tokens ------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<str>")
      | (?P<heredoc><<-?[A-Za-z_])
      | (?P<op>=>|==|!=|<=|>=|&&|\|\||\.\.\.|\[\*\]|\.\*|[-+*/%<>!?:()\[\]{},.=])
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    out: list[tuple[str, Any, int]] = []
    pos = 0
    while True:
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip():
                raise HclEvalError(f"unexpected {text[pos:].strip()[:1]!r} in {text!r}")
            return out
        if m.group("num") is not None:
            raw = m.group("num")
            out.append(("num", float(raw) if any(c in raw for c in ".eE") else int(raw), m.start()))
            pos = m.end()
        elif m.group("ident") is not None:
            out.append(("ident", m.group("ident"), m.start()))
            pos = m.end()
        elif m.group("str") is not None:
            value, pos = _read_string(text, m.start("str"))
            out.append(("str", value, m.start("str")))
        elif m.group("heredoc") is not None:
            raise HclEvalError("a heredoc inside an expression")
        else:
            out.append((m.group("op"), m.group("op"), m.start()))
            pos = m.end()
        if pos == m.start() and not m.group(0):
            raise HclEvalError(f"cannot read {text!r}")


def _read_string(text: str, start: int) -> tuple[str, int]:
    """The raw body of a quoted template (escapes decoded, ``${...}`` kept) and the offset after it."""
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\" and i + 1 < n:
            out.append(
                {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}.get(
                    text[i + 1], "\\" + text[i + 1]
                )
            )
            i += 2
            continue
        if text.startswith(("${", "%{"), i):
            end = _close_brace(text, i + 1)
            out.append(text[i:end])
            i = end
            continue
        out.append(c)
        i += 1
    raise HclEvalError("unterminated string")


def _close_brace(text: str, i: int) -> int:
    """Offset after the ``}`` matching the ``{`` at ``i`` (strings inside skipped)."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            _value, i = _read_string(text, i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise HclEvalError("missing '}'")


# --- syntax tree (tuples: cheap, and the tree never leaves this module) --------------------------------
# ("lit", v) ("tpl", text) ("ref", name) ("get", node, key-node) ("attr", node, name) ("splat", node, rest)
# ("call", name, args, expand) ("list", items) ("obj", pairs) ("un", op, node) ("bin", op, l, r)
# ("cond", c, a, b) ("for", kind, key, value, coll, expr_k, expr_v, cond, group)

_BINARY = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self, kind: str | None = None, value: Any = None) -> bool:
        if self.i >= len(self.toks):
            return False
        tok = self.toks[self.i]
        return (kind is None or tok[0] == kind) and (value is None or tok[1] == value)

    def take(self, kind: str, value: Any = None) -> Any:
        if not self.peek(kind, value):
            found = self.toks[self.i][1] if self.i < len(self.toks) else "end"
            raise HclEvalError(f"expected {value or kind}, found {found!r} in {self.text!r}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def parse(self) -> tuple[Any, ...]:
        node = self.expr()
        if self.i != len(self.toks):
            raise HclEvalError(f"unexpected {self.toks[self.i][1]!r} in {self.text!r}")
        return node

    def expr(self) -> tuple[Any, ...]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise HclDepthError(f"expression nests deeper than {MAX_DEPTH} levels")
        cond = self.binary(1)
        if self.peek("?"):
            self.i += 1
            then = self.expr()
            self.take(":")
            cond = ("cond", cond, then, self.expr())
        self.depth -= 1
        return cond

    def binary(self, level: int) -> tuple[Any, ...]:
        left = self.unary()
        while self.i < len(self.toks) and _BINARY.get(self.toks[self.i][0], 0) >= level:
            op = self.toks[self.i][0]
            self.i += 1
            left = ("bin", op, left, self.binary(_BINARY[op] + 1))
        return left

    def unary(self) -> tuple[Any, ...]:
        if self.peek("!") or self.peek("-"):
            op = self.toks[self.i][0]
            self.i += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise HclDepthError(f"expression nests deeper than {MAX_DEPTH} levels")
            node = ("un", op, self.unary())
            self.depth -= 1
            return node
        return self.postfix(self.primary())

    def postfix(self, node: tuple[Any, ...]) -> tuple[Any, ...]:
        while True:
            if self.peek("."):
                self.i += 1
                if self.peek("num"):
                    node = ("get", node, ("lit", self.take("num")))
                else:
                    node = ("attr", node, self.take("ident"))
            elif self.peek("[*]") or self.peek(".*"):
                self.i += 1
                node = ("splat", node)
            elif self.peek("["):
                self.i += 1
                key = self.expr()
                self.take("]")
                node = ("get", node, key)
            else:
                return node

    def primary(self) -> tuple[Any, ...]:
        if self.i >= len(self.toks):
            raise HclEvalError(f"expression ends early: {self.text!r}")
        kind, value, _pos = self.toks[self.i]
        if kind == "num":
            self.i += 1
            return ("lit", value)
        if kind == "str":
            self.i += 1
            return ("tpl", value)
        if kind == "(":
            self.i += 1
            node = self.expr()
            self.take(")")
            return node
        if kind == "[":
            self.i += 1
            if self.peek("ident", "for"):
                return self.for_expr("list", "]")
            items = []
            while not self.peek("]"):
                items.append(self.expr())
                if not self.peek(","):
                    break
                self.i += 1
            self.take("]")
            return ("list", tuple(items))
        if kind == "{":
            self.i += 1
            if self.peek("ident", "for"):
                return self.for_expr("obj", "}")
            pairs = []
            while not self.peek("}"):
                if (
                    self.peek("ident")
                    and self.i + 1 < len(self.toks)
                    and self.toks[self.i + 1][0] in ("=", ":")
                ):
                    key: tuple[Any, ...] = ("lit", self.take("ident"))
                else:
                    key = self.expr()
                if self.peek("="):
                    self.i += 1
                else:
                    self.take(":")
                pairs.append((key, self.expr()))
                if self.peek(","):
                    self.i += 1
            self.take("}")
            return ("obj", tuple(pairs))
        if kind == "ident":
            self.i += 1
            if value in ("true", "false"):
                return ("lit", value == "true")
            if value == "null":
                return ("lit", None)
            if self.peek("("):
                self.i += 1
                args = []
                expand = False
                while not self.peek(")"):
                    args.append(self.expr())
                    if self.peek("..."):
                        self.i += 1
                        expand = True
                    if not self.peek(","):
                        break
                    self.i += 1
                self.take(")")
                return ("call", value, tuple(args), expand)
            return ("ref", value)
        raise HclEvalError(f"unexpected {value!r} in {self.text!r}")

    def for_expr(self, kind: str, close: str) -> tuple[Any, ...]:
        self.take("ident", "for")
        first = self.take("ident")
        second = None
        if self.peek(","):
            self.i += 1
            second = self.take("ident")
        self.take("ident", "in")
        coll = self.expr()
        self.take(":")
        key_expr = self.expr()
        value_expr = None
        group = False
        if kind == "obj":
            self.take("=>")
            value_expr = self.expr()
            if self.peek("..."):
                self.i += 1
                group = True
        cond = None
        if self.peek("ident", "if"):
            self.i += 1
            cond = self.expr()
        self.take(close)
        key_name, value_name = (first, second) if second else (None, first)
        return ("for", kind, key_name, value_name, coll, key_expr, value_expr, cond, group)


# --- evaluation ----------------------------------------------------------------------------------------


class Template(str):
    """A string that still holds an unresolved ``${...}`` (a value rendered to text, e.g. a local or a
    module argument built from a variable without default). It interpolates as its text, so the trust
    evaluator sees the placeholder, but it is not a known value: a comparison, a condition or a function
    over it stays unknown instead of testing the placeholder's spelling."""

    __slots__ = ()


_UNRESOLVED = re.compile(r"(?<![$%])[$%]\{")


def mark_templates(value: Any) -> Any:
    """``value`` with every string that holds an unresolved ``${...}`` / ``%{...}`` made a :class:`Template`."""
    if isinstance(value, str) and not isinstance(value, Template):
        return Template(value) if _UNRESOLVED.search(value) else value
    if isinstance(value, list):
        return [mark_templates(v) for v in value]
    if isinstance(value, dict):
        return {k: mark_templates(v) for k, v in value.items()}
    if isinstance(value, Choice):
        return Choice(value.label, [mark_templates(o) for o in value.options], value.names)
    return value


def known(value: Any) -> bool:
    """True when ``value`` holds no unknown, no choice and no template string anywhere."""
    return _known(value)


def _known(value: Any, templates: bool = False) -> bool:
    """``templates``: a :class:`Template` string counts as known (where only its text matters)."""
    if isinstance(value, Unknown | Choice):
        return False
    if isinstance(value, Template):
        return templates
    if isinstance(value, list):
        return all(_known(v, templates) for v in value)
    if isinstance(value, dict):
        return all(_known(v, templates) for v in value.values())
    return True


def _text(value: Any) -> str | None:
    """A primitive as Terraform converts it to a string; None when it is not a primitive."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        return value
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _flatten(value: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _as_collection(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    raise HclEvalError("for_each / for over a value that is not a collection")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "jsonencode": lambda v: json.dumps(_jsonable(v), separators=(",", ":")),
    "jsondecode": lambda s: json.loads(s),
    "concat": lambda *ls: [x for lst in ls for x in lst],
    "flatten": lambda v: _flatten(v),
    "distinct": lambda v: [x for i, x in enumerate(v) if x not in v[:i]],
    "compact": lambda v: [x for x in v if x not in (None, "")],
    "toset": lambda v: sorted(dict.fromkeys(v), key=str) if isinstance(v, list) else v,
    "tolist": lambda v: list(v),
    "tomap": lambda v: dict(v),
    "tostring": lambda v: _text(v),
    "length": lambda v: len(v),
    "lower": lambda s: s.lower(),
    "upper": lambda s: s.upper(),
    "trimspace": lambda s: s.strip(),
    "join": lambda sep, v: sep.join(_text(x) or "" for x in v),
    "split": lambda sep, s: s.split(sep),
    "replace": lambda s, a, b: s.replace(a, b),
    "format": lambda f, *a: re.sub(r"%[sdv]", "{}", f).format(*a),
    "merge": lambda *ms: {k: v for m in ms for k, v in m.items()},
    "lookup": lambda m, k, *d: m[k] if k in m else (d[0] if d else None),
    "element": lambda v, i: v[int(i) % len(v)],
    "coalesce": lambda *a: next((x for x in a if x not in (None, "")), None),
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "contains": lambda v, x: x in v,
    "one": lambda v: v[0] if v else None,
    "trimprefix": lambda s, p: s[len(p) :] if s.startswith(p) else s,
    "trimsuffix": lambda s, p: s[: -len(p)] if p and s.endswith(p) else s,
    "trim": lambda s, chars: s.strip(chars),
    "chomp": lambda s: s.rstrip("\r\n"),
    "substr": lambda s, o, n: s[int(o) :] if int(n) < 0 else s[int(o) : int(o) + int(n)],
    "startswith": lambda s, p: s.startswith(p),
    "endswith": lambda s, p: s.endswith(p),
    "strcontains": lambda s, p: p in s,
    "title": lambda s: s.title(),
    "reverse": lambda v: list(reversed(v)),
    "sort": lambda v: sorted(v, key=str),
    "slice": lambda v, a, b: v[int(a) : int(b)],
    "zipmap": lambda k, v: dict(zip(k, v, strict=True)),
    "coalescelist": lambda *ls: next((x for x in ls if x), []),
}


# Functions whose result only carries their arguments' text along (a template string stays one inside it).
_TEXT_FUNCTIONS = frozenset(
    {
        "jsonencode",
        "concat",
        "flatten",
        "tolist",
        "toset",
        "merge",
        "format",
        "join",
        "coalescelist",
    }
)

# Functions whose value the reader itself follows (a file next to the module) or that only apply
# knows: they stay templates rather than unsupported constructs.
_READ_BY_THE_READER = frozenset({"file", "templatefile", "filebase64", "timestamp", "uuid"})


class Scope:
    """Names visible to an expression: ``var``, ``local``, ``path``, iterators; lookups of others stay unknown.

    ``variables``: name → default (absent when the variable has none); ``locals``: name → raw value as the
    HCL reader gave it (rendered on first use).
    """

    def __init__(
        self,
        variables: Mapping[str, Any],
        locals_: Mapping[str, Any],
        bound: Mapping[str, Any] | None = None,
        parent: Scope | None = None,
        *,
        files: FileReader | None = None,
        paths: Mapping[str, str] | None = None,
    ) -> None:
        self.variables = variables
        self.locals = locals_
        self.bound = dict(bound or {})
        self.parent = parent
        self._local_values: dict[str, Any] = {} if parent is None else parent._local_values
        self._evaluating: set[str] = set() if parent is None else parent._evaluating
        self.files: FileReader | None = files if parent is None else parent.files
        self.paths: Mapping[str, str] = dict(paths or {}) if parent is None else parent.paths

    def child(self, **bound: Any) -> Scope:
        """A scope with iterator names bound (``condition`` → {key, value})."""
        return Scope(self.variables, self.locals, {**self.bound, **bound}, self)

    def assuming(self, condition: str, value: bool) -> Scope:
        """A scope in which a conditional on ``condition`` (its source text, ``var.create``) that the text
        does not decide takes ``value``: a block that exists only when it holds is rendered under it. Locals
        are rendered in the module's scope, without it."""
        return self.child(**{_ASSUMED: {**self.bound.get(_ASSUMED, {}), condition: value}})

    # -- rendering of the values the HCL reader gave --------------------------------------------------

    def render(self, value: Any, depth: int = 0) -> Any:
        """Render a value from the HCL reader: strings with ``${...}`` evaluated, lists and maps recursively,
        ``dynamic`` blocks expanded."""
        if depth > MAX_DEPTH:
            raise HclDepthError(f"values nest deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            return self.template(value)
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                rendered = self.render(item, depth + 1)
                if isinstance(rendered, Choice) and not isinstance(item, dict):
                    out.extend(
                        rendered.options
                    )  # a list element that is one of several: all of them
                else:
                    out.append(rendered)
            return out
        if isinstance(value, dict):
            return self.render_block(value, depth)
        return value

    def render_block(self, body: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
        """A block body: attributes rendered, ``dynamic "x"`` blocks expanded into ``x`` blocks."""
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key == "dynamic":
                continue
            out[key] = self.render(value, depth + 1)
        for dyn in body.get("dynamic") or []:
            if not isinstance(dyn, Mapping):
                continue
            for label, spec in dyn.items():
                for item in spec if isinstance(spec, list) else [spec]:
                    if isinstance(item, Mapping):
                        out.setdefault(str(label), [])
                        if isinstance(out[str(label)], list):
                            out[str(label)].extend(self._dynamic(str(label), item, depth))
        return out

    def _dynamic(self, label: str, spec: Mapping[str, Any], depth: int) -> Iterator[dict[str, Any]]:
        iterator = spec.get("iterator")
        if isinstance(iterator, str) and iterator.startswith("${") and iterator.endswith("}"):
            iterator = iterator[2:-1].strip()
        name = iterator if isinstance(iterator, str) and iterator.isidentifier() else label
        contents = spec.get("content")
        content = contents[0] if isinstance(contents, list) and contents else contents
        if not isinstance(content, Mapping):
            return
        collection = self.render(spec.get("for_each"), depth + 1)
        if _known(collection, templates=True) and isinstance(collection, list | dict):
            for key, value in _as_collection(collection):
                yield self.child(**{str(name): {"key": key, "value": value}}).render_block(
                    content, depth + 1
                )
            return
        # Unknown collection: one block whose iterator values stay templates.
        yield self.child(**{str(name): Unknown(f"{name}")}).render_block(content, depth + 1)

    def template(self, text: str) -> Any:
        """A string from the reader: ``${expr}`` alone gives the expression's value, else interpolation.

        ``$${`` and ``%%{`` are escapes of a literal ``${`` / ``%{``: kept as they are (the reader unescapes
        them afterwards)."""
        if "${" not in text and "%{" not in text:
            return text
        if "$${" in text or "%%{" in text:
            hidden = text.replace("$${", _ESCAPED_DOLLAR).replace("%%{", _ESCAPED_PERCENT)
            rendered = self.template(hidden)
            return _unhide(rendered)
        whole = re.fullmatch(r"\$\{(.*)\}", text, re.DOTALL)
        if whole and _close_brace(text, 1) == len(text):
            value = self.expression(whole.group(1))
            return _keep(value, text)
        if "%{" in text:
            return text  # template directives (%{if}, %{for}) are not rendered: the text stays a template
        parts: list[Any] = []
        i = 0
        while i < len(text):
            j = text.find("${", i)
            if j < 0:
                parts.append(text[i:])
                break
            parts.append(text[i:j])
            end = _close_brace(text, j + 1)
            value = _keep(self.expression(text[j + 2 : end - 1]), text[j:end])
            if isinstance(value, Choice):
                texts = [_text(o) for o in value.options]
                if all(t is not None for t in texts):
                    parts.append(Choice(value.label, texts, value.names))
                else:
                    parts.append(text[j:end])
            else:
                parts.append(_text(value) if _text(value) is not None else text[j:end])
            i = end
        return _join(parts)

    def expression(self, text: str) -> Any:
        """Evaluate one expression's source text; unknowns come back as :class:`Unknown`."""
        try:
            tree = _Parser(text.strip()).parse()
        except HclDepthError:
            raise
        except HclEvalError:
            # Not an expression this evaluator reads: marked, so the check says so instead of taking it
            # for a template.
            return Unknown(f"{UNSUPPORTED_MARK} {text.strip()}")
        return self.eval(tree)

    # -- expressions -----------------------------------------------------------------------------------

    def eval(self, node: tuple[Any, ...]) -> Any:
        """The value of one syntax-tree node."""
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "tpl":
            return self.template(node[1])
        if kind == "ref":
            return self.ref(node[1])
        if kind == "attr":
            return self.attr(self.eval(node[1]), node[2], node)
        if kind == "get":
            base, key = self.eval(node[1]), self.eval(node[2])
            if isinstance(base, Unknown) and isinstance(key, str):
                # data.x[each.key] with each.key known: keep the instance it names
                return Unknown(f"{base.text}[{json.dumps(key)}]")
            if not _known(key) or isinstance(base, Unknown | Choice):
                return Unknown(_source(node))
            try:
                if isinstance(base, list):
                    return base[int(key)]
                if isinstance(base, dict):
                    return base[_text(key)]
            except (IndexError, KeyError, ValueError, TypeError):
                raise HclEvalError(f"{_source(node)}: no such element") from None
            return Unknown(_source(node))
        if kind == "splat":
            return Unknown(_source(node))
        if kind == "list":
            out: list[Any] = []
            for item in node[1]:
                value = self.eval(item)
                if isinstance(value, Choice):
                    out.extend(value.options)
                else:
                    out.append(value)
            return out
        if kind == "obj":
            obj: dict[str, Any] = {}
            for key_node, value_node in node[1]:
                key = self.eval(key_node)
                if _text(key) is None:
                    return Unknown(_source(node))
                obj[str(_text(key))] = self.eval(value_node)
            return obj
        if kind == "un":
            value = self.eval(node[2])
            if not _known(value):
                return Unknown(_source(node))
            if node[1] == "!":
                return not value
            return -value
        if kind == "bin":
            return self.binary(node)
        if kind == "cond":
            cond = self.eval(node[1])
            if not isinstance(cond, bool):
                cond = self.bound.get(_ASSUMED, {}).get(_source(node[1]), cond)
            if isinstance(cond, bool):
                return self.eval(node[2] if cond else node[3])
            a, b = self.eval(node[2]), self.eval(node[3])
            options: list[Any] = []
            for branch in (a, b):
                options.extend(branch.options if isinstance(branch, Choice) else [branch])
            return Choice(_source(node[1]), options)
        if kind == "call":
            return self.call(node)
        if kind == "for":
            return self.for_expr(node)
        return Unknown(_source(node))

    def ref(self, name: str) -> Any:
        """A bare name: an iterator bound in this scope, a namespace (``var``), or unknown."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bound:
                return scope.bound[name]
            scope = scope.parent
        if name in ("var", "local", "path", "each", "count"):
            return _Namespace(name)
        return Unknown(name)

    def attr(self, base: Any, name: str, node: tuple[Any, ...]) -> Any:
        """``base.name``: a variable, a local, ``path.module`` or an object's attribute."""
        if isinstance(base, Unknown) and not base.text.startswith(UNSUPPORTED_MARK):
            return Unknown(f"{base.text}.{name}")
        if isinstance(base, _Namespace):
            if base.name == "var":
                return self.variables[name] if name in self.variables else Unknown(f"var.{name}")
            if base.name == "local":
                return self.local(name)
            if base.name == "path" and name in ("module", "root", "cwd"):
                return self.paths.get(name, ".")
            return Unknown(f"{base.name}.{name}")
        if isinstance(base, dict) and name in base:
            return base[name]
        return Unknown(_source(node))

    def local(self, name: str) -> Any:
        """``local.NAME``, rendered once (a local that refers to itself stays unknown)."""
        if name in self._local_values:
            return self._local_values[name]
        if name not in self.locals or name in self._evaluating:
            return Unknown(f"local.{name}")
        self._evaluating.add(name)
        try:
            root = self
            while root.parent is not None:
                root = root.parent
            value = mark_templates(root.render(self.locals[name]))
        finally:
            self._evaluating.discard(name)
        self._local_values[name] = value
        return value

    def binary(self, node: tuple[Any, ...]) -> Any:
        """A binary operator over known operands (``&&``/``||`` short-circuit on a known side)."""
        op = node[1]
        left, right = self.eval(node[2]), self.eval(node[3])
        if op in ("&&", "||") and (isinstance(left, bool) or isinstance(right, bool)):
            if op == "&&" and (left is False or right is False):
                return False
            if op == "||" and (left is True or right is True):
                return True
        if not (_known(left) and _known(right)):
            return Unknown(_source(node))
        try:
            if op == "==":
                return left == right
            if op == "!=":
                return left != right
            if op == "&&":
                return bool(left and right)
            if op == "||":
                return bool(left or right)
            a, b = float(left), float(right)
            operations: dict[str, Callable[[], float | bool]] = {
                "<": lambda: a < b,
                ">": lambda: a > b,
                "<=": lambda: a <= b,
                ">=": lambda: a >= b,
                "+": lambda: a + b,
                "-": lambda: a - b,
                "*": lambda: a * b,
                "/": lambda: a / b,
                "%": lambda: a % b,
            }
            result = operations[op]()
        except (TypeError, ValueError, ZeroDivisionError):
            return Unknown(_source(node))
        if not isinstance(result, bool) and result.is_integer():
            return int(result)
        return result

    def call(self, node: tuple[Any, ...]) -> Any:
        """A function call: known functions over known arguments; others unknown or unsupported."""
        _kind, name, arg_nodes, expand = node
        args = [self.eval(a) for a in arg_nodes]
        if expand and args and isinstance(args[-1], list):
            args = [*args[:-1], *args[-1]]
        if name in ("file", "templatefile") and self.files is not None:
            return self._read_file(name, args, node)
        function = _FUNCTIONS.get(name)
        if function is None and name not in _READ_BY_THE_READER:
            return Unknown(f"{UNSUPPORTED_MARK} {_source(node)}")
        text_only = name in _TEXT_FUNCTIONS
        if function is None or not all(_known(a, templates=text_only) for a in args):
            return Unknown(_source(node))
        try:
            return function(*args)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError):
            return Unknown(_source(node))

    def _read_file(self, name: str, args: list[Any], node: tuple[Any, ...]) -> Any:
        """``file(path)`` / ``templatefile(path, vars)`` through the module's reader; a template is
        rendered with ``vars`` bound as bare names (values the caller does not know stay templates)."""
        reader = self.files
        if reader is None:
            return Unknown(_source(node))
        expected = 1 if name == "file" else 2
        if len(args) != expected or not isinstance(args[0], str) or not _known(args[0]):
            return Unknown(_source(node))
        try:
            text = reader(args[0])
        except FileRefusedError as exc:
            return Unknown(f"{UNSUPPORTED_MARK} {_source(node)}: {exc}")
        if name == "file":
            return text
        variables = args[1]
        if not isinstance(variables, dict):
            return Unknown(f"{UNSUPPORTED_MARK} {_source(node)}: the variables are not an object")
        # Only the vars are visible inside a template file (no var., local.), as in Terraform.
        inner = Scope({}, {}, variables, files=self.files, paths=self.paths)
        return render_template(text, inner)

    def for_expr(self, node: tuple[Any, ...]) -> Any:
        """A ``for`` expression over a known collection."""
        _kind, kind, key_name, value_name, coll_node, key_expr, value_expr, cond, group = node
        collection = self.eval(coll_node)
        if not _known(collection, templates=True) or not isinstance(collection, list | dict):
            if kind == "list":
                # An open collection: one element with the iterators unknown stands for every element
                # (its shape, e.g. "repo:${org}/${x}:*"); an `if` filter can only drop elements.
                bound = {value_name: Unknown(value_name)}
                if key_name:
                    bound[key_name] = Unknown(key_name)
                element = _keep(self.child(**bound).eval(key_expr), "${" + _source(key_expr) + "}")
                return [element]
            return Unknown(_source(node))
        items: list[Any] = []
        obj: dict[str, Any] = {}
        for key, value in _as_collection(collection):
            bound = {value_name: value}
            if key_name:
                bound[key_name] = key
            inner = self.child(**bound)
            if cond is not None:
                keep = inner.eval(cond)
                if not isinstance(keep, bool):
                    return Unknown(_source(node))
                if not keep:
                    continue
            if kind == "list":
                items.append(inner.eval(key_expr))
            else:
                k = _text(inner.eval(key_expr))
                if k is None:
                    return Unknown(_source(node))
                v = inner.eval(value_expr)
                if group:
                    obj.setdefault(k, []).append(v)
                else:
                    obj[k] = v
        return items if kind == "list" else obj


FileReader = Callable[[str], str]
"""Reads a file an expression names (``file``, ``templatefile``); raises :class:`FileRefusedError` for a
path the reader will not follow, an input error when the file cannot be read."""

# A rendered template larger than this is refused (a `%{ for }` over a large collection).
MAX_TEMPLATE_BYTES = 1 << 20


class FileRefusedError(ValueError):
    """A path ``file()`` / ``templatefile()`` names that the reader does not follow (outside the module tree)."""


def _template_segments(text: str) -> list[tuple[str, str]]:
    """``("lit", text)``, ``("interp", expr)`` and ``("dir", directive)`` segments of a template, with the
    ``~`` strip markers applied to the neighbouring literals and ``$${`` / ``%%{`` unescaped."""
    out: list[tuple[str, str]] = []
    strip_next = False
    i = 0
    n = len(text)
    literal: list[str] = []

    def flush(strip_right: bool) -> None:
        nonlocal strip_next
        value = "".join(literal)
        literal.clear()
        if strip_next:
            value = value.lstrip()
        if strip_right:
            value = value.rstrip()
        strip_next = False
        if value:
            out.append(("lit", value))

    while i < n:
        if text.startswith(("$${", "%%{"), i):
            literal.append(text[i + 1 : i + 3])
            i += 3
            continue
        if text.startswith(("${", "%{"), i):
            end = _close_brace(text, i + 1)
            inner = text[i + 2 : end - 1]
            left = inner.startswith("~")
            right = inner.endswith("~")
            inner = inner[1 if left else 0 : len(inner) - (1 if right else 0)]
            flush(left)
            out.append(("interp" if text[i] == "$" else "dir", inner.strip()))
            strip_next = right
            i = end
            continue
        literal.append(text[i])
        i += 1
    flush(False)
    return out


def _template_tree(segments: list[tuple[str, str]]) -> list[Any]:
    """Nest ``%{ if }`` / ``%{ else }`` / ``%{ endif }`` and ``%{ for }`` / ``%{ endfor }`` directives."""
    root: list[Any] = []
    stack: list[tuple[list[Any], list[Any]]] = []  # (node, the list being filled)
    current = root
    for kind, value in segments:
        if kind != "dir":
            current.append((kind, value))
            continue
        word = value.split(None, 1)[0] if value else ""
        rest = value[len(word) :].strip()
        if word == "if":
            node: list[Any] = ["if", rest, [], []]
            current.append(node)
            stack.append((node, current))
            current = node[2]
        elif word == "else":
            if not stack or stack[-1][0][0] != "if" or current is not stack[-1][0][2]:
                raise HclEvalError("template: %{ else } without %{ if }")
            current = stack[-1][0][3]
        elif word == "for":
            m = re.fullmatch(
                r"([A-Za-z_][\w-]*)(?:\s*,\s*([A-Za-z_][\w-]*))?\s+in\s+(.+)", rest, re.S
            )
            if m is None:
                raise HclEvalError(f"template: cannot read %{{ {value} }}")
            node = ["for", m.group(1), m.group(2), m.group(3), []]
            current.append(node)
            stack.append((node, current))
            current = node[4]
        elif word in ("endif", "endfor"):
            if not stack or stack[-1][0][0] != word[3:]:
                raise HclEvalError(f"template: %{{ {word} }} without %{{ {word[3:]} }}")
            _node, current = stack.pop()
        else:
            raise HclEvalError(f"template: unknown directive %{{ {value} }}")
        if len(stack) > MAX_DEPTH:
            raise HclDepthError(f"template directives nest deeper than {MAX_DEPTH} levels")
    if stack:
        raise HclEvalError(f"template: %{{ {stack[-1][0][0]} }} is not closed")
    return root


def render_template(text: str, scope: Scope) -> Any:
    """Render a template file's text (``templatefile``): interpolations and ``%{ if }`` / ``%{ for }``
    directives. A condition the scope does not decide renders both branches (a :class:`Choice`); a ``for``
    over a collection it does not know renders its body once with the iterator unknown."""
    parts = _render_nodes(_template_tree(_template_segments(text)), scope, 0)
    value = _join(parts)
    for option in value.options if isinstance(value, Choice) else [value]:
        if isinstance(option, str) and len(option) > MAX_TEMPLATE_BYTES:
            raise HclEvalError(f"template renders to more than {MAX_TEMPLATE_BYTES} bytes")
    return value


def _render_nodes(nodes: list[Any], scope: Scope, depth: int) -> list[Any]:
    if depth > MAX_DEPTH:
        raise HclDepthError(f"template directives nest deeper than {MAX_DEPTH} levels")
    parts: list[Any] = []
    size = 0  # what `%{ for }` loops have added
    for node in nodes:
        if isinstance(node, tuple):
            kind, value = node
            if kind == "lit":
                parts.append(value)
            else:
                parts.append(_interpolated(scope, value))
        elif node[0] == "if":
            cond = scope.expression(node[1])
            if isinstance(cond, bool):
                parts.extend(_render_nodes(node[2] if cond else node[3], scope, depth + 1))
            else:
                branches = [
                    _join(_render_nodes(branch, scope, depth + 1)) for branch in (node[2], node[3])
                ]
                options: list[Any] = []
                for branch in branches:
                    options.extend(branch.options if isinstance(branch, Choice) else [branch])
                parts.append(Choice(f"template condition {node[1]}", options[:MAX_RENDERINGS]))
        else:
            _kind, first, second, coll_text, body = node
            collection = scope.expression(coll_text)
            key_name, value_name = (first, second) if second else (None, first)
            if _known(collection) and isinstance(collection, list | dict):
                for key, value in _as_collection(collection):
                    bound = {value_name: value, **({key_name: key} if key_name else {})}
                    rendered = _render_nodes(body, scope.child(**bound), depth + 1)
                    parts.extend(rendered)
                    size += sum(len(p) for p in rendered if isinstance(p, str))
                    if size > MAX_TEMPLATE_BYTES:
                        raise HclEvalError(
                            f"template renders to more than {MAX_TEMPLATE_BYTES} bytes"
                        )
            else:
                bound = {value_name: Unknown(value_name)}
                if key_name:
                    bound[key_name] = Unknown(key_name)
                parts.extend(_render_nodes(body, scope.child(**bound), depth + 1))
    return parts


def _interpolated(scope: Scope, expr: str) -> Any:
    """One ``${expr}`` of a template file: its text, a Choice of texts, or the ``${expr}`` itself."""
    value = _keep(scope.expression(expr), "${" + expr + "}")
    if isinstance(value, Choice):
        texts = [_text(o) for o in value.options]
        if all(t is not None for t in texts):
            return Choice(value.label, texts, value.names)
        return "${" + expr + "}"
    text = _text(value)
    return text if text is not None else "${" + expr + "}"


class _Namespace:
    """``var``, ``local``, ``path``: resolved when an attribute is taken."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_ESCAPED_DOLLAR = "\x00escaped-dollar\x00"
_ESCAPED_PERCENT = "\x00escaped-percent\x00"


def _unhide(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(_ESCAPED_DOLLAR, "$${").replace(_ESCAPED_PERCENT, "%%{")
    if isinstance(value, Choice):
        return Choice(value.label, [_unhide(o) for o in value.options], value.names)
    if isinstance(value, list):
        return [_unhide(v) for v in value]
    if isinstance(value, dict):
        return {k: _unhide(v) for k, v in value.items()}
    return value


def _keep(value: Any, source: str) -> Any:
    """An unknown keeps its source text (``${var.x}``) so the evaluator sees a template."""
    if isinstance(value, Unknown) and (
        "[" in value.text or value.text.startswith(UNSUPPORTED_MARK)
    ):
        # the evaluator's text: it names the instance (data.x["k"]) or marks what it cannot read
        return "${" + value.text + "}"
    if isinstance(value, Unknown | _Namespace):
        return source
    if isinstance(value, Choice):
        return Choice(value.label, [_keep(o, source) for o in value.options], value.names)
    if isinstance(value, list):
        return [_keep(v, source) for v in value]
    if isinstance(value, dict):
        return {k: _keep(v, source) for k, v in value.items()}
    return value


def _join(parts: list[Any]) -> Any:
    """Concatenate template parts; a Choice among them makes the result a Choice of every combination."""
    choices = [p for p in parts if isinstance(p, Choice)]
    if not choices:
        return "".join(str(p) for p in parts)
    first = choices[0]
    index = parts.index(first)
    options = [_join([*parts[:index], option, *parts[index + 1 :]]) for option in first.options]
    flat: list[Any] = []
    for option in options:
        flat.extend(option.options if isinstance(option, Choice) else [option])
    return Choice(first.label, flat[:MAX_RENDERINGS], first.names)


def _source(node: tuple[Any, ...]) -> str:
    """Readable source of a node for an unknown's text."""
    kind = node[0]
    if kind == "ref":
        return str(node[1])
    if kind == "attr":
        return f"{_source(node[1])}.{node[2]}"
    if kind == "get":
        return f"{_source(node[1])}[{_source(node[2])}]"
    if kind == "lit":
        return json.dumps(node[1])
    if kind == "tpl":
        return json.dumps(node[1])
    if kind == "call":
        return f"{node[1]}({', '.join(_source(a) for a in node[2])})"
    if kind == "bin":
        return f"{_source(node[2])} {node[1]} {_source(node[3])}"
    if kind == "un":
        return f"{node[1]}{_source(node[2])}"
    if kind == "cond":
        return f"{_source(node[1])} ? {_source(node[2])} : {_source(node[3])}"
    if kind == "splat":
        return f"{_source(node[1])}[*]"
    return str(kind)


_ASSUMED = "\x00assumed"  # a bound name no expression can spell


def creates_nothing(value: Any) -> bool:
    """A ``count`` of 0 or a ``for_each`` over an empty collection (known): no instance."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str) and not isinstance(value, Template):
        return value.strip() in ("0", "0.0")
    return isinstance(value, list | dict) and not value and known(value)


def existence_condition(scope: Scope, raw: Any) -> tuple[str, bool] | None:
    """For a ``count`` / ``for_each`` written ``${C ? a : b}`` whose condition the text does not decide and
    exactly one branch of which creates nothing: (C's source text, the value of C under which instances
    exist). None otherwise (the block is then rendered without assuming anything)."""
    if not isinstance(raw, str):
        return None
    whole = re.fullmatch(r"\$\{(.*)\}", raw, re.DOTALL)
    if not whole or _close_brace(raw, 1) != len(raw):
        return None
    try:
        node = _Parser(whole.group(1).strip()).parse()
    except HclEvalError:
        return None
    if node[0] != "cond" or isinstance(scope.eval(node[1]), bool):
        return None
    empty = (creates_nothing(scope.eval(node[2])), creates_nothing(scope.eval(node[3])))
    if empty == (False, True):
        return _source(node[1]), True
    if empty == (True, False):
        return _source(node[1]), False
    return None


def expand_choices(value: Any) -> list[tuple[str, Any]]:
    """Every rendering of a value with :class:`Choice` nodes: (label, value without choices), at most
    :data:`MAX_RENDERINGS`; choices beyond that keep their first option."""
    found: list[Choice] = []

    def collect(node: Any) -> None:
        if isinstance(node, Choice):
            if all(node is not c for c in found):
                found.append(node)
            for option in node.options:
                collect(option)
        elif isinstance(node, list):
            for item in node:
                collect(item)
        elif isinstance(node, dict):
            for item in node.values():
                collect(item)

    collect(value)
    if not found:
        return [("", value)]
    results: list[tuple[str, Any]] = []

    def pick(node: Any, chosen: Mapping[int, int]) -> Any:
        if isinstance(node, Choice):
            index = next(i for i, c in enumerate(found) if c is node)
            return pick(node.options[chosen.get(index, 0)], chosen)
        if isinstance(node, list):
            return [pick(x, chosen) for x in node]
        if isinstance(node, dict):
            return {k: pick(v, chosen) for k, v in node.items()}
        return node

    combos: list[dict[int, int]] = [{}]
    for index, choice in enumerate(found):
        grown = [{**c, index: o} for c in combos for o in range(len(choice.options))]
        if len(grown) > MAX_RENDERINGS:
            break
        combos = grown
    for combo in combos:
        label = ", ".join(found[i].name(o) for i, o in sorted(combo.items()))
        results.append((label, pick(value, combo)))
    return results


__all__ = [
    "creates_nothing",
    "existence_condition",
    "FileReader",
    "FileRefusedError",
    "known",
    "mark_templates",
    "render_template",
    "Template",
    "MAX_DEPTH",
    "Choice",
    "HclDepthError",
    "HclEvalError",
    "Scope",
    "Unknown",
    "expand_choices",
]
