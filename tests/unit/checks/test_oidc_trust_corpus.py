"""The real trust-policy corpus (tests/assets/upstream/trust-policies, see its SOURCES.md): all 53 verdicts.

Each file goes through the real reader (verifier.sources.trust_policy_files) and the pure check. The
expected verdict is the first word of ``verdict`` in expected.json (e.g. "PASS (name-based)" → pass).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from verifier.checks.oidc_trust import check
from verifier.sources.trust_policy_files import load_configs

ROOT = Path(__file__).resolve().parents[2] / "assets" / "upstream" / "trust-policies"
EXPECTED: dict[str, list[dict[str, Any]]] = json.loads(
    (ROOT / "expected.json").read_text(encoding="utf-8")
)
ENTRIES = [(provider, e) for provider in ("aws", "gcp", "azure") for e in EXPECTED[provider]]


def test_corpus_is_complete() -> None:
    assert [len(EXPECTED[p]) for p in ("aws", "gcp", "azure")] == [38, 8, 7]
    assert (ROOT / "SOURCES.md").is_file()
    for provider, entry in ENTRIES:
        assert (ROOT / provider / entry["file"]).is_file()


@pytest.mark.parametrize(("provider", "entry"), ENTRIES, ids=[e["id"] for _, e in ENTRIES])
def test_corpus_verdict(provider: str, entry: dict[str, Any]) -> None:
    path = str(ROOT / provider / entry["file"])
    configs = load_configs([path])
    assert len(configs) == 1
    assert configs[0].provider == provider
    result = check(configs[0])
    want = entry["verdict"].split()[0].lower()
    assert result.verdict == want, (entry["why"], [(f.rule, f.message) for f in result.findings])
    assert result.subject == path
    # Every non-pass verdict is explained by at least one finding of medium severity or more.
    if want not in ("pass",):
        assert any(f.severity.rank >= 3 for f in result.findings), [f.rule for f in result.findings]


def test_directory_walk_finds_all_53(tmp_path: Path) -> None:
    configs = load_configs([str(ROOT)])
    assert len(configs) == 53
    # subjects are the given directory joined with the file found under it
    assert all(c.subject.startswith(str(ROOT) + "/") for c in configs)
    verdicts = {Path(c.subject).name: check(c).verdict for c in configs}
    for _provider, entry in ENTRIES:
        assert verdicts[entry["file"]] == entry["verdict"].split()[0].lower()


def test_checkov_disagreements_are_real() -> None:
    """The corpus records checkov 3.3.30's answers; our verdicts differ from its PASS/FAIL on the cases
    the issue names (e.g. it passes `assertion.sub == 'repo:myOrg/myRepo:*'`, which can never match)."""
    gcp07 = next(e for e in EXPECTED["gcp"] if e["id"] == "gcp07")
    assert gcp07["checkov_3.3.30"]["CKV_GCP_125"] == "PASS"
    result = check(load_configs([str(ROOT / "gcp" / gcp07["file"])])[0])
    assert result.verdict == "broken"
