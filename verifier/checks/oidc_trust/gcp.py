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


# The CEL standard library, the string extensions and the macros: functions Google's condition
# language knows. A call to anything else is not understood (and Google would reject it).
_KNOWN_FUNCTIONS = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "bool",
        "type",
        "dyn",
        "duration",
        "timestamp",
        "has",
        "all",
        "exists",
        "exists_one",
        "map",
        "filter",
        "lowerAscii",
        "upperAscii",
        "split",
        "join",
        "replace",
        "trim",
        "substring",
        "indexOf",
        "lastIndexOf",
        "charAt",
        "format",
        "extract",
    }
)
_PATTERN_CALLS = frozenset({"startsWith", "endsWith", "contains", "matches"})
_UNMAPPED = "\x01unmapped"


def _describe(node: cel.Node) -> str:
    """Short source-like text of a node for a finding."""
    if isinstance(node, cel.Path):
        return ".".join(node.parts)
    if isinstance(node, cel.Call):
        target = f"{_describe(node.target)}." if node.target is not None else ""
        return f"{target}{node.name}(…)"
    if isinstance(node, cel.Literal):
        return repr(node.value)
    if isinstance(node, cel.Compare):
        return f"{_describe(node.left)} {node.op} {_describe(node.right)}"
    return type(node).__name__


class _Eval:
    def __init__(self, col: Collector, mapping: Mapping[str, str] | None) -> None:
        self.col = col
        self.mapping = mapping

    def claim_of(self, node: cel.Node | None) -> str | None:
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
                return _UNMAPPED
            m = re.fullmatch(r"\s*assertion\.([A-Za-z_]+)\s*", target)
            return m.group(1) if m else None
        return None

    def _identity_path(self, node: cel.Path) -> bool:
        if len(node.parts) < 2 or node.parts[0] not in ("assertion", "attribute", "google"):
            return False
        if node.parts[0] == "assertion":
            return node.parts[1] in _IDENTITY or node.parts[1] == "sub"
        key = f"{node.parts[0]}.{node.parts[1]}"
        if self.mapping is None:
            return True
        target = self.mapping.get(key, "")
        return any(re.search(rf"\b{c}\b", target) for c in (*_IDENTITY, "sub"))

    def _walk(self, node: cel.Node) -> list[cel.Node]:
        out: list[cel.Node] = [node]
        for name in node._fields:
            value = getattr(node, name)
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, tuple):
                    for grandchild in child:
                        if isinstance(grandchild, cel._Node):
                            out.extend(self._walk(grandchild))  # type: ignore[arg-type]
                elif isinstance(child, cel._Node):
                    out.extend(self._walk(child))  # type: ignore[arg-type]
        return out

    def mentions_identity(self, node: cel.Node) -> bool:
        """True when ``node`` reads a claim that identifies the caller (``sub``, repository, ref...)."""
        return any(isinstance(n, cel.Path) and self._identity_path(n) for n in self._walk(node))

    def unknown_function(self, node: cel.Node) -> str | None:
        for n in self._walk(node):
            if isinstance(n, cel.Call) and n.name.lstrip(".") not in _KNOWN_FUNCTIONS:
                return n.name
        return None

    def unsupported(self, node: cel.Node, why: str) -> Bind:
        what = f"{_describe(node)}: {why}"
        self.col.add(
            "gcp-condition-unsupported",
            f"the condition contains {what}; the evaluator does not model it, so what it admits is "
            "unknown",
            _describe(node).split("(")[0].split(" ")[0],
        )
        return self.col.not_understood(what)

    def bind(self, node: cel.Node) -> Bind:
        """What a boolean (sub)expression pins."""
        unknown = self.unknown_function(node)
        if unknown is not None:
            return self.unsupported(node, f"{unknown}() is not a CEL function Google knows")
        return self._bind(node)

    def _bind(self, node: cel.Node) -> Bind:
        if isinstance(node, cel.Or):
            return any_of(self._bind(n) for n in node.items)
        if isinstance(node, cel.And):
            return all_of(self._bind(n) for n in node.items)
        if isinstance(node, cel.Not):
            return self.negated(node.item)
        if isinstance(node, cel.Ternary):
            return self.ternary(node)
        if isinstance(node, cel.Literal):
            if node.kind == "bool":
                return NONE if node.value else BROKEN
            return self.unsupported(node, "a non-boolean literal where a test is expected")
        if isinstance(node, cel.Compare):
            return self.compare(node)
        if isinstance(node, cel.Call):
            return self.call(node)
        if not self.mentions_identity(node) and isinstance(node, cel.Path | cel.Select | cel.Index):
            return NONE
        return self.unsupported(node, "an expression the evaluator does not model")

    def ternary(self, node: cel.Ternary) -> Bind:
        cond = node.cond
        if isinstance(cond, cel.Literal) and cond.kind == "bool":
            return self._bind(node.then if cond.value else node.other)
        return any_of(
            [
                all_of([self._bind(cond), self._bind(node.then)]),
                all_of([self.negated(cond), self._bind(node.other)]),
            ]
        )

    def negated(self, node: cel.Node) -> Bind:
        """What ``!node`` pins, with the negation pushed inwards (De Morgan, ``!(a != b)`` is ``a == b``)."""
        if isinstance(node, cel.Not):
            return self._bind(node.item)
        if isinstance(node, cel.Or):
            return all_of(self.negated(n) for n in node.items)
        if isinstance(node, cel.And):
            return any_of(self.negated(n) for n in node.items)
        if isinstance(node, cel.Literal) and node.kind == "bool":
            return BROKEN if node.value else NONE
        if isinstance(node, cel.Ternary):
            return self.ternary(cel.Ternary(node.cond, cel.Not(node.then), cel.Not(node.other)))
        if isinstance(node, cel.Compare) and node.op == "!=":
            return self.compare(cel.Compare("==", node.left, node.right))
        if self.mentions_identity(node):
            self.col.add(
                "negative-condition",
                f"a negated test (!{_describe(node)}) excludes tokens but never pins the identity",
            )
        return NONE

    def exact(self, claim: str, value: str) -> Bind:
        if claim == _UNMAPPED:
            return BROKEN
        if claim == "sub":
            return eval_sub(value, "exact", self.col, "assertion.sub")
        if claim in _IDENTITY:
            return eval_claim(claim, value, "exact", self.col)
        return NONE

    def string_value(self, node: cel.Node) -> str | None:
        """A string constant: a literal or a ``+`` of them; None for anything else."""
        if isinstance(node, cel.Literal) and node.kind == "string" and isinstance(node.value, str):
            return node.value
        if isinstance(node, cel.Arith) and node.op == "+":
            left, right = self.string_value(node.left), self.string_value(node.right)
            if left is not None and right is not None:
                return left + right
        return None

    def compare(self, node: cel.Compare) -> Bind:
        left, right = node.left, node.right
        if self.claim_of(left) is None and self.claim_of(right) is not None and node.op != "in":
            left, right = right, left
        claim = self.claim_of(left)
        other = self.claim_of(right)
        if claim is not None and other is not None:
            if left == right:
                # `x == x` always holds, `x != x` never; `x < x` never either.
                return NONE if node.op in ("==", "<=", ">=") else BROKEN
            if self.mentions_identity(node):
                return self.unsupported(node, "a comparison between two claims")
            return NONE
        if claim is None:
            if isinstance(left, cel.Literal) and isinstance(right, cel.Literal):
                if node.op in ("==", "!="):
                    same = left.kind == right.kind and left.value == right.value
                    return NONE if same == (node.op == "==") else BROKEN
            if self.mentions_identity(node):
                return self.unsupported(node, "a comparison the evaluator does not model")
            return NONE
        if node.op == "!=":
            if claim in _IDENTITY or claim == "sub":
                self.col.add(
                    "negative-condition",
                    "a != test excludes one value but never pins the identity",
                )
            return NONE
        if claim not in _IDENTITY and claim not in ("sub", _UNMAPPED):
            return NONE
        if node.op in ("==", "in"):
            if node.op == "==":
                items: list[cel.Node] | None = [right]
            elif isinstance(right, cel.ListLit):
                items = list(right.items)
            elif isinstance(right, cel.MapLit):
                items = [k for k, _v in right.entries]
            else:
                items = None
            values = None if items is None else [self.string_value(v) for v in items]
            if values is None or any(v is None for v in values):
                return self.unsupported(
                    node, "a test against a value that is not a string constant"
                )
            return any_of(self.exact(claim, v) for v in values if v is not None)
        return self.unsupported(node, f"an ordering comparison ({node.op}) on a claim")

    def call(self, node: cel.Call) -> Bind:
        name = node.name
        if node.target is None and name == "has":
            # has(assertion.x) tests presence: it pins nothing.
            return NONE
        claim = self.claim_of(node.target)
        if name in _PATTERN_CALLS and claim is not None:
            if claim == _UNMAPPED:
                return BROKEN
            arg = self.string_value(node.args[0]) if len(node.args) == 1 else None
            if arg is None:
                if claim in _IDENTITY or claim == "sub":
                    return self.unsupported(node, "a pattern that is not a string constant")
                return NONE
            return self.pattern(claim, name, arg)
        if self.mentions_identity(node):
            return self.unsupported(node, f"{name}() over a claim that identifies the caller")
        return NONE

    def pattern(self, claim: str, name: str, arg: str) -> Bind:
        if name == "startsWith":
            pattern = arg + "*"
        elif name == "endsWith":
            pattern = "*" + arg
        elif name == "contains":
            pattern = "*" + arg + "*"
        else:
            pattern = _regex_to_glob(arg)
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
                f"assertion.{claim}.{name}({arg!r}) is not anchored at "
                "the owner followed by '/': other owners (e.g. 'org-evil') match",
                arg,
                unless="owner",
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
        except cel.CelDepthError as exc:
            raise InputError(cfg.path, f"attribute_condition: {exc}") from None
        except cel.CelSyntaxError as exc:
            col.add(
                "gcp-condition-invalid",
                f"attribute_condition does not parse as CEL ({exc}): Google rejects it, or this "
                "evaluator cannot read it",
                condition[:40],
            )
            cond = col.not_understood(f"attribute_condition that does not parse ({exc})")
        else:
            cond = ev.bind(tree)
    col.settle(cond)
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
    if members is not None and not any(_FEDERATED_MEMBER.match(m) for m in members):
        members = None  # no federated member among the bindings given: as if none were given
    if members is None:
        col.add(
            "gcp-bindings-not-given",
            "no IAM bindings were given: the verdict rests on the condition "
            "alone; bindings decide which repositories may use which service account",
        )
        return TrustVerdict.PASS, facts
    whole_pool = False
    binds: list[Bind] = []
    for member in members:
        b, pool = _member(member, ev)
        if pool:
            whole_pool = True
            binds.append(NONE)
        elif b is not None:
            binds.append(b)
    if binds and all(b.broken for b in binds):
        return TrustVerdict.BROKEN, facts
    effective = all_of([cond, any_of(binds)]) if binds else cond
    col.settle(effective)
    if not effective.repo:
        if whole_pool:
            col.add(
                "gcp-whole-pool-binding",
                "a binding grants the whole pool (principalSet://…/*) and the "
                "condition pins only the owner: every repository of the owner can impersonate",
                "/*",
            )
        else:
            col.add(
                "sub-wildcard-repo",
                "the condition and the bindings pin only the owner (e.g. a binding on "
                "attribute.repository_owner_id): every repository of the owner can impersonate",
                "principalSet",
            )
        return TrustVerdict.WARN_ORG, facts
    # The ref is not part of a GCP verdict: `repository == 'acme/app'` and `sub.startsWith('repo:acme/app:')`
    # admit the same tokens, and GCP's documented pattern scopes to the repository. Findings about refs
    # (pull_request, any ref) are still reported.
    return TrustVerdict.PASS, facts


_FEDERATED_MEMBER = re.compile(r"principal(Set)?://")


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
