"""`verifier check sarif` end to end through the console entry point: exit codes, formats, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.conftest import UPSTREAM

TRIVY = UPSTREAM / "sarif" / "trivy"
CRITICAL = str(TRIVY / "ratify-trivy-alpine-critical.sarif.json")
MEDIUM_ONLY = str(TRIVY / "trivy-golden-alpine-310.sarif.json")
EMPTY = str(TRIVY / "ortelius-trivy-0.40.0-empty-results.sarif.json")


def test_critical_findings_deny_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "sarif", CRITICAL)
    assert run.code == 1
    assert "DECISION: DENIED" in run.out
    assert f"deny: {CRITICAL}: 4 unwaived critical finding(s) (fail-on: critical,high)" in run.out
    assert f"deny: {CRITICAL}: 29 unwaived high finding(s) (fail-on: critical,high)" in run.out


def test_medium_only_allowed_unless_fail_on_medium(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "check", "sarif", MEDIUM_ONLY).code == 0
    assert run_cli(capsys, "check", "sarif", MEDIUM_ONLY, "--fail-on", "medium").code == 1


def test_empty_report_passes(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "sarif", EMPTY, "--format", "json")
    assert run.code == 0
    doc = json.loads(run.out)
    assert doc["decision"] == {"allowed": True, "deny": [], "warn": []}
    assert doc["results"][0]["verdict"] == "pass"


def test_json_output_file_and_input_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, inp = tmp_path / "report.json", tmp_path / "input.json"
    run = run_cli(
        capsys,
        "check",
        "sarif",
        CRITICAL,
        "--format",
        "json",
        "-o",
        str(out),
        "--input-json",
        str(inp),
        "--now",
        "2026-11-26T00:00:00Z",
    )
    assert run.code == 1 and run.out == ""
    report = json.loads(out.read_text())
    assert report["results"][0]["facts"]["unwaived"] == {
        "critical": 4,
        "high": 29,
        "medium": 10,
        "low": 2,
    }
    policy_input = json.loads(inp.read_text())
    assert policy_input["now"] == "2026-11-26T00:00:00Z"
    assert policy_input["config"]["sarif-severity"]["fail_on"] == ["critical", "high"]


def test_exit_zero_still_reports_denial(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "sarif", CRITICAL, "--exit-zero")
    assert run.code == 0 and "DECISION: DENIED" in run.out


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not json at all", "not a JSON object"),
        (b'{"version": "2.1.0", "runs": [{"results": []}]}', "/runs/0/tool: missing"),
        (b"\x00\x01\x02binary", "not a JSON object"),
    ],
)
def test_bad_files_exit_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    bad = tmp_path / "bad.sarif"
    bad.write_bytes(content)
    run = run_cli(capsys, "check", "sarif", str(bad))
    assert run.code == 2
    assert run.err.startswith(f"verifier: error: {bad}: ")
    assert problem in run.err
    assert "Traceback" not in run.err


def test_missing_file_and_size_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "sarif", str(tmp_path / "nope.sarif"))
    assert (run.code, run.err) == (2, f"verifier: error: {tmp_path / 'nope.sarif'}: no such file\n")
    big = tmp_path / "big.sarif"
    big.write_bytes(b" " * (2 * 1024 * 1024))
    run = run_cli(capsys, "check", "sarif", str(big), "--max-size", "1")
    assert run.code == 2 and "over the limit of 1.0 MiB" in run.err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "sarif", CRITICAL, "--fail-on", "severe")
    assert (
        run.code == 2 and "expected critical, high, medium, low or unknown; got severe" in run.err
    )
    # A list that leaves out a more severe level would let critical findings pass unnoticed.
    run = run_cli(capsys, "check", "sarif", CRITICAL, "--fail-on", "low,medium")
    assert run.code == 2 and "leaves out the more severe high, critical" in run.err
    assert run_cli(capsys, "check", "sarif").code == 2


def test_unknown_policy_dir_or_broken_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.rego").write_text("package verifier\ndeny contains x if {")
    run = run_cli(capsys, "check", "sarif", EMPTY, "--policy", str(tmp_path))
    assert run.code == 3 and "invalid Rego" in run.err


def test_startup_does_not_import_heavy_libraries() -> None:
    """`verifier --help` and `verifier check sarif` never import sigstore, spdx-tools or cyclonedx."""
    probe = (
        "import sys\n"
        "from verifier.adapters.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sigstore', 'spdx_tools', 'cyclonedx'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    for args in (["--help"], ["check", "sarif", EMPTY]):
        proc = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
        )
        assert "HEAVY []" in proc.stderr, (args, proc.stderr[-2000:])


def test_ignore_file_waives_with_expiry_and_reports_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ignore = tmp_path / ".trivyignore"
    ignore.write_text(
        "# accepted until the base image moves\nCVE-2021-36159\nCVE-2021-3711 exp:2027-01-01\n"
        "CVE-2022-37434 exp:2020-01-01\nCVE-2099-0001 exp:not-a-date\n"
    )
    run = run_cli(
        capsys,
        "check",
        "sarif",
        CRITICAL,
        "--fail-on",
        "critical",
        "--ignore",
        str(ignore),
        "--format",
        "json",
        "--now",
        "2026-11-26T00:00:00Z",
    )
    doc = json.loads(run.out)
    facts = doc["results"][0]["facts"]
    # 4 critical results: apk-tools (ignored), libcrypto1.1 + libssl1.1 (ignored until 2027),
    # zlib (its entry expired in 2020, so it still counts).
    assert facts["unwaived"]["critical"] == 1
    assert facts["waived"] == 3
    waived = sorted(f["rule"] for f in doc["results"][0]["findings"] if f["waived"])
    assert waived == ["CVE-2021-36159", "CVE-2021-3711", "CVE-2021-3711"]
    assert run.code == 1
    assert any("not-a-date" in w or ":5:" in w for w in doc["decision"]["warn"]), doc["decision"][
        "warn"
    ]
    # A year later the dated entry has expired too.
    later = json.loads(
        run_cli(
            capsys,
            "check",
            "sarif",
            CRITICAL,
            "--fail-on",
            "critical",
            "--ignore",
            str(ignore),
            "--format",
            "json",
            "--now",
            "2027-06-01T00:00:00Z",
        ).out
    )
    assert later["results"][0]["facts"]["unwaived"]["critical"] == 3


def test_ignore_unfixed_and_vex_on_the_trivy_json_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = str(TRIVY / "trivy-golden-alpine-310.trivy-report.json")
    vex = tmp_path / "vex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.com/vex-1",
                "author": "t",
                "timestamp": "2026-01-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2019-1549"},
                        "products": [
                            {"@id": "pkg:apk/alpine/libssl1.1@1.1.1c-r0?arch=x86_64&distro=3.10.2"}
                        ],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                ],
            }
        )
    )
    run = run_cli(
        capsys,
        "check",
        "sarif",
        report,
        "--fail-on",
        "medium",
        "--vex",
        str(vex),
        "--format",
        "json",
    )
    findings = json.loads(run.out)["results"][0]["findings"]
    waived = [(f["rule"], f["properties"]["package"]) for f in findings if f["waived"]]
    assert waived == [("CVE-2019-1549", "libssl1.1")]
    assert "VEX not_affected" in next(f["waiver_reason"] for f in findings if f["waived"])
    assert run.code == 1  # three medium findings remain


def test_vex_that_is_not_vex_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "sarif", EMPTY, "--vex", CRITICAL)
    assert run.code == 2 and run.err.startswith(f"verifier: error: {CRITICAL}: ")


def test_fail_on_is_a_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    """13 critical findings: `--fail-on low,medium` used to allow them; now it is refused, `low` denies them."""
    report = str(TRIVY / "austimkelly-trivy-0.49.1-critical-high.sarif.json")
    run = run_cli(capsys, "check", "sarif", report, "--fail-on", "low,medium")
    assert run.code == 2
    assert "fail_on: low, medium leaves out the more severe high, critical" in run.err
    run = run_cli(capsys, "check", "sarif", report, "--fail-on", "low", "--format", "json")
    assert run.code == 1
    doc = json.loads(run.out)
    assert doc["results"][0]["facts"]["fail_on"] == ["critical", "high", "medium", "low"]
    assert sorted(doc["decision"]["deny"]) == [
        f"{report}: 13 unwaived critical finding(s) (fail-on: critical,high,medium,low)",
        f"{report}: 8 unwaived high finding(s) (fail-on: critical,high,medium,low)",
    ]


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        ({"version": "2.1.0", "runs": []}, "the SARIF log has no runs: no scan is recorded"),
        (
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Trivy"}}}]},
            "runs[0] has no 'results': the scan's results were not computed",
        ),
        (
            {
                "version": "2.1.0",
                "runs": [
                    {
                        "tool": {"driver": {"name": "CodeQL"}},
                        "invocations": [{"executionSuccessful": False}],
                        "results": [],
                    }
                ],
            },
            "runs[0].invocations[0]: executionSuccessful is false",
        ),
    ],
)
def test_a_log_that_does_not_prove_the_scan_ran_denies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log: dict[str, object], reason: str
) -> None:
    """Each of these used to be ALLOWED: no findings were read, so none denied."""
    path = tmp_path / "scan.sarif"
    path.write_text(json.dumps(log))
    run = run_cli(capsys, "check", "sarif", str(path), "--format", "json")
    assert run.code == 1
    [deny] = json.loads(run.out)["decision"]["deny"]
    assert deny.startswith(f"{path}: the scan did not run or did not finish: {reason}")


def test_cosign_vuln_body_is_read_like_a_trivy_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`trivy image --format cosign-vuln` output: its scanner.result is Trivy's JSON report."""
    body = str(UPSTREAM / "cosign-vuln" / "trivy-doc-alpine-3.10.cosign-vuln.json")
    run = run_cli(capsys, "check", "sarif", body, "--format", "json")
    assert run.code == 1
    facts = json.loads(run.out)["results"][0]["facts"]
    assert (facts["format"], facts["unwaived"]) == ("cosign-vuln", {"critical": 1})
    assert facts["scanned_at"] == "2022-07-24T08:14:04.864682Z"
    empty = tmp_path / "vuln.json"
    empty.write_text('{"scanner": {"uri": "pkg:github/aquasecurity/trivy@v0.50.0"}}')
    run = run_cli(capsys, "check", "sarif", str(empty))
    assert run.code == 2
    assert run.err == (
        f"verifier: error: {empty}: scanner.result is missing: the attestation carries no scan\n"
    )
