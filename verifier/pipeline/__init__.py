"""The one pipeline: ``evaluate(config) -> Evaluation`` (collect → check → decide), used by every adapter.

Example::

    from verifier.config import load_config
    from verifier.pipeline import evaluate

    evaluation = evaluate(load_config("verifier.yaml"), now=datetime.now(UTC))
    print(evaluation.decision.allowed, evaluation.decision.deny)
"""

from verifier.pipeline.decide import decide
from verifier.pipeline.run import (
    CheckRun,
    Evaluation,
    SourceOptions,
    configured_checks,
    evaluate,
    merge_policy_config,
    run_checks,
)

__all__ = [
    "CheckRun",
    "Evaluation",
    "SourceOptions",
    "configured_checks",
    "decide",
    "evaluate",
    "merge_policy_config",
    "run_checks",
]
