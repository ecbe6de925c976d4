"""Transparency-log primitives: RFC 6962 inclusion proofs against an independent tree, checkpoints, SETs."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore_helpers import CONFORMANCE, sign

from verifier.sigstore import tlog
from verifier.sigstore.bundle import parse_bundle
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.keys import key_id
from verifier.sigstore.trust import LogKey, TimeRange, parse_time
from verifier.sources.trust_roots import load_trust_root


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _mth(leaves: list[bytes]) -> bytes:
    """Merkle tree hash, RFC 6962 section 2.1, written recursively (independent of the code under test)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """Audit path PATH(m, D[n]), RFC 6962 section 2.1.1."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


@pytest.mark.parametrize("size", range(1, 18))
def test_inclusion_proofs_for_every_leaf(size: int) -> None:
    leaves = [_leaf(bytes([i])) for i in range(size)]
    root = _mth(leaves)
    for index in range(size):
        proof = tuple(_path(index, leaves))
        assert tlog.root_from_inclusion_proof(index, size, leaves[index], proof) == root
        if proof:
            flipped = (bytes([proof[0][0] ^ 1]) + proof[0][1:],) + proof[1:]
            assert tlog.root_from_inclusion_proof(index, size, leaves[index], flipped) != root
            with pytest.raises(ValueError, match="too short"):
                tlog.root_from_inclusion_proof(index, size, leaves[index], proof[:-1])
        with pytest.raises(ValueError, match="too long"):
            tlog.root_from_inclusion_proof(index, size, leaves[index], (*proof, b"\x00" * 32))
    with pytest.raises(ValueError, match="not below"):
        tlog.root_from_inclusion_proof(size, size, leaves[0], ())


def _real_entry() -> tuple[tlog.LogEntry, object]:
    raw = (CONFORMANCE / "happy-path-v0.3" / "bundle.sigstore.json").read_bytes()
    return parse_bundle(raw).entries[0], load_trust_root(None)


def test_real_entry_inclusion_checkpoint_and_set() -> None:
    entry, trust = _real_entry()
    tlog.verify_inclusion(entry, trust)  # type: ignore[arg-type]
    at = tlog.verify_set(entry, trust)  # type: ignore[arg-type]
    assert at.year == 2024


def test_checkpoint_negatives() -> None:
    entry, trust = _real_entry()
    assert entry.inclusion_proof is not None and entry.inclusion_proof.checkpoint is not None
    log = trust.tlog_key(entry.log_id)  # type: ignore[attr-defined]
    text = entry.inclusion_proof.checkpoint
    size, root = tlog.verify_checkpoint(text, log, entry.log_id)
    assert (size, root) == (entry.inclusion_proof.tree_size, entry.inclusion_proof.root_hash)
    cases = {
        "no signature block": text.split("\n\n")[0] + "\n",
        "other log": text.replace(
            "\u2014 rekor.sigstore.dev wNI9", "\u2014 rekor.sigstore.dev AAAA"
        ),
        "tampered size": text.replace(f"\n{size}\n", f"\n{size + 1}\n", 1),
    }
    for name, bad in cases.items():
        with pytest.raises(VerificationFailure) as err:
            tlog.verify_checkpoint(bad, log, entry.log_id)
        assert err.value.reason is Reason.TLOG_CHECKPOINT_INVALID, name


def test_checkpoint_signed_by_another_key_is_rejected() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    log = LogKey(
        key_id(key.public_key()), key.public_key(), TimeRange(parse_time("2020-01-01T00:00:00Z"))
    )
    note = "log.test\n5\n" + base64.b64encode(b"\x11" * 32).decode() + "\n"
    sig = base64.b64encode(log.key_id[:4] + sign(key, note.encode())).decode()
    good = note + "\n\u2014 log.test " + sig + "\n"
    assert tlog.verify_checkpoint(good, log, log.key_id) == (5, b"\x11" * 32)
    other = ec.generate_private_key(ec.SECP256R1())
    forged = base64.b64encode(log.key_id[:4] + sign(other, note.encode())).decode()
    with pytest.raises(VerificationFailure, match="does not verify"):
        tlog.verify_checkpoint(note + "\n\u2014 log.test " + forged + "\n", log, log.key_id)


def test_set_over_rfc8785_json_with_a_test_log() -> None:
    import dataclasses

    key = ec.generate_private_key(ec.SECP256R1())
    log_id = key_id(key.public_key())
    body = json.dumps({"kind": "hashedrekord", "apiVersion": "0.0.1"}).encode()
    canonical = (
        b'{"body":"'
        + base64.b64encode(body)
        + b'","integratedTime":1700000000,"logID":"'
        + log_id.hex().encode()
        + b'","logIndex":7}'
    )
    entry = tlog.LogEntry(
        7,
        log_id,
        "hashedrekord",
        "0.0.1",
        base64.b64encode(body).decode(),
        1700000000,
        sign(key, canonical),
        None,
    )
    trust = dataclasses.replace(
        load_trust_root(None),
        tlogs=(LogKey(log_id, key.public_key(), TimeRange(parse_time("2023-01-01T00:00:00Z"))),),
    )
    assert tlog.verify_set(entry, trust).year == 2023
    with pytest.raises(VerificationFailure) as err:
        tlog.verify_set(dataclasses.replace(entry, log_index=8), trust)
    assert err.value.reason is Reason.TLOG_SET_INVALID
    expired = dataclasses.replace(
        trust,
        tlogs=(
            LogKey(
                log_id,
                key.public_key(),
                TimeRange(parse_time("2023-01-01T00:00:00Z"), parse_time("2023-11-14T22:13:19Z")),
            ),
        ),
    )
    with pytest.raises(VerificationFailure) as err:
        tlog.verify_set(entry, expired)
    assert err.value.reason is Reason.TLOG_KEY_UNKNOWN
    # The validity end is inclusive: integrated time 1700000000 == 2023-11-14T22:13:20Z.
    edge = dataclasses.replace(
        trust,
        tlogs=(
            LogKey(
                log_id,
                key.public_key(),
                TimeRange(parse_time("2023-01-01T00:00:00Z"), parse_time("2023-11-14T22:13:20Z")),
            ),
        ),
    )
    assert tlog.verify_set(entry, edge).year == 2023


def test_cosign_annotation_parsing_rejects_junk() -> None:
    for bad in [
        "{",
        "[]",
        json.dumps({"Payload": {"logID": "zz"}}),
        json.dumps(
            {
                "SignedEntryTimestamp": "x",
                "Payload": {"body": "!!", "logID": "00", "logIndex": 1, "integratedTime": 1},
            }
        ),
    ]:
        with pytest.raises(VerificationFailure) as err:
            tlog.entry_from_cosign_annotation(bad)
        assert err.value.reason is Reason.BUNDLE_MALFORMED


def test_parse_time_variants() -> None:
    assert parse_time("2021-01-12T11:53:27Z") == parse_time("2021-01-12T11:53:27.000Z")
    assert parse_time("2025-06-12T12:02:20.123456789Z").microsecond == 123456
    with pytest.raises(ValueError):
        parse_time("2021-01-12T11:53:27")
