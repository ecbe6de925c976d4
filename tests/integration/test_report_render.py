"""``verifier report render``: a JSON report rendered in every format is byte for byte what the deciding
command printed in that format (the golden files of test_golden_outputs.py), and bad reports exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.conftest import REPO
from tests.integration.test_golden_outputs import CASES, EXTENSIONS, GOLDEN, _redact
from verifier import __version__


def _report(tmp: Path, case: str) -> Path:
    """The case's golden JSON report with the real version put back (goldens redact it)."""
    path = tmp / f"{case}.json"
    path.write_text((GOLDEN / f"{case}.json").read_text().replace("@@VERSION@@", __version__))
    return path


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_render_reproduces_what_the_command_printed(
    case: str, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(capsys, "report", "render", str(_report(tmp_path, case)), "--format", fmt)
    assert run.code == 0, run.err
    assert _redact(run.out) == (GOLDEN / f"{case}.{EXTENSIONS[fmt]}").read_text()


def test_render_to_a_file_and_exit_0_on_a_denied_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.sarif"
    run = run_cli(
        capsys,
        "report",
        "render",
        str(_report(tmp_path, "gate-deny")),
        "--format",
        "sarif",
        "--output",
        str(out),
    )
    assert run.code == 0 and run.out == ""
    assert _redact(out.read_text()) == (GOLDEN / "gate-deny.sarif.json").read_text()


def _bad(tmp: Path, capsys: pytest.CaptureFixture[str], doc: object | str) -> str:
    path = tmp / "bad.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    run = run_cli(capsys, "report", "render", str(path), "--format", "markdown")
    assert run.code == 2, run
    assert run.out == ""
    assert "Traceback" not in run.err
    assert str(path) in run.err
    return run.err


def _golden_doc(case: str = "gate-allow") -> dict[str, object]:
    doc: dict[str, object] = json.loads(
        (GOLDEN / f"{case}.json").read_text().replace("@@VERSION@@", __version__)
    )
    return doc


def test_bad_reports_are_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "not valid JSON" in _bad(tmp_path, capsys, "{not json")
    deep = _golden_doc()
    deep["results"][0]["facts"] = {"deep": "@@DEEP@@"}  # type: ignore[index]
    nested = json.dumps(deep).replace('"@@DEEP@@"', "[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in _bad(tmp_path, capsys, nested)
    assert "not a verifier.report/v1 document" in _bad(tmp_path, capsys, {"schema": "x"})
    doc = _golden_doc()
    doc["schema"] = "verifier.audit/v1"
    assert "expected 'verifier.report/v1'" in _bad(tmp_path, capsys, doc)
    doc = _golden_doc()
    doc["tool"] = {"name": "verifier", "version": "0.0.0-other"}
    assert "written by verifier 0.0.0-other" in _bad(tmp_path, capsys, doc)
    doc = _golden_doc()
    doc["results"] = [{"check": "signature"}]
    assert "not a verifier.report/v1 document" in _bad(tmp_path, capsys, doc)
    missing = run_cli(
        capsys, "report", "render", str(tmp_path / "none.json"), "--format", "markdown"
    )
    assert missing.code == 2 and "none.json" in missing.err


def test_a_decision_that_contradicts_itself_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An edited report that says allowed while listing deny reasons (or denied without one) is not
    rendered as either."""
    allowed_with_reasons = _golden_doc("gate-deny")
    allowed_with_reasons["decision"]["allowed"] = True  # type: ignore[index]
    assert "not a real decision" in _bad(tmp_path, capsys, allowed_with_reasons)
    denied_without_reasons = _golden_doc("gate-allow")
    denied_without_reasons["decision"]["allowed"] = False  # type: ignore[index]
    assert "not a real decision" in _bad(tmp_path, capsys, denied_without_reasons)


def test_render_of_a_rendered_json_is_a_fixed_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Metamorphic: JSON → render json → render json changes nothing."""
    first = run_cli(
        capsys, "report", "render", str(_report(tmp_path, "gate-deny")), "--format", "json"
    )
    again = tmp_path / "again.json"
    again.write_text(first.out)
    second = run_cli(capsys, "report", "render", str(again), "--format", "json")
    assert first.code == second.code == 0
    assert first.out == second.out


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
def test_a_release_of_several_images_renders_as_the_gate_printed_it(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Differential: the gate's own output in each format against `report render` of its JSON, for a
    release of two images (the report then groups results per image)."""
    demo = REPO / "fixtures" / "demo"
    config = tmp_path / "release.yaml"
    config.write_text(
        f"images:\n  - oci-layout:{demo / 'throwaway-key'}\n  - oci-layout:{demo / 'keyless-real'}\n"
        f"signers:\n  key: {demo / 'keys' / 'throwaway-cosign.pub'}\n"
        f"sarif:\n  files: [{demo / 'scan.sarif'}]\n"
    )
    gate = ["gate", "--config", str(config), "--now", "2026-01-01T00:00:00Z"]
    report = tmp_path / "report.json"
    first = run_cli(capsys, *gate, "--format", "json", "--output", str(report))
    assert first.code == 1, first.err  # the keyless image is not signed by the key
    assert len(json.loads(report.read_text())["images"]) == 2
    direct = run_cli(capsys, *gate, "--format", fmt)
    rendered = run_cli(capsys, "report", "render", str(report), "--format", fmt)
    assert rendered.code == 0, rendered.err
    assert rendered.out == direct.out


def test_fields_the_renderer_does_not_model_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _golden_doc()
    doc["extra"] = {"would be": "silently dropped"}
    assert "not a verifier.report/v1 document" in _bad(tmp_path, capsys, doc)
    doc = _golden_doc()
    doc["images"] = [{"ref": "a", "digest": None, "results": [99]}]
    assert "names a result the report does not have" in _bad(tmp_path, capsys, doc)


@pytest.mark.parametrize("fmt", ["markdown", "table", "json"])
def test_render_keeps_what_became_of_the_update(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Action renders its summary from the gate's JSON: the GitOps update's outcome must survive."""
    from tests.integration.test_gate import CORE, VALUES, _config

    values = tmp_path / "values.yaml"
    config = str(_config(tmp_path, CORE))
    spec = f"{values}:.image.digest={{digest}}"
    printed = {}
    for each in (fmt, "json"):
        values.write_text(VALUES)
        run = run_cli(capsys, "gate", "--config", config, "--update", spec, "--format", each)
        assert run.code == 0, run.err
        printed[each] = run.out
    assert str(values) in printed[fmt] and ".image.digest" in printed[fmt]
    report = tmp_path / "report.json"
    report.write_text(printed["json"])
    run = run_cli(capsys, "report", "render", str(report), "--format", fmt)
    assert run.code == 0, run.err
    assert run.out == printed[fmt]


def test_an_update_outcome_that_contradicts_itself_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _golden_doc()
    doc["updates"] = {"applied": True, "reason": "x"}
    assert "applied and reason contradict" in _bad(tmp_path, capsys, doc)
    doc["updates"] = {"applied": False}
    assert "applied and reason contradict" in _bad(tmp_path, capsys, doc)
    doc["updates"] = {
        "applied": False,
        "reason": "x",
        "changes": [{"file": "f", "path": ".a", "value": "v"}],
    }
    assert "applied and reason contradict" in _bad(tmp_path, capsys, doc)
