"""The check registry is the one list: every check in it is complete, and nothing else lists checks."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from verifier.checks import registry
from verifier.checks._base import Check
from verifier.models.config import STRICT

REPO = Path(__file__).resolve().parents[2]
IDS = [meta.id for meta in registry.CHECKS]


@pytest.mark.parametrize("check_id", IDS)
def test_every_check_has_its_module_section_policy_and_docs(check_id: str) -> None:
    meta = registry.get(check_id)
    check = registry.load(check_id)
    assert isinstance(check, Check) and check.meta == meta
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", meta.id)
    assert meta.module == "verifier.checks." + meta.id.replace("-", "_")
    section = check.section_type
    assert dataclasses.is_dataclass(section)
    assert section.__dataclass_params__.frozen  # type: ignore[attr-defined]
    if (
        meta.section != "signers"
    ):  # the shared signer section is the base layer's (models/config.py)
        assert getattr(section, "__pydantic_config__", None) == STRICT
    stem = meta.id.replace("-", "_")
    assert (REPO / "policies" / f"{stem}.rego").is_file()
    assert (REPO / "policies" / f"{stem}_test.rego").is_file()
    assert (REPO / "docs" / "checks" / f"{meta.id}.md").is_file()


def test_ids_and_sections_are_unique() -> None:
    assert len(set(IDS)) == len(IDS)
    assert len({m.section for m in registry.CHECKS}) == len(IDS)


def test_unknown_id_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: actions-pinned"):
        registry.get("sbom")


def test_no_other_list_of_checks_in_the_code() -> None:
    """Adding a check is one registry line: no other module spells out the set of check ids."""
    # audit/plan.py maps its kinds of input (repository, scan report) to the checks that read them.
    exempt = {"registry.py", "plan.py"}
    offenders = []
    for path in sorted((REPO / "verifier").rglob("*.py")):
        if path.name in exempt:
            continue
        text = path.read_text(encoding="utf-8")
        named = [i for i in IDS if f'"{i}"' in text]
        if len(named) >= 3:
            offenders.append(f"{path.relative_to(REPO)}: {named}")
    assert offenders == []
