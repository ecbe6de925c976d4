"""SBOM validation: cached, compiled schemas on the gate path; the reference libraries for strict audits.

- CycloneDX JSON: the official JSON schemas shipped in cyclonedx-python-lib (strict variants, as its
  ``JsonStrictValidator``), compiled once per version and cached, with two replacements that keep the
  answers identical and remove the quadratic / slow parts:
  ``iri`` / ``iri-reference`` formats use :mod:`verifier.sbom.iri` (a regex of the same grammar instead of
  an Earley parser, ~16 ms per URL), and ``uniqueItems`` hashes a canonical form of each item (jsonschema
  compares every pair: ~1.2 M deep comparisons on a 1,100-component BOM).
- CycloneDX XML: the library's ``XmlValidator`` (lxml + the official XSD), one instance per version, after
  the document was read (and so refused if it has a DTD) by :func:`verifier.sbom.read.read_cyclonedx_xml`.
- SPDX 2 (JSON and tag-value): spdx-tools' rules, parser and validator alike, applied in one linear pass
  (:mod:`verifier.sbom.spdx2`; tag-value read into the JSON shape first), and under ``strict=True``
  spdx-tools itself (parser + ``validate_full_spdx_document``), only up to
  :data:`SPDX_STRICT_MAX_ELEMENTS` elements because its validation is quadratic in the number of elements
  (spdx-tools issue #818).
- SPDX 3 JSON-LD: structural checks (no SPDX 3 validator is available in Python here).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from verifier.sbom.read import CYCLONEDX, SPDX, SbomSummary

MAX_REPORTED = 50
# jsonschema recurses through Python (and Rust, in `referencing`) frames for every nesting level: ~4 frames per
# JSON level. Real SBOMs are 10-20 levels deep; 128 stays well inside the interpreter's recursion limit.
MAX_VALIDATE_DEPTH = 128
# Above this many packages + files + snippets + relationships, spdx-tools' validation is skipped with a
# problem saying so: it is quadratic (4,480 packages -> 38 s measured; issue #818).
SPDX_STRICT_MAX_ELEMENTS = 2000
_CDX_SCHEMA_PREFIX = "http://cyclonedx.org/schema/"


@dataclass(frozen=True, slots=True)
class Validation:
    """Outcome of validating one document. ``valid`` is None when it could not be decided."""

    valid: bool | None
    problems: tuple[str, ...]
    validator: str


def _truncate(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cap(problems: list[str]) -> tuple[str, ...]:
    if len(problems) > MAX_REPORTED:
        extra = len(problems) - MAX_REPORTED
        return (*problems[:MAX_REPORTED], f"... and {extra} more problems")
    return tuple(problems)


# ------------------------------------------------------------------------------------ CycloneDX JSON


def _freeze(value: Any) -> Any:
    """Hashable canonical form with jsonschema's equality: 1 == 1.0, True != 1, "1" != 1."""
    if isinstance(value, str):
        return ("s", value)
    if value is True or value is False:
        return ("b", value)
    if isinstance(value, list):
        return ("l", tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("d", frozenset((k, _freeze(v)) for k, v in value.items()))
    return ("n", value)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

    if unique and validator.is_type(instance, "array"):
        seen: set[Any] = set()
        for item in instance:
            key = _freeze(item)
            if key in seen:
                yield ValidationError(f"{_truncate(repr(instance), 120)} has non-unique elements")
                return
            seen.add(key)


def _cached_ref() -> Any:
    """A ``$ref`` keyword that resolves each (base URI, reference) once per validator.

    jsonschema resolves every ``$ref`` on every visit (~23,000 lookups for one 1,100-component BOM).
    Draft 7 has no dynamic scope, so a resolution depends only on the base URI and the reference.
    """
    cache: dict[tuple[str, str], tuple[Any, Any]] = {}

    def ref(validator: Any, ref: str, instance: Any, schema: Any) -> Iterator[Any]:
        resolver = validator._resolver
        key = (resolver._base_uri, ref)
        hit = cache.get(key)
        if hit is None:
            resolved = resolver.lookup(ref)
            hit = cache[key] = (resolved.contents, resolved.resolver)
        yield from validator.descend(instance, hit[0], resolver=hit[1])

    return ref


def _fast_descend(cls: Any) -> None:
    """Replace ``descend`` of our validator class (only ours) with one that reuses evolved validators.

    jsonschema builds a new validator object (and its keyword list) for every subschema visit: ~80,000
    for one 1,100-component BOM. A visit's validator depends only on (subschema, resolver), both of which
    live as long as the compiled schema, so it is built once and reused. Subschemas with an ``$id`` (none in
    the CycloneDX schemas) and boolean schemas go through jsonschema's own ``descend``.
    """
    original = cls.descend
    cache: dict[tuple[int, int], tuple[Any, Any, Any]] = {}

    def descend(
        self: Any,
        instance: Any,
        schema: Any,
        path: Any = None,
        schema_path: Any = None,
        resolver: Any = None,
    ) -> Iterator[Any]:
        if not isinstance(schema, dict) or "$id" in schema:
            yield from original(self, instance, schema, path, schema_path, resolver)
            return
        if resolver is None:
            resolver = self._resolver
        key = (id(schema), id(resolver))
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = (self.evolve(schema=schema, _resolver=resolver), schema, resolver)
        evolved = hit[0]
        for keyword_fn, keyword, value in evolved._validators:
            for error in keyword_fn(evolved, value, instance, schema) or ():
                error._set(
                    validator=keyword,
                    validator_value=value,
                    instance=instance,
                    schema=schema,
                    type_checker=evolved.TYPE_CHECKER,
                )
                if keyword not in ("if", "$ref"):
                    error.schema_path.appendleft(keyword)
                if path is not None:
                    error.path.appendleft(path)
                if schema_path is not None:
                    error.schema_path.appendleft(schema_path)
                yield error

    cls.descend = descend


def _schema_files() -> dict[str, str]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.schema._res import BOM_JSON_STRICT

    return {
        sv.to_version(): path
        for sv, path in BOM_JSON_STRICT.items()
        if path is not None and isinstance(sv, SchemaVersion)
    }


def cyclonedx_json_versions() -> tuple[str, ...]:
    """CycloneDX versions with a JSON schema (as shipped in cyclonedx-python-lib)."""
    return tuple(sorted(_schema_files()))


@functools.cache
def _cdx_registry() -> Any:
    from cyclonedx.schema._res import CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    resources = []
    for name, path in (
        ("spdx.SNAPSHOT.schema.json", SPDX_JSON),
        ("cryptography-defs.SNAPSHOT.schema.json", CRYPTOGRAPHY_DEFS),
        ("jsf-0.82.SNAPSHOT.schema.json", JSF),
    ):
        with open(path, encoding="utf-8") as fh:
            resources.append((_CDX_SCHEMA_PREFIX + name, DRAFT7.create_resource(json.load(fh))))
    return Registry().with_resources(resources)


def _import_jsonschema() -> Any:
    """Import jsonschema without building rfc3987_syntax's Earley parser (1.4 s at import time).

    jsonschema registers its ``iri``/``iri-reference`` checks only if ``rfc3987_syntax`` imports, so the
    import is blocked for the moment jsonschema loads, and the same checks (same grammar, as a regex,
    see :mod:`verifier.sbom.iri`) are registered in their place for every user of jsonschema in this
    process. If jsonschema was already imported, nothing is changed.
    """
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment] # makes its import fail
        try:
            import jsonschema  # type: ignore[import-untyped]
        finally:
            del sys.modules["rfc3987_syntax"]
        from verifier.sbom.iri import is_iri, is_iri_reference

        for cls in (
            jsonschema.Draft7Validator,
            jsonschema.Draft201909Validator,
            jsonschema.Draft202012Validator,
        ):
            cls.FORMAT_CHECKER.checkers.setdefault("iri", (is_iri, ValueError))
            cls.FORMAT_CHECKER.checkers.setdefault("iri-reference", (is_iri_reference, ValueError))
        jsonschema.FormatChecker.checkers.setdefault("iri", (is_iri, ValueError))
        jsonschema.FormatChecker.checkers.setdefault(
            "iri-reference", (is_iri_reference, ValueError)
        )
    import jsonschema

    return jsonschema


@functools.cache
def cyclonedx_json_validator(version: str) -> Any:
    """The compiled Draft-7 validator for one CycloneDX version (built once per process)."""
    jsonschema = _import_jsonschema()
    from jsonschema.validators import extend  # type: ignore[import-untyped]

    from verifier.sbom.iri import is_iri, is_iri_reference

    Draft7Validator = jsonschema.Draft7Validator  # noqa: N806
    FormatChecker = jsonschema.FormatChecker  # noqa: N806

    path = _schema_files().get(version)
    if path is None:
        raise KeyError(version)
    checker = FormatChecker()
    checker.checkers = dict(Draft7Validator.FORMAT_CHECKER.checkers)
    checker.checkers["iri"] = (is_iri, ValueError)
    checker.checkers["iri-reference"] = (is_iri_reference, ValueError)
    cls = extend(Draft7Validator, {"uniqueItems": _unique_items, "$ref": _cached_ref()})
    if hasattr(cls, "descend") and hasattr(Draft7Validator(True), "_validators"):
        _fast_descend(cls)
    with open(path, encoding="utf-8") as fh:
        schema = json.load(fh)
    return cls(schema, registry=_cdx_registry(), format_checker=checker)


def json_depth(doc: object) -> int:
    """Nesting depth of parsed JSON, computed without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return deepest


def validate_cyclonedx_json(doc: Mapping[str, Any], version: str) -> Validation:
    """Validate a parsed CycloneDX JSON document against the strict schema of ``version``."""
    name = f"cyclonedx-{version}-json-schema"
    try:
        validator = cyclonedx_json_validator(version)
    except KeyError:
        known = ", ".join(cyclonedx_json_versions())
        return Validation(
            False, (f"no JSON schema for CycloneDX {version!r} (known: {known})",), name
        )
    depth = json_depth(doc)
    if depth > MAX_VALIDATE_DEPTH:
        return Validation(
            False,
            (
                f"document is nested {depth} levels deep, over the {MAX_VALIDATE_DEPTH} "
                "levels that can be validated",
            ),
            name,
        )
    problems = []
    try:
        for error in validator.iter_errors(doc):
            problems.append(f"{error.json_path}: {_truncate(error.message)}")
            if len(problems) > MAX_REPORTED * 4:
                break
    except RecursionError:
        # jsonschema recurses per nesting level (~8 frames per nested component); no real SBOM nests
        # hundreds of levels deep, and a document that does cannot be shown to be valid.
        problems.append("document is nested too deeply to validate (over the recursion limit)")
    return Validation(not problems, _cap(problems), name)


# ------------------------------------------------------------------------------------- CycloneDX XML


@functools.cache
def _xml_validator(version: str) -> Any:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    return XmlValidator(SchemaVersion.from_version(version))


def validate_cyclonedx_xml(data: bytes, version: str) -> Validation:
    """Validate CycloneDX XML with the library's XSD validator. Call only on data already read by
    :func:`~verifier.sbom.read.read_cyclonedx_xml` (which refuses DTDs and entities)."""
    name = f"cyclonedx-{version}-xsd"
    try:
        validator = _xml_validator(version)
    except ValueError:
        return Validation(False, (f"no XML schema for CycloneDX {version!r}",), name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Validation(False, (f"not UTF-8 (byte {exc.start})",), name)
    from lxml import etree  # type: ignore[import-untyped]

    try:
        errors = validator.validate_str(text, all_errors=True)
    except etree.Error as exc:  # e.g. "Excessive depth in document: 2048"
        return Validation(False, (f"XML cannot be validated: {_truncate(str(exc))}",), name)
    if errors is None:
        return Validation(True, (), name)
    problems = []
    for err in errors:
        problems.append(_truncate(str(err)))
        if len(problems) > MAX_REPORTED * 4:
            break
    return Validation(False, _cap(problems), name)


# ------------------------------------------------------------------------------------------- SPDX


SPDX2_RULES = "spdx-2-rules"


def validate_spdx2_json_light(doc: Mapping[str, Any]) -> Validation:
    """spdx-tools' verdict on SPDX 2 JSON, linear (:func:`verifier.sbom.spdx2.spdx2_problems`)."""
    from verifier.sbom.spdx2 import spdx2_problems

    problems = [str(p) for p in spdx2_problems(doc)]
    return Validation(not problems, _cap(problems), SPDX2_RULES)


def validate_spdx2_tag_value(text: str) -> Validation:
    """spdx-tools' verdict on SPDX 2 tag-value: what its tag-value parser refuses, then the same rules as
    JSON on the document read into the JSON shape."""
    from verifier.sbom.spdx2 import spdx2_problems, tag_value_document

    doc, problems = tag_value_document(text)
    found = [str(p) for p in (*problems, *spdx2_problems(doc))]
    return Validation(not found, _cap(found), SPDX2_RULES)


def validate_spdx3_light(doc: Mapping[str, Any]) -> Validation:
    """Structural checks of SPDX 3 JSON-LD: one SpdxDocument, CreationInfo, typed elements with ids."""
    problems: list[str] = []
    graph = doc.get("@graph")
    documents = 0
    for i, element in enumerate(graph if isinstance(graph, list) else []):
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            problems.append(f"$['@graph'][{i}]: element without a type")
            continue
        if element["type"] == "SpdxDocument":
            documents += 1
        if (
            element["type"] != "CreationInfo"
            and not isinstance(element.get("spdxId"), str)
            and not str(element.get("@id", "")).startswith("_:")
            and "spdxId" not in element
        ):
            problems.append(f"$['@graph'][{i}]: {element['type']} without spdxId")
    if documents != 1:
        problems.append(f"$['@graph']: {documents} SpdxDocument elements, expected exactly one")
    return Validation(not problems, _cap(problems), "spdx-3-structure")


def _spdx2_element_count(doc: Mapping[str, Any]) -> int:
    return sum(len(doc.get(k) or []) for k in ("packages", "files", "snippets", "relationships"))


def validate_spdx2_strict(
    data: bytes | str,
    summary: SbomSummary,
    doc: Mapping[str, Any] | None,
    max_elements: int = SPDX_STRICT_MAX_ELEMENTS,
) -> Validation:
    """spdx-tools parse + ``validate_full_spdx_document`` (the SPDX reference semantics), size-capped."""
    name = "spdx-tools"
    text = data if isinstance(data, str) else data.decode("utf-8-sig", "replace")
    if doc is not None:
        elements = _spdx2_element_count(doc)
    else:
        elements = sum(
            text.count(tag) for tag in ("\nPackageName:", "\nFileName:", "\nRelationship:")
        )
    if elements > max_elements:
        return Validation(
            None,
            (
                f"not validated with spdx-tools: {elements} elements is over the strict "
                f"limit of {max_elements} (its validation is quadratic)",
            ),
            name,
        )
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        if doc is not None:
            from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser

            json_parser: Any = JsonLikeDictParser
            document = json_parser().parse(dict(doc))
        else:
            from spdx_tools.spdx.parser.tagvalue.parser import Parser

            tv_parser: Any = Parser
            # ply prints "Generating LALR tables" to stderr when it builds the parser: keep stderr ours.
            with contextlib.redirect_stderr(io.StringIO()):
                parser = tv_parser()
            document = parser.parse(text)
    except SPDXParsingError as exc:
        error: Any = exc
        msgs = [_truncate(str(m)) for m in error.get_messages()]
        return Validation(False, _cap([f"spdx-tools cannot parse: {m}" for m in msgs]), name)
    except Exception as exc:  # noqa: BLE001 - spdx-tools raises bare TypeErrors/ValueErrors on odd input
        return Validation(False, (f"spdx-tools cannot parse: {_truncate(str(exc))}",), name)
    messages = validate_full_spdx_document(
        document, summary.spec_version and f"SPDX-{summary.spec_version}"
    )
    problems = [_truncate(m.validation_message) for m in messages]
    return Validation(not problems, _cap(problems), name)


# ------------------------------------------------------------------------------------------- entry


def validate_sbom(
    data: bytes | str, summary: SbomSummary, doc: object = None, *, strict: bool = False
) -> Validation:
    """Validate one SBOM already read into ``summary`` (``doc`` is its parsed JSON, when it is JSON).

    Reader problems (a bad ``created``, a name that is not a string) always make the document invalid.
    """
    reader = list(summary.problems)
    if summary.format == CYCLONEDX and summary.encoding == "json" and isinstance(doc, Mapping):
        result = validate_cyclonedx_json(doc, summary.spec_version)
    elif summary.format == CYCLONEDX and summary.encoding == "xml":
        raw = data.encode("utf-8") if isinstance(data, str) else data
        result = validate_cyclonedx_xml(raw, summary.spec_version)
    elif summary.format == SPDX and summary.encoding == "json-ld" and isinstance(doc, Mapping):
        result = validate_spdx3_light(doc)
    elif summary.format == SPDX and summary.encoding in ("json", "tag-value"):
        json_doc = doc if isinstance(doc, Mapping) else None
        if json_doc is not None:
            light = validate_spdx2_json_light(json_doc)
        else:
            text = data if isinstance(data, str) else data.decode("utf-8-sig", "replace")
            light = validate_spdx2_tag_value(text)
        if strict:
            strict_result = validate_spdx2_strict(data, summary, json_doc)
            problems = list(light.problems) + list(strict_result.problems)
            valid = (
                None
                if strict_result.valid is None and light.valid
                else (light.valid and bool(strict_result.valid))
            )
            result = Validation(
                valid, _cap(problems), f"{light.validator}+{strict_result.validator}"
            )
        else:
            result = light
    else:
        return Validation(None, (f"no validator for {summary.format} {summary.encoding}",), "none")
    if reader:
        return Validation(False, _cap(reader + list(result.problems)), result.validator)
    return result
