"""Is this YAML a GitHub Actions workflow (or action) as GitHub reads it? Pure, on composed nodes.

The rules are GitHub's own, from the schemas its workflow parser loads (``workflow-v1.0.json`` and
``action-v1.0.json`` in actions/languageservices, ``workflow-parser/src``), at the levels where a
``uses:`` or an image can hide:

- a workflow is a mapping with ``on`` (not empty) and ``jobs`` and no other keys than the workflow
  keywords; ``jobs`` is a non-empty mapping of job ids (a letter or ``_``, then letters, digits, ``-``, ``_``) to
  jobs; a job is either a reusable-workflow call (``uses``) or a job that ``runs-on`` a runner, each
  with its own keywords; a step is a mapping with exactly one of ``run``, ``uses``, ``wait``,
  ``wait-all``, ``cancel``, ``parallel`` and only that kind's keywords; ``container`` is a string or a
  mapping with an ``image``; ``services`` maps names to a string or a mapping with an ``image``;
- an action is a mapping with ``runs``, whose ``using`` is exactly ``composite``, ``docker`` or
  ``nodeNN`` and whose other keys belong to that kind (``steps`` for composite, ``image`` for docker, ``main`` for node);
- no mapping anywhere in the file has the same key twice; GitHub compares keys ignoring case
  (``'x' is already defined``); and no mapping uses a YAML merge key ``<<`` (GitHub resolves anchors and
  aliases, not merges).

Values GitHub lets an expression stand for (``container``, ``services``, a service) may be ``${{ }}``;
the check judges those. A file that breaks a rule is not what it claims to be: :func:`key_problems`,
:func:`workflow_problems` and :func:`action_problems` list every such place, and the check denies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from verifier.workflows.yaml_nodes import (
    MERGE_TAG,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    is_null,
    mapping_items,
)

__all__ = ["MAX_PROBLEMS", "Problem", "action_problems", "key_problems", "workflow_problems"]

# A broken file can break a rule at every line; the first ones say enough.
MAX_PROBLEMS = 20

WORKFLOW_KEYS = frozenset(
    {
        "on",
        "name",
        "description",
        "run-name",
        "defaults",
        "env",
        "permissions",
        "concurrency",
        "jobs",
    }
)
# workflow-v1.0.json "job-factory": a job that runs steps on a runner.
RUNNER_JOB_KEYS = frozenset(
    {
        "needs",
        "if",
        "strategy",
        "name",
        "runs-on",
        "timeout-minutes",
        "cancel-timeout-minutes",
        "continue-on-error",
        "container",
        "services",
        "env",
        "environment",
        "permissions",
        "concurrency",
        "outputs",
        "defaults",
        "steps",
        "snapshot",
    }
)
# workflow-v1.0.json "workflow-job": a job that calls a reusable workflow.
CALL_JOB_KEYS = frozenset(
    {"name", "uses", "with", "secrets", "needs", "if", "permissions", "concurrency", "strategy"}
)
_STEP_COMMON = frozenset({"name", "id", "continue-on-error"})
# The key that makes a step of each kind, and the keys that kind allows (workflow-v1.0.json "steps-item").
WORKFLOW_STEP_KINDS: dict[str, frozenset[str]] = {
    "run": _STEP_COMMON
    | {"if", "timeout-minutes", "run", "env", "working-directory", "shell", "background"},
    "uses": _STEP_COMMON | {"if", "timeout-minutes", "uses", "with", "env", "background"},
    "wait": _STEP_COMMON | {"wait"},
    "wait-all": _STEP_COMMON | {"wait-all"},
    "cancel": _STEP_COMMON | {"cancel"},
    "parallel": frozenset({"parallel"}),
}
# action-v1.0.json "composite-step": run steps (which must name their shell) and uses steps.
COMPOSITE_STEP_KINDS: dict[str, frozenset[str]] = {
    "run": _STEP_COMMON | {"if", "run", "shell", "env", "working-directory"},
    "uses": _STEP_COMMON | {"if", "uses", "with", "env"},
}
CONTAINER_KEYS = frozenset({"image", "options", "env", "ports", "volumes", "credentials"})
SERVICE_KEYS = CONTAINER_KEYS | {"entrypoint", "command"}
RUNS_KEYS: dict[str, frozenset[str]] = {
    "composite": frozenset({"using", "steps"}),
    "docker": frozenset(
        {
            "using",
            "image",
            "entrypoint",
            "args",
            "env",
            "pre-entrypoint",
            "pre-if",
            "post-entrypoint",
            "post-if",
        }
    ),
    "node": frozenset({"using", "main", "pre", "pre-if", "post", "post-if"}),
}
RUNS_REQUIRED = {"composite": "steps", "docker": "image", "node": "main"}
_NODE_USING = re.compile(r"node\d+")
_JOB_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# Depth of `parallel:` groups inside steps (GitHub's schema lets them nest; real files use one level).
MAX_STEP_NESTING = 8


@dataclass(frozen=True)
class Problem:
    """One place where the file is not what GitHub accepts."""

    node: Node | None
    message: str


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, node: Node | None, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(node, message))


def _is_expression(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.value.strip().startswith("${{")


def _scalar_text(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) and not is_null(node) else None


def _entries(node: MappingNode) -> dict[str, tuple[Node, Node]]:
    """The mapping's own entries by key (the first of duplicates; duplicates and merge keys are
    reported by :func:`key_problems`, and what a merge would bring in is not GitHub's)."""
    out: dict[str, tuple[Node, Node]] = {}
    for name, key, value, merged in mapping_items(node):
        if not merged:
            out.setdefault(name, (key, value))
    return out


def _unknown_keys(
    found: _Problems, entries: dict[str, tuple[Node, Node]], allowed: frozenset[str], where: str
) -> None:
    for name, (key, _value) in entries.items():
        if name not in allowed:
            found.add(
                key, f"{where}: unknown key {name!r} (GitHub allows: {', '.join(sorted(allowed))})"
            )


def key_problems(root: Node) -> list[Problem]:
    """Every key that repeats an earlier key of the same mapping, ignoring case, and every YAML merge key
    ``<<``, anywhere under ``root`` (each collection node visited once, so aliases cost nothing extra).

    GitHub resolves anchors and aliases but not merge keys: its parser reads ``<<`` as an ordinary,
    unknown key (``Unexpected value '<<'``), so a file that relies on a merge is not one GitHub runs.
    """
    found = _Problems()
    seen: set[int] = set()
    pending: list[Node] = [root]
    # Exact class checks and no visit of scalars: this walk touches every node of every file checked.
    mapping, sequence, scalar = MappingNode, SequenceNode, ScalarNode
    while pending and len(found.items) < MAX_PROBLEMS:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.__class__ is sequence:
            pending.extend(
                n for n in node.value if n.__class__ is mapping or n.__class__ is sequence
            )
            continue
        if node.__class__ is not mapping:
            continue
        first: dict[str, Node] = {}
        for key, value in node.value:
            if value.__class__ is mapping or value.__class__ is sequence:
                pending.append(value)
            if key.__class__ is not scalar:
                pending.append(key)
                continue
            if key.tag == MERGE_TAG:
                found.add(key, "merge key `<<`: GitHub does not support YAML merge keys")
                continue
            folded = key.value.upper()
            earlier = first.get(folded)
            if earlier is None:
                first[folded] = key
            else:
                line = earlier.start_mark.line + 1
                found.add(key, f"duplicate key {key.value!r} (first defined on line {line})")
    found.items.sort(
        key=lambda p: (p.node.start_mark.line, p.node.start_mark.column) if p.node else (0, 0)
    )
    return found.items


def workflow_problems(root: Node) -> list[Problem]:
    """Where ``root`` (one YAML document) is not a GitHub workflow; empty when it is one."""
    found = _Problems()
    if not isinstance(root, MappingNode):
        found.add(root, "not a workflow: the top level is not a mapping")
        return found.items
    top = _entries(root)
    if "on" not in top and "jobs" not in top:
        # Another kind of file (a SARIF log, a verifier.yaml, a Dependabot config): one problem, naming
        # what is there, says more than one unknown-key finding per top-level key.
        shown = ", ".join(list(top)[:8]) + (", …" if len(top) > 8 else "")
        found.add(
            root, f"not a workflow: no top-level `on` or `jobs` (top-level keys: {shown or 'none'})"
        )
        return found.items
    _unknown_keys(found, top, WORKFLOW_KEYS, "not a workflow")
    for required in ("on", "jobs"):
        if required not in top:
            found.add(root, f"not a workflow: no top-level `{required}`")
    if "on" in top and is_null(top["on"][1]):
        found.add(top["on"][1], "`on` is empty: the workflow has no trigger")
    if "jobs" in top:
        _check_jobs(found, top["jobs"][1])
    return found.items


def _check_jobs(found: _Problems, jobs: Node) -> None:
    if not isinstance(jobs, MappingNode):
        found.add(jobs, "`jobs` is not a mapping of job ids to jobs")
        return
    entries = _entries(jobs)
    if not entries:
        found.add(jobs, "`jobs` is empty")
    for job_id, (key, job) in entries.items():
        if not _JOB_ID.fullmatch(job_id):
            found.add(
                key, f"job id {job_id!r} is not valid (a letter or _, then letters, digits, - or _)"
            )
        if not isinstance(job, MappingNode):
            found.add(job, f"job {job_id!r} is not a mapping")
            continue
        fields = _entries(job)
        where = f"job {job_id!r}"
        if "uses" in fields:
            _unknown_keys(found, fields, CALL_JOB_KEYS, f"{where} (calls a reusable workflow)")
            continue
        _unknown_keys(found, fields, RUNNER_JOB_KEYS, where)
        if "runs-on" not in fields:
            found.add(job, f"{where}: no `runs-on` and no `uses` (GitHub needs one of them)")
        if "steps" in fields:
            _check_steps(found, fields["steps"][1], WORKFLOW_STEP_KINDS, where, 0)
        if "container" in fields:
            _check_container(found, fields["container"][1], CONTAINER_KEYS, f"{where} container")
        if "services" in fields:
            _check_services(found, fields["services"][1], where)


def _check_steps(
    found: _Problems, steps: Node, kinds: dict[str, frozenset[str]], where: str, depth: int
) -> None:
    if not isinstance(steps, SequenceNode):
        found.add(steps, f"{where}: `steps` is not a list")
        return
    if depth > MAX_STEP_NESTING:
        found.add(steps, f"{where}: `parallel` groups nested more than {MAX_STEP_NESTING} deep")
        return
    for index, step in enumerate(steps.value):
        here = f"{where} step {index}"
        if not isinstance(step, MappingNode):
            found.add(step, f"{here} is not a mapping")
            continue
        fields = _entries(step)
        present = [kind for kind in kinds if kind in fields]
        if len(present) != 1:
            wanted = ", ".join(f"`{k}`" for k in kinds)
            what = "none" if not present else ", ".join(f"`{k}`" for k in present)
            found.add(step, f"{here}: needs exactly one of {wanted} (has {what})")
            continue
        kind = present[0]
        _unknown_keys(found, fields, kinds[kind], f"{here} ({kind} step)")
        if kinds is COMPOSITE_STEP_KINDS and kind == "run" and "shell" not in fields:
            found.add(step, f"{here}: a composite action's `run` step must name its `shell`")
        if kind == "parallel":
            _check_steps(found, fields["parallel"][1], kinds, f"{here} parallel", depth + 1)


def _check_container(found: _Problems, node: Node, allowed: frozenset[str], where: str) -> None:
    if isinstance(node, ScalarNode):
        return  # an image name, or an expression the check evaluates
    if not isinstance(node, MappingNode):
        found.add(node, f"{where} is neither an image name nor a mapping")
        return
    entries = _entries(node)
    _unknown_keys(found, entries, allowed, where)
    if "image" not in entries:
        found.add(node, f"{where} has no `image`")


def _check_services(found: _Problems, services: Node, where: str) -> None:
    if isinstance(services, ScalarNode) and _is_expression(services):
        return  # judged by the check (its images are unknown)
    if not isinstance(services, MappingNode):
        found.add(services, f"{where}: `services` is not a mapping of names to containers")
        return
    for name, (_key, service) in _entries(services).items():
        if isinstance(service, ScalarNode) and is_null(service):
            found.add(service, f"{where} service {name!r} is empty")
            continue
        _check_container(found, service, SERVICE_KEYS, f"{where} service {name!r}")


def action_problems(root: Node) -> list[Problem]:
    """Where ``root`` (one YAML document) is not a GitHub action (``action.yml``); empty when it is one."""
    found = _Problems()
    if not isinstance(root, MappingNode):
        found.add(root, "not an action: the top level is not a mapping")
        return found.items
    top = _entries(root)
    if "runs" not in top:
        found.add(root, "not an action: no top-level `runs`")
        return found.items
    runs = top["runs"][1]
    if not isinstance(runs, MappingNode):
        found.add(runs, "`runs` is not a mapping")
        return found.items
    fields = _entries(runs)
    using_node = fields.get("using", (runs, runs))[1]
    using = _scalar_text(using_node) or ""
    # Exact, as GitHub's schema lists the values (`Composite` or `node20 ` is refused there too).
    kind = "node" if _NODE_USING.fullmatch(using) else using
    if kind not in RUNS_KEYS:
        shown = f"{using!r}" if using else "missing"
        found.add(
            using_node,
            f"`runs.using` is {shown}: expected composite, docker or nodeNN (e.g. node20)",
        )
        return found.items
    _unknown_keys(found, fields, RUNS_KEYS[kind], f"`runs` of a {using} action")
    required = RUNS_REQUIRED[kind]
    if required not in fields:
        found.add(runs, f"`runs` of a {using} action has no `{required}`")
    elif kind == "composite":
        _check_steps(found, fields["steps"][1], COMPOSITE_STEP_KINDS, "runs", 0)
    return found.items
