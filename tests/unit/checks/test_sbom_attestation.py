"""The sbom-attestation check: evidence in, CheckResult out, then the policy's decision.

Attestations are signed here with throwaway ECDSA P-256 keys (real DSSE PAE signatures) and verified
through the real ``verifier.sigstore`` code (legacy ``.att`` layers and v0.3 key-signed bundles), so
tampering, wrong keys and wrong subjects fail for real. Keyless (Fulcio/Rekor) attestations cannot be
produced here; those paths are 5A's ``verify_attestation_layer`` / ``verify_bundle`` and their tests.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import UPSTREAM
from verifier.checks.sbom_attestation import CHECK_ID, evaluate, make_verifier
from verifier.checks.signature import SignaturePolicy
from verifier.errors import ConfigError, InputError
from verifier.models import CheckResult
from verifier.models.evidence import AttestationLayer, ImageEvidence, ReferrerBundle
from verifier.pipeline import decide
from verifier.sigstore.dsse import pae
from verifier.sources.trust_roots import load_trust_root

CORPUS = UPSTREAM / "sbom"
IMAGE = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64
CONFIG_DIGEST = "sha256:" + "3" * 64
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
INTOTO = "application/vnd.in-toto+json"
V1 = "https://in-toto.io/Statement/v1"
V01 = "https://in-toto.io/Statement/v0.1"
SPDX_PT = "https://spdx.dev/Document"
CDX_PT = "https://cyclonedx.org/bom"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

KEY = ec.generate_private_key(ec.SECP256R1())
WRONG_KEY = ec.generate_private_key(ec.SECP256R1())


def _sbom(name: str) -> Any:
    return json.loads((CORPUS / name).read_bytes())


def statement(predicate: Any, predicate_type: str, subject: str = IMAGE, kind: str = V1) -> bytes:
    return json.dumps(
        {
            "_type": kind,
            "predicateType": predicate_type,
            "subject": [{"name": "reg.example/app", "digest": {"sha256": subject.split(":")[1]}}],
            "predicate": predicate,
        }
    ).encode()


def envelope(
    payload: bytes, key: ec.EllipticCurvePrivateKey = KEY, payload_type: str = INTOTO
) -> dict[str, Any]:
    sig = key.sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
    }


def att_layer(env: dict[str, Any], predicate_type: str | None = SPDX_PT) -> AttestationLayer:
    annotations = {"predicateType": predicate_type} if predicate_type else {}
    return AttestationLayer(
        envelope=json.dumps(env).encode(),
        media_type="application/vnd.dsse.envelope.v1+json",
        annotations=annotations,
        manifest_digest="sha256:" + "a" * 64,
        layer_digest="sha256:" + "b" * 64,
    )


def referrer(env: dict[str, Any], predicate_type: str | None = CDX_PT) -> ReferrerBundle:
    bundle = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": []},
        "dsseEnvelope": env,
    }
    annotations = {"dev.sigstore.bundle.predicateType": predicate_type} if predicate_type else {}
    return ReferrerBundle(
        artifact_type=BUNDLE_V03,
        bundle=json.dumps(bundle).encode(),
        annotations=annotations,
        manifest_digest="sha256:" + "c" * 64,
    )


def run(
    *,
    attestations: tuple[AttestationLayer, ...] = (),
    referrers: tuple[ReferrerBundle, ...] = (),
    sbom_type: str | None = None,
    max_bytes: int | None = None,
    package_rules: tuple[str, ...] = (),
) -> CheckResult:
    evidence = ImageEvidence(
        ref=f"reg.example/app@{IMAGE}", digest=IMAGE, attestations=attestations, referrers=referrers
    )
    policy = SignaturePolicy(trust=load_trust_root(None), key=KEY.public_key())
    kwargs: dict[str, Any] = {"sbom_type": sbom_type, "package_rules": package_rules}
    if max_bytes is not None:
        kwargs["max_sbom_bytes"] = max_bytes
    return evaluate(evidence, make_verifier(policy, IMAGE), **kwargs)


def decision(
    result: CheckResult, config: dict[str, Any] | None = None
) -> tuple[bool, set[str], set[str]]:
    dec, _ = decide([result], {CHECK_ID: config or {}}, now=NOW, policy_dir=None, opa_url=None)
    return dec.allowed, set(dec.deny), set(dec.warn)


SPDX_DOC = _sbom("spdx2/trivy-golden-conda.spdx.json")
CDX_DOC = _sbom("cyclonedx/trivy-golden-npm.cdx.json")


def test_legacy_att_spdx_passes_with_facts() -> None:
    result = run(attestations=(att_layer(envelope(statement(SPDX_DOC, SPDX_PT))),))
    assert result.check == CHECK_ID and result.verdict == "pass" and result.findings == ()
    facts = result.facts
    assert (facts["format"], facts["spec_version"], facts["component_count"]) == ("spdx", "2.3", 3)
    assert facts["created"] == "2021-08-25T12:20:30Z"
    assert facts["purls"] == ["pkg:conda/openssl@1.1.1q", "pkg:conda/pip@22.2.2"]
    assert facts["subject_digest_match"] is True
    assert facts["sboms"][0]["signer"] == {"key": facts["sboms"][0]["signer"]["key"]}
    assert facts["sboms"][0]["signer"]["key"].startswith("sha256:")
    assert decision(result) == (True, set(), set())


def test_v03_referrer_cyclonedx_passes() -> None:
    result = run(referrers=(referrer(envelope(statement(CDX_DOC, CDX_PT))),))
    assert result.verdict == "pass", result.findings
    assert result.facts["format"] == "cyclonedx" and result.facts["component_count"] == 13
    assert result.facts["sboms"][0]["source"] == "referrer sha256:" + "c" * 64


@pytest.mark.parametrize(
    ("predicate_type", "kind"),
    [
        ("https://spdx.dev/Document/v2.3", V1),
        (SPDX_PT, V01),
        ("spdxjson", V01),
    ],
)
def test_predicate_types_and_statement_versions(predicate_type: str, kind: str) -> None:
    result = run(
        attestations=(
            att_layer(
                envelope(statement(SPDX_DOC, predicate_type, kind=kind)), predicate_type=None
            ),
        )
    )
    assert result.verdict == "pass", result.findings
    assert result.facts["sboms"][0]["statement_type"] == kind


def test_cosign_v1_data_wrapper_and_tag_value_string() -> None:
    wrapped = {"Data": CDX_DOC, "Timestamp": "2023-01-01T00:00:00Z"}
    tag_value = (CORPUS / "spdx2/trivy-centos-7.spdx").read_text()
    json_text = {"Data": json.dumps(SPDX_DOC), "Timestamp": ""}
    result = run(
        attestations=(
            att_layer(envelope(statement(wrapped, CDX_PT)), CDX_PT),
            att_layer(envelope(statement(tag_value, SPDX_PT))),
            att_layer(envelope(statement(json_text, SPDX_PT))),
        )
    )
    assert result.verdict == "pass", result.findings
    sboms = {(s["format"], s["spec_version"], s["wrapped"]) for s in result.facts["sboms"]}
    assert sboms == {("cyclonedx", "1.7", True), ("spdx", "2.2", False), ("spdx", "2.3", True)}


def test_real_trivy_cosign_statement_payloads() -> None:
    """Trivy's real cosign in-toto payloads (v0.1; one wrapped), re-signed here, read for the image they name."""
    for name in (
        "trivy-cosign-v1-centos-7-cyclonedx.intoto.dsse.json",
        "trivy-cosign-v1-hello-cyclonedx.intoto.dsse.json",
    ):
        original = json.loads((CORPUS / "attestations" / name).read_bytes())
        payload = base64.b64decode(original["payload"])
        subject = "sha256:" + json.loads(payload)["subject"][0]["digest"]["sha256"]
        evidence = ImageEvidence(
            ref="x", digest=subject, attestations=(att_layer(envelope(payload), CDX_PT),)
        )
        policy = SignaturePolicy(trust=load_trust_root(None), key=KEY.public_key())
        result = evaluate(evidence, make_verifier(policy, subject))
        assert result.verdict == "pass", (name, result.findings)
        assert result.facts["format"] == "cyclonedx"


# ------------------------------------------------------------------------------------------ negatives


def _rules(result: CheckResult) -> list[str]:
    return [f.rule for f in result.findings]


def test_no_attestation_fails_and_policy_denies() -> None:
    result = run()
    assert result.verdict == "fail" and result.facts["attestations_found"] == 0
    allowed, deny, _ = decision(result)
    assert not allowed
    assert deny == {
        f"reg.example/app@{IMAGE}: no verified SBOM attestation (0 attestation(s) found, none an "
        "SBOM for this image)"
    }


def test_wrong_signer_is_rejected() -> None:
    result = run(
        attestations=(att_layer(envelope(statement(SPDX_DOC, SPDX_PT), key=WRONG_KEY)),),
        referrers=(referrer(envelope(statement(CDX_DOC, CDX_PT), key=WRONG_KEY)),),
    )
    assert result.verdict == "fail"
    assert _rules(result) == ["attestation-unverified", "attestation-unverified"]
    assert {f.properties["reason"] for f in result.findings} <= {
        "signature-invalid",
        "key-mismatch",
    }
    assert not decision(result)[0]


def test_tampered_payload_is_rejected() -> None:
    env = envelope(statement(SPDX_DOC, SPDX_PT))
    evil = dict(SPDX_DOC, packages=[])
    env["payload"] = base64.b64encode(statement(evil, SPDX_PT)).decode()
    result = run(attestations=(att_layer(env),))
    assert result.verdict == "fail"
    assert result.findings[0].properties["reason"] in ("signature-invalid", "key-mismatch")


def test_subject_of_another_image_is_rejected() -> None:
    for subject in (OTHER, CONFIG_DIGEST):
        result = run(
            attestations=(att_layer(envelope(statement(SPDX_DOC, SPDX_PT, subject=subject))),),
            referrers=(referrer(envelope(statement(CDX_DOC, CDX_PT, subject=subject))),),
        )
        assert result.verdict == "fail"
        assert _rules(result) == ["subject-mismatch", "subject-mismatch"]
        _, deny, _ = decision(result)
        assert "subjects do not include" in next(iter(deny))


def test_payload_not_json_and_nested_too_deep_deny_cleanly() -> None:
    not_json = att_layer(envelope(b"this is not json"))
    deep = att_layer(
        envelope(
            b'{"_type": "https://in-toto.io/Statement/v1", "x": '
            + b"[" * 100000
            + b"]" * 100000
            + b"}"
        )
    )
    result = run(attestations=(not_json, deep))
    assert result.verdict == "fail"
    assert _rules(result) == ["payload-invalid", "payload-invalid"]
    assert not decision(result)[0]


def test_wrong_payload_type_is_rejected() -> None:
    result = run(
        attestations=(att_layer(envelope(statement(SPDX_DOC, SPDX_PT), payload_type="text/plain")),)
    )
    assert result.verdict == "fail" and _rules(result) == ["payload-invalid"]
    assert "payloadType" in result.findings[0].message


def test_unreadable_or_mismatched_predicate() -> None:
    result = run(
        attestations=(
            att_layer(envelope(statement({"hello": 1}, SPDX_PT))),
            att_layer(envelope(statement(CDX_DOC, SPDX_PT))),
            att_layer(envelope(statement(42, SPDX_PT))),
        )
    )
    assert result.verdict == "fail"
    assert _rules(result) == ["sbom-unreadable", "predicate-mismatch", "sbom-unreadable"]


def test_oversized_sbom_payload_is_refused_before_parsing() -> None:
    result = run(attestations=(att_layer(envelope(statement(SPDX_DOC, SPDX_PT))),), max_bytes=1000)
    assert result.verdict == "fail" and _rules(result) == ["sbom-too-large"]


def test_non_sbom_attestations_are_ignored_not_failed() -> None:
    provenance = att_layer(
        envelope(statement({"builder": {}}, "https://slsa.dev/provenance/v0.2")),
        "https://slsa.dev/provenance/v0.2",
    )
    unannotated = att_layer(
        envelope(statement({"builder": {}}, "https://slsa.dev/provenance/v1")), None
    )
    good = att_layer(envelope(statement(SPDX_DOC, SPDX_PT)))
    result = run(attestations=(provenance, unannotated, good))
    assert result.verdict == "pass" and result.findings == ()
    assert [i["predicate_type"] for i in result.facts["ignored"]] == [
        "https://slsa.dev/provenance/v0.2",
        "",
    ]


def test_type_filter() -> None:
    layers = (att_layer(envelope(statement(SPDX_DOC, SPDX_PT))),)
    assert run(attestations=layers, sbom_type="cyclonedx").verdict == "fail"
    assert run(attestations=layers, sbom_type="spdx").verdict == "pass"


def test_one_bad_next_to_one_good_passes_with_a_warning() -> None:
    result = run(
        attestations=(
            att_layer(envelope(statement(SPDX_DOC, SPDX_PT), key=WRONG_KEY)),
            att_layer(envelope(statement(SPDX_DOC, SPDX_PT))),
        )
    )
    assert result.verdict == "pass"
    allowed, deny, warn = decision(result)
    assert allowed and not deny
    assert len(warn) == 1 and "attestation rejected" in next(iter(warn))


def test_denied_package_and_licence_from_a_verified_sbom() -> None:
    rules = ("pkg:conda/openssl@<1.1.1r", "pkg:conda/openssl@>=1.1.1r")
    result = run(
        attestations=(att_layer(envelope(statement(SPDX_DOC, SPDX_PT))),), package_rules=rules
    )
    allowed, deny, _ = decision(result, {"denied_packages": ["pkg:conda/openssl@<1.1.1r"]})
    assert not allowed
    assert deny == {
        f"reg.example/app@{IMAGE}: SBOM lists denied package pkg:conda/openssl@1.1.1q "
        "(pattern pkg:conda/openssl@<1.1.1r)"
    }
    assert decision(result, {"denied_packages": ["pkg:conda/openssl@>=1.1.1r"]})[0]
    licences = result.facts["sboms"][0]["license_ids"]
    assert licences
    assert not decision(result, {"denied_licenses": [licences[0]]})[0]


def test_sbom_describing_another_image_is_denied() -> None:
    doc = _sbom("cyclonedx/large/guac-data-syft-python-image-1.4.cdx.json")
    result = run(referrers=(referrer(envelope(statement(doc, CDX_PT))),))
    assert result.verdict == "pass"
    assert result.facts["digest_match"] is False
    allowed, deny, _ = decision(result)
    assert not allowed and "describes sha256:e9ebb760" in next(iter(deny))
    assert decision(result, {"digest_must_match": False})[0]


def test_max_age_from_now() -> None:
    result = run(attestations=(att_layer(envelope(statement(SPDX_DOC, SPDX_PT))),))
    allowed, deny, _ = decision(result, {"max_age": "720h"})
    assert not allowed
    assert deny == {
        f"reg.example/app@{IMAGE}: newest SBOM was created 2021-08-25T12:20:30Z, older than max_age 720h"
    }


def test_attested_sbom_is_validated_and_invalid_ones_warn_or_deny() -> None:
    good = run(attestations=(att_layer(envelope(statement(CDX_DOC, CDX_PT)), CDX_PT),))
    assert good.facts["sboms"][0]["valid"] is True
    assert good.facts["sboms"][0]["validator"] == "cyclonedx-1.7-json-schema"
    bad_doc = _sbom("cyclonedx/invalid/trivy-invalid-serial.cdx.json")
    bad = run(attestations=(att_layer(envelope(statement(bad_doc, CDX_PT)), CDX_PT),))
    assert bad.verdict == "pass"
    sbom = bad.facts["sboms"][0]
    assert (sbom["valid"], sbom["validation_problems"]) == (
        False,
        ["$.serialNumber: 1000000 is not of type 'string'"],
    )
    allowed, deny, warn = decision(bad)
    assert allowed and not deny and len(warn) == 1
    allowed, deny, _ = decision(bad, {"require_valid": True})
    assert not allowed
    assert deny == {
        f"reg.example/app@{IMAGE}: cyclonedx 1.5 SBOM (att-layer sha256:{'b' * 64}) is not valid "
        "(cyclonedx-1.5-json-schema): $.serialNumber: 1000000 is not of type 'string'"
    }


def test_tag_value_text_is_validated_too() -> None:
    tag_value = (CORPUS / "spdx2/tools-python-SPDXLite.spdx").read_text()
    result = run(attestations=(att_layer(envelope(statement(tag_value, SPDX_PT))),))
    assert result.facts["sboms"][0]["encoding"] == "tag-value"
    assert result.facts["sboms"][0]["valid"] is True


GH = Path(__file__).parent.parent.parent / "assets/signature/real-bundles/gh-cli/data"
GH_IDENTITY = (
    "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
    "@09b495c3f12c7881b3cc17209a327792065c1a1d"
)
GH_ISSUER = "https://token.actions.githubusercontent.com"


def _keyless(identity: str) -> CheckResult:
    """A REAL keyless GitHub attestation bundle (Fulcio cert, Rekor entry; see the signature assets'
    SOURCES) attached as a referrer of an 'image' whose digest is the attested artifact's."""
    from verifier.sigstore.identity import IdentityPolicy

    digest = (
        "sha256:" + hashlib.sha256((GH / "reusable-workflow-artifact").read_bytes()).hexdigest()
    )
    bundle = ReferrerBundle(
        artifact_type=BUNDLE_V03,
        annotations={},
        manifest_digest="sha256:" + "d" * 64,
        bundle=(GH / "reusable-workflow-attestation.sigstore.json").read_bytes(),
    )
    evidence = ImageEvidence(ref=f"ghcr.io/github/x@{digest}", digest=digest, referrers=(bundle,))
    policy = SignaturePolicy(
        trust=load_trust_root(None), identity=IdentityPolicy(issuer=GH_ISSUER, identity=identity)
    )
    return evaluate(evidence, make_verifier(policy, digest))


def test_real_keyless_attestation_right_identity_is_verified_then_ignored_as_not_an_sbom() -> None:
    result = _keyless(GH_IDENTITY)
    assert result.findings == ()
    assert result.verdict == "fail"  # verified, but SLSA provenance is not an SBOM
    (ignored,) = result.facts["ignored"]
    assert (
        ignored["why"]
        == "predicateType 'https://slsa.dev/provenance/v1' is not an SPDX or CycloneDX SBOM"
    )


def test_real_keyless_attestation_wrong_identity_is_rejected() -> None:
    result = _keyless(
        "https://github.com/someone/else/.github/workflows/release.yml@refs/heads/main"
    )
    assert result.verdict == "fail"
    (finding,) = result.findings
    assert (finding.rule, finding.properties["reason"]) == (
        "attestation-unverified",
        "identity-mismatch",
    )


# --------------------------------------------------------------------- package rules on real SBOMs (issue 17)


def _deny_with(doc: Any, rule: str, predicate_type: str = SPDX_PT) -> set[str]:
    """The policy's denials for ``doc`` attested and signed, with ``rule`` in the check and the config
    (these real SBOMs name the digests of their own images: ``digest_must_match`` is off)."""
    layer = att_layer(envelope(statement(doc, predicate_type)), predicate_type)
    result = run(attestations=(layer,), package_rules=(rule,))
    assert result.verdict == "pass"
    return decision(result, {"denied_packages": [rule], "digest_must_match": False})[1]


KUBECTL = _sbom("spdx2/guac-k8s-kubectl-amd64.spdx.json")  # lists golang.org/x/net v0.13.0


@pytest.mark.parametrize(
    "rule",
    [
        "pkg:golang/golang.org/x/net@<0.17.0",
        "pkg:golang/golang.org/x/net@v0.13.0",
        "pkg:golang/golang.org/x/net@vers:golang/<0.17.0",
    ],
)
def test_go_module_rules_deny(rule: str) -> None:
    """Before: "v0.13.0" sorted after 0.17.0 and "@v0.13.0" was read as a name: both were allowed."""
    assert _deny_with(KUBECTL, rule) == {
        f"reg.example/app@{IMAGE}: SBOM lists denied package pkg:golang/golang.org/x/net@v0.13.0 "
        f"(pattern {rule})"
    }


@pytest.mark.parametrize(
    "rule",
    ["pkg:golang/golang.org/x/net@<0.13.0", "pkg:golang/golang.org/x/net@vers:golang/>=0.17.0"],
)
def test_go_module_rules_outside_allow(rule: str) -> None:
    assert _deny_with(KUBECTL, rule) == set()


def test_pypi_name_spelled_with_underscore_is_denied() -> None:
    """The real syft SBOM of a Python image with its "wheel" component renamed to python_jose, as pip and
    syft spell it when the dist-info says so. Before: pkg:pypi/python-jose did not match it."""
    doc = copy.deepcopy(_sbom("cyclonedx/large/guac-data-syft-python-image-1.4.cdx.json"))
    renamed = 0
    for comp in doc["components"]:
        if comp.get("name") == "wheel":
            comp["name"], comp["purl"] = "python_jose", "pkg:pypi/python_jose@3.3.0"
            renamed += 1
    assert renamed == 1
    deny = _deny_with(doc, "pkg:pypi/python-jose@<3.4.0", CDX_PT)
    assert deny == {
        f"reg.example/app@{IMAGE}: SBOM lists denied package pkg:pypi/python-jose@3.3.0 "
        "(pattern pkg:pypi/python-jose@<3.4.0)"
    }


def test_component_without_purl_is_denied_by_name() -> None:
    """Trivy's minikube KBOM lists etcd with no purl. Before: no rule could deny it."""
    doc = _sbom("cyclonedx/trivy-minikube-kbom.cdx.json")
    deny = _deny_with(doc, "pkg:golang/go.etcd.io/etcd/v3@<3.5.9", CDX_PT)
    assert deny == {
        f"reg.example/app@{IMAGE}: SBOM lists denied package go.etcd.io/etcd/v3@3.5.7-0 "
        "(pattern pkg:golang/go.etcd.io/etcd/v3@<3.5.9)"
    }
    assert _deny_with(doc, "pkg:golang/go.etcd.io/etcd/v3@>=3.5.9", CDX_PT) == set()


def test_debian_epoch_is_not_a_major_version() -> None:
    """guac's mongo image SBOM lists libgmp10 2:6.2.0+dfsg-4: epoch 2 outranks any upstream version.
    Before: "2" was compared as the major version, so >=6.2.0 was allowed (and <6.3 denied)."""
    doc = _sbom("cyclonedx/guac-big-mongo-1.4.cdx.json")
    assert _deny_with(doc, "pkg:deb/ubuntu/libgmp10@>=6.2.0", CDX_PT) == {
        f"reg.example/app@{IMAGE}: SBOM lists denied package pkg:deb/ubuntu/libgmp10@2:6.2.0+dfsg-4 "
        "(pattern pkg:deb/ubuntu/libgmp10@>=6.2.0)"
    }
    assert _deny_with(doc, "pkg:deb/ubuntu/libgmp10@<6.3", CDX_PT) == set()
    assert _deny_with(doc, "pkg:deb/ubuntu/libgmp10@<2:6.2.0+dfsg-5", CDX_PT) != set()


def test_a_rule_the_check_did_not_evaluate_denies() -> None:
    result = run(attestations=(att_layer(envelope(statement(KUBECTL, SPDX_PT))),))
    config = {
        "denied_packages": ["pkg:golang/golang.org/x/net@<0.17.0"],
        "digest_must_match": False,
    }
    allowed, deny, _ = decision(result, config)
    assert not allowed
    assert deny == {
        f"reg.example/app@{IMAGE}: package rule pkg:golang/golang.org/x/net@<0.17.0 was not evaluated "
        "by the sbom-attestation check, so the SBOM cannot be shown free of it"
    }


def test_an_unreadable_rule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sbom.denied_packages: pkg:npm/lodash@<: "):
        run(package_rules=("pkg:npm/lodash@<",))


def test_an_unreadable_rule_in_verifier_yaml_is_refused_when_the_file_is_read(
    tmp_path: Path,
) -> None:
    """Exit 2 naming the file before anything runs (the webhook would otherwise deny every image)."""
    from verifier.config import load_config

    path = tmp_path / "verifier.yaml"
    path.write_text(
        "signers:\n  key: k.pub\nsbom:\n  denied_packages: ['pkg:golang/golang.org/x/net@<v0.17.0',"
        " 'pkg:pypi/jose@<not a version']\n"
    )
    with pytest.raises(InputError) as info:
        load_config(path)
    assert info.value.exit_code == 2
    assert str(info.value) == (
        f"{path}: sbom: denied_packages: pkg:pypi/jose@<not a version: 'not a version' is not a pypi "
        "version"
    )
