"""Key-signed Sigstore bundles (sigstore-js output: publicKey hint, no tlog) and legacy ``.att`` DSSE layers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore_helpers import CONFORMANCE, SIGNATURE_ASSETS, sign

from verifier.sigstore import dsse
from verifier.sigstore.bundle import verify_bundle
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.keys import load_pem_public_key
from verifier.sigstore.legacy import verify_attestation_layer
from verifier.sources.image import collect_image_evidence
from verifier.sources.trust_roots import load_trust_root

TRUST = load_trust_root(None)
GOOD = load_pem_public_key((SIGNATURE_ASSETS / "k-sigstore.pub").read_bytes())
WRONG = load_pem_public_key((SIGNATURE_ASSETS / "k-cosign.pub").read_bytes())
SIGN_BUNDLE = (SIGNATURE_ASSETS / "js-sign-bundle.json").read_bytes()
SPDX_BUNDLE = (SIGNATURE_ASSETS / "js-spdx-bundle.json").read_bytes()
SUBJECT = bytes.fromhex("ae2b469e5b5dd7c959c86ee339c8b56eebea9e5084de1cf0fd93324e34754407")
DEMO = Path(__file__).parents[3] / "fixtures" / "demo"


def _reason(raw: bytes, **kwargs: object) -> str:
    kwargs.setdefault("trust", TRUST)
    try:
        verify_bundle(raw, **kwargs)  # type: ignore[arg-type]
    except VerificationFailure as exc:
        return str(exc.reason)
    return "valid"


def test_sigstore_js_bundles_verify_with_their_key() -> None:
    res = verify_bundle(SIGN_BUNDLE, trust=TRUST, digest=SUBJECT, key=GOOD)
    assert (
        res.statement is not None
        and res.statement["predicateType"] == "https://sigstore.dev/cosign/sign/v1"
    )
    assert res.signer.key is not None and res.signer.identity is None and res.signed_at is None
    spdx = verify_bundle(SPDX_BUNDLE, trust=TRUST, digest=SUBJECT, key=GOOD)
    assert (
        spdx.statement is not None
        and spdx.statement["predicateType"] == "https://spdx.dev/Document"
    )


def test_sigstore_js_bundle_negatives() -> None:
    assert _reason(SIGN_BUNDLE, digest=SUBJECT, key=WRONG) == "key-mismatch"
    assert _reason(SIGN_BUNDLE, digest=b"\x00" * 32, key=GOOD) == "artifact-mismatch"
    assert _reason(SIGN_BUNDLE, digest=SUBJECT) == "key-required"
    doc = json.loads(SIGN_BUNDLE)
    statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "00" * 32
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    assert _reason(json.dumps(doc).encode(), digest=SUBJECT, key=GOOD) == "key-mismatch"


def test_keyless_bundle_with_a_key_must_hold_that_key() -> None:
    raw = (CONFORMANCE / "happy-path-v0.3" / "bundle.sigstore.json").read_bytes()
    assert _reason(raw, artifact=(CONFORMANCE / "a.txt").read_bytes(), key=GOOD) == "key-mismatch"


def test_key_signed_bundle_made_here_with_a_non_intoto_payload() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    payload = b"plain text"
    env = {
        "payloadType": "text/plain",
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {"sig": base64.b64encode(sign(key, dsse.pae("text/plain", payload))).decode()}
        ],
    }
    raw = json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": ""}},
            "dsseEnvelope": env,
        }
    ).encode()
    assert verify_bundle(raw, trust=TRUST, key=key.public_key()).payload == payload
    # Asked about an artifact, a payload without subjects cannot vouch for it.
    assert _reason(raw, digest=SUBJECT, key=key.public_key()) == "artifact-mismatch"


def test_demo_attestation_layer() -> None:
    ev = collect_image_evidence("oci-layout:" + str(DEMO / "throwaway-key"))
    key = load_pem_public_key((DEMO / "keys" / "throwaway-cosign.pub").read_bytes())
    [att] = ev.attestations
    res = verify_attestation_layer(att.envelope, att.annotations, ev.digest, trust=TRUST, key=key)
    assert res.predicate_type == "https://cyclonedx.org/bom"
    with pytest.raises(VerificationFailure) as err:
        verify_attestation_layer(
            att.envelope, att.annotations, "sha256:" + "0" * 64, trust=TRUST, key=key
        )
    assert err.value.reason is Reason.ARTIFACT_MISMATCH
    with pytest.raises(VerificationFailure) as err:
        verify_attestation_layer(att.envelope, att.annotations, ev.digest, trust=TRUST, key=WRONG)
    assert err.value.reason is Reason.KEY_MISMATCH


def test_keyless_bundle_needs_a_ca_window_covering_the_signing_time() -> None:
    """sigstore-python ignores the trusted root's CA validFor; we check that the issuing CA's window covers
    the verified signing time (closed interval)."""
    import dataclasses
    import datetime as dt

    from verifier.sigstore.identity import IdentityPolicy
    from verifier.sigstore.trust import CertAuthority, TimeRange

    raw = (CONFORMANCE / "happy-path-v0.3" / "bundle.sigstore.json").read_bytes()
    artifact = (CONFORMANCE / "a.txt").read_bytes()
    policy = IdentityPolicy(
        identity_regexp=".*", issuer="https://token.actions.githubusercontent.com"
    )
    signed_at = verify_bundle(raw, trust=TRUST, artifact=artifact, policy=policy).signed_at
    assert signed_at is not None
    for end, expected in (
        (signed_at - dt.timedelta(seconds=1), "certificate-chain-invalid"),
        (signed_at, "valid"),
    ):
        root = dataclasses.replace(
            TRUST,
            fulcio=tuple(
                CertAuthority(ca.chain, TimeRange(ca.valid.start, end)) for ca in TRUST.fulcio
            ),
        )
        assert _reason(raw, artifact=artifact, policy=policy, trust=root) == expected
