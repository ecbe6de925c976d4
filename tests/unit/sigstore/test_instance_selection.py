"""Which Sigstore instance verifies a bundle: the root whose CA issued its certificate.

``bundle._instance`` takes the root whose CA certificate's subject is the certificate's issuer when exactly
one root has one (no CA signature checked there: the full path to that root is verified afterwards), and
otherwise the root whose CA signature verifies (:func:`verifier.sigstore.trust.issued_by`). Differential:
both ways choose the same root for every real bundle here, under every combination of roots, except where
the name belongs to a root whose CA did not sign (public-good and staging share a name): the path check
every root applies then refuses it. And a certificate that only borrows a CA's name is refused.
"""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore_helpers import CONFORMANCE

from verifier.sigstore.bundle import _instance, parse_bundle, verify_bundle
from verifier.sigstore.errors import VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.trust import PINNED_GITHUB_ROOT, PINNED_STAGING_ROOT, TrustRoot, issued_by
from verifier.sources.trust_roots import load_trust_root

PROV = Path(__file__).parents[2] / "assets" / "upstream" / "provenance"
AUTOMATA = PROV / "automata" / "samples"
ROOTS = {
    "public-good": load_trust_root(None),
    "github": load_trust_root(PINNED_GITHUB_ROOT),
    "staging": load_trust_root(PINNED_STAGING_ROOT),
    "github-staging": load_trust_root(
        PROV / "sigstore-go/examples/trusted-root-github-staging.json"
    ),
}
BUNDLES = [
    *sorted(AUTOMATA.glob("*.sigstore.json")),
    PROV
    / "sigstore-rust/crates/sigstore-verify/test_data/bundles/github-private-attestation.sigstore.json",
    PROV / "gh-cli/pkg/cmd/attestation/test/data/github_release_bundle.json",
    PROV / "sigstore-go/examples/bundle-github-staging.json",
    *(
        CONFORMANCE / case / "bundle.sigstore.json"
        for case in (
            "happy-path-v0.3",
            "happy-path-intoto-in-dsse-v3",
            "rekor2-happy-path",
            "bundle-from-wrong-instance_fail",
            "intoto-with-custom-trust-root",
        )
    ),
]
COMBINATIONS = [
    combo
    for n in (1, 2, 3, 4)
    for combo in itertools.permutations(sorted(ROOTS), n)
    if n <= 2 or combo == tuple(sorted(ROOTS))
]


def _by_signature(
    cert: x509.Certificate, chain: tuple[x509.Certificate, ...], roots: list[TrustRoot]
) -> TrustRoot | None:
    return next((root for root in roots if issued_by(root, cert, chain)), None)


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.parent.name + "/" + p.name)
def test_the_issuer_name_and_the_ca_signature_choose_the_same_root(path: Path) -> None:
    p = parse_bundle(path.read_bytes())
    assert p.cert is not None
    chosen_somewhere = False
    for combo in COMBINATIONS:
        roots = [ROOTS[name] for name in combo]
        expected = _by_signature(p.cert, p.chain, roots)
        try:
            got: TrustRoot | None = _instance(p, p.cert, roots)
        except VerificationFailure as exc:
            assert str(exc.reason) == "certificate-chain-invalid"
            got = None
        if expected is not None or got is None:
            assert got is expected, (combo, got and got.name, expected and expected.name)
        else:
            # The name is that of a CA of ``got`` (public-good and staging share theirs) but no CA of these
            # roots signed the certificate: the path verification every root applies refuses it.
            with pytest.raises(VerificationFailure, match="does not chain"):
                got.verify_chain(p.cert, list(p.chain), p.cert.not_valid_before_utc)
        chosen_somewhere |= expected is not None
    assert chosen_somewhere or "wrong-instance" in str(path) or "custom-trust-root" in str(path)


def _forged(raw: bytes, issuer: x509.Name) -> bytes:
    """``raw`` with its leaf replaced by a certificate with the same subject, public key, validity, SANs and
    Fulcio extensions, whose issuer is ``issuer`` but which a throwaway CA key signed. The bundle's signature,
    timestamps and log entry are the real ones: the only thing wrong is who issued the certificate."""
    doc = json.loads(raw)
    vm = doc["verificationMaterial"]
    holder = (
        vm["certificate"] if "certificate" in vm else vm["x509CertificateChain"]["certificates"][0]
    )
    real = x509.load_der_x509_certificate(base64.b64decode(holder["rawBytes"]))
    ca_key = ec.generate_private_key(ec.SECP384R1())  # THROWAWAY test key, never stored
    builder = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(issuer)
        .public_key(real.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
    )
    for ext in real.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    forged = builder.sign(ca_key, hashes.SHA384())
    holder["rawBytes"] = base64.b64encode(forged.public_bytes(serialization.Encoding.DER)).decode()
    return json.dumps(doc).encode()


GITHUB_BUNDLE = AUTOMATA / "actions-attest-build-provenance-attestation-13581567.sigstore.json"
GITHUB_SUBJECT = bytes.fromhex("658913cfebe8a49165264e2b5e54ad99b3bdbfbc8cd281b3cfaa949a21588f18")
PUBLIC_BUNDLE = AUTOMATA / "actions-attest-build-provenance-attestation-13532655.sigstore.json"
PUBLIC_SUBJECT = bytes.fromhex("bb030cb9e028ff6d4051f2103b3b08f7e3928aa80a7d3626cef6e2553dc714b8")
PROBER = IdentityPolicy(
    identity="https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml@refs/heads/main",
    issuer="https://token.actions.githubusercontent.com",
)


@pytest.mark.parametrize(
    ("path", "subject", "reason"),
    [
        # GitHub's rules: the real timestamp verifies over the real signature; the path to GitHub's CA does not.
        (GITHUB_BUNDLE, GITHUB_SUBJECT, "certificate-chain-invalid"),
        # public-good's: the log entry records the real certificate, not this one.
        (PUBLIC_BUNDLE, PUBLIC_SUBJECT, "tlog-entry-mismatch"),
    ],
    ids=["github", "public-good"],
)
@pytest.mark.parametrize("instances", [("public-good", "github"), ("github", "public-good")])
def test_a_certificate_that_borrows_a_cas_name_is_refused(
    path: Path, subject: bytes, reason: str, instances: tuple[str, str]
) -> None:
    raw = path.read_bytes()
    p = parse_bundle(raw)
    assert p.cert is not None
    roots = [ROOTS[name] for name in instances]
    verify_bundle(raw, trust=roots, digest=subject, policy=PROBER)  # control: the real one verifies
    forged = _forged(raw, p.cert.issuer)
    with pytest.raises(VerificationFailure) as info:
        verify_bundle(forged, trust=roots, digest=subject, policy=PROBER)
    assert str(info.value.reason) == reason, info.value.message


def test_the_forged_leaf_differs_from_the_real_one_only_in_its_issuer() -> None:
    """The forgery is faithful: same key, identity and claims, Fulcio profile (so the refusals above come from
    the issuer, not from a broken certificate)."""
    from verifier.sigstore.bundle import check_fulcio_profile

    raw = GITHUB_BUNDLE.read_bytes()
    real = parse_bundle(raw).cert
    forged = parse_bundle(_forged(raw, x509.Name.from_rfc4514_string("CN=throwaway"))).cert
    assert real is not None and forged is not None
    check_fulcio_profile(forged)
    assert PROBER.check(forged) == PROBER.check(real)
    assert forged.public_key() == real.public_key()
    assert forged.issuer != real.issuer
