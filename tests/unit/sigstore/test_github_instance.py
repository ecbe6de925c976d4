"""GitHub's Sigstore instance (fulcio.githubapp.com, RFC 3161 timestamps, no transparency log) next to
public-good, and RFC 3161 timestamps in every kind of bundle (real bundles from ../shared/real/provenance,
vendored in tests/assets/upstream/provenance)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from sigstore_helpers import SIGNATURE_ASSETS

from verifier.sigstore.bundle import verify_bundle
from verifier.sigstore.errors import VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.keys import load_pem_public_key
from verifier.sigstore.trust import PINNED_GITHUB_ROOT, PINNED_STAGING_ROOT
from verifier.sources.trust_roots import load_trust_root

PROV = Path(__file__).parents[2] / "assets" / "upstream" / "provenance"
AUTOMATA = PROV / "automata" / "samples"
PUBLIC_GOOD = load_trust_root(None)
GITHUB = load_trust_root(PINNED_GITHUB_ROOT)
GITHUB_STAGING = load_trust_root(PROV / "sigstore-go/examples/trusted-root-github-staging.json")
BOTH = (PUBLIC_GOOD, GITHUB)

PROBER = "https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml@refs/heads/main"
ACTIONS = "https://token.actions.githubusercontent.com"
PROBER_POLICY = IdentityPolicy(identity=PROBER, issuer=ACTIONS)
RELEASES_POLICY = IdentityPolicy(identity="https://dotcom.releases.github.com")

GITHUB_PROBER = {
    "actions-attest-build-provenance-attestation-13581567.sigstore.json": "658913cfebe8a49165264e2b5e54ad99b3bdbfbc8cd281b3cfaa949a21588f18",
    "actions-attest-build-provenance-attestation-13531551.sigstore.json": "b03d18ed0a16864ef2d2e559c660159a2170b9d086a1f42f570b1679326b90e6",
    "actions-attest-build-provenance-attestation-13739985.sigstore.json": "f4a0d47c6bdbf3bdbe3478a043b7030fcef5fdf34be90d841891803c2efe9fc5",
}
PUBLIC_PROBER = (
    AUTOMATA / "actions-attest-build-provenance-attestation-13532655.sigstore.json",
    "bb030cb9e028ff6d4051f2103b3b08f7e3928aa80a7d3626cef6e2553dc714b8",
)
RELEASE_BUNDLES = (
    PROV
    / "sigstore-rust/crates/sigstore-verify/test_data/bundles/github-private-attestation.sigstore.json",
    PROV / "gh-cli/pkg/cmd/attestation/test/data/github_release_bundle.json",
)
STAGING_BUNDLE = PROV / "sigstore-go/examples/bundle-github-staging.json"


def _reason(raw: bytes, **kwargs: Any) -> str:
    try:
        verify_bundle(raw, **kwargs)
    except VerificationFailure as exc:
        return str(exc.reason)
    return "valid"


def _first_subject(raw: bytes) -> bytes:
    doc = json.loads(raw)
    statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    return bytes.fromhex(statement["subject"][-1]["digest"]["sha256"])


@pytest.mark.parametrize("name", sorted(GITHUB_PROBER))
@pytest.mark.parametrize("trust", ["github", "both"])
def test_github_instance_bundles_verify(name: str, trust: str) -> None:
    raw = (AUTOMATA / name).read_bytes()
    res = verify_bundle(
        raw,
        trust=GITHUB if trust == "github" else BOTH,
        digest=bytes.fromhex(GITHUB_PROBER[name]),
        policy=PROBER_POLICY,
    )
    assert res.log_index is None and res.signed_at is not None
    assert res.signer.identity == PROBER and res.signer.issuer == ACTIONS
    assert res.signer.claims["source_repository_uri"] == (
        "https://github.com/actions/attest-build-provenance"
    )
    assert res.statement is not None
    assert res.statement["predicateType"] == "https://slsa.dev/provenance/v1"


@pytest.mark.parametrize("path", RELEASE_BUNDLES, ids=lambda p: p.name)
def test_github_release_attestations_verify(path: Path) -> None:
    raw = path.read_bytes()
    res = verify_bundle(raw, trust=BOTH, digest=_first_subject(raw), policy=RELEASES_POLICY)
    assert res.signer.identity == "https://dotcom.releases.github.com"
    assert res.signer.issuer is None and res.signer.claims == {}
    # A release attestation is not build provenance, and no Actions workflow signed it.
    assert res.statement is not None
    assert res.statement["predicateType"].startswith("https://in-toto.io/attestation/release/")
    assert _reason(raw, trust=BOTH, digest=_first_subject(raw), policy=PROBER_POLICY) == (
        "issuer-mismatch"
    )


def test_the_public_good_prober_bundle_needs_the_public_good_root() -> None:
    path, subject = PUBLIC_PROBER
    raw = path.read_bytes()
    res = verify_bundle(raw, trust=BOTH, digest=bytes.fromhex(subject), policy=PROBER_POLICY)
    assert res.log_index is not None
    assert _reason(raw, trust=GITHUB, digest=bytes.fromhex(subject), policy=PROBER_POLICY) in {
        "tlog-key-unknown",
        "certificate-chain-invalid",
    }


def test_github_bundle_against_the_public_good_root_fails() -> None:
    name, subject = next(iter(GITHUB_PROBER.items()))
    raw = (AUTOMATA / name).read_bytes()
    # Only the public-good root: its rules (a log entry) apply, and its CAs did not issue the cert.
    assert _reason(raw, trust=PUBLIC_GOOD, digest=bytes.fromhex(subject), policy=PROBER_POLICY) in {
        "tlog-entry-missing",
        "certificate-chain-invalid",
    }
    assert (
        _reason(
            raw,
            trust=(PUBLIC_GOOD, load_trust_root(PINNED_STAGING_ROOT)),
            digest=bytes.fromhex(subject),
            policy=PROBER_POLICY,
        )
        == "certificate-chain-invalid"
    )


def test_public_good_bundle_without_its_log_entry_fails_even_with_a_timestamp_root() -> None:
    path, subject = PUBLIC_PROBER
    doc = json.loads(path.read_bytes())
    doc["verificationMaterial"]["tlogEntries"] = []
    # Borrow a real GitHub timestamp: the instance is chosen by the certificate, not by what the bundle has.
    github = json.loads((AUTOMATA / next(iter(GITHUB_PROBER))).read_bytes())
    doc["verificationMaterial"]["timestampVerificationData"] = github["verificationMaterial"][
        "timestampVerificationData"
    ]
    raw = json.dumps(doc).encode()
    assert _reason(raw, trust=BOTH, digest=bytes.fromhex(subject), policy=PROBER_POLICY) == (
        "tlog-entry-missing"
    )


def test_staging_bundle_verifies_against_staging_only() -> None:
    raw = STAGING_BUNDLE.read_bytes()
    policy = IdentityPolicy(identity="cody@soyland.com", issuer="https://github.com/login/oauth")
    res = verify_bundle(raw, trust=GITHUB_STAGING, policy=policy)
    assert res.signed_at is not None and res.signed_at.year == 2023
    assert _reason(raw, trust=GITHUB, policy=policy) == "certificate-chain-invalid"
    assert _reason(raw, trust=BOTH, policy=policy) == "certificate-chain-invalid"


def _with_timestamp(raw: bytes, signed_timestamp: str | None) -> bytes:
    doc = json.loads(raw)
    vm = doc["verificationMaterial"]
    if signed_timestamp is None:
        vm.pop("timestampVerificationData", None)
    else:
        vm["timestampVerificationData"] = {
            "rfc3161Timestamps": [{"signedTimestamp": signed_timestamp}]
        }
    return json.dumps(doc).encode()


def _github_timestamp(index: int = 0) -> str:
    name = sorted(GITHUB_PROBER)[index]
    doc = json.loads((AUTOMATA / name).read_bytes())
    value: str = doc["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0][
        "signedTimestamp"
    ]
    return value


def test_github_bundle_timestamp_tampering_fails() -> None:
    name = sorted(GITHUB_PROBER)[0]
    raw = (AUTOMATA / name).read_bytes()
    digest = bytes.fromhex(GITHUB_PROBER[name])
    kwargs: dict[str, Any] = {"trust": BOTH, "digest": digest, "policy": PROBER_POLICY}
    assert _reason(_with_timestamp(raw, None), **kwargs) == "timestamp-invalid"
    garbage = base64.b64encode(b"\x30\x03\x02\x01\x00").decode()
    assert _reason(_with_timestamp(raw, garbage), **kwargs) == "timestamp-invalid"
    # A real GitHub timestamp, but over another bundle's signature.
    assert _reason(_with_timestamp(raw, _github_timestamp(1)), **kwargs) == "timestamp-invalid"
    # The staging TSA is not GitHub production's.
    staging = json.loads(STAGING_BUNDLE.read_bytes())
    staging_ts = staging["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][
        0
    ]["signedTimestamp"]
    assert _reason(_with_timestamp(raw, staging_ts), **kwargs) == "timestamp-invalid"


def test_key_signed_bundle_timestamps_are_verified() -> None:
    """Issue 19: RFC 3161 timestamps in key-signed bundles were never checked (garbage passed)."""
    key = load_pem_public_key((SIGNATURE_ASSETS / "k-sigstore.pub").read_bytes())
    raw = (SIGNATURE_ASSETS / "js-sign-bundle.json").read_bytes()
    subject = bytes.fromhex("ae2b469e5b5dd7c959c86ee339c8b56eebea9e5084de1cf0fd93324e34754407")
    kwargs: dict[str, Any] = {"trust": PUBLIC_GOOD, "digest": subject, "key": key}
    assert _reason(raw, **kwargs) == "valid"
    garbage = base64.b64encode(b"not a timestamp").decode()
    assert _reason(_with_timestamp(raw, garbage), **kwargs) == "timestamp-invalid"
    # Well-formed, signed by a real TSA, but over another signature.
    assert _reason(_with_timestamp(raw, _github_timestamp()), **kwargs) == "timestamp-invalid"
