"""Package rules (``sbom.denied_packages``) matched against an SBOM's packages with each ecosystem's rules.

A rule names a package and, optionally, versions:

- ``pkg:TYPE/NAMESPACE/NAME`` (a package URL without version) matches every version; ``*`` globs the name
  (``pkg:npm/*``). A bare ``NAME`` (no ``pkg:``) matches a package of any ecosystem by name.
- ``@`` + comma-separated constraints, all of which must hold: ``<4.17.21``, ``>=2.0.0,<2.17.1``,
  ``!=1.2.3``, ``=1.2.3``;
- ``@`` + a ``vers:`` range (the purl project's version-range syntax): ``@vers:golang/<0.17.0``,
  ``@vers:npm/<1.0.0|>=2.0.0``;
- ``@`` + anything else is one exact version: ``@v0.7.0``, ``@1:1.1.1n-0+deb11u3``.

Names are compared as the purl spec normalises them, on both sides: PyPI names per PEP 503 (``python_jose``
= ``python-jose``), npm scopes with ``@`` or ``%40``, percent-encoding decoded, case ignored (a deny list
errs on the side of matching). Versions are compared with the package ecosystem's own order (univers:
Debian epochs and ``~``, Go's ``v`` and pseudo-versions, PEP 440, semver, Maven, RPM, Alpine, ...). Types
univers does not know (``conda``, ``generic``, ...) and packages without a purl use :class:`GenericVersion`.

Components without a purl are matched by name: a ``pkg:`` rule matches a component whose name is the
rule's full name (``golang.org/x/net``, ``org.apache.logging.log4j/log4j-core``; for Maven also the bare
artifact name, since SPDX packages rarely carry the group), a bare-name rule matches the component's name.

Fail closed: when a matching package has no version, or a version the ecosystem cannot parse, a rule with
versions cannot say it is outside them, and the match is reported as such (``note``) instead of dropped.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

OPERATORS = ("<=", ">=", "!=", "<", ">", "=")
# purl types whose names univers orders; any other type uses the generic order.
_SCHEMES = {
    "alpm": "alpm",
    "apk": "apk",
    "cargo": "cargo",
    "composer": "composer",
    "conan": "conan",
    "deb": "deb",
    "gem": "gem",
    "github": "github",
    "golang": "golang",
    "hex": "hex",
    "maven": "maven",
    "npm": "npm",
    "nuget": "nuget",
    "pypi": "pypi",
    "rpm": "rpm",
}
GENERIC = "generic"
_PEP503 = re.compile(r"[-_.]+")
_GENERIC_PARTS = re.compile(r"[.+_~:-]")
_NUMBER = re.compile(r"[0-9]+")


class PackageRuleError(ValueError):
    """A package rule cannot be read; the message names the rule and what is wrong."""


@dataclass(frozen=True, slots=True)
class PackageId:
    """One package of an SBOM as the rules see it. ``type`` is "" for a component without a purl."""

    type: str
    name: str  # normalised full name: "golang.org/x/net", "@scope/name", "python-jose"
    version: str  # as written, percent-decoded ("" when the SBOM gives none)

    @property
    def label(self) -> str:
        """``pkg:TYPE/NAME`` for a purl, else the component's name."""
        return f"pkg:{self.type}/{self.name}" if self.type else self.name


@dataclass(frozen=True, slots=True)
class Match:
    """A package that a rule denies; ``note`` says why it counts when its version could not be compared."""

    rule: str
    package: str
    version: str
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form (the policy input)."""
        return {
            "rule": self.rule,
            "package": self.package,
            "version": self.version,
            "note": self.note,
        }


def normalize_name(purl_type: str, name: str) -> str:
    """A package name (``namespace/name``, percent-decoded) in the form the purl spec compares."""
    name = name.lower()
    if purl_type == "pypi":
        return _PEP503.sub("-", name)
    return name


def _loose(name: str) -> str:
    """Names of unknown ecosystem: case and runs of ``-_.`` ignored."""
    return _PEP503.sub("-", name.lower())


def split_purl(purl: str) -> PackageId | None:
    """``pkg:TYPE/NAMESPACE/NAME@VERSION?qualifiers#subpath`` -> :class:`PackageId`; None if not a purl.

    Written by hand rather than with packageurl-python: it reads the thousands of purls of an image SBOM at
    a twentieth of the cost, and only splits (no validation is needed to look names up).
    """
    if not purl.startswith("pkg:"):
        return None
    base = purl[4:].split("#", 1)[0].split("?", 1)[0].lstrip("/")
    purl_type, sep, rest = base.partition("/")
    if not sep or not purl_type or not rest:
        return None
    name, version = rest, ""
    at = rest.rfind("@")
    if at > rest.rfind(
        "/"
    ):  # an "@" in the last segment separates the version ("%40" scopes are before)
        name, version = rest[:at], rest[at + 1 :]
    purl_type = purl_type.lower()
    return PackageId(
        purl_type, normalize_name(purl_type, unquote(name).strip("/")), unquote(version)
    )


# ------------------------------------------------------------------------------------------ versions


@functools.total_ordering
class GenericVersion:
    """The order used where no ecosystem order applies: parts split on ``. - + _ ~ :``, numeric parts by
    value and before alphabetic ones, a missing part equal to ``0`` and after an alphabetic part (so
    ``1.0.0-rc1 < 1.0.0`` and ``1.2 = 1.2.0``). Written here because univers's generic scheme is semver,
    which reads a fourth number as build metadata (``1.2.3.4 == 1.2.3.5``)."""

    __slots__ = ("parts",)

    def __init__(self, text: str) -> None:
        if not text or not text.strip():
            raise ValueError("empty version")
        self.parts: tuple[str, ...] = tuple(_GENERIC_PARTS.split(text.strip()))

    @staticmethod
    def _cmp_part(x: str, y: str) -> int:
        xn, yn = bool(_NUMBER.fullmatch(x)), bool(_NUMBER.fullmatch(y))
        if xn and yn:
            return (int(x) > int(y)) - (int(x) < int(y))
        if x == y:
            return 0
        if not x:  # missing part: 0 against a number, after letters
            return 0 if yn and int(y) == 0 else (-1 if yn else 1)
        if not y:
            return 0 if xn and int(x) == 0 else (1 if xn else -1)
        if xn != yn:
            return -1 if xn else 1
        return (x > y) - (x < y)

    def _cmp(self, other: GenericVersion) -> int:
        n = max(len(self.parts), len(other.parts))
        for i in range(n):
            a = self.parts[i] if i < len(self.parts) else ""
            b = other.parts[i] if i < len(other.parts) else ""
            c = self._cmp_part(a, b)
            if c:
                return c
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GenericVersion) and self._cmp(other) == 0

    def __lt__(self, other: GenericVersion) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        return hash(self.parts)

    def __repr__(self) -> str:
        return f"GenericVersion({'.'.join(self.parts)!r})"


def scheme_for(purl_type: str) -> str:
    """The version scheme of a purl type (``generic`` for types without a known order)."""
    return _SCHEMES.get(purl_type, GENERIC)


@functools.lru_cache(maxsize=8192)
def parse_version(scheme: str, text: str) -> Any:
    """A comparable version of ``scheme``; ``ValueError`` when the ecosystem cannot read it."""
    if scheme == GENERIC:
        return GenericVersion(text)
    from univers.version_range import RANGE_CLASS_BY_SCHEMES

    version_class: Any = RANGE_CLASS_BY_SCHEMES[scheme].version_class
    try:
        return version_class(text)
    except Exception as exc:  # univers raises InvalidVersion, ValueError, TypeError by class
        raise ValueError(f"{text!r} is not a {scheme} version") from exc


# ------------------------------------------------------------------------------------------ rules


@dataclass(frozen=True, slots=True)
class PackageRule:
    """One parsed rule. ``type`` is "" for a bare name; ``versions`` is None for "every version"."""

    text: str
    type: str
    name: str  # normalised full name, may hold "*"
    exact: str = ""  # one exact version
    constraints: tuple[tuple[str, str], ...] = ()  # all must hold
    vers: Any = None  # a univers VersionRange
    vers_scheme: str = ""

    @property
    def glob(self) -> bool:
        """True when the name holds a wildcard."""
        return "*" in self.name or "?" in self.name

    @property
    def any_version(self) -> bool:
        """True when every version matches."""
        return not self.exact and not self.constraints and self.vers is None

    def version_matches(self, package: PackageId) -> tuple[bool, str]:
        """(matches, note). Fail closed: a version that cannot be compared matches, with a note."""
        if self.any_version:
            return True, ""
        if not package.version:
            return True, "the SBOM gives no version, so it cannot be shown to be outside the rule"
        if self.exact and self.exact == package.version:
            return True, ""
        scheme = self.vers_scheme or scheme_for(package.type)
        try:
            have = parse_version(scheme, package.version)
            if self.vers is not None:
                return have in self.vers, ""
            if self.exact:
                return have == parse_version(scheme, self.exact), ""
            return all(_holds(have, op, parse_version(scheme, v)) for op, v in self.constraints), ""
        except (ValueError, TypeError) as exc:
            return True, f"version cannot be compared ({exc})"


def _holds(have: Any, op: str, want: Any) -> bool:
    if op == "<":
        return bool(have < want)
    if op == "<=":
        return bool(have <= want)
    if op == ">":
        return bool(have > want)
    if op == ">=":
        return bool(have >= want)
    if op == "!=":
        return bool(have != want)
    return bool(have == want)


def _split_rule(text: str) -> tuple[str, str]:
    """(name part, version part) of a rule."""
    at = text.find("@vers:")
    if at >= 0:
        return text[:at], text[at + 1 :]
    at = text.rfind("@")
    if at > 0 and at > text.rfind("/"):
        return text[:at], text[at + 1 :]
    # "pkg:npm/lodash@<1" has no "/" after the "@"; a scope ("@scope/name") puts one after it.
    return text, ""


def _constraint(raw: str, rule: str) -> tuple[str, str]:
    for op in OPERATORS:
        if raw.startswith(op):
            version = raw[len(op) :].strip()
            if not version:
                raise PackageRuleError(f"{rule}: {raw!r} has no version after {op!r}")
            return op, version
    return "=", raw


@functools.lru_cache(maxsize=1024)
def parse_rule(text: str) -> PackageRule:
    """Read one rule (see the module docstring); :class:`PackageRuleError` names what is wrong."""
    original, text = text, text.strip()
    if not text:
        raise PackageRuleError("an empty package rule")
    name_part, version_part = _split_rule(text)
    purl_type = ""
    if name_part.startswith("pkg:"):
        purl_type, sep, name = name_part[4:].lstrip("/").partition("/")
        if not sep or not purl_type or not name.strip("/"):
            raise PackageRuleError(f"{text}: a package URL rule is pkg:TYPE/[NAMESPACE/]NAME")
        if "?" in name or "#" in name:
            raise PackageRuleError(
                f"{text}: qualifiers and subpaths are not matched; leave them out"
            )
        purl_type = purl_type.lower()
        name = normalize_name(purl_type, unquote(name).strip("/"))
    else:
        name = _loose(unquote(name_part))
    if not name:
        raise PackageRuleError(f"{text}: no package name")
    if not version_part:
        return PackageRule(original, purl_type, name)
    if version_part.startswith("vers:"):
        return _vers_rule(original, purl_type, name, version_part)
    parts = [p.strip() for p in version_part.split(",")]
    if any(p.startswith(OPERATORS) for p in parts) or len(parts) > 1:
        constraints = tuple(_constraint(p, text) for p in parts if p)
        if not constraints:
            raise PackageRuleError(f"{text}: no version constraint after '@'")
        if purl_type:  # the ecosystem is known: the bounds must be its versions
            for _op, version in constraints:
                _check_version(text, scheme_for(purl_type), version)
        return PackageRule(original, purl_type, name, constraints=constraints)
    if purl_type:
        _check_version(text, scheme_for(purl_type), version_part)
    return PackageRule(original, purl_type, name, exact=version_part)


def _check_version(rule: str, scheme: str, version: str) -> None:
    try:
        parse_version(scheme, version)
    except ValueError as exc:
        raise PackageRuleError(f"{rule}: {exc}") from None


def _vers_rule(text: str, purl_type: str, name: str, vers: str) -> PackageRule:
    from univers.version_range import RANGE_CLASS_BY_SCHEMES, VersionRange

    scheme = vers[5:].split("/", 1)[0].lower()
    if scheme not in RANGE_CLASS_BY_SCHEMES:
        raise PackageRuleError(f"{text}: {scheme!r} is not a vers versioning scheme")
    try:
        version_range = VersionRange.from_string(vers)  # type: ignore[no-untyped-call]
    except Exception as exc:  # univers raises ValueError, InvalidVersion, TypeError
        raise PackageRuleError(f"{text}: not a valid vers range: {exc}") from None
    return PackageRule(text, purl_type, name, vers=version_range, vers_scheme=scheme)


# ------------------------------------------------------------------------------------------ matching


class PackageIndex:
    """An SBOM's packages, indexed for rule lookups (built once per SBOM, only when rules are set)."""

    def __init__(self, purls: Iterable[str], without_purl: Iterable[tuple[str, str]]) -> None:
        self.by_purl: dict[tuple[str, str], list[PackageId]] = {}
        self.by_last_name: dict[str, list[PackageId]] = {}
        self.by_loose_name: dict[str, list[PackageId]] = {}
        for purl in purls:
            pkg = split_purl(purl)
            if pkg is not None:
                self.by_purl.setdefault((pkg.type, pkg.name), []).append(pkg)
                self.by_last_name.setdefault(_loose(pkg.name.rsplit("/", 1)[-1]), []).append(pkg)
        for name, version in without_purl:
            pkg = PackageId("", name, version)
            self.by_loose_name.setdefault(_loose(name), []).append(pkg)

    def _candidates(self, rule: PackageRule) -> Iterable[PackageId]:
        if rule.type and not rule.glob:
            yield from self.by_purl.get((rule.type, rule.name), ())
            yield from self.by_loose_name.get(_loose(rule.name), ())
            if rule.type == "maven" and "/" in rule.name:
                artifact = _loose(rule.name.rsplit("/", 1)[1])
                yield from (p for p in self.by_loose_name.get(artifact, ()) if "/" not in p.name)
        elif rule.type:
            for (purl_type, name), pkgs in self.by_purl.items():
                if purl_type == rule.type and fnmatch.fnmatchcase(name, rule.name):
                    yield from pkgs
        elif not rule.glob:
            yield from self.by_last_name.get(rule.name, ())
            for (_purl_type, name), pkgs in self.by_purl.items():
                if "/" in rule.name and _loose(name) == rule.name:
                    yield from pkgs
            yield from self.by_loose_name.get(rule.name, ())
        else:
            for key, pkgs in (*self.by_last_name.items(), *self.by_loose_name.items()):
                if fnmatch.fnmatchcase(key, rule.name):
                    yield from pkgs

    def matches(self, rules: Sequence[PackageRule]) -> list[Match]:
        """Every (rule, package, version) the rules deny, each once, in rule order."""
        out: dict[tuple[str, str, str], Match] = {}
        for rule in rules:
            for pkg in self._candidates(rule):
                hit, note = rule.version_matches(pkg)
                key = (rule.text, pkg.label, pkg.version)
                if hit and key not in out:
                    out[key] = Match(rule.text, pkg.label, pkg.version, note)
        return list(out.values())


__all__ = [
    "GenericVersion",
    "Match",
    "PackageId",
    "PackageIndex",
    "PackageRule",
    "PackageRuleError",
    "normalize_name",
    "parse_rule",
    "parse_version",
    "scheme_for",
    "split_purl",
]
