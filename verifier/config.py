"""``verifier.yaml``: the gate's configuration, validated with pydantic (unknown keys are errors).

A section that is present turns its check on: ``signers`` (check ``signature``), ``sbom``
(``sbom-attestation``), ``sarif`` (``sarif-severity``), ``workflows`` (``actions-pinned``),
``trust_policies`` (``oidc-trust``). The image checks need ``image`` (from the file or ``--image``).
Relative paths in the file are relative to the file's directory, so a config works from any directory.

The JSON schema for editors (``verifier/schemas/verifier.schema.json``) is generated from these models
by :func:`json_schema`; a test keeps the committed file equal to the generated one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from verifier.errors import InputError
from verifier.sources.files import read_text
from verifier.sources.yaml_files import load_yaml

SCHEMA_PATH = Path(__file__).parent / "schemas" / "verifier.schema.json"
SCHEMA_ID = "https://github.com/verifier/verifier/blob/main/verifier/schemas/verifier.schema.json"
MAX_CONFIG_BYTES = 1024 * 1024

SeverityName = Literal["critical", "high", "medium", "low", "unknown"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Identity(_Strict):
    """A keyless signer: the certificate's identity (SAN), exact or as a regular expression, and its issuer."""

    identity: str | None = Field(
        None, description="Exact certificate identity (SAN), e.g. a workflow URI."
    )
    identity_regexp: str | None = Field(
        None, description="Regular expression the identity must match fully."
    )
    issuer: str = Field(
        ..., description="Exact OIDC issuer, e.g. https://token.actions.githubusercontent.com"
    )
    claims: dict[str, str] = Field(
        default_factory=dict,
        description="Required certificate claims (source_repository_uri, "
        "source_repository_ref, build_signer_uri, ...).",
    )

    @model_validator(mode="after")
    def _one_of(self) -> Identity:
        if (self.identity is None) == (self.identity_regexp is None):
            raise ValueError("give exactly one of identity / identity_regexp")
        return self


class Signers(_Strict):
    """Who may sign the image (check ``signature``); the SBOM attestation must come from the same signer."""

    identity: Identity | None = Field(None, description="Keyless (Fulcio certificate) signer.")
    key: str | None = Field(None, description="PEM public key file (cosign key pair).")
    require_tlog: bool = Field(
        False, description="Key-signed signatures must also be in the transparency log."
    )
    trusted_root: str | None = Field(
        None, description="Sigstore trusted_root.json (default: the public-good root)."
    )
    signature_repo: str | None = Field(
        None, description="Look signatures up here (like COSIGN_REPOSITORY)."
    )

    @model_validator(mode="after")
    def _some_signer(self) -> Signers:
        if self.identity is None and self.key is None:
            raise ValueError("name a signer: identity (keyless) or key")
        return self


class Sarif(_Strict):
    """Scanner reports (check ``sarif-severity``): Trivy SARIF or Trivy JSON."""

    files: tuple[str, ...] = Field(
        ..., min_length=1, description="SARIF 2.1.0 or Trivy JSON reports."
    )
    fail_on: tuple[SeverityName, ...] = Field(
        ("critical", "high"), min_length=1, description="Severities that deny."
    )
    ignore_files: tuple[str, ...] = Field((), description=".trivyignore / .trivyignore.yaml files.")
    vex: tuple[str, ...] = Field((), description="OpenVEX, CycloneDX VEX or CSAF VEX documents.")
    ignore_unfixed: bool = Field(
        False, description="Waive vulnerabilities without a fixed version."
    )
    deny_ids: tuple[str, ...] = Field((), description="Ids denied at any severity unless waived.")


class Workflows(_Strict):
    """GitHub Actions files (check ``actions-pinned``)."""

    paths: tuple[str, ...] = Field(
        ...,
        min_length=1,
        description="Workflow files, action.yml files, .github dirs or repo roots.",
    )
    policy: dict[str, Literal["hash-pin", "ref-pin", "any"]] = Field(
        default_factory=dict,
        description="Pin policy: pattern (*, owner/*, owner/repo, ...) to mode.",
    )
    mode: Literal["deny", "warn"] = Field(
        "deny", description="Whether unpinned actions deny or only warn."
    )


class TrustPolicies(_Strict):
    """Cloud OIDC trust configurations (check ``oidc-trust``): AWS, GCP, Azure."""

    paths: tuple[str, ...] = Field(
        ..., min_length=1, description="Trust policy files or directories."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Extra settings for the oidc-trust policy (input.config)."
    )


class Sbom(_Strict):
    """A verified SBOM attestation on the image (check ``sbom-attestation``), from the configured signer."""

    required: bool = Field(True, description="Deny when no verified SBOM attestation is found.")
    format: Literal["", "spdx", "cyclonedx"] = Field(
        "", description="Require this SBOM format (default: any)."
    )
    max_age: str = Field(
        "", description="Deny SBOMs older than this duration, e.g. 720h (from input.now)."
    )
    denied_packages: tuple[str, ...] = Field((), description="purl patterns that deny.")
    denied_licenses: tuple[str, ...] = Field((), description="SPDX license ids that deny.")
    allowed_licenses: tuple[str, ...] = Field(
        (), description="If set, only these license ids are allowed."
    )
    digest_must_match: bool = Field(
        True, description="Deny when the SBOM names image digests and none is this image's."
    )
    require_valid: bool = Field(
        False, description="Deny (not warn) when an SBOM fails schema/structure validation."
    )


class Policy(_Strict):
    """Where the decision is made."""

    bundle: str | None = Field(
        None, description="Rego bundle directory (default: the bundled policies/)."
    )
    engine: Literal["embedded", "opa"] = Field(
        "embedded", description="embedded (regorus) or an OPA server."
    )
    opa_url: str | None = Field(None, description="OPA server URL (engine: opa).")

    @model_validator(mode="after")
    def _url_for_opa(self) -> Policy:
        if self.engine == "opa" and not self.opa_url:
            raise ValueError("engine: opa needs opa_url")
        return self


class VerifierConfig(_Strict):
    """The whole ``verifier.yaml``."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", title="verifier.yaml", json_schema_extra={"$id": SCHEMA_ID}
    )

    version: Literal[1] = Field(1, description="Config format version.")
    image: str | None = Field(
        None, description="oci-layout:PATH[@digest] or registry/repo@sha256:… (or :tag)."
    )
    signers: Signers | None = None
    sbom: Sbom | None = None
    sarif: Sarif | None = None
    workflows: Workflows | None = None
    trust_policies: TrustPolicies | None = None
    policy: Policy = Field(default_factory=Policy)
    webhook: dict[str, Any] | None = Field(
        None,
        description="The admission webhook's section (modes, exempt "
        "namespaces, rules); validated by `verifier webhook`, see docs/webhook.md.",
    )
    decision_log: str | None = Field(
        None,
        description="Append one JSON line per decision to this file (read by `verifier audit`).",
    )


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_config(data: Any, name: str) -> VerifierConfig:
    """Validate a decoded document; errors name the file and every bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(name, f"top level is {type(data).__name__}, expected a mapping")
    try:
        return VerifierConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown key '{_loc(err['loc'])}'")
            else:
                problems.append(f"{_loc(err['loc'])}: {err['msg']}")
        raise InputError(name, "; ".join(problems)) from None


def load_config(path: str | Path) -> VerifierConfig:
    """Read and validate ``verifier.yaml``."""
    return parse_config(load_yaml(read_text(path, MAX_CONFIG_BYTES), str(path)), str(path))


def resolve(base: Path, value: str) -> str:
    """A path from the config, relative to the config file's directory (absolute paths are kept)."""
    p = Path(value)
    return str(p if p.is_absolute() else base / p)


def resolve_image(base: Path, image: str) -> str:
    """``oci-layout:REL`` relative to the config's directory; registry references unchanged."""
    prefix = "oci-layout:"
    if image.startswith(prefix):
        return prefix + resolve(base, image[len(prefix) :])
    return image


def json_schema() -> dict[str, Any]:
    """The JSON schema of ``verifier.yaml``, as committed in ``verifier/schemas``."""
    schema = VerifierConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def json_schema_text() -> str:
    """The schema file's exact text."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
