"""Find and read GitHub Actions workflow and action files under the paths given on the command line.

What counts (the same rules GitHub uses):

- a *workflow* is a ``*.yml`` / ``*.yaml`` file directly inside a ``.github/workflows`` directory
  (GitHub ignores subdirectories of ``.github/workflows`` and other extensions);
- an *action* is any file named ``action.yml`` / ``action.yaml`` (composite, Docker or JavaScript).

A PATH may be a workflow file, an ``action.yml``, a ``.github`` directory, a repository root, or a folder
holding many repositories. A file named explicitly is always read (as an action if it is named
``action.y?ml``, otherwise as a workflow). Files met while walking that look relevant but do not count
(``.github/workflows/sub/x.yml``, ``.github/workflows/notes.md``) are reported as skipped with the reason.
A directory PATH under which nothing counts is itself an entry, with a problem: a configured input that
yields nothing to check must not pass. Paths are the PATH as given joined with the path found under it;
nothing is made absolute.

Files are listed first and read one at a time when :meth:`WorkflowFiles.rows` is iterated, so a run over
many files holds one file's text at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from verifier.errors import InputError
from verifier.sources.files import MIB, read_bytes, walk

# The largest file in the 506-file real corpus is 96 KiB; 4 MiB leaves a wide margin and keeps a
# hostile file from costing seconds.
MAX_WORKFLOW_BYTES = 4 * MIB

WORKFLOW_EXTS = (".yml", ".yaml")
ACTION_NAMES = ("action.yml", "action.yaml")
# Directories never walked: VCS metadata and vendored dependencies (their actions are not this repo's).
SKIP_DIRS = frozenset({".git", "node_modules"})


NOTHING_FOUND = "no workflow (.github/workflows/*.yml) or action.yml file under it"


@dataclass(frozen=True, slots=True)
class WorkflowFile:
    """One file to check. ``text`` is None when it could not be read (or is not read yet: see
    :class:`WorkflowFiles`); ``problem`` then says why it cannot be read."""

    path: str
    kind: str  # "workflow" | "action" | "directory" (a PATH with nothing to check under it)
    text: str | None = None
    problem: str | None = None


Row = tuple[str, str, str | None, str | None]
"""``(path, kind, text or None, problem or None)``: what ``check_files`` takes for one file."""


@dataclass(frozen=True)
class WorkflowFiles:
    """The files found under the given paths, listed (path, kind, problem) but not read.

    Iterating gives the listed entries (``text`` None); :meth:`rows` reads each file only when the
    consumer asks for the next one, so no more than one text is alive at a time.
    """

    entries: tuple[WorkflowFile, ...]
    max_bytes: int = MAX_WORKFLOW_BYTES

    def __len__(self) -> int:
        """How many entries."""
        return len(self.entries)

    def __iter__(self) -> Iterator[WorkflowFile]:
        """The entries, unread."""
        return iter(self.entries)

    def __getitem__(self, index: int) -> WorkflowFile:
        """One entry, unread."""
        return self.entries[index]

    def rows(self) -> Iterator[Row]:
        """Each entry as a row for ``check_files``, read when it is reached."""
        for entry in self.entries:
            if entry.problem is not None:
                yield entry.path, entry.kind, None, entry.problem
                continue
            read = read_workflow(entry.path, entry.kind, self.max_bytes)
            yield read.path, read.kind, read.text, read.problem


@dataclass
class Discovery:
    """The files found under the given paths, and the ones deliberately skipped (path, reason)."""

    files: list[tuple[str, str]] = field(default_factory=list)  # (path, kind)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Directories that could not be listed (path, reason): their files are unknown, so the check reports
    # each as an unreadable file (verdict error) instead of passing on what it could see.
    unlistable: list[tuple[str, str]] = field(default_factory=list)
    # Directory PATHs under which nothing counts: reported by the check (verdict error), never a pass.
    empty: list[str] = field(default_factory=list)


def _kind_of(path: str) -> str:
    if _in_workflows_dir(os.path.dirname(path) or "."):
        return "workflow"
    return "action" if os.path.basename(path) in ACTION_NAMES else "workflow"


def _in_workflows_dir(dirpath: str) -> bool:
    head, last = os.path.split(os.path.normpath(dirpath))
    return last == "workflows" and os.path.basename(head) == ".github"


def discover(paths: list[str]) -> Discovery:
    """Expand PATH arguments to the files to check, in a stable order (sorted within each PATH).

    A PATH that does not exist raises InputError (a usage problem, exit 2). A directory that contains
    nothing to check is not an error here; the caller decides (it reports it).
    """
    found = Discovery()
    seen: set[str] = set()

    def add(path: str, kind: str) -> None:
        key = os.path.normpath(path)
        if key not in seen:
            seen.add(key)
            found.files.append((path, kind))

    for given in paths:
        if os.path.isfile(given):
            add(given, _kind_of(given))
            continue
        if not os.path.isdir(given):
            problem = (
                "not a regular file or directory"
                if os.path.exists(given)
                else "no such file or directory"
            )
            raise InputError(given, problem)
        before = len(found.files) + len(found.unlistable)
        for dirpath, dirnames, filenames in _walk(given, found):
            in_workflows = _in_workflows_dir(dirpath)
            if in_workflows:
                for sub in dirnames:
                    found.skipped.append(
                        (
                            os.path.join(dirpath, sub),
                            "subdirectory of .github/workflows (GitHub only reads top-level files)",
                        )
                    )
            for name in filenames:
                path = os.path.join(dirpath, name)
                if name in ACTION_NAMES and not in_workflows:
                    add(path, "action")
                elif in_workflows:
                    if name.endswith(WORKFLOW_EXTS):
                        add(path, "workflow")
                    else:
                        found.skipped.append((path, "not a .yml/.yaml file"))
        if len(found.files) + len(found.unlistable) == before and not _already_found(given, found):
            found.empty.append(given)
    return found


def _already_found(directory: str, found: Discovery) -> bool:
    """True when files under ``directory`` were found through an earlier PATH (``a a/.github``)."""
    prefix = os.path.normpath(directory) + os.sep
    return any(os.path.normpath(path).startswith(prefix) for path, _kind in found.files)


def _walk(root: str, found: Discovery) -> list[tuple[str, list[str], list[str]]]:
    """``os.walk`` (symlinked directories not followed) in sorted order, pruning SKIP_DIRS and the
    contents of subdirectories of ``.github/workflows`` (reported once by the caller)."""
    out: list[tuple[str, list[str], list[str]]] = []
    for dirpath, dirnames, filenames in walk(
        root, lambda path, why: found.unlistable.append((path, why))
    ):
        pruned = [d for d in dirnames if d in SKIP_DIRS]
        for d in pruned:
            found.skipped.append((os.path.join(dirpath, d), "vendored or VCS directory"))
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        if _in_workflows_dir(dirpath):
            sub = list(dirnames)
            dirnames[:] = []  # nested workflow folders are not workflows; reported by the caller
            out.append((dirpath, sub, filenames))
        else:
            out.append((dirpath, [], filenames))
    return out


def read_workflow(path: str, kind: str, max_bytes: int = MAX_WORKFLOW_BYTES) -> WorkflowFile:
    """Read one file as UTF-8 text. Problems (too large, unreadable, binary, not UTF-8) do not raise:
    they come back in ``problem`` so that the other files are still checked."""
    try:
        data = read_bytes(path, max_bytes)
    except InputError as exc:
        return WorkflowFile(path, kind, None, exc.problem)
    if b"\x00" in data:
        return WorkflowFile(path, kind, None, "binary file (contains NUL bytes), not YAML text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return WorkflowFile(path, kind, None, f"not UTF-8 text (byte {exc.start})")
    return WorkflowFile(path, kind, text)


def skip_notices(found: Discovery) -> list[str]:
    """One report line per file or directory skipped on purpose (``skipped PATH: reason``)."""
    return [f"skipped {path}: {reason}" for path, reason in found.skipped]


def read_all(
    paths: list[str], max_bytes: int = MAX_WORKFLOW_BYTES
) -> tuple[WorkflowFiles, Discovery]:
    """Discover every file under ``paths``; the files are read when ``rows()`` is iterated.

    Directories that could not be listed and directory PATHs with nothing to check under them are
    entries too, with their problem, so that the check reports them (verdict error) in order.
    """
    found = discover(paths)
    entries = [WorkflowFile(p, k) for p, k in found.files]
    entries += [WorkflowFile(path, "workflow", None, why) for path, why in found.unlistable]
    entries += [WorkflowFile(path, "directory", None, NOTHING_FOUND) for path in found.empty]
    return WorkflowFiles(tuple(entries), max_bytes), found
