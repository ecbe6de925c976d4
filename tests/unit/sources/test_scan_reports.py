"""The scan-report and waiver-file readers: what they return, what they refuse, and that they only read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ASSETS, UPSTREAM
from verifier.errors import InputError
from verifier.sources.scan_reports import (
    ScannedArtifact,
    WaiverInputs,
    load_scan_report,
    load_waiver_inputs,
)

SOURCES = Path(__file__).resolve().parents[3] / "verifier" / "sources"
OWN = ASSETS / "sarif-severity" / "ignore"


@pytest.mark.parametrize("module", ["scan_reports.py", "trivyignore.py", "vex.py"])
def test_readers_never_import_checks(module: str) -> None:
    """sources -> checks is the wrong direction: matching findings against waivers is the check's job."""
    tree = ast.parse((SOURCES / module).read_text())
    imported = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [m for m in imported if m.startswith("verifier.checks")], imported


def test_readers_expose_no_matching() -> None:
    import verifier.sources.trivyignore as trivyignore
    import verifier.sources.vex as vex

    for name in ("find_waiver", "glob_match", "purl_matches", "is_expired"):
        assert not hasattr(trivyignore, name), name
    for name in ("find_suppression", "image_purl"):
        assert not hasattr(vex, name), name


def test_sarif_runs_give_one_record_each() -> None:
    report = load_scan_report(
        UPSTREAM / "sarif" / "trivy" / "ortelius-trivy-0.40.0-empty-results.sarif.json"
    )
    assert report.format == "sarif" and report.scanner == "Trivy 0.40.0"
    [record] = report.scans
    assert record.pointer == "runs[0]" and record.scanned_at is None
    assert record.artifact == ScannedArtifact(
        name="quay.io/ortelius/ms-nginx:main-v10.0.101-g69a78f",
        repo_digests=(
            "quay.io/ortelius/ms-nginx@sha256:"
            "a8e6a649b5890f6ae88f589517c7dea87eb93152218e8cd6b2c5f5898d53bcdb",
        ),
        repo_tags=("quay.io/ortelius/ms-nginx:main-v10.0.101-g69a78f",),
    )


def test_trivy_json_gives_one_record() -> None:
    report = load_scan_report(
        UPSTREAM / "sarif" / "trivy" / "trivy-golden-alpine-310.trivy-report.json"
    )
    assert (report.format, report.scanner) == ("trivy-json", "Trivy dev")
    [record] = report.scans
    assert record.pointer == "report"
    assert record.artifact is not None
    assert record.artifact.image_id == (
        "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"
    )
    assert record.artifact.repo_digests == ()
    assert record.artifact.repo_tags == ("ghcr.io/aquasecurity/trivy-test-images:alpine-310",)


def test_no_image_properties_means_no_artifact() -> None:
    report = load_scan_report(
        UPSTREAM / "sarif" / "trivy" / "trivy-action-config-misconfig.sarif.json"
    )
    assert [r.artifact for r in report.scans] == [None]


def test_waiver_inputs_keep_file_order_and_problems() -> None:
    inputs = load_waiver_inputs(
        [
            UPSTREAM / "trivyignore" / "trivy-action-1.trivyignore",
            OWN / "plain-edge-cases.trivyignore",
        ],
        [OWN / "alpine-310.openvex.json"],
    )
    assert [r.id for r in inputs.ignore_rules][:2] == ["CVE-2020-25576", "CVE-2019-15551"]
    assert len(inputs.ignore_problems) == 6
    assert [d.format for d in inputs.vex] == ["openvex"]
    assert load_waiver_inputs([], []) == WaiverInputs()


def test_waiver_inputs_refuse_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_waiver_inputs([tmp_path / "missing.trivyignore"], [])
    sarif = UPSTREAM / "sarif" / "trivy" / "trivy-golden-alpine-310.sarif.json"
    with pytest.raises(InputError, match="this is a SARIF report, not a VEX document"):
        load_waiver_inputs([], [sarif])
