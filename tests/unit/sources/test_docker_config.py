"""Docker config.json credentials: auths entries, key normalisation, credential helpers, bad files."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from verifier.errors import InputError
from verifier.sources.docker_config import (
    CredentialHelperError,
    Credentials,
    load_credentials,
    normalize_registry,
)


def _cfg(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return path


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("http://Localhost:5000/", "localhost:5000"),
        ("ghcr.io", "ghcr.io"),
        ("https://ghcr.io/v2/x", "ghcr.io"),
    ],
)
def test_normalize_registry(key: str, expected: str) -> None:
    assert normalize_registry(key) == expected


def test_auth_entry_and_docker_hub_key(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": _auth("hub", "p:w")},
                "ghcr.io": {"username": "u", "password": "p"},
                "quay.io": {"identitytoken": "tok"},
                "empty.io": {},
            }
        },
    )
    assert load_credentials("docker.io", cfg) == Credentials("hub", "p:w")
    assert load_credentials("ghcr.io", cfg) == Credentials("u", "p")
    assert load_credentials("quay.io", cfg) == Credentials(identity_token="tok")
    assert load_credentials("empty.io", cfg) is None
    assert load_credentials("other.io", cfg) is None


def test_secrets_are_not_in_repr() -> None:
    text = repr(Credentials("user", "s3cret-pass", "s3cret-token"))
    assert "user" in text and "s3cret" not in text


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "not a JSON object"),
        ({"auths": []}, "'auths' must be an object"),
        ({"auths": {"ghcr.io": {"auth": "%%%"}}}, "not base64"),
        ({"auths": {"ghcr.io": {"auth": base64.b64encode(b"nocolon").decode()}}}, "user:password"),
        ({"auths": {"ghcr.io": {"auth": 5}}}, "'auth' must be a string"),
        ({"credHelpers": {"ghcr.io": 3}}, "must be a string"),
    ],
)
def test_malformed_config_names_the_file(tmp_path: Path, doc: object, problem: str) -> None:
    cfg = _cfg(tmp_path, doc)
    with pytest.raises(InputError, match=problem) as info:
        load_credentials("ghcr.io", cfg)
    assert str(cfg) in str(info.value)


def test_explicit_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_credentials("ghcr.io", tmp_path / "nope.json")


def test_default_path_follows_docker_config_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert load_credentials("ghcr.io") is None
    _cfg(tmp_path, {"auths": {"ghcr.io": {"auth": _auth("a", "b")}}})
    assert load_credentials("ghcr.io") == Credentials("a", "b")


def _helper(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_credential_helpers_are_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real helper programs (shell scripts) speaking the docker-credential-helpers protocol."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _helper(
        bin_dir,
        "echo",
        'read host; printf \'{"ServerURL":"%s","Username":"u-%s","Secret":"s"}\' "$host" "$host"\n',
    )
    _helper(bin_dir, "tok", 'read host; printf \'{"Username":"<token>","Secret":"idtok"}\'\n')
    _helper(bin_dir, "none", 'echo "credentials not found in native keychain"; exit 1\n')
    _helper(bin_dir, "broken", "echo oops; exit 3\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cfg = _cfg(
        tmp_path,
        {
            "credHelpers": {
                "ghcr.io": "echo",
                "quay.io": "tok",
                "a.io": "none",
                "b.io": "broken",
                "c.io": "missing",
            },
            "credsStore": "echo",
        },
    )
    assert load_credentials("ghcr.io", cfg) == Credentials("u-ghcr.io", "s")
    assert load_credentials("docker.io", cfg) == Credentials("u-https://index.docker.io/v1/", "s")
    assert load_credentials("quay.io", cfg) == Credentials(identity_token="idtok")
    assert load_credentials("a.io", cfg) is None
    with pytest.raises(CredentialHelperError, match="failed for b.io"):
        load_credentials("b.io", cfg)
    with pytest.raises(CredentialHelperError, match="not on PATH"):
        load_credentials("c.io", cfg)


@pytest.mark.parametrize("key", ["credsStore", "credHelpers"])
@pytest.mark.parametrize("helper", ["x/evil", "x\\evil", "../x", "/abs", ".hidden", "", "a b"])
def test_helper_names_with_a_path_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, helper: str
) -> None:
    """A helper name is a program on PATH, never a path: ``credsStore: x/evil`` would otherwise run
    ./docker-credential-x/evil from the working directory (a real script here, which must not run)."""
    planted = tmp_path / "docker-credential-x" / "evil"
    planted.parent.mkdir()
    marker = tmp_path / "ran"
    planted.write_text(f'#!/bin/sh\ntouch {marker}\necho \'{{"Username":"u","Secret":"s"}}\'\n')
    planted.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    doc = {"credsStore": helper} if key == "credsStore" else {"credHelpers": {"ghcr.io": helper}}
    cfg = _cfg(tmp_path, doc)
    if helper == "" and key == "credsStore":
        assert (
            load_credentials("ghcr.io", cfg) is None
        )  # an empty credsStore means none (docker too)
        return
    with pytest.raises(InputError, match="is not a program name") as info:
        load_credentials("ghcr.io", cfg)
    assert info.value.path == str(cfg)
    assert key in info.value.problem
    assert not marker.exists()


def test_helper_names_docker_uses_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The names of the real helpers pass the check and are looked up on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("ecr-login", "desktop.exe", "osxkeychain", "gcloud", "acr_env"):
        _helper(bin_dir, name, f'printf \'{{"Username":"{name}","Secret":"s"}}\'\n')
        cfg = _cfg(tmp_path, {"credsStore": name})
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        assert load_credentials("ghcr.io", cfg) == Credentials(name, "s")


def test_run_credential_helper_refuses_a_path_itself() -> None:
    """The check also guards callers that reach the helper runner directly."""
    from verifier.sources.docker_config import run_credential_helper

    with pytest.raises(CredentialHelperError, match="not a program name"):
        run_credential_helper("../../bin/sh", "ghcr.io")
