"""The trust root: Fulcio CAs, Rekor and CT log keys, TSAs, each with its validity window.

The production root is pinned in the package (``trusted_root.json``, a copy of the public-good root snapshot
that cosign's tests use; see ``SOURCES.md`` next to it). ``--trusted-root FILE`` replaces it for private
Sigstore deployments. GitHub's instance has its own pinned root (``trusted_root_github.json``). Nothing is
fetched while verifying, and no user cache is trusted: ``verifier trust update`` refreshes the pinned files
through TUF (:mod:`verifier.sources.tuf_update`). Reading the files is a source's job
(:func:`verifier.sources.trust_roots.load_trust_root`); this module parses bytes.

Validity windows of the trust root are closed intervals (``start <= t <= end``), as the protobuf-specs say.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import functools
import hashlib
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as X509VerificationError

from verifier._internal.text import parse_json
from verifier.errors import InputError
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.keys import PublicKey, load_der_public_key

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

PINNED_TRUSTED_ROOT = Path(__file__).with_name("trusted_root.json")
PINNED_STAGING_ROOT = Path(__file__).with_name("trusted_root_staging.json")
# GitHub's own Sigstore instance (fulcio.githubapp.com + timestamp.githubapp.com, no transparency log): what
# actions/attest-build-provenance uses for non-public repositories and GitHub release attestations.
PINNED_GITHUB_ROOT = Path(__file__).with_name("trusted_root_github.json")
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: str) -> dt.datetime:
    """RFC 3339 time (``Z`` or offset, any number of fraction digits) as an aware UTC datetime."""
    text = value.strip().replace("z", "Z")
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time without a time zone: {value!r}")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is after the last datetime
        raise ValueError(f"time out of range: {value!r}") from None


@dataclass(frozen=True)
class TimeRange:
    """A closed validity interval; ``end`` None means open-ended."""

    start: dt.datetime
    end: dt.datetime | None = None

    def contains(self, at: dt.datetime) -> bool:
        """``start <= at <= end`` (the end is inclusive)."""
        return self.start <= at and (self.end is None or at <= self.end)


@dataclass(frozen=True)
class LogKey:
    """A transparency log (Rekor) or CT log key. ``key_id`` is the log id (SHA-256 of the DER SPKI)."""

    key_id: bytes
    key: PublicKey
    valid: TimeRange
    base_url: str = ""


@dataclass(frozen=True)
class CertAuthority:
    """A Fulcio CA: its chain (issuing cert first, root last) and when it may issue."""

    chain: tuple[x509.Certificate, ...]
    valid: TimeRange
    uri: str = ""


@dataclass(frozen=True)
class TrustRoot:
    """A parsed trusted_root.json. ``name`` is the file it came from (for messages)."""

    name: str
    raw: bytes
    fulcio: tuple[CertAuthority, ...]
    tlogs: tuple[LogKey, ...]
    ctlogs: tuple[LogKey, ...]
    tsas: tuple[CertAuthority, ...]
    _sigstore: list[Any] = field(default_factory=list, compare=False, repr=False)
    # init=False: dataclasses.replace() (a root with other CAs) starts with a fresh index.
    _by_subject: dict[bytes, list[CertAuthority]] = field(
        default_factory=dict, compare=False, repr=False, init=False
    )

    def issuer_authorities(
        self, leaf: x509.Certificate, leaf_der: bytes | None = None
    ) -> list[CertAuthority]:
        """The Fulcio CAs with a certificate whose subject is ``leaf``'s issuer, compared as DER (indexed once
        per root). ``leaf_der``, the bytes ``leaf`` was read from, spares building its ``x509.Name``."""
        if not self._by_subject and self.fulcio:
            for ca in self.fulcio:
                for cert in ca.chain:
                    self._by_subject.setdefault(_subject_der(cert), []).append(ca)
        return self._by_subject.get(_issuer_der(leaf, leaf_der), [])

    def tlog_key(self, log_id: bytes) -> LogKey:
        """The Rekor key with this log id; VerificationFailure if the root has none."""
        for key in self.tlogs:
            if key.key_id == log_id:
                return key
        raise VerificationFailure(
            Reason.TLOG_KEY_UNKNOWN,
            f"no transparency log with id {log_id.hex()} in the trusted root {self.name}",
        )

    def ctlog_key(self, log_id: bytes) -> LogKey | None:
        """The CT log key with this id, if the root has it."""
        return next((key for key in self.ctlogs if key.key_id == log_id), None)

    def sigstore_root(self) -> TrustedRoot:
        """The same root as a sigstore-python ``TrustedRoot`` (built once, then cached).

        sigstore-python 4.5 compares a TSA's ``validFor.end`` exclusively although TimeRange is closed; we
        add one microsecond (the finest resolution either side can express) to each TSA end so that the
        interval stays closed.
        """
        if not self._sigstore:
            from sigstore.models import TrustedRoot

            doc = json.loads(self.raw)
            for tsa in doc.get("timestampAuthorities", []) or []:
                valid_for = tsa.get("validFor") if isinstance(tsa, dict) else None
                end = valid_for.get("end") if isinstance(valid_for, dict) else None
                if end:
                    try:
                        bumped = parse_time(end) + dt.timedelta(microseconds=1)
                    except OverflowError:  # already the last instant a datetime holds
                        continue
                    tsa["validFor"]["end"] = bumped.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            try:
                # TrustedRoot.from_file is the public constructor: hand it the adjusted document.
                with tempfile.TemporaryDirectory() as tmp:
                    adjusted = Path(tmp) / "trusted_root.json"
                    adjusted.write_text(json.dumps(doc), encoding="utf-8")
                    self._sigstore.append(TrustedRoot.from_file(str(adjusted)))
            except Exception as exc:  # sigstore-python raises pydantic/ValueError/its own Error
                raise InputError(
                    self.name, f"not a valid Sigstore trusted root: {_short(exc)}"
                ) from exc
        root: TrustedRoot = self._sigstore[0]
        return root

    def verify_chain(
        self, leaf: x509.Certificate, intermediates: list[x509.Certificate], at: dt.datetime
    ) -> list[x509.Certificate]:
        """Verify ``leaf`` up to a Fulcio CA of this root that was valid at ``at``; return the chain above
        the leaf (issuer first). The leaf must be valid at ``at`` (not now): Fulcio certs live 10 minutes."""
        if not (leaf.not_valid_before_utc <= at <= leaf.not_valid_after_utc):
            raise VerificationFailure(
                Reason.CERTIFICATE_NOT_VALID_AT_SIGNING_TIME,
                f"signing certificate is valid {leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} to "
                f"{leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, signing time is {at:%Y-%m-%dT%H:%M:%SZ}",
            )
        anchors = [cert for ca in self.fulcio if ca.valid.contains(at) for cert in ca.chain]
        if not anchors:
            raise VerificationFailure(
                Reason.CERTIFICATE_CHAIN_INVALID,
                f"no certificate authority of the trusted root {self.name} was valid "
                f"at {at:%Y-%m-%dT%H:%M:%SZ}",
            )
        return verify_chain_with(leaf, intermediates, anchors, at)

    def issuer_valid_at(
        self, leaf: x509.Certificate, at: dt.datetime, leaf_der: bytes | None = None
    ) -> None:
        """The CA certificate that issued ``leaf`` must belong to a CA of this root whose validity window
        (``validFor``) covers ``at``. The full path is verified elsewhere; here, when every CA certificate that
        could have issued ``leaf`` (same subject) is in a window covering ``at``, no signature check is needed."""
        candidates = self.issuer_authorities(leaf, leaf_der)
        if candidates and all(ca.valid.contains(at) for ca in candidates):
            return
        for ca in self.fulcio:
            if not ca.valid.contains(at):
                continue
            for cert in ca.chain:
                if cert.subject != leaf.issuer:
                    continue
                try:
                    leaf.verify_directly_issued_by(cert)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return
        raise VerificationFailure(
            Reason.CERTIFICATE_CHAIN_INVALID,
            f"the CA that issued the signing certificate is not in the trusted root "
            f"{self.name} with a validity window covering {at:%Y-%m-%dT%H:%M:%SZ}",
        )


def _der_element(der: bytes, start: int) -> tuple[int, int]:
    """(start of the contents, end) of the DER element (tag, length, contents) at ``start``."""
    if start + 2 > len(der) or der[start] & 0x1F == 0x1F:
        raise ValueError("not a single-byte-tag DER element")
    length, contents = der[start + 1], start + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or contents + count > len(der):
            raise ValueError("DER length out of range")
        length, contents = int.from_bytes(der[contents : contents + count], "big"), contents + count
    if contents + length > len(der):
        raise ValueError("DER element runs past its container")
    return contents, contents + length


def _issuer_der(cert: x509.Certificate, der: bytes | None) -> bytes:
    if der is not None:
        with contextlib.suppress(ValueError):
            return certificate_names(der)[0]
    return cert.issuer.public_bytes()


def _subject_der(cert: x509.Certificate) -> bytes:
    try:
        return certificate_names(cert.public_bytes(serialization.Encoding.DER))[1]
    except ValueError:
        return cert.subject.public_bytes()


def certificate_names(der: bytes) -> tuple[bytes, bytes]:
    """(issuer, subject) of a certificate, as the DER it was signed with, cut from the certificate's DER.

    cryptography offers the names only as ``x509.Name`` objects, and hashing a certificate or asking for its
    TBS bytes re-reads all of its extensions: each costs more than the rest of a bundle's structural checks.
    Here the TBSCertificate's leading fields (version, serialNumber, signature; RFC 5280 4.1) are skipped and
    nothing nested is parsed. ValueError if the bytes are not laid out so.
    """
    tbs_at = _der_element(der, 0)[0]
    pos, tbs_end = _der_element(der, tbs_at)
    tbs = der[:tbs_end]
    if pos < len(tbs) and tbs[pos] == 0xA0:  # [0] EXPLICIT version
        pos = _der_element(tbs, pos)[1]
    pos = _der_element(tbs, pos)[1]  # serialNumber
    issuer_at = _der_element(tbs, pos)[1]  # after the signature AlgorithmIdentifier
    validity_at = _der_element(tbs, issuer_at)[1]
    subject_at = _der_element(tbs, validity_at)[1]
    subject_end = _der_element(tbs, subject_at)[1]
    if tbs[issuer_at] != 0x30 or tbs[subject_at] != 0x30:
        raise ValueError("issuer or subject is not a SEQUENCE")
    return tbs[issuer_at:validity_at], tbs[subject_at:subject_end]


def issued_by(
    root: TrustRoot, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate] = ()
) -> bool:
    """Whether a Fulcio CA certificate of ``root`` signed ``leaf`` or one of the bundle's intermediates.

    This picks the Sigstore instance whose rules apply to a bundle by a signature only that instance's CA can
    make; the full path (at the signing time) is validated afterwards against the instance picked.
    """
    candidates = (leaf, *intermediates)
    for ca in root.fulcio:
        for ca_cert in ca.chain:
            for cert in candidates:
                if cert.issuer != ca_cert.subject:
                    continue
                try:
                    cert.verify_directly_issued_by(ca_cert)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return True
    return False


def verify_chain_with(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    anchors: list[x509.Certificate],
    at: dt.datetime,
) -> list[x509.Certificate]:
    """Path validation with cryptography at time ``at``, Fulcio-style: code-signing EKU is allowed."""
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(at)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(leaf, intermediates).chain[1:])
    except (X509VerificationError, x509.UnsupportedGeneralNameType, ValueError) as exc:
        raise VerificationFailure(
            Reason.CERTIFICATE_CHAIN_INVALID,
            f"certificate does not chain to a trusted CA at {at:%Y-%m-%dT%H:%M:%SZ}: {_short(exc)}",
        ) from exc


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _time_range(obj: Any, where: str, name: str) -> TimeRange:
    if not isinstance(obj, dict) or not isinstance(obj.get("start"), str):
        raise InputError(name, f"{where}: validFor.start is required")
    if obj.get("end") is not None and not isinstance(obj["end"], str):
        # Read as "no end" this would make a key valid for ever.
        raise InputError(name, f"{where}: validFor.end must be an RFC 3339 time string")
    try:
        start = parse_time(obj["start"])
        end = parse_time(obj["end"]) if isinstance(obj.get("end"), str) else None
    except ValueError as exc:
        raise InputError(name, f"{where}: bad validFor time: {exc}") from exc
    return TimeRange(start, end)


def _b64(value: Any, where: str, name: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(name, f"{where}: expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise InputError(name, f"{where}: invalid base64") from exc


def _list(items: Any, kind: str, name: str) -> list[Any]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError(name, f"{kind}: expected a list")
    return items


def _log_keys(items: Any, kind: str, name: str) -> tuple[LogKey, ...]:
    keys: list[LogKey] = []
    for i, item in enumerate(_list(items, kind, name)):
        where = f"{kind}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("publicKey"), dict):
            raise InputError(name, f"{where}: publicKey is required")
        pk = item["publicKey"]
        der = _b64(pk.get("rawBytes"), f"{where}.publicKey.rawBytes", name)
        valid = _time_range(pk.get("validFor"), f"{where}.publicKey", name)
        try:
            key = load_der_public_key(der)
        except ValueError as exc:
            raise InputError(name, f"{where}: unusable public key: {exc}") from exc
        log_id_obj = item.get("logId")
        if isinstance(log_id_obj, dict) and "keyId" in log_id_obj:
            log_id = _b64(log_id_obj["keyId"], f"{where}.logId.keyId", name)
        else:
            log_id = hashlib.sha256(der).digest()
        keys.append(LogKey(log_id, key, valid, str(item.get("baseUrl", ""))))
    return tuple(keys)


def _authorities(items: Any, kind: str, name: str) -> tuple[CertAuthority, ...]:
    cas: list[CertAuthority] = []
    for i, item in enumerate(_list(items, kind, name)):
        where = f"{kind}[{i}]"
        chain_obj = item.get("certChain") if isinstance(item, dict) else None
        certs_json = chain_obj.get("certificates") if isinstance(chain_obj, dict) else None
        if not isinstance(certs_json, list) or not certs_json:
            raise InputError(name, f"{where}: certChain.certificates must not be empty")
        chain: list[x509.Certificate] = []
        for j, cert in enumerate(certs_json):
            der = _b64(
                cert.get("rawBytes") if isinstance(cert, dict) else None,
                f"{where}.certChain.certificates[{j}]",
                name,
            )
            try:
                chain.append(x509.load_der_x509_certificate(der))
            except ValueError as exc:
                raise InputError(name, f"{where}: certificate {j} is not DER X.509") from exc
        cas.append(
            CertAuthority(
                tuple(chain),
                _time_range(item.get("validFor"), where, name),
                str(item.get("uri", "")),
            )
        )
    return tuple(cas)


def parse_trust_root(raw: bytes, name: str) -> TrustRoot:
    """Parse trusted_root.json bytes; InputError naming ``name`` and the bad field on any problem."""
    doc = parse_json(raw, name)
    if not isinstance(doc, dict):
        raise InputError(name, "a trusted root must be a JSON object")
    if doc.get("mediaType") != TRUSTED_ROOT_MEDIA_TYPE:
        raise InputError(name, f"unsupported trusted root mediaType {doc.get('mediaType')!r}")
    return TrustRoot(
        name=name,
        raw=raw,
        fulcio=_authorities(doc.get("certificateAuthorities"), "certificateAuthorities", name),
        tlogs=_log_keys(doc.get("tlogs"), "tlogs", name),
        ctlogs=_log_keys(doc.get("ctlogs"), "ctlogs", name),
        tsas=_authorities(doc.get("timestampAuthorities"), "timestampAuthorities", name),
    )


@functools.lru_cache(maxsize=16)
def parse_trust_root_cached(name: str, digest: str, raw: bytes) -> TrustRoot:
    """:func:`parse_trust_root`, remembered by content (``digest`` is part of the cache key only)."""
    del digest
    return parse_trust_root(raw, name)


def spki_sha256(cert_or_key: x509.Certificate | PublicKey) -> bytes:
    """SHA-256 of the DER SubjectPublicKeyInfo (the Rekor/CT log id of a key; the CT issuer key hash)."""
    key = cert_or_key.public_key() if isinstance(cert_or_key, x509.Certificate) else cert_or_key
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


def trust_root_from_pems(
    name: str, roots: bytes, intermediates: bytes = b"", valid_from: dt.datetime | None = None
) -> TrustRoot:
    """A trust root made of private-PKI CA certificates only (no logs): for ``legacy.PrivatePki``."""
    try:
        chain = tuple(
            x509.load_pem_x509_certificates(intermediates) if intermediates.strip() else []
        )
        chain += tuple(x509.load_pem_x509_certificates(roots))
    except ValueError as exc:
        raise InputError(name, f"not PEM certificates: {exc}") from exc
    start = valid_from or min(c.not_valid_before_utc for c in chain)
    return TrustRoot(
        name=name,
        raw=b"",
        fulcio=(CertAuthority(chain, TimeRange(start)),),
        tlogs=(),
        ctlogs=(),
        tsas=(),
    )
