"""``verifier webhook --config verifier.yaml --tls-cert C --tls-key K``: serve the ValidatingWebhook (TLS only).

``verifier.yaml`` gives the image checks (``signers:`` and ``sbom:``, the sections the gate reads) and the ``webhook:``
section (modes, exempt namespaces, rules; see docs/webhook.md). Images are verified with the real signature
check (:mod:`verifier.checks.signature` over :mod:`verifier.sources.image`) against the registry, with the
credentials of a mounted docker config (``--docker-config``); tags are resolved with the same registry client.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from verifier.errors import ConfigError
from verifier.models import Decision
from verifier.models.config import VerifierConfig, WebhookConfig

if TYPE_CHECKING:
    from verifier.admission.decider import AdmissionDecider, EvaluateImage

log = logging.getLogger("verifier.webhook")


def load_webhook_config(path: Path) -> tuple[WebhookConfig, VerifierConfig]:
    """``(webhook section, the whole config)`` read by the one loader (relative paths resolved to the
    file); an absent ``webhook:`` section means all defaults."""
    from verifier.config import load_config

    config = load_config(path)
    return config.webhook or WebhookConfig(), config


def image_config(config: VerifierConfig) -> VerifierConfig:
    """The part of ``config`` the webhook runs per image: its image checks (``signers`` and the checks
    that read the image's attestations); a config without ``signers:`` is an error."""
    from verifier.checks import registry

    if "signers" not in config.sections:
        raise ConfigError(
            "verifier.yaml: the webhook needs a signers: section (who may sign images)"
        )
    keys = [
        meta.section
        for meta in registry.CHECKS
        if meta.section in config.sections
        and registry.load(meta.id).reads_images(config.sections[meta.section])
    ]
    return config.only(*keys)


def _load_signers(config: VerifierConfig) -> None:
    """Read every signer set's trust root and keys once now: a missing or bad file stops the webhook at
    start-up (exit 2, the file named) instead of denying every image later."""
    from verifier.checks.signature import signature_policies
    from verifier.models.config import Signers

    section = config.sections.get("signers")
    sets = section.values() if isinstance(section, dict) else [section]
    now = datetime.now(UTC)
    for signers in sets:
        if isinstance(signers, Signers):
            signature_policies(signers, now)


def image_evaluator(
    config: VerifierConfig, *, docker_config: Path | None, timeout: float, pool: Any = None
) -> EvaluateImage:
    """``evaluate_image(ref@digest, input.config, signer set) -> (results, decision)``: the pipeline on the
    image checks of ``config`` for that one image, as the gate runs them, with lean lookups (``pool``: a
    ``RegistryPool`` shared by every lookup; the webhook's rules add their policy settings and may name
    the signer set)."""
    from verifier.pipeline import SourceOptions, evaluate

    checks = image_config(config)
    _load_signers(checks)
    sources = SourceOptions(docker_config=docker_config, timeout=timeout, pool=pool, lean=True)

    def evaluate_image(
        pinned: str, policy_config: Mapping[str, Any], signer_set: str | None
    ) -> tuple[Any, Decision]:
        evaluation = evaluate(
            dataclasses.replace(with_rule_package_rules(checks, policy_config), image=pinned),
            now=datetime.now(UTC).replace(microsecond=0),
            sources=sources,
            policy_overrides=[policy_config],
            signer_set=signer_set,
        )
        return evaluation.results, evaluation.decision

    return evaluate_image


def with_rule_package_rules(
    config: VerifierConfig, policy_config: Mapping[str, Any]
) -> VerifierConfig:
    """``config`` whose ``sbom`` section also holds the ``denied_packages`` a webhook rule names in its
    policy settings: the check matches package rules (ecosystem version order), the policy denies on the
    matches of the rules its own settings name."""
    sbom = config.sections.get("sbom")
    override = policy_config.get("sbom-attestation")
    extra = override.get("denied_packages") if isinstance(override, Mapping) else None
    if sbom is None or not isinstance(extra, list | tuple) or not extra:
        return config
    rules = tuple(dict.fromkeys((*sbom.denied_packages, *(str(r) for r in extra))))
    return config.with_sections(sbom=dataclasses.replace(sbom, denied_packages=rules))


def tag_resolver(
    *, docker_config: Path | None, timeout: float, pool: Any = None
) -> Callable[[str], str]:
    """``registry/repo:tag -> sha256:…`` with the registry client (for the digest hint and require_digest off);
    the clients of ``pool`` (a ``RegistryPool``) when given."""
    from verifier.sources.docker_config import load_credentials
    from verifier.sources.oci_registry import RegistryClient, parse_registry_ref

    def resolve(ref: str) -> str:
        parsed = parse_registry_ref(ref)
        creds = load_credentials(parsed.registry, docker_config)
        if pool is not None:
            return str(
                pool.client(parsed.registry, creds)
                .get_manifest(parsed.repository, parsed.tag)
                .digest
            )
        with RegistryClient(parsed.registry, credentials=creds, timeout=timeout) as client:
            return client.get_manifest(parsed.repository, parsed.tag).digest

    return resolve


def build_decider(
    config_path: Path,
    *,
    docker_config: Path | None = None,
    events: Callable[[str, str], None] | None = None,
) -> AdmissionDecider:
    """The :class:`AdmissionDecider` the command serves (also used by the integration tests)."""
    from verifier.admission.decider import AdmissionDecider
    from verifier.policy.engine import bundle_digest, default_policy_dir
    from verifier.sources.oci_registry import RegistryPool

    webhook, config = load_webhook_config(config_path)
    per_request = max(1.0, webhook.verify_timeout_seconds / 3)
    # One set of registry clients for the life of the process: kept-alive connections, reused bearer
    # tokens, the referrers-API memo. Each request keeps its own deadline (per_request).
    pool = RegistryPool(timeout=per_request, max_connections=4 * webhook.max_concurrent_lookups)
    evaluate_image = image_evaluator(
        config, docker_config=docker_config, timeout=per_request, pool=pool
    )
    resolve = tag_resolver(docker_config=docker_config, timeout=per_request, pool=pool)
    policy_dir = Path(config.policy.bundle) if config.policy.bundle else None
    opa_url = config.policy.opa_url if config.policy.engine == "opa" else None
    return AdmissionDecider(
        webhook,
        evaluate_image=evaluate_image,
        resolve_digest=resolve,
        bundle_digest=bundle_digest(policy_dir or default_policy_dir()),
        version_extra=[repr(image_config(config)), str(policy_dir), opa_url],
        policy_dir=policy_dir,
        opa_url=opa_url,
        events=events,
        decision_log=Path(config.decision_log) if config.decision_log else None,
        on_close=pool.close,
    )


@click.command("webhook")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="verifier.yaml with signers: and a webhook: section.",
)
@click.option(
    "--tls-cert",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM server certificate (chain); reloaded when the file changes.",
)
@click.option(
    "--tls-key",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM private key of the certificate.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 in a cluster).",
)
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--docker-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Docker config.json with registry credentials (a mounted secret).",
)
@click.option(
    "--max-body",
    default=7 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest accepted request body in bytes.",
)
@click.option(
    "--cert-reload-interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds between checks of the certificate files.",
)
@click.option(
    "--max-connections",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Open connections held at most; more are closed at once (also the cap on requests in progress).",
)
@click.option(
    "--handshake-timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1, 60),
    help="Seconds for a client's TLS handshake.",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 300),
    help="Seconds from the handshake (or, on a kept-alive connection, from the end of the keep-alive time) "
    "to a complete request header.",
)
@click.option(
    "--keep-alive-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="Seconds an idle connection is kept open.",
)
@click.option(
    "--max-requests-per-connection",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Requests answered on one connection before it is closed.",
)
def command(
    config_path: Path,
    tls_cert: Path,
    tls_key: Path,
    host: str,
    port: int,
    docker_config: Path | None,
    max_body: int,
    cert_reload_interval: float,
    max_connections: int,
    handshake_timeout: float,
    header_timeout: float,
    keep_alive_timeout: float,
    max_requests_per_connection: int,
) -> None:
    """Serve the Kubernetes ValidatingWebhook over TLS: POST /validate, /healthz, /readyz, /metrics.

    Every image of a Pod or pod template is verified with the signers of verifier.yaml and decided by the
    Rego policy; errors and timeouts deny.
    """
    from verifier.adapters import webhook
    from verifier.models import CheckResult as _Result

    metrics = webhook.Metrics()
    decider = build_decider(config_path, docker_config=docker_config, events=metrics.event)
    cfg = decider.config

    def warm_thread() -> None:
        from verifier.pipeline import decide

        probe = _Result(
            check="signature", subject="warmup", verdict="error", facts={"error": "warm-up"}
        )
        decision, _ = decide(
            [probe],
            cfg.config,
            now=datetime.now(UTC),
            policy_dir=decider.policy_dir,
            opa_url=decider.opa_url,
        )
        if decision.allowed:
            raise ConfigError("the policy bundle allows an image that could not be verified")

    def warmup() -> None:
        # Load the policy bundle into every lookup thread's engine (the threads that decide), so a broken
        # bundle shows up in /readyz, not in the first review, and the first burst of unseen images does not
        # load it once per thread.
        decider.prime(warm_thread)

    app = webhook.create_app(decider, metrics_=metrics, max_body=max_body, warmup=warmup)
    limits = webhook.ServerLimits(
        max_connections=max_connections,
        handshake_timeout=handshake_timeout,
        header_timeout=header_timeout,
        keep_alive_timeout=keep_alive_timeout,
        max_requests_per_connection=max_requests_per_connection,
    )
    server, reloader = webhook.make_server(
        app,
        host=host,
        port=port,
        certfile=str(tls_cert),
        keyfile=str(tls_key),
        log_level="info",
        limits=limits,
    )
    click.echo(
        f"verifier webhook: listening on https://{host}:{port} (policy version {decider.version})",
        err=True,
    )
    webhook.run(server, reloader, reload_interval=cert_reload_interval)
