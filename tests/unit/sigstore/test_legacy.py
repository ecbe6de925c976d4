"""Legacy cosign ``.sig`` layers: the 12 real cosign signatures of containers/image give upstream's results,
and every tampering is rejected for its reason."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sigstore_helpers import (
    CIMG,
    fixture_signatures,
    key_signed_layer,
    manifest_digest,
    simplesigning,
)

from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.keys import load_pem_public_key
from verifier.sigstore.legacy import PrivatePki, verify_signature_layer
from verifier.sigstore.trust import (
    PINNED_STAGING_ROOT,
    CertAuthority,
    LogKey,
    TimeRange,
    TrustRoot,
    trust_root_from_pems,
)
from verifier.sources.trust_roots import load_trust_root

TRUST = load_trust_root(None)
COSIGN = load_pem_public_key((CIMG / "cosign.pub").read_bytes())
COSIGN2 = load_pem_public_key((CIMG / "cosign2.pub").read_bytes())
RSA_UNRELATED = load_pem_public_key((CIMG / "some-rsa-key.pub").read_bytes())
MITR = IdentityPolicy(identity="mitr@redhat.com", issuer="https://github.com/login/oauth")
SIGNED_DIGEST = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"


def _outcome(directory: str, **kwargs: object) -> list[str]:
    d = CIMG / directory
    digest = manifest_digest(d) if (d / "manifest.json").exists() else None
    out: list[str] = []
    for sig in fixture_signatures(d):
        try:
            if digest is None:
                raise VerificationFailure(
                    Reason.ARTIFACT_MISMATCH, "no manifest: nothing to bind the signature to"
                )
            verify_signature_layer(
                sig.payload, sig.media_type, sig.annotations, digest, trust=TRUST, **kwargs
            )  # type: ignore[arg-type]
            out.append("valid")
        except VerificationFailure as exc:
            out.append(str(exc.reason))
    return out


# Upstream's expected result for each signature (tests/assets/upstream/containers-image/SOURCES.md).
CASES = [
    ("dir-img-cosign-fulcio-rekor-valid", {"policy": MITR}, ["valid"]),
    ("dir-img-cosign-key-rekor-valid", {"key": COSIGN2, "require_tlog": True}, ["valid"]),
    ("dir-img-cosign-manifest-digest-error", {"key": COSIGN}, ["artifact-mismatch"]),
    ("dir-img-cosign-mixed", {"key": COSIGN}, ["key-mismatch", "valid"]),
    ("dir-img-cosign-modified-manifest", {"key": COSIGN}, ["artifact-mismatch"]),
    ("dir-img-cosign-no-manifest", {"key": COSIGN}, ["artifact-mismatch"]),
    ("dir-img-cosign-other-attachment", {"key": COSIGN}, ["payload-invalid"]),
    ("dir-img-cosign-valid", {"key": COSIGN}, ["valid"]),
    ("dir-img-cosign-valid-2", {"key": COSIGN}, ["valid", "valid"]),
    ("dir-img-cosign-valid-with-tag", {"key": COSIGN}, ["valid"]),
]


@pytest.mark.parametrize(("directory", "kwargs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_containers_image_fixture(
    directory: str, kwargs: dict[str, object], expected: list[str]
) -> None:
    assert _outcome(directory, **kwargs) == expected


def test_pki_fixture_valid_with_private_ca_only() -> None:
    d = CIMG / "dir-img-cosign-pki-valid"
    pki = trust_root_from_pems(
        "pki",
        (CIMG / "pki_root_crts.pem").read_bytes(),
        (CIMG / "pki_intermediate_crts.pem").read_bytes(),
    )
    [sig] = fixture_signatures(d)
    at = PrivatePki(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    for who in ("qiwan@redhat.com", "myhost.example.com"):
        res = verify_signature_layer(
            sig.payload,
            sig.media_type,
            sig.annotations,
            manifest_digest(d),
            trust=pki,
            policy=IdentityPolicy(identity=who),
            private_pki=at,
        )
        assert res.signer.identity == who
    with pytest.raises(VerificationFailure) as err:
        verify_signature_layer(
            sig.payload,
            sig.media_type,
            sig.annotations,
            manifest_digest(d),
            trust=pki,
            policy=IdentityPolicy(identity="other@redhat.com"),
            private_pki=at,
        )
    assert err.value.reason is Reason.IDENTITY_MISMATCH
    # Against the Sigstore root the private CA is not trusted; without a log entry there is no signing time.
    assert _outcome(
        "dir-img-cosign-pki-valid",
        policy=IdentityPolicy(identity="qiwan@redhat.com"),
        private_pki=at,
    ) == ["certificate-chain-invalid"]
    assert _outcome(
        "dir-img-cosign-pki-valid", policy=IdentityPolicy(identity="qiwan@redhat.com")
    ) == ["tlog-entry-missing"]


def test_wrong_keys_are_rejected() -> None:
    assert _outcome("dir-img-cosign-valid", key=COSIGN2) == ["key-mismatch"]
    assert _outcome("dir-img-cosign-valid", key=RSA_UNRELATED) == ["key-mismatch"]
    assert _outcome("dir-img-cosign-key-rekor-valid", key=COSIGN) == ["key-mismatch"]
    # Key-signed without a key given: refused, never accepted as keyless.
    assert _outcome("dir-img-cosign-valid", policy=MITR) == ["key-required"]
    # Key-signed without a Rekor entry when the tlog is required.
    assert _outcome("dir-img-cosign-valid", key=COSIGN, require_tlog=True) == ["tlog-entry-missing"]


# --- keyless: the real Fulcio + Rekor signature, tampered ---------------------------------------------------

FULCIO = CIMG / "dir-img-cosign-fulcio-rekor-valid"
[REAL] = fixture_signatures(FULCIO)
REAL_DIGEST = manifest_digest(FULCIO)


def _verify(
    annotations: dict[str, str] | None = None,
    payload: bytes | None = None,
    trust: TrustRoot = TRUST,
    policy: IdentityPolicy = MITR,
    digest: str = REAL_DIGEST,
) -> str:
    try:
        res = verify_signature_layer(
            payload if payload is not None else REAL.payload,
            REAL.media_type,
            annotations if annotations is not None else REAL.annotations,
            digest,
            trust=trust,
            policy=policy,
        )
    except VerificationFailure as exc:
        return str(exc.reason)
    assert res.integrated_time is not None
    return "valid"


def _bundle_with(**changes: object) -> dict[str, str]:
    bundle = json.loads(REAL.annotations["dev.sigstore.cosign/bundle"])
    bundle["Payload"].update(changes)
    return {**REAL.annotations, "dev.sigstore.cosign/bundle": json.dumps(bundle)}


def test_real_keyless_signature_is_valid_long_after_the_certificate_expired() -> None:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(
        REAL.annotations["dev.sigstore.cosign/certificate"].encode()
    )
    assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC)
    res = verify_signature_layer(
        REAL.payload, REAL.media_type, REAL.annotations, REAL_DIGEST, trust=TRUST, policy=MITR
    )
    assert (res.signer.identity, res.signer.issuer) == (
        "mitr@redhat.com",
        "https://github.com/login/oauth",
    )
    assert res.integrated_time == dt.datetime.fromtimestamp(1674247893, dt.UTC)
    assert cert.not_valid_before_utc <= res.integrated_time <= cert.not_valid_after_utc


def test_identity_and_issuer_policy() -> None:
    assert (
        _verify(
            policy=IdentityPolicy(identity="mitr@redhat.com", issuer="https://accounts.google.com")
        )
        == "issuer-mismatch"
    )
    assert (
        _verify(
            policy=IdentityPolicy(
                identity="someone@redhat.com", issuer="https://github.com/login/oauth"
            )
        )
        == "identity-mismatch"
    )
    assert (
        _verify(
            policy=IdentityPolicy(
                identity_regexp=r".*@redhat\.com", issuer="https://github.com/login/oauth"
            )
        )
        == "valid"
    )
    # Anchored: a regexp matching only part of the identity does not match.
    assert (
        _verify(
            policy=IdentityPolicy(identity_regexp=r"mitr", issuer="https://github.com/login/oauth")
        )
        == "identity-mismatch"
    )
    assert _verify(policy=IdentityPolicy()) == "identity-mismatch"


def test_expired_certificate_without_a_trusted_timestamp_is_rejected() -> None:
    """Without the Rekor SET there is no trusted signing time, and the certificate has long expired."""
    no_bundle = {k: v for k, v in REAL.annotations.items() if k != "dev.sigstore.cosign/bundle"}
    assert _verify(no_bundle) == "tlog-entry-missing"
    # A timestamp annotation alone is not accepted in place of the log entry.
    assert (
        _verify({**no_bundle, "dev.sigstore.cosign/rfc3161timestamp": "{}"}) == "tlog-entry-missing"
    )


def test_another_images_signature_copied_over() -> None:
    assert _verify(digest=SIGNED_DIGEST) == "artifact-mismatch"


def test_payload_changed_after_signing() -> None:
    assert _verify(payload=simplesigning(REAL_DIGEST)) == "signature-invalid"


def test_set_tampering() -> None:
    assert _verify(_bundle_with(integratedTime=1674247894)) == "tlog-set-invalid"
    assert _verify(_bundle_with(logIndex=1)) == "tlog-set-invalid"
    no_bundle = {k: v for k, v in REAL.annotations.items() if k != "dev.sigstore.cosign/bundle"}
    assert _verify(no_bundle) == "tlog-entry-missing"
    assert _verify(_bundle_with(logID="00" * 32)) == "tlog-key-unknown"


def test_rekor_body_of_another_signature_is_rejected() -> None:
    """CVE-2022-36056 class: a genuine SET whose entry records another payload/signature/certificate."""
    [other] = fixture_signatures(CIMG / "dir-img-cosign-key-rekor-valid")
    swapped = {
        **REAL.annotations,
        "dev.sigstore.cosign/bundle": other.annotations["dev.sigstore.cosign/bundle"],
    }
    assert _verify(swapped) == "tlog-entry-mismatch"


def test_signing_time_must_be_inside_the_trust_roots_windows() -> None:
    at = dt.datetime.fromtimestamp(1674247893, dt.UTC)
    late_log = dataclasses.replace(
        TRUST,
        tlogs=tuple(
            LogKey(k.key_id, k.key, TimeRange(at + dt.timedelta(seconds=1)), k.base_url)
            for k in TRUST.tlogs
        ),
    )
    assert _verify(trust=late_log) == "tlog-key-unknown"
    ended_ca = dataclasses.replace(
        TRUST,
        fulcio=tuple(
            CertAuthority(ca.chain, TimeRange(ca.valid.start, at - dt.timedelta(seconds=1)))
            for ca in TRUST.fulcio
        ),
    )
    assert _verify(trust=ended_ca) == "certificate-chain-invalid"
    inclusive = dataclasses.replace(
        TRUST,
        fulcio=tuple(CertAuthority(ca.chain, TimeRange(ca.valid.start, at)) for ca in TRUST.fulcio),
    )
    assert _verify(trust=inclusive) == "valid"
    no_ct = dataclasses.replace(TRUST, ctlogs=())
    assert _verify(trust=no_ct) == "sct-invalid"


def test_chain_to_another_root_is_rejected() -> None:
    staging = load_trust_root(PINNED_STAGING_ROOT)
    # Staging has another Rekor key: the SET's log is unknown there.
    assert _verify(trust=staging) == "tlog-key-unknown"


def test_malformed_annotations() -> None:
    assert (
        _verify({**REAL.annotations, "dev.cosignproject.cosign/signature": "not base64!"})
        == "bundle-malformed"
    )
    assert (
        _verify({**REAL.annotations, "dev.sigstore.cosign/certificate": "junk"})
        == "bundle-malformed"
    )
    assert _verify({**REAL.annotations, "dev.sigstore.cosign/bundle": "{"}) == "bundle-malformed"
    assert (
        _verify(
            {k: v for k, v in REAL.annotations.items() if k != "dev.cosignproject.cosign/signature"}
        )
        == "signature-invalid"
    )


def test_simplesigning_type_is_required() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    layer = key_signed_layer(key, REAL_DIGEST)
    payload = json.loads(layer.payload)
    payload["critical"]["type"] = "something else"
    from sigstore_helpers import sign

    raw = json.dumps(payload).encode()
    ann = {"dev.cosignproject.cosign/signature": base64.b64encode(sign(key, raw)).decode()}
    with pytest.raises(VerificationFailure) as err:
        verify_signature_layer(
            raw, layer.media_type, ann, REAL_DIGEST, trust=TRUST, key=key.public_key()
        )
    assert err.value.reason is Reason.PAYLOAD_INVALID


@pytest.mark.parametrize(
    "make",
    [
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        ed25519.Ed25519PrivateKey.generate,
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ],
    ids=["p256", "p384", "ed25519", "rsa2048"],
)
def test_key_types(make: object) -> None:
    key = make()  # type: ignore[operator]
    other = make()  # type: ignore[operator]
    layer = key_signed_layer(key, REAL_DIGEST)
    res = verify_signature_layer(
        layer.payload,
        layer.media_type,
        layer.annotations,
        REAL_DIGEST,
        trust=TRUST,
        key=key.public_key(),
    )
    assert res.signer.key is not None and res.integrated_time is None
    with pytest.raises(VerificationFailure) as err:
        verify_signature_layer(
            layer.payload,
            layer.media_type,
            layer.annotations,
            REAL_DIGEST,
            trust=TRUST,
            key=other.public_key(),
        )
    assert err.value.reason is Reason.KEY_MISMATCH
