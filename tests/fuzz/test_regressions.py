"""The crashes the fuzzers found (issue 19), one reproducer each, through the real CLI entry point.

Fixed here: an exit-2 error naming the file. Found in another slice's code: kept as ``xfail(strict=True)``
with the owning slice in the reason, so the test turns red (XPASS) the day the owner fixes it and the
marker can go.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.fuzz import seeds
from tests.fuzz.harness import invoke

UPSTREAM = seeds.ASSETS / "upstream"
DEEP_YAML = "version: 1\nwebhook: " + "[" * 800 + "]" * 800 + "\n"
BIG_INT_YAML = "version: " + "9" * 5_000 + "\n"
BIG_INT_JSON = '{"Version": "2012-10-17", "Statement": [{"Effect": ' + "9" * 5_000 + "}]}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP_YAML, "line 2: nested deeper than 64 levels"),
        (BIG_INT_YAML, "line 1: integer of 5000 characters (the limit is 100)"),
        ("a: " + "[" * 5_000 + "]" * 5_000, "exceeded maximum nesting depth"),
        ("version: 1\nversion: 1\n", "line 2: duplicate key 'version' (first at line 1)"),
    ],
    ids=["nested-800", "int-5000-digits", "nested-5000", "duplicate-key"],
)
def test_gate_config_hostile_yaml_is_exit_2(tmp_path: Path, text: str, problem: str) -> None:
    """Was: RecursionError / ValueError traceback, exit 1 (config.py's yaml.safe_load)."""
    config = tmp_path / "verifier.yaml"
    config.write_text(text)
    outcome = invoke("gate", "--config", config)
    assert outcome.code == 2
    assert outcome.err.startswith(f"verifier: error: {config}: ")
    assert problem in outcome.err


@pytest.mark.parametrize("text", [DEEP_YAML, BIG_INT_YAML], ids=["nested-800", "int-5000-digits"])
def test_webhook_config_hostile_yaml_is_an_input_error(tmp_path: Path, text: str) -> None:
    """Was: the same tracebacks from the webhook's own loader (now the same load_yaml)."""
    from verifier.adapters.commands.webhook import load_webhook_config
    from verifier.errors import InputError

    config = tmp_path / "verifier.yaml"
    config.write_text(text)
    with pytest.raises(InputError) as info:
        load_webhook_config(config)
    assert info.value.path == str(config)


@pytest.mark.parametrize(
    "command",
    [("check", "trust-policy"), ("sbom", "inspect", "--validate"), ("verify-bundle-root",)],
)
def test_json_with_a_5000_digit_integer_is_exit_2(tmp_path: Path, command: tuple[str, ...]) -> None:
    """Was: ValueError (int max str digits) traceback from files.parse_json's callers."""
    doc = tmp_path / "input.json"
    doc.write_text(BIG_INT_JSON)
    if command == ("verify-bundle-root",):
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
            doc,
            seeds.CONFORMANCE / "a.txt",
        )
    else:
        outcome = invoke(*command, doc)
    assert outcome.code == 2
    assert f"{doc}: a number in the JSON has more than 4300 digits" in outcome.err


def test_spdx_document_describes_a_list(tmp_path: Path) -> None:
    """Was: TypeError (unhashable list) traceback in the SPDX reader; now a reported problem (invalid, exit 1)."""
    doc = json.loads(
        (UPSTREAM / "sbom" / "spdx2" / "spdx-examples-example10-hello-source.spdx.json").read_text()
    )
    doc["documentDescribes"] = [[]]
    path = tmp_path / "sbom.spdx.json"
    path.write_text(json.dumps(doc))
    outcome = invoke("sbom", "inspect", "--validate", path)
    assert outcome.code == 1
    assert "documentDescribes holds a value that is not an SPDX id string" in outcome.out


def test_cyclonedx_xml_in_an_unknown_encoding(tmp_path: Path) -> None:
    """Was: LookupError (unknown encoding) traceback from expat through defusedxml."""
    xml = (UPSTREAM / "sbom" / "cyclonedx" / "syft-golden-image.cdx.xml").read_bytes()
    path = tmp_path / "sbom.cdx.xml"
    path.write_bytes(xml.replace(b'encoding="UTF-8"', b'encoding="TTF-8"', 1))
    outcome = invoke("sbom", "inspect", "--validate", path)
    assert outcome.code == 2
    assert f"{path}: XML in an unknown encoding" in outcome.err


def test_sarif_with_invalid_utf8_is_not_allowed(tmp_path: Path) -> None:
    """Was: exit 0 where json rejects the file (invalid UTF-8 inside a key)."""
    data = (
        UPSTREAM / "sarif" / "trivy" / "ortelius-trivy-0.40.0-empty-results.sarif.json"
    ).read_bytes()
    path = tmp_path / "report.sarif.json"
    path.write_bytes(data.replace(b'"$schema"', b'"\xa4schema"', 1))
    outcome = invoke("check", "sarif", path)
    assert outcome.code == 2
    assert f"{path}: not valid JSON: Invalid UTF-8" in outcome.err


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("$schema", "/$schema: Expected `str`, got `array`"),
        ("fullName", "/runs/0/tool/driver/fullName: Expected `str`, got `array`"),
        ("columnKind", "/runs/0/columnKind: Expected `str`, got `array`"),
        ("shortDescription", "/runs/0/tool/driver/rules/0/shortDescription/uext: unknown key"),
        ("unknown-key", "/%schema: unknown key (the schema allows no other key there)"),
        (
            "rule-default-level",
            "/runs/0/tool/driver/rules/0/defaultConfiguration/level: Invalid enum value 'critical'",
        ),
    ],
)
def test_sarif_with_a_wrongly_typed_informational_field(
    tmp_path: Path, field: str, problem: str
) -> None:
    """Was: exit 0 on a SARIF document the 2.1.0 schema rejects (here a $schema, a driver fullName, a
    columnKind or a rule description of the wrong shape, an unknown key, a rule default level outside
    the enum): no finding was lost, but the input is not what it claims to be."""
    doc = json.loads(
        (
            UPSTREAM / "sarif" / "trivy" / "ortelius-trivy-0.40.0-empty-results.sarif.json"
        ).read_bytes()
    )
    if field == "$schema":
        doc["$schema"] = [doc["$schema"]]
    elif field == "fullName":
        doc["runs"][0]["tool"]["driver"]["fullName"] = []
    elif field == "columnKind":
        doc["runs"][0]["columnKind"] = ["utf16CodeUnits"]
    elif field == "unknown-key":
        doc["%schema"] = doc.pop("$schema")  # the schema allows no other top-level key
    elif field == "rule-default-level":
        doc["runs"][0]["tool"]["driver"]["rules"] = [
            {"id": "CVE-0000-0001", "defaultConfiguration": {"level": "critical"}}
        ]
    else:
        doc["runs"][0]["tool"]["driver"]["rules"] = [
            {"id": "CVE-0000-0001", "shortDescription": {"uext": "a rule's text for people"}}
        ]
    path = tmp_path / "report.sarif.json"
    path.write_text(json.dumps(doc))
    outcome = invoke("check", "sarif", path)
    assert outcome.code == 2
    assert f"{path}: not valid SARIF 2.1.0: {problem}" in outcome.err


def test_sbom_created_past_the_last_datetime(tmp_path: Path) -> None:
    """Was: OverflowError traceback when a creation time with an offset lands past the year 9999."""
    doc = json.loads(
        (UPSTREAM / "sbom" / "spdx2" / "spdx-examples-example10-hello-source.spdx.json").read_text()
    )
    doc["creationInfo"]["created"] = "9999-12-31T23:59:59-01:00"
    path = tmp_path / "sbom.spdx.json"
    path.write_text(json.dumps(doc))
    outcome = invoke("sbom", "inspect", "--validate", path)
    assert outcome.code == 1
    assert "is not an RFC 3339 date-time" in outcome.out


def _bundle_with_leaf_byte(offset: int, value: int) -> dict[str, object]:
    bundle = json.loads(
        (seeds.CONFORMANCE / "happy-path-v0.1" / "bundle.sigstore.json").read_bytes()
    )
    cert = bundle["verificationMaterial"]["x509CertificateChain"]["certificates"][0]  # type: ignore[index]
    der = bytearray(base64.b64decode(cert["rawBytes"]))
    der[offset] = value
    cert["rawBytes"] = base64.b64encode(bytes(der)).decode()
    return bundle


_EC_PUBLIC_KEY_OID = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1 (id-ecPublicKey)


def _leaf_offset(marker: bytes) -> int:
    bundle = json.loads(
        (seeds.CONFORMANCE / "happy-path-v0.1" / "bundle.sigstore.json").read_bytes()
    )
    cert = bundle["verificationMaterial"]["x509CertificateChain"]["certificates"][0]
    return base64.b64decode(cert["rawBytes"]).index(marker)


@pytest.mark.parametrize(
    ("offset", "value"),
    [
        # The 0x04 (uncompressed point) prefix of the leaf's P-256 key: "Invalid key".
        (_leaf_offset(_EC_PUBLIC_KEY_OID) + len(_EC_PUBLIC_KEY_OID) + 13, 0x84),
        # id-ecPublicKey's first byte 0x2a (1.2) -> 0x26 (0.38): "Unknown key type".
        (_leaf_offset(_EC_PUBLIC_KEY_OID) + 2, 0x26),
    ],
    ids=["point-not-on-curve", "unknown-key-type"],
)
def test_bundle_leaf_with_an_unusable_public_key(tmp_path: Path, offset: int, value: int) -> None:
    """Was: ValueError / UnsupportedAlgorithm traceback; now bundle-malformed (exit 1)."""
    path = tmp_path / "bundle.sigstore.json"
    path.write_text(json.dumps(_bundle_with_leaf_byte(offset, value)))
    outcome = invoke(
        "verify-bundle",
        "--bundle",
        path,
        "--certificate-identity",
        seeds.CONFORMANCE_IDENTITY,
        "--certificate-oidc-issuer",
        seeds.CONFORMANCE_ISSUER,
        seeds.CONFORMANCE / "a.txt",
    )
    assert outcome.code == 1


def _verify(bundle: Path, *extra: str | Path, key: Path | None = None) -> tuple[int, str]:
    identity = (
        ("--key", key)
        if key is not None
        else (
            "--certificate-identity",
            seeds.CONFORMANCE_IDENTITY,
            "--certificate-oidc-issuer",
            seeds.CONFORMANCE_ISSUER,
        )
    )
    outcome = invoke(
        "verify-bundle", "--bundle", bundle, *identity, *extra, seeds.CONFORMANCE / "a.txt"
    )
    return outcome.code, outcome.err


@pytest.mark.parametrize(
    ("section", "field", "value", "problem"),
    [
        ("tlogs", "start", "9999-12-31T23:59:59-01:00", "time out of range"),
        ("certificateAuthorities", "end", "9999-12-31T23:59:59-01:00", "time out of range"),
        ("timestampAuthorities", "end", 5, "validFor.end must be an RFC 3339 time string"),
        ("ctlogs", "end", {}, "validFor.end must be an RFC 3339 time string"),
    ],
)
def test_trusted_root_with_an_unusable_validity_time(
    tmp_path: Path, section: str, field: str, value: object, problem: str
) -> None:
    """Was: OverflowError traceback (trust.parse_time), or a non-string end read as "valid for ever"."""
    root = json.loads(json.dumps(seeds.TRUSTED_ROOT))
    entry = root[section][0]
    valid_for = entry["publicKey"]["validFor"] if "publicKey" in entry else entry["validFor"]
    valid_for[field] = value
    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps(root))
    code, err = _verify(
        seeds.CONFORMANCE / "happy-path-v0.3" / "bundle.sigstore.json", "--trusted-root", path
    )
    assert code == 2
    assert err.startswith(f"verifier: error: {path}: {section}[0]")
    assert problem in err


def test_trusted_root_tsa_ending_at_the_last_datetime(tmp_path: Path) -> None:
    """Was: OverflowError when the TSA end is widened by 1 µs for sigstore-python (trust.sigstore_root)."""
    root = json.loads(json.dumps(seeds.TRUSTED_ROOT))
    root["timestampAuthorities"][0]["validFor"]["end"] = "9999-12-31T23:59:59.999999Z"
    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps(root))
    code, err = _verify(
        seeds.CONFORMANCE / "happy-path-v0.3" / "bundle.sigstore.json", "--trusted-root", path
    )
    assert (code, err) == (0, "")


KEY_CASE = seeds.CONFORMANCE / "managed-key-happy-path"


@pytest.mark.parametrize("key_signed", [True, False], ids=["key-signed", "keyless"])
@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("canonicalizedBody", "deep", "log entry body is not JSON"),
        ("integratedTime", "253402300800", "integratedTime: 253402300800 is after the year 9999"),
        ("integratedTime", str(2**63 - 1), "is after the year 9999"),
    ],
)
def test_log_entry_with_hostile_values(
    tmp_path: Path, key_signed: bool, field: str, value: str, problem: str
) -> None:
    """Was: RecursionError (deeply nested body) and ValueError/OSError (integratedTime past the year 9999)
    tracebacks from tlog.py on key-signed bundles; keyless ones failed as "unsupported"."""
    case = KEY_CASE if key_signed else seeds.CONFORMANCE / "happy-path-v0.3"
    bundle = json.loads((case / "bundle.sigstore.json").read_bytes())
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    entry[field] = (
        base64.b64encode(b"[" * 100_000 + b"]" * 100_000).decode() if value == "deep" else value
    )
    path = tmp_path / "bundle.sigstore.json"
    path.write_text(json.dumps(bundle))
    code, err = _verify(path, key=case / "key.pub" if key_signed else None)
    assert code == 1
    assert "verification failed [bundle-malformed]" in err
    assert problem in err


def test_sbom_table_with_lone_surrogates_and_escapes(tmp_path: Path) -> None:
    """Was: UnicodeEncodeError traceback when the table printed a lone surrogate (JSON \\ud800) to stdout;
    ANSI escapes from the SBOM reached the terminal. Values are escaped now."""
    doc = json.loads((UPSTREAM / "sbom" / "cyclonedx" / "syft-identify-1.6.cdx.json").read_bytes())
    doc["components"][0]["purl"] = "pkg:npm/a\ud800\x1b[2J@1"
    path = tmp_path / "sbom.cdx.json"
    path.write_text(json.dumps(doc))
    outcome = invoke("sbom", "inspect", path)
    assert outcome.code == 0
    assert "  pkg:npm/a\\ud800\\x1b[2J@1" in outcome.out.splitlines()
