"""Provenance verification speed from the local registry, next to the signature check's, in the same run.

    python bench/bench_provenance.py [--runs 100]

Cases (Debian docker-registry on 127.0.0.1, as the integration tests start it):
- provenance: slsa-verifier's real v2.1.0 container layout (cosign ``.att`` with keyless SLSA v0.2 provenance,
  Fulcio certificate + Rekor SET, plus a BuildKit attestation manifest in the image index), collected and
  verified end to end: ``collect_image_provenance`` + ``evaluate``;
- signature: the real keyless legacy signature of containers/image (``fixtures/demo/keyless-real``), the same
  kind of evidence (legacy layer, Fulcio + SET), collected and verified by the signature check.

Both are timed alternately (each goes first every other round). cold = each check's verification cache is
cleared before every call; warm = it answers. The target (issue 16): provenance cold p50 within 2x of the
signature check's cold p50; the ratio is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.integration.conftest import _start_registry  # noqa: E402
from tests.integration.test_provenance_registry import LAYOUTS, serve_layout  # noqa: E402
from tests.unit.checks.provenance_cases import PROV  # noqa: E402
from verifier.checks import provenance, signature  # noqa: E402
from verifier.checks.provenance import ProvenanceSection, policy_from_config  # noqa: E402
from verifier.checks.signature import SignaturePolicy  # noqa: E402
from verifier.sigstore.identity import IdentityPolicy  # noqa: E402
from verifier.sources.image import collect_image_evidence  # noqa: E402
from verifier.sources.provenance import collect_image_provenance  # noqa: E402
from verifier.sources.trust_roots import load_trust_root  # noqa: E402

DEMO = REPO / "fixtures" / "demo"


def pair(
    a: Callable[[], object],
    b: Callable[[], object],
    runs: int,
    before: Callable[[], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Milliseconds per call of ``a`` and ``b``, alternating which goes first; ``before`` runs untimed."""
    a()
    b()
    ta: list[float] = []
    tb: list[float] = []
    for i in range(runs):
        order = ((a, ta), (b, tb))
        for fn, out in order if i % 2 == 0 else order[::-1]:
            if before:
                before()
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
    return ta, tb


def report(name: str, ms: list[float], base: float | None = None, what: str = "") -> float:
    p50 = statistics.median(ms)
    p99 = sorted(ms)[max(0, int(len(ms) * 0.99) - 1)]
    ratio = f"  {p50 / base:5.2f}x {what}" if base else ""
    print(f"{name:56s} p50 {p50:8.3f} ms  p99 {p99:8.3f} ms  {1000 / p50:8.0f}/s{ratio}")
    return p50


def clear() -> None:
    provenance.clear_cache()
    signature.clear_cache()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()

    layout = LAYOUTS["v2.1.0"]
    policy = policy_from_config(
        ProvenanceSection(
            source_repository="github.com/slsa-framework/example-package", branch="main"
        )
    )
    mitr = SignaturePolicy(
        trust=load_trust_root(None),
        identity=IdentityPolicy(
            identity="mitr@redhat.com", issuer="https://github.com/login/oauth"
        ),
    )
    keyless_ref = "oci-layout:" + str(DEMO / "keyless-real")
    with tempfile.TemporaryDirectory() as tmp:
        reg = _start_registry(Path(tmp), htpasswd=None)
        try:
            image = serve_layout(reg, PROV / layout["layout_dir"], "bench/provenance")
            prov_ref = reg.ref("bench/provenance", image)
            kev = collect_image_evidence(keyless_ref)
            manifest = (DEMO / "keyless-real" / "blobs" / "sha256" / kev.digest[7:]).read_bytes()
            reg.write_blob(manifest)
            reg.link_tag("bench/keyless", "v1", kev.digest)
            [ksig] = kev.signatures
            reg.attach_legacy(
                "bench/keyless",
                kev.digest,
                [(ksig.payload, ksig.media_type, dict(ksig.annotations))],
            )
            sig_ref = reg.ref("bench/keyless", kev.digest)

            def prov() -> None:
                result = provenance.evaluate(collect_image_provenance(prov_ref), policy)
                assert result.verdict == "pass", result.findings

            def sig() -> None:
                result = signature.evaluate(collect_image_evidence(sig_ref), mitr)
                assert result.verdict == "pass", result.findings

            print(f"runs per case: {args.runs}; registry {reg.host}")
            sig_ms, prov_ms = pair(sig, prov, args.runs, clear)
            sig_p50 = report("signature check (legacy keyless), registry, cold", sig_ms)
            report(
                "provenance check (.att + BuildKit), registry, cold",
                prov_ms,
                sig_p50,
                "the signature check's cold p50 (target <= 2x)",
            )
            sig_ms, prov_ms = pair(sig, prov, args.runs)
            sig_warm = report("signature check (legacy keyless), registry, warm", sig_ms)
            report(
                "provenance check (.att + BuildKit), registry, warm",
                prov_ms,
                sig_warm,
                "the signature check's warm p50",
            )
        finally:
            reg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
