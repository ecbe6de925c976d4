"""``verifier sbom inspect``: JSON contract and exit codes (0 valid, 1 invalid, 2 unreadable), in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.conftest import UPSTREAM

CORPUS = UPSTREAM / "sbom"
KEYS = {"format", "spec_version", "component_count", "purls", "licenses", "valid", "problems"}


def inspect(
    capsys: pytest.CaptureFixture[str], path: Path, *extra: str
) -> tuple[int, dict[str, object]]:
    run = run_cli(capsys, "sbom", "inspect", str(path), "--format", "json", *extra)
    return run.code, json.loads(run.out)


def test_valid_cyclonedx_validated(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = inspect(
        capsys, CORPUS / "cyclonedx/large/node-npm-juice-shop-flat-1.6.cdx.json", "--validate"
    )
    assert code == 0
    assert KEYS <= set(out)
    assert (out["format"], out["spec_version"], out["component_count"], out["valid"]) == (
        "cyclonedx",
        "1.6",
        1101,
        True,
    )
    assert out["problems"] == []
    assert "pkg:npm/%40colors/colors@1.6.0" in out["purls"]  # type: ignore[operator]


def test_not_validated_is_null(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = inspect(capsys, CORPUS / "spdx2/trivy-centos-7.spdx")
    assert code == 0
    assert (out["format"], out["spec_version"], out["valid"]) == ("spdx", "2.2", None)
    assert out["licenses"] == ["GPLv3+", "OpenSSL"]


def test_invalid_exits_1_with_problems(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = inspect(
        capsys, CORPUS / "cyclonedx/invalid/trivy-invalid-serial.cdx.json", "--validate"
    )
    assert code == 1
    assert out["valid"] is False
    assert out["problems"] == ["$.serialNumber: 1000000 is not of type 'string'"]


def test_strict_spdx_uses_spdx_tools(capsys: pytest.CaptureFixture[str]) -> None:
    """--validate applies spdx-tools' rules itself; --strict also runs spdx-tools: the same verdict."""
    code, out = inspect(capsys, CORPUS / "spdx2/spdx-examples-ACME-v2.3.spdx.json", "--validate")
    assert code == 1 and out["valid"] is False
    assert out["validator"] == "spdx-2-rules"
    assert out["problems"] == [
        "SPDXRef-Acme: licenseInfoFromFiles is set but filesAnalyzed is false"
    ]
    code, out = inspect(capsys, CORPUS / "spdx2/spdx-examples-ACME-v2.3.spdx.json", "--strict")
    assert code == 1 and out["valid"] is False
    assert out["validator"] == "spdx-2-rules+spdx-tools"
    assert any(
        "license_info_from_files must be None if files_analyzed is False" in p
        for p in out["problems"]
    )  # type: ignore[union-attr]


def test_tag_value_is_checked_like_json(capsys: pytest.CaptureFixture[str]) -> None:
    """Before: a tag-value document was called valid without any check (spdx-tools cannot parse this one)."""
    code, out = inspect(capsys, CORPUS / "spdx2/trivy-centos-7.spdx", "--validate")
    assert code == 1 and out["valid"] is False
    assert out["problems"][:2] == [
        "SPDXRef-DOCUMENT: creationInfo.created '2022-09-13T13:24:58.796907Z' is not YYYY-MM-DDThh:mm:ssZ",
        "SPDXRef-ContainerImage-dd5cad897c6263: package downloadLocation is missing",
    ]
    code, out = inspect(
        capsys, CORPUS / "spdx2/tools-python-SPDXTagExample-v2.3.spdx", "--validate"
    )
    assert code == 0 and out["valid"] is True


def test_reader_problems_without_validation_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = inspect(capsys, CORPUS / "spdx2/syft-golden-image.spdx.json")
    assert code == 1
    assert "creation time 'redacted' is not an RFC 3339 date-time" in out["problems"]  # type: ignore[operator]


def test_unreadable_exits_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bomb.xml"
    bad.write_bytes(b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "x">]><bom>&a;</bom>')
    run = run_cli(capsys, "sbom", "inspect", str(bad))
    assert run.code == 2
    assert run.err.startswith(f"verifier: error: {bad}: XML refused: ")
    run = run_cli(capsys, "sbom", "inspect", str(tmp_path / "missing.json"))
    assert (run.code, run.err.strip()) == (
        2,
        f"verifier: error: {tmp_path / 'missing.json'}: no such file",
    )


def test_size_cap_before_parsing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A 500 MB SBOM (a sparse file: no disk used) is refused by its size, never read or parsed."""
    import time

    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(500 * 1000 * 1000)
    start = time.perf_counter()
    run = run_cli(capsys, "sbom", "inspect", str(big))
    assert time.perf_counter() - start < 5
    assert run.code == 2
    assert run.err.strip() == (
        f"verifier: error: {big}: file is 476.8 MiB, over the limit of 128.0 MiB "
        "(raise it with --max-size if this input is expected)"
    )
    run = run_cli(capsys, "sbom", "inspect", str(big), "--max-size", "2")
    assert run.code == 2 and "over the limit of 2.0 MiB" in run.err


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "sbom",
        "inspect",
        str(CORPUS / "spdx3/spdx-examples-example11-rust.spdx3.json"),
        "--validate",
    )
    assert run.code == 0
    assert "format:        spdx 3.0.1 (json-ld)" in run.out
    assert "validation:    valid (spdx-3-structure)" in run.out


def test_check_sbom_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "sbom", "oci-layout:x", "--certificate-identity", "someone")
    assert run.code == 2
    assert "--certificate-oidc-issuer is required" in run.err
    run = run_cli(capsys, "check", "sbom", "oci-layout:x", "--key", "k.pub", "--type", "swid")
    assert run.code == 2
    assert "'swid' is not one of 'spdx', 'cyclonedx'" in run.err
