"""Bounded fuzz tests of what a registry answers (issue 19): the OCI registry client and the checks above it.

A scripted registry (tests/fuzz/registry.py: a real socket, and why the real ``docker-registry`` cannot play
this part) serves the demo image signed with the throwaway key and an unsigned image; every example
damages one to three of the answers a lookup reads: manifests, image indexes, referrers answers, tags,
blobs, token-server answers and ``WWW-Authenticate`` challenges, ``Content-Type`` / ``mediaType``,
``Content-Length``, ``Docker-Content-Digest``, status codes, redirects, interim answers, bodies cut short or
oversized, deeply nested JSON, malformed HTTP. For the unsigned image it may also serve the signed image's
signatures, attestations and referrers under the unsigned image's tags (evidence about another artifact).

The promise: the source functions return evidence whose every blob hashes to its descriptor, or raise a
``VerifierError`` (never another exception); ``verifier check signature|sbom`` exit 0, 1, 2 or 3 with no
traceback, exit 2/3 with a message, and never exit 0 for the unsigned image; every call returns (its
registry work is bounded by ``--timeout``; a call still running long after it is a hang, reported).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import CrashError, Outcome, invoke
from tests.fuzz.registry import (
    PUBLIC_KEY,
    REPO,
    SIGNED,
    TOKEN_PATH,
    UNSIGNED,
    Answer,
    ScriptedRegistry,
    base_routes,
    content,
    lookup_paths,
)
from tests.fuzz.strategies import byte_mutations, encode, mutated
from tests.fuzz.test_fuzz_cli import CAMPAIGN, FUZZ
from verifier.errors import VerifierError
from verifier.models.evidence import ImageEvidence
from verifier.sources.deadline import Deadline
from verifier.sources.image import collect_image_evidence
from verifier.sources.oci_registry import RegistryPool

TIMEOUT = 2.0
# A call still running this long after its deadline never returns: a hang, not slowness.
HANG = TIMEOUT + 30.0
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONTENT_TYPES = (
    INDEX,
    MANIFEST,
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/json",
    "text/html",
    "application/octet-stream",
    "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
    "",
    "\x00",
)
LENGTHS = ("0", "-1", "abc", "99999999999999999999", "1, 1", "²", "9" * 5000, " 3", "+3")
LOCATIONS = (
    "{path}",
    "/v2/",
    "/v2/acme/app/blobs/sha256:" + "0" * 64,
    "http://127.0.0.2:9/v2/",
    "ftp://127.0.0.1/x",
    "",
    "//127.0.0.1:9/x",
    "http://[::1:9/",
    "\x00",
    "ftp:x",
    "http://127.0.0.1:1:2/",
)
LINKS = (
    '<{path}>; rel="next"',
    "<{path}?n=2>; rel=next",
    '<http://[::1>; rel="next"',
    '<http://127.0.0.2:9/v2/>; rel="next"',
    '<>; rel="next"',
    "<" + "a" * 60_000 + ">; rel=next",
)


def _challenges(host: str) -> tuple[str, ...]:
    token = f"http://{host}{TOKEN_PATH}"
    return (
        f'Bearer realm="{token}",service="registry",scope="repository:{REPO}:pull"',
        f'Bearer realm="{TOKEN_PATH}"',
        f"Bearer realm={token}",
        f'bearer REALM="{token}"',
        f'Bearer realm="https://{host}{TOKEN_PATH}"',
        'Bearer realm="http://127.0.0.2:9/token"',
        'Bearer realm="file:///etc/passwd"',
        'Bearer realm="javascript:alert(1)"',
        "Bearer",
        "Bearer realm=",
        'Bearer realm="\\',
        'Basic realm="registry"',
        "Negotiate",
        f'Basic realm="a", Bearer realm="{token}"',
        'Bearer realm="' + "a" * 60_000 + '"',
        'Bearer realm="http://\u00e9\u00e9/"',
        'Bearer realm="http://[::1"',
        f'Bearer realm="http://{host}:1/token"',
        'Bearer realm="ftp:x"',
        "",
        "\x00",
    )


TOKENS: tuple[Any, ...] = (
    {"token": "t0k3n"},
    {"access_token": "t0k3n"},
    {"token": "\u00e9t\u00e9"},
    {"token": "a\r\nX-Injected: 1"},
    {"token": "a b"},
    {"token": "\u0100"},
    {"token": "\ud800"},
    {"token": 5},
    {"token": ""},
    {"token": None, "access_token": ["x"]},
    {"token": "A" * 200_000},
    [],
    "token",
)


# ------------------------------------------------------------------------------------------ strategies


def _json_body(draw: st.DrawFn, body: bytes) -> bytes:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return draw(byte_mutations(body))
    return encode(draw(mutated(doc)))


def _mutate(draw: st.DrawFn, answer: Answer, path: str, host: str) -> Answer:
    """One kind of damage to one answer."""
    kind = draw(
        st.sampled_from(
            (
                "json",
                "json",
                "json",
                "bytes",
                "content-type",
                "content-length",
                "digest-header",
                "status",
                "challenge",
                "redirect",
                "interim",
                "cut",
                "raw",
                "extra-answer",
                "encoding",
                "chunked",
                "oversized",
                "deep",
                "stall",
                "link",
            )
        )
    )
    a = dataclasses.replace(answer, headers=list(answer.headers))
    if kind == "json":
        a.body = _json_body(draw, a.body)
    elif kind == "bytes":
        a.body = draw(byte_mutations(a.body))
    elif kind == "content-type":
        a.headers = [h for h in a.headers if h[0].lower() != "content-type"]
        if draw(st.booleans()):
            a.headers.append(("Content-Type", draw(st.sampled_from(CONTENT_TYPES))))
    elif kind == "content-length":
        value = draw(st.sampled_from((*LENGTHS, str(len(a.body) + 1), str(len(a.body) - 1))))
        a.headers.append(("Content-Length", value))
    elif kind == "digest-header":
        a.headers = [h for h in a.headers if h[0].lower() != "docker-content-digest"]
        a.headers.append(
            ("Docker-Content-Digest", draw(st.sampled_from((UNSIGNED, SIGNED, "sha256:", "x"))))
        )
    elif kind == "status":
        a.status = draw(
            st.sampled_from((201, 204, 206, 304, 400, 401, 403, 404, 405, 429, 500, 503))
        )
        if draw(st.booleans()):
            a.body = b""
    elif kind == "challenge":
        a = Answer(401, [("WWW-Authenticate", draw(st.sampled_from(_challenges(host))))])
    elif kind == "redirect":
        location = draw(st.sampled_from(LOCATIONS)).format(path=path)
        a = Answer(draw(st.sampled_from((301, 302, 307, 308))), [("Location", location)])
    elif kind == "interim":
        a.raw = b"HTTP/1.1 100 Continue\r\n\r\n" * draw(st.integers(1, 3)) + a.wire()
    elif kind == "cut":
        wire = a.wire()
        a.cut = draw(st.integers(0, max(len(wire) - 1, 0)))
    elif kind == "raw":
        a.raw = draw(
            st.sampled_from(
                (
                    b"",
                    b"HTTP/1.1 200\r\n",
                    b"\x00" * 16,
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
                    b"HTTP/1.0 200 OK\r\n\r\n" + a.body,
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" + a.body,
                    b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
                    b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
                    b"HTTP/1.1 999 What\r\nContent-Length: 0\r\n\r\n",
                    b"HTTP/2 200\r\n\r\n",
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                )
            )
        )
    elif kind == "extra-answer":
        a.raw = a.wire() + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    elif kind == "encoding":
        a.headers.append(
            ("Content-Encoding", draw(st.sampled_from(("gzip", "br", "x", "identity"))))
        )
    elif kind == "chunked":
        body = a.body
        sizes = draw(st.sampled_from(("ok", "short", "long", "junk", "no-end")))
        size = {"short": len(body) - 1, "long": len(body) + 5}.get(sizes, len(body))
        head = b"zz" if sizes == "junk" else f"{max(size, 0):x}".encode()
        end = b"" if sizes == "no-end" else b"\r\n0\r\n\r\n"
        a.headers.append(("Transfer-Encoding", "chunked"))
        a.body = head + b"\r\n" + body + end
    elif kind == "oversized":
        pad = b" " * (4 * 1024 * 1024 + 1)
        a.body = a.body[:1] + pad + a.body[1:] if a.body.startswith(b"{") else a.body + pad
        if draw(st.booleans()):
            a.headers.append(("Transfer-Encoding", "chunked"))
            a.body = f"{len(a.body):x}".encode() + b"\r\n" + a.body + b"\r\n0\r\n\r\n"
    elif kind == "deep":
        a.body = b'{"schemaVersion": 2, "manifests": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    elif kind == "link":
        a.headers.append(("Link", draw(st.sampled_from(LINKS)).format(path=path)))
    else:
        a.stall = TIMEOUT + 0.5
    return a


@dataclasses.dataclass(frozen=True)
class Scenario:
    """The answers of one example, and what is asked."""

    digest: str
    routes: dict[str, Answer]
    challenge: Answer | None
    mutations: tuple[str, ...]

    def __repr__(self) -> str:  # what hypothesis prints for a failing example: not the megabytes
        return f"Scenario({self.digest[:15]}…, mutated {list(self.mutations)}, challenge={self.challenge is not None})"


@st.composite
def scenarios(draw: st.DrawFn, host: str) -> Scenario:
    """See the module docstring."""
    digest = draw(st.sampled_from((SIGNED, UNSIGNED, UNSIGNED)))
    routes = base_routes()
    paths = lookup_paths(digest)
    if digest == UNSIGNED and draw(
        st.booleans()
    ):  # the signed image's evidence under this one's tags
        signed = lookup_paths(SIGNED)
        for name, path in paths.items():
            if signed[name] in routes:
                routes[path] = routes[signed[name]]
    if draw(st.booleans()):  # a registry with the referrers API: the tag-schema index as its answer
        index = routes.get(paths["referrers-tag"])
        if index is not None:
            routes[paths["referrers"]] = content(INDEX, index.body, digest=False)
    challenge = None
    if draw(st.integers(0, 3)) == 0:
        challenge = Answer(401, [("WWW-Authenticate", draw(st.sampled_from(_challenges(host))))])
        routes[TOKEN_PATH] = content("application/json", encode(draw(st.sampled_from(TOKENS))))
    targets = sorted(
        {
            *paths.values(),
            f"/v2/{REPO}/manifests/{digest}",
            *(p for p in routes if "/blobs/" in p or "/manifests/sha256:" in p),
            *([TOKEN_PATH] if challenge else []),
        }
    )
    done = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(targets))
        answer = routes.get(path) or Answer(
            404, [("Content-Type", "text/plain")], b"404 page not found\n"
        )
        routes[path] = _mutate(draw, answer, path, host)
        done.append(path.rsplit("/", 1)[-1][:20])
    return Scenario(digest, routes, challenge, tuple(done))


# ------------------------------------------------------------------------------------------ property


@pytest.fixture(scope="module")
def registry() -> Iterator[ScriptedRegistry]:
    with ScriptedRegistry() as scripted:
        yield scripted


def bounded(call: Callable[[], Any]) -> Any:
    """``call()`` in a thread; a CrashError when it has not returned HANG seconds later (a hang: its
    registry work is bounded by TIMEOUT). Exceptions are re-raised here."""
    result: list[Any] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    if thread.is_alive():
        raise CrashError(f"still running {HANG:.0f}s after a {TIMEOUT:.0f}s deadline")
    if error:
        raise error[0]
    return result[0]


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_evidence(evidence: ImageEvidence, digest: str) -> None:
    """Everything handed on hashes to the digest it claims (sha256 here; the layout uses nothing else)."""
    if evidence.digest != digest:
        raise CrashError(f"evidence for {evidence.digest}, asked for {digest}")
    for layer in (*evidence.signatures, *evidence.attestations, *evidence.referrers):
        data = getattr(layer, "payload", None) or getattr(layer, "envelope", None) or layer.bundle
        if _sha256(data) != layer.layer_digest:
            raise CrashError(f"a layer that does not hash to {layer.layer_digest}")


@pytest.fixture(scope="module")
def pool() -> Iterator[RegistryPool]:
    """One pool for the module, as in the webhook: connections, tokens and the referrers memo outlive an
    example, so what one damaged answer leaves behind meets the next example."""
    shared = RegistryPool(timeout=TIMEOUT)
    try:
        yield shared
    finally:
        shared.close()


@FUZZ
@given(data=st.data(), pooled=st.booleans())
def test_collect_image_evidence(
    registry: ScriptedRegistry, pool: RegistryPool, data: st.DataObject, pooled: bool
) -> None:
    """The source, with a client of its own (the CLI) or a pooled one (the webhook): verified evidence or
    a VerifierError, never another exception, never a hang."""
    scenario = data.draw(scenarios(registry.host))
    registry.reset(scenario.routes, scenario.challenge)
    ref = f"{registry.host}/{REPO}@{scenario.digest}"

    def collect() -> ImageEvidence:
        if pooled:
            deadline = Deadline.after(TIMEOUT, "lookup")
            return collect_image_evidence(ref, pool=pool, deadline=deadline, fetch_pinned=False)
        return collect_image_evidence(ref, timeout=TIMEOUT)

    try:
        evidence = bounded(collect)
    except VerifierError as exc:
        if not str(exc).strip():
            raise CrashError(f"{type(exc).__name__} without a message") from exc
        return
    except CrashError:
        raise
    except Exception as exc:
        raise CrashError(f"collect_image_evidence: {type(exc).__name__}: {exc}"[:2000]) from exc
    check_evidence(evidence, scenario.digest)


# The CLI runs the whole pipeline per example: fewer of them in the suite.
CLI_FUZZ = FUZZ if CAMPAIGN else settings(FUZZ, max_examples=max(FUZZ.max_examples // 3, 5))


@CLI_FUZZ
@given(data=st.data(), command=st.sampled_from(("signature", "signature", "sbom")))
def test_check_against_a_hostile_registry(
    registry: ScriptedRegistry, data: st.DataObject, command: str
) -> None:
    """``verifier check signature|sbom``: exit 0-3, no traceback, a message on 2/3, never a pass for the
    unsigned image."""
    scenario = data.draw(scenarios(registry.host))
    registry.reset(scenario.routes, scenario.challenge)
    ref = f"{registry.host}/{REPO}@{scenario.digest}"
    outcome: Outcome = bounded(
        lambda: invoke("check", command, ref, "--key", PUBLIC_KEY, "--timeout", str(TIMEOUT))
    )
    if outcome.code in (2, 3) and "verifier: error: " not in outcome.err:
        raise CrashError(f"exit {outcome.code} without an error message: {outcome.err[-500:]!r}")
    if outcome.code == 0 and scenario.digest == UNSIGNED:
        raise CrashError(f"check {command} passed an unsigned image\n{outcome.out[-1500:]}")


def test_the_scripted_registry_serves_a_verifiable_image(registry: ScriptedRegistry) -> None:
    """Undamaged answers: the signed image passes both checks, the unsigned one fails (exit 1), so the
    fuzz tests' properties are about the damage, not about a registry that never worked."""
    codes = {}
    for digest in (SIGNED, UNSIGNED):
        for command in ("signature", "sbom"):
            registry.reset(base_routes())
            ref = f"{registry.host}/{REPO}@{digest}"
            codes[digest, command] = invoke(
                "check", command, ref, "--key", PUBLIC_KEY, "--timeout", str(TIMEOUT)
            ).code
    assert codes == {
        (SIGNED, "signature"): 0,
        (SIGNED, "sbom"): 0,
        (UNSIGNED, "signature"): 1,
        (UNSIGNED, "sbom"): 1,
    }
