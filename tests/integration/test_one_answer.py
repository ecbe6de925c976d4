"""One release, one answer, whichever door it comes in through.

For each check, on the real corpora and the demo, with the default settings and with settings that change
the decision: `verifier check <x> --config C`, `verifier gate --config C` and `verifier audit --config C` give
the same verdicts and the same decision (a differential test of the adapters: they share the pipeline, so a
difference is an adapter that collects, judges or decides on its own).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli import run_cli
from tests.conftest import UPSTREAM
from tests.integration.conftest import LocalRegistry
from tests.integration.test_webhook_registry import Images, _pod
from tests.integration.test_webhook_registry import _config as _webhook_config
from tests.integration.webhook_support import ApiserverClient, ServerThread, make_pki
from verifier.adapters.commands.webhook import build_decider
from verifier.adapters.webhook import create_app

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "fixtures" / "demo"
SARIF_FILES = sorted(str(p) for p in (UPSTREAM / "sarif").rglob("*.sarif.json"))
WORKFLOWS = str(UPSTREAM / "workflows")
TRUST = str(UPSTREAM / "trust-policies")


def _config(tmp_path: Path, section: str, settings: dict[str, Any], inputs: list[str]) -> Path:
    key = "files" if section == "sarif" else "paths"
    path = tmp_path / "verifier.yaml"
    path.write_text(yaml.safe_dump({"version": 1, section: {key: inputs, **settings}}))
    return path


def _verdicts(results: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    return Counter((r["check"], r["subject"], r["verdict"]) for r in results)


def _json(run_out: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(run_out)
    return doc


# (check command, section, inputs, settings): settings change deny/warn, so agreement is not vacuous.
CASES = [
    ("actions", "workflows", [WORKFLOWS], {}),
    ("actions", "workflows", [WORKFLOWS], {"mode": "warn"}),
    ("actions", "workflows", [WORKFLOWS], {"policy": {"*": "ref-pin"}}),
    ("actions", "workflows", [str(DEMO / "workflows" / "release.yml")], {}),
    ("actions", "workflows", [str(DEMO / "workflows-deny" / "release.yml")], {}),
    ("actions", "workflows", [str(DEMO)], {}),  # no .github/workflows: an error verdict everywhere
    ("trust-policy", "trust_policies", [TRUST], {}),
    ("trust-policy", "trust_policies", [TRUST], {"deny": ["fail"], "warn": ["warn-org"]}),
    ("trust-policy", "trust_policies", [str(DEMO / "trust-policy-broad.json")], {}),
    ("sarif", "sarif", SARIF_FILES, {}),
    ("sarif", "sarif", SARIF_FILES, {"fail_on": "critical"}),
    ("sarif", "sarif", SARIF_FILES, {"fail_on": "low", "ignore_unfixed": True}),
    ("sarif", "sarif", [str(DEMO / "scan.sarif")], {"fail_on": "medium"}),
]


@pytest.mark.parametrize(
    ("command", "section", "inputs", "settings"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_check_gate_and_audit_agree(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    section: str,
    inputs: list[str],
    settings: dict[str, Any],
) -> None:
    config = str(_config(tmp_path, section, settings, inputs))
    check = run_cli(capsys, "check", command, *inputs, "--config", config, "--format", "json")
    gate = run_cli(capsys, "gate", "--config", config, "--format", "json")
    audit = run_cli(capsys, "audit", *inputs, "--config", config, "--report", "json", "-j", "1")
    assert check.code in (0, 1), check.err
    assert (check.code, gate.code) == (check.code, check.code), gate.err
    assert audit.code == check.code, audit.err
    by_check, by_gate, by_audit = _json(check.out), _json(gate.out), _json(audit.out)
    assert _verdicts(by_check["results"]) == _verdicts(by_gate["results"])
    assert _verdicts(by_check["results"]) == _verdicts(by_audit["results"])
    assert by_check["decision"] == by_gate["decision"]
    audit_decision = by_audit["decision"]
    assert (audit_decision["allowed"], sorted(audit_decision["deny"])) == (
        by_check["decision"]["allowed"],
        sorted(by_check["decision"]["deny"]),
    )
    assert sorted(audit_decision["warn"]) == sorted(by_check["decision"]["warn"])


def test_settings_really_change_the_answer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The cases above are not all the same answer: settings flow from the config into the decision."""
    workflow = str(DEMO / "workflows-deny" / "release.yml")
    strict = str(_config(tmp_path, "workflows", {}, [workflow]))
    lenient_dir = tmp_path / "lenient"
    lenient_dir.mkdir()
    lenient = str(_config(lenient_dir, "workflows", {"mode": "warn"}, [workflow]))
    for args in (("check", "actions", workflow), ("gate",), ("audit", workflow, "-j", "1")):
        assert run_cli(capsys, *args, "--config", strict).code == 1
        assert run_cli(capsys, *args, "--config", lenient).code == 0


def _image_config(tmp_path: Path, sbom: dict[str, Any]) -> tuple[str, str]:
    """The demo's image and signer with an sbom section: (config path, image reference)."""
    demo = yaml.safe_load((DEMO / "verifier.yaml").read_text())
    image = "oci-layout:" + str(DEMO / demo["image"].removeprefix("oci-layout:"))
    signers = {"key": str(DEMO / demo["signers"]["key"])}
    path = tmp_path / "verifier.yaml"
    path.write_text(yaml.safe_dump({"image": image, "signers": signers, "sbom": sbom}))
    return str(path), image


@pytest.mark.parametrize("sbom", [{}, {"format": "spdx"}, {"denied_licenses": ["MIT"]}])
def test_image_checks_agree_on_the_demo(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sbom: dict[str, Any]
) -> None:
    """The image checks on the demo's OCI layout (signed with its throwaway key): the two check commands
    together, the gate and the audit give the same verdicts and decision."""
    config, image = _image_config(tmp_path, sbom)
    signature = run_cli(capsys, "check", "signature", image, "--config", config, "--format", "json")
    sbom_run = run_cli(capsys, "check", "sbom", image, "--config", config, "--format", "json")
    gate = run_cli(capsys, "gate", "--config", config, "--format", "json")
    audit = run_cli(capsys, "audit", image, "--config", config, "--report", "json", "-j", "1")
    assert signature.code == 0, signature.err
    together = _json(signature.out)["results"] + _json(sbom_run.out)["results"]
    assert _verdicts(together) == _verdicts(_json(gate.out)["results"])
    assert _verdicts(together) == _verdicts(_json(audit.out)["results"])
    gate_decision = _json(gate.out)["decision"]
    assert gate.code == (0 if gate_decision["allowed"] else 1)
    assert sbom_run.code == gate.code and audit.code == gate.code
    assert sorted(_json(audit.out)["decision"]["deny"]) == sorted(gate_decision["deny"])


PROVENANCE_SOURCE = "github.com/slsa-framework/example-package"
GENERATOR = "https://github.com/slsa-framework/slsa-github-generator/"


@pytest.mark.parametrize(
    ("provenance", "expected"),
    [
        ({"source_repository": PROVENANCE_SOURCE}, "pass"),
        ({"source_repository": PROVENANCE_SOURCE, "branch": "main"}, "pass"),
        ({"source_repository": "github.com/acme/other"}, "fail"),
        ({"source_repository": PROVENANCE_SOURCE, "branch": "release"}, "fail"),
        (
            {
                "source_repository": PROVENANCE_SOURCE,
                "builder_id": GENERATOR + "x.yml@refs/tags/v2.1.0",
            },
            "fail",
        ),
    ],
)
def test_provenance_agrees_through_every_door(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, provenance: dict[str, Any], expected: str
) -> None:
    """slsa-verifier's real signed provenance in an OCI layout: `check provenance IMAGE --config C` and
    `gate --config C` give the same verdict and decision; with a signer set added (the audit of an image
    always checks its signature), the gate and the audit give the same verdicts and decision."""
    from tests.integration.test_provenance_gate import IMAGE

    alone = tmp_path / "provenance.yaml"
    alone.write_text(yaml.safe_dump({"version": 1, "image": IMAGE, "provenance": provenance}))
    check = run_cli(
        capsys, "check", "provenance", IMAGE, "--config", str(alone), "--format", "json"
    )
    gate = run_cli(capsys, "gate", "--config", str(alone), "--format", "json")
    assert check.code in (0, 1), check.err
    assert _verdicts(_json(check.out)["results"]) == _verdicts(_json(gate.out)["results"])
    assert _json(check.out)["decision"] == _json(gate.out)["decision"]
    assert check.code == gate.code

    signed = tmp_path / "signed.yaml"
    signers = {
        "identity": {
            "identity_regexp": f"^{GENERATOR}.*",
            "issuer": "https://token.actions.githubusercontent.com",
        }
    }
    signed.write_text(
        yaml.safe_dump({"version": 1, "image": IMAGE, "signers": signers, "provenance": provenance})
    )
    gate = run_cli(capsys, "gate", "--config", str(signed), "--format", "json")
    audit = run_cli(capsys, "audit", IMAGE, "--config", str(signed), "--report", "json", "-j", "1")
    assert _verdicts(_json(gate.out)["results"]) == _verdicts(_json(audit.out)["results"])
    assert sorted(_json(audit.out)["decision"]["deny"]) == sorted(
        _json(gate.out)["decision"]["deny"]
    )
    assert audit.code == gate.code
    verdicts = {r["check"]: r["verdict"] for r in _json(gate.out)["results"]}
    assert verdicts["provenance"] == expected


@pytest.mark.registry
@pytest.mark.parametrize("sbom", [False, True])
def test_webhook_decides_each_image_as_the_gate_does(
    capsys: pytest.CaptureFixture[str],
    registry: LocalRegistry,
    tmp_path: Path,
    sbom: bool,
) -> None:
    """The real webhook over TLS, built by the command's own build_decider from a verifier.yaml, and
    `verifier gate --config` with that file, on images in the local registry signed with throwaway keys."""
    images = Images(registry, tmp_path)
    config = _webhook_config(tmp_path)
    if sbom:
        config.write_text(config.read_text() + "sbom:\n  required: true\n")
    pki = make_pki(tmp_path)
    server = ServerThread(create_app(build_decider(config)), pki).start()
    answers = []
    try:
        with ApiserverClient(server.port, pki.ca_file) as client:
            for i, image in enumerate((images.signed, images.wrong_signer, images.unsigned)):
                answer = client.review(_pod([image], uid=f"u{i}"))
                assert answer.status == 200 and answer.response is not None
                gate = run_cli(
                    capsys, "gate", "--config", str(config), "--image", image, "--format", "json"
                )
                gate_allowed = _json(gate.out)["decision"]["allowed"]
                assert answer.response["allowed"] is gate_allowed, (
                    image,
                    answer.response,
                    gate.out,
                )
                answers.append(gate_allowed)
    finally:
        server.stop()
    assert answers == [not sbom, False, False]


def test_sharded_audit_merged_decides_with_the_shards_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`audit --shard` then `audit merge` answers as one audit and as the gate: the merge decides with the
    settings the shards recorded, not with the defaults (here mode: warn turns the denials into warnings)."""
    config = str(_config(tmp_path, "workflows", {"mode": "warn"}, [WORKFLOWS]))
    gate = _json(run_cli(capsys, "gate", "--config", config, "--format", "json").out)
    shards = []
    for index in (0, 1):
        out = tmp_path / f"shard{index}.json"
        args = ("audit", WORKFLOWS, "--config", config, "--shard", f"{index}/2", "-j", "1")
        run_cli(capsys, *args, "--report", "json", "--output", str(out))
        shards.append(str(out))
    merged = run_cli(capsys, "audit", "merge", *shards, "--report", "json")
    decision = _json(merged.out)["decision"]
    assert decision["allowed"] is gate["decision"]["allowed"] is True
    assert sorted(decision["warn"]) == sorted(gate["decision"]["warn"]) != []


def test_merge_refuses_shards_audited_with_different_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shards = []
    for index, mode in ((0, "warn"), (1, "deny")):
        directory = tmp_path / mode
        directory.mkdir()
        config = str(_config(directory, "workflows", {"mode": mode}, [WORKFLOWS]))
        out = tmp_path / f"shard{index}.json"
        args = ("audit", WORKFLOWS, "--config", config, "--shard", f"{index}/2", "-j", "1")
        run_cli(capsys, *args, "--report", "json", "--output", str(out))
        shards.append(str(out))
    merged = run_cli(capsys, "audit", "merge", *shards)
    assert merged.code == 2 and "audited with different settings" in merged.err
