"""Check ``actions-pinned``: every GitHub Actions ``uses:`` pinned to a full commit SHA.

Pure: it takes the text of one workflow or action file (read by :mod:`verifier.sources.workflow_files`,
one file at a time) and the check's configuration, and returns one :class:`CheckResult`. No I/O.

Where ``uses:`` is looked for (nowhere else: not in ``run:`` scripts, comments or ``with:`` inputs):
``jobs.*.uses`` (reusable workflows), ``jobs.*.steps[*].uses``, ``jobs.*.steps[*].parallel[*].uses``,
``runs.steps[*].uses`` of composite actions (only with ``runs.using: composite``). Images:
``jobs.*.container`` / ``jobs.*.container.image``, ``jobs.*.services.*.image``, ``runs.image`` of Docker
actions, and ``docker://`` in ``uses:``.

Rules (ids never change; docs anchors in docs/checks/actions-pinned.md):

- ``unpinned-uses``: a remote action or reusable workflow whose ref is not a full 40-hex commit SHA
  (tags, branches, ``refs/…``, short or overlong hex, ``<sha>-x``) while the policy asks for hash-pin;
- ``noncanonical-sha``: pinned with 40 hex digits written in upper or mixed case (GitHub accepts it,
  tools that compare SHAs as text do not);
- ``invalid-uses``: a value GitHub cannot resolve (no ``@ref``, several ``@``, ``${{ }}``, bad slug,
  not a string); reported, never an abort;
- ``unpinned-image``: a container/service/Docker-action image or ``docker://`` action not pinned by
  ``@sha256:<64 hex>`` (``latest`` and untagged rank above a plain tag);
- ``local-action-checkout``: a local ``./path`` action used after a step checked out *another*
  repository into a prefix of that path, so the action's code comes from that repository;
- ``invalid-file``: the file is not a workflow or action as GitHub reads it (unreadable, bad YAML,
  several documents, a duplicate key, not GitHub's shape: :mod:`verifier.workflows.shape`), verdict
  ``error`` with one finding per problem;
- ``nothing-to-check``: a directory given to check holds no workflow or action (verdict ``error``).

An image that holds an expression is judged for every value the expression can take with the job's
matrix (:mod:`verifier.workflows.expressions`); a value the file does not determine is an
``unpinned-image`` of kind ``expression``.

Policy patterns (``policy:`` in the config): ``*``, ``owner/*``, ``owner/repo``, ``owner/repo/*``,
``owner/repo/path`` → ``hash-pin`` | ``ref-pin`` | ``any``; the most specific pattern wins; owner and repo
compare case-insensitively (GitHub treats them so), paths case-sensitively. Default ``{"*": "hash-pin"}``.

Waivers: ``# verifier: ignore[<rule>] <reason>`` on the line of the value or the line above its key.
A waiver without a reason is rejected (the finding stays, with ``ignore_rejected`` set).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from verifier._internal.collector import collector_paused
from verifier.checks import registry
from verifier.checks._base import Check, RunContext
from verifier.errors import ConfigError, InputError
from verifier.models import CheckResult, Finding, Location, Severity
from verifier.models.config import STRICT
from verifier.workflows.expressions import UNKNOWN, Possible, as_text, possible_values
from verifier.workflows.shape import Problem, action_problems, key_problems, workflow_problems
from verifier.workflows.yaml_nodes import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    SourceText,
    compose_documents,
    is_null,
    mapping_get,
    mapping_items,
    position,
)

if TYPE_CHECKING:
    from verifier.sources.workflow_files import WorkflowFiles

CHECK_ID = "actions-pinned"
META = registry.get(CHECK_ID)

UNPINNED_USES = "unpinned-uses"
NONCANONICAL_SHA = "noncanonical-sha"
INVALID_USES = "invalid-uses"
UNPINNED_IMAGE = "unpinned-image"
LOCAL_ACTION_CHECKOUT = "local-action-checkout"
INVALID_FILE = "invalid-file"
NOTHING_TO_CHECK = "nothing-to-check"
RULES = (
    UNPINNED_USES,
    NONCANONICAL_SHA,
    INVALID_USES,
    UNPINNED_IMAGE,
    LOCAL_ACTION_CHECKOUT,
    INVALID_FILE,
    NOTHING_TO_CHECK,
)

# Rules that make the verdict "fail" when not waived (the default policy denies exactly these; it only
# warns on noncanonical-sha and local-action-checkout).
FAILING_RULES = frozenset({UNPINNED_USES, INVALID_USES, UNPINNED_IMAGE})

MODES = ("hash-pin", "ref-pin", "any")
DEFAULT_POLICY: Mapping[str, str] = {"*": "hash-pin"}

# Work budget per file. Aliases let a small file name the same steps list from many jobs; each visit is
# reported (a use is a use), but past this many visited steps/images the file is refused, not walked.
MAX_VISITS = 100_000

# --- ref classification ------------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-fA-F]+")
_SHA_INSIDE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{40}(?![0-9a-fA-F])")
_SEMVER = re.compile(r"v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?")
_MAJOR_MINOR = re.compile(r"v?\d+(?:\.\d+)?")
_BRANCHES = frozenset(
    {
        "main",
        "master",
        "develop",
        "development",
        "dev",
        "trunk",
        "stable",
        "next",
        "nightly",
        "latest",
        "head",
        "canary",
        "release",
        "releases",
    }
)
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_REUSABLE = re.compile(r"\.github/workflows/[^/]+\.ya?ml")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_WHITESPACE = re.compile(r"\s")

REF_PINNED_KINDS = ("full-sha", "full-sha-noncanonical")


def classify_ref(ref: str) -> str:
    """Kind of a git ref as written after ``@`` (offline: tags and branches look alike).

    ``full-sha`` (40 lowercase hex) · ``full-sha-noncanonical`` (40 hex, some uppercase) · ``short-sha``
    (7–39 hex) · ``long-hex`` (41+ hex, e.g. a 64-hex SHA-256) · ``sha-like`` (a 40-hex run with
    something around it: ``<sha>-x``, ``x-<sha>``) · ``git-ref`` (``refs/…``) · ``semver-tag``
    (``v1.2.3``) · ``major-minor-tag`` (``v4``, ``v4.2``) · ``branch-like`` (``main``, ``master``, names
    with ``/``) · ``symbolic`` (any other name).
    """
    if _HEX.fullmatch(ref):
        n = len(ref)
        if n == 40:
            return "full-sha" if ref == ref.lower() else "full-sha-noncanonical"
        if 7 <= n < 40:
            return "short-sha"
        if n > 40:
            return "long-hex"
    if _SHA_INSIDE.search(ref):
        return "sha-like"
    if ref.startswith("refs/"):
        return "git-ref"
    if _SEMVER.fullmatch(ref):
        return "semver-tag"
    if _MAJOR_MINOR.fullmatch(ref):
        return "major-minor-tag"
    if ref.lower() in _BRANCHES or "/" in ref:
        return "branch-like"
    return "symbolic"


@dataclass(frozen=True)
class UsesRef:
    """A parsed ``uses:`` value.

    ``kind``: ``repository`` · ``reusable-workflow`` · ``local`` · ``docker`` · ``invalid``.
    For ``invalid``, ``problem`` says why and ``ref_kind`` names the class (``no-ref``,
    ``multiple-at``, ``expression``, ``bad-slug``, ``empty``, ``whitespace``).
    """

    value: str
    kind: str
    owner: str | None = None
    repo: str | None = None
    subpath: str | None = None
    ref: str | None = None
    ref_kind: str | None = None
    problem: str | None = None


def parse_uses(raw: str) -> UsesRef:
    """Parse one ``uses:`` value (GitHub trims surrounding whitespace first)."""
    value = raw.strip()
    if not value:
        return UsesRef(value, "invalid", ref_kind="empty", problem="empty `uses:` value")
    if "${{" in value:
        return UsesRef(
            value,
            "invalid",
            ref_kind="expression",
            problem="`uses:` cannot contain an expression (GitHub does not evaluate `${{ }}` here)",
        )
    if value.startswith("docker://"):
        return UsesRef(value, "docker", ref_kind=classify_image(value[len("docker://") :]))
    if value.startswith(("./", "$/")):
        # A path in this repository: "./x@v1" is a directory named "x@v1", not a ref.
        return UsesRef(value, "local")
    if _WHITESPACE.search(value):
        return UsesRef(
            value, "invalid", ref_kind="whitespace", problem="`uses:` contains whitespace"
        )
    at_count = value.count("@")
    if at_count == 0:
        return UsesRef(
            value,
            "invalid",
            ref_kind="no-ref",
            problem="no `@ref`: GitHub requires `owner/repo@ref` for a remote action",
        )
    if at_count > 1:
        return UsesRef(
            value,
            "invalid",
            ref_kind="multiple-at",
            problem="several `@`: GitHub cannot resolve this (the text after the first `@` is "
            "not a ref, so a trailing SHA does not pin it)",
        )
    slug, ref = value.split("@")
    if not ref:
        return UsesRef(value, "invalid", ref_kind="no-ref", problem="empty ref after `@`")
    parts = slug.split("/")
    if len(parts) < 2:
        return UsesRef(
            value,
            "invalid",
            ref_kind="bad-slug",
            problem="expected `owner/repo[/path]@ref` or a local `./path`",
        )
    bad = [p for p in parts[:2] if not _NAME.fullmatch(p) or p in (".", "..")]
    if bad:
        return UsesRef(
            value,
            "invalid",
            ref_kind="bad-slug",
            problem=f"malformed owner/repo segment {bad[0]!r}",
        )
    owner, repo = parts[0], parts[1]
    # The path inside the repository, canonical as the runner resolves it on disk: empty and `.`
    # segments vanish, `..` goes up one (`o/r/a/../b` is `o/r/b`); policy patterns match this form.
    path: list[str] = []
    for part in parts[2:]:
        if part == "..":
            if not path:
                return UsesRef(
                    value,
                    "invalid",
                    ref_kind="bad-slug",
                    problem="the path climbs out of the repository with `..`",
                )
            path.pop()
        elif part not in ("", "."):
            path.append(part)
    subpath = "/".join(path) or None
    kind = "reusable-workflow" if subpath and _REUSABLE.fullmatch(subpath) else "repository"
    return UsesRef(value, kind, owner, repo, subpath, ref, classify_ref(ref))


def classify_image(image: str) -> str:
    """Kind of a container image reference (without ``docker://``).

    ``digest`` (pinned: ``@sha256:<64 lowercase hex>``) · ``bad-digest`` (an ``@algo:…`` that is not a
    sha256 digest, e.g. ``@sha256:abc``) · ``latest`` · ``untagged`` · ``tag`` · ``expression``.
    """
    if "${{" in image:
        return "expression"
    if _DIGEST.search(image):
        return "digest"
    if "@" in image:
        return "bad-digest"
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        return "latest" if last.rsplit(":", 1)[1] == "latest" else "tag"
    return "untagged"


# --- policy patterns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PinPolicy:
    """``pattern → mode`` with most-specific-wins lookup (see module docstring)."""

    exact_path: Mapping[tuple[str, str, str], str]
    exact_repo: Mapping[tuple[str, str], str]
    repo_any: Mapping[tuple[str, str], str]
    owner_any: Mapping[str, str]
    default: str
    patterns: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> PinPolicy:
        """Build from the check's config (``{"policy": {...}}``); raises ConfigError on a bad entry."""
        raw: Any = dict(DEFAULT_POLICY)
        if config and config.get("policy") is not None:
            raw = config["policy"]
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"{CHECK_ID}: `policy` must map patterns to one of {', '.join(MODES)}"
            )
        exact_path: dict[tuple[str, str, str], str] = {}
        exact_repo: dict[tuple[str, str], str] = {}
        repo_any: dict[tuple[str, str], str] = {}
        owner_any: dict[str, str] = {}
        default = "hash-pin"
        for pattern, mode in raw.items():
            if not isinstance(pattern, str) or mode not in MODES:
                raise ConfigError(
                    f"{CHECK_ID}: policy entry {pattern!r}: {mode!r} is not one of "
                    f"{', '.join(MODES)}"
                )
            parts = pattern.split("/")
            if pattern == "*":
                default = mode
            elif len(parts) == 2 and parts[1] == "*" and _NAME.fullmatch(parts[0]):
                owner_any[parts[0].lower()] = mode
            elif len(parts) == 2 and all(_NAME.fullmatch(p) for p in parts):
                exact_repo[(parts[0].lower(), parts[1].lower())] = mode
            elif len(parts) == 3 and parts[2] == "*" and all(_NAME.fullmatch(p) for p in parts[:2]):
                repo_any[(parts[0].lower(), parts[1].lower())] = mode
            elif (
                len(parts) >= 3
                and all(_NAME.fullmatch(p) for p in parts[:2])
                and all(p and p not in ("*", ".", "..") for p in parts[2:])
            ):
                exact_path[(parts[0].lower(), parts[1].lower(), "/".join(parts[2:]))] = mode
            else:
                raise ConfigError(
                    f"{CHECK_ID}: bad policy pattern {pattern!r} (use *, owner/*, owner/repo, "
                    "owner/repo/* or owner/repo/path)"
                )
        return cls(exact_path, exact_repo, repo_any, owner_any, default, dict(raw))

    def lookup(self, owner: str, repo: str, subpath: str | None) -> tuple[str, str]:
        """``(mode, pattern that decided)`` for one remote action."""
        o, r = owner.lower(), repo.lower()
        if subpath is not None and (o, r, subpath) in self.exact_path:
            return self.exact_path[(o, r, subpath)], f"{owner}/{repo}/{subpath}"
        if subpath is None and (o, r) in self.exact_repo:
            return self.exact_repo[(o, r)], f"{owner}/{repo}"
        if (o, r) in self.repo_any:
            return self.repo_any[(o, r)], f"{owner}/{repo}/*"
        if o in self.owner_any:
            return self.owner_any[o], f"{owner}/*"
        return self.default, "*"


# --- comments: version and waivers --------------------------------------------------------------------

_IGNORE = re.compile(r"verifier:\s*ignore\[([^\]]*)\]\s*[:\-\u2013\u2014]*\s*(.*)$")
_VERSION = re.compile(
    r"^(?:pin\s*@?\s*|tag\s*[=:]?\s*|version\s*[=:]?\s*|ratchet:\S*@)?(v?\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.+-]+)?)\b"
)


@dataclass(frozen=True)
class Comments:
    """What the comments around one value say."""

    comment: str | None
    version: str | None
    waive: dict[str, str | None]  # rule → reason (None: waiver without a reason)


def _comments(src: SourceText, key: Node, value: Node) -> Comments:
    same = src.comment_after(value)
    above = src.comment_above(key)
    waive: dict[str, str | None] = {}
    version = None
    for text in (above, same):
        if text is None:
            continue
        for segment in text.split("#"):
            m = _IGNORE.search(segment)
            if m is None:
                continue
            reason = m.group(2).strip() or None
            for rule in m.group(1).split(","):
                if rule.strip():
                    waive[rule.strip()] = reason
    if same is not None:
        head = same.split("#")[0].strip()
        m = _VERSION.match(head)
        if m:
            version = m.group(1)
    return Comments(same, version, waive)


# --- the walk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One place a ``uses:`` or image value was found.

    For an image, ``image`` is the value judged: the text as written, or one value its expression can
    take (``None`` when the file does not determine it); ``value`` is where that value was written (for a
    value taken from the job's matrix, the matrix entry).
    """

    where: str  # job | step | parallel-step | composite-step | container | service | docker-action-image
    key: Node
    value: Node
    job: str | None = None
    step_index: int | None = None
    parallel_index: int | None = None
    service: str | None = None
    via_merge: bool = False
    via_matrix: str | None = None  # the image came from matrix.NAME
    image: str | None = None
    expression: str | None = None  # the image as written, when it is (or holds) an expression


class _Shape(Exception):  # noqa: N818 - internal signal, never escapes the module
    """The file is valid YAML but not shaped like a workflow/action where it matters."""

    def __init__(self, node: Node | None, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


@dataclass
class _Walk:
    uses: list[Site] = field(default_factory=list)
    images: list[Site] = field(default_factory=list)
    checkouts: list[tuple[Site, Node]] = field(
        default_factory=list
    )  # (local-action site, checkout step)
    visits: int = 0

    def tick(self, n: int = 1) -> None:
        self.visits += n
        if self.visits > MAX_VISITS:
            raise _Shape(
                None,
                f"more than {MAX_VISITS} steps/images to visit (alias expansion?); refusing "
                "to walk it",
            )


def _scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) and not is_null(node) else None


def _walk_steps(w: _Walk, steps: Node, where: str, job: str | None) -> None:
    if is_null(steps):
        return
    if not isinstance(steps, SequenceNode):
        if isinstance(steps, ScalarNode):
            return  # e.g. an expression; GitHub rejects it, and there is no `uses:` to check
        raise _Shape(steps, "`steps` is not a list")
    w.tick(len(steps.value))
    # actions/checkout steps so far in this list: (normalized path, step node, another repository?).
    checkouts: list[tuple[str, Node, bool]] = []
    for index, step in enumerate(steps.value):
        if not isinstance(step, MappingNode):
            if is_null(step) or isinstance(step, ScalarNode):
                continue
            raise _Shape(step, f"step {index} is not a mapping")
        uses_site: Site | None = None
        for key, key_node, value, merged in mapping_items(step):
            if key == "uses":
                uses_site = Site(where, key_node, value, job, index, via_merge=merged)
                w.uses.append(uses_site)
            elif key == "parallel" and isinstance(value, SequenceNode):
                w.tick(len(value.value))
                for p_index, sub in enumerate(value.value):
                    if isinstance(sub, MappingNode):
                        for p_key, p_key_node, p_value, p_merged in mapping_items(sub):
                            if p_key == "uses":
                                w.uses.append(
                                    Site(
                                        "parallel-step",
                                        p_key_node,
                                        p_value,
                                        job,
                                        index,
                                        p_index,
                                        via_merge=merged or p_merged,
                                    )
                                )
        if uses_site is None:
            continue
        value_text = _scalar(uses_site.value)
        if value_text is None:
            continue
        value_text = value_text.strip()
        if value_text.startswith("./"):
            local = _norm_path(value_text[2:])
            for prefix, checkout, is_foreign in reversed(
                checkouts
            ):  # the latest checkout over it wins
                if _covers(prefix, local):
                    if is_foreign:
                        w.checkouts.append((uses_site, checkout))
                    break
        checkout_of = _checkout_target(value_text, step)
        if checkout_of is not None:
            is_foreign, path = checkout_of
            if (
                is_foreign or "${{" not in path
            ):  # an unknown path cannot be assumed to undo anything
                checkouts.append((path, step, is_foreign))


def _norm_path(path: str) -> str:
    parts = [p for p in path.strip().split("/") if p not in ("", ".")]
    return "/".join(parts)


_SAME_REPO = frozenset({"${{ github.repository }}", "${{github.repository}}"})


def _covers(prefix: str, path: str) -> bool:
    """True when a checkout into ``prefix`` ('' = the workspace root; an expression = unknown, so any)
    contains ``path``."""
    return prefix == "" or "${{" in prefix or path == prefix or path.startswith(prefix + "/")


def _checkout_target(uses: str, step: MappingNode) -> tuple[bool, str] | None:
    """For an ``actions/checkout`` step: (checks out another repository?, normalized target path; ''
    for the workspace root). None for any other step."""
    slug = uses.split("@", 1)[0].lower()
    if slug != "actions/checkout":
        return None
    with_ = mapping_get(step, "with")
    repository = _scalar(mapping_get(with_, "repository")) if with_ is not None else None
    path = _scalar(mapping_get(with_, "path")) if with_ is not None else None
    foreign = repository is not None and repository.strip() not in _SAME_REPO
    return foreign, _norm_path(path or "")


def _walk_workflow(w: _Walk, root: MappingNode) -> None:
    jobs = mapping_get(root, "jobs")
    if jobs is None or is_null(jobs):
        return
    if not isinstance(jobs, MappingNode):
        raise _Shape(jobs, "`jobs` is not a mapping")
    for job_name, _job_key, job, _merged in mapping_items(jobs):
        w.tick()
        if is_null(job):
            continue
        if not isinstance(job, MappingNode):
            raise _Shape(job, f"job {job_name!r} is not a mapping")
        for key, key_node, value, merged in mapping_items(job):
            if key == "uses":
                w.uses.append(Site("job", key_node, value, job_name, via_merge=merged))
            elif key == "steps":
                _walk_steps(w, value, "step", job_name)
            elif key == "container":
                image = mapping_get(value, "image") if isinstance(value, MappingNode) else value
                if image is not None and _scalar(image):
                    _add_image(
                        w, job, Site("container", key_node, image, job_name, via_merge=merged)
                    )
            elif key == "services" and isinstance(value, ScalarNode) and _scalar(value):
                # `services: ${{ ... }}`: every image of the job's services is computed.
                _add_image(w, job, Site("service", key_node, value, job_name, via_merge=merged))
            elif key == "services" and isinstance(value, MappingNode):
                for name, s_key, service, s_merged in mapping_items(value):
                    image = (
                        mapping_get(service, "image")
                        if isinstance(service, MappingNode)
                        else service
                    )
                    if image is not None and _scalar(image):
                        _add_image(
                            w,
                            job,
                            Site(
                                "service",
                                s_key,
                                image,
                                job_name,
                                service=name,
                                via_merge=merged or s_merged,
                            ),
                        )


@dataclass(frozen=True)
class _MatrixValue:
    """Where a value of ``matrix.NAME`` is written."""

    node: Node
    name: str


def _add_image(w: _Walk, job: MappingNode, site: Site) -> None:
    """Record one image site per value the image can take: its text, or, when it holds an expression,
    every value the expression can produce with the job's matrix (``''`` and null mean "no container"
    and are not images). A value the file does not determine is recorded once, as an expression."""
    w.tick()
    text = (_scalar(site.value) or "").strip()
    if "${{" not in text:
        w.images.append(replace(site, image=text))
        return
    resolve = _matrix_resolver(job)
    values = possible_values(text, resolve)
    w.tick(len(values))
    unknown = False
    for possible in values:
        if possible.value is UNKNOWN:
            unknown = True
            continue
        if possible.value is None:
            continue
        image = as_text(possible.value)
        if image is None:  # a mapping or list where an image name belongs
            unknown = True
            continue
        if image == "":
            continue
        origin = possible.origin if isinstance(possible.origin, _MatrixValue) else None
        w.images.append(
            replace(
                site,
                value=origin.node if origin else site.value,
                via_matrix=origin.name if origin else None,
                image=image.strip(),
                expression=text,
            )
        )
    if unknown:
        w.images.append(replace(site, image=None, expression=text))


def _matrix_resolver(job: MappingNode) -> Callable[[Sequence[str]], list[Possible] | None]:
    """Values of ``matrix.NAME[.FIELD...]`` in ``job``: each value of the axis NAME and of NAME in each
    ``include`` entry, plus null when some combination may lack it (``exclude`` is ignored: it only
    removes values). None (unknown) when the matrix or the part holding NAME is an expression."""

    def resolve(path: Sequence[str]) -> list[Possible] | None:
        if not path or path[0] != "matrix":
            return None
        strategy = mapping_get(job, "strategy")
        if strategy is None or is_null(strategy):
            return [Possible(None)]  # no matrix: every matrix property is null
        if not isinstance(strategy, MappingNode):
            return None
        matrix = mapping_get(strategy, "matrix")
        if matrix is None or is_null(matrix):
            return [Possible(None)]
        if not isinstance(matrix, MappingNode) or len(path) < 2:
            return None
        name, rest = path[1], path[2:]
        nodes: list[Node | None] = []
        axis = mapping_get(matrix, name) if name not in ("include", "exclude") else None
        if axis is not None:
            if not isinstance(axis, SequenceNode):
                return None  # e.g. ${{ fromJSON(...) }}
            nodes += axis.value
        else:
            nodes.append(None)  # combinations from other axes lack NAME unless an include adds it
        include = mapping_get(matrix, "include")
        if include is not None and not is_null(include):
            if not isinstance(include, SequenceNode):
                return None
            for entry in include.value:
                if not isinstance(entry, MappingNode):
                    return None
                nodes.append(mapping_get(entry, name))
        out: list[Possible] = []
        for node in nodes:
            for field_name in rest:
                node = mapping_get(node, field_name) if isinstance(node, MappingNode) else None
            out.append(_matrix_possible(node, name))
        return out

    return resolve


_PLAIN_BOOL = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _matrix_possible(node: Node | None, name: str) -> Possible:
    """A matrix value as GitHub sees it: unquoted booleans and numbers are not strings; a value that is
    itself an expression is unknown here (GitHub evaluates it before the matrix is expanded)."""
    if node is None or is_null(node):
        return Possible(None)
    if not isinstance(node, ScalarNode):
        return Possible(node)  # a mapping or list: only a property of it can be an image
    text = node.value
    if "${{" in text:
        return Possible(UNKNOWN)
    value: object = text
    if node.style is None:
        if text in _PLAIN_BOOL:
            value = _PLAIN_BOOL[text]
        elif _PLAIN_NUMBER.fullmatch(text):
            value = float(text)
    return Possible(value, _MatrixValue(node, name))


def _walk_action(w: _Walk, root: MappingNode) -> str | None:
    runs = mapping_get(root, "runs")
    if runs is None or is_null(runs):
        return None
    if not isinstance(runs, MappingNode):
        raise _Shape(runs, "`runs` is not a mapping")
    using = _scalar(mapping_get(runs, "using")) or ""
    if using == "composite":
        steps = mapping_get(runs, "steps")
        if steps is not None:
            _walk_steps(w, steps, "composite-step", None)
    elif using == "docker":
        for key, key_node, value, merged in mapping_items(runs):
            if key == "image" and _scalar(value) is not None:
                image = (_scalar(value) or "").strip()
                w.images.append(
                    Site("docker-action-image", key_node, value, via_merge=merged, image=image)
                )
    return using or None


# --- findings ----------------------------------------------------------------------------------------

# Severities line up with the default policy: what it denies is high or worse, what it warns on is below.
# Every unpinned ref is high (tags are rewritten too: tj-actions/changed-files, March 2025); the ref kind
# in the properties says how far from a SHA it is. Images: `latest`/untagged rank above a plain tag.


def _location(path: str, node: Node) -> Location:
    return Location(path=path, line=node.start_mark.line + 1, column=node.start_mark.column + 1)


def _base_props(site: Site) -> dict[str, Any]:
    props: dict[str, Any] = {"where": site.where}
    if site.job is not None:
        props["job"] = site.job
    if site.step_index is not None:
        props["step_index"] = site.step_index
    if site.parallel_index is not None:
        props["parallel_index"] = site.parallel_index
    if site.service is not None:
        props["service"] = site.service
    if site.via_merge:
        props["via_merge"] = True
    if site.via_matrix is not None:
        props["via_matrix"] = site.via_matrix
    return props


def _where_text(site: Site) -> str:
    if site.job is None:
        return f"step {site.step_index}" if site.step_index is not None else "runs.image"
    if site.where == "job":
        return f"job {site.job!r}"
    if site.where == "container":
        return f"job {site.job!r} container"
    if site.where == "service":
        if site.service is None:  # `services: ${{ ... }}`
            return f"job {site.job!r} services"
        return f"job {site.job!r} service {site.service!r}"
    step = f"step {site.step_index}"
    if site.parallel_index is not None:
        step += f".{site.parallel_index}"
    return f"job {site.job!r} {step}"


def _finding(
    rule: str,
    severity: Severity,
    message: str,
    path: str,
    site: Site,
    props: dict[str, Any],
    comments: Comments,
) -> Finding:
    if comments.comment is not None:
        props["comment"] = comments.comment
    if comments.version is not None:
        props["version_comment"] = comments.version
    waived = False
    reason = None
    if rule in comments.waive:
        reason = comments.waive[rule]
        if reason is None:
            props["ignore_rejected"] = (
                "an ignore comment needs a reason: # verifier: ignore[<rule>] <reason>"
            )
        else:
            waived = True
    return Finding(
        rule=rule,
        severity=severity,
        message=message,
        location=_location(path, site.value),
        waived=waived,
        waiver_reason=reason if waived else None,
        properties=props,
    )


@dataclass
class _Counts:
    uses: int = 0
    remote: int = 0
    pinned: int = 0
    unpinned: int = 0
    allowed_by_policy: int = 0
    local: int = 0
    docker: int = 0
    invalid: int = 0
    images: int = 0
    images_pinned: int = 0
    images_local: int = 0


def _check_uses(
    path: str, site: Site, src: SourceText, policy: PinPolicy, counts: _Counts, out: list[Finding]
) -> None:
    counts.uses += 1
    props = _base_props(site)
    if not isinstance(site.value, ScalarNode) or is_null(site.value):
        counts.invalid += 1
        props.update(value=None, kind="invalid", ref_kind="non-scalar")
        out.append(
            _finding(
                INVALID_USES,
                Severity.HIGH,
                f"{_where_text(site)}: `uses:` is not a string",
                path,
                site,
                props,
                _comments(src, site.key, site.value),
            )
        )
        return
    parsed = parse_uses(site.value.value)
    props.update(value=parsed.value, kind=parsed.kind, ref_kind=parsed.ref_kind)
    if site.value.style in ("'", '"'):
        props["quoted"] = site.value.style
    if parsed.kind == "local":
        counts.local += 1
        return
    if parsed.kind == "invalid":
        counts.invalid += 1
        out.append(
            _finding(
                INVALID_USES,
                Severity.HIGH,
                f"{_where_text(site)}: {parsed.value!r}: {parsed.problem}",
                path,
                site,
                props,
                _comments(src, site.key, site.value),
            )
        )
        return
    if parsed.kind == "docker":
        counts.docker += 1
        if parsed.ref_kind == "digest":
            return
        out.append(_image_finding(path, site, parsed.value, parsed.ref_kind or "", props, src))
        return
    counts.remote += 1
    owner, repo = parsed.owner or "", parsed.repo or ""  # always set for remote kinds
    props.update(owner=owner, repo=repo, subpath=parsed.subpath, ref=parsed.ref)
    mode, pattern = policy.lookup(owner, repo, parsed.subpath)
    props["policy"] = {"mode": mode, "pattern": pattern}
    if parsed.ref_kind in REF_PINNED_KINDS:
        counts.pinned += 1
        if parsed.ref_kind == "full-sha-noncanonical" and mode == "hash-pin":
            out.append(
                _finding(
                    NONCANONICAL_SHA,
                    Severity.LOW,
                    f"{_where_text(site)}: {parsed.value} is pinned, but the SHA is not lowercase; write "
                    f"{parsed.ref.lower() if parsed.ref else ''}",
                    path,
                    site,
                    props,
                    _comments(src, site.key, site.value),
                )
            )
        return
    if mode != "hash-pin":
        counts.allowed_by_policy += 1
        return
    counts.unpinned += 1
    severity = Severity.HIGH
    what = "reusable workflow" if parsed.kind == "reusable-workflow" else "action"
    out.append(
        _finding(
            UNPINNED_USES,
            severity,
            f"{_where_text(site)}: {what} {parsed.value} is not pinned to a full commit SHA "
            f"(ref {parsed.ref!r} is {parsed.ref_kind}; policy {pattern!r}: hash-pin)",
            path,
            site,
            props,
            _comments(src, site.key, site.value),
        )
    )


def _image_finding(
    path: str, site: Site, value: str, kind: str, props: dict[str, Any], src: SourceText
) -> Finding:
    props.update(value=value, image_kind=kind, ref_kind=kind)
    severity = Severity.HIGH if kind == "tag" else Severity.CRITICAL
    reason = {
        "tag": "is pinned by tag only",
        "latest": "uses the moving `latest` tag",
        "untagged": "has no tag or digest (implicitly `latest`)",
        "bad-digest": "has something after `@` that is not a sha256:<64 hex> digest",
        "expression": "is an expression, so its pinning cannot be checked",
    }.get(kind, "is not pinned by digest")
    via = f" (from matrix.{site.via_matrix})" if site.via_matrix else ""
    return _finding(
        UNPINNED_IMAGE,
        severity,
        f"{_where_text(site)}: image {value}{via} {reason}; pin it with @sha256:<digest>",
        path,
        site,
        props,
        _comments(src, site.key, site.value),
    )


def _check_image(
    path: str, site: Site, src: SourceText, counts: _Counts, out: list[Finding]
) -> None:
    counts.images += 1
    props = _base_props(site)
    if site.expression is not None:
        props["expression"] = site.expression
    if site.image is None:  # a value the file does not determine
        out.append(_image_finding(path, site, site.expression or "", "expression", props, src))
        return
    value = site.image
    if site.where == "docker-action-image":
        if not value.startswith("docker://"):
            counts.images_local += 1  # a Dockerfile path in the action's repository
            return
        value_image = value[len("docker://") :]
    else:
        value_image = value[len("docker://") :] if value.startswith("docker://") else value
    kind = classify_image(value_image)
    if kind == "digest":
        counts.images_pinned += 1
        return
    out.append(_image_finding(path, site, value, kind, props, src))


def _check_checkout(
    path: str, site: Site, checkout: Node, src: SourceText, out: list[Finding]
) -> None:
    uses = _scalar(mapping_get(checkout, "uses")) or ""
    with_ = mapping_get(checkout, "with")
    repository = _scalar(mapping_get(with_, "repository")) if with_ is not None else None
    ref = (_scalar(mapping_get(with_, "ref")) if with_ is not None else None) or ""
    ref = ref.strip()
    pinned = classify_ref(ref) == "full-sha" if ref else False
    local = _scalar(site.value) or ""
    props = _base_props(site)
    props.update(
        value=local.strip(),
        checkout_repository=repository,
        checkout_ref=ref or None,
        checkout_uses=uses.strip(),
        checkout_line=checkout.start_mark.line + 1,
        pinned=pinned,
    )
    severity = Severity.LOW if pinned else Severity.MEDIUM
    detail = (
        f"at the full SHA {ref}"
        if pinned
        else f"at {ref!r}, which is not a full commit SHA"
        if ref
        else "at its default branch"
    )
    out.append(
        _finding(
            LOCAL_ACTION_CHECKOUT,
            severity,
            f"{_where_text(site)}: local action {local.strip()} runs code from {repository} checked out on line "
            f"{checkout.start_mark.line + 1} {detail}",
            path,
            site,
            props,
            _comments(src, site.key, site.value),
        )
    )


# --- entry points --------------------------------------------------------------------------------------


def _error_result(
    path: str,
    kind: str,
    problems: Sequence[tuple[str, int | None, int | None]],
    rule: str = INVALID_FILE,
) -> CheckResult:
    """Verdict ``error`` with one ``rule`` finding per ``(problem, line, column)``."""
    findings = tuple(
        Finding(
            rule=rule,
            severity=Severity.HIGH,
            message=f"{path}: {problem}",
            location=Location(path=path, line=line, column=column),
            properties={"kind": kind},
        )
        for problem, line, column in problems
    )
    first = problems[0][0]
    error = first if len(problems) == 1 else f"{first} (and {len(problems) - 1} more problems)"
    return CheckResult(
        check=CHECK_ID,
        subject=path,
        verdict="error",
        findings=findings,
        facts={
            "kind": kind,
            "error": error,
            "unwaived": {rule: len(findings)},
            "waived": 0,
        },
    )


def _shape_problems(kind: str, root: Node) -> list[Problem]:
    """Why ``root`` is not a file of ``kind`` (duplicate keys first, as GitHub reports them)."""
    shape = action_problems(root) if kind == "action" else workflow_problems(root)
    return key_problems(root) + shape


_LINE_COL = re.compile(r"at line (\d+) column (\d+)")


def check_text(
    path: str,
    kind: str,
    text: str,
    config: Mapping[str, Any] | None = None,
    policy: PinPolicy | None = None,
) -> CheckResult:
    """Check one workflow (``kind="workflow"``) or action (``kind="action"``) file given as text.

    Bad YAML or a bad shape gives verdict ``error`` with an ``invalid-file`` finding (never an exception),
    so that the other files of a run are still checked. A bad ``config`` raises ConfigError.
    """
    if policy is None:
        policy = PinPolicy.from_config(config)
    try:
        documents = compose_documents(text, path)
    except InputError as exc:
        m = _LINE_COL.search(exc.problem)
        return _error_result(
            path,
            kind,
            [(exc.problem, int(m.group(1)) if m else None, int(m.group(2)) if m else None)],
        )
    roots = [d for d in documents if not is_null(d)]
    if not roots:
        what = "an action" if kind == "action" else "a workflow"
        return _error_result(path, kind, [(f"empty: no YAML document, so not {what}", None, None)])
    if len(roots) > 1:
        line, column = position(roots[1])
        return _error_result(
            path,
            kind,
            [(f"{len(roots)} YAML documents: GitHub reads a {kind} file as one", line, column)],
        )
    problems = _shape_problems(kind, roots[0])
    problems.sort(
        key=lambda p: (p.node.start_mark.line, p.node.start_mark.column) if p.node else (-1, -1)
    )
    if problems:
        return _error_result(
            path,
            kind,
            [
                (
                    p.message,
                    p.node.start_mark.line + 1 if p.node else None,
                    p.node.start_mark.column + 1 if p.node else None,
                )
                for p in problems
            ],
        )
    root = roots[0]
    assert isinstance(root, MappingNode)  # noqa: S101 - the shape check guarantees it
    walk = _Walk()
    using: str | None = None
    try:
        if kind == "action":
            using = _walk_action(walk, root)
        else:
            _walk_workflow(walk, root)
    except _Shape as exc:
        node = exc.node
        return _error_result(
            path,
            kind,
            [
                (
                    exc.message,
                    node.start_mark.line + 1 if node else None,
                    node.start_mark.column + 1 if node else None,
                )
            ],
        )

    src = SourceText(text)
    counts = _Counts()
    findings: list[Finding] = []
    for site in walk.uses:
        _check_uses(path, site, src, policy, counts, findings)
    for site in walk.images:
        _check_image(path, site, src, counts, findings)
    for site, checkout in walk.checkouts:
        _check_checkout(path, site, checkout, src, findings)
    findings.sort(
        key=lambda f: (f.location.line or 0, f.location.column or 0) if f.location else (0, 0)
    )

    unwaived: dict[str, int] = {}
    for f in findings:
        if not f.waived:
            unwaived[f.rule] = unwaived.get(f.rule, 0) + 1
    failing = any(rule in FAILING_RULES for rule in unwaived)
    facts: dict[str, Any] = {
        "kind": kind,
        "documents": len(roots),
        "uses": counts.uses,
        "remote": counts.remote,
        "pinned": counts.pinned,
        "unpinned": counts.unpinned,
        "allowed_by_policy": counts.allowed_by_policy,
        "local": counts.local,
        "docker": counts.docker,
        "invalid": counts.invalid,
        "images": counts.images,
        "images_pinned": counts.images_pinned,
        "images_local": counts.images_local,
        "waived": sum(1 for f in findings if f.waived),
        "unwaived": unwaived,
    }
    if kind == "action":
        facts["using"] = using
    return CheckResult(
        check=CHECK_ID,
        subject=path,
        verdict="fail" if failing else "pass",
        findings=tuple(findings),
        facts=facts,
    )


def check_unreadable(path: str, kind: str, problem: str) -> CheckResult:
    """The result for a file that could not be read (too large, binary, not UTF-8), or for a directory
    given to be checked (``kind="directory"``) under which there is nothing to check."""
    rule = NOTHING_TO_CHECK if kind == "directory" else INVALID_FILE
    return _error_result(path, kind, [(problem, None, None)], rule)


def check_files(
    files: Iterable[tuple[str, str, str | None, str | None]],
    config: Mapping[str, Any] | None = None,
) -> list[CheckResult]:
    """Check many files given as ``(path, kind, text or None, problem or None)``; one result each.

    ``files`` is consumed one row at a time (``WorkflowFiles.rows()`` reads each file only then), and no
    result keeps its file's text. The cyclic garbage collector is paused meanwhile (see
    :mod:`verifier._internal.collector`) and restored to its previous state afterwards.
    """
    policy = PinPolicy.from_config(config)
    results = []
    with collector_paused():
        for path, kind, text, problem in files:
            if text is None:
                results.append(check_unreadable(path, kind, problem or "could not be read"))
            else:
                results.append(check_text(path, kind, text, policy=policy))
    return results


# --- the check as the pipeline runs it -------------------------------------------------------------------

PinMode = Literal["hash-pin", "ref-pin", "any"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkflowsSection:
    """GitHub Actions files (check `actions-pinned`)."""

    __pydantic_config__ = STRICT

    paths: tuple[str, ...] = ()
    """Workflow files, action.yml files, .github directories or repository roots (`verifier check actions`
    takes them from its arguments; an empty list in the gate gives verdict error)."""
    policy: dict[str, PinMode] = dataclasses.field(default_factory=dict)
    """Pin policy: pattern (*, owner/*, owner/repo, owner/repo/*, owner/repo/path) to mode; the most
    specific pattern wins (default {"*": hash-pin})."""
    mode: Literal["deny", "warn"] = "deny"
    """Whether unpinned actions deny or only warn (a roll-out mode)."""
    deny_rules: tuple[str, ...] | None = None
    """Rule ids whose unwaived findings deny (default: unpinned-uses, invalid-uses, unpinned-image)."""
    warn_rules: tuple[str, ...] | None = None
    """Rule ids whose unwaived findings warn (default: noncanonical-sha, local-action-checkout)."""
    warn_waived: bool | None = None
    """Warn about waived findings (default: true)."""
    max_size: int = dataclasses.field(default=4, metadata={"ge": 1})
    """Treat workflow/action files larger than this many MiB as unreadable."""

    def __post_init__(self) -> None:
        try:
            PinPolicy.from_config({"policy": self.policy or None})
        except ConfigError as exc:
            raise ValueError(exc.diagnostics()) from None


@dataclasses.dataclass(frozen=True)
class WorkflowEvidence:
    """The workflow and action files found under the paths: listed by ``collect``, each read only when
    ``judge`` reaches it (``WorkflowFiles.rows()``), so that one file's text is alive at a time."""

    files: WorkflowFiles


class ActionsPinnedCheck(Check[WorkflowsSection, WorkflowEvidence]):
    """``actions-pinned``: every workflow and action file's ``uses:`` and images pinned."""

    meta = META
    section_type = WorkflowsSection

    def collect(self, section: WorkflowsSection, ctx: RunContext) -> WorkflowEvidence:
        """Find the files (files skipped on purpose become notices); they are read as they are judged."""
        from verifier.sources.files import MIB
        from verifier.sources.workflow_files import read_all, skip_notices

        files, found = read_all(list(section.paths), section.max_size * MIB)
        for text in skip_notices(found):
            ctx.notice(text)
        for f in files:
            ctx.record_input(f.path, f.kind)
        return WorkflowEvidence(files)

    def judge(
        self, evidence: WorkflowEvidence, section: WorkflowsSection, ctx: RunContext
    ) -> list[CheckResult]:
        """One result per file (and per directory with nothing to check under it); an error result when
        no path is configured at all."""
        if not evidence.files:
            where = ", ".join(section.paths) or "workflows.paths"
            return [
                _error_result(
                    where,
                    "workflow",
                    [
                        (
                            "no workflow (.github/workflows/*.yml) or action.yml file found",
                            None,
                            None,
                        )
                    ],
                    NOTHING_TO_CHECK,
                )
            ]
        return check_files(evidence.files.rows(), self.policy_config(section, evidence))

    def policy_config(
        self, section: WorkflowsSection, evidence: WorkflowEvidence | None
    ) -> dict[str, Any]:
        """mode, plus the policy and rule lists when the section sets them."""
        out: dict[str, Any] = {"mode": section.mode}
        if section.policy:
            out["policy"] = dict(section.policy)
        if section.deny_rules is not None:
            out["deny_rules"] = list(section.deny_rules)
        if section.warn_rules is not None:
            out["warn_rules"] = list(section.warn_rules)
        if section.warn_waived is not None:
            out["warn_waived"] = section.warn_waived
        return out

    def subject(self, section: WorkflowsSection, ctx: RunContext) -> str:
        """The configured paths."""
        return ", ".join(section.paths)


CHECK = ActionsPinnedCheck()
