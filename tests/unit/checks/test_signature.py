"""Check ``signature``: ImageEvidence + policy -> CheckResult, on real signatures (containers/image, the demo
layouts built from them) and on evidence edited in the test."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from verifier.adapters.commands.check_signature import command as check_signature_command
from verifier.checks import signature
from verifier.checks.signature import SignaturePolicy, evaluate
from verifier.models.evidence import ImageEvidence, ReferrerBundle
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.keys import load_pem_public_key
from verifier.sources.image import collect_image_evidence
from verifier.sources.trust_roots import load_trust_root

sys.path.insert(0, str(Path(__file__).parents[1] / "sigstore"))
from sigstore_helpers import CIMG, SIGNATURE_ASSETS, fixture_signatures, manifest_digest  # noqa: E402

TRUST = load_trust_root(None)
REPO = Path(__file__).parents[3]
DEMO = REPO / "fixtures" / "demo"
KEYLESS = "oci-layout:" + str(DEMO / "keyless-real")
THROWAWAY = "oci-layout:" + str(DEMO / "throwaway-key")
MITR = IdentityPolicy(identity="mitr@redhat.com", issuer="https://github.com/login/oauth")
COSIGN = load_pem_public_key((CIMG / "cosign.pub").read_bytes())
DEMO_KEY = load_pem_public_key((DEMO / "keys" / "throwaway-cosign.pub").read_bytes())


def _evidence(directory: str, ref: str = "registry.test/app") -> ImageEvidence:
    d = CIMG / directory
    return ImageEvidence(
        ref=ref,
        digest=manifest_digest(d),
        signatures=tuple(s.layer() for s in fixture_signatures(d)),
    )


def test_real_keyless_signature_passes_with_signer_facts() -> None:
    result = evaluate(collect_image_evidence(KEYLESS), SignaturePolicy(trust=TRUST, identity=MITR))
    assert result.check == "signature" and result.verdict == "pass" and result.findings == ()
    digest = "sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a"
    assert result.subject == f"{KEYLESS}@{digest}"
    assert result.facts["digest"] == digest and result.facts["count"] == 1
    [signer] = result.facts["verified_signers"]
    assert (
        signer["identity"] == "mitr@redhat.com"
        and signer["issuer"] == "https://github.com/login/oauth"
    )
    assert signer["kind"] == "cosign-legacy" and signer["signed_at"] == "2023-01-20T20:51:33Z"


def test_wrong_identity_fails_with_reason() -> None:
    policy = SignaturePolicy(
        trust=TRUST,
        identity=IdentityPolicy(identity="mitr@redhat.com", issuer="https://accounts.google.com"),
    )
    result = evaluate(collect_image_evidence(KEYLESS), policy)
    assert result.verdict == "fail" and result.facts["count"] == 0
    [finding] = result.findings
    assert finding.rule == "issuer-mismatch" and finding.severity == "high"
    assert finding.message.startswith(".sig layer 0: ")


def test_mixed_signatures_pass_and_report_the_bad_one() -> None:
    result = evaluate(_evidence("dir-img-cosign-mixed"), SignaturePolicy(trust=TRUST, key=COSIGN))
    assert result.verdict == "pass"
    assert (result.facts["count"], result.facts["failed"], result.facts["signatures_found"]) == (
        1,
        1,
        2,
    )
    [finding] = result.findings
    assert (finding.rule, finding.severity) == ("key-mismatch", "low")


@pytest.mark.parametrize(
    ("directory", "rule"),
    [
        ("dir-img-cosign-manifest-digest-error", "artifact-mismatch"),
        ("dir-img-cosign-modified-manifest", "artifact-mismatch"),
        ("dir-img-cosign-other-attachment", "payload-invalid"),
    ],
)
def test_invalid_fixture_signatures_fail(directory: str, rule: str) -> None:
    result = evaluate(_evidence(directory), SignaturePolicy(trust=TRUST, key=COSIGN))
    assert result.verdict == "fail"
    assert [f.rule for f in result.findings] == [rule]


def test_no_signature_at_all() -> None:
    ev = ImageEvidence(ref="registry.test/app:v1", digest="sha256:" + "a" * 64)
    result = evaluate(ev, SignaturePolicy(trust=TRUST, key=COSIGN))
    assert result.verdict == "fail" and [f.rule for f in result.findings] == ["no-signature"]
    assert result.subject == "registry.test/app:v1@sha256:" + "a" * 64


def test_incomplete_evidence_is_an_error_unless_a_signature_verified() -> None:
    ev = ImageEvidence(
        ref="r/a", digest="sha256:" + "a" * 64, problems=("referrers listing capped",)
    )
    result = evaluate(ev, SignaturePolicy(trust=TRUST, key=COSIGN))
    assert result.verdict == "error" and "referrers listing capped" in result.facts["error"]
    assert [f.rule for f in result.findings] == ["evidence-incomplete"]
    good = dataclasses.replace(
        _evidence("dir-img-cosign-valid"), problems=("one referrer unreadable",)
    )
    result = evaluate(good, SignaturePolicy(trust=TRUST, key=COSIGN))
    assert result.verdict == "pass" and result.facts["problems"] == ["one referrer unreadable"]


def test_demo_layout_legacy_and_v3_referrer() -> None:
    result = evaluate(collect_image_evidence(THROWAWAY), SignaturePolicy(trust=TRUST, key=DEMO_KEY))
    assert result.verdict == "pass" and result.findings == ()
    kinds = sorted(s["kind"] for s in result.facts["verified_signers"])
    assert kinds == ["cosign-legacy", "sigstore-bundle"]
    # The .att layer and the SBOM referrer are attestations, not signatures.
    assert result.facts["attestations_found"] == 2


def test_referrer_signature_for_another_image_is_rejected() -> None:
    ev = collect_image_evidence(THROWAWAY)
    sig_referrers = [r for r in ev.referrers if signature._is_signature_referrer(r)]
    assert len(sig_referrers) == 1
    other = ImageEvidence(
        ref="registry.test/other", digest="sha256:" + "b" * 64, referrers=tuple(sig_referrers)
    )
    result = evaluate(other, SignaturePolicy(trust=TRUST, key=DEMO_KEY))
    assert result.verdict == "fail" and [f.rule for f in result.findings] == ["artifact-mismatch"]


def test_sigstore_js_referrer_bundle() -> None:
    raw = (SIGNATURE_ASSETS / "js-sign-bundle.json").read_bytes()
    digest = "sha256:ae2b469e5b5dd7c959c86ee339c8b56eebea9e5084de1cf0fd93324e34754407"
    ref = ReferrerBundle(
        artifact_type="application/vnd.dev.sigstore.bundle.v0.3+json",
        bundle=raw,
        annotations={"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
        manifest_digest="sha256:" + hashlib.sha256(raw).hexdigest(),
    )
    ev = ImageEvidence(ref="127.0.0.1:5001/demo/hello", digest=digest, referrers=(ref,))
    key = load_pem_public_key((SIGNATURE_ASSETS / "k-sigstore.pub").read_bytes())
    assert evaluate(ev, SignaturePolicy(trust=TRUST, key=key)).verdict == "pass"
    wrong = load_pem_public_key((SIGNATURE_ASSETS / "k-cosign.pub").read_bytes())
    result = evaluate(ev, SignaturePolicy(trust=TRUST, key=wrong))
    assert [f.rule for f in result.findings] == ["key-mismatch"]
    # cosign requires the transparency log for key-signed signatures by default: sigstore-js wrote none.
    result = evaluate(ev, SignaturePolicy(trust=TRUST, key=key, require_tlog=True))
    assert [f.rule for f in result.findings] == ["tlog-entry-missing"]


def test_truncated_and_garbage_referrer_bundles_fail_cleanly() -> None:
    raw = (SIGNATURE_ASSETS / "js-sign-bundle.json").read_bytes()
    digest = "sha256:ae2b469e5b5dd7c959c86ee339c8b56eebea9e5084de1cf0fd93324e34754407"
    payload = base64.b64encode(
        json.dumps({"predicateType": "https://sigstore.dev/cosign/sign/v1"}).encode()
    )
    bundles = [
        raw[: len(raw) // 2],
        json.dumps({"mediaType": "x", "dsseEnvelope": {"payload": payload.decode()}}).encode(),
    ]
    refs = tuple(
        ReferrerBundle(
            artifact_type="application/vnd.dev.sigstore.bundle.v0.3+json",
            bundle=b,
            annotations={
                "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"
            },
            manifest_digest=f"sha256:{i:064x}",
        )
        for i, b in enumerate(bundles)
    )
    key = load_pem_public_key((SIGNATURE_ASSETS / "k-sigstore.pub").read_bytes())
    result = evaluate(
        ImageEvidence(ref="r/a", digest=digest, referrers=refs),
        SignaturePolicy(trust=TRUST, key=key),
    )
    assert result.verdict == "fail" and [f.rule for f in result.findings] == [
        "bundle-malformed",
        "bundle-malformed",
    ]


def test_policy_needs_identity_or_key() -> None:
    with pytest.raises(ValueError, match="identity policy or a key"):
        evaluate(_evidence("dir-img-cosign-valid"), SignaturePolicy(trust=TRUST))


def test_verifications_are_cached_by_policy_and_content() -> None:
    signature.clear_cache()
    ev = _evidence("dir-img-cosign-valid-2")
    first = evaluate(ev, SignaturePolicy(trust=TRUST, key=COSIGN))
    cached = len(signature._CACHE)
    assert cached == 2
    assert evaluate(ev, SignaturePolicy(trust=TRUST, key=COSIGN)) == first
    assert len(signature._CACHE) == cached
    # Another policy is another cache entry (never a stale answer).
    other = evaluate(
        ev,
        SignaturePolicy(trust=TRUST, key=load_pem_public_key((CIMG / "cosign2.pub").read_bytes())),
    )
    assert other.verdict == "fail" and len(signature._CACHE) == 4


# --- CLI -------------------------------------------------------------------------------------------------


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(check_signature_command, list(args))
    return result.exit_code, result.output


def test_cli_keyless_allowed_and_denied() -> None:
    code, out = _run(
        KEYLESS,
        "--certificate-identity",
        "mitr@redhat.com",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        "--format",
        "json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["decision"]["allowed"] is True
    assert report["results"][0]["facts"]["verified_signers"][0]["identity"] == "mitr@redhat.com"
    code, out = _run(
        KEYLESS,
        "--certificate-identity-regexp",
        r".*@example\.com",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        "--format",
        "json",
    )
    assert code == 1
    assert json.loads(out)["decision"]["deny"] == [
        f"{KEYLESS}@sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a: "
        "not signed by a trusted signer (identity-mismatch)"
    ]


def test_cli_key_and_usage_errors(tmp_path: Path) -> None:
    assert _run(THROWAWAY, "--key", str(DEMO / "keys" / "throwaway-cosign.pub"))[0] == 0
    assert _run(THROWAWAY, "--key", str(CIMG / "cosign.pub"))[0] == 1
    assert (
        _run(THROWAWAY, "--key", str(DEMO / "keys" / "throwaway-cosign.pub"), "--require-tlog")[0]
        == 1
    )
    code, out = _run(THROWAWAY)
    assert code == 2 and "--certificate-identity" in out
    code, out = _run(KEYLESS, "--certificate-identity", "mitr@redhat.com")
    assert code == 2 and "--certificate-oidc-issuer is required" in out
    bad = tmp_path / "bad.pub"
    bad.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    result = CliRunner().invoke(check_signature_command, [THROWAWAY, "--key", str(bad)])
    assert result.exit_code != 0 and "bad.pub" in str(result.exception)


def test_cli_github_claims() -> None:
    code, out = _run(
        KEYLESS,
        "--certificate-identity",
        "mitr@redhat.com",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        "--certificate-github-workflow-repository",
        "acme/app",
        "--certificate-github-workflow-ref",
        "refs/heads/main",
        "--certificate-github-workflow-trigger",
        "push",
        "--claim",
        "runner-environment=github-hosted",
        "--format",
        "json",
    )
    assert code == 1
    result = json.loads(out)["results"][0]
    assert result["findings"][0]["rule"] == "claim-mismatch"
    assert result["facts"]["policy"]["claims"] == {
        "source_repository_uri": "https://github.com/acme/app",
        "source_repository_ref": "refs/heads/main",
        "build_trigger": "push",
        "runner_environment": "github-hosted",
    }
    code, out = _run(
        KEYLESS,
        "--certificate-identity",
        "mitr@redhat.com",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        "--claim",
        "workflow=x",
    )
    assert code == 2 and "unknown claims" in out


def test_concurrent_evaluations_share_the_cache_safely() -> None:
    from concurrent.futures import ThreadPoolExecutor

    signature.clear_cache()
    evs = [
        _evidence(d)
        for d in ("dir-img-cosign-valid", "dir-img-cosign-mixed", "dir-img-cosign-valid-2")
    ] * 20
    policy = SignaturePolicy(trust=TRUST, key=COSIGN)
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(lambda ev: evaluate(ev, policy).verdict, evs))
    assert verdicts == ["pass"] * len(evs)
    # valid/1 == mixed/2 == valid-2/1 (one signature file upstream), mixed/1, valid-2/2: three distinct.
    assert len(signature._CACHE) == 3
    # A cached answer keeps the position of the signature it is asked about.
    result = evaluate(_evidence("dir-img-cosign-mixed"), policy)
    assert [f.message.split(":")[0] for f in result.findings] == [".sig layer 0"]
    both = _evidence("dir-img-cosign-mixed")
    swapped = dataclasses.replace(both, signatures=both.signatures[::-1])
    assert [f.message.split(":")[0] for f in evaluate(swapped, policy).findings] == [".sig layer 1"]


def test_an_unexpected_error_fails_that_signature_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed per signature: a crash while verifying one signature never passes it, nor aborts the rest.

    The crash is simulated with a stand-in verifier: no real input is known to reach one (see
    tests/unit/sigstore/test_malformed.py)."""
    import verifier.checks.signature as mod

    real = mod.verify_signature_layer
    calls = []

    def flaky(payload: bytes, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(payload, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mod, "verify_signature_layer", flaky)
    signature.clear_cache()
    result = evaluate(_evidence("dir-img-cosign-valid-2"), SignaturePolicy(trust=TRUST, key=COSIGN))
    signature.clear_cache()
    assert result.verdict == "pass" and result.facts["count"] == 1
    [finding] = result.findings
    assert finding.rule == "unsupported" and "RuntimeError: boom" in finding.message


def _layout_from_fixture(directory: Path, out: Path) -> str:
    """An OCI image layout holding a containers/image fixture: the image manifest and a cosign ``.sig``
    manifest made of its signature files (payload + annotations, as ``cosign save`` would store them)."""
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    manifest = (directory / "manifest.json").read_bytes()
    image = {
        "mediaType": json.loads(manifest)["mediaType"],
        **put(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "latest"},
    }
    layers = [
        {"mediaType": s.media_type, **put(s.payload), "annotations": s.annotations}
        for s in fixture_signatures(directory)
    ]
    sig_manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(b"{}")},
            "layers": layers,
        }
    ).encode()
    sig = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **put(sig_manifest),
        "annotations": {
            "org.opencontainers.image.ref.name": str(image["digest"]).replace(":", "-") + ".sig"
        },
    }
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (out / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [image, sig]}))
    return "oci-layout:" + str(out)


def test_cli_private_pki(tmp_path: Path) -> None:
    """containers/image's private-PKI signature (no Rekor, no CT): valid with its CA via --ca-roots."""
    ref = _layout_from_fixture(CIMG / "dir-img-cosign-pki-valid", tmp_path / "pki")
    pki = [
        "--ca-roots",
        str(CIMG / "pki_root_crts.pem"),
        "--ca-intermediates",
        str(CIMG / "pki_intermediate_crts.pem"),
    ]
    code, out = _run(
        ref,
        "--certificate-identity",
        "qiwan@redhat.com",
        *pki,
        "--now",
        "2026-01-01T00:00:00Z",
        "--format",
        "json",
    )
    assert code == 0, out
    result = json.loads(out)["results"][0]
    assert result["facts"]["verified_signers"][0]["identity"] == "qiwan@redhat.com"
    assert result["facts"]["policy"]["private_pki_at"] == "2026-01-01T00:00:00Z"
    # After the certificate expired (2052), the same signature no longer verifies: no log vouches for the time.
    code, out = _run(
        ref,
        "--certificate-identity",
        "qiwan@redhat.com",
        *pki,
        "--now",
        "2053-01-01",
        "--format",
        "json",
    )
    assert code == 1 and _rules(json.loads(out)) == ["certificate-not-valid-at-signing-time"]
    # Without --ca-roots the private CA is not trusted (and there is no transparency-log entry).
    code, out = _run(
        ref,
        "--certificate-identity",
        "qiwan@redhat.com",
        "--certificate-oidc-issuer",
        "x",
        "--format",
        "json",
    )
    assert code == 1 and _rules(json.loads(out)) == ["tlog-entry-missing"]
    code, out = _run(
        ref,
        "--certificate-identity",
        "qiwan@redhat.com",
        "--certificate-oidc-issuer",
        "x",
        "--ca-intermediates",
        str(CIMG / "pki_intermediate_crts.pem"),
    )
    assert code == 2 and "--ca-intermediates needs --ca-roots" in out


def _rules(report: dict[str, object]) -> list[str]:
    return [f["rule"] for f in report["results"][0]["findings"]]  # type: ignore[index]
