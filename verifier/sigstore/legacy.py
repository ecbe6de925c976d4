"""Legacy cosign signatures: ``sha256-<hex>.sig`` layers (simplesigning) and ``.att`` layers (DSSE).

The core is generic over "signed bytes + signature + layer annotations" (:func:`verify_signed`), so the
simplesigning payload of a ``.sig`` layer and the DSSE PAE of an ``.att`` layer share it:

keyless (``dev.sigstore.cosign/certificate`` annotation, no key given):
  signature with the certificate's key; Rekor SET from ``dev.sigstore.cosign/bundle`` with the log key whose id
  matches and whose validity covers the integrated time; the entry body must record exactly this payload
  hash, signature and certificate (CVE-2022-36056 class); certificate chain to a Fulcio CA of the trust root
  valid at the integrated time (not now); embedded SCT; then the identity policy.
key-based (``key`` given): signature with the key; if a Rekor bundle annotation is present, SET and body
  consistency as above (required with ``require_tlog``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from verifier.sigstore import dsse, tlog
from verifier.sigstore.bundle import check_fulcio_profile
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.identity import IdentityPolicy, Signer
from verifier.sigstore.keys import PublicKey, key_id, verify_signature
from verifier.sigstore.sct import verify_embedded_sct
from verifier.sigstore.trust import TrustRoot

SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
COSIGN_SIGNATURE_TYPE = "cosign container image signature"

ANN_SIGNATURE = "dev.cosignproject.cosign/signature"
ANN_CERTIFICATE = "dev.sigstore.cosign/certificate"
ANN_CHAIN = "dev.sigstore.cosign/chain"
ANN_BUNDLE = "dev.sigstore.cosign/bundle"
ANN_RFC3161 = "dev.sigstore.cosign/rfc3161timestamp"


@dataclass(frozen=True)
class VerifiedSignature:
    """A verified legacy signature: who, and when the transparency log saw it (None without a log entry)."""

    signer: Signer
    integrated_time: dt.datetime | None
    log_index: int | None


def _pem_certs(text: str, what: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, f"{what} annotation is not PEM certificates"
        ) from exc


def _b64_annotation(annotations: Mapping[str, str], name: str) -> bytes:
    value = annotations.get(name)
    if not value:
        raise VerificationFailure(Reason.SIGNATURE_INVALID, f"layer has no {name} annotation")
    try:
        # Some signers (cosign with RSA keys) wrap the base64 text; whitespace carries no data.
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, f"{name} annotation is not base64"
        ) from exc


@dataclass(frozen=True)
class SignedContent:
    """What was signed. ``digest_body`` checks a hashedrekord body (simplesigning); ``envelope`` a DSSE body."""

    signed: bytes
    signatures: tuple[bytes, ...]
    envelope: dsse.Envelope | None = None


def _check_entry(
    entry: tlog.LogEntry,
    content: SignedContent,
    signature: bytes,
    verifier: x509.Certificate | PublicKey,
) -> None:
    if content.envelope is None:
        tlog.check_hashedrekord(entry, hashlib.sha256(content.signed).digest(), signature, verifier)
        return
    env = content.envelope
    if (entry.kind, entry.version) == ("intoto", "0.0.1"):
        _check_intoto_v001(entry, env, verifier)
    elif entry.kind == "hashedrekord":
        tlog.check_hashedrekord(entry, hashlib.sha256(env.pae()).digest(), signature, verifier)
    else:
        tlog.check_dsse_entry(entry, env.payload, list(env.signatures), verifier)


def _check_intoto_v001(
    entry: tlog.LogEntry, env: dsse.Envelope, verifier: x509.Certificate | PublicKey
) -> None:
    """intoto/0.0.1 (cosign attest before v2): payload hash and the verifier; the envelope hash is over
    non-canonical JSON and cannot be recomputed."""
    body = entry.body_json()
    spec = tlog.obj(body.get("spec"), "intoto body spec")
    content = tlog.obj(spec.get("content"), "intoto body content")
    ph = tlog.obj(content.get("payloadHash"), "intoto body payloadHash")
    if (
        ph.get("algorithm") != "sha256"
        or ph.get("value") != hashlib.sha256(env.payload).hexdigest()
    ):
        raise VerificationFailure(
            Reason.TLOG_ENTRY_MISMATCH, "transparency log entry records another payload"
        )
    pem = tlog.b64decode(spec.get("publicKey"), "intoto publicKey")
    if not tlog._verifier_matches(pem, verifier):
        raise VerificationFailure(
            Reason.TLOG_ENTRY_MISMATCH, "transparency log entry records another certificate or key"
        )


@dataclass(frozen=True)
class PrivatePki:
    """Keyless signatures from a private PKI without Rekor or CT (containers/image ``pki`` policy, cosign
    ``--certificate-chain --insecure-ignore-tlog --insecure-ignore-sct``): the chain is checked at ``at``."""

    at: dt.datetime


def verify_signed(
    content: SignedContent,
    annotations: Mapping[str, str],
    *,
    trust: TrustRoot,
    policy: IdentityPolicy | None = None,
    key: PublicKey | None = None,
    require_tlog: bool = False,
    private_pki: PrivatePki | None = None,
) -> VerifiedSignature:
    """The generic core: any of ``content.signatures`` over ``content.signed``, plus the annotations' evidence.

    Raises VerificationFailure with the first failing reason.
    """
    cert_pem = annotations.get(ANN_CERTIFICATE)
    entry = (
        tlog.entry_from_cosign_annotation(annotations[ANN_BUNDLE])
        if annotations.get(ANN_BUNDLE)
        else None
    )

    if key is not None:
        good = [s for s in content.signatures if verify_signature(key, s, content.signed)]
        if not good:
            raise VerificationFailure(
                Reason.KEY_MISMATCH, "signature does not verify with the given key"
            )
        signer = Signer(key="sha256:" + key_id(key).hex())
        if entry is None:
            if require_tlog:
                raise VerificationFailure(
                    Reason.TLOG_ENTRY_MISSING, "no transparency log entry (Rekor bundle)"
                )
            return VerifiedSignature(signer, None, None)
        _check_entry(entry, content, good[0], key)
        at = tlog.verify_set(entry, trust)
        return VerifiedSignature(signer, at, entry.log_index)

    if not cert_pem:
        raise VerificationFailure(
            Reason.KEY_REQUIRED,
            "signature has no certificate (key-signed): a --key is needed to verify it",
        )
    certs = _pem_certs(cert_pem, ANN_CERTIFICATE)
    if len(certs) != 1:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, f"{ANN_CERTIFICATE} must hold exactly one certificate"
        )
    cert = certs[0]
    chain = _pem_certs(annotations[ANN_CHAIN], ANN_CHAIN) if annotations.get(ANN_CHAIN) else []
    cert_key = cert.public_key()
    good = [s for s in content.signatures if verify_signature(cert_key, s, content.signed)]  # type: ignore[arg-type]
    if not good:
        raise VerificationFailure(
            Reason.SIGNATURE_INVALID, "signature does not verify with the certificate's key"
        )
    if private_pki is not None:
        trust.verify_chain(cert, chain, private_pki.at)
        return VerifiedSignature((policy or IdentityPolicy()).check(cert), None, None)
    if entry is None:
        raise VerificationFailure(
            Reason.TLOG_ENTRY_MISSING,
            "keyless signature without a transparency log entry: no trusted signing time",
        )
    _check_entry(entry, content, good[0], cert)
    at = tlog.verify_set(entry, trust)
    full_chain = trust.verify_chain(cert, chain, at)
    verify_embedded_sct(cert, full_chain[0], trust)
    check_fulcio_profile(cert)
    signer = (policy or IdentityPolicy()).check(cert)
    return VerifiedSignature(signer, at, entry.log_index)


def check_simplesigning(payload: bytes, image_digest: str) -> dict[str, Any]:
    """The simplesigning payload must be a cosign image signature for exactly ``image_digest``."""
    try:
        doc = json.loads(payload)
    except ValueError as exc:
        raise VerificationFailure(
            Reason.PAYLOAD_INVALID, "simplesigning payload is not JSON"
        ) from exc
    critical = doc.get("critical") if isinstance(doc, dict) else None
    if not isinstance(critical, dict):
        raise VerificationFailure(
            Reason.PAYLOAD_INVALID, "simplesigning payload has no 'critical' object"
        )
    if critical.get("type") != COSIGN_SIGNATURE_TYPE:
        raise VerificationFailure(
            Reason.PAYLOAD_INVALID,
            f"critical.type is {critical.get('type')!r}, not {COSIGN_SIGNATURE_TYPE!r}",
        )
    image = critical.get("image")
    signed_digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    if signed_digest != image_digest:
        raise VerificationFailure(
            Reason.ARTIFACT_MISMATCH,
            f"signature is for {signed_digest}, not for the image {image_digest}",
        )
    return dict(doc)


def verify_signature_layer(
    payload: bytes,
    media_type: str,
    annotations: Mapping[str, str],
    image_digest: str,
    *,
    trust: TrustRoot,
    policy: IdentityPolicy | None = None,
    key: PublicKey | None = None,
    require_tlog: bool = False,
    private_pki: PrivatePki | None = None,
) -> VerifiedSignature:
    """A ``.sig`` layer: media type, signature, payload bound to ``image_digest``, then the evidence."""
    if media_type != SIMPLESIGNING_MEDIA_TYPE:
        raise VerificationFailure(
            Reason.PAYLOAD_INVALID,
            f"layer media type {media_type!r} is not {SIMPLESIGNING_MEDIA_TYPE}",
        )
    signature = _b64_annotation(annotations, ANN_SIGNATURE)
    result = verify_signed(
        SignedContent(payload, (signature,)),
        annotations,
        trust=trust,
        policy=policy,
        key=key,
        require_tlog=require_tlog,
        private_pki=private_pki,
    )
    check_simplesigning(payload, image_digest)
    return result


@dataclass(frozen=True)
class VerifiedAttestation:
    """A verified ``.att`` layer: the signer and the in-toto statement (subject already checked)."""

    signature: VerifiedSignature
    statement: dict[str, Any]

    @property
    def predicate_type(self) -> str:
        """The statement's predicateType."""
        return str(self.statement.get("predicateType", ""))


def verify_attestation_layer(
    envelope_bytes: bytes,
    annotations: Mapping[str, str],
    image_digest: str,
    *,
    trust: TrustRoot,
    policy: IdentityPolicy | None = None,
    key: PublicKey | None = None,
    require_tlog: bool = False,
) -> VerifiedAttestation:
    """A ``.att`` layer: DSSE signature over PAE, evidence as for ``.sig``, statement subject = the image."""
    env = dsse.parse_envelope(envelope_bytes)
    result = verify_signed(
        SignedContent(env.pae(), env.signatures, env),
        annotations,
        trust=trust,
        policy=policy,
        key=key,
        require_tlog=require_tlog,
    )
    statement = dsse.parse_statement(env)
    dsse.require_subject(statement, image_digest)
    return VerifiedAttestation(result, statement)
