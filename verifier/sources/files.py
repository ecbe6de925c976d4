"""Local files: bounded reads with errors that name the file. All file I/O of checks goes through here."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from verifier._internal.text import MIB as MIB
from verifier._internal.text import human_size as human_size
from verifier._internal.text import parse_json as parse_json
from verifier.errors import InputError

# Default cap for one input document. Real Trivy SARIF for a large image is a few MB; 64 MiB leaves
# an order of magnitude of headroom while refusing to parse accidental multi-GB inputs.
DEFAULT_MAX_BYTES = 64 * MIB


def check_size(path: str | os.PathLike[str], max_bytes: int) -> int:
    """Raise InputError if the file is missing, not a regular file, or larger than ``max_bytes``."""
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except OSError as exc:
        raise InputError(name, f"cannot read: {exc.strerror}") from exc
    if not Path(name).is_file():
        raise InputError(name, "not a regular file")
    if st.st_size > max_bytes:
        raise InputError(
            name,
            f"file is {human_size(st.st_size)}, over the limit of {human_size(max_bytes)} "
            "(raise it with --max-size if this input is expected)",
        )
    return st.st_size


def read_bytes(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a whole file after checking its size against ``max_bytes`` (checked again after reading,
    in case the file grew)."""
    name = os.fspath(path)
    check_size(name, max_bytes)
    try:
        with open(name, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(name, f"cannot read: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise InputError(name, f"file grew over the limit of {human_size(max_bytes)} while reading")
    return data


def read_text(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Read a UTF-8 text file (a BOM is accepted), with a clear error for binary junk."""
    data = read_bytes(path, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(os.fspath(path), f"not UTF-8 text (byte {exc.start})") from None


def load_json(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Read and parse a JSON file, bounded by ``max_bytes``."""
    name = os.fspath(path)
    return parse_json(read_bytes(name, max_bytes), name)


def walk(
    root: str, on_unlistable: Callable[[str, str], None] | None = None
) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(root)`` (symlinked directories not followed), each listing sorted; the caller may prune
    ``dirnames`` in place as with ``os.walk``.

    ``os.walk`` silently skips a directory it cannot list, which would let a check pass on what it could see.
    Here such a directory is never skipped silently: ``on_unlistable(path, reason)`` is called, and without
    it InputError is raised naming the directory (exit 2).
    """

    def onerror(exc: OSError) -> None:
        path = exc.filename if isinstance(exc.filename, str) else root
        reason = f"cannot list directory: {exc.strerror or exc}"
        if on_unlistable is None:
            raise InputError(path, reason)
        on_unlistable(path, reason)

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames.sort()
        filenames.sort()
        yield dirpath, dirnames, filenames
