"""`verifier gate` with an image and scan reports (issue 17): a report must be a scan of the gated image, and
recent enough when `sarif.max_age` is set. Each case below used to be an allow.

The gated image is the demo's OCI layout `throwaway-key` (manifest sha256:716e353b…), read for real; the
reports are real Trivy output (tests/assets/upstream/sarif) or, for the bound Trivy JSON report, Trivy's own
golden report with `Metadata.RepoDigests` rewritten in the test to name the demo image (said where it is done).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.conftest import UPSTREAM

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
TRIVY = UPSTREAM / "sarif" / "trivy"
DEMO_DIGEST = "sha256:716e353bc5cad15053aa54e70f2f35085c2ed047b69d9a917fdf66b857fc623b"
NOW = "2026-11-26T00:00:00Z"


def _gate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sarif: str, now: str = NOW
) -> dict[str, Any]:
    cfg = tmp_path / "verifier.yaml"
    cfg.write_text(f"image: oci-layout:{DEMO}/throwaway-key\nsarif:\n{sarif}")
    run = run_cli(capsys, "gate", "--config", str(cfg), "--format", "json", "--now", now)
    doc: dict[str, Any] = json.loads(run.out) if run.out else {}
    doc["code"], doc["err"] = run.code, run.err
    return doc


def test_bound_demo_report_is_allowed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = _gate(capsys, tmp_path, f"  files: [{DEMO}/scan.sarif]\n")
    assert doc["code"] == 0, doc
    [result] = doc["results"]
    assert result["facts"]["image_binding"]["status"] == "bound"


def test_clean_scan_of_another_image_is_denied(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Trivy 0.40.0's empty report of quay.io/ortelius/ms-nginx: zero findings, another image."""
    report = TRIVY / "ortelius-trivy-0.40.0-empty-results.sarif.json"
    doc = _gate(capsys, tmp_path, f"  files: [{report}]\n")
    assert doc["code"] == 1
    [deny] = doc["decision"]["deny"]
    assert deny.startswith(f"{report}: the scan is of another image, not the gated {DEMO_DIGEST}: ")
    assert "quay.io/ortelius/ms-nginx@sha256:a8e6a649" in deny
    # require_image_identity: false tolerates a report without identity, never one of another image
    doc = _gate(capsys, tmp_path, f"  files: [{report}]\n  require_image_identity: false\n")
    assert doc["code"] == 1


def test_report_without_identity_is_denied_with_how_to_bind(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = TRIVY / "trivy-golden-alpine-310.sarif.json"  # medium findings only, no repoDigests
    doc = _gate(capsys, tmp_path, f"  files: [{report}]\n")
    assert doc["code"] == 1
    [deny] = doc["decision"]["deny"]
    assert deny.startswith(f"{report}: the report does not say it is a scan of the gated image")
    assert deny.endswith(f"e.g. trivy image --format sarif registry/repo@{DEMO_DIGEST}")
    optional = _gate(capsys, tmp_path, f"  files: [{report}]\n  require_image_identity: false\n")
    assert optional["code"] == 0
    assert any(
        "does not say it is a scan of the gated image" in w for w in optional["decision"]["warn"]
    )


def test_without_an_image_reports_are_not_bound(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(f"sarif:\n  files: [{TRIVY / 'trivy-golden-alpine-310.sarif.json'}]\n")
    run = run_cli(capsys, "gate", "--config", str(cfg), "--format", "json")
    assert run.code == 0
    assert json.loads(run.out)["results"][0]["facts"]["image_binding"]["status"] == "not-checked"


def _bound_trivy_json(tmp_path: Path) -> Path:
    """Trivy's golden JSON report (CreatedAt 2021-08-25T12:20:30Z), RepoDigests rewritten to the demo."""
    doc = json.loads((TRIVY / "trivy-golden-alpine-310.trivy-report.json").read_text())
    doc["Metadata"]["RepoDigests"] = [f"localhost:5000/demo/throwaway-key@{DEMO_DIGEST}"]
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(doc))
    return path


def test_max_age(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = _bound_trivy_json(tmp_path)
    fresh = _gate(
        capsys, tmp_path, f"  files: [{report}]\n  max_age: 168h\n", now="2021-08-30T00:00:00Z"
    )
    assert fresh["code"] == 0, fresh
    assert fresh["results"][0]["facts"]["scanned_at"] == "2021-08-25T12:20:30Z"
    old = _gate(capsys, tmp_path, f"  files: [{report}]\n  max_age: 168h\n")
    assert old["code"] == 1
    assert old["decision"]["deny"] == [
        f"{report}: the scan ran at 2021-08-25T12:20:30Z, older than max_age 168h"
    ]


def test_max_age_on_a_report_without_time_is_denied(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = _gate(capsys, tmp_path, f"  files: [{DEMO}/scan.sarif]\n  max_age: 720h\n")
    assert doc["code"] == 1
    [deny] = doc["decision"]["deny"]
    assert "does not say when the scan ran, so its age (max_age 720h) cannot be checked" in deny


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("fail_on: [low, medium]", "sarif: fail_on: low, medium leaves out the more severe high"),
        ("max_age: 7d", "sarif: max_age: '7d' is not a Go duration such as 168h or 90m"),
    ],
)
def test_bad_sarif_settings_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, setting: str, problem: str
) -> None:
    doc = _gate(capsys, tmp_path, f"  files: [{DEMO}/scan.sarif]\n  {setting}\n")
    assert doc["code"] == 2
    assert problem in doc["err"] and "Traceback" not in doc["err"]


# --- through a real registry (Debian docker-registry on 127.0.0.1) ------------------------------------------


def _report_naming(tmp_path: Path, repo_digest: str) -> Path:
    """Trivy's golden JSON report (medium findings only) with RepoDigests rewritten to ``repo_digest``."""
    doc = json.loads((TRIVY / "trivy-golden-alpine-310.trivy-report.json").read_text())
    doc["Metadata"]["RepoDigests"] = [repo_digest]
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(doc))
    return path


def _gate_image(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, image: str, report: Path
) -> dict[str, Any]:
    cfg = tmp_path / "verifier.yaml"
    cfg.write_text(f"image: {image}\nsarif:\n  files: [{report}]\n")
    run = run_cli(capsys, "gate", "--config", str(cfg), "--format", "json", "--now", NOW)
    doc: dict[str, Any] = json.loads(run.out)
    doc["code"] = run.code
    return doc


def test_tag_moved_after_the_scan_is_denied(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, registry: Any
) -> None:
    """The scan named the digest `v1` pointed to; after a push moves `v1`, the same report is of another
    image, and the gate (which resolves the tag once) says so."""
    repo = registry.new_repo("scan")
    scanned, _ = registry.push_image(repo, "v1")
    report = _report_naming(tmp_path, f"{registry.host}/{repo}@{scanned}")
    allowed = _gate_image(capsys, tmp_path, registry.ref(repo, "v1"), report)
    assert allowed["code"] == 0, allowed["decision"]
    assert allowed["results"][0]["facts"]["image_binding"]["gated"] == [scanned]
    moved, _ = registry.push_image(repo, "v1")
    denied = _gate_image(capsys, tmp_path, registry.ref(repo, "v1"), report)
    assert denied["code"] == 1
    [deny] = denied["decision"]["deny"]
    assert f"the scan is of another image, not the gated {moved}" in deny


def test_report_naming_the_index_binds_when_the_index_is_gated(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, registry: Any
) -> None:
    """`trivy image repo@<index digest>` records the index digest (remote.Get's descriptor)."""
    from verifier.sources.oci_common import OCI_INDEX, OCI_MANIFEST

    repo = registry.new_repo("scan")
    platform, raw = registry.push_image(repo, None)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": platform,
                "size": len(raw),
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    index_digest, _ = registry.push_manifest(repo, "multi", index, OCI_INDEX)
    report = _report_naming(tmp_path, f"{registry.host}/{repo}@{index_digest}")
    doc = _gate_image(capsys, tmp_path, registry.ref(repo, index_digest), report)
    assert doc["code"] == 0, doc["decision"]
    # Gated by the platform manifest, the same report names the index: not bound until the pipeline
    # passes the index that contains the manifest as an acceptable digest too.
    doc = _gate_image(capsys, tmp_path, registry.ref(repo, platform), report)
    assert doc["code"] == 1
    assert doc["results"][0]["facts"]["image_binding"]["status"] == "mismatch"


def test_every_image_of_a_release_needs_its_own_scan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Two images (the demo's throwaway-key and throwaway-worker layouts): the demo report names the first,
    so the second has no scan until a report naming it is added (Trivy's golden JSON, RepoDigests rewritten
    here to name the worker)."""
    worker = "sha256:517ec2ddd7cba68ee8318d4e14771f7de0af464a53d725c1942964d985660772"
    images = (
        f"images:\n  - oci-layout:{DEMO}/throwaway-key\n  - oci-layout:{DEMO}/throwaway-worker\n"
    )
    cfg = tmp_path / "verifier.yaml"
    cfg.write_text(images + f"sarif:\n  files: [{DEMO}/scan.sarif]\n")
    run = run_cli(capsys, "gate", "--config", str(cfg), "--format", "json", "--now", NOW)
    assert run.code == 1
    assert json.loads(run.out)["decision"]["deny"] == [
        f"sarif-severity: no scan report of the release's image {worker} (every image needs a report "
        "that names its digest)"
    ]
    report = _report_naming(tmp_path, f"localhost:5000/demo/throwaway-worker@{worker}")
    cfg.write_text(images + f"sarif:\n  files: [{DEMO}/scan.sarif, {report}]\n")
    run = run_cli(capsys, "gate", "--config", str(cfg), "--format", "json", "--now", NOW)
    assert run.code == 0, run.out
    bound = [r["facts"]["image_binding"]["bound_to"] for r in json.loads(run.out)["results"]]
    assert bound == [[DEMO_DIGEST], [worker]]


def test_check_sarif_with_a_config_that_names_the_image_binds_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`verifier check sarif FILE --config C` decides as the gate does: C's image is the gated one."""
    cfg = tmp_path / "verifier.yaml"
    cfg.write_text(f"image: oci-layout:{DEMO}/throwaway-key\nsarif:\n  files: []\n")
    other = str(TRIVY / "ortelius-trivy-0.40.0-empty-results.sarif.json")
    run = run_cli(capsys, "check", "sarif", other, "--config", str(cfg), "--format", "json")
    assert run.code == 1
    assert json.loads(run.out)["results"][0]["facts"]["image_binding"]["status"] == "mismatch"
    run = run_cli(capsys, "check", "sarif", f"{DEMO}/scan.sarif", "--config", str(cfg))
    assert run.code == 0, run.out
