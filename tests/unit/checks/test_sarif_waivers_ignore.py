""".trivyignore / .trivyignore.yaml: read by verifier.sources.trivyignore, judged by verifier.checks.sarif_waivers.

Expected outcomes are written from Trivy's own tests and sources (aquasecurity/trivy
``pkg/result/ignore_test.go``, ``filter_test.go``, ``ignore.go``) applied to the vendored test files
(tests/assets/upstream/trivyignore/SOURCES.md), and from reading the hand-written cases in
tests/assets/sarif-severity/ignore/. Nothing here was produced by running the code under test.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from tests.conftest import ASSETS, UPSTREAM
from verifier.checks.sarif_waivers import find_ignore_rule, glob_match, is_expired, purl_matches
from verifier.errors import InputError
from verifier.sources.trivyignore import IgnoreRule, load_ignore_file, parse_plain, parse_yaml

IGNORE = UPSTREAM / "trivyignore"
OWN = ASSETS / "sarif-severity" / "ignore"
NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)


def waived(
    rules: tuple[IgnoreRule, ...],
    finding_id: str,
    kind: str | None = "vulnerability",
    path: str | None = None,
    purl: str | None = None,
    now: datetime.datetime = NOW,
    pkg_path: str | None = None,
) -> IgnoreRule | None:
    return find_ignore_rule(
        rules,
        finding_id=finding_id,
        kind=kind,
        path=path,
        purl=purl,
        now=now,
        pkg_path=pkg_path,
    )


# --------------------------------------------------------------------------- trivy's plain test file


@pytest.fixture(scope="module")
def plain() -> tuple[IgnoreRule, ...]:
    return load_ignore_file(IGNORE / "trivy-testdata.trivyignore").rules


def test_plain_trivy_testdata_rules_and_sources(plain: tuple[IgnoreRule, ...]) -> None:
    # 9 id lines; CVE-2019-0004 is expired, so trivy's ParseIgnoreFile keeps 8 (ignore_test.go).
    assert [r.id for r in plain] == [
        "CVE-2019-0001",
        "CVE-2019-0002",
        "CVE-2019-0004",
        "CVE-2019-0005",
        "CVE-2019-0006",
        "ID300",
        "AVD-ID400",
        "generic-unwanted-rule",
        "GPL-3.0",
    ]
    assert len([r for r in plain if not is_expired(r, NOW)]) == 8
    assert all(r.kind is None and r.paths == () and r.purls == () for r in plain)
    by_id = {r.id: r for r in plain}
    assert by_id["CVE-2019-0004"].expires == datetime.date(2020, 1, 1)
    assert by_id["CVE-2019-0006"].expires == datetime.date(9999, 1, 1)
    assert by_id["GPL-3.0"].source.endswith("trivy-testdata.trivyignore:17")
    assert by_id["CVE-2019-0001"].source.endswith("trivy-testdata.trivyignore:2")


def test_plain_trivy_testdata_problems() -> None:
    problems = load_ignore_file(IGNORE / "trivy-testdata.trivyignore").problems
    # the only odd line is "CVE-2019-0006 exp:9999-01-01 key2:value2": rule kept, extra field reported
    assert len(problems) == 1
    assert ":6:" in problems[0] and "key2:value2" in problems[0]


@pytest.mark.parametrize(
    ("finding_id", "kind", "expected"),
    [
        ("CVE-2019-0001", "vulnerability", True),
        ("CVE-2019-0002", "vulnerability", True),
        ("CVE-2019-0003", "vulnerability", False),  # not listed
        ("CVE-2019-0004", "vulnerability", False),  # exp:2020-01-01 is past
        ("CVE-2019-0005", "vulnerability", True),  # exp:9999-01-01
        ("CVE-2019-0006", "vulnerability", True),  # extra key2:value2 field does not matter
        ("ID300", "misconfiguration", True),
        ("ID100", "misconfiguration", False),
        ("ID400", "misconfiguration", True),  # via its AVD alias AVD-ID400
        ("AVD-ID300", "misconfiguration", True),  # reported under the AVD id, listed as ID300
        ("ID400", "vulnerability", False),  # the AVD alias is a misconfiguration thing only
        ("generic-unwanted-rule", "secret", True),
        ("generic-wanted-rule", "secret", False),
        ("GPL-3.0", "license", True),  # plain ids apply to every kind
        ("CVE-2019-0001", "secret", True),
        ("CVE-2019-0001", None, True),
        ("cve-2019-0001", "vulnerability", False),  # ids are case-sensitive
    ],
)
def test_plain_trivy_testdata_matching(
    plain: tuple[IgnoreRule, ...], finding_id: str, kind: str | None, expected: bool
) -> None:
    assert (waived(plain, finding_id, kind, path="package-lock.json") is not None) is expected


def test_plain_expiry_is_strictly_before_now(plain: tuple[IgnoreRule, ...]) -> None:
    # trivy: ExpiredAt.Before(now) prunes the rule; exp:2020-01-01 means 2020-01-01T00:00:00Z
    utc = datetime.UTC
    assert waived(plain, "CVE-2019-0004", now=datetime.datetime(2019, 12, 31, 23, 59, tzinfo=utc))
    assert waived(plain, "CVE-2019-0004", now=datetime.datetime(2020, 1, 1, 0, 0, tzinfo=utc))
    assert not waived(
        plain, "CVE-2019-0004", now=datetime.datetime(2020, 1, 1, 0, 0, 1, tzinfo=utc)
    )
    # a naive now is taken as UTC; a zoned now is compared as an instant
    assert waived(plain, "CVE-2019-0004", now=datetime.datetime(2019, 12, 31, 23, 0))
    est = datetime.timezone(datetime.timedelta(hours=-5))
    assert not waived(
        plain, "CVE-2019-0004", now=datetime.datetime(2019, 12, 31, 20, 0, tzinfo=est)
    )


def test_plain_waiver_returns_the_rule(plain: tuple[IgnoreRule, ...]) -> None:
    rule = waived(plain, "CVE-2019-0005")
    assert rule is not None
    assert rule.id == "CVE-2019-0005" and rule.statement is None
    assert rule.source.endswith(":5")


# ---------------------------------------------------------------------------- trivy's YAML test file


@pytest.fixture(scope="module")
def yaml_rules() -> tuple[IgnoreRule, ...]:
    loaded = load_ignore_file(IGNORE / "trivy-testdata.trivyignore.yaml")
    assert loaded.problems == ()
    return loaded.rules


def test_yaml_trivy_testdata_counts(yaml_rules: tuple[IgnoreRule, ...]) -> None:
    # ignore_test.go "happy path valid YAML config file": 5 / 4 / 3 / 5 after pruning expired entries
    live = [r for r in yaml_rules if not is_expired(r, NOW)]
    counts = {
        k: sum(r.kind == k for r in live)
        for k in ("vulnerability", "misconfiguration", "secret", "license")
    }
    assert counts == {"vulnerability": 5, "misconfiguration": 4, "secret": 3, "license": 5}
    assert len(yaml_rules) == 19
    by_id = {r.id: r for r in yaml_rules}
    assert by_id["CVE-2019-0005"].expires == datetime.date(2023, 1, 1)
    assert by_id["CVE-2019-0001"].paths == ("**/*-lock.json",)
    assert by_id["CVE-2019-0007"].purls == (
        "pkg:golang/github.com/aquasecurity/aaa@9.9.9",
        "pkg:golang/github.com/aquasecurity/bar",
    )
    assert by_id["Apache-2.0 WITH LLVM-exception"].kind == "license"
    assert by_id["CVE-2019-0001"].source.endswith("trivy-testdata.trivyignore.yaml:2")


@pytest.mark.parametrize(
    ("finding_id", "path", "expected"),
    [
        # filter_test.go "ignore yaml", target foo/package-lock.json
        ("CVE-2019-0001", "foo/package-lock.json", True),  # **/*-lock.json
        ("CVE-2019-0001", "package-lock.json", True),  # ** matches zero directories
        ("CVE-2019-0001", "foo/package.json", False),
        ("CVE-2019-0002", "foo/package-lock.json", False),  # only bar/package.json
        ("CVE-2019-0002", "bar/package.json", True),
        ("CVE-2019-0002", "x/bar/package.json", False),  # globs are anchored
        ("CVE-2019-0003", "foo/package-lock.json", True),  # no paths: any path
        ("CVE-2019-0003", None, True),
        ("CVE-2019-0004", "foo/package-lock.json", False),
        ("CVE-2019-0005", "foo/package-lock.json", False),  # expired 2023-01-01
        ("CVE-2019-0006", "foo/package-lock.json", False),  # expired 2020-01-01
        ("CVE-2019-0001", None, False),  # a rule with paths needs a path
    ],
)
def test_yaml_vulnerability_paths(
    yaml_rules: tuple[IgnoreRule, ...], finding_id: str, path: str | None, expected: bool
) -> None:
    assert (waived(yaml_rules, finding_id, "vulnerability", path=path) is not None) is expected


def test_yaml_vulnerability_package_path(yaml_rules: tuple[IgnoreRule, ...]) -> None:
    # trivy tries the result target and then the package path
    assert waived(
        yaml_rules, "CVE-2019-0002", path="image (debian 12)", pkg_path="bar/package.json"
    )
    assert not waived(
        yaml_rules, "CVE-2019-0002", path="image (debian 12)", pkg_path="foo/package.json"
    )


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        ("pkg:golang/github.com/aquasecurity/bar@1.2.3", True),  # version-less pattern
        ("pkg:golang/github.com/aquasecurity/bar", True),
        ("pkg:golang/github.com/aquasecurity/aaa@9.9.9", True),
        ("pkg:golang/github.com/aquasecurity/aaa@1.0.0", False),
        ("pkg:golang/github.com/aquasecurity/foo@1.2.3", False),
        ("pkg:npm/bar@1.2.3", False),
        ("not a purl", False),
        (None, False),  # deliberate: no purl known -> a purl-scoped rule does not apply
    ],
)
def test_yaml_vulnerability_purls(
    yaml_rules: tuple[IgnoreRule, ...], purl: str | None, expected: bool
) -> None:
    assert (waived(yaml_rules, "CVE-2019-0007", path="go.mod", purl=purl) is not None) is expected


@pytest.mark.parametrize(
    ("finding_id", "path", "expected"),
    [
        ("ID100", "app/Dockerfile", True),
        ("ID200", "app/Dockerfile", True),
        ("ID200", "docs/Dockerfile", False),
        ("ID300", "app/Dockerfile", False),  # only docs/Dockerfile
        ("ID300", "docs/Dockerfile", True),
        ("ID400", "app/Dockerfile", True),  # listed as AVD-ID400
        ("ID500", "app/Dockerfile", False),
    ],
)
def test_yaml_misconfigurations(
    yaml_rules: tuple[IgnoreRule, ...], finding_id: str, path: str, expected: bool
) -> None:
    assert (waived(yaml_rules, finding_id, "misconfiguration", path=path) is not None) is expected


@pytest.mark.parametrize(
    ("finding_id", "path", "expected"),
    [
        ("generic-unwanted-rule", "config.yaml", True),
        ("generic-unwanted-rule2", "config.yaml", True),  # **/config.yaml
        ("generic-unwanted-rule2", "deploy/prod/config.yaml", True),
        ("generic-unwanted-rule2", "config.yml", False),
        ("generic-wanted-rule", "config.yaml", False),
        ("generic-wanted-rule", "foo/secret.txt", True),
    ],
)
def test_yaml_secrets(
    yaml_rules: tuple[IgnoreRule, ...], finding_id: str, path: str, expected: bool
) -> None:
    assert (waived(yaml_rules, finding_id, "secret", path=path) is not None) is expected


GCC = "usr/share/gcc/python/libstdcxx/v6/"


@pytest.mark.parametrize(
    ("licence", "path", "expected"),
    [
        ("GPL-3.0", GCC + "__init__.py", True),  # filter_test "ignore yaml": license1 ignored
        ("GPL-3.0", GCC + "printers.py", False),  # license2 kept
        ("MIT", "LICENSE.txt", True),
        ("Apache-2.0 WITH LLVM-exception", "LICENSE.txt", True),  # listed as a whole
        ("MIT AND GPL-2.0-or-later", "LICENSE.txt", True),  # every component is ignored
        ("MIT OR Apache-2.0 WITH LLVM-exception", "LICENSE.txt", True),
        ("(MIT OR GPL-2.0-or-later) AND LLVM-exception", "LICENSE.txt", True),
        ("MIT AND Apache-2.0", "LICENSE.txt", False),  # Apache-2.0 alone is not ignored
        ("MIT OR GPL-3.0", GCC + "printers.py", False),  # GPL-3.0 only under __init__.py
        ("MIT OR GPL-3.0", GCC + "__init__.py", True),
        ("MIT AND (GPL-2.0-or-later", "LICENSE.txt", False),  # malformed expression
        ("BSD-3-Clause", "LICENSE.txt", False),
    ],
)
def test_yaml_licences(
    yaml_rules: tuple[IgnoreRule, ...], licence: str, path: str, expected: bool
) -> None:
    assert (waived(yaml_rules, licence, "license", path=path) is not None) is expected


def test_yaml_licence_components_give_a_synthesised_rule(
    yaml_rules: tuple[IgnoreRule, ...],
) -> None:
    rule = waived(yaml_rules, "MIT AND GPL-2.0-or-later", "license", path="LICENSE.txt")
    assert rule is not None
    assert rule.statement == "All license components are individually ignored"
    assert rule.id == "MIT AND GPL-2.0-or-later"
    assert ":42" in rule.source and ":43" in rule.source  # the MIT and GPL-2.0-or-later entries


def test_yaml_kinds_do_not_cross(yaml_rules: tuple[IgnoreRule, ...]) -> None:
    assert waived(yaml_rules, "CVE-2019-0003", "vulnerability") is not None
    assert waived(yaml_rules, "CVE-2019-0003", "secret") is None
    assert waived(yaml_rules, "CVE-2019-0003", "misconfiguration") is None
    assert waived(yaml_rules, "CVE-2019-0003", None) is None  # unknown kind: only plain rules apply
    assert waived(yaml_rules, "MIT", "vulnerability") is None


# ----------------------------------------------------------------------------- trivy-action test data


def test_trivy_action_plain_files_concatenated() -> None:
    one = load_ignore_file(IGNORE / "trivy-action-1.trivyignore")
    two = load_ignore_file(IGNORE / "trivy-action-2.trivyignore")
    assert [r.id for r in one.rules] == ["CVE-2020-25576", "CVE-2019-15551"]
    assert [r.id for r in two.rules] == ["CVE-2019-15554"]
    assert one.problems == two.problems == ()
    assert waived(one.rules, "CVE-2019-15554") is None
    both = one.rules + two.rules
    for cve in ("CVE-2020-25576", "CVE-2019-15551", "CVE-2019-15554"):
        assert waived(both, cve) is not None
    assert waived(both, "CVE-2019-15552") is None


def test_trivy_action_yaml() -> None:
    loaded = load_ignore_file(IGNORE / "trivy-action.trivyignore.yaml")
    assert [(r.id, r.kind) for r in loaded.rules] == [
        ("CVE-2018-14618", "vulnerability"),
        ("CVE-2018-16839", "vulnerability"),
    ]
    assert waived(loaded.rules, "CVE-2018-14618", path="anything") is not None
    assert waived(loaded.rules, "CVE-2018-14618", "misconfiguration") is None


# ---------------------------------------------------------------------------------- hand-written cases


def test_plain_edge_cases() -> None:
    loaded = load_ignore_file(OWN / "plain-edge-cases.trivyignore")
    by_id = {r.id: r for r in loaded.rules}
    # BOM, surrounding blanks, tabs and CRLF do not leak into ids; comment lines are skipped
    assert list(by_id) == [
        "CVE-2024-0001",
        "CVE-2024-0002",
        "CVE-2024-0006",
        "CVE-2024-0007",
        "CVE-2024-0008",
        "CVE-2024-0009",
        "AVD-AWS-0086",
        "AWS-0087",
    ]
    assert by_id["CVE-2024-0002"].expires == datetime.date(2030, 6, 30)
    assert by_id["CVE-2024-0006"].expires is None  # "expires:" is not "exp:" (trivy ignores it too)
    assert by_id["CVE-2024-0007"].expires == datetime.date(2030, 1, 1)  # the first exp: wins
    # malformed expiries drop the line (trivy: warn + skip): 13th month, 1-digit month, a word
    for cve in ("CVE-2024-0003", "CVE-2024-0004", "CVE-2024-0005"):
        assert waived(loaded.rules, cve) is None
        assert any(cve not in p and f":{int(cve[-1]) + 3}:" in p for p in loaded.problems)
    lines = sorted(int(p.split(":")[1]) for p in loaded.problems)
    assert lines == [6, 7, 8, 9, 10, 11]
    assert all(
        p.startswith(str(OWN / "plain-edge-cases.trivyignore") + ":") for p in loaded.problems
    )
    # AVD aliases both ways for misconfigurations
    assert waived(loaded.rules, "AWS-0086", "misconfiguration") is not None
    assert waived(loaded.rules, "AVD-AWS-0087", "misconfiguration") is not None
    assert waived(loaded.rules, "AWS-0086", "vulnerability") is None


def test_parse_plain_directly_strips_bom_and_never_raises() -> None:
    loaded = parse_plain("\ufeffCVE-1\n\n#x\n \t \nCVE-2 exp:9999-99-99\n", "mem")
    assert [r.id for r in loaded.rules] == ["CVE-1"]
    assert loaded.rules[0].source == "mem:1"
    assert loaded.problems == (
        "mem:5: invalid expiry 'exp:9999-99-99' (expected exp:YYYY-MM-DD); "
        "the line is ignored, as trivy does",
    )
    assert parse_plain("", "empty").rules == ()
    assert parse_plain("this file is not a valid trivyignore file", "x").rules[0].id == "this"


def test_yaml_edge_cases() -> None:
    loaded = load_ignore_file(OWN / "edge-cases.trivyignore.yaml")
    by_id = {r.id: r for r in loaded.rules}
    assert list(by_id) == [
        "CVE-2024-1000",
        "CVE-2024-1001",
        "CVE-2024-1002",
        "CVE-2024-1006",
        "CVE-2024-1008",
        "AWS-0086",
    ]
    assert by_id["CVE-2024-1000"].statement == "Accept the risk until the base image is rebuilt"
    assert by_id["CVE-2024-1000"].expires == datetime.date(2030, 1, 1)
    assert by_id["CVE-2024-1001"].expires == datetime.date(2030, 2, 1)
    assert by_id["AWS-0086"].purls == ()  # purls dropped outside vulnerabilities
    problem_lines = [int(p.split(":")[1]) for p in loaded.problems]
    # bad expired_at, bad glob, bad purl, no id, unknown field, paths not a list, entry not a mapping,
    # purls on a misconfiguration, unknown section "licences"
    assert problem_lines == [10, 12, 15, 18, 21, 22, 30, 32, 36]
    assert "expires_at" in loaded.problems[4]
    assert "licences" in loaded.problems[8]
    for dropped in (
        "CVE-2024-1003",
        "CVE-2024-1004",
        "CVE-2024-1005",
        "CVE-2024-1007",
        "CVE-2024-1009",
    ):
        assert waived(loaded.rules, dropped, path="usr/lib/x.so") is None
    # "MIT" sits under the misspelt section: not a licence rule
    assert waived(loaded.rules, "MIT", "license") is None


def test_yaml_timestamp_expiry_is_exact() -> None:
    rules = load_ignore_file(OWN / "edge-cases.trivyignore.yaml").rules
    utc = datetime.UTC
    assert waived(rules, "CVE-2024-1002", now=datetime.datetime(2026, 11, 26, 11, 59, tzinfo=utc))
    assert waived(rules, "CVE-2024-1002", now=datetime.datetime(2026, 11, 26, 12, 0, tzinfo=utc))
    assert not waived(
        rules, "CVE-2024-1002", now=datetime.datetime(2026, 11, 26, 12, 0, 1, tzinfo=utc)
    )


def test_yaml_purl_qualifiers_and_path_alternatives() -> None:
    rules = load_ignore_file(OWN / "edge-cases.trivyignore.yaml").rules
    ok = "pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12"
    assert waived(rules, "CVE-2024-1008", path="usr/lib/x86_64/libssl.so.3", purl=ok)
    assert waived(rules, "CVE-2024-1008", path="srv/app/app.jar", purl=ok)
    # "*" stays within one directory
    assert not waived(rules, "CVE-2024-1008", path="srv/app/lib/app.jar", purl=ok)
    assert not waived(rules, "CVE-2024-1008", path="etc/ssl", purl=ok)
    # the pattern's qualifier arch=amd64 must be present with the same value
    assert not waived(
        rules, "CVE-2024-1008", path="usr/lib/a", purl="pkg:deb/debian/openssl@3?arch=arm64"
    )
    assert not waived(rules, "CVE-2024-1008", path="usr/lib/a", purl="pkg:deb/debian/openssl@3")
    assert not waived(
        rules, "CVE-2024-1008", path="usr/lib/a", purl="pkg:deb/ubuntu/openssl@3?arch=amd64"
    )


def test_yaml_not_a_mapping_is_an_input_error() -> None:
    path = OWN / "list-not-mapping.trivyignore.yaml"
    with pytest.raises(InputError) as err:
        load_ignore_file(path)
    assert err.value.path == str(path)
    assert "expected a mapping" in err.value.problem and "found a list" in err.value.problem


def test_yaml_unparseable_is_an_input_error() -> None:
    path = OWN / "broken.trivyignore.yaml"
    with pytest.raises(InputError) as err:
        load_ignore_file(path)
    assert err.value.path == str(path)
    assert err.value.problem.startswith("not valid YAML") and "line 4" in err.value.problem


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_yaml_empty_is_no_rules(text: str) -> None:
    assert parse_yaml(text, "x.yaml").rules == ()


@pytest.mark.parametrize("text", ["just a string", "42", "[1, 2]"])
def test_yaml_scalar_or_list_top_level_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="expected a mapping"):
        parse_yaml(text, "x.yaml")


def test_yaml_is_composed_not_constructed(tmp_path: Path) -> None:
    # nodes are read, never constructed: a python tag runs nothing, and a non-string id drops the entry
    marker = tmp_path / "ran"
    text = (
        "vulnerabilities:\n"
        f"  - id: !!python/object/apply:os.system ['touch {marker}']\n"
        "  - id: CVE-1\n"
    )
    loaded = parse_yaml(text, "x.yaml")
    assert not marker.exists()
    assert [r.id for r in loaded.rules] == ["CVE-1"]
    assert loaded.problems == (
        "x.yaml:2: entry has no id; it is ignored (trivy matches ids exactly)",
    )


def test_yaml_alias_bomb_stays_cheap() -> None:
    # billion-laughs style aliases: composing shares nodes, and entries are only read one level deep
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)
    ]
    lines += ["vulnerabilities:", "  - id: CVE-1", "    paths: *a11"]
    loaded = parse_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert loaded.rules == ()
    assert any("paths must be a list of strings" in p for p in loaded.problems)


def test_load_picks_format_by_extension(tmp_path: Path) -> None:
    body = "vulnerabilities:\n  - id: CVE-1\n"
    (tmp_path / "a.yml").write_text(body)
    (tmp_path / "a.trivyignore").write_text(body)
    assert [r.kind for r in load_ignore_file(tmp_path / "a.yml").rules] == ["vulnerability"]
    # read as plain, "vulnerabilities:" is just an id
    plain_rules = load_ignore_file(tmp_path / "a.trivyignore").rules
    assert [r.id for r in plain_rules] == ["vulnerabilities:", "-"]


def test_load_missing_binary_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_ignore_file(tmp_path / "nope.trivyignore")
    (tmp_path / "bin.trivyignore").write_bytes(b"CVE-1\n\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        load_ignore_file(tmp_path / "bin.trivyignore")
    (tmp_path / "big.trivyignore").write_text("CVE-1\n" * 100)
    with pytest.raises(InputError, match="over the limit"):
        load_ignore_file(tmp_path / "big.trivyignore", max_bytes=100)


# --------------------------------------------------------------------------------------- primitives


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**", "a/b/c", True),
        ("**/x", "x", True),
        ("**/x", "a/b/x", True),
        ("a/**", "a", True),
        ("a/**", "a/b/c", True),
        ("a/**", "ab", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/x/y/c", False),
        ("*.txt", "a.txt", True),
        ("*.txt", "d/a.txt", False),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[a-c]x", "bx", True),
        ("[!a-c]x", "dx", True),
        ("[!a-c]x", "bx", False),
        ("{foo,bar}/x", "bar/x", True),
        ("{foo,bar}/x", "baz/x", False),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("a.b", "axb", False),  # regex metacharacters are literal
        ("[unclosed", "[unclosed", False),  # invalid patterns never match
        ("{a,b", "a", False),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize(
    ("pattern", "target", "expected"),
    [
        ("pkg:deb/debian/bash", "pkg:deb/debian/bash@5.3", True),
        ("pkg:deb/debian/bash@5.3", "pkg:deb/debian/bash@5.3", True),
        ("pkg:deb/debian/bash@5.3", "pkg:deb/debian/bash@5.4", False),
        ("pkg:deb/debian/bash@5.3", "pkg:deb/debian/bash", False),
        ("pkg:deb/debian/bash?arch=amd64", "pkg:deb/debian/bash@5?arch=amd64&distro=d12", True),
        ("pkg:deb/debian/bash?arch=amd64", "pkg:deb/debian/bash@5", False),
        ("pkg:deb/debian/bash", "pkg:deb/ubuntu/bash@5", False),
        ("pkg:deb/debian/bash", "pkg:rpm/debian/bash@5", False),
        ("pkg:deb/debian/bash#sub", "pkg:deb/debian/bash@5#other", False),
        # percent-encoding is decoded before comparing
        ("pkg:deb/debian/libstdc%2B%2B6", "pkg:deb/debian/libstdc++6@1", True),
        ("nonsense", "pkg:deb/debian/bash@5", False),
    ],
)
def test_purl_matches(pattern: str, target: str, expected: bool) -> None:
    assert purl_matches(pattern, target) is expected


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("vulnerabilities:\n  - id: CVE-1\nvulnerabilities:\n  - id: CVE-2\n", "line 3"),
        (
            "vulnerabilities:\n  - id: CVE-1\n    expired_at: 2030-01-01\n    expired_at: 2020-01-01\n",
            "line 4",
        ),
    ],
)
def test_yaml_duplicate_keys_are_an_input_error(text: str, where: str) -> None:
    # go-yaml refuses repeated keys, so trivy fails on such a file; which value wins is ambiguous
    with pytest.raises(InputError) as err:
        parse_yaml(text, "dup.yaml")
    assert err.value.path == "dup.yaml"
    assert err.value.problem.startswith(where) and "already defined" in err.value.problem
