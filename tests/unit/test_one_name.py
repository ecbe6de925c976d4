"""One name: the repository and the image are named once (pyproject.toml ``[project.urls]``) and every file
that names them agrees: README, Action, Helm chart, audit job, Containerfile, VSA builder id, docs links,
SARIF, the config schema id. A repository or image path ending in ``/verifier`` under any other owner fails.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml

from verifier.checks._base import DOCS_BASE
from verifier.output.sarif import INFORMATION_URI
from verifier.records.vsa import VERIFIER_ID

ROOT = Path(__file__).resolve().parents[2]
SOURCE = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Source"]
OWNER_REPO = SOURCE.removeprefix("https://github.com/")
IMAGE = f"ghcr.io/{OWNER_REPO}"
# Any spelling of "<owner>/verifier" as a GitHub repository, an Action reference or a ghcr.io image.
MENTION = re.compile(
    r"(?:github\.com/|ghcr\.io/|uses:\s*)([A-Za-z0-9_.-]+)/verifier(?=[/@:\"'\s)#]|$)", re.MULTILINE
)
# Third-party data kept verbatim (it names other projects) and generated files.
EXCLUDED = ("tests/assets/upstream/", "fixtures/demo/upstream/", "uv.lock", "requirements/")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    files = []
    for raw in names:
        name = raw.decode()
        if not name or name.startswith(EXCLUDED):
            continue
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 2_000_000:
            files.append(path)
    return files


def test_the_name_is_the_canonical_one() -> None:
    assert OWNER_REPO == "verifier-dev/verifier"


def test_every_mention_in_the_repository_uses_the_one_owner() -> None:
    wrong = []
    seen = 0
    for path in _tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for match in MENTION.finditer(text):
            seen += 1
            if f"{match.group(1)}/verifier" != OWNER_REPO:
                line = text.count("\n", 0, match.start()) + 1
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert not wrong, "other names for the project:\n" + "\n".join(wrong)
    assert seen >= 10  # the scan found the mentions it is meant to hold


def test_constants_and_deployables_name_it() -> None:
    assert DOCS_BASE.startswith(f"{SOURCE}/blob/main/docs/")
    assert INFORMATION_URI == SOURCE
    assert VERIFIER_ID.startswith(f"{SOURCE}/")
    values = yaml.safe_load((ROOT / "deploy" / "helm" / "verifier" / "values.yaml").read_text())
    assert values["image"]["repository"] == IMAGE
    job = yaml.safe_load((ROOT / "deploy" / "audit" / "indexed-job.yaml").read_text())
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith(f"{IMAGE}:") or container["image"].startswith(f"{IMAGE}@")
    assert f'org.opencontainers.image.source="{SOURCE}"' in (ROOT / "Containerfile").read_text()
    assert f"uses: {OWNER_REPO}@" in (ROOT / "README.md").read_text()
    schema = (ROOT / "verifier" / "schemas" / "verifier.schema.json").read_text()
    assert f'"$id": "{SOURCE}/blob/main/verifier/schemas/verifier.schema.json"' in schema
