"""GCP Workload Identity Federation: the provider's ``attribute_condition`` (CEL) and the IAM bindings.

The condition is the gate into the pool: every ``||`` branch must pin the owner (best by
``repository_owner_id``). Which repositories may then impersonate a service account is decided by the
bindings (``principalSet://…/attribute.repository/OWNER/REPO``); a whole-pool binding (``…/*``) relies on
the condition alone, so it needs a condition that pins the repository.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from verifier.checks.oidc_trust import cel
from verifier.checks.oidc_trust.aws import github_host
from verifier.checks.oidc_trust.model import (
    BROKEN,
    NONE,
    Bind,
    Collector,
    TrustVerdict,
    all_of,
    any_of,
    as_list,
    str_map,
)
from verifier.checks.oidc_trust.sub_grammar import eval_claim, eval_sub, is_template
from verifier.errors import InputError

_IDENTITY = frozenset(
    {
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
_REGEX_META = set(".*+?[](){}|^$\\")


def normalize(doc: Any, path: str) -> dict[str, Any]:
    """Accept the corpus shape (snake_case), ``gcloud … describe`` JSON (camelCase) and Terraform
    attribute names; return ``{issuer_uri, attribute_mapping, attribute_condition, bindings}``."""
    if not isinstance(doc, Mapping):
        raise InputError(path, f"GCP provider must be a JSON object, not {type(doc).__name__}")
    oidc = str_map(doc.get("oidc"))
    issuer = doc.get(
        "issuer_uri", doc.get("issuerUri", oidc.get("issuerUri", oidc.get("issuer_uri")))
    )
    mapping = doc.get("attribute_mapping", doc.get("attributeMapping"))
    condition = doc.get("attribute_condition", doc.get("attributeCondition"))
    members: list[str] = []
    for b in as_list(doc.get("bindings")):
        if isinstance(b, Mapping):
            members += [str(m) for m in as_list(b.get("member"))] + [
                str(m) for m in as_list(b.get("members"))
            ]
        elif isinstance(b, str):
            members.append(b)
    if issuer is not None and not isinstance(issuer, str):
        raise InputError(path, "issuer_uri is not a string")
    if condition is not None and not isinstance(condition, str):
        raise InputError(path, "attribute_condition is not a string")
    if mapping is not None and not isinstance(mapping, Mapping):
        raise InputError(path, "attribute_mapping is not an object")
    return {
        "issuer_uri": issuer,
        "attribute_mapping": None
        if mapping is None
        else {str(k): str(v) for k, v in mapping.items()},
        "attribute_condition": condition,
        "bindings": members if "bindings" in doc else None,
    }


class _Eval:
    def __init__(self, col: Collector, mapping: Mapping[str, str] | None) -> None:
        self.col = col
        self.mapping = mapping

    def claim_of(self, node: cel.Node) -> str | None:
        """The token claim a path reads, through attribute_mapping; None when it is not a claim."""
        if not isinstance(node, cel.Path) or len(node.parts) != 2:
            return None
        root, name = node.parts
        if root == "assertion":
            return name
        if root in ("attribute", "google"):
            key = f"{root}.{name}"
            if self.mapping is None:
                return name if root == "attribute" else ("sub" if name == "subject" else None)
            target = self.mapping.get(key)
            if target is None:
                self.col.add(
                    "gcp-attribute-unmapped",
                    f"the condition reads {key}, which attribute_mapping "
                    "does not define: it is never set, so this test never holds",
                    key,
                )
                return "\x01unmapped"
            m = re.fullmatch(r"\s*assertion\.([A-Za-z_]+)\s*", target)
            return m.group(1) if m else None
        return None

    def bind(self, node: cel.Node) -> Bind:
        if isinstance(node, cel.Or):
            return any_of(self.bind(n) for n in node.items)
        if isinstance(node, cel.And):
            return all_of(self.bind(n) for n in node.items)
        if isinstance(node, cel.Not):
            self.col.add(
                "negative-condition",
                "a negated test (!…) excludes tokens but never pins the identity",
            )
            return NONE
        if isinstance(node, cel.Literal):
            return BROKEN if node.value is False else NONE
        if isinstance(node, cel.Compare):
            return self.compare(node)
        if isinstance(node, cel.Call) and node.target is not None:
            return self.call(node)
        return self.unsupported(node)

    def unsupported(self, node: cel.Node) -> Bind:
        self.col.add(
            "gcp-condition-unsupported",
            f"part of the condition is outside the supported CEL "
            f"subset ({type(node).__name__}); its effect is unknown",
        )
        return self.col.unknown("an unsupported CEL expression")

    def exact(self, claim: str, value: str) -> Bind:
        if claim == "\x01unmapped":
            return BROKEN
        if claim == "sub":
            return eval_sub(value, "exact", self.col, "assertion.sub")
        if claim in _IDENTITY:
            return eval_claim(claim, value, "exact", self.col)
        return NONE

    def compare(self, node: cel.Compare) -> Bind:
        left, right = node.left, node.right
        if isinstance(left, cel.Literal) and not isinstance(right, cel.Literal):
            left, right = right, left
        claim = self.claim_of(left)
        if node.op in ("==", "in") and claim is not None:
            values = (
                [right]
                if node.op == "=="
                else list(right.items)
                if isinstance(right, cel.ListLit)
                else None
            )
            if values is None or not all(isinstance(v, cel.Literal) for v in values):
                return self.unsupported(node)
            return any_of(
                self.exact(claim, str(v.value)) for v in values if isinstance(v, cel.Literal)
            )
        if node.op == "!=":
            self.col.add(
                "negative-condition", "a != test excludes one value but never pins the identity"
            )
            return NONE
        if claim is None:
            return NONE
        return self.unsupported(node)

    def call(self, node: cel.Call) -> Bind:
        claim = self.claim_of(node.target) if node.target is not None else None
        if claim is None:
            return NONE
        if claim == "\x01unmapped":
            return BROKEN
        if len(node.args) != 1 or not isinstance(node.args[0], cel.Literal):
            return self.unsupported(node)
        arg = str(node.args[0].value)
        if node.name == "startsWith":
            pattern = arg + "*"
        elif node.name == "endsWith":
            pattern = "*" + arg
        elif node.name == "contains":
            pattern = "*" + arg + "*"
        elif node.name == "matches":
            pattern = _regex_to_glob(arg)
        else:
            return self.unsupported(node)
        if claim == "sub":
            result = eval_sub(pattern, "glob", self.col, "assertion.sub")
        elif claim in _IDENTITY:
            result = eval_claim(claim, pattern, "glob", self.col)
        else:
            return NONE
        if (
            not result.owner
            and not result.broken
            and claim
            in ("sub", "repository", "repository_owner", "workflow_ref", "job_workflow_ref")
        ):
            self.col.add(
                "gcp-prefix-unanchored",
                f"assertion.{claim}.{node.name}({arg!r}) is not anchored at "
                "the owner followed by '/': other owners (e.g. 'org-evil') match",
                arg,
            )
        return result


def _regex_to_glob(rx: str) -> str:
    """An RE2 pattern (CEL ``matches`` is a partial match) to the glob of what it can admit.

    The literal prefix after ``^`` is kept; everything from the first metacharacter on is ``*``. An
    unanchored pattern, or one with ``|`` anywhere, admits anything before it (``*`` prefix).
    """
    if "|" in rx or not rx.startswith("^"):
        return "*" + rx.lstrip("^")
    body, out, i = rx[1:], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and not body[i + 1].isalnum():
            out.append(body[i + 1])
            i += 2
            continue
        if c == "$" and i == len(body) - 1:
            return "".join(out)
        if c in _REGEX_META:
            out.append("*")
            return "".join(out)
        out.append(c)
        i += 1
    return "".join(out) + "*"


def evaluate(col: Collector) -> tuple[TrustVerdict | None, dict[str, Any]]:
    """Verdict of one provider (None when its issuer is not GitHub Actions)."""
    cfg = col.config
    doc = normalize(cfg.document, cfg.path)
    issuer = doc["issuer_uri"]
    facts: dict[str, Any] = {
        "issuer": issuer,
        "attribute_condition": doc["attribute_condition"],
        "bindings": doc["bindings"],
        "admits": [x for x in [doc["attribute_condition"], *(doc["bindings"] or [])] if x],
    }
    if not isinstance(issuer, str) or github_host(issuer) is None:
        return None, facts
    condition = doc["attribute_condition"]
    if condition is None or not condition.strip():
        col.add(
            "gcp-condition-missing",
            "the provider has no attribute_condition: every GitHub Actions token "
            "of every repository is admitted into the pool; only IAM bindings stand in the way (Google "
            "now rejects creating such a provider)",
            "attribute_condition",
            "attributeCondition",
        )
        return TrustVerdict.FAIL, facts
    ev = _Eval(col, doc["attribute_mapping"])
    col.fallback = ("attribute_condition", "attributeCondition")
    if is_template(condition):
        col.add(
            "unresolved-template",
            f"attribute_condition is the unresolved template {condition!r}",
            condition,
        )
        cond = col.unknown(f"attribute_condition {condition!r}")
    else:
        try:
            tree = cel.parse(condition)
        except cel.CelSyntaxError as exc:
            col.add(
                "gcp-condition-invalid",
                f"attribute_condition does not parse ({exc}): Google rejects it, or it never holds",
                condition[:40],
            )
            return TrustVerdict.BROKEN, facts
        cond = ev.bind(tree)
    if cond.broken:
        return TrustVerdict.BROKEN, facts
    if not cond.owner:
        if not any(f.severity == "critical" for f in col.findings):
            col.add(
                "sub-missing",
                "attribute_condition does not pin the owner in every || branch: tokens of "
                "other owners enter the pool",
                condition[:40],
                severity=None,
            )
        return TrustVerdict.FAIL, facts
    members = doc["bindings"]
    if members is None:
        col.add(
            "gcp-bindings-not-given",
            "no IAM bindings were given: the verdict rests on the condition "
            "alone; bindings decide which repositories may use which service account",
        )
        effective = cond
        whole_pool = False
    else:
        whole_pool = False
        binds: list[Bind] = []
        for member in members:
            b, pool = _member(member, ev)
            whole_pool |= pool
            if b is not None:
                binds.append(b)
        if binds and all(b.broken for b in binds):
            return TrustVerdict.BROKEN, facts
        effective = all_of([cond, any_of(binds)]) if binds else cond
    if whole_pool and not effective.repo:
        col.add(
            "gcp-whole-pool-binding",
            "a binding grants the whole pool (principalSet://…/*) and the "
            "condition pins only the owner: every repository of the owner can impersonate",
            "/*",
        )
        return TrustVerdict.WARN_ORG, facts
    # The ref is not part of a GCP verdict: `repository == 'acme/app'` and `sub.startsWith('repo:acme/app:')`
    # admit the same tokens, and GCP's documented pattern scopes to the repository. Findings about refs
    # (pull_request, any ref) are still reported.
    return TrustVerdict.PASS, facts


def _member(member: str, ev: _Eval) -> tuple[Bind | None, bool]:
    """(binding of one IAM member, is-whole-pool). Non-federated members are not ours (None)."""
    m = re.match(r"principalSet://[^ ]*?/(attribute\.[A-Za-z0-9_]+)/(.+)$", member)
    if m:
        attr, value = m.group(1), m.group(2)
        claim = ev.claim_of(cel.Path(tuple(attr.split(".", 1))))
        if claim is None:
            return NONE, False
        return ev.exact(claim, value), False
    if re.match(r"principalSet://.*/\*$", member):
        return NONE, True
    m = re.match(r"principal://[^ ]*?/subject/(.+)$", member)
    if m:
        claim = ev.claim_of(cel.Path(("google", "subject")))
        return (ev.exact(claim, m.group(1)) if claim else NONE), False
    return None, False
