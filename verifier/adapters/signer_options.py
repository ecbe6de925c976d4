"""Signer options shared by `check signature` and `check sbom`: who may sign, where signatures live.

One decorator adds the options and hands the command a :class:`SignerArgs`; its methods turn them into the
identity policy, the public key and the image evidence, with the same usage errors in both commands.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from verifier.models.config import SignerSection
    from verifier.pipeline import SourceOptions

F = TypeVar("F", bound=Callable[..., Any])

# GitHub shorthand flags (cosign's names) -> Fulcio certificate claims.
_GITHUB_CLAIMS = (
    ("gh_ref", "source_repository_ref"),
    ("gh_trigger", "build_trigger"),
    ("gh_sha", "source_repository_digest"),
)


def _claims(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        out[name.strip().replace("-", "_")] = value
    return out


@dataclasses.dataclass(frozen=True)
class SignerArgs:
    """The signer options as given on the command line."""

    identity: str | None
    identity_regexp: str | None
    issuer: str | None
    claims: dict[str, str]
    key_path: Path | None
    require_tlog: bool
    trusted_root: Path | None
    signature_repository: str | None
    docker_config: Path | None
    timeout: float
    instances: tuple[str, ...] = ()

    @property
    def given(self) -> bool:
        """True when the command line names a signer (identity or key)."""
        return bool(self.identity or self.identity_regexp or self.key_path)

    def signers(
        self,
        base: SignerSection | None,
        *,
        ca_roots: Path | None = None,
        ca_intermediates: Path | None = None,
    ) -> SignerSection:
        """The ``signers:`` section to verify with: built from these options when they name a signer,
        else the config's (one set, or named sets chosen by image); usage errors (exit 2) for incomplete
        combinations."""
        from verifier.models.config import Identity, Signers

        if not self.given:
            if base is None:
                raise click.UsageError(
                    "give --certificate-identity (or --certificate-identity-regexp) with "
                    "--certificate-oidc-issuer for keyless signatures, or --key for key-signed ones "
                    "(or a --config whose signers: section names them)"
                )
            if isinstance(base, dict):
                return base
            changes: dict[str, Any] = {}
            if self.signature_repository:
                changes["signature_repo"] = self.signature_repository
            if self.require_tlog:
                changes["require_tlog"] = True
            if self.trusted_root:
                changes["trusted_root"] = str(self.trusted_root)
            if self.instances:
                changes["instances"] = self.instances
            try:
                return dataclasses.replace(base, **changes) if changes else base
            except ValueError as exc:
                raise click.UsageError(str(exc)) from exc
        if (self.identity or self.identity_regexp) and not self.issuer and ca_roots is None:
            raise click.UsageError(
                "--certificate-oidc-issuer is required with --certificate-identity[-regexp]"
            )
        try:
            identity = None
            if self.identity or self.identity_regexp:
                from verifier.sigstore.identity import IdentityPolicy

                identity = Identity(
                    identity=self.identity,
                    identity_regexp=self.identity_regexp,
                    issuer=self.issuer,
                    claims=self.claims,
                )
                # Claim names and the regular expression are checked now: a usage error, not a run.
                IdentityPolicy(
                    issuer=self.issuer,
                    identity=self.identity,
                    identity_regexp=self.identity_regexp,
                    claims=self.claims,
                )
            return Signers(
                identity=identity,
                key=str(self.key_path) if self.key_path else None,
                require_tlog=self.require_tlog,
                trusted_root=str(self.trusted_root) if self.trusted_root else None,
                instances=self.instances or None,  # type: ignore[arg-type]  # click.Choice checked them
                signature_repo=self.signature_repository,
                ca_roots=str(ca_roots) if ca_roots else None,
                ca_intermediates=str(ca_intermediates) if ca_intermediates else None,
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc

    def sources(self) -> SourceOptions:
        """How the registry is reached: credentials and the time budget."""
        from verifier.pipeline import SourceOptions

        return SourceOptions(docker_config=self.docker_config, timeout=self.timeout)


def signer_options(func: F) -> F:
    """Add the signer options; the command receives them as one ``signer: SignerArgs`` argument."""
    options = [
        click.option(
            "--certificate-identity", help="Exact signer identity (certificate SAN), keyless."
        ),
        click.option(
            "--certificate-identity-regexp",
            help="Signer identity as a fully anchored regular expression.",
        ),
        click.option(
            "--certificate-oidc-issuer",
            help="Exact OIDC issuer of the signing certificate (keyless).",
        ),
        click.option(
            "--certificate-github-workflow-repository",
            "gh_repository",
            help="Required source repository: org/repo or https://github.com/org/repo (Fulcio OID 1.12).",
        ),
        click.option(
            "--certificate-github-workflow-ref",
            "gh_ref",
            help="Required source ref claim, e.g. refs/heads/main (Fulcio OID 1.14).",
        ),
        click.option(
            "--certificate-github-workflow-trigger",
            "gh_trigger",
            help="Required trigger claim, e.g. push (Fulcio OID 1.20).",
        ),
        click.option(
            "--certificate-github-workflow-sha",
            "gh_sha",
            help="Required source commit claim (Fulcio OID 1.13).",
        ),
        click.option(
            "--claim",
            "claims",
            multiple=True,
            callback=_claims,
            help="Required certificate claim NAME=VALUE (build_signer_uri, runner_environment, "
            "build_trigger, source_repository_uri, source_repository_ref, ...); repeatable.",
        ),
        click.option(
            "--key",
            "key_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="PEM public key (ECDSA P-256/P-384, Ed25519, RSA) for key-signed images.",
        ),
        click.option(
            "--require-tlog",
            is_flag=True,
            help="Key-signed signatures must also be in the transparency log.",
        ),
        click.option(
            "--trusted-root",
            type=click.Path(dir_okay=False, path_type=Path),
            help="trusted_root.json of a private Sigstore deployment (default: pinned public-good root).",
        ),
        click.option(
            "--sigstore-instance",
            "instances",
            multiple=True,
            type=click.Choice(["public-good", "github", "staging"]),
            help="Sigstore instance whose pinned trusted root verifies keyless bundles; repeatable "
            "(default: public-good and github, or none with --trusted-root). The CA that issued a "
            "certificate picks the instance.",
        ),
        click.option(
            "--signature-repository",
            help="Look for signatures in this repository (like COSIGN_REPOSITORY).",
        ),
        click.option(
            "--docker-config",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker).",
        ),
        click.option(
            "--timeout",
            default=30.0,
            show_default=True,
            type=click.FloatRange(0.1, 300),
            help="Deadline in seconds for all of the command's registry work (every connect, "
            "handshake and read); exit 3 when it runs out.",
        ),
    ]

    @functools.wraps(
        func
    )  # keeps the options of decorators applied before this one (__click_params__)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        claims = dict(kwargs.pop("claims"))
        repository = kwargs.pop("gh_repository")
        if repository:
            # cosign's flag takes org/repo (the deprecated OID 1.5); Fulcio's 1.12 claim is the repository URL.
            claims["source_repository_uri"] = (
                repository if "://" in repository else f"https://github.com/{repository.strip('/')}"
            )
        for option, claim in _GITHUB_CLAIMS:
            value = kwargs.pop(option)
            if value:
                claims[claim] = value
        kwargs["signer"] = SignerArgs(
            identity=kwargs.pop("certificate_identity"),
            identity_regexp=kwargs.pop("certificate_identity_regexp"),
            issuer=kwargs.pop("certificate_oidc_issuer"),
            claims=claims,
            key_path=kwargs.pop("key_path"),
            require_tlog=kwargs.pop("require_tlog"),
            trusted_root=kwargs.pop("trusted_root"),
            signature_repository=kwargs.pop("signature_repository"),
            instances=tuple(dict.fromkeys(kwargs.pop("instances"))),
            docker_config=kwargs.pop("docker_config"),
            timeout=kwargs.pop("timeout"),
        )
        return func(*args, **kwargs)

    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
