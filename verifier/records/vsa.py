"""SLSA Verification Summary Attestation (VSA v1) for the gated image, as an in-toto Statement v1.

The statement is unsigned JSON: the cluster side (or a later ``cosign attest --type
https://slsa.dev/verification_summary/v1``) signs it. Its subject is the image digest; the predicate records
the verifier, the time, the policy bundle (uri + sha256 over its files), the inputs read and the result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from verifier import __version__
from verifier.models import CheckResult, Decision

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
VERIFIER_ID = "https://github.com/verifier-dev/verifier/gate"


def policy_digest(policy_dir: Path) -> dict[str, str]:
    """The bundle digest the reports record (:func:`verifier.policy.engine.bundle_digest`), as a DigestSet."""
    from verifier.policy.engine import bundle_digest

    algo, _, value = bundle_digest(policy_dir).partition(":")
    return {algo: value}


def file_digest(path: str) -> dict[str, str] | None:
    """sha256 of one input file, or None when it is not a readable file (a directory, an image)."""
    p = Path(path)
    if not p.is_file():
        return None
    return {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()}


def verified_levels(results: Sequence[CheckResult], allowed: bool) -> list[str]:
    """Levels the gate can vouch for. Only a passed signature check earns anything beyond none."""
    if not allowed:
        return []
    passed = {r.check for r in results if r.verdict == "pass"}
    levels = []
    if "signature" in passed:
        levels.append("SLSA_BUILD_LEVEL_1")
    return levels


def build_vsa(
    *,
    image: str,
    digest: str,
    decision: Decision,
    results: Sequence[CheckResult],
    policy_dir: Path,
    policy_uri: str,
    inputs: Sequence[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """The in-toto Statement v1 with the VSA v1 predicate for ``digest``."""
    algo, _, hexdigest = digest.partition(":")
    name = image.split("@", 1)[0]
    input_attestations = []
    for item in inputs:
        entry: dict[str, Any] = {"uri": item["uri"]}
        d = file_digest(item["uri"])
        if d:
            entry["digest"] = d
        input_attestations.append(entry)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {algo: hexdigest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": VERIFIER_ID, "version": {"verifier": __version__}},
            "timeVerified": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resourceUri": f"{name}@{digest}",
            "policy": {"uri": policy_uri, "digest": policy_digest(policy_dir)},
            "inputAttestations": input_attestations,
            "verificationResult": "PASSED" if decision.allowed else "FAILED",
            "verifiedLevels": verified_levels(results, decision.allowed),
            "dependencyLevels": {},
            "slsaVersion": "1.0",
        },
    }


def dumps(statement: dict[str, Any]) -> str:
    """Stable JSON text of the statement."""
    return json.dumps(statement, indent=2, sort_keys=True) + "\n"
