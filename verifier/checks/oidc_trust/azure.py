"""Azure (Entra ID) federated identity credentials for GitHub Actions: standard and flexible.

A standard credential matches ``subject`` exactly and case-sensitively: a ``*`` in it is a literal, so
the credential is broken, not broad. A flexible credential's ``claimsMatchingExpression`` uses
``matches`` (glob, ``*`` spans ``:`` and ``/``) and ``eq``, joined by ``and``/``or``; Microsoft's guidance
for GitHub requires a ``repository_id`` or ``repository_owner_id`` match as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from verifier.checks.oidc_trust import cel
from verifier.checks.oidc_trust.model import (
    BROKEN,
    Bind,
    Collector,
    TrustVerdict,
    all_of,
    any_of,
    as_list,
    str_map,
)
from verifier.checks.oidc_trust.sub_grammar import (
    GITHUB_CLAIMS,
    Mode,
    eval_claim,
    eval_sub,
    is_template,
)
from verifier.errors import InputError

_AUDIENCES = frozenset(
    {
        "api://AzureADTokenExchange",
        "api://AzureADTokenExchangeUSGov",
        "api://AzureADTokenExchangeChina",
    }
)
_ISSUER = re.compile(
    r"https://token\.actions\.githubusercontent\.com(/[A-Za-z0-9_-]+)?"
    r"|https://[A-Za-z0-9.-]+(:\d+)?/_services/token"
)
_TEMPLATE_LEADS = frozenset(
    {"repo", "repository", "repository_id", "repository_owner", "repository_owner_id"}
)
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


def normalize(doc: Any, path: str) -> dict[str, Any]:
    """Graph API / ``az`` CLI / Terraform shapes → ``{issuer, subject, audiences, expression}``."""
    if not isinstance(doc, Mapping):
        raise InputError(
            path, f"federated credential must be a JSON object, not {type(doc).__name__}"
        )
    expr = doc.get("claimsMatchingExpression", doc.get("claims_matching_expression"))
    if isinstance(expr, Mapping):
        expr = expr.get("value")
    audiences = doc.get("audiences", doc.get("audience"))
    issuer, subject = doc.get("issuer"), doc.get("subject")
    for name, value in (
        ("issuer", issuer),
        ("subject", subject),
        ("claimsMatchingExpression", expr),
    ):
        if value is not None and not isinstance(value, str):
            raise InputError(path, f"{name} is not a string")
    template = str_map(doc.get("github_sub_template")).get("include_claim_keys")
    return {
        "issuer": issuer,
        "subject": subject,
        "audiences": [str(a) for a in as_list(audiences)],
        "expression": expr,
        "sub_template": template,
    }


def evaluate(col: Collector) -> tuple[TrustVerdict | None, dict[str, Any]]:
    """Verdict of one credential (None when its issuer is not GitHub Actions)."""
    cfg = col.config
    doc = normalize(cfg.document, cfg.path)
    issuer = doc["issuer"]
    facts: dict[str, Any] = {
        "issuer": issuer,
        "subject": doc["subject"],
        "audiences": doc["audiences"],
        "claims_matching_expression": doc["expression"],
        "admits": [x for x in (doc["subject"], doc["expression"]) if x],
    }
    if not isinstance(issuer, str):
        raise InputError(cfg.path, "federated credential has no issuer")
    looks_github = "githubusercontent" in issuer.lower() or "/_services/token" in issuer.lower()
    if not looks_github:
        return None, facts
    if not _ISSUER.fullmatch(issuer):
        col.add(
            "azure-issuer-mismatch",
            f"issuer {issuer!r} is not exactly GitHub's "
            "('https://token.actions.githubusercontent.com', no trailing slash): Entra compares it "
            "exactly, so no token matches",
            issuer,
        )
        return TrustVerdict.BROKEN, facts
    col.fallback = (
        "claimsMatchingExpression",
        "claims_matching_expression",
        '"subject"',
        "subject",
    )
    _audiences(doc["audiences"], col)
    template = doc["sub_template"]
    if isinstance(template, list) and template:
        keys = [str(k) for k in template]
        if keys == ["job_workflow_ref"]:
            col.add(
                "sub-job-workflow-ref-only",
                "the repository's custom sub template is only job_workflow_ref: every repository "
                "allowed to call that workflow (all of GitHub for a public one) matches",
                "include_claim_keys",
            )
            return TrustVerdict.FAIL, facts
        if keys[0] not in _TEMPLATE_LEADS:
            col.add(
                "sub-custom-template-unbound",
                f"the custom sub template starts with {keys[0]!r}, not the "
                "repository: any repository can set the same template and emit the same subject",
                "include_claim_keys",
            )
            return TrustVerdict.FAIL, facts
    if doc["expression"] is not None:
        return _flexible(doc["expression"], col), facts
    subject = doc["subject"]
    if subject is None:
        raise InputError(
            cfg.path, "federated credential has neither subject nor claimsMatchingExpression"
        )
    result = eval_sub(subject, "exact", col, "subject")
    col.settle(result)
    return result.verdict(), facts


def _audiences(audiences: list[str], col: Collector) -> None:
    if not audiences:
        col.add(
            "aud-missing",
            "the credential names no audience (Entra expects api://AzureADTokenExchange)",
            "audience",
        )
    for aud in audiences:
        if aud not in _AUDIENCES and not is_template(aud):
            col.add(
                "aud-unexpected",
                f"audience {aud!r} is not api://AzureADTokenExchange: workflows must "
                "request it explicitly",
                aud,
            )


def _flexible(expression: str, col: Collector) -> TrustVerdict:
    parser = _FlexParser([], col)
    try:
        parser.tokens = cel.tokenize(expression)
        result = parser.parse()
    except cel.CelDepthError as exc:
        raise InputError(col.config.path, f"claimsMatchingExpression: {exc}") from None
    except cel.CelSyntaxError as exc:
        col.add(
            "azure-expression-invalid",
            f"claimsMatchingExpression does not parse ({exc}): Entra rejects it, or this evaluator "
            "cannot read it",
            expression[:40],
        )
        result = col.not_understood(f"claimsMatchingExpression that does not parse ({exc})")
    col.settle(result)
    verdict = result.verdict()
    if not parser.ids and verdict in (TrustVerdict.PASS, TrustVerdict.WARN_REF):
        col.add(
            "azure-flexible-id-missing",
            "the flexible credential matches names only: Microsoft's guidance "
            "for GitHub requires a repository_id or repository_owner_id match (names can be "
            "re-registered)",
            "claimsMatchingExpression",
        )
        if verdict == TrustVerdict.PASS:
            return TrustVerdict.WARN_REF
    return verdict


class _FlexParser:
    """``expr := term ('or' term)*; term := factor ('and' factor)*;
    factor := '(' expr ')' | claims['NAME'] (matches|eq) 'VALUE'``."""

    def __init__(self, tokens: list[cel.Token], col: Collector) -> None:
        self.tokens = tokens
        self.i = 0
        self.col = col
        self.ids: list[str] = []
        self.nesting = 0

    def word(self, text: str) -> bool:
        if (
            self.i < len(self.tokens)
            and self.tokens[self.i].kind == "IDENT"
            and self.tokens[self.i].text == text
        ):
            self.i += 1
            return True
        return False

    def take(self, kind: str) -> cel.Token:
        if self.i >= len(self.tokens) or self.tokens[self.i].kind != kind:
            found = self.tokens[self.i].text if self.i < len(self.tokens) else "end of input"
            raise cel.CelSyntaxError(f"expected {kind}, found {found!r}")
        self.i += 1
        return self.tokens[self.i - 1]

    def parse(self) -> Bind:
        result = self.expr()
        if self.i != len(self.tokens):
            raise cel.CelSyntaxError(f"unexpected {self.tokens[self.i].text!r}")
        return result

    def expr(self) -> Bind:
        items = [self.term()]
        while self.word("or"):
            items.append(self.term())
        return any_of(items)

    def term(self) -> Bind:
        items = [self.factor()]
        while self.word("and"):
            items.append(self.factor())
        return all_of(items)

    def factor(self) -> Bind:
        if self.i < len(self.tokens) and self.tokens[self.i].kind == "(":
            self.i += 1
            self.nesting += 1
            if self.nesting > cel.MAX_DEPTH:
                raise cel.CelDepthError(f"the expression nests deeper than {cel.MAX_DEPTH} levels")
            inner = self.expr()
            self.take(")")
            self.nesting -= 1
            return inner
        if not self.word("claims"):
            raise cel.CelSyntaxError("expected claims['NAME']")
        self.take("[")
        claim = self.take("STR").text
        self.take("]")
        mode: Mode
        if self.word("matches"):
            mode = "glob"
        elif self.word("eq"):
            mode = "exact"
        else:
            raise cel.CelSyntaxError("expected 'matches' or 'eq'")
        value = self.take("STR").text
        if claim not in GITHUB_CLAIMS:
            self.col.add(
                "condition-key-unknown",
                f"claims[{claim!r}] is not a GitHub token claim: the test never holds",
                claim,
            )
            return BROKEN
        if claim in ("repository_id", "repository_owner_id"):
            self.ids.append(claim)
        if claim == "sub":
            return eval_sub(value, mode, self.col, "claims['sub']")
        if claim in _IDENTITY:
            return eval_claim(claim, value, mode, self.col)
        return Bind()
