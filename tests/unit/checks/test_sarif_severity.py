"""sarif-severity on real scanner output and on hand-written edge cases.

Expected counts come from reading the files (SOURCES.md, the rule tags / help lines), not from running
this code: see tests/assets/upstream/sarif/SOURCES.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import UPSTREAM
from verifier.checks import sarif_severity
from verifier.errors import InputError
from verifier.models import Severity
from verifier.sources.scan_reports import load_scan_report, parse_scan_report

SARIF = UPSTREAM / "sarif"

# file -> unwaived count per severity, written from SOURCES.md and by reading each file.
EXPECTED_COUNTS: dict[str, dict[str, int]] = {
    "trivy/trivy-golden-alpine-310.sarif.json": {"medium": 4},
    "trivy/trivy-golden-alpine-310.trivy-report.json": {"medium": 4},
    "trivy/trivy-action-config-misconfig.sarif.json": {"high": 5, "medium": 1, "low": 2},
    "trivy/ratify-trivy-alpine-critical.sarif.json": {
        "critical": 4,
        "high": 29,
        "medium": 10,
        "low": 2,
    },
    "trivy/rocky-linux-trivy-0.38.1.sarif.json": {"high": 4, "medium": 14},
    "trivy/austimkelly-trivy-0.49.1-critical-high.sarif.json": {"critical": 13, "high": 8},
    # Legacy contrib/sarif.tpl: "[MEDIUM] CVE-…" ids, tags carry the severity, level is always "error".
    "trivy/trivy-sarif-demo-legacy-template.sarif.json": {"medium": 3, "low": 1},
    # Trivy 0.15.0 template: tags ["vulnerability", SEVERITY, pkg]; level does not track severity.
    "trivy/trivy-sarif-demo-v0.15.0-template.sarif.json": {
        "critical": 27,
        "high": 37,
        "medium": 46,
        "low": 3,
        "unknown": 11,
    },
    "trivy/ortelius-trivy-0.40.0-empty-results.sarif.json": {},
    # grype: severity only in the rule help ("Severity: low"), security-severity is the max CVSS (8.2).
    "other/grype-golden-image.sarif.json": {"low": 1, "critical": 1},
    "other/grype-golden-directory.sarif.json": {"low": 1, "critical": 1},
    # anchore: "Severity: Low" (257), "Negligible" (89, counted as low), "Medium" (83) in rule help.
    "other/anchore-engine-0.7.3.sarif.json": {"low": 346, "medium": 83},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_real_reports_count_per_severity(name: str) -> None:
    result = sarif_severity.evaluate(load_scan_report(SARIF / name), name)
    assert result.facts["unwaived"] == EXPECTED_COUNTS[name]
    assert result.facts["total"] == len(result.findings) == sum(EXPECTED_COUNTS[name].values())
    # On these files the severity always comes from the scanner's own word, never from level or CVSS.
    assert result.facts["degraded"] == 0
    blocking = EXPECTED_COUNTS[name].get("critical", 0) + EXPECTED_COUNTS[name].get("high", 0)
    assert result.verdict == ("fail" if blocking else "pass")


def test_rule_ids_are_vulnerability_ids_not_template_ids() -> None:
    legacy = sarif_severity.evaluate(
        load_scan_report(SARIF / "trivy/trivy-sarif-demo-legacy-template.sarif.json"), "x"
    )
    assert sorted(f.rule for f in legacy.findings) == [
        "CVE-2019-1547",
        "CVE-2019-1549",
        "CVE-2019-1551",
        "CVE-2019-1563",
    ]
    old = sarif_severity.evaluate(
        load_scan_report(SARIF / "trivy/trivy-sarif-demo-v0.15.0-template.sarif.json"), "x"
    )
    first = old.findings[0]
    assert first.rule == "CVE-2018-14618"
    assert first.properties["package"] == "curl"
    assert first.severity is Severity.CRITICAL


def test_repeated_rule_ids_use_per_result_package() -> None:
    """Trivy overwrites the rule with the last result's data; each result keeps its own package."""
    result = sarif_severity.evaluate(
        load_scan_report(SARIF / "trivy/trivy-golden-alpine-310.sarif.json"), "x"
    )
    packages = sorted((f.rule, f.properties["package"]) for f in result.findings)
    assert packages == [
        ("CVE-2019-1549", "libcrypto1.1"),
        ("CVE-2019-1549", "libssl1.1"),
        ("CVE-2019-1551", "libcrypto1.1"),
        ("CVE-2019-1551", "libssl1.1"),
    ]


def test_misconfigurations_keep_their_ids_and_lines() -> None:
    result = sarif_severity.evaluate(
        load_scan_report(SARIF / "trivy/trivy-action-config-misconfig.sarif.json"), "x"
    )
    first = next(f for f in result.findings if f.rule == "AWS-0086")
    assert first.properties["kind"] == "misconfiguration"
    assert (
        first.location is not None and first.location.path == "main.tf" and first.location.line == 8
    )


def _sarif(results: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None) -> bytes:
    return json.dumps(
        {
            "version": "2.1.0",
            "runs": [
                {"tool": {"driver": {"name": "Trivy", "rules": rules or []}}, "results": results}
            ],
        }
    ).encode()


def _one(data: bytes) -> Any:
    result = sarif_severity.evaluate(parse_scan_report(data, "t.sarif"), "t.sarif")
    assert len(result.findings) == 1
    return result.findings[0]


def test_message_severity_beats_rule_data() -> None:
    rules = [
        {
            "id": "CVE-1",
            "properties": {"tags": ["vulnerability", "LOW"]},
            "help": {"text": "Severity: LOW"},
        }
    ]
    finding = _one(
        _sarif(
            [
                {
                    "ruleId": "CVE-1",
                    "ruleIndex": 0,
                    "level": "note",
                    "message": {"text": "Package: p\nSeverity: CRITICAL\nFixed Version: 2"},
                }
            ],
            rules,
        )
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.properties["severity_source"] == "message"


def test_tags_then_help_then_bracket_prefix() -> None:
    by_tags = _one(
        _sarif(
            [{"ruleId": "CVE-1", "message": {"text": "x"}}],
            [
                {
                    "id": "CVE-1",
                    "properties": {"tags": ["security", "HIGH"]},
                    "help": {"text": "Severity: LOW"},
                }
            ],
        )
    )
    assert (by_tags.severity, by_tags.properties["severity_source"]) == (Severity.HIGH, "rule-tags")
    by_help = _one(
        _sarif(
            [{"ruleId": "CVE-1", "message": {"text": "x"}}],
            [{"id": "CVE-1", "help": {"text": "Vulnerability CVE-1\nSeverity: medium"}}],
        )
    )
    assert (by_help.severity, by_help.properties["severity_source"]) == (
        Severity.MEDIUM,
        "rule-help",
    )
    by_prefix = _one(
        _sarif([{"ruleId": "[LOW] CVE-1", "level": "error", "message": {"text": "x"}}])
    )
    assert (by_prefix.severity, by_prefix.rule) == (Severity.LOW, "CVE-1")


def test_level_alone_is_degraded_and_fails_closed() -> None:
    """CRITICAL and HIGH both map to `error`: with nothing else, assume the worse one and say so."""
    finding = _one(
        _sarif([{"ruleId": "CVE-9", "level": "error", "message": {"text": "something"}}])
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.properties["degraded"] is True
    cvss = _one(
        _sarif(
            [{"ruleId": "CVE-9", "level": "error", "message": {"text": "x"}}],
            [{"id": "CVE-9", "properties": {"security-severity": "7.5"}}],
        )
    )
    assert (cvss.severity, cvss.properties["severity_source"]) == (
        Severity.HIGH,
        "security-severity",
    )


def test_rule_index_pointing_at_another_rule_is_not_trusted() -> None:
    rules = [
        {"id": "CVE-A", "properties": {"tags": ["LOW"]}},
        {"id": "CVE-B", "properties": {"tags": ["CRITICAL"]}},
    ]
    finding = _one(_sarif([{"ruleId": "CVE-B", "ruleIndex": 0, "message": {"text": "x"}}], rules))
    assert finding.severity is Severity.CRITICAL


def test_ignore_unfixed_waives_only_unfixed() -> None:
    data = _sarif(
        [
            {
                "ruleId": "CVE-1",
                "message": {"text": "Package: a\nSeverity: CRITICAL\nFixed Version: "},
            },
            {
                "ruleId": "CVE-2",
                "message": {"text": "Package: b\nSeverity: CRITICAL\nFixed Version: 1.2"},
            },
            {"ruleId": "CVE-3", "message": {"text": "Package: c\nSeverity: CRITICAL"}},
        ]
    )
    result = sarif_severity.evaluate(parse_scan_report(data, "t"), "t", ignore_unfixed=True)
    waived = {f.rule: f.waived for f in result.findings}
    # CVE-3 says nothing about a fix: not evidence that none exists, so it is not waived.
    assert waived == {"CVE-1": True, "CVE-2": False, "CVE-3": False}
    assert result.facts["unwaived"] == {"critical": 2}
    assert result.facts["waived"] == 1
    assert result.verdict == "fail"


def test_results_below_threshold_are_findings_that_do_not_fail() -> None:
    data = _sarif([{"ruleId": "CVE-1", "message": {"text": "Severity: MEDIUM"}}])
    result = sarif_severity.evaluate(parse_scan_report(data, "t"), "t")
    assert result.verdict == "pass" and len(result.findings) == 1
    strict = sarif_severity.evaluate(parse_scan_report(data, "t"), "t", fail_on=[Severity.MEDIUM])
    assert strict.verdict == "fail"


BAD_INPUTS = {
    "not-json": (b"this is not json", "not a JSON object"),
    "truncated": (b'{"version": "2.1.0", "runs": [', "not valid JSON"),
    "json-array": (b"[1, 2]", "not a JSON object"),
    "other-json": (b'{"hello": "world"}', "neither SARIF"),
    "sarif-1": (b'{"version": "1.0.0", "runs": []}', "SARIF version '1.0.0' is not supported"),
    "runs-not-list": (
        b'{"version": "2.1.0", "runs": {}}',
        "not valid SARIF 2.1.0: /runs: Expected `array | null`, got `object`",
    ),
    "no-driver": (
        b'{"version": "2.1.0", "runs": [{"results": []}]}',
        "not valid SARIF 2.1.0: /runs/0/tool: missing (the schema requires it)",
    ),
    "no-message": (
        _sarif([{"ruleId": "CVE-1"}]),
        "not valid SARIF 2.1.0: /runs/0/results/0/message: missing (the schema requires it)",
    ),
    "no-rule": (
        _sarif([{"message": {"text": "x"}}]),
        "runs[0].results[0]: result has neither 'ruleId'",
    ),
    "deep": (
        b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "properties": {"a": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}]}",
        "nested too deeply",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_file_and_problem(case: str) -> None:
    data, problem = BAD_INPUTS[case]
    with pytest.raises(InputError) as info:
        sarif_severity.evaluate(parse_scan_report(data, f"{case}.sarif"), f"{case}.sarif")
    assert info.value.path == f"{case}.sarif"
    assert problem in str(info.value)


def test_size_cap_is_checked_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.sarif"
    big.write_bytes(b" " * 2048)  # not even JSON: the cap must trigger first
    with pytest.raises(InputError, match="over the limit of 1.0 KiB"):
        load_scan_report(big, max_bytes=1024)
