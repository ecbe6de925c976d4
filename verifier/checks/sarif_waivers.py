"""Matching scanner findings against waivers: Trivy ignore-file rules and VEX statements (judging).

The files are read by :mod:`verifier.sources.trivyignore` and :mod:`verifier.sources.vex`; this module
decides which finding a rule or statement waives, with Trivy's semantics (``pkg/result/ignore.go``,
``filter.go``, ``pkg/vex/vex.go``, ``openvex.go``, ``cyclonedx.go``, ``csaf.go``).

Ignore-file rules:

* Expiry: a rule whose expiry instant (a date means 00:00 UTC that day) is *before* ``now`` no longer
  ignores anything. So ``exp:2020-01-01`` already stops waiving on 2020-01-01 after midnight UTC.
* Ids match exactly (case-sensitive). Misconfigurations also match through their AVD alias
  (``AWS-0086`` <-> ``AVD-AWS-0086``). Path globs are matched against the finding's path (and the
  package path if given); a rule with paths never matches a finding without a path. A purl pattern
  without a version matches any version; qualifiers in the pattern must all be present in the finding's
  purl (Trivy's ``purl.Match``). Licences: a compound SPDX expression is ignored when the whole
  expression is an ignored id, or when every licence in it (``X WITH Y`` counting as one) is.
* Deliberate differences from Trivy, all towards *not* waiving: a rule with ``purls`` does not match a
  finding whose purl is unknown (Trivy matches a finding without a purl; SARIF never carries purls, so
  Trivy's rule would waive every package); a finding of unknown kind (``kind=None``) is only matched by
  plain-file rules, which apply to all kinds; licence names are compared as written (Trivy first
  normalises ``GPLv3`` -> ``GPL-3.0-only``).

VEX statements (:func:`find_suppression`):

* The vulnerable package is identified by its purl; ``parents`` optionally lists the purls of the
  components that contain it, innermost first, ending with the scanned artifact (for an image, its
  ``pkg:oci/...`` purl, see :func:`image_purl`). Trivy walks the dependency tree from the package to the
  root; here the chain is the single path package -> parents.
* A statement product without subcomponents applies to the node it names (the package itself or any
  parent: a statement about the whole image covers every package in it). A product with subcomponents
  applies only when the product names a parent *and* a subcomponent names the package.
* OpenVEX: a product matches by ``@id``, identifiers or hashes; purls match as go-vex ``PurlMatches``
  does (a product purl without version matches any version; its qualifiers must all be present in the
  package purl). The vulnerability matches by name or alias. Among the statements that match the same
  vulnerability and node, the latest one (statement ``timestamp``, else the document's) decides; on
  equal timestamps the later statement in the document wins.
* CycloneDX: only the first ``vulnerabilities[]`` entry with the id is considered (Trivy); its
  ``affects[].ref`` must name the package itself, compared as canonical purls (Trivy's
  ``PkgIdentifier.Match``). Deviation: Trivy applies CycloneDX VEX only when scanning the very SBOM the
  BOM-Link names; SARIF has no SBOM serial number, so the serial/version of the link is not checked.
* CSAF: only the first ``vulnerabilities[]`` entry with the CVE is considered (Trivy); purls match with
  Trivy's ``purl.Match``.
* Several documents: the first one that suppresses wins. Only ``not_affected`` and ``fixed`` suppress.
* A statement with no resolvable product matches nothing (go-vex and Trivy behave the same way).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

from packageurl import PackageURL

from verifier.sources.trivyignore import IgnoreRule, compile_glob, parse_purl
from verifier.sources.vex import SUPPRESSING_STATUSES, VexDocument, VexStatement

__all__ = [
    "find_ignore_rule",
    "find_suppression",
    "glob_match",
    "image_purl",
    "is_expired",
    "purl_matches",
]

_LICENSE_ALL_STATEMENT = "All license components are individually ignored"
_EPOCH = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)


# ------------------------------------------------------------------------------------- ignore files


def _to_utc(now: datetime.datetime) -> datetime.datetime:
    return now.replace(tzinfo=datetime.UTC) if now.tzinfo is None else now


def _expiry_instant(expires: datetime.date) -> datetime.datetime:
    if isinstance(expires, datetime.datetime):
        return _to_utc(expires)
    return datetime.datetime(expires.year, expires.month, expires.day, tzinfo=datetime.UTC)


def is_expired(rule: IgnoreRule, now: datetime.datetime) -> bool:
    """True if the rule's expiry instant is strictly before ``now`` (naive ``now`` is taken as UTC)."""
    return rule.expires is not None and _expiry_instant(rule.expires) < _to_utc(now)


def _candidate_ids(finding_id: str, kind: str | None, aliases: Sequence[str]) -> set[str]:
    ids = {finding_id, *aliases}
    if kind == "misconfiguration":
        ids |= {v[len("AVD-") :] if v.startswith("AVD-") else f"AVD-{v}" for v in ids}
    return ids


def _rule_applies(
    rule: IgnoreRule,
    *,
    kind: str | None,
    paths: Sequence[str],
    purl: str | None,
    now: datetime.datetime,
) -> bool:
    if is_expired(rule, now):
        return False
    if rule.kind is not None and rule.kind != kind:
        return False
    if rule.paths and not any(glob_match(p, c) for p in rule.paths for c in paths):
        return False
    return not (rule.purls and (purl is None or not any(purl_matches(p, purl) for p in rule.purls)))


def find_ignore_rule(
    rules: Sequence[IgnoreRule],
    *,
    finding_id: str,
    kind: str | None,
    path: str | None,
    purl: str | None,
    now: datetime.datetime,
    aliases: Sequence[str] = (),
    pkg_path: str | None = None,
) -> IgnoreRule | None:
    """The first rule that waives this finding at ``now``, or ``None``.

    ``kind`` is one of :data:`verifier.sources.trivyignore.KINDS` (or ``None`` if unknown). ``path`` is the finding's target path
    (SARIF artifact location), ``pkg_path`` an optional package path (Trivy tries both). ``aliases`` are
    other ids of the same finding (e.g. a misconfiguration's AVD id when it is not ``AVD-`` + id).
    For a compound licence expression that no rule names as a whole, a synthesised rule is returned
    when every component licence is waived (its ``source`` lists the component rules' sources).
    """
    ids = _candidate_ids(finding_id, kind, aliases)
    paths = [p for p in (path, pkg_path) if p]
    for rule in rules:
        if rule.id in ids and _rule_applies(rule, kind=kind, paths=paths, purl=purl, now=now):
            return rule
    if kind == "license":
        return _match_license_expression(rules, finding_id, paths, now)
    return None


def _match_license_expression(
    rules: Sequence[IgnoreRule], expression: str, paths: Sequence[str], now: datetime.datetime
) -> IgnoreRule | None:
    parts = _license_components(expression)
    if parts is None or len(parts) < 2:
        return None
    sources: list[str] = []
    for part in parts:
        hit = next(
            (
                r
                for r in rules
                if r.id == part
                and _rule_applies(r, kind="license", paths=paths, purl=None, now=now)
            ),
            None,
        )
        if hit is None:
            return None
        sources.append(hit.source)
    return IgnoreRule(
        id=expression,
        kind="license",
        paths=(),
        purls=(),
        expires=None,
        statement=_LICENSE_ALL_STATEMENT,
        source=", ".join(dict.fromkeys(sources)),
    )


_LICENSE_TOKEN_RE = re.compile(r"\(|\)|[^\s()]+")


def _license_components(expression: str) -> list[str] | None:
    """Split an SPDX expression into its licences (``X WITH Y`` stays one). ``None`` if malformed."""
    tokens = _LICENSE_TOKEN_RE.findall(expression)
    parts: list[str] = []
    depth = 0
    expect_operand = True
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        upper = tok.upper()
        if tok == "(":
            if not expect_operand:
                return None
            depth += 1
        elif tok == ")":
            if expect_operand or depth == 0:
                return None
            depth -= 1
        elif upper in ("AND", "OR"):
            if expect_operand:
                return None
            expect_operand = True
        elif upper == "WITH":
            return None  # WITH is consumed together with its licence below
        else:
            if not expect_operand:
                return None
            licence = tok
            if i + 2 < len(tokens) and tokens[i + 1].upper() == "WITH":
                licence = f"{tok} WITH {tokens[i + 2]}"
                i += 2
            parts.append(licence)
            expect_operand = False
        i += 1
    if expect_operand or depth != 0:
        return None
    return parts


# ------------------------------------------------------------------------------------- primitives


def glob_match(pattern: str, path: str) -> bool:
    """doublestar-style match of a slash-separated ``path`` (``**`` spans directories); an invalid
    pattern never matches."""
    rx = compile_glob(pattern)
    return rx is not None and rx.fullmatch(path) is not None


def purl_matches(pattern: str, target: str, *, check_subpath: bool = True) -> bool:
    """Trivy's ``purl.Match``: ``pattern`` is the more general purl. Type, namespace and name must be
    equal; a pattern version (and subpath) must be equal when given; every pattern qualifier must be in
    the target with the same value. Invalid purls never match."""
    p = parse_purl(pattern)
    t = parse_purl(target)
    if p is None or t is None:
        return False
    if (p.type, p.namespace or "", p.name) != (t.type, t.namespace or "", t.name):
        return False
    if p.version and p.version != t.version:
        return False
    if check_subpath and p.subpath and p.subpath != t.subpath:
        return False
    p_q = _qualifiers(p)
    t_q = _qualifiers(t)
    return all(t_q.get(k) == v for k, v in p_q.items())


def _qualifiers(p: PackageURL) -> dict[str, str]:
    return {str(k): str(v) for k, v in (p.qualifiers or {}).items()}


# --------------------------------------------------------------------------------------------- VEX


def _same_purl(a: str, b: str) -> bool:
    pa, pb = parse_purl(a), parse_purl(b)
    if pa is None or pb is None:
        return False
    return pa.to_dict(encode=True) == pb.to_dict(encode=True)


def _id_matches(fmt: str, entry: str, query: str) -> bool:
    """Does a statement identifier (``entry``) name the component ``query`` (a purl)?"""
    if entry == query:
        return True
    if not (entry.startswith("pkg:") and query.startswith("pkg:")):
        return False
    if fmt == "cyclonedx":
        return _same_purl(entry, query)
    return purl_matches(entry, query, check_subpath=fmt != "openvex")


def _applies(fmt: str, stmt: VexStatement, node: str, leaf: str | None) -> bool:
    """Does the statement apply to ``node``; with ``leaf`` set, to ``leaf`` as a component of ``node``?"""
    if not any(_id_matches(fmt, p, node) for p in stmt.products):
        return False
    if not stmt.subcomponents:
        return True
    return leaf is not None and any(_id_matches(fmt, s, leaf) for s in stmt.subcomponents)


def _queries(purl: str | None, parents: Sequence[str]) -> list[tuple[str, str | None, bool]]:
    """(node, leaf, is_parent): the package alone, then each parent with the package inside it."""
    out: list[tuple[str, str | None, bool]] = []
    if purl:
        out.append((purl, None, False))
    out.extend((p, purl, True) for p in parents if p)
    return out


def _openvex_suppression(
    doc: VexDocument, vulnerability: str, queries: list[tuple[str, str | None, bool]]
) -> VexStatement | None:
    candidates = list(enumerate(doc.by_vulnerability.get(vulnerability, ())))
    for node, leaf, _ in queries:
        matching = [(k, s) for k, s in candidates if _applies("openvex", s, node, leaf)]
        if not matching:
            continue
        _, latest = max(matching, key=lambda ks: (ks[1].timestamp or _EPOCH, ks[1].entry, ks[0]))
        if latest.status in SUPPRESSING_STATUSES:
            return latest
    return None


def _first_entry_suppression(
    doc: VexDocument, vulnerability: str, queries: list[tuple[str, str | None, bool]]
) -> VexStatement | None:
    """CycloneDX and CSAF: Trivy looks only at the first vulnerability entry with the id."""
    entries = doc.by_vulnerability.get(vulnerability, ())
    if not entries:
        return None
    first = entries[0].entry
    for stmt in entries:
        if stmt.entry != first or stmt.status not in SUPPRESSING_STATUSES:
            continue
        for node, leaf, is_parent in queries:
            if doc.format == "cyclonedx" and is_parent:
                continue  # CycloneDX VEX names the vulnerable package itself
            if _applies(doc.format, stmt, node, leaf):
                return stmt
    return None


def find_suppression(
    docs: Sequence[VexDocument],
    *,
    vulnerability: str,
    purl: str | None,
    parents: Sequence[str] = (),
) -> VexStatement | None:
    """The statement that suppresses ``vulnerability`` in the package ``purl`` (``not_affected`` or
    ``fixed``), or ``None``. ``parents``: purls of the components containing the package, innermost
    first, ending with the scanned artifact (e.g. the image's ``pkg:oci/...`` purl). Without a purl
    only statements about a parent can apply."""
    queries = _queries(purl, parents)
    if not queries:
        return None
    for doc in docs:
        if doc.format == "openvex":
            hit = _openvex_suppression(doc, vulnerability, queries)
        else:
            hit = _first_entry_suppression(doc, vulnerability, queries)
        if hit is not None:
            return hit
    return None


def image_purl(repo_digest: str, arch: str | None = None) -> str | None:
    """The ``pkg:oci`` purl Trivy gives a scanned image (``purl.parseOCI``), to pass as the last of
    ``parents``: ``repo_digest`` is a RepoDigests entry such as ``debian@sha256:4482...`` or
    ``ghcr.io/org/app@sha256:...``. The repository is normalised like go-containerregistry does
    (``debian`` -> ``index.docker.io/library/debian``). ``None`` if it is not ``repo@sha256:<hex>``."""
    repo, sep, digest = repo_digest.strip().partition("@")
    if not sep or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest) or not repo:
        return None
    first, _, rest = repo.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        registry, path = "index.docker.io", repo
    else:
        registry, path = first, rest
    if registry in ("docker.io", "registry-1.docker.io"):
        registry = "index.docker.io"
    if registry == "index.docker.io" and "/" not in path:
        path = f"library/{path}"
    if not path or path != path.lower() or "//" in path:
        return None
    qualifiers = {"repository_url": f"{registry}/{path}"}
    if arch:
        qualifiers["arch"] = arch
    return str(
        PackageURL(type="oci", name=path.rsplit("/", 1)[-1], version=digest, qualifiers=qualifiers)
    )
