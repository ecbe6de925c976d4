"""sarif-severity judges the report itself: did the scan run (issue 14), is it a scan of the gated image,
and when did it run (issue 17).

Expected identities and times are read from the files (tests/assets/upstream/sarif/SOURCES.md,
tests/assets/upstream/cosign-vuln/SOURCES.md), not produced by the code under test.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from tests.conftest import ASSETS, UPSTREAM
from verifier.checks import sarif_severity
from verifier.errors import InputError
from verifier.models import Severity
from verifier.sources.scan_reports import (
    ScanReport,
    load_scan_report,
    parse_cosign_vuln,
    parse_scan_report,
)

TRIVY = UPSTREAM / "sarif" / "trivy"
COSIGN_VULN = UPSTREAM / "cosign-vuln"
OWN = ASSETS / "sarif-severity"
# quay.io/ortelius/ms-nginx@sha256:a8e6… is the repoDigest Trivy 0.40.0 recorded in this empty report.
ORTELIUS = TRIVY / "ortelius-trivy-0.40.0-empty-results.sarif.json"
ORTELIUS_DIGEST = "sha256:a8e6a649b5890f6ae88f589517c7dea87eb93152218e8cd6b2c5f5898d53bcdb"
OTHER_DIGEST = "sha256:" + "0" * 64


def _evaluate(report: ScanReport, **kwargs: Any) -> Any:
    return sarif_severity.evaluate(report, "r.sarif", **kwargs)


def _sarif(runs: list[dict[str, Any]]) -> ScanReport:
    return parse_scan_report(json.dumps({"version": "2.1.0", "runs": runs}).encode(), "t.sarif")


def _run(**extra: Any) -> dict[str, Any]:
    return {"tool": {"driver": {"name": "Trivy"}}, **extra}


# --- the scan must have run ------------------------------------------------------------------------------


def test_log_without_runs_did_not_run() -> None:
    result = _evaluate(_sarif([]))
    assert result.verdict == "fail"
    assert result.facts["not_run"] == ["the SARIF log has no runs: no scan is recorded"]


def test_run_without_results_was_not_computed_but_empty_results_pass() -> None:
    absent = _evaluate(_sarif([_run()]))
    assert absent.verdict == "fail"
    assert absent.facts["not_run"][0].startswith("runs[0] has no 'results': ")
    # The SARIF 2.1.0 schema makes results an array: null is bad input, not "not computed".
    with pytest.raises(InputError, match="/runs/0/results: Expected `array`, got `null`"):
        _sarif([_run(results=None)])
    empty = _evaluate(_sarif([_run(results=[])]))
    assert (empty.verdict, empty.facts["not_run"]) == ("pass", [])


def test_second_run_without_results_is_named() -> None:
    result = _evaluate(_sarif([_run(results=[]), _run()]))
    assert [r.split(" ")[0] for r in result.facts["not_run"]] == ["runs[1]"]


def test_unsuccessful_invocation_did_not_finish() -> None:
    failed = _run(results=[], invocations=[{"executionSuccessful": False}])
    result = _evaluate(_sarif([failed]))
    assert result.verdict == "fail"
    assert result.facts["not_run"] == [
        "runs[0].invocations[0]: executionSuccessful is false: the scan did not finish"
    ]
    ok = _run(results=[], invocations=[{"executionSuccessful": True}])
    assert _evaluate(_sarif([ok])).verdict == "pass"


def test_invocation_without_execution_successful_is_bad_input() -> None:
    with pytest.raises(
        InputError,
        match=r"/runs/0/invocations/0/executionSuccessful: missing \(the schema requires",
    ):
        _sarif([_run(results=[], invocations=[{"startTimeUtc": "2026-01-01T00:00:00Z"}])])


def test_findings_of_a_run_that_did_not_finish_are_still_counted() -> None:
    """Partial results are findings; the run not finishing is a separate reason to deny."""
    results = [{"ruleId": "CVE-1", "message": {"text": "Severity: LOW"}}]
    report = _sarif([_run(results=results, invocations=[{"executionSuccessful": False}])])
    result = _evaluate(report)
    assert result.facts["unwaived"] == {"low": 1} and result.facts["failing"] == 0
    assert result.verdict == "fail"


def test_real_trivy_reports_all_ran() -> None:
    for path in sorted(TRIVY.glob("*.json")):
        assert _evaluate(load_scan_report(path)).facts["not_run"] == [], path.name


# --- rules kept in tool.extensions (CodeQL query packs) ---------------------------------------------------


def test_extension_rules_are_found_through_the_tool_component() -> None:
    """Hand-written in CodeQL's shape: driver rules are decoys at the same indexes; the results point at
    the extension by index or by name. Before, index 1 hit no rule and `error` was read as critical."""
    result = _evaluate(load_scan_report(OWN / "codeql-extensions.sarif.json"))
    got = {
        f.rule: (f.severity, f.properties["severity_source"], f.message) for f in result.findings
    }
    assert got == {
        "js/sql-injection": (
            Severity.HIGH,
            "security-severity",
            "js/sql-injection: Database query built from user-controlled sources",
        ),
        "js/xss": (
            Severity.MEDIUM,
            "security-severity",
            "js/xss: Client-side cross-site scripting",
        ),
        "js/log-injection": (
            Severity.CRITICAL,
            "security-severity",
            "js/log-injection: Log injection",
        ),
    }
    assert result.facts["scanner"] == "CodeQL"
    assert result.facts["scanned_at"] == "2026-11-20T10:00:00.123000Z"


EXTENSION_GUID = "0b9e4a5e-1c3d-4f6a-8b7c-9d0e1f2a3b4c"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"index": 0, "toolComponent": {"index": 0}}, Severity.HIGH),  # the extension's rule 0
        ({"index": 0}, Severity.LOW),  # no toolComponent: the driver's rule 0
        ({"index": 0, "toolComponent": {"guid": EXTENSION_GUID}}, Severity.HIGH),
        ({"index": 0, "toolComponent": {"name": "pack"}}, Severity.HIGH),
        # an index that does not resolve: found by id in any component instead
        ({"index": 0, "toolComponent": {"index": 5}}, Severity.HIGH),
    ],
)
def test_rule_reference_resolution(reference: dict[str, Any], expected: Severity) -> None:
    tool = {
        "driver": {"name": "X", "rules": [{"id": "drv", "properties": {"tags": ["LOW"]}}]},
        "extensions": [
            {
                "name": "pack",
                "guid": EXTENSION_GUID,
                "rules": [{"id": "ext", "properties": {"tags": ["HIGH"]}}],
            }
        ],
    }
    rule_id = "drv" if expected is Severity.LOW else "ext"
    result = {"ruleId": rule_id, "rule": reference, "message": {"text": "x"}}
    [finding] = _evaluate(_sarif([{"tool": tool, "results": [result]}])).findings
    assert finding.severity is expected


# --- bound to the gated image -------------------------------------------------------------------------------


def test_report_naming_the_gated_digest_is_bound() -> None:
    report = load_scan_report(ORTELIUS)
    result = _evaluate(report, image_digests=[ORTELIUS_DIGEST])
    assert result.verdict == "pass"
    assert result.facts["image_binding"] == {
        "status": "bound",
        "gated": [ORTELIUS_DIGEST],
        "bound_to": [ORTELIUS_DIGEST],
        "problems": [],
    }
    assert result.facts["scans"][0]["image"]["repo_digests"] == [
        "quay.io/ortelius/ms-nginx@" + ORTELIUS_DIGEST
    ]


def test_digests_are_compared_canonically() -> None:
    report = load_scan_report(ORTELIUS)
    for spelling in (
        ORTELIUS_DIGEST.upper(),
        f" {ORTELIUS_DIGEST} ",
        "other/repo@" + ORTELIUS_DIGEST,
    ):
        binding = _evaluate(report, image_digests=[spelling]).facts["image_binding"]
        assert binding["status"] == "bound", spelling


def test_index_or_manifest_any_acceptable_digest_binds() -> None:
    report = load_scan_report(ORTELIUS)
    binding = _evaluate(report, image_digests=[OTHER_DIGEST, ORTELIUS_DIGEST]).facts[
        "image_binding"
    ]
    assert binding["status"] == "bound"


def test_report_of_another_image_is_a_mismatch() -> None:
    """Was an allow: a clean scan of quay.io/ortelius/ms-nginx passed a gate of any image."""
    result = _evaluate(load_scan_report(ORTELIUS), image_digests=[OTHER_DIGEST])
    assert result.verdict == "fail"
    assert result.facts["image_binding"] == {
        "status": "mismatch",
        "gated": [OTHER_DIGEST],
        "bound_to": [],
        "problems": [
            "runs[0] is a scan of quay.io/ortelius/ms-nginx@"
            + ORTELIUS_DIGEST
            + ", not of the gated image"
        ],
    }


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        # Trivy 0.49.1 of a local image: name and tags, empty repoDigests
        (
            "austimkelly-trivy-0.49.1-critical-high.sarif.json",
            "runs[0] names image test_tag but no repository digest",
        ),
        # Trivy's own golden of an image tarball: repoDigests null, an image ID
        (
            "trivy-golden-alpine-310.sarif.json",
            "runs[0] names image testdata/fixtures/images/alpine-310.tar.gz and image ID "
            "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4 but no repository digest",
        ),
        # no run properties at all (Trivy 0.35.0 SARIF as Ratify stores it)
        ("ratify-trivy-alpine-critical.sarif.json", "runs[0] names no image"),
        (
            "trivy-golden-alpine-310.trivy-report.json",
            "report names image testdata/fixtures/images/alpine-310.tar.gz",
        ),
    ],
)
def test_report_without_a_digest_is_unbound(name: str, problem: str) -> None:
    result = _evaluate(load_scan_report(TRIVY / name), image_digests=[OTHER_DIGEST])
    assert result.verdict == "fail"
    binding = result.facts["image_binding"]
    assert binding["status"] == "unbound"
    assert binding["problems"][0].startswith(problem)


def test_no_gated_image_means_not_checked() -> None:
    result = _evaluate(load_scan_report(TRIVY / "trivy-golden-alpine-310.sarif.json"))
    assert result.facts["image_binding"] == {
        "status": "not-checked",
        "gated": [],
        "bound_to": [],
        "problems": [],
    }
    assert result.verdict == "pass"


def test_every_run_must_be_bound() -> None:
    bound = _run(results=[], properties={"repoDigests": ["r@" + OTHER_DIGEST]})
    other = _run(results=[], properties={"repoDigests": ["r@" + ORTELIUS_DIGEST]})
    unbound = _run(results=[])
    assert (
        _evaluate(_sarif([bound, bound]), image_digests=[OTHER_DIGEST]).facts["image_binding"][
            "status"
        ]
        == "bound"
    )
    mixed = _evaluate(_sarif([bound, unbound]), image_digests=[OTHER_DIGEST])
    assert mixed.facts["image_binding"]["status"] == "unbound"
    assert mixed.facts["image_binding"]["problems"] == ["runs[1] names no image"]
    worst = _evaluate(_sarif([unbound, other, bound]), image_digests=[OTHER_DIGEST])
    assert worst.facts["image_binding"]["status"] == "mismatch"


def test_malformed_repo_digest_does_not_bind() -> None:
    run = _run(results=[], properties={"repoDigests": ["r@sha256:abc", "no-digest-here"]})
    binding = _evaluate(_sarif([run]), image_digests=[OTHER_DIGEST]).facts["image_binding"]
    assert binding["status"] == "unbound"


def test_repo_digests_of_the_wrong_type_are_bad_input() -> None:
    data = json.dumps(
        {
            "version": "2.1.0",
            "runs": [_run(results=[], properties={"repoDigests": "r@" + OTHER_DIGEST})],
        }
    ).encode()
    with pytest.raises(
        InputError,
        match="/runs/0/properties: 'repoDigests' must be an array of strings, got `string`",
    ):
        parse_scan_report(data, "t.sarif")


def test_gated_value_that_is_not_a_digest_is_an_error() -> None:
    with pytest.raises(ValueError, match="not an image digest"):
        _evaluate(load_scan_report(ORTELIUS), image_digests=["latest"])


# --- when the scan ran --------------------------------------------------------------------------------------


def test_trivy_json_created_at_nanoseconds_cut_to_microseconds() -> None:
    result = _evaluate(load_scan_report(TRIVY / "trivy-golden-alpine-310.trivy-report.json"))
    # CreatedAt "2021-08-25T12:20:30.000000005Z": 5 ns are cut (towards older)
    assert result.facts["scanned_at"] == "2021-08-25T12:20:30Z"


def test_trivy_sarif_records_no_time() -> None:
    assert _evaluate(load_scan_report(ORTELIUS)).facts["scanned_at"] is None


def test_oldest_run_decides_and_a_run_without_time_leaves_it_unknown() -> None:
    def timed(end: str) -> dict[str, Any]:
        return _run(results=[], invocations=[{"executionSuccessful": True, "endTimeUtc": end}])

    two = _evaluate(_sarif([timed("2026-11-20T10:00:00Z"), timed("2026-11-19T08:00:00+00:00")]))
    assert two.facts["scanned_at"] == "2026-11-19T08:00:00Z"
    partial = _evaluate(_sarif([timed("2026-11-20T10:00:00Z"), _run(results=[])]))
    assert partial.facts["scanned_at"] is None
    assert [s["scanned_at"] for s in partial.facts["scans"]] == ["2026-11-20T10:00:00Z", None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z"),
        ("2026-11-20T10:00:00", "2026-11-20T10:00:00Z"),  # SARIF *Utc fields are UTC by definition
        ("2026-11-20T12:00:00+02:00", "2026-11-20T10:00:00Z"),
        ("2026-11-20t10:00:00.5z", "2026-11-20T10:00:00.500000Z"),
    ],
)
def test_sarif_times_are_normalised_to_utc(value: str, expected: str) -> None:
    run = _run(results=[], invocations=[{"executionSuccessful": True, "startTimeUtc": value}])
    assert _evaluate(_sarif([run])).facts["scanned_at"] == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-11-20", "2026-13-40T10:00:00Z", "20261120T100000Z"]
)
def test_unreadable_times_are_bad_input(value: str) -> None:
    data = json.dumps(
        {
            "version": "2.1.0",
            "runs": [
                _run(results=[], invocations=[{"executionSuccessful": True, "endTimeUtc": value}])
            ],
        }
    ).encode()
    with pytest.raises(InputError, match=r"runs\[0\]\.invocations\[0\]\.endTimeUtc"):
        parse_scan_report(data, "t.sarif")


def test_trivy_created_at_without_zone_is_bad_input() -> None:
    data = b'{"SchemaVersion": 2, "CreatedAt": "2021-08-25T12:20:30"}'
    with pytest.raises(InputError, match="CreatedAt: '2021-08-25T12:20:30' has no time zone"):
        parse_scan_report(data, "t.json")


# --- cosign vulnerability attestation bodies ------------------------------------------------------------


def test_trivy_cosign_vuln_predicate() -> None:
    report = parse_cosign_vuln(
        (COSIGN_VULN / "trivy-doc-alpine-3.10.cosign-vuln.json").read_bytes(), "vuln.json"
    )
    assert report.format == "cosign-vuln"
    assert report.scanner == "pkg:github/aquasecurity/trivy@v0.30.1-8-gf9cb8a28"
    gated = "sha256:451eee8bedcb2f029756dc3e9d73bab0e7943c1ac55cff3a4861c52a0fdd3e98"
    result = sarif_severity.evaluate(report, "vuln.json", image_digests=[gated])
    assert result.facts["unwaived"] == {"critical": 1}
    assert [f.rule for f in result.findings] == ["CVE-2021-36159"]
    assert result.facts["image_binding"]["status"] == "bound"
    # scanFinishedOn 2022-07-24T17:14:04.864682+09:00 (not the result's CreatedAt 1629894030)
    assert result.facts["scanned_at"] == "2022-07-24T08:14:04.864682Z"
    assert result.facts["format"] == "cosign-vuln"


def test_cosign_spec_example_wrapped_in_predicate() -> None:
    report = parse_cosign_vuln(
        (COSIGN_VULN / "cosign-spec-example.predicate.json").read_bytes(), "spec.json"
    )
    result = sarif_severity.evaluate(report, "spec.json")
    assert result.facts["unwaived"] == {"high": 2}
    assert sorted(f.properties["package"] for f in result.findings) == ["busybox", "ssl_client"]
    assert result.facts["scanned_at"] == "2021-08-06T17:50:50.520000Z"
    assert result.facts["scans"][0]["image"]["repo_digests"] == [
        "alpine@sha256:d9459083f962de6bd980ae6a05be2a4cf670df6a1d898157bceb420342bec280"
    ]
    assert report.scanner == "pkg:github/aquasecurity/trivy@244fd47e07d1004f0aed9 0.19.2"


def test_cosign_vuln_in_an_in_toto_statement() -> None:
    body = json.loads((COSIGN_VULN / "trivy-doc-alpine-3.10.cosign-vuln.json").read_text())
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "alpine", "digest": {"sha256": "451eee8b"}}],
        "predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
        "predicate": body,
    }
    report = parse_cosign_vuln(json.dumps(statement).encode(), "att.json")
    assert [f.rule for f in sarif_severity.evaluate(report, "att.json").findings] == [
        "CVE-2021-36159"
    ]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"predicateType": "https://cyclonedx.org/bom", "predicate": {}}, "is not 'https://cosign"),
        (
            {"predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1"},
            "has no 'predicate'",
        ),
        ({"scanner": {"uri": "x"}}, "scanner.result is missing"),
        ({"scanner": {"result": {"matches": []}}}, "scanner.result is not a Trivy JSON report"),
        ({"scanner": {"result": {"version": "2.1.0", "runs": []}}}, "not a Trivy JSON report"),
        ({"scanner": {"result": {"SchemaVersion": 1}}}, "SchemaVersion 1 is not supported"),
        (
            {"scanner": {"result": {"SchemaVersion": 2}}, "metadata": {"scanFinishedOn": "soon"}},
            "metadata.scanFinishedOn: 'soon' is not an RFC 3339 date-time",
        ),
    ],
)
def test_cosign_vuln_bad_bodies(document: dict[str, Any], problem: str) -> None:
    with pytest.raises(InputError, match=problem.replace("(", r"\(").replace(".", r"\.")) as info:
        parse_cosign_vuln(json.dumps(document).encode(), "v.json")
    assert info.value.path == "v.json"


def test_sarif_is_not_a_cosign_vuln_body() -> None:
    with pytest.raises(InputError, match="scanner.result is missing"):
        parse_cosign_vuln(ORTELIUS.read_bytes(), str(ORTELIUS))


def test_binding_is_the_worst_scan_whatever_the_order() -> None:
    """Metamorphic: over every ordered choice of up to three runs, the report's status is its worst run's
    (mismatch > unbound > bound), and adding a bound run never improves it."""
    kinds = {
        "bound": _run(results=[], properties={"repoDigests": ["r@" + OTHER_DIGEST]}),
        "unbound": _run(results=[]),
        "mismatch": _run(results=[], properties={"repoDigests": ["r@" + ORTELIUS_DIGEST]}),
    }
    worst = ("mismatch", "unbound", "bound")
    for size in (1, 2, 3):
        for combo in itertools.product(kinds, repeat=size):
            runs = [kinds[k] for k in combo]
            status = _evaluate(_sarif(runs), image_digests=[OTHER_DIGEST]).facts["image_binding"]
            expected = next(k for k in worst if k in combo)
            assert status["status"] == expected, combo
            more = _evaluate(_sarif([*runs, kinds["bound"]]), image_digests=[OTHER_DIGEST])
            assert more.facts["image_binding"]["status"] == expected, combo


def _statement(subject_digest: str, repo_digests: list[str] | None) -> ScanReport:
    """The Trivy doc's cosign-vuln body in an in-toto statement about ``subject_digest`` (hand-built:
    no real signed cosign-vuln statement exists as upstream data, see the SOURCES.md)."""
    body = json.loads((COSIGN_VULN / "trivy-doc-alpine-3.10.cosign-vuln.json").read_text())
    body["scanner"]["result"]["Metadata"]["RepoDigests"] = repo_digests
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "ghcr.io/acme/app", "digest": {"sha256": subject_digest.split(":")[1]}}
        ],
        "predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
        "predicate": body,
    }
    return parse_cosign_vuln(json.dumps(statement).encode(), "att.json")


def test_statement_subject_binds_a_scan_that_names_no_digest() -> None:
    report = _statement(OTHER_DIGEST, None)
    assert report.scans[0].attested == ("ghcr.io/acme/app@" + OTHER_DIGEST,)
    result = _evaluate(report, image_digests=[OTHER_DIGEST])
    assert result.facts["image_binding"]["status"] == "bound"
    assert result.facts["scans"][0]["attested"] == ["ghcr.io/acme/app@" + OTHER_DIGEST]
    assert _evaluate(report, image_digests=[ORTELIUS_DIGEST]).facts["image_binding"]["status"] == (
        "mismatch"
    )


def test_statement_about_one_image_carrying_a_scan_of_another_is_a_mismatch() -> None:
    """Subject = the gated image, but Trivy's metadata says it scanned quay.io/ortelius/ms-nginx."""
    report = _statement(OTHER_DIGEST, ["quay.io/ortelius/ms-nginx@" + ORTELIUS_DIGEST])
    binding = _evaluate(report, image_digests=[OTHER_DIGEST]).facts["image_binding"]
    assert binding["status"] == "mismatch"
    assert "but its attestation is about ghcr.io/acme/app@" + OTHER_DIGEST in binding["problems"][0]
    agreeing = _statement(OTHER_DIGEST, ["ghcr.io/acme/app@" + OTHER_DIGEST])
    assert _evaluate(agreeing, image_digests=[OTHER_DIGEST]).facts["image_binding"]["status"] == (
        "bound"
    )
