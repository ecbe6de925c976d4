"""Evidence collection speed: OCI layout vs the local registry, against a bare-httpx baseline.

    python bench/bench_registry.py [--runs 300]

Starts the Debian docker-registry on 127.0.0.1 (as the integration fixtures do), pushes the demo layout
`fixtures/demo/throwaway-key` (image + .sig + .att + 2 referrers + tag-schema index) into it, then times
`collect_image_evidence` per image:

- layout: `oci-layout:fixtures/demo/keyless-real` and `…/throwaway-key`;
- registry by digest and by tag (a new client, so a new connection, per collection: the "cold" path);
- a remote registry simulated by adding a 20 ms delay before each request to the local one: the three
  lookups (.sig, .att, referrers) sequential vs parallel (the default for registries); the ratio is
  parallel / sequential. Then the webhook's lookups there (shared client, no .att) for a cosign-signed image
  whose payload is known from its digest (1 round trip) and one whose payload has annotations (2);
- baseline ("peer"): a bare httpx client issuing the same GET requests in the same order on one
  connection, without hashing, parsing or limits: the floor any Registry v2 client pays. The ratio
  verifier / baseline is the cost of our checks plus the connection setup.

No cosign or other collector runs here; verification itself is benchmarked by the signature check's bench.
Prints p50/p99 in milliseconds and collections per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.integration.conftest import LocalRegistry, _start_registry  # noqa: E402
from verifier.sources.image import collect_image_evidence  # noqa: E402
from verifier.sources.oci_common import Limits, collect_all  # noqa: E402
from verifier.sources.oci_registry import RegistryClient, RegistryStore  # noqa: E402


class DelayTransport(httpx.BaseTransport):
    """The real local registry behind an added per-request delay (a remote registry's round trip)."""

    def __init__(self, delay: float) -> None:
        self.inner = httpx.HTTPTransport()
        self.delay = delay

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.delay)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def remote(
    reg: LocalRegistry, repo: str, digest: str, parallel: bool, delay: float
) -> Callable[[], object]:
    def run() -> object:
        with RegistryClient(reg.host, transport=DelayTransport(delay)) as client:
            client.get_manifest(repo, digest)
            return collect_all(RegistryStore(client, repo), digest, Limits(), parallel=parallel)

    return run


DEMO = REPO_ROOT / "fixtures" / "demo"


def push_layout(reg: LocalRegistry, layout: Path, repo: str) -> str:
    """Push every blob and every index.json manifest (tags from ref.name); returns the image digest."""
    client = reg.client()
    for blob in sorted((layout / "blobs" / "sha256").iterdir()):
        client.push_blob(repo, blob.read_bytes())
    index = json.loads((layout / "index.json").read_text())
    # Manifests by digest first (referrers), then tagged ones (the tag-schema index needs its entries).
    entries = sorted(index["manifests"], key=lambda e: "annotations" in e)
    image = ""
    for e in entries:
        raw = (layout / "blobs" / "sha256" / e["digest"][7:]).read_bytes()
        tag = e.get("annotations", {}).get("org.opencontainers.image.ref.name") or e["digest"]
        client.push_manifest(repo, tag, raw, e["mediaType"])
        if tag == "latest":
            image = e["digest"]
    return image


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm imports and the registry's caches
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def baseline(reg: LocalRegistry, repo: str, digest: str) -> Callable[[], object]:
    """The same GETs our collector makes for this image, with no verification."""
    hex_ = digest[7:]
    accept = {
        "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
    }
    client = httpx.Client(base_url=reg.url, trust_env=False)

    def run() -> object:
        client.get(f"/v2/{repo}/manifests/{digest}", headers=accept)
        for suffix in (".sig", ".att"):
            m = client.get(f"/v2/{repo}/manifests/sha256-{hex_}{suffix}", headers=accept).json()
            for layer in m["layers"]:
                client.get(f"/v2/{repo}/blobs/{layer['digest']}")
        client.get(f"/v2/{repo}/referrers/{digest}")
        index = client.get(f"/v2/{repo}/manifests/sha256-{hex_}", headers=accept).json()
        for d in index["manifests"]:
            m = client.get(f"/v2/{repo}/manifests/{d['digest']}", headers=accept).json()
            client.get(f"/v2/{repo}/blobs/{m['layers'][0]['digest']}")
        return None

    return run


SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def far_cosign_lookups(reg: LocalRegistry, rtt: float, runs: int) -> None:
    """The webhook's lookups on a far registry: one shared client (the referrers-API answer remembered),
    ``.sig`` and the referrers tag at once, no ``.att``. A cosign payload known from its digest needs only
    the ``.sig`` manifest; a payload with annotations needs its blob as well, one more round trip."""
    cases = {}
    for name, optional in (("known", None), ("annotated", {"commit": "abc"})):
        repo = f"bench/far-{name}"
        digest, _ = reg.push_image(repo, "v1")
        payload = json.dumps(
            {
                "critical": {
                    "identity": {"docker-reference": f"{reg.host}/{repo}"},
                    "image": {"docker-manifest-digest": digest},
                    "type": "cosign container image signature",
                },
                "optional": optional,
            },
            separators=(",", ":"),
        ).encode()
        reg.attach_legacy(
            repo, digest, [(payload, SIMPLESIGNING, {"dev.cosignproject.cosign/signature": "c2ln"})]
        )
        cases[name] = (repo, digest)
    client = RegistryClient(reg.host, transport=DelayTransport(rtt))
    try:
        for name, (repo, digest) in cases.items():
            store = RegistryStore(client, repo)

            def run(store: RegistryStore = store, repo: str = repo, digest: str = digest) -> object:
                found = collect_all(
                    store,
                    digest,
                    Limits(),
                    parallel=True,
                    attestations=False,
                    references=(f"{reg.host}/{repo}",),
                )
                assert len(found.signatures) == 1, found
                return found

            report(f"{rtt * 1000:.0f} ms RTT, webhook lookups, payload {name}", timed(run, runs))
    finally:
        client.close()


def report(name: str, ms: list[float], base: float | None = None) -> None:
    p50 = statistics.median(ms)
    p99 = sorted(ms)[max(0, int(len(ms) * 0.99) - 1)]
    ratio = f"  {p50 / base:5.2f}x" if base else ""
    print(f"{name:44s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  {1000 / p50:8.0f}/s{ratio}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reg = _start_registry(Path(tmp), htpasswd=None)
        try:
            repo = "bench/hello"
            digest = push_layout(reg, DEMO / "throwaway-key", repo)
            ev = collect_image_evidence(reg.ref(repo, digest))
            assert (len(ev.signatures), len(ev.attestations), len(ev.referrers)) == (1, 1, 2), ev
            base = timed(baseline(reg, repo, digest), args.runs)
            base_p50 = statistics.median(base)
            print(
                f"runs per case: {args.runs}; image {digest[:19]}… (1 .sig, 1 .att, 2 referrer bundles)"
            )
            report("baseline: bare httpx, same GETs, no checks", base)
            report(
                "registry by digest (new connection each)",
                timed(lambda: collect_image_evidence(reg.ref(repo, digest)), args.runs),
                base_p50,
            )
            report(
                "registry by tag (resolved once per run)",
                timed(lambda: collect_image_evidence(reg.ref(repo, "latest")), args.runs),
                base_p50,
            )
            rtt = 0.02
            runs = max(10, args.runs // 10)
            seq = timed(remote(reg, repo, digest, False, rtt), runs)
            report(f"simulated {rtt * 1000:.0f} ms RTT, sequential lookups", seq)
            report(
                f"simulated {rtt * 1000:.0f} ms RTT, parallel (default)",
                timed(remote(reg, repo, digest, True, rtt), runs),
                statistics.median(seq),
            )
            far_cosign_lookups(reg, rtt, runs)
            report(
                "oci-layout throwaway-key",
                timed(
                    lambda: collect_image_evidence(f"oci-layout:{DEMO / 'throwaway-key'}"),
                    args.runs,
                ),
            )
            report(
                "oci-layout keyless-real",
                timed(
                    lambda: collect_image_evidence(f"oci-layout:{DEMO / 'keyless-real'}"), args.runs
                ),
            )
        finally:
            reg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
