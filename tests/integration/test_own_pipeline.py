"""The project's own pipeline passes its own checks: pinned actions everywhere, a well-scoped trust policy."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

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


def _workflow(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    return doc


def _uses(steps: list[dict[str, Any]]) -> list[str]:
    return [str(s.get("uses", "")).split("@")[0] for s in steps]


def test_release_pipeline_gates_itself_before_the_gitops_update() -> None:
    """deploy.yml: build → scan → sign + SBOM + provenance → `uses: ./` gate with verifier.yaml → update
    only on allow (and the update job verifies again before it writes)."""
    jobs = _workflow("deploy.yml")["jobs"]
    assert jobs["build-scan-sign"]["uses"] == "./.github/workflows/build-scan-sign.yml"
    build_steps = _workflow("build-scan-sign.yml")["jobs"]["build"]["steps"]
    names = " ".join(str(s.get("run", "")) for s in build_steps)
    assert "image/build.sh" in names and "make wheelhouse" in names
    assert "cosign sign --yes" in names and "cosign attest --yes --type cyclonedx" in names
    uses = _uses(build_steps)
    assert uses.index("aquasecurity/trivy-action") < uses.index("actions/attest-build-provenance")
    # The released scan reads the pushed image by digest, so the report names it (scan binding).
    [released_scan] = [
        s
        for s in build_steps
        if s.get("if") == "inputs.push" and s.get("with", {}).get("output") == "trivy.sarif"
    ]
    assert released_scan["with"]["image-ref"].endswith("@${{ steps.push.outputs.digest }}")
    gate = jobs["gate"]
    assert gate["needs"] == "build-scan-sign"
    assert "github/codeql-action/upload-sarif" in _uses(gate["steps"])  # Trivy's SARIF
    [step] = [s for s in gate["steps"] if s.get("uses") == "./"]
    assert step["with"]["config"] == "verifier.yaml"
    assert step["with"]["sarif-file"] == "verifier.sarif"
    update = jobs["update-gitops"]
    assert update["needs"] == "gate"
    assert update["if"] == "needs.gate.outputs.allowed == 'true'"
    [reverify] = [s for s in update["steps"] if s.get("uses") == "./"]
    assert reverify["with"]["update"].endswith(":.image.digest={digest}")


def test_placeholders_are_named_in_one_documented_place() -> None:
    deploy = _workflow("deploy.yml")
    docs = (ROOT / "docs" / "deploy.md").read_text()
    for name in deploy["env"]:
        assert f"| `{name}` |" in docs, name
    secrets = set()
    for path in WORKFLOWS:
        secrets |= set(re.findall(r"secrets\.([A-Z_]+)", path.read_text()))
    for secret in secrets - {"GITHUB_TOKEN"}:
        assert f"| `{secret}` |" in docs, secret


def test_own_verifier_yaml_is_valid_and_names_the_release_signer() -> None:
    from verifier.config import load_config

    config = load_config(ROOT / "verifier.yaml")
    assert config.signers is not None and config.signers.identity is not None
    assert config.signers.identity.identity == (
        "https://github.com/verifier-dev/verifier/.github/workflows/build-scan-sign.yml@refs/heads/main"
    )
    assert config.sections["sbom"].format == "cyclonedx"
    assert {Path(p).relative_to(ROOT).as_posix() for p in config.sections["workflows"].paths} == {
        ".github/workflows",
        "action.yml",
    }
