"""Read scanner reports: SARIF 2.1.0 (Trivy and others) and Trivy's native JSON report.

Decoded with msgspec into typed structs holding only the fields the check uses: unknown fields are skipped
without being materialised, so a 200 MB report stays far below 1 GiB of memory (measured in bench/).
The size cap is applied before anything is parsed.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from verifier.errors import InputError
from verifier.sources.files import DEFAULT_MAX_BYTES, read_bytes

# --- SARIF 2.1.0 (only what the severity check reads) ---------------------------------------------------


class Text(msgspec.Struct, frozen=True):
    """A SARIF ``message``/``multiformatMessageString``: its plain ``text``."""

    text: str | None = None


class RuleProperties(
    msgspec.Struct, frozen=True, rename={"security_severity": "security-severity"}
):
    """A rule's property bag: tags and the GitHub ``security-severity`` score."""

    tags: list[str] | None = None
    security_severity: str | float | None = None


class ReportingConfiguration(msgspec.Struct, frozen=True):
    """A rule's ``defaultConfiguration``: the level results inherit."""

    level: str | None = None


class Rule(msgspec.Struct, frozen=True, rename="camel"):
    """A ``reportingDescriptor`` of ``tool.driver.rules``."""

    id: str | None = None
    name: str | None = None
    short_description: Text | None = None
    full_description: Text | None = None
    help: Text | None = None
    default_configuration: ReportingConfiguration | None = None
    properties: RuleProperties | None = None


class Driver(msgspec.Struct, frozen=True):
    """``tool.driver``: the scanner's name, version and rules."""

    name: str | None = None
    version: str | None = None
    rules: list[Rule] | None = None


class Tool(msgspec.Struct, frozen=True):
    """A run's ``tool``."""

    driver: Driver | None = None


class Region(msgspec.Struct, frozen=True, rename="camel"):
    """Where in the artifact a result is (line, column)."""

    start_line: int | None = None
    start_column: int | None = None


class ArtifactLocation(msgspec.Struct, frozen=True):
    """The artifact a result is in (its ``uri``)."""

    uri: str | None = None


class PhysicalLocation(msgspec.Struct, frozen=True, rename="camel"):
    """Artifact plus region of a result."""

    artifact_location: ArtifactLocation | None = None
    region: Region | None = None


class ResultLocation(msgspec.Struct, frozen=True, rename="camel"):
    """One entry of a result's ``locations``."""

    physical_location: PhysicalLocation | None = None


class SarifResult(msgspec.Struct, frozen=True, rename="camel"):
    """One SARIF ``result``: rule, level, message, locations, properties."""

    rule_id: str | None = None
    rule_index: int | None = None
    level: str | None = None
    message: Text | None = None
    locations: list[ResultLocation] | None = None
    properties: dict[str, Any] | None = None


class Run(msgspec.Struct, frozen=True):
    """One SARIF ``run``: the tool and its results."""

    tool: Tool | None = None
    results: list[SarifResult] | None = None
    properties: dict[str, Any] | None = None


# --- Trivy JSON report ----------------------------------------------------------------------------------


class TrivyPkgIdentifier(msgspec.Struct, frozen=True, rename="pascal"):
    """A vulnerable package's identifiers (its purl)."""

    purl: str | None = msgspec.field(default=None, name="PURL")


class TrivyVulnerability(msgspec.Struct, frozen=True, rename="pascal"):
    """One entry of a Trivy result's ``Vulnerabilities``."""

    vulnerability_id: str | None = msgspec.field(default=None, name="VulnerabilityID")
    pkg_name: str | None = None
    pkg_path: str | None = None
    installed_version: str | None = None
    fixed_version: str | None = None
    status: str | None = None
    severity: str | None = None
    title: str | None = None
    pkg_identifier: TrivyPkgIdentifier | None = None


class TrivyCause(msgspec.Struct, frozen=True, rename="pascal"):
    """Where a misconfiguration is (``CauseMetadata``)."""

    start_line: int | None = None


class TrivyMisconfiguration(msgspec.Struct, frozen=True, rename="pascal"):
    """One entry of a Trivy result's ``Misconfigurations``."""

    id: str | None = msgspec.field(default=None, name="ID")
    avd_id: str | None = msgspec.field(default=None, name="AVDID")
    title: str | None = None
    message: str | None = None
    severity: str | None = None
    status: str | None = None
    cause_metadata: TrivyCause | None = None


class TrivySecret(msgspec.Struct, frozen=True, rename="pascal"):
    """One entry of a Trivy result's ``Secrets``."""

    rule_id: str | None = msgspec.field(default=None, name="RuleID")
    title: str | None = None
    severity: str | None = None
    start_line: int | None = None


class TrivyLicense(msgspec.Struct, frozen=True, rename="pascal"):
    """One entry of a Trivy result's ``Licenses``."""

    name: str | None = None
    severity: str | None = None
    pkg_name: str | None = None
    file_path: str | None = None


class TrivyResult(msgspec.Struct, frozen=True, rename="pascal"):
    """One Trivy ``Results`` entry: a scan target and what was found in it."""

    target: str | None = None
    vulnerabilities: list[TrivyVulnerability] | None = None
    misconfigurations: list[TrivyMisconfiguration] | None = None
    secrets: list[TrivySecret] | None = None
    licenses: list[TrivyLicense] | None = None


class TrivyImageConfig(msgspec.Struct, frozen=True):
    """The scanned image's config (architecture)."""

    architecture: str | None = None


class TrivyMetadata(msgspec.Struct, frozen=True, rename="pascal"):
    """The report's ``Metadata``: the scanned image's digests and config."""

    repo_digests: list[str] | None = None
    image_config: TrivyImageConfig | None = None


# --- One struct for both, so a file is decoded once ------------------------------------------------------


class ScanDocument(msgspec.Struct, frozen=True):
    """Either a SARIF log (``version`` + ``runs``) or a Trivy report (``SchemaVersion`` + ``Results``)."""

    version: str | int | None = (
        None  # int: CycloneDX/OpenVEX documents, rejected with a clear message
    )
    runs: list[Run] | None = None
    schema_version: int | None = msgspec.field(default=None, name="SchemaVersion")
    artifact_name: str | None = msgspec.field(default=None, name="ArtifactName")
    results: list[TrivyResult] | None = msgspec.field(default=None, name="Results")
    metadata: TrivyMetadata | None = msgspec.field(default=None, name="Metadata")

    @property
    def is_sarif(self) -> bool:
        """True for a SARIF log."""
        return self.runs is not None


_DECODER = msgspec.json.Decoder(ScanDocument)


def parse_scan_report(data: bytes, name: str) -> ScanDocument:
    """Decode and shape-check a report; every problem is an InputError naming ``name``."""
    stripped = data.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):
        stripped = stripped[3:].lstrip()
    if not stripped.startswith(b"{"):
        raise InputError(name, "not a JSON object: expected SARIF 2.1.0 or a Trivy JSON report")
    try:
        doc = _DECODER.decode(stripped)
    except msgspec.ValidationError as exc:
        raise InputError(name, f"not a valid SARIF or Trivy report: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InputError(name, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(name, "JSON is nested too deeply") from None
    if doc.runs is not None:
        if doc.version != "2.1.0":
            raise InputError(
                name, f"SARIF version {doc.version!r} is not supported (expected '2.1.0')"
            )
        return doc
    if doc.schema_version is not None:
        if doc.schema_version != 2:
            raise InputError(
                name, f"Trivy JSON SchemaVersion {doc.schema_version} is not supported (expected 2)"
            )
        return doc
    raise InputError(name, "neither SARIF (no 'runs') nor a Trivy JSON report (no 'SchemaVersion')")


def load_scan_report(
    path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES
) -> ScanDocument:
    """Read (size-capped before parsing) and decode one report."""
    name = os.fspath(path)
    return parse_scan_report(read_bytes(name, max_bytes), name)
