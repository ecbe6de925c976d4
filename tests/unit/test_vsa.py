"""The verification summary: in-toto Statement v1 with the SLSA VSA v1 predicate for the image digest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from verifier.models import CheckResult, Decision
from verifier.policy.engine import bundle_digest, default_policy_dir
from verifier.records.vsa import PREDICATE_TYPE, STATEMENT_TYPE, build_vsa, verified_levels

DIGEST = "sha256:" + "cd" * 32
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
RESULTS = [
    CheckResult(check="signature", subject="img", verdict="pass"),
    CheckResult(check="sarif-severity", subject="scan.sarif", verdict="pass"),
]


def _vsa(decision: Decision, tmp_path: Path) -> dict[str, object]:
    scan = tmp_path / "scan.sarif"
    scan.write_bytes(b"{}")
    return build_vsa(
        image="ghcr.io/o/api:v1",
        digest=DIGEST,
        decision=decision,
        results=RESULTS,
        policy_dir=default_policy_dir(),
        policy_uri="https://example.test/policies",
        inputs=[{"uri": str(scan), "kind": "scan-report"}, {"uri": "some/dir", "kind": "workflow"}],
        now=NOW,
    )


def test_passed_statement_shape(tmp_path: Path) -> None:
    st = _vsa(Decision(allowed=True), tmp_path)
    assert st["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert st["predicateType"] == PREDICATE_TYPE == "https://slsa.dev/verification_summary/v1"
    assert st["subject"] == [{"name": "ghcr.io/o/api:v1", "digest": {"sha256": "cd" * 32}}]
    pred = st["predicate"]
    assert isinstance(pred, dict)
    assert pred["verificationResult"] == "PASSED"
    assert pred["timeVerified"] == "2026-11-26T12:00:00Z"
    assert pred["resourceUri"] == f"ghcr.io/o/api:v1@{DIGEST}"
    assert pred["policy"] == {
        "uri": "https://example.test/policies",
        "digest": {"sha256": bundle_digest(default_policy_dir()).split(":")[1]},
    }
    # The file input carries its sha256 (of b"{}"); a directory has only its uri.
    assert pred["inputAttestations"][0]["digest"] == {
        "sha256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    }
    assert pred["inputAttestations"][1] == {"uri": "some/dir"}
    # Only a signature was checked: no Build level (SLSA Build L1 means "provenance exists").
    assert pred["verifiedLevels"] == ["SLSA_BUILD_LEVEL_0"]
    assert pred["verifier"]["id"].startswith("https://")


def test_failed_statement_says_failed(tmp_path: Path) -> None:
    pred = _vsa(Decision(allowed=False, deny=("x",)), tmp_path)["predicate"]
    assert isinstance(pred, dict)
    assert pred["verificationResult"] == "FAILED"
    assert pred["verifiedLevels"] == ["FAILED"]


def _provenance(verdict: str, level: object, **facts: object) -> CheckResult:
    return CheckResult(
        check="provenance", subject="img", verdict=verdict, facts={"build_level": level, **facts}
    )


def test_a_signature_alone_claims_no_build_level() -> None:
    unsigned = [CheckResult(check="signature", subject="img", verdict="fail")]
    assert verified_levels(unsigned, allowed=True) == ["SLSA_BUILD_LEVEL_0"]
    assert verified_levels(RESULTS, allowed=True) == ["SLSA_BUILD_LEVEL_0"]


def test_build_level_comes_from_passed_provenance_only() -> None:
    assert verified_levels([*RESULTS, _provenance("pass", 2)], allowed=True) == [
        "SLSA_BUILD_LEVEL_2"
    ]
    assert verified_levels([*RESULTS, _provenance("pass", 3)], allowed=True) == [
        "SLSA_BUILD_LEVEL_3"
    ]
    # A failed provenance result, a missing or odd level, or one failing image among two: level 0.
    assert verified_levels([_provenance("fail", 3)], allowed=True) == ["SLSA_BUILD_LEVEL_0"]
    assert verified_levels([_provenance("pass", None)], allowed=True) == ["SLSA_BUILD_LEVEL_0"]
    assert verified_levels([_provenance("pass", True)], allowed=True) == ["SLSA_BUILD_LEVEL_0"]
    assert verified_levels([_provenance("pass", "3")], allowed=True) == ["SLSA_BUILD_LEVEL_0"]
    two = [_provenance("pass", 3), _provenance("fail", 3)]
    assert verified_levels(two, allowed=True) == ["SLSA_BUILD_LEVEL_0"]
    # The lowest of several passed results counts; nothing above Build L3 exists.
    assert verified_levels([_provenance("pass", 3), _provenance("pass", 2)], allowed=True) == [
        "SLSA_BUILD_LEVEL_2"
    ]
    assert verified_levels([_provenance("pass", 9)], allowed=True) == ["SLSA_BUILD_LEVEL_3"]


def test_verified_provenance_is_an_input_attestation_with_its_builder(tmp_path: Path) -> None:
    builder = "https://github.com/actions/runner/github-hosted"
    verified = {
        "where": "referrer sha256:" + "ab" * 32,
        "digest": "sha256:" + "ef" * 32,
        "builder_id": builder,
        "build_type": "https://actions.github.io/buildtypes/workflow/v1",
        "predicate_type": "https://slsa.dev/provenance/v1",
        "source_repository": "https://github.com/o/api",
    }
    results = [*RESULTS, _provenance("pass", 2, verified=[verified])]
    st = build_vsa(
        image="ghcr.io/o/api:v1",
        digest=DIGEST,
        decision=Decision(allowed=True),
        results=results,
        policy_dir=default_policy_dir(),
        policy_uri="https://example.test/policies",
        inputs=[],
        now=NOW,
    )
    pred = st["predicate"]
    assert pred["verifiedLevels"] == ["SLSA_BUILD_LEVEL_2"]
    assert pred["inputAttestations"] == [
        {
            "uri": verified["where"],
            "digest": {"sha256": "ef" * 32},
            "annotations": {
                "builder_id": builder,
                "build_type": verified["build_type"],
                "predicate_type": verified["predicate_type"],
                "source_repository": verified["source_repository"],
            },
        }
    ]
