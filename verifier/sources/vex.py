"""VEX documents (OpenVEX, CycloneDX VEX in JSON or XML, CSAF VEX) read into normalised statements.

``parse_vex`` is pure (bytes in); ``load_vex`` reads a file through :mod:`verifier.sources.files`
(bounded size). A document that is not one of the three formats, or is malformed, raises
:class:`~verifier.errors.InputError` naming the file: a ``--vex`` file that cannot be understood must
stop the run, never silently suppress nothing (or everything).

Format detection follows Trivy (``pkg/vex/document.go``): CycloneDX (``bomFormat: CycloneDX``, or an
XML ``<bom>`` in a CycloneDX namespace) first, then OpenVEX (``@context``), then CSAF (``document`` +
``vulnerabilities``).

Only the statuses ``not_affected`` and ``fixed`` suppress a finding. Normalised statuses:

* OpenVEX: its own four values (``not_affected``, ``affected``, ``fixed``, ``under_investigation``);
  anything else is an error.
* CycloneDX ``analysis.state`` (Trivy's ``cdxStatus``): ``not_affected`` and ``false_positive`` ->
  ``not_affected``; ``resolved`` and ``resolved_with_pedigree`` -> ``fixed``; ``exploitable`` ->
  ``affected``; ``in_triage`` -> ``under_investigation``; no analysis/state -> ``unknown``.
* CSAF ``product_status``: ``known_not_affected`` -> ``not_affected``; ``fixed`` -> ``fixed``;
  ``known_affected``/``first_affected``/``last_affected`` -> ``affected``; ``under_investigation``.
  ``first_fixed`` and ``recommended`` are not used (Trivy ignores them too).
* CSAF documents whose ``document.category`` is not ``csaf_vex`` (for instance a
  ``csaf_security_advisory``) raise ``InputError``: they are advisories, not exploitability statements,
  and must not be a suppression source.

Which finding a statement suppresses is judged by the check (:mod:`verifier.checks.sarif_waivers`, with
Trivy's matching rules); this module only reads documents. Two reading choices shape what can match:

* CycloneDX ``affects[].ref`` BOM-Links (``urn:cdx:serial/version#bom-ref``) and local bom-refs are resolved
  to the component's purl where the document gives one; an ``affects`` entry whose ``versions`` list gives
  the package's own version a status other than ``unaffected`` is dropped (towards not suppressing).
* CSAF product ids are resolved to purls through ``product_identification_helper.purl`` anywhere in the
  product tree; relationships (``default_component_of``, ``installed_on``, ``installed_with``) become a
  product (``relates_to_product_reference``) with a subcomponent (``product_reference``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element  # noqa: S405 - type only; parsing goes through defusedxml

from verifier.errors import InputError
from verifier.sources.files import DEFAULT_MAX_BYTES, parse_json, read_bytes
from verifier.sources.trivyignore import parse_purl

__all__ = [
    "STATUSES",
    "SUPPRESSING_STATUSES",
    "VexDocument",
    "VexStatement",
    "load_vex",
    "parse_vex",
]

STATUSES = ("not_affected", "fixed", "affected", "under_investigation", "unknown")
SUPPRESSING_STATUSES = frozenset({"not_affected", "fixed"})

_OPENVEX_STATUSES = frozenset({"not_affected", "affected", "fixed", "under_investigation"})
_CDX_STATES = {
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "exploitable": "affected",
    "in_triage": "under_investigation",
    "false_positive": "not_affected",
    "not_affected": "not_affected",
}
_CSAF_STATUSES = {
    "known_not_affected": "not_affected",
    "fixed": "fixed",
    "known_affected": "affected",
    "first_affected": "affected",
    "last_affected": "affected",
    "under_investigation": "under_investigation",
}
_CSAF_RELATIONSHIPS = frozenset({"default_component_of", "installed_on", "installed_with"})
_CDX_XML_NS = re.compile(r"\{http://cyclonedx\.org/schema/bom/\d+\.\d+\}")


@dataclass(frozen=True)
class VexStatement:
    """One VEX statement, normalised across formats.

    ``products`` are purls or other identifiers (OpenVEX ``@id``/identifiers/hashes, unresolved
    CycloneDX bom-refs). When ``subcomponents`` is non-empty the statement applies to those components
    *inside* one of ``products`` (see the module docstring); when ``products`` is empty it applies to
    nothing. ``timestamp`` is the OpenVEX statement time (or the document's); ``entry`` is the index of
    the source entry (OpenVEX statement, CycloneDX or CSAF vulnerability) in its document.
    """

    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[str, ...]
    status: str
    justification: str | None
    source: str
    subcomponents: tuple[str, ...] = ()
    timestamp: datetime.datetime | None = None
    entry: int = 0


@dataclass(frozen=True)
class VexDocument:
    """A parsed VEX document: ``format`` is ``openvex``, ``cyclonedx`` or ``csaf``."""

    format: str
    statements: tuple[VexStatement, ...]

    @cached_property
    def by_vulnerability(self) -> dict[str, tuple[VexStatement, ...]]:
        """Statements per vulnerability id, in document order (OpenVEX aliases included)."""
        index: dict[str, list[VexStatement]] = {}
        for stmt in self.statements:
            keys = {stmt.vulnerability}
            if self.format == "openvex":
                keys.update(stmt.aliases)
            for key in keys:
                index.setdefault(key, []).append(stmt)
        return {k: tuple(v) for k, v in index.items()}


# ------------------------------------------------------------------------------------------- loading


def load_vex(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> VexDocument:
    """Read (size-capped) and parse one VEX file."""
    name = str(path)
    return parse_vex(read_bytes(name, max_bytes), name)


def parse_vex(data: bytes, name: str) -> VexDocument:
    """Parse OpenVEX / CycloneDX (JSON or XML) / CSAF VEX. Raises ``InputError(name, ...)`` if the
    document is of another kind or malformed (CSAF documents that are not ``csaf_vex`` included)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return _parse_cyclonedx_xml(data, name)
    doc = parse_json(data, name)
    if not isinstance(doc, dict):
        raise InputError(name, f"not a VEX document: top level is a JSON {_json_kind(doc)}")
    if doc.get("bomFormat") == "CycloneDX":
        return _parse_cyclonedx_json(doc, name)
    if "@context" in doc:
        return _parse_openvex(doc, name)
    if "document" in doc and "vulnerabilities" in doc:
        return _parse_csaf(doc, name)
    if "statements" in doc:
        raise InputError(name, "looks like OpenVEX but has no @context")
    if "runs" in doc:
        raise InputError(name, "this is a SARIF report, not a VEX document")
    raise InputError(
        name, "not a VEX document (expected OpenVEX, CycloneDX VEX or CSAF VEX; no format detected)"
    )


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _req_str(obj: dict[str, Any], key: str, name: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(name, f"{where}: missing or empty {key!r}")
    return value.strip()


def _opt_str(obj: dict[str, Any], key: str, name: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(name, f"{where}: {key!r} must be a string")
    return value.strip() or None


def _list(obj: dict[str, Any], key: str, name: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(name, f"{where}: {key!r} must be a list")
    return value


def _obj(value: Any, name: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(name, f"{where}: expected an object, found a {_json_kind(value)}")
    return value


def _timestamp(value: Any, name: str, where: str) -> datetime.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(name, f"{where}: timestamp must be an RFC 3339 string")
    text = value.strip()
    # Python 3.11 accepts up to 6 fractional digits reliably; RFC 3339 allows more (Go writes 9).
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InputError(name, f"{where}: invalid timestamp {value!r}") from None
    return parsed.replace(tzinfo=datetime.UTC) if parsed.tzinfo is None else parsed


# ------------------------------------------------------------------------------------------- OpenVEX


def _parse_openvex(doc: dict[str, Any], name: str) -> VexDocument:
    context = doc.get("@context")
    if not isinstance(context, str) or not context.strip():
        raise InputError(name, f"OpenVEX @context must be a non-empty string, found {context!r}")
    if not context.startswith("https://openvex.dev/ns"):
        raise InputError(name, f"unknown @context {context!r} (expected https://openvex.dev/ns...)")
    if "statements" not in doc:
        raise InputError(name, "OpenVEX document has no statements")
    doc_time = _timestamp(doc.get("timestamp"), name, "document")
    out: list[VexStatement] = []
    for i, raw in enumerate(_list(doc, "statements", name, "document")):
        where = f"statements[{i}]"
        stmt = _obj(raw, name, where)
        vuln_raw = stmt.get("vulnerability")
        if isinstance(vuln_raw, str):  # OpenVEX v0.0.1: the id itself
            vuln_obj: dict[str, Any] = {"name": vuln_raw}
        else:
            vuln_obj = _obj(vuln_raw, name, f"{where}.vulnerability")
        vuln = _req_str(vuln_obj, "name", name, f"{where}.vulnerability")
        aliases = tuple(
            a.strip() for a in _list(vuln_obj, "aliases", name, where) if isinstance(a, str)
        )
        status = _req_str(stmt, "status", name, where)
        if status not in _OPENVEX_STATUSES:
            raise InputError(
                name,
                f"{where}: invalid status {status!r} (expected {', '.join(sorted(_OPENVEX_STATUSES))})",
            )
        justification = _opt_str(stmt, "justification", name, where)
        when = _timestamp(stmt.get("timestamp"), name, where) or doc_time
        # v0.0.1 put subcomponents on the statement; they apply to every product
        stmt_subs = _component_ids_list(_list(stmt, "subcomponents", name, where), name, where)
        products = _list(stmt, "products", name, where)
        if not products:
            out.append(
                VexStatement(
                    vuln, aliases, (), status, justification, f"{name}#{where}", (), when, i
                )
            )
            continue
        for j, raw_product in enumerate(products):
            pwhere = f"{where}.products[{j}]"
            ids: tuple[str, ...]
            subs: tuple[str, ...]
            if isinstance(raw_product, str):
                ids, subs = (raw_product.strip(),), ()
            else:
                product = _obj(raw_product, name, pwhere)
                ids = _component_ids(product, name, pwhere)
                subs = _component_ids_list(
                    _list(product, "subcomponents", name, pwhere), name, pwhere
                )
            out.append(
                VexStatement(
                    vulnerability=vuln,
                    aliases=aliases,
                    products=ids,
                    status=status,
                    justification=justification,
                    source=f"{name}#{pwhere}",
                    subcomponents=subs or stmt_subs,
                    timestamp=when,
                    entry=i,
                )
            )
    return VexDocument("openvex", tuple(out))


def _component_ids(component: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    ids: list[str] = []
    if (value := _opt_str(component, "@id", name, where)) is not None:
        ids.append(value)
    for key in ("identifiers", "hashes"):
        mapping = component.get(key)
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            raise InputError(name, f"{where}: {key!r} must be an object")
        ids.extend(v.strip() for v in mapping.values() if isinstance(v, str) and v.strip())
    return tuple(dict.fromkeys(ids))


def _component_ids_list(items: list[Any], name: str, where: str) -> tuple[str, ...]:
    ids: list[str] = []
    for k, item in enumerate(items):
        if isinstance(item, str):
            ids.append(item.strip())
        else:
            ids.extend(_component_ids(_obj(item, name, f"{where}.subcomponents[{k}]"), name, where))
    return tuple(dict.fromkeys(i for i in ids if i))


# ----------------------------------------------------------------------------------------- CycloneDX


def _parse_cyclonedx_json(doc: dict[str, Any], name: str) -> VexDocument:
    if "vulnerabilities" not in doc:
        raise InputError(name, "CycloneDX document has no vulnerabilities: an SBOM, not a VEX")
    refs = _cdx_bom_refs_json(doc)
    out: list[VexStatement] = []
    for i, raw in enumerate(_list(doc, "vulnerabilities", name, "document")):
        where = f"vulnerabilities[{i}]"
        vuln = _obj(raw, name, where)
        vuln_id = _req_str(vuln, "id", name, where)
        aliases = tuple(
            r["id"].strip()
            for r in _list(vuln, "references", name, where)
            if isinstance(r, dict) and isinstance(r.get("id"), str)
        )
        analysis = vuln.get("analysis")
        state: str | None = None
        justification: str | None = None
        if analysis is not None:
            analysis = _obj(analysis, name, f"{where}.analysis")
            state = _opt_str(analysis, "state", name, f"{where}.analysis")
            justification = _opt_str(analysis, "justification", name, f"{where}.analysis")
        affected: list[tuple[str, list[tuple[str, str]]]] = []
        for j, raw_aff in enumerate(_list(vuln, "affects", name, where)):
            awhere = f"{where}.affects[{j}]"
            aff = _obj(raw_aff, name, awhere)
            ref = _req_str(aff, "ref", name, awhere)
            versions = [
                (str(v.get("version", "")), str(v.get("status", "")))
                for v in _list(aff, "versions", name, awhere)
                if isinstance(v, dict)
            ]
            affected.append((ref, versions))
        out.append(
            _cdx_statement(i, vuln_id, aliases, state, justification, affected, refs, name, where)
        )
    return VexDocument("cyclonedx", tuple(out))


def _cdx_statement(
    i: int,
    vuln_id: str,
    aliases: tuple[str, ...],
    state: str | None,
    justification: str | None,
    affected: list[tuple[str, list[tuple[str, str]]]],
    refs: dict[str, str],
    name: str,
    where: str,
) -> VexStatement:
    """One CycloneDX vulnerability (JSON or XML, already read) as a statement: each ``affects`` ref resolved
    to its purl, minus the refs whose own version the entry marks as affected."""
    products: list[str] = []
    for ref, versions in affected:
        product = _cdx_resolve_ref(ref, refs)
        if not _cdx_version_excluded(product, versions):
            products.append(product)
    return VexStatement(
        vulnerability=vuln_id,
        aliases=aliases,
        products=tuple(dict.fromkeys(products)),
        status=_cdx_status(state, name, where),
        justification=justification,
        source=f"{name}#{where}",
        entry=i,
    )


def _cdx_status(state: str | None, name: str, where: str) -> str:
    if state is None:
        return "unknown"
    if state not in _CDX_STATES:
        raise InputError(
            name,
            f"{where}: invalid analysis state {state!r} (expected {', '.join(sorted(_CDX_STATES))})",
        )
    return _CDX_STATES[state]


def _cdx_bom_refs_json(doc: dict[str, Any]) -> dict[str, str]:
    """bom-ref -> purl for every component (nested too) and the metadata component."""
    refs: dict[str, str] = {}

    def walk(components: Any) -> None:
        if not isinstance(components, list):
            return
        for c in components:
            if not isinstance(c, dict):
                continue
            ref, purl = c.get("bom-ref"), c.get("purl")
            if isinstance(ref, str) and isinstance(purl, str) and purl.strip():
                refs.setdefault(ref, purl.strip())
            walk(c.get("components"))

    metadata = doc.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("component"), dict):
        walk([metadata["component"]])
    walk(doc.get("components"))
    return refs


def _cdx_resolve_ref(ref: str, refs: dict[str, str]) -> str:
    """A BOM-Link's fragment or a local bom-ref, as a purl when one is known, else as written."""
    target = ref
    if ref.startswith("urn:cdx:") and "#" in ref:
        target = ref.split("#", 1)[1]
        if not target.startswith("pkg:") and unquote(target).startswith("pkg:"):
            target = unquote(target)
    if target.startswith("pkg:"):
        return target
    return refs.get(target, target)


def _cdx_version_excluded(product: str, versions: list[tuple[str, str]]) -> bool:
    if not versions or not product.startswith("pkg:"):
        return False
    purl = parse_purl(product)
    if purl is None or not purl.version:
        return False
    return any(v == purl.version and s != "unaffected" for v, s in versions)


def _parse_cyclonedx_xml(data: bytes, name: str) -> VexDocument:
    from xml.etree.ElementTree import ParseError  # noqa: S405 - the exception type only

    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

    try:
        root: Element = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(name, f"XML refused: {exc} (DTDs and entities are not allowed)") from None
    except ParseError as exc:
        raise InputError(name, f"not well-formed XML: {exc}") from None
    if _local(root) != "bom" or not _CDX_XML_NS.match(root.tag):
        raise InputError(name, f"XML root is <{root.tag}>, not a CycloneDX <bom>")
    vulns_el = _child(root, "vulnerabilities")
    if vulns_el is None:
        raise InputError(name, "CycloneDX document has no vulnerabilities: an SBOM, not a VEX")
    refs: dict[str, str] = {}
    for comp in root.iter():
        if _local(comp) == "component" and comp.get("bom-ref"):
            purl_el = _child(comp, "purl")
            if purl_el is not None and (purl_el.text or "").strip():
                refs.setdefault(str(comp.get("bom-ref")), (purl_el.text or "").strip())
    out: list[VexStatement] = []
    for i, vuln in enumerate(c for c in vulns_el if _local(c) == "vulnerability"):
        where = f"vulnerabilities[{i}]"
        vuln_id = _text(_child(vuln, "id"))
        if not vuln_id:
            raise InputError(name, f"{where}: missing or empty 'id'")
        aliases = tuple(
            t
            for r in _children(_child(vuln, "references"), "reference")
            if (t := _text(_child(r, "id")))
        )
        analysis = _child(vuln, "analysis")
        state = _text(_child(analysis, "state")) or None
        justification = _text(_child(analysis, "justification")) or None
        affected: list[tuple[str, list[tuple[str, str]]]] = []
        for j, target in enumerate(_children(_child(vuln, "affects"), "target")):
            ref = _text(_child(target, "ref"))
            if not ref:
                raise InputError(name, f"{where}.affects[{j}]: missing or empty 'ref'")
            versions = [
                (_text(_child(v, "version")), _text(_child(v, "status")))
                for v in _children(_child(target, "versions"), "version")
            ]
            affected.append((ref, versions))
        out.append(
            _cdx_statement(i, vuln_id, aliases, state, justification, affected, refs, name, where)
        )
    return VexDocument("cyclonedx", tuple(out))


def _local(el: Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _child(el: Element | None, local: str) -> Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c) == local), None)


def _children(el: Element | None, local: str) -> Iterator[Element]:
    if el is None:
        return iter(())
    return (c for c in el if _local(c) == local)


def _text(el: Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


# ---------------------------------------------------------------------------------------------- CSAF


def _parse_csaf(doc: dict[str, Any], name: str) -> VexDocument:
    document = _obj(doc.get("document"), name, "document")
    category = document.get("category")
    if category != "csaf_vex":
        raise InputError(
            name,
            f"CSAF document category is {category!r}, not 'csaf_vex': only CSAF VEX documents "
            "can suppress findings",
        )
    tree = doc.get("product_tree")
    tree = _obj(tree, name, "product_tree") if tree is not None else {}
    helpers = _csaf_helper_purls(tree)
    relationships = _csaf_relationships(tree, helpers, name)
    out: list[VexStatement] = []
    for i, raw in enumerate(_list(doc, "vulnerabilities", name, "document")):
        where = f"vulnerabilities[{i}]"
        vuln = _obj(raw, name, where)
        cve = _opt_str(vuln, "cve", name, where)
        ids = tuple(
            x["text"].strip()
            for x in _list(vuln, "ids", name, where)
            if isinstance(x, dict) and isinstance(x.get("text"), str)
        )
        if cve is None:
            continue  # Trivy matches CSAF vulnerabilities by CVE only
        impact = _csaf_impact(vuln)
        flags = _csaf_flags(vuln)
        status_map = vuln.get("product_status")
        if status_map is None:
            continue
        status_map = _obj(status_map, name, f"{where}.product_status")
        for key, status in _CSAF_STATUSES.items():
            for product_id in _list(status_map, key, name, f"{where}.product_status"):
                if not isinstance(product_id, str):
                    raise InputError(name, f"{where}.product_status.{key}: product ids are strings")
                source = f"{name}#{where}.product_status.{key}[{product_id}]"
                # Trivy reports the impact threat's details; the flag label is the CSAF VEX code
                justification = (impact if status == "not_affected" else None) or flags.get(
                    product_id
                )
                out.append(
                    VexStatement(
                        cve,
                        ids,
                        helpers.get(product_id, ()),
                        status,
                        justification,
                        source,
                        entry=i,
                    )
                )
                for parents, subs in relationships.get(product_id, ()):
                    out.append(
                        VexStatement(
                            cve, ids, parents, status, justification, source, subs, entry=i
                        )
                    )
    return VexDocument("csaf", tuple(out))


def _csaf_helper_purls(tree: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """product_id -> purls from every full_product_name (branches, full_product_names,
    relationships) that carries a product_identification_helper."""
    found: dict[str, list[str]] = {}

    def visit(fpn: Any) -> None:
        if not isinstance(fpn, dict) or not isinstance(fpn.get("product_id"), str):
            return
        helper = fpn.get("product_identification_helper")
        if not isinstance(helper, dict):
            return
        purls = [helper.get("purl")] + list(helper.get("purls") or [])  # CSAF 2.0 / 2.1
        for purl in purls:
            if isinstance(purl, str) and purl.strip():
                found.setdefault(fpn["product_id"], []).append(purl.strip())

    def walk(branches: Any, depth: int = 0) -> None:
        if not isinstance(branches, list) or depth > 64:
            return
        for b in branches:
            if isinstance(b, dict):
                visit(b.get("product"))
                walk(b.get("branches"), depth + 1)

    walk(tree.get("branches"))
    for fpn in tree.get("full_product_names") or []:
        visit(fpn)
    for rel in tree.get("relationships") or []:
        if isinstance(rel, dict):
            visit(rel.get("full_product_name"))
    return {k: tuple(dict.fromkeys(v)) for k, v in found.items()}


def _csaf_relationships(
    tree: dict[str, Any], helpers: dict[str, tuple[str, ...]], name: str
) -> dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
    """full product id -> [(product purls, subcomponent purls)] for the component relationships."""
    out: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for k, raw in enumerate(_list(tree, "relationships", name, "product_tree")):
        rel = _obj(raw, name, f"product_tree.relationships[{k}]")
        if rel.get("category") not in _CSAF_RELATIONSHIPS:
            continue
        fpn = rel.get("full_product_name")
        if not isinstance(fpn, dict) or not isinstance(fpn.get("product_id"), str):
            continue
        parents = helpers.get(str(rel.get("relates_to_product_reference")), ())
        subs = helpers.get(str(rel.get("product_reference")), ())
        if parents and subs:
            out.setdefault(fpn["product_id"], []).append((parents, subs))
    return out


def _csaf_impact(vuln: dict[str, Any]) -> str | None:
    for threat in vuln.get("threats") or []:
        if isinstance(threat, dict) and threat.get("category") == "impact":
            details = threat.get("details")
            return details.strip() if isinstance(details, str) and details.strip() else None
    return None


def _csaf_flags(vuln: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for flag in vuln.get("flags") or []:
        if isinstance(flag, dict) and isinstance(flag.get("label"), str):
            for pid in flag.get("product_ids") or []:
                if isinstance(pid, str):
                    out.setdefault(pid, flag["label"])
    return out
