"""Bounded fuzz tests over every CLI entry point (issue 19): hostile input never crashes ``verifier``.

Each test feeds generated and mutated documents (seeds: the vendored real documents, see seeds.py) to one
command, in-process through ``verifier.adapters.cli:main``, and asserts exit 0/1/2/3, no traceback, and no
exit 0 on input that the reference parser (json, libyaml, the schemas, sigstore-python) rejects. The suite
runs a fixed, derandomised number of examples per command (``VERIFIER_FUZZ_EXAMPLES``, default 50); a long
campaign runs the same tests with ``VERIFIER_FUZZ_CAMPAIGN=1`` and many more examples (see
tests/fuzz/campaign.py).
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import seeds
from tests.fuzz.harness import (
    CrashError,
    invoke,
    json_rejects,
    require_not_allowed,
    yaml_rejects,
)
from tests.fuzz.strategies import (
    byte_mutations,
    encode,
    json_values,
    mutated,
    raw_json_attacks,
    raw_yaml_attacks,
)

CAMPAIGN = os.environ.get("VERIFIER_FUZZ_CAMPAIGN") == "1"
FUZZ = settings(
    max_examples=int(os.environ.get("VERIFIER_FUZZ_EXAMPLES", "50")),
    deadline=None,
    derandomize=not CAMPAIGN,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)


def json_inputs(docs: list[Any], raw: list[bytes] | None = None) -> st.SearchStrategy[bytes]:
    """Mutated seed documents (most examples), whole-file attacks, byte-level damage to real files."""
    choices = [
        st.sampled_from(docs).flatmap(mutated).map(encode),
        st.sampled_from(docs).flatmap(mutated).map(encode),
        raw_json_attacks(),
        json_values.map(encode),
    ]
    if raw:
        choices.append(st.sampled_from(raw).flatmap(byte_mutations))
    return st.one_of(choices)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory per module for the input files (hypothesis cannot use function-scoped tmp_path)."""
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=json_inputs(seeds.SARIF, seeds.SARIF_BYTES))
def test_check_sarif(work: Path, data: bytes) -> None:
    """``check sarif FILE`` on SARIF / Trivy JSON."""
    report = work / "report.sarif.json"
    report.write_bytes(data)
    outcome = invoke("check", "sarif", report)
    if json_rejects(data):
        require_not_allowed(outcome, "json rejects")
    elif outcome.code == 0 and _sarif_schema_rejects(json.loads(data)):
        require_not_allowed(outcome, "the SARIF 2.1.0 schema rejects")
    elif outcome.code == 2 and _sarif_schema_accepts(json.loads(data)):
        # The other direction: a log the schema accepts is refused only for a listed reason.
        if not _LISTED_DIFFERENCE.search(outcome.err) and not _has_duplicate_keys(data):
            raise CrashError(
                f"exit 2 on a log the SARIF 2.1.0 schema accepts\n{outcome.err[-1000:]}"
            )


@functools.cache
def _sarif_validator() -> Any:
    import jsonschema

    schema = json.loads(
        (seeds.ASSETS / "upstream" / "sarif-schema" / "sarif-2.1.0.json").read_bytes()
    )
    return jsonschema.Draft7Validator(schema)


# Where the SARIF reader knowingly refuses what json.loads + jsonschema accept (listed and shown in
# tests/unit/sources/test_scan_reports_schema.py): not RFC 8259 JSON (NaN, lone surrogates, numbers out of
# range), an integral float for an integer (draft-07 only; the schema's own draft-04 refuses it), an
# unreadable invocation time, a judged property-bag value of another type, what the check cannot judge,
# and an invalid value under a repeated key (json.loads keeps only the last one).
_LISTED_DIFFERENCE = re.compile(
    r": not valid JSON: |Number out of range|Expected `int`, got `float`"
    r"|invocations\[\d+\]\.(start|end)TimeUtc: .* (is not an RFC 3339|is not a valid) date-time"
    r"|/properties: '(security-severity|imageName|imageID|repoDigests|repoTags)' must be"
    r"|result has no 'message\.text'|result has neither 'ruleId'"
)


def _has_duplicate_keys(data: bytes) -> bool:
    """json.loads keeps the last of repeated keys; the reader decodes (and checks) every one."""
    found = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({key for key, _ in items}) < len(items)
        return dict(items)

    json.loads(data, object_pairs_hook=pairs)
    return found


def _sarif_schema_accepts(doc: Any) -> bool:
    return isinstance(doc, dict) and "runs" in doc and _sarif_validator().is_valid(doc)


def _sarif_schema_rejects(doc: Any) -> bool:
    """The SARIF 2.1.0 schema (the reference for documents with ``runs``; Trivy JSON has its own shape)."""
    if not isinstance(doc, dict) or "runs" not in doc:
        return False
    return not _sarif_validator().is_valid(doc)


@FUZZ
@given(data=json_inputs(seeds.TRUST_POLICIES))
def test_check_trust_policy(work: Path, data: bytes) -> None:
    """``check trust-policy FILE`` on AWS / GCP / Azure JSON."""
    policy = work / "trust.json"
    policy.write_bytes(data)
    outcome = invoke("check", "trust-policy", policy)
    if json_rejects(data):
        require_not_allowed(outcome, "json rejects")


@FUZZ
@given(
    seed=st.sampled_from(seeds.TRUST_POLICY_TEXTS),
    damage=st.data(),
)
def test_check_trust_policy_text(
    work: Path, seed: tuple[str, bytes], damage: st.DataObject
) -> None:
    """``check trust-policy FILE`` on damaged Terraform and YAML (CloudFormation, gcloud) files."""
    suffix, data = seed
    policy = work / f"trust{suffix}"
    policy.write_bytes(damage.draw(byte_mutations(data)))
    invoke("check", "trust-policy", policy)


def _dump_yaml(doc: Any) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=False).encode("utf-8")


def yaml_inputs(docs: list[Any], raw: list[bytes]) -> st.SearchStrategy[bytes]:
    """Mutated seed documents re-dumped, text-level damage to real files, whole-file YAML attacks."""
    return st.one_of(
        st.sampled_from(docs).flatmap(mutated).map(_dump_yaml),
        st.sampled_from(raw).flatmap(byte_mutations),
        raw_yaml_attacks(),
    )


@FUZZ
@given(data=yaml_inputs(seeds.WORKFLOWS, seeds.WORKFLOW_BYTES))
def test_check_actions(work: Path, data: bytes) -> None:
    """``check actions FILE`` on a workflow."""
    workflow = work / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_bytes(data)
    outcome = invoke("check", "actions", workflow)
    # Workflows are read at node level (verifier/workflows/yaml_nodes.py): the reference is libyaml's parser.
    if yaml_rejects(data, construct=False):
        require_not_allowed(outcome, "libyaml rejects")


def _cyclonedx_rejects(data: bytes) -> bool:
    """cyclonedx-python-lib's own JSON schema validator (the reference for CycloneDX JSON)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    doc = json.loads(data)
    version = doc.get("specVersion") if isinstance(doc, dict) else None
    try:
        schema = SchemaVersion.from_version(version) if isinstance(version, str) else None
    except ValueError:
        schema = None
    if schema is None:
        return True
    return JsonStrictValidator(schema).validate_str(data.decode("utf-8")) is not None


@FUZZ
@given(data=json_inputs(seeds.CYCLONEDX + seeds.SPDX))
def test_sbom_inspect_validate(work: Path, data: bytes) -> None:
    """``sbom inspect --validate FILE``: exit 0 only for a document the reference validator accepts."""
    sbom = work / "sbom.json"
    sbom.write_bytes(data)
    outcome = invoke("sbom", "inspect", "--validate", sbom)
    if data.lstrip()[:1] in (b"{", b"[") and json_rejects(data):
        require_not_allowed(outcome, "json rejects")
    elif outcome.code == 0 and '"bomFormat"' in data.decode("utf-8") and _cyclonedx_rejects(data):
        require_not_allowed(outcome, "cyclonedx-python-lib's schema validator rejects")


@FUZZ
@given(data=st.sampled_from(seeds.SBOM_TEXT_BYTES).flatmap(byte_mutations))
def test_sbom_inspect_validate_text(work: Path, data: bytes) -> None:
    """``sbom inspect --validate FILE`` on damaged CycloneDX XML and SPDX tag-value files."""
    sbom = work / "sbom.txt"
    sbom.write_bytes(data)
    invoke("sbom", "inspect", "--validate", sbom)


def _sigstore_python_rejects(bundle: bytes, artifact: bytes) -> bool:
    """sigstore-python (the reference client) verifying the same bundle, artifact and identity."""
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier, policy

    try:
        parsed = Bundle.from_json(bundle)
        verifier = Verifier(trusted_root=TrustedRoot.from_file(str(seeds.PINNED_TRUSTED_ROOT)))
        identity = policy.Identity(
            identity=seeds.CONFORMANCE_IDENTITY, issuer=seeds.CONFORMANCE_ISSUER
        )
        if parsed._dsse_envelope is not None:  # noqa: SLF001 - sigstore-python has no public accessor
            verifier.verify_dsse(parsed, identity)
        else:
            verifier.verify_artifact(artifact, parsed, identity)
    except Exception:  # any refusal counts, whatever sigstore-python raises
        return True
    return False


@FUZZ
@given(
    case=st.sampled_from(range(len(seeds.BUNDLE_CASES))),
    mutate=st.data(),
)
def test_verify_bundle(work: Path, case: int, mutate: st.DataObject) -> None:
    """``verify-bundle`` on mutated real bundles: never exit 0 where sigstore-python refuses (keyless) or
    where the unmutated bundle's verdict would be the only right one (key-signed: sigstore-python cannot)."""
    seed = seeds.BUNDLES[case]
    bundle = mutate.draw(
        st.one_of(
            mutated(seed).map(encode),
            st.just(encode(seed)).flatmap(byte_mutations),
            raw_json_attacks(),
        )
    )
    path = work / "bundle.sigstore.json"
    path.write_bytes(bundle)
    artifact = seeds.CONFORMANCE / "a.txt"
    case_dir = seeds.BUNDLE_CASES[case]
    key = case_dir / "key.pub"
    identity: tuple[str | Path, ...] = (
        ("--key", key)
        if key.exists()
        else (
            "--certificate-identity",
            seeds.CONFORMANCE_IDENTITY,
            "--certificate-oidc-issuer",
            seeds.CONFORMANCE_ISSUER,
        )
    )
    outcome = invoke("verify-bundle", "--bundle", path, *identity, artifact)
    if outcome.code != 0:
        return
    if key.exists():
        # A key-signed bundle that still verifies must carry the same signature (the artifact is the same;
        # the optional messageDigest may go).
        signature = json.loads(bundle)["messageSignature"]["signature"]
        assert signature == seed["messageSignature"]["signature"]
    elif _sigstore_python_rejects(bundle, artifact.read_bytes()):
        require_not_allowed(outcome, "sigstore-python refuses")


@FUZZ
@given(data=json_inputs([seeds.TRUSTED_ROOT]))
def test_verify_bundle_trusted_root(work: Path, data: bytes) -> None:
    """``verify-bundle --trusted-root FILE`` with a damaged trusted root."""
    root = work / "trusted_root.json"
    root.write_bytes(data)
    case = seeds.CONFORMANCE / "happy-path-v0.3"
    outcome = invoke(
        "verify-bundle",
        "--bundle",
        case / "bundle.sigstore.json",
        "--certificate-identity",
        seeds.CONFORMANCE_IDENTITY,
        "--certificate-oidc-issuer",
        seeds.CONFORMANCE_ISSUER,
        "--trusted-root",
        root,
        seeds.CONFORMANCE / "a.txt",
    )
    if json_rejects(data):
        require_not_allowed(outcome, "json rejects")


_GATE_SECTIONS = {
    "version": st.sampled_from([1, 2, "1", None]),
    "sarif": st.fixed_dictionaries(
        {"files": st.just(["report.sarif.json"])},
        optional={
            "fail_on": st.lists(st.sampled_from(["critical", "high", "low", "none"]), max_size=3),
            "ignore_unfixed": st.booleans(),
            "deny_ids": st.lists(st.text(max_size=12), max_size=2),
        },
    ),
    "workflows": st.fixed_dictionaries(
        {"paths": st.just(["wf"])},
        optional={"mode": st.sampled_from(["deny", "warn", "off"]), "policy": json_values},
    ),
    "trust_policies": st.fixed_dictionaries(
        {"paths": st.just(["trust.json"])}, optional={"settings": json_values}
    ),
    "sbom": json_values,
    "policy": st.fixed_dictionaries({}, optional={"engine": st.sampled_from(["embedded", "opa"])}),
    "webhook": json_values,
}


def _sanitised(doc: Any) -> Any:
    """No registry, no OPA server, and the decision log inside the work directory."""
    if isinstance(doc, dict):
        doc.pop("image", None)
        doc["decision_log"] = "decisions.jsonl"
        if isinstance(doc.get("policy"), dict):
            doc["policy"].pop("opa_url", None)
            doc["policy"].pop("bundle", None)
    return doc


gate_configs = st.one_of(
    st.fixed_dictionaries({}, optional=_GATE_SECTIONS)
    .flatmap(lambda doc: st.one_of(st.just(doc), mutated(doc)))
    .map(_sanitised)
    .map(_dump_yaml),
    raw_yaml_attacks(),
)


@pytest.fixture(scope="module")
def gate_dir(work: Path) -> Path:
    """The files a fuzzed verifier.yaml points at: a real SARIF report, workflow and trust policy."""
    base = work / "gate"
    (base / "wf" / ".github" / "workflows").mkdir(parents=True)
    (base / "report.sarif.json").write_bytes(encode(seeds.SARIF[0]))
    (base / "wf" / ".github" / "workflows" / "ci.yml").write_bytes(seeds.WORKFLOW_BYTES[0])
    (base / "trust.json").write_bytes(encode(seeds.TRUST_POLICIES[0]))
    return base


def _schema_rejects(data: bytes) -> bool:
    """The committed JSON schema of verifier.yaml (verifier/schemas), with libyaml as the YAML reader."""
    import jsonschema

    from verifier.config import SCHEMA_PATH

    doc = yaml.load(data.decode("utf-8"), Loader=yaml.CSafeLoader)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return not jsonschema.Draft202012Validator(schema).is_valid(doc if doc is not None else {})


@FUZZ
@given(data=gate_configs)
def test_gate_config(gate_dir: Path, data: bytes) -> None:
    """``gate --config verifier.yaml``: never exit 0 on a file libyaml or the config schema rejects."""
    config = gate_dir / "verifier.yaml"
    config.write_bytes(data)
    outcome = invoke("gate", "--config", config)
    if yaml_rejects(data):
        require_not_allowed(outcome, "libyaml rejects")
    elif outcome.code == 0 and _schema_rejects(data):
        require_not_allowed(outcome, "the verifier.yaml schema rejects")
