"""DSSE envelopes (in-toto attestations): parsing, PAE, and the in-toto statement inside."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.tlog import b64decode, obj, strict_json

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
INTOTO_STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
MAX_SIGNATURES = 16


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding: ``DSSEv1 <len> <type> <len> <payload>``."""
    type_bytes = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope: the payload bytes and each signature's raw bytes."""

    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]

    def pae(self) -> bytes:
        """The bytes the signatures are over."""
        return pae(self.payload_type, self.payload)


def parse_envelope(doc: Any) -> Envelope:
    """An envelope from its JSON (``{payloadType, payload, signatures[{sig, keyid}]}``)."""
    if isinstance(doc, bytes | str):
        try:
            doc = json.loads(doc)
        except ValueError as exc:
            raise VerificationFailure(Reason.BUNDLE_MALFORMED, "DSSE envelope is not JSON") from exc
    if not isinstance(doc, dict):
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, "DSSE envelope is not a JSON object")
    payload_type = doc.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, "DSSE envelope has no payloadType")
    sigs = doc.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, "DSSE envelope has no signatures")
    if len(sigs) > MAX_SIGNATURES:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, f"DSSE envelope has over {MAX_SIGNATURES} signatures"
        )
    return Envelope(
        payload_type=payload_type,
        payload=b64decode(doc.get("payload"), "DSSE payload"),
        signatures=tuple(
            b64decode(obj(s, "DSSE signatures[]").get("sig"), "DSSE signature") for s in sigs
        ),
    )


def parse_statement(envelope: Envelope) -> dict[str, Any]:
    """The in-toto statement of an envelope (payload type and ``_type`` are checked)."""
    if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
        raise VerificationFailure(
            Reason.PAYLOAD_INVALID,
            f"DSSE payloadType is {envelope.payload_type!r}, not {INTOTO_PAYLOAD_TYPE}",
        )
    try:
        statement = strict_json(envelope.payload)
    except ValueError as exc:
        raise VerificationFailure(Reason.PAYLOAD_INVALID, "in-toto statement is not JSON") from exc
    if not isinstance(statement, dict) or statement.get("_type") not in INTOTO_STATEMENT_TYPES:
        raise VerificationFailure(Reason.PAYLOAD_INVALID, "payload is not an in-toto statement")
    if not isinstance(statement.get("subject"), list):
        raise VerificationFailure(Reason.PAYLOAD_INVALID, "in-toto statement has no subject list")
    return statement


def subject_digests(statement: dict[str, Any], algorithm: str = "sha256") -> list[str]:
    """Every ``<algorithm>`` digest (lower-case hex) named by the statement's subjects."""
    found: list[str] = []
    for subject in statement.get("subject") or []:
        if isinstance(subject, dict):
            digests = subject.get("digest")
            value = digests.get(algorithm) if isinstance(digests, dict) else None
            if isinstance(value, str):
                found.append(value.lower())
    return found


def require_subject(statement: dict[str, Any], digest: str) -> None:
    """The statement must name ``digest`` (``sha256:<hex>`` or ``<hex>``) among its subjects."""
    algorithm, _, hexval = digest.partition(":") if ":" in digest else ("sha256", ":", digest)
    if hexval.lower() not in subject_digests(statement, algorithm):
        raise VerificationFailure(
            Reason.ARTIFACT_MISMATCH,
            f"in-toto statement subjects do not include {algorithm}:{hexval}",
        )
