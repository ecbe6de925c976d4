"""The SARIF reader against the reference: it refuses exactly the logs the SARIF 2.1.0 JSON schema refuses.

The reference is ``jsonschema`` over ``json.loads`` with the vendored schema
(tests/assets/upstream/sarif-schema/sarif-2.1.0.json), which declares draft-04. The reader decodes through
msgspec Structs generated from that schema (verifier/sources/sarif_model.py, written by
bench/gen_sarif_model.py). Where the reader knowingly differs, it is always stricter (it never accepts what
the schema refuses), and each difference is listed in KNOWN_DIFFERENCES and shown by a test below:

1. An integer written with a fraction or exponent (``1.0``, ``1E2``): draft-04 (the schema's own) refuses
   it, as the reader does; draft-06 and later accept it.
2. Numbers outside the range of a double (``1e400``): json.loads makes them ``inf``; the reader refuses.
3. ``NaN``/``Infinity`` literals and lone surrogate escapes (``"\\ud800"``): json.loads accepts them,
   RFC 8259 does not define them (§6, §8.2); the reader refuses.
4. JSON not in UTF-8 (UTF-16/32): json.loads(bytes) accepts it; RFC 8259 §8.1 requires UTF-8, as the reader.
5. Invocation times (``startTimeUtc``/``endTimeUtc``): the schema's ``format: date-time`` is not asserted
   by jsonschema; the reader dates the scan by them and refuses a time it cannot read.
6. Property bags are open (any value); the reader checks the values it judges by: a rule's
   ``security-severity`` (a string or a number), a run's ``imageName``/``imageID`` (strings) and
   ``repoDigests``/``repoTags`` (arrays of strings), each may be null.
7. A repeated key (RFC 8259 §4: names SHOULD be unique): json.loads keeps the last value, so only that
   one meets the schema; the reader decodes every value, and refuses the log if any is invalid.
8. Beyond the reader, the sarif-severity check refuses schema-valid results it cannot judge: a message
   given only by ``id`` (no ``text``), a result naming no rule (no ``ruleId``, no resolvable index).
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import ASSETS, REPO, UPSTREAM
from verifier.errors import InputError
from verifier.sources.scan_reports import parse_scan_report

SCHEMA = json.loads((UPSTREAM / "sarif-schema" / "sarif-2.1.0.json").read_bytes())
REAL = sorted(
    path
    for path in (UPSTREAM / "sarif").glob("*/*.json")
    if "runs" in json.loads(path.read_bytes())
) + [ASSETS / "sarif-severity" / "codeql-extensions.sarif.json"]

KNOWN_DIFFERENCES = {
    "integral-float": "an integer written 1.0: draft-04 refuses it (so does the reader), draft-07 not",
    "out-of-range": "a number outside a double's range: json.loads makes it inf, the reader refuses",
    "not-json": "NaN, Infinity, lone surrogates: not RFC 8259 JSON, json.loads accepts, the reader not",
    "not-utf8": "UTF-16/32 text: json.loads(bytes) accepts it, RFC 8259 and the reader require UTF-8",
    "time": "an invocation time the reader cannot read (format: date-time is not asserted)",
    "property": "a property-bag value the reader judges by, of another type",
    "repeated-key": "an invalid value under a key repeated later: json.loads keeps only the last one",
}


@functools.cache
def _draft4() -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(SCHEMA)


@functools.cache
def _draft7() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(SCHEMA)


def _reader_accepts(data: bytes) -> bool:
    try:
        parse_scan_report(data, "log.sarif")
    except InputError as exc:
        assert str(exc).startswith("log.sarif: "), exc
        return False
    return True


# --- the real logs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_every_real_log_is_valid_for_both(path: Path) -> None:
    data = path.read_bytes()
    assert _draft4().is_valid(json.loads(data))
    assert _reader_accepts(data)


def test_the_committed_model_is_what_the_generator_writes() -> None:
    """verifier/sources/sarif_model.py is generated: regenerate it, byte for byte, from the schema."""
    spec = importlib.util.spec_from_file_location(
        "gen_sarif_model", REPO / "bench" / "gen_sarif_model.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.render() == generator.TARGET.read_text()
    # A keyword it does not model stops it (none in the vendored schema).
    assert list(generator.unmodelled(SCHEMA)) == []
    widened = {**SCHEMA, "definitions": {"x": {"type": "array", "items": {"maxLength": 3}}}}
    assert list(generator.unmodelled(widened)) == ["#/definitions/x/items/maxLength"]


# --- mutations ---------------------------------------------------------------------------------------------

# A log that uses much of the schema (no real scanner log here has invocations, artifacts, code flows, fixes,
# suppressions, graphs or version-control details), valid for the schema.
WIDE: dict[str, Any] = {
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "version": "2.1.0",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "Scanner",
                    "version": "1.2.3",
                    "guid": "0b9e4a5e-1c3d-4f6a-8b7c-9d0e1f2a3b4c",
                    "informationUri": "https://example.org/scanner",
                    "rules": [
                        {
                            "id": "CVE-2024-0001",
                            "name": "OsPackageVulnerability",
                            "shortDescription": {"text": "a flaw"},
                            "defaultConfiguration": {"level": "error", "rank": 90.5},
                            "helpUri": "https://example.org/CVE-2024-0001",
                            "help": {"text": "Severity: HIGH", "markdown": "**HIGH**"},
                            "relationships": [
                                {"target": {"id": "CWE-79", "toolComponent": {"name": "CWE"}}}
                            ],
                            "properties": {"tags": ["vulnerability", "HIGH"], "precision": "high"},
                        },
                        {"id": "CVE-2024-0002", "properties": {"security-severity": "9.8"}},
                    ],
                },
                "extensions": [
                    {"name": "pack", "rules": [{"id": "ext-1", "deprecatedIds": ["old-1"]}]}
                ],
            },
            "invocations": [
                {
                    "executionSuccessful": True,
                    "startTimeUtc": "2026-11-01T10:00:00Z",
                    "endTimeUtc": "2026-11-01T10:05:00.5Z",
                    "exitCode": 0,
                    "arguments": ["image", "--format", "sarif"],
                    "toolExecutionNotifications": [
                        {"message": {"text": "db is 2 days old"}, "level": "note"}
                    ],
                }
            ],
            "artifacts": [
                {
                    "location": {"uri": "usr/lib/libx.so", "uriBaseId": "ROOTPATH"},
                    "roles": ["analysisTarget"],
                    "length": 1024,
                    "hashes": {"sha-256": "00" * 32},
                    "mimeType": "application/octet-stream",
                }
            ],
            "originalUriBaseIds": {"ROOTPATH": {"uri": "file:///"}},
            "versionControlProvenance": [
                {"repositoryUri": "https://example.org/repo", "revisionId": "abc123"}
            ],
            "automationDetails": {"id": "nightly/2026-11-01"},
            "columnKind": "utf16CodeUnits",
            "language": "en-US",
            "results": [
                {
                    "ruleId": "CVE-2024-0001",
                    "ruleIndex": 0,
                    "rule": {"id": "CVE-2024-0001", "index": 0},
                    "kind": "fail",
                    "level": "error",
                    "message": {"text": "Package: libx\nSeverity: HIGH"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "usr/lib/libx.so", "index": 0},
                                "region": {"startLine": 3, "startColumn": 1, "endLine": 4},
                            },
                            "logicalLocations": [{"name": "libx", "kind": "package"}],
                        }
                    ],
                    "partialFingerprints": {"primaryLocationLineHash": "abc"},
                    "relatedLocations": [
                        {"id": 1, "physicalLocation": {"address": {"absoluteAddress": 4096}}}
                    ],
                    "codeFlows": [
                        {
                            "threadFlows": [
                                {
                                    "locations": [
                                        {
                                            "location": {"message": {"text": "step"}},
                                            "nestingLevel": 0,
                                        }
                                    ]
                                }
                            ]
                        }
                    ],
                    "fixes": [
                        {
                            "artifactChanges": [
                                {
                                    "artifactLocation": {"uri": "Dockerfile"},
                                    "replacements": [{"deletedRegion": {"charOffset": 10}}],
                                }
                            ]
                        }
                    ],
                    "suppressions": [{"kind": "external", "status": "underReview"}],
                    "graphTraversals": [{"runGraphIndex": 0}],
                    "rank": 50,
                    "properties": {"tags": ["a", "b"], "anything": [1, {"x": None}]},
                },
                {"ruleId": "CVE-2024-0002", "message": {"id": "default"}},
            ],
            "graphs": [{"nodes": [{"id": "n1"}, {"id": "n2"}], "edges": []}],
            "properties": {
                "imageName": "alpine:3.10",
                "repoDigests": ["alpine@sha256:" + "0" * 64],
            },
        }
    ],
}


def _seeds() -> list[tuple[str, dict[str, Any]]]:
    """The wide log and every real log, trimmed (at most 2 runs, 3 results and 4 rules per component) so
    the reference stays quick; trimming keeps them valid."""
    seeds = [("wide", WIDE)]
    for path in REAL:
        doc = json.loads(path.read_bytes())
        doc["runs"] = doc["runs"][:2]
        for run in doc["runs"]:
            if "results" in run:
                run["results"] = run["results"][:3]
            for component in [run["tool"]["driver"], *run["tool"].get("extensions", [])]:
                if "rules" in component:
                    component["rules"] = component["rules"][:4]
        seeds.append((path.name, doc))
    return seeds


Mutation = tuple[str, tuple[str | int, ...], Callable[[Any], Any]]
# A value of each JSON type, an enum word outside every SARIF enum, bounds and an integral float.
REPLACEMENTS: list[Any] = [
    None,
    True,
    -2,
    0,
    1.0,
    2**70,
    0.5,
    "",
    "critical",
    [],
    [1],
    {},
    {"x": 1},
]


def _nodes(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


def _mutations(doc: dict[str, Any]) -> Iterator[Mutation]:
    """Every mutation of every node: another value (type, enum, bound), an unknown key, a key removed, an
    item repeated, an array emptied."""
    for path, value in _nodes(doc):
        if path:
            for replacement in REPLACEMENTS:
                if replacement != value or type(replacement) is not type(value):
                    yield f"replace with {replacement!r}", path, lambda _old, r=replacement: r
        if isinstance(value, dict):
            yield "unknown key", path, lambda old: {**old, "x-unknown": 1}
            for key in value:
                yield (
                    f"drop {key!r}",
                    path,
                    lambda old, k=key: {n: v for n, v in old.items() if n != k},
                )
        if isinstance(value, list) and value:
            yield "repeat an item", path, lambda old: [*old, copy.deepcopy(old[0])]
            if path:
                yield "empty", path, lambda _old: []


def _apply(doc: dict[str, Any], path: tuple[str | int, ...], change: Callable[[Any], Any]) -> Any:
    out = copy.deepcopy(doc)
    if not path:
        return change(out)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = change(parent[path[-1]])
    return out


# The property-bag keys the reader judges by, per bag owner (rules/<n>/properties, runs/<n>/properties).
JUDGED_PROPERTIES = {
    "rules": {"security-severity"},
    "runs": {"imageName", "imageID", "repoDigests", "repoTags"},
}


def _known_difference(path: tuple[str | int, ...]) -> str | None:
    """Which listed difference a mutation at ``path`` falls under, else None."""
    if "invocations" in path and path[-1] in ("startTimeUtc", "endTimeUtc"):
        return "time"
    for i, step in enumerate(path):
        if step == "properties" and i >= 2 and isinstance(path[i - 1], int):
            judged = JUDGED_PROPERTIES.get(str(path[i - 2]), set())
            if judged and (len(path) == i + 1 or path[i + 1] in judged):
                return "property"
    return None


def _has_integral_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_integral_float(v) for v in value)
    return False


SAMPLE_PER_SEED = 160


def _cases() -> Iterator[tuple[str, str, tuple[str | int, ...], Any]]:
    rng = random.Random(20261207)  # noqa: S311 - a reproducible sample, not a secret
    for name, seed in _seeds():
        mutations = list(_mutations(seed))
        for label, path, change in rng.sample(mutations, min(SAMPLE_PER_SEED, len(mutations))):
            yield name, label, path, _apply(seed, path, change)


def test_the_reader_refuses_exactly_what_the_schema_refuses() -> None:
    """Differential over a seeded sample of mutations of the real logs and the wide log, at every depth."""
    agreed: Counter[str] = Counter()
    stricter: Counter[str] = Counter()
    depths: Counter[str] = Counter()
    disagreements = []
    for name, label, path, doc in _cases():
        data = json.dumps(doc).encode()
        schema_ok = _draft4().is_valid(doc)
        reader_ok = _reader_accepts(data)
        names = {step for step in path if isinstance(step, str)}
        for part in ("tool", "rules", "results", "locations", "invocations", "artifacts"):
            if part in names:
                depths[part] += 1
        depths["runs" if "runs" in names else "top level"] += 1
        if schema_ok == reader_ok:
            agreed["valid" if schema_ok else "invalid"] += 1
            continue
        known = _known_difference(path)
        if known is not None and schema_ok and not reader_ok:
            stricter[known] += 1
            continue
        disagreements.append(f"{name} {'/'.join(map(str, path))} {label}: schema {schema_ok}")
    assert not disagreements, "\n".join(disagreements[:20])
    # The sample reaches every part the reader reads and both outcomes.
    assert (
        min(depths[part] for part in ("tool", "rules", "results", "locations", "top level")) >= 20
    )
    assert depths["invocations"] >= 5 and depths["artifacts"] >= 5
    assert agreed["valid"] >= 100 and agreed["invalid"] >= 500


def _at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def test_draft7_differs_only_on_integral_floats() -> None:
    """The schema declares draft-04; draft-07 (what the fuzz oracle runs) accepts 1.0 as an integer."""
    differs = []
    for name, label, path, doc in _cases():
        if _draft4().is_valid(doc) != _draft7().is_valid(doc):
            differs.append((name, label, _has_integral_float(_at(doc, path))))
    assert differs and all(integral for _, _, integral in differs), differs


# --- each known difference, shown --------------------------------------------------------------------------


def _wide(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(WIDE)
    change(doc)
    return doc


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = [int(step) if step.isdigit() else step for step in path.split("/")]
        node: Any = doc
        for step in parents:
            node = node[step]
        node[last] = value

    return change


@pytest.mark.parametrize(
    ("difference", "text", "problem"),
    [
        (
            "integral-float",
            json.dumps(_wide(_set("runs/0/results/0/ruleIndex", 0.0))),
            "/runs/0/results/0/ruleIndex: Expected `int`, got `float`",
        ),
        (
            "out-of-range",
            json.dumps(_wide(_set("runs/0/results/0/properties/anything", 1))).replace(
                '"anything": 1', '"anything": 1e400'
            ),
            "Number out of range",
        ),
        (
            "not-json",
            json.dumps(_wide(_set("runs/0/results/0/properties/anything", float("nan")))),
            "not valid JSON",
        ),
        (
            "not-json",
            json.dumps(_wide(_set("runs/0/tool/driver/fullName", "\ud800"))),
            "not valid JSON",
        ),
        (
            "time",
            json.dumps(_wide(_set("runs/0/invocations/0/endTimeUtc", "yesterday"))),
            "runs[0].invocations[0].endTimeUtc: 'yesterday' is not an RFC 3339 date-time",
        ),
        (
            "property",
            json.dumps(_wide(_set("runs/0/tool/driver/rules/1/properties/security-severity", []))),
            "/runs/0/tool/driver/rules/1/properties: 'security-severity' must be a string or a number",
        ),
        (
            "repeated-key",
            json.dumps(WIDE).replace('"columnKind": ', '"columnKind": 7, "columnKind": ', 1),
            "/runs/0/columnKind: Expected `str`, got `int`",
        ),
        (
            "property",
            json.dumps(_wide(_set("runs/0/properties/imageName", 7))),
            "/runs/0/properties: 'imageName' must be a string, got `number`",
        ),
    ],
)
def test_known_differences_are_refusals(difference: str, text: str, problem: str) -> None:
    """json.loads + jsonschema accept each of these; the reader refuses it, naming the problem."""
    assert difference in KNOWN_DIFFERENCES
    # An integral float is refused by draft-04 (the schema's own) as by the reader: only draft-07 takes it.
    reference = _draft7() if difference == "integral-float" else _draft4()
    assert reference.is_valid(json.loads(text))
    with pytest.raises(InputError, match="log.sarif: ") as info:
        parse_scan_report(text.encode(), "log.sarif")
    assert problem in str(info.value)


def test_utf16_is_refused_though_json_loads_reads_it() -> None:
    data = json.dumps(WIDE).encode("utf-16")
    assert _draft4().is_valid(json.loads(data))
    with pytest.raises(InputError, match="log.sarif: not a JSON object"):
        parse_scan_report(data, "log.sarif")
