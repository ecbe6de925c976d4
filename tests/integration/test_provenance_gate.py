"""``verifier gate`` with a ``provenance:`` section, through the pipeline: slsa-verifier's real signed
provenance in an OCI layout, the VSA's Build level from it, and denials that name both values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.unit.checks.provenance_cases import EXPECTED, PROV

LAYOUT = next(
    layout
    for layout in EXPECTED["slsa-verifier/gha_generic_container"]["layouts"]
    if layout["builder_version"] == "v2.1.0"
)
IMAGE = f"oci-layout:{PROV / LAYOUT['layout_dir']}@{LAYOUT['image_digest']}"


def _gate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, section: str, *extra: str
) -> tuple[int, dict[str, Any]]:
    config = tmp_path / "verifier.yaml"
    config.write_text(f"version: 1\nimage: {IMAGE}\nprovenance:\n{section}")
    out = tmp_path / "report.json"
    run = run_cli(
        capsys, "gate", "--config", str(config), "--format", "json", "--output", str(out), *extra
    )
    assert run.code in (0, 1), run.err
    return run.code, json.loads(out.read_text())


def test_gate_allows_verified_provenance_and_the_vsa_says_build_level_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    vsa = tmp_path / "vsa.json"
    code, report = _gate(
        capsys,
        tmp_path,
        "  source_repository: github.com/slsa-framework/example-package\n  branch: main\n",
        "--vsa",
        str(vsa),
    )
    assert code == 0, report["decision"]
    [result] = report["results"]
    assert result["check"] == "provenance" and result["verdict"] == "pass"
    assert result["facts"]["builder"] == LAYOUT["builder_id_in_predicate"]
    predicate = json.loads(vsa.read_text())["predicate"]
    assert predicate["verifiedLevels"] == ["SLSA_BUILD_LEVEL_3"]
    [attestation] = [a for a in predicate["inputAttestations"] if "annotations" in a]
    assert attestation["annotations"]["builder_id"] == LAYOUT["builder_id_in_predicate"]


def test_gate_denies_another_source_with_both_values(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, report = _gate(
        capsys,
        tmp_path,
        "  source_repository: github.com/slsa-framework/example-package\n"
        "  source:\n    repository: github.com/acme/app\n",
    )
    assert code == 1
    [deny] = report["decision"]["deny"]
    assert "source-mismatch" in deny
    messages = [f["message"] for f in report["results"][0]["findings"] if f["severity"] == "high"]
    assert any(
        "github.com/slsa-framework/example-package" in m and "github.com/acme/app" in m
        for m in messages
    )


def test_bad_provenance_section_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "verifier.yaml"
    config.write_text(f"version: 1\nimage: {IMAGE}\nprovenance:\n  builder_id_regexp: '('\n")
    run = run_cli(capsys, "gate", "--config", str(config))
    assert run.code == 2
    assert "builder_id_regexp" in run.err


def test_check_command_takes_the_image_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`verifier check provenance IMAGE` as `check signature IMAGE` does; IMAGE and a different --image is
    a usage error, not a silent choice."""
    config = tmp_path / "verifier.yaml"
    config.write_text("version: 1\nprovenance:\n  source_repository: github.com/acme/other\n")
    by_argument = run_cli(capsys, "check", "provenance", IMAGE, "--config", str(config))
    by_option = run_cli(capsys, "check", "provenance", "--image", IMAGE, "--config", str(config))
    assert by_argument.code == by_option.code == 1
    assert by_argument.out == by_option.out
    both = run_cli(
        capsys, "check", "provenance", IMAGE, "--image", IMAGE + "0", "--config", str(config)
    )
    assert both.code == 2 and "give the image once" in both.err
