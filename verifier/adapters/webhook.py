"""The ValidatingWebhook server: a thin ASGI translation (starlette) served over TLS by uvicorn.

Routes: ``POST /validate`` (AdmissionReview v1/v1beta1), ``GET /healthz`` (process alive), ``GET /readyz``
(policy loaded, ready to decide), ``GET /metrics`` (Prometheus text).

All admission logic is in :mod:`verifier.admission.decider` and :mod:`verifier.admission.review`; this module only
reads the body (bounded), maps malformed input to HTTP 400 or a deny, and counts. It never answers
``allowed: true`` because of an error: an exception with a known uid is a deny, without one a 400 (which the
apiserver treats as a webhook failure, i.e. a deny under ``failurePolicy: Fail``).

The TLS certificate is reloaded when its files change (:class:`CertReloader`): new connections get the new
certificate, established ones keep theirs, nothing is dropped; a pair that does not load (half-written,
certificate and key do not match) is never applied.

The server sheds load instead of growing (:class:`ServerLimits`): a cap on open connections (more are closed
at once), a TLS handshake deadline, a deadline for each request's header (the first one counted from the
handshake: a connection that never sends a request, or drips its header, is closed), an idle keep-alive
timeout and a cap on requests per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from verifier.admission.decider import UNKNOWN_ERROR, AdmissionDecider, parse_timeout
from verifier.admission.review import AdmissionError, Outcome, build_response, parse_review

log = logging.getLogger("verifier.webhook")

# etcd caps an object at 1.5 MiB; an AdmissionReview holds object + oldObject plus the envelope.
DEFAULT_MAX_BODY = 7 * 1024 * 1024
# Reviews are a few KiB; above this size (pods with very large annotations or env) they are "large": checked
# for complexity before parsing, and only MAX_LARGE_REVIEWS of them are parsed and decided at once.
LARGE_BODY = 256 * 1024
MAX_LARGE_REVIEWS = 2
# Commas, objects and arrays in a large body. What makes a real review large is strings (annotations, env
# values, embedded JSON); a body of millions of tiny values is an attack: 7 MiB of "{}," costs json.loads
# 1.3 s on the event loop and 177 MiB, 7 MiB of "0," 3 s. 250,000 values parse in ~0.1 s and ~25 MiB.
MAX_JSON_VALUES = 250_000
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)


class Metrics:
    """Prometheus metrics of one webhook app (own registry, so several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "verifier_webhook_decisions",
            "Admission decisions by result.",
            ["result"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "verifier_webhook_request_duration_seconds",
            "Time to answer POST /validate.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "verifier_webhook_cache",
            "Image verdict cache lookups (hit, miss, shared in-flight).",
            ["result"],
            registry=self.registry,
        )
        self.registry_errors = Counter(
            "verifier_webhook_registry_errors",
            "Image lookups that failed or timed out.",
            ["kind"],
            registry=self.registry,
        )
        self.bad_requests = Counter(
            "verifier_webhook_bad_requests",
            "Requests answered 400.",
            ["reason"],
            registry=self.registry,
        )
        self.shed = Counter(
            "verifier_webhook_connections_shed",
            "Connections closed by the server limits (connection cap, header deadline, header size).",
            ["reason"],
            registry=self.registry,
        )
        self.lookups = Gauge(
            "verifier_webhook_lookups",
            "Image lookups waiting for a thread (queued) or running on one (running), at scrape time.",
            ["state"],
            registry=self.registry,
        )
        self.open_circuits = Gauge(
            "verifier_webhook_registries_circuit_open",
            "Registries not asked because they failed too many lookups in a row, at scrape time.",
            registry=self.registry,
        )

    def observe(self, decider: AdmissionDecider) -> None:
        """Set the gauges from the decider's current state (called when /metrics is scraped)."""
        queued, running = decider.lookup_stats()
        self.lookups.labels("queued").set(queued)
        self.lookups.labels("running").set(running)
        self.open_circuits.set(sum(1 for r in decider.bulkhead.states() if r.open))

    def event(self, name: str, label: str) -> None:
        """The ``events`` callback of :class:`AdmissionDecider`."""
        if name == "decision":
            self.decisions.labels(label).inc()
        elif name == "cache":
            self.cache.labels(label).inc()
        elif name == "registry":
            self.registry_errors.labels(label).inc()


@dataclass
class WebhookState:
    """What the routes share."""

    decider: AdmissionDecider
    metrics: Metrics
    max_body: int = DEFAULT_MAX_BODY
    ready: bool = False
    warmup: Callable[[], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    large_reviews: asyncio.Semaphore | None = None  # created on the serving loop, at first use

    def large_review_slot(self) -> asyncio.Semaphore:
        """The semaphore bounding large reviews in progress (MAX_LARGE_REVIEWS)."""
        if self.large_reviews is None:
            self.large_reviews = asyncio.Semaphore(MAX_LARGE_REVIEWS)
        return self.large_reviews


class BadRequest(Exception):  # noqa: N818 - an HTTP 4xx/503, not a program error
    """The request cannot be answered as an AdmissionReview (400; 408 for a body that came too slowly, 503
    when too many large reviews are in progress). The apiserver treats any of them as a webhook failure,
    which denies under ``failurePolicy: Fail``."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class ClientGone(Exception):  # noqa: N818 - the peer closed the connection; nothing to answer
    """The client disconnected before the body was read."""


def _json(status: int, doc: Mapping[str, Any]) -> tuple[int, bytes]:
    # As starlette's JSONResponse renders (compact, UTF-8), so answers are byte for byte what they were.
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        body = text.encode()
    except UnicodeEncodeError:  # a lone surrogate from the request: \udXXX escapes are valid JSON
        body = json.dumps(doc, allow_nan=False, separators=(",", ":")).encode()
    return status, body


def _bad(state: WebhookState, exc: BadRequest) -> tuple[int, bytes]:
    state.metrics.bad_requests.labels(exc.reason).inc()
    state.metrics.decisions.labels("bad-request").inc()
    log.info("%d %s: %s", exc.status, exc.reason, exc)
    return _json(exc.status, {"error": str(exc)})


# The two lookups below are what starlette's Headers and QueryParams do, minus their objects: measured on a
# cached review in-process (ASGI call, fake receive/send), using those classes cost 7-10 us more per review,
# about 8 % of its CPU on the event loop that sets the p99 (docs/webhook.md, "Cache hits").
def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:  # ASGI servers lower-case header names
            return str(value.decode("latin-1"))
    return None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    ctype = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise BadRequest(
            "content-type", f"content type must be application/json, got {ctype or 'none'!r}"
        )
    length = _header(scope, b"content-length")
    if length is not None:
        # ASCII digits only (str.isdigit() takes "²" too, which int() refuses), and no more of them than a
        # 64-bit length has (int() refuses over 4,300).
        if not (length.isascii() and length.isdigit()):
            raise BadRequest("content-length", "invalid Content-Length")
        if len(length) > 20 or int(length) > limit:
            raise BadRequest("too-large", f"body larger than {limit} bytes")
    body = bytearray()
    while (
        True
    ):  # the caller bounds the time: a client that trickles its body is cut off at the deadline
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        body += message.get("body", b"")
        if len(body) > limit:
            raise BadRequest("too-large", f"body larger than {limit} bytes")
        if not message.get("more_body", False):
            return bytes(body)


def _timeout_param(scope: Scope) -> str | None:
    value = None
    for key, item in parse_qsl(
        scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
    ):
        if key == "timeout":
            value = item  # the last one, as starlette's query_params.get
    return value


def _json_values(body: bytes) -> int:
    """An upper bound on the JSON values in ``body`` (commas, objects, arrays, inside strings too)."""
    return body.count(b",") + body.count(b"{") + body.count(b"[")


def _answer(api_version: str, uid: str, outcome: Outcome) -> tuple[int, bytes]:
    return _json(200, build_response(api_version, uid, outcome))


class ValidateApp:
    """``POST /validate``: one AdmissionReview in, one out. Every failure is a deny or a 4xx/503 answer
    (which the apiserver treats as a failure: a deny under ``failurePolicy: Fail``).

    A plain ASGI app under the starlette router (which still matches the path and answers 405 to other
    methods): it reads the body and sends the answer itself. The request/response objects and per-route
    exception wrappers of a starlette endpoint cost ~10 % of a cached answer's CPU, and on the single event
    loop thread that CPU is what sets the p99 under load (docs/webhook.md, "Cache hits").
    """

    def __init__(self, state: WebhookState) -> None:
        self.state = state

    def _large_review_gate(
        self, body: bytes, deadline: float
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Nothing for the usual small review. A large one must not be a pile of tiny values (400), and
        waits, until the deadline (then 503), for one of MAX_LARGE_REVIEWS slots: parsing and deciding
        hold the whole document in memory, so a burst of them cannot exhaust the pod's memory limit."""
        if len(body) <= LARGE_BODY:
            return contextlib.nullcontext()
        values = _json_values(body)
        if values > MAX_JSON_VALUES:
            raise BadRequest(
                "too-complex",
                f"body has {values} JSON values, more than the limit of {MAX_JSON_VALUES}",
            )
        return self._large_slot(deadline)

    @contextlib.asynccontextmanager
    async def _large_slot(self, deadline: float) -> AsyncIterator[None]:
        slot = self.state.large_review_slot()
        try:
            async with asyncio.timeout_at(deadline):
                await slot.acquire()
        except TimeoutError:
            raise BadRequest(
                "busy",
                f"more than {MAX_LARGE_REVIEWS} large reviews at once; none finished in time",
                503,
            ) from None
        try:
            yield
        finally:
            slot.release()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            status, body = await self._respond(scope, receive)
        except ClientGone:
            return
        finally:
            self.state.metrics.latency.observe(time.perf_counter() - started)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _respond(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        state = self.state
        uid, api_version = "", ""
        try:
            # The apiserver's budget bounds the whole answer, reading the body included.
            budget = parse_timeout(_timeout_param(scope), state.decider.config)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + budget
            try:
                async with asyncio.timeout(budget):
                    body = await _read_body(scope, receive, state.max_body)
            except TimeoutError:
                raise BadRequest(
                    "body-timeout", f"body not received within {budget:.1f}s", 408
                ) from None
            async with self._large_review_gate(body, deadline):
                try:
                    # Strict UTF-8 (RFC 8259): json.loads would take bytes as UTF-16/32 too, and let
                    # UTF-8-encoded surrogates through.
                    doc = json.loads(body.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise BadRequest("json", "body is not UTF-8") from exc
                except (ValueError, RecursionError) as exc:
                    raise BadRequest("json", "body is not valid JSON") from exc
                try:
                    req = parse_review(doc)
                except AdmissionError as exc:
                    if not exc.uid:
                        raise BadRequest("not-admission-review", exc.problem) from exc
                    state.metrics.decisions.labels("denied").inc()
                    log.info("uid=%s: malformed AdmissionReview: %s", exc.uid, exc.problem)
                    outcome = Outcome(
                        False, f"verifier: malformed AdmissionReview: {exc.problem}", code=400
                    )
                    return _answer(exc.api_version, exc.uid, outcome)
                uid, api_version = req.uid, req.api_version
                outcome = await state.decider.admit(req, max(deadline - loop.time(), 0.05))
                return _answer(api_version, uid, outcome)
        except BadRequest as exc:
            return _bad(state, exc)
        except ClientGone:
            raise
        except Exception:
            log.exception("uid=%s: unexpected error answering the review", uid or "?")
            state.metrics.decisions.labels("error").inc()
            if uid:
                return _answer(api_version, uid, Outcome(False, f"verifier: {UNKNOWN_ERROR}"))
            return _json(400, {"error": UNKNOWN_ERROR})


async def healthz(_request: Request) -> Response:
    """Liveness: the event loop answers."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """Readiness: the policy bundle loaded, a warm-up decision ran, and images can be looked up (lookups are
    not stuck waiting for a thread: :meth:`AdmissionDecider.health`)."""
    state: WebhookState = request.app.state.webhook
    if not state.ready:
        return PlainTextResponse("not ready", status_code=503)
    ready, why = state.decider.health()
    return PlainTextResponse(why, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    state: WebhookState = request.app.state.webhook
    state.metrics.observe(state.decider)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def create_app(
    decider: AdmissionDecider,
    *,
    metrics_: Metrics | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    warmup: Callable[[], None] | None = None,
) -> Starlette:
    """The ASGI app. ``warmup`` (e.g. load the policy bundle) runs at startup; /readyz is 503 until it did.

    ``decider`` should have been built with ``events=metrics_.event`` so cache and registry counters move.
    """
    state = WebhookState(decider, metrics_ or Metrics(), max_body, warmup=warmup)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        """Warm up (ready only if it succeeds), serve, then close the decider."""
        if state.warmup is not None:
            try:
                await asyncio.to_thread(state.warmup)
            except Exception:
                log.exception("warm-up failed: not ready")
                try:
                    yield
                finally:
                    decider.close()
                return
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            decider.close()

    app = Starlette(
        routes=[
            Route("/validate", ValidateApp(state), methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.webhook = state
    return app


# ---------------------------------------------------------------------------------------------- serving


class CertReloader:
    """Reload the server certificate into the live SSLContext when the files change.

    ``SSLContext.load_cert_chain`` on the context uvicorn listens with affects new handshakes only, so
    rotating the files (cert-manager renewal) needs no restart and drops no request. The files are read
    once and the pair is first loaded into a scratch context: only a pair that loads there (complete, key
    matching the certificate) is loaded, from the same bytes, into the live one. ``load_cert_chain`` is not
    atomic: a mismatched pair loaded straight into the live context replaces its certificate and then fails
    on the key, and every later handshake fails. A pair that does not load is logged once and the old
    certificate stays in use.
    """

    def __init__(self, context: ssl.SSLContext, certfile: str, keyfile: str) -> None:
        self.context = context
        self.certfile = certfile
        self.keyfile = keyfile
        self._stamp = self._current()
        self._rejected: tuple[int, ...] = ()
        self.reloads = 0

    def _current(self) -> tuple[int, ...]:
        stamp: list[int] = []
        for path in (self.certfile, self.keyfile):
            try:
                st = os.stat(path)
            except OSError:
                return ()
            stamp += [st.st_mtime_ns, st.st_size, st.st_ino]
        return tuple(stamp)

    def check(self) -> bool:
        """Reload if the files changed since the last load; True when a new certificate is in use."""
        stamp = self._current()
        if not stamp or stamp in (self._stamp, self._rejected):
            return False
        try:
            with open(self.certfile, "rb") as f:
                cert = f.read()
            with open(self.keyfile, "rb") as f:
                key = f.read()
            with _pem_files(cert, key) as (cert_path, key_path):
                scratch = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                scratch.load_cert_chain(cert_path, key_path)
                self.context.load_cert_chain(cert_path, key_path)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._rejected = stamp
            log.warning("certificate reload failed, keeping the old one: %s", exc)
            return False
        self._stamp = stamp
        self.reloads += 1
        log.info("reloaded the TLS certificate from %s", self.certfile)
        return True

    async def run(self, interval: float = 10.0) -> None:
        """Poll the files every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.check)


@contextlib.contextmanager
def _pem_files(cert: bytes, key: bytes) -> Iterator[tuple[str, str]]:
    """Paths that read as ``cert`` and ``key`` (``load_cert_chain`` takes paths only): anonymous in-memory
    files where the OS has them, so the key is never copied to disk."""
    if hasattr(os, "memfd_create"):
        fds = [os.memfd_create(name, os.MFD_CLOEXEC) for name in ("cert", "key")]
        try:
            for fd, data in zip(fds, (cert, key), strict=True):
                os.write(fd, data)
            yield f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}"
        finally:
            for fd in fds:
                os.close(fd)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as directory:  # private (0700), removed with its files
        paths = [os.path.join(directory, name) for name in ("cert.pem", "key.pem")]
        for path, data in zip(paths, (cert, key), strict=True):
            with open(path, "wb") as f:
                f.write(data)
        yield paths[0], paths[1]


@dataclass(frozen=True)
class ServerLimits:
    """What the server holds at most, and for how long (docs/webhook.md, "Server limits").

    - ``max_connections``: open connections (TLS established). At the cap a new connection closes the
      oldest one that has not sent a request yet (an idle flood cannot lock the apiserver out), or is
      closed itself when every open connection has. Requests in progress are bounded by the same number
      (uvicorn's ``limit_concurrency``: 503 beyond it).
    - ``handshake_timeout``: seconds for the TLS handshake (and, on Linux, for the first byte to arrive:
      until then the kernel does not hand the connection over at all, ``TCP_DEFER_ACCEPT``).
    - ``header_timeout``: seconds from the handshake to the first request's complete header, and from each
      answer to the next header beyond the keep-alive time; counted from the start, so a header that
      drips in is cut off. Bodies are bounded by the review's own deadline (408).
    - ``keep_alive_timeout``: seconds an idle connection is kept (uvicorn's ``timeout_keep_alive``).
    - ``max_requests_per_connection``: the answer to the last one says ``Connection: close``.
    - ``max_header_bytes``: a request header larger than this closes the connection.
    """

    max_connections: int = 1000
    handshake_timeout: float = 5.0
    header_timeout: float = 10.0
    keep_alive_timeout: float = 30.0
    max_requests_per_connection: int = 1000
    max_header_bytes: int = 64 * 1024
    backlog: int = 1024


class _GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the connection cap, the header deadline, the header size cap and
    the request cap of :class:`ServerLimits` (uvicorn has settings for none of them)."""

    limits: ClassVar[ServerLimits] = ServerLimits()
    shed_counter: ClassVar[Counter | None] = None  # Metrics.shed of the app, when it has one
    # Connections that have not sent a complete request header yet, oldest first (one dict per server).
    silent: ClassVar[dict[_GuardedProtocol, None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._requests = 0
        self._reading_body = False  # between a request's header and the end of its body

    def _shed(self, reason: str, *, flush: bool = False) -> None:
        log.debug("closing a connection: %s", reason)
        if self.shed_counter is not None:
            self.shed_counter.labels(reason).inc()
        if flush:
            self.transport.close()  # an answer may still be on its way out
        else:
            self.transport.abort()
        # No longer counted against the cap now (the transport reports the loss on the next loop turn).
        self.connections.discard(self)

    def _arm_header_timer(self, seconds: float) -> None:
        self._disarm_header_timer()
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(seconds, self._header_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self._shed("header-timeout", flush=self._requests > 0)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """At the connection cap, make room by closing the oldest connection that has not sent a request
        (idle floods hold those; the apiserver sends its request at once), else close this one. Then start
        the first header's deadline."""
        if len(self.connections) >= self.limits.max_connections:
            if not self.silent:
                self.transport = transport
                self._shed("too-many-connections")
                return
            oldest = next(iter(self.silent))
            self.silent.pop(oldest)
            oldest._disarm_header_timer()
            oldest._shed("evicted-silent")
        super().connection_made(transport)
        self.silent[self] = None
        self._arm_header_timer(self.limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        """Count the bytes that arrive while a header is awaited: once more than the cap arrived and the
        header is still not complete, the connection is closed."""
        awaiting = self._header_timer is not None and not self._reading_body
        if awaiting:
            self._header_bytes += len(data)
        super().data_received(data)
        if (
            awaiting
            and self._header_timer is not None  # still no complete header after these bytes
            and self._header_bytes > self.limits.max_header_bytes
            and not self.transport.is_closing()
        ):
            self._disarm_header_timer()
            self._shed("header-too-large")

    def on_headers_complete(self) -> None:
        """The header arrived in time; the last allowed request on this connection closes it after."""
        self._disarm_header_timer()
        self.silent.pop(self, None)
        self._requests += 1
        self._reading_body = True
        super().on_headers_complete()
        if self._requests >= self.limits.max_requests_per_connection and self.cycle is not None:
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        """The request's body has arrived (an answer may have been sent before it did)."""
        self._reading_body = False
        super().on_message_complete()
        if self.cycle.response_complete:
            self._await_next_header()

    def on_response_complete(self) -> None:
        """Answered: once the request's body has arrived too, the connection waits for the next header."""
        super().on_response_complete()
        if not self._reading_body:
            self._await_next_header()

    def _await_next_header(self) -> None:
        """Idle again: the next header must be complete within the keep-alive time plus its deadline."""
        if not self.transport.is_closing() and not self.pipeline:
            limits = self.limits
            self._arm_header_timer(limits.keep_alive_timeout + limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the header timer with the connection."""
        self._disarm_header_timer()
        self.silent.pop(self, None)
        super().connection_lost(exc)


class _Server(uvicorn.Server):
    """uvicorn's server, listening with a TLS handshake deadline (uvicorn has no setting for it; asyncio's
    default is 60 s) and, on Linux, ``TCP_DEFER_ACCEPT``."""

    handshake_timeout: float = ServerLimits.handshake_timeout

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start the lifespan, then listen on ``sockets`` (or the configured host and port)."""
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        config = self.config

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=_loop,
            )

        listeners = list(sockets) if sockets else [config.bind_socket()]
        loop = asyncio.get_running_loop()
        self.servers = []
        for sock in listeners:
            if hasattr(socket, "TCP_DEFER_ACCEPT") and sock.family in (
                socket.AF_INET,
                socket.AF_INET6,
            ):
                sock.setsockopt(
                    socket.IPPROTO_TCP,
                    socket.TCP_DEFER_ACCEPT,
                    max(1, round(self.handshake_timeout)),
                )
            self.servers.append(
                await loop.create_server(
                    create_protocol,
                    sock=sock,
                    ssl=config.ssl,
                    backlog=config.backlog,
                    ssl_handshake_timeout=self.handshake_timeout,
                )
            )
        self.started = True


def make_server(
    app: Starlette,
    *,
    host: str,
    port: int,
    certfile: str,
    keyfile: str,
    log_level: str = "warning",
    limits: ServerLimits | None = None,
) -> tuple[uvicorn.Server, CertReloader]:
    """A configured uvicorn server (TLS 1.2+ only, httptools, the :class:`ServerLimits`) and its certificate
    reloader. Connections it sheds are counted in the app's metrics (``create_app``)."""
    limits = limits or ServerLimits()
    state = getattr(app.state, "webhook", None)
    shed = state.metrics.shed if isinstance(state, WebhookState) else None
    protocol = type(
        "GuardedProtocol",
        (_GuardedProtocol,),
        {"limits": limits, "shed_counter": shed, "silent": {}},
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        http=protocol,
        lifespan="on",
        log_config=None,
        log_level=log_level,
        access_log=False,
        server_header=False,
        timeout_keep_alive=max(1, round(limits.keep_alive_timeout)),
        timeout_graceful_shutdown=10,
        # In-flight requests: the connection cap already bounds connections, so only tasks reach this.
        limit_concurrency=limits.max_connections + 1,
        backlog=limits.backlog,
    )
    config.load()
    assert config.ssl is not None  # noqa: S101 - ssl_certfile was given
    config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
    server = _Server(config)
    server.handshake_timeout = limits.handshake_timeout
    return server, CertReloader(config.ssl, certfile, keyfile)


async def serve(
    server: uvicorn.Server,
    reloader: CertReloader,
    *,
    sockets: Sequence[Any] | None = None,
    reload_interval: float = 10.0,
) -> None:
    """Serve until the server is told to exit, reloading the certificate in the background."""
    from verifier._internal.logsafe import install

    install()  # whoever configured logging, values from requests cannot forge log lines
    task = asyncio.create_task(reloader.run(reload_interval))
    try:
        await server.serve(sockets=list(sockets) if sockets else None)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run(server: uvicorn.Server, reloader: CertReloader, *, reload_interval: float = 10.0) -> None:
    """Blocking entry point for the command: uvloop when installed."""
    # Everything loaded by now (modules, trust roots, the config) lives as long as the process. Moving it
    # out of the cyclic collector's reach keeps full collections short: otherwise each one rescans all of
    # it, and those 20-35 ms pauses (measured under load) were the webhook's p99.
    gc.collect()
    gc.freeze()
    coro = serve(server, reloader, reload_interval=reload_interval)
    if _has("uvloop"):
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


__all__ = [
    "DEFAULT_MAX_BODY",
    "CertReloader",
    "Metrics",
    "ServerLimits",
    "create_app",
    "make_server",
    "run",
    "serve",
]
