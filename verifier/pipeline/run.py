"""THE path from a configuration to a decision: collect → check → decide, for every door.

``verifier check <x>``, ``verifier gate``, the webhook (once per image) and ``verifier audit`` (once per unit)
all call :func:`evaluate`. It loops over :data:`verifier.checks.registry.CHECKS`; every check whose section is
present in the config runs (``collect`` through the sources, then ``judge``), then the Rego policy decides on
the results and on each check's settings (``input.config``).

Fail closed: a check that is configured but cannot run in this build (its module missing) or that raises
something unexpected gives verdict ``error`` naming the reason, which the policy denies. Unreadable inputs
raise ``InputError`` (exit 2); evidence that cannot be reached raises ``SourceError`` (exit 3); a run that
raises is never turned into a decision.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifier.checks import registry
from verifier.checks._base import Check, error_result
from verifier.errors import VerifierError
from verifier.models import CheckResult, Decision
from verifier.models.config import VerifierConfig
from verifier.pipeline.decide import decision_for
from verifier.policy.engine import build_input

if TYPE_CHECKING:
    from verifier.models.evidence import ImageEvidence
    from verifier.sources.deadline import Deadline
    from verifier.sources.oci_registry import RegistryPool

# (image ref, attestations wanted, source options) -> the image's evidence.
CollectImage = Callable[[str, bool, "SourceOptions"], "ImageEvidence"]


@dataclasses.dataclass(frozen=True)
class SourceOptions:
    """How evidence is reached (never what is judged): registry credentials, time budget, shared clients.

    ``pool`` (a ``RegistryPool``) is a long-lived process's shared registry clients (the webhook).
    ``lean`` reads only what the configured checks need (the webhook's per-image lookups): no manifest for
    a reference already pinned by digest (the signatures bind the digest either way), no cosign ``.att``
    tag unless a check reads attestations. Without it (the CLI) everything the image carries is read, so
    the facts are complete (e.g. the signature check's count of attestations found).
    """

    docker_config: Path | None = None
    timeout: float = 30.0  # seconds for all of an evaluation's registry work (the CLI's --timeout)
    pool: RegistryPool | None = None
    lean: bool = False
    # A ``verifier.sources.deadline.Deadline`` for all image collections of one evaluation (set from
    # ``timeout`` when no pool is given, so a command's images share one --timeout deadline).
    deadline: Deadline | None = None


@dataclasses.dataclass(frozen=True)
class CheckRun:
    """The checks' side of an evaluation: results, each check's policy settings (``input.config``),
    wall time per check id (summed over images), notices, the digest verified (or pinned) per image and
    the inputs read."""

    results: tuple[CheckResult, ...]
    policy_config: dict[str, Any]
    timings: dict[str, float]
    notices: tuple[str, ...]
    digests: dict[str, str]
    inputs: tuple[dict[str, str], ...]
    images: tuple[str, ...] = ()  # the release's images, in order

    @property
    def digest(self) -> str | None:
        """The image digest when the release has exactly one image."""
        return next(iter(self.digests.values())) if len(self.digests) == 1 else None


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Everything a caller needs from one evaluation.

    ``policy_input`` is the exact document the policy saw (``--explain``); ``timings`` is wall time in
    seconds per check id (evidence collection included) and for ``policy``; ``notices`` are inputs
    deliberately not checked; ``digests`` maps each image reference to the digest the image checks
    verified (or the one the reference pins); ``inputs`` are the files and images read, for the VSA.
    """

    results: tuple[CheckResult, ...]
    decision: Decision
    policy_config: dict[str, Any]
    timings: dict[str, float]
    notices: tuple[str, ...]
    digests: dict[str, str]
    inputs: tuple[dict[str, str], ...]
    images: tuple[str, ...] = ()  # the release's images, in order
    now: datetime | None = None  # the evaluation time the policy saw

    @property
    def digest(self) -> str | None:
        """The image digest when the release has exactly one image."""
        return next(iter(self.digests.values())) if len(self.digests) == 1 else None

    @functools.cached_property
    def policy_input(self) -> dict[str, Any]:
        """The exact document the policy saw, built when asked (``--explain``, ``--input-json``): the
        decision itself was made from the same document encoded straight to JSON."""
        if self.now is None:
            raise ValueError("this evaluation did not record its time")
        return build_input(self.results, self.policy_config, self.now)


class _Run:
    """The :class:`~verifier.checks._base.RunContext` of one evaluation."""

    def __init__(
        self,
        config: VerifierConfig,
        now: datetime,
        options: SourceOptions,
        collect_image: CollectImage,
        image: str | None = None,
        signer_set: str | None = None,
        release: dict[str, ImageEvidence] | None = None,
    ) -> None:
        self.config = config
        self.now = now
        self.image = image
        self.signer_set = signer_set
        self._options = options
        self.sources = (
            options  # how the image's evidence is reached (checks that read more of the image)
        )
        self._collect_image = collect_image
        # Shared by every run of one evaluation: image reference -> its evidence, collected once.
        self._release = release if release is not None else {}
        self.attestations = not options.lean
        self.inputs: list[dict[str, str]] = []
        self.notices: list[str] = []

    def image_evidence(self) -> ImageEvidence:
        """Collected once, on first use, for every image check of the evaluation."""
        if self.image is None:  # the pipeline never runs an image check without an image
            raise RuntimeError("no image configured")
        return self._image(self.image)

    def _image(self, image: str) -> ImageEvidence:
        evidence = self._release.get(image)
        if evidence is None:
            evidence = self._collect_image(image, self.attestations, self._options)
            self._release[image] = evidence
        return evidence

    def release_evidence(self) -> dict[str, ImageEvidence]:
        """Each image of the release -> its evidence: what the image checks collected, the rest now."""
        return {image: self._image(image) for image in self.config.all_images}

    def release_digests(self) -> dict[str, str]:
        """Each image of the release -> the digest it resolved to."""
        return {image: evidence.digest for image, evidence in self.release_evidence().items()}

    @property
    def digest(self) -> str | None:
        """The digest the image checks verified, else the one the reference pins."""
        evidence = self._release.get(self.image) if self.image else None
        if evidence is not None:
            return evidence.digest
        if self.image and "@sha256:" in self.image:
            return self.image.rsplit("@", 1)[1]
        return None

    def record_input(self, uri: str, kind: str) -> None:
        """Note a file or image read (VSA inputs)."""
        self.inputs.append({"uri": uri, "kind": kind})

    def notice(self, text: str) -> None:
        """An input deliberately not checked."""
        self.notices.append(text)


def _default_collect_image(ref: str, attestations: bool, options: SourceOptions) -> ImageEvidence:
    from verifier.sources.image import collect_image_evidence

    return collect_image_evidence(
        ref,
        docker_config=options.docker_config,
        timeout=options.timeout,
        deadline=options.deadline,
        pool=options.pool,
        attestations=attestations,
        fetch_pinned=not options.lean,
    )


def configured_checks(config: VerifierConfig, only: Collection[str] | None = None) -> list[str]:
    """The ids of the checks ``config`` turns on (its section is present), in registry order."""
    return [
        meta.id
        for meta in registry.CHECKS
        if meta.section in config.sections and (only is None or meta.id in only)
    ]


def _run_one(check_id: str, run: _Run, policy_config: dict[str, Any]) -> list[CheckResult]:
    meta = registry.get(check_id)
    section = run.config.sections[meta.section]
    try:
        check: Check[Any, Any] = registry.load(check_id)
    except ModuleNotFoundError as exc:
        if exc.name and meta.module.startswith(exc.name):
            reason = f"check not available: {meta.module} is not part of this build"
            return [error_result(check_id, run.image or check_id, reason)]
        raise
    subject = check.subject(section, run)
    if check.needs_image and not run.image:
        policy_config[check_id] = check.policy_config(section, None)
        return [error_result(check_id, "(no image)", "no image configured (set image: or --image)")]
    evidence = None
    try:
        evidence = check.collect(section, run)
        results = list(check.judge(evidence, section, run))
    except VerifierError:
        raise  # bad input (exit 2) or evidence not reachable (exit 3): the run is not evaluated
    except Exception as exc:  # noqa: BLE001 - fail closed: an unexpected failure is an error verdict
        results = [error_result(check_id, subject, f"internal error: {type(exc).__name__}: {exc}")]
    if not results:
        results = [error_result(check_id, subject, "the check produced no result")]
    policy_config[check_id] = check.policy_config(section, evidence)
    return results


def merge_policy_config(
    base: Mapping[str, Any], *overrides: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Any]:
    """``input.config``: each check's settings, then each override's keys over them (per check id)."""
    out: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for override in overrides:
        for check_id, settings in (override or {}).items():
            out[check_id] = {**out.get(check_id, {}), **settings}
    return out


def _needs_image(check_id: str) -> bool:
    try:
        return registry.load(check_id).needs_image
    except ModuleNotFoundError:
        return False  # reported by _run_one as a check this build cannot run


def _reads(check_id: str, config: VerifierConfig, what: str) -> bool:
    """``check.reads_images(section)`` / ``check.reads_attestations(section)`` of a configured check."""
    try:
        check = registry.load(check_id)
    except ModuleNotFoundError:
        return False
    section = config.sections[registry.get(check_id).section]
    return bool(getattr(check, what)(section))


def run_checks(
    config: VerifierConfig,
    *,
    now: datetime,
    only: Collection[str] | None = None,
    sources: SourceOptions | None = None,
    collect_image: CollectImage | None = None,
    clock: Callable[[], float] = time.perf_counter,
    max_parallel_images: int = 8,
    signer_set: str | None = None,
) -> CheckRun:
    """Collect and judge: every check ``config`` configures (or those of ``only``), no decision yet.

    Image checks run on every image of the release (:attr:`VerifierConfig.all_images`), the images
    concurrently (at most ``max_parallel_images`` at a time), each image's evidence collected once for all
    of them; the other checks run once. Results come per image (in the release's order), then the others,
    each group in registry order. ``signer_set`` names the signer set every image is verified with (a
    webhook rule's choice) instead of the sets' ``images`` patterns. :func:`evaluate` is this plus the
    decision; the audit calls it per unit and decides on the aggregate.
    """
    options = sources or SourceOptions()
    if options.pool is None and options.deadline is None:
        from verifier.sources.deadline import Deadline

        options = dataclasses.replace(
            options, deadline=Deadline.after(options.timeout, "--timeout")
        )
    reader = collect_image or _default_collect_image
    checks = configured_checks(config, only)
    image_checks = [c for c in checks if _needs_image(c)]
    reading = [c for c in checks if _reads(c, config, "reads_images")]
    attestations = not options.lean or any(_reads(c, config, "reads_attestations") for c in checks)
    policy_config: dict[str, Any] = {}
    release: dict[str, ImageEvidence] = {}

    def run(image: str | None, ids: list[str]) -> tuple[_Run, list[CheckResult], dict[str, float]]:
        ctx = _Run(config, now, options, reader, image, signer_set, release)
        ctx.attestations = attestations
        out: list[CheckResult] = []
        spent: dict[str, float] = {}
        for check_id in ids:
            start = clock()
            out += _run_one(check_id, ctx, policy_config)
            spent[check_id] = clock() - start
        return ctx, out, spent

    images = config.all_images
    runs: list[tuple[_Run, list[CheckResult], dict[str, float]]] = []
    if image_checks and len(images) > 1:
        with ThreadPoolExecutor(min(max_parallel_images, len(images))) as pool:
            runs += list(pool.map(lambda image: run(image, image_checks), images))
    elif image_checks:
        runs.append(run(images[0] if images else None, image_checks))
    runs.append(run(None, [c for c in checks if c not in image_checks]))
    results: list[CheckResult] = []
    timings: dict[str, float] = {}
    digests: dict[str, str] = {}
    for ctx, out, spent in runs:
        results += out
        for check_id, seconds in spent.items():
            timings[check_id] = timings.get(check_id, 0.0) + seconds
        if ctx.image is not None and ctx.digest is not None:
            digests[ctx.image] = ctx.digest
    for image in images:
        if image not in digests and image in release:
            digests[image] = release[image].digest
    return CheckRun(
        results=tuple(results),
        policy_config=policy_config,
        timings=timings,
        notices=tuple(n for ctx, _, _ in runs for n in ctx.notices),
        digests=digests,
        inputs=tuple(i for ctx, _, _ in runs for i in ctx.inputs),
        images=images if reading else (),
    )


def evaluate(
    config: VerifierConfig,
    *,
    now: datetime,
    only: Collection[str] | None = None,
    sources: SourceOptions | None = None,
    policy_overrides: Sequence[Mapping[str, Mapping[str, Any]] | None] = (),
    policy_dir: Path | None = None,
    opa_url: str | None = None,
    collect_image: CollectImage | None = None,
    clock: Callable[[], float] = time.perf_counter,
    signer_set: str | None = None,
) -> Evaluation:
    """Run every check ``config`` configures (or those of ``only``) and decide once with the policy.

    Paths in ``config`` must already be resolved (:func:`verifier.config.load_config` does it).
    ``policy_overrides`` are laid over the checks' own settings, per check id (the webhook's
    ``config`` and a matching rule's). ``policy_dir`` / ``opa_url`` default to the config's ``policy``
    section. ``collect_image`` replaces the registry/layout reader (a test seam).
    """
    run = run_checks(
        config,
        now=now,
        only=only,
        sources=sources,
        collect_image=collect_image,
        clock=clock,
        signer_set=signer_set,
    )
    merged = merge_policy_config(run.policy_config, *policy_overrides)
    if policy_dir is None and config.policy.bundle:
        policy_dir = Path(config.policy.bundle)
    if opa_url is None and config.policy.engine == "opa":
        opa_url = config.policy.opa_url
    start = clock()
    decision = decision_for(run.results, merged, now=now, policy_dir=policy_dir, opa_url=opa_url)
    return Evaluation(
        results=run.results,
        decision=decision,
        policy_config=merged,
        timings={**run.timings, "policy": clock() - start},
        notices=run.notices,
        digests=run.digests,
        inputs=run.inputs,
        images=run.images,
        now=now,
    )
