"""Differential test: the HCL reader renders module calls and template files as Terraform itself does.

``tests/assets/oidc-trust/terraform-plans/<case>/`` are root modules (child modules, ``count`` / ``for_each``
on module calls, nested calls, caller variables and locals in other files, policy documents with ``dynamic``
conditions in a child, ``templatefile`` with ``%{ for }`` / ``%{ if }``, ``file``); ``<case>.plan.json`` is
what ``terraform plan`` + ``terraform show -json`` (Terraform v1.11.4, hashicorp/aws v5.100.0) made of each
(``generate.py`` there regenerates them). For every case the reader must find the same roles, under the same
addresses, with the same trust documents and verdicts as when it reads Terraform's plan.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from verifier.checks.oidc_trust import check_all
from verifier.sources.trust_policy_files import load_configs

PLANS = Path(__file__).resolve().parents[2] / "assets" / "oidc-trust" / "terraform-plans"
CASES = sorted(p.name for p in PLANS.iterdir() if p.is_dir())


def canonical(value: Any) -> Any:
    """An IAM document in one spelling: a one-element list is its element (the provider writes either)."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        value = json.loads(value)
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


def read(path: Path) -> dict[str, tuple[Any, str]]:
    """Configuration name → (canonical document, verdict)."""
    configs = load_configs([str(path)])
    return {
        str(c.name): (canonical(c.document), r.verdict)
        for c, r in zip(configs, check_all(configs), strict=True)
    }


def test_there_are_cases_and_plans() -> None:
    assert len(CASES) >= 5
    assert all((PLANS / f"{case}.plan.json").is_file() for case in CASES)


@pytest.mark.parametrize("case", CASES)
def test_hcl_renders_what_terraform_planned(case: str) -> None:
    from_hcl = read(PLANS / case)
    from_plan = read(PLANS / f"{case}.plan.json")
    assert sorted(from_hcl) == sorted(from_plan)
    for name, (document, verdict) in from_plan.items():
        assert from_hcl[name][0] == document, name
        assert from_hcl[name][1] == verdict, name


def test_the_cases_cover_every_verdict_that_matters() -> None:
    verdicts = {v for case in CASES for _d, v in read(PLANS / f"{case}.plan.json").values()}
    assert {"pass", "warn-org", "fail"} <= verdicts
