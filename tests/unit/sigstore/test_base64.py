"""``tlog.b64decode`` (msgspec's decoder) accepts what ``binascii.a2b_base64(strict_mode=True)`` accepts,
except padding after a complete group (``QUJD=``, which RFC 4648 does not allow and Python 3.11's strict mode
lets through), and decodes to the same bytes: differential, on generated text near the base64 alphabet and on
every base64 field of the conformance bundles."""

from __future__ import annotations

import binascii
import json
import string
from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sigstore_helpers import CONFORMANCE

from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.tlog import _hashes, b64decode

ALPHABET = string.ascii_letters + string.digits + "+/=" + "-_ \n\t.\x00é\U0001f600"


def _reference(text: str) -> bytes | None:
    data = text.rstrip("=")
    if data != text and len(data) % 4 == 0:
        return None  # padding after a complete group
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, and non-ASCII text
        return None


def _ours(text: str) -> bytes | None:
    try:
        return b64decode(text, "field")
    except VerificationFailure as exc:
        assert exc.reason is Reason.BUNDLE_MALFORMED
        return None


@settings(max_examples=3000, derandomize=True, database=None, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24))
@example("QQ==")
@example("QR==")  # non-zero padding bits: both accept
@example("QQ=")
@example("=QQ=")
@example("QQ==QQ==")
@example("QUJD\n")
@example("QUJD=")
@example("0000==")
@example("")
@example("\ud800QQ=")
def test_same_acceptance_and_bytes_as_binascii_strict(text: str) -> None:
    assert _ours(text) == _reference(text)


def test_padding_after_a_complete_group_is_refused_although_binascii_takes_it() -> None:
    assert binascii.a2b_base64("QUJD=", strict_mode=True) == b"ABC"
    assert _ours("QUJD=") is None


@given(st.binary(max_size=64))
@settings(max_examples=500, derandomize=True, database=None, deadline=None)
def test_every_encoding_round_trips(data: bytes) -> None:
    assert b64decode(binascii.b2a_base64(data, newline=False).decode(), "field") == data


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def test_every_string_of_the_conformance_bundles() -> None:
    seen = decoded = 0
    for path in CONFORMANCE.rglob("bundle.sigstore.json"):
        try:
            doc = json.loads(path.read_bytes())
        except ValueError:
            continue
        for text in _strings(doc):
            seen += 1
            decoded += _reference(text) is not None
            assert _ours(text) == _reference(text), (path, text[:80])
    assert seen > 500 and decoded > 300


@pytest.mark.parametrize("hashes", [["QQ==", "QQ="], ["QQ==", 7], [None], ["QQ==", "QUJD", "Q Q="]])
def test_a_bad_inclusion_proof_hash_is_malformed(hashes: list[object]) -> None:
    with pytest.raises(VerificationFailure) as info:
        _hashes(hashes)
    assert info.value.reason is Reason.BUNDLE_MALFORMED


def test_inclusion_proof_hashes_decode_in_order() -> None:
    assert _hashes(["QQ==", "QUJD", ""]) == (b"A", b"ABC", b"")
