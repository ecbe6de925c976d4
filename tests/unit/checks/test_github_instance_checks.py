"""GitHub's Sigstore instance in the ``signature`` and ``sbom-attestation`` checks.

Real bundles only (vendored in tests/assets/upstream/provenance, see its SOURCES.md): GitHub-instance bundles
written by actions/attest-build-provenance's prober (Fulcio ``fulcio.githubapp.com``, an RFC 3161 timestamp
from ``timestamp.githubapp.com``, no Rekor entry), a public-good bundle of the same workflow (with its Rekor
entry) and a GitHub *staging* bundle. No GitHub-instance bundle with an SBOM or cosign-signature predicate
exists in public data (private repositories' attestations are not published, and only GitHub's Fulcio can
make one), so the positive path is shown by each check verifying the real provenance bundle up to the point
where its predicate is judged, and the instance rules by the real bundles altered one field at a time.

The evidence is the value the registry collector returns (:class:`ImageEvidence`); the checks are pure, and
the signer sets are read from configuration through the same function the pipeline uses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import UPSTREAM
from verifier.checks import sbom_attestation, signature
from verifier.checks.sbom_attestation import any_verifier, make_verifier
from verifier.checks.signature import evaluate_set, signature_policies
from verifier.models import CheckResult
from verifier.models.config import Identity, Signers
from verifier.models.evidence import ImageEvidence, ReferrerBundle
from verifier.pipeline import decide
from verifier.sigstore.bundle import verify_bundle
from verifier.sigstore.trust import PINNED_GITHUB_ROOT

PROV = UPSTREAM / "provenance"
AUTOMATA = PROV / "automata" / "samples"
GITHUB_BUNDLE = (
    AUTOMATA / "actions-attest-build-provenance-attestation-13581567.sigstore.json"
).read_bytes()
GITHUB_SUBJECT = "sha256:658913cfebe8a49165264e2b5e54ad99b3bdbfbc8cd281b3cfaa949a21588f18"
# Another real GitHub-instance bundle: its timestamp is over another signature.
OTHER_GITHUB_BUNDLE = (
    AUTOMATA / "actions-attest-build-provenance-attestation-13531551.sigstore.json"
).read_bytes()
PUBLIC_BUNDLE = (
    AUTOMATA / "actions-attest-build-provenance-attestation-13532655.sigstore.json"
).read_bytes()
PUBLIC_SUBJECT = "sha256:bb030cb9e028ff6d4051f2103b3b08f7e3928aa80a7d3626cef6e2553dc714b8"
STAGING_BUNDLE = (PROV / "sigstore-go/examples/bundle-github-staging.json").read_bytes()

PROBER = "https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml@refs/heads/main"
ACTIONS = "https://token.actions.githubusercontent.com"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"
SPDX = "https://spdx.dev/Document/v2.3"


def signers(
    instances: tuple[Any, ...] | None = None,
    identity: str = PROBER,
    issuer: str = ACTIONS,
    **extra: Any,
) -> Signers:
    return Signers(
        identity=Identity(identity=identity, issuer=issuer), instances=instances, **extra
    )


def evidence(bundle: bytes, digest: str, predicate: str) -> ImageEvidence:
    """What the registry collector returns for an image with one bundle referrer (artifactType and layer
    ``application/vnd.dev.sigstore.bundle.v0.3+json``, as actions/attest's push-to-registry writes it)."""
    return ImageEvidence(
        ref=f"registry.example/app@{digest}",
        digest=digest,
        source="registry",
        referrers=(
            ReferrerBundle(
                artifact_type=BUNDLE_V03,
                bundle=bundle,
                annotations={PREDICATE_ANNOTATION: predicate},
                manifest_digest="sha256:" + "a" * 64,
            ),
        ),
    )


def signature_check(bundle: bytes, digest: str, set_: Signers) -> CheckResult:
    signature.clear_cache()
    ev = evidence(bundle, digest, COSIGN_SIGN)
    return evaluate_set(ev, signature_policies(set_, NOW), set_.threshold)


def sbom_check(bundle: bytes, digest: str, set_: Signers) -> CheckResult:
    ev = evidence(bundle, digest, SPDX)
    verify = any_verifier([make_verifier(p, digest) for p in signature_policies(set_, NOW)])
    return sbom_attestation.evaluate(ev, verify)


def denied(result: CheckResult) -> bool:
    dec, _ = decide([result], {result.check: {}}, now=NOW, policy_dir=None, opa_url=None)
    return not dec.allowed


def reasons(result: CheckResult) -> list[str]:
    """The verification reason of each rejected bundle (the sbom check keeps it in the properties)."""
    return [str(f.properties.get("reason", f.rule)) for f in result.findings]


def with_material(raw: bytes, *, tlog: bool, timestamp_from: bytes | None) -> bytes:
    """``raw`` with its log entries kept or removed and its timestamps replaced by those of another real
    bundle (or removed)."""
    doc = json.loads(raw)
    vm = doc["verificationMaterial"]
    if not tlog:
        vm["tlogEntries"] = []
    vm.pop("timestampVerificationData", None)
    if timestamp_from is not None:
        vm["timestampVerificationData"] = json.loads(timestamp_from)["verificationMaterial"][
            "timestampVerificationData"
        ]
    return json.dumps(doc).encode()


# --- configuration ----------------------------------------------------------------------------------------


def test_a_signer_set_trusts_public_good_and_github_by_default() -> None:
    [policy] = signature_policies(signers(), NOW)
    assert [signature.root_label(r.name) for r in policy.roots] == [
        "pinned:public-good",
        "pinned:github",
    ]
    assert policy.config()["trusted_roots"] == ["pinned:public-good", "pinned:github"]
    [only_public] = signature_policies(signers(instances=("public-good",)), NOW)
    assert only_public.config()["trusted_roots"] == ["pinned:public-good"]
    assert only_public.fingerprint() != policy.fingerprint()


def test_a_private_trusted_root_replaces_the_default_instances() -> None:
    private = signers(trusted_root=str(PINNED_GITHUB_ROOT))
    [policy] = signature_policies(private, NOW)
    assert policy.roots == (policy.trust,)
    [both] = signature_policies(
        signers(trusted_root=str(PINNED_GITHUB_ROOT), instances=("public-good",)), NOW
    )
    assert [signature.root_label(r.name) for r in both.roots] == [
        "pinned:github",
        "pinned:public-good",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"instances": ()}, "name at least one Sigstore instance"),
        ({"instances": ("github", "github")}, "at most once"),
        ({"instances": ("github",), "ca_roots": "roots.pem"}, "mutually exclusive"),
    ],
)
def test_instance_settings_that_make_no_sense_are_refused(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        signers(**kwargs)


# --- the positive path: the shared verification accepts GitHub's instance ---------------------------------


@pytest.mark.parametrize("instances", [None, ("github",), ("github", "public-good")])
def test_the_roots_of_a_signer_set_verify_a_github_instance_bundle(
    instances: tuple[Any, ...] | None,
) -> None:
    [policy] = signature_policies(signers(instances=instances), NOW)
    res = verify_bundle(
        GITHUB_BUNDLE,
        trust=policy.roots,
        digest=bytes.fromhex(GITHUB_SUBJECT[7:]),
        policy=policy.identity,
    )
    assert res.log_index is None and res.signed_at is not None
    assert signature.root_label(res.trust_root) == "pinned:github"
    assert res.signer.identity == PROBER


def test_sbom_check_verifies_a_github_instance_attestation_then_judges_its_predicate() -> None:
    result = sbom_check(GITHUB_BUNDLE, GITHUB_SUBJECT, signers())
    # Verified (no rejection): the statement is then read, and SLSA provenance is not an SBOM.
    assert result.findings == ()
    assert result.verdict == "fail" and result.facts["rejected"] == []
    [ignored] = result.facts["ignored"]
    assert "not an SPDX or CycloneDX SBOM" in ignored["why"]
    # The verifier the check builds reports the instance that vouched for the signer.
    [policy] = signature_policies(signers(), NOW)
    verify = make_verifier(policy, GITHUB_SUBJECT)
    [att] = sbom_attestation.attestations_of(evidence(GITHUB_BUNDLE, GITHUB_SUBJECT, SPDX))
    verified = verify(att)
    assert verified.signer["trusted_root"] == "pinned:github"
    assert verified.signer["claims"]["source_repository_uri"] == (
        "https://github.com/actions/attest-build-provenance"
    )
    assert verified.signed_at is not None


def test_signature_check_verifies_a_github_instance_bundle_then_judges_its_predicate() -> None:
    result = signature_check(GITHUB_BUNDLE, GITHUB_SUBJECT, signers())
    # Everything verified but the predicate (it is provenance, not a cosign signature): payload-invalid.
    assert result.verdict == "fail"
    assert reasons(result) == ["payload-invalid"]
    assert "not a cosign signature" in result.findings[0].message


# --- negative cases ---------------------------------------------------------------------------------------

CHECKS = {"signature": signature_check, "sbom-attestation": sbom_check}


def _expect_denied(check: str, bundle: bytes, digest: str, set_: Signers, reason: str) -> None:
    result = CHECKS[check](bundle, digest, set_)
    assert result.verdict == "fail"
    assert reasons(result) == [reason], result.findings
    assert denied(result)


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_public_good_only_refuses_the_github_instance(check: str) -> None:
    _expect_denied(
        check,
        GITHUB_BUNDLE,
        GITHUB_SUBJECT,
        signers(instances=("public-good",)),
        "tlog-entry-missing",
    )


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_public_good_certificate_without_its_log_entry_but_a_github_timestamp(check: str) -> None:
    """A certificate that chains to the public-good CA, its Rekor entry removed and a real GitHub timestamp
    put in: the CA picks public-good, whose bundles need their log entry."""
    raw = with_material(PUBLIC_BUNDLE, tlog=False, timestamp_from=GITHUB_BUNDLE)
    _expect_denied(check, raw, PUBLIC_SUBJECT, signers(), "tlog-entry-missing")


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_public_good_bundle_without_its_log_entry(check: str) -> None:
    raw = with_material(PUBLIC_BUNDLE, tlog=False, timestamp_from=None)
    _expect_denied(check, raw, PUBLIC_SUBJECT, signers(), "tlog-entry-missing")


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize(
    "source", ["staging", "other-signature", "none"], ids=["staging-tsa", "other-sig", "none"]
)
def test_github_bundle_timestamp_not_from_the_chosen_roots_tsa(check: str, source: str) -> None:
    """GitHub's root chosen by the CA; the timestamp is GitHub staging's TSA (not in the root), GitHub's
    but over another signature, or missing: each is timestamp-invalid."""
    donor = {"staging": STAGING_BUNDLE, "other-signature": OTHER_GITHUB_BUNDLE, "none": None}[
        source
    ]
    raw = with_material(GITHUB_BUNDLE, tlog=True, timestamp_from=donor)
    _expect_denied(check, raw, GITHUB_SUBJECT, signers(), "timestamp-invalid")


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize(
    "instances", [None, ("public-good", "github", "staging")], ids=["default", "with-staging"]
)
def test_github_staging_bundle_against_production(
    check: str, instances: tuple[Any, ...] | None
) -> None:
    """GitHub staging's bundle names an npm package by sha512 only: the instance is refused by its CA first,
    whatever digest is gated (the subject would also fail)."""
    subject = GITHUB_SUBJECT
    set_ = signers(
        instances=instances, identity="cody@soyland.com", issuer="https://github.com/login/oauth"
    )
    _expect_denied(check, STAGING_BUNDLE, subject, set_, "certificate-chain-invalid")


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize(
    ("identity", "issuer", "reason"),
    [
        (PROBER.replace("prober.yml", "release.yml"), ACTIONS, "identity-mismatch"),
        (PROBER + "x", ACTIONS, "identity-mismatch"),
        (PROBER, "https://token.actions.githubusercontent.com/acme", "issuer-mismatch"),
    ],
)
def test_wrong_identity_under_the_github_instance(
    check: str, identity: str, issuer: str, reason: str
) -> None:
    _expect_denied(
        check, GITHUB_BUNDLE, GITHUB_SUBJECT, signers(identity=identity, issuer=issuer), reason
    )


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_github_instance_bundle_for_another_image(check: str) -> None:
    other = "sha256:" + "2" * 64
    expected = "artifact-mismatch"
    _expect_denied(check, GITHUB_BUNDLE, other, signers(), expected)


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_a_github_bundle_with_a_log_entry_is_refused_under_githubs_root(check: str) -> None:
    """The public-good bundle's Rekor entry moved into a GitHub-instance bundle: GitHub's root lists no log,
    so an entry cannot be verified against it (and never stands in for the timestamp)."""
    doc = json.loads(GITHUB_BUNDLE)
    doc["verificationMaterial"]["tlogEntries"] = json.loads(PUBLIC_BUNDLE)["verificationMaterial"][
        "tlogEntries"
    ]
    _expect_denied(check, json.dumps(doc).encode(), GITHUB_SUBJECT, signers(), "tlog-key-unknown")
