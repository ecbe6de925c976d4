"""Signed scan results read from the image (`sarif.attestations: true`): the gate, the webhook over TLS and
the audit judge the cosign vulnerability attestation signed onto the image, waived by its signed OpenVEX.

Images are pushed to the local Debian docker-registry. The predicate bodies are real (Trivy's
`--format cosign-vuln` output for alpine:3.10 from Trivy's docs; an OpenVEX v0.2.0 document shaped as
vexctl's test data); they are signed here with THROWAWAY keys, as the SBOM attestation tests do, because no
real signed envelope exists upstream (tests/assets/upstream/cosign-vuln/SOURCES.md). The scan's
`Metadata.RepoDigests` is rewritten to name the pushed image, as Trivy would have written it had it scanned
this image, and the package gets the purl current Trivy records.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cli import run_cli
from tests.conftest import UPSTREAM
from tests.integration.conftest import LocalRegistry
from tests.integration.test_sbom_registry import attach_bundle, envelope, statement
from tests.integration.test_webhook_registry import _key, _pod, _sign
from tests.integration.webhook_support import ApiserverClient, ServerThread, make_pki
from verifier.adapters.commands.webhook import build_decider
from verifier.adapters.webhook import create_app

pytestmark = pytest.mark.registry

VULN_PT = "https://cosign.sigstore.dev/attestation/vuln/v1"
VEX_PT = "https://openvex.dev/ns/v0.2.0"
DSSE_LAYER = "application/vnd.dsse.envelope.v1+json"
TRIVY_BODY = json.loads(
    (UPSTREAM / "cosign-vuln" / "trivy-doc-alpine-3.10.cosign-vuln.json").read_bytes()
)
APK_TOOLS = "pkg:apk/alpine/apk-tools@2.10.6-r0?distro=3.10.9"
NOW = "2022-07-25T00:00:00Z"


def _scan_of(name: str, digest: str) -> dict[str, Any]:
    body = copy.deepcopy(TRIVY_BODY)
    result = body["scanner"]["result"]
    result["ArtifactName"] = f"{name}@{digest}"
    result["Metadata"]["RepoDigests"] = [f"{name}@{digest}"]
    for target in result["Results"]:
        for vuln in target.get("Vulnerabilities") or []:
            vuln["PkgIdentifier"] = {"PURL": APK_TOOLS}
    return dict(body)


def _vex(status: str) -> dict[str, Any]:
    return {
        "@context": VEX_PT,
        "@id": "https://openvex.dev/docs/example/vex-apk-tools",
        "author": "release team",
        "timestamp": "2022-07-24T10:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2021-36159"},
                "products": [{"@id": APK_TOOLS}],
                "status": status,
                "justification": "vulnerable_code_not_in_execute_path",
            }
        ],
    }


class Release:
    """One signed image in the registry, and its scan attestations as a test wants them."""

    def __init__(self, registry: LocalRegistry, directory: Path, key: ec.EllipticCurvePrivateKey):
        self.registry = registry
        self.key = key
        self.repo = registry.new_repo("scanned")
        self.digest, raw = registry.push_image(self.repo, "v1")
        self.size = len(raw)
        _sign(registry, self.repo, self.digest, key)
        self.name = f"{registry.host}/{self.repo}"
        self.ref = registry.ref(self.repo, self.digest)

    def attest_scan(self, key: ec.EllipticCurvePrivateKey | None = None, subject: str = "") -> None:
        body = statement(_scan_of(self.name, self.digest), VULN_PT, subject or self.digest)
        layer = json.dumps(envelope(body, key or self.key)).encode()
        self.registry.attach_legacy(
            self.repo, self.digest, [(layer, DSSE_LAYER, {"predicateType": VULN_PT})], suffix=".att"
        )

    def attest_vex(self, status: str) -> None:
        body = statement(_vex(status), VEX_PT, self.digest)
        attach_bundle(
            self.registry, self.repo, self.digest, self.size, envelope(body, self.key), VEX_PT
        )


@pytest.fixture
def setup(registry: LocalRegistry, tmp_path: Path) -> tuple[Release, Path]:
    key = _key(tmp_path, "release")
    config = tmp_path / "verifier.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "signers": {"key": "release.pub"},
                "sarif": {"attestations": True},
                "webhook": {"failure_ttl_seconds": 0, "cache_ttl_seconds": 0},
            }
        )
    )
    return Release(registry, tmp_path, key), config


def _gate(
    capsys: pytest.CaptureFixture[str], config: Path, image: str
) -> tuple[int, dict[str, Any]]:
    run = run_cli(
        capsys, "gate", "--config", str(config), "--image", image, "--format", "json", "--now", NOW
    )
    assert run.code in (0, 1), run.err
    return run.code, json.loads(run.out)


def _scan_result(report: dict[str, Any]) -> dict[str, Any]:
    [result] = [r for r in report["results"] if r["check"] == "sarif-severity"]
    return dict(result)


def test_a_critical_in_the_signed_scan_denies(
    capsys: pytest.CaptureFixture[str], setup: tuple[Release, Path]
) -> None:
    release, config = setup
    release.attest_scan()
    code, report = _gate(capsys, config, release.ref)
    result = _scan_result(report)
    assert code == 1 and result["verdict"] == "fail"
    assert result["facts"]["attested"] is True
    assert result["facts"]["image_binding"]["status"] == "bound"
    assert any("critical" in d for d in report["decision"]["deny"])


def test_signed_vex_waives_and_admits(
    capsys: pytest.CaptureFixture[str], setup: tuple[Release, Path]
) -> None:
    release, config = setup
    release.attest_scan()
    release.attest_vex("not_affected")
    code, report = _gate(capsys, config, release.ref)
    result = _scan_result(report)
    assert code == 0, report["decision"]
    assert result["facts"]["vex_attestations"] == 1
    assert all(f["waived"] for f in result["findings"])


def test_vex_that_does_not_clear_the_finding_still_denies(
    capsys: pytest.CaptureFixture[str], setup: tuple[Release, Path]
) -> None:
    release, config = setup
    release.attest_scan()
    release.attest_vex("affected")
    assert _gate(capsys, config, release.ref)[0] == 1


@pytest.mark.parametrize("case", ["none", "wrong-signer", "other-image"])
def test_a_scan_that_is_missing_or_not_verified_denies(
    capsys: pytest.CaptureFixture[str], setup: tuple[Release, Path], tmp_path: Path, case: str
) -> None:
    """No scan attestation, one signed by someone else, one whose statement names another image: each is
    an error verdict (no verified scan of this image), never a pass."""
    release, config = setup
    if case == "wrong-signer":
        release.attest_scan(key=ec.generate_private_key(ec.SECP256R1()))
    elif case == "other-image":
        release.attest_scan(subject="sha256:" + "e" * 64)
    code, report = _gate(capsys, config, release.ref)
    result = _scan_result(report)
    assert code == 1 and result["verdict"] == "error"
    assert "no verified cosign vulnerability attestation" in result["facts"]["error"]
    if case != "none":
        assert result["facts"]["attestation_problems"]


def test_webhook_and_audit_decide_on_the_signed_scan(
    capsys: pytest.CaptureFixture[str],
    registry: LocalRegistry,
    setup: tuple[Release, Path],
    tmp_path: Path,
) -> None:
    """The real webhook over TLS and `verifier audit IMAGE` give the gate's answer, before and after the
    VEX attestation is added (the decider caches nothing here: cache_ttl_seconds 0)."""
    release, config = setup
    release.attest_scan()
    pki = make_pki(tmp_path)
    server = ServerThread(create_app(build_decider(config)), pki).start()
    try:
        with ApiserverClient(server.port, pki.ca_file) as client:
            for step, expected in (("scan", False), ("scan+vex", True)):
                if step == "scan+vex":
                    release.attest_vex("not_affected")
                answer = client.review(_pod([release.ref], uid=step))
                assert answer.response is not None
                assert answer.response["allowed"] is expected, (step, answer.response)
                code, _report = _gate(capsys, config, release.ref)
                assert code == (0 if expected else 1)
                audit = run_cli(
                    capsys,
                    "audit",
                    release.ref,
                    "--config",
                    str(config),
                    "--report",
                    "json",
                    "-j",
                    "1",
                )
                assert json.loads(audit.out)["decision"]["allowed"] is expected, audit.err
    finally:
        server.stop()
