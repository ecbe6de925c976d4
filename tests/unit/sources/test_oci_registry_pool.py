"""Shared registry clients (RegistryPool) and the referrers-API memo, over an in-process fake.

The fake (httpx.MockTransport) is used for what the Debian registry cannot show: a registry that answers the
referrers API with a JSON error for one repository, and a clock we can move past the memo's TTL. The memo
against the real distribution 2.8.2 (404 text/plain for the unknown route) and kept-alive connections are
tested in tests/integration/test_registry_pool.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from verifier.errors import NetworkError
from verifier.sources.docker_config import Credentials
from verifier.sources.oci_common import RegistryAuthError
from verifier.sources.oci_registry import (
    REFERRERS_UNSUPPORTED_TTL,
    RegistryClient,
    RegistryPool,
)

DIGEST = "sha256:" + "ab" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _referrers_handler(
    seen: list[httpx.Request], status: int, content_type: str, body: bytes
) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return handler


def _client(handler: Any, clock: Clock | None = None) -> RegistryClient:
    return RegistryClient(
        "reg.example", transport=httpx.MockTransport(handler), clock=clock or Clock()
    )


def test_unknown_route_is_remembered_until_the_ttl_passes() -> None:
    seen: list[httpx.Request] = []
    clock = Clock()
    handler = _referrers_handler(seen, 404, "text/plain; charset=utf-8", b"404 page not found\n")
    with _client(handler, clock) as client:
        assert client.list_referrers("org/app", DIGEST) is None
        assert client.referrers_unsupported
        # Another image of the same registry: not asked again.
        assert client.list_referrers("org/other", "sha256:" + "cd" * 32) is None
        assert len(seen) == 1
        clock.now += REFERRERS_UNSUPPORTED_TTL + 1
        assert not client.referrers_unsupported
        assert client.list_referrers("org/app", DIGEST) is None
        assert len(seen) == 2


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        # A registry with the API, answering for a repository it does not know: about the repository only.
        (404, "application/json", b'{"errors":[{"code":"NAME_UNKNOWN"}]}'),
        # 400 is what the OCI spec prescribes for a bad request to a supporting registry.
        (400, "text/plain", b"bad request"),
    ],
)
def test_answers_about_one_request_are_not_remembered(
    status: int, content_type: str, body: bytes
) -> None:
    seen: list[httpx.Request] = []
    with _client(_referrers_handler(seen, status, content_type, body)) as client:
        assert client.list_referrers("org/app", DIGEST) is None
        assert client.list_referrers("org/app", DIGEST) is None
        assert not client.referrers_unsupported
    assert len(seen) == 2


def test_html_page_for_an_unknown_route_is_remembered() -> None:
    seen: list[httpx.Request] = []
    handler = _referrers_handler(seen, 200, "text/html", b"<html>not here</html>")
    with _client(handler) as client:
        assert client.list_referrers("org/app", DIGEST) is None
        assert client.list_referrers("org/app", DIGEST) is None
    assert len(seen) == 1


def test_a_supporting_registry_is_asked_for_every_image() -> None:
    seen: list[httpx.Request] = []
    body = (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    )
    handler = _referrers_handler(seen, 200, "application/vnd.oci.image.index.v1+json", body)
    with _client(handler) as client:
        assert client.list_referrers("org/app", DIGEST) == []
        assert client.list_referrers("org/app", DIGEST) == []
        assert not client.referrers_unsupported
    assert len(seen) == 2


def test_a_server_error_is_not_taken_as_unsupported() -> None:
    seen: list[httpx.Request] = []
    with _client(_referrers_handler(seen, 503, "text/plain", b"busy")) as client:
        with pytest.raises(NetworkError, match="HTTP 503"):
            client.list_referrers("org/app", DIGEST)
        assert not client.referrers_unsupported


def _pool(**kw: Any) -> RegistryPool:
    return RegistryPool(transport=httpx.MockTransport(lambda r: httpx.Response(404)), **kw)


def test_pool_shares_one_client_per_registry_and_credentials() -> None:
    pool = _pool(timeout=3.0)
    try:
        a = pool.client("reg.example", None)
        assert pool.client("reg.example", None) is a
        assert a.timeout == 3.0
        other = pool.client("other.example", None)
        assert other is not a and other.registry == "other.example"
        # Rotated credentials (a new docker config) give a new client with the new credentials.
        creds = Credentials(username="u", password="p")
        b = pool.client("reg.example", creds)
        assert b is not a and b.credentials == creds
        assert pool.client("reg.example", creds) is b
        assert len(pool) == 2
    finally:
        pool.close()


def test_pool_bounds_live_clients() -> None:
    pool = _pool(max_clients=2)
    try:
        first = pool.client("a.example", None)
        pool.client("b.example", None)
        pool.client("c.example", None)
        assert len(pool) == 2
        assert pool.client("a.example", None) is not first  # evicted, created again
    finally:
        pool.close()


def test_closed_pool_refuses_lookups() -> None:
    pool = _pool()
    pool.client("reg.example", None)
    pool.close()
    with pytest.raises(NetworkError, match="closed"):
        pool.client("reg.example", None)


def test_pool_clients_keep_the_plain_http_and_credentials_rules() -> None:
    """Credentials are never sent over plain http to a non-loopback host, pooled or not."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, headers={"www-authenticate": 'Basic realm="x"'})

    pool = RegistryPool(insecure=True, transport=httpx.MockTransport(handler))
    try:
        client = pool.client("reg.example", Credentials(username="u", password="p"))
        assert client.plain_http
        with pytest.raises(RegistryAuthError, match="plain http"):
            client.get_manifest("org/app", DIGEST)
    finally:
        pool.close()
    assert all("authorization" not in r.headers for r in calls)


def test_long_lived_client_keeps_a_bounded_number_of_bearer_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import verifier.sources.oci_registry as oci_registry

    monkeypatch.setattr(oci_registry, "_MAX_TOKENS", 2)
    token_requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            scope = request.url.params["scope"]
            token_requests.append(scope)
            return httpx.Response(200, json={"token": f"tok:{scope}"})
        repo = request.url.path.split("/manifests/")[0][len("/v2/") :]
        if request.headers.get("authorization") != f"Bearer tok:repository:{repo}:pull":
            return httpx.Response(
                401,
                headers={
                    "www-authenticate": (
                        f'Bearer realm="https://reg.example/token",service="reg.example",scope="repository:{repo}:pull"'
                    )
                },
            )
        return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})

    from verifier.sources.oci_common import ManifestNotFoundError

    with RegistryClient("reg.example", transport=httpx.MockTransport(handler)) as client:
        for repo in ("a/one", "a/two", "a/three", "a/three", "a/one"):
            with pytest.raises(ManifestNotFoundError):
                client.get_manifest(repo, "v1")
        assert len(client._auth) == 2
    # a/three reused its token; a/one was evicted by a/three and asked for a new one.
    assert token_requests == [
        "repository:a/one:pull",
        "repository:a/two:pull",
        "repository:a/three:pull",
        "repository:a/one:pull",
    ]
