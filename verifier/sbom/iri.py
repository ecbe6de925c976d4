"""Fast RFC 3987 IRI / IRI-reference syntax checks for JSON Schema ``format`` validation.

jsonschema checks ``iri`` and ``iri-reference`` with ``rfc3987_syntax``, an Earley parser that spends
~16 ms per URL (cyclonedx-python-lib issue #862: 68 s for a 1,100-component BOM). These are the same
grammar (``rfc3987_syntax/syntax_rfc3987.lark``, itself RFC 3987 section 2.2) written as one compiled
regular expression, so that a schema-valid document here is schema-valid for the library and back.

The grammar is reproduced with its quirks, on purpose, so the answers agree:
- ``ucschar`` covers only the Basic Multilingual Plane ranges, ``iprivate`` only U+E000..U+F8FF;
- ``IPv6address`` has no elided forms with fewer than the full count of groups before ``::``
  (``[::1]`` and ``[fe80::1]`` are rejected, as the library rejects them).
Every character class is disjoint from ``%``, so matching is linear in the length of the string.
"""

from __future__ import annotations

import re

_UCS = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
_IPRIVATE = "\ue000-\uf8ff"
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"

_IPCHAR = rf"(?:[{_UNRESERVED}{_UCS}{_SUB_DELIMS}:@]|{_PCT})"
_ISEGMENT = rf"{_IPCHAR}*"
_ISEGMENT_NZ = rf"{_IPCHAR}+"
_ISEGMENT_NZ_NC = rf"(?:[{_UNRESERVED}{_UCS}{_SUB_DELIMS}@]|{_PCT})+"
_IQUERY = rf"(?:[{_UNRESERVED}{_UCS}{_SUB_DELIMS}:@{_IPRIVATE}/?]|{_PCT})*"
_IFRAGMENT = rf"(?:[{_UNRESERVED}{_UCS}{_SUB_DELIMS}:@/?]|{_PCT})*"

_IPATH_ABEMPTY = rf"(?:/{_ISEGMENT})*"
_IPATH_ABSOLUTE = rf"/(?:{_ISEGMENT_NZ}(?:/{_ISEGMENT})*)?"
_IPATH_NOSCHEME = rf"{_ISEGMENT_NZ_NC}(?:/{_ISEGMENT})*"
_IPATH_ROOTLESS = rf"{_ISEGMENT_NZ}(?:/{_ISEGMENT})*"

_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "(?:" + "|".join(
    (
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"{_H16}::(?:{_H16}:){{4}}{_LS32}",
        rf"(?:{_H16}:){{1}}{_H16}::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:{_H16}:){{2}}{_H16}::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:{_H16}:){{3}}{_H16}::{_H16}:{_LS32}",
        rf"(?:{_H16}:){{4}}{_H16}::{_LS32}",
        rf"(?:{_H16}:){{5}}{_H16}::{_H16}",
        rf"(?:{_H16}:){{6}}{_H16}::",
    )
) + ")"
_IPVFUTURE = rf"v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+"
_IP_LITERAL = rf"\[(?:{_IPV6}|{_IPVFUTURE})\]"
_IREG_NAME = rf"(?:[{_UNRESERVED}{_UCS}{_SUB_DELIMS}]|{_PCT})*"
_IHOST = rf"(?:{_IP_LITERAL}|{_IPV4}|{_IREG_NAME})"
_IUSERINFO = rf"(?:[{_UNRESERVED}{_UCS}{_SUB_DELIMS}:]|{_PCT})*"
_IAUTHORITY = rf"(?:{_IUSERINFO}@)?{_IHOST}(?::[0-9]*)?"

_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_IHIER_PART = rf"(?://{_IAUTHORITY}{_IPATH_ABEMPTY}|{_IPATH_ABSOLUTE}|{_IPATH_ROOTLESS}|)"
_IRELATIVE_PART = rf"(?://{_IAUTHORITY}{_IPATH_ABEMPTY}|{_IPATH_ABSOLUTE}|{_IPATH_NOSCHEME}|)"
_TAIL = rf"(?:\?{_IQUERY})?(?:#{_IFRAGMENT})?"
_IRI = rf"{_SCHEME}:{_IHIER_PART}{_TAIL}"
_IRELATIVE_REF = rf"{_IRELATIVE_PART}{_TAIL}"

_IRI_RE = re.compile(_IRI)
_IRI_REFERENCE_RE = re.compile(rf"(?:{_IRI}|{_IRELATIVE_REF})")


def is_iri(value: object) -> bool:
    """True if ``value`` is an RFC 3987 IRI (non-strings pass, as JSON Schema formats require)."""
    if not isinstance(value, str):
        return True
    return _IRI_RE.fullmatch(value) is not None


def is_iri_reference(value: object) -> bool:
    """True if ``value`` is an RFC 3987 IRI-reference (non-strings pass)."""
    if not isinstance(value, str):
        return True
    return _IRI_REFERENCE_RE.fullmatch(value) is not None
