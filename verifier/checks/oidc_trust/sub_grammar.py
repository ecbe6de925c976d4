"""The GitHub Actions OIDC ``sub`` grammar and the other identity claims, evaluated to a :class:`Bind`.

Default format ``repo:OWNER/REPO:CONTEXT`` and the immutable one ``repo:OWNER@OWNER_ID/REPO@REPO_ID:CONTEXT``,
where CONTEXT is ``ref:refs/heads/B``, ``ref:refs/tags/T``, ``environment:E`` or ``pull_request``. Custom
templates (``include_claim_keys``) join ``claim:value`` pairs with ``:``.

Three matching modes: ``exact`` (StringEquals, CEL ``==``, Azure standard FIC), ``exact_ci``
(StringEqualsIgnoreCase) and ``glob`` (StringLike: ``*`` spans any characters, ``:`` and ``/`` included;
``?`` is one character). Template placeholders (``${var}``, ``<X>``, ``{x}``) inside a name slot (owner,
repository, branch...) are taken as a plain name; a placeholder that is the whole value or the whole
context shapes the condition and is resolved by the collector's scenario (see ``Collector.unknown``).
"""

from __future__ import annotations

import re
from typing import Literal

from verifier.checks.oidc_trust.model import BROKEN, NONE, Bind, Collector, bind
from verifier.models import Severity
from verifier.models.trust import UNSUPPORTED_MARK

Mode = Literal["exact", "exact_ci", "glob"]

PH = "\x00"
_PLACEHOLDER = re.compile(
    r"\$\{(?:[^{}]|\{[^{}]*\})*\}"  # ${var.x}, ${AWS::AccountId}, ${a ? b : c}
    r"|\{\{[^{}]*\}\}"  # {{ x }}
    r"|<[A-Za-z_][A-Za-z0-9_ .-]*>"  # <GITHUB_ORG>, <YOUR ACCOUNT ID>
    r"|\{[A-Za-z_][A-Za-z0-9_.-]*\}"  # {org}
)
_INF = 1 << 30
_NAME = re.compile(r"[A-Za-z0-9_.\-\x00]+")
_ID = re.compile(r"[0-9\x00]+")

# Claims GitHub puts in its Actions OIDC token (and so the only ones a condition or template can name).
GITHUB_CLAIMS = frozenset(
    {
        "sub",
        "aud",
        "iss",
        "jti",
        "nbf",
        "exp",
        "iat",
        "amr",
        "azp",
        "actor",
        "actor_id",
        "base_ref",
        "check_run_id",
        "context",
        "enterprise",
        "enterprise_id",
        "environment",
        "environment_node_id",
        "event_name",
        "head_ref",
        "job_workflow_ref",
        "job_workflow_sha",
        "ref",
        "ref_protected",
        "ref_type",
        "repo",
        "repository",
        "repository_id",
        "repository_owner",
        "repository_owner_id",
        "repository_visibility",
        "run_attempt",
        "run_id",
        "run_number",
        "runner_environment",
        "sha",
        "workflow",
        "workflow_ref",
        "workflow_sha",
    }
)


_NAME_CLAIMS = {
    "repository": bind(repo=True),
    "repository_id": bind(repo=True),
    "repository_owner": bind(owner=True),
    "repository_owner_id": bind(owner=True),
}


def mask(value: str) -> str:
    """Replace every template placeholder with one NUL character."""
    return _PLACEHOLDER.sub(PH, value)


def is_template(value: str) -> bool:
    """True when ``value`` consists only of placeholders (its structure is unknown)."""
    masked = mask(value)
    return PH in masked and not masked.replace(PH, "").strip()


def first_wild(text: str, mode: Mode) -> int:
    """Index of the first glob wildcard, or a large number when there is none (or not in glob mode)."""
    if mode != "glob":
        return _INF
    hits = [i for i in (text.find("*"), text.find("?")) if i >= 0]
    return min(hits) if hits else _INF


def _literal_wildcard(raw: str, masked: str, mode: Mode, what: str, col: Collector) -> bool:
    if mode != "glob" and ("*" in masked or "?" in masked):
        col.add(
            "sub-literal-wildcard",
            f"{what} {raw!r} is compared exactly: '*' and '?' are literal characters here, and no "
            "GitHub token carries them, so this value can never match",
            raw,
        )
        return True
    return False


def _unsupported(raw: str, what: str, col: Collector) -> Bind:
    col.add(
        "unsupported-construct",
        f"{what} {raw!r} holds an expression the reader could not evaluate",
        raw,
        severity=Severity.HIGH,
    )
    return col.not_understood(f"{what} {raw!r}")


def eval_sub(raw: str, mode: Mode, col: Collector, what: str = "sub") -> Bind:
    """Evaluate one ``sub`` value (or pattern) to what it pins."""
    if UNSUPPORTED_MARK in raw:
        return _unsupported(raw, what, col)
    s = mask(raw)
    if is_template(raw):
        col.add(
            "unresolved-template",
            f"{what} is the unresolved template {raw!r}: the value passed in "
            "decides who can assume",
            raw,
            severity=None,
        )
        return col.unknown(f"{what} {raw!r}")
    if _literal_wildcard(raw, s, mode, what, col):
        return BROKEN
    if s != s.strip():
        col.add(
            "sub-invalid",
            f"{what} {raw!r} has leading or trailing whitespace, which no token's sub has",
            raw,
        )
        return BROKEN
    if mode == "glob" and not s.strip("*?"):
        col.add(
            "sub-wildcard-owner",
            f"{what} pattern {raw!r} matches every token of every repository on GitHub",
            raw,
            unless="owner",
        )
        return NONE
    m = re.match(r"([A-Za-z_]+):", s)
    w = first_wild(s, mode)
    if m is None or w < m.end():
        if w < _INF:
            col.add(
                "sub-wildcard-owner",
                f"{what} pattern {raw!r} has a wildcard before the owner is "
                "pinned: tokens of other owners can match it",
                raw,
                unless="owner",
            )
            _after_wildcard(raw, s, col, what)
            return NONE
        col.add(
            "sub-invalid",
            f"{what} {raw!r} does not start with a claim such as 'repo:', so no token can match it",
            raw,
        )
        return BROKEN
    claim = m.group(1)
    if claim != claim.lower() and mode != "exact_ci":
        col.add(
            "sub-invalid",
            f"{what} {raw!r}: claim names in a sub are lower case; this never matches",
            raw,
        )
        return BROKEN
    claim = claim.lower()
    rest = s[m.end() :]
    if claim == "repo":
        return _owner_repo_ctx(raw, rest, mode, col, what, immutable=True)
    if claim == "repository":
        return _owner_repo_ctx(raw, rest, mode, col, what, immutable=False)
    if claim in ("repository_id", "repository_owner_id", "repository_owner"):
        value, sep, tail = rest.partition(":")
        head = eval_claim(claim, value, mode, col, display=raw)
        if not sep or head.broken or not head.owner:
            if not sep and head.owner and not head.broken and claim == "repository_id":
                col.add(
                    "sub-context-unpinned",
                    f"{what} {raw!r} pins one repository but no ref, "
                    "environment or event: every workflow run of it matches",
                    raw,
                    unless="ctx",
                )
            return head
        if re.match(r"(repo|repository|repository_id):", tail):
            inner = eval_sub(tail, mode, col, what)
            return Bind(owner=True, repo=inner.repo, ctx=inner.ctx, broken=inner.broken)
        if claim != "repository_id":
            col.add(
                "sub-wildcard-repo",
                f"{what} {raw!r} pins the owner only: every repository of it matches",
                raw,
                unless="repo",
            )
            _after_wildcard(raw, tail, col, what)
            return bind(owner=True)
        return _with_context(bind(repo=True), raw, tail, mode, col, what)
    if claim == "job_workflow_ref" and ":" not in rest:
        # Pins the reusable workflow that runs, not the repository that calls it.
        return eval_claim("job_workflow_ref", rest, mode, col, display=raw)
    if claim in GITHUB_CLAIMS:
        col.add(
            "sub-custom-template-unbound",
            f"{what} {raw!r} starts with '{claim}:' instead of the "
            "repository: any repository can set its custom sub template to emit the same string",
            raw,
            unless="owner",
        )
        return Bind(ctx=_custom_context(s, mode))
    col.add(
        "sub-invalid",
        f"{what} {raw!r} starts with '{claim}:', which is not a GitHub claim: no token "
        "can match it",
        raw,
    )
    return BROKEN


def _owner_repo_ctx(
    raw: str, rest: str, mode: Mode, col: Collector, what: str, *, immutable: bool
) -> Bind:
    slash = rest.find("/")
    w = first_wild(rest, mode)
    if w < _INF and (slash < 0 or w < slash):
        owner_part = rest[:w]
        example = f" (e.g. '{owner_part}-evil')" if owner_part and PH not in owner_part else ""
        col.add(
            "sub-wildcard-owner",
            f"{what} pattern {raw!r}: the owner is not pinned literally up to "
            f"'/', so tokens of other owners{example} match",
            raw,
            unless="owner",
        )
        # Nothing after the wildcard counts, even once another key pins the owner: see _after_wildcard.
        _after_wildcard(raw, rest, col, what)
        return NONE
    if slash < 0:
        if PH in rest:
            # `repo:${x}`: the template may hold OWNER/REPO:CONTEXT, or a pattern.
            col.add(
                "unresolved-template",
                f"{what} {raw!r}: owner, repository and context come from an unresolved template",
                raw,
            )
            return col.unknown(f"{what} {raw!r}")
        col.add(
            "sub-invalid", f"{what} {raw!r} has no OWNER/REPO part, so no token can match it", raw
        )
        return BROKEN
    owner = rest[:slash]
    if not _valid_name(owner, immutable):
        col.add("sub-invalid", f"{what} {raw!r}: {owner!r} is not a valid owner", raw)
        return BROKEN
    after = rest[slash + 1 :]
    colon = after.find(":")
    w2 = first_wild(after, mode)
    if w2 < _INF and (colon < 0 or w2 < colon):
        owner_text = f" {owner!r}" if PH not in owner else ""
        col.add(
            "sub-wildcard-repo",
            f"{what} pattern {raw!r} admits every repository of the owner{owner_text} "
            "(and, through '*', any ref or event)",
            raw,
            unless="repo",
        )
        _after_wildcard(raw, after, col, what)
        return bind(owner=True)
    repo = after if colon < 0 else after[:colon]
    if not _valid_name(repo, immutable):
        col.add("sub-invalid", f"{what} {raw!r}: {repo!r} is not a valid repository name", raw)
        return BROKEN
    if colon < 0:
        if PH in repo:
            col.add(
                "unresolved-template",
                f"{what} {raw!r}: the repository part is a template that may also "
                "carry the context",
                raw,
            )
            return Bind(owner=True, repo=True, ctx=col.unknown(f"{what} {raw!r}").ctx)
        col.add(
            "sub-context-unpinned",
            f"{what} {raw!r} has no context: only a custom sub template with "
            "just the repository emits it, and then every workflow run of the repository matches",
            raw,
            unless="ctx",
        )
        return bind(repo=True)
    return _with_context(bind(repo=True), raw, after[colon + 1 :], mode, col, what)


# `*/app:CTX`, `*@1/app@*:CTX`: a wild owner slot, then a literal repository name up to ':' or '@'.
_WILD_OWNER_NAME = re.compile(
    r"(?P<owner>[^/]*[*?][^/]*)/(?P<name>[A-Za-z0-9_.\-\x00]+)(?:@[0-9*?]*)?:(?P<ctx>.*)"
)
_CONTEXT_PAIR = re.compile(r"(^|:)(environment:[^:*?]+|ref:refs/(heads|tags)/[^:*?]+)($|:)")
# Claims whose value is free text, ':' included: a workflow's `name:`, chosen by whoever pushes the file.
_FREE_TEXT_CLAIMS = re.compile(r"(^|:)workflow:")


def _after_wildcard(raw: str, text: str, col: Collector, what: str) -> None:
    """Report what the literal text after a glob wildcard seems to pin but does not.

    In ``StringLike`` a ``*`` spans ':' and '/', and a custom sub template (``include_claim_keys``, set per
    repository by its admins) can end in a free-text claim such as ``workflow`` (the workflow's ``name:``,
    set by whoever pushes the file). So any text after a wildcard can be emitted by a token of another
    repository of the owner, or from another ref: ``repo:*/app:ref:refs/heads/main`` matches
    ``repo:acme/other:workflow:x/app:ref:refs/heads/main``. Nothing after a wildcard is counted.
    """
    w = first_wild(text, "glob")
    if w >= _INF:
        return
    tail = text[w:]
    if _WILD_OWNER_NAME.fullmatch(text) is not None:
        col.add(
            "sub-wildcard-repo",
            f"{what} pattern {raw!r}: the repository name after the wildcard pins nothing, since '*' spans "
            "':' and a custom sub template ending in a workflow's name can emit it from any repository "
            "of the owner",
            raw,
            unless="repo",
        )
    if _CONTEXT_PAIR.search(tail):
        col.add(
            "sub-any-ref",
            f"{what} pattern {raw!r}: the ref or environment after the wildcard pins nothing, since '*' "
            "spans ':' and a custom sub template ending in a workflow's name can emit it from any ref",
            raw,
            unless="ctx",
        )


def _custom_context(text: str, mode: Mode) -> bool:
    """True when a custom-template sub (``environment:prod``, ``ref:refs/heads/main:actor:x``) holds a
    literal environment or full ref pair that neither a wildcard nor a free-text claim (``workflow:``)
    precedes: after those, a workflow's name can spell the same text."""
    w = first_wild(text, mode)
    for m in _CONTEXT_PAIR.finditer(text):
        if m.end() > w:
            return False
        if not _FREE_TEXT_CLAIMS.search(text[: m.start() + 1]):
            return True
    return False


def _valid_name(name: str, immutable: bool) -> bool:
    base, at, ident = name.partition("@")
    if not base or not _NAME.fullmatch(base):
        return False
    if at:
        return immutable and bool(_ID.fullmatch(ident))
    return True


def _with_context(pinned: Bind, raw: str, ctx: str, mode: Mode, col: Collector, what: str) -> Bind:
    """Combine owner/repository ``pinned`` with the evaluation of the CONTEXT part."""
    if ctx and not ctx.replace(PH, "").strip():
        col.add(
            "unresolved-template", f"{what} {raw!r}: the context is an unresolved template", raw
        )
        assumed = col.unknown(f"{what} context {raw!r}")
        return Bind(owner=True, repo=pinned.repo, ctx=assumed.ctx)
    state = _context(raw, ctx, mode, col, what)
    if state == "broken":
        return BROKEN
    if state == "unknown":
        col.add("unresolved-template", f"{what} {raw!r}: the ref is an unresolved template", raw)
        return Bind(owner=True, repo=pinned.repo, ctx=col.unknown(f"{what} ref {raw!r}").ctx)
    return Bind(owner=True, repo=pinned.repo, ctx=state == "pinned")


def _context(raw: str, ctx: str, mode: Mode, col: Collector, what: str) -> str:
    """'pinned' | 'weak' (any ref, pull_request) | 'open' (not pinned) | 'broken' | 'unknown' (a template)."""
    w = first_wild(ctx, mode)
    if w == 0:
        col.add(
            "sub-any-ref",
            f"{what} pattern {raw!r} admits any ref, environment or event of the "
            "repository, pull_request included",
            raw,
            unless="ctx",
        )
        return "weak"
    if ctx.startswith("pull_request"):
        col.add(
            "sub-pull-request",
            f"{what} {raw!r} admits workflows triggered by pull_request: any pull "
            "request workflow of the repository can assume",
            raw,
        )
        return "weak"
    m = re.match(r"([A-Za-z_]+):", ctx)
    if m is None or w < m.end():
        if w < _INF:
            col.add(
                "sub-any-ref",
                f"{what} pattern {raw!r} does not pin the kind of context (ref, "
                "environment, pull_request)",
                raw,
                unless="ctx",
            )
            return "weak"
        col.add(
            "sub-invalid",
            f"{what} {raw!r}: context {ctx!r} is not ref:…, environment:… or "
            "pull_request, so no token can match it",
            raw,
        )
        return "broken"
    claim, value = m.group(1), ctx[m.end() :]
    wv = first_wild(value, mode)
    if claim == "ref" and value and not value.replace(PH, "").strip():
        return "unknown"
    if claim == "ref":
        pm = re.match(r"refs/(heads|tags)/", value)
        if pm is None:
            if wv < _INF and wv < len("refs/heads/"):
                col.add(
                    "sub-any-ref",
                    f"{what} pattern {raw!r} admits any ref of the repository",
                    raw,
                    unless="ctx",
                )
                return "weak"
            if value.startswith("refs/pull/"):
                col.add("sub-pull-request", f"{what} {raw!r} admits a pull request ref", raw)
                return "weak"
            if value.startswith("refs/") and len(value) > len("refs/"):
                return "pinned"
            col.add(
                "sub-invalid",
                f"{what} {raw!r}: {value!r} is not a full ref (refs/heads/…, "
                "refs/tags/…), so no token can match it",
                raw,
            )
            return "broken"
        kind = "branch" if pm.group(1) == "heads" else "tag"
        name = value[pm.end() :]
        wn = first_wild(name, mode)
        if not name:
            col.add("sub-invalid", f"{what} {raw!r} has an empty {kind} name", raw)
            return "broken"
        if wn == 0:
            col.add(
                "sub-any-ref",
                f"{what} pattern {raw!r} admits any {kind} of the repository: anyone who "
                f"can push a {kind} can assume",
                raw,
                unless="ctx",
            )
            return "weak"
        if wn < _INF:
            col.add(
                "sub-ref-pattern",
                f"{what} pattern {raw!r} admits {kind}{'es' if kind == 'branch' else 's'} matching a prefix: anyone "
                f"who can push such a {kind} can assume (protect them with rulesets)",
                raw,
            )
        return "pinned"
    if claim == "environment":
        if not value:
            col.add("sub-invalid", f"{what} {raw!r} has an empty environment name", raw)
            return "broken"
        if wv == 0:
            col.add(
                "sub-any-ref",
                f"{what} pattern {raw!r} admits any environment of the repository",
                raw,
                unless="ctx",
            )
            return "weak"
        if wv < _INF:
            col.add(
                "sub-ref-pattern",
                f"{what} pattern {raw!r} admits environments matching a prefix",
                raw,
            )
        return "pinned"
    if claim in ("job_workflow_ref", "workflow_ref"):
        if wv < _INF:
            col.add(
                "sub-context-unpinned",
                f"{what} pattern {raw!r}: the {claim} part has a wildcard, so "
                "it does not pin which workflow at which ref runs",
                raw,
                unless="ctx",
            )
            return "open"
        return "pinned"
    if claim in GITHUB_CLAIMS:
        col.add(
            "sub-context-unpinned",
            f"{what} {raw!r}: the custom template's '{claim}' claim does not "
            "pin a ref or environment",
            raw,
            unless="ctx",
        )
        return "open"
    col.add(
        "sub-invalid",
        f"{what} {raw!r}: '{claim}' is not a GitHub claim, so no token can match it",
        raw,
    )
    return "broken"


def eval_claim(
    claim: str, value: str, mode: Mode, col: Collector, display: str | None = None
) -> Bind:
    """Evaluate a condition on one identity claim other than ``sub`` (``repository_id``, ``ref``...).

    Claims that identify nothing the caller cannot choose (``actor``, ``workflow``, ``event_name``...)
    pin nothing.
    """
    raw = display if display is not None else value
    label = f"{claim} {raw!r}" if display is None else f"sub {raw!r}"
    if UNSUPPORTED_MARK in value:
        return _unsupported(raw, claim, col)
    s = mask(value)
    if is_template(value) and claim in _NAME_CLAIMS:
        # One value of a name claim pins exactly one name, whichever is passed in.
        col.add(
            "unresolved-template",
            f"{label} is a template; taken as one literal {claim.replace('_', ' ')}",
            raw,
        )
        if claim == "repository_owner":
            col.add(
                "owner-by-name",
                f"{label} pins the owner by name; prefer repository_owner_id (a "
                "deleted and re-registered name gets a new id)",
                raw,
            )
        return _NAME_CLAIMS[claim]
    if _literal_wildcard(raw, s, mode, claim, col):
        return BROKEN
    w = first_wild(s, mode)
    if claim in ("repository_id", "repository_owner_id"):
        if w < _INF:
            col.add(
                "sub-wildcard-owner",
                f"{label}: a pattern over ids does not pin one "
                f"{'repository' if claim == 'repository_id' else 'owner'}",
                raw,
            )
            return NONE
        if not _ID.fullmatch(s):
            col.add("sub-invalid", f"{label}: ids are decimal numbers, so no token can match", raw)
            return BROKEN
        return bind(repo=True) if claim == "repository_id" else bind(owner=True)
    if claim == "repository_owner":
        if w < _INF:
            col.add(
                "sub-wildcard-owner", f"{label}: the owner is a pattern, other owners match", raw
            )
            return NONE
        col.add(
            "owner-by-name",
            f"{label} pins the owner by name; prefer repository_owner_id (a deleted "
            "and re-registered name gets a new id)",
            raw,
        )
        return bind(owner=True)
    if claim == "repository":
        slash = s.find("/")
        if w < _INF and (slash < 0 or w < slash):
            col.add(
                "sub-wildcard-owner", f"{label}: the owner is not pinned literally up to '/'", raw
            )
            return NONE
        if slash <= 0 or slash == len(s) - 1:
            col.add("sub-invalid", f"{label} is not OWNER/REPO, so no token can match", raw)
            return BROKEN
        if w < _INF:
            col.add("sub-wildcard-repo", f"{label} admits every repository of the owner", raw)
            return bind(owner=True)
        return bind(repo=True)
    if claim in ("workflow_ref", "job_workflow_ref"):
        slash = s.find("/")
        if w < _INF and (slash < 0 or w < slash):
            col.add(
                "sub-wildcard-owner",
                f"{label}: the owner of the workflow is not pinned",
                raw,
                unless="owner",
            )
            return NONE
        _path, at, _ref = s.partition("@")
        # In a glob, a '*' before any '@' spans '@REF' as well: `acme/*` is OWNER/REPO/PATH@REF.
        if slash <= 0 or (not at and w == _INF):
            col.add(
                "sub-invalid", f"{label} is not OWNER/REPO/PATH@REF, so no token can match", raw
            )
            return BROKEN
        second = s.find("/", slash + 1)
        repo_pinned = w == _INF or (second > 0 and w > second)
        ctx_pinned = w == _INF
        if claim == "job_workflow_ref":
            # Pins the reusable workflow that runs, not the repository that calls it: any repository
            # allowed to call it matches.
            col.add(
                "sub-job-workflow-ref-only",
                f"{label} pins only the reusable workflow: any repository allowed to call it "
                "(every repository on GitHub for a public one) matches",
                raw,
                unless="owner",
            )
            return NONE
        if not repo_pinned:
            col.add(
                "sub-wildcard-repo",
                f"{label} admits workflows of every repository of the owner",
                raw,
                unless="repo",
            )
        elif not ctx_pinned:
            col.add(
                "sub-context-unpinned",
                f"{label} has a wildcard: it does not pin which workflow at which ref runs",
                raw,
                unless="ctx",
            )
        return bind(owner=True, repo=repo_pinned, ctx=ctx_pinned)
    if claim == "ref":
        state = _context(raw, "ref:" + value, mode, col, label)
        if state == "broken":
            return BROKEN
        if state == "unknown":
            return col.unknown(f"{label}")
        return Bind(ctx=state == "pinned")
    if claim == "environment":
        if w == 0:
            return NONE
        return Bind(ctx=True)
    if claim == "event_name" and s == "pull_request":
        return NONE
    return NONE
