"""SBOMs inside in-toto statements: statement v0.1 / v1, SPDX and CycloneDX predicate types, cosign wrappers.

Pure functions of already *verified* payload bytes (the DSSE signature is checked by ``verifier.sigstore``
before anything here runs). Every failure is an :class:`AttestationProblem` with a stable rule id, so the
check can report it as a finding and the policy can deny.

Accepted shapes of the predicate, as real tools write them:

- the SBOM object itself (cosign >= 2, Trivy, syft, GitHub ``attest-sbom``);
- cosign < 2's wrapper ``{"Data": <SBOM object or JSON text>, "Timestamp": "..."}``;
- SPDX tag-value carried as a JSON string (``cosign attest --type spdx`` with a tag-value file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier._internal.text import human_size, parse_json
from verifier.errors import InputError
from verifier.sbom.read import (
    CYCLONEDX,
    MAX_SBOM_BYTES,
    SPDX,
    LoadedSbom,
    load_sbom,
    summarize_json,
)

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")

SPDX_PREDICATES = frozenset(
    {
        "https://spdx.dev/Document",
        "https://spdx.dev/Document/v2.2",
        "https://spdx.dev/Document/v2.3",
        "https://spdx.dev/Document/v3",
        "https://spdx.dev/Document/v3.0",
    }
)
CYCLONEDX_PREDICATES = frozenset(
    {
        "https://cyclonedx.org/bom",
        "https://cyclonedx.org/bom/v1.4",
        "https://cyclonedx.org/bom/v1.5",
        "https://cyclonedx.org/bom/v1.6",
        "https://cyclonedx.org/bom/v1.7",
    }
)
# cosign's --type shorthands, as they appear in legacy .att ``predicateType`` annotations of old cosign.
_SHORTHANDS = {"spdx": SPDX, "spdxjson": SPDX, "cyclonedx": CYCLONEDX}


def predicate_format(predicate_type: str | None) -> str | None:
    """``spdx`` / ``cyclonedx`` for an SBOM predicate type (or cosign shorthand), else None."""
    if predicate_type is None:
        return None
    if predicate_type in SPDX_PREDICATES:
        return SPDX
    if predicate_type in CYCLONEDX_PREDICATES:
        return CYCLONEDX
    return _SHORTHANDS.get(predicate_type)


class AttestationProblem(Exception):  # noqa: N818 - an outcome with a rule id, not a crash
    """An attestation that cannot count as an SBOM for the image. ``rule`` is a stable finding id."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True, slots=True)
class SbomStatement:
    """A statement whose subject names the image and whose predicate is a readable SBOM."""

    statement_type: str
    predicate_type: str
    subject_digests: tuple[str, ...]
    sbom: LoadedSbom
    wrapped: bool  # cosign < 2 {"Data", "Timestamp"} wrapper
    wrapper_timestamp: str | None
    text: str | None = (
        None  # the SBOM as text when the predicate carried text (tag-value, XML, JSON text)
    )


def parse_statement(
    payload_type: str, payload: bytes, name: str, *, max_bytes: int = MAX_SBOM_BYTES
) -> dict[str, Any]:
    """The in-toto statement of a DSSE payload, bounded: size first, then ``json.loads`` (nesting capped)."""
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise AttestationProblem(
            "payload-type", f"DSSE payloadType is {payload_type!r}, not {INTOTO_PAYLOAD_TYPE}"
        )
    if len(payload) > max_bytes:
        raise AttestationProblem(
            "sbom-too-large",
            f"attestation payload is {human_size(len(payload))}, over the limit "
            f"of {human_size(max_bytes)}",
        )
    try:
        statement = parse_json(payload, name)
    except InputError as exc:
        raise AttestationProblem("payload-invalid", f"attestation payload {exc.problem}") from None
    if not isinstance(statement, dict):
        raise AttestationProblem("payload-invalid", "attestation payload is not a JSON object")
    kind = statement.get("_type")
    if kind not in STATEMENT_TYPES:
        raise AttestationProblem(
            "payload-invalid",
            f"payload _type is {str(kind)[:80]!r}, not an in-toto Statement v0.1 or v1",
        )
    if not isinstance(statement.get("subject"), list) or not statement["subject"]:
        raise AttestationProblem("payload-invalid", "in-toto statement has no subject")
    if not isinstance(statement.get("predicateType"), str):
        raise AttestationProblem("payload-invalid", "in-toto statement has no predicateType")
    return statement


def subject_digests(statement: dict[str, Any]) -> tuple[str, ...]:
    """``sha256:<hex>`` of every subject (lower-cased; other algorithms are ignored)."""
    found = []
    for subject in statement.get("subject") or []:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        value = digest.get("sha256") if isinstance(digest, dict) else None
        if isinstance(value, str):
            found.append("sha256:" + value.lower())
    return tuple(found)


def read_sbom_statement(
    statement: dict[str, Any], image_digest: str, name: str, *, max_bytes: int = MAX_SBOM_BYTES
) -> SbomStatement:
    """Check the subject against the image *manifest* digest and read the SBOM predicate.

    Raises :class:`AttestationProblem`: ``subject-mismatch``, ``predicate-unsupported``,
    ``sbom-unreadable``, ``sbom-too-large``, ``predicate-mismatch``.
    """
    predicate_type = str(statement.get("predicateType"))
    fmt = predicate_format(predicate_type)
    if fmt is None:
        raise AttestationProblem(
            "predicate-unsupported",
            f"predicateType {predicate_type[:120]!r} is not an SPDX or CycloneDX SBOM",
        )
    digests = subject_digests(statement)
    if image_digest.lower() not in digests:
        named = ", ".join(d[:19] + "…" for d in digests) or "no sha256 digest"
        raise AttestationProblem(
            "subject-mismatch",
            f"statement subject ({named}) does not name the image manifest digest {image_digest}",
        )
    predicate = statement.get("predicate")
    text: str | None = None
    wrapped = False
    timestamp: str | None = None
    if (
        isinstance(predicate, dict)
        and "Data" in predicate
        and set(predicate) <= {"Data", "Timestamp"}
    ):
        wrapped = True
        ts = predicate.get("Timestamp")
        timestamp = ts if isinstance(ts, str) and ts else None
        predicate = predicate["Data"]
    try:
        if isinstance(predicate, str):
            if len(predicate) > max_bytes:
                raise AttestationProblem(
                    "sbom-too-large", f"SBOM text is {human_size(len(predicate))}, over the limit"
                )
            loaded = load_sbom(predicate, name, max_bytes=max_bytes)
            text = predicate
        elif isinstance(predicate, dict):
            loaded = LoadedSbom(summarize_json(predicate, name), predicate)
        else:
            raise AttestationProblem(
                "sbom-unreadable",
                f"predicate is {type(predicate).__name__}, not an SBOM object or text",
            )
    except InputError as exc:
        raise AttestationProblem(
            "sbom-unreadable", f"SBOM in the attestation: {exc.problem}"
        ) from None
    if loaded.summary.format != fmt:
        raise AttestationProblem(
            "predicate-mismatch",
            f"predicateType {predicate_type} says {fmt}, but the predicate is a "
            f"{loaded.summary.format} document",
        )
    return SbomStatement(
        statement_type=str(statement["_type"]),
        predicate_type=predicate_type,
        subject_digests=digests,
        sbom=loaded,
        wrapped=wrapped,
        wrapper_timestamp=timestamp,
        text=text,
    )
