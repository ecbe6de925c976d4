"""Safe YAML loading for documents read from users (``verifier.yaml`` and the like).

``yaml.safe_load`` is not safe enough for input an attacker may write: its pure-Python constructor recurses
once per nesting level (a few hundred ``[`` give a RecursionError traceback), an integer of more than
4,300 digits raises a bare ValueError, duplicate keys silently keep the last value (so a reviewer reads one
value and the tool uses another), and aliases can expand a small file into billions of values.

:func:`load_yaml` composes with libyaml's C parser (which caps flow nesting itself), then builds Python
values from the node graph here, with:

- a nesting limit (counted on the expanded document, aliases included; a recursive alias is refused);
- a limit on the length of an integer's text, checked before it is converted;
- duplicate keys refused, naming both lines; mapping keys must be scalars;
- a limit on the values the document expands to through aliases (shared, never copied);
- only the standard scalar tags of YAML 1.1 (PyYAML's ``SafeConstructor``), plain mappings and sequences,
  and merge keys (``<<``); anything else is refused.

Every problem is an :class:`~verifier.errors.InputError` naming the file and the line.

Written here because no loader offers these limits: ruamel.yaml refuses duplicate keys but, like PyYAML's
constructor, recurses without a depth limit and has no integer or alias bounds; libyaml does the parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from verifier.errors import InputError

__all__ = ["MAX_DEPTH", "MAX_INT_CHARS", "MAX_VALUES", "load_yaml"]

MAX_DEPTH = 64
MAX_INT_CHARS = 100
MAX_VALUES = 1_000_000

_INT_TAG = "tag:yaml.org,2002:int"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _YamlNodeError(Exception):
    """A problem at a node; turned into InputError with the file name by :func:`load_yaml`."""

    def __init__(self, node: Node | None, problem: str) -> None:
        super().__init__(problem)
        self.line = node.start_mark.line + 1 if node is not None else 0
        self.problem = problem


@dataclass
class _Built:
    """A node already built: its value, the height of its subtree and the values it expands to."""

    value: Any
    height: int
    size: int


@dataclass
class _Builder:
    max_depth: int
    max_int_chars: int
    max_values: int
    scalars: SafeConstructor = field(default_factory=SafeConstructor)
    built: dict[int, _Built] = field(default_factory=dict)
    in_progress: set[int] = field(default_factory=set)

    def build(self, node: Node, depth: int) -> _Built:
        """The value of ``node`` at nesting ``depth`` (1 for the top level)."""
        key = id(node)
        done = self.built.get(key)
        if done is None:
            if key in self.in_progress:
                raise _YamlNodeError(node, "recursive alias (a collection that contains itself)")
            if depth > self.max_depth:
                raise _YamlNodeError(node, f"nested deeper than {self.max_depth} levels")
            self.in_progress.add(key)
            done = self._build_new(node, depth)
            self.in_progress.discard(key)
            self.built[key] = done
        # An alias puts an already-built subtree here: check what it expands to at this place.
        if depth - 1 + done.height > self.max_depth:
            raise _YamlNodeError(
                node, f"nested deeper than {self.max_depth} levels (through an alias)"
            )
        return done

    def _build_new(self, node: Node, depth: int) -> _Built:
        if isinstance(node, ScalarNode):
            return _Built(self._scalar(node), 1, 1)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                raise _YamlNodeError(node, f"unsupported tag {node.tag!r} on a sequence")
            items = [self.build(child, depth + 1) for child in node.value]
            return self._collection([item.value for item in items], items)
        if isinstance(node, MappingNode):
            return self._mapping(node, depth)
        raise _YamlNodeError(node, f"unsupported node {type(node).__name__}")  # pragma: no cover

    def _collection(self, value: Any, children: list[_Built]) -> _Built:
        size = 1 + sum(child.size for child in children)
        if size > self.max_values:
            raise _YamlNodeError(
                None, f"the document expands to more than {self.max_values} values (aliases)"
            )
        return _Built(value, 1 + max((child.height for child in children), default=0), size)

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _INT_TAG and len(node.value) > self.max_int_chars:
            raise _YamlNodeError(
                node, f"integer of {len(node.value)} characters (the limit is {self.max_int_chars})"
            )
        if node.tag == _MERGE_TAG:
            raise _YamlNodeError(node, "a merge key (<<) is only allowed as a mapping key")
        try:
            return self.scalars.construct_object(node)
        except ConstructorError as exc:
            raise _YamlNodeError(node, str(exc.problem or exc)) from None
        except (ValueError, OverflowError) as exc:
            raise _YamlNodeError(node, f"bad {node.tag.rsplit(':', 1)[-1]} value: {exc}") from None

    def _mapping(self, node: MappingNode, depth: int) -> _Built:
        if node.tag != _MAP_TAG:
            raise _YamlNodeError(node, f"unsupported tag {node.tag!r} on a mapping")
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        children: list[_Built] = []
        merged: list[_Built] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_sources(value_node, depth))
                continue
            if not isinstance(key_node, ScalarNode):
                raise _YamlNodeError(key_node, "a mapping key must be a scalar")
            key = self._scalar(key_node)
            line = key_node.start_mark.line + 1
            try:
                seen = first_line.get(key)
            except TypeError:
                raise _YamlNodeError(key_node, f"unusable mapping key {key!r}") from None
            if seen is not None:
                raise _YamlNodeError(key_node, f"duplicate key {key!r} (first at line {seen})")
            first_line[key] = line
            value = self.build(value_node, depth + 1)
            result[key] = value.value
            children.append(value)
        # Merge keys: keys written in the mapping win, then the earlier merged mappings.
        for source in merged:
            for key, value in source.value.items():
                result.setdefault(key, value)
        return self._collection(result, children + merged)

    def _merge_sources(self, node: Node, depth: int) -> list[_Built]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        built = [self.build(source, depth) for source in sources]
        if not all(isinstance(source, MappingNode) for source in sources):
            raise _YamlNodeError(node, "a merge key (<<) must name a mapping or a list of mappings")
        return built


def load_yaml(
    text: str,
    name: str,
    *,
    max_depth: int = MAX_DEPTH,
    max_int_chars: int = MAX_INT_CHARS,
    max_values: int = MAX_VALUES,
) -> Any:
    """The one YAML document in ``text`` as Python values (None when empty), or InputError naming ``name``
    and the line: invalid YAML, several documents, nesting over ``max_depth``, an integer written with more
    than ``max_int_chars`` characters, a duplicate or non-scalar key, an unsupported tag, or aliases that
    expand to more than ``max_values`` values."""
    try:
        root = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = "; ".join(part for part in (exc.problem, exc.context) if part)
        raise InputError(name, f"not valid YAML{where}: {what}") from None
    except yaml.YAMLError as exc:
        raise InputError(name, f"not valid YAML: {' '.join(str(exc).split())}") from None
    except UnicodeEncodeError as exc:
        raise InputError(name, f"not valid text (character {exc.start})") from None
    if root is None:
        return None
    builder = _Builder(max_depth, max_int_chars, max_values)
    try:
        return builder.build(root, 1).value
    except _YamlNodeError as exc:
        where = f"line {exc.line}: " if exc.line > 0 else ""
        raise InputError(name, f"{where}{exc.problem}") from None
