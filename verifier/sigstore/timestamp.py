"""RFC 3161 signed timestamps of a bundle, verified against the timestamp authorities of a trusted root.

A timestamp vouches that the bundle's signature existed at its ``genTime``: its message imprint is the hash of
the signature bytes (the DSSE signature, or the message signature), and it is signed by a TSA whose chain is in
the trusted root and whose ``validFor`` window covers ``genTime``. rfc3161-client (a sigstore-python
dependency) checks the CMS signature, the TSA certificate chain and the imprint; the window is ours.

Every timestamp a bundle carries must verify: one that does not is input that is not what it claims to be,
never silently skipped, also when another time source (a log entry) would suffice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from verifier.sigstore import tlog
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.trust import TrustRoot

# sigstore-python's limit (``MAX_ALLOWED_TIMESTAMP``): more is not a real bundle.
MAX_TIMESTAMPS = 32


def timestamps_of(verification_material: dict[str, Any]) -> list[bytes]:
    """The DER signed timestamps of ``verificationMaterial`` (bundle-malformed on bad structure)."""
    data = verification_material.get("timestampVerificationData")
    if data is None:
        return []
    items = tlog.obj(data, "timestampVerificationData").get("rfc3161Timestamps") or []
    if not isinstance(items, list):
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, "rfc3161Timestamps is not a list")
    if len(items) > MAX_TIMESTAMPS:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, f"more than {MAX_TIMESTAMPS} RFC 3161 timestamps"
        )
    raws = []
    for item in items:
        text = tlog.obj(item, "rfc3161Timestamps[]").get("signedTimestamp")
        if isinstance(text, str):
            # `base64` wraps lines: protobuf's JSON reader (sigstore-go, sigstore-python) accepts that here.
            text = "".join(text.split())
        raws.append(tlog.b64decode(text, "rfc3161Timestamps[].signedTimestamp"))
    if len(set(raws)) != len(raws):
        raise VerificationFailure(Reason.TIMESTAMP_INVALID, "duplicate RFC 3161 timestamp")
    return raws


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def verify_timestamp(raw: bytes, signature: bytes, trust: TrustRoot) -> dt.datetime:
    """The ``genTime`` of one signed timestamp over ``signature``; VerificationFailure(timestamp-invalid)
    unless a TSA of ``trust`` signed it and that TSA's window in the root covers the time."""
    from rfc3161_client import VerifierBuilder, decode_timestamp_response
    from rfc3161_client.errors import VerificationError

    try:
        response = decode_timestamp_response(raw)
        at = _aware(response.tst_info.gen_time)
    except ValueError as exc:
        raise VerificationFailure(
            Reason.TIMESTAMP_INVALID, "RFC 3161 timestamp is malformed"
        ) from exc
    if not trust.tsas:
        raise VerificationFailure(
            Reason.TIMESTAMP_INVALID,
            f"bundle has an RFC 3161 timestamp but the trusted root {trust.name} has no "
            "timestamp authority",
        )
    outside_window = False
    for tsa in trust.tsas:
        if len(tsa.chain) < 2:
            continue  # a TSA entry needs its signing certificate and a root
        builder = VerifierBuilder().tsa_certificate(tsa.chain[0])
        for cert in tsa.chain[1:-1]:
            builder = builder.add_intermediate_certificate(cert)
        builder = builder.add_root_certificate(tsa.chain[-1])
        try:
            builder.build().verify_message(response, signature)
        except (VerificationError, ValueError):
            continue
        if tsa.valid.contains(at):
            return at
        outside_window = True
    if outside_window:
        raise VerificationFailure(
            Reason.TIMESTAMP_INVALID,
            f"RFC 3161 timestamp {at:%Y-%m-%dT%H:%M:%SZ} is outside the validity window of its "
            f"timestamp authority in the trusted root {trust.name}",
        )
    raise VerificationFailure(
        Reason.TIMESTAMP_INVALID,
        "RFC 3161 timestamp does not verify over the signature with any timestamp authority of "
        f"the trusted root {trust.name}",
    )


def verify_timestamps(
    raws: Sequence[bytes], signature: bytes, trust: TrustRoot
) -> list[dt.datetime]:
    """Verify every timestamp (see :func:`verify_timestamp`); their times, in the bundle's order."""
    return [verify_timestamp(raw, signature, trust) for raw in raws]
