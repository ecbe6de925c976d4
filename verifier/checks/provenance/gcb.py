"""Google Cloud Build provenance: the SLSA v0.1 and v1 predicates GCB writes (read into a
:class:`~verifier.checks.provenance.statement.Provenance`).

v0.1 (``https://slsa.dev/provenance/v0.1``, GCB writes it also as ``slsaProvenance``): ``builder.id``,
``recipe.type`` (build type), ``materials[0]`` (source uri + sha1), ``recipe.arguments.substitutions``
(``TAG_NAME`` / ``BRANCH_NAME`` give the ref). v1 (buildType under ``cloud.google.com/build``):
``externalParameters.buildConfigSource`` (repository, ref, path): the source is the repository the build
config came from (as slsa-verifier reads it).
"""

from __future__ import annotations

from typing import Any

from verifier.checks.provenance.statement import (
    PROVENANCE_V01,
    PROVENANCE_V1,
    Provenance,
    StatementError,
    canonical_repository,
    split_git_uri,
)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read_v01(
    statement_type: str, subjects: tuple[tuple[str, dict[str, str]], ...], pred: dict[str, Any]
) -> Provenance:
    """A SLSA v0.1 predicate (GCB's legacy format)."""
    builder = pred.get("builder")
    if not isinstance(builder, dict) or not isinstance(builder.get("id"), str):
        raise StatementError("statement-invalid", "predicate has no builder id")
    recipe = _obj(pred.get("recipe"))
    subs = _obj(_obj(recipe.get("arguments")).get("substitutions"))
    materials = pred.get("materials")
    first = _obj(materials[0]) if isinstance(materials, list) and materials else {}
    uri = _str(first.get("uri"))
    # GCB v0.2 writes https://github.com/o/r/commit/<sha>; a versioned GCS source is gs://b/f.tgz#<generation>.
    uri = uri.split("#", 1)[0]
    if "/commit/" in uri:
        uri = uri.split("/commit/", 1)[0]
    ref = ""
    if _str(subs.get("TAG_NAME")):
        ref = "refs/tags/" + _str(subs.get("TAG_NAME"))
    elif _str(subs.get("BRANCH_NAME")):
        ref = "refs/heads/" + _str(subs.get("BRANCH_NAME"))
    return Provenance(
        statement_type=statement_type,
        predicate_type=PROVENANCE_V01,
        build_type=_str(recipe.get("type")),
        builder_id=str(builder["id"]),
        subjects=subjects,
        source_uri=uri,
        source_repository=canonical_repository(uri),
        ref=ref,
        commit=_str(_obj(first.get("digest")).get("sha1")),
        workflow_path=_str(recipe.get("entryPoint")),
    )


def read_v1(
    statement_type: str,
    subjects: tuple[tuple[str, dict[str, str]], ...],
    pred: dict[str, Any],
    builder_id: str,
    build_type: str,
) -> Provenance:
    """A SLSA v1 predicate with a GCB build type."""
    definition = _obj(pred.get("buildDefinition"))
    external = _obj(definition.get("externalParameters"))
    config = _obj(external.get("buildConfigSource"))
    repository = _str(config.get("repository"))
    deps = definition.get("resolvedDependencies")
    first = _obj(deps[0]) if isinstance(deps, list) and deps else {}
    dep_ref = split_git_uri(_str(first.get("uri")))[1]
    source = canonical_repository(repository) if repository else ""
    ref = _str(config.get("ref")) or dep_ref
    return Provenance(
        statement_type=statement_type,
        predicate_type=PROVENANCE_V1,
        build_type=build_type,
        builder_id=builder_id,
        subjects=subjects,
        source_uri=repository,
        source_repository=source,
        ref=ref,
        commit=_str(_obj(first.get("digest")).get("gitCommit"))
        or _str(_obj(first.get("digest")).get("sha1")),
        workflow_path=_str(config.get("path")),
    )
