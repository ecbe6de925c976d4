"""Layers run one way (DESIGN.md): no module imports from a layer above its own.

Read from the source with ``ast`` (every ``import`` / ``from … import`` naming ``verifier``, including the
lazy ones inside functions), so the rule holds for the imports a run may take, not only the ones at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "verifier"

# Lowest first. A module may import its own package and any package of a lower rank.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("verifier", "verifier.errors"),
    ("verifier.models", "verifier._internal"),
    ("verifier.sigstore", "verifier.sbom", "verifier.workflows"),  # pure given bytes
    ("verifier.sources",),  # all I/O
    ("verifier.checks",),  # judging
    ("verifier.policy",),  # deciding
    ("verifier.config", "verifier.records"),  # the loaded config; what a decision writes
    ("verifier.pipeline",),  # THE path: collect → check → decide
    ("verifier.admission", "verifier.audit"),  # many subjects through the pipeline
    ("verifier.output",),  # rendering
    ("verifier.adapters",),  # the only layer that prints, exits, serves
    ("verifier.__main__",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _layer(module: str) -> str:
    """The layer a module belongs to: the longest registered prefix."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in RANK:
            return prefix
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "verifier":
                out += [(node.lineno, f"verifier.{alias.name}") for alias in node.names]
            elif node.module.startswith("verifier."):
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("verifier")]
    return out


def _violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        layer = _layer(module)
        for line, target in _imports(path):
            if target == "verifier.__version__":
                continue
            target_layer = _layer(target)
            if target_layer != layer and RANK[target_layer] >= RANK[layer]:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module} -> {target}")
    return found


def test_imports_only_point_down() -> None:
    assert _violations() == []


@pytest.mark.parametrize(
    ("module", "target", "allowed"),
    [
        ("verifier.sources.files", "verifier.checks.sarif_severity", False),
        ("verifier.checks.signature", "verifier.sources.image", True),
        ("verifier.pipeline.run", "verifier.adapters.common", False),
        ("verifier.policy.engine", "verifier.pipeline", False),
        ("verifier.adapters.cli", "verifier.pipeline", True),
    ],
)
def test_the_rule_itself(module: str, target: str, allowed: bool) -> None:
    """The table orders layers as DESIGN.md does (a check on the test, not on the code)."""
    assert (RANK[_layer(target)] < RANK[_layer(module)]) is allowed
