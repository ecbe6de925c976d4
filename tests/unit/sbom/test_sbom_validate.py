"""Validation: agreement with cyclonedx-python-lib on the official CycloneDX schema test data, the corpus
verdicts of SOURCES.md, the fast IRI check against rfc3987_syntax, and the strict SPDX path (spdx-tools)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import UPSTREAM
from verifier.sbom.read import load_sbom
from verifier.sbom.validate import validate_sbom, validate_spdx2_strict

SCHEMA_DATA = UPSTREAM / "cyclonedx-schema-test-data"
SCHEMA_FILES = sorted(p.relative_to(SCHEMA_DATA).as_posix() for p in SCHEMA_DATA.rglob("*.json"))
SCHEMA_XML = sorted((SCHEMA_DATA / "1.6-xml").glob("*.xml"))
CORPUS = UPSTREAM / "sbom"

# The library runs in its own interpreter: there jsonschema imports rfc3987_syntax and keeps its own
# (slow, reference) iri-reference check, untouched by verifier.sbom.validate.
_LIBRARY = textwrap.dedent("""
    import json, sys
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from jsonschema import Draft7Validator
    assert Draft7Validator.FORMAT_CHECKER.checkers["iri-reference"][0].__module__ == "jsonschema._format"
    out, validators = {}, {}
    for path, version in json.load(sys.stdin):
        if version not in validators:
            validators[version] = JsonStrictValidator(SchemaVersion.from_version(version))
        with open(path, encoding="utf-8") as fh:
            out[path] = validators[version].validate_str(fh.read()) is None
    json.dump(out, sys.stdout)
""")


def _library_verdicts(items: list[tuple[str, str]]) -> dict[str, bool]:
    proc = subprocess.run(
        [sys.executable, "-c", _LIBRARY],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(json.loads(proc.stdout))


def _ours(path: str) -> tuple[bool | None, tuple[str, ...]]:
    data = open(path, "rb").read()
    loaded = load_sbom(data, path)
    result = validate_sbom(data, loaded.summary, loaded.document)
    return result.valid, result.problems


def test_schema_test_data_agrees_with_library_and_file_names() -> None:
    assert len(SCHEMA_FILES) == 179
    items = [(str(SCHEMA_DATA / name), name.split("/")[0]) for name in SCHEMA_FILES]
    library = _library_verdicts(items)
    disagreements = []
    for path, _version in items:
        expected = path.rsplit("/", 1)[-1].startswith("valid")
        ours, problems = _ours(path)
        if not (ours is library[path] is expected):
            disagreements.append((path, expected, library[path], ours, problems[:2]))
    assert disagreements == []


def test_schema_test_data_xml_agrees_with_library_and_file_names() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    assert len(SCHEMA_XML) == 11
    library = XmlValidator(SchemaVersion.V1_6)
    for path in SCHEMA_XML:
        expected = path.name.startswith("valid")
        lib = library.validate_str(path.read_text(encoding="utf-8")) is None
        ours, problems = _ours(str(path))
        assert ours is lib is expected, (path.name, problems)


# SOURCES.md verdicts (cyclonedx-python-lib JsonStrictValidator / XmlValidator).
CDX_VALID = [
    "cyclonedx/bom-examples-laravel-1.4.cdx.json",
    "cyclonedx/bom-examples-laravel-1.4.cdx.xml",
    "cyclonedx/bom-examples-laravel-1.3.cdx.json",
    "cyclonedx/bom-examples-laravel-1.2.cdx.json",
    "cyclonedx/bom-examples-cbom-1.6.cdx.json",
    "cyclonedx/bom-examples-saasbom-1.4.cdx.json",
    "cyclonedx/bom-examples-hbom-1.4.cdx.json",
    "cyclonedx/large/node-npm-juice-shop-flat-1.6.cdx.json",
    "cyclonedx/large/node-npm-juice-shop-flat-1.6.cdx.xml",
    "cyclonedx/large/guac-data-syft-python-image-1.4.cdx.json",
    "cyclonedx/guac-big-mongo-1.4.cdx.json",
    "cyclonedx/syft-identify-1.5.cdx.json",
    "cyclonedx/syft-identify-1.6.cdx.json",
    "cyclonedx/trivy-golden-fluentd-multiple-lockfiles.cdx.json",
    "cyclonedx/trivy-golden-npm.cdx.json",
    "cyclonedx/trivy-golden-pom.cdx.json",
    "cyclonedx/trivy-centos-7.cdx.json",
    "cyclonedx/trivy-minikube-kbom.cdx.json",
]
CDX_INVALID = {
    "cyclonedx/large/sbom-utility-appthreat-cdxgen-1.4-with-vulns.cdx.json": "is not a 'iri-reference'",
    "cyclonedx/guac-1.7.cdx.json": "is not valid under any of the given schemas",
    "cyclonedx/syft-golden-image.cdx.json": "'urn:uuid:redacted' does not match",
    "cyclonedx/syft-golden-image.cdx.xml": "SCHEMAV_CVC_PATTERN_VALID",
    "cyclonedx/invalid/trivy-invalid-serial.cdx.json": "$.serialNumber: 1000000 is not of type 'string'",
}


@pytest.mark.parametrize("name", CDX_VALID)
def test_corpus_valid_cyclonedx(name: str) -> None:
    valid, problems = _ours(str(CORPUS / name))
    assert valid is True, problems


@pytest.mark.parametrize("name", sorted(CDX_INVALID))
def test_corpus_invalid_cyclonedx_names_the_problem(name: str) -> None:
    valid, problems = _ours(str(CORPUS / name))
    assert valid is False
    assert any(CDX_INVALID[name] in p for p in problems), problems


def test_unknown_cyclonedx_version_is_invalid_not_a_crash() -> None:
    data = b'{"bomFormat": "CycloneDX", "specVersion": "9.9", "version": 1}'
    loaded = load_sbom(data, "x")
    result = validate_sbom(data, loaded.summary, loaded.document)
    assert result.valid is False
    assert result.problems[0].startswith(
        "no JSON schema for CycloneDX '9.9' (known: 1.2, 1.3, 1.4, 1.5, 1.6"
    )


def test_unique_items_keeps_jsonschema_equality() -> None:
    from verifier.sbom.validate import _freeze

    assert _freeze({"a": [1, 2.0]}) == _freeze({"a": [1.0, 2]})
    assert _freeze(True) != _freeze(1)
    assert _freeze("1") != _freeze(1)
    base = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "library", "name": "a"}, {"type": "library", "name": "a"}],
    }
    loaded = load_sbom(json.dumps(base), "x")
    result = validate_sbom(json.dumps(base), loaded.summary, loaded.document)
    assert result.valid is False
    assert any("has non-unique elements" in p for p in result.problems)


# SOURCES.md spdx-tools verdicts: parses+valid, parses+INVALID, PARSE FAILS.
SPDX_STRICT = {
    "spdx2/tools-python-SPDXJSONExample-v2.3.spdx.json": True,
    "spdx2/tools-python-SPDXTagExample-v2.3.spdx": True,
    "spdx2/tools-python-SPDXLite.spdx": True,
    "spdx2/spdx-examples-example11-rust.spdx.json": True,
    "spdx2/trivy-golden-conda.spdx.json": True,
    "spdx2/spdx-examples-ACME-v2.3.spdx.json": False,
    "spdx2/syft-identify-2.3.spdx.json": False,
    "spdx2/syft-alpine-3.10.syft.spdx.json": False,
    "spdx2/trivy-centos-7.spdx": False,
}


@pytest.mark.parametrize("name", sorted(SPDX_STRICT))
def test_strict_spdx_follows_spdx_tools(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    loaded = load_sbom(data, name)
    result = validate_spdx2_strict(
        data, loaded.summary, loaded.document if isinstance(loaded.document, dict) else None
    )
    assert result.valid is SPDX_STRICT[name], result.problems


def test_strict_spdx_skips_large_documents_with_a_reason() -> None:
    data = (CORPUS / "spdx2/guac-k8s-kubectl-amd64.spdx.json").read_bytes()
    loaded = load_sbom(data, "k")
    assert isinstance(loaded.document, dict)
    result = validate_spdx2_strict(data, loaded.summary, loaded.document, max_elements=1000)
    assert result.valid is None
    assert result.problems == (
        "not validated with spdx-tools: 2681 elements is over the strict limit of "
        "1000 (its validation is quadratic)",
    )


def test_spdx_validation_judges_as_spdx_tools_and_flags_broken_references() -> None:
    """Reading tolerates what real generators write; validity is spdx-tools' (tests/unit/sbom/test_spdx2.py
    compares every corpus document with it)."""
    for name in (
        "spdx2/trivy-golden-julia.spdx.json",
        "spdx3/spdx-examples-example10-hello-source.spdx3.json",
    ):
        assert _ours(str(CORPUS / name))[0] is True, name
    # Older Trivy: fractional-second created, packages without downloadLocation (spdx-tools cannot parse it).
    valid, problems = _ours(str(CORPUS / "spdx2/trivy-centos-7.spdx.json"))
    assert valid is False
    assert problems[0] == (
        "SPDXRef-DOCUMENT: creationInfo.created '2022-09-13T13:27:55.874784Z' is not YYYY-MM-DDThh:mm:ssZ"
    )
    assert "SPDXRef-ContainerImage-dd5cad897c6263: package downloadLocation is missing" in problems
    # syft 0.3x wrote relationships to file ids it did not list: a real dangling reference.
    valid, problems = _ours(str(CORPUS / "spdx2/syft-alpine-3.10.syft.spdx.json"))
    assert valid is False
    assert (
        "relationship SPDXRef-a61243292e73923 CONTAINS SPDXRef-499bb68237b0f2b8: SPDXRef-499bb68237b0f2b8 "
        "is not an element of this document"
    ) in problems
    doc = json.loads((CORPUS / "spdx2/trivy-golden-julia.spdx.json").read_bytes())
    doc["relationships"].append(
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-Nowhere",
        }
    )
    loaded = load_sbom(json.dumps(doc), "x")
    result = validate_sbom(json.dumps(doc), loaded.summary, loaded.document)
    assert result.valid is False
    assert result.problems[-1].endswith("SPDXRef-Nowhere is not an element of this document")


def _nested(levels: int) -> str:
    root: dict[str, object] = {"type": "library", "name": "x"}
    node = root
    for i in range(levels):
        child: dict[str, object] = {"type": "library", "name": f"x{i}"}
        node["components"] = [child]
        node = child
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [root]}
    )


def test_deeply_nested_components_are_invalid_not_a_crash() -> None:
    text = _nested(400)
    loaded = load_sbom(text, "deep.json")
    assert loaded.summary.component_count == 401
    result = validate_sbom(text, loaded.summary, loaded.document)
    assert result.valid is False
    assert result.problems == (
        "document is nested 803 levels deep, over the 128 levels that can be validated",
    )


def test_nesting_just_under_the_limit_still_validates() -> None:
    text = _nested(62)  # 127 JSON levels
    loaded = load_sbom(text, "deep.json")
    assert validate_sbom(text, loaded.summary, loaded.document).valid is True


def test_deeply_nested_xml_is_invalid_not_a_crash() -> None:
    n = 3000
    text = (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components>'
        + '<component type="library"><name>a</name><components>' * n
        + "</components></component>" * n
        + "</components></bom>"
    )
    loaded = load_sbom(text, "deep.xml")
    assert loaded.summary.component_count == n
    result = validate_sbom(text, loaded.summary, loaded.document)
    assert result.valid is False
    assert result.problems[0].startswith("XML cannot be validated: Excessive depth in document")
