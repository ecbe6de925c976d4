"""What the trust-policy readers collect: one cloud OIDC trust configuration, provider-specific but unjudged.

Sources (:mod:`verifier.sources.trust_policy_files`) build these; the ``oidc-trust`` check judges them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

Provider = Literal["aws", "gcp", "azure"]
# A reader marks an expression it cannot evaluate as ``${unsupported-expression: TEXT}``: the check then
# reports it as not understood (verdict ``unsupported``), not as a deploy-time template.
UNSUPPORTED_MARK = "unsupported-expression:"
Scenario = Literal["worst", "best"]


@dataclasses.dataclass(frozen=True)
class Rendering:
    """One way the source file can render a configuration (a choice of parameter values, a branch).

    ``label`` says which choice (``RepositoryName='*'``); ``document`` is what the cloud then receives.
    """

    label: str
    document: Any


@dataclasses.dataclass(frozen=True)
class TrustConfig:
    """One trust configuration as collected by ``verifier.sources.trust_policy_files``.

    ``document`` is provider-specific: an IAM policy document (AWS), a dict with ``issuer_uri``,
    ``attribute_mapping``, ``attribute_condition``, ``bindings`` (GCP), or a dict with ``issuer``,
    ``subject``/``claims_matching_expression``, ``audiences`` (Azure). ``text`` is the file's text, used
    only to give findings a line number.
    """

    provider: Provider
    subject: str
    path: str
    document: Any
    name: str | None = None
    text: str = ""
    parameters: Mapping[str, str] = dataclasses.field(default_factory=dict)
    oidc_providers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    admin_permissions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    first_line: int = 1  # where this configuration starts in ``text`` (several may share one file)
    # Every rendering the file allows (parameter AllowedValues, unknown conditions): the worst decides.
    # Empty when ``document`` is the only one.
    renderings: tuple[Rendering, ...] = ()
    # Set when the reader recognised the configuration but cannot read it (the check reports ``error``).
    error: str | None = None
    # Read from a field that holds a trust policy by definition (``AssumeRolePolicyDocument``,
    # ``assume_role_policy``), so it is evaluated whatever its action says.
    by_definition: bool = False
