"""SPDX 2 validity (``verifier.sbom.spdx2``) against spdx-tools, the SPDX reference implementation.

Differential: for every vendored SPDX 2 document (JSON and tag-value, the invalid ones too, and excerpts of
the two largest real documents) and for mutations of the richest valid examples, our problems must be
spdx-tools' problems. When spdx-tools validates, the multiset of (rule, SPDX id) must be equal; when its
parser refuses the document, the classes of refusal (created, missing field, licence syntax, ...) must be
equal. The large originals (chef 4,905 files, flink 7,647 files) take spdx-tools 20-50 s each: they are
compared by ``bench/bench_sbom.py``; their excerpts here keep the parts spdx-tools objects to.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from spdx_tools.spdx.parser.error import SPDXParsingError
from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
from spdx_tools.spdx.parser.tagvalue.parser import Parser as TagValueParser
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from spdx_tools.spdx.validation.uri_validators import (
    validate_download_location,
    validate_uri,
    validate_url,
)
from spdx_tools.spdx.validation.validation_message import SpdxElementType

from tests.conftest import UPSTREAM
from verifier.sbom.read import load_sbom
from verifier.sbom.spdx2 import (
    SpdxProblem,
    absolute_uri_ok,
    download_location_ok,
    spdx2_problems,
    tag_value_document,
    url_ok,
)
from verifier.sbom.validate import validate_sbom

SPDX2 = UPSTREAM / "sbom" / "spdx2"
JSON_FILES = sorted(p for p in SPDX2.rglob("*.json"))
TAG_VALUE_FILES = sorted(p for p in SPDX2.rglob("*.spdx"))
RICH_JSON = SPDX2 / "tools-python-SPDXJSONExample-v2.3.spdx.json"

# spdx-tools' validation messages -> our rule ids (the message texts are spdx-tools 0.8.5's).
_VALIDATION_RULES = [
    (
        r"only SPDX versions|provided SPDX version|issues concerning the SPDX version",
        "spdx-version",
    ),
    (r"spdx_id must be SPDXRef-DOCUMENT", "document-id"),
    (r"data_license must be", "data-license"),
    (r"document_namespace ", "namespace"),
    (r"document_ref_id must only|document_uri ", "external-document"),
    (
        r"package must contain no elements|license_info_from_files must be None|"
        r"verification_code must be None",
        "files-not-analyzed",
    ),
    (r"package download_location", "download-location"),
    (r"homepage |cross_reference ", "url"),
    (r"value of verification_code", "verification-code"),
    (r"file name must not be an absolute path", "file-name"),
    (r"checksums must contain a SHA1", "file-sha1"),
    (r'externalPackageRef type ".*" is not supported in SPDX-2.2', "spdx-2.2"),
    (r"externalPackageRef", "external-ref"),
    (r"is not supported in SPDX-2.2|is mandatory in SPDX-2.2", "spdx-2.2"),
    (
        r"spdx_id must only contain|the external document reference part|the internal SPDX id part|"
        r"spdx_id must not contain more than one colon",
        "spdx-id",
    ),
    (
        r"did not find the referenced spdx_id|did not find the external document reference",
        "spdx-id-unknown",
    ),
    (
        r"Too many colons in license reference|A license reference must start with|"
        r"Did not find the external document reference",
        "license-ref",
    ),
    (r"Unrecognized license reference", "license-unknown"),
    (
        r"byte_range values|the first value of byte_range|line_range values|the first value of line_range",
        "snippet-range",
    ),
    (r"license_id must only contain|extracted_text must be provided", "extracted-license"),
    (r"there must be at least one relationship", "describes"),
    (r"every spdx_id must be unique", "spdx-id-duplicate"),
    (r"value of .* must consist of", "checksum-value"),
]
# spdx-tools' parser messages -> classes of refusal.
_PARSE_CLASSES = [
    (r"does not match format|Error while parsing Created", "created"),
    (r"Error parsing LicenseExpression|Error while parsing license expression", "license"),
    (r"match any of person|No name for|expected string or bytes-like", "actor"),
    (r"is not a valid version string", "version"),
    (r"Invalid [A-Za-z]+:|KeyError", "enum"),
    (r"violates type hint|CreationInfo does not exist|missing 1 required|not instance of", "field"),
    (r"snippet ranges|pointer|Pointer", "range"),
    (
        r"(?<!Created: )Token did not match|Unknown tag|not the current element|Value did not match|"
        r"Couldn't split|must be either|Multiple values",
        "form",
    ),
]
_OUR_PARSE_CLASSES = {
    "parse-missing": "field",
    "parse-type": "field",
    "parse-date": "created",
    "parse-created": "created",
    "parse-tag": "form",
    "parse-scope": "form",
    "parse-value": "form",
}


def _rule_of(message: Any) -> str:
    text, ctx = message.validation_message, message.context
    if ctx.element_type == SpdxElementType.CHECKSUM and "is not supported in SPDX-2.2" in text:
        return "checksum-unsupported"
    for pattern, rule in _VALIDATION_RULES:
        if re.search(pattern, text):
            return rule
    if ctx.element_type == SpdxElementType.LICENSE_EXPRESSION:
        return "license-exception"
    return "unmapped: " + text


def _parse_classes(messages: list[str]) -> set[str]:
    found = set()
    for message in messages:
        hits = {cls for pattern, cls in _PARSE_CLASSES if re.search(pattern, message)}
        found |= hits or {"unmapped: " + message[:120]}
    return found


def _our_parse_classes(problems: list[SpdxProblem]) -> set[str]:
    return {
        _OUR_PARSE_CLASSES.get(p.rule, p.rule.removeprefix("parse-"))
        for p in problems
        if p.rule.startswith("parse-")
    }


def _compare(theirs_parse: Callable[[], Any], ours: list[SpdxProblem]) -> None:
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # ply announces its parser tables on stderr
            document = theirs_parse()
    except SPDXParsingError as exc:
        assert _our_parse_classes(ours) == _parse_classes(exc.get_messages()), [
            str(p) for p in ours
        ]
        return
    assert not any(p.rule.startswith("parse-") for p in ours), [str(p) for p in ours]
    theirs = collections.Counter(
        (_rule_of(m), m.context.spdx_id or m.context.parent_id or "")
        for m in validate_full_spdx_document(document)
        if not m.validation_message.startswith("There are issues concerning the SPDX version")
    )
    assert collections.Counter((p.rule, p.element) for p in ours) == theirs


def _json_ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(SPDX2)) for p in paths]


@pytest.mark.parametrize("path", JSON_FILES, ids=_json_ids(JSON_FILES))
def test_json_documents_agree_with_spdx_tools(path: Path) -> None:
    doc = json.loads(path.read_bytes())
    _compare(lambda: JsonLikeDictParser().parse(copy.deepcopy(doc)), spdx2_problems(doc))


@pytest.mark.parametrize("path", TAG_VALUE_FILES, ids=_json_ids(TAG_VALUE_FILES))
def test_tag_value_documents_agree_with_spdx_tools(path: Path) -> None:
    text = path.read_text()
    doc, problems = tag_value_document(text)
    _compare(lambda: TagValueParser().parse(text), problems + spdx2_problems(doc))


def test_the_corpus_has_both_verdicts() -> None:
    verdicts = {bool(spdx2_problems(json.loads(p.read_bytes()))) for p in JSON_FILES}
    assert verdicts == {True, False}
    assert len(JSON_FILES) >= 20 and len(TAG_VALUE_FILES) >= 8


def _validate(path: Path) -> Any:
    data = path.read_bytes()
    loaded = load_sbom(data, str(path))
    return validate_sbom(data, loaded.summary, loaded.document)


def test_chef_download_locations_are_invalid() -> None:
    """Before: the two largest real SPDX files were called valid. chef (Microsoft sbom-tool): 7 packages
    whose downloadLocation is no URL ('..', 'chef-config'), as spdx-tools says of the whole file."""
    result = _validate(SPDX2 / "excerpts" / "chef-ms-sbom-tool-1.5.2-excerpt.spdx.json")
    assert result.valid is False
    assert len(result.problems) == 7
    assert all("downloadLocation" in p for p in result.problems)
    assert any("downloadLocation '..' is not a URL or VCS location" in p for p in result.problems)


def test_flink_files_without_checksums_are_invalid() -> None:
    """flink (syft 0.57): fractional-second created and files without checksums, which spdx-tools'
    parser refuses; also absolute file names and SPDX 2.2's mandatory fields."""
    result = _validate(SPDX2 / "excerpts" / "guac-data-syft-flink-excerpt.spdx.json")
    assert result.valid is False
    assert result.problems[0] == (
        "SPDXRef-DOCUMENT: creationInfo.created '2022-10-05T16:10:51.561328Z' is not YYYY-MM-DDThh:mm:ssZ"
    )
    assert any(p.endswith(": the file has no checksums") for p in result.problems)


# ------------------------------------------------------------------------------------ mutations

Mutation = Callable[[dict[str, Any]], None]


def _pkg(doc: dict[str, Any], i: int = 0) -> dict[str, Any]:
    pkg: dict[str, Any] = doc["packages"][i]
    return pkg


MUTATIONS: dict[str, Mutation] = {
    "created-fraction": lambda d: d["creationInfo"].update(created="2010-01-29T18:30:22.5Z"),
    "created-missing": lambda d: d["creationInfo"].pop("created"),
    "creators-missing": lambda d: d["creationInfo"].pop("creators"),
    "creator-bad": lambda d: d["creationInfo"]["creators"].append("Robot: R2"),
    "license-list-version": lambda d: d["creationInfo"].update(licenseListVersion="3"),
    "no-creation-info": lambda d: d.pop("creationInfo"),
    "name-missing": lambda d: d.pop("name"),
    "data-license": lambda d: d.update(dataLicense="MIT"),
    "document-id": lambda d: d.update(SPDXID="SPDXRef-DOC"),
    "namespace-fragment": lambda d: d.update(documentNamespace="http://x.org/doc#frag"),
    "namespace-relative": lambda d: d.update(documentNamespace="doc/1"),
    "version-unsupported": lambda d: d.update(spdxVersion="SPDX-2.1"),
    "doc-ref-id": lambda d: d["externalDocumentRefs"][0].update(externalDocumentId="Ref-x"),
    "doc-ref-checksum": lambda d: d["externalDocumentRefs"][0]["checksum"].update(
        checksumValue="AB"
    ),
    "pkg-download-missing": lambda d: _pkg(d).pop("downloadLocation"),
    "pkg-download-bad": lambda d: _pkg(d).update(downloadLocation="not a url"),
    "pkg-download-vcs": lambda d: _pkg(d).update(
        downloadLocation="git+https://github.com/a/b.git@v1"
    ),
    "pkg-homepage-bad": lambda d: _pkg(d).update(homepage="home"),
    "pkg-name-type": lambda d: _pkg(d).update(name=7),
    "pkg-id-bad": lambda d: _pkg(d, 1).update(SPDXID="SPDXRef-a_b"),
    "pkg-checksum-short": lambda d: _pkg(d)["checksums"][1].update(checksumValue="85ed"),
    "pkg-checksum-upper": lambda d: _pkg(d)["checksums"][0].update(
        checksumValue="624C1ABB3664F4B35547E7C73864AD24"
    ),
    "pkg-checksum-algorithm": lambda d: _pkg(d)["checksums"][0].update(algorithm="CRC32"),
    "pkg-files-not-analyzed": lambda d: _pkg(d).update(filesAnalyzed=False),
    "pkg-files-analyzed-text": lambda d: _pkg(d).update(filesAnalyzed="yes"),
    "pkg-verification-code": lambda d: _pkg(d)["packageVerificationCode"].update(
        packageVerificationCodeValue="xyz"
    ),
    "pkg-excluded-absolute": lambda d: _pkg(d)["packageVerificationCode"].update(
        packageVerificationCodeExcludedFiles=["/etc/passwd"]
    ),
    "pkg-license-unknown": lambda d: _pkg(d).update(licenseConcluded="MIT OR LicenseRef-Nope"),
    "pkg-license-syntax": lambda d: _pkg(d).update(licenseDeclared="MIT AND AND"),
    "pkg-license-exception": lambda d: _pkg(d).update(licenseConcluded="Classpath-exception-2.0"),
    "pkg-license-with": lambda d: _pkg(d).update(licenseConcluded="GPL-2.0-only WITH MIT"),
    "pkg-license-docref": lambda d: _pkg(d).update(
        licenseConcluded="DocumentRef-nope:LicenseRef-1"
    ),
    "pkg-supplier-bad": lambda d: _pkg(d).update(supplier="Jane"),
    "pkg-purpose-bad": lambda d: _pkg(d).update(primaryPackagePurpose="GADGET"),
    "pkg-date-bad": lambda d: _pkg(d).update(releaseDate="2012-01-29"),
    "pkg-ref-category": lambda d: _pkg(d)["externalRefs"][0].update(referenceCategory="SAFETY"),
    "pkg-ref-type": lambda d: _pkg(d)["externalRefs"][0].update(referenceType="purl"),
    "pkg-ref-cpe": lambda d: _pkg(d)["externalRefs"][0].update(referenceLocator="cpe:2.3:a:x"),
    "pkg-ref-other-space": lambda d: _pkg(d)["externalRefs"][1].update(referenceLocator="a b"),
    "pkg-ref-purl": lambda d: _pkg(d)["externalRefs"].append(
        {
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": "npm/x",
        }
    ),
    "pkg-ref-advisory": lambda d: _pkg(d)["externalRefs"].append(
        {"referenceCategory": "SECURITY", "referenceType": "advisory", "referenceLocator": "nvd"}
    ),
    "file-no-sha1": lambda d: d["files"][0].update(
        checksums=[c for c in d["files"][0]["checksums"] if c["algorithm"] != "SHA1"]
    ),
    "file-no-checksums": lambda d: d["files"][0].pop("checksums"),
    "file-absolute": lambda d: d["files"][0].update(fileName="/src/x.c"),
    "file-type-bad": lambda d: d["files"][0].update(fileTypes=["SOURCE", "MOVIE"]),
    "file-license-unknown": lambda d: d["files"][0].update(licenseInfoInFiles=["Nope-1.0"]),
    "snippet-range-zero": lambda d: d["snippets"][0]["ranges"][0]["startPointer"].update(offset=0),
    "snippet-range-reversed": lambda d: d["snippets"][0]["ranges"][0]["endPointer"].update(
        offset=1
    ),
    "snippet-range-mixed": lambda d: d["snippets"][0]["ranges"][0].update(
        endPointer={"lineNumber": 3}
    ),
    "snippet-file-unknown": lambda d: d["snippets"][0].update(snippetFromFile="SPDXRef-Nowhere"),
    "relationship-unknown": lambda d: d["relationships"].append(
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": "SPDXRef-Ghost",
        }
    ),
    "relationship-type": lambda d: d["relationships"][0].update(relationshipType="LOVES"),
    "relationship-external": lambda d: d["relationships"].append(
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DEPENDS_ON",
            "relatedSpdxElement": "DocumentRef-spdx-tool-1.2:SPDXRef-ToolsElement",
        }
    ),
    "relationship-external-unknown": lambda d: d["relationships"].append(
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DEPENDS_ON",
            "relatedSpdxElement": "DocumentRef-x:SPDXRef-y",
        }
    ),
    "no-describes": lambda d: (
        d.pop("documentDescribes"),
        d.update(
            relationships=[r for r in d["relationships"] if r["relationshipType"] != "DESCRIBES"]
        ),
    ),
    "duplicate-id": lambda d: d["files"][1].update(SPDXID=d["files"][0]["SPDXID"]),
    "extracted-id": lambda d: d["hasExtractedLicensingInfos"][0].update(licenseId="License-1"),
    "extracted-text": lambda d: d["hasExtractedLicensingInfos"][0].pop("extractedText"),
    "extracted-see-also": lambda d: d["hasExtractedLicensingInfos"][3].update(seeAlsos=["nope"]),
    "annotation-date": lambda d: d["annotations"][0].update(annotationDate="yesterday"),
    "annotation-type": lambda d: d["annotations"][0].update(annotationType="PRAISE"),
    "annotation-annotator": lambda d: d["annotations"][0].update(annotator="Jane"),
    "spdx-2.2-purpose": lambda d: d.update(spdxVersion="SPDX-2.2"),
}


# Changes that keep the document valid (both sides must say so too).
VALID_MUTATIONS = {"pkg-download-vcs", "relationship-external"}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutations_agree_with_spdx_tools(name: str) -> None:
    doc = json.loads(RICH_JSON.read_bytes())
    MUTATIONS[name](doc)
    ours = spdx2_problems(doc)
    assert bool(ours) is (name not in VALID_MUTATIONS), [str(p) for p in ours]
    _compare(lambda: JsonLikeDictParser().parse(copy.deepcopy(doc)), ours)


def test_element_order_does_not_change_the_problems() -> None:
    """Metamorphic: SPDX documents are sets of elements; reordering them changes nothing we report."""
    doc = json.loads((SPDX2 / "guac-k8s-kubectl-amd64.spdx.json").read_bytes())
    before = collections.Counter(spdx2_problems(doc))
    for key in ("packages", "files", "relationships"):
        doc[key].reverse()
    assert collections.Counter(spdx2_problems(doc)) == before


# ------------------------------------------------------------------------------------ grammars


def _strings() -> list[str]:
    found = {
        "http://ftp.gnu.org/gnu/glibc",
        "https://www.example.com:8080/a?b#c",
        "git+https://github.com/a/b.git@v1.0",
        "git+git@github.com:a/b.git",
        "bzr+lp:charm-helpers",
        "hg+http://hg.example.org/x",
        "svn+ssh://svn.x.org/trunk",
        "ftp://user:pw@ftp.x.org/file.tar.gz",
        "..",
        "chef-config",
        "not a url",
        "x.io",
        "http://localhost/x",
        "HTTP://EXAMPLE.COM",
        "urn:uuid:1234",
        "doc/1",
        "http://x.org/doc#frag",
        "",
        "a:b",
        "1http://x",
        "git+git@github.com:a/b.git\n",
        "http://example.com\n",
    }
    for path in JSON_FILES:
        doc = json.loads(path.read_bytes())
        for key in ("documentNamespace",):
            if isinstance(doc.get(key), str):
                found.add(doc[key])
        for pkg in doc.get("packages") or []:
            for key in ("downloadLocation", "homepage"):
                if isinstance(pkg.get(key), str):
                    found.add(pkg[key])
    return sorted(found)


def test_url_grammars_agree_with_spdx_tools() -> None:
    strings = _strings()
    assert len(strings) > 60
    for value in strings:
        assert url_ok(value) == (validate_url(value) == []), value
        assert download_location_ok(value) == (validate_download_location(value) == []), value
        assert absolute_uri_ok(value) == (validate_uri(value) == []), value


# ------------------------------------------------------------------------------------ robustness

_WRONG_VALUES: list[Any] = [None, 0, 1.5, True, "", "x", [], ["x"], [1], {}, {"a": 1}, [{}], [[]]]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:2]):
            out += _paths(value, (*path, i))
    return out


def _spdx_tools_verdict(doc: dict[str, Any]) -> bool:
    """True when spdx-tools parses and validates ``doc`` without a message (a crash is a refusal)."""
    try:
        document = JsonLikeDictParser().parse(copy.deepcopy(doc))
    except Exception:  # noqa: BLE001 - SPDXParsingError, and AttributeError/TypeError on odd types
        return False
    return not validate_full_spdx_document(document)


def test_any_field_of_any_type_is_a_problem_not_a_crash() -> None:
    """Every field of the richest example (first two items of each list) replaced by every JSON type:
    the checker never raises, and whatever spdx-tools refuses is refused here too (every eighth document
    is compared, for time). The other way round we may be stricter on nonsense types: spdx-tools reads an
    empty string or object as an absent list, and checks one random item of a list of strings (beartype)."""
    base = json.loads(RICH_JSON.read_bytes())
    paths = _paths(base)
    assert len(paths) > 150
    compared = agreed = 0
    for n, (path, wrong) in enumerate((path, wrong) for path in paths for wrong in _WRONG_VALUES):
        doc = copy.deepcopy(base)
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = copy.deepcopy(wrong)
        problems = spdx2_problems(doc)  # must not raise
        assert all(isinstance(p, SpdxProblem) for p in problems)
        if n % 8 == 0:
            compared += 1
            theirs_valid = _spdx_tools_verdict(doc)
            assert problems or theirs_valid, (path, wrong)
            agreed += theirs_valid == (not problems)
    assert compared > 250 and agreed / compared > 0.98, (agreed, compared)


def test_tag_value_reader_survives_any_line() -> None:
    """Every third line of the richest tag-value example replaced by junk, truncated, or emptied."""
    lines = (SPDX2 / "tools-python-SPDXTagExample-v2.3.spdx").read_text().splitlines()
    for i, line in list(enumerate(lines))[::3]:
        tag = line.split(":", 1)[0]
        for variant in (
            "",
            "junk",
            f"{tag}:",
            f"{tag}: <text>never closed",
            line[: len(line) // 2],
        ):
            text = "\n".join([*lines[:i], variant, *lines[i + 1 :]])
            doc, problems = tag_value_document(text)  # must not raise
            spdx2_problems(doc)


LITE = SPDX2 / "tools-python-SPDXLite.spdx"
TAG_VALUE_MUTATIONS: dict[str, Callable[[str], str]] = {
    "no-value": lambda t: t.replace("PackageVersion:\t2.0.3", "PackageVersion:"),
    "twice": lambda t: t.replace("PackageVersion:\t2.0.3", "PackageVersion: 1\nPackageVersion: 2"),
    "created-fraction": lambda t: t.replace("01:23:45Z", "01:23:45.123Z"),
    "unknown-tag": lambda t: t.replace("FilesAnalyzed: false", "FilesAnalyzed: false\nFoo: bar"),
    "out-of-scope": lambda t: t.replace(
        "## 3 Package", "ExtractedText: <text>x</text>\n## 3 Package"
    ),
    "no-download": lambda t: t.replace("PackageDownloadLocation: NONE\n", ""),
    "checksum-upper": lambda t: t.replace(
        "FilesAnalyzed", "PackageChecksum: SHA1: ABC\nFilesAnalyzed"
    ),
    "text-trailing": lambda t: t.replace(
        "LicenseComment: <text></text>", "LicenseComment: <text></text>:"
    ),
    "describes-unknown": lambda t: t + "Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-nope\n",
}


@pytest.mark.parametrize("name", sorted(TAG_VALUE_MUTATIONS))
def test_tag_value_mutations_agree_with_spdx_tools(name: str) -> None:
    text = TAG_VALUE_MUTATIONS[name](LITE.read_text())
    assert text != LITE.read_text()
    doc, problems = tag_value_document(text)
    ours = problems + spdx2_problems(doc)
    assert ours
    _compare(lambda: TagValueParser().parse(text), ours)
