"""sigstore-conformance ``bundle-verify`` suite (vendored in tests/assets/upstream/sigstore-conformance).

Every case in both modes (artifact path and ``sha256:<hex>`` digest) must agree with its expected outcome, and
every failing case must fail for the reason its README states (checked as our reason class, not only as a
non-zero exit). Verification runs in-process: through ``verify_bundle`` and through the click command.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from verifier.adapters.commands.verify_bundle import command as verify_bundle_command
from verifier.errors import InputError
from verifier.sigstore.bundle import verify_bundle
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.keys import load_pem_public_key
from verifier.sources.trust_roots import load_trust_root

SUITE = Path(__file__).parents[1] / "assets" / "upstream" / "sigstore-conformance" / "bundle-verify"
DEFAULT_IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"

R = Reason
# The reason each failing case's README states, as our reason class.
EXPECTED_REASON: dict[str, Reason | str] = {
    "bundle-empty-certificate-chain_fail": R.BUNDLE_MALFORMED,
    "bundle-from-wrong-instance_fail": R.CERTIFICATE_CHAIN_INVALID,
    "bundle-invalid-base64-signature_fail": R.BUNDLE_MALFORMED,
    "bundle-malformed-json_fail": R.BUNDLE_MALFORMED,
    "bundle-negative-log-index_fail": R.BUNDLE_MALFORMED,
    "bundle-unknown-version_fail": R.BUNDLE_MALFORMED,
    "bundle-with-root-cert_fail": R.CERTIFICATE_CHAIN_INVALID,
    "checkpoint-bad-keyhint_fail": R.TLOG_CHECKPOINT_INVALID,
    "checkpoint-wrong-roothash_fail": R.TLOG_CHECKPOINT_INVALID,
    "dsse-invalid-sig_fail": R.SIGNATURE_INVALID,
    "dsse-mismatch-envelope_fail": R.TLOG_ENTRY_MISMATCH,
    "dsse-mismatch-sig_fail": R.TLOG_ENTRY_MISMATCH,
    "inclusion-proof-corrupted-hash_fail": R.TLOG_INCLUSION_PROOF_INVALID,
    "incorrect-public-key_fail": R.TLOG_ENTRY_MISMATCH,
    "integrated-time-in-future_fail": R.CERTIFICATE_NOT_VALID_AT_SIGNING_TIME,
    "intoto-expired-certificate_fail": R.CERTIFICATE_NOT_VALID_AT_SIGNING_TIME,
    "intoto-log-entry-mismatch_fail": R.TLOG_ENTRY_MISMATCH,
    "intoto-missing-inclusion-proof_fail": R.TLOG_INCLUSION_PROOF_INVALID,
    "intoto-set-outside-signing-cert-validity_fail": R.CERTIFICATE_NOT_VALID_AT_SIGNING_TIME,
    "intoto-tsa-timestamp-outside-cert-validity_fail": R.CERTIFICATE_NOT_VALID_AT_SIGNING_TIME,
    "invalid-checkpoint-signature_fail": R.TLOG_CHECKPOINT_INVALID,
    "invalid-ct-key_fail": R.SCT_INVALID,
    "invalid-inclusion-proof_fail": R.TLOG_INCLUSION_PROOF_INVALID,
    "managed-key-no-key_fail": R.KEY_REQUIRED,
    "managed-key-wrong-key_fail": "unusable-key-file",  # its key.pub is corrupted: refused as input (exit 2)
    "message-digest-mismatch_fail": R.ARTIFACT_MISMATCH,
    "rekor2-checkpoint-missing-log-signature_fail": R.TLOG_CHECKPOINT_INVALID,
    "rekor2-checkpoint-missing-origin_fail": R.TLOG_CHECKPOINT_INVALID,
    "rekor2-checkpoint-missing-root-hash_fail": R.TLOG_CHECKPOINT_INVALID,
    "rekor2-checkpoint-missing-size_fail": R.TLOG_CHECKPOINT_INVALID,
    "rekor2-checkpoint-no-matching-signature_fail": R.TLOG_CHECKPOINT_INVALID,
    "rekor2-dsse-invalid-sig_fail": R.SIGNATURE_INVALID,
    "rekor2-dsse-mismatch-envelope_fail": R.TLOG_ENTRY_MISMATCH,
    "rekor2-dsse-mismatch-sig_fail": R.TLOG_ENTRY_MISMATCH,
    "rekor2-no-inclusion-proof_fail": R.TLOG_INCLUSION_PROOF_INVALID,
    "rekor2-no-timestamp_fail": R.TIMESTAMP_INVALID,
    "rekor2-timestamp-outside-trust-root-tsa-validity_fail": R.TIMESTAMP_INVALID,
    "rekor2-timestamp-outside-tsa-cert-validity_fail": R.TIMESTAMP_INVALID,
    "rekor2-timestamp-payload-mismatch_fail": R.TIMESTAMP_INVALID,
    "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": R.TIMESTAMP_INVALID,
    "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": R.TIMESTAMP_INVALID,
    "rekor2-timestamp-with-incorrect-time_fail": R.CERTIFICATE_NOT_VALID_AT_SIGNING_TIME,
    "set-invalid-signature_fail": R.TLOG_SET_INVALID,
    "signature-mismatch_fail": R.SIGNATURE_INVALID,
    "trust-root-tlog-missing-validity-start_fail": "trusted-root-invalid",  # refused as input (exit 2)
    "wrong-hashedrekord-artifact_fail": R.TLOG_ENTRY_MISMATCH,
    "wrong-hashedrekord-cert-and-sig_fail": R.TLOG_ENTRY_MISMATCH,
    "wrong-hashedrekord-entry_fail": R.TLOG_ENTRY_MISMATCH,
    "wrong-material_fail": R.ARTIFACT_MISMATCH,
}

CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())


def test_suite_is_complete() -> None:
    assert len(CASES) == 70
    failing = {c for c in CASES if c.endswith("_fail")}
    assert failing == set(EXPECTED_REASON), (
        "every failing case needs its stated reason in the table"
    )


def _case_inputs(case: str) -> dict[str, object]:
    d = SUITE / case
    artifact = d / "artifact" if (d / "artifact").exists() else SUITE / "a.txt"
    return {
        "dir": d,
        "artifact": artifact,
        "identity": (d / "identity").read_text().strip()
        if (d / "identity").exists()
        else DEFAULT_IDENTITY,
        "issuer": (d / "issuer").read_text().strip() if (d / "issuer").exists() else DEFAULT_ISSUER,
        "key": d / "key.pub" if (d / "key.pub").exists() else None,
        "trusted_root": d / "trusted_root.json" if (d / "trusted_root.json").exists() else None,
    }


def _outcome(case: str, mode: str) -> str:
    """'pass' or the reason of the failure."""
    c = _case_inputs(case)
    d = c["dir"]
    assert isinstance(d, Path) and isinstance(c["artifact"], Path)
    data = c["artifact"].read_bytes()
    try:
        key = load_pem_public_key(c["key"].read_bytes()) if isinstance(c["key"], Path) else None
    except ValueError:
        return "unusable-key-file"
    try:
        trust = load_trust_root(c["trusted_root"])  # type: ignore[arg-type]
    except InputError:
        return "trusted-root-invalid"
    try:
        verify_bundle(
            (d / "bundle.sigstore.json").read_bytes(),
            trust=trust,
            artifact=data if mode == "path" else None,
            digest=hashlib.sha256(data).digest() if mode == "digest" else None,
            policy=IdentityPolicy(issuer=str(c["issuer"]), identity=str(c["identity"])),
            key=key,
        )
    except VerificationFailure as exc:
        return str(exc.reason)
    return "pass"


@pytest.mark.parametrize("mode", ["path", "digest"])
@pytest.mark.parametrize("case", CASES)
def test_case_outcome_and_reason(case: str, mode: str) -> None:
    got = _outcome(case, mode)
    if case.endswith("_fail"):
        assert got == str(EXPECTED_REASON[case])
    else:
        assert got == "pass"


def _cli_args(case: str, mode: str) -> list[str]:
    c = _case_inputs(case)
    d = c["dir"]
    assert isinstance(d, Path) and isinstance(c["artifact"], Path)
    args = ["--bundle", str(d / "bundle.sigstore.json")]
    if c["key"] is not None:
        args += ["--key", str(c["key"])]
    else:
        args += [
            "--certificate-identity",
            str(c["identity"]),
            "--certificate-oidc-issuer",
            str(c["issuer"]),
        ]
    if c["trusted_root"] is not None:
        args += ["--trusted-root", str(c["trusted_root"])]
    if mode == "digest":
        args.append("sha256:" + hashlib.sha256(c["artifact"].read_bytes()).hexdigest())
    else:
        args.append(str(c["artifact"]))
    return args


def test_cli_exit_codes_all_cases() -> None:
    """The conformance client protocol: exit 0 exactly for the cases that must verify (140 runs)."""
    runner = CliRunner()
    wrong: list[str] = []
    for case in CASES:
        for mode in ("path", "digest"):
            result = runner.invoke(verify_bundle_command, _cli_args(case, mode))
            expected_ok = not case.endswith("_fail")
            if (
                (result.exit_code == 0) != expected_ok
                or result.exception
                and not isinstance(result.exception, SystemExit | InputError)
            ):
                wrong.append(f"{case}/{mode}: exit {result.exit_code} {result.exception!r}")
    assert wrong == []


def test_cli_failure_names_reason() -> None:
    result = CliRunner().invoke(verify_bundle_command, _cli_args("signature-mismatch_fail", "path"))
    assert result.exit_code == 1
    assert "verification failed [signature-invalid]" in result.output


def test_cli_wrong_identity_and_issuer() -> None:
    args = _cli_args("happy-path-v0.3", "path")
    bad_id = [a if a != DEFAULT_IDENTITY else DEFAULT_IDENTITY + "x" for a in args]
    result = CliRunner().invoke(verify_bundle_command, bad_id)
    assert result.exit_code == 1 and "[identity-mismatch]" in result.output
    bad_iss = [a if a != DEFAULT_ISSUER else "https://accounts.google.com" for a in args]
    result = CliRunner().invoke(verify_bundle_command, bad_iss)
    assert result.exit_code == 1 and "[issuer-mismatch]" in result.output


def test_identity_regexp_is_anchored() -> None:
    c = _case_inputs("happy-path-v0.3")
    d = c["dir"]
    assert isinstance(d, Path) and isinstance(c["artifact"], Path)
    raw = (d / "bundle.sigstore.json").read_bytes()
    trust = load_trust_root(None)
    ok = verify_bundle(
        raw,
        trust=trust,
        artifact=c["artifact"].read_bytes(),
        policy=IdentityPolicy(
            issuer=DEFAULT_ISSUER, identity_regexp=r"https://github\.com/sigstore-conformance/.*"
        ),
    )
    assert ok.signer.identity == DEFAULT_IDENTITY
    assert ok.signer.claims["source_repository_uri"].startswith(
        "https://github.com/sigstore-conformance/"
    )
    with pytest.raises(VerificationFailure) as err:
        verify_bundle(
            raw,
            trust=trust,
            artifact=c["artifact"].read_bytes(),
            policy=IdentityPolicy(issuer=DEFAULT_ISSUER, identity_regexp=r"sigstore-conformance"),
        )
    assert err.value.reason is Reason.IDENTITY_MISMATCH


def test_staging_bundle_verifies_only_with_staging_root() -> None:
    args = _cli_args("bundle-from-wrong-instance_fail", "path")
    assert CliRunner().invoke(verify_bundle_command, args).exit_code == 1
    assert (
        CliRunner().invoke(verify_bundle_command, [*args[:-1], "--staging", args[-1]]).exit_code
        == 0
    )


def test_cli_usage_errors() -> None:
    args = _cli_args("happy-path-v0.3", "path")
    result = CliRunner().invoke(verify_bundle_command, ["--bundle", args[1], args[-1]])
    assert result.exit_code == 2 and "needs --certificate-identity" in result.output
    # --trusted-root wins over --staging: the suite passes both for cases with their own root.
    custom = _cli_args("intoto-with-custom-trust-root", "path")
    assert CliRunner().invoke(verify_bundle_command, ["--staging", *custom]).exit_code == 0


def test_cli_digest_argument_that_is_also_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sha256:<hex>`` is a digest unless a file of that name exists (cli_protocol.md)."""
    c = _case_inputs("happy-path-v0.3")
    assert isinstance(c["artifact"], Path)
    name = "sha256:" + hashlib.sha256(c["artifact"].read_bytes()).hexdigest()
    args = _cli_args("happy-path-v0.3", "digest")
    assert args[-1] == name
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(verify_bundle_command, args).exit_code == 0
    (tmp_path / name).write_bytes(b"another file entirely")
    result = CliRunner().invoke(verify_bundle_command, args)
    assert result.exit_code == 1 and "[artifact-mismatch]" in result.output
