"""Read Sigstore trusted roots from disk: the pinned ones of the package (or their refreshed copies) and
the ones a configuration names. Parsing is :func:`verifier.sigstore.trust.parse_trust_root` (pure).

Example::

    from verifier.sources.trust_roots import load_trust_root
    root = load_trust_root(None)          # the pinned public-good root
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from verifier.sigstore.trust import (
    MAX_TRUSTED_ROOT_BYTES,
    PINNED_GITHUB_ROOT,
    PINNED_STAGING_ROOT,
    PINNED_TRUSTED_ROOT,
    TrustRoot,
    parse_trust_root_cached,
)
from verifier.sources.files import read_bytes

# Where `verifier trust update --dir DIR` put refreshed copies, when the package's own files are read-only.
TRUST_DIR_ENV = "VERIFIER_TRUST_DIR"


def pinned(path: Path) -> Path:
    """A pinned root of the package, or its refreshed copy in ``$VERIFIER_TRUST_DIR`` when there is one.

    The file is read on every load (parsing is cached by content), so a refreshed root is used from the next
    verification on, by a long-running webhook too, without a restart.
    """
    directory = os.environ.get(TRUST_DIR_ENV)
    if directory:
        refreshed = Path(directory) / path.name
        if refreshed.is_file():
            return refreshed
    return path


def load_trust_root(path: str | Path | None) -> TrustRoot:
    """Load ``path`` (or the pinned production root when None). Parsed roots are cached by content."""
    file = Path(path) if path is not None else pinned(PINNED_TRUSTED_ROOT)
    raw = read_bytes(file, MAX_TRUSTED_ROOT_BYTES)
    return parse_trust_root_cached(str(file), hashlib.sha256(raw).hexdigest(), raw)


# The Sigstore instances whose roots are pinned in the package, by the name a configuration uses.
INSTANCE_ROOTS = {
    "public-good": PINNED_TRUSTED_ROOT,
    "github": PINNED_GITHUB_ROOT,
    "staging": PINNED_STAGING_ROOT,
}


def instance_paths(instances: Sequence[str]) -> list[Path]:
    """The files the pinned roots of ``instances`` are read from (refreshed copies included); each instance
    once, in the order given. KeyError on a name that is not in :data:`INSTANCE_ROOTS`."""
    return [pinned(INSTANCE_ROOTS[name]) for name in dict.fromkeys(instances)]


def load_roots(instances: Sequence[str], extra: str | Path | None = None) -> tuple[TrustRoot, ...]:
    """The pinned roots of ``instances`` (``public-good``, ``github``, ``staging``), then ``extra``.

    Which of them verifies a keyless bundle is decided by the CA that issued its certificate
    (:func:`verifier.sigstore.bundle.verify_bundle`), never by a field of the bundle.
    """
    roots = [load_trust_root(path) for path in instance_paths(instances)]
    if extra is not None:
        roots.append(load_trust_root(extra))
    return tuple(roots)


__all__ = [
    "INSTANCE_ROOTS",
    "TRUST_DIR_ENV",
    "instance_paths",
    "load_roots",
    "load_trust_root",
    "pinned",
]
