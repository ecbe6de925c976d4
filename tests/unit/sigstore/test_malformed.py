"""Bad input never crashes: every field of real bundles, a trust root and a cosign bundle annotation deleted
or replaced by a value of the wrong type gives a VerificationFailure (or InputError for a trust root), never
another exception."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sigstore_helpers import (
    CIMG,
    CONFORMANCE,
    SIGNATURE_ASSETS,
    fixture_signatures,
    manifest_digest,
)

from verifier.errors import InputError
from verifier.sigstore.bundle import verify_bundle
from verifier.sigstore.errors import VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.keys import load_pem_public_key
from verifier.sigstore.legacy import verify_signature_layer
from verifier.sigstore.trust import PINNED_TRUSTED_ROOT, parse_trust_root
from verifier.sources.trust_roots import load_trust_root

ANY = IdentityPolicy(identity_regexp=".*")
WRONG_VALUES: tuple[Any, ...] = (7, [1], "x", None, {})


def _paths(x: Any, p: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if p:
        yield p
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _paths(v, (*p, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _paths(v, (*p, i))


def _mutations(doc: Any) -> Iterator[Any]:
    for path in list(_paths(doc)):
        for value in ("<delete>", *WRONG_VALUES):
            m = copy.deepcopy(doc)
            parent = m
            for k in path[:-1]:
                parent = parent[k]
            if value == "<delete>":
                parent.pop(path[-1])
            else:
                parent[path[-1]] = value
            yield m


BUNDLES = [
    ("happy-path-v0.3", None),  # sigstore-python path
    ("intoto-with-custom-trust-root", None),  # intoto/0.0.2 path
    ("managed-key-happy-path", "key.pub"),  # key-signed path
]


@pytest.mark.parametrize(("case", "key_file"), BUNDLES)
def test_mutated_conformance_bundles(case: str, key_file: str | None) -> None:
    d = CONFORMANCE / case
    doc = json.loads((d / "bundle.sigstore.json").read_text())
    trust = load_trust_root(d / "trusted_root.json" if (d / "trusted_root.json").exists() else None)
    key = load_pem_public_key((d / key_file).read_bytes()) if key_file else None
    artifact = (
        (d / "artifact") if (d / "artifact").exists() else CONFORMANCE / "a.txt"
    ).read_bytes()
    count = 0
    for mutated in _mutations(doc):
        count += 1
        try:
            verify_bundle(json.dumps(mutated), trust=trust, artifact=artifact, policy=ANY, key=key)
        except VerificationFailure:
            pass
    assert count > 100


def test_mutated_set_only_bundle() -> None:
    raw = (
        SIGNATURE_ASSETS / "real-bundles" / "sigstore-js/bundles/bundleV01-dsse-no-proof.sigstore"
    ).read_text()
    trust = load_trust_root(None)
    for mutated in _mutations(json.loads(raw)):
        try:
            verify_bundle(json.dumps(mutated), trust=trust, policy=ANY)
        except VerificationFailure:
            pass


def test_mutated_trust_root() -> None:
    for mutated in _mutations(json.loads(PINNED_TRUSTED_ROOT.read_text())):
        try:
            parse_trust_root(json.dumps(mutated).encode(), "root.json")
        except InputError as exc:
            assert exc.path == "root.json"


def test_mutated_cosign_annotation_and_payload() -> None:
    d = CIMG / "dir-img-cosign-fulcio-rekor-valid"
    [sig] = fixture_signatures(d)
    trust = load_trust_root(None)
    digest = manifest_digest(d)
    bundle = json.loads(sig.annotations["dev.sigstore.cosign/bundle"])
    for mutated in _mutations(bundle):
        annotations = {**sig.annotations, "dev.sigstore.cosign/bundle": json.dumps(mutated)}
        with pytest.raises(VerificationFailure):
            verify_signature_layer(
                sig.payload, sig.media_type, annotations, digest, trust=trust, policy=ANY
            )
    for mutated in _mutations(json.loads(sig.payload)):
        with pytest.raises(VerificationFailure):
            verify_signature_layer(
                json.dumps(mutated).encode(),
                sig.media_type,
                sig.annotations,
                digest,
                trust=trust,
                policy=ANY,
            )
    for junk in (b"", b"\x00" * 10, base64.b64encode(b"junk")):
        with pytest.raises(VerificationFailure):
            verify_signature_layer(
                junk, sig.media_type, sig.annotations, digest, trust=trust, policy=ANY
            )
