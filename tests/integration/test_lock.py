"""The lock: ``uv.lock`` and the ``requirements/*.txt`` files pip installs with ``--require-hashes``.

The exports must be exactly what ``uv export --frozen`` writes from ``uv.lock`` today (offline: ``--frozen``
reads the lock and resolves nothing), every requirement is pinned with hashes, and every installer of this
repository (the Action, the Makefile, the Containerfile, CI) uses them with ``--require-hashes``.
``make lock-check`` (CI) checks that ``uv.lock`` still satisfies ``pyproject.toml``; that needs PyPI.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from uv import find_uv_bin

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements"
EXPORTS = {
    "runtime.txt": ["--no-default-groups"],
    "webhook.txt": ["--no-default-groups", "--extra", "webhook"],
    "dev.txt": ["--extra", "webhook", "--group", "dev", "--group", "build"],
    "build.txt": ["--only-group", "build"],
    "bootstrap.txt": ["--only-group", "bootstrap"],
}
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)(?: ; .*)? \\$")


def _body(text: str) -> str:
    """The export without uv's header comment (which repeats the command line)."""
    lines = text.splitlines()
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "\n".join(lines)


def _pins(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    lines = (LOCK / name).read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith((" ", "#")) or not line:
            continue
        match = REQUIREMENT.match(line)
        assert match, f"{name}: not a pinned requirement with hashes: {line}"
        assert lines[i + 1].strip().startswith("--hash=sha256:"), f"{name}: {line} has no hash"
        pins[match.group(1).lower()] = match.group(2)
    return pins


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_export_is_what_uv_writes_from_the_lock(name: str) -> None:
    done = subprocess.run(
        [
            find_uv_bin(),
            "export",
            "--frozen",
            "--offline",
            "--format",
            "requirements-txt",
            "--no-emit-project",
            "--quiet",
            *EXPORTS[name],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert _body(done.stdout) == _body((LOCK / name).read_text()), (
        f"requirements/{name} is stale: run `make lock`"
    )


def test_every_requirement_is_pinned_with_hashes_and_the_sets_nest() -> None:
    runtime, webhook, dev, build, bootstrap = (
        _pins(f"{n}.txt") for n in ("runtime", "webhook", "dev", "build", "bootstrap")
    )
    assert set(bootstrap) == {"uv"}
    assert {"click", "pydantic", "sigstore", "gordon-to-regorus"} <= set(runtime)
    assert {"uvicorn", "starlette", "prometheus-client"} <= set(webhook) - set(runtime)
    assert "pytest" in dev and "pytest" not in webhook
    assert "hatchling" in build and "hatchling" not in runtime
    for smaller, larger in ((runtime, webhook), (webhook, dev), (build, dev), (bootstrap, dev)):
        assert smaller.items() <= larger.items()


def test_lock_pins_what_pyproject_declares() -> None:
    """The regorus engine is pinned exactly in pyproject; the lock must hold that very version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    exact = [d for d in project["dependencies"] if "==" in d]
    assert exact
    runtime = _pins("runtime.txt")
    for dep in exact:
        name, version = dep.split("==")
        assert runtime[name.lower()] == version


def test_every_installer_uses_the_lock_with_hashes() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    install = next(s for s in action["runs"]["steps"] if s.get("id") == "install")["run"]
    assert "--require-hashes" in install and '"$lock/runtime.txt"' in install
    makefile = (ROOT / "Makefile").read_text()
    assert "PIP_LOCKED := $(BIN)/python -m pip install --quiet --require-hashes" in makefile
    containerfile = (ROOT / "Containerfile").read_text()
    assert "--require-hashes" in containerfile and "requirements/webhook.txt" in containerfile
    for text, where in (
        (makefile, "Makefile"),
        (containerfile, "Containerfile"),
        (install, "action"),
    ):
        for line in text.splitlines():
            if "pip install" in line and "-r " in line:
                assert "--require-hashes" in line, f"{where}: {line.strip()}"


def test_dependabot_keeps_the_lock_current() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert ecosystems["uv"]["directory"] == "/"
    assert ecosystems["uv"]["cooldown"]["default-days"] >= 7
    assert (
        "pip" not in ecosystems
    )  # the exports follow uv.lock; dependabot must not edit them apart
