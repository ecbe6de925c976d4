"""Types shared by the oidc-trust evaluators: the input record, the binding lattice, the finding collector."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Mapping
from typing import Any

from verifier.models import Finding, Location, Severity
from verifier.models.trust import UNSUPPORTED_MARK, Scenario, TrustConfig


class TrustVerdict(enum.StrEnum):
    """The seven verdicts of ``oidc-trust``, from the point of view of who can assume the identity."""

    FAIL = "fail"  # assumable by workflows outside the intended owner
    WARN_ORG = "warn-org"  # any repository of one owner
    WARN_REF = "warn-ref"  # one repository, any ref or event (pull_request included)
    PASS = "pass"  # noqa: S105 - not a password
    BROKEN = "broken"  # can never match under the provider's semantics
    INDETERMINATE = "indeterminate"  # a value only known at deploy time decides
    UNSUPPORTED = "unsupported"  # a construct the evaluator does not model or cannot parse decides


# Order used when several trust paths are OR-ed (statements, renderings, configurations): the weakest
# decides. ``unsupported`` sits just below ``fail``: nothing is known about what it admits.
BREADTH = {
    TrustVerdict.BROKEN: 0,
    TrustVerdict.PASS: 1,
    TrustVerdict.WARN_REF: 2,
    TrustVerdict.INDETERMINATE: 3,
    TrustVerdict.WARN_ORG: 4,
    TrustVerdict.UNSUPPORTED: 5,
    TrustVerdict.FAIL: 6,
}


@dataclasses.dataclass(frozen=True)
class Bind:
    """What one condition (or a combination) pins: owner, repository, context (ref/environment).

    ``name``: the repository's name is pinned but not its owner; it pins the repository once another key
    pins the owner (a name after a glob wildcard, ``repo:*/app:…``, pins nothing: see
    ``sub_grammar._after_wildcard``). ``broken``: can never match a real token.
    """

    owner: bool = False
    repo: bool = False
    ctx: bool = False
    broken: bool = False
    name: bool = False

    def __post_init__(self) -> None:
        if self.repo and not self.name:
            object.__setattr__(self, "name", True)  # a pinned repository pins its name

    def verdict(self) -> TrustVerdict:
        """Map to a verdict with the AWS/Azure rules (owner, then repository, then ref)."""
        if self.broken:
            return TrustVerdict.BROKEN
        if not self.owner:
            return TrustVerdict.FAIL
        if not self.repo:
            return TrustVerdict.WARN_ORG
        if not self.ctx:
            return TrustVerdict.WARN_REF
        return TrustVerdict.PASS


NONE = Bind()
FULL = Bind(owner=True, repo=True, ctx=True)
BROKEN = Bind(broken=True)


def bind(owner: bool = False, repo: bool = False, ctx: bool = False) -> Bind:
    """A Bind where a pinned repository implies a pinned owner."""
    return Bind(owner=owner or repo, repo=repo, ctx=ctx)


def any_of(binds: Iterable[Bind]) -> Bind:
    """OR: several values of one key, several statements, ``||`` branches. The weakest decides;
    branches that can never match drop out unless all of them are broken."""
    items = list(binds)
    live = [b for b in items if not b.broken]
    if not items:
        return NONE
    if not live:
        return BROKEN
    return Bind(
        owner=all(b.owner for b in live),
        repo=all(b.repo for b in live),
        ctx=all(b.ctx for b in live),
        name=all(b.name for b in live),
    )


def all_of(binds: Iterable[Bind]) -> Bind:
    """AND: several keys of one statement, ``&&``. The strongest binding decides; one part that can
    never match makes the whole never match."""
    items = list(binds)
    if not items:
        return NONE
    if any(b.broken for b in items):
        return BROKEN
    owner = any(b.owner for b in items)
    return Bind(
        owner=owner,
        repo=any(b.repo for b in items) or (owner and any(b.name for b in items)),
        ctx=any(b.ctx for b in items),
        name=any(b.name for b in items),
    )


# Rule id -> default severity. Every id has a heading in docs/checks/oidc-trust.md.
RULES: dict[str, Severity] = {
    "sub-missing": Severity.CRITICAL,
    "sub-wildcard-owner": Severity.CRITICAL,
    "sub-negative-only": Severity.CRITICAL,
    "sub-custom-template-unbound": Severity.CRITICAL,
    "sub-wildcard-repo": Severity.HIGH,
    "sub-job-workflow-ref-only": Severity.CRITICAL,
    "sub-any-ref": Severity.MEDIUM,
    "sub-pull-request": Severity.MEDIUM,
    "sub-context-unpinned": Severity.MEDIUM,
    "sub-ref-pattern": Severity.INFO,
    "sub-literal-wildcard": Severity.MEDIUM,
    "sub-invalid": Severity.MEDIUM,
    "owner-by-name": Severity.LOW,
    "negative-condition": Severity.INFO,
    "condition-key-unknown": Severity.HIGH,
    "if-exists-operator": Severity.LOW,
    "set-operator-single-valued": Severity.LOW,
    "operator-unsupported": Severity.LOW,
    "aud-missing": Severity.LOW,
    "aud-wildcard": Severity.LOW,
    "aud-unexpected": Severity.INFO,
    "unresolved-template": Severity.INFO,
    "principal-unresolved": Severity.INFO,
    "principal-wildcard": Severity.CRITICAL,
    "legacy-issuer": Severity.LOW,
    "statement-never-matches": Severity.LOW,
    "no-github-trust": Severity.INFO,
    "role-admin-permissions": Severity.HIGH,
    "gcp-condition-missing": Severity.CRITICAL,
    "gcp-condition-invalid": Severity.HIGH,
    "gcp-condition-unsupported": Severity.HIGH,
    "gcp-prefix-unanchored": Severity.CRITICAL,
    "gcp-attribute-unmapped": Severity.MEDIUM,
    "gcp-whole-pool-binding": Severity.MEDIUM,
    "gcp-bindings-not-given": Severity.INFO,
    "azure-issuer-mismatch": Severity.MEDIUM,
    "azure-flexible-id-missing": Severity.MEDIUM,
    "azure-expression-invalid": Severity.HIGH,
    "unsupported-construct": Severity.HIGH,
    "configuration-invalid": Severity.HIGH,
    "deny-statement-narrows": Severity.INFO,
}

_LINE_SPLIT = re.compile(r"\n")


class Collector:
    """Collects findings for one evaluation of one trust configuration under one scenario.

    Two kinds of unknowns are kept apart. A *template* (a value only known at deploy time) and a construct
    the evaluator does *not understand* are each assumed to admit everything under the ``worst`` scenario
    and to pin everything under ``best``. The check compares the scenarios: a difference caused by a
    construct it does not understand gives ``unsupported``, one caused by templates ``indeterminate``.

    A finding added with ``unless="owner"`` (or ``repo``/``ctx``) is held back until :meth:`settle`
    learns what the whole statement pins: ``repo:*:ref:refs/heads/main`` next to a ``repository_owner_id``
    condition is no longer a wildcard owner.
    """

    def __init__(
        self,
        config: TrustConfig,
        scenario: Scenario = "worst",
        unsupported_scenario: Scenario = "worst",
    ) -> None:
        self.config = config
        self.scenario = scenario
        self.unsupported_scenario = unsupported_scenario
        self.findings: list[Finding] = []
        self.templates: list[str] = []
        self.unsupported: list[str] = []
        self._seen: set[tuple[str, str]] = set()
        self._pending: list[tuple[Finding, str]] = []
        self._lines: list[str] | None = None
        # Where a finding points when its own value is not in the text (e.g. a rendered intrinsic):
        # the condition key or field being evaluated.
        self.fallback: tuple[str, ...] = ()

    def unknown(self, what: str) -> Bind:
        """A structural template: record it and return the scenario's assumption."""
        if UNSUPPORTED_MARK in what:
            return self.not_understood(what)
        if what not in self.templates:
            self.templates.append(what)
        return NONE if self.scenario == "worst" else FULL

    def not_understood(self, what: str) -> Bind:
        """A construct the evaluator does not model: record it and return the scenario's assumption."""
        if what not in self.unsupported:
            self.unsupported.append(what)
        return NONE if self.unsupported_scenario == "worst" else FULL

    def line_of(self, *needles: str) -> int | None:
        """First line of the source text containing any of ``needles`` (tried in order)."""
        if not self.config.text:
            return None
        if self._lines is None:
            self._lines = self.config.text.split("\n")
        start = max(self.config.first_line - 1, 0)
        for needle in needles:
            if not needle:
                continue
            for number, line in enumerate(self._lines[start:], start=start + 1):
                if needle in line:
                    return number
        return start + 1 if start else None

    def add(
        self,
        rule: str,
        message: str,
        *needles: str,
        severity: Severity | None = None,
        unless: str | None = None,
        **properties: Any,
    ) -> None:
        """Record one finding (deduplicated by rule and message); ``unless`` defers it to :meth:`settle`."""
        key = (rule, message)
        if key in self._seen:
            return
        self._seen.add(key)
        line = self.line_of(*needles, *self.fallback)
        finding = Finding(
            rule=rule,
            severity=severity or RULES[rule],
            message=message,
            location=Location(path=self.config.path, line=line),
            properties=dict(properties),
        )
        if unless is None:
            self.findings.append(finding)
        else:
            self._pending.append((finding, unless))

    def settle(self, combined: Bind) -> None:
        """Keep the deferred findings whose subject ``combined`` (what the statement pins) leaves open."""
        for finding, unless in self._pending:
            if not combined.broken and not getattr(combined, unless):
                self.findings.append(finding)
            else:
                self._seen.discard((finding.rule, finding.message))
        self._pending.clear()


def as_list(value: Any) -> list[Any]:
    """A JSON scalar or list as a list (``None`` → empty)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def str_map(value: Any) -> Mapping[str, Any]:
    """A mapping with string keys, or empty."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return {}
