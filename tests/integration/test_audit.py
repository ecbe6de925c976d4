"""`verifier audit` on the real corpora: counts equal the single checks, every repository listed,
decision records counted, bad inputs reported (not fatal), reproducible, shardable."""

from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.conftest import UPSTREAM
from verifier.checks.actions_pinned import check_files
from verifier.checks.oidc_trust import check_all
from verifier.models import Decision
from verifier.records.decision_log import DecisionRecord, append_record
from verifier.sources.trust_policy_files import load_configs
from verifier.sources.workflow_files import read_all

WORKFLOWS = UPSTREAM / "workflows"
TRUST = UPSTREAM / "trust-policies"
REPOS = sorted(
    p.name for p in WORKFLOWS.iterdir() if (p / ".github").exists() or (p / "action.yml").exists()
)


def audit_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str
) -> tuple[int, dict[str, Any]]:
    out = tmp_path / f"audit-{len(list(tmp_path.iterdir()))}.json"
    run = run_cli(capsys, "audit", *args, "--report", "json", "-o", str(out), "--jobs", "2")
    return run.code, json.loads(out.read_text())


def test_corpus_counts_equal_single_check_results(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, report = audit_json(capsys, tmp_path, str(WORKFLOWS), str(TRUST))
    assert len(REPOS) == 40
    listed = {row["repository"] for row in report["repositories"]}
    assert set(REPOS) <= listed and len(listed) == 41  # 40 repositories + the trust-policy folder

    files, _ = read_all([str(WORKFLOWS)])
    single = check_files(files.rows(), {})
    single += check_all(load_configs([str(TRUST)]))
    expected: dict[str, dict[str, int]] = {}
    for result in single:
        for finding in result.findings:
            if not finding.waived:
                per = expected.setdefault(result.check, {})
                per[finding.severity.value] = per.get(finding.severity.value, 0) + 1
    assert report["summary"]["findings"] == expected
    assert report["summary"]["results"] == len(single)
    unpinned = report["summary"]["rules"]["actions-pinned"]["unpinned-uses"]
    assert unpinned == 354  # the corpus's expected.json: 354 remote refs not pinned to a full SHA
    assert report["could_not_audit"] == []
    assert (
        code == 1
    )  # the corpus has over-broad trust policies and unpinned actions: the policy denies
    by_repo = {row["repository"]: row for row in report["repositories"]}
    assert by_repo["pallets__flask"]["score"] == 10.0
    assert by_repo["pallets__flask"]["allowed"] is True
    assert by_repo["ossf__scorecard"]["allowed"] is False


def test_decision_records_from_logs_and_vsa(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = tmp_path / "webhook-decisions.jsonl"
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    for i in range(5):
        allowed = i % 2 == 0
        append_record(
            log,
            DecisionRecord.of(
                Decision(allowed=allowed, deny=() if allowed else ("unsigned image",)),
                time=t0 + timedelta(days=i // 3),
                source="webhook",
                subject=f"reg/app:{i}",
                namespace="prod" if i < 3 else "dev",
            ),
        )
    with log.open("a") as fh:
        fh.write("{not json\n")
    vsa = tmp_path / "release.intoto.json"
    vsa.write_text(
        json.dumps(
            {
                "_type": "https://in-toto.io/Statement/v1",
                "predicateType": "https://slsa.dev/verification_summary/v1",
                "subject": [{"name": "reg/app", "digest": {"sha256": "a" * 64}}],
                "predicate": {
                    "verifier": {"id": "verifier"},
                    "timeVerified": "2026-11-21T09:00:00Z",
                    "resourceUri": "reg/app",
                    "policy": {"uri": "policies/", "digest": {"sha256": "b" * 64}},
                    "verificationResult": "PASSED",
                },
            }
        )
    )
    code, report = audit_json(capsys, tmp_path, str(log), str(vsa))
    d = report["decisions"]
    assert (d["total"], d["admitted"], d["denied"]) == (6, 4, 2)
    assert d["by_namespace"] == {
        "(none)": {"admitted": 1, "denied": 0},
        "dev": {"admitted": 1, "denied": 1},
        "prod": {"admitted": 2, "denied": 1},
    }
    assert d["by_day"]["2026-11-21"] == {"admitted": 2, "denied": 1}
    assert d["by_reason"] == {"unsigned image": 2}
    assert d["by_source"] == {"gate": 1, "webhook": 5}
    assert [p["reason"] for p in report["could_not_audit"]] == [f"{log}:6: not a JSON object"]
    assert code == 3


def test_bad_inputs_are_reported_and_the_rest_audited(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken_repo = tmp_path / "broken"
    (broken_repo / ".github" / "workflows").mkdir(parents=True)
    (broken_repo / ".github" / "workflows" / "ci.yml").write_bytes(b"\x00\xff\xfe binary junk")
    images = tmp_path / "images.txt"
    images.write_text("# images\nnot a ref!!\n")
    good = WORKFLOWS / "pallets__flask"
    code, report = audit_json(
        capsys, tmp_path, str(good), str(broken_repo), str(images), str(tmp_path / "missing")
    )
    reasons = {p["input"]: p["reason"] for p in report["could_not_audit"]}
    assert reasons[f"{images}:2"] == "not an image reference: 'not a ref!!'"
    assert "no such file or directory" in reasons[str(tmp_path / "missing")]
    broken = [r for r in report["results"] if r["subject"].startswith(str(broken_repo))]
    assert broken and broken[0]["verdict"] == "error"
    assert any(
        row["repository"] == "pallets__flask" and row["score"] == 10.0
        for row in report["repositories"]
    )
    assert code == 3


def test_two_runs_are_identical_but_for_the_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, first = audit_json(
        capsys, tmp_path, str(TRUST), str(WORKFLOWS / "tj-actions__changed-files")
    )
    _, second = audit_json(
        capsys, tmp_path, str(TRUST), str(WORKFLOWS / "tj-actions__changed-files")
    )
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second
    assert first["policy_digest"].startswith("sha256:")
    assert all(i["digest"] and i["digest"].startswith("sha256:") for i in first["inputs"])


def test_shards_merge_to_the_full_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, full = audit_json(capsys, tmp_path, str(WORKFLOWS))
    shards = []
    for i in range(3):
        out = tmp_path / f"shard{i}.json"
        run_cli(
            capsys, "audit", str(WORKFLOWS), "--shard", f"{i}/3", "--report", "json", "-o", str(out)
        )
        shards.append(str(out))
    sizes = [len(json.loads(Path(s).read_text())["inputs"]) for s in shards]
    assert sum(sizes) == 40 and all(sizes)
    merged_path = tmp_path / "merged.json"
    run_cli(capsys, "audit", "merge", *shards, "--report", "json", "-o", str(merged_path))
    merged = json.loads(merged_path.read_text())
    assert merged["summary"] == full["summary"]
    assert merged["repositories"] == full["repositories"]
    assert merged["decision"] == full["decision"]


def test_files_skipped_on_purpose_are_listed_as_not_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Auditors see what was left out (GitHub would not run it), in every format and through a merge;
    a report written before the field existed still merges."""
    repos = tmp_path / "repos"
    for name in ("a", "b"):
        wf = repos / name / ".github" / "workflows"
        (wf / "drafts").mkdir(parents=True)
        shutil.copy(
            WORKFLOWS / "pallets__flask" / ".github" / "workflows" / "tests.yaml", wf / "tests.yaml"
        )
        (wf / "notes.md").write_text("not a workflow\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    _, report = audit_json(capsys, out_dir, str(repos))
    wf_a = repos / "a" / ".github" / "workflows"
    assert {
        "input": str(wf_a / "drafts"),
        "reason": "subdirectory of .github/workflows (GitHub only reads top-level files)",
    } in report["not_checked"]
    assert {"input": str(wf_a / "notes.md"), "reason": "not a .yml/.yaml file"} in report[
        "not_checked"
    ]
    assert len(report["not_checked"]) == 4 and report["could_not_audit"] == []
    for fmt, marker in (
        ("markdown", "## Not checked (skipped on purpose)"),
        ("html", "id=not-checked"),
        ("sarif", "toolExecutionNotifications"),
    ):
        out = out_dir / f"report.{fmt}"
        run_cli(capsys, "audit", str(repos), "--report", fmt, "-o", str(out))
        assert marker in out.read_text() and str(wf_a / "notes.md") in out.read_text(), fmt
    # Two runs over different inputs: one written before not_checked existed (the field left out), one now.
    _, old = audit_json(capsys, out_dir, str(repos / "a"))
    _, new = audit_json(capsys, out_dir, str(repos / "b"))
    old.pop("not_checked")
    (out_dir / "old.json").write_text(json.dumps(old))
    (out_dir / "new.json").write_text(json.dumps(new))
    run_cli(
        capsys,
        "audit",
        "merge",
        str(out_dir / "old.json"),
        str(out_dir / "new.json"),
        "--report",
        "json",
        "-o",
        str(out_dir / "merged.json"),
    )
    merged = json.loads((out_dir / "merged.json").read_text())
    assert merged["not_checked"] == new["not_checked"] and len(new["not_checked"]) == 2
    assert len(merged["inputs"]) == 2


def test_shard_index_from_job_completion_index(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    _, report = audit_json(capsys, tmp_path, str(WORKFLOWS), "--shard", "auto/2")
    assert report["shard"] == {"index": 1, "count": 2}
    assert run_cli(capsys, "audit", str(WORKFLOWS), "--shard", "2/2").code == 2


def test_every_format_renders(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for fmt in ("html", "markdown", "csv", "sarif"):
        out = tmp_path / f"r.{fmt}"
        run_cli(
            capsys, "audit", str(WORKFLOWS / "ossf__scorecard"), "--report", fmt, "-o", str(out)
        )
        text = out.read_text()
        assert "unpinned-uses" in text, fmt


def _png_pixels(path: Path) -> bytes:
    """The decompressed image data of a PNG (filter bytes included), enough to tell blank from drawn."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


def test_html_report_renders_in_headless_chromium(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Rendered by the real Debian chromium (installed by .ci/run): not blank, key numbers in the DOM."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian chromium is required (apt-get install chromium; .ci/run installs it)"
    html, as_json = tmp_path / "report.html", tmp_path / "report.json"
    run_cli(capsys, "audit", str(WORKFLOWS), str(TRUST), "--report", "html", "-o", str(html))
    run_cli(capsys, "audit", str(WORKFLOWS), str(TRUST), "--report", "json", "-o", str(as_json))
    report = json.loads(as_json.read_text())
    page = html.read_text()
    assert (
        "<script src" not in page and "<link" not in page
    )  # self-contained: nothing fetched at view time
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", "--window-size=1280,1600", html.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), "chromium wrote no screenshot"
    pixels = _png_pixels(shot)
    non_white = sum(1 for b in pixels[::7] if b < 200)
    assert non_white > len(pixels[::7]) // 200, "screenshot is blank"
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", html.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    unwaived = sum(sum(v.values()) for v in report["summary"]["findings"].values())
    assert f'id="card-unwaived-findings"><b>{unwaived}</b>' in dom
    assert 'id="card-repositories"><b>41</b>' in dom
    assert (
        "pallets__flask" in dom
        and 'id="chart-findings"' in dom
        and 'id="table-repositories"' in dom
    )


def test_indexed_job_example_is_consistent() -> None:
    import yaml

    from tests.conftest import REPO

    job = yaml.safe_load((REPO / "deploy" / "audit" / "indexed-job.yaml").read_text())
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    args = spec["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--shard") + 1] == f"auto/{spec['completions']}"


def test_gate_decisions_are_logged_and_audited(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A real gate run on the demo release appends a record; audit counts it with a webhook log beside it."""
    from tests.conftest import REPO

    log = tmp_path / "decisions.jsonl"
    demo = REPO / "fixtures" / "demo"
    allowed = run_cli(
        capsys, "gate", "--config", str(demo / "verifier.yaml"), "--decision-log", str(log)
    )
    denied = run_cli(
        capsys, "gate", "--config", str(demo / "verifier-deny.yaml"), "--decision-log", str(log)
    )
    assert (allowed.code, denied.code) == (0, 1)
    webhook_log = tmp_path / "webhook.jsonl"
    append_record(
        webhook_log,
        DecisionRecord.of(
            Decision(allowed=False, deny=("tag-only image",)),
            time=datetime(2026, 11, 25, tzinfo=UTC),
            source="webhook",
            subject="reg/app:latest",
            namespace="prod",
        ),
    )
    _, report = audit_json(capsys, tmp_path, str(log), str(webhook_log))
    d = report["decisions"]
    assert (d["total"], d["admitted"], d["denied"]) == (3, 1, 2)
    assert d["by_source"] == {"gate": 2, "webhook": 1}
    gate_records = [r for r in report["records"] if r["source"] == "gate"]
    assert all(r["policy_digest"].startswith("sha256:") and r["digest"] for r in gate_records)


def test_webhook_decisions_are_logged_and_audited(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Real AdmissionReview requests through the webhook's decider with a decision log; dry runs are not
    admissions and are not logged. The image check here denies everything (no registry is needed to test
    the logging; the registry-backed check is tested in test_webhook_registry.py)."""
    import asyncio

    from verifier.admission.decider import AdmissionDecider, WebhookConfig
    from verifier.admission.review import parse_review
    from verifier.models import CheckResult

    def unsigned(ref: str) -> CheckResult:
        return CheckResult(
            check="signature", subject=ref, verdict="fail", facts={"error": "unsigned"}
        )

    log = tmp_path / "webhook.jsonl"
    decider = AdmissionDecider(
        WebhookConfig(), unsigned, resolve_digest=lambda ref: "sha256:" + "c" * 64, decision_log=log
    )
    derived = UPSTREAM / "admission" / "derived"
    try:
        for name in (
            "deployment_create_v1.json",
            "cronjob_create_v1.json",
            "pod_create_dryrun_v1.json",
        ):
            request = parse_review(json.loads((derived / name).read_text()))
            outcome = asyncio.run(decider.admit(request, 5.0))
            assert outcome.allowed is False
    finally:
        decider.close()
    lines = log.read_text().splitlines()
    assert len(lines) == 2  # the dry run is answered but not recorded
    _, report = audit_json(capsys, tmp_path, str(log))
    d = report["decisions"]
    assert (d["total"], d["admitted"], d["denied"], d["by_source"]) == (2, 0, 2, {"webhook": 2})
    assert sum(v["denied"] for v in d["by_namespace"].values()) == 2


def test_image_list_is_checked_with_the_signer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tests.conftest import REPO

    demo = REPO / "fixtures" / "demo"
    images = tmp_path / "images.txt"
    images.write_text(
        f"# release images\noci-layout:{demo / 'throwaway-key'}\noci-layout:{demo / 'keyless-real'}\n"
    )
    code, report = audit_json(
        capsys, tmp_path, str(images), "--key", str(demo / "keys" / "throwaway-cosign.pub")
    )
    verdicts = {
        r["subject"].split("@")[0].rsplit("/", 1)[1]: r["verdict"] for r in report["results"]
    }
    # The keyless image is not signed by the throwaway key: the audit reports it, the policy denies.
    assert verdicts == {"throwaway-key": "pass", "keyless-real": "fail"}
    assert code == 1
    assert all(i["digest"].startswith("sha256:") for i in report["inputs"])
    # Every image is listed, the passing one too.
    listed = {row["image"].rsplit("/", 1)[1]: row for row in report["images"]}
    assert set(listed) == {"throwaway-key", "keyless-real"}
    assert listed["throwaway-key"]["passed"] is True
    assert listed["throwaway-key"]["verdicts"] == {"signature": "pass"}
    assert listed["throwaway-key"]["digest"].startswith("sha256:")
    assert listed["keyless-real"]["passed"] is False
    markdown = tmp_path / "images.md"
    run_cli(
        capsys,
        "audit",
        str(images),
        "--key",
        str(demo / "keys" / "throwaway-cosign.pub"),
        "--report",
        "markdown",
        "-o",
        str(markdown),
    )
    text = markdown.read_text()
    assert "## Images" in text and "1 of 2 passed." in text
    assert f"| `oci-layout:{demo / 'throwaway-key'}` |" in text
    code, report = audit_json(capsys, tmp_path, str(images))
    assert code == 3 and all("no signer policy" in p["reason"] for p in report["could_not_audit"])


def test_every_finding_has_its_remediation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The Remediation column is the check docs' text (verifier/audit/remediation.json), in every human
    format, and the JSON report carries it per rule."""
    from verifier.audit.report import remediation_table

    repo = str(WORKFLOWS / "sigstore__fulcio")
    code, report = audit_json(capsys, tmp_path, repo, str(TRUST / "aws"))
    assert code == 1
    rules = {
        (r["check"], f["rule"]) for r in report["results"] for f in r["findings"] if not f["waived"]
    }
    assert ("actions-pinned", "unpinned-uses") in rules
    table = remediation_table()
    for check, rule in rules:
        assert report["remediation"][check][rule] == table[check][rule]["remediation"]
    pin = table["actions-pinned"]["unpinned-uses"]["remediation"]
    for fmt in ("markdown", "html", "csv"):
        out = tmp_path / f"report.{fmt}"
        run_cli(capsys, "audit", repo, "--report", fmt, "-o", str(out))
        text = out.read_text()
        assert (pin.replace("|", "\\|") if fmt == "markdown" else pin) in text or (
            fmt == "html" and escape(pin) in text
        ), fmt


def _shard(capsys: pytest.CaptureFixture[str], tmp_path: Path, spec: str) -> str:
    out = tmp_path / f"shard-{spec.replace('/', 'of')}.json"
    run_cli(capsys, "audit", str(WORKFLOWS), "--shard", spec, "--report", "json", "-o", str(out))
    return str(out)


def test_merge_refuses_a_shard_or_an_input_it_already_has(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, second = _shard(capsys, tmp_path, "0/2"), _shard(capsys, tmp_path, "1/2")
    twice = run_cli(capsys, "audit", "merge", first, second, first, "--report", "json")
    assert twice.code == 2 and twice.out == ""
    assert f"{first}: shard 0/2 is already merged from {first}" in twice.err
    copy = tmp_path / "copy.json"
    shutil.copy(first, copy)
    renamed = run_cli(capsys, "audit", "merge", first, str(copy), "--report", "json")
    assert renamed.code == 2 and f"{copy}: shard 0/2 is already merged from {first}" in renamed.err
    whole = tmp_path / "whole.json"
    run_cli(capsys, "audit", str(WORKFLOWS), "--report", "json", "-o", str(whole))
    overlap = run_cli(capsys, "audit", "merge", first, str(whole), "--report", "json")
    assert overlap.code == 2 and "is already merged from" in overlap.err
    other_split = _shard(capsys, tmp_path, "0/3")
    mixed = run_cli(capsys, "audit", "merge", second, other_split, "--report", "json")
    assert mixed.code == 2
    assert "already merged" in mixed.err or "different splits" in mixed.err
    once = run_cli(capsys, "audit", "merge", first, second, "--report", "json")
    assert once.code in (0, 1), once.err


def test_images_show_the_builder_and_source_of_their_verified_provenance(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 16: the audit says which builder and which source produced each image, from the provenance
    check's verified facts only (an image without verified provenance shows none)."""
    from tests.integration.test_provenance_gate import IMAGE, LAYOUT

    config = tmp_path / "verifier.yaml"
    signers = (
        "signers:\n  identity:\n"
        "    identity_regexp: ^https://github.com/slsa-framework/slsa-github-generator/.*\n"
        "    issuer: https://token.actions.githubusercontent.com\n"
    )
    config.write_text(
        "version: 1\n"
        + signers
        + "provenance:\n  source_repository: github.com/slsa-framework/example-package\n"
    )
    images = tmp_path / "images.txt"
    images.write_text(IMAGE + "\n")
    code, report = audit_json(capsys, tmp_path, str(images), "--config", str(config))
    assert not report["could_not_audit"]
    [row] = report["images"]
    # slsa-verifier's layout holds the signed provenance but no cosign signature of the image.
    assert row["verdicts"] == {"provenance": "pass", "signature": "fail"}
    assert code == 1 and row["passed"] is False
    assert row["builder"] == LAYOUT["builder_id_in_predicate"]
    assert row["source"]["repository"] == "github.com/slsa-framework/example-package"
    assert row["source"]["ref"] and row["source"]["commit"]
    markdown = tmp_path / "images.md"
    run = run_cli(
        capsys,
        "audit",
        str(images),
        "--config",
        str(config),
        "--report",
        "markdown",
        "-o",
        str(markdown),
    )
    assert run.code == 1, run.err
    text = markdown.read_text()
    assert (
        f"{LAYOUT['builder_id_in_predicate']} · github.com/slsa-framework/example-package@" in text
    )

    # Another required source: the provenance is rejected, and no builder is claimed for the image.
    config.write_text(
        "version: 1\n" + signers + "provenance:\n  source_repository: github.com/acme/other\n"
    )
    code, report = audit_json(capsys, tmp_path, str(images), "--config", str(config))
    assert code == 1
    [row] = report["images"]
    assert row["verdicts"]["provenance"] == "fail" and row.get("builder") is None
