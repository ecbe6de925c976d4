"""Why a signature did not verify: one stable, kebab-case reason per failure class.

Reasons double as finding rule ids of the ``signature`` check (each has an anchor in docs/checks/signature.md).
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Failure classes. Values never change."""

    BUNDLE_MALFORMED = "bundle-malformed"
    CERTIFICATE_CHAIN_INVALID = "certificate-chain-invalid"
    CERTIFICATE_NOT_VALID_AT_SIGNING_TIME = "certificate-not-valid-at-signing-time"
    CERTIFICATE_PROFILE = "certificate-profile-invalid"
    SCT_INVALID = "sct-invalid"
    TLOG_ENTRY_MISSING = "tlog-entry-missing"
    TLOG_SET_INVALID = "tlog-set-invalid"
    TLOG_INCLUSION_PROOF_INVALID = "tlog-inclusion-proof-invalid"
    TLOG_CHECKPOINT_INVALID = "tlog-checkpoint-invalid"
    TLOG_ENTRY_MISMATCH = "tlog-entry-mismatch"
    TLOG_KEY_UNKNOWN = "tlog-key-unknown"
    TIMESTAMP_INVALID = "timestamp-invalid"
    SIGNATURE_INVALID = "signature-invalid"
    ARTIFACT_MISMATCH = "artifact-mismatch"
    PAYLOAD_INVALID = "payload-invalid"
    IDENTITY_MISMATCH = "identity-mismatch"
    ISSUER_MISMATCH = "issuer-mismatch"
    CLAIM_MISMATCH = "claim-mismatch"
    KEY_REQUIRED = "key-required"
    KEY_MISMATCH = "key-mismatch"
    UNSUPPORTED = "unsupported"


class VerificationFailure(Exception):  # noqa: N818 - a result, not a bug: named like sigstore's
    """A signature, bundle or attestation did not verify. ``reason`` says which class of failure."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
