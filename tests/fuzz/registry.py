"""A registry that answers what the fuzzer tells it to: a real HTTP/1.1 server on 127.0.0.1, scripted per path.

Why not the real ``docker-registry``: it refuses malformed manifests at push time and always answers
well-formed HTTP, so it cannot send what a hostile or broken registry sends (a manifest that does not hash
to its digest, a wrong ``Content-Type``, a lying ``Content-Length``, a garbage ``WWW-Authenticate``, a
redirect loop, an answer cut in the middle). This server is a real socket (the registry client's own
connection pool, llhttp parser and deadlines are exercised), and every answer starts as what a real
registry (distribution 2.x) would send for the demo image ``fixtures/demo/throwaway-key``: its legacy
``.sig``/``.att`` tags, its two Sigstore bundle referrers (tag-schema index; the referrers API answered 404
``text/plain`` like distribution 2.x), all signed with the throwaway key. A second image, :data:`UNSIGNED`,
has no signature at all.

Example::

    with ScriptedRegistry() as registry:
        registry.routes = base_routes(registry.host) | {"/v2/acme/app/manifests/latest": Answer(500)}
        collect_image_evidence(f"{registry.host}/acme/app:latest", timeout=2)
"""

from __future__ import annotations

import hashlib
import json
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = "acme/app"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
LAYOUT = FIXTURES / "throwaway-key"
PUBLIC_KEY = FIXTURES / "keys" / "throwaway-cosign.pub"
MAX_REQUEST_HEAD = 64 * 1024
TOKEN_PATH = "/token"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tag(digest: str, suffix: str = "") -> str:
    return digest.replace(":", "-", 1) + suffix


_INDEX = json.loads((LAYOUT / "index.json").read_bytes())
SIGNED = next(
    m["digest"]
    for m in _INDEX["manifests"]
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest"
)
# An image of its own (the signed image's manifest with one annotation more): nothing signs it.
_signed_manifest = json.loads((LAYOUT / "blobs" / "sha256" / SIGNED.split(":")[1]).read_bytes())
UNSIGNED_MANIFEST = json.dumps(
    {**_signed_manifest, "annotations": {"org.example.unsigned": "yes"}},
    separators=(",", ":"),
    sort_keys=True,
).encode()
UNSIGNED = _digest(UNSIGNED_MANIFEST)


@dataclass
class Answer:
    """One scripted answer. ``raw`` is sent as is instead of status, headers and body (malformed HTTP);
    ``cut`` sends only that many bytes of the answer, then closes; ``stall`` waits that long before
    answering; ``close`` closes the connection after the answer."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw: bytes | None = None
    cut: int | None = None
    stall: float = 0.0
    close: bool = False

    def wire(self) -> bytes:
        """The answer as bytes on the connection."""
        if self.raw is not None:
            return self.raw
        lines = [f"HTTP/1.1 {self.status} X"]
        names = {name.lower() for name, _ in self.headers}
        if "content-length" not in names and "transfer-encoding" not in names:
            lines.append(f"Content-Length: {len(self.body)}")
        lines += [f"{name}: {value}" for name, value in self.headers]
        head = "\r\n".join(lines).encode("latin-1", "backslashreplace") + b"\r\n\r\n"
        return head + self.body


def content(media_type: str, body: bytes, *, digest: bool = True) -> Answer:
    """A 200 with ``body`` as distribution sends it (``Docker-Content-Digest`` included)."""
    headers = [("Content-Type", media_type)]
    if digest:
        headers.append(("Docker-Content-Digest", _digest(body)))
    return Answer(200, headers, body)


INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
NOT_FOUND_ROUTE = Answer(
    404, [("Content-Type", "text/plain; charset=utf-8")], b"404 page not found\n"
)
_UNKNOWN_MANIFEST = json.dumps(
    {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
).encode()
NOT_FOUND_MANIFEST = Answer(404, [("Content-Type", "application/json")], _UNKNOWN_MANIFEST)


def base_routes() -> dict[str, Answer]:
    """What distribution 2.x answers for the demo layout pushed to ``acme/app`` plus :data:`UNSIGNED`."""
    routes: dict[str, Answer] = {"/v2/": content("application/json", b"{}", digest=False)}
    blobs = LAYOUT / "blobs" / "sha256"
    for path in blobs.iterdir():
        data = path.read_bytes()
        digest = f"sha256:{path.name}"
        routes[f"/v2/{REPO}/blobs/{digest}"] = content("application/octet-stream", data)
        try:
            doc = json.loads(data)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("schemaVersion") == 2 and "mediaType" in doc:
            routes[f"/v2/{REPO}/manifests/{digest}"] = content(doc["mediaType"], data)
    for entry in _INDEX["manifests"]:
        name = entry.get("annotations", {}).get("org.opencontainers.image.ref.name")
        if name:
            routes[f"/v2/{REPO}/manifests/{name}"] = routes[
                f"/v2/{REPO}/manifests/{entry['digest']}"
            ]
    unsigned = content("application/vnd.oci.image.manifest.v1+json", UNSIGNED_MANIFEST)
    routes[f"/v2/{REPO}/manifests/{UNSIGNED}"] = unsigned
    routes[f"/v2/{REPO}/manifests/unsigned"] = unsigned
    return routes


# The paths a signature lookup of ``digest`` reads (besides manifests and blobs named by descriptors).
def lookup_paths(digest: str) -> dict[str, str]:
    """name -> path of the ``.sig``, ``.att``, referrers-API and referrers-tag lookups of ``digest``."""
    return {
        "sig": f"/v2/{REPO}/manifests/{_tag(digest, '.sig')}",
        "att": f"/v2/{REPO}/manifests/{_tag(digest, '.att')}",
        "referrers": f"/v2/{REPO}/referrers/{digest}",
        "referrers-tag": f"/v2/{REPO}/manifests/{_tag(digest)}",
    }


class ScriptedRegistry:
    """The server (a thread per connection, keep-alive) answering from :attr:`routes` by path (query
    ignored); a path without a route gets distribution's 404 ``MANIFEST_UNKNOWN`` (manifests) or its
    ``text/plain`` 404 (anything else). :attr:`served` records every path asked and the bytes sent."""

    def __init__(self) -> None:
        self.routes: dict[str, Answer] = base_routes()
        # When set: every request without an Authorization header gets this answer (a 401 challenge),
        # except the token route.
        self.challenge: Answer | None = None
        self.served: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        registry = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                registry._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="scripted-registry", daemon=True
        )

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT`` (a loopback registry: plain http)."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> ScriptedRegistry:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def reset(self, routes: dict[str, Answer], challenge: Answer | None = None) -> None:
        """Answer from ``routes`` (and ``challenge``) from now on; forget what was served."""
        with self._lock:
            self.routes = routes
            self.challenge = challenge
            self.served = []

    def answer_for(self, path: str, authorized: bool = True) -> Answer:
        """The scripted answer for ``path`` (without its query)."""
        with self._lock:
            if self.challenge is not None and not authorized and path != TOKEN_PATH:
                return self.challenge
            answer = self.routes.get(path)
        if answer is not None:
            return answer
        return NOT_FOUND_MANIFEST if "/manifests/" in path else NOT_FOUND_ROUTE

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data or len(buffer) > MAX_REQUEST_HEAD:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                length = 0
                authorized = False
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length" and value.strip().isdigit():
                        length = int(value.strip())
                    authorized = authorized or name == "authorization"
                while len(buffer) < length:  # a token request's form body
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer[length:]
                path = parts[1].split("?", 1)[0] if len(parts) > 1 else ""
                answer = self.answer_for(path, authorized)
                wire = answer.wire()
                if answer.cut is not None:
                    wire = wire[: answer.cut]
                with self._lock:
                    self.served.append((path, wire))
                if answer.stall:
                    time.sleep(answer.stall)
                sock.sendall(wire)
                if answer.close or answer.cut is not None or answer.raw is not None:
                    return
        except OSError:
            return
