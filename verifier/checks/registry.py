"""The explicit list of checks. Adding a check means adding a line here (see docs/development.md).

Modules are named here, not imported, so that ``verifier --help`` and ``verifier check sarif`` never
pay for importing sigstore, spdx-tools or cyclonedx.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from verifier.checks._base import CheckMeta

CHECKS: tuple[CheckMeta, ...] = (
    CheckMeta(
        "sarif-severity",
        "Trivy (SARIF or JSON) findings within the severity policy",
        "verifier.checks.sarif_severity",
    ),
    CheckMeta(
        "actions-pinned",
        "GitHub Actions `uses:` pinned to full commit SHAs",
        "verifier.checks.actions_pinned",
    ),
    CheckMeta(
        "oidc-trust",
        "Cloud OIDC trust policies scoped to the right repository and ref",
        "verifier.checks.oidc_trust",
    ),
    CheckMeta(
        "signature",
        "Container image signed by a trusted signer (cosign / Sigstore)",
        "verifier.checks.signature",
    ),
    CheckMeta(
        "sbom-attestation",
        "Verified SBOM attestation for the image",
        "verifier.checks.sbom_attestation",
    ),
)

_BY_ID = {meta.id: meta for meta in CHECKS}


def get(check_id: str) -> CheckMeta:
    """Metadata for ``check_id``; raises KeyError with the known ids for an unknown one."""
    try:
        return _BY_ID[check_id]
    except KeyError:
        known = ", ".join(sorted(_BY_ID))
        raise KeyError(f"unknown check {check_id!r} (known: {known})") from None


def load(check_id: str) -> ModuleType:
    """Import the module of one check on demand."""
    return importlib.import_module(get(check_id).module)
