"""The project's own pipeline passes its own checks: pinned actions everywhere, a well-scoped trust policy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_actions_check_on_the_project_has_zero_findings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    run = run_cli(capsys, "check", "actions", ".github/", "action.yml")
    assert run.code == 0, run.out + run.err
    assert "DECISION: ALLOWED" in run.out
    assert "no findings" in run.out and "warn:" not in run.out
    checked = [
        line.split()[2] for line in run.out.splitlines() if line.startswith("actions-pinned")
    ]
    assert sorted(checked) == sorted([*(os.path.relpath(w, ROOT) for w in WORKFLOWS), "action.yml"])


def test_demo_trust_policy_passes_and_broad_one_is_denied(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(capsys, "check", "trust-policy", str(DEMO / "trust-policy.json")).code == 0
    broad = run_cli(capsys, "check", "trust-policy", str(DEMO / "trust-policy-broad.json"))
    assert broad.code == 1
    assert "trust-policy-broad.json" in broad.out


def test_demo_deny_workflow_is_denied_and_allow_workflow_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(capsys, "check", "actions", str(DEMO / "workflows" / "release.yml")).code == 0
    deny = run_cli(capsys, "check", "actions", str(DEMO / "workflows-deny" / "release.yml"))
    assert deny.code == 1
    assert "actions/setup-python@v7" in deny.out


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_permissions_are_least_privilege(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert doc["permissions"] == {}, "top-level permissions must be {}"
    for name, job in doc["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"job {name} must grant its own permissions"
        if perms.get("id-token") == "write":
            # Only where signing happens: the reusable build-scan-sign workflow (or a job calling it).
            uses = job.get("uses", "")
            assert path.name == "build-scan-sign.yml" or uses.endswith("build-scan-sign.yml"), name
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{name}: checkout"
