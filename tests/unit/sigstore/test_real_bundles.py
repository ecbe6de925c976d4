"""Real Sigstore bundles from sigstore-js, sigstore-go, cosign, sigstore-rs, gh and sigstore-python test data
(tests/assets/signature/real-bundles, expected outcomes in its SOURCES.md).

Beyond sigstore-python 4.5: v0.1 bundles with only an inclusion promise (sigstore-js), intoto/0.0.2 entries
(npm provenance), key-signed bundles (npm registry key), Rekor v2 + TSA on production (kubewarden)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from sigstore_helpers import SIGNATURE_ASSETS

from verifier.sigstore.bundle import verify_bundle
from verifier.sigstore.errors import VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.keys import load_pem_public_key
from verifier.sigstore.trust import PINNED_STAGING_ROOT
from verifier.sources.trust_roots import load_trust_root

REAL = SIGNATURE_ASSETS / "real-bundles"
PROD = load_trust_root(None)
STAGING = load_trust_root(PINNED_STAGING_ROOT)
GH = "https://token.actions.githubusercontent.com"
GITHUB_OAUTH = "https://github.com/login/oauth"
SIGSTORE_JS_RELEASE = (
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
)
BRIAN = (GITHUB_OAUTH, "brian@dehamer.com")

# (bundle, root, issuer, identity, artifact file, use the bundle's own message digest, key, expected)
CASES: list[tuple[str, str, str | None, str | None, str | None, bool, str | None, str]] = [
    (
        "sigstore-js/bundles/bundleV01-dsse-no-proof.sigstore",
        "prod",
        *BRIAN,
        None,
        False,
        None,
        "valid",
    ),
    (
        "sigstore-js/bundles/bundleV01-dsse-with-proof.sigstore",
        "prod",
        *BRIAN,
        None,
        False,
        None,
        "valid",
    ),
    (
        "sigstore-js/bundles/bundleV01-intoto-no-proof.sigstore",
        "prod",
        *BRIAN,
        None,
        False,
        None,
        "valid",
    ),
    (
        "sigstore-js/bundles/bundleV01-intoto-with-proof.sigstore",
        "prod",
        *BRIAN,
        None,
        False,
        None,
        "valid",
    ),
    ("sigstore-js/bundles/bundleV02-dsse.sigstore", "prod", *BRIAN, None, False, None, "valid"),
    ("sigstore-js/bundles/bundleV02-intoto.sigstore", "prod", *BRIAN, None, False, None, "valid"),
    ("sigstore-js/bundles/bundleV03-dsse.sigstore", "prod", *BRIAN, None, False, None, "valid"),
    ("sigstore-js/bundles/bundleV03-intoto.sigstore", "prod", *BRIAN, None, False, None, "valid"),
    # The bundle spec says the chain MUST NOT hold a root (conformance bundle-with-root-cert_fail); these old
    # bundles carry one and are refused, where sigstore-js/sigstore-go look at the leaf only.
    (
        "sigstore-js/bundles/bundleV01-full-cert-chain.sigstore",
        "prod",
        *BRIAN,
        None,
        False,
        None,
        "certificate-chain-invalid",
    ),
    (
        "sigstore-go/data/bundles/dsse.sigstore.json",
        "prod",
        *BRIAN,
        None,
        False,
        None,
        "certificate-chain-invalid",
    ),
    (
        "sigstore-go/examples/bundle-provenance.json",
        "prod",
        GH,
        SIGSTORE_JS_RELEASE,
        None,
        False,
        None,
        "certificate-chain-invalid",
    ),
    (
        "sigstore-go/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json",
        "prod",
        GH,
        SIGSTORE_JS_RELEASE,
        None,
        False,
        None,
        "valid",
    ),
    (
        "sigstore-go/examples/bundle-publish.json",
        "prod",
        None,
        None,
        None,
        False,
        "sigstore-go/examples/publish_key.pub",
        "valid",
    ),
    (
        "cosign/testdata/oci-attestation.sigstore.json",
        "prod",
        GITHUB_OAUTH,
        "cody@soyland.com",
        None,
        False,
        None,
        "valid",
    ),
    (
        "sigstore-rs/bundle_v03.json",
        "prod",
        GH,
        "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
        None,
        False,
        None,
        "valid",
    ),
    (
        "gh-cli/data/sigstore-js-2.1.0-bundle.json",
        "prod",
        GH,
        SIGSTORE_JS_RELEASE,
        None,
        False,
        None,
        "valid",
    ),
    (
        "gh-cli/data/sigstore-js-2.1.0-bundle-v0.1.json",
        "prod",
        GH,
        SIGSTORE_JS_RELEASE,
        None,
        False,
        None,
        "valid",
    ),
    (
        "gh-cli/data/reusable-workflow-attestation.sigstore.json",
        "prod",
        GH,
        "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@"
        "09b495c3f12c7881b3cc17209a327792065c1a1d",
        "gh-cli/data/reusable-workflow-artifact",
        False,
        None,
        "valid",
    ),
    (
        "gh-cli/data/custom-issuer.sigstore.json",
        "prod",
        GH + "/hammer-time",
        "https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main",
        "gh-cli/data/custom-issuer-artifact",
        False,
        None,
        "valid",
    ),
    (
        "gh-cli/data/sigstoreBundle-invalid-signature.json",
        "prod",
        GH,
        None,
        None,
        False,
        None,
        "signature-invalid",
    ),
    (
        "sigstore-python/bundle_v3_github.whl.sigstore",
        "prod",
        GH,
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
        None,
        True,
        None,
        "valid",
    ),
    (
        "sigstore-python/bundle_v3.txt.sigstore",
        "staging",
        GITHUB_OAUTH,
        "william@yossarian.net",
        "sigstore-python/bundle_v3.txt",
        False,
        None,
        "valid",
    ),
    (
        "sigstore-python/bundle_v3_alt.txt.sigstore",
        "staging",
        GITHUB_OAUTH,
        "william@yossarian.net",
        "sigstore-python/bundle_v3_alt.txt",
        False,
        None,
        "valid",
    ),
    (
        "sigstore-python/bundle.txt.sigstore",
        "staging",
        GITHUB_OAUTH,
        "a@tny.town",
        "sigstore-python/bundle.txt",
        False,
        None,
        "valid",
    ),
    (
        "sigstore-python/staging-rekor-v2.txt.sigstore.json",
        "staging",
        GITHUB_OAUTH,
        "jku@goto.fi",
        "sigstore-python/staging-rekor-v2.txt",
        False,
        None,
        "valid",
    ),
    # Its SCT is from a staging CT log key that our older staging snapshot lacked (sct-invalid then); the
    # pinned staging root is now sigstore-python 4.5.1's, with which sigstore-python verifies it too.
    (
        "sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json",
        "staging",
        None,
        None,
        None,
        False,
        None,
        "valid",
    ),
    # Production bundles fail against the staging root and vice versa.
    (
        "sigstore-python/bundle_v3.txt.sigstore",
        "prod",
        GITHUB_OAUTH,
        "william@yossarian.net",
        "sigstore-python/bundle_v3.txt",
        False,
        None,
        "certificate-chain-invalid",
    ),
    (
        "sigstore-rs/bundle_v03.json",
        "staging",
        GH,
        None,
        None,
        False,
        None,
        "certificate-chain-invalid",
    ),
    (
        "sigstore-python/bundle_cve_2022_36056.txt.sigstore",
        "staging",
        None,
        None,
        "sigstore-python/bundle_cve_2022_36056.txt",
        False,
        None,
        "tlog-entry-mismatch",
    ),
    (
        "sigstore-python/bundle_no_checkpoint.txt.sigstore",
        "staging",
        None,
        None,
        "sigstore-python/bundle_no_checkpoint.txt",
        False,
        None,
        "tlog-inclusion-proof-invalid",
    ),
    (
        "sigstore-python/bundle_v3_no_signed_time.txt.sigstore.json",
        "staging",
        None,
        None,
        "sigstore-python/bundle_v3_no_signed_time.txt",
        False,
        None,
        "timestamp-invalid",
    ),
    (
        "sigstore-python/bundle_invalid_version.txt.sigstore",
        "staging",
        None,
        None,
        "sigstore-python/bundle_invalid_version.txt",
        False,
        None,
        "bundle-malformed",
    ),
    (
        "sigstore-python/bundle_no_cert_v1.txt.sigstore",
        "staging",
        None,
        None,
        "sigstore-python/bundle_no_cert_v1.txt",
        False,
        None,
        "bundle-malformed",
    ),
    (
        "sigstore-python/bundle_no_log_entry.txt.sigstore",
        "staging",
        None,
        None,
        "sigstore-python/bundle_no_log_entry.txt",
        False,
        None,
        "tlog-entry-missing",
    ),
]


def _message_digest(raw: bytes) -> bytes:
    return base64.b64decode(json.loads(raw)["messageSignature"]["messageDigest"]["digest"])


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}@{c[1]}" for c in CASES])
def test_real_bundle(
    case: tuple[str, str, str | None, str | None, str | None, bool, str | None, str],
) -> None:
    name, root, issuer, identity, artifact, own_digest, key, expected = case
    raw = (REAL / name).read_bytes()
    policy = (
        IdentityPolicy(issuer=issuer, identity=identity)
        if identity
        else IdentityPolicy(issuer=issuer, identity_regexp=".*")
    )
    try:
        result = verify_bundle(
            raw,
            trust=PROD if root == "prod" else STAGING,
            artifact=(REAL / artifact).read_bytes() if artifact else None,
            digest=_message_digest(raw) if own_digest else None,
            policy=policy,
            key=load_pem_public_key((REAL / key).read_bytes()) if key else None,
        )
    except VerificationFailure as exc:
        assert str(exc.reason) == expected, exc.message
        return
    assert expected == "valid"
    if identity:
        assert result.signer.identity == identity and result.signer.issuer == issuer
    assert result.signed_at is not None  # every real bundle here is in a transparency log


def test_npm_provenance_subject_is_sha512() -> None:
    """npm provenance names the package tarball by sha512; a sha256 artifact digest cannot match it."""
    raw = (REAL / "gh-cli/data/sigstore-js-2.1.0-bundle.json").read_bytes()
    with pytest.raises(VerificationFailure) as err:
        verify_bundle(
            raw,
            trust=PROD,
            digest=hashlib.sha256(b"x").digest(),
            policy=IdentityPolicy(issuer=GH, identity=SIGSTORE_JS_RELEASE),
        )
    assert str(err.value.reason) == "artifact-mismatch"


def test_wrong_identity_on_a_set_only_bundle() -> None:
    raw = (REAL / "sigstore-js/bundles/bundleV01-dsse-no-proof.sigstore").read_bytes()
    with pytest.raises(VerificationFailure) as err:
        verify_bundle(
            raw, trust=PROD, policy=IdentityPolicy(issuer=GH, identity="brian@dehamer.com")
        )
    assert str(err.value.reason) == "issuer-mismatch"
    doc = json.loads(raw)
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    with pytest.raises(VerificationFailure) as err:
        verify_bundle(
            json.dumps(doc),
            trust=PROD,
            policy=IdentityPolicy(issuer=GITHUB_OAUTH, identity="brian@dehamer.com"),
        )
    assert str(err.value.reason) == "tlog-set-invalid"


def test_assets_are_all_used() -> None:
    used = {c[0] for c in CASES} | {c[4] for c in CASES if c[4]} | {c[6] for c in CASES if c[6]}
    on_disk = {
        str(p.relative_to(REAL))
        for p in Path(REAL).rglob("*")
        if p.is_file() and p.name != "SOURCES.md"
    }
    assert on_disk == used
