"""--update FILE:PATH=VALUE: a ruamel round trip that keeps comments/format, and refuses tags for digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.errors import ConfigError, InputError
from verifier.records.gitops_update import apply_update, parse_update, render_update

DIGEST = "sha256:" + "ab" * 32
VALUES = """\
# Production values for the api chart.  Managed by the release gate.
replicaCount: 3   # keep in sync with the HPA min

image:
  repository: 123456789.dkr.ecr.us-east-1.amazonaws.com/my-org/api
  # The digest the gate verified; never a tag.
  digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
  tag: 'v1.2.3'
  pullPolicy: IfNotPresent

env:
  - name: LOG_LEVEL
    value: info
"""


def test_digest_update_changes_only_that_value(tmp_path: Path) -> None:
    f = tmp_path / "values-production.yaml"
    f.write_text(VALUES)
    new = apply_update(parse_update(f"{f}:.image.digest={DIGEST}"))
    assert f.read_text() == new
    expected = VALUES.replace('"sha256:' + "0" * 64 + '"', f'"{DIGEST}"')
    assert new == expected  # comments, spacing, quote styles and order all kept


def test_single_quoted_value_stays_single_quoted() -> None:
    update = parse_update("v.yaml:image.tag=v1.2.4")
    assert "  tag: 'v1.2.4'\n" in render_update(VALUES, update)


def test_list_index_and_new_key() -> None:
    out = render_update(VALUES, parse_update("v.yaml:.env[0].value=debug"))
    assert "    value: debug\n" in out
    out = render_update(VALUES, parse_update("v.yaml:.image.registry=ghcr.io"))
    assert "  registry: ghcr.io\n" in out and "# The digest the gate verified" in out


@pytest.mark.parametrize(
    "value", ["v1.2.4", "latest", "sha256:abc", "SHA256:" + "ab" * 32, "sha256:" + "AB" * 32]
)
def test_tag_refused_where_digest_required(value: str) -> None:
    with pytest.raises(ConfigError, match="a tag is refused where a digest is required"):
        parse_update(f"values.yaml:.image.digest={value}")


@pytest.mark.parametrize(
    "spec",
    [
        "values.yaml",
        "values.yaml:.image.digest",
        ":.a=b",
        "values.yaml:=b",
        "values.yaml:.a..b=c",
        "values.yaml:.a.=c",
    ],
)
def test_malformed_spec(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_update(spec)


def test_missing_intermediate_key_and_non_mapping() -> None:
    with pytest.raises(InputError, match=r"\.helm: no such key"):
        render_update(VALUES, parse_update("v.yaml:.helm.image.digest=" + DIGEST))
    with pytest.raises(InputError, match=r"\.replicaCount is not a mapping"):
        render_update(VALUES, parse_update("v.yaml:.replicaCount.x=1"))
    with pytest.raises(InputError, match="no such list item"):
        render_update(VALUES, parse_update("v.yaml:.env[5].value=x"))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not valid YAML"):
        render_update("a: [1,\n", parse_update("v.yaml:.a=1"))
    with pytest.raises(InputError, match="nope.yaml"):
        apply_update(parse_update(f"{tmp_path}/nope.yaml:.a=1"))


# --- Several files: all rewritten or none (issue 19) -------------------------------------------------

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from verifier.records import gitops_update  # noqa: E402
from verifier.records.gitops_update import (  # noqa: E402
    PAUSE_BETWEEN_WRITES_ENV,
    PAUSE_IN_COMMIT_ENV,
    apply_updates,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "fixtures" / "demo"
OTHER = "# staging\nimage:\n  digest: sha256:" + "0" * 64 + "  # verified\n"
NEW = "sha256:" + "cd" * 32
DEMO_DIGEST = "sha256:716e353bc5cad15053aa54e70f2f35085c2ed047b69d9a917fdf66b857fc623b"


def _files(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "prod" / "values.yaml", tmp_path / "staging" / "values.yaml"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text(VALUES)
    second.write_text(OTHER)
    return first, second


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.rglob(".*verifier-*"))


def test_all_files_rewritten_and_changes_returned(tmp_path: Path) -> None:
    first, second = _files(tmp_path)
    first.chmod(0o640)
    changes = apply_updates(
        [
            parse_update(f"{first}:.image.digest={NEW}"),
            parse_update(f"{second}:.image.digest={NEW}"),
            parse_update(f"{first}:.image.tag=v2"),  # the same file again: applied to the same text
        ]
    )
    assert [(c.file, c.path_text, c.value) for c in changes] == [
        (first, ".image.digest", NEW),
        (second, ".image.digest", NEW),
        (first, ".image.tag", "v2"),
    ]
    assert first.read_text() == changes[0].text == changes[2].text
    assert f'digest: "{NEW}"' in first.read_text() and "tag: 'v2'" in first.read_text()
    assert second.read_text() == OTHER.replace("0" * 64, "cd" * 32)
    assert oct(first.stat().st_mode & 0o777) == oct(0o640)
    assert _leftovers(tmp_path) == []


def test_a_symlinked_file_is_written_through_the_link(tmp_path: Path) -> None:
    """Canonical path: the link stays a link, its target gets the new text."""
    first, _ = _files(tmp_path)
    link = tmp_path / "link.yaml"
    link.symlink_to(first)
    apply_updates([parse_update(f"{link}:.image.digest={NEW}")])
    assert link.is_symlink()
    assert f'digest: "{NEW}"' in first.read_text()


def test_a_bad_second_update_changes_nothing(tmp_path: Path) -> None:
    first, second = _files(tmp_path)
    with pytest.raises(InputError) as info:
        apply_updates(
            [
                parse_update(f"{first}:.image.digest={NEW}"),
                parse_update(f"{second}:.image.nope.digest={NEW}"),
            ]
        )
    assert info.value.path == str(second)
    assert info.value.problem == ".image.nope: no such key (no --update file was changed)"
    assert (first.read_text(), second.read_text()) == (VALUES, OTHER)
    assert _leftovers(tmp_path) == []


def test_a_failed_rename_puts_back_what_was_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second rename fails; the first file, already replaced, gets its old text back.

    A mock of os.replace: the tests run as root, which no permission bit stops, so a real rename cannot
    be made to fail here.
    """
    first, second = _files(tmp_path)
    real_replace = os.replace
    calls: list[str] = []

    def failing_second_commit(src: str, dst: str) -> None:
        if str(src).endswith(".verifier-new"):
            calls.append(str(dst))
            if len(calls) == 2:
                raise OSError(28, "No space left on device", src)
        real_replace(src, dst)

    monkeypatch.setattr(gitops_update.os, "replace", failing_second_commit)
    with pytest.raises(InputError) as info:
        apply_updates(
            [
                parse_update(f"{first}:.image.digest={NEW}"),
                parse_update(f"{second}:.image.digest={NEW}"),
            ]
        )
    assert info.value.path == str(second)
    assert (
        info.value.problem == "cannot write: No space left on device (no --update file was changed)"
    )
    assert calls == [str(first), str(second)]
    assert (first.read_text(), second.read_text()) == (VALUES, OTHER)
    assert _leftovers(tmp_path) == []


GATE_CONFIG = f"""\
image: oci-layout:{DEMO}/throwaway-key
signers:
  key: {DEMO}/keys/throwaway-cosign.pub
sarif:
  files: [{DEMO}/scan.sarif]
"""


def _gate(
    tmp_path: Path, first: Path, second: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    config = tmp_path / "verifier.yaml"
    config.write_text(GATE_CONFIG)
    return subprocess.Popen(
        [sys.executable, "-m", "verifier", "gate", "--config", str(config)]
        + ["--update", f"{first}:.image.digest={{digest}}"]
        + ["--update", f"{second}:.image.digest={{digest}}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def _wait_for(marker: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the gate never reached the pause"
        time.sleep(0.01)


def test_killed_between_two_update_writes_leaves_the_files_unchanged(tmp_path: Path) -> None:
    """A real `verifier gate` process, SIGKILLed between its two --update writes, leaves both GitOps files
    as they were; the next run rewrites both and clears what the killed one left.

    The pause is the test-only hook VERIFIER_TEST_PAUSE_BETWEEN_UPDATE_WRITES (gitops_update.py): the
    process creates the marker file after writing the first new text aside and waits there to be killed.
    """
    first, second = _files(tmp_path)
    marker = tmp_path / "paused"
    proc = _gate(tmp_path, first, second, {PAUSE_BETWEEN_WRITES_ENV: str(marker)})
    _wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert (first.read_text(), second.read_text()) == (VALUES, OTHER)

    again = _gate(tmp_path, first, second, {})
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, (out + err).decode()
    assert DEMO_DIGEST in first.read_text()
    assert DEMO_DIGEST in second.read_text()
    assert f"verifier: updated {second}: .image.digest = sha256:716e" in err.decode()
    assert _leftovers(tmp_path) == []


def test_killed_inside_the_commit_the_next_run_refuses_until_someone_checks(
    tmp_path: Path,
) -> None:
    """SIGKILL between the two renames of the commit (it cannot be held back) leaves the first file new,
    the second old, and both backups. The next run must not carry on as if nothing happened:
    it refuses (exit 2, naming the backup) and changes nothing, until the backup is removed."""
    first, second = _files(tmp_path)
    marker = tmp_path / "committing"
    proc = _gate(tmp_path, first, second, {PAUSE_IN_COMMIT_ENV: str(marker)})
    _wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert DEMO_DIGEST in first.read_text() and second.read_text() == OTHER
    [backup] = first.parent.glob(f".{first.name}.*.verifier-backup")
    [second_backup] = second.parent.glob(f".{second.name}.*.verifier-backup")
    assert backup.read_text() == VALUES and second_backup.read_text() == OTHER

    again = _gate(tmp_path, first, second, {})
    out, err = again.communicate(timeout=120)
    assert again.returncode == 2, (out + err).decode()
    assert "an earlier --update was interrupted" in err.decode() and str(backup) in err.decode()
    assert second.read_text() == OTHER and backup.exists()

    backup.unlink()
    second_backup.unlink()
    again = _gate(tmp_path, first, second, {})
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, (out + err).decode()
    assert DEMO_DIGEST in second.read_text()
    assert _leftovers(tmp_path) == []


def test_sigterm_during_the_commit_waits_for_it(tmp_path: Path) -> None:
    """SIGTERM arriving between the two renames of the commit ends the process only after both files are
    rewritten (the signal is held back, then delivered).

    The pause is the test-only hook VERIFIER_TEST_PAUSE_IN_UPDATE_COMMIT: the process creates the marker
    after the first rename and waits for MARKER.continue.
    """
    first, second = _files(tmp_path)
    marker = tmp_path / "committing"
    proc = _gate(tmp_path, first, second, {PAUSE_IN_COMMIT_ENV: str(marker)})
    _wait_for(marker, proc)
    proc.send_signal(signal.SIGTERM)
    Path(f"{marker}.continue").touch()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    assert DEMO_DIGEST in first.read_text()
    assert DEMO_DIGEST in second.read_text()
    assert _leftovers(tmp_path) == []
