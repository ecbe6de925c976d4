"""``verifier check actions`` end to end, in-process through the real entry point (click + regorus policy)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from verifier.adapters.cli import main

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "actions-pinned"
CORPUS = Path(__file__).resolve().parents[1] / "assets" / "upstream" / "workflows"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "actions", *args])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def run_json(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], str]:
    code, out, err = run([*args, "--format", "json"], capsys)
    return code, json.loads(out), err


@pytest.fixture
def in_assets() -> Any:
    here = Path.cwd()
    os.chdir(ASSETS)
    yield
    os.chdir(here)


def test_repo_denied_with_details_and_skips_listed(
    capsys: pytest.CaptureFixture[str], in_assets: None
) -> None:
    code, report, err = run_json(["repo"], capsys)
    assert code == 1
    by_subject = {r["subject"]: r for r in report["results"]}
    assert list(by_subject) == [
        "repo/.github/actions/setup/action.yml",
        "repo/.github/workflows/ci.yml",
        "repo/.github/workflows/release.yaml",
        "repo/tools/docker/action.yaml",
    ]
    assert [r["verdict"] for r in by_subject.values()] == ["fail", "pass", "fail", "pass"]
    release = by_subject["repo/.github/workflows/release.yaml"]
    assert [
        (f["rule"], f["location"]["line"], f["location"]["column"], f["waived"])
        for f in release["findings"]
    ] == [
        ("unpinned-uses", 7, 15, False),
        ("unpinned-uses", 8, 15, True),
    ]
    assert release["findings"][1]["waiver_reason"] == "tag protected by org ruleset"
    assert release["findings"][0]["properties"]["ref_kind"] == "branch-like"
    assert sorted(report["decision"]["deny"]) == [
        "repo/.github/actions/setup/action.yml: 1 unwaived unpinned-uses finding(s)",
        "repo/.github/workflows/release.yaml: 1 unwaived unpinned-uses finding(s)",
    ]
    assert report["decision"]["warn"] == [
        "repo/.github/workflows/release.yaml: 1 finding(s) waived by ignore comments"
    ]
    # What was left out on purpose is in the report (every format), not only on a terminal.
    assert report["notices"] == [
        "skipped repo/.github/workflows/templates: subdirectory of .github/workflows "
        "(GitHub only reads top-level files)",
        "skipped repo/.github/workflows/README.md: not a .yml/.yaml file",
    ]
    assert err == ""


def test_skipped_files_in_every_format_and_quiet_skips(
    capsys: pytest.CaptureFixture[str], in_assets: None
) -> None:
    notice = "skipped repo/.github/workflows/README.md: not a .yml/.yaml file"
    _code, table, _err = run(["repo", "--format", "table"], capsys)
    assert "\nNOT CHECKED\n" in table and f"  {notice}\n" in table
    _code, markdown, _err = run(["repo", "--format", "markdown"], capsys)
    assert "\n**Not checked:**\n" in markdown
    assert f"- {notice}\n" in markdown
    _code, github, _err = run(["repo", "--format", "github"], capsys)
    assert f"::notice title=verifier did not check::{notice}\n" in github
    _code, sarif, _err = run(["repo", "--format", "sarif"], capsys)
    [invocation] = json.loads(sarif)["runs"][0]["invocations"]
    assert {"level": "note", "message": {"text": notice}} in invocation[
        "toolExecutionNotifications"
    ]
    _code, report, _err = run_json(["repo", "--quiet-skips"], capsys)
    assert report["notices"] == []


def test_config_file_policy_allows_first_party_tags(
    capsys: pytest.CaptureFixture[str], in_assets: None
) -> None:
    code, report, _err = run_json(["repo", "--config", "verifier.yaml", "--quiet-skips"], capsys)
    # actions/* may use tags now; pypa/gh-action-pypi-publish@release/v1 is still denied.
    assert code == 1
    assert report["decision"]["deny"] == [
        "repo/.github/workflows/release.yaml: 1 unwaived unpinned-uses finding(s)"
    ]
    setup = report["results"][0]
    assert setup["verdict"] == "pass" and setup["facts"]["allowed_by_policy"] == 1


def test_pin_option_overrides_config(capsys: pytest.CaptureFixture[str], in_assets: None) -> None:
    code, report, _err = run_json(
        ["repo", "--config", "verifier.yaml", "--pin", "PyPA/*=ref-pin"], capsys
    )
    assert code == 0
    # actions/upload-artifact@v4 is now allowed by the policy, so its waiver comment has nothing to waive.
    assert report["decision"] == {"allowed": True, "deny": [], "warn": []}
    assert report["results"][2]["facts"]["allowed_by_policy"] == 2


def test_the_command_leaves_the_garbage_collector_enabled(
    capsys: pytest.CaptureFixture[str], in_assets: None
) -> None:
    import gc

    assert gc.isenabled()
    code, _out, _err = run(["repo"], capsys)
    assert code == 1 and gc.isenabled()  # it used to call gc.disable() and never re-enable it


def test_pinned_workflow_allowed_with_exit_zero(
    capsys: pytest.CaptureFixture[str], in_assets: None
) -> None:
    code, out, _err = run(["repo/.github/workflows/ci.yml"], capsys)
    assert code == 0
    assert "repo/.github/workflows/ci.yml" in out and "pass" in out


def test_bad_files_reported_and_others_still_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    for name in ("good.yml", "list.yml", "syntax.yml"):
        (wf / name).write_bytes((ASSETS / "bad" / ".github" / "workflows" / name).read_bytes())
    (wf / "junk.yml").write_bytes(bytes(range(256)) * 64)
    with open(wf / "huge.yml", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    code, report, _err = run_json([str(tmp_path)], capsys)
    assert code == 1
    verdicts = {
        os.path.basename(r["subject"]): (r["verdict"], r["facts"].get("error"))
        for r in report["results"]
    }
    assert verdicts == {
        "good.yml": ("pass", None),
        "huge.yml": (
            "error",
            "file is 50.0 MiB, over the limit of 4.0 MiB (raise it with --max-size if this "
            "input is expected)",
        ),
        "junk.yml": ("error", "binary file (contains NUL bytes), not YAML text"),
        "list.yml": ("error", "not a workflow: the top level is not a mapping"),
        "syntax.yml": (
            "error",
            "YAML syntax error at line 6 column 1: did not find expected ',' or ']'",
        ),
    }
    denies = report["decision"]["deny"]
    assert len(denies) == 4 and all("could not be evaluated" in d for d in denies)
    assert any(str(wf / "syntax.yml") in d for d in denies)


def test_missing_path_exits_2_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run([str(tmp_path / "missing")], capsys)
    assert code == 2 and out == ""
    assert err == f"verifier: error: {tmp_path / 'missing'}: no such file or directory\n"


def test_a_directory_with_nothing_to_check_is_denied_not_passed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, in_assets: None
) -> None:
    (tmp_path / ".github" / "workflows" / "old").mkdir(parents=True)
    code, report, _err = run_json(["repo/.github/workflows/ci.yml", str(tmp_path)], capsys)
    assert code == 1
    assert [(r["subject"], r["verdict"]) for r in report["results"]] == [
        ("repo/.github/workflows/ci.yml", "pass"),
        (str(tmp_path), "error"),
    ]
    (finding,) = report["results"][1]["findings"]
    assert finding["rule"] == "nothing-to-check"
    assert finding["message"] == (
        f"{tmp_path}: no workflow (.github/workflows/*.yml) or action.yml file under it"
    )
    assert report["decision"]["deny"] == [
        f"{tmp_path}: actions-pinned could not be evaluated: no workflow (.github/workflows/*.yml) "
        "or action.yml file under it"
    ]
    # What was there, and why it does not count, is said.
    assert report["notices"] == [
        f"skipped {tmp_path}/.github/workflows/old: subdirectory of .github/workflows "
        "(GitHub only reads top-level files)"
    ]


def test_nothing_to_check_is_an_error_verdict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A directory that holds no workflow or action yields nothing to check: denied, never a pass."""
    code, report, _err = run_json([str(tmp_path)], capsys)
    assert code == 1
    [result] = report["results"]
    assert result["verdict"] == "error"
    assert "no workflow (.github/workflows/*.yml) or action.yml file under it" in json.dumps(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pin", "actions"], "expected PATTERN=MODE"),
        (["--pin", "actions/*=pinned"], "is not one of hash-pin, ref-pin, any"),
        (["--pin", "a/*/c=any"], "bad policy pattern"),
    ],
)
def test_bad_pin_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], in_assets: None, args: list[str], message: str
) -> None:
    code, out, err = run(["repo", *args], capsys)
    assert code == 2 and out == "" and message in err


def test_bad_config_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, in_assets: None
) -> None:
    cfg = tmp_path / "verifier.yaml"
    cfg.write_text("workflows:\n  polcy: {}\n")
    code, _out, err = run(["repo", "--config", str(cfg)], capsys)
    assert code == 2 and "unknown key 'workflows.polcy'" in err
    cfg.write_text("actions-pinned:\n  mode: warn\n")
    code, _out, err = run(["repo", "--config", str(cfg)], capsys)
    assert code == 2 and "unknown key 'actions-pinned' (now: workflows" in err
    cfg.write_text("workflows:\n  mode: maybe\n")
    code, _out, err = run(["repo", "--config", str(cfg)], capsys)
    assert code == 2 and "mode" in err


def test_warn_mode_from_config_allows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, in_assets: None
) -> None:
    cfg = tmp_path / "verifier.yaml"
    cfg.write_text("workflows:\n  mode: warn\n")
    code, report, _err = run_json(["repo", "--config", str(cfg), "--quiet-skips"], capsys)
    assert code == 0 and report["decision"]["allowed"] is True
    assert (
        "repo/.github/workflows/release.yaml: 1 unwaived unpinned-uses finding(s)"
        in report["decision"]["warn"]
    )
    code, _report, _err = run_json(
        ["repo", "--config", str(cfg), "--quiet-skips", "--fail-on-warn"], capsys
    )
    assert code == 1


def test_real_corpus_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = run_json([str(CORPUS)], capsys)
    assert code == 1 and err == ""
    assert len(report["results"]) == 506
    unpinned = sum(
        1 for r in report["results"] for f in r["findings"] if f["rule"] == "unpinned-uses"
    )
    assert unpinned == 354
    failing = {
        r["subject"] for r in report["results"] if r["facts"]["unwaived"].get("unpinned-uses")
    }
    assert sum(1 for d in report["decision"]["deny"] if "unpinned-uses" in d) == len(failing)


# --- the wrong input is denied, never allowed with `uses: 0` ---------------------------------------

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
SARIF = Path(__file__).resolve().parents[1] / "assets" / "upstream" / "sarif" / "trivy"
JOB_TYPO = """\
on: push
job:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
"""


@pytest.mark.parametrize(
    ("name", "make", "problems"),
    [
        (
            "scan.sarif.json",
            lambda: (SARIF / "ratify-trivy-alpine-critical.sarif.json").read_text(),
            [
                "not a workflow: no top-level `on` or `jobs` (top-level keys: version, $schema, runs)"
            ],
        ),
        (
            "verifier.yaml",
            lambda: (DEMO / "verifier.yaml").read_text(),
            [
                "not a workflow: no top-level `on` or `jobs` (top-level keys: version, image, "
                "signers, sbom, sarif, workflows, trust_policies)"
            ],
        ),
        (
            "ci.yml",
            lambda: JOB_TYPO,
            ["not a workflow: no top-level `jobs`", "not a workflow: unknown key 'job'"],
        ),
        (
            "dependabot.yml",
            lambda: "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n",
            ["not a workflow: no top-level `on` or `jobs` (top-level keys: version, updates)"],
        ),
    ],
)
def test_a_file_that_is_not_a_workflow_is_denied_naming_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    make: Any,
    problems: list[str],
) -> None:
    path = tmp_path / name
    path.write_text(make())
    code, report, err = run_json([str(path)], capsys)
    assert (code, err) == (1, "")
    (result,) = report["results"]
    assert result["verdict"] == "error" and result["facts"].get("uses") is None
    got = [f["message"].split(" (GitHub allows")[0] for f in result["findings"]]
    assert got[: len(problems)] == [f"{path}: {p}" for p in problems]
    assert {f["rule"] for f in result["findings"]} == {"invalid-file"}
    assert report["decision"]["allowed"] is False
    assert report["decision"]["deny"] == [
        f"{path}: actions-pinned could not be evaluated: {result['facts']['error']}"
    ]


def test_gate_whose_workflow_path_is_not_a_workflow_is_denied(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tests.cli import run_cli

    config = tmp_path / "verifier.yaml"
    config.write_text(
        f"workflows:\n  paths: [{SARIF / 'ratify-trivy-alpine-critical.sarif.json'}]\n"
    )
    run = run_cli(capsys, "gate", "--config", str(config), "--format", "json")
    assert run.code == 1, run.out + run.err
    doc = json.loads(run.out)
    assert [(r["check"], r["verdict"]) for r in doc["results"]] == [("actions-pinned", "error")]
    assert doc["decision"]["allowed"] is False


def test_a_workflow_with_only_run_steps_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "lint.yml"
    path.write_text(
        "on: [push]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make lint\n"
    )
    code, report, _err = run_json([str(path)], capsys)
    assert code == 0
    (result,) = report["results"]
    assert (result["verdict"], result["facts"]["uses"]) == ("pass", 0)
