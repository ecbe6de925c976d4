"""Sigstore bundles (v0.1-v0.3): keyless through sigstore-python, the rest ours.

Order of checks (the first failure decides the reason):
1. structure (ours): media type, verification material, tlog entry fields, base64;
2. materials (ours): signature over the artifact (or DSSE PAE) with the certificate's or given key, the
   artifact/subject digest, and the tlog entry body against those materials (CVE-2022-36056 class);
3. keyless: sigstore-python ``Verifier(trusted_root=...)`` (time sources, chain at signing time, SCT,
   inclusion proof + checkpoint, SET, TSA), with our identity policy as its ``VerificationPolicy``;
   ``intoto/0.0.2`` entries go through a subclass that accepts their integrated time (sigstore-python 4.5
   refuses it) and whose body we check in step 2; then (ours) the Fulcio CA's validity window of the
   trusted root must cover the signing time.
   key-signed (``publicKey`` material): ours (signature with the key, tlog inclusion proof + checkpoint, SET).
4. every RFC 3161 timestamp the bundle carries must verify against a TSA of the trusted root
   (:mod:`verifier.sigstore.timestamp`), in every mode.

Several trusted roots may be given (public-good and GitHub's instance): the one whose Fulcio CA signed the
certificate applies, with its rules. An instance whose root lists transparency logs (public-good) requires a
log entry; one that lists none (GitHub's: fulcio.githubapp.com, timestamp.githubapp.com) requires RFC 3161
timestamps instead, and its bundles are verified by us (sigstore-python 4.5 insists on one log entry).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from verifier.sigstore import dsse, tlog
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.identity import IdentityPolicy, Signer
from verifier.sigstore.keys import PublicKey, key_id, same_key, verify_prehashed, verify_signature
from verifier.sigstore.timestamp import timestamps_of, verify_timestamps
from verifier.sigstore.trust import TrustRoot, issued_by

if TYPE_CHECKING:
    from sigstore.errors import Error as SigstoreError
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore_models.common.v1 import HashAlgorithm

MEDIA_TYPES = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1": (0, 1),
    "application/vnd.dev.sigstore.bundle+json;version=0.2": (0, 2),
    "application/vnd.dev.sigstore.bundle+json;version=0.3": (0, 3),
    "application/vnd.dev.sigstore.bundle.v0.3+json": (0, 3),
}
MAX_BUNDLE_BYTES = 8 * 1024 * 1024
MAX_TLOG_ENTRIES = 8


@dataclass(frozen=True)
class BundleResult:
    """A verified bundle: who signed, when (if a log or TSA says so), and the DSSE payload if any."""

    signer: Signer
    signed_at: dt.datetime | None
    payload_type: str | None = None
    payload: bytes | None = None
    statement: dict[str, Any] | None = None
    log_index: int | None = None
    notes: tuple[str, ...] = field(default=())
    trust_root: str = ""
    """The name of the trusted root (Sigstore instance) that verified the bundle."""


@dataclass(frozen=True)
class _Parsed:
    doc: dict[str, Any]
    version: tuple[int, int]
    cert: x509.Certificate | None
    chain: tuple[x509.Certificate, ...]
    key_hint: str | None
    entries: tuple[tlog.LogEntry, ...]
    message_digest: bytes | None
    signature: bytes | None
    envelope: dsse.Envelope | None
    timestamps: tuple[bytes, ...]
    cert_der: bytes | None = None

    @property
    def has_timestamps(self) -> bool:
        """Whether the bundle carries RFC 3161 timestamps."""
        return bool(self.timestamps)

    def signed_bytes(self) -> bytes:
        """The signature a timestamp is over: the message signature, or the one DSSE signature."""
        if self.signature is not None:
            return self.signature
        if self.envelope is not None and len(self.envelope.signatures) == 1:
            return self.envelope.signatures[0]
        raise _fail(
            Reason.UNSUPPORTED, "RFC 3161 timestamps over a DSSE envelope with several signatures"
        )


def _fail(reason: Reason, message: str) -> VerificationFailure:
    return VerificationFailure(reason, message)


def _is_root(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _cert(raw: Any, what: str) -> tuple[x509.Certificate, bytes]:
    """A certificate of the bundle and the DER it was read from."""
    der = tlog.b64decode(tlog.obj(raw, what).get("rawBytes"), what)
    try:
        return x509.load_der_x509_certificate(der), der
    except ValueError as exc:
        raise _fail(Reason.BUNDLE_MALFORMED, f"{what} is not a DER X.509 certificate") from exc


def parse_bundle(raw: bytes | str) -> _Parsed:
    """Structural checks of a bundle (step 1). VerificationFailure(bundle-malformed, ...) on any problem."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise _fail(Reason.BUNDLE_MALFORMED, f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        doc = tlog.strict_json(raw)
    except ValueError as exc:
        raise _fail(Reason.BUNDLE_MALFORMED, f"bundle is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _fail(Reason.BUNDLE_MALFORMED, "bundle is not a JSON object")
    version = MEDIA_TYPES.get(str(doc.get("mediaType")))
    if version is None:
        raise _fail(Reason.BUNDLE_MALFORMED, f"unknown bundle mediaType {doc.get('mediaType')!r}")
    vm = doc.get("verificationMaterial")
    if not isinstance(vm, dict):
        raise _fail(Reason.BUNDLE_MALFORMED, "bundle has no verificationMaterial")

    cert: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    key_hint: str | None = None
    cert_der: bytes | None = None
    if "certificate" in vm:
        cert, cert_der = _cert(vm["certificate"], "verificationMaterial.certificate")
    elif "x509CertificateChain" in vm:
        certs = tlog.obj(vm["x509CertificateChain"], "x509CertificateChain").get("certificates")
        if not isinstance(certs, list) or not certs:
            raise _fail(Reason.BUNDLE_MALFORMED, "bundle certificate chain is empty")
        read = [_cert(c, f"x509CertificateChain.certificates[{i}]") for i, c in enumerate(certs)]
        parsed = [c for c, _ in read]
        (cert, cert_der), chain = read[0], tuple(parsed[1:])
        if any(_is_root(c) for c in parsed):
            raise _fail(
                Reason.CERTIFICATE_CHAIN_INVALID,
                "bundle certificate chain contains a root certificate (roots come from the trusted root only)",
            )
    elif "publicKey" in vm:
        hint = tlog.obj(vm["publicKey"], "verificationMaterial.publicKey").get("hint")
        key_hint = hint if isinstance(hint, str) else ""
    else:
        raise _fail(
            Reason.BUNDLE_MALFORMED, "verificationMaterial has no certificate, chain or public key"
        )

    entries_json = vm.get("tlogEntries") or []
    if not isinstance(entries_json, list) or len(entries_json) > MAX_TLOG_ENTRIES:
        raise _fail(Reason.BUNDLE_MALFORMED, "tlogEntries is not a short list")
    entries = tuple(tlog.entry_from_bundle_json(e) for e in entries_json)
    timestamps = tuple(timestamps_of(vm))

    message_digest = signature = None
    envelope = None
    if "messageSignature" in doc:
        ms = tlog.obj(doc["messageSignature"], "messageSignature")
        signature = tlog.b64decode(ms.get("signature"), "messageSignature.signature")
        md = ms.get("messageDigest")
        if isinstance(md, dict):
            if md.get("algorithm") not in ("SHA2_256", None):
                raise _fail(Reason.UNSUPPORTED, f"message digest algorithm {md.get('algorithm')!r}")
            message_digest = tlog.b64decode(
                md.get("digest"), "messageSignature.messageDigest.digest"
            )
    elif "dsseEnvelope" in doc:
        envelope = dsse.parse_envelope(doc["dsseEnvelope"])
    else:
        raise _fail(Reason.BUNDLE_MALFORMED, "bundle has neither messageSignature nor dsseEnvelope")

    for entry in entries:
        if version >= (0, 2) and entry.inclusion_proof is None:
            raise _fail(
                Reason.TLOG_INCLUSION_PROOF_INVALID,
                "log entry has no inclusion proof (required from bundle v0.2 on)",
            )
        if version == (0, 1) and entry.set is None:
            raise _fail(Reason.TLOG_SET_INVALID, "v0.1 bundle log entry has no inclusion promise")
    return _Parsed(
        doc,
        version,
        cert,
        chain,
        key_hint,
        entries,
        message_digest,
        signature,
        envelope,
        timestamps,
        cert_der,
    )


# Log entry kinds whose body sigstore-python 4.5 checks against the bundle (and whose signature it verifies)
# when it verifies a keyless bundle: step 2 leaves those to it instead of doing them twice.
_SIGSTORE_CHECKS_DSSE = frozenset({("dsse", "0.0.1"), ("hashedrekord", "0.0.2")})
_SIGSTORE_CHECKS_MESSAGE = frozenset({("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2")})


def _delegated(p: _Parsed) -> bool:
    """Whether sigstore-python will verify this keyless bundle's signature and entry body (step 3)."""
    if len(p.entries) != 1 or p.cert is None:
        return False
    entry = p.entries[0]
    if p.version == (0, 1) and (
        entry.inclusion_proof is None or entry.inclusion_proof.checkpoint is None
    ):
        return False  # the SET-only path is ours
    kinds = _SIGSTORE_CHECKS_DSSE if p.envelope is not None else _SIGSTORE_CHECKS_MESSAGE
    return (entry.kind, entry.version) in kinds


def _public_key(verifier: x509.Certificate | PublicKey) -> CertificatePublicKeyTypes:
    try:
        return verifier.public_key() if isinstance(verifier, x509.Certificate) else verifier
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _fail(
            Reason.BUNDLE_MALFORMED, f"the signing certificate's public key cannot be read: {exc}"
        ) from None


def _check_materials(
    p: _Parsed,
    verifier: x509.Certificate | PublicKey,
    artifact: bytes | None,
    digest: bytes | None,
    key_mode: bool,
    delegated: bool = False,
) -> dict[str, Any] | None:
    """Step 2: signature, artifact/subject digest and tlog body consistency. Returns the statement (DSSE).

    ``delegated``: sigstore-python verifies the signature and the entry body next (step 3), so only the
    statement and the digests are checked here; the key is not even read (if it cannot be, sigstore-python
    fails and this runs again undelegated, which says so).
    """
    key = verifier if delegated else _public_key(verifier)
    bad_sig = Reason.KEY_MISMATCH if key_mode else Reason.SIGNATURE_INVALID
    statement: dict[str, Any] | None = None
    if p.envelope is not None:
        env = p.envelope
        if not delegated and not any(
            verify_signature(key, sig, env.pae())  # type: ignore[arg-type]
            for sig in env.signatures
        ):
            raise _fail(
                bad_sig,
                "DSSE signature does not verify" + (" with the given key" if key_mode else ""),
            )
        if env.payload_type == dsse.INTOTO_PAYLOAD_TYPE:
            statement = dsse.parse_statement(env)
            if digest is not None:
                dsse.require_subject(statement, "sha256:" + digest.hex())
        elif digest is not None:
            raise _fail(
                Reason.ARTIFACT_MISMATCH, f"DSSE payload type {env.payload_type!r} names no subject"
            )
        for entry in () if delegated else p.entries:
            if entry.kind == "hashedrekord":
                if len(env.signatures) != 1:
                    raise _fail(
                        Reason.TLOG_ENTRY_MISMATCH,
                        "hashedrekord DSSE entries need exactly one signature",
                    )
                tlog.check_hashedrekord(
                    entry, hashlib.sha256(env.pae()).digest(), env.signatures[0], verifier
                )
            else:
                tlog.check_dsse_entry(entry, env.payload, list(env.signatures), verifier)
        return statement

    if p.signature is None or digest is None:
        raise _fail(
            Reason.ARTIFACT_MISMATCH, "no artifact or digest given for a message-signature bundle"
        )
    if p.message_digest is not None and p.message_digest != digest:
        raise _fail(
            Reason.ARTIFACT_MISMATCH, "artifact digest differs from the bundle's message digest"
        )
    if delegated:
        return None
    if artifact is not None:
        ok = verify_signature(key, p.signature, artifact)  # type: ignore[arg-type]
    else:
        ok = verify_prehashed(key, p.signature, digest, hashes.SHA256())  # type: ignore[arg-type]
    if not ok:
        raise _fail(
            bad_sig,
            "signature does not verify over the artifact"
            + (" with the given key" if key_mode else ""),
        )
    for entry in p.entries:
        if entry.kind != "hashedrekord":
            raise _fail(
                Reason.TLOG_ENTRY_MISMATCH, f"expected a hashedrekord log entry, got {entry.kind}"
            )
        tlog.check_hashedrekord(entry, digest, p.signature, verifier)
    return None


def verify_bundle(
    raw: bytes | str,
    *,
    trust: TrustRoot | Sequence[TrustRoot],
    artifact: bytes | None = None,
    digest: bytes | None = None,
    policy: IdentityPolicy | None = None,
    key: PublicKey | None = None,
) -> BundleResult:
    """Verify a bundle for ``artifact`` (bytes) or its SHA-256 ``digest``; raise VerificationFailure.

    For DSSE bundles the artifact is the in-toto subject. Keyless bundles need ``policy``; key-signed
    bundles need ``key``. With ``key`` given, a keyless bundle is accepted only if its certificate holds
    that key (the certificate chain is still verified). ``trust`` is one trusted root or several Sigstore
    instances (the first one serves key-signed bundles); see the module docstring.
    """
    if artifact is not None:
        digest = hashlib.sha256(artifact).digest()
    roots = (trust,) if isinstance(trust, TrustRoot) else tuple(trust)
    if not roots:
        raise ValueError("verify_bundle needs at least one trusted root")
    p = parse_bundle(raw)
    if p.cert is None:
        if key is None:
            raise _fail(
                Reason.KEY_REQUIRED,
                "bundle is signed with a key (publicKey material) but no key was given",
            )
        return _verify_keyed(p, key, roots[0], artifact, digest)
    if key is not None and not same_key(p.cert.public_key(), key):  # type: ignore[arg-type]
        raise _fail(Reason.KEY_MISMATCH, "bundle certificate does not hold the given key")
    root = roots[0]
    if len(roots) > 1 or not root.tlogs:
        root = _instance(p, p.cert, roots)
    if not root.tlogs:
        return _verify_keyless_timestamped(
            p, p.cert, root, policy or IdentityPolicy(), artifact, digest
        )
    if not p.entries:
        raise _fail(
            Reason.TLOG_ENTRY_MISSING,
            f"keyless bundle has no transparency log entry (the trusted root {root.name} lists "
            "transparency logs: its bundles need an entry)",
        )
    statement = _check_materials(
        p, p.cert, artifact, digest, key_mode=False, delegated=_delegated(p)
    )
    if len(p.entries) != 1:
        raise _fail(
            Reason.BUNDLE_MALFORMED,
            f"expected exactly one transparency log entry, got {len(p.entries)}",
        )
    proof = p.entries[0].inclusion_proof
    if p.version == (0, 1) and (proof is None or proof.checkpoint is None):
        # v0.1 needs only the inclusion promise; sigstore-python 4.5 refuses these (real sigstore-js bundles).
        return _verify_keyless_set_only(p, root, policy or IdentityPolicy(), statement)
    return _verify_keyless(p, raw, root, policy or IdentityPolicy(), artifact, digest, statement)


def _instance(p: _Parsed, cert: x509.Certificate, roots: Sequence[TrustRoot]) -> TrustRoot:
    """The trusted root whose Fulcio CA signed ``cert`` (or one of the bundle's intermediates).

    When the certificate's issuer is the subject of a CA certificate in exactly one of the roots (compared
    as DER, indexed per root) and the bundle carries no intermediates, that root is the only one the
    certificate can chain to (path validation chains names as well as signatures), so it is taken without
    checking the CA's signature here: every verification under a root checks the full path to it, and a
    certificate that only borrows a CA's name fails there, judged by the rules of the instance it names.
    Names shared by several roots (public-good's and staging's Fulcio) and intermediates in the bundle
    are decided by the CA signature instead.
    """
    if not p.chain:
        named = [root for root in roots if root.issuer_authorities(cert, p.cert_der)]
        if len(named) == 1:
            return named[0]
    for root in roots:
        if issued_by(root, cert, p.chain):
            return root
    names = ", ".join(r.name for r in roots)
    raise _fail(
        Reason.CERTIFICATE_CHAIN_INVALID,
        f"signing certificate (issuer {cert.issuer.rfc4514_string()}) was not issued by a "
        f"certificate authority of the trusted root(s) {names}",
    )


def _verify_keyless_timestamped(
    p: _Parsed,
    cert: x509.Certificate,
    trust: TrustRoot,
    policy: IdentityPolicy,
    artifact: bytes | None,
    digest: bytes | None,
) -> BundleResult:
    """Ours, for an instance without a transparency log (GitHub's): RFC 3161 timestamps give the signing
    time; the chain to a Fulcio CA of that root valid then, SCT when the root lists CT logs, certificate
    profile, identity."""
    from verifier.sigstore.sct import verify_embedded_sct

    # (1) this instance keeps no log: an entry cannot be verified against it.
    if p.entries:
        raise _fail(
            Reason.TLOG_KEY_UNKNOWN,
            f"bundle has a transparency log entry but the trusted root {trust.name} lists no "
            "transparency log",
        )
    # (2) signature over the artifact or DSSE PAE, and the artifact/subject digest.
    statement = _check_materials(p, cert, artifact, digest, key_mode=False)
    # (3) at least one signed timestamp, each over the signature and from a TSA of this root.
    if not p.timestamps:
        raise _fail(
            Reason.TIMESTAMP_INVALID,
            f"bundle has neither a transparency log entry nor an RFC 3161 timestamp "
            f"({trust.name} requires a timestamp)",
        )
    times = verify_timestamps(p.timestamps, p.signed_bytes(), trust)
    # (4) the certificate chains to a Fulcio CA of this root at each signing time.
    chain: list[x509.Certificate] = []
    for at in times:
        chain = trust.verify_chain(cert, list(p.chain), at)
    # (5) SCT (only a root that lists CT logs can vouch for one), profile, identity.
    if trust.ctlogs:
        verify_embedded_sct(cert, chain[0], trust)
    check_fulcio_profile(cert)
    signer = policy.check(cert)
    return BundleResult(
        signer=signer,
        signed_at=min(times),
        payload_type=p.envelope.payload_type if p.envelope else None,
        payload=p.envelope.payload if p.envelope else None,
        statement=statement,
        log_index=None,
        trust_root=trust.name,
    )


def _verify_keyless_set_only(
    p: _Parsed, trust: TrustRoot, policy: IdentityPolicy, statement: dict[str, Any] | None
) -> BundleResult:
    """Ours, for a v0.1 bundle whose entry has an SET but no usable inclusion proof: the SET gives the signing
    time; chain to a Fulcio CA valid then, SCT, certificate profile, identity. Signature and entry body were
    checked in step 2."""
    from verifier.sigstore.sct import verify_embedded_sct

    if p.cert is None:
        raise _fail(Reason.KEY_REQUIRED, "bundle has no certificate")
    if p.has_timestamps:
        raise _fail(
            Reason.UNSUPPORTED, "v0.1 bundle with RFC 3161 timestamps but no inclusion proof"
        )
    entry = p.entries[0]
    at = tlog.verify_set(entry, trust)
    chain = trust.verify_chain(p.cert, list(p.chain), at)
    verify_embedded_sct(p.cert, chain[0], trust)
    check_fulcio_profile(p.cert)
    signer = policy.check(p.cert)
    return BundleResult(
        signer=signer,
        signed_at=at,
        payload_type=p.envelope.payload_type if p.envelope else None,
        payload=p.envelope.payload if p.envelope else None,
        statement=statement,
        log_index=entry.log_index,
        trust_root=trust.name,
    )


def check_fulcio_profile(cert: x509.Certificate) -> None:
    """A Sigstore signing certificate has the digitalSignature key usage and the codeSigning EKU."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise _fail(
            Reason.CERTIFICATE_PROFILE, f"signing certificate lacks {exc.oid._name}"
        ) from None
    if not usage.digital_signature:
        raise _fail(
            Reason.CERTIFICATE_PROFILE, "signing certificate key usage is not digitalSignature"
        )
    if x509.oid.ExtendedKeyUsageOID.CODE_SIGNING not in eku:
        raise _fail(
            Reason.CERTIFICATE_PROFILE, "signing certificate extended key usage lacks codeSigning"
        )


def _verify_keyed(
    p: _Parsed, key: PublicKey, trust: TrustRoot, artifact: bytes | None, digest: bytes | None
) -> BundleResult:
    """Key-signed: the signature with the key, then each tlog entry (inclusion proof + checkpoint, SET)."""
    statement = _check_materials(p, key, artifact, digest, key_mode=True)
    times: list[dt.datetime] = []
    for entry in p.entries:
        if entry.inclusion_proof is not None:
            tlog.verify_inclusion(entry, trust)
        if entry.set is not None:
            times.append(tlog.verify_set(entry, trust))
    times += verify_timestamps(p.timestamps, p.signed_bytes(), trust) if p.timestamps else []
    signed_at = min(times) if times else None
    return BundleResult(
        signer=Signer(key="sha256:" + key_id(key).hex()),
        signed_at=signed_at,
        payload_type=p.envelope.payload_type if p.envelope else None,
        payload=p.envelope.payload if p.envelope else None,
        statement=statement,
        log_index=p.entries[0].log_index if p.entries else None,
        trust_root=trust.name,
    )


# --- keyless through sigstore-python ---------------------------------------------------------------------


def _sigstore_reason(exc: BaseException) -> Reason:
    text = str(exc)
    low = text.lower()
    name = type(exc).__name__
    if "failed to load bundle" in low or name == "InvalidBundle" and "inclusion proof" not in low:
        if "signed timestamp" in low or "inclusion promise" in low:
            return Reason.TIMESTAMP_INVALID
        return Reason.BUNDLE_MALFORMED
    table = [
        ("sct", Reason.SCT_INVALID),
        ("not valid at validation time", Reason.CERTIFICATE_NOT_VALID_AT_SIGNING_TIME),
        ("expired at time of signing", Reason.CERTIFICATE_NOT_VALID_AT_SIGNING_TIME),
        ("certificate chain", Reason.CERTIFICATE_CHAIN_INVALID),
        ("root hash signature", Reason.TLOG_CHECKPOINT_INVALID),
        ("inclusion proof contains invalid root hash", Reason.TLOG_INCLUSION_PROOF_INVALID),
        ("must contain inclusion proof", Reason.TLOG_INCLUSION_PROOF_INVALID),
        ("checkpoint", Reason.TLOG_CHECKPOINT_INVALID),
        ("malformed note", Reason.TLOG_CHECKPOINT_INVALID),
        ("inclusion proof", Reason.TLOG_INCLUSION_PROOF_INVALID),
        ("set: ", Reason.TLOG_SET_INVALID),
        ("inclusion promise", Reason.TLOG_SET_INVALID),
        ("verified time", Reason.TIMESTAMP_INVALID),
        ("timestamp", Reason.TIMESTAMP_INVALID),
        ("inconsistent", Reason.TLOG_ENTRY_MISMATCH),
        ("does not match bundle", Reason.TLOG_ENTRY_MISMATCH),
        ("digest mismatch", Reason.ARTIFACT_MISMATCH),
        ("signature", Reason.SIGNATURE_INVALID),
        ("key usage", Reason.CERTIFICATE_PROFILE),
        ("extended usage", Reason.CERTIFICATE_PROFILE),
    ]
    for needle, reason in table:
        if needle in low:
            return reason
    return Reason.UNSUPPORTED


class _PolicyAdapter:
    """Our identity policy in sigstore-python's ``VerificationPolicy`` shape; remembers the signer."""

    def __init__(self, policy: IdentityPolicy) -> None:
        self.policy = policy
        self.signer: Signer | None = None

    def verify(self, cert: x509.Certificate) -> None:
        self.signer = self.policy.check(cert)


# sigstore-python Verifiers by (trust root object, intoto): building one sets up its key rings, and a
# Verifier keeps no state between verifications, so one per root is reused (as a long-lived client would).
_VERIFIERS: dict[tuple[int, bool], tuple[TrustRoot, Any]] = {}


def _sigstore_verifier(trust: TrustRoot, intoto: bool) -> Any:
    key = (id(trust), intoto)
    hit = _VERIFIERS.get(key)
    if hit is not None and hit[0] is trust:
        return hit[1]
    from sigstore.verify import Verifier

    root = trust.sigstore_root()
    verifier = (
        Verifier(trusted_root=root) if not intoto else _intoto_verifier_class()(trusted_root=root)
    )
    if len(_VERIFIERS) > 64:
        _VERIFIERS.clear()
    _VERIFIERS[key] = (trust, verifier)
    return verifier


def _intoto_verifier_class() -> Any:
    """A sigstore-python Verifier that accepts an intoto/0.0.2 entry's integrated time as a time source.

    sigstore-python 4.5 refuses it ("Integrated time only supported for dsse/hashedrekord 0.0.1") although the
    SET covers it like any other kind; its body is checked by us (``tlog.check_dsse_entry``).
    """
    from sigstore._internal.timestamp import TimestampSource, TimestampVerificationResult
    from sigstore.errors import VerificationError
    from sigstore.verify import Verifier

    class IntotoVerifier(Verifier):
        def _establish_time(self, bundle: Bundle) -> list[TimestampVerificationResult]:
            times: list[TimestampVerificationResult] = []
            if bundle.verification_material.timestamp_verification_data:
                if not self._trusted_root.get_timestamp_authorities():
                    raise VerificationError(
                        "bundle has a signed timestamp but the trusted root has no TSA"
                    )
                times.extend(self._verify_timestamp_authority(bundle))
            inner = bundle.log_entry._inner
            if inner.integrated_time and inner.inclusion_promise:
                times.append(
                    TimestampVerificationResult(
                        source=TimestampSource.TRANSPARENCY_SERVICE,
                        time=dt.datetime.fromtimestamp(inner.integrated_time, tz=dt.UTC),
                    )
                )
            return times

    return IntotoVerifier


class _SigstoreApi(NamedTuple):
    bundle: type[Bundle]
    error: type[SigstoreError]
    hashed: type[Hashed]
    hash_algorithm: type[HashAlgorithm]


@functools.cache
def _sigstore_api() -> _SigstoreApi:
    """sigstore-python's names, imported on first use (not at start-up) and once: an import statement costs
    about a microsecond per bundle."""
    from sigstore.errors import Error
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore_models.common.v1 import HashAlgorithm

    return _SigstoreApi(Bundle, Error, Hashed, HashAlgorithm)


def _verify_keyless(
    p: _Parsed,
    raw: bytes | str,
    trust: TrustRoot,
    policy: IdentityPolicy,
    artifact: bytes | None,
    digest: bytes | None,
    statement: dict[str, Any] | None,
) -> BundleResult:
    api = _sigstore_api()
    if p.cert is None:
        raise _fail(Reason.KEY_REQUIRED, "bundle has no certificate")
    entry = p.entries[0]
    intoto = (entry.kind, entry.version) == ("intoto", "0.0.2")
    adapter = _PolicyAdapter(policy)
    try:
        bundle = api.bundle.from_json(raw)
        verifier = _sigstore_verifier(trust, intoto)
        if p.envelope is not None:
            try:
                verifier.verify_dsse(bundle, adapter)
            except api.error as exc:
                # Our check of the intoto/0.0.2 body already ran (step 2); this is the only error left.
                if not (intoto and "Unsupported DSSE log entry type" in str(exc)):
                    raise
        else:
            hashed = api.hashed(algorithm=api.hash_algorithm.SHA2_256, digest=digest or b"")
            verifier.verify_artifact(artifact if artifact is not None else hashed, bundle, adapter)
    except VerificationFailure:
        raise
    except Exception as exc:  # sigstore-python raises its errors, pydantic and ValueError alike
        if _delegated(p):
            # Step 2 was left to sigstore-python; run it now so that the failure keeps our finer reason
            # (which material does not match) and the order of the checks stays as documented above.
            _check_materials(p, p.cert, artifact, digest, key_mode=False)
        raise _fail(_sigstore_reason(exc), " ".join(str(exc).split())[:400]) from exc
    if adapter.signer is None:
        raise _fail(Reason.IDENTITY_MISMATCH, "the identity policy was not evaluated")

    # Ours: the CA (and its validity window in the trusted root) must cover each verified signing time.
    times = verify_timestamps(p.timestamps, p.signed_bytes(), trust) if p.timestamps else []
    if entry.integrated_time is not None and entry.set is not None:
        times.append(dt.datetime.fromtimestamp(entry.integrated_time, tz=dt.UTC))
    for at in times:
        trust.issuer_valid_at(p.cert, at, p.cert_der)
    return BundleResult(
        signer=adapter.signer,
        signed_at=min(times) if times else None,
        payload_type=p.envelope.payload_type if p.envelope else None,
        payload=p.envelope.payload if p.envelope else None,
        statement=statement,
        log_index=entry.log_index,
        trust_root=trust.name,
    )
