"""What a provenance statement must say, and whether its signer and the gate's ``source:`` agree with it.

Pure: :func:`requirement_problems` compares a :class:`~verifier.checks.provenance.statement.Provenance` with
:class:`Requirements` (the ``provenance:`` section and the gate's ``source:`` section); :func:`claim_problems`
compares it with the GitHub claims of the certificate that signed it. Each problem carries a stable rule id
(docs/checks/provenance.md) and names both values.

Builder ids follow slsa-verifier: ``NAME@VERSION`` where NAME is compared exactly (a prefix of a trusted builder
is another builder) and a configured VERSION must match (``v1.4.0`` and ``refs/tags/v1.4.0`` are one version);
a configured NAME without version accepts any version. A regular expression is anchored at both ends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from verifier.checks.provenance.statement import Provenance, canonical_repository

GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"
SLSA_GITHUB_GENERATOR = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
# slsa-verifier's trusted reusable workflows (verifiers/internal/gha/verifier.go): used when the policy names no
# builder. They are SLSA Build L3 builders (isolated, non-forgeable provenance).
DEFAULT_TRUSTED_BUILDERS: tuple[str, ...] = tuple(
    SLSA_GITHUB_GENERATOR + name
    for name in (
        "generator_generic_slsa3.yml",
        "generator_container_slsa3.yml",
        "builder_go_slsa3.yml",
        "builder_container-based_slsa3.yml",
        "builder_nodejs_slsa3.yml",
        "builder_maven_slsa3.yml",
        "builder_gradle_slsa3.yml",
        "delegator_generic_slsa3.yml",
        "delegator_lowperms-generic_slsa3.yml",
    )
)
_SEMVER = re.compile(r"\Av?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?\Z")


@dataclass(frozen=True)
class Problem:
    """One thing the provenance fails. ``rule`` is the finding rule id."""

    rule: str
    message: str


@dataclass(frozen=True)
class Requirements:
    """What the provenance must say. ``None`` = no requirement. ``origin`` names where they come from."""

    builder_id: str | None = None
    builder_id_regexp: str | None = None
    trusted_builders: tuple[str, ...] = DEFAULT_TRUSTED_BUILDERS
    source_repository: str | None = None
    source_repository_id: str | None = None
    branch: str | None = None
    tag: str | None = None
    versioned_tag: str | None = None
    ref: str | None = None
    ref_regexp: str | None = None
    workflow_path: str | None = None
    source_commit: str | None = None
    build_type: str | None = None
    origin: str = "provenance policy"

    def __post_init__(self) -> None:
        for pattern in (self.builder_id_regexp, self.ref_regexp):
            if pattern is not None:
                re.compile(pattern)  # re.error: the caller reports it as bad config


def _version(value: str) -> str:
    return value.removeprefix("refs/tags/")


def builder_problems(prov: Provenance, req: Requirements) -> list[Problem]:
    """The builder id against the configured one, pattern, or (neither) the trusted defaults."""
    got = prov.builder_id or "(none)"
    if req.builder_id_regexp is not None:
        if re.fullmatch(req.builder_id_regexp, prov.builder_id) is None:
            return [
                Problem(
                    "builder-untrusted",
                    f"builder {got} does not match {req.builder_id_regexp!r} ({req.origin})",
                )
            ]
        return []
    if req.builder_id is not None:
        name, _, version = req.builder_id.partition("@")
        got_name, _, got_version = prov.builder_id.partition("@")
        if got_name != name:
            return [
                Problem(
                    "builder-untrusted", f"builder {got} is not {req.builder_id} ({req.origin})"
                )
            ]
        if version and _version(version) != _version(got_version):
            return [
                Problem(
                    "builder-mismatch",
                    f"builder version {got_version or '(none)'} is not {version} ({req.origin})",
                )
            ]
        return []
    if prov.builder_name not in req.trusted_builders:
        return [
            Problem(
                "builder-untrusted",
                f"builder {got} is not a trusted builder (no builder_id configured; trusted: "
                f"slsa-github-generator's SLSA 3 workflows)",
            )
        ]
    return []


def _branch(prov: Provenance) -> str:
    if prov.ref.startswith("refs/heads/"):
        return prov.ref[len("refs/heads/") :]
    if prov.ref.startswith("refs/tags/") and prov.base_ref.startswith("refs/heads/"):
        return prov.base_ref[len("refs/heads/") :]
    return ""


def _semver(value: str) -> tuple[int, ...] | None:
    match = _SEMVER.match(value)
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def ref_problems(prov: Provenance, req: Requirements) -> list[Problem]:
    """Branch, tag, versioned tag, exact ref and ref pattern."""
    problems: list[Problem] = []
    ref = prov.ref or "(none)"
    if req.branch is not None and _branch(prov) != req.branch:
        problems.append(
            Problem(
                "branch-mismatch",
                f"built from {ref} (branch {_branch(prov) or '(none)'}), not branch {req.branch} "
                f"({req.origin})",
            )
        )
    for wanted, versioned in ((req.tag, False), (req.versioned_tag, True)):
        if wanted is None:
            continue
        if not prov.ref.startswith("refs/tags/"):
            problems.append(
                Problem("ref-invalid", f"built from {ref}, not from a tag ({req.origin})")
            )
            continue
        tag = prov.ref[len("refs/tags/") :]
        if not versioned and tag != wanted:
            problems.append(Problem("tag-mismatch", f"built from tag {tag}, not {wanted}"))
        if versioned:
            want, have = _semver(wanted), _semver(tag)
            if want is None or have is None or have[: len(want)] != want:
                problems.append(
                    Problem(
                        "versioned-tag-mismatch",
                        f"built from tag {tag}, not a version {wanted} ({req.origin})",
                    )
                )
    if req.ref is not None and prov.ref != req.ref:
        problems.append(Problem("ref-mismatch", f"built from {ref}, not {req.ref} ({req.origin})"))
    if req.ref_regexp is not None and re.fullmatch(req.ref_regexp, prov.ref) is None:
        problems.append(
            Problem("ref-mismatch", f"built from {ref}, which does not match {req.ref_regexp!r}")
        )
    return problems


def requirement_problems(prov: Provenance, req: Requirements) -> list[Problem]:
    """Every requirement ``prov`` fails (builder first), each naming both values."""
    problems = builder_problems(prov, req)
    if req.source_repository is not None:
        want = canonical_repository(req.source_repository, strip_ref=False)
        if prov.source_repository != want:
            problems.append(
                Problem(
                    "source-mismatch",
                    f"source repository {prov.source_repository or '(none)'} is not {want} "
                    f"({req.origin})",
                )
            )
    if req.source_repository_id is not None and prov.repository_id != req.source_repository_id:
        problems.append(
            Problem(
                "repository-id-mismatch",
                f"source repository id {prov.repository_id or '(none)'} is not "
                f"{req.source_repository_id} ({req.origin})",
            )
        )
    problems += ref_problems(prov, req)
    if req.workflow_path is not None and _path(prov.workflow_path) != _path(req.workflow_path):
        problems.append(
            Problem(
                "workflow-mismatch",
                f"workflow {prov.workflow_path or '(none)'} is not {req.workflow_path} ({req.origin})",
            )
        )
    if req.source_commit is not None and prov.commit.lower() != req.source_commit.lower():
        problems.append(
            Problem(
                "commit-mismatch",
                f"source commit {prov.commit or '(none)'} is not {req.source_commit} ({req.origin})",
            )
        )
    if req.build_type is not None and prov.build_type != req.build_type:
        problems.append(
            Problem(
                "build-type-mismatch",
                f"build type {prov.build_type or '(none)'} is not {req.build_type} ({req.origin})",
            )
        )
    return problems


def _path(path: str) -> str:
    return path.removeprefix("./")


def _config_path(build_config_uri: str, repository: str) -> str | None:
    """``https://github.com/o/r/.github/workflows/x.yml@refs/heads/main`` -> ``.github/workflows/x.yml``."""
    parts = build_config_uri.split("@", 1)[0].removeprefix("https://").split("/", 3)
    if len(parts) != 4 or canonical_repository("/".join(parts[:3])) != repository:
        return None
    return parts[3]


def claim_problems(prov: Provenance, signer: Mapping[str, object]) -> list[Problem]:
    """The provenance against the GitHub claims of its signing certificate (``Signer.as_fact()`` shape).

    Only GitHub Actions certificates carry claims; for any other signer (a key, another issuer) there is
    nothing to compare and the list is empty. A GitHub Actions certificate without any source claim while the
    provenance names a source is a blind spot: ``claims-missing``.
    """
    if signer.get("issuer") != GITHUB_ACTIONS_ISSUER:
        return []
    raw_claims = signer.get("claims")
    claims: dict[str, str] = (
        {str(k): str(v) for k, v in raw_claims.items()} if isinstance(raw_claims, dict) else {}
    )
    problems: list[Problem] = []
    signer_uri = claims.get("build_signer_uri") or str(signer.get("identity") or "")
    if prov.builder_id and signer_uri and signer_uri != prov.builder_id:
        problems.append(
            Problem(
                "builder-claim-mismatch",
                f"provenance names builder {prov.builder_id}, but its certificate was issued to "
                f"{signer_uri}",
            )
        )
    repo_claim = claims.get("source_repository_uri") or (
        "https://github.com/" + claims["github_workflow_repository"]
        if "github_workflow_repository" in claims
        else ""
    )
    ref_claim = claims.get("source_repository_ref") or claims.get("github_workflow_ref", "")
    commit_claim = claims.get("source_repository_digest") or claims.get("github_workflow_sha", "")
    if prov.source_repository and not repo_claim:
        problems.append(
            Problem(
                "claims-missing",
                "the signing certificate is a GitHub Actions certificate without source claims; "
                f"the provenance's source {prov.source_repository} cannot be tied to it",
            )
        )
        return problems
    if prov.source_repository and canonical_repository(repo_claim) != prov.source_repository:
        problems.append(
            Problem(
                "source-claim-mismatch",
                f"provenance source {prov.source_repository}, certificate Source Repository URI "
                f"{repo_claim}",
            )
        )
    if prov.ref and ref_claim and ref_claim != prov.ref:
        problems.append(
            Problem(
                "ref-claim-mismatch",
                f"provenance ref {prov.ref}, certificate Source Repository Ref {ref_claim}",
            )
        )
    if prov.commit and commit_claim and commit_claim.lower() != prov.commit.lower():
        problems.append(
            Problem(
                "commit-claim-mismatch",
                f"provenance commit {prov.commit}, certificate Source Repository Digest {commit_claim}",
            )
        )
    repo_id = claims.get("source_repository_identifier", "")
    if prov.repository_id and repo_id and repo_id != prov.repository_id:
        problems.append(
            Problem(
                "repository-id-claim-mismatch",
                f"provenance repository id {prov.repository_id}, certificate Source Repository "
                f"Identifier {repo_id}",
            )
        )
    config_uri = claims.get("build_config_uri", "")
    if prov.workflow_path and config_uri and prov.source_repository:
        path = _config_path(config_uri, prov.source_repository)
        if path is None or _path(path) != _path(prov.workflow_path):
            problems.append(
                Problem(
                    "workflow-claim-mismatch",
                    f"provenance workflow {prov.workflow_path}, certificate Build Config URI "
                    f"{config_uri}",
                )
            )
    return problems
