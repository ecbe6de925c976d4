"""One canonical spelling of a container image reference, for every matcher (rules, caches, config, audit).

The grammar is distribution/reference's (the parser the kubelet and containerd use, through
``ParseNormalizedNamed``): ``[host[:port]/]path[:tag][@algorithm:hex]``, a first component that has no
``.`` or ``:``, is not ``localhost`` and has no upper-case letter is a Docker Hub namespace, and path
components are lower-case. On top of that grammar, :func:`parse_reference` canonicalises what
distribution/reference leaves as written but the kubelet pulls from the same place:

- the host is lower-cased (DNS names are case-insensitive): ``GHCR.IO`` -> ``ghcr.io``;
- the default HTTPS port is dropped: ``ghcr.io:443`` -> ``ghcr.io``;
- Docker Hub's other names become ``docker.io``: ``index.docker.io``, ``registry-1.docker.io``;
- official Docker Hub images get ``library/``: ``nginx`` -> ``docker.io/library/nginx``.

A host that distribution/reference recognises only by its upper-case letters (``Foo/bar`` is host ``Foo``)
keeps an explicit ``:443`` (``foo:443/bar``), so that the canonical text never reads as a Docker Hub
name: parsing a canonical reference again gives the same reference.

Example::

    ref = parse_reference("GHCR.IO:443/acme/app:v1@sha256:" + "a" * 64)
    ref.name    # "ghcr.io/acme/app"
    ref.pinned  # "ghcr.io/acme/app@sha256:aaa…"

Digests are checked as well as parsed: ``sha256`` with 64 and ``sha512`` with 128 lower-case hex digits
(the algorithms the registry client can re-hash; any other algorithm is refused rather than trusted).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from verifier.errors import InputError

DOCKER_HUB = "docker.io"
# Docker Hub's legacy index name (distribution/reference normalize.go ``legacyDefaultDomain``) and the
# host its registry API actually answers on: both are the same registry as ``docker.io``.
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
OFFICIAL_PREFIX = "library/"
DEFAULT_PORT = ":443"
# distribution/reference reference.go ``RepositoryNameTotalLengthMax`` (applies to the path).
MAX_PATH_LENGTH = 255
MAX_REFERENCE_LENGTH = 4096

# The grammar of distribution/reference (its README), written out with Python regular expressions.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_PATH = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_HOST_RE = re.compile(rf"{_HOST}(?::[0-9]+)?", re.ASCII)
_REMAINDER_RE = re.compile(
    rf"(?P<path>{_PATH})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?", re.ASCII
)
_PATH_RE = re.compile(_PATH, re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}", re.ASCII)
# The digests we can verify: algorithm -> number of lower-case hex digits.
DIGEST_LENGTHS = {"sha256": 64, "sha512": 128}
_GLOB_CHARS = frozenset("*?[")


class ImageReferenceError(InputError):
    """The text is not a valid image reference (``path`` is the text, ``problem`` says why)."""


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed, canonical image reference. ``host/path`` is the repository; ``tag`` and ``digest`` may be
    empty. When both are given the digest is what is pulled (the tag is kept for messages)."""

    host: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """``host/path``: the repository, the string that rule patterns are matched against."""
        return f"{self.host}/{self.path}"

    @property
    def pinned(self) -> str:
        """``host/path@digest``, or "" when the reference has no digest."""
        return f"{self.name}@{self.digest}" if self.digest else ""

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _looks_like_host(host: str) -> bool:
    """True when distribution/reference reads a lower-case first component as a host, not a namespace."""
    return host == "localhost" or "." in host or ":" in host


def canonical_host(host: str) -> str:
    """``host[:port]`` lower-cased, ``:443`` dropped, Docker Hub's aliases as ``docker.io``.

    A host that would read as a Docker Hub namespace once lower-cased keeps (or gets) ``:443``.
    """
    host = host.lower()
    if host.endswith(DEFAULT_PORT) and _looks_like_host(host[: -len(DEFAULT_PORT)]):
        host = host[: -len(DEFAULT_PORT)]
    if host in DOCKER_HUB_ALIASES:
        return DOCKER_HUB
    if not _looks_like_host(host):
        host += DEFAULT_PORT
    return host


def _split_host(text: str) -> tuple[str, str]:
    """(host as written, remainder), as distribution/reference's ``splitDockerDomain`` decides."""
    first, sep, rest = text.partition("/")
    if not sep:
        return DOCKER_HUB, OFFICIAL_PREFIX + text
    if first == "localhost" or "." in first or ":" in first or first.lower() != first:
        return first, rest
    return DOCKER_HUB, text


def validate_digest(digest: str, where: str) -> str:
    """``digest`` when it is ``sha256:<64 hex>`` or ``sha512:<128 hex>`` (lower-case), else raise."""
    algorithm, _, hex_part = digest.partition(":")
    want = DIGEST_LENGTHS.get(algorithm)
    if want is None:
        raise ImageReferenceError(
            where,
            f"digest algorithm {algorithm!r} is not supported (use {' or '.join(DIGEST_LENGTHS)})",
        )
    if len(hex_part) != want or not all(c in "0123456789abcdef" for c in hex_part):
        raise ImageReferenceError(
            where, f"not a valid digest: {digest!r} (want {algorithm}:<{want} lower-case hex>)"
        )
    return digest


@functools.lru_cache(maxsize=4096)
def parse_reference(text: str) -> ImageReference:
    """Parse and canonicalise an image reference; :class:`ImageReferenceError` when it is not one.

    A reference with neither tag nor digest is valid (a repository); callers that need one check it.
    """
    if not text:
        raise ImageReferenceError("image reference", "is empty")
    if len(text) > MAX_REFERENCE_LENGTH:
        raise ImageReferenceError(text[:64] + "…", f"longer than {MAX_REFERENCE_LENGTH} characters")
    if _IDENTIFIER_RE.fullmatch(text):
        raise ImageReferenceError(text, "a 64-hex-digit name is an image id, not a repository name")
    host, remainder = _split_host(text)
    if not _HOST_RE.fullmatch(host):
        raise ImageReferenceError(text, f"not a valid registry host: {host!r}")
    match = _REMAINDER_RE.fullmatch(remainder)
    if match is None:
        path = remainder.split("@", 1)[0].split(":", 1)[0]
        if path.lower() != path and _PATH_RE.fullmatch(path.lower()):
            raise ImageReferenceError(text, f"repository name must be lower-case: {path!r}")
        raise ImageReferenceError(
            text,
            "not a valid image reference (want [host[:port]/]path[:tag][@sha256:<hex>]; path "
            "components are lower-case letters and digits separated by '.', '_', '__' or '-')",
        )
    path, tag, digest = match.group("path"), match.group("tag") or "", match.group("digest") or ""
    if len(path) > MAX_PATH_LENGTH:
        raise ImageReferenceError(
            text, f"repository name is longer than {MAX_PATH_LENGTH} characters"
        )
    if digest:
        validate_digest(digest, text)
    host = canonical_host(host)
    if host == DOCKER_HUB and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return ImageReference(host, path, tag, digest)


@functools.lru_cache(maxsize=1024)
def canonical_pattern(pattern: str) -> str:
    """A repository pattern (``fnmatch`` style, ``*`` also matches ``/``) in the canonical spelling.

    A pattern without wildcards is parsed as a repository name (``nginx`` -> ``docker.io/library/nginx``,
    ``GHCR.IO:443/acme/app`` -> ``ghcr.io/acme/app``). In a pattern with wildcards only a literal host is
    canonicalised (``GHCR.IO/acme/*`` -> ``ghcr.io/acme/*``, ``index.docker.io/library/*`` ->
    ``docker.io/library/*``) and a literal Docker Hub namespace gets ``docker.io/`` (``acme/*`` ->
    ``docker.io/acme/*``); a pattern that starts with a wildcard is left as written.
    """
    if not any(c in _GLOB_CHARS for c in pattern):
        try:
            ref = parse_reference(pattern)
        except ImageReferenceError:
            return pattern
        return ref.name if not ref.tag and not ref.digest else pattern
    first, sep, rest = pattern.partition("/")
    if not sep or any(c in _GLOB_CHARS for c in first):
        return pattern
    host, remainder = _split_host(pattern)
    if host == DOCKER_HUB and remainder == pattern:
        return f"{DOCKER_HUB}/{pattern}"
    return f"{canonical_host(host)}/{rest}"


__all__ = [
    "DOCKER_HUB",
    "ImageReference",
    "ImageReferenceError",
    "canonical_host",
    "canonical_pattern",
    "parse_reference",
    "validate_digest",
]
