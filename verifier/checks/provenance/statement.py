"""Read SLSA provenance out of an in-toto statement: one normalised :class:`Provenance` for every format.

Pure and strict: the statement type and predicate type must be the canonical URIs (draft and release-candidate
URIs such as ``https://slsa.dev/provenance/v1?draft`` or ``…/v1.0`` are refused, as a verifier pinned to SLSA v1
must); ``subject`` must list digests; the predicate must name a builder. Formats read (each field from where that
format keeps it):

=========================================  ===================================================================
SLSA v0.2, slsa-github-generator            ``builder.id``; ``invocation.configSource`` (uri@ref, sha1,
                                            entryPoint = workflow); ``invocation.environment.github_*``
SLSA v0.2, BuildKit                         ``builder.id`` (often empty); ``metadata.buildkit_metadata.vcs``
SLSA v1, GitHub workflow buildTypes         ``runDetails.builder.id``; ``externalParameters.workflow``
(actions/buildtypes, slsa-framework)        {repository, ref, path}; ``internalParameters.github.repository_id``;
                                            ``resolvedDependencies[0]`` (gitCommit)
SLSA v1, container-based builder            ``externalParameters.source`` (uri@ref, sha1);
                                            ``internalParameters.GITHUB_*``
SLSA v1, BuildKit                           ``runDetails.builder.id``; ``runDetails.metadata.buildkit_metadata.vcs``
SLSA v0.1 / v1, Google Cloud Build          see :mod:`verifier.checks.provenance.gcb`
=========================================  ===================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_TYPES = frozenset({STATEMENT_V01, STATEMENT_V1})
PROVENANCE_V01 = "https://slsa.dev/provenance/v0.1"
PROVENANCE_V02 = "https://slsa.dev/provenance/v0.2"
PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
PROVENANCE_TYPES = frozenset({PROVENANCE_V01, PROVENANCE_V02, PROVENANCE_V1})
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUILDKIT_BUILD_TYPES = frozenset(
    {
        "https://mobyproject.org/buildkit@v1",
        "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md",
    }
)
MAX_STATEMENT_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64


class StatementError(Exception):
    """The bytes are not SLSA provenance we can read. ``rule`` is the finding rule id; ``upstream`` names the
    in-toto Go validation error for the same defect, when there is one."""

    def __init__(self, rule: str, message: str, upstream: str = "") -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.upstream = upstream


# Digest algorithms with a fixed hex length (in-toto attestation ResourceDescriptor rules); gitCommit and the
# other git object ids are SHA-1 or SHA-256 object names.
HEX_DIGEST_LENGTHS: dict[str, tuple[int, ...]] = {
    "sha1": (40,),
    "md5": (32,),
    "sha224": (56,),
    "sha256": (64,),
    "sha384": (96,),
    "sha512": (128,),
    "sha512_224": (56,),
    "sha512_256": (64,),
    "sha3_224": (56,),
    "sha3_256": (64,),
    "sha3_384": (96,),
    "sha3_512": (128,),
    "ripemd160": (40,),
    "sm3": (64,),
    "gitCommit": (40, 64),
    "gitTree": (40, 64),
    "gitBlob": (40, 64),
    "gitTag": (40, 64),
}
HEX_DIGESTS_ANY_LENGTH = frozenset({"shake128", "shake256", "blake2b", "blake2s"})
_HEX = frozenset("0123456789abcdef")


def _invalid(message: str, upstream: str) -> StatementError:
    return StatementError("statement-invalid", message, upstream)


def validate_resource_descriptor(rd: Any, where: str, need_digest: bool = False) -> None:
    """An in-toto ResourceDescriptor: a name, uri or digest; digests of known algorithms in lower-case hex of
    the algorithm's length."""
    if not isinstance(rd, dict):
        raise _invalid(f"{where} is not an object", "ErrRDRequiredField")
    digest = rd.get("digest")
    if not any(rd.get(key) for key in ("name", "uri", "digest")):
        raise _invalid(f"{where} has no name, uri or digest", "ErrRDRequiredField")
    if digest is None or digest == {}:
        if need_digest:
            raise _invalid(f"{where} has no digest", "ErrDigestRequired")
        return
    if not isinstance(digest, dict):
        raise _invalid(f"{where}.digest is not an object", "ErrInvalidDigestEncoding")
    for algorithm, value in digest.items():
        if not isinstance(value, str):
            raise _invalid(
                f"{where}.digest.{algorithm} is not a string", "ErrInvalidDigestEncoding"
            )
        if algorithm in HEX_DIGEST_LENGTHS or algorithm in HEX_DIGESTS_ANY_LENGTH:
            if not value or not set(value) <= _HEX:
                raise _invalid(
                    f"{where}.digest.{algorithm} is not lower-case hex", "ErrInvalidDigestEncoding"
                )
            lengths = HEX_DIGEST_LENGTHS.get(algorithm)
            if lengths is not None and len(value) not in lengths:
                raise _invalid(
                    f"{where}.digest.{algorithm} has {len(value)} hex digits, not "
                    + " or ".join(map(str, lengths)),
                    "ErrIncorrectDigestLength",
                )


def validate_statement(doc: dict[str, Any]) -> None:
    """in-toto Statement rules (type, subject with digests, predicateType, predicate)."""
    statement_type = _str(doc.get("_type"))
    if statement_type not in STATEMENT_TYPES:
        raise _invalid(
            f"statement _type {statement_type or '(missing)'!r} is not an in-toto Statement v0.1 or v1",
            "ErrInvalidStatementType",
        )
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise _invalid("statement has no subject", "ErrSubjectRequired")
    for i, subject in enumerate(subjects):
        validate_resource_descriptor(subject, f"subject[{i}]", need_digest=True)
    if not _str(doc.get("predicateType")):
        raise _invalid("statement has no predicateType", "ErrPredicateTypeRequired")
    if not isinstance(doc.get("predicate"), dict) and not isinstance(
        doc.get("slsaProvenance"), dict
    ):
        raise _invalid("statement has no predicate", "ErrPredicateRequired")


def validate_provenance_v1(pred: dict[str, Any], allow_empty_builder: bool = False) -> None:
    """SLSA v1 predicate rules: buildDefinition with buildType and externalParameters, runDetails with a
    builder id; every resolved dependency a valid ResourceDescriptor. ``allow_empty_builder`` reads BuildKit's
    ``"id": ""`` (in-toto's validation refuses it) as a builder no policy can trust."""
    definition = pred.get("buildDefinition")
    if not isinstance(definition, dict) or not definition:
        raise _invalid("predicate has no buildDefinition", "ErrBuildDefinitionRequired")
    if not _str(definition.get("buildType")):
        raise _invalid("buildDefinition has no buildType", "ErrBuildTypeRequired")
    if not isinstance(definition.get("externalParameters"), dict) or not definition.get(
        "externalParameters"
    ):
        raise _invalid("buildDefinition has no externalParameters", "ErrExternalParamsRequired")
    deps = definition.get("resolvedDependencies")
    if deps is not None:
        if not isinstance(deps, list):
            raise _invalid("resolvedDependencies is not a list", "ErrRDRequiredField")
        for i, dep in enumerate(deps):
            validate_resource_descriptor(dep, f"resolvedDependencies[{i}]")
    run = pred.get("runDetails")
    if not isinstance(run, dict) or not run:
        raise _invalid("predicate has no runDetails", "ErrRunDetailsRequired")
    builder = run.get("builder")
    if not isinstance(builder, dict) or not builder:
        raise _invalid("runDetails has no builder", "ErrBuilderRequired")
    builder_id = builder.get("id")
    if not isinstance(builder_id, str) or not (builder_id or allow_empty_builder):
        raise _invalid("runDetails.builder has no id", "ErrBuilderIdRequired")


@dataclass(frozen=True)
class Provenance:
    """What a provenance statement says, normalised. Empty strings where the format says nothing."""

    statement_type: str
    predicate_type: str
    build_type: str
    builder_id: str
    subjects: tuple[tuple[str, dict[str, str]], ...]
    source_uri: str = ""  # as written, e.g. git+https://github.com/o/r@refs/heads/main
    source_repository: str = ""  # canonical, see canonical_repository
    ref: str = ""
    commit: str = ""
    workflow_path: str = ""
    repository_id: str = ""
    base_ref: str = (
        ""  # for a tag push: the branch the event names (slsa-verifier's branch of a tag)
    )
    buildkit_mode: str = ""  # "min" / "max" for BuildKit provenance
    extra: dict[str, Any] = field(default_factory=dict)

    def subject_digests(self, algorithm: str = "sha256") -> list[str]:
        """``algorithm:hex`` of every subject that has that digest (lower-cased)."""
        return [
            f"{algorithm}:{digests[algorithm].lower()}"
            for _, digests in self.subjects
            if isinstance(digests.get(algorithm), str)
        ]

    @property
    def builder_name(self) -> str:
        """The builder id without its ``@version``."""
        return self.builder_id.split("@", 1)[0]

    def as_fact(self) -> dict[str, Any]:
        """JSON-ready summary for the check's facts."""
        fact: dict[str, Any] = {
            "predicate_type": self.predicate_type,
            "build_type": self.build_type,
            "builder_id": self.builder_id,
            "subjects": self.subject_digests(),
        }
        for key in ("source_repository", "ref", "commit", "workflow_path", "repository_id"):
            value = getattr(self, key)
            if value:
                fact[key] = value
        if self.buildkit_mode:
            fact["buildkit_mode"] = self.buildkit_mode
        return fact


def _depth(value: Any, limit: int = MAX_DEPTH) -> None:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise StatementError("statement-invalid", f"JSON nested deeper than {limit} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def load_statement(raw: bytes) -> dict[str, Any]:
    """JSON bytes -> statement object (StatementError ``statement-invalid`` on anything else)."""
    if len(raw) > MAX_STATEMENT_BYTES:
        raise StatementError(
            "statement-invalid", f"statement is larger than {MAX_STATEMENT_BYTES} bytes"
        )
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StatementError("statement-invalid", f"statement is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise StatementError("statement-invalid", "statement is not a JSON object")
    _depth(doc)
    return doc


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def split_git_uri(uri: str) -> tuple[str, str]:
    """``git+https://github.com/o/r@refs/heads/main`` -> (``git+https://github.com/o/r``, ``refs/heads/main``)."""
    scheme_end = uri.find("://")
    at = uri.rfind("@")
    if at > scheme_end + 3 and "/" in uri[scheme_end + 3 : at]:
        return uri[:at], uri[at + 1 :]
    return uri, ""


def canonical_repository(uri: str, strip_ref: bool = True) -> str:
    """A source repository as ``host/path`` (no scheme, no ``git+``, no ``.git``, no ``@ref``); host lower-cased,
    and the whole name lower-cased on github.com (GitHub names are case-insensitive). Non-git locations
    (``gs://bucket/file.tgz``) are kept as written. ``strip_ref=False`` keeps an ``@ref`` (a configured
    repository that names a ref is not the bare repository)."""
    text = uri.strip()
    if not text:
        return ""
    text = text.removeprefix("git+")
    scheme, sep, rest = text.partition("://")
    if sep and scheme not in ("https", "http", "ssh", "git"):
        return text  # gs://, s3:// ...: compared as written
    if not sep:
        rest = text
    rest = rest.split("#", 1)[0]  # BuildKit's vcs source: https://host/o/r.git#<commit or ref>
    if strip_ref:
        rest = split_git_uri("https://" + rest)[0][len("https://") :]
    rest = rest.removesuffix("/").removesuffix(".git")
    host, _, path = rest.partition("/")
    host = host.lower()
    if host == "github.com":
        path = path.lower()
    return f"{host}/{path}" if path else host


def _subjects(doc: dict[str, Any]) -> tuple[tuple[str, dict[str, str]], ...]:
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise StatementError("statement-invalid", "statement has no subject")
    out = []
    for i, item in enumerate(subjects):
        digests = _obj(item).get("digest")
        if not isinstance(digests, dict) or not digests:
            raise StatementError("statement-invalid", f"subject[{i}] has no digest")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in digests.items()):
            raise StatementError("statement-invalid", f"subject[{i}] digest values must be strings")
        out.append((_str(_obj(item).get("name")), dict(digests)))
    return tuple(out)


def predicate_type_of(doc: dict[str, Any]) -> str:
    """The statement's predicateType (may be empty)."""
    return _str(doc.get("predicateType"))


def is_provenance_type(predicate_type: str) -> bool:
    """A canonical SLSA provenance predicate type."""
    return predicate_type in PROVENANCE_TYPES


def looks_like_provenance(predicate_type: str) -> bool:
    """Any spelling of an SLSA provenance type (canonical or not): what a strict reader must refuse loudly."""
    return predicate_type.startswith(
        ("https://slsa.dev/provenance/", "https://in-toto.io/Provenance")
    )


def read_provenance(doc: dict[str, Any]) -> Provenance:
    """Normalise a decoded statement (StatementError with the rule on anything it cannot vouch for)."""
    validate_statement(doc)
    statement_type = _str(doc.get("_type"))
    predicate_type = predicate_type_of(doc)
    if not is_provenance_type(predicate_type):
        rule = (
            "predicate-noncanonical" if looks_like_provenance(predicate_type) else "not-provenance"
        )
        raise StatementError(
            rule,
            f"predicateType {predicate_type or '(missing)'!r} is not "
            f"{PROVENANCE_V1} or {PROVENANCE_V02}",
        )
    subjects = _subjects(doc)
    predicate = doc.get("predicate")
    if predicate_type == PROVENANCE_V01 and isinstance(doc.get("slsaProvenance"), dict):
        predicate = doc[
            "slsaProvenance"
        ]  # GCB's v0.1 statements carry the predicate under this name
    if not isinstance(predicate, dict):
        raise StatementError("statement-invalid", "statement has no predicate object")
    if predicate_type == PROVENANCE_V1:
        build_type = _obj(predicate.get("buildDefinition")).get("buildType")
        validate_provenance_v1(predicate, allow_empty_builder=build_type in BUILDKIT_BUILD_TYPES)
        return _v1(statement_type, subjects, predicate)
    if predicate_type == PROVENANCE_V02:
        return _v02(statement_type, subjects, predicate)
    from verifier.checks.provenance.gcb import read_v01

    return read_v01(statement_type, subjects, predicate)


def _require_builder(builder: Any, where: str) -> str:
    if not isinstance(builder, dict) or not isinstance(builder.get("id"), str):
        raise StatementError("statement-invalid", f"{where} has no builder id")
    return str(builder["id"])


def _v02(
    statement_type: str, subjects: tuple[tuple[str, dict[str, str]], ...], pred: dict[str, Any]
) -> Provenance:
    builder_id = _require_builder(pred.get("builder"), "predicate")
    build_type = _str(pred.get("buildType"))
    invocation = _obj(pred.get("invocation"))
    config = _obj(invocation.get("configSource"))
    env = _obj(invocation.get("environment"))
    uri, ref = split_git_uri(_str(config.get("uri")))
    commit = _str(_obj(config.get("digest")).get("sha1"))
    workflow = _str(config.get("entryPoint"))
    mode = ""
    if build_type in BUILDKIT_BUILD_TYPES:
        vcs = _obj(
            _obj(
                _obj(pred.get("metadata")).get("https://mobyproject.org/buildkit@v1#metadata")
            ).get("vcs")
        )
        if vcs:
            uri, ref = split_git_uri(_str(vcs.get("source")))
            commit = _str(vcs.get("revision"))
        workflow = ""
        mode = "max" if "buildConfig" in pred else "min"
    ref = _str(env.get("github_ref")) or ref
    payload = _obj(env.get("github_event_payload"))
    return Provenance(
        statement_type=statement_type,
        predicate_type=PROVENANCE_V02,
        build_type=build_type,
        builder_id=builder_id,
        subjects=subjects,
        source_uri=uri,
        source_repository=canonical_repository(uri),
        ref=ref,
        commit=commit,
        workflow_path=workflow,
        repository_id=_str(env.get("github_repository_id")),
        base_ref=_str(payload.get("base_ref")),
        buildkit_mode=mode,
    )


def _v1(
    statement_type: str, subjects: tuple[tuple[str, dict[str, str]], ...], pred: dict[str, Any]
) -> Provenance:
    definition = pred.get("buildDefinition")
    if not isinstance(definition, dict) or not isinstance(definition.get("buildType"), str):
        raise StatementError("statement-invalid", "predicate has no buildDefinition.buildType")
    run = pred.get("runDetails")
    if not isinstance(run, dict):
        raise StatementError("statement-invalid", "predicate has no runDetails")
    builder_id = _require_builder(run.get("builder"), "runDetails")
    build_type = str(definition["buildType"])
    external = _obj(definition.get("externalParameters"))
    internal = _obj(definition.get("internalParameters"))
    deps = definition.get("resolvedDependencies")
    first_dep = _obj(deps[0]) if isinstance(deps, list) and deps else {}
    uri = ref = commit = workflow = repo_id = base_ref = mode = ""
    if build_type.startswith("https://gcb-buildtypes") or build_type.startswith(
        "https://cloud.google.com/build/"
    ):
        from verifier.checks.provenance.gcb import read_v1

        return read_v1(statement_type, subjects, pred, builder_id, build_type)
    workflow_params = _obj(external.get("workflow"))
    if workflow_params:  # GitHub workflow buildTypes
        uri = _str(workflow_params.get("repository"))
        ref = _str(workflow_params.get("ref"))
        workflow = _str(workflow_params.get("path"))
        repo_id = _str(_obj(internal.get("github")).get("repository_id"))
        commit = _str(_obj(first_dep.get("digest")).get("gitCommit"))
    elif isinstance(external.get("source"), dict):  # container-based builder
        source = _obj(external.get("source"))
        uri, ref = split_git_uri(_str(source.get("uri")))
        commit = _str(_obj(source.get("digest")).get("sha1"))
        ref = _str(internal.get("GITHUB_REF")) or ref
        workflow = _str(internal.get("GITHUB_WORKFLOW"))
        repo_id = _str(internal.get("GITHUB_REPOSITORY_ID"))
        base_ref = _str(_obj(internal.get("GITHUB_EVENT_PAYLOAD")).get("base_ref"))
    if build_type in BUILDKIT_BUILD_TYPES:
        meta = _obj(_obj(run.get("metadata")).get("buildkit_metadata"))
        vcs = _obj(meta.get("vcs"))
        if vcs:
            uri, ref = split_git_uri(_str(vcs.get("source")))
            commit = _str(vcs.get("revision"))
        mode = "max" if "buildConfig" in internal else "min"
    if not commit and first_dep and not workflow_params:
        commit = _str(_obj(first_dep.get("digest")).get("gitCommit")) or _str(
            _obj(first_dep.get("digest")).get("sha1")
        )
    return Provenance(
        statement_type=statement_type,
        predicate_type=PROVENANCE_V1,
        build_type=build_type,
        builder_id=builder_id,
        subjects=subjects,
        source_uri=uri,
        source_repository=canonical_repository(uri),
        ref=ref,
        commit=commit,
        workflow_path=workflow,
        repository_id=repo_id,
        base_ref=base_ref,
        buildkit_mode=mode,
    )
