"""`verifier check trust-policy` end to end through the console entry point: decisions, formats, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.conftest import ASSETS, UPSTREAM

CORPUS = UPSTREAM / "trust-policies"
FAIL = str(CORPUS / "aws" / "dvdmelamed__aws-infra__github-oidc-assume_role.tpl.json")
WARN_ORG = str(CORPUS / "aws" / "jjno91__terraform-aws-github-oidc__HEAD__rendered.json")
WARN_REF = str(CORPUS / "aws" / "github__docs__oidc-in-aws__stringlike-any-ref.json")
PASS = str(CORPUS / "aws" / "github__docs__oidc-in-aws__branch.json")
BROKEN = str(CORPUS / "azure" / "checkov-fixture__azure__subject-star.json")
INDETERMINATE = str(
    CORPUS / "aws" / "scalable-ml-systems__ml-inference-triton-aws-eks__ci.json.tpl.json"
)


def test_pass_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "trust-policy", PASS)
    assert run.code == 0
    assert "DECISION: ALLOWED" in run.out


def test_fail_denies_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "trust-policy", FAIL, "--format", "json")
    assert run.code == 1
    doc = json.loads(run.out)
    assert doc["decision"]["allowed"] is False
    assert doc["decision"]["deny"] == [
        f"{FAIL}: oidc-trust fail: sub pattern 'repo:*': the owner is not pinned literally up to '/', so "
        "tokens of other owners match"
    ]
    result = doc["results"][0]
    assert (
        result["check"] == "oidc-trust"
        and result["verdict"] == "fail"
        and result["subject"] == FAIL
    )
    top = result["findings"][0]
    assert top["rule"] == "sub-wildcard-owner" and top["severity"] == "critical"
    assert top["location"] == {"path": FAIL, "line": 12, "column": None}


def test_warn_org_denies_warn_ref_broken_indeterminate_warn(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = run_cli(
        capsys,
        "check",
        "trust-policy",
        WARN_ORG,
        WARN_REF,
        BROKEN,
        INDETERMINATE,
        "--format",
        "json",
    )
    assert run.code == 1
    decision = json.loads(run.out)["decision"]
    assert [m.split(": oidc-trust ")[1].split(":")[0] for m in decision["deny"]] == ["warn-org"]
    assert sorted(m.split(": oidc-trust ")[1].split(":")[0] for m in decision["warn"]) == [
        "broken",
        "indeterminate",
        "warn-ref",
    ]


def test_warnings_only_exit_0_unless_fail_on_warn(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "check", "trust-policy", WARN_REF).code == 0
    assert run_cli(capsys, "check", "trust-policy", WARN_REF, "--fail-on-warn").code == 1


def test_deny_option_is_passed_to_the_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inp = tmp_path / "input.json"
    run = run_cli(
        capsys,
        "check",
        "trust-policy",
        WARN_REF,
        "--deny",
        "fail,warn-org,warn-ref",
        "--input-json",
        str(inp),
    )
    assert run.code == 1
    assert json.loads(inp.read_text())["config"] == {
        "oidc-trust": {"deny": ["fail", "warn-org", "warn-ref"]}
    }


def test_unknown_verdict_in_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "trust-policy", PASS, "--deny", "fail,nope")
    assert run.code == 2
    assert "unknown verdict(s) nope" in run.err


def test_whole_corpus_directory(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "trust-policy", str(CORPUS), "--format", "json")
    assert run.code == 1
    results = json.loads(run.out)["results"]
    assert len(results) == 53
    assert all(r["subject"].startswith(str(CORPUS) + "/") for r in results)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("invalid.json", "not valid JSON"),
        ("list.json", "top-level JSON is a list, not a trust policy object"),
        ("unknown-provider.json", "unknown provider"),
    ],
)
def test_bad_input_exits_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], name: str, problem: str
) -> None:
    path = str(ASSETS / "oidc-trust" / "bad" / name)
    run = run_cli(capsys, "check", "trust-policy", path)
    assert run.code == 2
    assert run.err.startswith(f"verifier: error: {path}: ")
    assert problem in run.err
    assert run.out == ""


def test_twenty_megabyte_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"Statement": [], "x": "' + "a" * (20 * 1024 * 1024) + '"}')
    run = run_cli(capsys, "check", "trust-policy", str(big))
    assert run.code == 2
    assert f"{big}: file is 20.0 MiB, over the limit of 8.0 MiB" in run.err


def test_sarif_output_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "trust-policy", FAIL, "--format", "sarif", "--exit-zero")
    assert run.code == 0
    sarif = json.loads(run.out)
    rule_ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert "verifier/oidc-trust/sub-wildcard-owner" in rule_ids
