"""Registry client behaviour the Debian registry cannot show, over an in-process fake (httpx.MockTransport).

A fake is used ONLY where the real registry here cannot run the case: distribution 2.8.2 has no OCI 1.1
referrers API, no token server (Bearer challenges, identity tokens), refuses to serve manifests over 4 MiB,
and always sends Content-Length. Everything else is tested against the real registry in
tests/integration/test_oci_registry.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from verifier.errors import NetworkError
from verifier.sources.docker_config import Credentials
from verifier.sources.oci_common import (
    OCI_INDEX,
    OCI_MANIFEST,
    ContentTooLargeError,
    Descriptor,
    DigestMismatchError,
    Limits,
    RegistryAuthError,
    SizeMismatchError,
    collect_all,
    compute_digest,
)
from verifier.sources.oci_registry import RegistryClient, RegistryStore

BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
REPO = "org/app"


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class FakeRegistry:
    """Just enough of the Registry v2 API, with switches for the behaviours under test."""

    manifests: dict[str, tuple[bytes, str]] = field(
        default_factory=dict
    )  # ref -> (bytes, content type)
    blobs: dict[str, bytes] = field(default_factory=dict)
    referrers_pages: list[list[dict[str, Any]]] | None = None
    auth: str = "none"  # none | bearer | basic
    token_requests: list[httpx.Request] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    override: Callable[[httpx.Request], httpx.Response | None] | None = None

    def put_blob(self, data: bytes) -> dict[str, Any]:
        d = compute_digest(data)
        self.blobs[d] = data
        return {"mediaType": "application/octet-stream", "digest": d, "size": len(data)}

    def put_manifest(self, doc: dict[str, Any], tag: str | None = None) -> tuple[str, int]:
        raw = canonical(doc)
        d = compute_digest(raw)
        self.manifests[d] = (raw, doc["mediaType"])
        if tag:
            self.manifests[tag] = (raw, doc["mediaType"])
        return d, len(raw)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            self.token_requests.append(request)
            return httpx.Response(200, json={"token": "tok-123"})
        self.requests.append(request)
        if self.auth == "bearer" and request.headers.get("authorization") != "Bearer tok-123":
            return httpx.Response(
                401,
                headers={
                    "www-authenticate": (
                        'Bearer realm="https://reg.example/token",service="reg.example",'
                        f'scope="repository:{REPO}:pull"'
                    )
                },
            )
        if (
            self.auth == "basic"
            and request.headers.get("authorization", "").split(" ")[0] != "Basic"
        ):
            return httpx.Response(401, headers={"www-authenticate": 'Basic realm="x"'})
        if self.override is not None:
            resp = self.override(request)
            if resp is not None:
                return resp
        parts = request.url.path.split("/")
        kind, ref = parts[-2], parts[-1]
        if kind == "manifests" and ref in self.manifests:
            raw, ct = self.manifests[ref]
            return httpx.Response(200, content=raw, headers={"content-type": ct})
        if kind == "blobs" and ref in self.blobs:
            return httpx.Response(200, content=self.blobs[ref])
        if kind == "referrers" and self.referrers_pages is not None:
            page = int(request.url.params.get("page", "0"))
            headers = {"content-type": OCI_INDEX}
            if page + 1 < len(self.referrers_pages):
                headers["link"] = f'</v2/{REPO}/referrers/{ref}?page={page + 1}>; rel="next"'
            body = canonical(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": self.referrers_pages[page],
                }
            )
            return httpx.Response(200, content=body, headers=headers)
        return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND"}]})


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


def _client(fake: FakeRegistry, host: str = "reg.example", **kw: Any) -> RegistryClient:
    return RegistryClient(host, transport=httpx.MockTransport(fake.handler), **kw)


def _image(fake: FakeRegistry, tag: str = "v1") -> tuple[str, int]:
    cfg = fake.put_blob(b"{}")
    return fake.put_manifest(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": []}, tag
    )


def _referrer(
    fake: FakeRegistry, subject: tuple[str, int], bundle: bytes, artifact_type: str = BUNDLE
) -> dict[str, Any]:
    layer = dict(fake.put_blob(bundle), mediaType=artifact_type)
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": dict(fake.put_blob(b"{}"), mediaType="application/vnd.oci.empty.v1+json"),
        "layers": [layer],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject[0], "size": subject[1]},
    }
    d, size = fake.put_manifest(doc)
    return {"mediaType": OCI_MANIFEST, "digest": d, "size": size, "artifactType": artifact_type}


# ------------------------------------------------------------------------------------------- auth


def test_bearer_challenge_anonymous_token_is_fetched_once_and_reused(fake: FakeRegistry) -> None:
    fake.auth = "bearer"
    image = _image(fake)
    with _client(fake) as client:
        assert client.get_manifest(REPO, "v1").digest == image[0]
        assert client.get_manifest(REPO, image[0]).digest == image[0]
    assert len(fake.token_requests) == 1
    tr = fake.token_requests[0]
    assert tr.url.params["scope"] == f"repository:{REPO}:pull"
    assert tr.url.params["service"] == "reg.example"
    assert "authorization" not in tr.headers  # anonymous token


def test_bearer_token_request_carries_basic_credentials(fake: FakeRegistry) -> None:
    fake.auth = "bearer"
    _image(fake)
    with _client(fake, credentials=Credentials("alice", "pw")) as client:
        client.get_manifest(REPO, "v1")
    assert fake.token_requests[0].headers["authorization"] == "Basic YWxpY2U6cHc="


def test_identity_token_uses_the_oauth2_refresh_grant(fake: FakeRegistry) -> None:
    fake.auth = "bearer"
    _image(fake)
    with _client(fake, credentials=Credentials(identity_token="refresh-me")) as client:
        client.get_manifest(REPO, "v1")
    tr = fake.token_requests[0]
    assert tr.method == "POST"
    form = parse_qs(tr.content.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["refresh-me"]


def test_basic_challenge_without_credentials_is_an_auth_error(fake: FakeRegistry) -> None:
    fake.auth = "basic"
    _image(fake)
    with (
        _client(fake) as client,
        pytest.raises(RegistryAuthError, match="requires a username and password"),
    ):
        client.get_manifest(REPO, "v1")


def test_credentials_never_go_over_plain_http_to_a_remote_host(fake: FakeRegistry) -> None:
    fake.auth = "basic"
    _image(fake)
    with _client(fake, insecure=True, credentials=Credentials("a", "b")) as client:
        assert client.base_url == "http://reg.example"
        with pytest.raises(RegistryAuthError, match="refusing to send credentials over plain http"):
            client.get_manifest(REPO, "v1")
    assert all("authorization" not in r.headers for r in fake.requests)


def test_http_token_realm_is_refused_for_an_https_registry(fake: FakeRegistry) -> None:
    def challenge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, headers={"www-authenticate": 'Bearer realm="http://evil.example/token"'}
        )

    fake.override = challenge
    with _client(fake) as client, pytest.raises(RegistryAuthError, match="is not https"):
        client.get_manifest(REPO, "v1")


def test_forbidden_and_server_errors(fake: FakeRegistry) -> None:
    for status, error in ((403, RegistryAuthError), (500, NetworkError), (429, NetworkError)):
        fake.override = lambda request, s=status: httpx.Response(s)
        with _client(fake) as client, pytest.raises(error):
            client.get_manifest(REPO, "v1")


def test_docker_hub_reference_uses_the_registry_1_api_host(fake: FakeRegistry) -> None:
    with _client(fake, host="docker.io") as client:
        assert client.base_url == "https://registry-1.docker.io"
    with _client(fake, host="127.0.0.1:5000") as client:
        assert client.base_url == "http://127.0.0.1:5000"


# ------------------------------------------------------------------------------------------- referrers


def test_referrers_api_with_pagination_is_preferred_over_the_tag_schema(fake: FakeRegistry) -> None:
    image = _image(fake)
    r1 = _referrer(fake, image, b'{"bundle":1}')
    r2 = _referrer(fake, image, b'{"bundle":2}')
    sbom = _referrer(fake, image, b'{"spdx":1}', artifact_type="application/spdx+json")
    fake.referrers_pages = [[r1], [r2, sbom]]
    with _client(fake) as client:
        out = collect_all(RegistryStore(client, REPO), image[0], Limits())
    assert sorted(r.bundle for r in out.referrers) == [b'{"bundle":1}', b'{"bundle":2}']
    assert out.other_referrers == [f"{sbom['digest']} application/spdx+json"]
    paths = [r.url.path for r in fake.requests]
    assert not any(p.endswith("/manifests/" + image[0].replace(":", "-")) for p in paths)
    assert sum("/referrers/" in p for p in paths) == 2


def test_referrers_api_404_falls_back_to_the_tag_schema_index(fake: FakeRegistry) -> None:
    image = _image(fake)
    r1 = _referrer(fake, image, b'{"bundle":1}')
    fake.put_manifest(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [r1]}, image[0].replace(":", "-")
    )
    with _client(fake) as client:
        out = collect_all(RegistryStore(client, REPO), image[0], Limits())
    assert [r.bundle for r in out.referrers] == [b'{"bundle":1}']


def test_referrer_count_cap(fake: FakeRegistry) -> None:
    image = _image(fake)
    fake.referrers_pages = [[_referrer(fake, image, b'{"b":%d}' % i) for i in range(5)]]
    with _client(fake) as client:
        out = collect_all(RegistryStore(client, REPO), image[0], Limits(referrers=3))
    assert len(out.referrers) == 3
    assert any("5 referrers" in p and "only the first 3" in p for p in out.problems)


# ------------------------------------------------------------------------------------------- content


def _stream(size: int) -> Iterator[bytes]:
    chunk = b" " * 65536
    sent = 0
    while sent < size:
        yield chunk
        sent += len(chunk)


def test_streamed_manifest_over_4_mib_is_refused_without_content_length(fake: FakeRegistry) -> None:
    fake.override = lambda request: httpx.Response(
        200, content=_stream(5 * 1024 * 1024), headers={"content-type": OCI_MANIFEST}
    )
    with (
        _client(fake) as client,
        pytest.raises(ContentTooLargeError, match="over the limit of 4194304"),
    ):
        client.get_manifest(REPO, "v1")


def test_declared_content_length_over_the_cap_is_refused(fake: FakeRegistry) -> None:
    fake.override = lambda request: httpx.Response(
        200,
        content=b"{}",
        headers={"content-length": str(5 * 1024 * 1024), "content-type": OCI_MANIFEST},
    )
    with _client(fake) as client, pytest.raises(ContentTooLargeError, match="5242880 bytes"):
        client.get_manifest(REPO, "v1")


def test_blob_longer_than_its_descriptor_is_refused(fake: FakeRegistry) -> None:
    data = b"0123456789"
    desc = Descriptor(media_type="x", digest=compute_digest(data), size=10)
    fake.override = lambda request: httpx.Response(200, content=_stream(1024 * 1024))
    with _client(fake) as client, pytest.raises(SizeMismatchError, match="more than 10 bytes"):
        client.get_blob(REPO, desc, "blob")


def test_docker_content_digest_header_is_not_trusted(fake: FakeRegistry) -> None:
    image = _image(fake)
    other = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": fake.put_blob(b"[]"),
            "layers": [],
        }
    )
    fake.override = lambda request: httpx.Response(
        200,
        content=other,
        headers={"content-type": OCI_MANIFEST, "docker-content-digest": image[0]},
    )
    with _client(fake) as client, pytest.raises(DigestMismatchError, match=image[0]):
        client.get_manifest(REPO, image[0])


def test_blob_redirect_is_followed_and_verified(fake: FakeRegistry) -> None:
    data = b"signature payload"
    desc = Descriptor(media_type="x", digest=compute_digest(data), size=len(data))

    def redirect(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == "reg.example" and "/blobs/" in request.url.path:
            return httpx.Response(307, headers={"location": "https://cdn.example/blob?sig=1"})
        if request.url.host == "cdn.example":
            assert "authorization" not in request.headers  # not forwarded to another origin
            return httpx.Response(200, content=data)
        return None

    fake.override = redirect
    fake.auth = "none"
    with _client(fake) as client:
        client._auth["*"] = "Basic c2VjcmV0"  # as if basic auth had happened
        assert client.get_blob(REPO, desc, "blob") == data


def test_parallel_collection_equals_sequential_and_raises_the_same_errors(
    fake: FakeRegistry,
) -> None:
    image = _image(fake)
    hex_tag = image[0].replace(":", "-")
    sig_layer = dict(
        fake.put_blob(b'{"critical":{}}'),
        mediaType="application/vnd.dev.cosign.simplesigning.v1+json",
    )
    cfg = fake.put_blob(b"{}")
    fake.put_manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [sig_layer]},
                      f"{hex_tag}.sig")  # fmt: skip
    att_layer = dict(
        fake.put_blob(b'{"payload":""}'), mediaType="application/vnd.dsse.envelope.v1+json"
    )
    fake.put_manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [att_layer]},
                      f"{hex_tag}.att")  # fmt: skip
    fake.referrers_pages = [[_referrer(fake, image, b'{"b":%d}' % i) for i in range(3)]]
    with _client(fake) as client:
        store = RegistryStore(client, REPO)
        sequential = collect_all(store, image[0], Limits(), parallel=False)
        parallel = collect_all(store, image[0], Limits(), parallel=True)
    assert parallel == sequential
    assert (len(parallel.signatures), len(parallel.attestations), len(parallel.referrers)) == (
        1,
        1,
        3,
    )
    # An altered attestation blob fails the whole collection in both modes.
    fake.blobs[att_layer["digest"]] = b'{"payload":"x"}'
    for mode in (False, True):
        with _client(fake) as client, pytest.raises(DigestMismatchError):
            collect_all(RegistryStore(client, REPO), image[0], Limits(), parallel=mode)
