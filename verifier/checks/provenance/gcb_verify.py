"""Verify Google Cloud Build provenance as ``gcloud artifacts docker images describe --show-provenance`` prints it.

The JSON holds ``image_summary`` (digest, fully qualified digest) and ``provenance_summary.provenance[]``, each with
a DSSE ``envelope``, its ``kind`` and ``resourceUri``, and the same statement as text (``build.intotoStatement``
for SLSA v0.1, ``build.inTotoSlsaProvenanceV1`` for v1). Steps, as slsa-verifier does them (the first failing
step names the problem):

1. the JSON parses and lists at least one provenance (``envelope-invalid``);
2. some envelope has a signature that verifies with the pinned GCB key its key id names
   (``gcb_keys/SOURCES.md``): regional ``builtByGCB`` keys sign SHA-256 of the payload, the global PAE keys sign
   the DSSE PAE (``signature-invalid`` when none does);
3. that provenance's ``kind`` is ``BUILD`` (``metadata-invalid``) and its text statement equals the signed one
   (``statement-mismatch``; ``metadata.buildInvocationId`` is left out of the comparison, as upstream does);
4. the image summary and ``resourceUri`` name the gated digest (``summary-mismatch``, checked by the check with
   :data:`GcloudContext`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes

from verifier.checks.provenance.statement import StatementError
from verifier.sigstore.keys import (
    PublicKey,
    load_pem_public_key,
    verify_prehashed,
    verify_signature,
)

KEY_DIR = Path(__file__).with_name("gcb_keys")
_REGIONAL = re.compile(
    r"\Aprojects/verified-builder/locations/([a-z0-9-]+)/keyRings/attestor/cryptoKeys/builtByGCB/"
    r"cryptoKeyVersions/1\Z"
)
PAE_KEY_IDS = {
    "projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/provenanceSigner/"
    "cryptoKeyVersions/1": "global-pae-provenanceSigner_1",
    "projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/google-hosted-worker/"
    "cryptoKeyVersions/1": "global-pae-google-hosted-worker_1",
}
INTOTO = "application/vnd.in-toto+json"
MAX_GCLOUD_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class GcloudContext:
    """What the gcloud JSON says besides the statement, for the digest binding (step 4)."""

    summary_digest: str
    fully_qualified_digest: str
    resource_uri: str


@functools.lru_cache(maxsize=1)
def pinned_gcb_keys() -> dict[str, PublicKey]:
    """Key file stem -> public key, for every pinned GCB key."""
    return {
        path.stem: load_pem_public_key(path.read_bytes()) for path in sorted(KEY_DIR.glob("*.key"))
    }


def _fail(rule: str, message: str) -> StatementError:
    return StatementError(rule, message)


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    text = value.strip()
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pae(payload_type: str, payload: bytes) -> bytes:
    from verifier.sigstore.dsse import pae

    return pae(payload_type, payload)


def _verify_envelope(env: Any, keys: Mapping[str, PublicKey]) -> tuple[bytes, str] | None:
    """(payload, key name) when one signature verifies, else None."""
    if not isinstance(env, dict) or env.get("payloadType") != INTOTO:
        return None
    try:
        payload = _b64(env.get("payload"))
    except (ValueError, binascii.Error):
        return None
    sigs = env.get("signatures")
    if not isinstance(sigs, list):
        return None
    digest = hashlib.sha256(payload).digest()
    for sig in sigs:
        if not isinstance(sig, dict):
            continue
        keyid = sig.get("keyid")
        try:
            raw = _b64(sig.get("sig"))
        except (ValueError, binascii.Error):
            continue
        if not isinstance(keyid, str):
            continue
        if keyid in PAE_KEY_IDS:
            key = keys.get(PAE_KEY_IDS[keyid])
            if key is not None and verify_signature(key, raw, _pae(INTOTO, payload)):
                return payload, PAE_KEY_IDS[keyid]
            continue
        match = _REGIONAL.match(keyid)
        if match is None:
            continue
        key = keys.get(match.group(1))
        if key is not None and verify_prehashed(key, raw, digest, hashes.SHA256()):
            return payload, match.group(1)
    return None


def _without_invocation_id(predicate: Any) -> Any:
    if isinstance(predicate, dict) and isinstance(predicate.get("metadata"), dict):
        meta = {k: v for k, v in predicate["metadata"].items() if k != "buildInvocationId"}
        return {**predicate, "metadata": meta}
    return predicate


def _text_matches(build: Any, statement: dict[str, Any]) -> bool:
    if not isinstance(build, dict):
        return False
    text = build.get("inTotoSlsaProvenanceV1") or build.get("intotoStatement")
    if not isinstance(text, dict):
        return False
    key = "slsaProvenance" if "slsaProvenance" in text else "predicate"
    for field in ("_type", "predicateType", "subject"):
        if text.get(field) != statement.get(field):
            return False
    return bool(_without_invocation_id(text.get(key)) == _without_invocation_id(statement.get(key)))


def verify_gcloud(
    raw: bytes, keys: Mapping[str, PublicKey]
) -> tuple[bytes, dict[str, Any], GcloudContext]:
    """Steps 1-3: the verified statement payload, the signer fact, and the context for step 4.

    Raises StatementError with the rule of the first failing step.
    """
    if len(raw) > MAX_GCLOUD_BYTES:
        raise _fail(
            "envelope-invalid", f"gcloud provenance is larger than {MAX_GCLOUD_BYTES} bytes"
        )
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _fail("envelope-invalid", f"gcloud provenance is not JSON: {exc}") from None
    summary = doc.get("provenance_summary") if isinstance(doc, dict) else None
    provs = summary.get("provenance") if isinstance(summary, dict) else None
    if not isinstance(provs, list) or not provs:
        raise _fail("envelope-invalid", "gcloud provenance lists no provenance")
    for prov in provs:
        if not isinstance(prov, dict):
            continue
        verified = _verify_envelope(prov.get("envelope"), keys)
        if verified is None:
            continue
        payload, key_name = verified
        if prov.get("kind") != "BUILD":
            raise _fail("metadata-invalid", f"provenance kind is {prov.get('kind')!r}, not 'BUILD'")
        try:
            statement = json.loads(payload)
        except ValueError as exc:
            raise _fail("envelope-invalid", f"signed payload is not JSON: {exc}") from None
        if not isinstance(statement, dict) or not _text_matches(prov.get("build"), statement):
            raise _fail(
                "statement-mismatch",
                "the text statement in build differs from the signed statement",
            )
        image = doc.get("image_summary") if isinstance(doc.get("image_summary"), dict) else {}
        context = GcloudContext(
            summary_digest=str(image.get("digest", "")),
            fully_qualified_digest=str(image.get("fully_qualified_digest", "")),
            resource_uri=str(prov.get("resourceUri", "")),
        )
        return payload, {"key": f"gcb:{key_name}"}, context
    raise _fail(
        "signature-invalid", "no provenance signature verifies with a pinned Google Cloud Build key"
    )


def summary_problems(context: GcloudContext, digest: str) -> list[str]:
    """Step 4: the image summary and the resourceUri must name ``digest``."""
    problems = []
    if context.summary_digest != digest or not context.fully_qualified_digest.endswith(digest):
        problems.append(f"image summary names {context.summary_digest or '(none)'}, not {digest}")
    if not context.resource_uri.endswith("@" + digest):
        problems.append(f"resourceUri {context.resource_uri or '(none)'} is not for {digest}")
    return problems
