"""OCI registry source: the Registry v2 HTTP API over httpx.

Anonymous access, bearer tokens from a ``Www-Authenticate`` challenge (anonymous or with credentials, or an
identity token), and basic auth. Every manifest and blob is re-hashed and compared with the digest it was
asked for; ``Docker-Content-Digest`` is never read. A tag is resolved to a digest once, by hashing the
manifest the registry returns for it. Sizes are capped (Content-Length is checked first, then the body is
counted while it streams). Every request has a deadline (``timeout``, and the caller's from
:mod:`verifier.sources.deadline` when earlier): the name lookup, the connect, the TLS handshake and every read
wait only for the time left, so a slow, stalled or dripping registry cannot hang us.

Plain http is used only for loopback hosts (``localhost``, ``127.0.0.0/8``, ``::1``) or when the caller asks
for it explicitly (``insecure=True``); credentials are never sent to a plain-http host that is not loopback.
"""

from __future__ import annotations

import base64
import concurrent.futures
import functools
import ipaddress
import os
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urljoin, urlsplit

import httpcore
import httptools
import httpx

from verifier.errors import NetworkError
from verifier.sources.deadline import Deadline, DeadlineExceeded, current, within
from verifier.sources.docker_config import Credentials
from verifier.sources.oci_common import (
    DEFAULT_LIMITS,
    INDEX_TYPES,
    MANIFEST_ACCEPT,
    BlobNotFoundError,
    ContentTooLargeError,
    Descriptor,
    DigestMismatchError,
    InvalidManifestError,
    InvalidReferenceError,
    Limits,
    Manifest,
    ManifestNotFoundError,
    RegistryAnswerError,
    RegistryAuthError,
    SizeMismatchError,
    compute_digest,
    parse_manifest,
    validate_digest,
    verify_content,
)

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
USER_AGENT = "verifier (+https://github.com/verifier)"

# distribution/reference grammar, simplified: lowercase path components separated by / and separators.
_REPO_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPO_RE = re.compile(rf"\A{_REPO_COMPONENT}(?:/{_REPO_COMPONENT})*\Z")
_TAG_RE = re.compile(r"\A[\w][\w.-]{0,127}\Z")
_SPACE_RE = re.compile(r"\s")  # the same characters as str.isspace()
_HOST_RE = re.compile(r"\A(?:[a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?\Z")
_CHALLENGE_PARAM_RE = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


# --------------------------------------------------------------------------------------------- references


@dataclass(frozen=True)
class RegistryRef:
    """``registry/repository`` plus a tag and/or a digest (the digest wins when both are given)."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def repo_name(self) -> str:
        """``registry/repository`` for messages."""
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        s = self.repo_name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def parse_registry_ref(ref: str, *, allow_bare: bool = False) -> RegistryRef:
    """Parse ``host[:port]/repo[:tag][@sha256:…]``; a first component without ``.``/``:`` (and not
    ``localhost``) means Docker Hub, as in ``docker pull``. ``allow_bare`` permits no tag and no digest
    (a repository, e.g. an alternate signature repository)."""
    original = ref
    if not ref or _SPACE_RE.search(ref):
        raise InvalidReferenceError(
            original, "not a valid image reference (empty or contains spaces)"
        )
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        validate_digest(digest, original)
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, ref
    tag = ""
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidReferenceError(original, f"not a valid tag: {tag!r}")
    if not _HOST_RE.match(registry):
        raise InvalidReferenceError(original, f"not a valid registry host: {registry!r}")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _REPO_RE.match(path):
        raise InvalidReferenceError(
            original,
            f"not a valid repository name: {path!r} (lowercase letters, digits, . _ - and /)",
        )
    if not tag and not digest and not allow_bare:
        raise InvalidReferenceError(original, "give a tag (:tag) or a digest (@sha256:…)")
    return RegistryRef(registry=registry, repository=path, tag=tag, digest=digest)


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (with or without a port)."""
    name = host
    if name.startswith("["):
        name = name[1 : name.find("]")]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------- auth


@dataclass(frozen=True)
class Challenge:
    """A parsed ``Www-Authenticate`` header."""

    scheme: str  # "bearer" or "basic" (lowercase)
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """Parse ``Bearer realm="…",service="…",scope="…"`` or ``Basic realm="…"``; None if unreadable."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    if not scheme or not re.fullmatch(r"[A-Za-z][\w-]*", scheme):
        return None
    params = {}
    for m in _CHALLENGE_PARAM_RE.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return Challenge(scheme=scheme.lower(), params=params)


def _basic_header(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


# --------------------------------------------------------------------------------------------- client


# Unread bodies up to this size are read before closing a response so its connection can be reused.
_DRAIN_MAX_BYTES = 64 * 1024

# How long a registry that answered the referrers API with "unsupported" (404/405/400, or not JSON) is not
# asked again: distribution 2.x answers 404 for every image. Within this time the ``sha256-<hex>`` tag-schema
# index is read directly. A registry upgraded meanwhile is asked again after the TTL; until then referrers
# pushed only through its API are not found, which can only deny an image, never admit one.
REFERRERS_UNSUPPORTED_TTL = 300.0


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for all clients: building one loads the CA bundle (~30 ms), once per process."""
    return httpx.create_ssl_context()


_MAX_TOKENS = 1024  # bearer tokens (one per repository scope) a client keeps
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_HEAD = 65536  # largest answer header accepted (status line and fields)
_MAX_HEADERS = 100  # most header fields accepted (as http.client)
_UNSAFE_IN_REQUEST = re.compile(r"[\x00-\x20\x7f]")  # no controls or spaces in the target
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# What httpx raises for a request or an answer it cannot use: ``InvalidURL`` (a redirect's Location or a token
# realm that is no URL, e.g. ``ftp:x``) is not an ``HTTPError``.
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL)
# A bearer token goes into a header as is: visible ASCII only (RFC 6750's b64token is narrower still).
_TOKEN_RE = re.compile(r"\A[\x21-\x7e]+\Z")


def _proxy_configured() -> bool:
    """True when the environment names any proxy (then every request goes through httpx, which applies
    HTTP(S)_PROXY / ALL_PROXY / NO_PROXY as before)."""
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)


class _StaleConnection(Exception):  # noqa: N818 - internal signal, never leaves the client
    """A reused connection turned out to be closed by the server before it answered."""


# What a kept-alive connection the server closed while idle raises on reuse (a timeout is not one of them).
_STALE_ERRORS = (
    _StaleConnection,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)


def _usable(conn: _Connection) -> bool:
    """An idle connection can be reused only if nothing is waiting to be read on it: a server that closed
    it has sent FIN (readable, EOF), and any other unasked bytes would corrupt the next answer."""
    try:
        poller = select.poll()  # not select.select: no limit on the descriptor number
        poller.register(conn.sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def _as_httpx_error(exc: BaseException, url: str) -> httpx.HTTPError:
    """A socket/TLS error as the httpx error the rest of the client handles (same messages as before)."""
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(f"timed out ({url})")
    return httpx.ConnectError(str(exc) or type(exc).__name__)


# --------------------------------------------------------------------------------------------- deadlines

_RESOLVER_THREADS = 8


@functools.cache
def _resolver() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for name lookups: ``getaddrinfo`` takes no timeout, so it runs here and is waited for only
    until the deadline (an abandoned lookup ends in its thread within the system resolver's own timeouts)."""
    return concurrent.futures.ThreadPoolExecutor(_RESOLVER_THREADS, thread_name_prefix="oci-dns")


def _addresses(host: str, port: int, deadline: Deadline) -> list[tuple[int, Any]]:
    """(family, sockaddr) for ``host``; a name lookup is bounded by ``deadline``."""
    try:
        ipaddress.ip_address(host)
        needs_lookup = False
    except ValueError:
        needs_lookup = host.lower() != "localhost"
    if needs_lookup:
        future = _resolver().submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        what = f"resolving {host}"
        try:
            infos = future.result(timeout=deadline.wait(what))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeadlineExceeded(what, deadline) from None
    else:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(family, sockaddr) for family, _type, _proto, _name, sockaddr in infos]


def _connect(host: str, port: int, deadline: Deadline) -> socket.socket:
    """A TCP connection to ``host:port`` (each address in turn) within ``deadline``."""
    error: OSError = OSError(f"no address found for {host}")
    for family, sockaddr in _addresses(host, port, deadline):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.wait(f"connecting to {host}:{port}"))
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
            if deadline.expired():
                break
    raise error


class _DeadlineStream(httpcore.NetworkStream):
    """An httpcore stream whose every read, write and TLS handshake waits at most until the current
    deadline (httpcore only knows per-operation timeouts, which a dripping server resets)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    @staticmethod
    def _clamp(timeout: float | None) -> float | None:
        deadline = current()
        return timeout if deadline is None else deadline.clamp(timeout)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, waiting no longer than the deadline allows."""
        return self._inner.read(max_bytes, self._clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write, waiting no longer than the deadline allows."""
        self._inner.write(buffer, self._clamp(timeout))

    def close(self) -> None:
        """Close the connection."""
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """The TLS handshake, as a whole within the deadline."""
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, self._clamp(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        """As the wrapped stream."""
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with the name lookup, the connect and every stream operation bounded by
    the current deadline (:mod:`verifier.sources.deadline`)."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        """Resolve (bounded), then connect to each address in turn within the deadline."""
        deadline = current()
        if deadline is None:
            return _DeadlineStream(
                self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            )
        error: Exception = httpcore.ConnectError(f"no address found for {host}")
        try:
            addresses = _addresses(host, port, deadline)
        except DeadlineExceeded as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        for _family, sockaddr in addresses:
            try:
                stream = self._inner.connect_tcp(
                    sockaddr[0], sockaddr[1], deadline.clamp(timeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                if deadline.expired():
                    break
                continue
            return _DeadlineStream(stream)
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        """Not used for registries; bounded like a TCP connect."""
        deadline = current()
        bounded = timeout if deadline is None else deadline.clamp(timeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        """As the wrapped backend."""
        self._inner.sleep(seconds)


def _bound_by_deadlines(client: httpx.Client) -> None:
    """Give every transport of ``client`` (direct and proxies from the environment) the deadline backend.

    httpx has no overall timeout and builds its httpcore pools itself, so the backend is swapped in on
    the pools it built; ``test_httpx_transports_are_bounded_by_the_deadline`` fails if a new httpx or
    httpcore moves these attributes.
    """
    transports = [client._transport, *client._mounts.values()]  # noqa: SLF001
    for transport in transports:
        if isinstance(transport, httpx.HTTPTransport):
            pool = transport._pool  # noqa: SLF001
            backend = pool._network_backend  # noqa: SLF001
            if not isinstance(backend, _DeadlineBackend):
                pool._network_backend = _DeadlineBackend(backend)  # noqa: SLF001


class _Connection:
    """One kept-alive HTTP/1.1 connection: a socket (TLS-wrapped for https) and its buffered reader."""

    __slots__ = ("reader", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class _Reply(Protocol):
    """What the client reads from a response: ``httpx.Response`` or the fast path's ``_FastReply``."""

    status_code: int
    is_closed: bool
    is_stream_consumed: bool

    @property
    def headers(self) -> Mapping[str, str]: ...

    def iter_bytes(self) -> Iterator[bytes]: ...

    def iter_raw(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class _Answer:
    """llhttp (``httptools``) callbacks for one answer: the final status, its header fields (lowercase names;
    repeated ones joined with ", " as httpx does) and the body chunks parsed so far. Interim 1xx answers
    are skipped; bytes after the answer mark the connection unusable."""

    __slots__ = (
        "body",
        "body_bytes",
        "complete",
        "count",
        "extra",
        "fields",
        "final",
        "head_bytes",
        "keep_alive",
        "parser",
        "status",
        "url",
    )

    def __init__(self, url: str) -> None:
        self.url = url
        self.parser = httptools.HttpResponseParser(self)
        self.fields: dict[str, str] = {}
        self.status = 0
        self.final = False  # the final (non-1xx) answer's header is complete
        self.complete = False
        self.extra = False
        self.body: list[bytes] = []
        self.body_bytes = 0
        self.count = 0
        self.head_bytes = 0
        self.keep_alive = False

    def on_message_begin(self) -> None:
        if self.complete:
            self.extra = True  # the server sent more than the one answer we asked for

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete:
            return  # part of an unasked answer: never read
        self.count += 1
        self.head_bytes += len(name) + len(value)
        if self.count > _MAX_HEADERS:
            raise httpx.RemoteProtocolError(f"more than {_MAX_HEADERS} header fields ({self.url})")
        if self.head_bytes > _MAX_HEAD:
            raise httpx.RemoteProtocolError(
                f"answer header larger than {_MAX_HEAD} bytes ({self.url})"
            )
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1").strip()
        self.fields[key] = f"{self.fields[key]}, {text}" if key in self.fields else text

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue and friends: the real answer follows
            self.fields = {}
            self.count = 0
            return
        encoding = self.fields.get("transfer-encoding")
        if encoding is not None and encoding.strip().lower() != "chunked":
            raise httpx.RemoteProtocolError(
                f"unsupported Transfer-Encoding {encoding!r} ({self.url})"
            )
        self.status = status
        self.final = True

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        self.body.append(bytes(body))
        self.body_bytes += len(body)

    def on_message_complete(self) -> None:
        if self.final and not self.complete:
            self.complete = True
            # Asked here: llhttp resets its connection flags once the next answer starts.
            self.keep_alive = bool(self.parser.should_keep_alive())

    def feed(self, data: bytes) -> None:
        """Parse ``data``; a malformed answer raises ``httpx.RemoteProtocolError``."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, httpx.HTTPError):
                raise cause from None
            raise httpx.RemoteProtocolError(f"malformed answer: {exc} ({self.url})") from exc
        except httptools.HttpParserError as exc:
            raise httpx.RemoteProtocolError(f"malformed answer: {exc} ({self.url})") from exc

    @property
    def until_close(self) -> bool:
        """The body has no length and is not chunked: it ends when the server closes the connection."""
        return (
            "content-length" not in self.fields
            and "transfer-encoding" not in self.fields
            and self.status not in (204, 304)
        )


def _read_head(conn: _Connection, url: str, deadline: Deadline) -> _Answer:
    """Read until the final answer's header is parsed (by llhttp); the body parsed with it stays queued.
    Each read waits only for the time left before ``deadline``: a dripping header cannot outlive it."""
    answer = _Answer(url)
    received = 0
    while True:
        conn.sock.settimeout(deadline.wait(url))
        data = conn.reader.read1(65536)
        if not data:
            if received == 0:
                raise _StaleConnection()
            raise httpx.RemoteProtocolError(
                f"connection closed in the middle of the answer's header ({url})"
            )
        received += len(data)
        answer.feed(data)
        if answer.final:
            return answer
        if received > _MAX_HEAD:
            raise httpx.RemoteProtocolError(f"answer header larger than {_MAX_HEAD} bytes ({url})")


class _FastReply:
    """A response read from a ``_Connection`` and parsed by llhttp: status, headers and a streamed body.
    The connection goes back to the pool only when the body was read to its end, nothing else arrived and
    the server keeps it open; a body that ends early raises (``httpx.RemoteProtocolError``) instead of
    returning short content."""

    def __init__(
        self,
        owner: RegistryClient,
        conn: _Connection,
        answer: _Answer,
        url: str,
        deadline: Deadline,
    ) -> None:
        self._owner = owner
        self._deadline = deadline
        self._conn: _Connection | None = conn
        self._answer = answer
        self.status_code = answer.status
        self._url = url
        self.is_closed = False
        self.is_stream_consumed = False
        self._complete = False

    @property
    def headers(self) -> Mapping[str, str]:
        """Response headers by lowercase name."""
        return self._answer.fields

    def iter_raw(self) -> Iterator[bytes]:
        """The body as it arrives (no content coding is ever applied: we ask for identity)."""
        if self.is_stream_consumed:
            raise httpx.StreamConsumed()
        self.is_stream_consumed = True
        conn = self._conn
        if conn is None:
            raise httpx.StreamClosed()
        try:
            yield from self._body(conn)
        except DeadlineExceeded:
            self.close()
            raise
        except (OSError, ValueError) as exc:
            self.close()
            raise _as_httpx_error(exc, self._url) from exc
        except httpx.HTTPError:
            self.close()
            raise
        self._complete = True
        self.close()

    iter_bytes = iter_raw

    def _body(self, conn: _Connection) -> Iterator[bytes]:
        answer = self._answer
        while True:
            if answer.body:
                chunks, answer.body = answer.body, []
                yield from chunks
            if answer.complete:
                return
            conn.sock.settimeout(self._deadline.wait(self._url))
            data = conn.reader.read1(65536)
            if not data:
                if answer.until_close:
                    return
                length = answer.fields.get("content-length", "")
                missing = (
                    f"{int(length) - answer.body_bytes} bytes of the body"
                    if length.isdigit()
                    else "the body"
                )
                raise httpx.RemoteProtocolError(
                    f"connection closed with {missing} missing ({self._url})"
                )
            answer.feed(data)

    def close(self) -> None:
        """Release the connection: back to the pool after a complete body, else closed."""
        self.is_closed = True
        conn, self._conn = self._conn, None
        if conn is None:
            return
        answer = self._answer
        reusable = (
            self._complete
            and answer.complete
            and not answer.extra
            and not answer.until_close
            and answer.keep_alive
        )
        if reusable:
            self._owner._checkin(conn)
        else:
            conn.close()


class RegistryClient:
    """A Registry v2 client for one registry host. Use as a context manager or call ``close()``.

    Reads (GET to the registry's own origin) go over kept-alive HTTP/1.1 connections of its own, answers
    parsed by llhttp (``httptools``): about a fourth of the CPU of a request through ``httpx.Client``, with
    the same timeouts, TLS context, size caps and errors. Redirects, token requests, pushes, a custom transport (tests), encoded bodies and
    proxies from the environment go through ``httpx.Client``.
    """

    def __init__(
        self,
        registry: str,
        *,
        credentials: Credentials | None = None,
        timeout: float = 10.0,
        limits: Limits = DEFAULT_LIMITS,
        insecure: bool = False,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
        self.plain_http = insecure or is_loopback(host)
        self.base_url = f"{'http' if self.plain_http else 'https'}://{host}"
        self.credentials = credentials
        self.timeout = timeout
        self.limits = limits
        self._auth: dict[str, str] = {}  # scope -> Authorization header value
        self._clock = clock
        # Monotonic time until which the referrers API is taken as unsupported (see REFERRERS_UNSUPPORTED_TTL).
        self._referrers_unsupported_until = 0.0
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
            verify=_ssl_context(),
            # Proxy settings from the environment apply to remote registries only, never to loopback.
            trust_env=not is_loopback(host),
        )
        _bound_by_deadlines(self._client)
        split = urlsplit(self.base_url)
        self._address = (split.hostname or host, split.port or (80 if self.plain_http else 443))
        self._server_hostname = split.hostname or host
        self._host_header = split.netloc
        self._fast = transport is None and (is_loopback(host) or not _proxy_configured())
        self._idle: list[_Connection] = []
        self._idle_lock = threading.Lock()
        self._max_idle = max_connections
        self._closed = False

    def close(self) -> None:
        """Close the connection pool."""
        with self._idle_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------- transport

    def _network_error(self, exc: httpx.HTTPError | httpx.InvalidURL, url: str) -> NetworkError:
        if isinstance(exc, httpx.TooManyRedirects):
            return NetworkError(f"registry {self.registry}: more than 5 redirects ({url})")
        if isinstance(exc, httpx.InvalidURL):
            return NetworkError(
                f"registry {self.registry}: cannot follow an invalid URL: {exc} ({url})"
            )
        if isinstance(exc, httpx.TimeoutException):
            deadline = current()
            if deadline is not None and deadline.expired() and deadline.label != "request":
                return DeadlineExceeded(f"registry {self.registry} ({url})", deadline)
            return NetworkError(
                f"registry {self.registry}: no answer within {self.timeout:g}s ({url})"
            )
        reason = str(exc) or type(exc).__name__
        return NetworkError(f"registry {self.registry} is unreachable: {reason} ({url})")

    @contextmanager
    def _open(
        self, method: str, path: str, scope: str, accept: str | None = None
    ) -> Iterator[_Reply]:
        """Send a request (authenticating on a 401 challenge, once) and yield the streamed response.

        The whole exchange (token request, retry and body included) runs within ``timeout`` seconds and
        within the deadline of the caller's context, whichever comes first.
        """
        url = self.base_url + path
        with (
            within(self.timeout, "request"),
            self._opened(method, url, path, scope, accept) as resp,
        ):
            yield resp

    @contextmanager
    def _opened(
        self, method: str, url: str, path: str, scope: str, accept: str | None
    ) -> Iterator[_Reply]:
        resp = self._send(method, url, scope, accept)
        try:
            if resp.status_code == 401:
                challenge = parse_challenge(resp.headers.get("www-authenticate", ""))
                resp.close()
                self._authenticate(challenge, scope)
                resp = self._send(method, url, scope, accept)
                if resp.status_code == 401:
                    raise RegistryAuthError(
                        f"registry {self.registry}: access to {scope} denied"
                        + ("" if self.credentials else " (no credentials found; run docker login?)")
                    )
            if resp.status_code == 403:
                raise RegistryAuthError(f"registry {self.registry}: access to {scope} forbidden")
            if resp.status_code == 429 or resp.status_code >= 500:
                raise RegistryAnswerError(
                    f"registry {self.registry} answered HTTP {resp.status_code} for {method} {path}",
                    resp.status_code,
                )
            yield resp
        finally:
            self._release(resp)

    def _release(self, resp: _Reply) -> None:
        """Close a response; a small unread body (a 404's error JSON) is read first so the connection goes
        back to the pool instead of being dropped. Bounded by size and by the request's deadline."""
        try:
            declared = resp.headers.get("content-length", "")
            if (
                not resp.is_closed
                and not resp.is_stream_consumed
                and declared.isdigit()
                and int(declared) <= _DRAIN_MAX_BYTES
            ):
                seen = 0
                for chunk in resp.iter_raw():
                    seen += len(chunk)
                    deadline = current()
                    if seen > _DRAIN_MAX_BYTES or (deadline is not None and deadline.expired()):
                        break
        except (httpx.HTTPError, DeadlineExceeded):
            pass  # the connection is dropped instead of reused; nothing was read from it
        finally:
            resp.close()

    def _send(self, method: str, url: str, scope: str, accept: str | None) -> _Reply:
        headers = {}
        if accept:
            headers["Accept"] = accept
        auth = self._auth.get(scope) or self._auth.get("*")
        if auth:
            headers["Authorization"] = auth
        if self._fast and method == "GET" and url.startswith(self.base_url + "/"):
            resp = self._send_fast(url, headers)
            if resp is not None:
                return resp
        request = self._client.build_request(
            method, url, headers=headers, timeout=self._httpx_timeout()
        )
        try:
            return self._client.send(request, stream=True)
        except _HTTPX_ERRORS as exc:
            raise self._network_error(exc, url) from exc

    def _httpx_timeout(self) -> httpx.Timeout:
        """httpx's per-operation timeouts, none longer than the time left (the deadline backend then bounds
        every single read and write by what is left at that moment)."""
        deadline = current()
        return httpx.Timeout(self.timeout if deadline is None else deadline.clamp(self.timeout))

    # Fast path: GETs to the registry's own origin over pooled, kept-alive HTTP/1.1 connections.

    def _checkout(self, fresh: bool = False) -> tuple[_Connection, bool]:
        """An idle kept-alive connection (unless ``fresh``) or a new one; (connection, reused)."""
        while not fresh:
            with self._idle_lock:
                if self._closed:
                    raise NetworkError(f"registry {self.registry}: the client is closed")
                if not self._idle:
                    break
                conn = self._idle.pop()
            if _usable(conn):
                return conn, True
            conn.close()  # the server closed it (or sent something unasked) while it was idle
        with self._idle_lock:
            if self._closed:
                raise NetworkError(f"registry {self.registry}: the client is closed")
        deadline = current() or Deadline.after(self.timeout, "request")
        sock = _connect(*self._address, deadline)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not self.plain_http:
                # The handshake as a whole is bounded by the socket timeout set here.
                sock.settimeout(deadline.wait(f"TLS handshake with {self.registry}"))
                sock = _ssl_context().wrap_socket(sock, server_hostname=self._server_hostname)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock), False

    def _checkin(self, conn: _Connection) -> None:
        with self._idle_lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def _send_fast(self, url: str, headers: dict[str, str]) -> _Reply | None:
        """GET ``url`` on a pooled connection; None when httpx should send it instead: a redirect (httpx
        follows it, dropping credentials on a change of origin as before), a content coding we did not ask
        for, or a header value that cannot go on the wire as is. A reused connection the server closed
        meanwhile is replaced once; a timeout is never retried."""
        target = url[len(self.base_url) :]
        if _UNSAFE_IN_REQUEST.search(target) or any(
            _UNSAFE_IN_HEADER.search(v) for v in headers.values()
        ):
            return None
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {self._host_header}",
            f"User-Agent: {USER_AGENT}",
            "Accept-Encoding: identity",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        try:
            request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:
            return None
        deadline = current() or Deadline.after(self.timeout, "request")
        for attempt in (1, 2):
            conn: _Connection | None = None
            try:
                # The retry after a stale kept-alive connection always opens a new one.
                conn, reused = self._checkout(fresh=attempt == 2)
                try:
                    conn.sock.settimeout(deadline.wait(url))
                    conn.sock.sendall(request)
                    answer = _read_head(conn, url, deadline)
                except _STALE_ERRORS as exc:
                    conn.close()
                    if reused and attempt == 1:
                        continue
                    raise httpx.RemoteProtocolError(
                        "server closed the connection without answering"
                    ) from exc
                reply = _FastReply(self, conn, answer, url, deadline)
            except DeadlineExceeded:
                if conn is not None:
                    conn.close()
                raise
            except (OSError, ValueError, httpx.HTTPError) as exc:
                if conn is not None:
                    conn.close()
                error = exc if isinstance(exc, httpx.HTTPError) else _as_httpx_error(exc, url)
                raise self._network_error(error, url) from exc
            coding = answer.fields.get("content-encoding", "identity").strip().lower()
            if answer.status in _REDIRECTS or coding not in ("", "identity"):
                self._release(reply)
                return None
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _authenticate(self, challenge: Challenge | None, scope: str) -> None:
        if challenge is None:
            raise RegistryAuthError(
                f"registry {self.registry}: 401 without a readable Www-Authenticate"
            )
        if challenge.scheme == "basic":
            if self.credentials is None or self.credentials.identity_token:
                raise RegistryAuthError(
                    f"registry {self.registry} requires a username and password "
                    "(basic auth; none found in the docker config)"
                )
            self._require_safe_transport(self.base_url)
            self._auth["*"] = _basic_header(self.credentials)
            return
        if challenge.scheme != "bearer":
            raise RegistryAuthError(
                f"registry {self.registry}: unsupported auth scheme {challenge.scheme!r}"
            )
        realm = challenge.params.get("realm", "")
        if not realm:
            raise RegistryAuthError(f"registry {self.registry}: bearer challenge without a realm")
        try:
            realm = urljoin(self.base_url + "/", realm)
            urlsplit(realm).port  # noqa: B018 - raises ValueError for a port that is no number
        except ValueError:
            raise RegistryAuthError(
                f"registry {self.registry}: bearer challenge with an invalid realm {realm[:200]!r}"
            ) from None
        token = self._fetch_token(realm, challenge.params.get("service", ""), scope)
        # A long-lived (pooled) client sees many repositories: keep the most recent tokens only.
        with self._idle_lock:
            while len(self._auth) >= _MAX_TOKENS:
                self._auth.pop(next(iter(self._auth)), None)
            self._auth[scope] = "Bearer " + token

    def _require_safe_transport(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" and not is_loopback(parts.netloc):
            raise RegistryAuthError(
                f"registry {self.registry}: refusing to send credentials over plain http to {parts.netloc}"
            )

    def _fetch_token(self, realm: str, service: str, scope: str) -> str:
        parts = urlsplit(realm)
        if parts.scheme not in ("https", "http") or (
            parts.scheme == "http" and not self.plain_http
        ):
            raise RegistryAuthError(f"registry {self.registry}: token realm {realm!r} is not https")
        creds = self.credentials
        try:
            if creds is not None and creds.identity_token:
                self._require_safe_transport(realm)
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token,
                    "service": service,
                    "scope": scope,
                    "client_id": "verifier",
                }
                request = self._client.build_request(
                    "POST", realm, data=form, timeout=self._httpx_timeout()
                )
            else:
                params = {"scope": scope}
                if service:
                    params["service"] = service
                headers = {}
                if creds is not None:
                    self._require_safe_transport(realm)
                    headers["Authorization"] = _basic_header(creds)
                request = self._client.build_request(
                    "GET", realm, params=params, headers=headers, timeout=self._httpx_timeout()
                )
            resp = self._client.send(request, stream=True)
        except _HTTPX_ERRORS as exc:
            raise self._network_error(exc, realm) from exc
        try:
            if resp.status_code in (401, 403):
                raise RegistryAuthError(
                    f"registry {self.registry}: token server refused "
                    + ("our credentials" if creds else "anonymous access")
                    + f" for {scope}"
                )
            if resp.status_code != 200:
                raise RegistryAnswerError(
                    f"registry {self.registry}: token server answered HTTP {resp.status_code}",
                    resp.status_code,
                )
            body = self._read(resp, self.limits.token_bytes, f"token from {parts.netloc}")
        finally:
            resp.close()
        try:
            doc: Any = httpx.Response(200, content=body).json()
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json can follow
            raise RegistryAuthError(
                f"registry {self.registry}: token server answer is not JSON"
            ) from None
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(f"registry {self.registry}: token server answer has no token")
        if not _TOKEN_RE.match(token):
            raise RegistryAuthError(
                f"registry {self.registry}: token server answered a token with spaces, control or "
                "non-ASCII characters"
            )
        return token

    def _read(self, resp: _Reply, cap: int, what: str, exact: int | None = None) -> bytes:
        """Read a streamed body, refusing more than ``cap`` bytes (or more than ``exact``), within the
        request's deadline (each read waits only for the time left)."""
        declared = resp.headers.get("content-length")
        if declared is not None and declared.isdigit():
            n = int(declared)
            if exact is not None and n > exact and not resp.headers.get("content-encoding"):
                raise SizeMismatchError(what, exact, n, more=False)
            if n > cap:
                raise ContentTooLargeError(what, n, cap)
        limit = exact if exact is not None else cap
        deadline = current() or Deadline.after(self.timeout, "request")
        buf = bytearray()
        try:
            for chunk in resp.iter_bytes():
                buf += chunk
                if len(buf) > limit:
                    if exact is not None:
                        raise SizeMismatchError(what, exact, exact, more=True)
                    raise ContentTooLargeError(what, None, cap)
                if deadline.expired():
                    if deadline.label != "request":
                        raise DeadlineExceeded(f"registry {self.registry}: {what}", deadline)
                    raise NetworkError(
                        f"registry {self.registry}: {what} did not arrive within {self.timeout:g}s"
                    )
        except httpx.HTTPError as exc:
            raise self._network_error(exc, what) from exc
        return bytes(buf)

    # ----------------------------------------------------------------------------------------- API

    @staticmethod
    def _scope(repository: str) -> str:
        return f"repository:{repository}:pull"

    def get_manifest(
        self, repository: str, reference: str, expected_size: int | None = None
    ) -> Manifest:
        """GET a manifest by digest (verified against it) or by tag (digest computed from the bytes)."""
        by_digest = reference.startswith(("sha256:", "sha512:"))
        if by_digest:
            validate_digest(reference)
        what = (
            f"manifest {self.registry}/{repository}@{reference}"
            if by_digest
            else (f"manifest {self.registry}/{repository}:{reference}")
        )
        path = f"/v2/{repository}/manifests/{quote(reference, safe=':')}"
        with self._open("GET", path, self._scope(repository), MANIFEST_ACCEPT) as resp:
            if resp.status_code == 404:
                raise ManifestNotFoundError(f"{what}: not found")
            if resp.status_code != 200:
                raise RegistryAnswerError(
                    f"{what}: registry answered HTTP {resp.status_code}", resp.status_code
                )
            if expected_size is not None and expected_size > self.limits.manifest_bytes:
                raise ContentTooLargeError(what, expected_size, self.limits.manifest_bytes)
            body = self._read(resp, self.limits.manifest_bytes, what)
            content_type = resp.headers.get("content-type", "")
        if by_digest:
            verify_content(body, reference, what, expected_size)
            digest = reference
        else:
            digest = compute_digest(body)
        return parse_manifest(body, digest, content_type, what)

    def get_blob(self, repository: str, descriptor: Descriptor, what: str) -> bytes:
        """GET a blob, refusing oversize content and checking its size and digest against the descriptor."""
        if descriptor.size > self.limits.blob_bytes:
            raise ContentTooLargeError(what, descriptor.size, self.limits.blob_bytes)
        path = f"/v2/{repository}/blobs/{descriptor.digest}"
        with self._open("GET", path, self._scope(repository)) as resp:
            if resp.status_code == 404:
                raise BlobNotFoundError(
                    f"{what}: blob {descriptor.digest} not found in {self.registry}/{repository}"
                )
            if resp.status_code != 200:
                raise RegistryAnswerError(
                    f"{what}: registry answered HTTP {resp.status_code}", resp.status_code
                )
            body = self._read(resp, self.limits.blob_bytes, what, exact=descriptor.size)
        verify_content(body, descriptor.digest, what, descriptor.size)
        return body

    @property
    def referrers_unsupported(self) -> bool:
        """True while this registry is remembered as not implementing the referrers API."""
        return self._clock() < self._referrers_unsupported_until

    def _remember_referrers_unsupported(self) -> None:
        self._referrers_unsupported_until = self._clock() + REFERRERS_UNSUPPORTED_TTL

    def list_referrers(self, repository: str, digest: str) -> list[Descriptor] | None:
        """OCI 1.1 referrers API; None when the registry does not implement it (404 or not an index).

        An "unsupported" answer is remembered for ``REFERRERS_UNSUPPORTED_TTL`` seconds per client (one
        registry host), so a long-lived client does not ask again for every image.
        """
        validate_digest(digest)
        if self.referrers_unsupported:
            return None
        path: str | None = f"/v2/{repository}/referrers/{digest}"
        out: list[Descriptor] = []
        pages = 0
        while path is not None:
            pages += 1
            what = f"referrers of {self.registry}/{repository}@{digest}"
            with self._open(
                "GET", path, self._scope(repository), "application/vnd.oci.image.index.v1+json"
            ) as resp:
                if resp.status_code in (404, 405, 400) and pages == 1:
                    # Remembered only for a route the registry does not know (distribution 2.x: 404
                    # text/plain "404 page not found"); a JSON error such as NAME_UNKNOWN is about this
                    # repository, not the registry, and is asked again next time.
                    if resp.status_code != 400 and "json" not in resp.headers.get(
                        "content-type", ""
                    ):
                        self._remember_referrers_unsupported()
                    return None
                if resp.status_code != 200:
                    raise RegistryAnswerError(
                        f"{what}: registry answered HTTP {resp.status_code}", resp.status_code
                    )
                content_type = resp.headers.get("content-type", "")
                body = self._read(resp, self.limits.manifest_bytes, what)
                link = resp.headers.get("link", "")
            if pages == 1 and "json" not in content_type:
                # some registries answer 200 with an HTML page for unknown routes
                self._remember_referrers_unsupported()
                return None
            index = parse_manifest(body, compute_digest(body), content_type, what)
            if index.media_type not in INDEX_TYPES:
                raise InvalidManifestError(f"{what}: the referrers answer is not an index")
            out.extend(index.manifests)
            path = _next_link(link, self.base_url)
            if len(out) > self.limits.referrers or pages >= self.limits.referrer_pages:
                break
        return out

    def push_blob(self, repository: str, data: bytes) -> Descriptor:
        """Upload a blob (monolithic POST + PUT). Used by tests and the demo builder, not by verification."""
        digest = compute_digest(data)
        with self._open_write("POST", f"/v2/{repository}/blobs/uploads/", repository) as resp:
            if resp.status_code != 202:
                raise NetworkError(
                    f"push to {self.registry}/{repository}: upload start HTTP {resp.status_code}"
                )
            location = resp.headers["location"]
        url = urljoin(self.base_url + "/", location)
        sep = "&" if "?" in url else "?"
        with self._open_write(
            "PUT", f"{url}{sep}digest={digest}", repository, data, "application/octet-stream"
        ) as resp:
            if resp.status_code != 201:
                raise NetworkError(
                    f"push to {self.registry}/{repository}: blob upload HTTP {resp.status_code}"
                )
        return Descriptor(media_type="application/octet-stream", digest=digest, size=len(data))

    def push_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """PUT a manifest under a tag or its digest; returns the digest we computed."""
        path = f"/v2/{repository}/manifests/{reference}"
        with self._open_write("PUT", path, repository, data, media_type) as resp:
            if resp.status_code != 201:
                raise NetworkError(
                    f"push to {self.registry}/{repository}:{reference}: HTTP {resp.status_code} {resp.read()[:300]!r}"
                )
        return compute_digest(data)

    @contextmanager
    def _open_write(
        self,
        method: str,
        path_or_url: str,
        repository: str,
        data: bytes = b"",
        content_type: str = "",
    ) -> Iterator[httpx.Response]:
        scope = f"repository:{repository}:pull,push"
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        headers = {"Content-Type": content_type} if content_type else {}

        def send() -> httpx.Response:
            h = dict(headers)
            auth = self._auth.get(scope) or self._auth.get("*")
            if auth:
                h["Authorization"] = auth
            try:
                return self._client.request(
                    method, url, content=data, headers=h, timeout=self._httpx_timeout()
                )
            except _HTTPX_ERRORS as exc:
                raise self._network_error(exc, url) from exc

        with within(self.timeout, "request"):
            resp = send()
            if resp.status_code == 401:
                self._authenticate(parse_challenge(resp.headers.get("www-authenticate", "")), scope)
                resp = send()
            if resp.status_code == 401:
                raise RegistryAuthError(f"registry {self.registry}: push to {repository} denied")
            yield resp


def _next_link(link: str, base_url: str) -> str | None:
    """``<url>; rel="next"`` -> path and query on the same registry (other origins are not followed)."""
    m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    if not m:
        return None
    target: str = m.group(1)
    try:
        parts = urlsplit(urljoin(base_url + "/", target))
    except ValueError:
        raise InvalidManifestError(
            f"referrers answer: its Link header names an invalid URL {target[:200]!r}"
        ) from None
    base = urlsplit(base_url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


class RegistryStore:
    """One repository of a registry, as a ContentStore."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository

    @property
    def name(self) -> str:
        """``host/repository``."""
        return f"{self.client.registry}/{self.repository}"

    def get_manifest(self, digest: str, expected_size: int | None = None) -> Manifest:
        """Manifest by digest, verified."""
        return self.client.get_manifest(self.repository, digest, expected_size)

    def get_tagged_manifest(self, tag: str) -> Manifest | None:
        """Manifest by tag, or None when the tag does not exist."""
        try:
            return self.client.get_manifest(self.repository, tag)
        except ManifestNotFoundError:
            return None

    def get_blob(self, descriptor: Descriptor, what: str) -> bytes:
        """Blob by descriptor, verified."""
        return self.client.get_blob(self.repository, descriptor, what)

    def list_referrers(self, digest: str) -> list[Descriptor] | None:
        """OCI 1.1 referrers API (None = unsupported)."""
        return self.client.list_referrers(self.repository, digest)


class RegistryPool:
    """Long-lived :class:`RegistryClient` s shared by many lookups (the webhook), one per registry host and
    credentials: connections are kept alive, bearer tokens and the referrers-API memo are reused.

    Each client keeps the per-request ``timeout``, the ``limits`` and the transport rules of a fresh one
    (credentials never over plain http to a non-loopback host). Clients are thread-safe. When a registry's
    credentials change (a rotated docker config), the next lookup gets a new client; the old one is closed
    with the pool (lookups may still be using it). ``max_clients`` bounds the number of live clients.

    Example::

        pool = RegistryPool(timeout=5.0)
        client = pool.client("ghcr.io", credentials=None)
        ...
        pool.close()
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        limits: Limits = DEFAULT_LIMITS,
        insecure: bool = False,
        max_connections: int = 100,
        max_clients: int = 64,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.limits = limits
        self.insecure = insecure
        self.max_connections = max_connections
        self.max_clients = max_clients
        self._transport = transport
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[Credentials | None, RegistryClient]] = {}
        self._retired: list[RegistryClient] = []
        self._closed = False

    def __len__(self) -> int:
        return len(self._clients)

    def client(self, registry: str, credentials: Credentials | None) -> RegistryClient:
        """The shared client for ``registry`` with these credentials (created on first use)."""
        with self._lock:
            if self._closed:
                raise NetworkError(f"registry {registry}: the registry client pool is closed")
            entry = self._clients.get(registry)
            if entry is not None and entry[0] == credentials:
                return entry[1]
            if entry is not None:
                self._retired.append(self._clients.pop(registry)[1])
            while len(self._clients) >= self.max_clients:
                oldest = next(iter(self._clients))
                self._retired.append(self._clients.pop(oldest)[1])
            client = RegistryClient(
                registry,
                credentials=credentials,
                timeout=self.timeout,
                limits=self.limits,
                insecure=self.insecure,
                transport=self._transport,
                max_connections=self.max_connections,
                clock=self._clock,
            )
            self._clients[registry] = (credentials, client)
            # Retired clients may still serve a running lookup; keep only a few, close the oldest.
            while len(self._retired) > 8:
                self._retired.pop(0).close()
            return client

    def close(self) -> None:
        """Close every client (running lookups then fail with a network error, i.e. deny)."""
        with self._lock:
            self._closed = True
            clients = [c for _, c in self._clients.values()] + self._retired
            self._clients.clear()
            self._retired = []
        for client in clients:
            client.close()


__all__ = [
    "DigestMismatchError",
    "RegistryClient",
    "RegistryPool",
    "RegistryRef",
    "RegistryStore",
    "parse_registry_ref",
]
