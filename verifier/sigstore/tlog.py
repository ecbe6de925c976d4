"""Rekor transparency-log entries: SET (inclusion promise), Merkle inclusion proof, signed checkpoint, and
consistency of the entry body with the materials it vouches for (the CVE-2022-36056 class).

Used for what sigstore-python does not verify: legacy cosign layers (their ``dev.sigstore.cosign/bundle``
annotation carries an SET only) and key-signed bundles.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.keys import (
    PublicKey,
    load_der_public_key,
    load_pem_public_key,
    same_key,
    verify_signature,
)
from verifier.sigstore.trust import LogKey, TrustRoot

MAX_PROOF_HASHES = 64  # a tree of 2^64 leaves needs no more


@dataclass(frozen=True)
class InclusionProof:
    """An RFC 6962 inclusion proof plus the signed checkpoint it is anchored to."""

    log_index: int
    tree_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: str | None


@dataclass(frozen=True)
class LogEntry:
    """One transparency-log entry as carried by a bundle or a legacy cosign annotation.

    ``body_b64`` is the canonicalized body as the bundle spells it (base64); it is decoded (strictly) the
    first time ``body`` is read: a bundle whose entry sigstore-python checks never needs the bytes here.
    """

    log_index: int
    log_id: bytes
    kind: str
    version: str
    body_b64: str
    integrated_time: int | None
    set: bytes | None
    inclusion_proof: InclusionProof | None

    @functools.cached_property
    def body(self) -> bytes:
        """The canonicalized body (VerificationFailure(bundle-malformed) if its base64 is not strict)."""
        return b64decode(self.body_b64, "canonicalizedBody")

    def body_json(self) -> dict[str, Any]:
        """The canonicalized body as JSON (VerificationFailure if it is not)."""
        try:
            doc = json.loads(self.body)
        except (ValueError, RecursionError) as exc:
            raise VerificationFailure(
                Reason.BUNDLE_MALFORMED, "log entry body is not JSON"
            ) from exc
        if not isinstance(doc, dict):
            raise VerificationFailure(
                Reason.BUNDLE_MALFORMED, "log entry body is not a JSON object"
            )
        return doc


def strict_json(raw: bytes | str) -> Any:
    """JSON as sigstore-python reads a bundle (pydantic-core's parser): one reading of the bytes for both of
    us, stricter than :func:`json.loads` (no NaN, no lone surrogates, no byte-order mark or UTF-16, nesting
    limit) and faster. ValueError on anything else."""
    return _json_parser()(raw, allow_inf_nan=False)


@functools.cache
def _json_parser() -> Callable[..., Any]:
    # Imported on first use, not at start-up (tests/integration/test_cli_startup.py), and once.
    from pydantic_core import from_json

    return from_json


def b64decode(value: Any, what: str) -> bytes:
    """Strict base64 (standard alphabet, padding required) or VerificationFailure(bundle-malformed).

    msgspec's decoder: it accepts what ``binascii.a2b_base64(strict_mode=True)`` accepts, less padding after
    a complete group (``QUJD=``, not base64 by RFC 4648), and is several times faster on a certificate or a
    payload (tests/unit/sigstore/test_base64.py).
    """
    if not isinstance(value, str):
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, f"{what}: expected a base64 string")
    try:
        return msgspec.convert(value, bytes)
    except ValueError as exc:
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, f"{what}: invalid base64") from exc


def obj(value: Any, what: str) -> dict[str, Any]:
    """``value`` as a JSON object: None (absent) gives ``{}``; any other non-object is bundle-malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, f"{what}: expected a JSON object")
    return value


def _uint(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, f"{what}: expected an integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, f"{what}: expected an integer") from exc
    if number < 0 or number >= 2**63:
        raise VerificationFailure(Reason.BUNDLE_MALFORMED, f"{what}: {number} is out of range")
    return number


# 9999-12-31T23:59:59Z: the last second a datetime can hold (a later integratedTime cannot be compared).
MAX_UNIX_TIME = 253_402_300_799


def _unix_time(value: Any, what: str) -> int:
    number = _uint(value, what)
    if number > MAX_UNIX_TIME:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, f"{what}: {number} is after the year 9999"
        )
    return number


_o = obj


def _body_text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, "tlogEntries[].canonicalizedBody: expected a base64 string"
        )
    return value


def _hashes(values: list[Any]) -> tuple[bytes, ...]:
    """The inclusion proof's hashes (strict base64, as :func:`b64decode`), decoded in one call."""
    try:
        return msgspec.convert(values, tuple[bytes, ...])
    except ValueError as exc:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, "inclusionProof.hashes[]: invalid base64"
        ) from exc


def entry_from_bundle_json(obj: Any) -> LogEntry:
    """A ``tlogEntries[i]`` object of a Sigstore bundle (protobuf JSON)."""
    obj = _o(obj, "tlogEntries[]")
    kv = _o(obj.get("kindVersion"), "tlogEntries[].kindVersion")
    proof_obj = obj.get("inclusionProof")
    proof = None
    if proof_obj is not None:
        proof_obj = _o(proof_obj, "inclusionProof")
        hashes = proof_obj.get("hashes") or []
        if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
            raise VerificationFailure(
                Reason.BUNDLE_MALFORMED, "inclusionProof.hashes is not a short list"
            )
        checkpoint = _o(proof_obj.get("checkpoint"), "inclusionProof.checkpoint").get("envelope")
        proof = InclusionProof(
            log_index=_uint(proof_obj.get("logIndex"), "inclusionProof.logIndex"),
            tree_size=_uint(proof_obj.get("treeSize"), "inclusionProof.treeSize"),
            root_hash=b64decode(proof_obj.get("rootHash"), "inclusionProof.rootHash"),
            hashes=_hashes(hashes),
            checkpoint=checkpoint if isinstance(checkpoint, str) else None,
        )
    promise = obj.get("inclusionPromise")
    integrated = obj.get("integratedTime")
    return LogEntry(
        log_index=_uint(obj.get("logIndex"), "tlogEntries[].logIndex"),
        log_id=b64decode(_o(obj.get("logId"), "logId").get("keyId"), "tlogEntries[].logId.keyId"),
        kind=str(kv.get("kind", "")),
        version=str(kv.get("version", "")),
        body_b64=_body_text(obj.get("canonicalizedBody")),
        integrated_time=_unix_time(integrated, "integratedTime")
        if integrated not in (None, "", "0", 0)
        else None,
        set=(
            b64decode(
                _o(promise, "inclusionPromise").get("signedEntryTimestamp"),
                "inclusionPromise.signedEntryTimestamp",
            )
            if promise is not None
            else None
        ),
        inclusion_proof=proof,
    )


def entry_from_cosign_annotation(text: str) -> LogEntry:
    """The ``dev.sigstore.cosign/bundle`` annotation of a legacy cosign layer:
    ``{"SignedEntryTimestamp": b64, "Payload": {"body": b64, "integratedTime", "logIndex", "logID": hex}}``."""
    try:
        doc = json.loads(text)
        payload = doc["Payload"]
        log_id = bytes.fromhex(payload["logID"])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, f"cosign bundle annotation is malformed: {exc}"
        ) from exc
    body = b64decode(payload.get("body"), "Payload.body")
    try:
        kind_doc = json.loads(body)
        kind, version = str(kind_doc.get("kind", "")), str(kind_doc.get("apiVersion", ""))
    except (ValueError, AttributeError, RecursionError) as exc:
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, "cosign bundle body is not a JSON object"
        ) from exc
    return LogEntry(
        log_index=_uint(payload.get("logIndex"), "Payload.logIndex"),
        log_id=log_id,
        kind=kind,
        version=version,
        body_b64=str(payload["body"]),
        integrated_time=_unix_time(payload.get("integratedTime"), "Payload.integratedTime"),
        set=b64decode(doc.get("SignedEntryTimestamp"), "SignedEntryTimestamp"),
        inclusion_proof=None,
    )


def _log_key_at(entry: LogEntry, trust: TrustRoot) -> LogKey:
    key = trust.tlog_key(entry.log_id)
    if entry.integrated_time is not None:
        at = dt.datetime.fromtimestamp(entry.integrated_time, tz=dt.UTC)
        if not key.valid.contains(at):
            raise VerificationFailure(
                Reason.TLOG_KEY_UNKNOWN,
                f"transparency log key {entry.log_id.hex()[:16]}… was not valid at "
                f"integrated time {at:%Y-%m-%dT%H:%M:%SZ}",
            )
    return key


def verify_set(entry: LogEntry, trust: TrustRoot) -> dt.datetime:
    """Verify the Signed Entry Timestamp; return the integrated time it vouches for.

    SET = signature by the log key over RFC 8785 JSON of {body, integratedTime, logID (hex), logIndex}.
    """
    if entry.set is None or entry.integrated_time is None:
        raise VerificationFailure(
            Reason.TLOG_SET_INVALID, "log entry has no inclusion promise (SET)"
        )
    key = _log_key_at(entry, trust)
    canonical = rfc8785.dumps(
        {
            "body": entry.body_b64,
            "integratedTime": entry.integrated_time,
            "logID": entry.log_id.hex(),
            "logIndex": entry.log_index,
        }
    )
    if not verify_signature(key.key, entry.set, canonical):
        raise VerificationFailure(
            Reason.TLOG_SET_INVALID, "signed entry timestamp does not verify with the log key"
        )
    return dt.datetime.fromtimestamp(entry.integrated_time, tz=dt.UTC)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: tuple[bytes, ...]
) -> bytes:
    """RFC 9162 section 2.1.3.2: the root hash implied by an inclusion proof (ValueError if inconsistent)."""
    if index >= size:
        raise ValueError(f"leaf index {index} is not below tree size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if len(p) != 32:
            raise ValueError("proof hash is not 32 bytes")
        if sn == 0:
            raise ValueError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("inclusion proof is too short")
    return r


_SIG_LINE = re.compile(r"^\u2014 (\S+) (\S+)$")


def verify_checkpoint(text: str, log: LogKey, log_id: bytes) -> tuple[int, bytes]:
    """Verify a signed-note checkpoint from the log; return (tree size, root hash) it commits to."""
    if "\n\n" not in text:
        raise VerificationFailure(
            Reason.TLOG_CHECKPOINT_INVALID, "checkpoint has no signature block"
        )
    note, _, sig_block = text.partition("\n\n")
    note += "\n"
    header = note.split("\n")
    if len(header) < 4 or not header[0] or not header[1] or not header[2]:
        raise VerificationFailure(
            Reason.TLOG_CHECKPOINT_INVALID, "checkpoint header needs origin, size and root hash"
        )
    try:
        size = int(header[1])
        root = base64.b64decode(header[2], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise VerificationFailure(
            Reason.TLOG_CHECKPOINT_INVALID, "checkpoint size or root hash is malformed"
        ) from exc
    found = False
    for line in sig_block.splitlines():
        match = _SIG_LINE.match(line)
        if not match:
            continue
        try:
            raw = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            continue
        if len(raw) < 5 or raw[:4] != log_id[:4]:
            continue
        found = True
        if verify_signature(log.key, raw[4:], note.encode()):
            return size, root
    if found:
        raise VerificationFailure(
            Reason.TLOG_CHECKPOINT_INVALID, "checkpoint signature does not verify"
        )
    raise VerificationFailure(
        Reason.TLOG_CHECKPOINT_INVALID, f"checkpoint has no signature from log {log_id.hex()[:16]}…"
    )


def verify_inclusion(entry: LogEntry, trust: TrustRoot) -> None:
    """Verify the Merkle inclusion proof of ``entry`` and the signed checkpoint that anchors it."""
    proof = entry.inclusion_proof
    if proof is None:
        raise VerificationFailure(
            Reason.TLOG_INCLUSION_PROOF_INVALID, "log entry has no inclusion proof"
        )
    if proof.checkpoint is None:
        raise VerificationFailure(
            Reason.TLOG_CHECKPOINT_INVALID, "inclusion proof has no checkpoint"
        )
    key = _log_key_at(entry, trust)
    leaf = hashlib.sha256(b"\x00" + entry.body).digest()
    try:
        root = root_from_inclusion_proof(proof.log_index, proof.tree_size, leaf, proof.hashes)
    except ValueError as exc:
        raise VerificationFailure(
            Reason.TLOG_INCLUSION_PROOF_INVALID, f"inclusion proof: {exc}"
        ) from exc
    if root != proof.root_hash:
        raise VerificationFailure(
            Reason.TLOG_INCLUSION_PROOF_INVALID, "inclusion proof does not lead to its root hash"
        )
    size, cp_root = verify_checkpoint(proof.checkpoint, key, entry.log_id)
    if size != proof.tree_size or cp_root != proof.root_hash:
        raise VerificationFailure(
            Reason.TLOG_CHECKPOINT_INVALID,
            "checkpoint does not commit to the inclusion proof's root hash and size",
        )


# --- body consistency -------------------------------------------------------------------------------------

Verifier = x509.Certificate | PublicKey


def _verifier_matches(pem_or_der: bytes, expected: Verifier) -> bool:
    """Whether a body's verifier (PEM cert, PEM key, DER cert or DER key) is ``expected``."""
    if isinstance(expected, x509.Certificate):
        try:
            cert = (
                x509.load_pem_x509_certificate(pem_or_der)
                if pem_or_der.lstrip().startswith(b"-----")
                else x509.load_der_x509_certificate(pem_or_der)
            )
        except ValueError:
            return False
        return cert.public_bytes(serialization.Encoding.DER) == expected.public_bytes(
            serialization.Encoding.DER
        )
    try:
        key = (
            load_pem_public_key(pem_or_der)
            if pem_or_der.lstrip().startswith(b"-----")
            else load_der_public_key(pem_or_der)
        )
    except ValueError:
        return False
    return same_key(key, expected)


def _mismatch(what: str) -> VerificationFailure:
    return VerificationFailure(
        Reason.TLOG_ENTRY_MISMATCH, f"transparency log entry is inconsistent: {what}"
    )


def check_hashedrekord(
    entry: LogEntry, digest: bytes, signature: bytes, verifier: Verifier
) -> None:
    """hashedrekord 0.0.1 (Rekor v1) or 0.0.2 (Rekor v2) body == (sha256 digest, signature, verifier)."""
    body = entry.body_json()
    if body.get("kind") != "hashedrekord":
        raise _mismatch(f"expected a hashedrekord entry, got {body.get('kind')!r}")
    spec = _o(body.get("spec"), "body spec")
    if body.get("apiVersion") == "0.0.1":
        hash_obj = _o(_o(spec.get("data"), "body data").get("hash"), "body hash")
        if hash_obj.get("algorithm") != "sha256" or hash_obj.get("value") != digest.hex():
            raise _mismatch("artifact digest differs")
        sig = _o(spec.get("signature"), "body signature")
        if b64decode(sig.get("content"), "body signature") != signature:
            raise _mismatch("signature differs")
        if not _verifier_matches(
            b64decode(_o(sig.get("publicKey"), "body key").get("content"), "body key"), verifier
        ):
            raise _mismatch("certificate or public key differs")
        return
    if body.get("apiVersion") == "0.0.2":
        v2 = _o(spec.get("hashedRekordV002"), "body hashedRekordV002")
        data = _o(v2.get("data"), "body data")
        if (
            data.get("algorithm") != "SHA2_256"
            or b64decode(data.get("digest"), "body digest") != digest
        ):
            raise _mismatch("artifact digest differs")
        sig = _o(v2.get("signature"), "body signature")
        if b64decode(sig.get("content"), "body signature") != signature:
            raise _mismatch("signature differs")
        ver = _o(sig.get("verifier"), "body verifier")
        raw = _o(ver.get("x509Certificate") or ver.get("publicKey"), "body verifier").get(
            "rawBytes"
        )
        if not _verifier_matches(b64decode(raw, "body verifier"), verifier):
            raise _mismatch("certificate or public key differs")
        return
    raise VerificationFailure(
        Reason.UNSUPPORTED, f"hashedrekord version {body.get('apiVersion')!r}"
    )


def check_dsse_entry(
    entry: LogEntry, payload: bytes, signatures: list[bytes], verifier: Verifier
) -> None:
    """dsse 0.0.1 / intoto 0.0.2 body: payload hash and signature list must be the envelope's."""
    body = entry.body_json()
    kind, version = body.get("kind"), body.get("apiVersion")
    spec = _o(body.get("spec"), "body spec")
    payload_hex = hashlib.sha256(payload).hexdigest()
    if (kind, version) == ("dsse", "0.0.1"):
        ph = _o(spec.get("payloadHash"), "body payloadHash")
        if ph.get("algorithm") != "sha256" or ph.get("value") != payload_hex:
            raise _mismatch("payload hash differs")
        entries = spec.get("signatures") or []
        if not isinstance(entries, list):
            raise VerificationFailure(Reason.BUNDLE_MALFORMED, "body signatures: expected a list")
        found = [
            (
                b64decode(s.get("signature"), "body signature"),
                b64decode(s.get("verifier"), "body verifier"),
            )
            for s in entries
            if isinstance(s, dict)
        ]
    elif (kind, version) == ("intoto", "0.0.2"):
        content = _o(spec.get("content"), "body content")
        ph = _o(content.get("payloadHash"), "body payloadHash")
        if ph.get("algorithm") != "sha256" or ph.get("value") != payload_hex:
            raise _mismatch("payload hash differs")
        env = _o(content.get("envelope"), "body envelope")
        found = []
        env_sigs = env.get("signatures") or []
        if not isinstance(env_sigs, list):
            raise VerificationFailure(
                Reason.BUNDLE_MALFORMED, "body envelope signatures: expected a list"
            )
        for s in env_sigs:
            if not isinstance(s, dict):
                continue
            # intoto/0.0.2 stores each signature base64-encoded twice; take it as once-encoded if it is not.
            once = b64decode(s.get("sig"), "body signature")
            try:
                sig = base64.b64decode(once, validate=True)
            except (binascii.Error, ValueError):
                sig = once
            found.append((sig, b64decode(s.get("publicKey"), "body verifier")))
    else:
        raise VerificationFailure(
            Reason.UNSUPPORTED, f"log entry kind {kind}/{version} for a DSSE envelope"
        )
    if sorted(sig for sig, _ in found) != sorted(signatures):
        raise _mismatch("signatures differ")
    if not all(_verifier_matches(ver, verifier) for _, ver in found):
        raise _mismatch("certificate or public key differs")
