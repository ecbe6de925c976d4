"""`verifier gate` end to end through the console entry point, on the demo release in fixtures/demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.conftest import UPSTREAM

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo"
CRITICAL = UPSTREAM / "sarif" / "trivy" / "ratify-trivy-alpine-critical.sarif.json"
DIGEST = "sha256:" + "ab" * 32
VALUES = (
    "# prod values\nimage:\n  repository: ghcr.io/o/api  # the repo\n  digest: sha256:"
    + "0" * 64
    + "\n"
)


def _config(tmp_path: Path, body: str) -> Path:
    """A config in tmp_path whose relative paths point into fixtures/demo (by absolute path)."""
    cfg = tmp_path / "verifier.yaml"
    cfg.write_text(body.replace("DEMO", str(DEMO)))
    return cfg


# The checks whose modules are in the build today without the SBOM verify helper: signature, SARIF,
# workflows, trust policy. (The full demo config is exercised by test_demo_* below.)
CORE = """\
image: oci-layout:DEMO/throwaway-key
signers:
  key: DEMO/keys/throwaway-cosign.pub
sarif:
  files: [DEMO/scan.sarif]
workflows:
  paths: [DEMO/workflows/release.yml]
trust_policies:
  paths: [DEMO/trust-policy.json]
"""


def test_core_allow_json_shows_every_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = run_cli(capsys, "gate", "--config", str(_config(tmp_path, CORE)), "--format", "json")
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    assert doc["decision"]["allowed"] is True
    assert [r["check"] for r in doc["results"]] == [
        "signature",
        "sarif-severity",
        "actions-pinned",
        "oidc-trust",
    ]
    assert all(r["verdict"] == "pass" for r in doc["results"])


def test_files_skipped_on_purpose_are_reported_as_notices(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The gate used to drop the list of skipped files without a word; auditors see it in the report now."""
    workflows = tmp_path / "repo" / ".github" / "workflows"
    (workflows / "drafts").mkdir(parents=True)
    (workflows / "release.yml").write_bytes((DEMO / "workflows" / "release.yml").read_bytes())
    (workflows / "drafts" / "next.yml").write_bytes(
        (DEMO / "workflows" / "release.yml").read_bytes()
    )
    (workflows / "NOTES.md").write_text("not a workflow\n")
    body = CORE.replace("paths: [DEMO/workflows/release.yml]", f"paths: [{tmp_path / 'repo'}]")
    run = run_cli(capsys, "gate", "--config", str(_config(tmp_path, body)), "--format", "json")
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    assert [r["subject"] for r in doc["results"] if r["check"] == "actions-pinned"] == [
        str(workflows / "release.yml")
    ]
    assert doc["notices"] == [
        f"skipped {workflows / 'drafts'}: subdirectory of .github/workflows (GitHub only reads top-level files)",
        f"skipped {workflows / 'NOTES.md'}: not a .yml/.yaml file",
    ]


def test_demo_allow(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "gate", "--config", str(DEMO / "verifier.yaml"))
    assert run.code == 0, run.out + run.err
    assert "DECISION: ALLOWED" in run.out


def test_demo_deny_names_the_unpinned_action_and_the_broad_policy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = run_cli(capsys, "gate", "--config", str(DEMO / "verifier-deny.yaml"), "--format", "json")
    assert run.code == 1
    deny = "\n".join(json.loads(run.out)["decision"]["deny"])
    assert "workflows-deny/release.yml" in deny
    assert "trust-policy-broad.json" in deny


def test_sarif_override_replaces_the_file_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = run_cli(
        capsys, "gate", "--config", str(_config(tmp_path, CORE)), "--sarif", str(CRITICAL)
    )
    assert run.code == 1
    assert "unwaived critical finding(s)" in run.out
    assert "scan.sarif" not in run.out  # replaced, not added


def test_missing_sarif_is_exit_2_never_allow(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--sarif",
        str(tmp_path / "none.sarif"),
    )
    assert run.code == 2
    assert "none.sarif" in run.err


def test_unknown_check_in_config_is_exit_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = run_cli(
        capsys, "gate", "--config", str(_config(tmp_path, CORE + "licenses:\n  deny: [GPL]\n"))
    )
    assert run.code == 2
    assert "unknown key 'licenses'" in run.err


def test_registry_down_is_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--image",
        f"127.0.0.1:9/app@{DIGEST}",
    )
    assert run.code == 3, run.out + run.err


def test_check_missing_from_build_denies_with_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulates a build without the oidc-trust check (the registry's loader fails to import its module, as
    a build that left it out would): the gate must deny, not skip."""
    from verifier.checks import registry

    real = registry.load

    def fake(check_id: str) -> object:
        if check_id == "oidc-trust":
            raise ModuleNotFoundError(
                "No module named 'verifier.checks.oidc_trust'", name="verifier.checks.oidc_trust"
            )
        return real(check_id)

    monkeypatch.setattr(registry, "load", fake)
    run = run_cli(capsys, "gate", "--config", str(_config(tmp_path, CORE)), "--format", "json")
    assert run.code == 1
    doc = json.loads(run.out)
    [err] = [r for r in doc["results"] if r["check"] == "oidc-trust"]
    assert err["verdict"] == "error"
    assert any("oidc-trust could not be evaluated" in d for d in doc["decision"]["deny"])


def test_update_written_on_allow_keeping_comments(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = tmp_path / "values-production.yaml"
    values.write_text(VALUES)
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--update",
        f"{values}:.image.digest={{digest}}",
    )
    assert run.code == 0, run.out + run.err
    text = values.read_text()
    assert (
        "digest: sha256:716e353bc5cad15053aa54e70f2f35085c2ed047b69d9a917fdf66b857fc623b\n" in text
    )
    assert text.startswith("# prod values\n") and "ghcr.io/o/api  # the repo" in text


def test_nothing_written_on_deny(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(VALUES)
    vsa = tmp_path / "vsa.json"
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--sarif",
        str(CRITICAL),
        "--update",
        f"{values}:.image.digest={DIGEST}",
        "--vsa",
        str(vsa),
    )
    assert run.code == 1
    assert values.read_text() == VALUES
    assert not vsa.exists()


def test_report_says_the_update_was_applied(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(VALUES)
    spec = f"{values}:.image.digest={{digest}}"
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--update",
        spec,
        "--format",
        "json",
    )
    assert run.code == 0, run.out + run.err
    digest = "sha256:716e353bc5cad15053aa54e70f2f35085c2ed047b69d9a917fdf66b857fc623b"
    assert json.loads(run.out)["updates"] == {
        "applied": True,
        "changes": [{"file": str(values), "path": ".image.digest", "value": digest}],
    }


def test_report_says_a_denied_release_changed_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(VALUES)
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--sarif",
        str(CRITICAL),
        "--update",
        f"{values}:.image.digest={DIGEST}",
        "--format",
        "markdown",
    )
    assert run.code == 1
    assert (
        "**GitOps update:**\n\n- not applied: the release was not allowed; no file was changed"
        in (run.out)
    )
    assert values.read_text() == VALUES


def test_failed_update_still_writes_the_report_then_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An allowed release whose edit cannot be made (a path through a string): nothing is changed, the report is
    written (the decision is not lost) and says why, and the exit code is 2 — not 0, since the GitOps
    change the caller asked for did not happen."""
    values = tmp_path / "values.yaml"
    values.write_text(VALUES)
    other = tmp_path / "other.yaml"
    other.write_text("image:\n  digest: old\n")
    report = tmp_path / "report.json"
    vsa = tmp_path / "vsa.json"
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--update",
        f"{other}:.image.digest={{digest}}",
        "--update",
        f"{values}:.image.repository.name={{digest}}",
        "--format",
        "json",
        "--output",
        str(report),
        "--vsa",
        str(vsa),
    )
    assert run.code == 2, run.out + run.err
    assert "is not a mapping" in run.err and str(values) in run.err
    doc = json.loads(report.read_text())
    assert doc["decision"]["allowed"] is True
    assert doc["updates"]["applied"] is False and "changes" not in doc["updates"]
    assert "is not a mapping" in doc["updates"]["reason"]
    assert "no --update file was changed" in doc["updates"]["reason"]
    assert values.read_text() == VALUES and other.read_text() == "image:\n  digest: old\n"
    assert not vsa.exists()


def test_no_updates_field_without_update(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = run_cli(capsys, "gate", "--config", str(_config(tmp_path, CORE)), "--format", "json")
    assert run.code == 0, run.out + run.err
    assert "updates" not in json.loads(run.out)


def test_tag_for_digest_refused_before_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(VALUES)
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--update",
        f"{values}:.image.digest=v1.2.3",
    )
    assert run.code == 2
    assert "a tag is refused where a digest is required" in run.err
    assert values.read_text() == VALUES


def test_vsa_written_on_allow(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    vsa = tmp_path / "vsa.json"
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--vsa",
        str(vsa),
        "--now",
        "2026-11-26T12:00:00Z",
    )
    assert run.code == 0, run.out + run.err
    st = json.loads(vsa.read_text())
    assert st["subject"][0]["digest"] == {
        "sha256": "716e353bc5cad15053aa54e70f2f35085c2ed047b69d9a917fdf66b857fc623b"
    }
    assert st["predicate"]["verificationResult"] == "PASSED"
    assert st["predicate"]["timeVerified"] == "2026-11-26T12:00:00Z"
    uris = [i["uri"] for i in st["predicate"]["inputAttestations"]]
    assert str(DEMO / "scan.sarif") in uris and str(DEMO / "trust-policy.json") in uris


@pytest.mark.parametrize(
    ("fmt", "marker"), [("markdown", "|"), ("sarif", '"version": "2.1.0"'), ("github", "::")]
)
def test_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str, marker: str) -> None:
    run = run_cli(
        capsys,
        "gate",
        "--config",
        str(_config(tmp_path, CORE)),
        "--sarif",
        str(CRITICAL),
        "--format",
        fmt,
    )
    assert run.code == 1
    assert marker in run.out


def test_init_writes_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "verifier.yaml"
    assert run_cli(capsys, "init", str(target)).code == 0
    first = target.read_text()
    assert "signers:" in first and first.count("#") > 10
    target.write_text("mine\n")
    run = run_cli(capsys, "init", str(target))
    assert run.code == 2 and "--force" in run.err
    assert target.read_text() == "mine\n"
    assert run_cli(capsys, "init", str(target), "--force").code == 0
    assert target.read_text() == first


def test_unexpected_exception_in_a_check_denies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug inside a check (simulated: check_files raises) is an error verdict that denies, not a crash."""
    from verifier.checks import actions_pinned

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("walker exploded")

    monkeypatch.setattr(actions_pinned, "check_files", boom)
    run = run_cli(capsys, "gate", "--config", str(_config(tmp_path, CORE)), "--format", "json")
    assert run.code == 1
    [err] = [r for r in json.loads(run.out)["results"] if r["check"] == "actions-pinned"]
    assert err["verdict"] == "error"
    assert err["facts"]["error"] == "internal error: RuntimeError: walker exploded"


def test_vsa_without_image_is_a_usage_error_before_anything_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    no_image = "sarif:\n  files: [DEMO/scan.sarif]\n"
    vsa = tmp_path / "vsa.json"
    run = run_cli(capsys, "gate", "--config", str(_config(tmp_path, no_image)), "--vsa", str(vsa))
    assert run.code == 2
    assert "need an image" in run.err
    assert not vsa.exists()
