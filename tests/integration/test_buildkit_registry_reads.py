"""BuildKit attestation manifests of an image index are read concurrently from a registry, under the caller's
deadline, and the result is the same as reading them one after another.

The index is docker-attest's real ``unsigned-index`` (buildx ``--provenance mode=max`` for two platforms: two
attestation manifests), served by the local Debian docker-registry; the stalled registry is the fault proxy
in front of it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import (  # noqa: F401 - fixtures used by name
    LocalRegistry,
    registry,
)
from tests.integration.fault_proxy import FaultProxy
from tests.unit.checks.provenance_cases import PROV
from verifier.sources.deadline import Deadline, DeadlineExceeded, within
from verifier.sources.oci_common import DEFAULT_LIMITS, Manifest
from verifier.sources.oci_registry import RegistryClient, RegistryStore
from verifier.sources.provenance import (
    ATTESTATION_MANIFEST,
    REFERENCE_TYPE,
    buildkit_for_image,
    buildkit_items,
)

pytestmark = pytest.mark.registry

LAYOUT = PROV / "docker-attest" / "test" / "testdata" / "unsigned-index"
# Far longer than two reads of a local registry take, so that reaching it means the reads did not overlap.
BARRIER_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def served(registry: LocalRegistry) -> tuple[str, str]:
    """(repository, index digest) of the layout written into the registry's storage."""
    repo = registry.new_repo("kit")
    base = registry.root / "docker" / "registry" / "v2" / "repositories" / repo
    for blob in sorted((LAYOUT / "blobs" / "sha256").iterdir()):
        digest = registry.write_blob(blob.read_bytes())
        link = base / "_layers" / "sha256" / digest[7:] / "link"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(digest)
    [entry] = json.loads((LAYOUT / "index.json").read_text())["manifests"]
    registry.link_tag(repo, "test", entry["digest"])
    children = json.loads((LAYOUT / "blobs" / "sha256" / entry["digest"][7:]).read_bytes())
    for child in children["manifests"]:
        registry.link_tag(repo, "c-" + child["digest"][7:19], child["digest"])
    return repo, str(entry["digest"])


class MeetingStore(RegistryStore):
    """The real registry store; each attestation-manifest read first waits until ``parties`` reads are under
    way at once. Reads one after another never get there: the barrier breaks and the read fails."""

    def __init__(self, client: RegistryClient, repo: str, attestations: set[str], parties: int):
        super().__init__(client, repo)
        self.attestations = attestations
        self.barrier = threading.Barrier(parties, timeout=BARRIER_TIMEOUT)
        self.threads: set[str] = set()

    def get_manifest(self, digest: str, expected_size: int | None = None) -> Manifest:
        if digest in self.attestations:
            self.threads.add(threading.current_thread().name)
            self.barrier.wait()
        return super().get_manifest(digest, expected_size)


def _read(store: RegistryStore, index: Manifest, parallel: bool) -> tuple[Any, ...]:
    other: list[str] = []
    problems: list[str] = []
    items, platforms = buildkit_items(
        store, index, DEFAULT_LIMITS, other, problems, parallel=parallel
    )
    return [(i.where, i.digest, i.data, i.refers_to) for i in items], platforms, other, problems


def test_attestation_manifests_are_read_concurrently_with_the_sequential_result(
    registry: LocalRegistry, served: tuple[str, str]
) -> None:
    repo, index_digest = served
    plain = RegistryStore(registry.client(), repo)
    index = plain.get_manifest(index_digest)
    attestations = {
        d.digest
        for d in index.manifests
        if d.annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST
    }
    assert len(attestations) == 2

    meeting = MeetingStore(registry.client(), repo, attestations, parties=len(attestations))
    concurrent = _read(meeting, index, parallel=True)
    assert len(meeting.threads) == 2  # two threads were inside a read at the same time
    sequential = _read(plain, index, parallel=False)
    assert concurrent == sequential
    items, platforms, other, problems = concurrent
    assert len(items) == 2 and len(platforms) == 2 and problems == []
    assert len(other) == 2  # the SPDX statements of mode=max, listed and not read

    # Sequential reads cannot meet: the control shows the barrier does detect them.
    lonely = MeetingStore(registry.client(), repo, attestations, parties=2)
    lonely.barrier = threading.Barrier(2, timeout=0.5)
    with pytest.raises(threading.BrokenBarrierError):
        _read(lonely, index, parallel=False)


def test_buildkit_for_image_reads_the_same_through_the_pipeline_entry(
    registry: LocalRegistry, served: tuple[str, str]
) -> None:
    repo, index_digest = served
    kit = buildkit_for_image(registry.ref(repo, index_digest), index_digest, timeout=10)
    assert len(kit.items) == 2 and len(kit.platforms) == 2 and kit.problems == ()
    assert {i.refers_to for i in kit.items} == set(kit.platforms)


@pytest.fixture
def stalled(registry: LocalRegistry) -> Iterator[FaultProxy]:
    host, port = registry.host.rsplit(":", 1)
    with FaultProxy((host, int(port)), mode="stall") as proxy:
        yield proxy


def test_a_stalled_registry_ends_the_concurrent_reads_at_the_callers_deadline(
    registry: LocalRegistry, served: tuple[str, str], stalled: FaultProxy
) -> None:
    """The index is read directly; every attestation-manifest read goes to a registry that never answers.
    The concurrent reads end with DeadlineExceeded (exit 3), naming the caller's deadline, instead of
    waiting for the pool."""
    repo, index_digest = served
    index = RegistryStore(registry.client(), repo).get_manifest(index_digest)
    with (
        RegistryClient(stalled.host, credentials=registry.credentials, timeout=60.0) as client,
        within(Deadline.after(2.0, "the test's deadline")),
        pytest.raises(DeadlineExceeded, match="the test's deadline"),
    ):
        _read(RegistryStore(client, repo), index, parallel=True)
    assert stalled.accepted >= 1  # the stalled registry was really asked


def test_buildkit_for_image_is_bounded_by_its_timeout(
    registry: LocalRegistry, served: tuple[str, str], stalled: FaultProxy
) -> None:
    """The whole call is bounded by ``timeout`` and ends as collect_image_evidence's does: DeadlineExceeded
    naming ``--timeout`` (exit 3, could not evaluate)."""
    repo, index_digest = served
    with pytest.raises(DeadlineExceeded, match="the --timeout deadline"):
        buildkit_for_image(f"{stalled.host}/{repo}@{index_digest}", index_digest, timeout=2.0)
    assert stalled.accepted >= 1
