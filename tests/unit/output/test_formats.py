"""Every report format on the same decision: JSON contract, SARIF schema validity, escaping."""

from __future__ import annotations

import json
import typing

import jsonschema
import pytest

from tests.conftest import UPSTREAM
from verifier import output
from verifier.models import CheckResult, Decision, Finding, Location, Severity

RESULTS = (
    CheckResult(
        check="sarif-severity",
        subject="scan.sarif",
        verdict="fail",
        facts={"total": 2},
        findings=(
            Finding(
                rule="CVE-2021-44228",
                severity=Severity.CRITICAL,
                message="CVE-2021-44228 in log4j 2.14",
                location=Location(path="app/pom.xml", line=12, column=3),
            ),
            Finding(
                rule="CVE-2020-1",
                severity=Severity.LOW,
                message="low one | with pipe, comma: and %",
                waived=True,
                waiver_reason="VEX not_affected",
            ),
        ),
    ),
    CheckResult(check="actions-pinned", subject=".github/workflows/ci.yml", verdict="pass"),
)
DENIED = Decision(
    allowed=False, deny=("scan.sarif: 1 unwaived critical finding(s)",), warn=("one waived",)
)


def test_every_format_renders() -> None:
    for fmt in typing.get_args(output.Format):
        assert output.render(fmt, DENIED, RESULTS).endswith("\n")
    assert set(typing.get_args(output.Format)) == set(output.FORMATS)
    with pytest.raises(ValueError, match="unknown format"):
        output.render("xml", DENIED, RESULTS)


def test_json_report_contract() -> None:
    doc = json.loads(output.render("json", DENIED, RESULTS))
    assert doc["schema"] == "verifier.report/v1"
    assert doc["tool"]["name"] == "verifier"
    assert doc["decision"] == {
        "allowed": False,
        "deny": ["scan.sarif: 1 unwaived critical finding(s)"],
        "warn": ["one waived"],
    }
    first = doc["results"][0]
    assert set(first) >= {"check", "subject", "verdict", "findings", "facts"}
    finding = first["findings"][0]
    assert finding["rule"] == "CVE-2021-44228"
    assert finding["severity"] == "critical"
    assert finding["location"] == {"path": "app/pom.xml", "line": 12, "column": 3}
    assert finding["waived"] is False
    assert first["findings"][1]["waived"] is True


def test_sarif_is_valid_against_the_oasis_schema() -> None:
    schema = json.loads((UPSTREAM / "sarif-schema" / "sarif-2.1.0.json").read_text())
    doc = json.loads(output.render("sarif", DENIED, RESULTS))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)
    run = doc["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == [
        "verifier/sarif-severity/CVE-2021-44228",
        "verifier/sarif-severity/CVE-2020-1",
    ]
    assert run["results"][0]["level"] == "error"
    assert run["results"][0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 12,
        "startColumn": 3,
    }
    assert run["results"][1]["suppressions"][0]["justification"] == "VEX not_affected"
    # A schema that accepts anything would make this test pointless: check it rejects a broken log.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"version": "2.1.0", "runs": [{"results": []}]}, schema, cls=jsonschema.Draft4Validator
        )


def test_github_annotations_escape_properties_and_data() -> None:
    text = output.render("github", DENIED, RESULTS)
    lines = text.splitlines()
    assert lines[0] == (
        "::error file=app/pom.xml,line=12,col=3,title=sarif-severity%3A CVE-2021-44228::"
        "CVE-2021-44228 in log4j 2.14"
    )
    assert lines[1].startswith(
        "::notice title=sarif-severity%3A CVE-2020-1::low one | with pipe, comma: and %25"
    )
    assert "::error title=verifier denied::scan.sarif: 1 unwaived critical finding(s)" in lines
    assert lines[-1] == "verifier: denied"


def test_markdown_summary_escapes_table_cells() -> None:
    text = output.render("markdown", DENIED, RESULTS)
    assert text.startswith("## ❌ verifier: release denied")
    assert "low one \\| with pipe" in text
    assert "| `actions-pinned` | `.github/workflows/ci.yml` | pass | no findings |" in text


def test_table_lists_decision_and_waivers() -> None:
    text = output.render("table", Decision(allowed=True), RESULTS)
    assert "DECISION: ALLOWED" in text
    assert "reason: VEX not_affected" in text
    assert "1 critical; 1 waived" in text
