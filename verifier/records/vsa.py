"""SLSA Verification Summary Attestation (VSA v1) for the gated image, as an in-toto Statement v1.

The statement is unsigned JSON: the cluster side (or a later ``cosign attest --type
https://slsa.dev/verification_summary/v1``) signs it. Its subject is the image digest; the predicate records
the verifier, the time, the policy bundle (uri + sha256 over its files), the inputs read and the result.

``verifiedLevels`` states only what was verified (SLSA v1.0 VSA: "the highest level of each track verified
for the artifact, or FAILED if policy verification failed"). A Build level needs verified provenance: a
signature alone proves who signed, not how the image was built, so without a passed ``provenance`` check the
VSA says ``SLSA_BUILD_LEVEL_0`` (no Build guarantees). The level of a passed ``provenance`` check is the one
its facts carry (``build_level``: 2 for signed provenance from an accepted builder, 3 only for a builder the
configuration names as hardened); each verified provenance attestation is listed in ``inputAttestations``
with its builder and source.
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


PROVENANCE_CHECK = "provenance"
MAX_BUILD_LEVEL = 3


def build_level(results: Sequence[CheckResult]) -> int:
    """The SLSA Build level verified provenance supports: 0 unless every ``provenance`` result passed and
    states a level (the lowest of them counts when several images or attestations were checked)."""
    provenance = [r for r in results if r.check == PROVENANCE_CHECK]
    if not provenance or any(r.verdict != "pass" for r in provenance):
        return 0
    levels = []
    for result in provenance:
        level = result.facts.get("build_level")
        if not isinstance(level, int) or isinstance(level, bool):
            return 0
        levels.append(max(0, min(level, MAX_BUILD_LEVEL)))
    return min(levels)


def verified_levels(results: Sequence[CheckResult], allowed: bool) -> list[str]:
    """``["FAILED"]`` when the policy denied; else the one Build-track level verified provenance supports."""
    if not allowed:
        return ["FAILED"]
    return [f"SLSA_BUILD_LEVEL_{build_level(results)}"]


def provenance_inputs(results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """ResourceDescriptors of the verified provenance attestations (where, digest, builder, source)."""
    descriptors: list[dict[str, Any]] = []
    for result in results:
        if result.check != PROVENANCE_CHECK or result.verdict != "pass":
            continue
        for item in result.facts.get("verified", []) or []:
            if not isinstance(item, dict) or not isinstance(item.get("where"), str):
                continue
            entry: dict[str, Any] = {"uri": item["where"]}
            if isinstance(item.get("digest"), str) and ":" in item["digest"]:
                algo, _, value = item["digest"].partition(":")
                entry["digest"] = {algo: value}
            annotations = {
                key: item[key]
                for key in ("builder_id", "build_type", "predicate_type", "source_repository")
                if isinstance(item.get(key), str)
            }
            if annotations:
                entry["annotations"] = annotations
            descriptors.append(entry)
    return descriptors


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
    input_attestations.extend(provenance_inputs(results))
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
