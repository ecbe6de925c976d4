"""Trust-policy readers: plan JSON fed by data sources, per-configuration errors, depth limits, layering.

Issue 15, classes 5 and 6: what a reader cannot read is an error naming the file (exit 2) or, next to
other configurations in the same file, an ``error`` verdict for that one; never a traceback, never a skip.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from verifier.checks.oidc_trust import check, check_all
from verifier.errors import InputError
from verifier.sources.trust_policy_files import load_configs

REPO = Path(__file__).resolve().parents[3]
GITHUB = "https://token.actions.githubusercontent.com"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {
                "Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"
            },
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}},
        }
    ],
}


def plan_with_data_source(module: bool) -> dict[str, object]:
    """A `terraform show -json` plan where the role's assume_role_policy is known only after apply but
    the data source it comes from was read during the plan (as in checkov's test resources)."""
    prefix = "module.m." if module else ""
    role = {
        "address": f"{prefix}aws_iam_role.gh",
        "mode": "managed",
        "type": "aws_iam_role",
        "name": "gh",
        "values": {"name": "gh"},
    }
    document = {
        "address": f"{prefix}data.aws_iam_policy_document.trust",
        "mode": "data",
        "type": "aws_iam_policy_document",
        "name": "trust",
        "values": {"json": json.dumps(POLICY)},
    }
    config_module = {
        "resources": [
            {
                "address": "aws_iam_role.gh",
                "mode": "managed",
                "type": "aws_iam_role",
                "name": "gh",
                "expressions": {
                    "assume_role_policy": {
                        "references": [
                            "data.aws_iam_policy_document.trust.json",
                            "data.aws_iam_policy_document.trust",
                        ]
                    }
                },
            }
        ]
    }
    root_planned: dict[str, object] = {"resources": [role]}
    root_state: dict[str, object] = {"resources": [document]}
    configuration: dict[str, object] = {"root_module": config_module}
    if module:
        root_planned = {"child_modules": [{"address": "module.m", "resources": [role]}]}
        root_state = {"child_modules": [{"address": "module.m", "resources": [document]}]}
        configuration = {"root_module": {"module_calls": {"m": {"module": config_module}}}}
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": root_planned},
        "prior_state": {"values": {"root_module": root_state}},
        "resource_changes": [
            {
                "address": role["address"],
                "change": {"after_unknown": {"assume_role_policy": True}},
            }
        ],
        "configuration": configuration,
    }


@pytest.mark.parametrize("module", [False, True])
def test_plan_role_fed_by_a_data_source_in_the_plan(tmp_path: Path, module: bool) -> None:
    """Was `indeterminate` (known after apply) although the data source's JSON is in the plan."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan_with_data_source(module)), encoding="utf-8")
    (result,) = check_all(load_configs([str(path)]))
    assert result.verdict == "warn-org"


def test_one_azure_credential_without_subject_does_not_hide_the_others(tmp_path: Path) -> None:
    """Was exit 2 for the whole file: the other credentials got no verdict."""
    path = tmp_path / "creds.json"
    path.write_text(
        json.dumps(
            {
                "value": [
                    {
                        "name": "broken",
                        "issuer": GITHUB,
                        "audiences": ["api://AzureADTokenExchange"],
                    },
                    {"name": "star", "issuer": GITHUB, "subject": "repo:acme/app:*"},
                    {
                        "name": "main",
                        "issuer": GITHUB,
                        "subject": "repo:acme/app:ref:refs/heads/main",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    results = {r.subject.split("#")[1]: r for r in check_all(load_configs([str(path)]))}
    assert {k: r.verdict for k, r in results.items()} == {
        "broken": "error",
        "star": "broken",
        "main": "pass",
    }
    assert results["broken"].findings[0].rule == "configuration-invalid"


def test_one_azure_credential_without_subject_alone_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "cred.json"
    path.write_text(json.dumps({"issuer": GITHUB, "subject": None, "audiences": []}))
    with pytest.raises(InputError) as info:
        check_all(load_configs([str(path)]))
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    ("provider", "document"),
    [
        ("gcp", {"issuer_uri": GITHUB, "attribute_condition": "(" * 200 + "true" + ")" * 200}),
        ("gcp", {"issuer_uri": GITHUB, "attribute_condition": "!" * 5000 + "true"}),
        (
            "gcp",
            {"issuer_uri": GITHUB, "attribute_condition": "a + " * 3000 + "a == 'x'"},
        ),
        (
            "azure",
            {
                "issuer": GITHUB,
                "claimsMatchingExpression": {
                    "value": "(" * 300
                    + "claims['sub'] eq 'repo:a/b:ref:refs/heads/main'"
                    + ")" * 300
                },
            },
        ),
    ],
    ids=["gcp-parentheses", "gcp-negations", "gcp-long-sum", "azure-parentheses"],
)
def test_deep_expressions_exit_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], provider: str, document: object
) -> None:
    """Ended in an uncaught RecursionError traceback."""
    path = tmp_path / f"{provider}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    run = run_cli(capsys, "check", "trust-policy", str(path))
    assert run.code == 2, run
    assert str(path) in run.err
    assert "Traceback" not in run.err + run.out
    assert "deeper than" in run.err


def test_readers_never_import_checks() -> None:
    """DESIGN.md: sources never import checks (judging lives with the check)."""
    for name in ("trust_policy_files.py", "hcl_eval.py", "cloudformation.py"):
        tree = ast.parse((REPO / "verifier" / "sources" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("verifier.checks"), (name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("verifier.checks") for a in node.names), name


def test_gcp_whole_document_check_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`unsupported` denies by default (exit 1) and is accepted only when named under --warn."""
    path = tmp_path / "gcp.json"
    path.write_text(
        json.dumps(
            {"issuer_uri": GITHUB, "attribute_condition": "assertion.repository_owner_id > '0'"}
        )
    )
    assert check(load_configs([str(path)])[0]).verdict == "unsupported"
    assert run_cli(capsys, "check", "trust-policy", str(path)).code == 1
    strict = run_cli(capsys, "check", "trust-policy", str(path), "--deny", "fail,warn-org,warn-ref")
    assert strict.code == 1
    # accepting it takes taking it out of the deny list and naming it under warn
    still = run_cli(capsys, "check", "trust-policy", str(path), "--warn", "unsupported")
    assert still.code == 1
    accepted = run_cli(
        capsys,
        "check",
        "trust-policy",
        str(path),
        "--deny",
        "fail,warn-org",
        "--warn",
        "unsupported",
    )
    assert accepted.code == 0
    assert "unsupported" in accepted.out
