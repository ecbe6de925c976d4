"""The regex IRI check answers exactly as rfc3987_syntax (jsonschema's checker), run in a subprocess so the
reference is the unmodified library (its import builds an Earley parser: ~1.5 s, then ~16 ms per string)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import UPSTREAM
from verifier.sbom.iri import is_iri, is_iri_reference

TRICKY = [
    "",
    "a",
    "a b",
    "http://a/b?c#d",
    "//host",
    "//host:80/p",
    "//user@host",
    "///x",
    "../a:b",
    "./a:b",
    "a:b",
    ":a",
    "1a:b",
    "a+b-c.d:e",
    "http://[::1]/",
    "http://[1:2:3:4:5:6:7:8]/",
    "http://[1:2:3:4:5:6:7::]/",
    "http://[::2:3:4:5:6:7:8]/",
    "http://[1::3:4:5:6:7:8]/",
    "http://[1:2:3:4:5:6:1.2.3.4]/",
    "http://[v1.x]/",
    "http://[v1.]/",
    "http://[]/",
    "http://1.2.3.256/",
    "http://01.2.3.4/",
    "http://a@b@c/",
    "http://a:b:c/",
    "http://h:port/",
    "http://h:/",
    "%",
    "%4",
    "%41",
    "%zz",
    "http://x/%41%4",
    "http://ü.de/ä?ö#ü",
    "\u00a0",
    "\ud7ff",
    "\ue000",
    "?\ue000",
    "#\ue000",
    "\uf8ff",
    "\ufdd0",
    "\U0001f600",
    "?\U0001f600",
    "http://x/{id}",
    "http://x/a|b",
    "http://x/a\\b",
    "http://x/a^b",
    "http://x/a`b",
    'http://x/a"b',
    "mailto:x@y.z",
    "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    "git+https://github.com/a/b.git#v1.0",
    "git@github.com:org/repo.git",
    "file:///etc/passwd",
    "a?b?c#d?e/f",
    "a#b#c",
    "http://x/ space",
    "tel:+1-201-555-0123",
    "urn:oid:1.2.3",
    "http://x\n/",
    "http://x/\t",
    "http://[::ffff:1.2.3.4]/",
]


def _reference(values: list[str]) -> list[list[bool]]:
    code = (
        "import json,sys\nfrom rfc3987_syntax import is_valid_syntax as v\n"
        "print(json.dumps([[v('iri',s), v('iri_reference',s)] for s in json.load(sys.stdin)]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return list(json.loads(proc.stdout))


def _real_urls(limit: int) -> list[str]:
    doc = json.loads(
        (UPSTREAM / "sbom/cyclonedx/large/node-npm-juice-shop-flat-1.6.cdx.json").read_bytes()
    )
    urls: list[str] = []
    for comp in doc["components"]:
        urls.extend(ref["url"] for ref in comp.get("externalReferences", []))
    appthreat = json.loads(
        (
            UPSTREAM / "sbom/cyclonedx/large/sbom-utility-appthreat-cdxgen-1.4-with-vulns.cdx.json"
        ).read_bytes()
    )
    for service in appthreat.get("services", []):
        urls.extend(service.get("endpoints", []))
    seen = sorted(set(urls))
    step = max(1, len(seen) // limit)
    return seen[::step][:limit]


def test_agrees_with_rfc3987_syntax() -> None:
    values = TRICKY + _real_urls(60)
    reference = _reference(values)
    ours = [[is_iri(v), is_iri_reference(v)] for v in values]
    mismatches = [(v, r, o) for v, r, o in zip(values, reference, ours, strict=True) if r != o]
    assert mismatches == []
    # The set exercises both answers of both rules.
    assert {tuple(r) for r in reference} >= {(True, True), (False, True), (False, False)}


def test_non_strings_pass_like_jsonschema_formats() -> None:
    assert is_iri(3) and is_iri_reference(None)


def test_linear_time_on_hostile_input() -> None:
    import time

    start = time.perf_counter()
    for value in ("http://" + "a" * 200_000 + "@", "//" + ":" * 200_000 + "x", "a" * 200_000 + " "):
        is_iri_reference(value)
    assert time.perf_counter() - start < 2.0
