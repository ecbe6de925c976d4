"""Attestation files for the provenance check (offline): what each kind of file is read as, and bad input
named with its file and line (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier.errors import InputError
from verifier.models.provenance import (
    KIND_FILE_BUNDLE,
    KIND_FILE_ENVELOPE,
    KIND_FILE_STATEMENT,
    KIND_GCLOUD,
)
from verifier.sources.provenance import collect_file_provenance, read_attestation_file

PROV = Path(__file__).parents[2] / "assets" / "upstream" / "provenance"


@pytest.mark.parametrize(
    ("rel", "kinds"),
    [
        (
            "slsa-verifier/cli/slsa-verifier/testdata/bcr/MODULE.bazel.intoto.jsonl",
            [KIND_FILE_BUNDLE],
        ),
        ("gh-cli/pkg/cmd/attestation/test/data/github_release_bundle.json", [KIND_FILE_BUNDLE]),
        ("docker-attest/test/testdata/example_attestation.json", [KIND_FILE_ENVELOPE]),
        ("actions-buildtypes/workflow/v1/example.json", [KIND_FILE_STATEMENT]),
        (
            "slsa-verifier/cli/slsa-verifier/testdata/gcb_container/v0.3/gcloud-container-github.json",
            [KIND_GCLOUD],
        ),
    ],
)
def test_kinds(rel: str, kinds: list[str]) -> None:
    assert [i.kind for i in read_attestation_file(PROV / rel)] == kinds


def test_gh_attestation_download_jsonl_with_wrapped_bundles(tmp_path: Path) -> None:
    bundle = json.loads(
        (PROV / "gh-cli/pkg/cmd/attestation/test/data/github_release_bundle.json").read_bytes()
    )
    path = tmp_path / "sha256:abc.jsonl"
    path.write_text(json.dumps({"bundle": bundle}) + "\n\n" + json.dumps(bundle) + "\n")
    items = read_attestation_file(path)
    assert [i.kind for i in items] == [KIND_FILE_BUNDLE, KIND_FILE_BUNDLE]
    assert items[0].where.endswith(":1") and items[1].where.endswith(":3")
    evidence = collect_file_provenance([path], "sha256:" + "a" * 64)
    assert evidence.source == "files" and len(evidence.items) == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no attestation"),
        ("{}\n", "not a Sigstore bundle"),
        ('{"_type": "x"}\nnot json\n', "line 2 is not JSON"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_bad_files_are_input_errors(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "att.jsonl"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_attestation_file(path)
    assert problem in str(err.value) and str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_attestation_file(tmp_path / "nope.jsonl")
