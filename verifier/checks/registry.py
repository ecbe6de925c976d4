"""The one list of checks. Adding a check means adding a line here (see docs/development.md).

The order is the order checks run and are reported in. Modules are named here, not imported, so that
``verifier --help`` and ``verifier check sarif`` never pay for importing sigstore, spdx-tools or cyclonedx:
:func:`load` imports a check's module when the pipeline (or the config loader) first needs it.
"""

from __future__ import annotations

import importlib
from typing import Any

from verifier.checks._base import Check, CheckMeta

CHECKS: tuple[CheckMeta, ...] = (
    # id, description, verifier.yaml section, module (whose CHECK implements it)
    CheckMeta(
        "signature",
        "Container image signed by a trusted signer (cosign / Sigstore)",
        "signers",
        "verifier.checks.signature",
    ),  # fmt: skip
    CheckMeta(
        "sbom-attestation",
        "Verified SBOM attestation for the image",
        "sbom",
        "verifier.checks.sbom_attestation",
    ),  # fmt: skip
    CheckMeta(
        "provenance",
        "Verified SLSA build provenance from a trusted builder and source",
        "provenance",
        "verifier.checks.provenance",
    ),  # fmt: skip
    CheckMeta(
        "sarif-severity",
        "Trivy (SARIF or JSON) findings within the severity policy",
        "sarif",
        "verifier.checks.sarif_severity",
    ),  # fmt: skip
    CheckMeta(
        "actions-pinned",
        "GitHub Actions `uses:` pinned to full commit SHAs",
        "workflows",
        "verifier.checks.actions_pinned",
    ),  # fmt: skip
    CheckMeta(
        "oidc-trust",
        "Cloud OIDC trust policies scoped to the right repository and ref",
        "trust_policies",
        "verifier.checks.oidc_trust",
    ),  # fmt: skip
)

_BY_ID = {meta.id: meta for meta in CHECKS}
_BY_SECTION = {meta.section: meta for meta in CHECKS}


def get(check_id: str) -> CheckMeta:
    """Metadata for ``check_id``; raises KeyError with the known ids for an unknown one."""
    try:
        return _BY_ID[check_id]
    except KeyError:
        known = ", ".join(sorted(_BY_ID))
        raise KeyError(f"unknown check {check_id!r} (known: {known})") from None


def by_section(key: str) -> CheckMeta | None:
    """The check whose ``verifier.yaml`` section is ``key``, or None."""
    return _BY_SECTION.get(key)


def load(check_id: str) -> Check[Any, Any]:
    """The :class:`Check` of ``check_id`` (its module's ``CHECK``), importing the module on first use."""
    meta = get(check_id)
    check = getattr(importlib.import_module(meta.module), "CHECK", None)
    if not isinstance(check, Check) or check.meta != meta:
        raise TypeError(f"{meta.module}.CHECK is not the Check of {check_id!r}")
    return check
