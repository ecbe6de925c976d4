"""``verifier webhook --config verifier.yaml --tls-cert C --tls-key K``: serve the ValidatingWebhook (TLS only).

``verifier.yaml`` gives the signers (``signers:``, the same section the gate reads) and the ``webhook:``
section (modes, exempt namespaces, rules; see docs/webhook.md). Images are verified with the real signature
check (:mod:`verifier.checks.signature` over :mod:`verifier.sources.image`) against the registry, with the
credentials of a mounted docker config (``--docker-config``); tags are resolved with the same registry client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from verifier.admission.decider import WebhookConfig
from verifier.errors import ConfigError, InputError
from verifier.models import CheckResult

log = logging.getLogger("verifier.webhook")

VerifyImage = Callable[[str], "CheckResult | list[CheckResult]"]


def unavailable_verify_image(reason: str) -> VerifyImage:
    """A verifier for builds without the signature check: verdict ``error`` for every image (denied)."""

    def verify(ref: str) -> CheckResult:
        return CheckResult(
            check="signature",
            subject=ref,
            verdict="error",
            facts={"error": f"signature check not available: {reason}"},
        )

    return verify


def load_webhook_config(path: Path) -> tuple[WebhookConfig, Any]:
    """``(webhook section, the gate's VerifierConfig of the rest)``, relative paths resolved to the file."""
    from pydantic import ValidationError

    from verifier.config import parse_config
    from verifier.gate import resolve_paths
    from verifier.sources.files import read_text
    from verifier.sources.yaml_files import load_yaml

    doc = load_yaml(read_text(path, 1024 * 1024), str(path))
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise InputError(str(path), "top level is not a mapping")
    section = doc.pop("webhook", None) or {}
    try:
        webhook = WebhookConfig.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(
            f"webhook.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(str(path), problems) from None
    base = path.resolve().parent
    rest = resolve_paths(parse_config(doc, str(path)), base)
    if rest.policy.bundle and webhook.policy_dir is None:
        webhook = webhook.model_copy(update={"policy_dir": Path(rest.policy.bundle)})
    if rest.policy.opa_url and webhook.opa_url is None:
        webhook = webhook.model_copy(update={"opa_url": rest.policy.opa_url})
    if webhook.policy_dir is not None and not webhook.policy_dir.is_absolute():
        webhook = webhook.model_copy(update={"policy_dir": base / webhook.policy_dir})
    return webhook, rest


def signature_verifier(
    config: Any, *, docker_config: Path | None, timeout: float, pool: Any = None
) -> tuple[VerifyImage, dict[str, Any]]:
    """``verify_image(ref@digest) -> CheckResult`` for the config's ``signers`` (built as the gate builds it),
    and the ``signature`` entry of the policy config. ``pool`` (a ``RegistryPool``) shares registry clients
    between lookups; without it each lookup opens its own."""
    signers = config.signers
    if signers is None:
        raise ConfigError(
            "verifier.yaml: the webhook needs a signers: section (who may sign images)"
        )
    try:
        from verifier.checks.signature import evaluate
        from verifier.gate import signature_policy
        from verifier.sources.image import collect_image_evidence
    except ImportError as exc:  # a build without the signature check: deny everything, loudly
        log.error("signature check unavailable: %s; every image will be denied", exc)
        return unavailable_verify_image(str(exc)), {}

    policy = signature_policy(signers)
    sbom = config.sbom
    sbom_check: Any = None
    if sbom is not None:
        try:
            import verifier.checks.sbom_attestation as sbom_check
        except ImportError as exc:
            log.error("sbom-attestation check unavailable: %s; every image will be denied", exc)

    # The .att tag is read only when a check reads attestation layers (the SBOM check); the signature
    # check reads .sig layers and referrers only. The webhook always verifies ref@digest: the signatures are
    # looked up by that digest, so the image manifest itself is not fetched (fetch_pinned=False). The .sig
    # and referrers lookups of one image run concurrently on the shared collect pool: an unseen image on a
    # far registry waits for the longer of the two, not their sum (docs/webhook.md, "Cold lookups").
    want_attestations = sbom is not None

    def verify(ref: str) -> list[CheckResult]:
        evidence = collect_image_evidence(
            ref,
            docker_config=docker_config,
            signature_repo=signers.signature_repo,
            timeout=timeout,
            pool=pool,
            attestations=want_attestations,
            fetch_pinned=False,
            parallel=True,
        )
        results: list[CheckResult] = [evaluate(evidence, policy)]
        if sbom is not None:
            if sbom_check is None:
                results.append(
                    CheckResult(
                        check="sbom-attestation",
                        subject=ref,
                        verdict="error",
                        facts={"error": "sbom-attestation check not available"},
                    )
                )
            else:
                # As the gate runs it: the same evidence and the same signer policy.
                att_verify = sbom_check.make_verifier(policy, evidence.digest)
                results.append(
                    sbom_check.evaluate(evidence, att_verify, sbom_type=sbom.format or None)
                )
        return results

    return verify, dict(policy.config())


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
) -> Any:
    """The :class:`AdmissionDecider` the command serves (also used by the integration tests)."""
    from verifier.admission.decider import AdmissionDecider
    from verifier.policy.engine import bundle_digest, default_policy_dir

    webhook, rest = load_webhook_config(config_path)
    per_request = max(1.0, webhook.verify_timeout_seconds / 3)
    # One set of registry clients for the life of the process: kept-alive connections, reused bearer
    # tokens, the referrers-API memo. Each request keeps its own deadline (per_request).
    from verifier.sources.oci_registry import RegistryPool

    pool = RegistryPool(timeout=per_request, max_connections=4 * webhook.max_concurrent_lookups)
    verify, signature_config = signature_verifier(
        rest, docker_config=docker_config, timeout=per_request, pool=pool
    )
    from verifier.gate import policy_config

    # input.config as the gate builds it (sbom-attestation settings, ...), then the webhook's own entries.
    base = {k: v for k, v in policy_config(rest).items() if k in ("sbom-attestation",)}
    if signature_config:
        base["signature"] = signature_config
    webhook = webhook.model_copy(update={"config": {**base, **webhook.config}})
    resolve = tag_resolver(docker_config=docker_config, timeout=per_request, pool=pool)
    digest = bundle_digest(webhook.policy_dir or default_policy_dir())
    return AdmissionDecider(
        webhook,
        verify,
        resolve_digest=resolve,
        bundle_digest=digest,
        events=events,
        decision_log=Path(rest.decision_log) if rest.decision_log else None,
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
def command(
    config_path: Path,
    tls_cert: Path,
    tls_key: Path,
    host: str,
    port: int,
    docker_config: Path | None,
    max_body: int,
    cert_reload_interval: float,
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
        from datetime import UTC, datetime

        from verifier.evaluate import decide

        probe = _Result(
            check="signature", subject="warmup", verdict="error", facts={"error": "warm-up"}
        )
        decision, _ = decide(
            [probe],
            cfg.config,
            now=datetime.now(UTC),
            policy_dir=cfg.policy_dir,
            opa_url=cfg.opa_url,
        )
        if decision.allowed:
            raise ConfigError("the policy bundle allows an image that could not be verified")

    def warmup() -> None:
        # Load the policy bundle into every lookup thread's engine (the threads that decide), so a broken
        # bundle shows up in /readyz, not in the first review, and the first burst of unseen images does not
        # load it once per thread.
        decider.prime(warm_thread)

    app = webhook.create_app(decider, metrics_=metrics, max_body=max_body, warmup=warmup)
    server, reloader = webhook.make_server(
        app, host=host, port=port, certfile=str(tls_cert), keyfile=str(tls_key), log_level="info"
    )
    click.echo(
        f"verifier webhook: listening on https://{host}:{port} (policy version {decider.version})",
        err=True,
    )
    webhook.run(server, reloader, reload_interval=cert_reload_interval)
