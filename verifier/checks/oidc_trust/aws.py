"""AWS IAM role trust policies: which GitHub workflows can call ``sts:AssumeRoleWithWebIdentity``."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from verifier.checks.oidc_trust.model import (
    BROKEN,
    FULL,
    NONE,
    Bind,
    Collector,
    TrustVerdict,
    all_of,
    any_of,
    as_list,
)
from verifier.checks.oidc_trust.sub_grammar import (
    GITHUB_CLAIMS,
    Mode,
    eval_claim,
    eval_sub,
    is_template,
    mask,
)
from verifier.errors import InputError
from verifier.models import Severity

_WEB_IDENTITY = "sts:assumerolewithwebidentity"
_SINGLE_VALUED = GITHUB_CLAIMS - {"amr"}
_IDENTITY_CLAIMS = frozenset(
    {
        "sub",
        "repository",
        "repository_id",
        "repository_owner",
        "repository_owner_id",
        "workflow_ref",
        "job_workflow_ref",
        "ref",
        "environment",
        "event_name",
    }
)
_POSITIVE: dict[str, Mode] = {
    "stringequals": "exact",
    "stringequalsignorecase": "exact_ci",
    "stringlike": "glob",
}
_NEGATIVE = frozenset({"stringnotequals", "stringnotequalsignorecase", "stringnotlike"})
_EXPECTED_AUD = "sts.amazonaws.com"
# Claims GitHub leaves out of some tokens (no environment on the job): an ...IfExists or ForAllValues:
# test on them is true for every token without the claim.
_OPTIONAL_CLAIMS = frozenset({"environment", "environment_node_id"})


def github_host(value: str) -> str | None:
    """The issuer host/path of a GitHub Actions OIDC provider ARN or URL, else None.

    ``token.actions.githubusercontent.com`` (and ``/<enterprise-slug>``), the pre-GA
    ``vstoken.actions.githubusercontent.com``, and GHES ``<host>/_services/token``.
    """
    s = value.strip().lower()
    if "oidc-provider/" in s:
        s = s.split("oidc-provider/", 1)[1]
    s = re.sub(r"^https?://", "", s).rstrip("/")
    if s.startswith(
        ("token.actions.githubusercontent.com", "vstoken.actions.githubusercontent.com")
    ):
        return s
    if s.endswith("/_services/token") and "$" not in s and "<" not in s:
        return s
    return None


def _looks_github(host: str) -> bool:
    return "github" in host or host.endswith("/_services/token")


class _Resolver:
    """Resolves CloudFormation intrinsics that stay in a rendered policy (``Ref``, ``Fn::Sub``...).

    Parameters with a default are replaced by the default (what a stack deployed without overrides
    gets); everything else becomes a ``${...}`` placeholder string. ``Fn::If`` yields both branches.
    """

    def __init__(
        self, config_params: Mapping[str, str], providers: Mapping[str, str], col: Collector
    ) -> None:
        self.params = config_params
        self.providers = providers
        self.col = col

    def values(self, node: Any) -> list[str]:
        """A condition value or principal as a flat list of strings."""
        out: list[str] = []
        for item in as_list(node):
            resolved = self.one(item)
            if isinstance(resolved, list):
                out.extend(str(x) for x in resolved)
            else:
                out.append(resolved)
        return out

    def one(self, node: Any) -> str | list[str]:
        if isinstance(node, str):
            return node
        if isinstance(node, bool):
            return "true" if node else "false"
        if isinstance(node, int | float):
            return str(node)
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref" and isinstance(arg, str):
                return self._ref(arg)
            if fn == "Fn::Sub":
                return self._sub(arg)
            if (
                fn == "Fn::Join"
                and isinstance(arg, list)
                and len(arg) == 2
                and isinstance(arg[0], str)
            ):
                parts = [self.one(p) for p in as_list(arg[1])]
                if all(isinstance(p, str) for p in parts):
                    return arg[0].join(p for p in parts if isinstance(p, str))
            if (
                fn == "Fn::GetAtt"
                and isinstance(arg, list)
                and arg
                and isinstance(arg[0], str)
                and arg[0] in self.providers
            ):
                return self._ref(arg[0])
            if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
                self.col.add(
                    "unresolved-template",
                    f"Fn::If on condition {arg[0]!r}: both branches are "
                    "evaluated and the weaker decides",
                )
                return self.values(arg[1:])
            return "${" + str(fn) + ":" + _short(arg) + "}"
        raise _ShapeError(f"unexpected value {_short(node)} in a policy")

    def _ref(self, name: str) -> str:
        if name in self.providers:
            return f"arn:aws:iam::${{AWS::AccountId}}:oidc-provider/{self.providers[name]}"
        if name in self.params:
            self.col.add(
                "unresolved-template",
                f"Ref {name} resolved with the template's parameter "
                f"default {self.params[name]!r} (a deployment may override it)",
                name,
            )
            return self.params[name]
        return "${" + name + "}"

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list) and arg and isinstance(arg[0], str):
            text, extra = arg[0], (arg[1] if len(arg) > 1 and isinstance(arg[1], dict) else {})
        elif isinstance(arg, str):
            text, extra = arg, {}
        else:
            return "${Fn::Sub}"

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in extra:
                v = self.one(extra[name])
                return v if isinstance(v, str) else m.group(0)
            if name in self.params:
                self.col.add(
                    "unresolved-template",
                    f"${{{name}}} resolved with the template's parameter "
                    f"default {self.params[name]!r} (a deployment may override it)",
                    name,
                )
                return self.params[name]
            return m.group(0)

        return re.sub(r"\$\{([A-Za-z0-9_:.]+)\}", repl, text)


class _ShapeError(Exception):
    pass


def _short(node: Any) -> str:
    text = repr(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _op_parts(op: str) -> tuple[str, str, bool]:
    """``ForAllValues:StringLikeIfExists`` → ('forallvalues', 'stringlike', True)."""
    low = op.strip().lower()
    prefix = ""
    if ":" in low:
        prefix, low = low.split(":", 1)
    if_exists = low.endswith("ifexists")
    if if_exists:
        low = low[: -len("ifexists")]
    return prefix, low, if_exists


def _action_admits_web_identity(stmt: Mapping[str, Any]) -> bool:
    if "Action" in stmt:
        return any(
            fnmatch.fnmatchcase(_WEB_IDENTITY, str(a).lower()) for a in as_list(stmt["Action"])
        )
    if "NotAction" in stmt:
        return not any(
            fnmatch.fnmatchcase(_WEB_IDENTITY, str(a).lower()) for a in as_list(stmt["NotAction"])
        )
    return False


def evaluate(col: Collector) -> tuple[Bind | None, dict[str, Any]]:
    """Evaluate every Allow statement a GitHub workflow could use; the weakest decides.

    Returns (binding, facts); binding is None when no statement trusts GitHub Actions.
    """
    cfg = col.config
    doc = cfg.document
    if not isinstance(doc, Mapping):
        raise InputError(cfg.path, f"trust policy must be a JSON object, not {type(doc).__name__}")
    statements = doc.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise InputError(cfg.path, "trust policy has no Statement list")
    resolver = _Resolver(cfg.parameters, cfg.oidc_providers, col)
    binds: list[Bind] = []
    stmt_facts: list[dict[str, Any]] = []
    denies: list[tuple[set[str] | None, Bind, str]] = []
    for index, stmt in enumerate(statements):
        if not isinstance(stmt, Mapping):
            raise InputError(cfg.path, f"Statement[{index}] is not an object")
        try:
            deny = _deny(index, stmt, resolver, col)
        except _ShapeError as exc:
            raise InputError(cfg.path, f"Statement[{index}]: {exc}") from None
        if deny is not None:
            denies.append(deny)
    for index, stmt in enumerate(statements):
        try:
            result = _statement(index, stmt, resolver, col, denies)
        except _ShapeError as exc:
            raise InputError(cfg.path, f"Statement[{index}]: {exc}") from None
        if result is not None:
            binds.append(result[0])
            stmt_facts.append(result[1])
    facts: dict[str, Any] = {
        "statements": stmt_facts,
        "admits": [a for f in stmt_facts for a in f["admits"]],
    }
    if not binds:
        return None, facts
    overall = any_of(binds)
    if not overall.broken:
        for fact, b in zip(stmt_facts, binds, strict=True):
            if b.broken:
                col.add(
                    "statement-never-matches",
                    f"statement {fact['label']} can never match a GitHub "
                    "token (see the findings above); the other statements decide",
                )
    return overall, facts


def _deny(
    index: int, stmt: Mapping[str, Any], resolver: _Resolver, col: Collector
) -> tuple[set[str] | None, Bind, str] | None:
    """What a Deny statement leaves through, as a Bind every Allow statement is AND-ed with.

    The Deny applies when all its conditions hold, so a token gets through when one of them does not:
    an OR over the negated conditions. The negation of ``StringNotLike sub repo:acme/app:*`` is
    ``StringLike sub repo:acme/app:*``, which pins; the negation of a positive test pins nothing.
    Returns (GitHub hosts it applies to, or None for any principal; what it lets through; label).
    """
    if str(stmt.get("Effect", "")).lower() != "deny" or not _action_admits_web_identity(stmt):
        return None
    label = f"#{index}" + (f" ({stmt['Sid']})" if isinstance(stmt.get("Sid"), str) else "")
    principal = stmt.get("Principal")
    hosts: set[str] | None
    if principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == "*"):
        hosts = None
    elif isinstance(principal, Mapping) and "Federated" in principal:
        hosts = {h for h in (github_host(f) for f in resolver.values(principal["Federated"])) if h}
        if not hosts:
            return None
    else:
        return None
    conditions = stmt.get("Condition") or {}
    if not isinstance(conditions, Mapping):
        raise _ShapeError("Condition is not an object")
    through: list[Bind] = []
    for op, block in conditions.items():
        if not isinstance(block, Mapping):
            raise _ShapeError(f"condition operator {op!r} does not map to an object")
        prefix, base, _if_exists = _op_parts(str(op))
        for key, raw_values in block.items():
            host, _, claim = str(key).lower().rpartition(":")
            negated = _NEGATED.get(base)
            if (
                negated is None
                or prefix
                or claim not in _IDENTITY_CLAIMS
                or (hosts is not None and host not in hosts)
                or github_host(host) is None
            ):
                through.append(NONE)
                continue
            values = resolver.values(raw_values)
            if claim == "sub":
                value_binds = [eval_sub(v, negated, col) for v in values]
            else:
                value_binds = [_claim(claim, v, negated, col) for v in values]
            through.append(any_of(value_binds) if value_binds else NONE)
    # What a negated test would report is about the Deny, not about any Allow statement: drop it.
    col.settle(FULL)
    if not conditions:
        return hosts, BROKEN, label
    return hosts, any_of(through), label


_NEGATED: dict[str, Mode] = {
    "stringnotequals": "exact",
    "stringnotequalsignorecase": "exact_ci",
    "stringnotlike": "glob",
}


def _statement(
    index: int,
    stmt: Mapping[str, Any],
    resolver: _Resolver,
    col: Collector,
    denies: Sequence[tuple[set[str] | None, Bind, str]] = (),
) -> tuple[Bind, dict[str, Any]] | None:
    label = f"#{index}" + (f" ({stmt['Sid']})" if isinstance(stmt.get("Sid"), str) else "")
    if str(stmt.get("Effect", "")).lower() != "allow" or not _action_admits_web_identity(stmt):
        return None
    principal = stmt.get("Principal")
    # `Principal: "*"` counts only with an explicit STS action (a bucket policy's `*`/`*` is not a trust policy).
    sts_action = any(str(a).lower().startswith("sts:") for a in as_list(stmt.get("Action")))
    wildcard_principal = sts_action and (
        principal == "*"
        or (
            isinstance(principal, Mapping)
            and principal.get("AWS") == "*"
            and "Federated" not in principal
        )
    )
    federated: list[str] = []
    if isinstance(principal, Mapping) and "Federated" in principal:
        federated = resolver.values(principal["Federated"])
    elif not wildcard_principal:
        return None
    hosts = {h for h in (github_host(f) for f in federated) if h}
    unresolved = [f for f in federated if github_host(f) is None and ("${" in f or "<" in f)]
    conditions = stmt.get("Condition") or {}
    if not isinstance(conditions, Mapping):
        raise _ShapeError("Condition is not an object")
    key_hosts: set[str] = set()
    for block in conditions.values():
        if isinstance(block, Mapping):
            for key in block:
                host = str(key).lower().rpartition(":")[0]
                if host:
                    key_hosts.add(host)
    templated_keys = {h for h in key_hosts if "${" in h or "<" in h}
    if not hosts:
        github_keys = {h for h in key_hosts if github_host(h)}
        if unresolved and templated_keys and (github_keys or _github_shaped(conditions, resolver)):
            # Principal and key host are both templates (`${local.provider_url}:sub`): the keys belong to
            # the principal's provider, and their claims are GitHub's.
            hosts = github_keys | templated_keys
            col.add(
                "principal-unresolved",
                f"statement {label}: federated principal {unresolved[0]!r} and its "
                "condition keys are templates; the conditions are GitHub's",
                unresolved[0],
            )
        elif wildcard_principal:
            col.add(
                "principal-wildcard",
                f"statement {label} trusts Principal '*' for "
                "AssumeRoleWithWebIdentity: any identity provider's token is accepted",
                "Principal",
            )
            hosts = github_keys or {"token.actions.githubusercontent.com"}
        elif unresolved and github_keys:
            hosts = github_keys
            col.add(
                "principal-unresolved",
                f"statement {label}: federated principal {unresolved[0]!r} is "
                "unresolved; its condition keys name the GitHub issuer",
                unresolved[0],
            )
        elif unresolved and not any(not is_template(h) and "$" not in h for h in key_hosts):
            col.add(
                "principal-unresolved",
                f"statement {label}: federated principal {unresolved[0]!r} is "
                "unresolved and no condition key names an issuer",
                unresolved[0],
            )
            if col.unknown(f"principal {unresolved[0]!r}") == NONE:
                hosts = {"token.actions.githubusercontent.com"}
            else:
                return None
        else:
            return None
    for host in sorted(hosts):
        if host.startswith("vstoken."):
            col.add(
                "legacy-issuer",
                f"statement {label} trusts the pre-GA issuer {host}: GitHub no longer "
                "issues its tokens; move to token.actions.githubusercontent.com",
                host,
            )
    parts: list[Bind] = []
    negatives: list[str] = []
    aud_values: list[str] = []
    sub_values: list[str] = []
    admits: list[str] = []
    for op, block in conditions.items():
        if not isinstance(block, Mapping):
            raise _ShapeError(f"condition operator {op!r} does not map to an object")
        prefix, base, if_exists = _op_parts(str(op))
        for key, raw_values in block.items():
            if is_template(str(op)) or is_template(str(key)):
                col.add(
                    "unresolved-template",
                    f"condition {op!r} on {key!r} is an unresolved template "
                    "(a Terraform dynamic block?)",
                    str(key),
                )
                parts.append(col.unknown(f"condition {op} {key}"))
                continue
            host, _, claim = str(key).lower().rpartition(":")
            col.fallback = (str(key), f'"{key}"', f'variable = "{key}"')
            if host not in hosts:
                if (
                    github_host(host)
                    and claim in _IDENTITY_CLAIMS
                    and base in _POSITIVE
                    and not if_exists
                    and prefix != "forallvalues"
                ):
                    # Another GitHub issuer's key (an enterprise slug on the plain provider): absent
                    # from every token this provider issues, so the positive test is never true.
                    col.add(
                        "condition-key-unknown",
                        f"condition key {key!r} belongs to another GitHub issuer than the trusted "
                        f"provider ({', '.join(sorted(hosts))}): it is absent from every token, so "
                        f"{op} is never true and the statement can never match",
                        str(key),
                    )
                    parts.append(BROKEN)
                    continue
                if host and (_looks_github(host) or "." in host or "/" in host):
                    how = (
                        "is vacuously true when the key is absent"
                        if prefix == "forallvalues"
                        else "can never be true, so the author's intent is lost"
                    )
                    col.add(
                        "condition-key-unknown",
                        f"condition key {key!r} does not belong to the trusted "
                        f"provider ({', '.join(sorted(hosts))}): it is absent from every request, so "
                        f"{op} {how}",
                        str(key),
                    )
                continue
            if claim not in GITHUB_CLAIMS:
                col.add(
                    "condition-key-unknown",
                    f"condition key {key!r}: {claim!r} is not a GitHub token "
                    f"claim, so it is absent at evaluation time and {op} over it "
                    f"{'is vacuously true' if prefix == 'forallvalues' else 'is never true'}",
                    str(key),
                )
                continue
            if if_exists:
                col.add(
                    "if-exists-operator",
                    f"{op} on {key!r}: '…IfExists' is true when the key is "
                    "missing; GitHub always sends it, so use the plain operator",
                    str(op),
                )
            if prefix in ("forallvalues", "foranyvalue") and claim in _SINGLE_VALUED:
                col.add(
                    "set-operator-single-valued",
                    f"{op} on the single-valued key {key!r}: "
                    + (
                        "ForAllValues is vacuously true when the key is absent"
                        if prefix == "forallvalues"
                        else "ForAnyValue adds nothing"
                    )
                    + "; use the plain operator",
                    str(op),
                )
            values = resolver.values(raw_values)
            if (
                claim in _OPTIONAL_CLAIMS
                and (if_exists or prefix == "forallvalues")
                and (base in _POSITIVE)
            ):
                col.add(
                    "if-exists-operator",
                    f"{op} on {key!r}: GitHub omits {claim} for jobs without one, and this operator "
                    "is true when the key is absent, so it pins nothing",
                    str(op),
                    severity=Severity.MEDIUM,
                )
                continue
            if claim == "aud":
                if base in _POSITIVE:
                    aud_values.extend(values)
                    _check_aud(values, _POSITIVE[base], col)
                continue
            if claim not in _IDENTITY_CLAIMS:
                continue
            if base in _NEGATIVE:
                negatives.append(str(key))
                col.add(
                    "negative-condition",
                    f"{op} on {key!r} excludes values but never binds the "
                    "identity; only positive operators pin the repository",
                    str(op),
                )
                continue
            if base not in _POSITIVE:
                if base != "null":
                    col.add(
                        "operator-unsupported",
                        f"operator {op} on {key!r} is not a string operator; "
                        "it does not pin the identity",
                        str(op),
                    )
                continue
            mode = _POSITIVE[base]
            admits.extend(f"{claim} {base} {v}" for v in values)
            if claim == "sub":
                sub_values.extend(values)
                value_binds = [eval_sub(v, mode, col) for v in values]
            else:
                value_binds = [_claim(claim, v, mode, col) for v in values]
            if not values:
                col.add(
                    "sub-invalid",
                    f"{op} on {key!r} has no values, so it can never be true",
                    str(key),
                )
                value_binds = [Bind(broken=True)]
            parts.append(any_of(value_binds))
    col.fallback = ()
    result = all_of(parts) if parts else NONE
    for deny_hosts, through, deny_label in denies:
        if deny_hosts is None or deny_hosts & hosts:
            narrowed = all_of([result, through])
            if narrowed != result:
                col.add(
                    "deny-statement-narrows",
                    f"Deny statement {deny_label} narrows statement {label}: only tokens it lets "
                    "through can assume",
                    "Deny",
                )
            result = narrowed
    col.settle(result)
    if not aud_values and not result.broken:
        col.add(
            "aud-missing",
            f"statement {label} has no aud condition: tokens minted for any audience "
            "are accepted (low risk on its own; add StringEquals aud = sts.amazonaws.com)",
            "Condition",
            "condition",
        )
    verdict = result.verdict()
    if verdict == TrustVerdict.FAIL and not any(f.severity == "critical" for f in col.findings):
        if negatives and not parts:
            col.add(
                "sub-negative-only",
                f"statement {label} tests the identity only with negative "
                "operators: every repository not excluded can assume",
                negatives[0],
            )
        else:
            col.add(
                "sub-missing",
                f"statement {label} has no condition that pins the repository owner: "
                "every GitHub Actions workflow on GitHub can assume this role",
                "Condition",
                '"Federated"',
            )
    fact = {
        "label": label,
        "principal": federated or ["*"],
        "issuer_hosts": sorted(hosts),
        "sub": sub_values,
        "aud": aud_values,
        "admits": admits,
        "verdict": verdict.value,
    }
    return result, fact


_GITHUB_ONLY_CLAIMS = frozenset(
    {
        "repository",
        "repository_id",
        "repository_owner",
        "repository_owner_id",
        "job_workflow_ref",
        "workflow_ref",
        "runner_environment",
    }
)


def _github_shaped(conditions: Mapping[str, Any], resolver: _Resolver) -> bool:
    """True when the conditions test claims only GitHub tokens carry, or a GitHub-style ``sub``."""
    for block in conditions.values():
        if not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            claim = str(key).lower().rpartition(":")[2]
            if claim in _GITHUB_ONLY_CLAIMS:
                return True
            if claim == "sub" and any(
                re.match(r"(repo|repository|repository_owner|job_workflow_ref):", v)
                for v in resolver.values(values)
            ):
                return True
    return False


def _claim(claim: str, value: str, mode: Mode, col: Collector) -> Bind:
    if is_template(value) and claim in ("ref", "environment", "workflow_ref", "job_workflow_ref"):
        col.add("unresolved-template", f"{claim} is the unresolved template {value!r}", value)
        return col.unknown(f"{claim} {value!r}")
    return eval_claim(claim, value, mode, col)


def _check_aud(values: list[str], mode: Mode, col: Collector) -> None:
    for v in values:
        masked = mask(v)
        if is_template(v):
            col.add(
                "unresolved-template",
                f"aud is the unresolved value {v!r} (does not decide the verdict)",
                v,
            )
        elif mode == "glob" and ("*" in masked or "?" in masked):
            col.add(
                "aud-wildcard", f"aud pattern {v!r} accepts tokens minted for other audiences", v
            )
        elif v != _EXPECTED_AUD:
            col.add(
                "aud-unexpected",
                f"aud {v!r} is not {_EXPECTED_AUD!r}: workflows must request this "
                "audience explicitly",
                v,
            )
