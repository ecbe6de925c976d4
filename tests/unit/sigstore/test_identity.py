"""Identity policy and Fulcio claims (OIDs 1.1 / 1.8 / 1.9 / 1.11 / 1.12 / 1.14 / 1.20)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sigstore_helpers import CONFORMANCE

from verifier.sigstore.bundle import parse_bundle
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.identity import (
    OID_BUILD_SIGNER_URI,
    OID_BUILD_TRIGGER,
    OID_ISSUER_V1,
    OID_ISSUER_V2,
    OID_RUNNER_ENVIRONMENT,
    OID_SOURCE_REPOSITORY_REF,
    OID_SOURCE_REPOSITORY_URI,
    IdentityPolicy,
    cert_claims,
    cert_issuer,
)

WORKFLOW = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"


def _utf8(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 128
    return bytes([0x0C, len(data)]) + data


def _cert(san: str, extensions: dict[x509.ObjectIdentifier, bytes]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(minutes=10))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(san)]), critical=True
        )
    )
    for oid, value in extensions.items():
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
    return builder.sign(key, hashes.SHA256())


GH = _cert(
    WORKFLOW,
    {
        OID_ISSUER_V1: b"https://token.actions.githubusercontent.com",
        OID_ISSUER_V2: _utf8("https://token.actions.githubusercontent.com"),
        OID_BUILD_SIGNER_URI: _utf8(WORKFLOW),
        OID_RUNNER_ENVIRONMENT: _utf8("github-hosted"),
        OID_SOURCE_REPOSITORY_URI: _utf8("https://github.com/acme/app"),
        OID_SOURCE_REPOSITORY_REF: _utf8("refs/tags/v1.2.3"),
        OID_BUILD_TRIGGER: _utf8("push"),
    },
)
GH_ISSUER = "https://token.actions.githubusercontent.com"


def test_claims_from_oids() -> None:
    assert cert_issuer(GH) == GH_ISSUER
    assert cert_claims(GH) == {
        "build_signer_uri": WORKFLOW,
        "runner_environment": "github-hosted",
        "source_repository_uri": "https://github.com/acme/app",
        "source_repository_ref": "refs/tags/v1.2.3",
        "build_trigger": "push",
    }


def test_issuer_v2_preferred_and_v1_fallback() -> None:
    both = _cert(
        WORKFLOW,
        {OID_ISSUER_V1: b"https://old.example", OID_ISSUER_V2: _utf8("https://new.example")},
    )
    assert cert_issuer(both) == "https://new.example"
    only_v1 = _cert(WORKFLOW, {OID_ISSUER_V1: b"https://old.example"})
    assert cert_issuer(only_v1) == "https://old.example"
    assert cert_issuer(_cert(WORKFLOW, {})) is None
    # A 1.8 value that is not a DER UTF8String is no issuer (never the raw bytes).
    assert cert_issuer(_cert(WORKFLOW, {OID_ISSUER_V2: b"https://raw.example"})) is None


def test_policy_claims() -> None:
    ok = IdentityPolicy(
        issuer=GH_ISSUER,
        identity_regexp=r"https://github\.com/acme/app/.*",
        claims={"source_repository_ref": "refs/tags/v1.2.3", "runner_environment": "github-hosted"},
    )
    signer = ok.check(GH)
    assert signer.identity == WORKFLOW and signer.claims["build_trigger"] == "push"
    with pytest.raises(VerificationFailure) as err:
        IdentityPolicy(
            issuer=GH_ISSUER, identity=WORKFLOW, claims={"source_repository_ref": "refs/heads/main"}
        ).check(GH)
    assert err.value.reason is Reason.CLAIM_MISMATCH
    with pytest.raises(VerificationFailure) as err:
        IdentityPolicy(
            issuer=GH_ISSUER, identity=WORKFLOW, claims={"runner_environment": "self-hosted"}
        ).check(GH)
    assert err.value.reason is Reason.CLAIM_MISMATCH


def test_regexp_is_fully_anchored() -> None:
    for pattern in (r"acme/app", r"https://github\.com/acme/app", r".*release\.yml"):
        with pytest.raises(VerificationFailure) as err:
            IdentityPolicy(issuer=GH_ISSUER, identity_regexp=pattern).check(GH)
        assert err.value.reason is Reason.IDENTITY_MISMATCH, pattern


def test_policy_construction_errors() -> None:
    with pytest.raises(ValueError, match="not both"):
        IdentityPolicy(identity="a", identity_regexp="b")
    with pytest.raises(ValueError, match="invalid identity regexp"):
        IdentityPolicy(identity_regexp="(")
    with pytest.raises(ValueError, match="unknown claims"):
        IdentityPolicy(identity="a", claims={"workflow": "x"})


def test_real_github_actions_certificate() -> None:
    cert = parse_bundle(
        (CONFORMANCE / "happy-path-v0.3" / "bundle.sigstore.json").read_bytes()
    ).cert
    assert cert is not None
    claims = cert_claims(cert)
    assert cert_issuer(cert) == GH_ISSUER
    assert (
        claims["source_repository_uri"]
        == "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon"
    )
    assert claims["source_repository_ref"] == "refs/heads/main"
    assert claims["runner_environment"] == "github-hosted"
    assert claims["build_signer_uri"].endswith(
        "extremely-dangerous-oidc-beacon.yml@refs/heads/main"
    )
    assert "build_trigger" in claims


def test_every_reason_has_a_docs_anchor() -> None:
    import re
    from pathlib import Path

    from verifier.checks.signature import (
        RULE_EVIDENCE_INCOMPLETE,
        RULE_NO_SIGNATURE,
        RULE_THRESHOLD_NOT_MET,
    )

    doc = (Path(__file__).parents[3] / "docs" / "checks" / "signature.md").read_text()
    headings = set(re.findall(r"^### (\S+)$", doc, re.M))
    rules = {RULE_NO_SIGNATURE, RULE_EVIDENCE_INCOMPLETE, RULE_THRESHOLD_NOT_MET}
    assert {r.value for r in Reason} | rules == headings


def test_the_signer_cache_never_answers_for_another_certificate_with_the_same_signature() -> None:
    """The cache is keyed by signature bytes: a certificate whose content was changed under a copied
    signature (the SAN and the build trigger claim here) gets its own signer, not the cached one."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from verifier.sigstore.identity import signer_from_cert

    der = GH.public_bytes(Encoding.DER)
    forged_der = der.replace(b"acme/app", b"evil/app").replace(b"push", b"pull")
    assert forged_der != der
    forged = x509.load_der_x509_certificate(forged_der)
    assert forged.signature == GH.signature and forged != GH
    policy = IdentityPolicy(identity=WORKFLOW, issuer=GH_ISSUER)
    for _ in range(2):  # the second round reads both from the cache
        assert policy.check(GH).claims["build_trigger"] == "push"
        assert signer_from_cert(forged).identity == WORKFLOW.replace("acme/app", "evil/app")
        assert signer_from_cert(forged).claims["build_trigger"] == "pull"
        with pytest.raises(VerificationFailure) as info:
            policy.check(forged)
        assert info.value.reason is Reason.IDENTITY_MISMATCH
