"""docs/checks/oidc-trust.md documents exactly the rule ids the check can report (one heading each)."""

from __future__ import annotations

import re
from pathlib import Path

from verifier.checks import registry
from verifier.checks.oidc_trust import RULES

DOC = Path(__file__).resolve().parents[3] / "docs" / "checks" / "oidc-trust.md"


def test_every_rule_has_a_heading_and_every_heading_is_a_rule() -> None:
    headings = re.findall(r"^### ([a-z0-9-]+)\s*$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(headings) == len(set(headings))
    assert set(headings) == set(RULES)


def test_rule_urls_point_at_the_page() -> None:
    meta = registry.get("oidc-trust")
    assert meta.docs_url.endswith("/oidc-trust.md")
    assert meta.rule_url("sub-missing").endswith("/oidc-trust.md#sub-missing")
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", rule) for rule in RULES)
