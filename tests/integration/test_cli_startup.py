"""What a short `verifier check` run imports: the per-process cost every CI step pays.

`check trust-policy`, `check actions` and `check sarif` are run once per pipeline step, so their whole-process
time is mostly interpreter start-up and imports (issue 4's benchmark compares it with checkov). They must not
import pydantic (about 0.1 s; only configuration files, audit reports and the webhook need it) nor the
Sigstore/SBOM libraries.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[1] / "assets"
HEAVY = ("pydantic", "pydantic_core", "sigstore", "spdx_tools", "cyclonedx", "httpx")
PROBE = (
    "import sys\n"
    "from verifier.adapters.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    print('EXIT', exc.code, file=sys.stderr)\n"
    f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
    "print('HEAVY', heavy, file=sys.stderr)\n"
)


@pytest.mark.parametrize("fmt", ["json", "sarif", "table", "markdown", "github"])
@pytest.mark.parametrize(
    "command",
    [
        ["check", "trust-policy", str(ASSETS / "upstream" / "trust-policies" / "aws")],
        ["check", "actions", str(ASSETS / "upstream" / "workflows")],
        [
            "check",
            "sarif",
            str(ASSETS / "upstream" / "sarif" / "trivy" / "trivy-golden-alpine-310.sarif.json"),
        ],
    ],
)
def test_short_checks_import_no_heavy_library(command: list[str], fmt: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *command, "--format", fmt, "--exit-zero"],
        capture_output=True,
        text=True,
        check=False,
    )
    # The run itself must have worked (a crash before the imports would pass the import check vacuously).
    assert "EXIT 0" in proc.stderr, proc.stderr[-2000:]
    assert "HEAVY []" in proc.stderr, proc.stderr[-2000:]
    assert '"results"' in proc.stdout or fmt != "json"


def test_probe_sees_pydantic_when_a_config_file_is_read(tmp_path: Path) -> None:
    """The probe itself works: the gate reads verifier.yaml through pydantic, and the probe says so."""
    config = tmp_path / "verifier.yaml"
    config.write_text("version: 1\n")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "gate", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "'pydantic'" in proc.stderr, proc.stderr[-2000:]
