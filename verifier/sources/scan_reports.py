"""Read scanner reports: SARIF 2.1.0 (Trivy and others), Trivy's native JSON report, and the body of a
cosign vulnerability attestation (``https://cosign.sigstore.dev/attestation/vuln/v1``, Trivy
``--format cosign-vuln``); and the waiver files the ``sarif-severity`` check judges findings against.

A SARIF log is decoded through msgspec Structs generated from the SARIF 2.1.0 JSON schema
(:mod:`verifier.sources.sarif_model`): a log the schema rejects (a wrongly typed or unknown key, a value
outside an enum, a missing required key, repeated items where the schema wants them unique) is refused with
the JSON pointer of the first problem. Trivy JSON and cosign-vuln bodies have no schema here: they are
decoded into structs holding only the fields the check uses (unknown fields skipped without being
materialised). Every input must be UTF-8 (RFC 8259 §8.1), as json.loads requires. The size cap is applied
before anything is parsed; a 200 MB report stays far below 1 GiB of memory (see bench/bench_sarif.py).

Reading only: what each report says it scanned (Trivy records the image name, repository digests and
image ID for container images: SARIF ``runs[].properties``, Trivy JSON ``Metadata``) and when (SARIF
``invocations[]`` times, Trivy JSON ``CreatedAt``, the attestation's ``metadata.scanFinishedOn``) are
returned as :class:`ScanRecord` per scan; whether that is the gated image, or recent enough, is judged
by the check.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from verifier.errors import InputError
from verifier.sources import sarif_model
from verifier.sources.files import DEFAULT_MAX_BYTES, read_bytes

if TYPE_CHECKING:
    from verifier.sources.trivyignore import IgnoreRule
    from verifier.sources.vex import VexDocument

COSIGN_VULN_PREDICATE = "https://cosign.sigstore.dev/attestation/vuln/v1"

# --- SARIF 2.1.0: the generated schema model (sarif_model.py), under the names the check uses -----------

Rule = sarif_model.ReportingDescriptor
SarifResult = sarif_model.Result
Run = sarif_model.Run
SarifLog = sarif_model.SarifLog
ToolComponent = sarif_model.ToolComponent
ToolComponentReference = sarif_model.ToolComponentReference


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


# --- Trivy JSON, as a whole -------------------------------------------------------------------------------


class ScanDocument(msgspec.Struct, frozen=True):
    """A Trivy JSON report (``SchemaVersion`` + ``Results``); ``runs`` only tells a SARIF log apart (a
    cosign-vuln body must carry Trivy JSON)."""

    runs: msgspec.Raw = msgspec.Raw()  # empty: absent
    schema_version: int | None = msgspec.field(default=None, name="SchemaVersion")
    created_at: str | int | None = msgspec.field(default=None, name="CreatedAt")
    artifact_name: str | None = msgspec.field(default=None, name="ArtifactName")
    artifact_type: str | None = msgspec.field(default=None, name="ArtifactType")
    trivy: TrivyVersion | None = msgspec.field(default=None, name="Trivy")
    results: list[TrivyResult] | None = msgspec.field(default=None, name="Results")
    metadata: TrivyMetadata | None = msgspec.field(default=None, name="Metadata")


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
    """A decoded scanner report: the document (a SARIF log, or a Trivy JSON report), its format, the
    scanner, and one record per scan."""

    document: SarifLog | ScanDocument
    format: ReportFormat
    scans: tuple[ScanRecord, ...]
    scanner: str | None = None

    @property
    def is_sarif(self) -> bool:
        """True for a SARIF log."""
        return isinstance(self.document, SarifLog)

    @property
    def runs(self) -> list[Run]:
        """A SARIF log's runs (empty when ``runs`` is null, and for a Trivy report)."""
        return (self.document.runs or []) if isinstance(self.document, SarifLog) else []

    @property
    def trivy(self) -> ScanDocument:
        """A Trivy report (``trivy-json`` or the body of a ``cosign-vuln``); TypeError for SARIF."""
        if isinstance(self.document, SarifLog):
            raise TypeError("a SARIF log is not a Trivy JSON report")
        return self.document


_TOP_LEVEL_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])
_TRIVY_DECODER = msgspec.json.Decoder(ScanDocument)
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
            if isinstance(value, str):
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


def _json_object(data: bytes, name: str, what: str) -> bytes:
    """The document without leading white space and UTF-8 byte order mark; it must be a JSON object."""
    stripped = data.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):
        stripped = stripped[3:].lstrip()
    if not stripped.startswith(b"{"):
        raise InputError(name, f"not a JSON object: expected {what}")
    return stripped


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes, name: str, what: str) -> Any:
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise InputError(name, f"not a valid {what}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InputError(name, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(name, "JSON is nested too deeply") from None


_UTF8_CHUNK = 1 << 20


def _require_utf8(data: bytes, name: str) -> None:
    """RFC 8259 §8.1: JSON text is UTF-8. msgspec checks the strings it decodes, not those it skips, so
    a report decoded into partial structs is checked here first (in chunks: no copy of the whole file)."""
    if data.isascii():
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(view), _UTF8_CHUNK):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(
                view[start : start + _UTF8_CHUNK], final=start + _UTF8_CHUNK >= len(view)
            )
        except UnicodeDecodeError as exc:
            offset = start - pending + exc.start
            raise InputError(name, f"not valid UTF-8 (byte {offset}: {exc.reason})") from None


_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")
_MSGSPEC_ERROR = re.compile(r"(?s)(.*) - at `\$(.*)`")
_MISSING = re.compile(r"Object missing required field `(.*)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(.*)`")


_MAP_KEY = None  # a step msgspec does not name: a key of a JSON object decoded as a map


def _steps(path: str) -> list[str | int | None]:
    """msgspec's ``$.runs[0].originalUriBaseIds[...].uri`` as steps: keys, indices and ``_MAP_KEY``."""
    steps: list[str | int | None] = []
    for match in _PATH_STEP.finditer(path):
        key, index = match.group(1), match.group(2)
        steps.append(key if key is not None else int(index) if index is not None else _MAP_KEY)
    return steps


def _error_steps(data: bytes) -> list[str | int | None] | None:
    """Where the schema model first refuses ``data`` (None: it does not)."""
    try:
        sarif_model.DECODER.decode(data)
    except msgspec.ValidationError as exc:
        match = _MSGSPEC_ERROR.fullmatch(str(exc))
        return _steps(match.group(2)) if match else []
    return None


def _json_pointer(path: str, data: bytes) -> str:
    """msgspec's path as an RFC 6901 JSON pointer (``/runs/0/tool``). msgspec does not name a key of a
    JSON object read as a map (``[...]``): it is found by halving that object until one key's value alone
    reproduces the error (error path only: a few more decodes); ``*`` if that fails (a repeated key)."""
    steps = _steps(path)
    if _MAP_KEY in steps:
        try:
            doc = msgspec.json.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            doc = None  # a number out of range, for one: the key stays "*"
        node: Any = doc
        for i, step in enumerate(steps):
            if step is _MAP_KEY and isinstance(node, dict):
                step = steps[i] = _failing_key(doc, node, steps[: i + 1])
            if isinstance(node, dict) and isinstance(step, str) and step in node:
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and step < len(node):
                node = node[step]
            else:
                break
    return "".join("/" + ("*" if step is None else _escape(str(step))) for step in steps)


def _failing_key(doc: Any, mapping: dict[str, Any], at: list[str | int | None]) -> str | None:
    """The first key of ``mapping`` (inside ``doc``) whose value the schema model refuses at ``at``."""
    everything = dict(mapping)
    candidates = list(everything)
    try:
        while candidates:
            half = candidates[: max(1, len(candidates) // 2)]
            mapping.clear()
            mapping.update((key, everything[key]) for key in half)
            failed = (_error_steps(msgspec.json.encode(doc)) or [])[: len(at)] == at
            if len(half) == 1 and len(candidates) == 1:
                return half[0] if failed else None
            candidates = half if failed else candidates[len(half) :]
        return None
    finally:
        mapping.clear()
        mapping.update(everything)


def _escape(key: str) -> str:
    """A key as a JSON pointer step (RFC 6901 §3)."""
    return key.replace("~", "~0").replace("/", "~1")


def _sarif_problem(exc: msgspec.ValidationError, data: bytes) -> str:
    """Where (JSON pointer) and what the first problem is, from msgspec's error."""
    match = _MSGSPEC_ERROR.fullmatch(str(exc))  # no path: the top level
    what, pointer = (
        (match.group(1), _json_pointer(match.group(2), data)) if match else (str(exc), "")
    )
    if missing := _MISSING.fullmatch(what):
        return f"{pointer}/{_escape(missing.group(1))}: missing (the schema requires it)"
    if unknown := _UNKNOWN.fullmatch(what):
        key = _escape(unknown.group(1))
        return f"{pointer}/{key}: unknown key (the schema allows no other key there)"
    return f"{pointer}: {what}" if pointer else f"the top level: {what}"


def _parse_sarif(data: bytes, top: dict[str, msgspec.Raw], name: str) -> ScanReport:
    """Decode a SARIF log through the schema model and record what each run says it scanned, and when."""
    if "version" in top:
        version = _decode(_ANY_DECODER, top["version"], name, "SARIF version")
        if version != "2.1.0":
            raise InputError(name, f"SARIF version {version!r} is not supported (expected '2.1.0')")
    try:
        doc: SarifLog = sarif_model.DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise InputError(name, f"not valid SARIF 2.1.0: {_sarif_problem(exc, data)}") from None
    except msgspec.DecodeError as exc:
        raise InputError(name, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(name, "JSON is nested too deeply") from None
    scans = []
    for index, run in enumerate(doc.runs or []):
        props = run.properties
        artifact = (
            _artifact(props.image_name, props.image_id, props.repo_digests, props.repo_tags)
            if props
            else None
        )
        scans.append(
            ScanRecord(
                pointer=f"runs[{index}]",
                artifact=artifact,
                scanned_at=_sarif_run_time(run, name, index),
            )
        )
    driver = doc.runs[0].tool.driver if doc.runs else None
    return ScanReport(
        document=doc,
        format="sarif",
        scans=tuple(scans),
        scanner=_scanner(driver.name, driver.version or None) if driver else None,
    )


def _check_trivy(doc: ScanDocument, name: str, where: str = "") -> None:
    if doc.schema_version != 2:
        raise InputError(
            name,
            f"{where}Trivy JSON SchemaVersion {doc.schema_version} is not supported (expected 2)",
        )


def parse_scan_report(data: bytes, name: str) -> ScanReport:
    """Decode and shape-check a SARIF log (checked against the SARIF 2.1.0 schema), a Trivy JSON report,
    or a cosign-vuln body (:func:`parse_cosign_vuln`); every problem is an InputError naming ``name`` (not
    UTF-8 JSON, another kind of document, not what the SARIF schema allows, an unsupported version, a
    malformed time)."""
    what = "SARIF 2.1.0 or a Trivy JSON report"
    data = _json_object(data, name, what)
    top: dict[str, msgspec.Raw] = _decode(_TOP_LEVEL_DECODER, data, name, what)
    if "runs" in top:
        return _parse_sarif(data, top, name)
    _require_utf8(data, name)
    if "SchemaVersion" in top and bytes(top["SchemaVersion"]) != b"null":
        doc: ScanDocument = _decode(_TRIVY_DECODER, data, name, what)
        _check_trivy(doc, name)
        version = doc.trivy.version if doc.trivy else None
        return ScanReport(
            document=doc,
            format="trivy-json",
            scans=(_trivy_record(doc, name, ""),),
            scanner=_scanner("Trivy", version),
        )
    if any(bytes(top.get(key, b"null")) != b"null" for key in _COSIGN_VULN_KEYS):
        return parse_cosign_vuln(data, name)
    raise InputError(name, "neither SARIF (no 'runs') nor a Trivy JSON report (no 'SchemaVersion')")


# The keys of a cosign-vuln body or of a statement carrying one.
_COSIGN_VULN_KEYS = ("predicateType", "predicate", "scanner")
_ANY_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


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
    data = _json_object(data, name, what)
    _require_utf8(data, name)
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
    if len(result.runs) or result.schema_version is None:
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
