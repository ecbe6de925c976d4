"""``verifier sbom inspect FILE``: read (and optionally validate) a plain SBOM, for auditors and debugging.

Exit codes: 0 valid (or read without problems when not validated), 1 invalid, 2 unreadable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from verifier.errors import EXIT_ALLOWED, EXIT_DENIED
from verifier.sources.files import MIB


@click.group("sbom")
def group() -> None:
    """Read and validate plain SBOM files (SPDX 2/3, CycloneDX JSON/XML)."""


@group.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--validate",
    "do_validate",
    is_flag=True,
    help="Validate: CycloneDX against the official JSON schema / XSD, SPDX structurally.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="With --validate: also run spdx-tools on SPDX 2 documents (small ones only: it is "
    "quadratic).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(("json", "table")),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--max-size",
    default=128,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse SBOM files larger than this many MiB (checked before parsing).",
)
@click.option("--all-purls", is_flag=True, help="Table format: list every purl, not the first 20.")
def inspect(
    file: Path, do_validate: bool, strict: bool, format_: str, max_size: int, all_purls: bool
) -> None:
    """Summarise FILE: format, spec version, creation time, components, purls, licences.

    `--format json` prints one object with format, spec_version, component_count, purls, licenses,
    valid (true/false, or null when not validated) and problems.
    """
    from verifier.sbom.read import load_sbom
    from verifier.sources.files import read_bytes

    data = read_bytes(file, max_size * MIB)
    loaded = load_sbom(data, str(file), max_bytes=max_size * MIB)
    summary = loaded.summary
    result: dict[str, Any] = {
        "file": str(file),
        **summary.to_dict(),
        "valid": None,
        "validator": None,
    }
    if do_validate or strict:
        from verifier.sbom.validate import validate_sbom

        validation = validate_sbom(data, summary, loaded.document, strict=strict)
        result["valid"] = validation.valid
        result["validator"] = validation.validator
        problems = list(validation.problems)
        # Reader problems are already part of the validation's problems.
        result["problems"] = problems
        code = EXIT_DENIED if validation.valid is False else EXIT_ALLOWED
    else:
        code = EXIT_DENIED if summary.problems else EXIT_ALLOWED
    click.echo(json.dumps(result, indent=2) if format_ == "json" else _table(result, all_purls))
    click.get_current_context().exit(code)


def _table(result: dict[str, Any], all_purls: bool) -> str:
    """The summary for a terminal: values from the SBOM are escaped (no control characters, no lone
    surrogates, which a terminal would obey or stdout could not encode)."""
    from verifier._internal.logsafe import escape

    return "\n".join(escape(line) for line in _table_lines(result, all_purls))


def _table_lines(result: dict[str, Any], all_purls: bool) -> list[str]:
    valid = {True: "valid", False: "INVALID", None: "not validated"}[result["valid"]]
    lines = [
        f"file:          {result['file']}",
        f"format:        {result['format']} {result['spec_version']} ({result['encoding']})",
        f"name:          {result['name'] or '-'}",
        f"created:       {result['created'] or '-'}",
        f"components:    {result['component_count']}",
        f"purls:         {len(result['purls'])}",
        f"licences:      {', '.join(result['license_ids']) or '-'}",
        f"describes:     {', '.join(result['described_digests']) or '-'}",
        f"validation:    {valid}" + (f" ({result['validator']})" if result["validator"] else ""),
    ]
    purls = result["purls"] if all_purls else result["purls"][:20]
    lines += [f"  {p}" for p in purls]
    if len(purls) < len(result["purls"]):
        lines.append(f"  ... {len(result['purls']) - len(purls)} more (--all-purls)")
    if result["problems"]:
        lines.append(f"problems ({len(result['problems'])}):")
        lines += [f"  - {p}" for p in result["problems"]]
    return lines
