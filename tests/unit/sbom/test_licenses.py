"""Licence identifiers normalised on both sides (the SBOM's ids and the policy's lists).

Real SBOMs use deprecated and differently-cased SPDX ids: the juice-shop CycloneDX SBOM (OWASP, vendored
in tests/assets/upstream/sbom) says ``GPL-2.0``, which SPDX now spells ``GPL-2.0-only``. Compared as
written, a deny list of current ids let such SBOMs through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import UPSTREAM
from verifier.checks.sbom_attestation import CHECK as SBOM_CHECK
from verifier.config import parse_config
from verifier.models import CheckResult
from verifier.models.config import VerifierConfig
from verifier.pipeline import decide
from verifier.sbom.licenses import license_ids, normalize_license_id
from verifier.sbom.read import read_sbom


def policy_config(config: VerifierConfig) -> dict[str, Any]:
    """input.config as the pipeline builds it for the sbom section."""
    return {"sbom-attestation": SBOM_CHECK.policy_config(config.sections["sbom"], None)}


JUICE_SHOP = UPSTREAM / "sbom" / "cyclonedx" / "large" / "node-npm-juice-shop-flat-1.6.cdx.json"


@pytest.mark.parametrize(
    ("written", "current"),
    [
        ("GPL-2.0", "GPL-2.0-only"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("gpl-3.0-only", "GPL-3.0-only"),
        ("LGPL-2.1+", "LGPL-2.1-or-later"),
        ("AGPL-3.0", "AGPL-3.0-only"),
        ("GFDL-1.3", "GFDL-1.3-only"),
        ("apache-2.0", "Apache-2.0"),
        ("MIT", "MIT"),
        (
            "MPL-1.1+",
            "MPL-1.1",
        ),  # not a GNU licence: "+" dropped, as before, so denying MPL-1.1 catches it
        ("LicenseRef-acme-eula", "LicenseRef-acme-eula"),
        ("Apache License 2.0", "Apache License 2.0"),  # free text: kept as written
    ],
)
def test_normalize_license_id(written: str, current: str) -> None:
    assert normalize_license_id(written) == current


def test_expressions_give_normalised_ids_and_bad_ones_still_give_their_tokens() -> None:
    assert license_ids(
        ["(MIT OR GPL-2.0+ WITH Classpath-exception-2.0)", "NOASSERTION", "NONE"]
    ) == ("Classpath-exception-2.0", "GPL-2.0-or-later", "MIT")
    # Not a valid expression: every token is still an id (a denied licence inside is still found).
    assert license_ids(["MIT AND", "(GPL-3.0"]) == ("GPL-3.0-only", "MIT")


def test_real_sbom_with_a_deprecated_id_is_denied_by_a_current_one(tmp_path: Path) -> None:
    summary = read_sbom(JUICE_SHOP.read_bytes(), str(JUICE_SHOP))
    assert any(
        "GPL-2.0" in expr and "GPL-2.0-" not in expr for expr in summary.licenses
    )  # as written
    assert "GPL-2.0-only" in summary.license_ids and "GPL-2.0" not in summary.license_ids
    result = CheckResult(
        check="sbom-attestation",
        subject="reg/app@sha256:" + "1" * 64,
        verdict="pass",
        facts={
            "attestations_found": 1,
            "sboms": [summary.to_dict()],
            "formats": ["cyclonedx"],
            "created": summary.created,
        },
    )
    now = datetime(2026, 11, 26, tzinfo=UTC)
    for listed in ("GPL-2.0", "GPL-2.0-only", "gpl-2.0-or-later"):
        config = parse_config(
            {"sbom": {"denied_licenses": [listed], "max_age": "100000h"}}, "v.yaml"
        )
        decision, _ = decide([result], policy_config(config), now=now)
        assert decision.allowed is False, listed
        assert any("lists denied licence GPL-2.0-only" in m for m in decision.deny), (
            listed,
            decision.deny,
        )
    config = parse_config(
        {"sbom": {"denied_licenses": ["LGPL-2.0-only"], "max_age": "100000h"}}, "v.yaml"
    )
    decision, _ = decide([result], policy_config(config), now=now)
    assert not any("denied licence" in m for m in decision.deny)


def test_policy_lists_are_normalised_like_the_sbom() -> None:
    config = parse_config(
        {"sbom": {"denied_licenses": ["gpl-3.0", "GPL-2.0+"], "allowed_licenses": ["apache-2.0"]}},
        "v.yaml",
    )
    section = policy_config(config)["sbom-attestation"]
    assert section["denied_licenses"] == ["GPL-3.0-only", "GPL-2.0-or-later"]
    assert section["allowed_licenses"] == ["Apache-2.0"]
