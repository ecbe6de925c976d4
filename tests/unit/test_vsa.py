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
    assert pred["verifiedLevels"] == ["SLSA_BUILD_LEVEL_1"]
    assert pred["verifier"]["id"].startswith("https://")


def test_failed_statement_has_no_levels(tmp_path: Path) -> None:
    pred = _vsa(Decision(allowed=False, deny=("x",)), tmp_path)["predicate"]
    assert isinstance(pred, dict)
    assert pred["verificationResult"] == "FAILED"
    assert pred["verifiedLevels"] == []


def test_levels_need_a_passed_signature() -> None:
    unsigned = [CheckResult(check="signature", subject="img", verdict="fail")]
    assert verified_levels(unsigned, allowed=True) == []
    assert verified_levels(RESULTS, allowed=True) == ["SLSA_BUILD_LEVEL_1"]
