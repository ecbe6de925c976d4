"""Fast SBOM readers: one pass of ``json.loads`` / defusedxml / a line scanner, minimal extraction.

Reads SPDX 2.2/2.3 JSON, SPDX 2 tag-value, SPDX 3.0 JSON-LD, CycloneDX 1.x JSON and XML into a frozen
:class:`SbomSummary` (format, version, creation time, component count, purls, licences and the image
digests the SBOM says it describes). Reading never validates against a schema (see ``validate.py``) and
accepts what real generators emit: fractional-second ``created`` (Trivy, syft), files without checksums,
packages without ``downloadLocation``. What is odd but readable becomes a *problem* in the summary;
what cannot be read at all raises :class:`~verifier.errors.InputError` naming the document.

Bounds: the caller caps the size of the bytes (``MAX_SBOM_BYTES`` by default), ``json.loads`` turns
excessive nesting into an error, and XML with any DTD (so any entity declaration) is refused by defusedxml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from verifier._internal.text import MIB, human_size, parse_json
from verifier.errors import InputError
from verifier.sbom.licenses import NOT_LICENSES, license_ids

# Real SBOMs of large images are 5-30 MB (syft with files, 1,000s of packages); 128 MiB leaves headroom
# while refusing a multi-hundred-MB document before it is parsed.
MAX_SBOM_BYTES = 128 * MIB
# Problems kept per document: enough to fix a document, bounded for a hostile one.
MAX_PROBLEMS = 50

SPDX = "spdx"
CYCLONEDX = "cyclonedx"

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)
_CDX_NS = re.compile(r"\{http://cyclonedx\.org/schema/bom/(\d+\.\d+)\}bom")


@dataclass(frozen=True, slots=True)
class SbomSummary:
    """What a policy needs to know about one SBOM. Built by the readers below; never mutated."""

    format: str  # "spdx" | "cyclonedx"
    spec_version: str  # "2.3", "3.0.1", "1.6", ...
    encoding: str  # "json" | "xml" | "tag-value" | "json-ld"
    name: str | None
    created: str | None  # normalised to UTC "YYYY-MM-DDTHH:MM:SSZ"; None when absent or unreadable
    component_count: int
    purls: tuple[str, ...]
    licenses: tuple[str, ...]  # licence expressions as written (NOASSERTION/NONE left out)
    license_ids: tuple[
        str, ...
    ]  # the identifiers inside those expressions, normalised (sbom.licenses)
    described_digests: tuple[
        str, ...
    ]  # manifest digests the SBOM claims to describe (never ImageID)
    problems: tuple[str, ...] = field(default=())
    # (name, version) of the components that have no package URL ("group/name" when a group is given):
    # package rules match them by name. Not in to_dict: the rules' matches are the facts.
    without_purl: tuple[tuple[str, str], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists, not tuples)."""
        return {
            "format": self.format,
            "spec_version": self.spec_version,
            "encoding": self.encoding,
            "name": self.name,
            "created": self.created,
            "component_count": self.component_count,
            "purls": list(self.purls),
            "licenses": list(self.licenses),
            "license_ids": list(self.license_ids),
            "described_digests": list(self.described_digests),
            "problems": list(self.problems),
        }


class _Collector:
    """Accumulates extraction results and bounded problems for one document."""

    def __init__(self) -> None:
        self.purls: set[str] = set()
        self.without_purl: set[tuple[str, str]] = set()
        self.licenses: set[str] = set()
        self.digests: set[str] = set()
        self.problems: list[str] = []
        self.dropped = 0

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)
        else:
            self.dropped += 1

    def license(self, expr: object) -> None:
        if isinstance(expr, str):
            expr = expr.strip()
            if expr not in NOT_LICENSES:
                self.licenses.add(expr)

    def purl(self, value: object, where: str) -> bool:
        """Record a purl; False (and a problem when something else was written) when it is not one."""
        if isinstance(value, str) and value.startswith("pkg:"):
            self.purls.add(value)
            return True
        if value is not None:
            self.problem(f"{where}: purl {_short(value)} is not a package URL")
        return False

    def named(self, name: object, version: object, group: object = None) -> None:
        """A component without a purl, kept by name (and group) for package rules."""
        if isinstance(name, str) and name.strip():
            full = f"{group.strip()}/{name.strip()}" if isinstance(group, str) and group else name
            self.without_purl.add(
                (full.strip(), version.strip() if isinstance(version, str) else "")
            )

    def finish(
        self, *, fmt: str, version: str, encoding: str, name: object, created: object, count: int
    ) -> SbomSummary:
        created_norm: str | None = None
        if created is None:
            if fmt == SPDX:  # required by SPDX; optional in CycloneDX
                self.problem("no creation time")
        else:
            created_norm = normalize_time(created)
            if created_norm is None:
                self.problem(f"creation time {_short(created)} is not an RFC 3339 date-time")
        problems = list(self.problems)
        if self.dropped:
            problems.append(f"... and {self.dropped} more problems")
        return SbomSummary(
            format=fmt,
            spec_version=version,
            encoding=encoding,
            name=name if isinstance(name, str) else None,
            created=created_norm,
            component_count=count,
            purls=tuple(sorted(self.purls)),
            licenses=tuple(sorted(self.licenses)),
            license_ids=license_ids(self.licenses),
            described_digests=tuple(sorted(self.digests)),
            problems=tuple(problems),
            without_purl=tuple(sorted(self.without_purl)),
        )


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def normalize_time(value: object) -> str | None:
    """RFC 3339 (fractional seconds and offsets allowed) -> UTC ``YYYY-MM-DDTHH:MM:SSZ``; None if not."""
    if not isinstance(value, str):
        return None
    m = _RFC3339.fullmatch(value.strip())
    if not m:
        return None
    try:
        moment = datetime(
            int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), tzinfo=UTC
        )
    except ValueError:
        return None
    if m[9]:
        offset = timedelta(hours=int(m[10]), minutes=int(m[11]))
        try:
            moment = moment - offset if m[9] == "+" else moment + offset
        except OverflowError:  # 9999-12-31T23:59:59-01:00 is past the last datetime
            return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _oci_purl_digest(purl: str) -> str | None:
    """``pkg:oci/name@sha256%3A<hex>?...`` -> ``sha256:<hex>`` (the version of an OCI purl is the digest)."""
    if not purl.startswith("pkg:oci/"):
        return None
    at = purl.find("@")
    if at < 0:
        return None
    version = (
        purl[at + 1 :].split("?", 1)[0].split("#", 1)[0].replace("%3A", ":").replace("%3a", ":")
    )
    return version if _DIGEST.fullmatch(version) else None


def _ref_digest(value: object) -> str | None:
    """``repo@sha256:<hex>`` (Trivy RepoDigest) or a bare ``sha256:<hex>`` -> the digest."""
    if not isinstance(value, str):
        return None
    candidate = value.rsplit("@", 1)[-1].strip()
    return candidate if _DIGEST.fullmatch(candidate) else None


# ---------------------------------------------------------------------------------------------- entry


@dataclass(frozen=True, slots=True)
class LoadedSbom:
    """A read SBOM: its summary, and the parsed JSON document when it is JSON (for validation)."""

    summary: SbomSummary
    document: object = None


def load_sbom(data: bytes | str, name: str, *, max_bytes: int = MAX_SBOM_BYTES) -> LoadedSbom:
    """Read one SBOM of any supported format from bytes. ``name`` is used in every error message."""
    size = len(data)
    if size > max_bytes:
        raise InputError(
            name, f"SBOM is {human_size(size)}, over the limit of {human_size(max_bytes)}"
        )
    sample = data[:512] if isinstance(data, str) else data[:512].decode("utf-8", "replace")
    head = sample.lstrip("\ufeff \t\r\n")
    if not head:
        raise InputError(name, "empty document")
    if head[0] in "{[":
        doc = parse_json(data, name)
        return LoadedSbom(summarize_json(doc, name), doc)
    if head[0] == "<":
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return LoadedSbom(read_cyclonedx_xml(raw, name))
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(name, f"not UTF-8 text (byte {exc.start})") from None
    if re.search(r"^\s*SPDXVersion\s*:", text[:4096], re.MULTILINE):
        return LoadedSbom(read_spdx_tag_value(text, name))
    raise InputError(
        name, "not an SBOM: neither JSON, XML nor SPDX tag-value (no 'SPDXVersion:' line)"
    )


def read_sbom(data: bytes | str, name: str, *, max_bytes: int = MAX_SBOM_BYTES) -> SbomSummary:
    """Like :func:`load_sbom`, summary only."""
    return load_sbom(data, name, max_bytes=max_bytes).summary


def summarize_json(doc: object, name: str) -> SbomSummary:
    """Summarise an already-parsed JSON SBOM (a file, or an attestation predicate)."""
    if not isinstance(doc, dict):
        raise InputError(
            name, f"not an SBOM: top-level JSON is {type(doc).__name__}, not an object"
        )
    if doc.get("bomFormat") == "CycloneDX" or (
        "specVersion" in doc and "components" in doc and "spdxVersion" not in doc
    ):
        return _cyclonedx_json(doc, name)
    if "spdxVersion" in doc:
        return _spdx2_json(doc, name)
    if "@graph" in doc or "@context" in doc:
        return _spdx3_jsonld(doc, name)
    raise InputError(
        name, "not an SBOM: JSON has no 'bomFormat', 'spdxVersion' or '@context'/'@graph'"
    )


# ------------------------------------------------------------------------------------------ CycloneDX


def _cyclonedx_json(doc: dict[str, Any], name: str) -> SbomSummary:
    c = _Collector()
    if doc.get("bomFormat") != "CycloneDX":
        c.problem(f"bomFormat is {_short(doc.get('bomFormat'))}, not 'CycloneDX'")
    version = doc.get("specVersion")
    if not isinstance(version, str):
        raise InputError(name, f"CycloneDX specVersion is {_short(version)}, not a string")
    metadata = doc.get("metadata")
    created: object = None
    root_name: object = None
    if isinstance(metadata, dict):
        created = metadata.get("timestamp")
        component = metadata.get("component")
        if isinstance(component, dict):
            root_name = component.get("name")
            _cdx_root_digests(component, c)
    elif metadata is not None:
        c.problem("metadata is not an object")
    count = 0
    components = doc.get("components", [])
    if not isinstance(components, list):
        raise InputError(name, f"CycloneDX components is {type(components).__name__}, not an array")
    stack: list[tuple[list[Any], str]] = [(components, "components")]
    while stack:
        items, where = stack.pop()
        for i, comp in enumerate(items):
            here = f"{where}[{i}]"
            if not isinstance(comp, dict):
                c.problem(f"{here} is not an object")
                continue
            count += 1
            if not isinstance(comp.get("name"), str):
                c.problem(f"{here}: name is {_short(comp.get('name'))}, not a string")
            if not c.purl(comp.get("purl"), here):
                c.named(comp.get("name"), comp.get("version"), comp.get("group"))
            _cdx_licenses(comp.get("licenses"), c, here)
            nested = comp.get("components")
            if isinstance(nested, list):
                stack.append((nested, f"{here}.components"))
    return c.finish(
        fmt=CYCLONEDX,
        version=version,
        encoding="json",
        name=root_name,
        created=created,
        count=count,
    )


def _cdx_root_digests(component: Mapping[str, Any], c: _Collector) -> None:
    """Image digests claimed by metadata.component: an OCI purl, a digest version (syft), Trivy's RepoDigest."""
    purl = component.get("purl")
    if isinstance(purl, str):
        digest = _oci_purl_digest(purl)
        if digest:
            c.digests.add(digest)
    if component.get("type") == "container":
        digest = _ref_digest(component.get("version"))
        if digest:
            c.digests.add(digest)
    properties = component.get("properties")
    if isinstance(properties, list):
        for prop in properties:
            if isinstance(prop, dict) and prop.get("name") == "aquasecurity:trivy:RepoDigest":
                digest = _ref_digest(prop.get("value"))
                if digest:
                    c.digests.add(digest)


def _cdx_licenses(licenses: object, c: _Collector, where: str) -> None:
    if licenses is None:
        return
    if not isinstance(licenses, list):
        c.problem(f"{where}: licenses is not an array")
        return
    for entry in licenses:
        if not isinstance(entry, dict):
            continue
        if "expression" in entry:
            c.license(entry["expression"])
        lic = entry.get("license")
        if isinstance(lic, dict):
            c.license(lic.get("id") if lic.get("id") is not None else lic.get("name"))


def read_cyclonedx_xml(data: bytes, name: str) -> SbomSummary:
    """CycloneDX XML through defusedxml (no DTDs, no entities, no external references)."""
    import xml.etree.ElementTree as ET  # noqa: N817, S405 - only for the types; parsing is defusedxml

    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(
            name, f"XML refused: {exc} (DTDs and entities are not allowed in an SBOM)"
        ) from None
    except ET.ParseError as exc:
        raise InputError(name, f"not well-formed XML: {exc}") from None
    except LookupError as exc:  # expat looks up the encoding the XML declaration names
        raise InputError(name, f"XML in an unknown encoding: {exc}") from None
    m = _CDX_NS.fullmatch(root.tag)
    if not m:
        raise InputError(name, f"not a CycloneDX XML BOM: root element is {root.tag!r}")
    version = m[1]
    ns = "{http://cyclonedx.org/schema/bom/" + version + "}"
    c = _Collector()
    created: object = None
    root_name: object = None
    metadata = root.find(ns + "metadata")
    if metadata is not None:
        ts = metadata.find(ns + "timestamp")
        created = ts.text if ts is not None else None
        component = metadata.find(ns + "component")
        if component is not None:
            root_name = component.findtext(ns + "name")
            _cdx_root_digests(_xml_component_dict(component, ns), c)
    count = 0
    components = root.find(ns + "components")
    stack: list[tuple[ET.Element, str]] = (
        [(components, "components")] if components is not None else []
    )
    while stack:
        parent, where = stack.pop()
        for i, comp in enumerate(parent.iterfind(ns + "component")):
            here = f"{where}/component[{i}]"
            count += 1
            if comp.find(ns + "name") is None:
                c.problem(f"{here}: no name")
            purl = comp.findtext(ns + "purl")
            if not c.purl(purl.strip() if purl is not None else None, here):
                c.named(
                    comp.findtext(ns + "name"),
                    comp.findtext(ns + "version"),
                    comp.findtext(ns + "group"),
                )
            licenses = comp.find(ns + "licenses")
            if licenses is not None:
                for child in licenses:
                    if child.tag == ns + "expression":
                        c.license(child.text)
                    elif child.tag == ns + "license":
                        lic_id = child.findtext(ns + "id")
                        c.license(lic_id if lic_id is not None else child.findtext(ns + "name"))
            nested = comp.find(ns + "components")
            if nested is not None:
                stack.append((nested, f"{here}/components"))
    return c.finish(
        fmt=CYCLONEDX, version=version, encoding="xml", name=root_name, created=created, count=count
    )


def _xml_component_dict(component: Any, ns: str) -> dict[str, Any]:
    props = component.find(ns + "properties")
    return {
        "type": component.get("type"),
        "version": component.findtext(ns + "version"),
        "purl": component.findtext(ns + "purl"),
        "properties": [
            {"name": p.get("name"), "value": p.text} for p in (props if props is not None else [])
        ],
    }


# ------------------------------------------------------------------------------------------- SPDX 2


_SPDX2_VERSION = re.compile(r"SPDX-(2\.\d+)")


def _spdx2_json(doc: dict[str, Any], name: str) -> SbomSummary:
    c = _Collector()
    raw_version = doc.get("spdxVersion")
    m = _SPDX2_VERSION.fullmatch(raw_version) if isinstance(raw_version, str) else None
    if not m:
        raise InputError(name, f"spdxVersion is {_short(raw_version)}, not SPDX-2.x")
    info = doc.get("creationInfo")
    created: object = None
    if isinstance(info, dict):
        created = info.get("created")
    else:
        c.problem("no creationInfo object")
    packages = doc.get("packages", [])
    if not isinstance(packages, list):
        raise InputError(name, f"SPDX packages is {type(packages).__name__}, not an array")
    described = doc.get("documentDescribes")
    described_ids = (
        {d for d in described if isinstance(d, str)} if isinstance(described, list) else set()
    )
    if isinstance(described, list) and not all(isinstance(d, str) for d in described):
        c.problem("documentDescribes holds a value that is not an SPDX id string")
    count = 0
    for i, pkg in enumerate(packages):
        here = f"packages[{i}]"
        if not isinstance(pkg, dict):
            c.problem(f"{here} is not an object")
            continue
        count += 1
        if not isinstance(pkg.get("name"), str):
            c.problem(f"{here}: name is {_short(pkg.get('name'))}, not a string")
        if not isinstance(pkg.get("SPDXID"), str):
            c.problem(f"{here}: no SPDXID")
        c.license(pkg.get("licenseConcluded"))
        c.license(pkg.get("licenseDeclared"))
        refs = pkg.get("externalRefs")
        has_purl = False
        if isinstance(refs, list):
            for ref in refs:
                if isinstance(ref, dict) and ref.get("referenceType") == "purl":
                    has_purl = c.purl(ref.get("referenceLocator"), here) or has_purl
        if not has_purl:
            c.named(pkg.get("name"), pkg.get("versionInfo"))
        if _spdx2_is_image(pkg, described_ids):
            _spdx2_image_digests(pkg, c)
            for ref in refs if isinstance(refs, list) else ():
                if isinstance(ref, dict) and ref.get("referenceType") == "purl":
                    digest = _oci_purl_digest(str(ref.get("referenceLocator")))
                    if digest:
                        c.digests.add(digest)
    return c.finish(
        fmt=SPDX, version=m[1], encoding="json", name=doc.get("name"), created=created, count=count
    )


def _spdx2_is_image(pkg: Mapping[str, Any], described: set[str]) -> bool:
    spdx_id = pkg.get("SPDXID")
    return pkg.get("primaryPackagePurpose") == "CONTAINER" or (
        isinstance(spdx_id, str) and ("ContainerImage" in spdx_id or spdx_id in described)
    )


def _spdx2_image_digests(pkg: Mapping[str, Any], c: _Collector) -> None:
    """Digests the image package claims: syft's ``versionInfo: sha256:...``, Trivy's ``RepoDigest: ...``."""
    digest = _ref_digest(pkg.get("versionInfo"))
    if digest and str(pkg.get("name", "")).find("/") >= 0:
        c.digests.add(digest)
    texts = pkg.get("attributionTexts")
    if isinstance(texts, list):
        for text in texts:
            if isinstance(text, str) and text.startswith("RepoDigest:"):
                d = _ref_digest(text.split(":", 1)[1])
                if d:
                    c.digests.add(d)
    annotations = pkg.get("annotations")
    if isinstance(annotations, list):
        for ann in annotations:
            comment = ann.get("comment") if isinstance(ann, dict) else None
            if isinstance(comment, str) and comment.startswith("RepoDigest:"):
                d = _ref_digest(comment.split(":", 1)[1])
                if d:
                    c.digests.add(d)


def _tag_value_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, tag, value) of an SPDX tag-value document; ``<text>...</text>`` values joined."""
    lines = text.splitlines()
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        tag, sep, value = stripped.partition(":")
        if not sep:
            yield i, "", stripped
            continue
        value = value.strip()
        if value.startswith("<text>") and "</text>" not in value:
            start = i
            parts = [value]
            while i < n and "</text>" not in lines[i]:
                parts.append(lines[i])
                i += 1
            if i < n:
                parts.append(lines[i])
                i += 1
            value = "\n".join(parts)
            yield start, tag.strip(), value
            continue
        yield i, tag.strip(), value


def read_spdx_tag_value(text: str, name: str) -> SbomSummary:
    """SPDX 2 tag-value: a line scanner over the tags a policy needs."""
    c = _Collector()
    version: str | None = None
    created: object = None
    doc_name: object = None
    count = 0
    in_package = False
    pkg_name: str | None = None
    pkg_version: str | None = None
    pkg_purpose: str | None = None
    pkg_attributions: list[str] = []
    pkg_purls: list[str] = []
    bad_lines = 0

    def close_package() -> None:
        if in_package and not pkg_purls:
            c.named(pkg_name, pkg_version)
        if (
            in_package
            and pkg_name
            and pkg_version
            and (pkg_purpose == "CONTAINER" or "/" in pkg_name)
        ):
            _spdx2_image_digests(
                {
                    "name": pkg_name,
                    "versionInfo": pkg_version,
                    "attributionTexts": pkg_attributions,
                },
                c,
            )
        elif in_package and pkg_attributions and pkg_purpose == "CONTAINER":
            _spdx2_image_digests({"attributionTexts": pkg_attributions}, c)
        if in_package and pkg_purpose == "CONTAINER":
            for purl in pkg_purls:
                digest = _oci_purl_digest(purl)
                if digest:
                    c.digests.add(digest)

    for lineno, tag, value in _tag_value_lines(text):
        if not tag:
            bad_lines += 1
            if bad_lines <= 3:
                c.problem(f"line {lineno}: not a 'Tag: value' line")
            continue
        if tag == "SPDXVersion":
            m = _SPDX2_VERSION.fullmatch(value)
            if not m:
                raise InputError(name, f"line {lineno}: SPDXVersion is {value!r}, not SPDX-2.x")
            version = m[1]
        elif tag == "DocumentName":
            doc_name = value
        elif tag == "Created":
            created = value
        elif tag == "PackageName":
            close_package()
            in_package = True
            count += 1
            pkg_name, pkg_version, pkg_purpose, pkg_attributions = value, None, None, []
            pkg_purls = []
        elif tag in ("FileName", "SnippetSPDXID", "LicenseID"):
            close_package()
            in_package = False
        elif not in_package:
            continue
        elif tag in ("PackageLicenseConcluded", "PackageLicenseDeclared"):
            c.license(value)
        elif tag == "PackageVersion":
            pkg_version = value
        elif tag == "PrimaryPackagePurpose":
            pkg_purpose = value
        elif tag == "PackageAttributionText":
            pkg_attributions.append(value.removeprefix("<text>").removesuffix("</text>"))
        elif tag == "ExternalRef":
            parts = value.split(None, 2)
            if len(parts) == 3 and parts[1] == "purl":
                if c.purl(parts[2], f"line {lineno}"):
                    pkg_purls.append(parts[2])
    close_package()
    if version is None:
        raise InputError(name, "SPDX tag-value without an SPDXVersion line")
    return c.finish(
        fmt=SPDX, version=version, encoding="tag-value", name=doc_name, created=created, count=count
    )


# ------------------------------------------------------------------------------------------- SPDX 3


def _spdx3_jsonld(doc: dict[str, Any], name: str) -> SbomSummary:
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if not any(isinstance(x, str) and "spdx.org/rdf/3." in x for x in contexts):
        raise InputError(name, f"JSON-LD @context {_short(context)} is not an SPDX 3 context")
    graph = doc.get("@graph")
    if not isinstance(graph, list):
        raise InputError(name, "SPDX 3 document has no @graph array")
    c = _Collector()
    infos: dict[str, Mapping[str, Any]] = {}
    licenses: dict[str, str] = {}
    packages: dict[str, Mapping[str, Any]] = {}
    document: Mapping[str, Any] | None = None
    license_links: list[tuple[str, list[Any]]] = []
    for i, element in enumerate(graph):
        if not isinstance(element, dict):
            c.problem(f"@graph[{i}] is not an object")
            continue
        kind = element.get("type") or element.get("@type")
        ident = element.get("spdxId") or element.get("@id")
        if kind == "CreationInfo" and isinstance(ident, str):
            infos[ident] = element
        elif kind == "SpdxDocument":
            document = element
        elif kind == "software_Package" and isinstance(ident, str):
            packages[ident] = element
        elif kind == "simplelicensing_LicenseExpression" and isinstance(ident, str):
            expr = element.get("simplelicensing_licenseExpression")
            if isinstance(expr, str):
                licenses[ident] = expr
        elif kind == "Relationship" and element.get("relationshipType") in (
            "hasDeclaredLicense",
            "hasConcludedLicense",
        ):
            to = element.get("to")
            source = element.get("from")
            if isinstance(source, str) and isinstance(to, list):
                license_links.append((source, to))
    roots = set(document.get("rootElement") or []) if document else set()
    for ident, pkg in packages.items():
        purl = pkg.get("software_packageUrl")
        has_purl = c.purl(purl, ident)
        if ident in roots or pkg.get("software_primaryPurpose") == "container":
            digest = _oci_purl_digest(purl) if isinstance(purl, str) else None
            if digest:
                c.digests.add(digest)
        ids = pkg.get("externalIdentifier")
        if isinstance(ids, list):
            for ext in ids:
                if isinstance(ext, dict) and ext.get("externalIdentifierType") == "packageUrl":
                    has_purl = c.purl(ext.get("identifier"), ident) or has_purl
        if not has_purl:
            c.named(pkg.get("name"), pkg.get("software_packageVersion"))
    for source, targets in license_links:
        if source in packages:
            for target in targets:
                if isinstance(target, str) and target in licenses:
                    c.license(licenses[target])
    info: object = document.get("creationInfo") if document else None
    if isinstance(info, str):
        info = infos.get(info)
    if not isinstance(info, Mapping) and infos:
        info = next(iter(infos.values()))
    if document is None:
        c.problem("no SpdxDocument element in @graph")
    version = info.get("specVersion") if isinstance(info, Mapping) else None
    if not isinstance(version, str) or not version.startswith("3."):
        raise InputError(name, f"SPDX 3 CreationInfo specVersion is {_short(version)}, not 3.x")
    return c.finish(
        fmt=SPDX,
        version=version,
        encoding="json-ld",
        name=document.get("name") if document else None,
        created=info.get("created") if isinstance(info, Mapping) else None,
        count=len(packages),
    )
