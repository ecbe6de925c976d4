"""``verifier check signature`` end to end against a real registry (Debian docker-registry on 127.0.0.1,
started by the integration fixtures): images pushed and signed here with throwaway keys (legacy ``.sig`` and
cosign-v3-style referrers), signed independently by sigstore-js, then tampered with."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.conftest import (  # noqa: F401 - fixtures used by name
    BUNDLE_V03,
    LocalRegistry,
    auth_registry,
    registry,
)
from verifier.adapters.cli import main
from verifier.sigstore.dsse import pae

pytestmark = pytest.mark.registry

REPO_ROOT = Path(__file__).parents[3]
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_SIGN_V1 = "https://sigstore.dev/cosign/sign/v1"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two THROWAWAY keys made for this test run: ``good`` signs, ``other`` signs nothing."""
    d = tmp_path_factory.mktemp("keys")
    out: dict[str, object] = {}
    for name in ("good", "other"):
        key = ec.generate_private_key(ec.SECP256R1())
        (d / f"{name}.pub").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        (d / f"{name}.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        out[name] = key
        out[f"{name}.pub"] = d / f"{name}.pub"
        out[f"{name}.pem"] = d / f"{name}.pem"
    return out


def _payload(digest: str, ref: str = "127.0.0.1/app") -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": ref},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()


def _sig_layer(
    key: ec.EllipticCurvePrivateKey, payload: bytes
) -> tuple[bytes, str, dict[str, str]]:
    sig = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    return payload, SIMPLESIGNING, {"dev.cosignproject.cosign/signature": sig}


def _v3_bundle(key: ec.EllipticCurvePrivateKey, digest: str) -> bytes:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": digest.split(":", 1)[1]}}],
        "predicateType": COSIGN_SIGN_V1,
        "predicate": {},
    }
    payload = json.dumps(statement).encode()
    sig = key.sign(pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256()))
    return json.dumps(
        {
            "mediaType": BUNDLE_V03,
            "verificationMaterial": {"publicKey": {"hint": ""}},
            "dsseEnvelope": {
                "payloadType": "application/vnd.in-toto+json",
                "payload": base64.b64encode(payload).decode(),
                "signatures": [{"sig": base64.b64encode(sig).decode(), "keyid": ""}],
            },
        }
    ).encode()


def _check(ref: str, key: Path, *extra: str) -> tuple[int, dict[str, object] | None]:
    out = Path(str(key) + ".report.json")
    try:
        main(
            [
                "check",
                "signature",
                ref,
                "--key",
                str(key),
                "--format",
                "json",
                "--output",
                str(out),
                *extra,
            ]
        )
    except SystemExit as exc:
        code = int(exc.code or 0)
    report = json.loads(out.read_text()) if out.exists() and code in (0, 1) else None
    if out.exists():
        out.unlink()
    return code, report


def _rules(report: dict[str, object] | None) -> list[str]:
    assert report is not None
    return [f["rule"] for f in report["results"][0]["findings"]]  # type: ignore[index]


def test_legacy_sig_signed_here(registry: LocalRegistry, keys: dict[str, object]) -> None:
    repo = registry.new_repo("sig")
    digest, _ = registry.push_image(repo, "v1")
    registry.attach_legacy(repo, digest, [_sig_layer(keys["good"], _payload(digest))])  # type: ignore[arg-type]
    code, report = _check(registry.ref(repo, "v1"), keys["good.pub"])  # type: ignore[arg-type]
    assert code == 0 and report is not None
    result = report["results"][0]  # type: ignore[index]
    assert result["verdict"] == "pass" and result["facts"]["digest"] == digest
    assert result["subject"].endswith("@" + digest)
    code, report = _check(registry.ref(repo, "v1"), keys["other.pub"])  # type: ignore[arg-type]
    assert code == 1 and _rules(report) == ["key-mismatch"]


def test_signature_of_another_image_copied_over(
    registry: LocalRegistry, keys: dict[str, object]
) -> None:
    repo = registry.new_repo("copy")
    signed, _ = registry.push_image(repo, "signed")
    victim, _ = registry.push_image(repo, "victim")
    layer = _sig_layer(keys["good"], _payload(signed))  # type: ignore[arg-type]
    registry.attach_legacy(repo, victim, [layer])
    code, report = _check(registry.ref(repo, "victim"), keys["good.pub"])  # type: ignore[arg-type]
    assert code == 1 and _rules(report) == ["artifact-mismatch"]


def test_payload_digest_changed_after_signing(
    registry: LocalRegistry, keys: dict[str, object]
) -> None:
    repo = registry.new_repo("edit")
    digest, _ = registry.push_image(repo, "v1")
    _, mt, ann = _sig_layer(keys["good"], _payload("sha256:" + "0" * 64))  # type: ignore[arg-type]
    registry.attach_legacy(repo, digest, [(_payload(digest), mt, ann)])
    code, report = _check(registry.ref(repo, "v1"), keys["good.pub"])  # type: ignore[arg-type]
    assert code == 1 and _rules(report) == ["key-mismatch"]


def test_cosign_v3_referrer_signed_here(registry: LocalRegistry, keys: dict[str, object]) -> None:
    repo = registry.new_repo("v3")
    digest, raw = registry.push_image(repo, "v1")
    registry.attach_referrer(
        repo,
        digest,
        len(raw),
        _v3_bundle(keys["good"], digest),  # type: ignore[arg-type]
        annotations={"dev.sigstore.bundle.predicateType": COSIGN_SIGN_V1},
    )
    code, report = _check(registry.ref(repo, digest), keys["good.pub"])  # type: ignore[arg-type]
    assert code == 0 and report is not None
    [signer] = report["results"][0]["facts"]["verified_signers"]  # type: ignore[index]
    assert signer["kind"] == "sigstore-bundle"
    # cosign's default: key-signed signatures must be in the transparency log too.
    code, report = _check(registry.ref(repo, digest), keys["good.pub"], "--require-tlog")  # type: ignore[arg-type]
    assert code == 1 and _rules(report) == ["tlog-entry-missing"]


def test_unsigned_image_and_wrong_referrer(
    registry: LocalRegistry, keys: dict[str, object]
) -> None:
    repo = registry.new_repo("none")
    digest, raw = registry.push_image(repo, "v1")
    code, report = _check(registry.ref(repo, "v1"), keys["good.pub"])  # type: ignore[arg-type]
    assert code == 1 and _rules(report) == ["no-signature"]
    other, _ = registry.push_image(repo, "other")
    # A bundle whose statement names another image, attached to this one.
    registry.attach_referrer(
        repo,
        digest,
        len(raw),
        _v3_bundle(keys["good"], other),  # type: ignore[arg-type]
        annotations={"dev.sigstore.bundle.predicateType": COSIGN_SIGN_V1},
    )
    code, report = _check(registry.ref(repo, "v1"), keys["good.pub"])  # type: ignore[arg-type]
    assert code == 1 and _rules(report) == ["artifact-mismatch"]


def test_tampered_blob_and_registry_down_cannot_be_evaluated(
    registry: LocalRegistry,
    keys: dict[str, object],
) -> None:
    from verifier.sources.oci_common import compute_digest

    repo = registry.new_repo("tamper")
    digest, _ = registry.push_image(repo, "v1")
    payload = _payload(digest)
    registry.attach_legacy(repo, digest, [_sig_layer(keys["good"], payload)])  # type: ignore[arg-type]
    path = registry.blob_data_path(compute_digest(payload))
    original = path.read_bytes()
    path.write_bytes(original[:20])  # truncated blob
    assert _check(registry.ref(repo, "v1"), keys["good.pub"])[0] == 3  # type: ignore[arg-type]
    # Same length, other content: the registry serves bytes whose hash is not the descriptor's digest.
    path.write_bytes(original.replace(digest[7:15].encode(), b"00000000"))
    assert _check(registry.ref(repo, "v1"), keys["good.pub"])[0] == 3  # type: ignore[arg-type]
    path.write_bytes(original)
    assert _check(registry.ref(repo, "v1"), keys["good.pub"])[0] == 0  # type: ignore[arg-type]
    assert _check("127.0.0.1:9/app@sha256:" + "a" * 64, keys["good.pub"])[0] == 3  # type: ignore[arg-type]


def test_sigstore_js_signed_referrer(auth_registry: LocalRegistry, keys: dict[str, object]) -> None:
    """The independent signer: sigstore-js (@sigstore/sign + @sigstore/oci) attaches the bundle."""
    from tests.integration.test_oci_sigstore_js import _sign

    repo = auth_registry.new_repo("js")
    digest, _ = auth_registry.push_image(repo, "v1")
    _sign(auth_registry, repo, digest, keys["good.pem"], COSIGN_SIGN_V1)  # type: ignore[arg-type]
    _sign(auth_registry, repo, digest, keys["good.pem"], "https://spdx.dev/Document")  # type: ignore[arg-type]
    config = ["--docker-config", str(auth_registry.docker_config)]
    code, report = _check(auth_registry.ref(repo, "v1"), keys["good.pub"], *config)  # type: ignore[arg-type]
    assert code == 0 and report is not None
    facts = report["results"][0]["facts"]  # type: ignore[index]
    assert facts["count"] == 1 and facts["attestations_found"] == 1
    code, report = _check(auth_registry.ref(repo, "v1"), keys["other.pub"], *config)  # type: ignore[arg-type]
    assert code == 1 and _rules(report) == ["key-mismatch"]


def _push_real_keyless(reg: LocalRegistry, drop_bundle: bool = False) -> tuple[str, str]:
    """The real keyless-signed image of containers/image (demo layout keyless-real) in the registry: its
    manifest is written straight into storage (its 2.5 MB layer was never published with the fixture, so a PUT
    would be refused) and its real cosign signature attached as ``sha256-<hex>.sig``."""
    from verifier.sources.image import collect_image_evidence

    layout = REPO_ROOT / "fixtures" / "demo" / "keyless-real"
    ev = collect_image_evidence("oci-layout:" + str(layout))
    repo = reg.new_repo("keyless")
    manifest = (layout / "blobs" / "sha256" / ev.digest.split(":", 1)[1]).read_bytes()
    assert reg.write_blob(manifest) == ev.digest
    reg.link_tag(repo, "v1", ev.digest)
    [sig] = ev.signatures
    annotations = dict(sig.annotations)
    if drop_bundle:
        annotations.pop("dev.sigstore.cosign/bundle")
    reg.attach_legacy(repo, ev.digest, [(sig.payload, sig.media_type, annotations)])
    return repo, ev.digest


def _keyless(tmp: Path, ref: str, *extra: str) -> tuple[int, dict[str, object] | None]:
    out = tmp / "report.json"
    code = 0
    try:
        main(["check", "signature", ref, "--format", "json", "--output", str(out), *extra])
    except SystemExit as exc:
        code = int(exc.code or 0)
    report = json.loads(out.read_text()) if out.exists() else None
    if out.exists():
        out.unlink()
    return code, report


MITR = [
    "--certificate-identity",
    "mitr@redhat.com",
    "--certificate-oidc-issuer",
    "https://github.com/login/oauth",
]


def test_real_keyless_signature_from_the_registry(registry: LocalRegistry, tmp_path: Path) -> None:
    repo, digest = _push_real_keyless(registry)
    code, report = _keyless(tmp_path, registry.ref(repo, "v1"), *MITR)
    assert code == 0 and report is not None
    [signer] = report["results"][0]["facts"]["verified_signers"]  # type: ignore[index]
    assert signer["identity"] == "mitr@redhat.com" and signer["signed_at"] == "2023-01-20T20:51:33Z"
    code, report = _keyless(
        tmp_path,
        registry.ref(repo, "v1"),
        "--certificate-identity",
        "someone@redhat.com",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
    )
    assert code == 1 and _rules(report) == ["identity-mismatch"]
    code, report = _keyless(
        tmp_path,
        registry.ref(repo, "v1"),
        "--certificate-identity",
        "mitr@redhat.com",
        "--certificate-oidc-issuer",
        "https://accounts.google.com",
    )
    assert code == 1 and _rules(report) == ["issuer-mismatch"]


def test_expired_certificate_without_a_timestamp_from_the_registry(
    registry: LocalRegistry,
    tmp_path: Path,
) -> None:
    repo, _ = _push_real_keyless(registry, drop_bundle=True)
    code, report = _keyless(tmp_path, registry.ref(repo, "v1"), *MITR)
    assert code == 1 and _rules(report) == ["tlog-entry-missing"]
