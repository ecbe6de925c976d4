"""How a bundle's JSON is read: as sigstore-python reads it (pydantic-core), so that both sides see one document.

Metamorphic: a different spelling of the same document (indentation, key order, escaped characters) keeps the
verdict. Negative: text that :func:`json.loads` would take but that is not strict JSON (NaN, a byte-order mark,
UTF-16, a lone surrogate, deep nesting) is bundle-malformed, and sigstore-python's own reader refuses it too.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from sigstore_helpers import CONFORMANCE

from verifier.sigstore.bundle import BundleResult, parse_bundle, verify_bundle
from verifier.sigstore.dsse import INTOTO_PAYLOAD_TYPE, Envelope, parse_statement
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sources.trust_roots import load_trust_root

DSSE = CONFORMANCE / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json"
IDENTITY = IdentityPolicy(
    identity="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/"
    "workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
    issuer="https://token.actions.githubusercontent.com",
)
DIGEST = hashlib.sha256((CONFORMANCE / "a.txt").read_bytes()).digest()


def _verify(raw: bytes | str) -> BundleResult:
    return verify_bundle(raw, trust=load_trust_root(None), digest=DIGEST, policy=IDENTITY)


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def _respellings() -> dict[str, bytes | str]:
    doc = json.loads(DSSE.read_bytes())
    return {
        "indented": json.dumps(doc, indent=4),
        "compact": json.dumps(doc, separators=(",", ":")).encode(),
        "keys-reversed": json.dumps(_reordered(doc)),
        "ascii-escaped": json.dumps(doc, ensure_ascii=True).replace("/", "\\/"),
        "str-not-bytes": DSSE.read_text(),
    }


@pytest.mark.parametrize("name", sorted(_respellings()))
def test_another_spelling_of_the_same_bundle_keeps_the_verdict(name: str) -> None:
    expected = _verify(DSSE.read_bytes())
    got = _verify(_respellings()[name])
    assert (got.signer, got.signed_at, got.statement, got.log_index) == (
        expected.signer,
        expected.signed_at,
        expected.statement,
        expected.log_index,
    )


def _not_strict_json() -> dict[str, bytes]:
    text = DSSE.read_text()
    head, brace, tail = text.partition("{")
    assert brace and not head.strip()
    return {
        "nan": ('{"x": NaN, ' + tail).encode(),
        "infinity": ('{"x": -Infinity, ' + tail).encode(),
        "byte-order-mark": "\ufeff".encode() + text.encode(),
        "utf-16": text.encode("utf-16"),
        "lone-surrogate": ('{"x": "\\ud800", ' + tail).encode(),
        "deep-nesting": ('{"x": ' + "[" * 5000 + "]" * 5000 + ", " + tail).encode(),
        "trailing-text": text.encode() + b" {}",
    }


@pytest.mark.parametrize("name", sorted(_not_strict_json()))
def test_text_that_is_not_strict_json_is_malformed_for_both_readers(name: str) -> None:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle

    raw = _not_strict_json()[name]
    with pytest.raises(VerificationFailure) as info:
        _verify(raw)
    assert info.value.reason is Reason.BUNDLE_MALFORMED
    assert "not valid JSON" in str(info.value)
    with pytest.raises(SigstoreError, match="failed to load bundle"):
        Bundle.from_json(raw)


def test_json_loads_would_have_read_the_lenient_spellings() -> None:
    """The cases above are not vacuous: the standard library reads all but the last two of them."""
    lenient = {name for name, raw in _not_strict_json().items() if _loads_or_none(raw) is not None}
    assert lenient == {"nan", "infinity", "byte-order-mark", "utf-16", "lone-surrogate"}
    assert parse_bundle(DSSE.read_bytes()).envelope is not None


def _loads_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


@pytest.mark.parametrize(
    "payload",
    [
        b'{"_type": "https://in-toto.io/Statement/v1", "subject": [], "x": NaN}',
        b'{"_type": "https://in-toto.io/Statement/v1", "subject": [], "x": "\\udc00"}',
        b'\xef\xbb\xbf{"_type": "https://in-toto.io/Statement/v1", "subject": []}',
        b'{"_type": "https://in-toto.io/Statement/v1", "subject": [], "x": '
        + b"[" * 300
        + b"]" * 300
        + b"}",
    ],
)
def test_a_statement_that_is_not_strict_json_is_invalid(payload: bytes) -> None:
    with pytest.raises(VerificationFailure) as info:
        parse_statement(Envelope(INTOTO_PAYLOAD_TYPE, payload, (b"sig",)))
    assert info.value.reason is Reason.PAYLOAD_INVALID


_EC_PUBLIC_KEY_OID = bytes.fromhex("06072a8648ce3d0201")  # id-ecPublicKey


@pytest.mark.parametrize("case", ["happy-path-intoto-in-dsse-v3", "happy-path-v0.3"])
@pytest.mark.parametrize(
    ("shift", "value"),
    [(len(_EC_PUBLIC_KEY_OID) + 13, 0x84), (2, 0x26)],
    ids=["point-not-on-curve", "unknown-key-type"],
)
def test_a_leaf_whose_key_cannot_be_read_is_malformed_on_the_delegated_path(
    case: str, shift: int, value: int
) -> None:
    """The delegated path (sigstore-python verifies the signature) does not read the key before
    sigstore-python does; when that fails, the reason is still ours: bundle-malformed, naming the key."""
    from verifier.sigstore.bundle import _delegated

    doc = json.loads((CONFORMANCE / case / "bundle.sigstore.json").read_bytes())
    cert = doc["verificationMaterial"]["certificate"]
    der = bytearray(base64.b64decode(cert["rawBytes"]))
    der[der.index(_EC_PUBLIC_KEY_OID) + shift] = value
    cert["rawBytes"] = base64.b64encode(bytes(der)).decode()
    raw = json.dumps(doc)
    assert _delegated(parse_bundle(raw))
    with pytest.raises(VerificationFailure) as info:
        verify_bundle(
            raw,
            trust=load_trust_root(None),
            artifact=(CONFORMANCE / "a.txt").read_bytes(),
            policy=IDENTITY,
        )
    assert info.value.reason is Reason.BUNDLE_MALFORMED
    assert "public key cannot be read" in str(info.value)
