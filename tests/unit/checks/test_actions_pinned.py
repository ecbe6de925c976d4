"""actions-pinned: hand-written workflows with hand-written expected verdicts (lines, columns, rules)."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from verifier.checks.actions_pinned import (
    PinPolicy,
    check_files,
    check_text,
    classify_image,
    classify_ref,
    parse_uses,
)
from verifier.errors import ConfigError
from verifier.models import CheckResult

SHA = "8e5e7e5ab8b370d6c329ec480221332ada57f0ab"
SHA_UPPER = SHA.upper()
DIGEST = "sha256:" + "ab" * 32


def wf(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def run(text: str, kind: str = "workflow", config: dict[str, Any] | None = None) -> CheckResult:
    return check_text("w.yml", kind, wf(text), config)


def rows(result: CheckResult) -> list[tuple[str, int | None, int | None, bool]]:
    return [
        (
            f.rule,
            f.location.line if f.location else None,
            f.location.column if f.location else None,
            f.waived,
        )
        for f in result.findings
    ]


# --- ref classification: every class named in the issue -----------------------------------------


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        (SHA, "full-sha"),
        (SHA_UPPER, "full-sha-noncanonical"),
        ("8E5e7e5ab8b370d6c329ec480221332ada57f0ab", "full-sha-noncanonical"),
        ("8e5e7e5", "short-sha"),
        (SHA[:39], "short-sha"),
        (SHA + "a", "long-hex"),
        ("ab" * 32, "long-hex"),
        (SHA + "-x", "sha-like"),
        ("x-" + SHA, "sha-like"),
        ("v4", "major-minor-tag"),
        ("v4.2", "major-minor-tag"),
        ("1", "major-minor-tag"),
        ("v4.2.2", "semver-tag"),
        ("1.0.0-rc.1", "semver-tag"),
        ("main", "branch-like"),
        ("release/v2", "branch-like"),
        ("refs/heads/main", "git-ref"),
        ("refs/tags/v1", "git-ref"),
        ("rc", "symbolic"),
        ("c12b8546b67672ee38ac87bea491ac94a587f7sh", "symbolic"),  # 40 chars, not hex
        ("abc", "symbolic"),  # hex but shorter than 7
    ],
)
def test_classify_ref(ref: str, kind: str) -> None:
    assert classify_ref(ref) == kind


@pytest.mark.parametrize(
    ("value", "kind", "ref_kind"),
    [
        (f"actions/checkout@{SHA}", "repository", "full-sha"),
        (f"github/codeql-action/init@{SHA}", "repository", "full-sha"),
        ("o/r/.github/workflows/ci.yml@v1", "reusable-workflow", "major-minor-tag"),
        ("./local", "local", None),
        ("./x@v1", "local", None),  # a directory named "x@v1"
        ("$/x", "local", None),
        ("actions/checkout", "invalid", "no-ref"),
        (f"o/r@a@{SHA}", "invalid", "multiple-at"),
        ("actions/checkout@", "invalid", "no-ref"),
        ("o/r@${{ inputs.ref }}", "invalid", "expression"),
        ("${{ matrix.action }}", "invalid", "expression"),
        ("checkout@v4", "invalid", "bad-slug"),
        ("/checkout@v4", "invalid", "bad-slug"),
        ("o//r@v4", "invalid", "bad-slug"),
        ("o/../x@v4", "invalid", "bad-slug"),
        ("o/r/../x@v4", "invalid", "bad-slug"),  # out of the repository
        ("o/r//x@v4", "repository", "major-minor-tag"),  # the runner reads o/r/x
        (f"actions/checkout/@{SHA}", "repository", "full-sha"),
        ("o/r x@v4", "invalid", "whitespace"),
        ("", "invalid", "empty"),
        ("docker://alpine:3.20", "docker", "tag"),
        (f"docker://alpine@{DIGEST}", "docker", "digest"),
    ],
)
def test_parse_uses(value: str, kind: str, ref_kind: str | None) -> None:
    parsed = parse_uses(value)
    assert (parsed.kind, parsed.ref_kind) == (kind, ref_kind)
    if kind == "invalid":
        assert parsed.problem


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("github/codeql-action/init", "github/codeql-action/init"),
        ("github/codeql-action/./init", "github/codeql-action/init"),
        ("github/codeql-action//init/", "github/codeql-action/init"),
        ("github/codeql-action/x/../init", "github/codeql-action/init"),
        ("actions/checkout/", "actions/checkout"),
        ("actions/checkout/.", "actions/checkout"),
        ("actions/cache/save/../save", "actions/cache/save"),
    ],
)
def test_paths_are_canonical_before_the_policy_sees_them(written: str, canonical: str) -> None:
    # Metamorphic: a path written another way is the same action, pinned or not alike, under the same
    # policy pattern (a `hash-pin` exception cannot be dodged by `./`).
    policy = PinPolicy.from_config(
        {"policy": {"*": "ref-pin", "github/codeql-action/init": "hash-pin"}}
    )
    for ref in ("v3", SHA):
        a, b = parse_uses(f"{written}@{ref}"), parse_uses(f"{canonical}@{ref}")
        assert (a.kind, a.owner, a.repo, a.subpath, a.ref_kind) == (
            b.kind,
            b.owner,
            b.repo,
            b.subpath,
            b.ref_kind,
        )
        assert policy.lookup(a.owner or "", a.repo or "", a.subpath) == policy.lookup(
            b.owner or "", b.repo or "", b.subpath
        )


@pytest.mark.parametrize(
    ("image", "kind"),
    [
        (f"ghcr.io/o/i@{DIGEST}", "digest"),
        (f"ghcr.io/o/i:1.2@{DIGEST}", "digest"),
        ("ghcr.io/o/i@sha256:abc", "bad-digest"),
        (f"ghcr.io/o/i@sha256:{'AB' * 32}", "bad-digest"),
        (f"ghcr.io/o/i@sha512:{'ab' * 64}", "bad-digest"),
        ("ubuntu:latest", "latest"),
        ("ubuntu", "untagged"),
        ("localhost:5000/img", "untagged"),
        ("localhost:5000/img:1.0", "tag"),
        ("redis:7-alpine", "tag"),
        ("${{ matrix.image }}", "expression"),
    ],
)
def test_classify_image(image: str, kind: str) -> None:
    assert classify_image(image) == kind


# --- where uses: is read, and where it is not -----------------------------------------------------


def test_every_location_and_nothing_else() -> None:
    result = run(f"""
        on:
          push:
        jobs:
          call:
            uses: o/r/.github/workflows/x.yml@v1
          build:
            runs-on: ubuntu-latest
            container:
              image: node:20
            services:
              db:
                image: postgres@{DIGEST}
              cache:
                image: redis:latest
            steps:
              - uses: actions/checkout@v4
              - run: |
                  uses: evil/run-block@v1
                  echo "- uses: evil/run-block@v1"
              - uses: actions/setup-node@{SHA}
                with:
                  uses: evil/with-input@v1
              # - uses: evil/commented@v1
              - parallel:
                  - uses: p/one@v1
                  - uses: p/two@{SHA}
          short:
            container: alpine
            steps:
              - uses: docker://alpine:3
            runs-on: r
    """)
    assert rows(result) == [
        ("unpinned-uses", 5, 11, False),
        ("unpinned-image", 9, 14, False),
        ("unpinned-image", 14, 16, False),
        ("unpinned-uses", 16, 15, False),
        ("unpinned-uses", 25, 19, False),
        ("unpinned-image", 28, 16, False),
        ("unpinned-image", 30, 15, False),
    ]
    by_line = {f.location.line: f for f in result.findings if f.location}
    assert (
        by_line[5].properties["where"] == "job"
        and by_line[5].properties["kind"] == "reusable-workflow"
    )
    assert by_line[16].properties == {
        "where": "step",
        "job": "build",
        "step_index": 0,
        "value": "actions/checkout@v4",
        "kind": "repository",
        "ref_kind": "major-minor-tag",
        "owner": "actions",
        "repo": "checkout",
        "subpath": None,
        "ref": "v4",
        "policy": {"mode": "hash-pin", "pattern": "*"},
    }
    assert by_line[25].properties["where"] == "parallel-step"
    assert (by_line[25].properties["step_index"], by_line[25].properties["parallel_index"]) == (
        3,
        0,
    )
    assert by_line[9].properties["image_kind"] == "tag" and by_line[9].severity == "high"
    assert by_line[14].properties["image_kind"] == "latest" and by_line[14].severity == "critical"
    assert by_line[14].properties["service"] == "cache"
    assert by_line[28].properties["image_kind"] == "untagged"
    assert by_line[30].properties["where"] == "step" and by_line[30].properties["kind"] == "docker"
    assert result.verdict == "fail"
    assert result.facts["uses"] == 6 and result.facts["remote"] == 5 and result.facts["pinned"] == 2
    assert (
        result.facts["unpinned"] == 3
        and result.facts["images"] == 4
        and result.facts["images_pinned"] == 1
    )
    assert not any("evil" in str(f.properties.get("value")) for f in result.findings)


def test_yaml_forms_quoted_flow_block_trailing_space() -> None:
    result = run(f"""
        "on": push
        jobs:
          j:
            steps:
              - {{ uses: flow/map@v1, with: {{ a: 1 }} }}
              - uses: 'quoted/single@{SHA}  '
              - uses: "quoted/double@v2"
              - uses: >-
                  block/folded@v3
              - uses: |
                  block/literal@{SHA}
              - uses: plain/trailing@{SHA}{"   "}
              - {{uses: "flow/quoted@{SHA_UPPER}"}}
            runs-on: r
    """)
    assert rows(result) == [
        ("unpinned-uses", 5, 17, False),
        ("unpinned-uses", 7, 15, False),
        ("unpinned-uses", 8, 15, False),
        ("noncanonical-sha", 13, 16, False),
    ]
    assert result.findings[2].properties["value"] == "block/folded@v3"
    assert result.findings[1].properties["quoted"] == '"'
    assert (
        result.facts["pinned"] == 4
    )  # single-quoted with spaces, literal block, trailing spaces, upper
    assert result.verdict == "fail"


def test_on_stays_a_key_and_yes_no_keys_are_text() -> None:
    result = run("""
        on: [push]
        jobs:
          yes:
            steps:
              - uses: a/b@v1
            runs-on: r
          no:
            uses: c/d/.github/workflows/w.yml@main
    """)
    assert [(f.properties["job"], f.location.line) for f in result.findings] == [
        ("yes", 5),
        ("no", 8),
    ]


def test_anchors_and_aliases_report_every_use() -> None:
    result = run(f"""
        jobs:
          a:
            steps: &steps
              - uses: x/y@v1
              - &pinned
                uses: x/z@{SHA}
            runs-on: r
          b:
            steps: *steps
            runs-on: r
          c:
            steps:
              - *pinned
              - uses: m/n@v9
            runs-on: r
        on: push
    """)
    unpinned = [
        (f.properties["job"], f.properties["step_index"], f.location.line) for f in result.findings
    ]
    assert unpinned == [("a", 0, 4), ("b", 0, 4), ("c", 1, 14)]
    assert result.facts["uses"] == 6  # 2 in a, 2 via the alias in b, 2 in c (one via an alias)
    assert result.facts["pinned"] == 3  # x/z in a, in b (alias), in c (alias)


def test_merge_keys_are_not_github_yaml() -> None:
    # GitHub resolves anchors and aliases but reads `<<` as an unknown key: the file is refused.
    result = run(f"""
        on: push
        jobs:
          c:
            runs-on: r
            steps:
              - &pinned
                uses: x/z@{SHA}
              - <<: *pinned
                name: merged
    """)
    assert result.verdict == "error"
    assert [(f.rule, f.location.line, f.message) for f in result.findings if f.location] == [
        ("invalid-file", 8, "w.yml: merge key `<<`: GitHub does not support YAML merge keys"),
        # As GitHub reads it, the step has a name and an unknown key, and neither `run` nor `uses`.
        (
            "invalid-file",
            8,
            "w.yml: job 'c' step 1: needs exactly one of `run`, `uses`, `wait`, `wait-all`, `cancel`, "
            "`parallel` (has none)",
        ),
    ]


def test_alias_bomb_is_bounded() -> None:
    # "Billion laughs": twelve levels of ten aliases (10^12 leaves if expanded), under a top-level key and
    # inside a step's `with:`. Composed as shared nodes, and the walk only visits jobs/steps, so this is
    # instant and finds the one real use.
    lines = ["env:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 12)]
    lines += [
        "jobs:",
        "  j:",
        "    steps:",
        "      - uses: a/b@v1",
        "        with: {payload: *l11}",
        "    runs-on: r",
        "on: push",
    ]
    result = check_text("bomb.yml", "workflow", "\n".join(lines) + "\n")
    assert [(f.rule, f.location.line if f.location else None) for f in result.findings] == [
        ("unpinned-uses", 17)
    ]


def test_job_that_is_a_list_is_an_error() -> None:
    result = run("""
        on: push
        jobs:
          j: &l [a, b]
          k: *l
    """)
    assert result.verdict == "error"
    assert [(f.rule, f.location.line if f.location else None) for f in result.findings] == [
        ("invalid-file", 3),
        ("invalid-file", 3),  # k is the same node, written on line 3
    ]
    assert "job 'j' is not a mapping" in result.findings[0].message
    assert "job 'k' is not a mapping" in result.findings[1].message


def test_alias_fanout_over_budget_is_refused_not_walked() -> None:
    steps = "[" + ", ".join(["{uses: a/b@v1}"] * 1000) + "]"
    jobs = "\n".join(f"  j{i}: {{runs-on: r, steps: *s}}" for i in range(200))
    text = f"on:\n  push: &s {steps}\njobs:\n{jobs}\n"
    result = check_text("fan.yml", "workflow", text)
    assert result.verdict == "error"
    assert "alias expansion" in result.findings[0].message


def test_recursive_alias_does_not_loop() -> None:
    result = run("""
        jobs:
          j: &j
            steps:
              - <<: *j
                uses: a/b@v1
            runs-on: r
        on: push
    """)
    # libyaml accepts the self-reference; every walk visits each node once and stops.
    assert result.verdict == "error"
    assert [(f.location.line, f.message) for f in result.findings if f.location] == [
        (4, "w.yml: merge key `<<`: GitHub does not support YAML merge keys")
    ]


def test_multi_document_file_is_not_a_workflow() -> None:
    # GitHub parses a workflow as one YAML document; a second one is an error there, and here.
    one = "on: push\njobs:\n  one:\n    runs-on: r\n    steps:\n      - uses: a/b@v1\n"
    result = check_text("w.yml", "workflow", one + "---\n" + one.replace("a/b@v1", f"c/d@{SHA}"))
    assert result.verdict == "error"
    assert [(f.rule, f.location.line if f.location else None) for f in result.findings] == [
        ("invalid-file", 8)
    ]
    assert "2 YAML documents" in result.findings[0].message
    # An empty document after `---` is no document.
    assert check_text("w.yml", "workflow", one + "---\n").verdict == "fail"


def test_invalid_uses_reported_and_run_continues() -> None:
    result = run(f"""
        jobs:
          j:
            steps:
              - uses: actions/checkout
              - uses: o/r@a@{SHA}
              - uses: ${{{{ matrix.action }}}}
              - uses: [not, a, string]
              - uses:
              - uses: nope@v1
              - uses: ./x@v1
              - uses: good/one@{SHA}
              - uses: bad/one@v1
            runs-on: r
        on: push
    """)
    assert [(f.rule, f.location.line, f.properties["ref_kind"]) for f in result.findings] == [
        ("invalid-uses", 4, "no-ref"),
        ("invalid-uses", 5, "multiple-at"),
        ("invalid-uses", 6, "expression"),
        ("invalid-uses", 7, "non-scalar"),
        ("invalid-uses", 8, "non-scalar"),
        ("invalid-uses", 9, "bad-slug"),
        ("unpinned-uses", 12, "major-minor-tag"),
    ]
    assert (
        result.facts["invalid"] == 6 and result.facts["local"] == 1 and result.facts["pinned"] == 1
    )


def test_version_comment_and_plain_comment() -> None:
    result = run(f"""
        jobs:
          j:
            steps:
              - uses: a/b@v4 # v4.2.2
              - uses: c/d@main  # pin@v7.0.1
              - uses: e/f@v1 # ratchet:exclude
              - uses: "g/h@v2" # tag=v2.0.1
              - uses: i/j@{SHA} # v9
            runs-on: r
        on: push
    """)
    got = [
        (f.properties.get("comment"), f.properties.get("version_comment")) for f in result.findings
    ]
    assert got == [
        ("v4.2.2", "v4.2.2"),
        ("pin@v7.0.1", "v7.0.1"),
        ("ratchet:exclude", None),
        ("tag=v2.0.1", "v2.0.1"),
    ]


# --- composite and docker actions --------------------------------------------------------------------


def test_composite_action_steps() -> None:
    result = run(
        f"""
        name: x
        runs:
          using: "composite"
          steps:
            - uses: actions/cache@v4
            - uses: ./local
            - uses: docker://ghcr.io/o/i:1@{DIGEST}
            - uses: actions/setup-go@{SHA}
    """,
        kind="action",
    )
    assert rows(result) == [("unpinned-uses", 5, 13, False)]
    assert result.findings[0].properties["where"] == "composite-step"
    assert "job" not in result.findings[0].properties
    assert result.facts["using"] == "composite" and result.facts["docker"] == 1


def test_steps_in_a_non_composite_action_are_refused_not_ignored() -> None:
    result = run(
        """
        runs:
          using: node20
          main: index.js
          steps:
            - uses: a/b@v1
    """,
        kind="action",
    )
    assert result.verdict == "error"
    assert [(f.rule, f.location.line if f.location else None) for f in result.findings] == [
        ("invalid-file", 4)
    ]
    assert "unknown key 'steps'" in result.findings[0].message
    assert run("runs: {using: node24, main: index.js}", kind="action").verdict == "pass"


@pytest.mark.parametrize(
    ("image", "findings"),
    [
        ("Dockerfile", []),
        ("docker://ghcr.io/o/i:v2.4.4", [("unpinned-image", "tag")]),
        ("docker://ghcr.io/o/i", [("unpinned-image", "untagged")]),
        ("docker://ghcr.io/o/i@sha256:abc", [("unpinned-image", "bad-digest")]),
        (f"docker://ghcr.io/o/i@{DIGEST}", []),
    ],
)
def test_docker_action_image(image: str, findings: list[tuple[str, str]]) -> None:
    result = run(
        f"""
        runs:
          using: docker
          image: '{image}'
    """,
        kind="action",
    )
    assert [(f.rule, f.properties["image_kind"]) for f in result.findings] == findings
    assert result.verdict == ("fail" if findings else "pass")


def test_an_action_checked_as_a_workflow_is_not_a_workflow() -> None:
    # "runs:" only makes an action in an action file; in a workflow file it is an unknown key.
    result = run("""
        runs:
          using: composite
          steps:
            - uses: a/b@v1
    """)
    assert result.verdict == "error"
    assert [f.message for f in result.findings] == [
        "w.yml: not a workflow: no top-level `on` or `jobs` (top-level keys: runs)"
    ]


# --- policy patterns ----------------------------------------------------------------------------------

POLICY_WF = f"""
    jobs:
      j:
        steps:
          - uses: actions/checkout@v4
          - uses: Actions/Setup-Node@v4
          - uses: github/codeql-action/init@v3
          - uses: github/codeql-action/analyze@v3
          - uses: TJ-Actions/changed-files@v46
          - uses: other/thing@main
          - uses: acme/tool@{SHA_UPPER}
        runs-on: r
    on: push
"""


def unpinned_values(result: CheckResult) -> list[str]:
    return [f.properties["value"] for f in result.findings if f.rule == "unpinned-uses"]


def test_default_policy_is_hash_pin_everywhere() -> None:
    result = run(POLICY_WF)
    assert len(unpinned_values(result)) == 6


def test_policy_most_specific_wins_case_insensitive() -> None:
    config = {
        "policy": {
            "*": "ref-pin",
            "actions/*": "ref-pin",
            "actions/setup-node": "hash-pin",
            "github/codeql-action/*": "ref-pin",
            "github/codeql-action/analyze": "hash-pin",
            "tj-actions/*": "hash-pin",
        }
    }
    result = run(POLICY_WF, config=config)
    assert unpinned_values(result) == [
        "Actions/Setup-Node@v4",  # owner/repo exact beats owner/*, matched case-insensitively
        "github/codeql-action/analyze@v3",  # owner/repo/path beats owner/repo/*
        "TJ-Actions/changed-files@v46",  # does not escape a lowercase owner/* rule
    ]
    assert result.facts["allowed_by_policy"] == 3
    # noncanonical-sha is a hash-pin concern only: under ref-pin it is not reported.
    assert not [f for f in result.findings if f.rule == "noncanonical-sha"]
    by_value = {f.properties["value"]: f.properties["policy"] for f in result.findings}
    assert by_value["Actions/Setup-Node@v4"] == {
        "mode": "hash-pin",
        "pattern": "Actions/Setup-Node",
    }
    assert by_value["github/codeql-action/analyze@v3"]["pattern"] == "github/codeql-action/analyze"


def test_owner_repo_pattern_does_not_cover_subpaths() -> None:
    config = {"policy": {"*": "hash-pin", "github/codeql-action": "any"}}
    result = run(POLICY_WF, config=config)
    assert "github/codeql-action/init@v3" in unpinned_values(result)
    config = {"policy": {"*": "hash-pin", "github/codeql-action/*": "any"}}
    assert "github/codeql-action/init@v3" not in unpinned_values(run(POLICY_WF, config=config))


def test_any_still_reports_invalid_uses() -> None:
    result = run(
        """
        jobs:
          j:
            steps:
              - uses: a/b
              - uses: a/c@v1
            runs-on: r
        on: push
    """,
        config={"policy": {"*": "any"}},
    )
    assert rows(result) == [("invalid-uses", 4, 15, False)]


@pytest.mark.parametrize(
    "policy",
    [
        {"*": "pin"},
        {"a/b/c/*/d": "any"},
        {"a": "any"},
        {"*/b": "any"},
        {"a/*/c": "any"},
        ["*"],
    ],
)
def test_bad_policy_is_a_config_error(policy: object) -> None:
    with pytest.raises(ConfigError):
        PinPolicy.from_config({"policy": policy})


# --- waivers ------------------------------------------------------------------------------------------


def test_ignore_comment_with_reason_waives() -> None:
    result = run("""
        jobs:
          j:
            steps:
              - uses: a/b@v1 # v1.0.0 # verifier: ignore[unpinned-uses] vendored, reviewed in SEC-12
              # verifier: ignore[unpinned-uses]: first-party, tag protected
              - uses: c/d@v2
              - uses: e/f@v3 # verifier: ignore[unpinned-uses]
              - uses: g/h@v4 # verifier: ignore[unpinned-image] wrong rule
            container:
              image: node:20 # verifier: ignore[unpinned-image] - base image mirrored internally
            runs-on: r
        on: push
    """)
    got = [
        (
            f.location.line,
            f.waived,
            f.waiver_reason,
            f.properties.get("ignore_rejected") is not None,
        )
        for f in result.findings
    ]
    assert got == [
        (4, True, "vendored, reviewed in SEC-12", False),
        (6, True, "first-party, tag protected", False),
        (7, False, None, True),  # no reason: not waived, and said so
        (8, False, None, False),
        (10, True, "base image mirrored internally", False),
    ]
    assert result.findings[0].properties["version_comment"] == "v1.0.0"
    assert result.facts["waived"] == 3
    assert result.verdict == "fail"


def test_all_waived_passes() -> None:
    result = run("""
        jobs:
          j:
            steps:
              - uses: a/b@v1 # verifier: ignore[unpinned-uses] reviewed
            runs-on: r
        on: push
    """)
    assert result.verdict == "pass" and result.findings[0].waived


def test_ignore_text_inside_a_scalar_is_not_a_waiver() -> None:
    result = run("""
        jobs:
          j:
            steps:
              - uses: "a/b@v1 # verifier: ignore[unpinned-uses] nope"
            runs-on: r
        on: push
    """)
    assert [(f.rule, f.waived) for f in result.findings] == [("invalid-uses", False)]


# --- local action from another repository's checkout ----------------------------------------------


def test_local_action_under_foreign_checkout() -> None:
    result = run(f"""
        jobs:
          j:
            steps:
              - uses: ./before
              - uses: actions/checkout@{SHA}
                with:
                  repository: other/tools
                  path: tools
              - uses: ./tools/lint
              - uses: ./toolsmith
              - uses: actions/checkout@{SHA}
                with:
                  repository: other/pinned
                  ref: {SHA}
                  path: ./pinned/
              - uses: ./pinned
              - uses: actions/checkout@{SHA}
                with:
                  repository: ${{{{ github.repository }}}}
                  path: self
              - uses: ./self/action
            runs-on: r
          k:
            steps:
              - uses: ./tools/lint
              - uses: actions/checkout@{SHA}
                with:
                  repository: ${{{{ github.event.pull_request.head.repo.full_name }}}}
              - uses: ./
            runs-on: r
        on: push
    """)
    got = [
        (f.location.line, f.severity.value, f.properties["pinned"], f.properties["checkout_line"])
        for f in result.findings
    ]
    assert got == [(9, "medium", False, 5), (16, "low", True, 11), (29, "medium", False, 26)]
    assert all(f.rule == "local-action-checkout" for f in result.findings)
    # Reported, but not a pinning failure by itself: the default policy only warns.
    assert result.verdict == "pass"


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        (
            "on: push\njobs:\n  j:\n    steps:\n      - uses: a/b@v1\n     bad: [\n",
            "YAML syntax error",
            6,
        ),
        ("- uses: a/b@v1\n", "not a workflow: the top level is not a mapping", 1),
        ("just a string\n", "not a workflow: the top level is not a mapping", 1),
        ("", "empty: no YAML document, so not a workflow", None),
        ("# only a comment\n", "empty: no YAML document", None),
        ("on: push\njobs: [a, b]\n", "`jobs` is not a mapping", 2),
        ("on: push\njobs: {}\n", "`jobs` is empty", 2),
        ("on: push\njobs:\n", "`jobs` is not a mapping", 2),
        (
            "on: push\njobs:\n  j:\n    runs-on: r\n    steps: {uses: a/b@v1}\n",
            "`steps` is not a list",
            5,
        ),
        ("on: push\njobs:\n  j:\n    runs-on: r\n    steps:\n", "`steps` is not a list", 5),
        (
            "on: push\njobs:\n  j:\n    runs-on: r\n    steps:\n      - [uses, a/b@v1]\n",
            "job 'j' step 0 is not a mapping",
            6,
        ),
        ("a: \x07\n", "not valid YAML", None),
    ],
)
def test_bad_yaml_is_an_error_result_naming_the_file(
    text: str, problem: str, line: int | None
) -> None:
    result = check_text("bad/w.yml", "workflow", text)
    assert result.verdict == "error"
    (finding,) = result.findings
    assert finding.rule == "invalid-file" and finding.severity == "high"
    assert problem in finding.message and finding.message.startswith("bad/w.yml: ")
    assert finding.location is not None and finding.location.path == "bad/w.yml"
    assert finding.location.line == line


def test_check_files_continues_after_bad_files() -> None:
    results = check_files(
        [
            ("a.yml", "workflow", None, "binary file (contains NUL bytes), not YAML text"),
            ("b.yml", "workflow", "- list\n", None),
            (
                "c.yml",
                "workflow",
                "on: push\njobs:\n  j:\n    runs-on: r\n    steps:\n      - uses: a/b@v1\n",
                None,
            ),
        ]
    )
    assert [(r.subject, r.verdict) for r in results] == [
        ("a.yml", "error"),
        ("b.yml", "error"),
        ("c.yml", "fail"),
    ]
    assert "binary" in results[0].findings[0].message


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    result = check_text("deep.yml", "workflow", "jobs: " + "[" * 5000 + "]" * 5000 + "\n")
    assert result.verdict == "error" and "nesting" in result.findings[0].message


def test_checkout_of_this_repository_again_restores_the_path() -> None:
    result = run(f"""
        jobs:
          j:
            steps:
              - uses: actions/checkout@{SHA}
                with: {{repository: other/repo}}
              - uses: ./a
              - uses: actions/checkout@{SHA}
                with: {{path: a}}
              - uses: ./a/b
              - uses: ./c
              - uses: actions/checkout@{SHA}
              - uses: ./c
            runs-on: r
        on: push
    """)
    # ./a (line 6) and ./c (line 10) come from other/repo; ./a/b (line 9) and the last ./c (line 12) do not.
    assert [f.location.line for f in result.findings if f.location] == [6, 10]


def test_checkout_path_expression_is_assumed_to_cover() -> None:
    result = run(f"""
        jobs:
          j:
            steps:
              - uses: actions/checkout@{SHA}
                with:
                  repository: other/repo
                  path: ${{{{ inputs.dir }}}}
                  ref: v1
              - uses: ./tools
            runs-on: r
        on: push
    """)
    (finding,) = result.findings
    assert finding.rule == "local-action-checkout" and finding.properties["checkout_ref"] == "v1"
    assert (
        finding.severity == "medium" and "'v1', which is not a full commit SHA" in finding.message
    )


def test_crlf_line_endings_keep_lines_columns_and_comments() -> None:
    text = (
        "jobs:\r\n  j:\r\n    steps:\r\n      - uses: a/b@v1 # v1.2.3\r\n      - uses: c/d@main\r\n"
        "    runs-on: r\r\non: push\r\n"
    )
    result = check_text("crlf.yml", "workflow", text)
    assert [
        (f.location.line, f.location.column, f.properties.get("version_comment"))
        for f in result.findings
        if f.location
    ] == [(4, 15, "v1.2.3"), (5, 15, None)]


DUPLICATE_BASE = """\
on: push
jobs:
  build:
    runs-on: r
    env:
      FOO: foo
    steps:
      - uses: a/b@{sha}
        with:
          x: 1
"""


@pytest.mark.parametrize(
    ("edit", "line", "key"),
    [
        (
            ("      - uses: a/b@{sha}\n", "      - uses: a/b@{sha}\n        uses: c/d@v1\n"),
            9,
            "uses",
        ),
        (("    runs-on: r\n", "    runs-on: r\n    runs-on: s\n"), 5, "runs-on"),
        (("      FOO: foo\n", "      FOO: foo\n      foo: bar\n"), 7, "foo"),  # GitHub ignores case
        (("  build:\n", "  Build:\n    runs-on: r\n    steps: []\n  build:\n"), 6, "build"),
        (("on: push\n", "on: push\n'on': pull_request\n"), 2, "on"),
        (("          x: 1\n", "          x: 1\n          X: 2\n"), 11, "X"),
    ],
)
def test_duplicate_keys_anywhere_make_the_file_invalid(
    edit: tuple[str, str], line: int, key: str
) -> None:
    base = DUPLICATE_BASE.format(sha=SHA)
    assert check_text("w.yml", "workflow", base).verdict == "pass"
    old, new = (part.format(sha=SHA) for part in edit)
    result = check_text("w.yml", "workflow", base.replace(old, new))
    assert result.verdict == "error"
    assert [(f.rule, f.location.line if f.location else None) for f in result.findings] == [
        ("invalid-file", line)
    ]
    assert f"duplicate key {key!r} (first defined on line" in result.findings[0].message


def test_aliases_are_not_duplicates() -> None:
    result = run(f"""
        on: push
        jobs:
          j:
            runs-on: r
            steps:
              - &step
                uses: a/b@{SHA}
                with: &w {{x: 1}}
              - uses: c/d@{SHA}
                with: *w
              - *step
    """)
    assert result.verdict == "pass" and result.facts["uses"] == 3


def test_multiline_literal_uses_is_invalid() -> None:
    result = run("""
        jobs:
          j:
            steps:
              - uses: |
                  a/b@v1
                  c/d@v2
            runs-on: r
        on: push
    """)
    assert [(f.rule, f.properties["ref_kind"]) for f in result.findings] == [
        ("invalid-uses", "whitespace")
    ]


def test_every_rule_has_a_docs_anchor() -> None:
    from pathlib import Path

    from verifier.checks.actions_pinned import META, RULES

    page = (
        Path(__file__).resolve().parents[3] / "docs" / "checks" / "actions-pinned.md"
    ).read_text()
    headings = {line[4:].strip() for line in page.splitlines() if line.startswith("### ")}
    assert set(RULES) <= headings
    assert META.rule_url("unpinned-uses").endswith("/docs/checks/actions-pinned.md#unpinned-uses")


def test_matrix_images_are_resolved_to_each_value() -> None:
    result = run(f"""
        on: push
        jobs:
          j:
            runs-on: r
            strategy:
              matrix:
                img: ["alpine@{DIGEST}", "debian:12"]
                include:
                  - img: ubuntu
            container: ${{{{ matrix.img }}}}
            services:
              db:
                image: ${{{{ matrix.db }}}}
          k:
            runs-on: r
            strategy:
              matrix:
                img: ${{{{ fromJSON(inputs.images) }}}}
            container:
              image: ${{{{ matrix.img }}}}
    """)
    got = [
        (f.location.line, f.properties["image_kind"], f.properties.get("via_matrix"))
        for f in result.findings
        if f.location
    ]
    assert got == [
        (7, "tag", "img"),  # debian:12, at its place in the matrix
        (9, "untagged", "img"),  # ubuntu from include
        (20, "expression", None),  # the axis itself is an expression: values unknown
    ]
    # matrix.db is in no combination: null, so no service container (as GitHub reads it).
    assert result.facts["images"] == 4 and result.facts["images_pinned"] == 1
    assert "(from matrix.img)" in result.findings[0].message
    assert result.findings[0].properties["expression"] == "${{ matrix.img }}"


def test_check_files_pauses_the_collector_and_puts_it_back() -> None:
    import gc

    from verifier._internal.collector import collector_paused

    seen: list[bool] = []

    def rows() -> Any:
        seen.append(gc.isenabled())
        yield ("a.yml", "workflow", None, "unreadable")
        seen.append(gc.isenabled())

    assert gc.isenabled()
    check_files(rows())
    assert seen == [False, False] and gc.isenabled()
    # A caller that disabled it itself keeps it disabled; an exception restores it too.
    gc.disable()
    try:
        check_files(rows())
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ConfigError):
        check_files(rows(), {"policy": {"*": "pinned"}})
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_computed_services_and_templated_images() -> None:
    result = run(f"""
        on: push
        jobs:
          j:
            runs-on: r
            services: ${{{{ fromJSON(inputs.services) }}}}
            container:
              image: ghcr.io/o/i:${{{{ matrix.v }}}}
            strategy:
              matrix:
                v: ['1', '2@{DIGEST}']
    """)
    got = [
        (f.location.line, f.properties["image_kind"], f.message)
        for f in result.findings
        if f.location
    ]
    assert got == [
        (
            5,
            "expression",
            "job 'j' services: image ${{ fromJSON(inputs.services) }} is an expression, so its "
            "pinning cannot be checked; pin it with @sha256:<digest>",
        ),
        (
            10,
            "tag",
            "job 'j' container: image ghcr.io/o/i:1 (from matrix.v) is pinned by tag only; pin it "
            "with @sha256:<digest>",
        ),
    ]
    assert result.facts["images"] == 3 and result.facts["images_pinned"] == 1


def test_mutated_real_files_never_raise() -> None:
    """Bounded mutation run over the real and zizmor corpora (line deletions, duplications, indents,
    renamed keys, stray anchors/aliases/quotes/expressions): always a result, never an exception."""
    import random
    from pathlib import Path

    upstream = Path(__file__).resolve().parents[2] / "assets" / "upstream"
    files = sorted((upstream / "workflows").rglob("*.y*ml"))
    files += sorted((upstream / "zizmor-test-data").rglob("*.y*ml"))
    rng = random.Random(19)  # noqa: S311 - reproducible cases, not cryptography
    verdicts: dict[str, int] = {}
    for _ in range(300):
        path = rng.choice(files)
        lines = path.read_text(encoding="utf-8").split("\n")
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(lines))
            op = rng.random()
            if op < 0.3 and len(lines) > 1:
                del lines[i]
            elif op < 0.5:
                lines.insert(i, lines[rng.randrange(len(lines))])
            elif op < 0.7:
                lines[i] = lines[i].replace("uses", rng.choice(["use", "Uses", "run"]))
            elif op < 0.85:
                lines[i] = "  " + lines[i]
            else:
                lines[i] += rng.choice([" ${{ matrix.x }}", " &a", " *a", ": x", " ''", "'"])
        kind = "action" if path.name.startswith("action.") else "workflow"
        result = check_text(str(path), kind, "\n".join(lines))
        verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
    assert set(verdicts) == {"pass", "fail", "error"}
