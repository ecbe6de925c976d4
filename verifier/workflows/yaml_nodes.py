"""YAML at node level, with exact lines and columns, on libyaml's C parser.

Only the *compose* stage is used (``yaml.compose_all`` with ``CSafeLoader``): it builds a node graph whose
every node carries its start/end marks and never constructs Python values. That gives three properties
the workflow checks rely on:

- keys stay text: ``on:`` is the scalar ``"on"`` (its resolved tag says bool, but nobody looks at it);
- aliases are shared references to one node, never copies, so an alias bomb ("billion laughs") composes
  in linear time and memory; walkers must only visit the fixed shape they look for (or keep a visited set);
- multi-document streams give one root node per document.

libyaml caps nesting at 1000 levels (it raises a scanner error instead of overflowing the stack).
Comments are dropped by libyaml, so :func:`comment_after` reads them back from the source text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml
from yaml._yaml import CParser
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from verifier.errors import InputError

__all__ = [
    "MappingNode",
    "Node",
    "ScalarNode",
    "SequenceNode",
    "SourceText",
    "compose_documents",
    "is_null",
    "mapping_get",
    "mapping_items",
    "position",
]

MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"

# YAML line breaks (libyaml: CR, LF, CRLF, NEL, LS, PS). str.splitlines() would also split on \v, \f and
# \x1c-\x1e, which YAML treats as ordinary characters, and shift every line number after them.
_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_UNUSUAL_BREAKS = re.compile("[\r\x85\u2028\u2029]")


STR_TAG = "tag:yaml.org,2002:str"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


class _NodeLoader(CParser):
    """libyaml's C parser and composer with a minimal tag resolver.

    ``CSafeLoader`` resolves every scalar's implicit tag through PyYAML's pure-Python regex resolver
    (a third of the compose time on real workflows), only for us to ignore it. Here a plain scalar is
    ``null`` (empty, ``~``, ``null``), the merge key ``<<``, or a string; nothing else is needed. Keys
    like ``on``/``yes`` are therefore strings, as GitHub reads them.
    """

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        """No path-dependent resolvers."""

    def ascend_resolver(self) -> None:
        """No path-dependent resolvers."""

    def resolve(self, kind: type[Node], value: object, implicit: tuple[bool, bool]) -> str:
        """The tag of a node without an explicit tag."""
        if kind is ScalarNode:
            if implicit[0]:
                if value in _NULLS:
                    return NULL_TAG
                if value == "<<":
                    return MERGE_TAG
            return STR_TAG
        return SEQ_TAG if kind is SequenceNode else MAP_TAG


def compose_documents(text: str, name: str) -> list[Node]:
    """Compose every document of ``text`` into nodes; a syntax error raises InputError naming ``name``
    with the 1-based line and column libyaml reports."""
    loader = _NodeLoader(text)
    try:
        documents: list[Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                documents.append(node)
        return documents
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(name, f"YAML syntax error{where}: {problem}") from None
    except yaml.YAMLError as exc:  # reader errors: control characters, bad encoding
        raise InputError(name, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise InputError(name, "YAML is nested too deeply") from None
    finally:
        loader.dispose()


def is_null(node: Node) -> bool:
    """True for an empty or explicit-null scalar (``key:``, ``~``, ``null``)."""
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def mapping_items(node: MappingNode) -> Iterator[tuple[str, Node, Node, bool]]:
    """``(key text, key node, value node, via_merge)`` for each entry, following ``<<`` merge keys
    (single alias or a list of them) once each, so a self-referencing merge cannot loop.

    Entries from merges come after the mapping's own entries. Non-scalar keys are skipped (GitHub has
    none). Duplicate keys are all yielded: a checker then sees every value GitHub might pick.
    """
    seen: set[int] = {id(node)}
    pending: list[MappingNode] = []
    for key, value in node.value:
        if isinstance(key, ScalarNode):
            if key.tag == MERGE_TAG and key.value == "<<":
                _queue_merge(value, seen, pending)
            else:
                yield key.value, key, value, False
    while pending:
        merged = pending.pop(0)
        for key, value in merged.value:
            if isinstance(key, ScalarNode):
                if key.tag == MERGE_TAG and key.value == "<<":
                    _queue_merge(value, seen, pending)
                else:
                    yield key.value, key, value, True


def _queue_merge(value: Node, seen: set[int], pending: list[MappingNode]) -> None:
    sources = value.value if isinstance(value, SequenceNode) else [value]
    for source in sources:
        if isinstance(source, MappingNode) and id(source) not in seen:
            seen.add(id(source))
            pending.append(source)


def mapping_get(node: Node, key: str) -> Node | None:
    """The value of the first entry ``key`` of a mapping node (merges included), or None."""
    if not isinstance(node, MappingNode):
        return None
    for name, _key, value, _merged in mapping_items(node):
        if name == key:
            return value
    return None


def position(node: Node) -> tuple[int, int]:
    """1-based (line, column) where ``node`` starts (for a quoted scalar: its opening quote)."""
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


@dataclass
class SourceText:
    """The source of one file, split into lines lazily, to read back the comments libyaml drops."""

    text: str
    _lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        """The lines, split exactly where YAML breaks lines."""
        if self._lines is None:
            if _UNUSUAL_BREAKS.search(self.text):
                self._lines = _BREAKS.split(self.text)
            else:
                self._lines = self.text.split("\n")
        return self._lines

    def line(self, number: int) -> str:
        """Line ``number`` (1-based), or '' past the end."""
        lines = self.lines
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def comment_after(self, node: Node) -> str | None:
        """The comment on the same line after a scalar value (for a block scalar ``key: >- # c``, the
        comment after its indicator), without the ``#``; None when there is none."""
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            line_no, col = node.start_mark.line, node.start_mark.column
            # After the indicator: its header (chomping / indentation: "-", "+", "2"), then the comment.
            return _comment_from(self.line(line_no + 1)[col + 1 :], _HEADER_CHARS)
        mark = node.end_mark
        # After a scalar inside a flow collection, closing brackets may come before the comment.
        return _comment_from(self.line(mark.line + 1)[mark.column :], _FLOW_END_CHARS)

    def comment_above(self, node: Node) -> str | None:
        """A whole-line comment directly above the line where ``node`` starts, without the ``#``."""
        above = self.line(
            node.start_mark.line
        ).strip()  # start_mark.line is 0-based: the line above
        if above.startswith("#"):
            return above[1:].strip()
        return None


_HEADER_CHARS = frozenset("-+0123456789 \t")
_FLOW_END_CHARS = frozenset("}], \t")


def _comment_from(rest: str, allowed: frozenset[str]) -> str | None:
    """The comment in ``rest`` if only ``allowed`` characters come before its ``#`` (which, as YAML
    requires, must follow whitespace)."""
    hash_at = rest.find("#")
    if hash_at <= 0 or not rest[hash_at - 1].isspace():
        return None
    if not set(rest[:hash_at]) <= allowed:
        return None
    return rest[hash_at + 1 :].strip()
