"""Check ``signature``: the image is signed by a trusted signer (cosign / Sigstore), keyless or with a key.

Pure: ``evaluate(evidence, policy)`` takes the :class:`ImageEvidence` collected by
:mod:`verifier.sources.image` and a :class:`SignaturePolicy` (identity policy or key, trust root) and returns
one :class:`CheckResult`. It verifies, in :mod:`verifier.sigstore`:

- legacy cosign ``sha256-<hex>.sig`` layers (simplesigning payload bound to the image digest);
- cosign v3 / sigstore-js signatures attached as OCI 1.1 referrers: Sigstore bundles holding a DSSE in-toto
  statement with predicate ``https://sigstore.dev/cosign/sign/v1`` whose subject contains the image digest.

Referrer bundles with other predicates (SBOM, provenance) and ``.att`` layers are attestations, not
signatures: they are counted in the facts and left to the ``sbom-attestation`` check.

Verdict: ``pass`` when at least one signature satisfies the policy; ``fail`` otherwise (each failing signature
is a finding whose rule is the failure reason, see docs/checks/signature.md; no signature at all is
``no-signature``); ``error`` when nothing verified and the evidence is incomplete (``evidence-incomplete``).
Findings of failing signatures stay in a passing result with severity ``low``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.checks import registry
from verifier.checks._base import Check, RunContext
from verifier.models import CheckResult, Finding, Location, Severity, Subject
from verifier.models.config import Identity, Signers, SignerSection
from verifier.models.evidence import ImageEvidence, ReferrerBundle, SignatureLayer
from verifier.sigstore.bundle import BundleResult, verify_bundle
from verifier.sigstore.errors import Reason, VerificationFailure
from verifier.sigstore.identity import IdentityPolicy
from verifier.sigstore.keys import PublicKey, key_id
from verifier.sigstore.legacy import PrivatePki, VerifiedSignature, verify_signature_layer
from verifier.sigstore.trust import TrustRoot

CHECK_ID = "signature"
META = registry.get(CHECK_ID)
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
BUNDLE_ARTIFACT_PREFIX = "application/vnd.dev.sigstore.bundle"
RULE_NO_SIGNATURE = "no-signature"
RULE_EVIDENCE_INCOMPLETE = "evidence-incomplete"
RULE_THRESHOLD_NOT_MET = "threshold-not-met"
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
CACHE_SIZE = 1024


@dataclass(frozen=True)
class SignaturePolicy:
    """Who may sign. Keyless needs ``identity`` (issuer + identity or regexp); key-based needs ``key``.

    ``require_tlog`` makes key-signed signatures need a transparency-log entry too (cosign's default;
    containers/image does not require it). ``private_pki`` verifies keyless signatures of a private CA
    (no Rekor/CT) at that time.

    ``trust`` verifies legacy ``.sig``/``.att`` layers and key-signed bundles; keyless bundles are verified
    against ``trust`` and ``more_roots`` (GitHub's instance), the root whose CA issued the certificate
    applying with its own rules (:func:`verifier.sigstore.bundle.verify_bundle`).
    """

    trust: TrustRoot
    identity: IdentityPolicy | None = None
    key: PublicKey | None = None
    require_tlog: bool = False
    private_pki: PrivatePki | None = None
    more_roots: tuple[TrustRoot, ...] = ()

    @property
    def roots(self) -> tuple[TrustRoot, ...]:
        """Every trusted root of the policy, ``trust`` first."""
        return (self.trust, *self.more_roots)

    @functools.cached_property
    def cache_fingerprint(self) -> str:
        """:meth:`fingerprint`, computed once per policy (it hashes every trusted root)."""
        return self.fingerprint()

    def fingerprint(self) -> str:
        """Stable text of the policy (cache key and facts)."""
        parts = {
            "trust": [hashlib.sha256(t.raw).hexdigest() if t.raw else t.name for t in self.roots],
            "identity": None
            if self.identity is None
            else [
                self.identity.issuer,
                self.identity.identity,
                self.identity.identity_regexp,
                sorted(self.identity.claims.items()),
                self.identity.issuer_regexp,
            ],
            "key": key_id(self.key).hex() if self.key is not None else None,
            "require_tlog": self.require_tlog,
            "pki": self.private_pki.at.isoformat() if self.private_pki else None,
        }
        return json.dumps(parts, sort_keys=True)

    def config(self) -> dict[str, Any]:
        """The policy as JSON for the Rego input (``input.config.signature``)."""
        cfg: dict[str, Any] = {
            "trusted_root": root_label(self.trust.name),
            "trusted_roots": [root_label(t.name) for t in self.roots],
            "require_tlog": self.require_tlog,
        }
        if self.identity is not None:
            cfg.update(
                issuer=self.identity.issuer,
                identity=self.identity.identity,
                identity_regexp=self.identity.identity_regexp,
                claims=dict(self.identity.claims),
            )
            if self.identity.issuer_regexp is not None:
                cfg["issuer_regexp"] = self.identity.issuer_regexp
        if self.key is not None:
            cfg["key"] = "sha256:" + key_id(self.key).hex()
        if self.private_pki is not None:
            cfg["private_pki_at"] = self.private_pki.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return cfg


def root_label(name: str) -> str:
    """``pinned:<instance>`` for a root pinned in the package (or its refreshed copy), else its file."""
    from verifier.sources.trust_roots import INSTANCE_ROOTS, pinned

    for instance, path in INSTANCE_ROOTS.items():
        if name in (str(path), str(pinned(path))):
            return f"pinned:{instance}"
    return name


def signer_fact(signer: dict[str, Any], root: str, root_vouched: bool) -> dict[str, Any]:
    """A verified signer's facts with the trusted root (Sigstore instance) that vouched for it: always for a
    keyless signer (its certificate chains to that root), for a key only when a log entry or timestamp of
    the root was verified (``root_vouched``)."""
    if "key" in signer and not root_vouched:
        return signer
    return {**signer, "trusted_root": root_label(root)}


@dataclass(frozen=True)
class _Outcome:
    kind: str
    where: str
    verified: dict[str, Any] | None = None
    reason: str | None = None
    message: str | None = None


# Verifications cached by (policy, digest, evidence bytes): verifying the same signature twice gives the same
# answer (no verification here depends on the current time).
_CACHE: OrderedDict[str, _Outcome] = OrderedDict()
_CACHE_LOCK = threading.Lock()  # the webhook verifies from several threads


def clear_cache() -> None:
    """Forget cached verifications (benchmarks measure cold runs with it)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _cache_key(policy: SignaturePolicy, digest: str, kind: str, *parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in (policy.cache_fingerprint, digest, kind, *parts):
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _cached(key: str, compute: Any) -> _Outcome:
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    outcome: _Outcome = (
        compute()
    )  # outside the lock: two threads may both verify, never block each other
    with _CACHE_LOCK:
        _CACHE[key] = outcome
        if len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return outcome


def _when(at: dt.datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


# What one signature's verification yields: the signer, when it was signed, its transparency-log index and
# the trusted root (Sigstore instance) that verified it.
_Verify = Callable[[], tuple[Any, dt.datetime | None, int | None, str]]


def _verified(kind: str, where: str, verify: _Verify) -> _Outcome:
    """Run ``verify`` (returning signer, signing time, log index, root) as one signature's outcome. A
    failure is that signature's outcome, never an error: fail closed, the other signatures still may
    verify."""
    try:
        signer, signed_at, log_index, root = verify()
    except VerificationFailure as exc:
        return _Outcome(kind, where, reason=str(exc.reason), message=exc.message)
    except Exception as exc:  # fail closed: this signature does not count; the others still may
        return _Outcome(
            kind,
            where,
            reason=str(Reason.UNSUPPORTED),
            message=f"could not be verified ({type(exc).__name__}: {exc})",
        )
    fact = {
        **signer_fact(signer.as_fact(), root, signed_at is not None or log_index is not None),
        "kind": kind,
        "signed_at": _when(signed_at),
        "log_index": log_index,
    }
    return _Outcome(kind, where, verified=fact)


def _legacy(layer: SignatureLayer, index: int, digest: str, policy: SignaturePolicy) -> _Outcome:
    where = f".sig layer {index}"

    def verify() -> tuple[Any, dt.datetime | None, int | None, str]:
        res: VerifiedSignature = verify_signature_layer(
            layer.payload,
            layer.media_type,
            layer.annotations,
            digest,
            trust=policy.trust,
            policy=policy.identity,
            key=policy.key,
            require_tlog=policy.require_tlog,
            private_pki=policy.private_pki,
        )
        return res.signer, res.integrated_time, res.log_index, policy.trust.name

    def compute() -> _Outcome:
        return _verified("cosign-legacy", where, verify)

    annotations = json.dumps(layer.annotations, sort_keys=True)
    key = _cache_key(policy, digest, "legacy", layer.payload, layer.media_type, annotations)
    # The same signature may sit at another position (or image layout): the location is not cached.
    return dataclasses.replace(_cached(key, compute), where=where)


def _is_signature_referrer(ref: ReferrerBundle) -> bool:
    """A referrer whose bundle is a cosign signature (not another attestation)."""
    predicate = ref.annotations.get("dev.sigstore.bundle.predicateType")
    if predicate is not None:
        return bool(predicate == COSIGN_SIGN_PREDICATE)
    try:
        doc = json.loads(ref.bundle)
        payload = (doc.get("dsseEnvelope") or {}).get("payload")
        if not isinstance(payload, str):
            return False
        import base64

        statement = json.loads(base64.b64decode(payload))
        return bool(statement.get("predicateType") == COSIGN_SIGN_PREDICATE)
    except (ValueError, TypeError, AttributeError):
        return False


def _referrer(ref: ReferrerBundle, digest: str, policy: SignaturePolicy) -> _Outcome:
    where = f"referrer {ref.manifest_digest}"

    def verify() -> tuple[Any, dt.datetime | None, int | None, str]:
        hex_digest = digest.partition(":")[2]
        res: BundleResult = verify_bundle(
            ref.bundle,
            trust=policy.roots,
            digest=bytes.fromhex(hex_digest),
            policy=policy.identity,
            key=policy.key,
        )
        if res.statement is None or res.statement.get("predicateType") != COSIGN_SIGN_PREDICATE:
            raise VerificationFailure(
                Reason.PAYLOAD_INVALID,
                f"bundle is not a cosign signature (predicate {COSIGN_SIGN_PREDICATE})",
            )
        if policy.key is not None and policy.require_tlog and res.log_index is None:
            raise VerificationFailure(
                Reason.TLOG_ENTRY_MISSING, "key-signed bundle has no transparency log entry"
            )
        return res.signer, res.signed_at, res.log_index, res.trust_root

    def compute() -> _Outcome:
        return _verified("sigstore-bundle", where, verify)

    key = _cache_key(policy, digest, "bundle", ref.bundle, ref.manifest_digest)
    return dataclasses.replace(_cached(key, compute), where=where)


def evaluate(evidence: ImageEvidence, policy: SignaturePolicy) -> CheckResult:
    """Verify every signature of the image against ``policy``; pass when at least one satisfies it."""
    subject = str(Subject(kind="image", ref=evidence.ref, digest=evidence.digest))
    if policy.identity is None and policy.key is None:
        raise ValueError("a signature policy needs an identity policy or a key")
    outcomes = [
        _legacy(layer, i, evidence.digest, policy) for i, layer in enumerate(evidence.signatures)
    ]
    signature_referrers = [
        r
        for r in evidence.referrers
        if r.artifact_type.startswith(BUNDLE_ARTIFACT_PREFIX) and _is_signature_referrer(r)
    ]
    outcomes += [_referrer(r, evidence.digest, policy) for r in signature_referrers]

    verified = [o.verified for o in outcomes if o.verified is not None]
    failed = [o for o in outcomes if o.verified is None]
    passing = bool(verified)
    findings: list[Finding] = [
        Finding(
            rule=o.reason or str(Reason.UNSUPPORTED),
            severity=Severity.LOW if passing else Severity.HIGH,
            message=f"{o.where}: {o.message}",
            location=Location(path=subject),
            properties={"kind": o.kind, "signature": o.where},
        )
        for o in failed
    ]
    verdict = "pass" if passing else "fail"
    facts: dict[str, Any] = {
        "digest": evidence.digest,
        "verified_signers": verified,
        "count": len(verified),
        "signatures_found": len(outcomes),
        "failed": len(failed),
        "attestations_found": len(evidence.attestations)
        + len(evidence.referrers)
        - len(signature_referrers),
        "policy": policy.config(),
    }
    if evidence.problems:
        facts["problems"] = list(evidence.problems)
    if not passing and evidence.problems:
        verdict = "error"
        facts["error"] = "evidence incomplete and no signature verified: " + "; ".join(
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
    elif not outcomes:
        message = "no cosign signature (.sig layer or signature referrer) found for the image"
        if evidence.media_type in INDEX_MEDIA_TYPES:
            # Only signatures on the pinned digest count (docs/checks/signature.md, "Multi-platform").
            message += (
                "; it is an index: signatures on its platform manifests do not count, sign the index "
                "(cosign sign --recursive signs it and every platform)"
            )
        findings.append(
            Finding(
                rule=RULE_NO_SIGNATURE,
                severity=Severity.HIGH,
                message=message,
                location=Location(path=subject),
            )
        )
    return CheckResult(
        check=CHECK_ID, subject=subject, verdict=verdict, findings=tuple(findings), facts=facts
    )


# --- the check as the pipeline runs it -------------------------------------------------------------------


def _identity_policy(identity: Identity, where: str) -> IdentityPolicy:
    from verifier.errors import ConfigError

    try:
        return IdentityPolicy(
            issuer=identity.issuer,
            issuer_regexp=identity.issuer_regexp,
            identity=identity.identity,
            identity_regexp=identity.identity_regexp,
            claims=dict(identity.claims),
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _public_key(path: str) -> PublicKey:
    from verifier.errors import InputError
    from verifier.sigstore.keys import load_pem_public_key
    from verifier.sources.files import MIB, read_bytes

    try:
        return load_pem_public_key(read_bytes(path, MIB))
    except ValueError as exc:
        raise InputError(path, str(exc)) from None


# Policies read from files, by (set, the files' (path, mtime, size)): a long-running webhook reads its signer
# files once per change, not once per image (a refreshed trust root or key is still picked up at once).
_POLICIES: OrderedDict[tuple[str, tuple[tuple[str, int, int], ...]], list[SignaturePolicy]] = (
    OrderedDict()
)


def _file_stamps(signers: Signers) -> tuple[tuple[str, int, int], ...] | None:
    """(path, mtime_ns, size) of every file the set's policies are read from; None when one is missing
    (the load then names it)."""
    import os

    paths = [
        *(str(root) for root in _root_paths(signers)),
        *(a.key for a in signers.all_authorities if a.key is not None),
    ]
    try:
        return tuple((p, st.st_mtime_ns, st.st_size) for p in paths for st in (os.stat(p),))
    except OSError:
        return None


def signature_policies(signers: Signers, now: dt.datetime) -> list[SignaturePolicy]:
    """The :class:`SignaturePolicy` of each signer of a ``signers:`` set, sharing the set's trust root (or
    private-PKI CA certificates, verified at ``now``), read from their files. A set of one identity and/or
    one key with threshold 1 (the common form) is one policy that either satisfies. Unchanged files are not
    read again (private-PKI sets, verified at ``now``, are always built afresh)."""
    stamps = _file_stamps(signers) if signers.ca_roots is None else None
    key = (repr(signers), stamps) if stamps is not None else None
    if key is not None and (cached := _POLICIES.get(key)) is not None:
        return list(cached)
    policies = _read_policies(signers, now)
    if key is not None:
        _POLICIES[key] = policies
        while len(_POLICIES) > 64:
            _POLICIES.popitem(last=False)
    return list(policies)


def _root_paths(signers: Signers) -> list[Path]:
    """The trusted roots of a (non-private-PKI) set: ``trusted_root`` first (it verifies key-signed and
    legacy signatures), then the pinned roots of its Sigstore instances."""
    from pathlib import Path

    from verifier.sources.trust_roots import instance_paths

    first = [Path(signers.trusted_root)] if signers.trusted_root else []
    return first + instance_paths(signers.sigstore_instances)


def _read_policies(signers: Signers, now: dt.datetime) -> list[SignaturePolicy]:
    from verifier.sigstore.legacy import PrivatePki
    from verifier.sigstore.trust import trust_root_from_pems
    from verifier.sources.files import MIB, read_bytes
    from verifier.sources.trust_roots import load_trust_root

    private_pki = None
    more_roots: tuple[TrustRoot, ...] = ()
    if signers.ca_roots is not None:
        intermediates = (
            read_bytes(signers.ca_intermediates, MIB) if signers.ca_intermediates else b""
        )
        trust = trust_root_from_pems(
            signers.ca_roots, read_bytes(signers.ca_roots, MIB), intermediates
        )
        private_pki = PrivatePki(now)
    else:
        trust, *others = (load_trust_root(path) for path in _root_paths(signers))
        more_roots = tuple(others)

    def policy(identity: Identity | None, key: str | None, where: str) -> SignaturePolicy:
        return SignaturePolicy(
            trust=trust,
            identity=_identity_policy(identity, where) if identity is not None else None,
            key=_public_key(key) if key is not None else None,
            require_tlog=signers.require_tlog,
            private_pki=private_pki,
            more_roots=more_roots,
        )

    if not signers.authorities and signers.threshold == 1:
        return [policy(signers.identity, signers.key, "signers.identity")]
    return [
        policy(a.identity, a.key, f"signers.authorities[{i}]")
        for i, a in enumerate(signers.all_authorities)
    ]


def signature_policy(signers: Signers, now: dt.datetime) -> SignaturePolicy:
    """The one :class:`SignaturePolicy` of a set of a single signer form (identity and/or key)."""
    policies = signature_policies(signers, now)
    if len(policies) != 1:
        raise ValueError("this signer set has several signers: use signature_policies")
    return policies[0]


def evaluate_set(
    evidence: ImageEvidence, policies: list[SignaturePolicy], threshold: int
) -> CheckResult:
    """Pass when at least ``threshold`` distinct signers of the set each verified a signature."""
    if len(policies) == 1 and threshold == 1:
        return evaluate(evidence, policies[0])
    per_signer = [evaluate(evidence, p) for p in policies]
    verified = [r for r in per_signer if r.verdict == "pass"]
    passing = len(verified) >= threshold
    subject = per_signer[0].subject
    findings = [
        dataclasses.replace(f, severity=Severity.LOW if passing else f.severity)
        for r in per_signer
        if r.verdict != "pass"
        for f in r.findings
    ]
    if not passing:
        findings.append(
            Finding(
                rule=RULE_THRESHOLD_NOT_MET,
                severity=Severity.HIGH,
                message=f"{len(verified)} of the {len(policies)} signers of the set signed the image; "
                f"the set needs {threshold}",
                location=Location(path=subject),
            )
        )
    errors = [r for r in per_signer if r.verdict == "error"]
    verdict = "pass" if passing else ("error" if errors and not verified else "fail")
    facts: dict[str, Any] = {
        "digest": evidence.digest,
        "verified_signers": [s for r in verified for s in r.facts["verified_signers"]],
        "count": len(verified),
        "threshold": threshold,
        "signers": [
            {"policy": p.config(), "verdict": r.verdict}
            for p, r in zip(policies, per_signer, strict=True)
        ],
        "signatures_found": per_signer[0].facts["signatures_found"],
        "failed": sum(1 for r in per_signer if r.verdict != "pass"),
        "attestations_found": per_signer[0].facts["attestations_found"],
        "policy": {"threshold": threshold, "signers": [p.config() for p in policies]},
    }
    if errors and not verified:
        facts["error"] = errors[0].facts.get("error", "evidence incomplete")
    return CheckResult(
        check=CHECK_ID, subject=subject, verdict=verdict, findings=tuple(findings), facts=facts
    )


@dataclass(frozen=True)
class SignatureEvidence:
    """The signer set chosen for the image (its name, its policies and threshold), and the image's
    evidence; ``no_set`` names the image when no set applies to it."""

    set_name: str
    policies: list[SignaturePolicy]
    threshold: int
    image: ImageEvidence | None
    no_set: str | None = None


def signer_set_for(ctx: RunContext) -> tuple[str, Signers] | None:
    """The signer set that verifies the context's image (named by a webhook rule, else by pattern)."""
    image = ctx.image or ""
    return ctx.config.signers_for(image, ctx.signer_set)


class SignatureCheck(Check[SignerSection, SignatureEvidence]):
    """``signature``: the image signed by a trusted signer (or N of a set's signers)."""

    meta = META
    section_type = Signers
    section_alternatives = (dict[str, Signers],)
    needs_image = True

    def section_type_for(self, value: Any) -> Any:
        """A map of named sets when every value is a mapping and some key is not a Signers field; else one
        set (so a misplaced key such as ``identity_regexp`` is reported as an unknown key of the set)."""
        fields = {f.name for f in dataclasses.fields(Signers)}
        if (
            isinstance(value, dict)
            and value
            and not set(value) <= fields
            and all(isinstance(v, dict) for v in value.values())
        ):
            return dict[str, Signers]
        return Signers

    def collect(self, section: SignerSection, ctx: RunContext) -> SignatureEvidence:
        """The signer set for the image and its policies, then the image's signatures."""
        chosen = signer_set_for(ctx)
        if chosen is None:
            return SignatureEvidence("", [], 1, None, no_set=ctx.image or "(no image)")
        name, signers = chosen
        policies = signature_policies(signers, ctx.now)
        return SignatureEvidence(name, policies, signers.threshold, ctx.image_evidence())

    def judge(
        self, evidence: SignatureEvidence, section: SignerSection, ctx: RunContext
    ) -> list[CheckResult]:
        """Pass when enough signers of the set verified a signature."""
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
        result = evaluate_set(evidence.image, evidence.policies, evidence.threshold)
        if isinstance(section, dict):
            result = dataclasses.replace(
                result, facts={**result.facts, "signer_set": evidence.set_name}
            )
        return [result]

    def policy_config(
        self, section: SignerSection, evidence: SignatureEvidence | None
    ) -> dict[str, Any]:
        """The signer policy as the Rego input sees it."""
        if evidence is None or not evidence.policies:
            return {}
        if len(evidence.policies) == 1 and evidence.threshold == 1:
            return evidence.policies[0].config()
        return {
            "threshold": evidence.threshold,
            "signers": [p.config() for p in evidence.policies],
        }


CHECK = SignatureCheck()
