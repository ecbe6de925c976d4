"""Package rules (``verifier.sbom.packages``): purl names, ecosystem version order, rule syntax, matching.

Differential tests compare with the reference implementations on every version and purl of the vendored
SBOM corpus: Debian order with the real ``dpkg --compare-versions``, PEP 440 order with ``packaging``
(pip's own), purl splitting with packageurl-python.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
import subprocess
from collections.abc import Callable
from urllib.parse import unquote

import pytest
from packageurl import PackageURL
from packaging.version import InvalidVersion, Version

from tests.conftest import UPSTREAM
from verifier.sbom.packages import (
    GenericVersion,
    PackageId,
    PackageIndex,
    PackageRuleError,
    parse_rule,
    parse_version,
    split_purl,
)

CORPUS = UPSTREAM / "sbom"
_PURL_RE = re.compile(r'pkg:[a-z0-9.+-]+/[^"<>\s]+')


@functools.cache
def corpus_purls() -> list[str]:
    found: set[str] = set()
    for path in CORPUS.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".xml", ".spdx"):
            found.update(_PURL_RE.findall(path.read_text(errors="replace")))
    return sorted(p.replace("&amp;", "&") for p in found)


def versions_of(purl_type: str) -> list[str]:
    out = set()
    for purl in corpus_purls():
        pkg = split_purl(purl)
        if pkg is not None and pkg.type == purl_type and pkg.version:
            out.add(pkg.version)
    return sorted(out)


def matches(rule: str, purls: list[str], without: list[tuple[str, str]] | None = None) -> list:
    return [
        (m.package, m.version, m.note != "")
        for m in PackageIndex(purls, without or []).matches([parse_rule(rule)])
    ]


# ------------------------------------------------------------------------------------ issue 17 cases


@pytest.mark.parametrize(
    "rule",
    [
        "pkg:golang/golang.org/x/net@<0.17.0",
        "pkg:golang/golang.org/x/net@v0.7.0",
        "pkg:golang/golang.org/x/net@0.7.0",
        "pkg:golang/golang.org/x/net@vers:golang/<0.17.0",
        "pkg:golang/golang.org/x/net@vers:golang/>=0.1.0|<0.17.0",
        "pkg:golang/golang.org/x/net@>=v0.7.0,<v0.8.0",
    ],
)
def test_go_v_prefix(rule: str) -> None:
    """Before: "v0.7.0" sorted after every number, and "@v0.7.0" was read as part of the name."""
    assert matches(rule, ["pkg:golang/golang.org/x/net@v0.7.0"]) == [
        ("pkg:golang/golang.org/x/net", "v0.7.0", False)
    ]


@pytest.mark.parametrize(
    "rule",
    [
        "pkg:golang/golang.org/x/net@<0.7.0",
        "pkg:golang/golang.org/x/net@v0.17.0",
        "pkg:golang/golang.org/x/net@vers:golang/>=0.17.0",
        "pkg:golang/golang.org/x/text",
    ],
)
def test_go_outside_the_rule(rule: str) -> None:
    assert matches(rule, ["pkg:golang/golang.org/x/net@v0.7.0"]) == []


@pytest.mark.parametrize(
    "sbom_purl",
    ["pkg:pypi/python_jose@3.3.0", "pkg:pypi/Python.Jose@3.3.0", "pkg:PYPI/python-jose@3.3.0"],
)
@pytest.mark.parametrize(
    "rule",
    ["pkg:pypi/python-jose", "pkg:pypi/python_jose@<3.4", "pkg:pypi/PYTHON-JOSE@vers:pypi/<3.4.0"],
)
def test_pypi_names_are_normalised(sbom_purl: str, rule: str) -> None:
    """Before: pkg:pypi/python-jose missed the SBOM's python_jose (PEP 503 names)."""
    assert matches(rule, [sbom_purl]) == [("pkg:pypi/python-jose", "3.3.0", False)]


def test_component_without_purl_matches_by_name() -> None:
    """Before: a component without a purl could not be denied."""
    without = [("go.etcd.io/etcd/v3", "3.5.7-0"), ("glibc", "2.11.1"), ("Apache Log4j Core", "")]
    assert matches("pkg:golang/go.etcd.io/etcd/v3@<3.5.9", [], without) == [
        ("go.etcd.io/etcd/v3", "3.5.7-0", False)
    ]
    assert matches("glibc@<2.12", [], without) == [("glibc", "2.11.1", False)]
    assert matches("glibc@>=2.12", [], without) == []
    assert matches("pkg:maven/org.apache.logging.log4j/log4j-core", [], [("log4j-core", "2.14.1")])
    # no version: a range cannot be shown not to apply (fail closed, with the reason)
    assert matches("Apache Log4j Core@<2.17.1", [], without) == [("Apache Log4j Core", "", True)]


@pytest.mark.parametrize(
    ("version", "rule", "denied"),
    [
        ("1:1.1.1n", "pkg:deb/debian/openssl@>=1.1.1o", True),  # the epoch outranks upstream
        ("1:1.1.1n", "pkg:deb/debian/openssl@<1:1.1.1o", True),
        ("1.1.1n-0+deb11u3", "pkg:deb/debian/openssl@<1:1.1.1o", True),
        ("1:1.1.1n", "pkg:deb/debian/openssl@<1.1.1o", False),
        ("1:1.1.1n", "pkg:deb/debian/openssl@1:1.1.1n", True),
        ("1%3A1.1.1n", "pkg:deb/debian/openssl@1:1.1.1n", True),
        ("1.0~rc1", "pkg:deb/debian/openssl@<1.0", True),
        ("2:6.2.0+dfsg-4", "pkg:deb/debian/openssl@vers:deb/>=6.2.0", True),
    ],
)
def test_debian_epochs_and_tildes(version: str, rule: str, denied: bool) -> None:
    """Before: the epoch ("1:") was compared as a major version number."""
    found = matches(rule, [f"pkg:deb/debian/openssl@{version}?arch=amd64&distro=debian-11"])
    assert bool(found) is denied, found


# ------------------------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("", "empty"),
        ("pkg:npm", "pkg:TYPE/[NAMESPACE/]NAME"),
        ("pkg:npm/", "pkg:TYPE/[NAMESPACE/]NAME"),
        ("pkg:npm/lodash@<", "has no version after '<'"),
        ("pkg:npm/lodash@vers:nosuchscheme/<1", "not a vers versioning scheme"),
        ("pkg:pypi/jose@vers:pypi/<not-a-version", "not a valid vers range"),
        ("pkg:pypi/jose@<not a version", "is not a pypi version"),
        ("pkg:deb/debian/openssl@<1:", "is not a deb version"),
        ("pkg:npm/lodash?arch=x", "qualifiers"),
    ],
)
def test_bad_rules_are_refused(rule: str, fragment: str) -> None:
    with pytest.raises(PackageRuleError) as info:
        parse_rule(rule)
    assert fragment in str(info.value)


def test_rule_forms() -> None:
    assert parse_rule("pkg:npm/lodash").any_version
    assert parse_rule("pkg:npm/%40angular/core@<17").name == "@angular/core"
    assert parse_rule("pkg:npm/@angular/core").any_version
    assert parse_rule("pkg:golang/golang.org/x/net@v0.7.0").exact == "v0.7.0"
    assert parse_rule("pkg:npm/lodash@>=4.0.0, <4.17.21").constraints == (
        (">=", "4.0.0"),
        ("<", "4.17.21"),
    )
    assert parse_rule("pkg:npm/*").glob
    assert parse_rule("  pkg:npm/lodash ").text == "  pkg:npm/lodash "  # the config's own spelling


def test_today_syntax_still_matches() -> None:
    sbom = ["pkg:npm/lodash@4.17.20", "pkg:npm/%40angular/core@16.0.0", "pkg:npm/lodash-es@4.17.20"]
    assert len(matches("pkg:npm/lodash", sbom)) == 1
    assert len(matches("pkg:npm/lodash@<4.17.21", sbom)) == 1
    assert len(matches("pkg:npm/lodash@>=4.0.0,<4.17.21", sbom)) == 1
    assert len(matches("pkg:npm/lodash@4.17.20", sbom)) == 1
    assert len(matches("pkg:npm/lodash@=4.17.20", sbom)) == 1
    assert matches("pkg:npm/lodash@<4.17.20", sbom) == []
    assert matches("pkg:npm/lodash@>=4.17.21", sbom) == []
    assert matches("pkg:npm/lodash@!=4.17.20", sbom) == []
    assert len(matches("pkg:npm/%40angular/core@<17", sbom)) == 1
    assert len(matches("pkg:npm/@angular/core", sbom)) == 1
    assert len(matches("pkg:npm/*", sbom)) == 3
    assert len(matches("pkg:npm/lodash*", sbom)) == 2


def test_uncomparable_versions_fail_closed() -> None:
    found = matches("pkg:pypi/jose@<3", ["pkg:pypi/jose@not.a.version!", "pkg:pypi/jose"])
    assert found == [("pkg:pypi/jose", "not.a.version!", True), ("pkg:pypi/jose", "", True)]
    # A rule's own bounds must be versions of its ecosystem; a bare-name rule naming exactly the text
    # the SBOM gives matches it without a note.
    with pytest.raises(PackageRuleError, match="is not a pypi version"):
        parse_rule("pkg:pypi/jose@weird")
    assert matches("jose@weird", ["pkg:pypi/jose@weird"]) == [("pkg:pypi/jose", "weird", False)]


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("1.10.0", "1.9.9", 1),
        ("1.2", "1.2.0", 0),
        ("1.02", "1.2", 0),
        ("1.0.0-rc1", "1.0.0", -1),
        ("2.17.1", "2.17.0", 1),
        ("4.2.46-31.el7", "4.2.46-4.el7", 1),
        ("1.0a", "1.0b", -1),
        ("1.2.3.4", "1.2.3.5", -1),  # univers's generic (semver) calls these equal
        ("1.1.1q", "1.1.1r", -1),
    ],
)
def test_generic_order(a: str, b: str, order: int) -> None:
    x, y = GenericVersion(a), GenericVersion(b)
    assert ((x > y) - (x < y)) == order
    assert ((y > x) - (y < x)) == -order


# ------------------------------------------------------------------------------------ differential


def test_debian_order_agrees_with_dpkg() -> None:
    versions = versions_of("deb")
    assert len(versions) > 100
    ordered = sorted(versions, key=functools.cmp_to_key(_cmp("deb")))
    rng = random.Random(17)  # noqa: S311 - a fixed sample of pairs, not a secret
    pairs = list(itertools.pairwise(ordered)) + [tuple(rng.sample(versions, 2)) for _ in range(150)]
    pairs += [("1:1.1.1n", "3.0.0"), ("1.0~rc1", "1.0"), ("1.0", "1.0+b1"), ("2:1", "1:9")]
    for a, b in pairs:
        ours = _cmp("deb")(a, b)
        op = {-1: "lt", 0: "eq", 1: "gt"}[ours]
        assert (
            subprocess.run(["dpkg", "--compare-versions", a, op, b], check=False).returncode == 0
        ), (
            a,
            op,
            b,
        )


def test_pypi_order_agrees_with_packaging() -> None:
    versions = [*versions_of("pypi"), "1.0", "1.0.0", "1.0rc1", "1.0.post1", "1!0.1", "2.0.dev3"]
    readable = []
    for v in versions:
        try:
            readable.append((v, Version(v)))
        except InvalidVersion:
            with pytest.raises(ValueError):
                parse_version("pypi", v)
    assert len(readable) > 20
    for (a, va), (b, vb) in itertools.combinations(readable, 2):
        assert _cmp("pypi")(a, b) == (va > vb) - (va < vb), (a, b)


def test_purl_split_agrees_with_packageurl_python() -> None:
    purls = corpus_purls()
    assert len(purls) > 1000
    for purl in purls:
        try:
            ref = PackageURL.from_string(purl)
        except ValueError:
            continue
        ours = split_purl(purl)
        assert ours is not None, purl
        theirs = PackageId(
            ref.type,
            split_purl(f"pkg:{ref.type}/{ref.namespace or ''}/{ref.name}").name,
            ref.version or "",
        )
        assert ours == theirs, purl


def test_metamorphic_spellings_match_alike() -> None:
    sbom = ["pkg:npm/%40scope/name@1.2.3", "pkg:pypi/Foo_Bar@2.0"]
    for a, b in [
        ("pkg:npm/@scope/name@<2", "pkg:npm/%40scope/name@<2"),
        ("pkg:npm/@scope/name@<2", "pkg:NPM/@Scope/Name@<2"),
        ("pkg:pypi/foo-bar@<3", "pkg:pypi/FOO.BAR@<3"),
        ("pkg:pypi/foo-bar@<3", "pkg:pypi/foo_bar@vers:pypi/<3"),
    ]:
        assert matches(a, sbom) == matches(b, sbom) != []


def _cmp(scheme: str) -> Callable[[str, str], int]:
    def cmp(a: str, b: str) -> int:
        x, y = parse_version(scheme, unquote(a)), parse_version(scheme, unquote(b))
        return (x > y) - (x < y)

    return cmp
