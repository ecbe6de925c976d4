"""Embedded Signed Certificate Timestamps (RFC 6962 section 3.2) of a Fulcio certificate."""

from __future__ import annotations

import datetime as dt
import struct

from cryptography import x509
from cryptography.x509.certificate_transparency import LogEntryType

from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.keys import verify_signature
from verifier.sigstore.trust import TrustRoot, spki_sha256

_EPOCH = dt.datetime(1970, 1, 1)


def _signed_data(
    sct: x509.certificate_transparency.SignedCertificateTimestamp,
    cert: x509.Certificate,
    issuer: x509.Certificate,
) -> bytes:
    ts = sct.timestamp.replace(tzinfo=None) if sct.timestamp.tzinfo else sct.timestamp
    millis = (ts - _EPOCH) // dt.timedelta(milliseconds=1)
    tbs = cert.tbs_precertificate_bytes
    ext = sct.extension_bytes
    return b"".join(
        [
            struct.pack(
                ">BBQH", 0, 0, millis, 1
            ),  # v1, certificate_timestamp, timestamp, precert_entry
            spki_sha256(issuer),
            len(tbs).to_bytes(3, "big"),
            tbs,
            len(ext).to_bytes(2, "big"),
            ext,
        ]
    )


def verify_embedded_sct(cert: x509.Certificate, issuer: x509.Certificate, trust: TrustRoot) -> None:
    """At least one embedded precertificate SCT must verify with a CT log key of the trust root."""
    try:
        scts = cert.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        ).value
    except x509.ExtensionNotFound:
        raise VerificationFailure(
            Reason.SCT_INVALID, "signing certificate has no embedded SCT"
        ) from None
    problems: list[str] = []
    for sct in scts:
        if sct.entry_type != LogEntryType.PRE_CERTIFICATE:
            problems.append("SCT is not for a precertificate")
            continue
        log = trust.ctlog_key(sct.log_id)
        if log is None:
            problems.append(f"SCT from unknown CT log {sct.log_id.hex()[:16]}…")
            continue
        if verify_signature(log.key, sct.signature, _signed_data(sct, cert, issuer)):
            return
        problems.append(f"SCT signature from CT log {sct.log_id.hex()[:16]}… does not verify")
    raise VerificationFailure(Reason.SCT_INVALID, "; ".join(problems) or "no SCT")
