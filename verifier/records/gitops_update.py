"""Guarded GitOps update: set one value in a YAML file, keeping its comments and formatting.

``FILE:PATH=VALUE`` as in ``apps/api/values-production.yaml:.image.digest=sha256:…``. PATH is a dotted
path of mapping keys (a leading ``.`` is optional; ``[N]`` indexes a list). The edit is a ruamel.yaml
round trip, so comments, key order, quoting style and indentation of the rest of the file are kept.

A key named ``digest`` (or a PATH ending in ``.digest``) requires a digest (``sha256:<64 hex>``): a tag
there is refused. The gate calls :func:`apply_updates` only when the decision is allow: every file is
rewritten, or none is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import io
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verifier.errors import ConfigError, InputError
from verifier.sources.files import read_text

DIGEST_RE = re.compile(r"\Asha256:[0-9a-f]{64}\Z|\Asha512:[0-9a-f]{128}\Z")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
MAX_VALUES_BYTES = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Update:
    """One parsed ``FILE:PATH=VALUE``."""

    file: Path
    path: tuple[str | int, ...]
    value: str

    @property
    def path_text(self) -> str:
        """The path as written back in messages (``.image.digest``)."""
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)

    @property
    def requires_digest(self) -> bool:
        """True when the last key is ``digest``: only a digest may be written there."""
        return (
            bool(self.path) and isinstance(self.path[-1], str) and self.path[-1].lower() == "digest"
        )


def parse_update(spec: str) -> Update:
    """Parse ``FILE:PATH=VALUE``; ConfigError (exit 2) when it is malformed."""
    head, eq, value = spec.partition("=")
    file, colon, path = head.rpartition(":")
    if not eq or not colon or not file or not path:
        raise ConfigError(
            f"--update {spec!r}: expected FILE:PATH=VALUE (e.g. values.yaml:.image.digest=sha256:…)"
        )
    parts: list[str | int] = []
    pos = 1 if path.startswith(".") else 0
    while pos < len(path):
        m = _PART.match(path, pos)
        if not m:
            raise ConfigError(f"--update {spec!r}: bad path {path!r} at character {pos + 1}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
        if pos < len(path) and path[pos] == ".":
            pos += 1
            if pos == len(path):
                raise ConfigError(f"--update {spec!r}: path {path!r} ends with '.'")
    if not parts:
        raise ConfigError(f"--update {spec!r}: empty path")
    update = Update(Path(file), tuple(parts), value)
    check_value(update)
    return update


def check_value(update: Update) -> None:
    """Refuse a tag (or anything else that is not a digest) where a digest is required."""
    if update.requires_digest and not DIGEST_RE.match(update.value):
        raise ConfigError(
            f"--update {update.file}:{update.path_text}: {update.value!r} is not a digest "
            "(sha256:<64 hex>); a tag is refused where a digest is required"
        )


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap long lines
    return y


def render_update(text: str, update: Update) -> str:
    """The file's new text with the value set; InputError when the path does not lead anywhere."""
    from ruamel.yaml.error import YAMLError

    name = str(update.file)
    from ruamel.yaml.util import load_yaml_guess_indent

    y = _yaml()
    try:
        _, seq_indent, block_seq_indent = load_yaml_guess_indent(text)
        # Keep the file's own indentation of mappings and of `- ` list items.
        y.indent(
            mapping=_mapping_indent(text), sequence=seq_indent or 2, offset=block_seq_indent or 0
        )
        doc = y.load(text)
    except YAMLError as exc:
        raise InputError(name, f"not valid YAML: {str(exc).splitlines()[0]}") from None
    if doc is None:
        raise InputError(name, "empty document")
    node: Any = doc
    for i, key in enumerate(update.path[:-1]):
        node = _step(node, key, name, update.path[: i + 1])
    last = update.path[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise InputError(name, f"{_txt(update.path)}: no such list item")
        node[last] = _styled(node[last], update.value)
    else:
        if not isinstance(node, dict):
            raise InputError(name, f"{_txt(update.path[:-1]) or '(top level)'} is not a mapping")
        if last in node:
            node[last] = _styled(node[last], update.value)
        else:
            node[last] = update.value
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def _mapping_indent(text: str) -> int:
    """The smallest indentation of a nested mapping key (not a list item, not a comment); 2 when none."""
    best = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        width = len(line) - len(stripped)
        if width and stripped and not stripped.startswith(("#", "- ", "-\t")) and stripped != "-":
            best = width if not best else min(best, width)
    return best or 2


def _txt(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _step(node: Any, key: str | int, name: str, where: tuple[str | int, ...]) -> Any:
    if isinstance(key, int):
        if isinstance(node, list) and key < len(node):
            return node[key]
        raise InputError(name, f"{_txt(where)}: no such list item")
    if isinstance(node, dict) and key in node and isinstance(node[key], (dict, list)):
        return node[key]
    if isinstance(node, dict) and key not in node:
        raise InputError(name, f"{_txt(where)}: no such key")
    raise InputError(name, f"{_txt(where)} is not a mapping")


def _styled(old: Any, value: str) -> Any:
    """Keep the old scalar's quoting style."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(value)
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(value)
    return value


@dataclasses.dataclass(frozen=True)
class Change:
    """One value :func:`apply_updates` wrote: the file as named on the command line, the path, the value,
    and the file's whole new text."""

    file: Path
    path_text: str
    value: str
    text: str


# Test-only seams (read from the environment so that a test can stop a real process at these points; see
# tests/unit/test_gitops_update.py): the path of a marker file to create, then wait until a file of the same
# name with ".continue" appended exists.
PAUSE_BETWEEN_WRITES_ENV = "VERIFIER_TEST_PAUSE_BETWEEN_UPDATE_WRITES"
PAUSE_IN_COMMIT_ENV = "VERIFIER_TEST_PAUSE_IN_UPDATE_COMMIT"
_DEFERRED_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


def apply_updates(updates: Sequence[Update]) -> list[Change]:
    """Rewrite every file the updates name, or none of them (call only after an allow).

    (1) Every new text is rendered before anything is written: a bad path or bad YAML changes nothing.
    (2) Each new text is written aside (a temporary file next to its target, flushed to disk).
    (3) Commit: each target gets a backup name (a hard link to the old text), then the new text is
        renamed over it. If any rename fails, every file already renamed is put back from its backup.
        SIGINT, SIGTERM and SIGHUP are held back during the commit, so they end the process only after it.
    (4) Backups and temporary files are removed.

    Several updates of one file are applied in order to one text. Files are written at their real path
    (a symlink is followed, not replaced), keeping their permission bits. InputError says that no file
    was changed. A SIGKILL can still land inside the commit (a few renames); the backups it would leave
    are named ``.NAME.<random>.verifier-backup``.
    """
    for update in updates:
        check_value(update)
    # (1) Render.
    texts: dict[str, str] = {}
    names: dict[str, Path] = {}
    changes: list[Change] = []
    try:
        for update in updates:
            real = os.path.realpath(update.file)
            if real not in texts:
                _refuse_after_interrupted_commit(real, update.file)
                texts[real] = read_text(update.file, MAX_VALUES_BYTES)
                names[real] = update.file
            texts[real] = render_update(texts[real], update)
            changes.append(Change(update.file, update.path_text, update.value, texts[real]))
    except InputError as exc:
        raise InputError(exc.path, f"{exc.problem} (no --update file was changed)") from None
    # (2) Write aside.
    aside: dict[str, str] = {}
    try:
        for i, (real, text) in enumerate(texts.items()):
            if i == 1:
                _test_pause(PAUSE_BETWEEN_WRITES_ENV)
            aside[real] = _write_aside(real, text)
        _commit(aside, names)
    finally:
        for temp in aside.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
    # Every change of one file carries the file's final text.
    return [dataclasses.replace(c, text=texts[os.path.realpath(c.file)]) for c in changes]


def apply_update(update: Update) -> str:
    """Rewrite one file (see :func:`apply_updates`); returns the new text. Call only after an allow."""
    return apply_updates([update])[-1].text


def _refuse_after_interrupted_commit(real: str, named: Path) -> None:
    """A backup next to the file means a run was killed inside its commit (backups never outlive a run
    otherwise): its files may be half rewritten, and only a person can tell which text is right."""
    directory, name = os.path.split(real)
    stale = sorted(
        glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.verifier-backup"))
    )
    if stale:
        raise InputError(
            str(named),
            f"an earlier --update was interrupted while rewriting it and left its old text in "
            f"{', '.join(stale)}: that update may be half applied. Check this file (and the others "
            "it updated), then delete the backup and run again",
        )


def _write_aside(real: str, text: str) -> str:
    directory, name = os.path.split(real)
    # New texts left by a run that was killed before its commit (never backups: they may be needed).
    for stale in glob.glob(
        os.path.join(glob.escape(directory), f".{glob.escape(name)}.*.verifier-new")
    ):
        with contextlib.suppress(OSError):
            os.unlink(stale)
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
        fd, temp = tempfile.mkstemp(
            dir=directory or ".", prefix=f".{name}.", suffix=".verifier-new"
        )
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(temp, mode)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as exc:
        raise InputError(
            real, f"cannot write: {exc.strerror} (no --update file was changed)"
        ) from None
    return temp


def _commit(aside: dict[str, str], names: dict[str, Path]) -> None:
    held = _hold_signals()
    backups: dict[str, str] = {}
    done: list[str] = []
    current = ""
    try:
        try:
            for current, temp in aside.items():
                real = current
                backups[real] = _backup(real)
                if done:
                    _test_pause(PAUSE_IN_COMMIT_ENV)
                os.replace(temp, real)
                done.append(real)
        except OSError as exc:
            not_restored = _roll_back(done, backups)
            what = (
                f"could not put back {', '.join(not_restored)} (its old text is in its backup file)"
                if not_restored
                else "no --update file was changed"
            )
            raise InputError(
                str(names.get(current, current)), f"cannot write: {exc.strerror} ({what})"
            ) from None
        _sync_directories(done)
    finally:
        for backup in backups.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(backup)
        _release_signals(held)


def _backup(real: str) -> str:
    """A second name for the file's current text (a hard link; a copy where links are not possible)."""
    directory, name = os.path.split(real)
    backup = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.verifier-backup")
    try:
        os.link(real, backup)
    except OSError:
        shutil.copy2(real, backup)
    return backup


def _roll_back(done: list[str], backups: dict[str, str]) -> list[str]:
    not_restored = []
    for real in reversed(done):
        try:
            os.replace(backups.pop(real), real)
        except OSError:
            not_restored.append(real)
    return not_restored


def _sync_directories(paths: list[str]) -> None:
    for directory in {os.path.dirname(p) or "." for p in paths}:
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _hold_signals() -> set[int | signal.Signals] | None:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)


def _release_signals(previous: set[int | signal.Signals] | None) -> None:
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _test_pause(variable: str) -> None:
    marker = os.environ.get(variable)
    if not marker:
        return
    Path(marker).touch()
    go_on = Path(marker + ".continue")
    deadline = time.monotonic() + 60
    while not go_on.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
