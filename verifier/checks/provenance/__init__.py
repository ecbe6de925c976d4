"""Check ``provenance``: verified SLSA build provenance for the gated digest, from a trusted builder, built
from the expected source, and tied to the certificate that signed it.

Pure: ``evaluate(evidence, policy)`` takes the :class:`~verifier.models.provenance.ProvenanceEvidence` collected
by :mod:`verifier.sources.provenance` and a :class:`ProvenancePolicy`, and returns one
:class:`~verifier.models.CheckResult`. For each item found:

1. verify it (:func:`verify_item`): cosign ``.att`` layers and Sigstore bundles against the trusted roots
   (public-good with its log entry, GitHub's instance with its RFC 3161 timestamp; the root is chosen by the
   CA that signed the certificate) or a configured key; GCB's ``gcloud`` JSON with Google's pinned keys.
   BuildKit statements and bare statements carry no signature: they are *unsigned evidence*, read and
   reported but never ``verified``;
2. read the statement (:mod:`.statement`): canonical in-toto Statement and SLSA provenance v0.1/v0.2/v1 only;
3. its subject must be the gated digest (BuildKit: the platform manifest the attestation manifest names, which
   must be a manifest of the gated index);
4. the requirements (:mod:`.requirements`) of the ``provenance:`` section and of the gate's ``source:``;
5. for a GitHub Actions certificate: the provenance's builder, source, ref, commit and workflow must equal the
   certificate's Build Signer URI, Source Repository URI/Ref/Digest/Identifier and Build Config URI.

Verdict ``pass`` when at least one signed item passes all of that; ``fail`` otherwise (``no-provenance``,
``provenance-unsigned`` when only unsigned evidence exists, else each item's problems as findings); ``error``
when nothing passed and the evidence is incomplete. Facts: every verified and unsigned item with its builder
and source, the SLSA Build level the passing provenance supports (``build_level``: 3 for a hardened builder,
2 otherwise, 0 without), and the builder and source for the audit report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from verifier.checks import registry
from verifier.checks._base import Check, RunContext
from verifier.checks.provenance.requirements import (
    DEFAULT_TRUSTED_BUILDERS,
    GITHUB_ACTIONS_ISSUER,
    Problem,
    Requirements,
    claim_problems,
    requirement_problems,
)
from verifier.checks.provenance.statement import (
    INTOTO_PAYLOAD_TYPE,
    Provenance,
    StatementError,
    load_statement,
    read_provenance,
)
from verifier.models import CheckResult, Finding, Location, Severity
from verifier.models.config import STRICT
from verifier.models.provenance import (
    KIND_BUILDKIT,
    KIND_COSIGN_ATT,
    KIND_FILE_BUNDLE,
    KIND_FILE_ENVELOPE,
    KIND_FILE_STATEMENT,
    KIND_GCLOUD,
    KIND_REFERRER_BUNDLE,
    ProvenanceEvidence,
    ProvenanceItem,
)
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.keys import PublicKey, key_id
from verifier.sigstore.legacy import PrivatePki
from verifier.sigstore.trust import TrustRoot
from verifier.sources.trust_roots import load_roots

CHECK_ID = "provenance"
META = registry.get(CHECK_ID)
UNSIGNED_KINDS = frozenset({KIND_BUILDKIT, KIND_FILE_STATEMENT})
CACHE_SIZE = 1024
RULE_NO_PROVENANCE = "no-provenance"
RULE_UNSIGNED = "provenance-unsigned"
RULE_SUBJECT = "subject-mismatch"
RULE_EVIDENCE_INCOMPLETE = "evidence-incomplete"

# Rule ids and the upstream (slsa-verifier / in-toto) error classes they correspond to, for the docs table and
# the expected-outcome tests.
UPSTREAM_ERRORS: dict[str, tuple[str, ...]] = {
    "builder-untrusted": (
        "ErrorUntrustedReusableWorkflow",
        "ErrorVerifierNotSupported",
        "ErrorMismatchBuilderID",
    ),
    "builder-claim-mismatch": ("ErrorUntrustedReusableWorkflow",),
    "builder-mismatch": ("ErrorMismatchBuilderID",),
    "source-mismatch": ("ErrorMismatchSource",),
    "source-claim-mismatch": ("ErrorMismatchSource",),
    "branch-mismatch": ("ErrorMismatchBranch",),
    "tag-mismatch": ("ErrorMismatchTag",),
    "versioned-tag-mismatch": ("ErrorMismatchVersionedTag",),
    "ref-invalid": ("ErrorInvalidRef",),
    "subject-mismatch": ("ErrorMismatchHash",),
    "summary-mismatch": ("ErrorMismatchHash",),
    "statement-mismatch": ("ErrorMismatchIntoto",),
    "metadata-invalid": ("ErrorInvalidFormat",),
    "signature-invalid": ("ErrorNoValidSignature",),
    "key-mismatch": ("ErrorNoValidSignature",),
    "envelope-invalid": ("ErrorInvalidDssePayload",),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class SourceSection:
    """Where releases must come from (the gate's `source:`): the provenance is held to it next to its own
    requirements, and a mismatch names both values."""

    __pydantic_config__ = STRICT

    repository: str | None = None
    """Source repository, e.g. github.com/org/app."""
    repository_id: str | None = None
    """Numeric repository id (GitHub)."""
    ref: str | None = None
    """Exact git ref, e.g. refs/heads/main."""
    ref_regexp: str | None = None
    """Anchored regular expression for the git ref."""
    workflow_path: str | None = None
    """Workflow file, e.g. .github/workflows/release.yml."""

    def __post_init__(self) -> None:
        _compile("source.ref_regexp", self.ref_regexp)


SourceConfig = SourceSection


def _compile(name: str, pattern: str | None) -> None:
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{name}: invalid regular expression: {exc}") from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProvenanceSection:
    """Verified SLSA build provenance for the image (check `provenance`): who built it, from which source."""

    __pydantic_config__ = STRICT

    required: bool = True
    """Deny when no verified provenance satisfies the policy."""
    builder_id: str | None = None
    """Trusted builder: NAME (any version) or NAME@VERSION. Default: slsa-github-generator's SLSA 3
    workflows."""
    builder_id_regexp: str | None = None
    """Anchored regular expression for the builder id (instead of builder_id)."""
    hardened_builders: tuple[str, ...] = DEFAULT_TRUSTED_BUILDERS
    """Builder names (without @version) vouched for as SLSA Build L3; other verified builders count as L2."""
    source_repository: str | None = None
    """Source repository, e.g. github.com/org/app."""
    source_repository_id: str | None = None
    """Numeric GitHub repository id."""
    branch: str | None = None
    """Branch the build ran on (for a tag push: the branch the event names)."""
    tag: str | None = None
    """Exact tag, e.g. v1.2.3."""
    versioned_tag: str | None = None
    """Semver prefix of the tag, e.g. v1 or v1.2."""
    ref: str | None = None
    """Exact git ref."""
    ref_regexp: str | None = None
    """Anchored regular expression for the git ref."""
    workflow_path: str | None = None
    """Workflow file that ran the build."""
    source_commit: str | None = None
    """Git commit the build used."""
    build_type: str | None = None
    """Exact SLSA buildType."""
    signer_issuer: str = GITHUB_ACTIONS_ISSUER
    """OIDC issuer of keyless provenance signers."""
    signer_identity_regexp: str = r"https://.+"
    """Anchored pattern for the signing certificate's identity (the builder is tied to it separately)."""
    instances: tuple[Literal["public-good", "github", "staging"], ...] = ("public-good", "github")
    """Sigstore instances whose pinned roots are trusted."""
    trusted_root: str | None = None
    """An extra Sigstore trusted_root.json (a private deployment)."""
    key: str | None = None
    """PEM public key of key-signed provenance."""
    files: tuple[str, ...] = ()
    """Attestation files read offline (gh attestation download JSONL, bundles, gcloud JSON)."""
    allow_unsigned: bool = False
    """Let the policy accept unsigned provenance (BuildKit) that satisfies every requirement (it warns)."""
    source: SourceSection | None = None
    """The gate's `source:` (until verifier.yaml has a top-level one)."""

    def __post_init__(self) -> None:
        for name in ("builder_id_regexp", "ref_regexp", "signer_identity_regexp"):
            _compile(name, getattr(self, name))
        if self.builder_id is not None and self.builder_id_regexp is not None:
            raise ValueError("give builder_id or builder_id_regexp, not both")
        if not self.instances and self.trusted_root is None:
            raise ValueError("name at least one Sigstore instance or a trusted_root")

    def requirements(self) -> Requirements:
        """The requirements this section states."""
        return Requirements(
            builder_id=self.builder_id,
            builder_id_regexp=self.builder_id_regexp,
            source_repository=self.source_repository,
            source_repository_id=self.source_repository_id,
            branch=self.branch,
            tag=self.tag,
            versioned_tag=self.versioned_tag,
            ref=self.ref,
            ref_regexp=self.ref_regexp,
            workflow_path=self.workflow_path,
            source_commit=self.source_commit,
            build_type=self.build_type,
            origin="provenance policy",
        )


ProvenanceConfig = ProvenanceSection


def source_requirements(source: SourceSection) -> Requirements:
    """The gate's ``source:`` as requirements (the builder is left to the provenance section)."""
    return Requirements(
        builder_id_regexp=".*",
        source_repository=source.repository,
        source_repository_id=source.repository_id,
        ref=source.ref,
        ref_regexp=source.ref_regexp,
        workflow_path=source.workflow_path,
        origin="the gate's source:",
    )


@dataclass(frozen=True)
class Verified:
    """What verification established about one item: the statement bytes and who signed them (empty for
    unsigned evidence)."""

    payload: bytes
    signer: dict[str, Any] = field(default_factory=dict)
    signed_at: dt.datetime | None = None
    context: Any = (
        None  # GCB: the gcloud JSON's summary (GcloudContext), checked against the digest
    )


Verify = Callable[[ProvenanceItem, "ProvenancePolicy"], Verified]
"""Verifies one signed item; raises VerificationFailure (or StatementError) on failure."""


@dataclass(frozen=True)
class ProvenancePolicy:
    """How to verify and what to require. ``requirements`` all apply (the provenance section, the gate's
    ``source:``). ``verify`` is the seam tests use to stand in for Fulcio (see :data:`Verify`)."""

    trust: tuple[TrustRoot, ...]
    identity: IdentityPolicy
    requirements: tuple[Requirements, ...] = (Requirements(),)
    keys: tuple[PublicKey, ...] = ()
    gcb_keys: Mapping[str, PublicKey] = field(default_factory=dict)
    hardened_builders: tuple[str, ...] = DEFAULT_TRUSTED_BUILDERS
    private_pki: PrivatePki | None = None
    required: bool = True
    allow_unsigned: bool = False
    verify: Verify | None = None

    def fingerprint(self) -> str:
        """Stable text of what decides a verification (the cache key)."""
        parts = {
            "trust": [hashlib.sha256(t.raw).hexdigest() if t.raw else t.name for t in self.trust],
            "identity": [
                self.identity.issuer,
                self.identity.identity,
                self.identity.identity_regexp,
                sorted(self.identity.claims.items()),
            ],
            "keys": [key_id(k).hex() for k in self.keys],
            "gcb": sorted(self.gcb_keys),
            "pki": self.private_pki.at.isoformat() if self.private_pki else None,
            "seam": id(self.verify) if self.verify else None,
        }
        return json.dumps(parts, sort_keys=True)

    def config(self) -> dict[str, Any]:
        """The policy as JSON for the Rego input (``input.config.provenance``)."""
        reqs = [
            {k: v for k, v in vars(r).items() if v is not None and k != "trusted_builders"}
            for r in self.requirements
        ]
        return {
            "required": self.required,
            "allow_unsigned": self.allow_unsigned,
            "trusted_roots": [t.name for t in self.trust],
            "signer_issuer": self.identity.issuer,
            "keys": ["sha256:" + key_id(k).hex() for k in self.keys],
            "requirements": reqs,
        }


# ------------------------------------------------------------------------------------------ verification


_CACHE: OrderedDict[str, Verified | VerificationFailure | StatementError] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget cached verifications (benchmarks measure cold runs with it)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _cache_key(policy: ProvenancePolicy, item: ProvenanceItem) -> str:
    h = hashlib.sha256()
    for part in (
        policy.fingerprint(),
        item.kind,
        item.data,
        json.dumps(item.annotations, sort_keys=True),
    ):
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _verify_cached(item: ProvenanceItem, policy: ProvenancePolicy) -> Verified:
    key = _cache_key(policy, item)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
    if hit is None:
        try:
            hit = (policy.verify or verify_item)(item, policy)
        except (VerificationFailure, StatementError) as exc:
            hit = exc
        with _CACHE_LOCK:
            _CACHE[key] = hit
            if len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    if isinstance(hit, (VerificationFailure, StatementError)):
        raise hit
    return hit


def _verify_bundle_item(item: ProvenanceItem, policy: ProvenancePolicy) -> Verified:
    from verifier.sigstore.bundle import BundleResult, verify_bundle

    res: BundleResult | None = None
    try:
        res = verify_bundle(item.data, trust=policy.trust, policy=policy.identity)
    except VerificationFailure as exc:
        if exc.reason != Reason.KEY_REQUIRED or not policy.keys:
            raise
        failure: VerificationFailure = exc
        for key in policy.keys:
            try:
                res = verify_bundle(item.data, trust=policy.trust, key=key)
                break
            except VerificationFailure as key_exc:
                failure = key_exc
        if res is None:
            raise failure from None
    if res.payload_type != INTOTO_PAYLOAD_TYPE or res.payload is None:
        raise VerificationFailure(
            Reason.PAYLOAD_INVALID,
            f"bundle payload type {res.payload_type!r} is not an in-toto statement",
        )
    return Verified(payload=res.payload, signer=res.signer.as_fact(), signed_at=res.signed_at)


def _verify_att_item(item: ProvenanceItem, policy: ProvenancePolicy) -> Verified:
    from verifier.sigstore import dsse
    from verifier.sigstore.legacy import ANN_CERTIFICATE, SignedContent, verify_signed

    env = dsse.parse_envelope(load_statement(item.data))
    content = SignedContent(env.pae(), env.signatures, env)
    keys: Sequence[PublicKey | None] = (
        [None] if item.annotations.get(ANN_CERTIFICATE) or not policy.keys else policy.keys
    )
    failure: VerificationFailure | None = None
    for key in keys:
        try:
            res = verify_signed(
                content,
                item.annotations,
                trust=policy.trust[0],
                policy=policy.identity,
                key=key,
                private_pki=policy.private_pki,
            )
        except VerificationFailure as exc:
            failure = exc
            continue
        if env.payload_type != INTOTO_PAYLOAD_TYPE:
            raise VerificationFailure(
                Reason.PAYLOAD_INVALID, f"DSSE payload type {env.payload_type!r} is not in-toto"
            )
        return Verified(
            payload=env.payload, signer=res.signer.as_fact(), signed_at=res.integrated_time
        )
    if failure is None:  # pragma: no cover - keys is never empty
        raise VerificationFailure(Reason.KEY_REQUIRED, "no key to verify with")
    raise failure


def _verify_envelope_item(item: ProvenanceItem, policy: ProvenancePolicy) -> Verified:
    from verifier.sigstore import dsse
    from verifier.sigstore.keys import verify_signature

    env = dsse.parse_envelope(load_statement(item.data))
    if not policy.keys:
        raise VerificationFailure(
            Reason.KEY_REQUIRED,
            "a bare DSSE envelope carries no certificate: only a configured key can verify it",
        )
    for key in policy.keys:
        if any(verify_signature(key, sig, env.pae()) for sig in env.signatures):
            if env.payload_type != INTOTO_PAYLOAD_TYPE:
                raise VerificationFailure(
                    Reason.PAYLOAD_INVALID, f"DSSE payload type {env.payload_type!r} is not in-toto"
                )
            return Verified(payload=env.payload, signer={"key": "sha256:" + key_id(key).hex()})
    raise VerificationFailure(
        Reason.KEY_MISMATCH, "DSSE signature does not verify with any configured key"
    )


def verify_item(item: ProvenanceItem, policy: ProvenancePolicy) -> Verified:
    """Verify one signed item (the default :data:`Verify`). Unsigned kinds are refused here."""
    if item.kind in (KIND_REFERRER_BUNDLE, KIND_FILE_BUNDLE):
        return _verify_bundle_item(item, policy)
    if item.kind == KIND_COSIGN_ATT:
        return _verify_att_item(item, policy)
    if item.kind == KIND_FILE_ENVELOPE:
        return _verify_envelope_item(item, policy)
    if item.kind == KIND_GCLOUD:
        from verifier.checks.provenance.gcb_verify import verify_gcloud

        payload, signer, context = verify_gcloud(item.data, policy.gcb_keys)
        return Verified(payload=payload, signer=signer, context=context)
    raise VerificationFailure(Reason.UNSUPPORTED, f"{item.kind} items carry no signature")


# ---------------------------------------------------------------------------------------------- evaluate


@dataclass
class _Outcome:
    item: ProvenanceItem
    signed: bool
    provenance: Provenance | None = None
    verified: Verified | None = None
    problems: list[Problem] = field(default_factory=list)

    def fact(self, level: int | None = None) -> dict[str, Any]:
        fact: dict[str, Any] = {
            "where": self.item.where,
            "kind": self.item.kind,
            "digest": self.item.digest,
        }
        if self.provenance is not None:
            fact.update(self.provenance.as_fact())
            fact["source"] = self.provenance.source_repository
        if self.verified is not None and self.signed:
            fact["signer"] = self.verified.signer
            fact["signed_at"] = (
                self.verified.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                if self.verified.signed_at
                else None
            )
        fact["satisfies_policy"] = not self.problems
        if self.problems:
            fact["problems"] = [p.rule for p in self.problems]
        if level is not None:
            fact["build_level"] = level
        return fact


def _subject_problems(
    prov: Provenance, item: ProvenanceItem, evidence: ProvenanceEvidence
) -> list[Problem]:
    names = prov.subject_digests()
    if item.kind == KIND_BUILDKIT:
        if item.refers_to not in evidence.platform_digests:
            return [
                Problem(
                    RULE_SUBJECT,
                    f"attestation manifest refers to {item.refers_to or '(nothing)'}, not a manifest "
                    f"of {evidence.digest}",
                )
            ]
        want = item.refers_to
    else:
        want = evidence.digest
    if want.lower() not in names:
        return [
            Problem(
                RULE_SUBJECT,
                f"provenance is for {', '.join(names) or '(no sha256 subject)'}, not {want}",
            )
        ]
    return []


def _judge(
    item: ProvenanceItem, evidence: ProvenanceEvidence, policy: ProvenancePolicy
) -> _Outcome:
    signed = item.kind not in UNSIGNED_KINDS
    outcome = _Outcome(item, signed)
    try:
        if signed:
            outcome.verified = _verify_cached(item, policy)
            payload = outcome.verified.payload
        else:
            payload = item.data
            outcome.verified = Verified(payload=payload)
        outcome.provenance = read_provenance(load_statement(payload))
    except VerificationFailure as exc:
        outcome.problems.append(Problem(_rule_of(exc.reason), exc.message))
        return outcome
    except StatementError as exc:
        outcome.problems.append(Problem(exc.rule, exc.message))
        return outcome
    except Exception as exc:  # noqa: BLE001 - fail closed: this item does not count, the others still may
        outcome.problems.append(
            Problem("unsupported", f"could not be verified ({type(exc).__name__}: {exc})")
        )
        return outcome
    prov = outcome.provenance
    if item.kind == KIND_GCLOUD and outcome.verified.context is not None:
        from verifier.checks.provenance.gcb_verify import summary_problems

        outcome.problems += [
            Problem("summary-mismatch", text)
            for text in summary_problems(outcome.verified.context, evidence.digest)
        ]
    outcome.problems += _subject_problems(prov, item, evidence)
    for req in policy.requirements:
        outcome.problems += requirement_problems(prov, req)
    if signed and outcome.verified is not None:
        outcome.problems += claim_problems(prov, outcome.verified.signer)
    return outcome


def _rule_of(reason: Reason) -> str:
    return str(reason)


def build_level(prov: Provenance, policy: ProvenancePolicy) -> int:
    """Build level of verified, passing provenance: 3 for a builder named hardened, else 2."""
    return 3 if prov.builder_name in policy.hardened_builders else 2


def evaluate(evidence: ProvenanceEvidence, policy: ProvenancePolicy) -> CheckResult:
    """Judge every provenance item of ``evidence``; pass when a signed one satisfies the whole policy."""
    subject = (
        evidence.subject
        if evidence.digest in evidence.subject
        else (f"{evidence.subject}@{evidence.digest}")
    )
    outcomes = [_judge(item, evidence, policy) for item in evidence.items]
    passing = [o for o in outcomes if o.signed and not o.problems]
    unsigned = [o for o in outcomes if not o.signed]
    verified = [o for o in outcomes if o.signed and o.provenance is not None and o.verified]
    level = max((build_level(o.provenance, policy) for o in passing if o.provenance), default=0)
    findings: list[Finding] = []
    severity = Severity.LOW if passing else Severity.HIGH
    findings.extend(
        Finding(
            rule=problem.rule,
            severity=severity if o.signed else Severity.LOW,
            message=f"{o.item.where}: {problem.message}",
            location=Location(path=subject),
            properties={"kind": o.item.kind, "attestation": o.item.where},
        )
        for o in outcomes
        if o not in passing and (o.signed or not passing)
        for problem in o.problems
    )
    verdict = "pass" if passing else "fail"
    if not passing:
        if unsigned and not [o for o in outcomes if o.signed]:
            findings.insert(
                0,
                Finding(
                    rule=RULE_UNSIGNED,
                    severity=Severity.HIGH,
                    message=f"only unsigned provenance found ({len(unsigned)} statement(s)): "
                    "nothing vouches for who wrote it",
                    location=Location(path=subject),
                ),
            )
        elif not outcomes:
            findings.append(
                Finding(
                    rule=RULE_NO_PROVENANCE,
                    severity=Severity.HIGH,
                    message="no provenance attestation found"
                    + (
                        f" ({len(evidence.other_attestations)} other attestation(s): not provenance)"
                        if evidence.other_attestations
                        else ""
                    ),
                    location=Location(path=subject),
                )
            )
    first = passing[0] if passing else None
    facts: dict[str, Any] = {
        "digest": evidence.digest,
        "found": len(outcomes),
        "verified": [o.fact(build_level(o.provenance, policy)) for o in passing if o.provenance],
        "rejected": [o.fact() for o in outcomes if o.signed and o not in passing],
        "unsigned": [o.fact() for o in unsigned],
        "unsigned_satisfying": sum(1 for o in unsigned if o.provenance and not o.problems),
        "signed_found": len([o for o in outcomes if o.signed]),
        "verified_signatures": len(verified),
        "other_attestations": len(evidence.other_attestations),
        "build_level": level,
        "policy": policy.config(),
    }
    if first is not None and first.provenance is not None:
        facts["builder"] = first.provenance.builder_id
        facts["source"] = {
            "repository": first.provenance.source_repository,
            "ref": first.provenance.ref,
            "commit": first.provenance.commit,
            "workflow": first.provenance.workflow_path,
        }
    if evidence.problems:
        facts["problems"] = list(evidence.problems)
    if not passing and evidence.problems:
        verdict = "error"
        facts["error"] = "evidence incomplete and no provenance verified: " + "; ".join(
            evidence.problems
        )
        findings.append(
            Finding(
                rule=RULE_EVIDENCE_INCOMPLETE,
                severity=Severity.HIGH,
                message=facts["error"],
                location=Location(path=subject),
            )
        )
    return CheckResult(
        check=CHECK_ID, subject=subject, verdict=verdict, findings=tuple(findings), facts=facts
    )


# -------------------------------------------------------------------------------------- policy from config


INSTANCE_ROOTS = ("public-good", "github", "staging")


def policy_from_config(
    cfg: ProvenanceSection, source: SourceSection | None = None
) -> ProvenancePolicy:
    """A :class:`ProvenancePolicy` from the section (paths already resolved) and the gate's ``source:``."""
    from verifier.checks.provenance.gcb_verify import pinned_gcb_keys
    from verifier.sigstore.keys import load_pem_public_key
    from verifier.sources.files import read_bytes

    requirements = [cfg.requirements()]
    source = source or cfg.source
    if source is not None:
        requirements.append(source_requirements(source))
    keys = []
    if cfg.key is not None:
        try:
            keys.append(load_pem_public_key(read_bytes(cfg.key, 1024 * 1024)))
        except ValueError as exc:
            from verifier.errors import InputError

            raise InputError(cfg.key, f"not a usable PEM public key: {exc}") from None
    return ProvenancePolicy(
        trust=load_roots(cfg.instances, cfg.trusted_root),
        identity=IdentityPolicy(
            issuer=cfg.signer_issuer, identity_regexp=cfg.signer_identity_regexp
        ),
        requirements=tuple(requirements),
        keys=tuple(keys),
        gcb_keys=pinned_gcb_keys(),
        hardened_builders=cfg.hardened_builders,
        required=cfg.required,
        allow_unsigned=cfg.allow_unsigned,
    )


# --- the check as the pipeline runs it -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PipelineEvidence:
    """The policy as read from its files, and every provenance item found for the image."""

    policy: ProvenancePolicy
    evidence: ProvenanceEvidence


class ProvenanceCheck(Check[ProvenanceSection, PipelineEvidence]):
    """``provenance``: verified build provenance from a trusted builder and the expected source."""

    meta = META
    section_type = ProvenanceSection
    needs_image = True

    def reads_attestations(self, section: ProvenanceSection) -> bool:
        """Provenance is an attestation."""
        return True

    def collect(self, section: ProvenanceSection, ctx: RunContext) -> PipelineEvidence:
        """The image's attestations and referrers (shared with the other image checks), its BuildKit
        attestation manifests, and the configured attestation files."""
        from verifier.sources.provenance import (
            buildkit_for_image,
            from_image_evidence,
            merge,
            read_attestation_file,
        )

        policy = policy_from_config(section, getattr(ctx.config, "source", None))
        image = ctx.image_evidence()
        options = getattr(ctx, "sources", None)
        kit = buildkit_for_image(
            image.ref,
            image.digest,
            docker_config=getattr(options, "docker_config", None),
            timeout=getattr(options, "timeout", 10.0),
            pool=getattr(options, "pool", None),
        )
        extra = []
        for path in section.files:
            extra += read_attestation_file(path)
            ctx.record_input(path, "provenance")
        return PipelineEvidence(policy, merge(from_image_evidence(image, kit), extra))

    def judge(
        self, evidence: PipelineEvidence, section: ProvenanceSection, ctx: RunContext
    ) -> list[CheckResult]:
        """Pass when one signed provenance satisfies the whole policy."""
        return [evaluate(evidence.evidence, evidence.policy)]

    def policy_config(
        self, section: ProvenanceSection, evidence: PipelineEvidence | None
    ) -> dict[str, Any]:
        """``required`` and ``allow_unsigned`` for the Rego policy, and the requirements for reports."""
        if evidence is not None:
            return evidence.policy.config()
        return {"required": section.required, "allow_unsigned": section.allow_unsigned}


CHECK = ProvenanceCheck()

__all__ = [
    "CHECK",
    "CHECK_ID",
    "ProvenanceConfig",
    "ProvenancePolicy",
    "ProvenanceSection",
    "SourceConfig",
    "SourceSection",
    "Verified",
    "clear_cache",
    "evaluate",
    "load_roots",
    "policy_from_config",
    "verify_item",
]
