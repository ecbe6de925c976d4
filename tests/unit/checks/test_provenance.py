"""Check ``provenance``: tamper and confusion cases, with real signatures.

Fulcio cannot run here, so certificates that name *another* signer than a provenance claims come from a CA made
in the test (cosign's private-PKI path: chain checked at a given time, no Rekor): real ECDSA signatures, real
X.509 chains and Fulcio's claim extensions, no stubs. Real public bundles cover the Sigstore instances.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from tests.unit.checks.provenance_cases import EXPECTED, PROV
from verifier.checks.provenance import (
    ProvenanceConfig,
    ProvenancePolicy,
    SourceConfig,
    evaluate,
    policy_from_config,
    source_requirements,
)
from verifier.checks.provenance.requirements import Requirements
from verifier.models import CheckResult
from verifier.models.provenance import (
    KIND_BUILDKIT,
    KIND_COSIGN_ATT,
    KIND_FILE_BUNDLE,
    KIND_FILE_ENVELOPE,
    ProvenanceEvidence,
    ProvenanceItem,
)
from verifier.sigstore.dsse import pae
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.legacy import PrivatePki
from verifier.sigstore.trust import trust_root_from_pems
from verifier.sources.provenance import collect_file_provenance, collect_image_provenance

ACTIONS = "https://token.actions.githubusercontent.com"
BUILDER = "https://github.com/acme/builders/.github/workflows/build.yml"
BUILDER_AT = BUILDER + "@refs/tags/v1.0.0"
EVIL = "https://github.com/mallory/tools/.github/workflows/sign.yml@refs/heads/main"
REPO = "https://github.com/acme/app"
REF = "refs/heads/main"
COMMIT = "c27d339ee6075c1f744c5d4b200f7901aad2c369"
WORKFLOW = ".github/workflows/release.yml"
REPO_ID = "123456"
IMAGE = "sha256:" + hashlib.sha256(b"the gated image").hexdigest()
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _utf8(text: str) -> bytes:
    data = text.encode()
    if len(data) < 128:
        return b"\x0c" + bytes([len(data)]) + data
    return b"\x0c\x82" + len(data).to_bytes(2, "big") + data


CLAIM_OIDS = {
    "issuer": "1.3.6.1.4.1.57264.1.8",
    "build_signer_uri": "1.3.6.1.4.1.57264.1.9",
    "source_repository_uri": "1.3.6.1.4.1.57264.1.12",
    "source_repository_digest": "1.3.6.1.4.1.57264.1.13",
    "source_repository_ref": "1.3.6.1.4.1.57264.1.14",
    "source_repository_identifier": "1.3.6.1.4.1.57264.1.15",
    "build_config_uri": "1.3.6.1.4.1.57264.1.18",
}


@dataclass
class ThrowawayCA:
    """A throwaway root CA and a way to issue Fulcio-like leaf certificates."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def make(cls) -> ThrowawayCA:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-fulcio-root")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=30))
            .not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def leaf(self, san: str, claims: dict[str, str]) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(minutes=5))
            .not_valid_after(NOW + dt.timedelta(minutes=5))
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(san)]), critical=True
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.cert.public_key()),
                False,
            )
        )
        for name, value in claims.items():
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier(CLAIM_OIDS[name]), _utf8(value)), False
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return key, cert.public_bytes(serialization.Encoding.PEM)


CA = ThrowawayCA.make()
TRUST = trust_root_from_pems("test-ca", CA.cert.public_bytes(serialization.Encoding.PEM))


def good_claims(**changes: str) -> dict[str, str]:
    claims = {
        "issuer": ACTIONS,
        "build_signer_uri": BUILDER_AT,
        "source_repository_uri": REPO,
        "source_repository_digest": COMMIT,
        "source_repository_ref": REF,
        "source_repository_identifier": REPO_ID,
        "build_config_uri": f"{REPO}/{WORKFLOW}@{REF}",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v}


def statement(subject: str = IMAGE, **changes: Any) -> dict[str, Any]:
    """An actions/buildtypes workflow/v1 statement (what attest-build-provenance writes)."""
    values = {
        "builder": BUILDER_AT,
        "repository": REPO,
        "ref": REF,
        "path": WORKFLOW,
        "repository_id": REPO_ID,
        "commit": COMMIT,
    }
    values.update(changes)
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": subject.split(":", 1)[1]}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": values["ref"],
                        "repository": values["repository"],
                        "path": values["path"],
                    }
                },
                "internalParameters": {"github": {"repository_id": values["repository_id"]}},
                "resolvedDependencies": [
                    {
                        "uri": f"git+{values['repository']}@{values['ref']}",
                        "digest": {"gitCommit": values["commit"]},
                    }
                ],
            },
            "runDetails": {"builder": {"id": values["builder"]}},
        },
    }


def signed_att(
    doc: dict[str, Any], san: str = BUILDER_AT, claims: dict[str, str] | None = None
) -> ProvenanceItem:
    """A cosign .att layer: the statement in a DSSE envelope signed by a fresh leaf of the test CA."""
    key, cert_pem = CA.leaf(san, good_claims() if claims is None else claims)
    payload = json.dumps(doc).encode()
    sig = key.sign(pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256()))
    envelope = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
    }
    data = json.dumps(envelope).encode()
    return ProvenanceItem(
        kind=KIND_COSIGN_ATT,
        where="att-layer test",
        data=data,
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
        annotations={"dev.sigstore.cosign/certificate": cert_pem.decode()},
    )


def policy(*requirements: Requirements, hardened: tuple[str, ...] = ()) -> ProvenancePolicy:
    return ProvenancePolicy(
        trust=(TRUST,),
        identity=IdentityPolicy(issuer=ACTIONS, identity_regexp="https://.+"),
        requirements=requirements or (Requirements(builder_id=BUILDER, source_repository=REPO),),
        private_pki=PrivatePki(at=NOW),
        hardened_builders=hardened,
    )


def judge(
    *items: ProvenanceItem, pol: ProvenancePolicy | None = None, digest: str = IMAGE
) -> CheckResult:
    evidence = ProvenanceEvidence(subject="registry.test/acme/app", digest=digest, items=items)
    return evaluate(evidence, pol or policy())


def rules(result: CheckResult) -> list[str]:
    return [f.rule for f in result.findings]


# --------------------------------------------------------------------------------------- positive control


def test_matching_signer_and_provenance_pass() -> None:
    result = judge(signed_att(statement()))
    assert result.verdict == "pass", result.findings
    assert result.facts["builder"] == BUILDER_AT
    assert result.facts["source"] == {
        "repository": "github.com/acme/app",
        "ref": REF,
        "commit": COMMIT,
        "workflow": WORKFLOW,
    }
    assert result.facts["build_level"] == 2
    assert judge(signed_att(statement()), pol=policy(hardened=(BUILDER,))).facts["build_level"] == 3


# -------------------------------------------------------------------------------------- confusion cases


def test_reusable_workflow_with_another_signer_than_the_claimed_builder() -> None:
    """The provenance says the trusted builder built it; the certificate was issued to another workflow."""
    item = signed_att(statement(), san=EVIL, claims=good_claims(build_signer_uri=EVIL))
    result = judge(item)
    assert result.verdict == "fail"
    [finding] = [f for f in result.findings if f.rule == "builder-claim-mismatch"]
    assert BUILDER_AT in finding.message and EVIL in finding.message


@pytest.mark.parametrize(
    ("claim", "value", "rule"),
    [
        ("source_repository_uri", "https://github.com/acme/app-fork", "source-claim-mismatch"),
        ("source_repository_ref", "refs/heads/dev", "ref-claim-mismatch"),
        ("source_repository_digest", "0" * 40, "commit-claim-mismatch"),
        ("source_repository_identifier", "999", "repository-id-claim-mismatch"),
        (
            "build_config_uri",
            f"{REPO}/.github/workflows/other.yml@{REF}",
            "workflow-claim-mismatch",
        ),
    ],
)
def test_certificate_claims_must_agree_with_the_provenance(
    claim: str, value: str, rule: str
) -> None:
    result = judge(signed_att(statement(), claims=good_claims(**{claim: value})))
    assert result.verdict == "fail"
    [finding] = [f for f in result.findings if f.rule == rule]
    assert value in finding.message


def test_github_certificate_without_source_claims_is_a_blind_spot() -> None:
    claims = {"issuer": ACTIONS, "build_signer_uri": BUILDER_AT}
    assert "claims-missing" in rules(judge(signed_att(statement(), claims=claims)))


def test_gate_source_mismatch_names_both_values() -> None:
    gate = source_requirements(
        SourceConfig(repository="github.com/acme/api", ref="refs/heads/main")
    )
    result = judge(signed_att(statement()), pol=policy(Requirements(builder_id=BUILDER), gate))
    [finding] = [f for f in result.findings if f.rule == "source-mismatch"]
    assert "github.com/acme/app" in finding.message and "github.com/acme/api" in finding.message
    assert "the gate's source:" in finding.message
    same = source_requirements(SourceConfig(repository="https://github.com/ACME/app.git"))
    assert judge(
        signed_att(statement()), pol=policy(Requirements(builder_id=BUILDER), same)
    ).verdict == ("pass")


def test_provenance_for_another_digest() -> None:
    other = "sha256:" + hashlib.sha256(b"another image").hexdigest()
    result = judge(signed_att(statement(subject=other)))
    assert result.verdict == "fail" and "subject-mismatch" in rules(result)
    assert other in result.findings[0].message and IMAGE in result.findings[0].message


@pytest.mark.parametrize(
    ("provenance_builder", "config"),
    [
        # The provenance's builder is a prefix of the trusted one (and the other way round).
        ("https://github.com/acme/builders/.github/workflows/build", {"builder_id": BUILDER}),
        (
            "https://github.com/acme/builders/.github/workflows/build.yml.evil@v1",
            {"builder_id": BUILDER},
        ),
        # A pattern that reads like a prefix is anchored at both ends.
        (
            BUILDER + "x@refs/tags/v1.0.0",
            {"builder_id_regexp": r"https://github\.com/acme/builders/.*\.yml"},
        ),
    ],
)
def test_builder_prefix_is_another_builder(provenance_builder: str, config: dict[str, str]) -> None:
    doc = statement(builder=provenance_builder)
    item = signed_att(
        doc, san=provenance_builder, claims=good_claims(build_signer_uri=provenance_builder)
    )
    result = judge(item, pol=policy(Requirements(**config)))
    assert result.verdict == "fail"
    assert "builder-untrusted" in rules(result)


def test_builder_version_pinning() -> None:
    item = signed_att(statement())
    assert judge(item, pol=policy(Requirements(builder_id=BUILDER + "@v1.0.0"))).verdict == "pass"
    result = judge(item, pol=policy(Requirements(builder_id=BUILDER + "@v1.0.1")))
    assert rules(result) == ["builder-mismatch"]


def _real_layout(version: str) -> tuple[dict[str, Any], ProvenanceEvidence]:
    layout = next(
        layout
        for layout in EXPECTED["slsa-verifier/gha_generic_container"]["layouts"]
        if layout["builder_version"] == version
    )
    ref = f"oci-layout:{PROV / layout['layout_dir']}@{layout['image_digest']}"
    return layout, collect_image_provenance(ref)


def test_unsigned_buildkit_statement_presented_as_signed() -> None:
    _, evidence = _real_layout("v2.1.0")
    [att] = [i for i in evidence.items if i.kind == KIND_COSIGN_ATT]
    [kit] = [i for i in evidence.items if i.kind == KIND_BUILDKIT]
    # (a) the BuildKit statement wrapped in the real .att envelope, keeping its signature and certificate.
    env = json.loads(att.data)
    env["payload"] = base64.b64encode(kit.data).decode()
    forged = ProvenanceItem(
        kind=KIND_COSIGN_ATT,
        where="att-layer forged",
        data=json.dumps(env).encode(),
        digest="sha256:" + "1" * 64,
        annotations=att.annotations,
    )
    # (b) the BuildKit statement in a bare DSSE envelope, as if signed, with no key configured.
    bare = ProvenanceItem(
        kind=KIND_FILE_ENVELOPE,
        where="file forged",
        data=json.dumps(
            {
                "payloadType": "application/vnd.in-toto+json",
                "payload": base64.b64encode(kit.data).decode(),
                "signatures": [{"sig": base64.b64encode(b"x" * 64).decode()}],
            }
        ).encode(),
        digest="sha256:" + "2" * 64,
        annotations={},
    )
    cfg = ProvenanceConfig(builder_id_regexp=".*")
    for item in (forged, bare):
        only = ProvenanceEvidence(
            subject=evidence.subject,
            digest=evidence.digest,
            items=(item, kit),
            platform_digests=evidence.platform_digests,
        )
        result = evaluate(only, policy_from_config(cfg))
        assert result.verdict == "fail"
        assert result.facts["verified"] == [] and result.facts["build_level"] == 0
        assert set(rules(result)) & {"signature-invalid", "key-required"}


def test_buildkit_statement_for_a_manifest_outside_the_index() -> None:
    _, evidence = _real_layout("v2.1.0")
    [kit] = [i for i in evidence.items if i.kind == KIND_BUILDKIT]
    stray = ProvenanceEvidence(
        subject="x", digest=evidence.digest, items=(kit,), platform_digests=("sha256:" + "3" * 64,)
    )
    result = evaluate(stray, policy_from_config(ProvenanceConfig(builder_id_regexp=".*")))
    assert "subject-mismatch" in rules(result)


def test_real_provenance_for_another_image_digest() -> None:
    layout, evidence = _real_layout("v1.10.0")
    other, _ = _real_layout("v2.1.0")
    moved = ProvenanceEvidence(
        subject="x", digest=other["image_digest"], items=evidence.items, platform_digests=()
    )
    result = evaluate(moved, policy_from_config(ProvenanceConfig()))
    assert result.verdict == "fail"
    assert "subject-mismatch" in rules(result)
    assert layout["image_digest"] in " ".join(f.message for f in result.findings)


# --------------------------------------------------------------------------- Sigstore instance confusion

AUTOMATA = PROV / "automata" / "samples"
GITHUB_BUNDLE = AUTOMATA / "actions-attest-build-provenance-attestation-13581567.sigstore.json"
GITHUB_SUBJECT = "sha256:658913cfebe8a49165264e2b5e54ad99b3bdbfbc8cd281b3cfaa949a21588f18"
PUBLIC_BUNDLE = AUTOMATA / "actions-attest-build-provenance-attestation-13532655.sigstore.json"
PUBLIC_SUBJECT = "sha256:bb030cb9e028ff6d4051f2103b3b08f7e3928aa80a7d3626cef6e2553dc714b8"
PROBER = "https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml"


def _file_result(path: Path, digest: str, tmp_path: Path, **cfg: Any) -> CheckResult:
    evidence = collect_file_provenance([path], digest)
    return evaluate(evidence, policy_from_config(ProvenanceConfig(builder_id=PROBER, **cfg)))


def test_github_bundle_needs_the_github_root(tmp_path: Path) -> None:
    assert _file_result(GITHUB_BUNDLE, GITHUB_SUBJECT, tmp_path).verdict == "pass"
    refused = _file_result(GITHUB_BUNDLE, GITHUB_SUBJECT, tmp_path, instances=("public-good",))
    assert refused.verdict == "fail"
    assert rules(refused)[0] in {"tlog-entry-missing", "certificate-chain-invalid"}


def test_public_good_bundle_without_its_log_entry(tmp_path: Path) -> None:
    assert _file_result(PUBLIC_BUNDLE, PUBLIC_SUBJECT, tmp_path).verdict == "pass"
    doc = json.loads(PUBLIC_BUNDLE.read_bytes())
    doc["verificationMaterial"]["tlogEntries"] = []
    stripped = tmp_path / "stripped.sigstore.json"
    stripped.write_text(json.dumps(doc))
    assert rules(_file_result(stripped, PUBLIC_SUBJECT, tmp_path)) == ["tlog-entry-missing"]


def test_staging_bundle_against_production(tmp_path: Path) -> None:
    staging = PROV / "sigstore-go/examples/bundle-github-staging.json"
    evidence = collect_file_provenance([staging], "sha256:" + "0" * 64)
    cfg = ProvenanceConfig(
        builder_id_regexp=".*",
        signer_identity_regexp=".+",
        signer_issuer="https://github.com/login/oauth",
    )
    assert rules(evaluate(evidence, policy_from_config(cfg)))[0] == "certificate-chain-invalid"
    staging_root = str(PROV / "sigstore-go/examples/trusted-root-github-staging.json")
    ok = dataclasses.replace(cfg, instances=(), trusted_root=staging_root)
    # Against its own root the signature verifies; the statement is for an npm package, not this digest.
    assert rules(evaluate(evidence, policy_from_config(ok)))[0] == "subject-mismatch"


# ---------------------------------------------------------------------------------------- metamorphic


def test_order_and_unsigned_additions_never_change_a_denial() -> None:
    """Permuting the items keeps the verdict; adding unsigned provenance that satisfies every requirement
    never turns a denial into a pass."""
    good = signed_att(statement())
    bad = signed_att(statement(), san=EVIL, claims=good_claims(build_signer_uri=EVIL))
    unsigned = ProvenanceItem(
        kind=KIND_BUILDKIT,
        where="buildkit x",
        data=json.dumps(statement()).encode(),
        digest="sha256:" + "4" * 64,
        annotations={},
        refers_to=IMAGE,
    )
    for items, verdict in (((good, bad, unsigned), "pass"), ((bad, unsigned, unsigned), "fail")):
        for shuffled in itertools.permutations(items):
            evidence = ProvenanceEvidence(
                subject="s", digest=IMAGE, items=tuple(shuffled), platform_digests=(IMAGE,)
            )
            result = evaluate(evidence, policy())
            assert result.verdict == verdict
    alone = ProvenanceEvidence(
        subject="s", digest=IMAGE, items=(unsigned,), platform_digests=(IMAGE,)
    )
    result = evaluate(alone, policy())
    assert result.verdict == "fail" and rules(result)[0] == "provenance-unsigned"
    assert result.facts["unsigned_satisfying"] == 1


def test_no_provenance_and_incomplete_evidence() -> None:
    empty = evaluate(
        ProvenanceEvidence(subject="s", digest=IMAGE, other_attestations=("x spdx",)), policy()
    )
    assert empty.verdict == "fail" and rules(empty) == ["no-provenance"]
    broken = evaluate(
        ProvenanceEvidence(subject="s", digest=IMAGE, problems=("referrer blob missing",)), policy()
    )
    assert broken.verdict == "error" and "evidence-incomplete" in rules(broken)


def test_file_bundle_kind_from_jsonl(tmp_path: Path) -> None:
    jsonl = tmp_path / "att.jsonl"
    lines = [json.dumps(json.loads(p.read_bytes())) for p in (GITHUB_BUNDLE, PUBLIC_BUNDLE)]
    jsonl.write_text("\n".join(lines) + "\n")
    evidence = collect_file_provenance([jsonl], GITHUB_SUBJECT)
    assert [i.kind for i in evidence.items] == [KIND_FILE_BUNDLE, KIND_FILE_BUNDLE]
    result = evaluate(evidence, policy_from_config(ProvenanceConfig(builder_id=PROBER)))
    assert result.verdict == "pass"  # the GitHub one; the public-good one is for another artifact
    assert "subject-mismatch" in rules(result)


def test_an_item_that_breaks_the_verifier_fails_closed_alone() -> None:
    """The seam stands in for a verifier bug: that item is refused, a good one next to it still passes."""

    def broken(item: ProvenanceItem, pol: ProvenancePolicy) -> Any:
        if item.where == "att-layer broken":
            raise RuntimeError("boom")
        from verifier.checks.provenance import verify_item

        return verify_item(item, pol)

    good = signed_att(statement())
    bad = dataclasses.replace(good, where="att-layer broken", data=good.data + b" ")
    seam = dataclasses.replace(policy(), verify=broken)
    result = judge(bad, good, pol=seam)
    assert result.verdict == "pass"
    assert [f.rule for f in result.findings] == ["unsupported"]
    assert judge(bad, pol=seam).verdict == "fail"
