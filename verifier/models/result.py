"""Check results and the subjects they are about."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from verifier.models.finding import Finding


class Verdict(enum.StrEnum):
    """Verdicts every check may give. ``oidc-trust`` refines them (see its module)."""

    PASS = "pass"  # noqa: S105 - not a password
    FAIL = "fail"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """What a check looked at: a file, a directory or an image (with its resolved digest)."""

    kind: str  # "file" | "directory" | "image"
    ref: str
    digest: str | None = None

    def __str__(self) -> str:
        """Display form: the reference as given, plus the digest when it was resolved."""
        if self.digest and self.digest not in self.ref:
            return f"{self.ref}@{self.digest}"
        return self.ref


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """The outcome of one check on one subject. Checks report; the policy decides."""

    check: str
    subject: str
    verdict: str
    findings: tuple[Finding, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
