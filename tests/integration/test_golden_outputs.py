"""Golden files: what each command prints, in every format, for the bundled demo inputs, byte for byte.

A report format is a contract with whatever reads it (code scanning, PR comments, auditors' scripts): any
change to it must be deliberate. Each case runs the CLI in-process from the repository root (so paths are
the demo's relative ones) with a fixed ``--now``; the tool version is redacted as ``@@VERSION@@``. Every
SARIF golden is also validated against the SARIF 2.1.0 schema, and every JSON golden is parsed.

After an intended change, regenerate and review the diff::

    VERIFIER_UPDATE_GOLDEN=1 pytest tests/integration/test_golden_outputs.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO, UPSTREAM
from verifier import __version__, output
from verifier.adapters.cli import main

GOLDEN = REPO / "tests" / "golden"
NOW = ["--now", "2026-01-01T00:00:00Z"]
SIGNER = [
    "--certificate-identity",
    "mitr@redhat.com",
    "--certificate-oidc-issuer",
    "https://github.com/login/oauth",
]
CASES: dict[str, tuple[list[str], int]] = {
    "gate-allow": (["gate", "--config", "fixtures/demo/verifier.yaml"], 0),
    "gate-deny": (["gate", "--config", "fixtures/demo/verifier-deny.yaml"], 1),
    "actions-deny": (["check", "actions", "fixtures/demo/workflows-deny/release.yml"], 1),
    "trust-policy-deny": (["check", "trust-policy", "fixtures/demo/trust-policy-broad.json"], 1),
    "sarif-allow": (["check", "sarif", "fixtures/demo/scan.sarif"], 0),
    "sarif-deny": (
        ["check", "sarif", "fixtures/demo/scan.sarif", "--fail-on", "critical,high,medium"],
        1,
    ),
    "signature-keyless": (
        ["check", "signature", "oci-layout:fixtures/demo/keyless-real", *SIGNER],
        0,
    ),
}
EXTENSIONS = {
    "json": "json",
    "sarif": "sarif.json",
    "markdown": "md",
    "github": "github.txt",
    "table": "txt",
}
UPDATE = os.environ.get("VERIFIER_UPDATE_GOLDEN") == "1"


def _redact(text: str) -> str:
    return re.sub(r'("version": )"' + re.escape(__version__) + '"', r'\1"@@VERSION@@"', text)


def test_every_format_has_a_golden_extension() -> None:
    assert set(EXTENSIONS) == set(output.FORMATS)


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_the_golden_file(
    case: str, fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args, expected_code = CASES[case]
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit) as exit_info:
        main([*args, *NOW, "--format", fmt])
    out, err = capsys.readouterr()
    assert exit_info.value.code == expected_code, err
    text = _redact(out)
    golden = GOLDEN / f"{case}.{EXTENSIONS[fmt]}"
    if UPDATE:
        golden.write_text(text)
    assert golden.is_file(), f"{golden} is missing: run with VERIFIER_UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text(), (
        f"{golden.name} changed; if intended, regenerate (see the docstring)"
    )


@pytest.mark.parametrize("golden", sorted(GOLDEN.glob("*.sarif.json")), ids=lambda p: p.name)
def test_sarif_goldens_are_valid_sarif(golden: Path) -> None:
    schema = json.loads((UPSTREAM / "sarif-schema" / "sarif-2.1.0.json").read_text())
    jsonschema.validate(json.loads(golden.read_text()), schema)


def test_json_goldens_are_report_v1() -> None:
    reports = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith(".sarif.json"))
    assert len(reports) == len(CASES)
    for path in reports:
        doc = json.loads(path.read_text())
        assert doc["schema"] == "verifier.report/v1" and doc["tool"]["version"] == "@@VERSION@@", (
            path.name
        )
