"""What counts as a workflow or an action, against GitHub's own parser.

The oracle is ``@actions/workflow-parser`` from npm (GitHub's actions/languageservices: the template
reader and the workflow/action schemas GitHub's editor and services load), run by
tests/github-workflow-parser/validate.mjs. It needs node and ``npm ci`` in that directory (``make
system-deps`` does it); without them the tests FAIL.

Three properties, on the 506 real files, zizmor's 204 test files and hand-written mutations:

- a file this check refuses (``invalid-file``) GitHub's parser refuses too: the check never denies a file
  as "not a workflow" that GitHub would run;
- every structural mutation where a ``uses:`` or an image could hide (a misspelt keyword, a step without
  ``run``/``uses``, a duplicate key, …) is refused by both;
- where GitHub's parser is stricter, it is about something that cannot change what runs: expression
  contexts, cron syntax, permission names, trigger filters, an action's ``name``/``description``. Each such
  message is matched here against a documented reason, so a new kind of disagreement fails the test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from verifier.checks.actions_pinned import check_text
from verifier.sources.workflow_files import read_all

TESTS = Path(__file__).resolve().parents[2]
PARSER_DIR = TESTS / "github-workflow-parser"
REAL = TESTS / "assets" / "upstream" / "workflows"
ZIZMOR = TESTS / "assets" / "upstream" / "zizmor-test-data"
SHA = "8e5e7e5ab8b370d6c329ec480221332ada57f0ab"

WORKFLOW = f"""\
name: ci
on:
  push:
jobs:
  build:
    runs-on: ubuntu-latest
    container:
      image: node:20
    services:
      db:
        image: postgres:16
    steps:
      - uses: actions/checkout@{SHA}
        with:
          persist-credentials: false
      - run: make test
  call:
    uses: o/r/.github/workflows/w.yml@{SHA}
    with:
      x: 1
"""
ACTION = f"""\
name: setup
description: set things up
runs:
  using: composite
  steps:
    - uses: actions/setup-python@{SHA}
    - run: echo hi
      shell: bash
"""

# name -> (file name, text): each breaks the structure where a `uses:` or an image is read.
MUTATIONS = {
    "jobs misspelt": ("ci.yml", WORKFLOW.replace("jobs:", "job:")),
    "no on": ("ci.yml", WORKFLOW.replace("on:\n  push:\n", "")),
    "no runs-on": ("ci.yml", WORKFLOW.replace("    runs-on: ubuntu-latest\n", "")),
    "uses misspelt": ("ci.yml", WORKFLOW.replace("- uses: actions", "- use: actions")),
    "steps misspelt": ("ci.yml", WORKFLOW.replace("    steps:", "    step:")),
    "with capitalised": ("ci.yml", WORKFLOW.replace("        with:", "        With:")),
    "run and uses in one step": (
        "ci.yml",
        WORKFLOW.replace("      - run: make test", "        run: make test"),
    ),
    "container key misspelt": (
        "ci.yml",
        WORKFLOW.replace("      image: node:20", "      imag: node:20"),
    ),
    "service key misspelt": (
        "ci.yml",
        WORKFLOW.replace("        image: postgres:16", "        img: postgres:16"),
    ),
    "steps in a reusable-workflow call": (
        "ci.yml",
        WORKFLOW + "    steps:\n      - uses: a/b@v1\n",
    ),
    "duplicate step key": (
        "ci.yml",
        WORKFLOW.replace(
            "      - run: make test", "      - run: make test\n        run: make lint"
        ),
    ),
    "duplicate job ignoring case": (
        "ci.yml",
        WORKFLOW.replace("  call:", "  Build:\n    runs-on: r\n    steps: []\n  call:"),
    ),
    "jobs a list": ("ci.yml", "on: push\njobs:\n  - build\n"),
    "steps a mapping": (
        "ci.yml",
        "on: push\njobs:\n  b:\n    runs-on: r\n    steps: {uses: a/b@v1}\n",
    ),
    "step a list": (
        "ci.yml",
        "on: push\njobs:\n  b:\n    runs-on: r\n    steps:\n      - [uses, a/b@v1]\n",
    ),
    "job id with a dot": ("ci.yml", WORKFLOW.replace("  build:", "  build.x:")),
    "a SARIF log": (
        "scan.yml",
        '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Trivy"}}, "results": []}]}\n',
    ),
    "a dependabot config": ("dependabot.yml", "version: 2\nupdates:\n  - package-ecosystem: pip\n"),
    "action without runs": ("action.yml", "name: x\ndescription: y\n"),
    "action using unknown": ("action.yml", ACTION.replace("using: composite", "using: node8")),
    "composite without steps": (
        "action.yml",
        "name: x\ndescription: y\nruns:\n  using: composite\n",
    ),
    "docker action without image": (
        "action.yml",
        "name: x\ndescription: y\nruns:\n  using: docker\n",
    ),
    "node action without main": ("action.yml", "name: x\ndescription: y\nruns:\n  using: node20\n"),
    "composite run step without shell": ("action.yml", ACTION.replace("      shell: bash\n", "")),
    "steps in a node action": (
        "action.yml",
        "name: x\ndescription: y\nruns:\n  using: node20\n  main: i.js\n  steps:\n    - uses: a/b@v1\n",
    ),
    "a merge key": (
        "ci.yml",
        WORKFLOW.replace("  call:", "  again:\n    <<: *build\n  call:").replace(
            "  build:", "  build: &build"
        ),
    ),
    "a trigger-less workflow": ("ci.yml", WORKFLOW.replace("on:\n  push:\n", "on:\n")),
    "a container without an image": (
        "ci.yml",
        WORKFLOW.replace("      image: node:20", "      options: --cpus 1"),
    ),
    "a service without an image": (
        "ci.yml",
        WORKFLOW.replace("        image: postgres:16", "        ports: [5432]"),
    ),
    "using written in capitals": (
        "action.yml",
        ACTION.replace("using: composite", "using: Composite"),
    ),
    "using with a trailing space": (
        "action.yml",
        "name: x\ndescription: y\nruns:\n  using: 'node20 '\n  main: i.js\n",
    ),
    "duplicate key in an action": (
        "action.yml",
        ACTION.replace("    - run: echo hi", "    - run: echo hi\n      Run: x"),
    ),
}

# Where GitHub's parser refuses a file this check accepts, each message must say one of these. None can
# change which action or image runs, so the check reads the file for its pins and judges those.
STRICTER_ONLY = {
    r"Unrecognized named-value: '[^']*'": "an expression names an unknown context (expressions are not typed here)",
    r"Unexpected value '\$\{\{.*\}\}'": "the same unknown-context expression, reported for its value",
    r"Unrecognized function: '[^']*'": "an unknown expression function",
    r"Invalid cron expression": "a schedule's cron syntax",
    r"Required property is missing: (name|description)$": "an action's marketplace metadata (the runner needs only `runs`)",
    r"Unexpected value '(nonexistent|metadata)'$": "a permission name under `permissions:`",
    r"A mapping was not expected$": "a trigger filter (`on.create.tags`) GitHub's editor rejects and github.com runs",
    r"Unexpected type 'BasicExpressionToken' encountered while reading 'step env'": "a step's `env` given as one expression",
    r"Unexpected value ''$": 'an empty service image (`image: ""`: no service container)',
    r"Unexpected value '(on|concurrency)'$": "an unknown top-level key in an action.yml (the runner ignores it)",
}


@pytest.fixture(scope="module")
def mutation_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mutations")
    for index, (file_name, text) in enumerate(MUTATIONS.values()):
        folder = root / f"m{index:02d}"
        folder.mkdir()
        (folder / file_name).write_text(text)
    (root / "base").mkdir()
    (root / "base" / "ci.yml").write_text(WORKFLOW)
    (root / "base" / "action.yml").write_text(ACTION)
    return root


def _github(paths: list[str]) -> dict[str, list[str]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (apt-get install -y nodejs npm)", pytrace=False)
    if not (PARSER_DIR / "node_modules" / "@actions" / "workflow-parser").is_dir():
        pytest.fail(
            f"@actions/workflow-parser is not installed: run `npm ci` in {PARSER_DIR}",
            pytrace=False,
        )
    proc = subprocess.run(
        [node, str(PARSER_DIR / "validate.mjs"), *paths],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    verdicts: dict[str, list[str]] = json.loads(proc.stdout)
    return verdicts


def _ours(path: str, kind: str) -> bool:
    """True when the check refuses the file as not a workflow/action."""
    text = Path(path).read_text(encoding="utf-8")
    return check_text(path, kind, text).verdict == "error"


@pytest.fixture(scope="module")
def verdicts(mutation_dir: Path) -> dict[str, tuple[list[str], bool]]:
    """path -> (GitHub's parser's errors, whether the check refuses it)."""
    files, _found = read_all([str(REAL)])
    kinds = {f.path: f.kind for f in files}
    for path in sorted(ZIZMOR.rglob("*.y*ml")) + sorted(mutation_dir.rglob("*.y*ml")):
        kinds[str(path)] = "action" if path.name in ("action.yml", "action.yaml") else "workflow"
    github = _github(list(kinds))
    return {path: (github[path], _ours(path, kind)) for path, kind in kinds.items()}


def test_every_file_the_check_refuses_github_refuses_too(
    verdicts: dict[str, tuple[list[str], bool]],
) -> None:
    assert len(verdicts) == 506 + 204 + len(MUTATIONS) + 2
    wrongly_refused = [path for path, (github, ours) in verdicts.items() if ours and not github]
    assert wrongly_refused == []


def test_structural_mutations_are_refused_by_both(
    verdicts: dict[str, tuple[list[str], bool]], mutation_dir: Path
) -> None:
    for base in ("ci.yml", "action.yml"):
        assert verdicts[str(mutation_dir / "base" / base)] == ([], False)
    for index, (name, (file_name, _text)) in enumerate(MUTATIONS.items()):
        github, ours = verdicts[str(mutation_dir / f"m{index:02d}" / file_name)]
        assert github, f"GitHub's parser accepts the mutation {name!r}"
        assert ours, f"the check accepts the mutation {name!r}: {github}"


def test_where_github_is_stricter_it_cannot_change_what_runs(
    verdicts: dict[str, tuple[list[str], bool]],
) -> None:
    unexplained: list[tuple[str, str]] = []
    stricter = 0
    for path, (github, ours) in verdicts.items():
        if not github or ours:
            continue
        stricter += 1
        for message in github:
            text = re.sub(r"^.*?(\(Line: \d+, Col: \d+\))?: ", "", message, count=1)
            if not any(re.search(pattern, text) for pattern in STRICTER_ONLY):
                unexplained.append((path, text))
    assert unexplained == []
    # 6 real files (a cron, a trigger filter, actions without name/description) and 27 of zizmor's.
    assert stricter == 33
