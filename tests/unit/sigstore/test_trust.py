"""The pinned trust roots and trusted_root.json parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sigstore_helpers import CONFORMANCE

from verifier.errors import InputError
from verifier.sigstore.trust import PINNED_STAGING_ROOT, PINNED_TRUSTED_ROOT, parse_trust_root
from verifier.sources.trust_roots import load_trust_root


def _norm(x: object) -> object:
    if isinstance(x, dict):
        return {k: _norm(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [_norm(v) for v in x]
    if isinstance(x, str) and x.endswith("Z") and "T" in x:
        return x.replace(".000Z", "Z").replace(".999000Z", ".999Z")
    return x


def test_pinned_root_is_the_production_root_of_the_conformance_suite() -> None:
    """Its provenance (SOURCES.md): the suite's exported production root with its documented edit reverted."""
    exported = json.loads(
        (CONFORMANCE / "trust-root-tlog-validity-end-inclusive" / "trusted_root.json").read_text()
    )
    assert exported["tlogs"][0]["publicKey"]["validFor"].pop("end") == "2023-07-12T15:56:36Z"
    assert json.loads(PINNED_TRUSTED_ROOT.read_text()) == exported


def test_pinned_root_matches_sigstore_pythons_embedded_production_root() -> None:
    import sigstore

    embedded = (
        Path(sigstore.__file__).parent
        / "_store"
        / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
        / "trusted_root.json"
    )
    assert _norm(json.loads(PINNED_TRUSTED_ROOT.read_text())) == _norm(
        json.loads(embedded.read_text())
    )


def test_pinned_staging_root_is_sigstore_pythons_embedded_staging_root() -> None:
    """Byte for byte: a sigstore-python upgrade that brings a newer staging root shows up here."""
    import sigstore

    embedded = (
        Path(sigstore.__file__).parent
        / "_store"
        / "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"
        / "trusted_root.json"
    )
    assert PINNED_STAGING_ROOT.read_bytes() == embedded.read_bytes()


def test_pinned_roots_parse() -> None:
    prod = load_trust_root(None)
    assert [k.key_id.hex()[:8] for k in prod.tlogs] == ["c0d23d6a", "cf119915"]
    assert len(prod.fulcio) == 2 and len(prod.ctlogs) == 2 and len(prod.tsas) == 1
    assert prod.tlogs[0].valid.end is None
    staging = load_trust_root(PINNED_STAGING_ROOT)
    assert all(k.key_id not in {p.key_id for p in prod.tlogs} for k in staging.tlogs)
    assert (
        len(staging.tlogs) == 4 and len(staging.ctlogs) == 4
    )  # Rekor v1 + three v2 logs; 2026 CT key


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d.update(mediaType="application/json"), "unsupported trusted root mediaType"),
        (
            lambda d: d["tlogs"][0]["publicKey"].pop("validFor"),
            "tlogs[0].publicKey: validFor.start is required",
        ),
        (
            lambda d: d["tlogs"][0]["publicKey"].update(rawBytes="!!"),
            "tlogs[0].publicKey.rawBytes: invalid base64",
        ),
        (
            lambda d: d["certificateAuthorities"][0]["certChain"].update(certificates=[]),
            "certificateAuthorities[0]: certChain.certificates must not be empty",
        ),
        (
            lambda d: d["ctlogs"][1]["publicKey"]["validFor"].update(start="yesterday"),
            "ctlogs[1].publicKey: bad validFor",
        ),
    ],
)
def test_bad_trusted_roots_name_the_field(edit: object, problem: str) -> None:
    doc = json.loads(PINNED_TRUSTED_ROOT.read_text())
    edit(doc)  # type: ignore[operator]
    with pytest.raises(InputError) as err:
        parse_trust_root(json.dumps(doc).encode(), "root.json")
    assert err.value.path == "root.json" and problem in err.value.problem


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        parse_trust_root(b"{", "r.json")
    with pytest.raises(InputError, match="no such file"):
        load_trust_root(tmp_path / "absent.json")
