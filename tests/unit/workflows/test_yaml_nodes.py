"""verifier.workflows.yaml_nodes: libyaml compose with exact marks, comments read back from the text."""

from __future__ import annotations

import pytest

from verifier.errors import InputError
from verifier.workflows.yaml_nodes import (
    MappingNode,
    ScalarNode,
    SequenceNode,
    SourceText,
    compose_documents,
    is_null,
    mapping_get,
    mapping_items,
    position,
)


def one(text: str) -> MappingNode:
    (doc,) = compose_documents(text, "t.yml")
    assert isinstance(doc, MappingNode)
    return doc


def test_keys_stay_text_including_on_yes_no() -> None:
    doc = one("on: push\nyes: 1\nNo: 2\n~: 3\n")
    keys = [(k, key.tag) for k, key, _v, _m in mapping_items(doc)]
    assert [k for k, _t in keys] == ["on", "yes", "No", "~"]
    assert keys[0][1] == "tag:yaml.org,2002:str"
    assert keys[3][1] == "tag:yaml.org,2002:null"


def test_positions_are_one_based_and_exact() -> None:
    doc = one("a:\n  - b: 'x'\n  - {c: d}\n")
    seq = mapping_get(doc, "a")
    assert isinstance(seq, SequenceNode)
    first = mapping_get(seq.value[0], "b")
    second = mapping_get(seq.value[1], "c")
    assert first is not None and second is not None
    assert position(first) == (2, 8)  # the opening quote
    assert position(second) == (3, 9)


def test_null_detection() -> None:
    doc = one("a:\nb: ~\nc: null\nd: ''\ne: 'null'\n")
    assert [is_null(v) for _k, _kn, v, _m in mapping_items(doc)] == [True, True, True, False, False]


def test_merge_keys_followed_once_even_when_recursive() -> None:
    doc = one("base: &b {x: 1, <<: *b}\nuse:\n  <<: [*b, {y: 2}]\n  z: 3\n")
    use = mapping_get(doc, "use")
    assert isinstance(use, MappingNode)
    assert [(k, m) for k, _kn, _v, m in mapping_items(use)] == [
        ("z", False),
        ("x", True),
        ("y", True),
    ]


def test_quoted_merge_key_is_an_ordinary_key() -> None:
    doc = one("base: &b {x: 1}\nuse: {'<<': *b}\n")
    use = mapping_get(doc, "use")
    assert isinstance(use, MappingNode)
    assert [k for k, _kn, _v, _m in mapping_items(use)] == ["<<"]


def test_alias_bomb_composes_as_shared_nodes() -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 12)]
    doc = one("\n".join(lines) + "\n")  # 10^12 leaves if expanded
    top = mapping_get(doc, "l11")
    assert isinstance(top, SequenceNode)
    assert all(child is top.value[0] for child in top.value)


def test_multi_document() -> None:
    docs = compose_documents("a: 1\n---\nb: 2\n--- \n...\n", "t.yml")
    assert len(docs) == 3 and is_null(docs[2])


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("a: [1\n", "t.yml: YAML syntax error at line 2 column 1"),
        ("a: 'x\n", "t.yml: YAML syntax error at line 2 column 1"),
        ("a: b\n c\nd: [e}\n", "t.yml: YAML syntax error at line 3 column 6"),
        ("a: *nope\n", "t.yml: YAML syntax error at line 1 column 4: found undefined alias"),
        ("a: \x00\n", "t.yml: not valid YAML"),
    ],
)
def test_syntax_errors_name_the_file_and_position(text: str, expect: str) -> None:
    with pytest.raises(InputError) as err:
        compose_documents(text, "t.yml")
    assert str(err.value).startswith(expect)


def test_comment_after_plain_quoted_flow_and_block() -> None:
    text = (
        "a: x@v1 # v1.2.3\n"
        "b: 'y # not a comment' #  c2 \n"
        "c: {k: z@v2}  # c3\n"
        "d: >- # c4\n"
        "  folded\n"
        "e: w#not\n"
        "f: v\n"
    )
    src = SourceText(text)
    doc = one(text)
    got = {k: src.comment_after(v) for k, _kn, v, _m in mapping_items(doc)}
    inner = mapping_get(mapping_get(doc, "c") or doc, "k")
    assert inner is not None
    assert got["a"] == "v1.2.3"
    assert got["b"] == "c2"
    assert src.comment_after(inner) == "c3"
    assert got["d"] == "c4"
    assert got["e"] is None and got["f"] is None


def test_comment_above() -> None:
    text = "steps:\n  # verifier: x\n  - uses: a\n  - uses: b\n"
    src = SourceText(text)
    doc = one(text)
    steps = mapping_get(doc, "steps")
    assert isinstance(steps, SequenceNode)
    keys = [kn for step in steps.value for k, kn, _v, _m in mapping_items(step) if k == "uses"]
    assert [src.comment_above(k) for k in keys] == ["verifier: x", None]


def test_lines_split_like_yaml_not_like_splitlines() -> None:
    # \u2028 and NEL are YAML line breaks (libyaml counts them); str.split("\n") would not see them.
    text = "a: x\x85b: 1 # one\u2028c: 2 # two\n"
    src = SourceText(text)
    doc = one(text)
    c = mapping_get(doc, "c")
    assert isinstance(c, ScalarNode) and position(c) == (3, 4)
    assert src.comment_after(c) == "two"
    assert src.line(1) == "a: x"
    assert src.comment_after(mapping_get(doc, "b") or doc) == "one"
