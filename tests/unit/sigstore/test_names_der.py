"""Issuer and subject cut from a certificate's DER (``trust.certificate_names``): byte for byte what
cryptography re-encodes from the parsed names (differential), on every certificate of the pinned roots and the
conformance bundles and on generated ones (long-form lengths, multi-valued and empty names, no version field);
any other bytes give ValueError, never another exception."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from sigstore_helpers import CONFORMANCE

from verifier.sigstore.trust import _der_element, certificate_names
from verifier.sources.trust_roots import load_trust_root

PINNED_ROOTS = sorted(
    Path(__file__).parents[3].joinpath("verifier", "sigstore").glob("trusted_root*.json")
)


def _raw_certs(value: object) -> Iterator[bytes]:
    """Every base64 ``rawBytes`` of a certificate in a bundle or trusted root document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("certificate", "certificates", "certChain"):
                for cert in item if isinstance(item, list) else item.get("certificates", [item]):
                    if isinstance(cert, dict) and isinstance(cert.get("rawBytes"), str):
                        yield base64.b64decode(cert["rawBytes"])
            else:
                yield from _raw_certs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _raw_certs(item)


def _corpus() -> list[x509.Certificate]:
    found: dict[bytes, x509.Certificate] = {}
    for path in [*PINNED_ROOTS, *CONFORMANCE.rglob("*.json")]:
        try:
            doc = json.loads(path.read_bytes())
        except ValueError:
            continue
        for der in _raw_certs(doc):
            try:
                found[der] = x509.load_der_x509_certificate(der)
            except ValueError:
                continue
    return list(found.values())


def _generated(subject: x509.Name, issuer: x509.Name) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(2**150 + 7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


LONG = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"unit {i} " + "x" * 40)
        for i in range(12)
    ]
)
MULTI = x509.Name(
    [
        x509.RelativeDistinguishedName(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "b"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "a"),
            ]
        ),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")]),
    ]
)
EMPTY = x509.Name([])


def test_the_corpus_is_not_trivial() -> None:
    certs = _corpus()
    assert len(certs) >= 10
    assert len({c.issuer.public_bytes() for c in certs}) >= 3


@pytest.mark.parametrize(
    "cert",
    [
        *_corpus(),
        _generated(LONG, MULTI),
        _generated(MULTI, LONG),
        _generated(EMPTY, LONG),
    ],
)
def test_names_cut_from_the_der_are_the_names_cryptography_reads(cert: x509.Certificate) -> None:
    expected = (cert.issuer.public_bytes(), cert.subject.public_bytes())
    assert certificate_names(cert.public_bytes(Encoding.DER)) == expected


def _wrap(contents: bytes) -> bytes:
    return b"\x30\x82" + len(contents).to_bytes(2, "big") + contents


def test_a_certificate_without_the_version_field() -> None:
    """X.509 v1 (no [0] version): cryptography cannot build one, so the version is cut out of a v3 one."""
    cert = _generated(LONG, MULTI)
    der = cert.public_bytes(Encoding.DER)
    tbs_at = _der_element(der, 0)[0]
    fields_at, tbs_end = _der_element(der, tbs_at)
    assert der[fields_at] == 0xA0
    v1_tbs = _wrap(der[_der_element(der, fields_at)[1] : tbs_end])
    v1 = _wrap(v1_tbs + der[tbs_end:])
    assert certificate_names(v1) == (cert.issuer.public_bytes(), cert.subject.public_bytes())


def test_the_trusted_root_finds_the_issuing_ca_by_the_bytes_or_by_the_name() -> None:
    """The leaf's DER and, without it, its parsed issuer name lead to the same CAs (the real DSSE bundle)."""
    doc = json.loads(
        (CONFORMANCE / "happy-path-intoto-in-dsse-v3" / "bundle.sigstore.json").read_bytes()
    )
    der = base64.b64decode(doc["verificationMaterial"]["certificate"]["rawBytes"])
    leaf = x509.load_der_x509_certificate(der)
    root = load_trust_root(None)
    by_bytes = root.issuer_authorities(leaf, der)
    assert by_bytes and by_bytes == root.issuer_authorities(leaf)
    assert root.issuer_authorities(leaf, der[:40]) == by_bytes  # unreadable bytes: the name decides


@pytest.mark.parametrize("cut", [1, 2, 5, 20, 60])
def test_a_truncated_certificate_is_a_value_error(cut: int) -> None:
    der = _generated(LONG, MULTI).public_bytes(Encoding.DER)
    with pytest.raises(ValueError):
        certificate_names(der[:cut])


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_names_or_a_value_error(data: bytes) -> None:
    try:
        issuer, subject = certificate_names(data)
    except ValueError:
        return
    assert issuer[:1] == subject[:1] == b"\x30"
