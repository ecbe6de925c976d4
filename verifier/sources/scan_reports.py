"""Read scanner reports: SARIF 2.1.0 (Trivy and others), Trivy's native JSON report, and the body of a
cosign vulnerability attestation (``https://cosign.sigstore.dev/attestation/vuln/v1``, Trivy
``--format cosign-vuln``); and the waiver files the ``sarif-severity`` check judges findings against.

Decoded with msgspec into typed structs holding only the fields the check uses: unknown fields are skipped
without being materialised, so a 200 MB report stays far below 1 GiB of memory (see bench/bench_sarif.py).
The size cap is applied before anything is parsed.

Reading only: what each report says it scanned (Trivy records the image name, repository digests and
image ID for container images: SARIF ``runs[].properties``, Trivy JSON ``Metadata``) and when (SARIF
``invocations[]`` times, Trivy JSON ``CreatedAt``, the attestation's ``metadata.scanFinishedOn``) are
returned as :class:`ScanRecord` per scan; whether that is the gated image, or recent enough, is judged
by the check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from verifier.errors import InputError
from verifier.sources.files import DEFAULT_MAX_BYTES, read_bytes

if TYPE_CHECKING:
    from verifier.sources.trivyignore import IgnoreRule
    from verifier.sources.vex import VexDocument

COSIGN_VULN_PREDICATE = "https://cosign.sigstore.dev/attestation/vuln/v1"

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


class ToolComponent(msgspec.Struct, frozen=True):
    """``tool.driver`` or one of ``tool.extensions`` (CodeQL query packs): name, version and rules."""

    name: str | None = None
    version: str | None = None
    guid: str | None = None
    rules: list[Rule] | None = None


class Tool(msgspec.Struct, frozen=True):
    """A run's ``tool``: the driver and its extensions."""

    driver: ToolComponent | None = None
    extensions: list[ToolComponent] | None = None


class ToolComponentReference(msgspec.Struct, frozen=True):
    """Which component holds a result's rule: an index into ``tool.extensions``, a name or a guid."""

    name: str | None = None
    index: int | None = None
    guid: str | None = None


class RuleReference(msgspec.Struct, frozen=True, rename="camel"):
    """A result's ``rule`` (``reportingDescriptorReference``): id and index in its tool component."""

    id: str | None = None
    index: int | None = None
    tool_component: ToolComponentReference | None = None


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
    rule: RuleReference | None = None
    level: str | None = None
    message: Text | None = None
    locations: list[ResultLocation] | None = None
    properties: dict[str, Any] | None = None


class Invocation(msgspec.Struct, frozen=True, rename="camel"):
    """One SARIF ``invocation``: whether the tool finished, and when it ran (UTC)."""

    execution_successful: bool | None = None
    start_time_utc: str | None = None
    end_time_utc: str | None = None


class RunProperties(msgspec.Struct, frozen=True):
    """A run's property bag as Trivy writes it for a container image (``pkg/report/sarif.go``)."""

    image_name: str | None = msgspec.field(default=None, name="imageName")
    image_id: str | None = msgspec.field(default=None, name="imageID")
    repo_digests: list[str] | None = msgspec.field(default=None, name="repoDigests")
    repo_tags: list[str] | None = msgspec.field(default=None, name="repoTags")


class Run(msgspec.Struct, frozen=True):
    """One SARIF ``run``: the tool, its results (``None`` when absent: not computed), invocations."""

    tool: Tool | None = None
    results: list[SarifResult] | None = None
    invocations: list[Invocation] | None = None
    properties: RunProperties | None = None


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
    """The report's ``Metadata``: the scanned image's ID, digests, tags and config."""

    image_id: str | None = msgspec.field(default=None, name="ImageID")
    repo_digests: list[str] | None = None
    repo_tags: list[str] | None = None
    image_config: TrivyImageConfig | None = None


class TrivyVersion(msgspec.Struct, frozen=True, rename="pascal"):
    """The report's ``Trivy`` object: the scanner version."""

    version: str | None = None


# --- One struct for both, so a file is decoded once ------------------------------------------------------


class ScanDocument(msgspec.Struct, frozen=True):
    """Either a SARIF log (``version`` + ``runs``) or a Trivy report (``SchemaVersion`` + ``Results``)."""

    version: str | int | None = (
        None  # int: CycloneDX/OpenVEX documents, rejected with a clear message
    )
    runs: list[Run] | None = None
    schema_version: int | None = msgspec.field(default=None, name="SchemaVersion")
    created_at: str | int | None = msgspec.field(default=None, name="CreatedAt")
    artifact_name: str | None = msgspec.field(default=None, name="ArtifactName")
    artifact_type: str | None = msgspec.field(default=None, name="ArtifactType")
    trivy: TrivyVersion | None = msgspec.field(default=None, name="Trivy")
    results: list[TrivyResult] | None = msgspec.field(default=None, name="Results")
    metadata: TrivyMetadata | None = msgspec.field(default=None, name="Metadata")

    @property
    def is_sarif(self) -> bool:
        """True for a SARIF log."""
        return self.runs is not None


# --- cosign vulnerability attestation (predicate body, or the whole in-toto statement) ------------------


class CosignVulnDb(msgspec.Struct, frozen=True):
    """``scanner.db``: which vulnerability database the scanner used."""

    uri: str | None = None
    version: str | None = None


class CosignVulnScanner(msgspec.Struct, frozen=True):
    """``scanner``: who scanned, with which database, and the scanner's own report (``result``)."""

    uri: str | None = None
    version: str | None = None
    db: CosignVulnDb | None = None
    result: ScanDocument | None = None


class CosignVulnMetadata(msgspec.Struct, frozen=True, rename="camel"):
    """``metadata``: when the scan started and finished."""

    scan_started_on: str | None = None
    scan_finished_on: str | None = None


class CosignVulnPredicate(msgspec.Struct, frozen=True):
    """The predicate body of ``https://cosign.sigstore.dev/attestation/vuln/v1``."""

    scanner: CosignVulnScanner | None = None
    metadata: CosignVulnMetadata | None = None


class StatementSubject(msgspec.Struct, frozen=True):
    """An in-toto statement subject: a name and its digests by algorithm."""

    name: str | None = None
    digest: dict[str, str] | None = None


class _CosignVulnInput(msgspec.Struct, frozen=True):
    """A predicate body, or an in-toto statement that carries one (``predicateType`` + ``predicate``)."""

    subject: list[StatementSubject] | None = None
    predicate_type: str | None = msgspec.field(default=None, name="predicateType")
    predicate: CosignVulnPredicate | None = None
    scanner: CosignVulnScanner | None = None
    metadata: CosignVulnMetadata | None = None


# --- What a report says about itself ---------------------------------------------------------------------

ReportFormat = Literal["sarif", "trivy-json", "cosign-vuln"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScannedArtifact:
    """What one scan says it scanned, as Trivy records it for a container image. ``repo_digests`` are
    ``repository@sha256:…`` strings as written (the manifest or index digest Trivy resolved);
    ``image_id`` is the image config digest."""

    name: str | None = None
    image_id: str | None = None
    repo_digests: tuple[str, ...] = ()
    repo_tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRecord:
    """One scan in a report (a SARIF run, or the whole Trivy report): where it points (``pointer``), what
    it scanned (``None``: it does not say) and when it finished (``None``: it does not say), UTC."""

    pointer: str
    artifact: ScannedArtifact | None
    scanned_at: datetime | None
    # The subjects of the in-toto statement that carried the scan, as ``name@algorithm:hex`` (empty when
    # the body came alone): what the attestation says the scan is about.
    attested: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    """A decoded scanner report: the document, its format, the scanner, and one record per scan."""

    document: ScanDocument
    format: ReportFormat
    scans: tuple[ScanRecord, ...]
    scanner: str | None = None

    @property
    def is_sarif(self) -> bool:
        """True for a SARIF log."""
        return self.document.is_sarif


_DECODER = msgspec.json.Decoder(ScanDocument)
_COSIGN_VULN_DECODER = msgspec.json.Decoder(_CosignVulnInput)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})?")


def _time(value: str | int, name: str, where: str, *, naive_is_utc: bool = False) -> datetime:
    """An RFC 3339 time (or Unix seconds) as an aware UTC datetime; fractions beyond microseconds are
    cut (towards older). A time without a zone is refused unless the field is defined as UTC."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise InputError(name, f"{where}: {value} is not a valid Unix time") from None
    text = str(value).strip()
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InputError(name, f"{where}: {value!r} is not an RFC 3339 date-time")
    if match.group(2) is None and not naive_is_utc:
        raise InputError(name, f"{where}: {value!r} has no time zone")
    if match.group(1) is not None and len(match.group(1)) > 6:
        text = text.replace("." + match.group(1), "." + match.group(1)[:6], 1)
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InputError(name, f"{where}: {value!r} is not a valid date-time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _sarif_run_time(run: Run, name: str, run_index: int) -> datetime | None:
    """The oldest time any invocation of the run gives (end time, else start time)."""
    times: list[datetime] = []
    for i, invocation in enumerate(run.invocations or []):
        for field, value in (
            ("endTimeUtc", invocation.end_time_utc),
            ("startTimeUtc", invocation.start_time_utc),
        ):
            if value is not None:
                where = f"runs[{run_index}].invocations[{i}].{field}"
                times.append(_time(value, name, where, naive_is_utc=True))
                break
    return min(times) if times else None


def _artifact(
    name: str | None,
    image_id: str | None,
    repo_digests: Sequence[str] | None,
    repo_tags: Sequence[str] | None,
) -> ScannedArtifact | None:
    if not (name or image_id or repo_digests or repo_tags):
        return None
    return ScannedArtifact(
        name=name or None,
        image_id=image_id or None,
        repo_digests=tuple(repo_digests or ()),
        repo_tags=tuple(repo_tags or ()),
    )


def _trivy_record(doc: ScanDocument, name: str, pointer: str) -> ScanRecord:
    meta = doc.metadata
    artifact = None
    if meta is not None or doc.artifact_type == "container_image":
        artifact = _artifact(
            doc.artifact_name if doc.artifact_type == "container_image" else None,
            meta.image_id if meta else None,
            meta.repo_digests if meta else None,
            meta.repo_tags if meta else None,
        )
    created = doc.created_at
    where = f"{pointer}.CreatedAt" if pointer else "CreatedAt"
    return ScanRecord(
        pointer=pointer or "report",
        artifact=artifact,
        scanned_at=_time(created, name, where) if created is not None else None,
    )


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes, name: str, what: str) -> Any:
    stripped = data.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):
        stripped = stripped[3:].lstrip()
    if not stripped.startswith(b"{"):
        raise InputError(name, f"not a JSON object: expected {what}")
    try:
        return decoder.decode(stripped)
    except msgspec.ValidationError as exc:
        raise InputError(name, f"not a valid {what}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InputError(name, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(name, "JSON is nested too deeply") from None


def _check_trivy(doc: ScanDocument, name: str, where: str = "") -> None:
    if doc.schema_version != 2:
        raise InputError(
            name,
            f"{where}Trivy JSON SchemaVersion {doc.schema_version} is not supported (expected 2)",
        )


def parse_scan_report(data: bytes, name: str) -> ScanReport:
    """Decode and shape-check a SARIF log, a Trivy JSON report, or a cosign-vuln body
    (:func:`parse_cosign_vuln`); every problem is an InputError naming ``name`` (not JSON, another kind of
    document, an unsupported version, a malformed time)."""
    doc: ScanDocument = _decode(_DECODER, data, name, "SARIF 2.1.0 or a Trivy JSON report")
    if doc.runs is not None:
        if doc.version != "2.1.0":
            raise InputError(
                name, f"SARIF version {doc.version!r} is not supported (expected '2.1.0')"
            )
        scans = []
        for index, run in enumerate(doc.runs):
            props = run.properties
            artifact = (
                _artifact(props.image_name, props.image_id, props.repo_digests, props.repo_tags)
                if props is not None
                else None
            )
            scans.append(
                ScanRecord(
                    pointer=f"runs[{index}]",
                    artifact=artifact,
                    scanned_at=_sarif_run_time(run, name, index),
                )
            )
        driver = doc.runs[0].tool.driver if doc.runs and doc.runs[0].tool else None
        return ScanReport(
            document=doc,
            format="sarif",
            scans=tuple(scans),
            scanner=_scanner(driver.name, driver.version) if driver else None,
        )
    if doc.schema_version is not None:
        _check_trivy(doc, name)
        version = doc.trivy.version if doc.trivy else None
        return ScanReport(
            document=doc,
            format="trivy-json",
            scans=(_trivy_record(doc, name, ""),),
            scanner=_scanner("Trivy", version),
        )
    if _looks_like_cosign_vuln(data):
        return parse_cosign_vuln(data, name)
    raise InputError(name, "neither SARIF (no 'runs') nor a Trivy JSON report (no 'SchemaVersion')")


class _CosignVulnProbe(msgspec.Struct, frozen=True):
    """Only whether a document has the keys of a cosign-vuln body or of a statement carrying one."""

    predicate_type: Any = msgspec.field(default=None, name="predicateType")
    predicate: Any = None
    scanner: Any = None


def _looks_like_cosign_vuln(data: bytes) -> bool:
    try:
        probe = msgspec.json.decode(data.lstrip(b"\xef\xbb\xbf \t\r\n"), type=_CosignVulnProbe)
    except (msgspec.DecodeError, RecursionError):
        return False
    return any(v is not None for v in (probe.predicate_type, probe.predicate, probe.scanner))


def _scanner(tool: str | None, version: str | None) -> str | None:
    if not tool:
        return None
    return f"{tool} {version}" if version else tool


def parse_cosign_vuln(data: bytes, name: str) -> ScanReport:
    """Decode the body of a cosign vulnerability attestation (or an in-toto statement carrying one) whose
    ``scanner.result`` is a Trivy JSON report (``trivy image --format cosign-vuln``). The scan time is
    ``metadata.scanFinishedOn`` (else ``scanStartedOn``, else the report's ``CreatedAt``); a statement's
    subjects are kept as :attr:`ScanRecord.attested`. Nothing here verifies a signature: the caller reads
    the body from a verified envelope."""
    what = f"cosign vulnerability attestation ({COSIGN_VULN_PREDICATE})"
    wrapper: _CosignVulnInput = _decode(_COSIGN_VULN_DECODER, data, name, what)
    body: CosignVulnPredicate | _CosignVulnInput = wrapper
    prefix = ""
    if wrapper.predicate_type is not None or wrapper.predicate is not None:
        # A statement names its predicate type; the spec's own example wraps the body in "predicate" only.
        if wrapper.predicate_type not in (None, COSIGN_VULN_PREDICATE):
            raise InputError(
                name,
                f"predicateType {wrapper.predicate_type!r} is not {COSIGN_VULN_PREDICATE!r}",
            )
        if wrapper.predicate is None:
            raise InputError(name, "in-toto statement has no 'predicate'")
        body, prefix = wrapper.predicate, "predicate."
    scanner = body.scanner
    if scanner is None or scanner.result is None:
        raise InputError(
            name, f"{prefix}scanner.result is missing: the attestation carries no scan"
        )
    result = scanner.result
    if result.runs is not None or result.schema_version is None:
        raise InputError(
            name,
            f"{prefix}scanner.result is not a Trivy JSON report (no 'SchemaVersion'): "
            "only Trivy's cosign-vuln results are read",
        )
    _check_trivy(result, name, f"{prefix}scanner.result: ")
    record = _trivy_record(result, name, f"{prefix}scanner.result")
    meta = body.metadata
    scanned_at = record.scanned_at
    for field, value in (
        ("scanFinishedOn", meta.scan_finished_on if meta else None),
        ("scanStartedOn", meta.scan_started_on if meta else None),
    ):
        if value:
            scanned_at = _time(value, name, f"{prefix}metadata.{field}")
            break
    attested = tuple(
        f"{subject.name or ''}@{algorithm}:{value}"
        for subject in wrapper.subject or ()
        for algorithm, value in sorted((subject.digest or {}).items())
    )
    record = ScanRecord(
        pointer=record.pointer, artifact=record.artifact, scanned_at=scanned_at, attested=attested
    )
    # The scanner uri often ends with the version already (pkg:github/aquasecurity/trivy@v0.30.1).
    tool = scanner.uri or "Trivy"
    version = scanner.version if scanner.version and not tool.endswith(scanner.version) else None
    return ScanReport(
        document=result, format="cosign-vuln", scans=(record,), scanner=_scanner(tool, version)
    )


def load_scan_report(
    path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES
) -> ScanReport:
    """Read (size-capped before parsing) and decode one report."""
    name = os.fspath(path)
    return parse_scan_report(read_bytes(name, max_bytes), name)


# --- Waiver files ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiverInputs:
    """Parsed waiver files for ``sarif-severity``: ignore-file rules (in file order), the malformed
    ignore-file lines as ``file:line: problem`` (reported as warnings, never fatal), VEX documents."""

    ignore_rules: tuple[IgnoreRule, ...] = ()
    ignore_problems: tuple[str, ...] = ()
    vex: tuple[VexDocument, ...] = ()


def load_waiver_inputs(
    ignore_files: Sequence[str | os.PathLike[str]],
    vex_files: Sequence[str | os.PathLike[str]],
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> WaiverInputs:
    """Read every ignore file (plain or YAML) and VEX document; a VEX file that is not VEX, or a YAML
    ignore file that cannot be read as one, raises InputError naming it."""
    rules: list[IgnoreRule] = []
    problems: list[str] = []
    if ignore_files:
        from verifier.sources.trivyignore import load_ignore_file

        for path in ignore_files:
            parsed = load_ignore_file(os.fspath(path), max_bytes)
            rules.extend(parsed.rules)
            problems.extend(parsed.problems)
    vex: list[VexDocument] = []
    if vex_files:
        from verifier.sources.vex import load_vex

        vex = [load_vex(os.fspath(path), max_bytes) for path in vex_files]
    return WaiverInputs(ignore_rules=tuple(rules), ignore_problems=tuple(problems), vex=tuple(vex))
