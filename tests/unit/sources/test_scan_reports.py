"""The scan-report and waiver-file readers: what they return, what they refuse, and that they only read."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ASSETS, UPSTREAM
from verifier.errors import InputError
from verifier.sources.scan_reports import (
    ScannedArtifact,
    WaiverInputs,
    load_scan_report,
    load_waiver_inputs,
    parse_scan_report,
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


# --- SARIF against its schema (the differential is in test_scan_reports_schema.py) ----------------------


def _log(run: dict[str, Any] | None = None, **top: Any) -> bytes:
    run = {"tool": {"driver": {"name": "Trivy"}}, "results": [], **(run or {})}
    return json.dumps({"version": "2.1.0", "runs": [run], **top}).encode()


def _problem(data: bytes) -> str:
    with pytest.raises(InputError) as info:
        parse_scan_report(data, "s.sarif")
    assert info.value.path == "s.sarif"
    return str(info.value).removeprefix("s.sarif: ")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        # RFC 6901: "~" and "/" in a key are escaped in the pointer.
        (_log(**{"a/b~c": 1}), "/a~1b~0c: unknown key (the schema allows no other key there)"),
        (
            _log({"tool": {"driver": {"name": "T", "rules": [{"id": "R"}, {"id": "R"}]}}}),
            "/runs/0/tool/driver: 'rules' item 1 repeats item 0 (the schema requires unique items)",
        ),
        (
            _log({"results": [{"message": {"markdown": "*x*"}}]}),
            "/runs/0/results/0/message: message has none of 'text', 'id' (the schema requires one)",
        ),
        (
            _log({"graphs": [], "results": [{"message": {"text": "x"}, "graphTraversals": [{}]}]}),
            "/runs/0/results/0/graphTraversals/0: graphTraversal has not exactly one of "
            "'runGraphIndex', 'resultGraphIndex'",
        ),
        (
            _log({"results": [{"message": {"text": "x"}, "properties": {"tags": ["a", "a"]}}]}),
            "/runs/0/results/0/properties: 'tags' item 1 repeats item 0",
        ),
        # A value inside a map: msgspec does not name the key, the reader finds it.
        (
            _log({"originalUriBaseIds": {"A": {"uri": "a"}, "B/C": {"uri": 1}, "D": {"uri": 2}}}),
            "/runs/0/originalUriBaseIds/B~1C/uri: Expected `str`, got `int`",
        ),
        (
            _log({"originalUriBaseIds": {f"K{i}": {} for i in range(999)} | {"Z": {"index": -2}}}),
            "/runs/0/originalUriBaseIds/Z/index: Expected `int` >= -1",
        ),
        # ... unless json.loads would not see the bad value (a repeated key): "*" stands for it.
        (
            _log({"originalUriBaseIds": {"A": {"uri": "a"}}}).replace(
                b'{"A": {"uri": "a"}}', b'{"A": {"uri": 1}, "A": {"uri": "a"}}'
            ),
            "/runs/0/originalUriBaseIds/*/uri: Expected `str`, got `int`",
        ),
        (_log({"language": "english"}), "/runs/0/language: Expected `str` matching regex"),
        (_log({"results": [{"message": {"text": "x"}, "ruleIndex": -2}]}), "Expected `int` >= -1"),
        (_log({"results": [{"message": {"text": "x"}, "level": None}]}), "got `null`"),
        (_log(properties=[]), "/properties: Expected `object`, got `array`"),
        (json.dumps({"version": "2.1.0"}).encode(), "neither SARIF"),
        (json.dumps({"runs": []}).encode(), "/version: missing (the schema requires it)"),
        (b'{"version": "2\\u002e0", "runs": []}', "SARIF version '2.0' is not supported"),
    ],
)
def test_sarif_the_schema_refuses_is_refused_with_its_pointer(data: bytes, problem: str) -> None:
    assert problem in _problem(data)


def test_a_version_spelled_with_escapes_is_read_as_its_value() -> None:
    assert parse_scan_report(_log().replace(b'"2.1.0"', b'"2\\u002e1.0"', 1), "s").is_sarif


def test_null_runs_are_valid_sarif_that_records_no_scan() -> None:
    """The schema allows ``runs: null`` (the tool could not run): read, with no scan in it."""
    report = parse_scan_report(b'{"version": "2.1.0", "runs": null}', "s.sarif")
    assert report.is_sarif and report.runs == [] and report.scans == ()


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b'{"SchemaVersion": 2, "ArtifactName": "\xa4"}', 38),
        (
            b'{"SchemaVersion": 2, "Results": [], "x": "' + b"a" * (1 << 20) + b'\xe2\x82"}',
            42 + (1 << 20),
        ),
        (b'{"scanner": {"uri": "\xc0\xaf"}}', 21),  # an overlong "/"
    ],
)
def test_trivy_and_cosign_vuln_must_be_utf8_even_where_unread(data: bytes, offset: int) -> None:
    """Fields the Trivy reader skips are not decoded by msgspec: the UTF-8 check covers them."""
    assert _problem(data).startswith(f"not valid UTF-8 (byte {offset}: ")


def test_invalid_utf8_in_an_unread_sarif_field_is_refused() -> None:
    data = _log({"results": [{"message": {"text": "x"}, "fingerprints": {"k": "\udc80"}}]})
    assert _problem(data.replace(b"\\udc80", b"\xa4")).startswith("not valid JSON: Invalid UTF-8")


def _reformatted(doc: Any, rng: random.Random) -> Any:
    """The same JSON value with every object's keys in another order."""
    if isinstance(doc, dict):
        items = list(doc.items())
        rng.shuffle(items)
        return {key: _reformatted(value, rng) for key, value in items}
    if isinstance(doc, list):
        return [_reformatted(value, rng) for value in doc]
    return doc


@pytest.mark.parametrize(
    "path",
    sorted((UPSTREAM / "sarif").glob("*/*.sarif.json")),
    ids=lambda p: p.name,
)
def test_key_order_and_layout_do_not_change_what_is_read(path: Path) -> None:
    """Metamorphic: reordering keys and reindenting a log gives the same decoded log and records."""
    doc = json.loads(path.read_bytes())
    base = parse_scan_report(path.read_bytes(), "a")
    rng = random.Random(path.name)  # noqa: S311 - a reproducible order, not a secret
    for indent in (None, 1):
        other = parse_scan_report(json.dumps(_reformatted(doc, rng), indent=indent).encode(), "a")
        assert other.document == base.document
        assert other.scans == base.scans and other.scanner == base.scanner
