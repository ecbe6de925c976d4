"""The policy layer: the Rego input document and the engines that evaluate the bundle.

:mod:`verifier.policy.engine` holds the interface and the input builder; the engines
(:mod:`~verifier.policy.regorus_engine`, :mod:`~verifier.policy.opa_server`) implement it, and
:func:`make_engine` picks one. Imports run one way: engines → engine, never back.
"""

from __future__ import annotations

import functools
from pathlib import Path

from verifier.policy.engine import PolicyEngine, default_policy_dir


@functools.lru_cache(maxsize=16)
def make_engine(policy_dir: Path | None = None, opa_url: str | None = None) -> PolicyEngine:
    """The configured engine: an OPA server when ``opa_url`` is given, else the embedded engine.

    Built once per (policy_dir, opa_url) in a process: both engines are safe to share between threads (the
    embedded one keeps a loaded bundle per thread), so a long-lived process such as the webhook decides per
    image without resolving and checking the bundle again. An invalid bundle raises and is not cached.
    """
    if opa_url:
        from verifier.policy.opa_server import OpaServerEngine

        return OpaServerEngine(opa_url)
    from verifier.policy.regorus_engine import RegorusEngine

    return RegorusEngine.for_bundle(policy_dir or default_policy_dir())


__all__ = ["PolicyEngine", "make_engine"]
