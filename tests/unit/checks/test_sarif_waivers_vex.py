"""VEX (OpenVEX, CycloneDX JSON/XML, CSAF): read by verifier.sources.vex, matched by verifier.checks.sarif_waivers.

Every real file in tests/assets/upstream/vex/ has a test whose expected suppressions were written by
hand from the file and from Trivy's tests (aquasecurity/trivy ``pkg/vex/vex_test.go``,
``pkg/result/filter_test.go``): package purls and image purls below are the ones those tests use.
Hand-written cases live in tests/assets/sarif-severity/ignore/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ASSETS, UPSTREAM
from verifier.checks.sarif_waivers import find_suppression, image_purl, purl_matches
from verifier.errors import InputError
from verifier.sources.vex import (
    SUPPRESSING_STATUSES,
    VexDocument,
    VexStatement,
    load_vex,
    parse_vex,
)

VEX = UPSTREAM / "vex"
OWN = ASSETS / "sarif-severity" / "ignore"

SPRING = "pkg:maven/org.springframework.boot/spring-boot@2.6.0"
BASH = "pkg:deb/debian/bash@5.3"
DEBIAN_IMAGE = (
    "pkg:oci/debian@sha256%3A4482958b4461ff7d9fabc24b3a9ab1e9a2c85ece07b2db1840c7cbc01d053e90"
    "?arch=amd64&repository_url=index.docker.io%2Flibrary%2Fdebian"
)
GO_MODULE = "pkg:golang/github.com/aquasecurity/go-module@v1.0.0"
GO_DIRECT1 = "pkg:golang/github.com/aquasecurity/go-direct1@v2.0.0"
GO_DIRECT2 = "pkg:golang/github.com/aquasecurity/go-direct2@v3.0.0"
GO_TRANSITIVE = "pkg:golang/github.com/aquasecurity/go-transitive@v4.0.0"


def load(name: str) -> VexDocument:
    return load_vex(VEX / name)


def own(name: str) -> VexDocument:
    return load_vex(OWN / name)


def hit(
    doc: VexDocument | list[VexDocument],
    vulnerability: str,
    purl: str | None,
    parents: tuple[str, ...] = (),
) -> VexStatement | None:
    docs = doc if isinstance(doc, list) else [doc]
    return find_suppression(docs, vulnerability=vulnerability, purl=purl, parents=parents)


# ---------------------------------------------------------------------------------------- OpenVEX


def test_trivy_openvex() -> None:
    doc = load("trivy-openvex.json")
    assert doc.format == "openvex"
    assert len(doc.statements) == 1
    stmt = hit(doc, "CVE-2021-44228", SPRING)
    assert stmt is not None
    assert stmt.status == "not_affected"
    assert stmt.justification == "vulnerable_code_not_in_execute_path"
    assert stmt.source == f"{VEX / 'trivy-openvex.json'}#statements[0].products[0]"
    # vex_test.go "OpenVEX, multiple statements": vuln2 (CVE-2021-0001) on the same package stays
    assert hit(doc, "CVE-2021-0001", SPRING) is None
    assert (
        hit(doc, "CVE-2021-44228", "pkg:maven/org.springframework.boot/spring-boot@2.7.0") is None
    )
    assert hit(doc, "CVE-2021-44228", None) is None
    # the package inside an image: the statement names the package itself, so it still applies
    assert hit(doc, "CVE-2021-44228", SPRING, (DEBIAN_IMAGE,)) is not None


def test_trivy_openvex_multiple_latest_statement_wins() -> None:
    doc = load("trivy-openvex-multiple.json")
    # statement 0 (affected) has 2023-01-15; statement 1 (not_affected) inherits the document's
    # 2023-01-16 timestamp, so it is the latest and the finding is suppressed (vex_test.go)
    stmt = hit(doc, "CVE-2021-44228", SPRING)
    assert stmt is not None
    assert stmt.status == "not_affected"
    assert stmt.source.endswith("#statements[1].products[0]")
    assert [s.status for s in doc.statements] == ["affected", "not_affected"]
    assert doc.statements[0].timestamp is not None and doc.statements[1].timestamp is not None
    assert doc.statements[0].timestamp < doc.statements[1].timestamp
    assert hit(doc, "CVE-2021-0001", SPRING) is None


def test_trivy_openvex_oci_subcomponent() -> None:
    doc = load("trivy-openvex-oci.json")
    # vex_test.go "OpenVEX, subcomponents, oci image": bash inside pkg:oci/debian is suppressed
    stmt = hit(doc, "CVE-2022-3715", BASH, (DEBIAN_IMAGE,))
    assert stmt is not None and stmt.subcomponents == ("pkg:deb/debian/bash",)
    # a subcomponent statement never applies to the package on its own ...
    assert hit(doc, "CVE-2022-3715", BASH) is None
    # ... nor inside another image ("wrong oci image")
    assert hit(doc, "CVE-2022-3715", BASH, ("pkg:oci/ubuntu@sha256%3A0000?arch=amd64",)) is None
    # ... nor to another package in the right image
    assert hit(doc, "CVE-2022-3715", "pkg:deb/debian/dash@0.5", (DEBIAN_IMAGE,)) is None
    assert hit(doc, "CVE-2022-3716", BASH, (DEBIAN_IMAGE,)) is None


def test_trivy_openvex_nested_single_path() -> None:
    doc = load("trivy-openvex-nested.json")
    # go-module -> go-direct1 -> go-transitive: the statement names go-direct1 with the subcomponent
    assert hit(doc, "CVE-2024-0001", GO_TRANSITIVE, (GO_DIRECT1, GO_MODULE)) is not None
    # reached through go-direct2 instead: not covered (the "multi paths" case keeps the finding)
    assert hit(doc, "CVE-2024-0001", GO_TRANSITIVE, (GO_DIRECT2, GO_MODULE)) is None
    assert hit(doc, "CVE-2024-0001", GO_TRANSITIVE) is None
    # go-direct1 itself is not the subject of a statement with subcomponents
    assert hit(doc, "CVE-2024-0001", GO_DIRECT1, (GO_MODULE,)) is None


def test_trivy_result_openvex() -> None:
    doc = load("trivy-result-openvex.json")
    stmt = hit(doc, "CVE-2019-0001", "pkg:golang/github.com/aquasecurity/foo@v1.2.3")
    assert stmt is not None and stmt.justification == "vulnerable_code_not_in_execute_path"
    # versions compare as strings: "1.2.3" is not "v1.2.3"
    assert hit(doc, "CVE-2019-0001", "pkg:golang/github.com/aquasecurity/foo@1.2.3") is None
    assert hit(doc, "CVE-2019-0002", "pkg:golang/github.com/aquasecurity/foo@v1.2.3") is None


def test_guac_openvex_not_affected() -> None:
    doc = load("guac-openvex-not-affected.json")
    image = "pkg:oci/git@sha256:23a264e6e429852221a963e9f17338ba3f5796dc7086e46439a6f4482cf6e0cb"
    git_x86 = "pkg:apk/alpine/git@2.38.1-r0?arch=x86_64"
    stmt = hit(doc, "CVE-2023-12345", git_x86, (image,))
    assert stmt is not None and stmt.justification == "inline_mitigations_already_exist"
    # extra qualifiers on the package are fine; a different arch is not
    assert hit(doc, "CVE-2023-12345", git_x86 + "&distro=alpine-3.17", (image,)) is not None
    assert hit(doc, "CVE-2023-12345", "pkg:apk/alpine/git@2.38.1-r0?arch=aarch64", (image,)) is None
    assert hit(doc, "CVE-2023-12345", "pkg:apk/alpine/git@2.38.1-r0", (image,)) is None
    assert hit(doc, "CVE-2023-12345", git_x86) is None
    assert hit(doc, "CVE-2023-12345", git_x86, ("pkg:oci/git@sha256:ffff",)) is None


def test_guac_openvex_affected_has_empty_context() -> None:
    # "@context": "" -- Trivy does not recognise it as OpenVEX either ("unable to decode VEX")
    path = VEX / "guac-openvex-affected.json"
    with pytest.raises(InputError) as err:
        load_vex(path)
    assert err.value.path == str(path)
    assert "@context" in err.value.problem


def test_openvex_hand_written_edge_cases() -> None:
    doc = own("openvex-edge-cases.json")
    left_pad = "pkg:npm/left-pad@1.3.0"
    # equal timestamps: the later statement in the document wins
    assert hit(doc, "CVE-2024-1111", left_pad) is None
    fixed = hit(doc, "CVE-2024-2222", left_pad)
    assert fixed is not None and fixed.status == "fixed"
    # 2024-06-01T00:00:00+02:00 is 22:00Z, later than 21:59:59Z: under_investigation wins
    assert hit(doc, "CVE-2024-3333", left_pad) is None
    # identifiers (version-less purl), cpe, hashes and vulnerability aliases all match
    requests = hit(doc, "CVE-2024-4444", "pkg:pypi/requests@2.31.0")
    assert requests is not None and requests.justification == "component_not_present"
    assert hit(doc, "GHSA-aaaa-bbbb-cccc", "pkg:pypi/requests@2.31.0") is not None
    assert hit(doc, "CVE-2024-4444", "cpe:2.3:a:python:requests:*:*:*:*:*:*:*:*") is not None
    digest = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert hit(doc, "CVE-2024-4444", digest) is not None
    assert hit(doc, "CVE-2024-4444", "pkg:pypi/urllib3@2.0.0") is None
    # a statement without products suppresses nothing
    assert [s.products for s in doc.statements if s.vulnerability == "CVE-2024-5555"] == [()]
    assert hit(doc, "CVE-2024-5555", left_pad) is None
    # a statement about the image (no subcomponents) covers every package in it
    app = "pkg:oci/app@sha256%3Aabcd?repository_url=ghcr.io%2Fexample%2Fapp"
    assert hit(doc, "CVE-2024-6666", left_pad, (app,)) is not None
    assert hit(doc, "CVE-2024-6666", None, (app,)) is not None
    assert hit(doc, "CVE-2024-6666", left_pad) is None
    assert hit(doc, "CVE-2024-6666", left_pad, ("pkg:oci/other@sha256%3Aabcd",)) is None


def test_openvex_v001_shapes() -> None:
    doc = own("openvex-v0.0.1.json")
    image = "pkg:oci/git@sha256%3A23a264e6e429852221a963e9f17338ba3f5796dc7086e46439a6f4482cf6e0cb?arch=amd64"
    stmt = hit(doc, "CVE-2023-7777", "pkg:apk/alpine/git@2.38.1-r0?arch=x86_64", (image,))
    assert stmt is not None and stmt.subcomponents == ("pkg:apk/alpine/git@2.38.1-r0",)
    assert hit(doc, "CVE-2023-7777", "pkg:apk/alpine/git@2.38.1-r0") is None


# -------------------------------------------------------------------------------------- CycloneDX


def test_trivy_cyclonedx_vex() -> None:
    doc = load("trivy-cyclonedx-vex.json")
    assert doc.format == "cyclonedx"
    stmt = hit(doc, "CVE-2021-44228", SPRING)
    assert stmt is not None and stmt.justification == "code_not_reachable"
    # CycloneDX refs are compared exactly (Trivy PkgIdentifier.Match), not as purl patterns
    assert hit(doc, "CVE-2021-44228", "pkg:maven/org.springframework.boot/spring-boot") is None
    assert hit(doc, "CVE-2021-44228", SPRING + "?type=jar") is None
    # only the package itself: a CycloneDX statement is not applied through parents
    assert hit(doc, "CVE-2021-44228", None, (SPRING,)) is None
    # CVE-2022-27943: analysis says not_affected but affects[].versions marks this very version
    # "affected"; we do not suppress (Trivy ignores versions and would)
    libstdcxx = "pkg:deb/ubuntu/libstdc%2B%2B6@12.3.0-1ubuntu1~22.04?arch=amd64&distro=ubuntu-22.04"
    assert hit(doc, "CVE-2022-27943", libstdcxx) is None
    assert [s.status for s in doc.statements] == ["not_affected", "not_affected"]


def test_cdx_bom_examples_vex() -> None:
    doc = load("cdx-bom-examples-vex.json")
    jackson = "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar"
    stmt = hit(doc, "CVE-2020-25649", jackson)
    assert stmt is not None
    assert stmt.status == "not_affected" and stmt.justification == "code_not_reachable"
    assert stmt.aliases == ("SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302",)
    assert (
        hit(doc, "CVE-2020-25649", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0")
        is None
    )
    # CycloneDX statements match by vulnerability id only, not by reference ids
    assert hit(doc, "SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302", jackson) is None


def test_cdx_bom_examples_bom_is_not_a_vex() -> None:
    path = VEX / "cdx-bom-examples-vex-bom.json"
    with pytest.raises(InputError) as err:
        load_vex(path)
    assert err.value.path == str(path) and "no vulnerabilities" in err.value.problem


@pytest.mark.parametrize(
    ("name", "ref", "status", "suppresses"),
    [
        ("cdx-cisa-case1-not_affected.json", "product-ABC", "not_affected", True),
        ("cdx-cisa-case1-fixed.json", "product-DEF", "fixed", True),  # analysis.state resolved
        ("cdx-cisa-case1-affected.json", "product-DEF", "affected", False),  # exploitable
        ("cdx-cisa-case1-under_investigation.json", "product-GHI", "under_investigation", False),
    ],
)
def test_cdx_cisa_case1(name: str, ref: str, status: str, suppresses: bool) -> None:
    doc = load(name)
    assert [(s.vulnerability, s.products, s.status) for s in doc.statements] == [
        ("CVE-2021-44228", (ref,), status)
    ]
    # the metadata component has no purl: the bom-ref itself is the only identifier that matches
    assert (hit(doc, "CVE-2021-44228", ref) is not None) is suppresses
    assert hit(doc, "CVE-2021-44228", "pkg:generic/ABC@4.2") is None
    assert hit(doc, "CVE-2021-44228", None) is None


def test_guac_cyclonedx_vex_xml() -> None:
    doc = load("guac-cyclonedx-vex.xml")
    assert doc.format == "cyclonedx"
    [stmt] = doc.statements
    assert stmt.vulnerability == "CVE-2018-7489"
    assert stmt.status == "not_affected" and stmt.justification == "code_not_reachable"
    # the BOM-Link points at bom-ref "jackson-databind-2.8.0" of a BOM we do not have
    assert stmt.products == ("jackson-databind-2.8.0",)
    assert (
        hit(doc, "CVE-2018-7489", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.8.0")
        is None
    )
    assert hit(doc, "CVE-2018-7489", "jackson-databind-2.8.0") is not None


def test_cyclonedx_hand_written_local_refs() -> None:
    doc = own("cyclonedx-local-refs.json")
    ossl = "pkg:deb/debian/openssl@3.0.11-1?arch=amd64"
    libssl = "pkg:deb/debian/libssl3@3.0.11-1?arch=amd64"
    image = "pkg:oci/app@sha256%3Aabc123"
    by_id = {s.vulnerability: s for s in reversed(doc.statements)}  # first entry per id
    assert by_id["CVE-2024-0101"].status == "not_affected"  # false_positive
    assert by_id["CVE-2024-0102"].status == "fixed"  # resolved_with_pedigree
    assert by_id["CVE-2024-0103"].status == "affected"  # exploitable
    assert by_id["CVE-2024-0104"].status == "under_investigation"  # in_triage
    assert by_id["CVE-2024-0105"].status == "unknown"  # no analysis
    assert hit(doc, "CVE-2024-0101", ossl) is not None
    assert hit(doc, "CVE-2024-0101", "pkg:deb/debian/openssl@3.0.11-1") is None
    assert hit(doc, "CVE-2024-0102", libssl) is not None  # nested component's bom-ref resolved
    for cve in ("CVE-2024-0103", "CVE-2024-0104", "CVE-2024-0105"):
        assert hit(doc, cve, ossl) is None
    # two entries for one id: Trivy looks at the first only (exploitable)
    assert hit(doc, "CVE-2024-0106", ossl) is None
    # several refs: package, unresolvable bom-ref (kept as written), metadata component
    assert by_id["CVE-2024-0107"].products == (ossl, "nopurl", image)
    assert hit(doc, "CVE-2024-0107", ossl) is not None
    assert hit(doc, "CVE-2024-0107", libssl, (image,)) is None  # no walking up for CycloneDX
    assert hit(doc, "GHSA-xxxx-yyyy-zzzz", ossl) is None
    # a BOM-Link whose fragment is a local bom-ref
    assert hit(doc, "CVE-2024-0108", ossl) is not None


def test_cyclonedx_hand_written_xml() -> None:
    doc = own("cyclonedx-purl-refs.xml")
    log4j = "pkg:maven/org.apache.logging.log4j/log4j-core@"
    assert [s.status for s in doc.statements] == ["not_affected", "fixed", "affected"]
    assert hit(doc, "CVE-2021-44228", log4j + "2.14.1") is not None
    # the 2.15.0 target lists its own version as affected: that ref is dropped
    assert hit(doc, "CVE-2021-45046", log4j + "2.15.0") is None
    assert hit(doc, "CVE-2021-45046", log4j + "2.16.0") is not None
    assert hit(doc, "CVE-2021-44832", log4j + "2.14.1") is None


# ------------------------------------------------------------------------------------------- CSAF


def test_trivy_csaf() -> None:
    doc = load("trivy-csaf.json")
    assert doc.format == "csaf"
    # vex_test.go "CSAF, not affected": go-transitive is named directly by a product helper
    stmt = hit(doc, "CVE-2024-0001", GO_TRANSITIVE, (GO_DIRECT1, GO_MODULE))
    assert stmt is not None
    assert stmt.status == "not_affected"
    assert stmt.justification == "vulnerable_code_not_in_execute_path"  # threats[impact].details
    assert hit(doc, "CVE-2024-0001", GO_TRANSITIVE) is not None
    assert (
        hit(doc, "CVE-2024-0001", "pkg:golang/github.com/aquasecurity/go-transitive@v4.0.1") is None
    )
    assert hit(doc, "CVE-2024-0002", GO_TRANSITIVE) is None


def test_trivy_csaf_relationships() -> None:
    doc = load("trivy-csaf-relationships.json")
    # "CSAF with relationships, not affected": go-transitive as default_component_of go-direct1
    stmt = hit(doc, "CVE-2024-0001", GO_TRANSITIVE, (GO_DIRECT1, GO_MODULE))
    assert stmt is not None
    assert stmt.products == (GO_DIRECT1,) and stmt.subcomponents == (GO_TRANSITIVE,)
    assert stmt.justification == "vulnerable_code_not_in_execute_path"
    # "CSAF with relationships, affected": reached through go-direct2 -> not suppressed
    assert hit(doc, "CVE-2024-0001", GO_TRANSITIVE, (GO_DIRECT2, GO_MODULE)) is None
    # the relationship's product id has no helper of its own: the package alone is not covered
    assert hit(doc, "CVE-2024-0001", GO_TRANSITIVE) is None
    assert hit(doc, "CVE-2024-0001", GO_DIRECT1, (GO_MODULE,)) is None


def test_guac_redhat_csaf_vex_suppresses_nothing() -> None:
    # RHSA-2023:1441 in the csaf_vex profile: "fixed"/"known_affected" name relationship ids whose
    # parent (BaseOS-8.6.0.Z.EUS) has only a CPE helper, so no purl can match (as in Trivy)
    doc = load("guac-redhat-rhsa-csaf.json")
    assert doc.format == "csaf"
    statuses = [s.status for s in doc.statements]
    assert statuses.count("fixed") == 35 and statuses.count("affected") == 1
    assert all(s.vulnerability == "CVE-2023-0286" for s in doc.statements)
    openssl = "pkg:rpm/redhat/openssl@1.1.1k-8.el8_6?arch=x86_64&epoch=1"
    assert hit(doc, "CVE-2023-0286", openssl) is None
    assert hit(doc, "CVE-2023-0286", openssl, ("pkg:rpm/redhat/rhel@8.6",)) is None


def test_csaf_security_advisory_is_rejected() -> None:
    path = OWN / "csaf-security-advisory.json"
    with pytest.raises(InputError) as err:
        load_vex(path)
    assert err.value.path == str(path)
    assert "csaf_security_advisory" in err.value.problem and "csaf_vex" in err.value.problem


# ---------------------------------------------------------------------------------- several docs


def test_first_suppressing_document_wins_and_others_do_not_block() -> None:
    affected_only = parse_vex(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2021-44228"},
                        "products": [{"@id": SPRING}],
                        "status": "affected",
                    }
                ],
            }
        ).encode(),
        "affected.json",
    )
    cdx = load("trivy-cyclonedx-vex.json")
    stmt = hit([affected_only, cdx], "CVE-2021-44228", SPRING)
    assert stmt is not None and stmt.source.startswith(str(VEX / "trivy-cyclonedx-vex.json"))
    assert hit([affected_only], "CVE-2021-44228", SPRING) is None
    assert find_suppression([], vulnerability="CVE-2021-44228", purl=SPRING) is None


def test_every_real_file_parses_or_fails_cleanly() -> None:
    for path in sorted(VEX.iterdir()):
        if path.suffix not in (".json", ".xml"):
            continue
        try:
            doc = load_vex(path)
        except InputError as exc:
            assert exc.path == str(path)
            assert path.name in {"guac-openvex-affected.json", "cdx-bom-examples-vex-bom.json"}
            continue
        assert doc.statements, path.name
        for s in doc.statements:
            assert s.status in {
                "not_affected",
                "fixed",
                "affected",
                "under_investigation",
                "unknown",
            }
            assert s.source.startswith(str(path))
    assert SUPPRESSING_STATUSES == {"not_affected", "fixed"}


# ------------------------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "not valid JSON"),
        (b"not json at all", "not valid JSON"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b"[1, 2]", "top level is a JSON array"),
        (b'"just a string"', "top level is a JSON string"),
        (b"{}", "no format detected"),
        (b'{"version": "2.1.0", "runs": []}', "SARIF report"),
        (b'{"spdxVersion": "SPDX-2.3", "packages": []}', "no format detected"),
        (b'{"statements": []}', "no @context"),
        (b'{"@context": "https://schema.org", "statements": []}', "unknown @context"),
        (b'{"@context": "https://openvex.dev/ns/v0.2.0"}', "no statements"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    ],
)
def test_malformed_documents(data: bytes, problem: str) -> None:
    with pytest.raises(InputError) as err:
        parse_vex(data, "bad.json")
    assert err.value.path == "bad.json"
    assert problem in err.value.problem


GOOD_PRODUCTS = [{"@id": "pkg:npm/x@1"}]
CVE1 = {"name": "CVE-1"}


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"vulnerability": CVE1, "products": GOOD_PRODUCTS}, "missing or empty 'status'"),
        (
            {"vulnerability": CVE1, "products": GOOD_PRODUCTS, "status": "not-affected"},
            "invalid status 'not-affected'",
        ),
        ({"vulnerability": {}, "products": GOOD_PRODUCTS, "status": "fixed"}, "empty 'name'"),
        (
            {"products": GOOD_PRODUCTS, "status": "fixed"},
            "statements[0].vulnerability: expected an object",
        ),
        ({"vulnerability": CVE1, "products": "x", "status": "fixed"}, "must be a list"),
        (
            {
                "vulnerability": CVE1,
                "products": GOOD_PRODUCTS,
                "status": "fixed",
                "timestamp": "yesterday",
            },
            "invalid timestamp",
        ),
        ("CVE-1", "statements[0]: expected an object"),
    ],
)
def test_malformed_openvex_statements(statement: object, problem: str) -> None:
    doc = {"@context": "https://openvex.dev/ns/v0.2.0", "statements": [statement]}
    with pytest.raises(InputError) as err:
        parse_vex(json.dumps(doc).encode(), "v.json")
    assert err.value.path == "v.json" and problem in err.value.problem


@pytest.mark.parametrize(
    ("vulns", "problem"),
    [
        ([{"analysis": {"state": "not_affected"}}], "vulnerabilities[0]: missing or empty 'id'"),
        ([{"id": "CVE-1", "analysis": {"state": "ignored"}}], "invalid analysis state 'ignored'"),
        ([{"id": "CVE-1", "affects": [{}]}], "affects[0]: missing or empty 'ref'"),
        ({"id": "CVE-1"}, "'vulnerabilities' must be a list"),
    ],
)
def test_malformed_cyclonedx(vulns: object, problem: str) -> None:
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.5", "vulnerabilities": vulns}
    with pytest.raises(InputError) as err:
        parse_vex(json.dumps(doc).encode(), "c.json")
    assert err.value.path == "c.json" and problem in err.value.problem


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'><vulnerabilities>",
            "not well-formed XML",
        ),
        (b"<spdx/>", "not a CycloneDX <bom>"),
        (b"<bom/>", "not a CycloneDX <bom>"),  # no CycloneDX namespace
        (b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'/>", "no vulnerabilities"),
        (
            b"<?xml version='1.0'?><!DOCTYPE bom [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]>"
            b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'>&b;</bom>",
            "XML refused",
        ),
        (
            b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'><vulnerabilities><vulnerability>"
            b"<analysis><state>exploitable</state></analysis></vulnerability></vulnerabilities></bom>",
            "missing or empty 'id'",
        ),
        (
            b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'><vulnerabilities><vulnerability>"
            b"<id>CVE-1</id><analysis><state>maybe</state></analysis></vulnerability>"
            b"</vulnerabilities></bom>",
            "invalid analysis state 'maybe'",
        ),
    ],
)
def test_malformed_cyclonedx_xml(data: bytes, problem: str) -> None:
    with pytest.raises(InputError) as err:
        parse_vex(data, "c.xml")
    assert err.value.path == "c.xml" and problem in err.value.problem


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"document": "x", "vulnerabilities": []}, "document: expected an object"),
        (
            {"document": {"category": "csaf_base"}, "vulnerabilities": []},
            "'csaf_base', not 'csaf_vex'",
        ),
        ({"document": {}, "vulnerabilities": []}, "None, not 'csaf_vex'"),
        (
            {
                "document": {"category": "csaf_vex"},
                "vulnerabilities": [{"cve": "CVE-1", "product_status": {"fixed": [1]}}],
            },
            "product ids are strings",
        ),
        ({"document": {"category": "csaf_vex"}, "vulnerabilities": {}}, "must be a list"),
    ],
)
def test_malformed_csaf(doc: dict[str, object], problem: str) -> None:
    with pytest.raises(InputError) as err:
        parse_vex(json.dumps(doc).encode(), "csaf.json")
    assert err.value.path == "csaf.json" and problem in err.value.problem


def test_load_vex_is_size_capped_and_names_the_file(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048 + b"{}")
    with pytest.raises(InputError) as err:
        load_vex(big, max_bytes=1024)
    assert err.value.path == str(big) and "over the limit" in err.value.problem
    with pytest.raises(InputError, match="no such file"):
        load_vex(tmp_path / "missing.json")


# ------------------------------------------------------------------------------------ image purl


def test_image_purl_matches_trivy_and_the_oci_statement() -> None:
    # vex_test.go imageReport: RepoDigests debian@sha256:4482..., architecture amd64
    purl = image_purl(
        "debian@sha256:4482958b4461ff7d9fabc24b3a9ab1e9a2c85ece07b2db1840c7cbc01d053e90", "amd64"
    )
    assert purl is not None
    assert purl_matches(DEBIAN_IMAGE, purl) and purl_matches(purl, DEBIAN_IMAGE)
    assert hit(load("trivy-openvex-oci.json"), "CVE-2022-3715", BASH, (purl,)) is not None


def test_image_purl_from_a_real_sarif_run() -> None:
    sarif = UPSTREAM / "sarif" / "trivy" / "ortelius-trivy-0.40.0-empty-results.sarif.json"
    [digest] = json.loads(sarif.read_text())["runs"][0]["properties"]["repoDigests"]
    purl = image_purl(digest)
    assert purl == (
        "pkg:oci/ms-nginx@sha256:a8e6a649b5890f6ae88f589517c7dea87eb93152218e8cd6b2c5f5898d53bcdb"
        "?repository_url=quay.io/ortelius/ms-nginx"
    )
    assert purl_matches("pkg:oci/ms-nginx?repository_url=quay.io/ortelius/ms-nginx", purl)


@pytest.mark.parametrize(
    ("digest", "expected_repository_url"),
    [
        ("alpine@sha256:" + "a" * 64, "index.docker.io/library/alpine"),
        ("docker.io/library/alpine@sha256:" + "a" * 64, "index.docker.io/library/alpine"),
        ("bitnami/redis@sha256:" + "a" * 64, "index.docker.io/bitnami/redis"),
        ("localhost:5000/x/y@sha256:" + "a" * 64, "localhost:5000/x/y"),
        ("ghcr.io/o/r/app@sha256:" + "a" * 64, "ghcr.io/o/r/app"),
    ],
)
def test_image_purl_normalises_registries(digest: str, expected_repository_url: str) -> None:
    purl = image_purl(digest)
    assert purl is not None
    assert f"repository_url={expected_repository_url}" in purl


@pytest.mark.parametrize(
    "digest", ["debian:12", "debian@sha256:abc", "@sha256:" + "a" * 64, "Upper@sha256:" + "a" * 64]
)
def test_image_purl_rejects_non_digests(digest: str) -> None:
    assert image_purl(digest) is None


# ------------------------------------------------------- through the sarif-severity check (end to end)


def _waived_packages(report: str) -> tuple[dict[str, int], set[tuple[str, str]]]:
    import datetime

    from verifier.checks import sarif_severity
    from verifier.sources.scan_reports import load_scan_report, load_waiver_inputs

    now = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)
    waivers = load_waiver_inputs(
        [OWN / "alpine-310.trivyignore.yaml"], [OWN / "alpine-310.openvex.json"]
    )
    result = sarif_severity.evaluate(
        load_scan_report(UPSTREAM / "sarif" / "trivy" / report), report, waivers=waivers, now=now
    )
    waived = {(f.rule, str(f.properties.get("package"))) for f in result.findings if f.waived}
    return dict(result.facts["unwaived"]), waived


def test_end_to_end_trivy_json_has_purls_so_package_waivers_apply() -> None:
    unwaived, waived = _waived_packages("trivy-golden-alpine-310.trivy-report.json")
    # 4 MEDIUM results: libcrypto1.1 CVE-2019-1549 (VEX not_affected, version-less product) and
    # libcrypto1.1 CVE-2019-1551 (ignore file, purl-scoped) are waived; libssl1.1's two stay
    # (its "fixed" statement is for arch=aarch64, its other statement is under_investigation)
    assert waived == {("CVE-2019-1549", "libcrypto1.1"), ("CVE-2019-1551", "libcrypto1.1")}
    assert unwaived == {"medium": 2}


def test_end_to_end_sarif_has_no_purls_so_package_waivers_do_not_apply() -> None:
    # the same scan as SARIF carries no purls: purl-scoped ignore rules and package VEX statements
    # cannot be matched, and nothing is waived (rather than everything)
    unwaived, waived = _waived_packages("trivy-golden-alpine-310.sarif.json")
    assert waived == set()
    assert unwaived == {"medium": 4}
