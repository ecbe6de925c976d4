"""The typed ``verifier.yaml``: the sections every command shares, and the container of check sections.

These are frozen stdlib dataclasses, validated by pydantic when :mod:`verifier.config` reads a file (unknown
keys are errors, every bad value is named). Declaring them as dataclasses, not pydantic models, lets a short
``verifier check …`` build its section from flags without importing pydantic at all (see
tests/integration/test_cli_startup.py); pydantic reads ``__pydantic_config__`` and the attribute docstrings
below, which also become the descriptions of the generated JSON schema.

Each check's own section (``sarif:``, ``workflows:``, …) is declared by the check module itself and listed in
:mod:`verifier.checks.registry`; :class:`VerifierConfig` holds them in ``sections``, keyed by their YAML key.
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
from collections.abc import Mapping
from typing import Any, Literal

# What pydantic applies to every config dataclass: unknown keys are errors, attribute docstrings describe.
STRICT: Any = {"extra": "forbid", "use_attribute_docstrings": True}


class Mode(enum.StrEnum):
    """What a failed image does in the webhook: deny, admit with warnings, or admit and log."""

    ENFORCE = "enforce"
    WARN = "warn"
    AUDIT = "audit"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Identity:
    """A keyless signer: the certificate's identity (SAN), exact or as a regular expression, and its issuer."""

    __pydantic_config__ = STRICT

    identity: str | None = None
    """Exact certificate identity (SAN), e.g. a workflow URI."""
    identity_regexp: str | None = None
    """Regular expression the identity must match fully."""
    issuer: str | None = None
    """Exact OIDC issuer, e.g. https://token.actions.githubusercontent.com (required unless `issuer_regexp`
    or `ca_roots`)."""
    issuer_regexp: str | None = None
    """Instead of `issuer`: a regular expression the issuer must match fully."""
    claims: dict[str, str] = dataclasses.field(default_factory=dict)
    """Required certificate claims (source_repository_uri, source_repository_ref, build_signer_uri, ...)."""

    def __post_init__(self) -> None:
        if (self.identity is None) == (self.identity_regexp is None):
            raise ValueError("give exactly one of identity / identity_regexp")
        if self.issuer is not None and self.issuer_regexp is not None:
            raise ValueError("give at most one of issuer / issuer_regexp")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Authority:
    """One signer of a set: a keyless identity or a public key."""

    __pydantic_config__ = STRICT

    identity: Identity | None = None
    """Keyless (Fulcio certificate) signer."""
    key: str | None = None
    """PEM public key file (cosign key pair)."""

    def __post_init__(self) -> None:
        if (self.identity is None) == (self.key is None):
            raise ValueError("an authority is exactly one of identity (keyless) or key")


# Sigstore instances whose trusted roots are pinned in the package (verifier/sigstore/trusted_root*.json).
SigstoreInstance = Literal["public-good", "github", "staging"]
DEFAULT_INSTANCES: tuple[SigstoreInstance, ...] = ("public-good", "github")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Signers:
    """Who may sign the image (check `signature`); the SBOM attestation must come from the same signers.

    `signers:` is one such set, or a map of named sets (`signers: {release: {...}, partner: {...}}`): each
    image is verified by the first set whose `images` patterns match it (a webhook rule may name its set);
    an image no set applies to is an error verdict.
    """

    __pydantic_config__ = STRICT

    identity: Identity | None = None
    """Keyless (Fulcio certificate) signer."""
    key: str | None = None
    """PEM public key file (cosign key pair)."""
    authorities: tuple[Authority, ...] = ()
    """More signers of the set (each an identity or a key), besides `identity` and `key`."""
    threshold: int = dataclasses.field(default=1, metadata={"ge": 1})
    """How many distinct signers of the set must have signed the image (N of M)."""
    images: tuple[str, ...] = ("*",)
    """Image patterns (registry/repository, shell-style) this set verifies, in a map of named sets."""
    require_tlog: bool = False
    """Key-signed signatures must also be in the transparency log."""
    trusted_root: str | None = None
    """Sigstore trusted_root.json of a private deployment: it also verifies key-signed and legacy `.sig`
    signatures, and replaces the default `instances` (default: the pinned public-good root)."""
    instances: tuple[SigstoreInstance, ...] | None = None
    """Sigstore instances whose pinned trusted roots verify keyless bundles (signatures and attestations),
    besides `trusted_root`. The CA that issued a bundle's certificate picks the instance and its rules (a
    log entry on public-good, RFC 3161 timestamps on GitHub's); the identity rules still decide who signed.
    Default: public-good and github (fulcio.githubapp.com: artifact attestations of private repositories),
    or none when `trusted_root` names a private deployment. `[public-good]` refuses GitHub's instance."""
    signature_repo: str | None = None
    """Look signatures up here (like COSIGN_REPOSITORY): host/repo or oci-layout:PATH."""
    ca_roots: str | None = None
    """PEM root certificates of a private PKI (no Rekor, no CT): keyless signatures whose chain leads to them
    are verified at the evaluation time instead of a transparency-log time."""
    ca_intermediates: str | None = None
    """PEM intermediate certificates for `ca_roots`."""

    def __post_init__(self) -> None:
        if not self.all_authorities:
            raise ValueError("name a signer: identity (keyless), key or authorities")
        for authority in self.all_authorities:
            identity = authority.identity
            if identity is not None and not (identity.issuer or identity.issuer_regexp):
                if self.ca_roots is None:
                    raise ValueError(
                        "identity.issuer (or issuer_regexp) is required (unless ca_roots names a "
                        "private PKI)"
                    )
        if self.threshold > len(self.all_authorities):
            raise ValueError(
                f"threshold {self.threshold} is more than the {len(self.all_authorities)} signer(s) "
                "of the set"
            )
        if self.ca_roots is not None and self.trusted_root is not None:
            raise ValueError("ca_roots and trusted_root are mutually exclusive")
        if self.ca_intermediates is not None and self.ca_roots is None:
            raise ValueError("ca_intermediates needs ca_roots")
        if self.instances is not None and self.ca_roots is not None:
            raise ValueError("ca_roots (a private PKI) and instances are mutually exclusive")
        if self.instances is not None and not self.instances and self.trusted_root is None:
            raise ValueError("instances: name at least one Sigstore instance, or a trusted_root")
        if self.instances is not None and len(set(self.instances)) != len(self.instances):
            raise ValueError("instances: each Sigstore instance at most once")

    @property
    def sigstore_instances(self) -> tuple[SigstoreInstance, ...]:
        """The pinned instances this set trusts (see `instances`; none for a private PKI)."""
        if self.instances is not None:
            return self.instances
        if self.ca_roots is not None or self.trusted_root is not None:
            return ()
        return DEFAULT_INSTANCES

    @property
    def all_authorities(self) -> tuple[Authority, ...]:
        """Every signer of the set: ``identity``, ``key``, then ``authorities``."""
        first = (
            *((Authority(identity=self.identity),) if self.identity else ()),
            *((Authority(key=self.key),) if self.key else ()),
        )
        return (*first, *self.authorities)


# The signature check's section: one set of signers, or named sets.
SignerSection = Signers | dict[str, Signers]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Policy:
    """Where the decision is made."""

    __pydantic_config__ = STRICT

    bundle: str | None = None
    """Rego bundle directory (default: the bundled policies/)."""
    engine: Literal["embedded", "opa"] = "embedded"
    """embedded (regorus) or an OPA server."""
    opa_url: str | None = None
    """OPA server URL (engine: opa)."""

    def __post_init__(self) -> None:
        if self.engine == "opa" and not self.opa_url:
            raise ValueError("engine: opa needs opa_url")


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookRule:
    """A rule for images whose `registry/repository` matches `images` in a namespace matching `namespaces`.

    Patterns are shell-style (`*` also matches `/`): `ghcr.io/acme/*`, `docker.io/library/nginx`, `prod-*`.
    Unset fields take the section's defaults.
    """

    __pydantic_config__ = STRICT

    namespaces: tuple[str, ...] = ("*",)
    """Namespace patterns this rule applies to."""
    images: tuple[str, ...] = ("*",)
    """Image patterns (registry/repository) this rule applies to."""
    mode: Mode | None = None
    """enforce, warn or audit (default: the section's mode)."""
    require_digest: bool | None = None
    """Deny images not pinned by digest (default: the section's require_digest)."""
    config: dict[str, dict[str, Any]] | None = None
    """Policy settings for matching images, keyed by check id (input.config of the Rego policy), laid
    over the section's `config` key by key."""
    signers: str | None = None
    """The named signer set (of `signers:`) that verifies matching images (default: by its `images`)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookConfig:
    """The admission webhook (`verifier webhook`): modes, exemptions, rules, cache and concurrency."""

    __pydantic_config__ = STRICT

    mode: Mode = Mode.ENFORCE
    """What a failed image does when no rule matches: enforce (deny), warn or audit."""
    exempt_namespaces: tuple[str, ...] = ("kube-system",)
    """Namespace patterns that are never verified."""
    require_digest: bool = True
    """Deny images not pinned by digest."""
    config: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    """Policy settings, keyed by check id (input.config of the Rego policy), over the sections' own."""
    rules: tuple[WebhookRule, ...] = ()
    """First-match rules by namespace and image."""
    cache_ttl_seconds: float = dataclasses.field(default=300.0, metadata={"ge": 0})
    """How long a verdict is cached (by image@digest, policy version and rule)."""
    failure_ttl_seconds: float = dataclasses.field(default=10.0, metadata={"ge": 0})
    """How long a failure (registry down, timeout) is cached."""
    cache_max_entries: int = dataclasses.field(default=10_000, metadata={"ge": 1})
    """Most cached verdicts."""
    default_timeout_seconds: float = dataclasses.field(default=10.0, metadata={"gt": 0, "le": 30})
    """The budget when the API server sends no ?timeout=."""
    timeout_margin_seconds: float = dataclasses.field(default=1.0, metadata={"ge": 0})
    """Kept free of the API server's timeout to answer in time."""
    verify_timeout_seconds: float = dataclasses.field(default=25.0, metadata={"gt": 0})
    """Upper bound of one shared verification (it may outlive the request that started it)."""
    max_concurrent_lookups: int = dataclasses.field(default=32, metadata={"ge": 1, "le": 256})
    """Worker threads for registry lookups: cold requests beyond this many wait in a queue."""
    max_lookups_per_registry: int = dataclasses.field(default=8, metadata={"ge": 1, "le": 256})
    """Verifications in flight per registry host (more wait in arrival order); raise it for a far registry."""
    breaker_failures: int = dataclasses.field(default=5, metadata={"ge": 1})
    """Network failures in a row (no answer by the deadline, refused, reset, 429/5xx) after which a registry
    is not asked for ``breaker_cooldown_seconds`` (its images are denied at once); then one probe decides."""
    breaker_cooldown_seconds: float = dataclasses.field(default=30.0, metadata={"ge": 0})
    """How long a registry whose circuit opened is not asked."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerifierConfig:
    """The whole ``verifier.yaml``: shared sections plus one section per configured check.

    ``image`` and ``images`` name the release's images (every image check runs on each, concurrently).
    ``sections`` maps a check section's YAML key (``sarif``, ``workflows``, …; see
    :mod:`verifier.checks.registry`) to its validated dataclass; a section that is present turns its check on.
    ``signers`` is both the ``signature`` check's section and the signer every attestation check verifies with.
    """

    version: Literal[1] = 1
    image: str | None = None
    images: tuple[str, ...] = ()
    policy: Policy = dataclasses.field(default_factory=Policy)
    webhook: WebhookConfig | None = None
    decision_log: str | None = None
    sections: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def all_images(self) -> tuple[str, ...]:
        """Every image of the release: ``image`` and ``images``, in order, each once."""
        return tuple(dict.fromkeys((*((self.image,) if self.image else ()), *self.images)))

    def with_images(self, images: tuple[str, ...]) -> VerifierConfig:
        """A copy whose release is exactly these images."""
        return dataclasses.replace(self, image=None, images=images)

    @property
    def signers(self) -> Signers | None:
        """The ``signers:`` section when it is one set (not named sets)."""
        signers = self.sections.get("signers")
        return signers if isinstance(signers, Signers) else None

    def signers_for(self, image: str, name: str | None = None) -> tuple[str, Signers] | None:
        """The signer set that verifies ``image``: the one set, the set called ``name``, or the first named
        set whose ``images`` patterns match the image's ``registry/repository``; None when none applies."""
        section = self.sections.get("signers")
        if isinstance(section, Signers):
            return ("signers", section) if name is None or name == "signers" else None
        if not isinstance(section, dict):
            return None
        if name is not None:
            chosen = section.get(name)
            return (name, chosen) if chosen is not None else None
        from verifier.models.reference import canonical_pattern

        repository = image_repository(image)
        for set_name, signers in section.items():
            patterns = (canonical_pattern(p) for p in signers.images)
            if any(fnmatch.fnmatchcase(repository, p) for p in patterns):
                return set_name, signers
        return None

    def with_sections(self, **sections: Any) -> VerifierConfig:
        """A copy with these sections replaced (``None`` removes one)."""
        merged = {**self.sections, **sections}
        return dataclasses.replace(
            self, sections={k: v for k, v in merged.items() if v is not None}
        )

    def only(self, *keys: str) -> VerifierConfig:
        """A copy keeping only these sections (the other checks are off)."""
        return dataclasses.replace(
            self, sections={k: v for k, v in self.sections.items() if k in keys}
        )


def image_repository(image: str) -> str:
    """``registry/repository`` of an image reference in the canonical spelling (lower-case host, default
    port dropped, Docker Hub as ``docker.io/library/…``), tag and digest left out, as rules match it; an
    ``oci-layout:PATH`` keeps its path."""
    from verifier.models.reference import ImageReferenceError, parse_reference

    name = image.split("@", 1)[0]
    if name.startswith("oci-layout:"):
        path = name[len("oci-layout:") :]
        head, sep, tail = path.rpartition(":")
        return "oci-layout:" + (head if sep and "/" not in tail else path)
    try:
        return parse_reference(image).name
    except ImageReferenceError:
        return name  # matches no canonical pattern; the image's own check reports the bad reference
