"""What every check declares about itself."""

from __future__ import annotations

from dataclasses import dataclass

DOCS_BASE = "https://github.com/verifier-dev/verifier/blob/main/docs/checks"


@dataclass(frozen=True)
class CheckMeta:
    """Static metadata of one check: a kebab-case id that never changes, and one line of description."""

    id: str
    desc: str
    module: str

    @property
    def docs_url(self) -> str:
        """Docs page of this check (one page per check under docs/checks/)."""
        return f"{DOCS_BASE}/{self.id}.md"

    def rule_url(self, rule: str) -> str:
        """Docs anchor of one rule id of this check."""
        return f"{self.docs_url}#{rule}"
