"""load_yaml: the one safe YAML loader for user documents (issue 19): same values as PyYAML's safe_load on
every real document, and a clear InputError naming the file and the line on every hostile one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import InputError
from verifier.sources.yaml_files import MAX_DEPTH, MAX_INT_CHARS, load_yaml

REPO = Path(__file__).resolve().parents[3]
REAL_YAML = sorted(
    [
        *(REPO / "fixtures").rglob("*.yaml"),
        *(REPO / "deploy").rglob("values*.yaml"),
        *(REPO / "tests" / "assets" / "upstream" / "workflows").rglob("*.yml"),
        *(REPO / "tests" / "assets" / "upstream" / "trivyignore").rglob("*.yaml"),
    ]
)


def _refused(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_yaml(text, "conf/verifier.yaml")
    assert info.value.path == "conf/verifier.yaml"
    return info.value


def _has_duplicate_keys(text: str) -> bool:
    stack = [yaml.compose(text, Loader=yaml.CSafeLoader)]
    seen_nodes: set[int] = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
            if len(keys) != len(set(keys)):
                return True
            stack += [v for _, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return False


@pytest.mark.parametrize("path", REAL_YAML, ids=lambda p: str(p.relative_to(REPO)))
def test_same_values_as_pyyaml_on_real_documents(path: Path) -> None:
    """Differential against the reference (PyYAML safe_load): every real document loads to equal values."""
    text = path.read_text(encoding="utf-8")
    expected = yaml.safe_load(text)
    if _has_duplicate_keys(text):
        assert "duplicate key" in _refused(text).problem
    else:
        assert load_yaml(text, str(path)) == expected


def test_real_corpus_is_not_empty() -> None:
    assert len(REAL_YAML) > 50


_json_like: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(allow_nan=False),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(value=_json_like, flow=st.booleans())
def test_round_trip_of_dumped_values(value: Any, flow: bool) -> None:
    """Metamorphic: what PyYAML dumps (block or flow style), load_yaml reads back unchanged."""
    assert load_yaml(yaml.safe_dump(value, default_flow_style=flow), "x") == value


def test_empty_document_is_none() -> None:
    assert load_yaml("", "x") is None
    assert load_yaml("# only a comment\n", "x") is None


def test_nesting_limit_is_exact() -> None:
    ok = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert load_yaml(ok, "x") is not None
    too_deep = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert _refused(too_deep).problem == f"line 1: nested deeper than {MAX_DEPTH} levels"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # libyaml's own flow-nesting cap (it never recurses past it).
        ("a: " + "[" * 5000 + "]" * 5000, "exceeded maximum nesting depth"),
        # Below libyaml's cap, far above ours: PyYAML's constructor used to raise RecursionError here.
        ("a: " + "[" * 800 + "]" * 800, "line 1: nested deeper than 64 levels"),
        ("".join(" " * i + f"k{i}:\n" for i in range(200)), "nested deeper than 64 levels"),
    ],
)
def test_deep_nesting_is_refused(text: str, problem: str) -> None:
    assert problem in _refused(text).problem


def test_integer_size_limit() -> None:
    assert load_yaml("n: " + "9" * MAX_INT_CHARS, "x") == {"n": int("9" * MAX_INT_CHARS)}
    err = _refused("version: 1\nn: " + "9" * 5000)
    assert err.problem == f"line 2: integer of 5000 characters (the limit is {MAX_INT_CHARS})"
    # Sexagesimal integers are computed without the str->int digit limit: bounded by the same rule.
    assert "integer of" in _refused("n: " + ":".join(["59"] * 100)).problem


def test_duplicate_keys_name_both_lines() -> None:
    err = _refused("version: 1\nimage: a\nversion: 2\n")
    assert err.problem == "line 3: duplicate key 'version' (first at line 1)"
    assert "duplicate key 'b'" in _refused("a:\n  b: 1\n  b: 1\n").problem


def test_keys_must_be_scalars() -> None:
    assert "a mapping key must be a scalar" in _refused("? [1, 2]\n: x\n").problem
    assert "a mapping key must be a scalar" in _refused("? {a: 1}\n: x\n").problem


def test_aliases_are_shared_and_bounded() -> None:
    assert load_yaml("a: &x [1, 2]\nb: *x\n", "x") == {"a": [1, 2], "b": [1, 2]}
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    assert "expands to more than" in _refused("\n".join(lines)).problem
    assert "recursive alias" in _refused("a: &x [*x]\n").problem
    assert "recursive alias" in _refused("a: &x {b: *x}\n").problem
    deep = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30
    assert "nested deeper than 64 levels (through an alias)" in _refused(deep).problem


def test_merge_keys_follow_yaml_1_1() -> None:
    text = "base: &b {x: 1, y: 2}\nmore: &m {z: 3, x: 9}\nm:\n  <<: [*b, *m]\n  y: 3\n"
    assert load_yaml(text, "x") == yaml.safe_load(text)
    assert load_yaml(text, "x")["m"] == {"x": 1, "y": 3, "z": 3}
    assert "merge key" in _refused("m:\n  <<: 1\n").problem
    assert "merge key" in _refused("m: [<<]\n").problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: !!python/object:os.system x\n", "could not determine a constructor"),
        ("a: !Ref x\n", "could not determine a constructor"),
        ("a: !!set {x}\n", "unsupported tag 'tag:yaml.org,2002:set' on a mapping"),
        ("a: !!omap [b: 1]\n", "unsupported tag 'tag:yaml.org,2002:omap' on a sequence"),
        ("a: 1\nb: 2001-12-14 99:99:99\n", "line 2: bad timestamp value"),
        ("a: 1\n---\nb: 2\n", "not valid YAML at line 2 column 1"),
        ("a: [\n", "not valid YAML at line 2 column 1"),
        ('a: "\\ud800"\n', "invalid Unicode character escape code"),
        ("a: '\ud800'\n", "not valid text (character 4)"),
    ],
)
def test_unsupported_and_broken_documents(text: str, problem: str) -> None:
    assert problem in _refused(text).problem


def test_config_loader_uses_it(tmp_path: Path) -> None:
    """load_config goes through load_yaml: a duplicate key is an exit-2 error naming file and line."""
    from verifier.config import load_config

    path = tmp_path / "verifier.yaml"
    path.write_text("version: 1\ndecision_log: a.jsonl\ndecision_log: b.jsonl\n")
    with pytest.raises(InputError, match=r"verifier.yaml: line 3: duplicate key 'decision_log'"):
        load_config(path)
