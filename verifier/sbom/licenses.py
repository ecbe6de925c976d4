"""SPDX licence identifiers, normalised so that an SBOM and a policy list name a licence the same way.

SBOMs in the wild use deprecated and differently-cased identifiers for the same licence: ``GPL-2.0`` is
``GPL-2.0-only``, ``GPL-2.0+`` is ``GPL-2.0-or-later``, ``apache-2.0`` is ``Apache-2.0``. Compared as
written, a deny list naming ``GPL-3.0-only`` would let an SBOM that says ``GPL-3.0`` through. Both sides
are therefore mapped to the current SPDX identifier with license-expression (nexB; the SPDX licence list
with its deprecated ids; already required by spdx-tools). An identifier the list does not know
(``LicenseRef-…``, free text) is kept as written, minus a trailing ``+`` (so denying ``MPL-1.1`` also
catches ``MPL-1.1+``, as before).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

NOT_LICENSES = frozenset({"NOASSERTION", "NONE", ""})
_OPERATORS = frozenset({"AND", "OR", "WITH"})
_TOKEN = re.compile(r"[^\s()]+")


@functools.cache
def _licensing() -> Any:
    import license_expression

    return license_expression.get_spdx_licensing()


def _keys(text: str) -> list[str] | None:
    """The licence keys license-expression reads in ``text``; None when it is not an expression."""
    try:
        parsed = _licensing().parse(text)
    except Exception:  # noqa: BLE001 - license-expression raises several types; the caller falls back
        return None
    return None if parsed is None else [str(k) for k in _licensing().license_keys(parsed)]


@functools.lru_cache(maxsize=4096)
def normalize_license_id(identifier: str) -> str:
    """The current SPDX identifier for ``identifier`` (case and deprecated ids), else it as written."""
    token = identifier.strip()
    keys = _keys(token) or []
    name = keys[0] if len(keys) == 1 else token
    return name[:-1] if name.endswith("+") and len(name) > 1 else name


@functools.lru_cache(maxsize=4096)
def _expression_ids(expression: str) -> tuple[str, ...]:
    tokens = _keys(expression)
    if tokens is None:  # not a valid expression: every token of it still counts
        tokens = [t for t in _TOKEN.findall(expression) if t.upper() not in _OPERATORS]
    return tuple(normalize_license_id(t) for t in tokens if t not in NOT_LICENSES)


def license_ids(expressions: Iterable[str]) -> tuple[str, ...]:
    """Normalised identifiers inside SPDX licence expressions, sorted and unique:
    ``(MIT OR GPL-2.0+ WITH Classpath-exception-2.0)`` -> Classpath-exception-2.0, GPL-2.0-or-later, MIT."""
    ids: set[str] = set()
    for expression in expressions:
        ids.update(_expression_ids(expression))
    ids.difference_update(NOT_LICENSES)
    return tuple(sorted(ids))


__all__ = ["NOT_LICENSES", "license_ids", "normalize_license_id"]
