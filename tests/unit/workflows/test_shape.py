"""The workflow/action shape rules (verifier.workflows.shape); GitHub's parser is the oracle in
tests/unit/checks/test_actions_github_parser.py, these are the edges it does not reach."""

from __future__ import annotations

from verifier.workflows.shape import (
    MAX_PROBLEMS,
    action_problems,
    key_problems,
    workflow_problems,
)
from verifier.workflows.yaml_nodes import compose_documents


def root(text: str):  # type: ignore[no-untyped-def]
    (document,) = compose_documents(text, "t.yml")
    return document


def messages(problems: list) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    return [(p.node.start_mark.line + 1, p.message) for p in problems]


def test_a_minimal_workflow_and_action_are_fine() -> None:
    assert workflow_problems(root("on: push\njobs:\n  j:\n    runs-on: r\n")) == []
    assert action_problems(root("runs: {using: composite, steps: []}\n")) == []
    assert [p.message for p in action_problems(root("runs: {using: Composite, steps: []}\n"))] == [
        "`runs.using` is 'Composite': expected composite, docker or nodeNN (e.g. node20)"
    ]
    assert (
        action_problems(root("runs: {using: node24, main: x.js}\nauthor: me\nbranding: {}\n")) == []
    )


def test_duplicates_through_aliases_are_reported_once_and_merges_are_refused() -> None:
    text = "base: &b {x: 1, X: 2}\nuse1: *b\nuse2: *b\nmerged:\n  <<: *b\n  x: 3\n"
    assert messages(key_problems(root(text))) == [
        (1, "duplicate key 'X' (first defined on line 1)"),
        (5, "merge key `<<`: GitHub does not support YAML merge keys"),
    ]


def test_a_mapping_used_as_a_key_is_still_searched() -> None:
    text = "? {a: 1, a: 2}\n: v\n"
    assert [m for _line, m in messages(key_problems(root(text)))] == [
        "duplicate key 'a' (first defined on line 1)"
    ]


def test_problems_are_capped() -> None:
    keys = "\n".join(f"k{i}: 1" for i in range(100))
    problems = workflow_problems(root("on: push\njobs: {j: {runs-on: r}}\n" + keys + "\n"))
    assert len(problems) == MAX_PROBLEMS
    (other,) = workflow_problems(root(keys + "\n"))  # another kind of file: one problem, keys named
    assert other.message == (
        "not a workflow: no top-level `on` or `jobs` (top-level keys: k0, k1, k2, k3, k4, k5, k6, k7, …)"
    )


def test_parallel_groups_nest_to_a_limit() -> None:
    steps = "[{run: x}]"
    for _ in range(10):
        steps = "[{parallel: " + steps + "}]"
    text = "on: push\njobs:\n  j:\n    runs-on: r\n    steps: " + steps + "\n"
    assert [m for _l, m in messages(workflow_problems(root(text)))] == [
        "job 'j' step 0 parallel step 0 parallel step 0 parallel step 0 parallel step 0 parallel step 0 "
        "parallel step 0 parallel step 0 parallel step 0 parallel: `parallel` groups nested more than 8 deep"
    ]


def test_expressions_stand_for_container_and_services_only() -> None:
    ok = "on: push\njobs:\n  j:\n    runs-on: r\n    container: ${{ x }}\n    services: ${{ y }}\n"
    assert workflow_problems(root(ok)) == []
    bad = "on: push\njobs:\n  j:\n    runs-on: r\n    steps: ${{ x }}\n"
    assert messages(workflow_problems(root(bad))) == [(5, "job 'j': `steps` is not a list")]
    empty_service = "on: push\njobs:\n  j:\n    runs-on: r\n    services:\n      db:\n"
    assert messages(workflow_problems(root(empty_service))) == [
        (6, "job 'j' service 'db' is empty")
    ]
