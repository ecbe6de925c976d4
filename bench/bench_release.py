"""Benchmark: `verifier gate` on a release of 10 images vs 1, whole process, from the local registry.

Target (issue 17): the 10-image gate takes < 2x the single-image gate's time in the same run (the images are
verified concurrently). Ten images are pushed to the Debian docker-registry on 127.0.0.1 and signed with a
THROWAWAY key (legacy cosign .sig); the gate reads them from Helm values (--images-from) and runs the
signature check on each. Each configuration runs --runs times, interleaved; medians are printed with the ratio.

    python bench/bench_release.py [--runs 7] [--images 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.conftest import _start_registry  # noqa: E402
from tests.integration.test_webhook_registry import _key, _sign  # noqa: E402

TARGET_RATIO = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--images", type=int, default=10)
    args = parser.parse_args()
    verifier = str(Path(sys.executable).with_name("verifier"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        reg = _start_registry(work / "registry", htpasswd=None)
        try:
            key = _key(work, "good")
            refs = []
            for i in range(args.images):
                repo = reg.new_repo(f"bench{i}")
                digest, _ = reg.push_image(repo, "v1")
                _sign(reg, repo, digest, key)
                refs.append((f"{reg.host}/{repo}", digest))
            (work / "verifier.yaml").write_text("signers:\n  key: good.pub\n")
            values = "".join(
                f"svc{i}:\n  image:\n    repository: {name}\n    digest: {digest}\n"
                for i, (name, digest) in enumerate(refs)
            )
            (work / "values-10.yaml").write_text(values)
            name, digest = refs[0]
            (work / "values-1.yaml").write_text(
                f"svc0:\n  image:\n    repository: {name}\n    digest: {digest}\n"
            )
            times: dict[str, list[float]] = {"1": [], "10": []}
            for _ in range(args.runs):
                for which in times:
                    cmd = [verifier, "gate", "--config", str(work / "verifier.yaml"),
                           "--images-from", str(work / f"values-{which}.yaml")]  # fmt: skip
                    start = time.perf_counter()
                    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                    times[which].append(time.perf_counter() - start)
                    if proc.returncode != 0:
                        print(proc.stdout, proc.stderr)
                        return 1
        finally:
            reg.close()
    one, ten = statistics.median(times["1"]), statistics.median(times["10"])
    ratio = ten / one
    print(f"gate, 1 image:  median of {args.runs}: {one:.3f} s")
    print(f"gate, {args.images} images: median of {args.runs}: {ten:.3f} s")
    verdict = "met" if ratio < TARGET_RATIO else "NOT met"
    print(f"ratio {ratio:.2f}x (target < {TARGET_RATIO}x): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
