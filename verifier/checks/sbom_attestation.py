"""Check ``sbom-attestation``: a verified SBOM attestation for the image, and what the SBOM says.

Pure: takes the collected :class:`~verifier.models.evidence.ImageEvidence` and a ``verify`` function (built
by the adapter from ``verifier.sigstore`` with the signer policy and trusted root), returns one
:class:`~verifier.models.CheckResult`. For each attestation found (legacy cosign ``.att`` DSSE layers and
Sigstore bundles attached as referrers):

1. skip it if its annotation names a non-SBOM predicate type (a cosign v3 signature, SLSA provenance);
2. ``verify`` it: DSSE signature over the PAE, signer identity or key (raises ``VerificationFailure``);
3. the payload must be an in-toto statement (v0.1 or v1, ``application/vnd.in-toto+json``) whose subject
   names the image *manifest* digest (a config digest, e.g. Trivy's ImageID, never counts);
4. the predicate must be an SPDX or CycloneDX SBOM (also cosign's ``{"Data", "Timestamp"}`` wrapper and
   SPDX tag-value text), read with the fast readers of :mod:`verifier.sbom.read`.

Verdict ``pass`` when at least one SBOM attestation passed all of that, else ``fail``. Facts carry every
accepted SBOM (format, version, creation time, component count, purls, licences, the image digests the
SBOM itself claims to describe) so the policy (``policies/sbom_attestation.rego``) decides on age, format,
denied packages and licences.

Package rules (``package_rules``, the ``sbom.denied_packages`` of every config that may apply) are matched
here, because names and versions compare by each ecosystem's rules (:mod:`verifier.sbom.packages`); each
SBOM's fact ``denied_packages`` lists the matches and ``package_rules`` the rules that were evaluated. The
policy denies the matches of the rules its own config names, and denies when a configured rule was not
evaluated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from verifier.checks import registry
from verifier.checks._base import Check, RunContext
from verifier.models import CheckResult, Finding, Location, Severity
from verifier.models.config import STRICT
from verifier.models.evidence import AttestationLayer, ImageEvidence, ReferrerBundle
from verifier.sbom.intoto import (
    AttestationProblem,
    SbomStatement,
    parse_statement,
    predicate_format,
    read_sbom_statement,
)
from verifier.sbom.packages import PackageIndex, PackageRule, split_purl
from verifier.sbom.read import MAX_SBOM_BYTES, SbomSummary

if TYPE_CHECKING:
    from verifier.checks.signature import SignaturePolicy

CHECK_ID = "sbom-attestation"
META = registry.get(CHECK_ID)
LEGACY_PREDICATE_ANNOTATION = "predicateType"
BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
# Purls listed per SBOM in the facts. Real image SBOMs have a few thousand; the cap keeps the policy input
# bounded for a hostile one (the count is always exact, and truncation is stated in the facts).
MAX_FACT_PURLS = 20000

_SEVERITY = {
    "attestation-unverified": Severity.HIGH,
    "payload-type": Severity.HIGH,
    "payload-invalid": Severity.HIGH,
    "subject-mismatch": Severity.HIGH,
    "predicate-mismatch": Severity.HIGH,
    "sbom-unreadable": Severity.HIGH,
    "sbom-too-large": Severity.HIGH,
    "predicate-unsupported": Severity.INFO,
    "sbom-problems": Severity.LOW,
    "collection-problem": Severity.MEDIUM,
}


# Verification failures that are about the statement, not the signature, keep the statement's rule ids.
_REASON_RULES = {"artifact-mismatch": "subject-mismatch", "payload-invalid": "payload-invalid"}


@dataclass(frozen=True)
class Attestation:
    """One attestation as found: a legacy ``.att`` layer or a referrer bundle, plus where it came from."""

    source: str
    predicate_hint: str | None
    layer: AttestationLayer | None = None
    bundle: ReferrerBundle | None = None


@dataclass(frozen=True)
class Verified:
    """What signature verification established: the signed payload and who signed it."""

    payload_type: str
    payload: bytes
    signer: dict[str, Any] = field(default_factory=dict)
    signed_at: str | None = None


Verify = Callable[[Attestation], Verified]
"""Verifies one attestation (signature over the DSSE PAE, signer policy, tlog); raises on failure.

Failures are ``verifier.sigstore.errors.VerificationFailure`` (``reason`` + ``message``) or
:class:`~verifier.errors.InputError`; the check reports them as ``attestation-unverified`` findings.
"""


def attestations_of(evidence: ImageEvidence) -> list[Attestation]:
    """Every attestation candidate of the image, legacy layers first, in the order found."""
    found = [
        Attestation(
            source=f"att-layer {layer.layer_digest or layer.manifest_digest or i}",
            predicate_hint=layer.annotations.get(LEGACY_PREDICATE_ANNOTATION),
            layer=layer,
        )
        for i, layer in enumerate(evidence.attestations)
    ]
    found.extend(
        Attestation(
            source=f"referrer {bundle.manifest_digest}",
            predicate_hint=bundle.annotations.get(BUNDLE_PREDICATE_ANNOTATION),
            bundle=bundle,
        )
        for bundle in evidence.referrers
    )
    return found


def _finding(rule: str, message: str, source: str, **properties: Any) -> Finding:
    return Finding(
        rule=rule,
        severity=_SEVERITY.get(rule, Severity.MEDIUM),
        message=message,
        location=Location(path=source),
        properties=properties,
    )


def sbom_fact(
    summary: SbomSummary, image_digest: str, rules: Sequence[PackageRule] = ()
) -> dict[str, Any]:
    """The facts of one SBOM (also used by ``verifier sbom inspect``); ``rules`` adds the packages they
    deny (``denied_packages``)."""
    purls = list(summary.purls)
    fact: dict[str, Any] = summary.to_dict()
    fact["purls"] = purls[:MAX_FACT_PURLS]
    fact["purls_truncated"] = len(purls) > MAX_FACT_PURLS
    # name (purl without version) -> versions: the policy looks names up instead of scanning every package.
    versions: dict[str, list[str]] = {}
    for purl in purls[:MAX_FACT_PURLS]:
        pkg = _package(purl)
        versions.setdefault(pkg["name"], []).append(pkg["version"])
    fact["package_versions"] = {name: sorted(set(v)) for name, v in versions.items()}
    if rules:
        index = PackageIndex(purls, summary.without_purl)
        fact["denied_packages"] = [m.to_dict() for m in index.matches(rules)]
    fact["digest_match"] = (
        image_digest.lower() in summary.described_digests if summary.described_digests else None
    )
    return fact


def _package(purl: str) -> dict[str, str]:
    """``pkg:npm/%40scope/name@1.2.3?x=y#sub`` -> name ``pkg:npm/@scope/name`` (normalised as the purl spec
    says: lower-case, PyPI names per PEP 503), version (percent-decoded)."""
    pkg = split_purl(purl)
    if pkg is None:
        return {"name": purl.lower(), "version": ""}
    return {"name": pkg.label, "version": pkg.version}


def parse_package_rules(rules: Sequence[str]) -> tuple[PackageRule, ...]:
    """The rules of ``sbom.denied_packages``, parsed; ``ConfigError`` names a rule that cannot be read."""
    from verifier.errors import ConfigError
    from verifier.sbom.packages import PackageRuleError, parse_rule

    try:
        return tuple(parse_rule(r) for r in dict.fromkeys(rules))
    except PackageRuleError as exc:
        raise ConfigError(f"sbom.denied_packages: {exc}") from None


def _accept(
    att: Attestation, verified: Verified, evidence: ImageEvidence, max_bytes: int
) -> SbomStatement:
    statement = parse_statement(
        verified.payload_type, verified.payload, att.source, max_bytes=max_bytes
    )
    return read_sbom_statement(statement, evidence.digest, att.source, max_bytes=max_bytes)


def _validate(accepted: SbomStatement) -> dict[str, Any]:
    """Schema / structure validation of an accepted SBOM (cached compiled schemas; see sbom/validate.py)."""
    from verifier.sbom.validate import validate_sbom

    data = accepted.text if accepted.text is not None else ""
    result = validate_sbom(data, accepted.sbom.summary, accepted.sbom.document)
    return {
        "valid": result.valid,
        "validator": result.validator,
        "validation_problems": list(result.problems[:20]),
    }


def evaluate(
    evidence: ImageEvidence,
    verify: Verify,
    *,
    sbom_type: str | None = None,
    max_sbom_bytes: int = MAX_SBOM_BYTES,
    validate: bool = True,
    package_rules: Sequence[str] = (),
) -> CheckResult:
    """Run the check on one image. ``sbom_type`` (``spdx`` | ``cyclonedx``) keeps only that format;
    ``validate`` also validates each accepted SBOM (facts ``valid``, ``validation_problems``);
    ``package_rules`` are matched against every accepted SBOM (facts ``denied_packages``)."""
    from verifier.errors import InputError
    from verifier.sigstore.errors import VerificationFailure

    rules = parse_package_rules(package_rules)

    findings = [
        _finding("collection-problem", problem, evidence.ref) for problem in evidence.problems
    ]
    sboms: list[dict[str, Any]] = []
    ignored: list[dict[str, str]] = []
    candidates = attestations_of(evidence)
    for att in candidates:
        hint_format = predicate_format(att.predicate_hint)
        if att.predicate_hint is not None and hint_format is None:
            ignored.append(
                {
                    "source": att.source,
                    "predicate_type": att.predicate_hint,
                    "why": "not an SBOM predicate type",
                }
            )
            continue
        if sbom_type and hint_format and hint_format != sbom_type:
            ignored.append(
                {
                    "source": att.source,
                    "predicate_type": att.predicate_hint or "",
                    "why": f"not {sbom_type}",
                }
            )
            continue
        try:
            verified = verify(att)
        except VerificationFailure as exc:
            rule = _REASON_RULES.get(str(exc.reason), "attestation-unverified")
            findings.append(
                _finding(rule, f"{att.source}: {exc.message}", att.source, reason=str(exc.reason))
            )
            continue
        except InputError as exc:
            findings.append(
                _finding(
                    "attestation-unverified",
                    f"{att.source}: {exc.problem}",
                    att.source,
                    reason="input-invalid",
                )
            )
            continue
        try:
            accepted = _accept(att, verified, evidence, max_sbom_bytes)
        except AttestationProblem as exc:
            if exc.rule == "predicate-unsupported":
                ignored.append(
                    {
                        "source": att.source,
                        "predicate_type": att.predicate_hint or "",
                        "why": exc.message,
                    }
                )
                continue
            findings.append(_finding(exc.rule, f"{att.source}: {exc.message}", att.source))
            continue
        summary = accepted.sbom.summary
        if sbom_type and summary.format != sbom_type:
            ignored.append(
                {
                    "source": att.source,
                    "predicate_type": accepted.predicate_type,
                    "why": f"not {sbom_type}",
                }
            )
            continue
        if summary.problems:
            findings.append(
                _finding(
                    "sbom-problems",
                    f"{att.source}: SBOM has problems: {'; '.join(summary.problems[:5])}",
                    att.source,
                    problems=list(summary.problems),
                )
            )
        fact = sbom_fact(summary, evidence.digest, rules)
        fact.update(
            {
                "source": att.source,
                "predicate_type": accepted.predicate_type,
                "statement_type": accepted.statement_type,
                "subject_digest_match": True,
                "wrapped": accepted.wrapped,
                "signer": verified.signer,
                "signed_at": verified.signed_at,
            }
        )
        if validate:
            fact.update(_validate(accepted))
        sboms.append(fact)
    return CheckResult(
        check=CHECK_ID,
        subject=evidence.ref
        if evidence.digest in evidence.ref
        else f"{evidence.ref}@{evidence.digest}",
        verdict="pass" if sboms else "fail",
        findings=tuple(findings),
        facts=_facts(evidence, sboms, ignored, candidates, sbom_type, findings, rules),
    )


def _facts(
    evidence: ImageEvidence,
    sboms: Sequence[dict[str, Any]],
    ignored: list[dict[str, str]],
    candidates: Sequence[Attestation],
    sbom_type: str | None,
    findings: Sequence[Finding],
    rules: Sequence[PackageRule] = (),
) -> dict[str, Any]:
    # The newest SBOM (by creation time; undated ones last) is summarised at the top level.
    ordered = sorted(sboms, key=lambda s: s.get("created") or "", reverse=True)
    facts: dict[str, Any] = {
        "image_digest": evidence.digest,
        "sbom_type": sbom_type,
        "attestations_found": len(candidates),
        "ignored": ignored,
        # Rejections with their messages: the policy input carries findings without messages.
        "rejected": [
            {"rule": f.rule, "message": f.message} for f in findings if f.severity == Severity.HIGH
        ],
        "sboms": ordered,
        "formats": sorted({s["format"] for s in sboms}),
    }
    if rules:
        facts["package_rules"] = [r.text for r in rules]
    if ordered:
        top = ordered[0]
        facts.update(
            {
                key: top[key]
                for key in (
                    "format",
                    "spec_version",
                    "created",
                    "component_count",
                    "purls",
                    "licenses",
                    "subject_digest_match",
                    "digest_match",
                    "described_digests",
                )
            }
        )
    return facts


def any_verifier(verifiers: Sequence[Verify]) -> Verify:
    """A :data:`Verify` that accepts what any of ``verifiers`` accepts (the signers of a set); when none
    does, the first one's failure is reported."""
    if len(verifiers) == 1:
        return verifiers[0]

    def verify(att: Attestation) -> Verified:
        from verifier.sigstore.errors import VerificationFailure

        first: VerificationFailure | None = None
        for one in verifiers:
            try:
                return one(att)
            except VerificationFailure as exc:
                first = first or exc
        assert first is not None  # noqa: S101 - verifiers is not empty
        raise first

    return verify


def make_verifier(policy: SignaturePolicy, image_digest: str) -> Verify:
    """A :data:`Verify` from the signature check's signer policy (same identity / key / trusted roots).

    Legacy ``.att`` layers go through ``verifier.sigstore.legacy.verify_attestation_layer`` and referrer
    bundles through ``verifier.sigstore.bundle.verify_bundle``; both check the DSSE signature over the PAE,
    the tlog evidence and the signer, and that the statement subject names ``image_digest``.
    """
    from verifier.checks.signature import signer_fact
    from verifier.sigstore import dsse
    from verifier.sigstore.bundle import verify_bundle
    from verifier.sigstore.errors import Reason, VerificationFailure
    from verifier.sigstore.legacy import verify_attestation_layer

    def when(at: Any) -> str | None:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else None

    def verify(att: Attestation) -> Verified:
        try:
            if att.layer is not None:
                res = verify_attestation_layer(
                    att.layer.envelope,
                    att.layer.annotations,
                    image_digest,
                    trust=policy.trust,
                    policy=policy.identity,
                    key=policy.key,
                    require_tlog=policy.require_tlog,
                )
                env = dsse.parse_envelope(att.layer.envelope)
                return Verified(
                    env.payload_type,
                    env.payload,
                    signer_fact(
                        res.signature.signer.as_fact(),
                        policy.trust.name,
                        res.signature.integrated_time is not None,
                    ),
                    when(res.signature.integrated_time),
                )
            if att.bundle is not None:
                digest = bytes.fromhex(image_digest.partition(":")[2])
                result = verify_bundle(
                    att.bundle.bundle,
                    trust=policy.roots,
                    digest=digest,
                    policy=policy.identity,
                    key=policy.key,
                )
                if result.payload_type is None or result.payload is None:
                    raise VerificationFailure(
                        Reason.PAYLOAD_INVALID,
                        "bundle holds a message signature, not a DSSE attestation",
                    )
                if policy.key is not None and policy.require_tlog and result.log_index is None:
                    raise VerificationFailure(
                        Reason.TLOG_ENTRY_MISSING, "key-signed bundle has no transparency log entry"
                    )
                return Verified(
                    result.payload_type,
                    result.payload,
                    signer_fact(
                        result.signer.as_fact(),
                        result.trust_root,
                        result.signed_at is not None or result.log_index is not None,
                    ),
                    when(result.signed_at),
                )
        except RecursionError:
            raise VerificationFailure(
                Reason.PAYLOAD_INVALID, "attestation JSON is nested too deeply"
            ) from None
        except (ValueError, TypeError) as exc:
            raise VerificationFailure(Reason.BUNDLE_MALFORMED, str(exc)[:200]) from None
        raise VerificationFailure(
            Reason.BUNDLE_MALFORMED, "attestation has neither a layer nor a bundle"
        )

    return verify


# --- the check as the pipeline runs it -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class SbomSection:
    """A verified SBOM attestation on the image (check `sbom-attestation`), from the configured signer."""

    __pydantic_config__ = STRICT

    required: bool = True
    """Deny when no verified SBOM attestation names the image digest."""
    format: Literal["", "spdx", "cyclonedx"] = ""
    """Require this SBOM format (default: either)."""
    max_age: str = ""
    """Deny SBOMs older than this Go duration, e.g. 720h (measured from the evaluation time)."""
    denied_packages: tuple[str, ...] = ()
    """purl patterns (with an optional version range) that deny, e.g. pkg:npm/lodash@<4.17.21."""
    denied_licenses: tuple[str, ...] = ()
    """SPDX licence ids that deny."""
    allowed_licenses: tuple[str, ...] = ()
    """If set, every licence must be one of these."""
    digest_must_match: bool = True
    """Deny when the SBOM names image digests and none is this image's."""
    require_valid: bool = False
    """Deny (not warn) when an SBOM fails schema (CycloneDX) or structural (SPDX) validation."""
    max_size: int = dataclasses.field(default=128, metadata={"ge": 1})
    """Refuse SBOM payloads larger than this many MiB (checked before parsing)."""

    def __post_init__(self) -> None:
        from verifier.sbom.packages import PackageRuleError, parse_rule

        for rule in self.denied_packages:
            try:
                parse_rule(rule)
            except PackageRuleError as exc:
                raise ValueError(f"denied_packages: {exc}") from None


@dataclass(frozen=True)
class SbomEvidence:
    """The signer set's policies (the signature check's) and the image's evidence, attestations included;
    ``no_set`` names the image when no signer set applies to it."""

    policies: list[SignaturePolicy]
    image: ImageEvidence | None
    no_set: str | None = None


class SbomAttestationCheck(Check[SbomSection, SbomEvidence]):
    """``sbom-attestation``: a verified SBOM attestation for the image, within the SBOM policy."""

    meta = META
    section_type = SbomSection
    needs_image = True

    def reads_attestations(self, section: SbomSection) -> bool:
        """The SBOM is an attestation."""
        return True

    def collect(self, section: SbomSection, ctx: RunContext) -> SbomEvidence:
        """The policies of the image's signer set and the image's attestations."""
        from verifier.checks.signature import signature_policies, signer_set_for
        from verifier.errors import ConfigError

        if "signers" not in ctx.config.sections:
            raise ConfigError(
                "sbom: needs signers: (the SBOM attestation must be signed by a trusted signer)"
            )
        chosen = signer_set_for(ctx)
        if chosen is None:
            return SbomEvidence([], None, no_set=ctx.image or "(no image)")
        return SbomEvidence(signature_policies(chosen[1], ctx.now), ctx.image_evidence())

    def judge(
        self, evidence: SbomEvidence, section: SbomSection, ctx: RunContext
    ) -> list[CheckResult]:
        """Verify each attestation with the signer set and read the SBOMs it carries."""
        from verifier.sources.files import MIB

        if evidence.image is None:
            reason = f"no signer set applies to {evidence.no_set} (set its `images:` patterns)"
            return [
                CheckResult(
                    check=CHECK_ID,
                    subject=evidence.no_set or "(no image)",
                    verdict="error",
                    facts={"error": reason},
                )
            ]
        verify = any_verifier([make_verifier(p, evidence.image.digest) for p in evidence.policies])
        return [
            evaluate(
                evidence.image,
                verify,
                sbom_type=section.format or None,
                max_sbom_bytes=section.max_size * MIB,
                package_rules=section.denied_packages,
            )
        ]

    def policy_config(self, section: SbomSection, evidence: SbomEvidence | None) -> dict[str, Any]:
        """Every SBOM setting; licence ids spelled as the SBOM facts spell them."""
        from verifier.sbom.licenses import normalize_license_id

        return {
            "required": section.required,
            "max_age": section.max_age,
            "required_format": section.format,
            "denied_packages": list(section.denied_packages),
            "denied_licenses": [normalize_license_id(i) for i in section.denied_licenses],
            "allowed_licenses": [normalize_license_id(i) for i in section.allowed_licenses],
            "digest_must_match": section.digest_must_match,
            "require_valid": section.require_valid,
        }


CHECK = SbomAttestationCheck()
