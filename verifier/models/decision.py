"""The policy's answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Decision(BaseModel):
    """Allowed or not, with the reasons. ``allowed`` is true only when ``deny`` is empty."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool
    deny: tuple[str, ...] = ()
    warn: tuple[str, ...] = ()
