"""The gate as a library: a validated config in, every configured check run, results out.

No printing, no exiting (that is :mod:`verifier.adapters.commands.gate`). Each check runs through a small
runner that collects its evidence and calls the check module; the policy makes the decision afterwards.

Fail closed: a check that is configured but cannot run in this build (its module missing or with another
interface) gives verdict ``error`` with the reason in ``facts.error``, which the policy denies. Unreadable
inputs (a missing SARIF file, a malformed trust policy) raise ``InputError`` (exit 2); a registry that is
down raises ``SourceError`` (exit 3). Nothing here ever turns a problem into an allow.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from verifier.config import Signers, VerifierConfig, resolve, resolve_image
from verifier.errors import ConfigError, InputError, VerifierError
from verifier.models import CheckResult

# The order checks run and are reported in.
ORDER = ("signature", "sbom-attestation", "sarif-severity", "actions-pinned", "oidc-trust")


@dataclasses.dataclass(frozen=True)
class GateRun:
    """What the gate found. ``timings`` is wall time per check id in seconds (evidence collection
    included); ``inputs`` are the files and images the checks read (for the VSA)."""

    results: list[CheckResult]
    timings: dict[str, float]
    policy_config: dict[str, Any]
    digest: str | None
    inputs: list[dict[str, Any]]
    notices: list[str] = dataclasses.field(default_factory=list)  # inputs deliberately not checked


class _Unavailable(Exception):  # noqa: N818 - internal signal: this build cannot run the check
    pass


def error_result(check_id: str, subject: str, reason: str) -> CheckResult:
    """Verdict ``error`` (denied by ``policies/verifier.rego``) with the reason in ``facts.error``."""
    return CheckResult(check=check_id, subject=subject, verdict="error", facts={"error": reason})


def resolve_paths(config: VerifierConfig, base: Path) -> VerifierConfig:
    """The config with every relative path made relative to ``base`` (the config file's directory)."""

    def paths(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(resolve(base, v) for v in values)

    update: dict[str, Any] = {}
    if config.image:
        update["image"] = resolve_image(base, config.image)
    if config.signers:
        s = config.signers
        update["signers"] = s.model_copy(
            update={
                "key": resolve(base, s.key) if s.key else None,
                "trusted_root": resolve(base, s.trusted_root) if s.trusted_root else None,
                "signature_repo": resolve_image(base, s.signature_repo)
                if s.signature_repo
                else None,
            }
        )
    if config.sarif:
        update["sarif"] = config.sarif.model_copy(
            update={
                "files": paths(config.sarif.files),
                "ignore_files": paths(config.sarif.ignore_files),
                "vex": paths(config.sarif.vex),
            }
        )
    if config.workflows:
        update["workflows"] = config.workflows.model_copy(
            update={"paths": paths(config.workflows.paths)}
        )
    if config.trust_policies:
        update["trust_policies"] = config.trust_policies.model_copy(
            update={"paths": paths(config.trust_policies.paths)}
        )
    if config.policy.bundle:
        update["policy"] = config.policy.model_copy(
            update={"bundle": resolve(base, config.policy.bundle)}
        )
    if config.decision_log:
        update["decision_log"] = resolve(base, config.decision_log)
    return config.model_copy(update=update)


def policy_config(config: VerifierConfig) -> dict[str, Any]:
    """``input.config`` for the policy: the per-check settings the Rego rules read."""
    out: dict[str, Any] = {}
    if config.sarif:
        out["sarif-severity"] = {
            "fail_on": list(config.sarif.fail_on),
            "deny_ids": list(config.sarif.deny_ids),
            "ignore_file_problems": [],
        }
    if config.workflows:
        out["actions-pinned"] = {"mode": config.workflows.mode}
        if config.workflows.policy:
            out["actions-pinned"]["policy"] = dict(config.workflows.policy)
    if config.trust_policies:
        out["oidc-trust"] = dict(config.trust_policies.settings)
    if config.sbom:
        from verifier.sbom.licenses import normalize_license_id

        # The same spelling as the SBOM's license_ids: "GPL-3.0" in the list is "GPL-3.0-only" there.
        out["sbom-attestation"] = {
            "required": config.sbom.required,
            "max_age": config.sbom.max_age,
            "required_format": config.sbom.format,
            "denied_packages": list(config.sbom.denied_packages),
            "denied_licenses": [normalize_license_id(i) for i in config.sbom.denied_licenses],
            "allowed_licenses": [normalize_license_id(i) for i in config.sbom.allowed_licenses],
            "digest_must_match": config.sbom.digest_must_match,
            "require_valid": config.sbom.require_valid,
        }
    return out


class _Ctx:
    """Shared state of one gate run (the image evidence is collected once for both image checks)."""

    def __init__(self, config: VerifierConfig, now: datetime) -> None:
        self.config = config
        self.now = now
        self.evidence: Any = None
        self.policy_config = policy_config(config)
        self.inputs: list[dict[str, Any]] = []
        self.notices: list[str] = []

    def image_evidence(self) -> Any:
        if self.evidence is None:
            from verifier.sources.image import collect_image_evidence

            assert self.config.image is not None  # noqa: S101 - checked by the caller
            signers = self.config.signers
            self.evidence = collect_image_evidence(
                self.config.image, signature_repo=signers.signature_repo if signers else None
            )
        return self.evidence


def _import(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise _Unavailable(f"{module} is not part of this build") from None
        raise


def _attr(module: Any, name: str) -> Any:
    value = getattr(module, name, None)
    if value is None:
        raise _Unavailable(f"{module.__name__}.{name} is not part of this build")
    return value


# --- runners -------------------------------------------------------------------------------------------


def _run_sarif(ctx: _Ctx) -> list[CheckResult]:
    from verifier.checks import sarif_severity
    from verifier.models import Severity
    from verifier.sources.sarif_waivers import load_sarif_waivers
    from verifier.sources.scan_reports import load_scan_report

    cfg = ctx.config.sarif
    assert cfg is not None  # noqa: S101
    waivers, problems = load_sarif_waivers(cfg.ignore_files, cfg.vex, cfg.ignore_unfixed, ctx.now)
    ctx.inputs.extend({"uri": path, "kind": "ignore-file"} for path in cfg.ignore_files)
    ctx.inputs.extend({"uri": path, "kind": "vex"} for path in cfg.vex)
    ctx.policy_config["sarif-severity"]["ignore_file_problems"] = problems
    severities = tuple(Severity(s) for s in cfg.fail_on)
    results = []
    for path in cfg.files:
        results.append(
            sarif_severity.evaluate(
                load_scan_report(path), path, fail_on=severities, waivers=waivers, now=ctx.now
            )
        )
        ctx.inputs.append({"uri": path, "kind": "scan-report"})
    return results


def _run_actions(ctx: _Ctx) -> list[CheckResult]:
    cfg = ctx.config.workflows
    assert cfg is not None  # noqa: S101
    checks = _import("verifier.checks.actions_pinned")
    sources = _import("verifier.sources.workflow_files")
    files, found = _attr(sources, "read_all")(list(cfg.paths))
    ctx.notices += _attr(sources, "skip_notices")(found)
    if not files:
        raise InputError(
            ", ".join(cfg.paths), "no workflow (.github/workflows/*.yml) or action.yml file found"
        )
    ctx.inputs.extend({"uri": f.path, "kind": f.kind} for f in files)
    results: list[CheckResult] = _attr(checks, "check_files")(
        files.rows(), ctx.policy_config["actions-pinned"]
    )
    return results


def _run_trust(ctx: _Ctx) -> list[CheckResult]:
    cfg = ctx.config.trust_policies
    assert cfg is not None  # noqa: S101
    checks = _import("verifier.checks.oidc_trust")
    configs = _attr(_import("verifier.sources.trust_policy_files"), "load_configs")(list(cfg.paths))
    if not configs:
        raise InputError(", ".join(cfg.paths), "no trust policy found")
    ctx.inputs.extend(
        {"uri": p, "kind": "trust-policy"} for p in dict.fromkeys(c.path for c in configs)
    )
    results: list[CheckResult] = _attr(checks, "check_all")(configs)
    return results


def signature_policy(signers: Signers) -> Any:
    """The ``SignaturePolicy`` of the signature check for the configured signer."""
    sig = _import("verifier.checks.signature")
    from verifier.sigstore.identity import IdentityPolicy
    from verifier.sigstore.keys import load_pem_public_key
    from verifier.sigstore.trust import load_trust_root
    from verifier.sources.files import read_bytes

    identity = None
    if signers.identity is not None:
        i = signers.identity
        try:
            identity = IdentityPolicy(
                issuer=i.issuer,
                identity=i.identity,
                identity_regexp=i.identity_regexp,
                claims=dict(i.claims),
            )
        except ValueError as exc:
            raise ConfigError(f"signers.identity: {exc}") from None
    key = None
    if signers.key is not None:
        try:
            key = load_pem_public_key(read_bytes(signers.key, 1024 * 1024))
        except ValueError as exc:
            raise InputError(signers.key, str(exc)) from None
    trust = load_trust_root(Path(signers.trusted_root) if signers.trusted_root else None)
    return _attr(sig, "SignaturePolicy")(
        trust=trust, identity=identity, key=key, require_tlog=signers.require_tlog
    )


def _run_signature(ctx: _Ctx) -> list[CheckResult]:
    signers = ctx.config.signers
    assert signers is not None  # noqa: S101
    policy = signature_policy(signers)
    evaluate = _attr(_import("verifier.checks.signature"), "evaluate")
    result: CheckResult = evaluate(ctx.image_evidence(), policy)
    ctx.policy_config["signature"] = policy.config()
    return [result]


def _run_sbom(ctx: _Ctx) -> list[CheckResult]:
    sbom, signers = ctx.config.sbom, ctx.config.signers
    assert sbom is not None  # noqa: S101
    if signers is None:
        raise ConfigError(
            "sbom: needs signers: (the SBOM attestation must be signed by a trusted signer)"
        )
    check = _import("verifier.checks.sbom_attestation")
    evidence = ctx.image_evidence()
    # The Verify function (DSSE + signer policy) is built by the sbom check's own helper.
    verify = _attr(check, "make_verifier")(signature_policy(signers), evidence.digest)
    result: CheckResult = _attr(check, "evaluate")(evidence, verify, sbom_type=sbom.format or None)
    return [result]


_RUNNERS: dict[str, Callable[[_Ctx], list[CheckResult]]] = {
    "signature": _run_signature,
    "sbom-attestation": _run_sbom,
    "sarif-severity": _run_sarif,
    "actions-pinned": _run_actions,
    "oidc-trust": _run_trust,
}


def configured_checks(config: VerifierConfig) -> list[str]:
    """The check ids the config turns on, in :data:`ORDER`."""
    on = {
        "signature": config.signers is not None,
        "sbom-attestation": config.sbom is not None,
        "sarif-severity": config.sarif is not None,
        "actions-pinned": config.workflows is not None,
        "oidc-trust": config.trust_policies is not None,
    }
    return [c for c in ORDER if on[c]]


def _subject(config: VerifierConfig, check_id: str) -> str:
    if check_id in ("signature", "sbom-attestation"):
        return config.image or "(no image)"
    if check_id == "sarif-severity" and config.sarif:
        return ", ".join(config.sarif.files)
    if check_id == "actions-pinned" and config.workflows:
        return ", ".join(config.workflows.paths)
    if check_id == "oidc-trust" and config.trust_policies:
        return ", ".join(config.trust_policies.paths)
    return check_id


def run_gate(
    config: VerifierConfig, *, now: datetime, clock: Callable[[], float] = time.perf_counter
) -> GateRun:
    """Run every configured check (paths already resolved, see :func:`resolve_paths`).

    ``InputError``/``SourceError`` (any ``VerifierError``) propagate (exit 2/3); a check this build cannot
    run, or an unexpected exception inside a check, becomes an ``error`` result naming it (which denies).
    """
    ctx = _Ctx(config, now)
    results: list[CheckResult] = []
    timings: dict[str, float] = {}
    for check_id in configured_checks(config):
        start = clock()
        if check_id in ("signature", "sbom-attestation") and not config.image:
            out = [
                error_result(check_id, "(no image)", "no image configured (set image: or --image)")
            ]
        else:
            try:
                out = _RUNNERS[check_id](ctx)
            except _Unavailable as exc:
                out = [
                    error_result(
                        check_id, _subject(config, check_id), f"check not available: {exc}"
                    )
                ]
            except VerifierError:
                raise  # bad input (exit 2) or evidence not collectable (exit 3): the run is not evaluated
            except Exception as exc:  # noqa: BLE001 - fail closed: an unexpected failure is an error verdict
                out = [
                    error_result(
                        check_id,
                        _subject(config, check_id),
                        f"internal error: {type(exc).__name__}: {exc}",
                    )
                ]
        timings[check_id] = clock() - start
        results.extend(out)
    digest = ctx.evidence.digest if ctx.evidence is not None else None
    if digest is None and config.image and "@sha256:" in config.image:
        digest = config.image.rsplit("@", 1)[1]
    return GateRun(
        results=results,
        timings=timings,
        policy_config=ctx.policy_config,
        digest=digest,
        inputs=ctx.inputs,
        notices=ctx.notices,
    )
