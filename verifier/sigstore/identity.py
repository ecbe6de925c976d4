"""Who signed: identity and claims from a Fulcio certificate, and the policy they must satisfy.

sigstore-python's ``policy.Identity`` is exact-match only; here: issuer exact, identity exact or an anchored
regular expression, plus GitHub workflow claims (Fulcio OIDs, see fulcio docs/oid-info.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from verifier.sigstore.errors import Reason, VerificationFailure

# From: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
OID_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")  # raw string value (deprecated)
OID_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")  # DER UTF8String
OID_BUILD_SIGNER_URI = ObjectIdentifier("1.3.6.1.4.1.57264.1.9")
OID_BUILD_SIGNER_DIGEST = ObjectIdentifier("1.3.6.1.4.1.57264.1.10")
OID_RUNNER_ENVIRONMENT = ObjectIdentifier("1.3.6.1.4.1.57264.1.11")
OID_SOURCE_REPOSITORY_URI = ObjectIdentifier("1.3.6.1.4.1.57264.1.12")
OID_SOURCE_REPOSITORY_DIGEST = ObjectIdentifier("1.3.6.1.4.1.57264.1.13")
OID_SOURCE_REPOSITORY_REF = ObjectIdentifier("1.3.6.1.4.1.57264.1.14")
OID_BUILD_TRIGGER = ObjectIdentifier("1.3.6.1.4.1.57264.1.20")
OID_OTHERNAME_SAN = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")

# Claim name (policy key, snake_case) -> OID. All are DER UTF8Strings.
CLAIM_OIDS: dict[str, ObjectIdentifier] = {
    "build_signer_uri": OID_BUILD_SIGNER_URI,
    "build_signer_digest": OID_BUILD_SIGNER_DIGEST,
    "runner_environment": OID_RUNNER_ENVIRONMENT,
    "source_repository_uri": OID_SOURCE_REPOSITORY_URI,
    "source_repository_digest": OID_SOURCE_REPOSITORY_DIGEST,
    "source_repository_ref": OID_SOURCE_REPOSITORY_REF,
    "build_trigger": OID_BUILD_TRIGGER,
}


def _der_utf8(value: bytes) -> str | None:
    # DER UTF8String: tag 0x0c, definite length (short or long form).
    if len(value) < 2 or value[0] != 0x0C:
        return None
    length, offset = value[1], 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or len(value) < 2 + n:
            return None
        length, offset = int.from_bytes(value[2 : 2 + n], "big"), 2 + n
    if len(value) != offset + length:
        return None
    try:
        return value[offset:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _extension(cert: x509.Certificate, oid: ObjectIdentifier) -> bytes | None:
    try:
        ext = cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None
    value = ext.value
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def cert_issuer(cert: x509.Certificate) -> str | None:
    """The OIDC issuer: OID …1.8 (UTF8String), else the deprecated raw …1.1."""
    raw = _extension(cert, OID_ISSUER_V2)
    if raw is not None:
        return _der_utf8(raw)
    raw = _extension(cert, OID_ISSUER_V1)
    if raw is not None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def cert_identities(cert: x509.Certificate) -> list[str]:
    """Subject alternative names: URIs, emails, DNS names, IPs, Fulcio otherName (username!issuer)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names: list[str] = [
        *san.get_values_for_type(x509.UniformResourceIdentifier),
        *san.get_values_for_type(x509.RFC822Name),
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
    ]
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == OID_OTHERNAME_SAN:
            text = _der_utf8(other.value)
            if text is not None:
                names.append(text)
    return names


def cert_claims(cert: x509.Certificate) -> dict[str, str]:
    """GitHub workflow claims present in the certificate (only those found)."""
    claims: dict[str, str] = {}
    for name, oid in CLAIM_OIDS.items():
        raw = _extension(cert, oid)
        if raw is not None:
            text = _der_utf8(raw)
            if text is not None:
                claims[name] = text
    return claims


@dataclass(frozen=True)
class Signer:
    """A verified signer. ``identity``/``issuer`` are None for key-signed signatures (``key`` set instead)."""

    identity: str | None = None
    issuer: str | None = None
    claims: dict[str, str] = field(default_factory=dict)
    key: str | None = None  # fingerprint "sha256:<hex>" of the public key, for key-signed

    def as_fact(self) -> dict[str, Any]:
        """JSON-ready form for CheckResult facts."""
        fact: dict[str, Any] = {}
        if self.identity is not None:
            fact["identity"] = self.identity
        if self.issuer is not None:
            fact["issuer"] = self.issuer
        if self.claims:
            fact["claims"] = dict(self.claims)
        if self.key is not None:
            fact["key"] = self.key
        return fact


def signer_from_cert(cert: x509.Certificate) -> Signer:
    """Identity (first SAN), issuer and claims of a signing certificate."""
    names = cert_identities(cert)
    return Signer(
        identity=names[0] if names else None, issuer=cert_issuer(cert), claims=cert_claims(cert)
    )


@dataclass(frozen=True)
class IdentityPolicy:
    """What a keyless signer must be. An empty policy (no identity, no regexp) is refused by ``check``.

    ``claims`` maps claim names (see CLAIM_OIDS) to exact values.
    """

    issuer: str | None = None
    identity: str | None = None
    identity_regexp: str | None = None
    claims: dict[str, str] = field(default_factory=dict)
    issuer_regexp: str | None = None  # instead of ``issuer``: the issuer must match it fully

    def __post_init__(self) -> None:
        if self.identity is not None and self.identity_regexp is not None:
            raise ValueError("give either an exact identity or an identity regexp, not both")
        if self.issuer is not None and self.issuer_regexp is not None:
            raise ValueError("give either an exact issuer or an issuer regexp, not both")
        if self.issuer_regexp is not None:
            try:
                re.compile(self.issuer_regexp)
            except re.error as exc:
                raise ValueError(f"invalid issuer regexp {self.issuer_regexp!r}: {exc}") from exc
        if self.identity_regexp is not None:
            try:
                re.compile(self.identity_regexp)
            except re.error as exc:
                raise ValueError(
                    f"invalid identity regexp {self.identity_regexp!r}: {exc}"
                ) from exc
        unknown = set(self.claims) - set(CLAIM_OIDS)
        if unknown:
            raise ValueError(f"unknown claims {sorted(unknown)} (known: {sorted(CLAIM_OIDS)})")

    def describe(self) -> str:
        """Human text of the policy."""
        who = self.identity or (f"~/{self.identity_regexp}/" if self.identity_regexp else "anyone")
        issuer = self.issuer or (f"~/{self.issuer_regexp}/" if self.issuer_regexp else "any issuer")
        return f"{who} via {issuer}"

    def check(self, cert: x509.Certificate) -> Signer:
        """Return the signer if ``cert`` satisfies the policy, else VerificationFailure with the reason."""
        if self.identity is None and self.identity_regexp is None:
            raise VerificationFailure(
                Reason.IDENTITY_MISMATCH,
                "no identity policy given: keyless signatures need "
                "--certificate-identity or --certificate-identity-regexp",
            )
        signer = signer_from_cert(cert)
        if self.issuer is not None and signer.issuer != self.issuer:
            raise VerificationFailure(
                Reason.ISSUER_MISMATCH,
                f"certificate issuer {signer.issuer!r} is not {self.issuer!r}",
            )
        if self.issuer_regexp is not None and not (
            signer.issuer and re.fullmatch(self.issuer_regexp, signer.issuer)
        ):
            raise VerificationFailure(
                Reason.ISSUER_MISMATCH,
                f"certificate issuer {signer.issuer!r} does not match {self.issuer_regexp!r}",
            )
        names = cert_identities(cert)
        if self.identity is not None:
            matched = [n for n in names if n == self.identity]
        else:
            pattern = re.compile(self.identity_regexp or "")
            matched = [n for n in names if pattern.fullmatch(n)]
        if not matched:
            raise VerificationFailure(
                Reason.IDENTITY_MISMATCH,
                f"certificate identity {', '.join(map(repr, names)) or '(none)'} does not "
                f"match {self.describe()}",
            )
        for name, expected in self.claims.items():
            if signer.claims.get(name) != expected:
                raise VerificationFailure(
                    Reason.CLAIM_MISMATCH,
                    f"claim {name} is {signer.claims.get(name)!r}, expected {expected!r}",
                )
        return Signer(identity=matched[0], issuer=signer.issuer, claims=signer.claims)
