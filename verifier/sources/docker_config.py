"""Registry credentials from a Docker ``config.json`` (``docker login``, ``credHelpers``, ``credsStore``).

Looked up in this order: the file given explicitly, ``$DOCKER_CONFIG/config.json``, ``~/.docker/config.json``.
An explicit file that is missing or malformed is an input error; a default one that is absent just means
"anonymous". Secrets never appear in ``repr`` or in error messages.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess  # noqa: S404  (credential helpers are external programs by design)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verifier.errors import InputError, SourceError
from verifier.sources.files import load_json

# Docker Hub is stored under its v1 index URL by `docker login` (docker/cli config/configfile).
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
CONFIG_MAX_BYTES = 4 * 1024 * 1024
HELPER_TIMEOUT_SECONDS = 10.0
# A helper name is the suffix of a program looked up on PATH (docker-credential-<name>): the names
# docker-credential-helpers and the cloud helpers use (osxkeychain, ecr-login, gcloud, desktop.exe, …). A "/"
# or "\\" would make shutil.which run a path relative to the working directory instead.
HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Credentials:
    """Username/password for basic auth or the token server, or an identity (refresh) token."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)


class CredentialHelperError(SourceError):
    """A docker credential helper is missing or failed."""


def _default_config_name() -> str | None:
    """``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json`` if it exists."""
    env = os.environ.get("DOCKER_CONFIG")
    name = (
        os.path.join(env, "config.json")
        if env
        else os.path.join(os.path.expanduser("~"), ".docker", "config.json")
    )
    return name if os.path.isfile(name) else None


# Parsed config files by path, with the (device, inode, size, mtime) they were read at: a long-lived caller
# (the webhook looks credentials up for every image) re-reads a file only when it changed, e.g. when a
# mounted secret is swapped.
_PARSED: dict[str, tuple[tuple[int, int, int, int], Any]] = {}
_PARSED_MAX = 16


def _load_config(path: Path | str) -> Any:
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError:
        return load_json(
            Path(name), CONFIG_MAX_BYTES
        )  # raises the usual InputError naming the file
    stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _PARSED.get(name)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    doc = load_json(Path(name), CONFIG_MAX_BYTES)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[name] = (stamp, doc)
    return doc


def normalize_registry(key: str) -> str:
    """``https://index.docker.io/v1/`` -> ``index.docker.io``; ``http://Host:5000/x`` -> ``host:5000``."""
    host = key.strip()
    for prefix in ("https://", "http://"):
        if host.lower().startswith(prefix):
            host = host[len(prefix) :]
            break
    host = host.split("/", 1)[0].lower()
    return "docker.io" if host in DOCKER_HUB_ALIASES else host


def _decode_auth(value: str, where: str) -> Credentials:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InputError(where, "'auth' is not base64 of 'user:password'") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise InputError(where, "'auth' does not decode to 'user:password'")
    return Credentials(username=user, password=password)


def _entry_credentials(entry: Any, where: str) -> Credentials | None:
    if not isinstance(entry, dict):
        raise InputError(where, "auth entry is not an object")
    for key in ("auth", "username", "password", "identitytoken"):
        if key in entry and not isinstance(entry[key], str):
            raise InputError(where, f"'{key}' must be a string")
    if entry.get("identitytoken"):
        return Credentials(
            username=entry.get("username", ""), identity_token=entry["identitytoken"]
        )
    if entry.get("auth"):
        return _decode_auth(entry["auth"], where)
    if entry.get("username") or entry.get("password"):
        return Credentials(username=entry.get("username", ""), password=entry.get("password", ""))
    return None


def helper_name_problem(helper: str) -> str | None:
    """Why ``helper`` cannot name a credential helper program, or None when it can."""
    if HELPER_NAME.fullmatch(helper):
        return None
    return (
        f"credential helper name {helper!r} is not a program name (letters, digits, '.', '_', '-'; "
        "no path): refused"
    )


def run_credential_helper(helper: str, registry: str) -> Credentials | None:
    """``docker-credential-<helper> get`` with the registry on stdin (docker-credential-helpers protocol).

    Only a program on PATH is run: a name with a path in it is refused (CredentialHelperError).
    """
    problem = helper_name_problem(helper)
    if problem is not None:
        raise CredentialHelperError(f"{registry}: {problem}")
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise CredentialHelperError(
            f"docker config names credential helper '{helper}' for {registry}, "
            f"but docker-credential-{helper} is not on PATH"
        )
    server = DOCKER_HUB_KEY if registry == "docker.io" else registry
    try:
        proc = subprocess.run(  # noqa: S603  (program found on PATH by name, no shell)
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CredentialHelperError(
            f"docker-credential-{helper} timed out for {registry}"
        ) from None
    except OSError as exc:
        raise CredentialHelperError(
            f"docker-credential-{helper} could not run: {exc.strerror}"
        ) from exc
    if proc.returncode != 0:
        if b"credentials not found" in proc.stdout.lower() + proc.stderr.lower():
            return None
        raise CredentialHelperError(
            f"docker-credential-{helper} failed for {registry} (exit {proc.returncode})"
        )
    try:
        doc = json.loads(proc.stdout)
        user, secret = doc["Username"], doc["Secret"]
    except (ValueError, KeyError, TypeError):
        raise CredentialHelperError(
            f"docker-credential-{helper} returned an unreadable answer"
        ) from None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise CredentialHelperError(f"docker-credential-{helper} returned an unreadable answer")
    if user == "<token>":  # helpers return identity tokens under this username
        return Credentials(identity_token=secret)
    return Credentials(username=user, password=secret)


def load_credentials(registry: str, config: Path | None = None) -> Credentials | None:
    """Credentials for ``registry`` (``host[:port]`` or ``docker.io``), or None for anonymous access."""
    path: Path | str | None = config if config is not None else _default_config_name()
    if path is None:
        return None
    name = os.fspath(path)
    doc = _load_config(path)
    if not isinstance(doc, dict):
        raise InputError(name, "docker config is not a JSON object")
    wanted = normalize_registry(registry)
    helpers = doc.get("credHelpers", {})
    if not isinstance(helpers, dict):
        raise InputError(name, "'credHelpers' must be an object")
    for key, helper in helpers.items():
        if normalize_registry(key) == wanted:
            if not isinstance(helper, str):
                raise InputError(name, f"credHelpers[{key!r}] must be a string")
            _check_helper_name(helper, name, f"credHelpers[{key!r}]")
            return run_credential_helper(helper, wanted)
    auths = doc.get("auths", {})
    if not isinstance(auths, dict):
        raise InputError(name, "'auths' must be an object")
    for key, entry in auths.items():
        if normalize_registry(key) == wanted:
            creds = _entry_credentials(entry, f"{name} auths[{key!r}]")
            if creds is not None:
                return creds
    store = doc.get("credsStore")
    if store:
        if not isinstance(store, str):
            raise InputError(name, "'credsStore' must be a string")
        _check_helper_name(store, name, "credsStore")
        return run_credential_helper(store, wanted)
    return None


def _check_helper_name(helper: str, name: str, where: str) -> None:
    problem = helper_name_problem(helper)
    if problem is not None:
        raise InputError(name, f"{where}: {problem}")
