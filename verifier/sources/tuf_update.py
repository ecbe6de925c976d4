"""Refresh the pinned ``trusted_root.json`` files through TUF (python-tuf's ngclient), online or offline.

Each Sigstore instance has a TUF repository whose ``trusted_root.json`` target is the trust root we pin
(``tuf_roots/SOURCES.md`` lists the bootstrap ``root.json`` files shipped in the package). ``update`` walks the
TUF chain from the newest root this machine has trusted (kept in the state directory) or the bootstrap one:
root rotation, then timestamp, snapshot and targets, each signed by its role's threshold of keys, none expired,
none older than what was trusted before (a rollback or freeze is refused), then the target by its length and
hashes. The new ``trusted_root.json`` must also parse as a Sigstore trusted root before it atomically replaces
the old one. On any failure nothing is replaced.

``source`` is the repository URL (online; every request is bounded by a deadline that a slow server cannot
reset) or a directory holding a copy of the repository (offline import, ``verifier trust update --from DIR``:
``DIR/<instance>/`` with the metadata files at its top and ``targets/`` below, as the repository serves them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.errors import InputError, NetworkError
from verifier.sigstore.trust import (
    PINNED_GITHUB_ROOT,
    PINNED_STAGING_ROOT,
    PINNED_TRUSTED_ROOT,
    parse_trust_root,
)

# The bootstrap TUF roots live next to the pinned trusted roots (verifier/sigstore/tuf_roots/SOURCES.md).
TUF_ROOTS = PINNED_TRUSTED_ROOT.with_name("tuf_roots")
TARGET = "trusted_root.json"
STATUS_FILE = "status.json"
MAX_METADATA_BYTES = 4 * 1024 * 1024
DEFAULT_DEADLINE = 60.0


@dataclass(frozen=True)
class Instance:
    """A Sigstore instance's TUF repository and the file its ``trusted_root.json`` is pinned as."""

    name: str
    url: str
    bootstrap: Path
    pinned: Path


INSTANCES: dict[str, Instance] = {
    "public-good": Instance(
        "public-good",
        "https://tuf-repo-cdn.sigstore.dev",
        TUF_ROOTS / "public-good.root.json",
        PINNED_TRUSTED_ROOT,
    ),
    "github": Instance(
        "github", "https://tuf-repo.github.com", TUF_ROOTS / "github.root.json", PINNED_GITHUB_ROOT
    ),
    "staging": Instance(
        "staging",
        "https://tuf-repo-cdn.sigstage.dev",
        TUF_ROOTS / "staging.root.json",
        PINNED_STAGING_ROOT,
    ),
}


class TrustUpdateError(InputError):
    """The repository's metadata or target was refused (exit 2): nothing was replaced."""


@dataclass(frozen=True)
class UpdateResult:
    """What one instance's update did."""

    instance: str
    path: Path
    changed: bool
    sha256: str
    root_version: int
    timestamp_version: int
    updated_at: str


def _fetcher_classes() -> tuple[type[Any], type[Any]]:
    """The two fetchers, built on python-tuf's FetcherInterface (imported only when updating)."""
    import httpx
    from tuf.api.exceptions import DownloadHTTPError, SlowRetrievalError
    from tuf.ngclient.fetcher import FetcherInterface

    class DeadlineFetcher(FetcherInterface):
        """HTTP GETs over httpx, each bounded by the whole update's remaining time (a server that drips
        its answer cannot extend it)."""

        def __init__(self, deadline: float) -> None:
            self.deadline = deadline
            self.client = httpx.Client(trust_env=False, follow_redirects=True)

        def _fetch(self, url: str) -> Iterator[bytes]:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise SlowRetrievalError(f"deadline passed before fetching {url}")
            try:
                with self.client.stream("GET", url, timeout=remaining) as response:
                    if response.status_code != 200:
                        raise DownloadHTTPError(
                            f"{url}: HTTP {response.status_code}", response.status_code
                        )
                    for chunk in response.iter_bytes():
                        if time.monotonic() > self.deadline:
                            raise SlowRetrievalError(f"deadline passed while fetching {url}")
                        yield chunk
            except httpx.HTTPError as exc:
                raise SlowRetrievalError(f"{url}: {exc}") from exc

    class DirectoryFetcher(FetcherInterface):
        """Reads ``mirror:/<path>`` URLs from a directory: the offline import."""

        def __init__(self, base: Path) -> None:
            self.base = base.resolve()

        def _fetch(self, url: str) -> Iterator[bytes]:
            rel = url.removeprefix("mirror:/").lstrip("/")
            path = (self.base / rel).resolve()
            if self.base not in path.parents or not path.is_file():
                raise DownloadHTTPError(f"{rel}: not in {self.base}", 404)
            yield path.read_bytes()

    return DeadlineFetcher, DirectoryFetcher


def default_state_dir() -> Path:
    """Where the trusted TUF metadata is kept between updates (``$XDG_STATE_HOME/verifier/tuf``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "verifier" / "tuf"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_instance(
    instance: Instance,
    *,
    state_dir: Path,
    out_dir: Path | None = None,
    source: str | Path | None = None,
    deadline_seconds: float = DEFAULT_DEADLINE,
    now: dt.datetime | None = None,
) -> UpdateResult:
    """Refresh ``instance``'s trusted root (see the module docstring); TrustUpdateError or NetworkError."""
    from tuf.api.exceptions import DownloadError, RepositoryError
    from tuf.ngclient.updater import Updater

    deadline_fetcher, directory_fetcher = _fetcher_classes()
    metadata_dir = state_dir / instance.name / "metadata"
    target_dir = state_dir / instance.name / "targets"
    metadata_dir.mkdir(parents=True, exist_ok=True)
    target_dir.mkdir(parents=True, exist_ok=True)
    trusted_root = metadata_dir / "root.json"
    bootstrap = (
        trusted_root.read_bytes() if trusted_root.is_file() else instance.bootstrap.read_bytes()
    )
    offline = source is not None and not str(source).startswith(("https://", "http://"))
    if offline:
        base_dir = Path(str(source)) / instance.name
        if not base_dir.is_dir():
            raise TrustUpdateError(str(base_dir), "no such directory (expected DIR/<instance>/)")
        fetcher = directory_fetcher(base_dir)
        base_url = "mirror:/"
    else:
        fetcher = deadline_fetcher(time.monotonic() + deadline_seconds)
        base_url = str(source or instance.url).rstrip("/") + "/"
    updater = Updater(
        metadata_dir=str(metadata_dir),
        metadata_base_url=base_url,
        target_dir=str(target_dir),
        target_base_url=base_url + "targets/",
        fetcher=fetcher,
        bootstrap=bootstrap,
    )
    where = str(source or instance.url)
    try:
        updater.refresh()
        info = updater.get_targetinfo(TARGET)
        if info is None:
            raise TrustUpdateError(where, f"the repository has no {TARGET} target")
        path = updater.find_cached_target(info) or updater.download_target(info)
    except RepositoryError as exc:
        raise TrustUpdateError(where, f"TUF metadata refused: {type(exc).__name__}: {exc}") from exc
    except DownloadError as exc:
        if offline:
            raise TrustUpdateError(where, f"incomplete repository copy: {exc}") from exc
        raise NetworkError(f"{where}: {type(exc).__name__}: {exc}") from exc
    data = Path(path).read_bytes()
    try:
        parse_trust_root(
            data, f"{where} {TARGET}"
        )  # must be a Sigstore trusted root before it is used
    except InputError as exc:
        raise TrustUpdateError(where, f"the {TARGET} target is refused: {exc.problem}") from exc
    dest = (out_dir / instance.pinned.name) if out_dir is not None else instance.pinned
    old = dest.read_bytes() if dest.is_file() else b""
    changed = old != data
    if changed:
        _write_atomic(dest, data)
    root = json.loads(trusted_root.read_bytes())["signed"]
    timestamp = json.loads((metadata_dir / "timestamp.json").read_bytes())["signed"]
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = UpdateResult(
        instance=instance.name,
        path=dest,
        changed=changed,
        sha256=hashlib.sha256(data).hexdigest(),
        root_version=int(root["version"]),
        timestamp_version=int(timestamp["version"]),
        updated_at=stamp,
    )
    status = {
        "instance": instance.name,
        "path": str(dest),
        "sha256": result.sha256,
        "root_version": result.root_version,
        "timestamp_version": result.timestamp_version,
        "updated_at": stamp,
        "source": where,
    }
    _write_atomic(state_dir / instance.name / STATUS_FILE, json.dumps(status, indent=2).encode())
    return result


@dataclass(frozen=True)
class RootAge:
    """How old an instance's pinned trusted root is (since it was last refreshed, else since the file was
    written), and whether that is over the allowed age."""

    instance: str
    path: Path
    refreshed_at: dt.datetime
    age: dt.timedelta
    stale: bool


def root_age(
    instance: Instance,
    *,
    state_dir: Path,
    out_dir: Path | None = None,
    max_age: dt.timedelta,
    now: dt.datetime,
) -> RootAge:
    """The age of ``instance``'s trusted root file: since its last update (the state's status), else since it
    was pinned (``tuf_roots/pinned.json``, for the package's own files), else its mtime."""
    path = (out_dir / instance.pinned.name) if out_dir is not None else instance.pinned
    status_file = state_dir / instance.name / STATUS_FILE
    refreshed: dt.datetime | None = None
    if status_file.is_file():
        try:
            status = json.loads(status_file.read_bytes())
            if status.get("path") == str(path):
                refreshed = dt.datetime.strptime(
                    status["updated_at"], "%Y-%m-%dT%H:%M:%SZ"
                ).replace(tzinfo=dt.UTC)
        except (ValueError, KeyError, TypeError):
            refreshed = None
    if refreshed is None and path.parent == instance.pinned.parent:
        pinned = json.loads((TUF_ROOTS / "pinned.json").read_bytes())
        if isinstance(pinned.get(path.name), str):
            refreshed = dt.datetime.strptime(pinned[path.name], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=dt.UTC
            )
    if refreshed is None:
        refreshed = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    age = now - refreshed
    return RootAge(instance.name, path, refreshed, age, age > max_age)


def parse_age(text: str) -> dt.timedelta:
    """``90d``, ``36h``, ``2w`` -> timedelta (ValueError otherwise)."""
    units = {"h": 3600, "d": 86400, "w": 7 * 86400}
    value = text.strip()
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit():
        raise ValueError(f"expected a number and h, d or w (e.g. 90d), got {text!r}")
    return dt.timedelta(seconds=int(value[:-1]) * units[value[-1]])
