"""The webhook's admission logic: which images to verify, under which rule, and what to answer.

``WebhookConfig`` is the ``webhook:`` section of ``verifier.yaml``: a default mode (``enforce`` / ``warn`` /
``audit``), exempt namespaces, ``require_digest``, and first-match rules by namespace and image pattern, each
with its own per-check policy config (``input.config`` of the Rego policy). :class:`AdmissionDecider` turns an
:class:`~verifier.admission.AdmissionRequest` into an :class:`~verifier.admission.Outcome`:

- every image is verified by the injected ``verify_image(ref@digest) -> CheckResult`` (or a list whose first
  item is the signature check's result, e.g. followed by ``sbom-attestation``; sync or async), then decided
  by the same Rego policy as the CLI (``verifier.evaluate.decide``); it is admitted only when the policy
  allows *and* the first result's verdict is ``pass`` (a bundle without a rule for the signature check must
  not open the cluster);
- results are cached by (image@digest, policy version) with a TTL, failures only briefly; concurrent requests
  for the same image share one lookup;
- everything runs under the deadline derived from the apiserver's ``?timeout=`` minus a margin; a timeout, an
  error or an unexpected exception denies (fail closed) with a short message, details go to the log only.

Example::

    decider = AdmissionDecider(WebhookConfig(), verify_image=my_verify)
    outcome = await decider.admit(parse_review(doc), budget=9.0)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import fnmatch
import functools
import hashlib
import inspect
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifier.admission.bulkhead import Bulkhead, RegistryCircuitOpen
from verifier.admission.review import (
    AdmissionRequest,
    ContainerImage,
    ImageRef,
    Outcome,
    images_to_check,
    parse_image,
)
from verifier.errors import InputError, NetworkError, VerifierError
from verifier.models import CheckResult, Decision
from verifier.models.config import Mode, WebhookConfig, WebhookRule
from verifier.models.reference import canonical_pattern, parse_reference
from verifier.pipeline import decide, merge_policy_config
from verifier.sources.deadline import Deadline, DeadlineExceeded, within

log = logging.getLogger("verifier.webhook")

# ref@digest -> the signature check's result, optionally followed by more checks' results (e.g. SBOM).
VerifyImage = Callable[[str], Any]
ResolveDigest = Callable[[str], "str | Awaitable[str]"]
DecideFn = Callable[..., tuple[Decision, dict[str, Any]]]
# (ref@digest, input.config for the image's rule, the rule's signer set) -> (results, decision): one
# pipeline evaluation, sync.
EvaluateImage = Callable[
    [str, Mapping[str, Any], str | None], tuple[Sequence[CheckResult], Decision]
]
Events = Callable[[str, str], None]

# Shown to users when something unexpected happened; the details are in the log.
UNKNOWN_ERROR = "unknown error, please check the verifier logs"
MAX_MESSAGE = 1024
_DURATION_RE = re.compile(r"\A(\d+(?:\.\d+)?)(ms|s|m)?\Z")


@dataclass(frozen=True)
class ResolvedRule:
    """A rule with the defaults filled in."""

    index: int  # -1 = the defaults
    mode: Mode
    require_digest: bool
    config: Mapping[str, Any]
    signers: str | None = None  # the named signer set of the rule (None: chosen by image pattern)


@dataclass(frozen=True)
class ImageVerdict:
    """The cached outcome for one image under one rule."""

    allowed: bool
    deny: tuple[str, ...] = ()
    warn: tuple[str, ...] = ()
    error: bool = False


def policy_version(config: WebhookConfig, bundle_digest: str, *extra: Any) -> str:
    """A short hash of the webhook config, the policy bundle and ``extra`` (e.g. the rest of the
    configuration, JSON-able): cache entries never cross versions."""
    h = hashlib.sha256()
    h.update(json.dumps([dataclasses.asdict(config), *extra], sort_keys=True, default=str).encode())
    h.update(b"\0" + bundle_digest.encode())
    return h.hexdigest()[:16]


def parse_timeout(value: str | None, config: WebhookConfig) -> float:
    """Seconds the webhook may spend: the apiserver's ``?timeout=10s`` (max 30 s) minus the margin.

    A missing or unparsable value uses ``default_timeout_seconds``. The budget is never below 100 ms.
    """
    seconds = config.default_timeout_seconds
    if value:
        m = _DURATION_RE.match(value.strip())
        if m:
            n = float(m.group(1))
            unit = m.group(2) or "s"
            seconds = n / 1000 if unit == "ms" else n * 60 if unit == "m" else n
    seconds = min(seconds, 30.0)
    margin = min(config.timeout_margin_seconds, seconds / 2)
    return max(seconds - margin, 0.1)


# Never swallowed: everything else (including pyo3's PanicException, a BaseException) denies.
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, asyncio.CancelledError, GeneratorExit)


def _match(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


class VerdictCache:
    """TTL cache of image verdicts plus in-flight sharing: one computation per key at a time."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, ImageVerdict]] = {}
        self._inflight: dict[tuple[str, ...], asyncio.Task[tuple[ImageVerdict, float]]] = {}
        self._max = max_entries
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every cached verdict (in-flight lookups finish and are stored)."""
        self._entries.clear()

    def peek(self, key: tuple[str, ...]) -> ImageVerdict | None:
        """The cached verdict for ``key`` if it is still fresh; no lookup starts, no event is counted."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        return None

    async def get(
        self,
        key: tuple[str, ...],
        compute: Callable[[], Awaitable[tuple[ImageVerdict, float]]],
        events: Events,
    ) -> ImageVerdict:
        """The cached verdict for ``key``, or the result of one shared ``compute()`` (verdict, ttl)."""
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                events("cache", "hit")
                return entry[1]
            del self._entries[key]
        task = self._inflight.get(key)
        if task is None:
            events("cache", "miss")
            task = asyncio.ensure_future(compute())
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._store(key, t))
        else:
            events("cache", "shared")
        # shield: a request that runs out of time must not cancel the lookup other requests wait for.
        verdict, _ttl = await asyncio.shield(task)
        return verdict

    def _store(self, key: tuple[str, ...], task: asyncio.Task[tuple[ImageVerdict, float]]) -> None:
        self._inflight.pop(key, None)
        if task.cancelled() or task.exception() is not None:
            return
        verdict, ttl = task.result()
        if ttl <= 0:
            return
        while len(self._entries) >= self._max:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (self._clock() + ttl, verdict)


def _where(req: AdmissionRequest) -> str:
    """The reviewed object, for log lines: ``Kind namespace/name``."""
    return f"{req.kind} {req.namespace}/{req.name or '(generated)'}"


def _no_events(_name: str, _label: str) -> None:
    return None


def _is_async(fn: Callable[..., Any]) -> bool:
    """True for a coroutine function or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - the method, not whether fn is callable
    )


def _registry_host(ref: str) -> str:
    """The registry host (``host[:port]``) of a canonical ``host/repo@digest`` or ``host/repo:tag``."""
    return ref.split("/", 1)[0]


def _registry_health(exc: BaseException | None) -> bool | None:
    """What a lookup's outcome says about its registry: True when it answered (whatever the verdict), False
    on a network failure (no answer by the deadline, refused, reset, 429/5xx), None when it says nothing
    (cancelled, an error of ours)."""
    if exc is None:
        return True
    if isinstance(exc, NetworkError | TimeoutError):
        return False
    if isinstance(exc, VerifierError):
        return True  # the registry answered: bad content, not found, auth refused
    return None


class AdmissionDecider:
    """Decide AdmissionRequests with the webhook config, the injected image verifier and the Rego policy."""

    def __init__(
        self,
        config: WebhookConfig,
        verify_image: VerifyImage | None = None,
        *,
        evaluate_image: EvaluateImage | None = None,
        resolve_digest: ResolveDigest | None = None,
        decide_fn: DecideFn | None = None,
        policy_dir: Path | None = None,
        opa_url: str | None = None,
        version_extra: Any = None,
        bundle_digest: str = "",
        events: Events | None = None,
        now: Callable[[], datetime] | None = None,
        clock: Callable[[], float] = time.monotonic,
        decision_log: Path | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._on_close = on_close
        self.decision_log = decision_log
        self.config = config
        if (verify_image is None) == (evaluate_image is None):
            raise TypeError("give exactly one of verify_image and evaluate_image")
        self.version = policy_version(config, bundle_digest, version_extra)
        self._verify = verify_image
        self._evaluate_image = evaluate_image
        self.policy_dir = policy_dir
        self.opa_url = opa_url
        self._resolve = resolve_digest
        self._decide: DecideFn = decide_fn or decide
        self._events = events or _no_events
        self._now = now or (lambda: datetime.now(UTC).replace(microsecond=0))
        self.cache = VerdictCache(config.cache_max_entries, clock)
        self._clock = clock
        self._pool = ThreadPoolExecutor(
            config.max_concurrent_lookups, thread_name_prefix="verifier-lookup"
        )
        self.bulkhead = Bulkhead(
            config.max_lookups_per_registry,
            config.breaker_failures,
            config.breaker_cooldown_seconds,
            clock=clock,
            on_open=self._breaker_opened,
        )
        self._stats_lock = threading.Lock()
        self._queued = 0  # lookups waiting for a thread
        self._busy = 0  # lookups running on a thread
        self._progress = clock()  # when a lookup last started or ended
        self._closed = False

    def prime(self, warm: Callable[[], None], timeout: float = 120.0) -> None:
        """Start every lookup thread now and run ``warm`` once in each (e.g. load the policy bundle into that
        thread's engine: ~5 ms a thread), so the first burst of unseen images does not pay for it. An error
        in ``warm`` is raised here (the server then never becomes ready)."""
        workers = self.config.max_concurrent_lookups
        # All tasks wait at the barrier together, so each one holds a thread of its own: every thread runs
        # ``warm`` exactly once.
        barrier = threading.Barrier(workers, timeout=timeout)

        def task() -> None:
            barrier.wait()
            warm()

        for future in [self._pool.submit(task) for _ in range(workers)]:
            future.result()

    def close(self) -> None:
        """Stop the lookup threads (running lookups finish in the background) and call ``on_close``
        (e.g. close the shared registry clients)."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._on_close is not None:
            self._on_close()

    def _breaker_opened(self, host: str) -> None:
        log.warning(
            "registry %s failed %d lookups in a row: not asked for %.0fs",
            host,
            self.config.breaker_failures,
            self.config.breaker_cooldown_seconds,
        )
        self._events("registry", "circuit-opened")

    def health(self) -> tuple[bool, str]:
        """(ready, why) for /readyz: not ready when closed, or when lookups have waited for a thread longer
        than a review's default budget without any lookup starting or ending (no image could be looked up
        in time). Registries whose breaker is open are listed but keep the webhook ready: every other
        registry is still served."""
        if self._closed:
            return False, "closed"
        with self._stats_lock:
            queued, busy, idle_for = self._queued, self._busy, self._clock() - self._progress
        if queued and idle_for > self.config.default_timeout_seconds:
            return False, (
                f"cannot look up images: {queued} lookups waiting, all {busy} lookup threads busy "
                f"for {idle_for:.0f}s"
            )
        opened = [r.host for r in self.bulkhead.states() if r.open]
        detail = f"ready; registries not asked (circuit open): {', '.join(sorted(opened))}"
        return True, detail if opened else "ready"

    def lookup_stats(self) -> tuple[int, int]:
        """(lookups waiting for a thread, lookups running on one), for /metrics."""
        with self._stats_lock:
            return self._queued, self._busy

    # ------------------------------------------------------------------------------------------ rules

    def rule_for(self, namespace: str, image: ImageRef | None) -> ResolvedRule:
        """The first rule matching the namespace and the image's ``registry/repository``, else the defaults.

        Image and patterns are compared in the canonical spelling (:mod:`verifier.models.reference`): a
        rule for ``ghcr.io/acme/*`` covers ``GHCR.IO:443/acme/app``, one for ``docker.io/library/nginx``
        (or ``nginx``) covers ``registry-1.docker.io/library/nginx``.
        """
        cfg = self.config
        if image is not None:
            name = parse_reference(image.canonical).name
            for i, rule in enumerate(cfg.rules):
                patterns = tuple(canonical_pattern(p) for p in rule.images)
                if _match(namespace, rule.namespaces) and _match(name, patterns):
                    return ResolvedRule(
                        i,
                        rule.mode or cfg.mode,
                        cfg.require_digest if rule.require_digest is None else rule.require_digest,
                        merge_policy_config(cfg.config, rule.config),
                        rule.signers,
                    )
        return ResolvedRule(-1, cfg.mode, cfg.require_digest, merge_policy_config(cfg.config))

    def is_exempt(self, namespace: str) -> bool:
        """True when the namespace is exempt from verification."""
        return bool(namespace) and _match(namespace, self.config.exempt_namespaces)

    # ------------------------------------------------------------------------------------------ admit

    async def admit(self, req: AdmissionRequest, budget: float) -> Outcome:
        """The answer for ``req`` within ``budget`` seconds. Never raises: every failure denies."""
        try:
            outcome = self._admit_from_cache(req)
        except Exception:  # noqa: BLE001 - the full path below decides, and denies on the same error
            outcome = None
        if outcome is None:
            outcome = await self._admit_within(req, budget)
        if (
            self.decision_log is not None
            and req.is_workload
            and req.operation in ("CREATE", "UPDATE")
            and not req.dry_run
        ):
            self._log_decision(self.decision_log, req, outcome)
        return outcome

    def _log_decision(self, path: Path, req: AdmissionRequest, outcome: Outcome) -> None:
        """Append the decision record (read by `verifier audit`); a failing log never changes the answer."""
        from verifier.errors import VerifierError
        from verifier.records.decision_log import DecisionRecord, append_record

        record = DecisionRecord(
            time=self._now(),
            source="webhook",
            subject=f"{req.kind} {req.namespace}/{req.name or '(generated)'}",
            allowed=outcome.allowed,
            deny=() if outcome.allowed else (outcome.message,),
            warn=outcome.warnings,
            policy_digest=self.version,
            namespace=req.namespace or None,
        )
        try:
            append_record(path, record)
        except VerifierError:
            log.exception("uid=%s: could not append to the decision log", req.uid)

    async def _admit_within(self, req: AdmissionRequest, budget: float) -> Outcome:
        try:
            async with asyncio.timeout(budget):
                return await self._admit(req)
        except TimeoutError:
            log.warning("uid=%s: verification did not finish within %.1fs: denied", req.uid, budget)
            self._events("decision", "timeout")
            return Outcome(
                False, f"verifier: image verification did not finish within {budget:.1f}s"
            )
        except BaseException as exc:
            if isinstance(exc, _PASS_THROUGH):
                raise
            log.exception("uid=%s: unexpected error: denied", req.uid)
            self._events("decision", "error")
            return Outcome(False, f"verifier: {UNKNOWN_ERROR}")

    def _admit_from_cache(self, req: AdmissionRequest) -> Outcome | None:
        """The answer without awaiting anything when every image's verdict is cached (the common case under
        load: the same images are admitted again and again), else None. No task, timeout or event-loop
        round is spent on such a request; what it answers is exactly what :meth:`_admit` would."""
        images = self._images_or_outcome(req)
        if isinstance(images, Outcome):
            return images
        per_image: list[tuple[ResolvedRule, ImageVerdict]] = []
        for container in images:
            try:
                ref = parse_image(container.image)
            except InputError:
                return None
            rule = self.rule_for(req.namespace, ref)
            verdict = self.cache.peek(self._cache_key(ref.pinned, rule)) if ref.pinned else None
            if verdict is None:
                return None
            per_image.append((rule, verdict))
        for _ in per_image:
            self._events("cache", "hit")
        return self._combine(req, images, per_image)

    def _cache_key(self, pinned: str, rule: ResolvedRule) -> tuple[str, ...]:
        """Where ``pinned``'s verdict under ``rule`` is cached (never shared across policy versions); one
        entry for every spelling of the image."""
        return (parse_reference(pinned).pinned or pinned, self.version, str(rule.index))

    def _images_or_outcome(self, req: AdmissionRequest) -> list[ContainerImage] | Outcome:
        """The images to verify, or the answer when there are none to verify."""
        if req.operation not in ("CREATE", "UPDATE") or not req.is_workload:
            return Outcome(True)
        if self.is_exempt(req.namespace):
            log.info("uid=%s: %s: namespace is exempt", req.uid, _where(req))
            self._events("decision", "exempt")
            return Outcome(True, audit={"exempt": "namespace"})
        try:
            images = images_to_check(req)
        except InputError as exc:
            log.warning("uid=%s: %s: malformed object: %s", req.uid, _where(req), exc)
            self._events("decision", "denied")
            return Outcome(False, _short(f"verifier: malformed {req.kind}: {exc.problem}"))
        if not images:
            self._events("decision", "allowed")
            return Outcome(True)
        return images

    async def _admit(self, req: AdmissionRequest) -> Outcome:
        images = self._images_or_outcome(req)
        if isinstance(images, Outcome):
            return images
        per_image = await asyncio.gather(*(self._image(req.namespace, c) for c in images))
        return self._combine(req, images, per_image)

    def _combine(
        self,
        req: AdmissionRequest,
        images: list[ContainerImage],
        per_image: Sequence[tuple[ResolvedRule, ImageVerdict]],
    ) -> Outcome:
        """One answer from the verdicts of the request's images, each under its rule's mode."""
        denied: list[str] = []
        warnings: list[str] = []
        audited: list[str] = []
        for container, (rule, verdict) in zip(images, per_image, strict=True):
            reason = "; ".join(verdict.deny) or "not allowed by the policy"
            warnings.extend(verdict.warn)
            if verdict.allowed:
                continue
            line = f"{container.path} ({container.image}): {reason}"
            if rule.mode is Mode.ENFORCE:
                denied.append(line)
            elif rule.mode is Mode.WARN:
                warnings.append(f"would be denied: {line}")
            else:
                audited.append(line)
            log.info(
                "uid=%s dryRun=%s: %s: %s [%s]",
                req.uid,
                req.dry_run,
                _where(req),
                line,
                rule.mode.value,
            )
        warnings = list(dict.fromkeys(_short(w) for w in warnings))
        if denied:
            self._events("decision", "denied")
            return Outcome(False, _short("verifier: " + " | ".join(denied)), tuple(warnings))
        self._events("decision", "warned" if warnings else "audited" if audited else "allowed")
        audit = {"would-deny": _short(" | ".join(audited))} if audited else {}
        return Outcome(True, warnings=tuple(warnings), audit=audit)

    async def _image(
        self, namespace: str, container: ContainerImage
    ) -> tuple[ResolvedRule, ImageVerdict]:
        try:
            ref = parse_image(container.image)
        except InputError as exc:
            return self.rule_for(namespace, None), ImageVerdict(False, (exc.problem,))
        rule = self.rule_for(namespace, ref)
        pinned = ref.pinned
        if not pinned:
            digest = await self._resolve_tag(ref)
            if rule.require_digest:
                hint = (
                    f"use {ref.canonical}@{digest}"
                    if digest
                    else f"use {ref.canonical}@sha256:<digest>"
                )
                return rule, ImageVerdict(False, (f"image is not pinned by digest; {hint}",))
            if not digest:
                return rule, ImageVerdict(
                    False, ("tag could not be resolved to a digest",), error=True
                )
            pinned = f"{ref.canonical}@{digest}"
        key = self._cache_key(pinned, rule)
        return rule, await self.cache.get(key, lambda: self._evaluate(pinned, rule), self._events)

    async def _resolve_tag(self, ref: ImageRef) -> str:
        if self._resolve is None:
            return ""
        tagged = f"{ref.canonical}:{ref.tag or 'latest'}"
        seconds = self.config.verify_timeout_seconds
        lookup = functools.partial(self._resolve, tagged)  # sync or async, as the resolver is
        try:
            digest = await asyncio.wait_for(
                self._in_bulkhead(
                    _registry_host(tagged), lookup, Deadline.after(seconds, "lookup")
                ),
                seconds,
            )
            if inspect.isawaitable(digest):
                digest = await asyncio.wait_for(digest, seconds)
        except Exception as exc:  # noqa: BLE001 - a hint only; the image is denied either way
            log.info("resolving %s failed: %s", tagged, exc)
            self._events("registry", "error")
            return ""
        return digest if isinstance(digest, str) and digest.startswith("sha256:") else ""

    def _decide_sync(self, results: list[CheckResult], rule: ResolvedRule) -> Decision:
        decision, _input = self._decide(
            results,
            dict(rule.config),
            now=self._now(),
            policy_dir=self.policy_dir,
            opa_url=self.opa_url,
        )
        return decision

    def _submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Run ``fn`` on a lookup thread under a copy of this context (the lookup's deadline goes with it),
        counting queued and running work for :meth:`health`."""
        ctx = contextvars.copy_context()
        with self._stats_lock:
            self._queued += 1

        def run() -> Any:
            with self._stats_lock:
                self._queued -= 1
                self._busy += 1
                self._progress = self._clock()
            try:
                return ctx.run(fn)
            finally:
                with self._stats_lock:
                    self._busy -= 1
                    self._progress = self._clock()

        future = self._pool.submit(run)

        def forget_if_cancelled(f: concurrent.futures.Future[Any]) -> None:
            if f.cancelled():  # dropped from the queue before a thread took it
                with self._stats_lock:
                    self._queued -= 1

        future.add_done_callback(forget_if_cancelled)
        return future

    async def _in_bulkhead(self, host: str, fn: Callable[[], Any], deadline: Deadline) -> Any:
        """Run the lookup ``fn`` (sync: on a lookup thread; or a coroutine function) in ``host``'s bulkhead,
        under ``deadline``. The slot is given back when the work has ended, which a sync lookup does by
        its deadline at the latest (every registry read is bounded by it), even if its waiter gave up."""
        await self.bulkhead.acquire(host)
        if _is_async(fn):
            healthy: bool | None = None
            try:
                with within(deadline):
                    value = await fn()
                healthy = True
                return value
            except BaseException as exc:
                healthy = _registry_health(exc)
                raise
            finally:
                self.bulkhead.release(host, healthy)

        def work() -> Any:
            with within(deadline):
                return fn()

        future = self._submit(work)
        future.add_done_callback(
            lambda f: self.bulkhead.release(
                host, None if f.cancelled() else _registry_health(f.exception())
            )
        )
        # Cancelling this wait (the deadline) also drops the work if no thread has taken it yet.
        return await asyncio.wrap_future(future)

    async def _verify_and_decide(
        self, pinned: str, rule: ResolvedRule, deadline: Deadline
    ) -> tuple[list[CheckResult], Decision]:
        """Verify and decide in ``pinned``'s registry bulkhead; a sync verifier runs both in ONE worker-thread
        hop (no second hand-off)."""
        host = _registry_host(pinned)
        evaluate_image = self._evaluate_image
        if (
            evaluate_image is not None
        ):  # the pipeline: verify and decide in one call, on a lookup thread
            results, decided = await self._in_bulkhead(
                host, functools.partial(evaluate_image, pinned, rule.config, rule.signers), deadline
            )
            return _results(list(results)), decided
        verify_image = self._verify
        assert verify_image is not None  # noqa: S101 - one of the two, checked in __init__
        if not _is_async(verify_image):

            def work() -> tuple[Any, Decision | None]:
                value = verify_image(pinned)
                if inspect.isawaitable(value):
                    return value, None  # awaited on the loop, then decided below
                results = _results(value)
                return results, self._decide_sync(results, rule)

            value, decision = await self._in_bulkhead(host, work, deadline)
            if decision is not None:
                return value, decision
            pending = value

            async def finish() -> Any:
                return await pending

            value = await self._in_bulkhead(host, finish, deadline)
        else:

            async def verify() -> Any:
                return await verify_image(pinned)

            value = await self._in_bulkhead(host, verify, deadline)
        results = _results(value)
        decision = await asyncio.wrap_future(
            self._submit(functools.partial(self._decide_sync, results, rule))
        )
        return results, decision

    async def _evaluate(self, pinned: str, rule: ResolvedRule) -> tuple[ImageVerdict, float]:
        """Verify one image and decide with the policy. Returns (verdict, ttl). Never raises."""
        cfg = self.config
        failure = cfg.failure_ttl_seconds
        lookup = uuid.uuid4().hex[:8]
        deadline = Deadline.after(cfg.verify_timeout_seconds, "lookup")
        try:
            results, decision = await asyncio.wait_for(
                self._verify_and_decide(pinned, rule, deadline), cfg.verify_timeout_seconds
            )
        except (TimeoutError, DeadlineExceeded):
            log.warning("lookup %s: %s: verification timed out", lookup, pinned)
            self._events("registry", "timeout")
            return ImageVerdict(False, ("verification timed out",), error=True), failure
        except RegistryCircuitOpen as exc:
            log.info("lookup %s: %s: %s", lookup, pinned, exc)
            self._events("registry", "circuit-open")
            return ImageVerdict(False, (f"could not be verified: {exc}",), error=True), failure
        except VerifierError as exc:
            log.warning("lookup %s: %s: %s", lookup, pinned, exc)
            self._events("registry", "error")
            msg = f"could not be verified ({type(exc).__name__}, lookup {lookup})"
            return ImageVerdict(False, (msg,), error=True), failure
        except BaseException as exc:
            if isinstance(exc, _PASS_THROUGH):
                raise
            log.exception("lookup %s: %s: unexpected error", lookup, pinned)
            self._events("registry", "error")
            return ImageVerdict(False, (f"{UNKNOWN_ERROR} (lookup {lookup})",), error=True), failure
        primary = results[0]
        error = any(r.verdict == "error" for r in results)
        if error:
            self._events("registry", "error")
        allowed = decision.allowed and primary.verdict == "pass"
        deny = decision.deny
        if decision.allowed and not allowed:
            deny = (f"{primary.check} verdict is {primary.verdict!r}",)
        verdict = ImageVerdict(allowed, deny, decision.warn, error=error)
        return verdict, failure if verdict.error else cfg.cache_ttl_seconds


def _results(value: Any) -> list[CheckResult]:
    """``verify_image``'s answer as a non-empty list of CheckResults (the first is the signature check)."""
    results = [value] if isinstance(value, CheckResult) else value
    if not isinstance(results, (list, tuple)) or not results:
        raise TypeError(f"verify_image returned {type(value).__name__}, not CheckResult(s)")
    for r in results:
        if not isinstance(r, CheckResult):
            raise TypeError(f"verify_image returned a {type(r).__name__}, not a CheckResult")
    return list(results)


__all__ = [
    "UNKNOWN_ERROR",
    "AdmissionDecider",
    "ImageVerdict",
    "Mode",
    "ResolvedRule",
    "VerdictCache",
    "WebhookConfig",
    "WebhookRule",
    "parse_timeout",
    "policy_version",
]
