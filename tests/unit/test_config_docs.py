"""The docs say what the loader reads: the reference in docs/configuration.md is generated from the schema,
and every verifier.yaml example in README.md and docs/ loads with the one loader."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from verifier.checks import registry
from verifier.config import _RENAMED, parse_config, reference_markdown
from verifier.errors import InputError

REPO = Path(__file__).resolve().parents[2]
CONFIG_DOC = REPO / "docs" / "configuration.md"
START = re.compile(r"<!-- reference: .*?-->\n\n", re.S)
END = "<!-- end of reference -->"

# A YAML block is a verifier.yaml example when a top-level key is one the loader knows or once knew.
SHARED = {"version", "image", "signers", "policy", "webhook", "decision_log"}
KNOWN = SHARED | {m.section for m in registry.CHECKS} | {k.split(".")[0] for k in _RENAMED}


def _examples() -> list[tuple[str, str]]:
    out = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"```ya?ml\n(.*?)```", text, re.S):
            line = text[: match.start()].count("\n") + 1
            out.append((f"{path.relative_to(REPO)}:{line}", match.group(1)))
    return out


def test_reference_is_generated_from_the_schema() -> None:
    text = CONFIG_DOC.read_text(encoding="utf-8")
    start = START.search(text)
    assert start is not None and END in text, "docs/configuration.md lost its reference markers"
    current = text[start.end() : text.index(END)]
    expected = reference_markdown() + "\n"
    if os.environ.get("VERIFIER_UPDATE_GOLDEN") and current != expected:
        CONFIG_DOC.write_text(text.replace(current, expected, 1), encoding="utf-8")
        current = expected
    assert current == expected, "regenerate: VERIFIER_UPDATE_GOLDEN=1 pytest " + __file__


def test_every_field_of_every_section_is_in_the_reference() -> None:
    reference = reference_markdown()
    for meta in registry.CHECKS:
        section = registry.load(meta.id).section_type
        assert f"## `{meta.section}` (check `{meta.id}`)" in reference
        for name in section.__dataclass_fields__:
            assert f"| `{name}` |" in reference, (meta.section, name)


EXAMPLES = [(where, body) for where, body in _examples()]


@pytest.mark.parametrize(("where", "body"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_every_verifier_yaml_example_loads(where: str, body: str) -> None:
    doc = yaml.safe_load(body)
    if not isinstance(doc, dict) or not set(doc) & KNOWN:
        return  # another kind of YAML (a workflow, a manifest, Helm values)
    try:
        parse_config(doc, where)
    except InputError as exc:
        pytest.fail(f"{where}: the example does not load: {exc.problem}")


def test_the_example_finder_finds_the_examples() -> None:
    """The examples the docs must keep loading are really found (a vacuous pass is not a pass)."""
    found = [
        where
        for where, body in EXAMPLES
        if isinstance(doc := yaml.safe_load(body), dict) and set(doc) & KNOWN
    ]
    assert any(w.startswith("docs/configuration.md") for w in found)
    assert any(w.startswith("docs/webhook.md") for w in found)
    assert any(w.startswith("docs/checks/actions-pinned.md") for w in found)
