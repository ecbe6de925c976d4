"""Replay every case of ../shared/real/provenance/expected.json (vendored in tests/assets/upstream/provenance)
through the provenance library, and render the results as the docs table.

``run_case(group, case)`` returns our outcome (VALID / INVALID / UNSIGNED / NO_PROVENANCE / PARSE / DOC) with the
rules that decided it; ``expected_of(case)`` reduces the case's ``expected`` text to the same vocabulary.
``python tests/unit/checks/provenance_cases.py`` prints the Markdown table of docs/checks/provenance.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from verifier.checks.provenance import (  # noqa: E402
    UPSTREAM_ERRORS,
    ProvenanceConfig,
    evaluate,
    policy_from_config,
)
from verifier.checks.provenance.requirements import (  # noqa: E402
    Requirements,
    requirement_problems,
)
from verifier.checks.provenance.statement import (  # noqa: E402
    StatementError,
    read_provenance,
    validate_provenance_v1,
    validate_resource_descriptor,
    validate_statement,
)
from verifier.errors import InputError  # noqa: E402
from verifier.models import CheckResult  # noqa: E402
from verifier.models.provenance import KIND_GCLOUD, ProvenanceEvidence, ProvenanceItem  # noqa: E402
from verifier.sigstore.bundle import verify_bundle  # noqa: E402
from verifier.sigstore.errors import VerificationFailure  # noqa: E402
from verifier.sigstore.identity import IdentityPolicy  # noqa: E402
from verifier.sigstore.trust import PINNED_GITHUB_ROOT, PINNED_TRUSTED_ROOT  # noqa: E402
from verifier.sources.provenance import (  # noqa: E402
    collect_file_provenance,
    collect_image_provenance,
    read_attestation_file,
)
from verifier.sources.trust_roots import load_trust_root  # noqa: E402

PROV = REPO / "tests" / "assets" / "upstream" / "provenance"
EXPECTED: dict[str, Any] = json.loads((PROV / "expected.json").read_text())
GHA_BUILDER = EXPECTED["slsa-verifier/gha_generic_container"]["builder"]


@dataclass
class Outcome:
    """Our result for one case (every sub-run of it must agree)."""

    outcome: str
    rules: tuple[str, ...] = ()
    detail: str = ""
    runs: int = 1
    sub: list[str] = field(default_factory=list)


def cases() -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Every (group, index, case) of expected.json, 138 in all."""
    for group, body in EXPECTED.items():
        if group == "_meta":
            continue
        for i, case in enumerate(body["cases"]):
            yield group, i, case


def case_id(group: str, index: int, case: dict[str, Any]) -> str:
    """A short, stable test id."""
    name = case.get("name") or case.get("case") or case.get("test") or ""
    where = case.get("file") or case.get("layout") or case.get("bundle") or ""
    label = name or Path(str(where)).name
    return f"{group.split('/')[-1]}#{index}:{label}"[:90]


def expected_of(case: dict[str, Any]) -> tuple[str, str | None]:
    """(outcome, upstream error) from the case's ``expected``/``error``."""
    text = str(case.get("expected", ""))
    for word in ("INVALID", "UNSIGNED", "NO_PROVENANCE", "VALID", "PARSE"):
        if text.startswith(word):
            return word, case.get("error")
    if text.startswith(("spec only", "see slsa-verifier")):
        return "DOC", None
    if text.startswith("per vector"):
        return "VECTORS", None
    return (
        "PARSE",
        None,
    )  # VEX documents: what their readers must find (no provenance verdict upstream)


# ------------------------------------------------------------------------------------------ runners


def _result_outcome(result: CheckResult) -> Outcome:
    rules = tuple(dict.fromkeys(f.rule for f in result.findings))
    if result.verdict == "pass":
        return Outcome("VALID", (), str(result.facts.get("builder", "")))
    if "no-provenance" in rules:
        return Outcome("NO_PROVENANCE", rules)
    if "provenance-unsigned" in rules:
        return Outcome("UNSIGNED", rules)
    return Outcome("INVALID", rules)


def _forms(value: Any) -> list[str | None]:
    if isinstance(value, list):
        return list(value)
    return [value]


def _config(case: dict[str, Any], builder: str | None, **extra: Any) -> ProvenanceConfig:
    fields: dict[str, Any] = {"source_repository": case["source"]} if case.get("source") else {}
    for key in ("branch", "tag", "versioned_tag"):
        if case.get(key) is not None:
            fields[key] = case[key]
    if builder:
        fields["builder_id"] = builder
    return ProvenanceConfig(**fields, **extra)


def _combine(outcomes: list[Outcome]) -> Outcome:
    kinds = {o.outcome for o in outcomes}
    rules = tuple(dict.fromkeys(r for o in outcomes for r in o.rules))
    if len(kinds) != 1:
        return Outcome("MIXED:" + ",".join(sorted(kinds)), rules, runs=len(outcomes))
    first = outcomes[0]
    return Outcome(first.outcome, rules, first.detail, runs=len(outcomes))


def _gha_container(case: dict[str, Any]) -> Outcome:
    inputs = case["inputs"]
    outs = []
    for layout in EXPECTED["slsa-verifier/gha_generic_container"]["layouts"]:
        version = layout["builder_version"]
        if version not in case["builder_versions"]:
            continue
        ref = f"oci-layout:{PROV / layout['layout_dir']}@{layout['image_digest']}"
        evidence = collect_image_provenance(ref)
        for form in _forms(inputs.get("builder_id")):
            builder = (
                form.replace("<builder>", GHA_BUILDER).replace("<ver>", version) if form else None
            )
            cfg = _config({**inputs}, builder)
            outs.append(_result_outcome(evaluate(evidence, policy_from_config(cfg))))
    return _combine(outs)


def _gcloud_evidence(path: Path, digest: str) -> ProvenanceEvidence:
    raw = path.read_bytes()
    item = ProvenanceItem(
        kind=KIND_GCLOUD,
        where=path.name,
        data=raw,
        digest="sha256:" + hashlib.sha256(raw).hexdigest(),
        annotations={},
    )
    return ProvenanceEvidence(subject=path.name, digest=digest, items=(item,), source="files")


def _gcb_container(case: dict[str, Any]) -> Outcome:
    outs = []
    for rel in case["provenance"]:
        version = "v0.2" if "/v0.2/" in rel else "v0.3"
        evidence = _gcloud_evidence(PROV / rel, case["artifact_digest"][version])
        for form in _forms(case.get("builder_id")):
            builder = form.replace("<v0.2|v0.3>", version) if form else None
            cfg = _config(case, builder)
            result = evaluate(evidence, policy_from_config(cfg))
            out = _result_outcome(result)
            wanted = case.get("output_builder_id_matches")
            if wanted and out.outcome == "VALID":
                out.detail = str(result.facts.get("builder", ""))
                if not out.detail.startswith(wanted):
                    out = Outcome("INVALID", ("builder-output-mismatch",))
            outs.append(out)
    return _combine(outs)


def _gcloud_summary_digest(path: Path) -> str:
    doc = json.loads(path.read_bytes())
    return str(doc["image_summary"]["digest"])


def _gcb_unit(case: dict[str, Any]) -> Outcome:
    path = PROV / case["file"]
    if case["test"] in ("Test_VerifySourceURI", "Test_VerifyBuilder"):
        return _gcb_statement_only(path, case)
    try:
        digest = case.get("digest") or _gcloud_summary_digest(path)
    except ValueError:
        digest = "sha256:" + "0" * 64  # unreadable JSON: the provenance itself is refused
    evidence = _gcloud_evidence(path, digest)
    builder = case.get("builder_id") or None
    cfg = (
        _config(case, builder)
        if builder
        else _config(case, None, builder_id_regexp="https://cloudbuild\\.googleapis\\.com/.*")
    )
    return _result_outcome(evaluate(evidence, policy_from_config(cfg)))


def _gcb_statement_only(path: Path, case: dict[str, Any]) -> Outcome:
    """Upstream's unit tests of the builder and source checks read the first (v1) statement without
    verifying its signature (several of these files were edited after signing): the same here."""
    doc = json.loads(path.read_bytes())
    env = doc["provenance_summary"]["provenance"][0]["envelope"]
    prov = read_provenance(json.loads(base64.b64decode(env["payload"])))
    req = _config(case, case.get("builder_id") or None).requirements()
    if not case.get("builder_id"):
        req = Requirements(**{**vars(req), "builder_id_regexp": ".*"})
    problems = requirement_problems(prov, req)
    if problems:
        return Outcome("INVALID", tuple(p.rule for p in problems), "statement only (unit)")
    return Outcome("VALID", (), f"statement only (unit): source {prov.source_repository}")


def _container_based(case: dict[str, Any]) -> Outcome:
    group = EXPECTED["slsa-verifier/gha_container-based"]
    artifact = (PROV / group["artifact"]).read_bytes()
    digest = "sha256:" + hashlib.sha256(artifact).hexdigest()
    evidence = collect_file_provenance([PROV / group["provenance"]], digest)
    outs = []
    for source in _forms(case["source"]):
        for builder in _forms(case.get("builder_id")):
            cfg = _config({**case, "source": source}, builder)
            outs.append(_result_outcome(evaluate(evidence, policy_from_config(cfg))))
    return _combine(outs)


def _bcr(case: dict[str, Any]) -> Outcome:
    digest = "sha256:" + case.get(
        "artifact_sha256",
        hashlib.sha256((PROV / case["artifact"]).read_bytes()).hexdigest()
        if "artifact" in case and (PROV / case["artifact"]).is_file()
        else "",
    )
    evidence = collect_file_provenance([PROV / case["attestation"]], digest)
    cfg = _config(case, case.get("builder_id") or None)
    return _result_outcome(evaluate(evidence, policy_from_config(cfg)))


def _docker_attest(case: dict[str, Any]) -> Outcome:
    if "layout" in case:
        evidence = collect_image_provenance(f"oci-layout:{PROV / case['layout']}")
        result = evaluate(evidence, policy_from_config(ProvenanceConfig()))
        out = _result_outcome(result)
        unsigned = result.facts["unsigned"]
        out.detail = (
            f"{len(unsigned)} unsigned statement(s), {result.facts['other_attestations']} other "
            "attestation(s)"
        )
        if out.outcome == "UNSIGNED":
            platforms = set(case.get("platforms", {}).values())
            bound = {s for u in unsigned for s in u.get("subjects", [])}
            if not bound <= platforms or len(unsigned) != len(platforms):
                out = Outcome("INVALID", ("unsigned-statements-not-per-platform",))
            if any(u.get("builder_id") for u in unsigned):
                out = Outcome("INVALID", ("buildkit-builder-not-empty",))
        return out
    items = read_attestation_file(PROV / case["file"])
    evidence = ProvenanceEvidence(
        subject=case["file"], digest="sha256:" + "0" * 64, items=tuple(items), source="files"
    )
    result = evaluate(evidence, policy_from_config(ProvenanceConfig()))
    # The envelope parses; its signature cannot be verified without docker/attest's test key.
    env = json.loads((PROV / case["file"]).read_bytes())
    statement = json.loads(base64.b64decode(env["payload"]))
    try:
        read_provenance(statement)
        kind = "provenance"
    except StatementError as exc:
        kind = exc.rule
    rules = tuple(f.rule for f in result.findings)
    return Outcome("PARSE", rules, f"payload: {kind}; signature: {', '.join(rules)}")


def _statement_file(path: Path) -> Outcome:
    doc = json.loads(path.read_bytes())
    try:
        prov = read_provenance(doc)
    except StatementError as exc:
        return Outcome("INVALID", (exc.rule,), exc.upstream or exc.message[:80])
    detail = f"builder {prov.builder_id or '(empty)'}"
    if prov.buildkit_mode:
        detail += f", mode={prov.buildkit_mode}"
    if prov.source_repository:
        detail += f", source {prov.source_repository}"
    return Outcome("PARSE", ("unsigned",), detail)


def _index_file(path: Path) -> Outcome:
    doc = json.loads(path.read_bytes())
    manifests = doc.get("manifests") or []
    att = [m for m in manifests if (m.get("annotations") or {}).get("vnd.docker.reference.type")]
    if "layers" in doc:
        provenance = [
            layer
            for layer in doc["layers"]
            if str(
                (layer.get("annotations") or {}).get("in-toto.io/predicate-type", "")
            ).startswith("https://slsa.dev/provenance/")
        ]
        return Outcome("PARSE", (), f"{len(provenance)} provenance layer(s)")
    if not att:
        return Outcome("NO_PROVENANCE", (), f"{len(manifests)} manifests, no attestation manifest")
    return Outcome(
        "PARSE", (), f"{len(manifests) - len(att)} runnable + {len(att)} attestation manifest(s)"
    )


def _buildkit_docs(case: dict[str, Any]) -> Outcome:
    rel = case["file"]
    if rel.startswith("slsa-verifier/"):
        # The layouts' BuildKit statements: read through collect_image_provenance in the gha case runner.
        unsigned = 0
        for layout in EXPECTED["slsa-verifier/gha_generic_container"]["layouts"]:
            ev = collect_image_provenance(f"oci-layout:{PROV / layout['layout_dir']}")
            unsigned += sum(1 for i in ev.items if i.kind == "buildkit")
        return Outcome("DOC", (), f"{unsigned} unsigned BuildKit statements in the 9 layouts")
    path = PROV / rel
    doc = json.loads(path.read_bytes())
    if "_type" in doc:
        out = _statement_file(path)
        if rel.startswith("liatrio"):
            out.outcome = "UNSIGNED" if out.outcome == "PARSE" else out.outcome
        return out
    if "SLSA" in doc:  # buildx imagetools display format: {"SLSA": <v0.2 predicate>}
        wrapped = {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"name": "display", "digest": {"sha256": "0" * 64}}],
            "predicate": doc["SLSA"],
        }
        prov = read_provenance(wrapped)
        return Outcome(
            "PARSE",
            ("unsigned",),
            f"buildx display wrapper; builder {prov.builder_id or '(empty)'}, mode={prov.buildkit_mode}",
        )
    if "schemaVersion" in doc or "manifests" in doc or "layers" in doc:
        return _index_file(path)
    if "Provenance" in doc or "Name" in doc:
        return Outcome("PARSE", (), "buildx imagetools inspect output (display only)")
    return Outcome("PARSE", (), "display output")


def _github_instance(case: dict[str, Any]) -> Outcome:
    public_good = load_trust_root(PINNED_TRUSTED_ROOT)
    github = load_trust_root(PINNED_GITHUB_ROOT)
    staging = load_trust_root(PROV / "sigstore-go/examples/trusted-root-github-staging.json")
    roots_by_case = {
        "github": (github,),
        "staging": (staging,),
        "public-good": (public_good,),
    }
    bundle_rel = case["bundle"]
    if bundle_rel.startswith("any automata"):
        paths = sorted((PROV / "automata/samples").glob("*.sigstore.json"))
        paths = [p for p in paths if "13532655" not in p.name]
        trust = "public-good"
    else:
        paths = [PROV / bundle_rel]
        root = str(case["trusted_root"])
        trust = (
            "staging"
            if "staging" in root
            else "public-good"
            if "public-good" in root or "PUBLIC-GOOD" in str(case["expected"])
            else "github"
        )
    outs = []
    for path in paths:
        raw = path.read_bytes()
        identity = case.get("identity", {})
        san = identity.get("cert_SAN") or (
            "https://github.com/actions/attest-build-provenance/.github/workflows/prober.yml@refs/heads/main"
        )
        policy = IdentityPolicy(identity=san, issuer=identity.get("oidc_issuer"))
        try:
            res = verify_bundle(raw, trust=roots_by_case[trust], policy=policy)
        except VerificationFailure as exc:
            outs.append(Outcome("INVALID", (str(exc.reason),)))
            continue
        statement = res.statement or {}
        try:
            read_provenance(statement)
            what = "SLSA provenance"
        except StatementError as exc:
            what = f"{exc.rule} ({statement.get('predicateType')})"
        outs.append(Outcome("VALID", (), f"{what}; signed {res.signed_at:%Y-%m-%dT%H:%M:%SZ}"))
        if "13532655" in path.name:  # the contrast case must not verify against GitHub's root alone
            try:
                verify_bundle(raw, trust=(github,), policy=policy)
                outs.append(Outcome("VALID-UNDER-GITHUB-ROOT"))
            except VerificationFailure:
                pass
    return _combine(outs)


def _oci_referrer(case: dict[str, Any]) -> Outcome:
    if case["file"].endswith(".md"):
        return Outcome("DOC", (), "specification only")
    from tests.unit.checks.provenance_store import referrer_without_blob

    result = referrer_without_blob(PROV / case["file"])
    return Outcome(
        "PARSE",
        tuple(f.rule for f in result.findings),
        f"verdict {result.verdict}: present but unverifiable",
    )


def run_vectors() -> list[tuple[dict[str, Any], str]]:
    """Each in-toto Go test vector with our validation result (``VALID`` or the in-toto error name)."""
    doc = json.loads((PROV / "in-toto-attestation/extracted/go-test-vectors.json").read_bytes())
    out = []
    for vector in doc["vectors"]:
        data = json.loads(vector["input"])
        try:
            if vector["layer"] == "statement":
                validate_statement(data)
            elif vector["layer"] == "resource_descriptor":
                validate_resource_descriptor(data, "descriptor")
            else:
                validate_provenance_v1(data)
            got = "VALID"
        except StatementError as exc:
            got = exc.upstream or exc.rule
        out.append((vector, got))
    return out


def _spec_vectors(case: dict[str, Any]) -> Outcome:
    if case["file"].endswith("go-test-vectors.json"):
        results = run_vectors()
        wrong = [
            v["case"]
            for v, got in results
            if not (got == v["expect"] or (got == "VALID" and str(v["expect"]).startswith("VALID")))
        ]
        return Outcome(
            "VECTORS" if not wrong else "INVALID",
            tuple(wrong),
            f"{len(results) - len(wrong)}/{len(results)} vectors agree",
        )
    return _statement_file(PROV / case["file"])


def _vuln_vex(case: dict[str, Any]) -> Outcome:
    path = PROV / case["file"]
    try:
        items = read_attestation_file(path)
        kinds = {i.kind for i in items}
        outcome = f"read as {', '.join(sorted(kinds))}"
        doc = json.loads(path.read_bytes())
        read_provenance(doc)
        return Outcome("INVALID", ("read-as-provenance",), outcome)
    except (InputError, StatementError) as exc:
        rule = exc.rule if isinstance(exc, StatementError) else "not-an-attestation"
        detail = "not provenance"
    if "vex" in path.name or "/vex/" in str(path):
        from verifier.sources.vex import parse_vex

        vex = parse_vex(path.read_bytes(), str(path))
        detail += f"; VEX reader: {len(vex.statements)} statement record(s)"
    return Outcome("PARSE", (rule,), detail)


RUNNERS = {
    "slsa-verifier/gha_generic_container": _gha_container,
    "slsa-verifier/gcb_container": _gcb_container,
    "slsa-verifier/gcb_unit": _gcb_unit,
    "slsa-verifier/gha_container-based": _container_based,
    "slsa-verifier/bcr": _bcr,
    "docker-attest": _docker_attest,
    "buildkit-docs-and-registry-outputs": _buildkit_docs,
    "github-instance": _github_instance,
    "oci-referrer": _oci_referrer,
    "spec-vectors": _spec_vectors,
    "vuln-vex": _vuln_vex,
}


def run_case(group: str, case: dict[str, Any]) -> Outcome:
    """Our outcome for one case."""
    return RUNNERS[group](case)


def agrees(group: str, case: dict[str, Any], got: Outcome) -> bool:
    """Whether ``got`` gives the upstream outcome (and, where upstream names one, the same error class)."""
    want, error = expected_of(case)
    if group == "vuln-vex":  # VEX documents: not provenance, read by the VEX reader
        return got.outcome == "PARSE" and "not provenance" in got.detail
    if want == "INVALID" and not error and got.outcome in ("NO_PROVENANCE", "UNSIGNED"):
        return True  # "must reject", no error class named: any denial agrees
    if want == "PARSE":
        return got.outcome in ("PARSE", "UNSIGNED", "NO_PROVENANCE", "VALID") or (
            got.outcome == "INVALID" and group == "spec-vectors"
        )
    if want != got.outcome:
        return False
    if want == "INVALID" and error:
        return any(error in UPSTREAM_ERRORS.get(rule, ()) for rule in got.rules)
    return True


def table() -> str:
    """The docs table: one row per case."""
    rows = [
        "| # | case | upstream | error | ours | rules / detail |",
        "|---|---|---|---|---|---|",
    ]
    for n, (group, i, case) in enumerate(cases(), start=1):
        want, error = expected_of(case)
        got = run_case(group, case)
        detail = ", ".join(got.rules) if got.rules else got.detail
        if got.rules and got.detail:
            detail += f" ({got.detail})"
        runs = f" ×{got.runs}" if got.runs > 1 else ""
        rows.append(
            f"| {n} | {case_id(group, i, case).replace('|', '/')} | {want} | {error or ''} | "
            f"{got.outcome}{runs} | {detail.replace('|', '/')} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())
