"""What the registry-answer fuzzer (test_fuzz_registry.py) found in the OCI registry client, one reproducer
each, served by the scripted registry (tests/fuzz/registry.py) and read through ``collect_image_evidence``
and ``verifier check signature``. Each was an exception that is not a ``VerifierError`` (a traceback and exit
1 from the CLI); each is now an error naming the registry and what it answered (exit 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fuzz.harness import invoke
from tests.fuzz.registry import (
    INDEX_TYPE,
    PUBLIC_KEY,
    REPO,
    SIGNED,
    TOKEN_PATH,
    Answer,
    ScriptedRegistry,
    base_routes,
    content,
    lookup_paths,
)
from verifier.errors import NetworkError
from verifier.sources.image import collect_image_evidence
from verifier.sources.oci_common import InvalidManifestError, RegistryAuthError


@pytest.fixture(scope="module")
def registry() -> Iterator[ScriptedRegistry]:
    with ScriptedRegistry() as scripted:
        yield scripted


def _with_token(registry: ScriptedRegistry, realm: str, token: object) -> None:
    routes = base_routes()
    routes[TOKEN_PATH] = content("application/json", json.dumps({"token": token}).encode())
    challenge = Answer(401, [("WWW-Authenticate", f'Bearer realm="{realm}",service="registry"')])
    registry.reset(routes, challenge)


def _check(registry: ScriptedRegistry) -> tuple[int, str]:
    ref = f"{registry.host}/{REPO}@{SIGNED}"
    outcome = invoke("check", "signature", ref, "--key", PUBLIC_KEY, "--timeout", "5")
    return outcome.code, outcome.err


@pytest.mark.parametrize("token", ["\u0100", "\ud800", "a\r\nX-Injected: 1", "a b", "\x00"])
def test_a_token_that_cannot_go_into_a_header(registry: ScriptedRegistry, token: str) -> None:
    """Was: UnicodeEncodeError from httpx for a token outside latin-1 (the others were sent, or reported
    as "registry is unreachable: Illegal header value")."""
    _with_token(registry, f"http://{registry.host}{TOKEN_PATH}", token)
    with pytest.raises(RegistryAuthError, match="token with spaces, control or non-ASCII"):
        collect_image_evidence(f"{registry.host}/{REPO}@{SIGNED}", timeout=5)
    code, err = _check(registry)
    assert code == 3
    assert "token server answered a token with spaces, control or non-ASCII" in err


def test_a_token_that_works_still_works(registry: ScriptedRegistry) -> None:
    """The same challenge with a JWT-like token: the image verifies (the fixes refuse only bad tokens)."""
    _with_token(registry, f"http://{registry.host}{TOKEN_PATH}", "eyJhbGciOi.eyJzdWIiOi.c2ln-_=")
    assert _check(registry)[0] == 0


@pytest.mark.parametrize("realm", ["http://[::1", "http://[::1:9/token", "http://127.0.0.1:1:2/t"])
def test_a_realm_that_is_no_url(registry: ScriptedRegistry, realm: str) -> None:
    """Was: ValueError ("Invalid IPv6 URL") from urllib, or httpx.InvalidURL ("Invalid port")."""
    _with_token(registry, realm, "t")
    with pytest.raises(RegistryAuthError, match="bearer challenge with an invalid realm"):
        collect_image_evidence(f"{registry.host}/{REPO}@{SIGNED}", timeout=5)
    code, err = _check(registry)
    assert (code, "bearer challenge with an invalid realm" in err) == (3, True)


def test_a_redirect_to_an_invalid_url(registry: ScriptedRegistry) -> None:
    """Was: httpx.InvalidURL (``ftp:x``: "For absolute URLs, path must be empty or begin with '/'"), which
    is not an httpx.HTTPError, escaped the client."""
    routes = base_routes()
    routes[lookup_paths(SIGNED)["sig"]] = Answer(302, [("Location", "ftp:x")])
    registry.reset(routes)
    with pytest.raises(NetworkError, match="cannot follow an invalid URL"):
        collect_image_evidence(f"{registry.host}/{REPO}@{SIGNED}", timeout=5)
    code, err = _check(registry)
    assert (code, "cannot follow an invalid URL" in err) == (3, True)


def test_a_redirect_loop_is_named_as_such(registry: ScriptedRegistry) -> None:
    """Was reported as "registry … is unreachable: Exceeded maximum allowed redirects"."""
    routes = base_routes()
    path = lookup_paths(SIGNED)["sig"]
    routes[path] = Answer(302, [("Location", path)])
    registry.reset(routes)
    with pytest.raises(NetworkError, match="more than 5 redirects"):
        collect_image_evidence(f"{registry.host}/{REPO}@{SIGNED}", timeout=5)


def test_a_referrers_link_that_is_no_url(registry: ScriptedRegistry) -> None:
    """Was: ValueError from urllib for the next page's ``Link``. Now the referrers answer is refused (a page
    that cannot be followed may hide a referrer: the lookup fails instead of passing on part of the list)."""
    routes = base_routes()
    paths = lookup_paths(SIGNED)
    index = routes[paths["referrers-tag"]].body
    routes[paths["referrers"]] = Answer(
        200, [("Content-Type", INDEX_TYPE), ("Link", '<http://[::1>; rel="next"')], index
    )
    registry.reset(routes)
    with pytest.raises(InvalidManifestError, match="Link header names an invalid URL"):
        collect_image_evidence(f"{registry.host}/{REPO}@{SIGNED}", timeout=5)
    code, err = _check(registry)
    assert (code, "Link header names an invalid URL" in err) == (3, True)


def test_a_token_answer_nested_too_deep(registry: ScriptedRegistry) -> None:
    """Was: RecursionError from the JSON parser (found by the campaign: the "deep" damage on the token
    server's answer)."""
    routes = base_routes()
    routes[TOKEN_PATH] = content(
        "application/json", b'{"token": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    )
    challenge = Answer(
        401, [("WWW-Authenticate", f'Bearer realm="http://{registry.host}{TOKEN_PATH}"')]
    )
    registry.reset(routes, challenge)
    with pytest.raises(RegistryAuthError, match="token server answer is not JSON"):
        collect_image_evidence(f"{registry.host}/{REPO}@{SIGNED}", timeout=5)
    code, err = _check(registry)
    assert (code, "token server answer is not JSON" in err) == (3, True)
