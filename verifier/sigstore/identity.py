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
OID_SOURCE_REPOSITORY_IDENTIFIER = ObjectIdentifier("1.3.6.1.4.1.57264.1.15")
OID_SOURCE_REPOSITORY_OWNER_URI = ObjectIdentifier("1.3.6.1.4.1.57264.1.16")
OID_SOURCE_REPOSITORY_OWNER_IDENTIFIER = ObjectIdentifier("1.3.6.1.4.1.57264.1.17")
OID_BUILD_CONFIG_URI = ObjectIdentifier("1.3.6.1.4.1.57264.1.18")
OID_BUILD_CONFIG_DIGEST = ObjectIdentifier("1.3.6.1.4.1.57264.1.19")
OID_BUILD_TRIGGER = ObjectIdentifier("1.3.6.1.4.1.57264.1.20")
OID_RUN_INVOCATION_URI = ObjectIdentifier("1.3.6.1.4.1.57264.1.21")
OID_SOURCE_REPOSITORY_VISIBILITY = ObjectIdentifier("1.3.6.1.4.1.57264.1.22")
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
    "source_repository_identifier": OID_SOURCE_REPOSITORY_IDENTIFIER,
    "source_repository_owner_uri": OID_SOURCE_REPOSITORY_OWNER_URI,
    "source_repository_owner_identifier": OID_SOURCE_REPOSITORY_OWNER_IDENTIFIER,
    "build_config_uri": OID_BUILD_CONFIG_URI,
    "build_config_digest": OID_BUILD_CONFIG_DIGEST,
    "run_invocation_uri": OID_RUN_INVOCATION_URI,
    "source_repository_visibility_at_signing": OID_SOURCE_REPOSITORY_VISIBILITY,
}
# The deprecated GitHub workflow claims (raw strings, not DER): certificates issued before Fulcio added the
# claims above (early 2023, e.g. slsa-github-generator v1.4.0 provenance) carry only these.
LEGACY_CLAIM_OIDS: dict[str, ObjectIdentifier] = {
    "github_workflow_trigger": ObjectIdentifier("1.3.6.1.4.1.57264.1.2"),
    "github_workflow_sha": ObjectIdentifier("1.3.6.1.4.1.57264.1.3"),
    "github_workflow_name": ObjectIdentifier("1.3.6.1.4.1.57264.1.4"),
    "github_workflow_repository": ObjectIdentifier("1.3.6.1.4.1.57264.1.5"),
    "github_workflow_ref": ObjectIdentifier("1.3.6.1.4.1.57264.1.6"),
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


def _unrecognized(cert: x509.Certificate) -> dict[ObjectIdentifier, bytes]:
    """The raw values of the extensions cryptography does not model (Fulcio's claims), in one pass."""
    return {
        ext.oid: ext.value.value
        for ext in cert.extensions
        if isinstance(ext.value, x509.UnrecognizedExtension)
    }


def _extension(cert: x509.Certificate, oid: ObjectIdentifier) -> bytes | None:
    return _unrecognized(cert).get(oid)


def cert_issuer(
    cert: x509.Certificate, raw_values: dict[ObjectIdentifier, bytes] | None = None
) -> str | None:
    """The OIDC issuer: OID …1.8 (UTF8String), else the deprecated raw …1.1."""
    values = _unrecognized(cert) if raw_values is None else raw_values
    raw = values.get(OID_ISSUER_V2)
    if raw is not None:
        return _der_utf8(raw)
    raw = values.get(OID_ISSUER_V1)
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


def cert_claims(
    cert: x509.Certificate, raw_values: dict[ObjectIdentifier, bytes] | None = None
) -> dict[str, str]:
    """GitHub workflow claims present in the certificate (only those found)."""
    values = _unrecognized(cert) if raw_values is None else raw_values
    claims: dict[str, str] = {}
    for name, oid in CLAIM_OIDS.items():
        raw = values.get(oid)
        if raw is not None:
            text = _der_utf8(raw)
            if text is not None:
                claims[name] = text
    return claims


def cert_legacy_claims(
    cert: x509.Certificate, raw_values: dict[ObjectIdentifier, bytes] | None = None
) -> dict[str, str]:
    """The deprecated raw-string GitHub workflow claims (``LEGACY_CLAIM_OIDS``) present in the certificate."""
    values = _unrecognized(cert) if raw_values is None else raw_values
    claims: dict[str, str] = {}
    for name, oid in LEGACY_CLAIM_OIDS.items():
        raw = values.get(oid)
        if raw is not None:
            try:
                claims[name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
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


# Certificates read recently -> their signer (identity, issuer, claims): parsing two dozen extensions costs
# more than the rest of the identity check, and a webhook or a batch sees the same certificates again. Keyed by
# the certificate's signature bytes (hashing a certificate re-reads all of its extensions); a hit counts only
# if the certificate stored with it is equal to the one asked about (certificates compare by their content).
_SIGNERS: dict[bytes, tuple[x509.Certificate, Signer, tuple[str, ...]]] = {}
_SIGNERS_MAX = 256


def _read_signer(cert: x509.Certificate) -> tuple[Signer, tuple[str, ...]]:
    hit = _SIGNERS.get(cert.signature)
    if hit is not None and hit[0] == cert:
        return hit[1], hit[2]
    names = cert_identities(cert)
    values = _unrecognized(cert)
    signer = Signer(
        identity=names[0] if names else None,
        issuer=cert_issuer(cert, values),
        claims={**cert_legacy_claims(cert, values), **cert_claims(cert, values)},
    )
    if len(_SIGNERS) >= _SIGNERS_MAX:
        _SIGNERS.clear()
    _SIGNERS[cert.signature] = (cert, signer, tuple(names))
    return signer, tuple(names)


def signer_from_cert(cert: x509.Certificate) -> Signer:
    """Identity (first SAN), issuer and claims of a signing certificate."""
    signer = _read_signer(cert)[0]
    return Signer(identity=signer.identity, issuer=signer.issuer, claims=dict(signer.claims))


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
        signer, names = _read_signer(cert)
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
        return Signer(identity=matched[0], issuer=signer.issuer, claims=dict(signer.claims))
