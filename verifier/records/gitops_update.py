"""Guarded GitOps update: set one value in a YAML file, keeping its comments and formatting.

``FILE:PATH=VALUE`` as in ``apps/api/values-production.yaml:.image.digest=sha256:…``. PATH is a dotted
path of mapping keys (a leading ``.`` is optional; ``[N]`` indexes a list). The edit is a ruamel.yaml
round trip, so comments, key order, quoting style and indentation of the rest of the file are kept.

A key named ``digest`` (or a PATH ending in ``.digest``) requires a digest (``sha256:<64 hex>``): a tag
there is refused. The gate calls :func:`apply_update` only when the decision is allow.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path
from typing import Any

from verifier.errors import ConfigError, InputError
from verifier.sources.files import read_text

DIGEST_RE = re.compile(r"\Asha256:[0-9a-f]{64}\Z|\Asha512:[0-9a-f]{128}\Z")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
MAX_VALUES_BYTES = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Update:
    """One parsed ``FILE:PATH=VALUE``."""

    file: Path
    path: tuple[str | int, ...]
    value: str

    @property
    def path_text(self) -> str:
        """The path as written back in messages (``.image.digest``)."""
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)

    @property
    def requires_digest(self) -> bool:
        """True when the last key is ``digest``: only a digest may be written there."""
        return (
            bool(self.path) and isinstance(self.path[-1], str) and self.path[-1].lower() == "digest"
        )


def parse_update(spec: str) -> Update:
    """Parse ``FILE:PATH=VALUE``; ConfigError (exit 2) when it is malformed."""
    head, eq, value = spec.partition("=")
    file, colon, path = head.rpartition(":")
    if not eq or not colon or not file or not path:
        raise ConfigError(
            f"--update {spec!r}: expected FILE:PATH=VALUE (e.g. values.yaml:.image.digest=sha256:…)"
        )
    parts: list[str | int] = []
    pos = 1 if path.startswith(".") else 0
    while pos < len(path):
        m = _PART.match(path, pos)
        if not m:
            raise ConfigError(f"--update {spec!r}: bad path {path!r} at character {pos + 1}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
        if pos < len(path) and path[pos] == ".":
            pos += 1
            if pos == len(path):
                raise ConfigError(f"--update {spec!r}: path {path!r} ends with '.'")
    if not parts:
        raise ConfigError(f"--update {spec!r}: empty path")
    update = Update(Path(file), tuple(parts), value)
    check_value(update)
    return update


def check_value(update: Update) -> None:
    """Refuse a tag (or anything else that is not a digest) where a digest is required."""
    if update.requires_digest and not DIGEST_RE.match(update.value):
        raise ConfigError(
            f"--update {update.file}:{update.path_text}: {update.value!r} is not a digest "
            "(sha256:<64 hex>); a tag is refused where a digest is required"
        )


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap long lines
    return y


def render_update(text: str, update: Update) -> str:
    """The file's new text with the value set; InputError when the path does not lead anywhere."""
    from ruamel.yaml.error import YAMLError

    name = str(update.file)
    from ruamel.yaml.util import load_yaml_guess_indent

    y = _yaml()
    try:
        _, seq_indent, block_seq_indent = load_yaml_guess_indent(text)
        # Keep the file's own indentation of mappings and of `- ` list items.
        y.indent(
            mapping=_mapping_indent(text), sequence=seq_indent or 2, offset=block_seq_indent or 0
        )
        doc = y.load(text)
    except YAMLError as exc:
        raise InputError(name, f"not valid YAML: {str(exc).splitlines()[0]}") from None
    if doc is None:
        raise InputError(name, "empty document")
    node: Any = doc
    for i, key in enumerate(update.path[:-1]):
        node = _step(node, key, name, update.path[: i + 1])
    last = update.path[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise InputError(name, f"{_txt(update.path)}: no such list item")
        node[last] = _styled(node[last], update.value)
    else:
        if not isinstance(node, dict):
            raise InputError(name, f"{_txt(update.path[:-1]) or '(top level)'} is not a mapping")
        if last in node:
            node[last] = _styled(node[last], update.value)
        else:
            node[last] = update.value
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def _mapping_indent(text: str) -> int:
    """The smallest indentation of a nested mapping key (not a list item, not a comment); 2 when none."""
    best = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        width = len(line) - len(stripped)
        if width and stripped and not stripped.startswith(("#", "- ", "-\t")) and stripped != "-":
            best = width if not best else min(best, width)
    return best or 2


def _txt(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _step(node: Any, key: str | int, name: str, where: tuple[str | int, ...]) -> Any:
    if isinstance(key, int):
        if isinstance(node, list) and key < len(node):
            return node[key]
        raise InputError(name, f"{_txt(where)}: no such list item")
    if isinstance(node, dict) and key in node and isinstance(node[key], (dict, list)):
        return node[key]
    if isinstance(node, dict) and key not in node:
        raise InputError(name, f"{_txt(where)}: no such key")
    raise InputError(name, f"{_txt(where)} is not a mapping")


def _styled(old: Any, value: str) -> Any:
    """Keep the old scalar's quoting style."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(value)
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(value)
    return value


def apply_update(update: Update) -> str:
    """Rewrite the file in place; returns the new text. Call only after an allow."""
    check_value(update)
    text = read_text(update.file, MAX_VALUES_BYTES)
    new = render_update(text, update)
    try:
        update.file.write_text(new, encoding="utf-8")
    except OSError as exc:
        raise InputError(str(update.file), f"cannot write: {exc.strerror}") from None
    return new
