"""Fast SBOM readers on the real corpus (tests/assets/upstream/sbom, see its SOURCES.md) and on bad input."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import UPSTREAM
from verifier.errors import InputError
from verifier.sbom.read import (
    MAX_PROBLEMS,
    license_ids,
    load_sbom,
    normalize_time,
    read_sbom,
)

CORPUS = UPSTREAM / "sbom"
SBOM_FILES = sorted(
    p.relative_to(CORPUS).as_posix()
    for p in CORPUS.rglob("*")
    if p.suffix in (".json", ".xml", ".spdx") and not p.parts[-2] == "attestations"
)

# (format, spec_version, encoding, component_count, purl count, created) measured once and checked by hand
# against the SOURCES.md description of each file (package/component counts).
EXPECTED = {
    "cyclonedx/bom-examples-laravel-1.4.cdx.json": ("cyclonedx", "1.4", "json", 62, 62, None),
    "cyclonedx/bom-examples-laravel-1.4.cdx.xml": ("cyclonedx", "1.4", "xml", 62, 62, None),
    "cyclonedx/bom-examples-hbom-1.4.cdx.json": (
        "cyclonedx",
        "1.4",
        "json",
        6,
        0,
        "2022-01-09T12:00:00Z",
    ),
    "cyclonedx/large/node-npm-juice-shop-flat-1.6.cdx.json": (
        "cyclonedx",
        "1.6",
        "json",
        1101,
        984,
        None,
    ),
    "cyclonedx/large/node-npm-juice-shop-flat-1.6.cdx.xml": (
        "cyclonedx",
        "1.6",
        "xml",
        1101,
        984,
        None,
    ),
    "cyclonedx/large/sbom-utility-appthreat-cdxgen-1.4-with-vulns.cdx.json": (
        "cyclonedx",
        "1.4",
        "json",
        1663,
        1663,
        "2023-01-31T20:32:47Z",
    ),
    "cyclonedx/large/guac-data-syft-python-image-1.4.cdx.json": (
        "cyclonedx",
        "1.4",
        "json",
        431,
        430,
        "2022-10-20T20:00:59Z",
    ),
    "cyclonedx/trivy-centos-7.cdx.json": ("cyclonedx", "1.5", "json", 3, 2, "2022-06-14T15:08:48Z"),
    "cyclonedx/trivy-golden-fluentd-multiple-lockfiles.cdx.json": (
        "cyclonedx",
        "1.7",
        "json",
        161,
        160,
        "2021-08-25T12:20:30Z",
    ),
    "spdx2/tools-python-SPDXJSONExample-v2.3.spdx.json": (
        "spdx",
        "2.3",
        "json",
        4,
        1,
        "2010-01-29T18:30:22Z",
    ),
    "spdx2/tools-python-SPDXTagExample-v2.3.spdx": (
        "spdx",
        "2.3",
        "tag-value",
        4,
        1,
        "2010-01-29T18:30:22Z",
    ),
    "spdx2/invalid/tools-python-invalid-trivy-fluentd.spdx.json": (
        "spdx",
        "2.2",
        "json",
        514,
        512,
        "2022-12-27T23:08:17Z",
    ),
    "spdx2/syft-alpine-3.10.syft.spdx.json": ("spdx", "2.2", "json", 3, 3, "2022-01-20T21:40:24Z"),
    "spdx2/trivy-centos-7.spdx.json": ("spdx", "2.2", "json", 4, 2, "2022-09-13T13:27:55Z"),
    "spdx2/trivy-centos-7.spdx": ("spdx", "2.2", "tag-value", 4, 2, "2022-09-13T13:24:58Z"),
    "spdx2/trivy-testdata-bitnami-postgresql.spdx.json": (
        "spdx",
        "2.3",
        "json",
        4,
        4,
        "2023-07-13T19:24:23Z",
    ),
    "spdx2/guac-k8s-kubectl-amd64.spdx.json": (
        "spdx",
        "2.3",
        "json",
        89,
        89,
        "2023-10-12T04:01:49Z",
    ),
    "spdx3/sbomqs-perl-Mojolicious.spdx3.json": (
        "spdx",
        "3.0.1",
        "json-ld",
        1,
        1,
        "2026-07-11T10:41:40Z",
    ),
    "spdx3/spdx-examples-example11-rust.spdx3.json": (
        "spdx",
        "3.0.1",
        "json-ld",
        4,
        4,
        "2022-11-03T07:10:10Z",
    ),
}
# Files SOURCES.md marks as not valid as stored: they read, with a problem naming what is wrong.
EXPECTED_PROBLEMS = {
    "cyclonedx/syft-golden-image.cdx.json": "creation time 'timestamp:redacted' is not an RFC 3339 date-time",
    "cyclonedx/syft-golden-image.cdx.xml": "creation time 'redacted' is not an RFC 3339 date-time",
    "spdx2/syft-golden-image.spdx": "creation time 'redacted' is not an RFC 3339 date-time",
    "spdx2/syft-golden-image.spdx.json": "creation time 'redacted' is not an RFC 3339 date-time",
    "spdx2/syft-golden-relationship-order.spdx.json": "creation time 'redacted' is not an RFC 3339 date-time",
    "spdx2/invalid/syft-bad-example7-bin.spdx.json": "packages[0]: name is None, not a string",
}


def test_corpus_is_vendored() -> None:
    assert len(SBOM_FILES) >= 50
    assert set(EXPECTED) <= set(SBOM_FILES)
    assert set(EXPECTED_PROBLEMS) <= set(SBOM_FILES)


@pytest.mark.parametrize("name", SBOM_FILES)
def test_every_corpus_file_reads(name: str) -> None:
    summary = read_sbom((CORPUS / name).read_bytes(), name)
    assert summary.format in ("spdx", "cyclonedx")
    assert summary.component_count >= 0
    assert all(p.startswith("pkg:") for p in summary.purls)
    if name in EXPECTED:
        fmt, version, encoding, count, purls, created = EXPECTED[name]
        assert (summary.format, summary.spec_version, summary.encoding) == (fmt, version, encoding)
        assert summary.component_count == count
        assert len(summary.purls) == purls
        assert summary.created == created
    if name in EXPECTED_PROBLEMS:
        assert EXPECTED_PROBLEMS[name] in summary.problems
    elif "invalid" not in name and "golden" not in name:
        assert summary.problems == (), summary.problems


def test_fractional_created_of_trivy_and_syft_is_accepted() -> None:
    """spdx-tools refuses these (SOURCES.md: PARSE FAILS); the gate must not."""
    for name in (
        "spdx2/trivy-centos-7.spdx.json",
        "spdx2/syft-alpine-3.10.syft.spdx.json",
        "spdx2/invalid/tools-python-invalid-trivy-fluentd.spdx.json",
    ):
        summary = read_sbom((CORPUS / name).read_bytes(), name)
        assert summary.created is not None and summary.created.endswith("Z")
        assert not any("creation" in p for p in summary.problems)


def test_described_image_digest_is_the_manifest_digest_never_image_id() -> None:
    # syft writes the manifest digest as the container component's version.
    python = read_sbom(
        (CORPUS / "cyclonedx/large/guac-data-syft-python-image-1.4.cdx.json").read_bytes(), "x"
    )
    assert python.described_digests == (
        "sha256:e9ebb760d74df0c28447c2f67050800c3392a3987ed77ce493545c7d3ad24c9d",
    )
    # Trivy's centos SBOM only names ImageID (the config digest) and a tag: no described digest.
    centos = read_sbom((CORPUS / "cyclonedx/trivy-centos-7.cdx.json").read_bytes(), "x")
    assert centos.described_digests == ()
    centos_spdx = read_sbom((CORPUS / "spdx2/trivy-centos-7.spdx.json").read_bytes(), "x")
    assert centos_spdx.described_digests == ()
    # A KBOM lists many images as components: none of them is what the document describes.
    kbom = read_sbom((CORPUS / "cyclonedx/trivy-minikube-kbom.cdx.json").read_bytes(), "x")
    assert kbom.described_digests == ()


def test_trivy_repo_digest_counts() -> None:
    doc = json.loads((CORPUS / "cyclonedx/trivy-centos-7.cdx.json").read_bytes())
    digest = "sha256:" + "ab" * 32
    doc["metadata"]["component"]["properties"].append(
        {"name": "aquasecurity:trivy:RepoDigest", "value": f"ghcr.io/x/y@{digest}"}
    )
    assert read_sbom(json.dumps(doc), "x").described_digests == (digest,)


def test_licences_and_ids() -> None:
    summary = read_sbom(
        (CORPUS / "spdx2/tools-python-SPDXJSONExample-v2.3.spdx.json").read_bytes(), "x"
    )
    assert "(LGPL-2.0-only OR LicenseRef-3)" in summary.licenses
    assert {"LGPL-2.0-only", "LicenseRef-3"} <= set(summary.license_ids)
    assert license_ids(["(MIT OR GPL-2.0-only WITH Classpath-exception-2.0)", "NOASSERTION"]) == (
        "Classpath-exception-2.0",
        "GPL-2.0-only",
        "MIT",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022-09-13T13:27:55.874784Z", "2022-09-13T13:27:55Z"),
        ("2022-10-20T16:00:59-04:00", "2022-10-20T20:00:59Z"),
        ("2022-10-20T23:30:00+01:30", "2022-10-20T22:00:00Z"),
        ("2023-07-13T19:24:23.609Z", "2023-07-13T19:24:23Z"),
        ("redacted", None),
        ("2020-04-13", None),
        ("2022-13-40T00:00:00Z", None),
        (12345, None),
    ],
)
def test_normalize_time(raw: object, expected: str | None) -> None:
    assert normalize_time(raw) == expected


def test_tag_value_multiline_text_does_not_leak_tags() -> None:
    text = (
        "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nDocumentName: t\nCreated: 2024-01-01T00:00:00Z\n"
        "PackageName: a\nPackageComment: <text>line one\nPackageName: not-a-package\n"
        "ExternalRef: PACKAGE-MANAGER purl pkg:npm/fake@1\n</text>\n"
        "ExternalRef: PACKAGE-MANAGER purl pkg:npm/a@1.0.0\nPackageLicenseDeclared: MIT\n"
    )
    summary = read_sbom(text, "t.spdx")
    assert summary.component_count == 1
    assert summary.purls == ("pkg:npm/a@1.0.0",)
    assert summary.licenses == ("MIT",)


# ------------------------------------------------------------------------------------------ bad input


def _problem(data: bytes | str, **kw: int) -> str:
    with pytest.raises(InputError) as info:
        load_sbom(data, "bad.json", **kw)
    assert info.value.path == "bad.json"
    return info.value.problem


def test_size_cap_is_checked_before_parsing() -> None:
    data = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    start = time.perf_counter()
    assert "over the limit of 1.0 MiB" in _problem(data, max_bytes=1024 * 1024)
    assert time.perf_counter() - start < 1.0


def test_deeply_nested_json() -> None:
    assert _problem(b"[" * 200000 + b"]" * 200000) == "JSON is nested too deeply"
    nested = (
        b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": '
        + b"[" * 100000
        + b"]" * 100000
        + b"}"
    )
    assert _problem(nested) == "JSON is nested too deeply"


XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><name>&c;</name></component></components></bom>"""
XML_XXE = b"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><name>&x;</name></component></components></bom>"""


@pytest.mark.parametrize("data", [XML_BOMB, XML_XXE], ids=["entity-expansion", "external-entity"])
def test_xml_with_dtd_or_entities_is_refused(data: bytes) -> None:
    assert "DTDs and entities are not allowed" in _problem(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty document"),
        (
            b"\x00\x01\x02binary",
            "not an SBOM: neither JSON, XML nor SPDX tag-value (no 'SPDXVersion:' line)",
        ),
        (
            b'{"hello": "world"}',
            "not an SBOM: JSON has no 'bomFormat', 'spdxVersion' or '@context'/'@graph'",
        ),
        (b"[1, 2]", "not an SBOM: top-level JSON is list, not an object"),
        (
            b'{"bomFormat": "CycloneDX", "specVersion": 1.6}',
            "CycloneDX specVersion is 1.6, not a string",
        ),
        (
            b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {}}',
            "CycloneDX components is dict, not an array",
        ),
        (b'{"spdxVersion": "SPDX-3.0"}', "spdxVersion is 'SPDX-3.0', not SPDX-2.x"),
        (b'{"spdxVersion": "SPDX-2.3", "packages": "x"}', "SPDX packages is str, not an array"),
        (
            b'{"@context": "https://example.org/ctx", "@graph": []}',
            "JSON-LD @context 'https://example.org/ctx' is not an SPDX 3 context",
        ),
        (
            b'{"bomFormat": "CycloneDX", ',
            "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 28",
        ),
        (b"<bom xmlns='urn:other'/>", "not a CycloneDX XML BOM: root element is '{urn:other}bom'"),
        (b"<bom><unclosed></bom>", "not well-formed XML: mismatched tag: line 1, column 17"),
        (b"SPDXVersion: SPDX-9.9\n", "line 1: SPDXVersion is 'SPDX-9.9', not SPDX-2.x"),
    ],
)
def test_unreadable_documents_name_the_problem(data: bytes, expected: str) -> None:
    assert _problem(data) == expected


def test_hostile_document_problems_are_bounded() -> None:
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": 1}] * 5000}
    summary = read_sbom(json.dumps(doc), "x")
    assert summary.component_count == 5000
    assert len(summary.problems) == MAX_PROBLEMS + 1
    assert summary.problems[-1] == "... and 4950 more problems"


def test_spdx3_container_package_names_its_digest() -> None:
    doc = json.loads((CORPUS / "spdx3/syft-identify-3.0.spdx3.json").read_bytes())
    digest = "sha256:" + "cd" * 32
    for element in doc["@graph"]:
        if element.get("type") == "software_Package":
            element["software_primaryPurpose"] = "container"
            element["software_packageUrl"] = (
                "pkg:oci/app@sha256%3A" + "cd" * 32 + "?repository_url=ghcr.io/o/app"
            )
    summary = read_sbom(json.dumps(doc), "x")
    assert summary.described_digests == (digest,)
    assert summary.purls == ("pkg:oci/app@sha256%3A" + "cd" * 32 + "?repository_url=ghcr.io/o/app",)


def test_tag_value_container_package_oci_purl() -> None:
    digest = "ef" * 32
    text = (
        "SPDXVersion: SPDX-2.3\nDocumentName: img\nCreated: 2024-01-01T00:00:00Z\n"
        "PackageName: app\nPrimaryPackagePurpose: CONTAINER\n"
        f"ExternalRef: PACKAGE-MANAGER purl pkg:oci/app@sha256%3A{digest}?repository_url=r.example/app\n"
        "PackageName: lib\nExternalRef: PACKAGE-MANAGER purl pkg:oci/other@sha256%3A"
        + "00" * 32
        + "\n"
    )
    assert read_sbom(text, "t.spdx").described_digests == (f"sha256:{digest}",)
