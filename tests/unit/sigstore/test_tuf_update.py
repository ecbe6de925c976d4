"""``verifier trust update``: a TUF repository built here with python-tuf (real keys, real signatures), served
from a directory (offline import) and over HTTP on 127.0.0.1 (online); rollback and expired metadata refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

from tests.cli import run_cli
from verifier.sigstore.trust import PINNED_GITHUB_ROOT, PINNED_TRUSTED_ROOT
from verifier.sources import trust_roots
from verifier.sources.trust_roots import load_trust_root
from verifier.sources.tuf_update import (
    INSTANCES,
    Instance,
    TrustUpdateError,
    parse_age,
    root_age,
    update_instance,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
ROLES = ("root", "targets", "snapshot", "timestamp")


class Repo:
    """A consistent-snapshot TUF repository on disk, one key per role."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.signers = {role: CryptoSigner.generate_ecdsa() for role in ROLES}
        self.root = Root(expires=NOW + dt.timedelta(days=365), consistent_snapshot=True)
        for role in ROLES:
            self.root.add_key(self.signers[role].public_key, role)
        self.targets = Targets(expires=NOW + dt.timedelta(days=30))
        self.snapshot = Snapshot(expires=NOW + dt.timedelta(days=7))
        self.timestamp = Timestamp(expires=NOW + dt.timedelta(days=1))
        self.target_data = b""

    def _write(self, name: str, signed: object, role: str) -> bytes:
        md = Metadata(signed)  # type: ignore[arg-type]
        md.sign(self.signers[role])
        raw = md.to_bytes()
        path = self.base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        return raw

    def publish(self, target: bytes | None = None, bump: bool = True) -> None:
        """Write every role; with ``bump``, a new targets/snapshot/timestamp version."""
        if target is not None:
            self.target_data = target
            info = TargetFile.from_data("trusted_root.json", target, ["sha256"])
            self.targets.targets = {"trusted_root.json": info}
            (self.base / "targets").mkdir(parents=True, exist_ok=True)
            (self.base / "targets" / f"{info.hashes['sha256']}.trusted_root.json").write_bytes(
                target
            )
        if bump and (self.base / "timestamp.json").exists():
            self.targets.version += 1
            self.snapshot.version += 1
            self.timestamp.version += 1
        self._write(f"{self.root.version}.root.json", self.root, "root")
        self._write(f"{self.targets.version}.targets.json", self.targets, "targets")
        self.snapshot.meta = {"targets.json": MetaFile(version=self.targets.version)}
        self._write(f"{self.snapshot.version}.snapshot.json", self.snapshot, "snapshot")
        self.timestamp.snapshot_meta = MetaFile(version=self.snapshot.version)
        self._write("timestamp.json", self.timestamp, "timestamp")

    def root_bytes(self) -> bytes:
        return (self.base / "1.root.json").read_bytes()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "mirror" / "public-good")
    r.publish(PINNED_TRUSTED_ROOT.read_bytes())
    return r


@pytest.fixture
def instance(tmp_path: Path, repo: Repo) -> Instance:
    bootstrap = tmp_path / "bootstrap.root.json"
    bootstrap.write_bytes(repo.root_bytes())
    return dataclasses.replace(INSTANCES["public-good"], bootstrap=bootstrap)


def _update(tmp_path: Path, instance: Instance, source: str | Path | None = None) -> object:
    return update_instance(
        instance,
        state_dir=tmp_path / "state",
        out_dir=tmp_path / "out",
        source=source if source is not None else tmp_path / "mirror",
    )


def test_offline_import_writes_the_verified_target(
    tmp_path: Path, instance: Instance, repo: Repo
) -> None:
    result = _update(tmp_path, instance)
    out = tmp_path / "out" / "trusted_root.json"
    assert out.read_bytes() == PINNED_TRUSTED_ROOT.read_bytes()
    assert result.changed and result.root_version == 1 and result.timestamp_version == 1  # type: ignore[attr-defined]
    assert not _update(tmp_path, instance).changed  # type: ignore[attr-defined]
    # A new target (here: another valid trusted root) in a new repository version replaces it.
    repo.publish(PINNED_GITHUB_ROOT.read_bytes())
    assert _update(tmp_path, instance).changed  # type: ignore[attr-defined]
    assert out.read_bytes() == PINNED_GITHUB_ROOT.read_bytes()


@pytest.fixture
def http_repo(tmp_path: Path, repo: Repo) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo.base))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_online_update_over_http(tmp_path: Path, instance: Instance, http_repo: str) -> None:
    result = _update(tmp_path, instance, http_repo)
    assert result.changed  # type: ignore[attr-defined]
    assert (tmp_path / "out" / "trusted_root.json").read_bytes() == PINNED_TRUSTED_ROOT.read_bytes()


def test_rollback_is_refused(tmp_path: Path, instance: Instance, repo: Repo) -> None:
    repo.publish(PINNED_TRUSTED_ROOT.read_bytes())  # version 2 of everything
    _update(tmp_path, instance)
    old_timestamp = json.loads((repo.base / "timestamp.json").read_bytes())
    assert old_timestamp["signed"]["version"] == 2
    # The mirror goes back to version 1 (validly signed, but older than what was trusted): a rollback.
    repo.timestamp.version = 1
    repo.snapshot.version = 1
    repo.targets.version = 1
    repo.publish(PINNED_GITHUB_ROOT.read_bytes(), bump=False)
    with pytest.raises(TrustUpdateError, match="BadVersionNumberError"):
        _update(tmp_path, instance)
    assert (tmp_path / "out" / "trusted_root.json").read_bytes() == PINNED_TRUSTED_ROOT.read_bytes()


def test_expired_metadata_is_refused(tmp_path: Path, instance: Instance, repo: Repo) -> None:
    repo.timestamp.expires = NOW - dt.timedelta(hours=1)
    repo.publish(bump=False)
    with pytest.raises(TrustUpdateError, match="ExpiredMetadataError"):
        _update(tmp_path, instance)
    assert not (tmp_path / "out" / "trusted_root.json").exists()


def test_target_that_is_not_a_trusted_root_or_was_altered(
    tmp_path: Path, instance: Instance, repo: Repo
) -> None:
    repo.publish(b'{"mediaType": "something else"}')
    with pytest.raises(TrustUpdateError, match="trusted root mediaType"):
        _update(tmp_path, instance)
    assert not (tmp_path / "out" / "trusted_root.json").exists()
    repo.publish(PINNED_TRUSTED_ROOT.read_bytes())
    [target] = (repo.base / "targets").glob(
        f"*{repo.targets.targets['trusted_root.json'].hashes['sha256']}*"
    )
    target.write_bytes(PINNED_GITHUB_ROOT.read_bytes())  # swapped after signing
    with pytest.raises(TrustUpdateError):
        _update(tmp_path, instance)


def test_metadata_signed_by_another_key_is_refused(
    tmp_path: Path, instance: Instance, repo: Repo
) -> None:
    repo.signers["timestamp"] = CryptoSigner.generate_ecdsa()  # not the key the root names
    repo.publish()
    with pytest.raises(TrustUpdateError, match="UnsignedMetadataError"):
        _update(tmp_path, instance)


def test_cli_update_from_directory_and_reload_without_restart(
    tmp_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    (state / "public-good" / "metadata").mkdir(parents=True)
    # The machine already trusts this repository's root (as after a first update).
    (state / "public-good" / "metadata" / "root.json").write_bytes(repo.root_bytes())
    out = tmp_path / "trust"
    monkeypatch.setenv(trust_roots.TRUST_DIR_ENV, str(out))
    before = load_trust_root(None)
    assert before.name == str(PINNED_TRUSTED_ROOT)
    repo.publish(PINNED_GITHUB_ROOT.read_bytes())
    args = ("trust", "update", "--instance", "public-good", "--from", str(tmp_path / "mirror"))
    run = run_cli(capsys, *args, "--state-dir", str(state))
    assert run.code == 0, run.err
    assert "public-good: updated" in run.out
    # The next load (as the next webhook review would make) reads the refreshed file.
    after = load_trust_root(None)
    assert (
        after.name == str(out / "trusted_root.json")
        and after.raw == PINNED_GITHUB_ROOT.read_bytes()
    )
    status = run_cli(
        capsys, "trust", "status", "--instance", "public-good", "--state-dir", str(state), "--json"
    )
    assert json.loads(status.out)[0]["stale"] is False


def test_cli_refusal_is_exit_2_and_keeps_the_old_root(
    tmp_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    (state / "public-good" / "metadata").mkdir(parents=True)
    (state / "public-good" / "metadata" / "root.json").write_bytes(repo.root_bytes())
    repo.timestamp.expires = NOW - dt.timedelta(days=1)
    repo.publish(bump=False)
    out = tmp_path / "trust"
    run = run_cli(
        capsys,
        "trust", "update", "--instance", "public-good", "--from", str(tmp_path / "mirror"),
        "--state-dir", str(state), "--dir", str(out),
    )  # fmt: skip
    assert run.code == 2
    assert "ExpiredMetadataError" in run.err and "Traceback" not in run.err
    assert not (out / "trusted_root.json").exists()


def test_age_warning(tmp_path: Path) -> None:
    old = tmp_path / "trusted_root.json"
    old.write_bytes(PINNED_TRUSTED_ROOT.read_bytes())
    age = root_age(
        INSTANCES["public-good"],
        state_dir=tmp_path / "state",
        out_dir=tmp_path,
        max_age=parse_age("30d"),
        now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31),
    )
    assert age.stale and age.age.days >= 30
    pinned = root_age(
        INSTANCES["github"], state_dir=tmp_path / "s", max_age=parse_age("90d"), now=NOW
    )
    assert pinned.refreshed_at.year >= 2026  # from tuf_roots/pinned.json, not the checkout's mtime
    with pytest.raises(ValueError, match="90d"):
        parse_age("ninety days")


def test_a_refreshed_root_is_used_by_the_next_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a running webhook does per review: the same pipeline, evaluated again after the root changed."""
    from verifier.config import parse_config
    from verifier.pipeline import evaluate

    demo = Path(__file__).parents[3] / "fixtures" / "demo" / "keyless-real"
    config = parse_config(
        {
            "image": f"oci-layout:{demo}",
            "signers": {
                "identity": {
                    "identity": "mitr@redhat.com",
                    "issuer": "https://github.com/login/oauth",
                }
            },
        },
        "test",
    )
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    monkeypatch.setenv(trust_roots.TRUST_DIR_ENV, str(tmp_path))
    assert evaluate(config, now=now).decision.allowed
    # An update lands a root without the public-good Fulcio CA (here: GitHub's): the next review denies.
    (tmp_path / "trusted_root.json").write_bytes(PINNED_GITHUB_ROOT.read_bytes())
    second = evaluate(config, now=now)
    assert not second.decision.allowed
    [result] = second.results
    assert result.findings[0].rule in {"certificate-chain-invalid", "tlog-key-unknown"}
