"""Trivy ignore files: plain ``.trivyignore`` and ``.trivyignore.yaml``, read into rules.

Parsing only: which finding a rule waives is judged by the check
(:mod:`verifier.checks.sarif_waivers`). ``parse_plain`` / ``parse_yaml`` take text; ``load_ignore_file``
reads a file through :mod:`verifier.sources.files` (bounded size) and picks the format from the extension,
as Trivy does (``.yaml``/``.yml`` -> YAML, anything else -> plain).

Formats as Trivy reads them (``pkg/result/ignore.go``):

* Plain file: one finding id per line; surrounding blanks are stripped; empty lines and lines starting
  with ``#`` are skipped. Further whitespace-separated fields may follow the id; the first one of the
  form ``exp:YYYY-MM-DD`` is the expiry date. A malformed expiry drops the whole line (Trivy logs a
  warning and skips it): here it becomes a *problem* and no rule. Other fields are ignored by Trivy;
  here they are kept out of the rule and reported as a problem, because a typo such as
  ``expires:2024-01-01`` would otherwise silently make a waiver permanent. Ids in a plain file apply to
  every kind of finding (``kind=None``).
* YAML file: a mapping with the sections ``vulnerabilities``, ``misconfigurations``, ``secrets`` and
  ``licenses``; each entry has ``id`` and optional ``paths`` (doublestar globs), ``purls`` (vulnerabilities
  only), ``expired_at`` (a date or timestamp) and ``statement``. An unparseable document, one that is
  not a mapping, or a mapping that repeats a key (go-yaml refuses those, so Trivy fails on them) raises
  :class:`~verifier.errors.InputError`. An empty document is an empty rule set.
  Entries Trivy would reject (invalid glob, invalid purl) or that can never match (no ``id``) are
  reported as problems and dropped, so a broken entry never widens what is waived. Id-less YAML entries
  (an unreleased Trivy proposal) are rejected as problems.
* ``expires`` is a date (the rule stops at 00:00 UTC that day) or, for a YAML timestamp, an aware
  datetime.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from packageurl import PackageURL

from verifier.errors import InputError
from verifier.sources.files import DEFAULT_MAX_BYTES, read_text

__all__ = [
    "KINDS",
    "IgnoreFile",
    "IgnoreRule",
    "compile_glob",
    "load_ignore_file",
    "parse_plain",
    "parse_purl",
    "parse_yaml",
]

KINDS = ("vulnerability", "misconfiguration", "secret", "license")
# YAML section name -> finding kind
_SECTIONS = {
    "vulnerabilities": "vulnerability",
    "misconfigurations": "misconfiguration",
    "secrets": "secret",
    "licenses": "license",
}
_ENTRY_FIELDS = frozenset({"id", "paths", "purls", "expired_at", "statement"})
_EXP_RE = re.compile(r"\d{4}-\d{2}-\d{2}")  # Go's time.Parse("2006-01-02") wants exactly this shape


@dataclass(frozen=True)
class IgnoreRule:
    """One ignore entry.

    ``expires`` is a ``datetime.date`` (the rule stops at 00:00 UTC that day) or, when the YAML gave a
    full timestamp, a timezone-aware ``datetime.datetime`` (a subclass of ``date``).
    """

    id: str
    kind: str | None
    paths: tuple[str, ...]
    purls: tuple[str, ...]
    expires: datetime.date | None
    statement: str | None
    source: str


@dataclass(frozen=True)
class IgnoreFile:
    """The rules of one ignore file plus the problems found while reading it (never fatal)."""

    rules: tuple[IgnoreRule, ...]
    problems: tuple[str, ...]


# ---------------------------------------------------------------------------------------------- plain


def parse_plain(text: str, name: str) -> IgnoreFile:
    """Parse a plain ``.trivyignore``. Never raises; malformed lines become problems."""
    rules: list[IgnoreRule] = []
    problems: list[str] = []
    for lineno, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{name}:{lineno}"
        fields = line.split()
        rule_id = fields[0]
        expires: datetime.date | None = None
        exp_field = next((f for f in fields if f.startswith("exp:")), None)
        if exp_field is not None:
            value = exp_field[len("exp:") :]
            parsed = _parse_plain_date(value)
            if parsed is None:
                problems.append(
                    f"{where}: invalid expiry {exp_field!r} (expected exp:YYYY-MM-DD); "
                    f"the line is ignored, as trivy does"
                )
                continue
            expires = parsed
        extra = [f for f in fields[1:] if f is not exp_field]
        if extra:
            problems.append(
                f"{where}: ignored text after the id: {' '.join(extra)!r} "
                "(only exp:YYYY-MM-DD is understood)"
            )
        rules.append(
            IgnoreRule(
                id=rule_id,
                kind=None,
                paths=(),
                purls=(),
                expires=expires,
                statement=None,
                source=where,
            )
        )
    return IgnoreFile(rules=tuple(rules), problems=tuple(problems))


def _parse_plain_date(value: str) -> datetime.date | None:
    if not _EXP_RE.fullmatch(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------- yaml


def parse_yaml(text: str, name: str) -> IgnoreFile:
    """Parse a ``.trivyignore.yaml``.

    Raises :class:`InputError` if the YAML cannot be parsed or its top level is not a mapping;
    everything else wrong is reported in ``problems``.
    """
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise InputError(name, f"not valid YAML: {_yaml_error(exc)}") from None
    except RecursionError:
        raise InputError(name, "YAML is nested too deeply") from None
    if root is None or _is_null(root):
        return IgnoreFile(rules=(), problems=())
    if not isinstance(root, yaml.MappingNode):
        raise InputError(
            name,
            f"line {root.start_mark.line + 1}: expected a mapping with vulnerabilities/"
            f"misconfigurations/secrets/licenses, found {_node_kind(root)}",
        )
    rules: list[IgnoreRule] = []
    problems: list[str] = []
    _reject_duplicate_keys(root, name)
    for key_node, value_node in root.value:
        where = f"{name}:{key_node.start_mark.line + 1}"
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in _SECTIONS:
            problems.append(f"{where}: unknown section {key!r} ignored")
            continue
        kind = _SECTIONS[key]
        if _is_null(value_node):
            continue
        if not isinstance(value_node, yaml.SequenceNode):
            problems.append(
                f"{where}: {key} must be a list of entries, found {_node_kind(value_node)}"
            )
            continue
        for entry in value_node.value:
            rule = _parse_entry(entry, kind, name, problems)
            if rule is not None:
                rules.append(rule)
    return IgnoreFile(rules=tuple(rules), problems=tuple(problems))


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader (libyaml when available); only ``compose`` is used, so nodes keep line numbers."""


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} at line {mark.line + 1} column {mark.column + 1}"
    return str(problem)


def _reject_duplicate_keys(node: yaml.MappingNode, name: str) -> None:
    """go-yaml (and so Trivy) refuses a mapping that repeats a key; which value wins is ambiguous."""
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        line = key_node.start_mark.line + 1
        if key_node.value in seen:
            raise InputError(
                name,
                f"line {line}: key {key_node.value!r} already defined at line {seen[key_node.value]}",
            )
        seen[key_node.value] = line


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the scalar {node.value!r}"


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _parse_entry(entry: yaml.Node, kind: str, name: str, problems: list[str]) -> IgnoreRule | None:
    where = f"{name}:{entry.start_mark.line + 1}"
    if not isinstance(entry, yaml.MappingNode):
        problems.append(f"{where}: entry must be a mapping with an id, found {_node_kind(entry)}")
        return None
    _reject_duplicate_keys(entry, name)
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in entry.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in _ENTRY_FIELDS:
            problems.append(
                f"{name}:{key_node.start_mark.line + 1}: unknown field {key!r} ignored "
                f"(known: {', '.join(sorted(_ENTRY_FIELDS))})"
            )
            continue
        fields[str(key)] = value_node

    id_node = fields.get("id")
    rule_id = _string_field(id_node)
    if not rule_id:
        problems.append(f"{where}: entry has no id; it is ignored (trivy matches ids exactly)")
        return None

    paths = _string_list(fields.get("paths"), "paths", where, problems)
    if paths is None:
        return None
    for pattern in paths:
        if compile_glob(pattern) is None:
            problems.append(
                f"{where}: invalid path pattern {pattern!r} for {rule_id}; entry ignored"
            )
            return None

    purls = _string_list(fields.get("purls"), "purls", where, problems)
    if purls is None:
        return None
    for text in purls:
        if parse_purl(text) is None:
            problems.append(f"{where}: invalid purl {text!r} for {rule_id}; entry ignored")
            return None
    if purls and kind != "vulnerability":
        problems.append(
            f"{where}: purls are only used for vulnerabilities; ignored for this {kind} entry"
        )
        purls = []

    expires: datetime.date | None = None
    exp_node = fields.get("expired_at")
    if exp_node is not None and not _is_null(exp_node):
        expires = _yaml_expiry(exp_node)
        if expires is None:
            problems.append(
                f"{where}: invalid expired_at {getattr(exp_node, 'value', '')!r} for {rule_id} "
                "(expected YYYY-MM-DD); entry ignored"
            )
            return None

    statement = _string_field(fields.get("statement")) or None
    return IgnoreRule(
        id=rule_id,
        kind=kind,
        paths=tuple(paths),
        purls=tuple(purls),
        expires=expires,
        statement=statement,
        source=where,
    )


def _string_field(node: yaml.Node | None) -> str:
    if node is None or not isinstance(node, yaml.ScalarNode) or _is_null(node):
        return ""
    return str(node.value).strip()


def _string_list(
    node: yaml.Node | None, field: str, where: str, problems: list[str]
) -> list[str] | None:
    """A list of strings; ``None`` (after recording a problem) if the field is malformed."""
    if node is None or _is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.append(f"{where}: {field} must be a list of strings; entry ignored")
        return None
    out: list[str] = []
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or _is_null(item):
            problems.append(f"{where}: {field} must be a list of strings; entry ignored")
            return None
        out.append(str(item.value))
    return out


_YAML_TS_RE = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(?P<H>\d{1,2}):(?P<M>\d{1,2}):(?P<S>\d{1,2})(?:\.(?P<f>\d+))?"
    r"[ \t]*(?P<tz>Z|[-+]\d{1,2}(?::?\d{2})?)?)?"
)


def _yaml_expiry(node: yaml.Node) -> datetime.date | None:
    """``expired_at`` as go-yaml decodes it into a ``time.Time``: a date (00:00 UTC) or a timestamp
    (a timestamp without a zone is UTC). Quoted strings are accepted too."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    match = _YAML_TS_RE.fullmatch(str(node.value).strip())
    if match is None:
        return None
    try:
        day = datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
        if match["H"] is None:
            return day
        frac = (match["f"] or "0")[:6].ljust(6, "0")
        tz = datetime.UTC
        if match["tz"] and match["tz"] != "Z":
            sign = -1 if match["tz"][0] == "-" else 1
            digits = match["tz"][1:].replace(":", "")
            hours, minutes = (
                (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
            )
            tz = datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))
        return datetime.datetime(
            day.year, day.month, day.day,
            int(match["H"]), int(match["M"]), int(match["S"]), int(frac), tzinfo=tz,
        )  # fmt: skip
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------- load


def load_ignore_file(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> IgnoreFile:
    """Read an ignore file (size-capped) and parse it as YAML for ``*.yaml``/``*.yml``, else plain."""
    name = str(path)
    text = read_text(name, max_bytes)
    if Path(name).suffix in (".yaml", ".yml"):
        return parse_yaml(text, name)
    return parse_plain(text, name)


# ----------------------------------------------------------------------------------------------- purl


@lru_cache(maxsize=4096)
def parse_purl(text: str) -> PackageURL | None:
    """Parse a purl (cached); ``None`` if it is not a valid purl."""
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------- glob


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str] | None:
    """A doublestar path pattern as a regular expression to ``fullmatch`` against a slash-separated path
    (``**`` spans directories); ``None`` if the pattern is invalid (Trivy rejects such entries)."""
    try:
        body = _glob_to_regex(pattern)
    except ValueError:
        return None
    return re.compile(body, re.DOTALL)


def _glob_to_regex(pattern: str) -> str:
    """Translate a doublestar pattern: ``*`` and ``?`` stay within one path component, ``**`` as a
    whole component matches zero or more components (``a/**`` also matches ``a``), ``[...]``/``[!...]``
    classes, ``{a,b}`` alternatives, ``\\`` escapes. Raises ValueError if the pattern is invalid."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    brace_depth = 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError("dangling escape")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            at_start = i == 0 or pattern[i - 1] == "/"
            at_end = j == n or pattern[j] == "/"
            if j - i >= 2 and at_start and at_end:
                if j == n:
                    # trailing "**": everything below, and the directory itself
                    if out and out[-1] == "/":
                        out.pop()
                        out.append("(?:/.*)?")
                    else:
                        out.append(".*")
                else:
                    out.append("(?:[^/]*/)*")  # zero or more whole components, slash included
                    j += 1  # consume the "/"
                i = j
                continue
            out.append("[^/]*")
            i = j
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            negate = j < n and pattern[j] in "!^"
            if negate:
                j += 1
            items: list[str] = []
            first = True
            while j < n and (pattern[j] != "]" or first):
                first = False
                if pattern[j] == "\\" and j + 1 < n:
                    items.append(re.escape(pattern[j + 1]))
                    j += 2
                    continue
                if pattern[j] == "-" and items and j + 1 < n and pattern[j + 1] != "]":
                    items.append("-")
                else:
                    items.append(re.escape(pattern[j]))
                j += 1
            if j >= n or not items:
                raise ValueError("unclosed character class")
            out.append(("[^/" if negate else "[") + "".join(items) + "]")
            i = j + 1
            continue
        elif c == "{":
            brace_depth += 1
            out.append("(?:")
        elif c == "}" and brace_depth:
            brace_depth -= 1
            out.append(")")
        elif c == "," and brace_depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    if brace_depth:
        raise ValueError("unclosed brace")
    return "".join(out)
