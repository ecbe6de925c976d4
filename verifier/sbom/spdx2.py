"""SPDX 2.2 / 2.3 validity as spdx-tools judges it, in one linear pass.

spdx-tools (the SPDX reference library) is the arbiter of what a valid SPDX 2 document is, but it cannot run
on the gate path: building its model costs seconds and its validation is quadratic (it looks every SPDX id
and relationship up in lists: a 4,900-file document takes 40 s). :func:`spdx2_problems` applies the same
rules to the parsed JSON (or to a tag-value document read into the same shape by
:func:`tag_value_document`) with indexes instead of scans. It reports both kinds of spdx-tools' objections:

- what its parser refuses (``parse`` rules): a ``created`` that is not ``YYYY-MM-DDThh:mm:ssZ`` (fractional
  seconds included), a required field missing or of the wrong type (a package without
  ``downloadLocation``, a file without checksums, a document without ``name``), an unknown enum value,
  a licence expression that does not parse, an actor that is not ``Tool:``/``Person:``/``Organization:``;
- what ``validate_full_spdx_document`` reports: identifiers, data licence, namespace URI, download
  locations and homepages, checksum lengths and SHA1 on files, external references per category,
  ``filesAnalyzed: false`` packages that contain files or carry file-level data, absolute file names,
  licence identifiers unknown to the SPDX list and to the document, relationships to unknown elements, the
  DESCRIBES relationship, duplicate ids, snippet ranges, SPDX 2.2's mandatory and unsupported fields.

Each problem has a stable ``rule`` and the SPDX id it is about; ``tests/unit/sbom/test_spdx2.py`` compares
them with spdx-tools on every document of the corpus it can finish.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DOCUMENT_ID = "SPDXRef-DOCUMENT"
SUPPORTED_VERSIONS = ("SPDX-2.2", "SPDX-2.3")
NOASSERTION, NONE = "NOASSERTION", "NONE"

# Enum names as spdx-tools reads them (JSON: "-" -> "_", upper-cased; file types and annotation types as is).
CHECKSUM_HEX_DIGITS = {
    "SHA1": (40, 40),
    "SHA224": (56, 56),
    "SHA256": (64, 64),
    "SHA384": (96, 96),
    "SHA512": (128, 128),
    "SHA3_256": (64, 64),
    "SHA3_384": (96, 96),
    "SHA3_512": (128, 128),
    "BLAKE2B_256": (64, 64),
    "BLAKE2B_384": (96, 96),
    "BLAKE2B_512": (128, 128),
    "BLAKE3": (256, None),  # at least
    "MD2": (32, 32),
    "MD4": (32, 32),
    "MD5": (32, 32),
    "MD6": (0, 512),
    "ADLER32": (8, 8),
}
NOT_IN_SPDX_2_2 = frozenset(
    {
        "SHA3_512",
        "SHA3_384",
        "SHA3_256",
        "BLAKE3",
        "BLAKE2B_512",
        "BLAKE2B_384",
        "BLAKE2B_256",
        "ADLER32",
    }
)
REF_TYPES = {
    "SECURITY": ("cpe22Type", "cpe23Type", "advisory", "fix", "url", "swid"),
    "PACKAGE_MANAGER": ("maven-central", "npm", "nuget", "bower", "purl"),
    "PERSISTENT_ID": ("swh", "gitoid"),
    "OTHER": (),
}
PURPOSES = frozenset(
    "APPLICATION FRAMEWORK LIBRARY CONTAINER OPERATING_SYSTEM DEVICE FIRMWARE SOURCE ARCHIVE FILE "
    "INSTALL OTHER".split()
)
FILE_TYPES = frozenset(
    "SOURCE BINARY ARCHIVE APPLICATION AUDIO IMAGE TEXT VIDEO DOCUMENTATION SPDX OTHER".split()
)
ANNOTATION_TYPES = frozenset({"REVIEW", "OTHER"})
RELATIONSHIP_TYPES = frozenset(
    """DESCRIBES DESCRIBED_BY CONTAINS CONTAINED_BY DEPENDS_ON DEPENDENCY_OF DEPENDENCY_MANIFEST_OF
    BUILD_DEPENDENCY_OF DEV_DEPENDENCY_OF OPTIONAL_DEPENDENCY_OF PROVIDED_DEPENDENCY_OF TEST_DEPENDENCY_OF
    RUNTIME_DEPENDENCY_OF EXAMPLE_OF GENERATES GENERATED_FROM ANCESTOR_OF DESCENDANT_OF VARIANT_OF
    DISTRIBUTION_ARTIFACT PATCH_FOR PATCH_APPLIED COPY_OF FILE_ADDED FILE_DELETED FILE_MODIFIED
    EXPANDED_FROM_ARCHIVE DYNAMIC_LINK STATIC_LINK DATA_FILE_OF TEST_CASE_OF BUILD_TOOL_OF DEV_TOOL_OF
    TEST_OF TEST_TOOL_OF DOCUMENTATION_OF OPTIONAL_COMPONENT_OF METAFILE_OF PACKAGE_OF AMENDS
    PREREQUISITE_FOR HAS_PREREQUISITE REQUIREMENT_DESCRIPTION_FOR SPECIFICATION_FOR OTHER""".split()
)
_CATEGORIES = {
    "SECURITY": "SECURITY",
    "PACKAGE-MANAGER": "PACKAGE_MANAGER",
    "PERSISTENT-ID": "PERSISTENT_ID",
}
_INVERSE = {"DESCRIBES": "DESCRIBED_BY", "CONTAINS": "CONTAINED_BY"}
_INVERSE.update({v: k for k, v in _INVERSE.items()})

# The grammars spdx-tools checks against (its uri_validators / external_package_ref_validator), written out
# here; the differential tests feed both the corpus's values and mutations of them.
_URL_HOST = r"[a-z0-9]+(?:[-.][a-z0-9]+){0,100}\.[a-z]{2,5}(?::[0-9]{1,5})?(?:/.*)?"
_URL_PREFIX = (
    r"(?:https?://www\.|https?://|ssh://|git://|svn://|sftp://|ftp://)?"
    r"(?:[\w\-.!~*'()%;:&=+$,]+@)?"
)
_URL_RE = re.compile(
    _URL_PREFIX + _URL_HOST, re.IGNORECASE
)  # a prefix match, as spdx-tools uses it
_DOWNLOAD_RE = re.compile(
    rf"(?:(?:(?:git|hg|svn|bzr)\+)?{_URL_PREFIX}{_URL_HOST}"
    r"|git\+git@[a-zA-Z0-9.\-]+:[a-zA-Z0-9/\\.@\-]+|bzr\+lp:[a-zA-Z0-9.\-]+)",
    re.IGNORECASE,
)
_URI_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ESCAPED = r"\\[\\*?!\"#$%&'()+,/:;<=>@\[\]^`{|}~]"
_CPE23_PART = rf"(?:(?:(?:\?*|\*?)(?:[a-zA-Z0-9\-._]|{_ESCAPED})+(?:\?*|\*?))|[*\-])"
# Anchored with "$" and applied with ``re.match``, as spdx-tools applies them ("$" also matches before a
# final newline).
_LOCATOR_RES = {
    kind: re.compile(pattern + "$")
    for kind, pattern in {
        "cpe22Type": r"c[pP][eE]:/[AHOaho]?(?::[A-Za-z0-9._\-~%]*){0,6}",
        "cpe23Type": (
            rf"cpe:2\.3:[aho*\-](?::{_CPE23_PART}){{5}}"
            r"(?::(?:(?:[a-zA-Z]{2,3}(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?)|[*\-]))"
            rf"(?::{_CPE23_PART}){{4}}"
        ),
        "maven-central": r"[^:]+:[^:]+(?::[^:]+)?",
        "npm": r"[^@]+@[^@]+",
        "nuget": r"[^/]+/[^/]+",
        "bower": r"[^#]+#[^#]+",
        "purl": r"pkg:.+(?:/.+)?/.+(?:@.+)?(?:\?.+)?(?:#.+)?",
        "swh": r"swh:1:(?:snp|rel|rev|dir|cnt):[0-9a-fA-F]{40}",
        "gitoid": r"gitoid:(?:blob|tree|commit|tag):(?:sha1:[0-9a-fA-F]{40}|sha256:[0-9a-fA-F]{64})",
    }.items()
}
_SPDX_ID_RE = re.compile(r"SPDXRef-[\da-zA-Z.-]+")
_DOC_REF_RE = re.compile(r"DocumentRef-[\da-zA-Z.+-]+")
_LICENSE_REF_RE = re.compile(r"LicenseRef-[\da-zA-Z.-]+")
_VERSION_RE = re.compile(r"(\d+)\.(\d+)")
_HEX_RE = re.compile(r"[0-9a-f]*")
_TOOL_RE = re.compile(r"Tool:\s*(.+)")
_PERSON_ORG_RE = re.compile(r"(Person|Organization):\s*(?:(.*)\((.*)\)|(.*))", re.DOTALL)


@dataclass(frozen=True, slots=True)
class SpdxProblem:
    """One objection: ``rule`` (stable id), ``element`` (the SPDX id it is about, or the parent's), text."""

    rule: str
    element: str
    message: str

    def __str__(self) -> str:
        return f"{self.element}: {self.message}" if self.element else self.message


def url_ok(value: str) -> bool:
    """A homepage / advisory / cross-reference URL as spdx-tools accepts it (a URL-like prefix)."""
    return _URL_RE.match(value) is not None


def download_location_ok(value: str) -> bool:
    """A package download location as spdx-tools accepts it."""
    return url_ok(value) or _DOWNLOAD_RE.fullmatch(value) is not None


def absolute_uri_ok(value: str) -> bool:
    """RFC 3986 absolute URI as spdx-tools checks it: a scheme, and no fragment."""
    return _URI_SCHEME_RE.match(value) is not None and "#" not in value


def enum_name(value: str) -> str:
    """A JSON enum value as spdx-tools looks it up (``PACKAGE-MANAGER`` -> ``PACKAGE_MANAGER``)."""
    return value.replace("-", "_").upper()


def _created_ok(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")  # noqa: DTZ007 - the format spdx-tools demands
    except ValueError:
        return False
    return True


def actor_problem(value: object) -> str | None:
    """Why ``value`` is not an SPDX actor (``Tool: x``, ``Person: n (e)``, ``Organization: n``), or None."""
    if not isinstance(value, str):
        return f"actor {value!r} is not a string"
    tool = _TOOL_RE.match(value)
    if tool:
        return None if tool.group(1).strip() else f"no name for the tool: {value!r}"
    match = _PERSON_ORG_RE.fullmatch(value)
    if match is None:
        return f"actor {value!r} is not 'Tool: …', 'Person: …' or 'Organization: …'"
    if match.group(4) is None and not match.group(2):
        return f"no name for the actor: {value!r}"
    return None


@functools.cache
def _licensing() -> Any:
    from verifier.sbom.licenses import _licensing as shared

    return shared()


class _Checker:
    """State of one document's check: the indexes every rule looks things up in."""

    def __init__(self, doc: Mapping[str, Any], version: str | None) -> None:
        self.doc = doc
        self.problems: list[SpdxProblem] = []
        raw_version = doc.get("spdxVersion")
        self.version = version or (raw_version if isinstance(raw_version, str) else "")
        raw_id = doc.get("SPDXID")
        self.doc_id: str = raw_id if isinstance(raw_id, str) else DOCUMENT_ID
        self.kinds: dict[str, str] = {}  # SPDX id -> "package" | "file" | "snippet" | "document"
        self.all_ids: list[str] = []
        self.doc_refs: set[str] = set()
        self.license_refs: set[str] = set()
        self._license_cache: dict[str, list[tuple[str, str]]] = {}
        self.well_formed: set[str] = set()  # ids of this document's elements that are SPDXRef- ids

    def add(self, rule: str, element: object, message: str) -> None:
        self.problems.append(
            SpdxProblem(rule, element if isinstance(element, str) else "", message)
        )

    # -------------------------------------------------------------------------------------- helpers

    def items(
        self, key: str, owner: Mapping[str, Any] | None = None, *, strict: bool = False
    ) -> list[Any]:
        """A list field, with a ``parse`` problem when it is something else. An empty value means absent,
        except for ``strict`` keys (spdx-tools iterates those as they are: ``null`` breaks it)."""
        holder = self.doc if owner is None else owner
        node = holder.get(key)
        if not node and not (strict and key in holder and not isinstance(node, list)):
            return []
        if not isinstance(node, list):
            self.add(
                "parse-type",
                self.doc_id if owner is None else owner.get("SPDXID"),
                f"{key} is not a list",
            )
            return []
        return node

    def optional_str(self, element: Mapping[str, Any], keys: Iterable[str], where: object) -> None:
        for key in keys:
            value = element.get(key)
            if value is not None and not isinstance(value, str):
                self.add("parse-type", where, f"{key} is not a string")

    def str_list(self, element: Mapping[str, Any], keys: Iterable[str], where: object) -> None:
        for key in keys:
            value = element.get(key)
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                self.add("parse-type", where, f"{key} is not a list of strings")

    def checksum(self, value: object, where: object) -> None:
        if not isinstance(value, dict):
            self.add("parse-type", where, "a checksum is not an object")
            return
        algorithm = value.get("algorithm", "")
        if not isinstance(algorithm, str):
            self.add("parse-type", where, "checksum algorithm is not a string")
            return
        name = enum_name(algorithm)
        digits = value.get("checksumValue")
        if name not in CHECKSUM_HEX_DIGITS:
            self.add(
                "parse-enum", where, f"checksum algorithm {algorithm!r} is not an SPDX algorithm"
            )
            return
        if not isinstance(digits, str):
            self.add("parse-type", where, f"{algorithm} checksum has no value")
            return
        if self.version == "SPDX-2.2" and name in NOT_IN_SPDX_2_2:
            self.add("checksum-unsupported", where, f"{algorithm} is not supported in SPDX-2.2")
            return
        low, high = CHECKSUM_HEX_DIGITS[name]
        if not _HEX_RE.fullmatch(digits) or len(digits) < low or (high and len(digits) > high):
            want = str(low) if low == high else f"{low} to {high}" if high else f"at least {low}"
            self.add(
                "checksum-value",
                where,
                f"{algorithm} checksum must be {want} lower-case hex digits, is {digits!r}",
            )

    def license(self, value: object, where: object, key: str, *, in_list: bool = False) -> None:
        """One licence expression field (NOASSERTION / NONE allowed). An empty field is absent (as
        spdx-tools reads it), an empty entry of a list is not."""
        if not value and not in_list:
            return
        if not isinstance(value, str) or not value:
            self.add("parse-license", where, f"{key} is not a string")
            return
        if value.upper() in (NOASSERTION, NONE):
            return
        for rule, message in self._license_findings(value):
            self.add(rule, where, f"{key} {value!r}: {message}")

    def _license_findings(self, text: str) -> list[tuple[str, str]]:
        hit = self._license_cache.get(text)
        if hit is not None:
            return hit
        from license_expression import ExpressionError, ExpressionParseError

        licensing = _licensing()
        found: list[tuple[str, str]] = []
        try:
            parsed = licensing.parse(text)
        except ExpressionError as exc:
            found.append(("parse-license", f"does not parse: {exc}"))
            self._license_cache[text] = found
            return found
        for token in licensing.validate(parsed).invalid_symbols:
            if ":" in token:
                parts = token.split(":")
                if len(parts) != 2:
                    found.append(("license-ref", f"{token} has more than one colon"))
                    continue
                if not parts[1].startswith("LicenseRef-"):
                    found.append(("license-ref", f"{token}: {parts[1]} is not a LicenseRef-"))
                if parts[0] not in self.doc_refs:
                    found.append(("license-ref", f"{token}: no external document {parts[0]}"))
            elif token not in self.license_refs:
                found.append(
                    ("license-unknown", f"{token} is neither an SPDX licence nor a LicenseRef here")
                )
        try:
            licensing.parse(text, validate=True, strict=True)
        except ExpressionParseError as exc:
            found.append(("license-exception", str(exc)))
        except ExpressionError:
            pass  # unknown symbols: reported above, one by one
        self._license_cache[text] = found
        return found

    def spdx_id(self, value: str, where: object, *, must_exist: bool = False) -> None:
        """An SPDX id or ``DocumentRef-x:SPDXRef-y`` reference (``must_exist``: in this document)."""
        if value in self.kinds and value in self.well_formed:
            return  # the common case: a relationship to an element of this document
        parts = value.split(":")
        if len(parts) > 2:
            self.add("spdx-id", where, f"{value!r} has more than one colon")
            return
        if len(parts) == 2:
            if not _DOC_REF_RE.fullmatch(parts[0]):
                self.add("spdx-id", where, f"{parts[0]!r} is not a DocumentRef- id")
            if not _SPDX_ID_RE.fullmatch(parts[1]):
                self.add("spdx-id", where, f"{parts[1]!r} is not an SPDXRef- id")
            if parts[0] not in self.doc_refs:
                self.add("spdx-id-unknown", where, f"no external document {parts[0]}")
            return
        if not _SPDX_ID_RE.fullmatch(value):
            self.add(
                "spdx-id", where, f"{value!r} is not an SPDXRef- id (letters, digits, '.', '-')"
            )
        if must_exist and value not in self.kinds:
            self.add("spdx-id-unknown", where, f"{value} is not an element of this document")


def spdx2_problems(doc: Mapping[str, Any], version: str | None = None) -> list[SpdxProblem]:
    """Every objection spdx-tools has to this SPDX 2 JSON document, in document order."""
    c = _Checker(doc, version)
    if c.version not in SUPPORTED_VERSIONS:
        c.add(
            "spdx-version",
            c.doc_id,
            f"SPDX version {c.version!r} is not supported (SPDX-2.2 or SPDX-2.3)",
        )
        return c.problems
    packages = [p for p in c.items("packages", strict=True) if _is_object(c, p, "packages")]
    files = [f for f in c.items("files", strict=True) if _is_object(c, f, "files")]
    snippets = [s for s in c.items("snippets", strict=True) if _is_object(c, s, "snippets")]
    _index(c, packages, files, snippets)
    _creation_info(c)
    for lic in c.items("hasExtractedLicensingInfos"):
        _extracted_licence(c, lic)
    relationships = _relationships(c, packages)
    contains_files, contained_in = _file_links(c, relationships)
    for pkg in packages:
        _package(c, pkg, contains_files, contained_in)
    for file in files:
        _file(c, file)
    for snippet in snippets:
        _snippet(c, snippet)
    _annotations(c, packages, files, snippets)
    for where, rel in relationships:
        _relationship(c, where, rel)
    _describes(c, relationships, packages, files, snippets)
    counts = Counter(c.all_ids)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        c.add("spdx-id-duplicate", c.doc_id, f"SPDX ids used more than once: {duplicates}")
    return c.problems


def _is_object(c: _Checker, value: object, key: str) -> bool:
    if isinstance(value, dict):
        return True
    c.add("parse-type", c.doc_id, f"an entry of {key} is not an object")
    return False


def _index(c: _Checker, packages: list[Any], files: list[Any], snippets: list[Any]) -> None:
    c.all_ids.append(c.doc_id)
    c.kinds[c.doc_id] = "document"
    if _SPDX_ID_RE.fullmatch(c.doc_id):
        c.well_formed.add(c.doc_id)
    for kind, elements in (("package", packages), ("file", files), ("snippet", snippets)):
        for element in elements:
            ident = element.get("SPDXID")
            if isinstance(ident, str):
                c.all_ids.append(ident)
                c.kinds.setdefault(ident, kind)
                if _SPDX_ID_RE.fullmatch(ident):
                    c.well_formed.add(ident)
    for ref in c.items("externalDocumentRefs"):
        if isinstance(ref, dict) and isinstance(ref.get("externalDocumentId"), str):
            c.doc_refs.add(ref["externalDocumentId"])
    for lic in c.items("hasExtractedLicensingInfos"):
        if isinstance(lic, dict) and isinstance(lic.get("licenseId"), str):
            c.license_refs.add(lic["licenseId"])


def _creation_info(c: _Checker) -> None:
    doc, where = c.doc, c.doc_id
    for key in ("SPDXID", "name", "documentNamespace", "dataLicense"):
        if not isinstance(doc.get(key), str):
            c.add("parse-missing", where, f"document {key} is missing or not a string")
    c.optional_str(doc, ("comment",), where)
    info = doc.get("creationInfo")
    if not isinstance(info, dict):
        c.add("parse-missing", where, "creationInfo is missing")
    else:
        creators = info.get("creators")
        if not creators or not isinstance(creators, list):
            c.add("parse-missing", where, "creationInfo.creators is missing or empty")
        else:
            for creator in creators:
                problem = actor_problem(creator)
                if problem:
                    c.add("parse-actor", where, f"creator: {problem}")
        if not info.get("created"):
            c.add("parse-missing", where, "creationInfo.created is missing")
        elif not _created_ok(info.get("created")):
            c.add(
                "parse-created",
                where,
                f"creationInfo.created {info.get('created')!r} is not YYYY-MM-DDThh:mm:ssZ",
            )
        version = info.get("licenseListVersion")
        if version and not (isinstance(version, str) and _VERSION_RE.fullmatch(version)):
            c.add("parse-version", where, f"licenseListVersion {version!r} is not MAJOR.MINOR")
        c.optional_str(info, ("comment",), where)
    if doc.get("SPDXID") != DOCUMENT_ID and isinstance(doc.get("SPDXID"), str):
        c.add("document-id", where, f"document SPDXID must be {DOCUMENT_ID}")
    if isinstance(doc.get("dataLicense"), str) and doc["dataLicense"] != "CC0-1.0":
        c.add("data-license", where, f"dataLicense must be CC0-1.0, is {doc['dataLicense']!r}")
    namespace = doc.get("documentNamespace")
    if isinstance(namespace, str) and not absolute_uri_ok(namespace):
        c.add(
            "namespace", where, f"documentNamespace {namespace!r} is not an absolute URI without #"
        )
    for ref in c.items("externalDocumentRefs"):
        if not isinstance(ref, dict):
            c.add("parse-type", where, "an external document reference is not an object")
            continue
        ident, uri = ref.get("externalDocumentId"), ref.get("spdxDocument")
        if not isinstance(ident, str) or not isinstance(uri, str) or not ref.get("checksum"):
            c.add(
                "parse-missing", where, "an external document reference lacks id, URI or checksum"
            )
        else:
            if not _DOC_REF_RE.fullmatch(ident):
                c.add("external-document", where, f"{ident!r} is not a DocumentRef- id")
            if not absolute_uri_ok(uri):
                c.add("external-document", where, f"{uri!r} is not an absolute URI without #")
        if ref.get("checksum"):
            c.checksum(ref["checksum"], where)


def _extracted_licence(c: _Checker, lic: object) -> None:
    if not isinstance(lic, dict):
        c.add("parse-type", c.doc_id, "an extracted licensing info is not an object")
        return
    # spdx-tools names no element for these; the licence id is in the message
    ident = lic.get("licenseId")
    c.optional_str(lic, ("licenseId", "extractedText", "comment"), "")
    name = lic.get("name")
    if name is not None and not isinstance(name, str):
        c.add("parse-type", "", f"{ident}: name is not a string")
    c.str_list(lic, ("seeAlsos",), "")
    if ident and isinstance(ident, str):
        if not _LICENSE_REF_RE.fullmatch(ident):
            c.add("extracted-license", "", f"{ident!r} is not a LicenseRef- id")
        if not lic.get("extractedText"):
            c.add("extracted-license", "", f"{ident}: no extractedText for the licence id")
    for ref in lic.get("seeAlsos") or []:
        if isinstance(ref, str) and not url_ok(ref):
            c.add("url", "", f"{ident}: seeAlso {ref!r} is not a URL")


def _relationships(c: _Checker, packages: list[Any]) -> list[tuple[str, tuple[str, str, str]]]:
    """(where, (from, type, to)) of every relationship, including documentDescribes and hasFiles; ones
    with missing parts become ``parse`` problems."""
    out: list[tuple[str, tuple[str, str, str]]] = []
    seen: set[tuple[str, str, str]] = set()
    for rel in c.items("relationships"):
        if not isinstance(rel, dict):
            c.add("parse-type", c.doc_id, "a relationship is not an object")
            continue
        source, kind, target = (
            rel.get("spdxElementId"),
            rel.get("relationshipType"),
            rel.get("relatedSpdxElement"),
        )
        c.optional_str(rel, ("comment",), source)
        if not isinstance(kind, str) or enum_name(kind) not in RELATIONSHIP_TYPES:
            c.add(
                "parse-enum", source, f"relationship type {kind!r} is not an SPDX relationship type"
            )
            continue
        if not isinstance(source, str) or not isinstance(target, str):
            c.add(
                "parse-missing", source, "a relationship lacks spdxElementId or relatedSpdxElement"
            )
            continue
        triple = (source, enum_name(kind), target)
        seen.add(triple)
        out.append(("relationship", triple))

    def implied(triple: tuple[str, str, str]) -> None:
        inverse = (triple[2], _INVERSE[triple[1]], triple[0])
        if triple not in seen and inverse not in seen:
            seen.add(triple)
            out.append(("implied", triple))

    for described in _strings_once(
        c, c.items("documentDescribes", strict=True), c.doc_id, "documentDescribes"
    ):
        implied((c.doc_id, "DESCRIBES", described))
    for pkg in packages:
        ident = pkg.get("SPDXID")
        for file_id in _strings_once(c, c.items("hasFiles", pkg, strict=True), ident, "hasFiles"):
            if isinstance(ident, str):
                implied((ident, "CONTAINS", file_id))
    return out


def _strings_once(c: _Checker, values: list[Any], where: object, key: str) -> list[str]:
    """The strings of ``values`` in order, each once; anything else is a ``parse`` problem."""
    out: dict[str, None] = {}
    for value in values:
        if isinstance(value, str):
            out[value] = None
        else:
            c.add("parse-type", where, f"{key} holds a non-string")
    return list(out)


def _file_links(
    c: _Checker, relationships: Sequence[tuple[str, tuple[str, str, str]]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Package id -> number of files it CONTAINS / that are CONTAINED_BY it."""
    contains: dict[str, int] = {}
    contained: dict[str, int] = {}
    for _where, (source, kind, target) in relationships:
        if kind == "CONTAINS" and c.kinds.get(target) == "file":
            contains[source] = contains.get(source, 0) + 1
        elif kind == "CONTAINED_BY" and c.kinds.get(source) == "file":
            contained[target] = contained.get(target, 0) + 1
    return contains, contained


def _files_analyzed(value: object) -> bool | None:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _package(
    c: _Checker, pkg: Mapping[str, Any], contains: Mapping[str, int], contained: Mapping[str, int]
) -> None:
    ident = pkg.get("SPDXID")
    where = ident if isinstance(ident, str) else ""
    if not isinstance(pkg.get("name"), str):
        c.add("parse-missing", where, "package name is missing or not a string")
    if not isinstance(ident, str):
        c.add("parse-missing", where, "package SPDXID is missing or not a string")
    else:
        c.spdx_id(ident, where)
    location = pkg.get("downloadLocation")
    if not isinstance(location, str):
        c.add("parse-missing", where, "package downloadLocation is missing")
    elif location not in (NOASSERTION, NONE) and not download_location_ok(location):
        c.add(
            "download-location",
            where,
            f"downloadLocation {location!r} is not a URL or VCS location",
        )
    c.optional_str(
        pkg,
        (
            "versionInfo",
            "packageFileName",
            "sourceInfo",
            "licenseComments",
            "summary",
            "description",
            "comment",
        ),
        where,
    )
    c.str_list(pkg, ("attributionTexts",), where)
    for key in ("copyrightText", "homepage"):
        if pkg.get(key) is not None and not isinstance(pkg.get(key), str):
            c.add("parse-type", where, f"{key} is not a string")
    homepage = pkg.get("homepage")
    if isinstance(homepage, str) and homepage not in (NOASSERTION, NONE) and not url_ok(homepage):
        c.add("url", where, f"homepage {homepage!r} is not a URL")
    for key in ("supplier", "originator"):
        value = pkg.get(key)
        if value and value != NOASSERTION:
            problem = actor_problem(value)
            if problem:
                c.add("parse-actor", where, f"{key}: {problem}")
    for key in ("builtDate", "releaseDate", "validUntilDate"):
        value = pkg.get(key)
        if value and not _created_ok(value):
            c.add("parse-date", where, f"{key} {value!r} is not YYYY-MM-DDThh:mm:ssZ")
        elif value and c.version == "SPDX-2.2":
            c.add("spdx-2.2", where, f"{key} is not supported in SPDX-2.2")
    purpose = pkg.get("primaryPackagePurpose")
    if purpose:
        if not isinstance(purpose, str) or enum_name(purpose) not in PURPOSES:
            c.add("parse-enum", where, f"primaryPackagePurpose {purpose!r} is not an SPDX purpose")
        elif c.version == "SPDX-2.2":
            c.add("spdx-2.2", where, "primaryPackagePurpose is not supported in SPDX-2.2")
    analyzed = _files_analyzed(pkg.get("filesAnalyzed"))
    if analyzed is None:
        c.add("parse-type", where, f"filesAnalyzed {pkg.get('filesAnalyzed')!r} is not a boolean")
    for checksum in c.items("checksums", pkg):
        c.checksum(checksum, where)
    for ref in c.items("externalRefs", pkg):
        _external_ref(c, ref, where)
    code = pkg.get("packageVerificationCode")
    if code:
        _verification_code(c, code, where, analyzed)
    c.license(pkg.get("licenseConcluded"), where, "licenseConcluded")
    c.license(pkg.get("licenseDeclared"), where, "licenseDeclared")
    from_files = c.items("licenseInfoFromFiles", pkg)
    if from_files and analyzed is False:
        c.add("files-not-analyzed", where, "licenseInfoFromFiles is set but filesAnalyzed is false")
        for value in from_files:
            if not isinstance(value, str) or not value:
                c.add(
                    "parse-license",
                    where,
                    "licenseInfoFromFiles holds an empty or non-string entry",
                )
            elif value.upper() not in (NOASSERTION, NONE):
                for rule, message in c._license_findings(value):
                    if rule.startswith("parse"):
                        c.add(rule, where, f"licenseInfoFromFiles {value!r}: {message}")
    else:
        for value in from_files:
            c.license(value, where, "licenseInfoFromFiles", in_list=True)
    if (
        analyzed is False
        and isinstance(ident, str)
        and (contains.get(ident) or contained.get(ident))
    ):
        c.add("files-not-analyzed", where, "the package contains files but filesAnalyzed is false")
    if c.version == "SPDX-2.2":
        for key in ("licenseConcluded", "licenseDeclared"):
            if not pkg.get(key):
                c.add("spdx-2.2", where, f"{key} is mandatory in SPDX-2.2")
        if pkg.get("copyrightText") is None:
            c.add("spdx-2.2", where, "copyrightText is mandatory in SPDX-2.2")


def _verification_code(c: _Checker, code: object, where: str, analyzed: bool | None) -> None:
    if not isinstance(code, dict):
        c.add("parse-type", where, "packageVerificationCode is not an object")
        return
    value = code.get("packageVerificationCodeValue")
    excluded = code.get("packageVerificationCodeExcludedFiles", [])
    if not isinstance(value, str):
        c.add("parse-missing", where, "packageVerificationCode has no value")
        return
    if excluded is not None and (
        not isinstance(excluded, list) or not all(isinstance(e, str) for e in excluded)
    ):
        c.add("parse-type", where, "packageVerificationCodeExcludedFiles is not a list of strings")
        return
    if analyzed is False:
        c.add(
            "files-not-analyzed", where, "packageVerificationCode is set but filesAnalyzed is false"
        )
        return
    for name in excluded or []:
        if name.startswith("/"):
            c.add("file-name", where, f"excluded file {name!r} is an absolute path")
    if not re.fullmatch(r"[0-9a-f]{40}", value):
        c.add(
            "verification-code",
            where,
            f"verification code {value!r} is not 40 lower-case hex digits",
        )


def _external_ref(c: _Checker, ref: object, where: str) -> None:
    if not isinstance(ref, dict):
        c.add("parse-type", where, "an external reference is not an object")
        return
    category, kind, locator = (
        ref.get("referenceCategory"),
        ref.get("referenceType"),
        ref.get("referenceLocator"),
    )
    name = _CATEGORIES.get(category, "") if isinstance(category, str) else ""
    if not name and isinstance(category, str):
        name = enum_name(category)
    if name not in REF_TYPES:
        c.add("parse-enum", where, f"referenceCategory {category!r} is not an SPDX category")
        return
    if not isinstance(kind, str) or not isinstance(locator, str):
        c.add(
            "parse-missing", where, "an external reference lacks referenceType or referenceLocator"
        )
        return
    if "comment" in ref:
        c.optional_str(ref, ("comment",), where)
    if name == "OTHER":
        if " " in locator:
            c.add("external-ref", where, f"OTHER locator {locator!r} contains a space")
    elif c.version == "SPDX-2.2" and kind in ("advisory", "fix", "url", "swid"):
        c.add("spdx-2.2", where, f"external reference type {kind!r} is not supported in SPDX-2.2")
    elif kind not in REF_TYPES[name]:
        c.add("external-ref", where, f"reference type {kind!r} is not one of {name}'s")
    elif kind in ("advisory", "fix", "url"):
        if not url_ok(locator):
            c.add("external-ref", where, f"{kind} locator {locator!r} is not a URL")
    elif kind == "swid":
        if not (_URI_SCHEME_RE.match(locator) and locator.startswith("swid")):
            c.add("external-ref", where, f"swid locator {locator!r} is not a swid: URI")
    elif not _LOCATOR_RES[kind].match(locator):
        c.add("external-ref", where, f"{kind} locator {locator!r} does not have the {kind} form")


def _file(c: _Checker, file: Mapping[str, Any]) -> None:
    ident = file.get("SPDXID")
    where = ident if isinstance(ident, str) else ""
    name = file.get("fileName")
    if not isinstance(name, str):
        c.add("parse-missing", where, "fileName is missing or not a string")
    if not isinstance(ident, str):
        c.add("parse-missing", where, "file SPDXID is missing or not a string")
    else:
        c.spdx_id(ident, where)
    checksums = c.items("checksums", file)
    if not checksums:
        c.add("parse-missing", where, "the file has no checksums")
    algorithms = set()
    for checksum in checksums:
        c.checksum(checksum, where)
        if isinstance(checksum, dict) and isinstance(checksum.get("algorithm"), str):
            algorithms.add(enum_name(checksum["algorithm"]))
    if checksums and "SHA1" not in algorithms:
        c.add("file-sha1", where, "the file has no SHA1 checksum")
    c.optional_str(file, ("comment", "licenseComments", "noticeText"), where)
    c.str_list(file, ("attributionTexts", "fileContributors"), where)
    if file.get("copyrightText") is not None and not isinstance(file.get("copyrightText"), str):
        c.add("parse-type", where, "copyrightText is not a string")
    types = file.get("fileTypes")
    if types:
        if not isinstance(types, list) or not all(
            isinstance(t, str) and t in FILE_TYPES for t in types
        ):
            c.add(
                "parse-enum",
                where,
                f"fileTypes {types!r} holds a value that is not an SPDX file type",
            )
    if isinstance(name, str) and name.startswith("/"):
        c.add("file-name", where, f"file name {name!r} is an absolute path")
    c.license(file.get("licenseConcluded"), where, "licenseConcluded")
    in_file = c.items("licenseInfoInFiles", file)
    for value in in_file:
        c.license(value, where, "licenseInfoInFiles", in_list=True)
    if c.version == "SPDX-2.2":
        if not file.get("licenseConcluded"):
            c.add("spdx-2.2", where, "licenseConcluded is mandatory in SPDX-2.2")
        if not in_file:
            c.add("spdx-2.2", where, "licenseInfoInFiles is mandatory in SPDX-2.2")
        if file.get("copyrightText") is None:
            c.add("spdx-2.2", where, "copyrightText is mandatory in SPDX-2.2")


def _snippet(c: _Checker, snippet: Mapping[str, Any]) -> None:
    ident = snippet.get("SPDXID")
    where = ident if isinstance(ident, str) else ""
    from_file = snippet.get("snippetFromFile")
    if not isinstance(ident, str) or not isinstance(from_file, str):
        c.add("parse-missing", where, "snippet SPDXID or snippetFromFile is missing")
    else:
        c.spdx_id(ident, where)
        c.spdx_id(from_file, where)
        if ":" not in from_file and c.kinds.get(from_file) != "file":
            c.add(
                "spdx-id-unknown",
                where,
                f"snippetFromFile {from_file} is not a file of this document",
            )
    before = len(c.problems)
    ranges = _snippet_ranges(c, snippet, where)
    if "offset" not in ranges and len(c.problems) == before:
        c.add("parse-missing", where, "the snippet has no byte range")
    for kind, rng in ranges.items():
        if not all(isinstance(v, int) for v in rng):  # spdx-tools' int check lets booleans through
            c.add("parse-type", where, f"snippet {kind} range {rng!r} is not two integers")
            continue
        label = "byte" if kind == "offset" else "line"
        if rng[0] < 1:
            c.add("snippet-range", where, f"{label} range {rng} starts below 1")
        if rng[0] > rng[1]:
            c.add("snippet-range", where, f"{label} range {rng} ends before it starts")
    c.optional_str(snippet, ("name", "comment", "licenseComments"), where)
    if snippet.get("copyrightText") is not None and not isinstance(
        snippet.get("copyrightText"), str
    ):
        c.add("parse-type", where, "copyrightText is not a string")
    c.str_list(snippet, ("attributionTexts",), where)
    c.license(snippet.get("licenseConcluded"), where, "licenseConcluded")
    for value in c.items("licenseInfoInSnippets", snippet):
        c.license(value, where, "licenseInfoInSnippets", in_list=True)
    if c.version == "SPDX-2.2":
        if not snippet.get("licenseConcluded"):
            c.add("spdx-2.2", where, "licenseConcluded is mandatory in SPDX-2.2")
        if snippet.get("copyrightText") is None:
            c.add("spdx-2.2", where, "copyrightText is mandatory in SPDX-2.2")


def _snippet_ranges(
    c: _Checker, snippet: Mapping[str, Any], where: str
) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    for rng in c.items("ranges", snippet):
        start = rng.get("startPointer") if isinstance(rng, dict) else None
        end = rng.get("endPointer") if isinstance(rng, dict) else None
        kinds = [
            next((k for k in ("offset", "lineNumber") if k in p), None)
            if isinstance(p, dict)
            else None
            for p in (start, end)
        ]
        if (
            not isinstance(start, dict)
            or not isinstance(end, dict)
            or None in kinds
            or kinds[0] != kinds[1]
            or any("offset" in p and "lineNumber" in p for p in (start, end))
        ):
            c.add(
                "parse-range", where, "a snippet range is not a start and end pointer of one kind"
            )
            continue
        kind = str(kinds[0])
        values = tuple(
            int(v) if isinstance(v, str) and v.isdigit() else v for v in (start[kind], end[kind])
        )
        out[kind] = (values[0], values[1])
    return out


def _annotations(c: _Checker, packages: list[Any], files: list[Any], snippets: list[Any]) -> None:
    owners: list[Mapping[str, Any]] = [c.doc, *packages, *files, *snippets]
    for owner in owners:
        for annotation in c.items("annotations", owner):
            if not isinstance(annotation, dict):
                c.add("parse-type", owner.get("SPDXID"), "an annotation is not an object")
                continue
            target = annotation.get("SPDXID") or owner.get("SPDXID")
            kind = annotation.get("annotationType")
            if not isinstance(kind, str) or kind not in ANNOTATION_TYPES:
                c.add("parse-enum", target, f"annotationType {kind!r} is not REVIEW or OTHER")
            _annotation_common(c, annotation, target, "annotator", "annotationDate")
    for review in c.items("revieweds"):
        if isinstance(review, dict):
            _annotation_common(c, review, c.doc_id, "reviewer", "reviewDate")
        else:
            c.add("parse-type", c.doc_id, "a review is not an object")


def _annotation_common(
    c: _Checker, annotation: Mapping[str, Any], target: object, who: str, when: str
) -> None:
    problem = actor_problem(annotation.get(who)) if annotation.get(who) else f"no {who}"
    if problem:
        c.add("parse-actor", target, f"annotation {who}: {problem}")
    if not _created_ok(annotation.get(when)):
        c.add(
            "parse-date",
            target,
            f"annotation {when} {annotation.get(when)!r} is not YYYY-MM-DDThh:mm:ssZ",
        )
    if not isinstance(annotation.get("comment"), str):
        c.add("parse-missing", target, "annotation comment is missing")
    if not isinstance(target, str):
        c.add("parse-missing", "", "annotation names no element")
    else:
        c.spdx_id(target, "", must_exist=True)


def _relationship(c: _Checker, where: str, rel: tuple[str, str, str]) -> None:
    # Relationships have no SPDX id of their own: the relationship is in the message.
    source, kind, target = rel
    before = len(c.problems)
    c.spdx_id(source, "", must_exist=True)
    if target not in (NONE, NOASSERTION):
        c.spdx_id(target, "", must_exist=True)
    if c.version == "SPDX-2.2" and kind in ("SPECIFICATION_FOR", "REQUIREMENT_DESCRIPTION_FOR"):
        c.add("spdx-2.2", "", f"relationship {kind} is not supported in SPDX-2.2")
    for i in range(before, len(c.problems)):
        found = c.problems[i]
        c.problems[i] = SpdxProblem(
            found.rule, "", f"relationship {source} {kind} {target}: {found.message}"
        )


def _describes(
    c: _Checker,
    relationships: Sequence[tuple[str, tuple[str, str, str]]],
    packages: list[Any],
    files: list[Any],
    snippets: list[Any],
) -> None:
    if len(packages) == 1 and not files and not snippets:
        return
    for _where, (source, kind, target) in relationships:
        if (kind == "DESCRIBES" and source == c.doc_id) or (
            kind == "DESCRIBED_BY" and target == c.doc_id
        ):
            return
    c.add(
        "describes",
        c.doc_id,
        f'no "{c.doc_id} DESCRIBES …" relationship, and the document holds more than one package',
    )


# ------------------------------------------------------------------------------------------ tag-value

# Tag -> (element it belongs to, JSON key, how the value is read). Elements: "doc", "package", "file",
# "snippet", "license" (extracted licensing info), "annotation", "relationship".
_START_TAGS = {
    "PackageName": "package",
    "FileName": "file",
    "SnippetSPDXID": "snippet",
    "LicenseID": "license",
    "Annotator": "annotation",
    "Relationship": "relationship",
}
_TAGS: dict[str, tuple[str, str, str]] = {
    "SPDXVersion": ("doc", "spdxVersion", "line"),
    "DataLicense": ("doc", "dataLicense", "line"),
    "DocumentName": ("doc", "name", "line"),
    "DocumentNamespace": ("doc", "documentNamespace", "line"),
    "DocumentComment": ("doc", "comment", "text"),
    "ExternalDocumentRef": ("doc", "externalDocumentRefs", "docref"),
    "Creator": ("doc", "creators", "creator"),
    "Created": ("doc", "created", "date"),
    "CreatorComment": ("doc", "creatorComment", "text"),
    "LicenseListVersion": ("doc", "licenseListVersion", "line"),
    "PackageName": ("package", "name", "line"),
    "PackageVersion": ("package", "versionInfo", "line"),
    "PackageDownloadLocation": ("package", "downloadLocation", "text"),
    "FilesAnalyzed": ("package", "filesAnalyzed", "bool"),
    "PackageSummary": ("package", "summary", "text"),
    "PackageSourceInfo": ("package", "sourceInfo", "text"),
    "PackageFileName": ("package", "packageFileName", "line"),
    "PackageSupplier": ("package", "supplier", "supplier"),
    "PackageOriginator": ("package", "originator", "supplier"),
    "PackageChecksum": ("package", "checksums", "checksum"),
    "PackageVerificationCode": ("package", "packageVerificationCode", "code"),
    "PackageDescription": ("package", "description", "text"),
    "PackageComment": ("package", "comment", "text"),
    "PackageLicenseDeclared": ("package", "licenseDeclared", "line"),
    "PackageLicenseConcluded": ("package", "licenseConcluded", "line"),
    "PackageLicenseInfoFromFiles": ("package", "licenseInfoFromFiles", "list"),
    "PackageLicenseComments": ("package", "licenseComments", "text"),
    "PackageCopyrightText": ("package", "copyrightText", "text"),
    "PackageHomePage": ("package", "homepage", "text"),
    "ExternalRef": ("package", "externalRefs", "extref"),
    "ExternalRefComment": ("package", "", "refcomment"),
    "PackageAttributionText": ("package", "attributionTexts", "textlist"),
    "PrimaryPackagePurpose": ("package", "primaryPackagePurpose", "line"),
    "BuiltDate": ("package", "builtDate", "date"),
    "ReleaseDate": ("package", "releaseDate", "date"),
    "ValidUntilDate": ("package", "validUntilDate", "date"),
    "FileName": ("file", "fileName", "line"),
    "FileType": ("file", "fileTypes", "list"),
    "FileChecksum": ("file", "checksums", "checksum"),
    "LicenseConcluded": ("file", "licenseConcluded", "line"),
    "LicenseInfoInFile": ("file", "licenseInfoInFiles", "list"),
    "FileCopyrightText": ("file", "copyrightText", "text"),
    "LicenseComments": ("file", "licenseComments", "text"),
    "FileComment": ("file", "comment", "text"),
    "FileNotice": ("file", "noticeText", "text"),
    "FileContributor": ("file", "fileContributors", "textlist"),
    "FileAttributionText": ("file", "attributionTexts", "textlist"),
    "SnippetSPDXID": ("snippet", "SPDXID", "line"),
    "SnippetName": ("snippet", "name", "line"),
    "SnippetComment": ("snippet", "comment", "text"),
    "SnippetCopyrightText": ("snippet", "copyrightText", "text"),
    "SnippetLicenseComments": ("snippet", "licenseComments", "text"),
    "SnippetFromFileSPDXID": ("snippet", "snippetFromFile", "line"),
    "SnippetLicenseConcluded": ("snippet", "licenseConcluded", "line"),
    "LicenseInfoInSnippet": ("snippet", "licenseInfoInSnippets", "list"),
    "SnippetAttributionText": ("snippet", "attributionTexts", "textlist"),
    "SnippetByteRange": ("snippet", "offset", "range"),
    "SnippetLineRange": ("snippet", "lineNumber", "range"),
    "LicenseID": ("license", "licenseId", "line"),
    "ExtractedText": ("license", "extractedText", "text"),
    "LicenseName": ("license", "name", "text"),
    "LicenseCrossReference": ("license", "seeAlsos", "textlist"),
    "LicenseComment": ("license", "comment", "text"),
    "Annotator": ("annotation", "annotator", "actor"),
    "AnnotationDate": ("annotation", "annotationDate", "date"),
    "AnnotationComment": ("annotation", "comment", "text"),
    "AnnotationType": ("annotation", "annotationType", "line"),
    "SPDXREF": ("annotation", "SPDXID", "line"),
    "Relationship": ("relationship", "", "relationship"),
    "RelationshipComment": ("relationship", "comment", "text"),
}
# Forms whose tag may appear once per element (spdx-tools: "Multiple values for … found").
_SINGLE_VALUED = frozenset({"line", "text", "bool", "date", "actor", "supplier", "code", "range"})
_TV_DATE_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_TV_CHECKSUM_RE = re.compile(
    r"(ADLER32|BLAKE2b-256|BLAKE2b-384|BLAKE2b-512|BLAKE3|MD2|MD4|MD5|MD6|SHA1|SHA224|SHA256|SHA384|"
    r"SHA512|SHA3-256|SHA3-384|SHA3-512):\s*([a-f0-9]*)"
)
_TV_CODE_RE = re.compile(r"([0-9a-f]{40})\s*(?:\(excludes:\s*(.+)\))?")
_TV_DOCREF_RE = re.compile(r"(.*)(\s*SHA1:\s*[a-f0-9]{40})")
_TV_RANGE_RE = re.compile(r"(\d+):(\d+)")
_TV_LINE_RE = re.compile(r"([A-Za-z]+)\s*:(.*)")


def _tag_value_lines(text: str) -> Iterator[tuple[int, str, str, bool]]:
    """(line number, tag, value, value was a <text> block); tag "" for a line that is not 'Tag: value'."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line, number = lines[i], i + 1
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _TV_LINE_RE.match(stripped)
        if match is None:
            yield number, "", stripped, False
            continue
        tag, value = match.group(1), match.group(2).strip()
        if value.startswith("<text>"):
            body = value[len("<text>") :]
            while "</text>" not in body and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            if "</text>" not in body:
                yield number, "", stripped, False  # an unterminated text block
                continue
            content, _, after = body.partition("</text>")
            if (
                "<text>" in content or after.strip()
            ):  # left open into the next block, or trailing junk
                yield number, "", stripped, False
                continue
            yield number, tag, content, True
            continue
        yield number, tag, value, False


def tag_value_document(text: str) -> tuple[dict[str, Any], list[SpdxProblem]]:
    """An SPDX 2 tag-value document read into the JSON shape :func:`spdx2_problems` checks, plus what
    spdx-tools' tag-value parser itself refuses (unknown tags, a tag outside its element, a value not of
    its tag's form)."""
    doc: dict[str, Any] = {}
    info: dict[str, Any] = {}
    problems: list[SpdxProblem] = []
    current: dict[str, Any] | None = None
    kind = ""
    last_package: dict[str, Any] | None = None
    relationships: list[dict[str, Any]] = doc.setdefault("relationships", [])

    def bad(number: int, tag: str, message: str, rule: str = "parse-tag") -> None:
        problems.append(SpdxProblem(rule, "", f"line {number}: {tag}: {message}"))

    for number, tag, value, is_text in _tag_value_lines(text):
        if not tag:
            bad(number, "", f"{value[:60]!r} is not a 'Tag: value' line")
            continue
        if tag == "SPDXID":
            if "SPDXID" not in doc:
                doc["SPDXID"] = value
            elif current is not None:
                current["SPDXID"] = value
            continue
        spec = _TAGS.get(tag)
        if spec is None:
            bad(number, tag, "unknown tag")
            continue
        owner, key, form = spec
        if tag in _START_TAGS:
            kind = _START_TAGS[tag]
            current = {}
            if kind == "package":
                doc.setdefault("packages", []).append(current)
                last_package = current
            elif kind == "file":
                doc.setdefault("files", []).append(current)
                current["_after_package"] = last_package
            elif kind == "snippet":
                doc.setdefault("snippets", []).append(current)
            elif kind == "license":
                doc.setdefault("hasExtractedLicensingInfos", []).append(current)
            elif kind == "annotation":
                doc.setdefault("annotations", []).append(current)
            elif kind == "relationship":
                relationships.append(current)
        if owner == "doc":
            target = (
                info
                if key in ("creators", "created", "licenseListVersion", "creatorComment")
                else doc
            )
        elif current is None or owner != kind:
            bad(
                number,
                tag,
                f"outside a {owner} (the tag that starts one is missing)",
                "parse-scope",
            )
            continue
        else:
            target = current
        _tv_value(
            target,
            key,
            form,
            value,
            is_text,
            lambda m, n=number, t=tag: bad(n, t, m, "parse-value"),
        )
    if info:
        doc["creationInfo"] = {
            ("comment" if k == "creatorComment" else k): v for k, v in info.items()
        }
    for file in doc.get("files", []):
        package = file.pop("_after_package", None)
        if package is not None and isinstance(package.get("SPDXID"), str):
            relationships.append(
                {
                    "spdxElementId": package["SPDXID"],
                    "relationshipType": "CONTAINS",
                    "relatedSpdxElement": file.get("SPDXID"),
                    "_implied": True,
                }
            )
    problems.extend(
        SpdxProblem("parse-missing", "", "an annotation has no SPDXREF (the element it is about)")
        for annotation in doc.get("annotations", [])
        if "SPDXID" not in annotation
    )
    for snippet in doc.get("snippets", []):
        ranges = [
            {"startPointer": {k: r[0]}, "endPointer": {k: r[1]}}
            for k in ("offset", "lineNumber")
            if (r := snippet.pop(k, None)) is not None
        ]
        if ranges:
            snippet["ranges"] = ranges
    return doc, problems


def _tv_value(
    target: dict[str, Any],
    key: str,
    form: str,
    value: str,
    is_text: bool,
    bad: Any,
) -> None:
    if not value and not is_text:
        bad("no value")
        return
    if key and key in target and form in _SINGLE_VALUED:
        bad("given twice for one element")
        return
    if form in ("line", "text"):
        if form == "line" and is_text:
            bad("a <text> block where one line is expected")
            return
        target[key] = value
    elif form in ("list", "textlist"):
        target.setdefault(key, []).append(value)
    elif form == "bool":
        if value not in ("true", "false"):
            bad(f"{value!r} is not true or false")
            return
        target[key] = value == "true"
    elif form == "date":
        # The checker reports a value that is no date; one that only the tag-value form refuses
        # (single-digit fields) is reported here.
        target[key] = value
        if not _TV_DATE_RE.fullmatch(value) and _created_ok(value):
            bad(f"{value!r} is not YYYY-MM-DDThh:mm:ssZ")
    elif form in ("creator", "actor", "supplier"):
        if form == "supplier" and value == NOASSERTION:
            target[key] = value
            return
        allowed = (
            ("Person:", "Organization:")
            if form == "supplier"
            else ("Tool:", "Person:", "Organization:")
        )
        if not value.startswith(allowed):
            bad(f"{value!r} is not {' or '.join(allowed)} …")
            return
        if form == "creator":
            target.setdefault(key, []).append(value)
        else:
            target[key] = value
    elif form == "checksum":
        match = _TV_CHECKSUM_RE.fullmatch(value)
        if match is None:
            bad(f"{value!r} is not ALGORITHM: lower-case hex")
            return
        target.setdefault(key, []).append(
            {"algorithm": match.group(1), "checksumValue": match.group(2)}
        )
    elif form == "code":
        match = _TV_CODE_RE.match(value)  # a prefix, as spdx-tools reads it
        if match is None:
            bad(f"{value!r} is not a verification code")
            return
        excluded = match.group(2).split(",") if match.group(2) else []
        target[key] = {
            "packageVerificationCodeValue": match.group(1),
            "packageVerificationCodeExcludedFiles": excluded,
        }
    elif form == "extref":
        parts = value.split(" ")
        if len(parts) != 3:
            bad(f"{value!r} is not CATEGORY TYPE LOCATOR (single spaces)")
            return
        target.setdefault(key, []).append(
            {"referenceCategory": parts[0], "referenceType": parts[1], "referenceLocator": parts[2]}
        )
    elif form == "refcomment":
        refs = target.get("externalRefs")
        if not refs:
            bad("a comment without an ExternalRef before it")
            return
        refs[-1]["comment"] = value
    elif form == "docref":
        match = _TV_DOCREF_RE.match(value)
        parts = match.group(1).strip().split(" ") if match else []
        if match is None or len(parts) != 2:
            bad(f"{value!r} is not DocumentRef-ID URI SHA1: hex")
            return
        target.setdefault(key, []).append(
            {
                "externalDocumentId": parts[0],
                "spdxDocument": parts[1],
                "checksum": {
                    "algorithm": "SHA1",
                    "checksumValue": match.group(2).split(":")[1].strip(),
                },
            }
        )
    elif form == "range":
        match = _TV_RANGE_RE.fullmatch(value)
        if match is None:
            bad(f"{value!r} is not START:END")
            return
        target[key] = (int(match.group(1)), int(match.group(2)))
    elif form == "relationship":
        parts = value.split()
        if len(parts) != 3:
            bad(f"{value!r} is not ID TYPE ID")
            return
        target.update(
            spdxElementId=parts[0], relationshipType=parts[1], relatedSpdxElement=parts[2]
        )


__all__ = [
    "SpdxProblem",
    "absolute_uri_ok",
    "actor_problem",
    "download_location_ok",
    "spdx2_problems",
    "tag_value_document",
    "url_ok",
]
