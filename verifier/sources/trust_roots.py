"""Read Sigstore trusted roots from disk: the pinned ones of the package (or their refreshed copies) and
the ones a configuration names. Parsing is :func:`verifier.sigstore.trust.parse_trust_root` (pure).

Example::

    from verifier.sources.trust_roots import load_trust_root
    root = load_trust_root(None)          # the pinned public-good root
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from verifier.sigstore.trust import (
    MAX_TRUSTED_ROOT_BYTES,
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


__all__ = ["TRUST_DIR_ENV", "load_trust_root", "pinned"]
