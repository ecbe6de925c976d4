"""Collect the evidence about one container image: its digest and everything that claims to sign it.

``collect_image_evidence(ref)`` accepts

- ``oci-layout:PATH[@sha256:…]`` or ``oci-layout:PATH:TAG``: an OCI image-layout directory (no network);
- ``host[:port]/repo@sha256:…`` or ``host[:port]/repo:tag``: a registry (a tag is resolved to a digest once,
  by hashing the manifest it points to; only that digest is used afterwards).

and returns ``ImageEvidence`` with the legacy cosign ``.sig``/``.att`` layers and the Sigstore bundles found
as OCI 1.1 referrers (API, else the ``sha256-<hex>`` tag-schema index), all re-hashed against their digests.
Nothing is verified cryptographically here; that is ``verifier.sigstore``'s job.

Example::

    ev = collect_image_evidence("oci-layout:fixtures/demo/keyless-real")
    ev.digest, len(ev.signatures)

Errors: a malformed reference or layout → ``InputError`` (exit 2); registry down, answering with an error or
running past the deadline → ``NetworkError`` (``RegistryAnswerError``, ``DeadlineExceeded``; exit 3); altered,
truncated or oversized content → ``DigestMismatchError`` / ``SizeMismatchError`` / ``ContentTooLargeError``
(``SourceError``, exit 3).

All registry work of one call runs under one deadline (``timeout`` seconds, or ``deadline``, or the deadline of
the caller's context when that is earlier: :mod:`verifier.sources.deadline`); a dripping or stalled registry
cannot make it last longer.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.models.evidence import ImageEvidence
from verifier.sources.deadline import DEFAULT_DEADLINE_SECONDS, Deadline, within
from verifier.sources.docker_config import load_credentials
from verifier.sources.oci_common import (
    DEFAULT_LIMITS,
    ContentStore,
    InvalidReferenceError,
    Limits,
    collect_all,
    validate_digest,
)
from verifier.sources.oci_layout import OciLayout

# The registry client (httpx, ~80 ms to import) is loaded only when a registry is used.
if TYPE_CHECKING:
    from verifier.sources.oci_registry import RegistryClient, RegistryPool

OCI_LAYOUT_PREFIX = "oci-layout:"
_TAG_RE = re.compile(r"\A[\w][\w.-]{0,127}\Z")


def parse_layout_ref(ref: str) -> tuple[Path, str, str]:
    """``oci-layout:PATH[@digest]`` or ``oci-layout:PATH:TAG`` -> (path, digest, tag)."""
    rest = ref[len(OCI_LAYOUT_PREFIX) :]
    if not rest:
        raise InvalidReferenceError(
            ref, "oci-layout: needs a directory (oci-layout:PATH[@sha256:…])"
        )
    digest = ""
    at = rest.rfind("@")
    if at != -1 and rest[at + 1 :].startswith(("sha256:", "sha512:")):
        rest, digest = rest[:at], rest[at + 1 :]
        validate_digest(digest, ref)
    tag = ""
    if not digest and not Path(rest).is_dir() and ":" in rest:
        head, _, candidate = rest.rpartition(":")
        if _TAG_RE.match(candidate) and Path(head).is_dir():
            rest, tag = head, candidate
    return Path(rest), digest, tag


def _evidence(
    ref: str,
    digest: str,
    media_type: str,
    store: ContentStore,
    source: str,
    limits: Limits,
    signature_repo: str,
    attestations: bool,
    parallel: bool,
    references: tuple[str, ...],
) -> ImageEvidence:
    # A registry answers the three lookups (.sig, .att, referrers) concurrently; a layout is read in order.
    found = collect_all(
        store,
        digest,
        limits,
        parallel=parallel and not isinstance(store, OciLayout),
        attestations=attestations,
        references=references,
    )
    return ImageEvidence(
        ref=ref,
        digest=digest,
        media_type=media_type,
        source=source,
        signature_repo=signature_repo,
        signatures=tuple(found.signatures),
        attestations=tuple(found.attestations),
        referrers=tuple(found.referrers),
        other_referrers=tuple(found.other_referrers),
        problems=tuple(found.problems),
    )


def collect_image_evidence(
    ref: str,
    *,
    docker_config: Path | None = None,
    signature_repo: str | None = None,
    timeout: float = DEFAULT_DEADLINE_SECONDS,
    deadline: Deadline | None = None,
    limits: Limits = DEFAULT_LIMITS,
    insecure: bool = False,
    pool: RegistryPool | None = None,
    attestations: bool = True,
    fetch_pinned: bool = True,
    parallel: bool = True,
) -> ImageEvidence:
    """Resolve ``ref`` to one manifest digest and collect its signatures, attestations and referrers.

    ``signature_repo`` (like cosign's ``COSIGN_REPOSITORY``) looks signatures up in another repository
    (``host/repo``) or layout (``oci-layout:PATH``) instead of next to the image. ``insecure`` allows plain
    http to non-loopback registries.

    ``timeout`` is the deadline of the whole call's registry work (every connect, handshake and read; each
    request is also bounded by it), ``deadline`` an explicit one that replaces it (e.g. a command's, shared
    by several calls); either way an earlier deadline of the caller's context wins. When it runs out,
    :class:`~verifier.sources.deadline.DeadlineExceeded` is raised (exit 3).

    ``pool`` (a long-lived process, e.g. the webhook) takes the registry clients from a
    :class:`~verifier.sources.oci_registry.RegistryPool` (kept-alive connections, reused tokens, the
    referrers-API memo) instead of opening and closing them for this one call; its own per-request timeout,
    limits and ``insecure`` then apply, and ``timeout`` is not used: the call runs under ``deadline`` or the
    caller's (the webhook's lookup deadline). ``attestations=False`` skips the cosign ``.att`` tag (``attestations`` of the
    evidence stays empty): for callers whose checks read no attestation layers.

    ``fetch_pinned=False`` does not fetch the image manifest of a registry reference that already names a
    digest: the signatures are looked up by that digest either way and bind it, so the manifest adds only
    its media type (left empty) and a check that the image exists (its pull fails later if it does not).
    A tag is always resolved by fetching and hashing its manifest. ``parallel=False`` runs the ``.sig`` /
    ``.att`` / referrers lookups one after another (callers that already verify many images at once).
    """
    with ExitStack() as stack:
        if deadline is not None:
            stack.enter_context(within(deadline))
        elif pool is None:
            stack.enter_context(within(timeout, "--timeout"))
        clients: dict[str, RegistryClient] = {}

        def client_for(registry: str) -> RegistryClient:
            from verifier.sources.oci_registry import RegistryClient

            if registry not in clients:
                creds = load_credentials(registry, docker_config)
                if pool is not None:
                    clients[registry] = pool.client(registry, creds)
                    return clients[registry]
                clients[registry] = stack.enter_context(
                    RegistryClient(
                        registry,
                        credentials=creds,
                        timeout=timeout,
                        limits=limits,
                        insecure=insecure,
                    )
                )
            return clients[registry]

        image_store: ContentStore
        references: tuple[str, ...] = ()
        if ref.startswith(OCI_LAYOUT_PREFIX):
            path, digest, tag = parse_layout_ref(ref)
            layout = OciLayout(path, limits)
            image = layout.select_image(digest=digest, tag=tag)
            image_store, source = layout, "oci-layout"
            digest, media_type = image.digest, image.media_type
        else:
            from verifier.sources.oci_registry import RegistryStore, parse_registry_ref

            parsed = parse_registry_ref(ref)
            store = RegistryStore(client_for(parsed.registry), parsed.repository)
            image_store, source = store, "registry"
            references = cosign_references(parsed.registry, parsed.repository)
            # Resolve once: a tag is dereferenced here, and only the digest is used from now on.
            if parsed.digest and not fetch_pinned:
                digest, media_type = parsed.digest, ""
            else:
                image = (
                    store.get_manifest(parsed.digest)
                    if parsed.digest
                    else store.client.get_manifest(parsed.repository, parsed.tag)
                )
                digest, media_type = image.digest, image.media_type

        sig_store: ContentStore = image_store
        if signature_repo:
            if signature_repo.startswith(OCI_LAYOUT_PREFIX):
                sig_path, _, _ = parse_layout_ref(signature_repo)
                sig_store = OciLayout(sig_path, limits)
            else:
                from verifier.sources.oci_registry import RegistryStore, parse_registry_ref

                target = parse_registry_ref(signature_repo, allow_bare=True)
                if target.tag or target.digest:
                    raise InvalidReferenceError(
                        signature_repo,
                        "a signature repository is host/repo, without a tag or digest",
                    )
                sig_store = RegistryStore(client_for(target.registry), target.repository)
        return _evidence(
            ref,
            digest,
            media_type,
            sig_store,
            source,
            limits,
            signature_repo or "",
            attestations,
            parallel,
            references,
        )


def cosign_references(registry: str, repository: str) -> tuple[str, ...]:
    """The docker-reference values cosign signs for an image in ``registry/repository``: its repository name
    as go-containerregistry spells it (Docker Hub is ``index.docker.io``), and the name as written."""
    from verifier.sources.oci_registry import DOCKER_HUB

    if registry == DOCKER_HUB:
        return (f"index.docker.io/{repository}", f"{registry}/{repository}")
    return (f"{registry}/{repository}",)


__all__ = ["OCI_LAYOUT_PREFIX", "collect_image_evidence", "cosign_references", "parse_layout_ref"]
