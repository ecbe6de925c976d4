"""``verifier check sbom`` end to end against a real registry (Debian docker-registry on 127.0.0.1).

An image is pushed, then an SPDX attestation as a legacy cosign ``.att`` layer and a CycloneDX attestation as
a v0.3 Sigstore bundle referrer (tag-schema index: this registry has no referrers API), both signed in the
test with a throwaway ECDSA key. Then: wrong signer, another image's subject, tampered payload, a denied
package, a payload that is not JSON. Keyless attestations need Fulcio/Rekor, which cannot run here.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cli import Run, run_cli
from tests.conftest import UPSTREAM
from tests.integration.conftest import BUNDLE_V03, LocalRegistry
from verifier.sigstore.dsse import pae

pytestmark = pytest.mark.registry

CORPUS = UPSTREAM / "sbom"
INTOTO = "application/vnd.in-toto+json"
DSSE_LAYER = "application/vnd.dsse.envelope.v1+json"
SPDX_PT = "https://spdx.dev/Document"
CDX_PT = "https://cyclonedx.org/bom"
KEY = ec.generate_private_key(ec.SECP256R1())
WRONG_KEY = ec.generate_private_key(ec.SECP256R1())
SPDX_DOC = json.loads((CORPUS / "spdx2/trivy-golden-conda.spdx.json").read_bytes())
CDX_DOC = json.loads((CORPUS / "cyclonedx/trivy-golden-npm.cdx.json").read_bytes())


@pytest.fixture(scope="module")
def pubkey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "cosign.pub"
    path.write_bytes(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def statement(predicate: Any, predicate_type: str, subject: str) -> bytes:
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": predicate_type,
            "subject": [{"name": "app", "digest": {"sha256": subject.split(":")[1]}}],
            "predicate": predicate,
        }
    ).encode()


def envelope(payload: bytes, key: ec.EllipticCurvePrivateKey = KEY) -> dict[str, Any]:
    sig = key.sign(pae(INTOTO, payload), ec.ECDSA(hashes.SHA256()))
    return {
        "payloadType": INTOTO,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
    }


def attach_att(
    registry: LocalRegistry, repo: str, digest: str, env: dict[str, Any], predicate_type: str
) -> None:
    registry.attach_legacy(
        repo,
        digest,
        [(json.dumps(env).encode(), DSSE_LAYER, {"predicateType": predicate_type})],
        suffix=".att",
    )


def attach_bundle(
    registry: LocalRegistry,
    repo: str,
    digest: str,
    size: int,
    env: dict[str, Any],
    predicate_type: str,
) -> None:
    bundle = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": []},
        "dsseEnvelope": env,
    }
    registry.attach_referrer(
        repo,
        digest,
        size,
        json.dumps(bundle).encode(),
        annotations={"dev.sigstore.bundle.predicateType": predicate_type},
    )


def check(
    capsys: pytest.CaptureFixture[str], ref: str, key: Path, *extra: str
) -> tuple[Run, dict[str, Any]]:
    result = run_cli(
        capsys,
        "check",
        "sbom",
        ref,
        "--key",
        str(key),
        "--format",
        "json",
        "--now",
        "2026-11-26T12:00:00Z",
        *extra,
    )
    return result, json.loads(result.out) if result.out.strip().startswith("{") else {}


def test_spdx_att_and_cyclonedx_referrer_verify(
    registry: LocalRegistry, pubkey: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = registry.new_repo("sbom")
    digest, raw = registry.push_image(repo, "v1")
    attach_att(registry, repo, digest, envelope(statement(SPDX_DOC, SPDX_PT, digest)), SPDX_PT)
    attach_bundle(
        registry, repo, digest, len(raw), envelope(statement(CDX_DOC, CDX_PT, digest)), CDX_PT
    )

    run, report = check(capsys, registry.ref(repo, "v1"), pubkey)
    assert run.code == 0, run.err
    assert report["decision"] == {"allowed": True, "deny": [], "warn": []}
    (result,) = report["results"]
    assert result["check"] == "sbom-attestation" and result["verdict"] == "pass"
    assert result["subject"] == f"{registry.ref(repo, 'v1')}@{digest}"
    assert sorted(s["format"] for s in result["facts"]["sboms"]) == ["cyclonedx", "spdx"]
    sources = sorted(s["source"].split()[0] for s in result["facts"]["sboms"])
    assert sources == ["att-layer", "referrer"]

    for kind, expected in (("spdx", "spdx"), ("cyclonedx", "cyclonedx")):
        run, report = check(capsys, registry.ref(repo, digest), pubkey, "--type", kind)
        assert run.code == 0
        assert [s["format"] for s in report["results"][0]["facts"]["sboms"]] == [expected]

    run, report = check(
        capsys, registry.ref(repo, digest), pubkey, "--deny-package", "pkg:conda/openssl@<1.1.1r"
    )
    assert run.code == 1
    assert report["decision"]["deny"] == [
        f"{registry.ref(repo, digest)}: SBOM lists denied package pkg:conda/openssl@1.1.1q "
        "(pattern pkg:conda/openssl@<1.1.1r)"
    ]


def test_no_attestation_is_denied(
    registry: LocalRegistry, pubkey: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = registry.new_repo("sbom")
    digest, _ = registry.push_image(repo, "v1")
    run, report = check(capsys, registry.ref(repo, digest), pubkey)
    assert run.code == 1
    assert report["decision"]["deny"] == [
        f"{registry.ref(repo, digest)}: no verified SBOM attestation (0 attestation(s) found, none an SBOM for "
        "this image)"
    ]


def test_wrong_signer_other_subject_tampered_and_not_json_are_denied(
    registry: LocalRegistry, pubkey: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = registry.new_repo("sbom")
    digest, raw = registry.push_image(repo, "v1")
    other, _ = registry.push_image(repo, "other")
    tampered = envelope(statement(SPDX_DOC, SPDX_PT, digest))
    tampered["payload"] = base64.b64encode(
        statement(dict(SPDX_DOC, packages=[]), SPDX_PT, digest)
    ).decode()
    registry.attach_legacy(
        repo,
        digest,
        [
            (
                json.dumps(envelope(statement(SPDX_DOC, SPDX_PT, digest), key=WRONG_KEY)).encode(),
                DSSE_LAYER,
                {"predicateType": SPDX_PT},
            ),
            (
                json.dumps(envelope(statement(SPDX_DOC, SPDX_PT, other))).encode(),
                DSSE_LAYER,
                {"predicateType": SPDX_PT},
            ),
            (json.dumps(tampered).encode(), DSSE_LAYER, {"predicateType": SPDX_PT}),
            (
                json.dumps(envelope(b"not json at all")).encode(),
                DSSE_LAYER,
                {"predicateType": SPDX_PT},
            ),
        ],
        suffix=".att",
    )
    attach_bundle(
        registry, repo, digest, len(raw), envelope(statement(CDX_DOC, CDX_PT, other)), CDX_PT
    )

    run, report = check(capsys, registry.ref(repo, digest), pubkey)
    assert run.code == 1
    result = report["results"][0]
    assert result["verdict"] == "fail"
    rules = [f["rule"] for f in result["findings"]]
    assert rules == [
        "attestation-unverified",
        "subject-mismatch",
        "attestation-unverified",
        "payload-invalid",
        "subject-mismatch",
    ]
    (deny,) = report["decision"]["deny"]
    assert deny.startswith(
        f"{registry.ref(repo, digest)}: no verified SBOM attestation (5 found; rejected: "
    )


def test_missing_signer_options_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "check", "sbom", "oci-layout:/nonexistent")
    assert run.code == 2
    assert "--certificate-identity" in run.err


DUMP = Path(__file__).parent.parent / "assets" / "oci" / "registry-dump"
DUMP_IMAGE = "sha256:ae2b469e5b5dd7c959c86ee339c8b56eebea9e5084de1cf0fd93324e34754407"


def _replay_dump(registry: LocalRegistry) -> str:
    """Push the exact bytes of the real registry dump (tests/assets/oci/registry-dump, see its SOURCES.md):
    an SPDX attestation bundle signed by sigstore-js (an independent signer) as a referrer, and a CycloneDX
    legacy .att, both key-signed with k-sigstore.pub."""
    repo = registry.new_repo("dump")
    client = registry.client()
    for blob in sorted((DUMP / "demo_hello/blobs/sha256").iterdir()):
        client.push_blob(repo, blob.read_bytes())
    metas = [
        json.loads(p.read_text()) | {"path": p}
        for p in (DUMP / "demo_hello/manifests").glob("*.meta")
    ]
    # Manifests pushed by digest (the referrers) before the ones pushed by tag that point at them.
    for meta in sorted(
        metas, key=lambda m: (not str(m["ref"]).startswith("sha256:"), str(m["ref"]))
    ):
        raw = meta["path"].with_suffix(".json").read_bytes()
        assert client.push_manifest(repo, meta["ref"], raw, meta["contentType"]) == meta["digest"]
    return repo


def test_real_sigstore_js_spdx_bundle_and_legacy_att(
    registry: LocalRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _replay_dump(registry)
    ref = registry.ref(repo, DUMP_IMAGE)
    run, report = check(capsys, ref, DUMP / "k-sigstore.pub")
    assert run.code == 0, run.err
    facts = report["results"][0]["facts"]
    assert sorted((s["format"], s["source"].split()[0]) for s in facts["sboms"]) == [
        ("cyclonedx", "att-layer"),
        ("spdx", "referrer"),
    ]
    assert [i["predicate_type"] for i in facts["ignored"]] == [
        "https://sigstore.dev/cosign/sign/v1"
    ]
    # The same attestations with another key: nothing verifies, deny.
    other_key = Path(__file__).parent.parent.parent / "fixtures/demo/keys/throwaway-cosign.pub"
    run, report = check(capsys, ref, other_key)
    assert run.code == 1
    assert [f["rule"] for f in report["results"][0]["findings"]] == ["attestation-unverified"] * 2


def test_demo_layout_has_a_verified_sbom(capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(__file__).parent.parent.parent / "fixtures/demo"
    run, report = check(
        capsys, f"oci-layout:{demo / 'throwaway-key'}", demo / "keys/throwaway-cosign.pub"
    )
    assert run.code == 0
    assert report["results"][0]["facts"]["formats"] == ["cyclonedx"]
