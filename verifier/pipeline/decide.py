"""The decision step: check results and per-check settings in, the Rego policy's decision out.

:func:`decide` builds the policy input (:func:`verifier.policy.engine.build_input`, the one place it is built)
and evaluates it on the configured engine. The pipeline calls it once per evaluation; nothing else decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from verifier.models import CheckResult, Decision
from verifier.policy import make_engine
from verifier.policy.engine import build_input, input_json


def decide(
    results: Sequence[CheckResult],
    config: Mapping[str, Any],
    *,
    now: datetime,
    policy_dir: Path | None = None,
    opa_url: str | None = None,
) -> tuple[Decision, dict[str, Any]]:
    """Evaluate the policy bundle on ``results``; return the decision and the exact input document used."""
    decision = decision_for(results, config, now=now, policy_dir=policy_dir, opa_url=opa_url)
    return decision, build_input(results, config, now)


def decision_for(
    results: Sequence[CheckResult],
    config: Mapping[str, Any],
    *,
    now: datetime,
    policy_dir: Path | None = None,
    opa_url: str | None = None,
) -> Decision:
    """:func:`decide`'s decision, with the input handed to the engine as JSON text encoded result by
    result (the pipeline's path: a run over tens of thousands of files never holds the input document as
    Python objects; :attr:`~verifier.pipeline.Evaluation.policy_input` builds it when asked)."""
    return make_engine(policy_dir, opa_url).evaluate_json(input_json(results, config, now))
