"""Hand-written oidc-trust cases (tests/assets/oidc-trust/cases.yaml): verdict and reason per rule of issue 4."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from verifier.checks.oidc_trust import TrustConfig, TrustVerdict, check

CASES_FILE = Path(__file__).resolve().parents[2] / "assets" / "oidc-trust" / "cases.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"


def _config(case: dict[str, Any]) -> TrustConfig:
    provider = case.get("provider", "aws")
    if provider == "aws":
        doc = case.get("policy") or {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": GITHUB},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": case["condition"],
                }
            ],
        }
    else:
        doc = case["document"]
    text = json.dumps(doc, indent=2)
    return TrustConfig(
        provider=provider,
        subject=f"{case['id']}.json",
        path=f"{case['id']}.json",
        document=doc,
        text=text,
    )


def test_there_are_at_least_30_cases() -> None:
    assert len(CASES) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(c.get("reason") for c in CASES)
    # every verdict level is exercised
    assert {c["verdict"] for c in CASES} == {v.value for v in TrustVerdict}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    result = check(_config(case))
    rules = [f.rule for f in result.findings]
    assert result.verdict == case["verdict"], (case["reason"], rules)
    assert result.check == "oidc-trust"
    if "rule" in case:
        assert case["rule"] in rules, (case["reason"], rules)
    for absent in case.get("absent", []):
        assert absent not in rules
    # every finding carries a location in the file that was given
    assert all(
        f.location is not None and f.location.path == f"{case['id']}.json"
        for f in result.findings
        if f.rule != "role-admin-permissions"
    )
    assert result.facts["provider"] == case.get("provider", "aws")
    assert result.facts["summary"]
