"""Check results and the subjects they are about."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from verifier.models.finding import Finding


class Verdict(enum.StrEnum):
    """Verdicts every check may give. ``oidc-trust`` refines them (see its module)."""

    PASS = "pass"  # noqa: S105 - not a password
    FAIL = "fail"
    ERROR = "error"


class Subject(BaseModel):
    """What a check looked at: a file, a directory or an image (with its resolved digest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str  # "file" | "directory" | "image"
    ref: str
    digest: str | None = None

    def __str__(self) -> str:
        """Display form: the reference as given, plus the digest when it was resolved."""
        if self.digest and self.digest not in self.ref:
            return f"{self.ref}@{self.digest}"
        return self.ref


class CheckResult(BaseModel):
    """The outcome of one check on one subject. Checks report; the policy decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str
    subject: str
    verdict: str
    findings: tuple[Finding, ...] = ()
    facts: dict[str, Any] = Field(default_factory=dict)
