"""``verifier check actions PATH...``: every GitHub Actions ``uses:`` pinned to a full commit SHA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from verifier.adapters.common import ReportOptions, finish, report_options
from verifier.errors import ConfigError, InputError
from verifier.sources.files import MIB

CHECK_ID = "actions-pinned"
# Keys of the `actions-pinned:` config section (verifier.yaml) and what each must be.
CONFIG_KEYS = {
    "policy": dict,
    "deny_rules": list,
    "warn_rules": list,
    "mode": str,
    "warn_waived": bool,
}


def _pin_option(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        pattern, sep, mode = value.partition("=")
        if not sep or not pattern.strip() or not mode.strip():
            raise click.BadParameter(
                f"expected PATTERN=MODE (e.g. 'actions/*=ref-pin'); got {value!r}"
            )
        out[pattern.strip()] = mode.strip()
    return out


def _validate(section: dict[str, Any], origin: str) -> dict[str, Any]:
    for key, value in section.items():
        expected = CONFIG_KEYS.get(key)
        if expected is None:
            raise ConfigError(
                f"{origin}: unknown key {key!r} in `{CHECK_ID}:` (known: {', '.join(CONFIG_KEYS)})"
            )
        if not isinstance(value, expected):
            raise ConfigError(f"{origin}: `{CHECK_ID}.{key}` must be a {expected.__name__}")
    if section.get("mode", "deny") not in ("deny", "warn"):
        raise ConfigError(f"{origin}: `{CHECK_ID}.mode` must be 'deny' or 'warn'")
    return section


@click.command("actions")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml; its `actions-pinned:` section sets the pin policy "
    "(e.g. policy: {'*': hash-pin, 'actions/*': ref-pin}).",
)
@click.option(
    "--pin",
    "pins",
    multiple=True,
    callback=_pin_option,
    metavar="PATTERN=MODE",
    help="Pin policy entry, overriding the config: PATTERN is *, owner/*, owner/repo, owner/repo/* "
    "or owner/repo/path; MODE is hash-pin, ref-pin or any. Repeatable.",
)
@click.option(
    "--max-size",
    default=4,
    show_default=True,
    type=click.IntRange(1),
    help="Treat workflow/action files larger than this many MiB as unreadable.",
)
@click.option(
    "--quiet-skips",
    is_flag=True,
    help="Leave out of the report the files skipped on purpose (GitHub would not run them: a "
    "subdirectory of .github/workflows, a non-YAML file there, .git, node_modules).",
)
@report_options
def command(
    paths: tuple[str, ...],
    config_file: Path | None,
    pins: dict[str, str],
    max_size: int,
    quiet_skips: bool,
    report: ReportOptions,
) -> None:
    """Check that every `uses:` is pinned to a full commit SHA and every image to a digest.

    PATH is a workflow file, an action.yml, a .github directory, a repository root, or a folder of
    repositories. Workflows are the top-level .yml/.yaml files of .github/workflows; actions are
    action.yml/action.yaml anywhere. A file that cannot be read or parsed is reported (verdict error,
    which denies) and the other files are still checked.

    Waive one finding with a comment on its line (or the line above):
    `# verifier: ignore[unpinned-uses] <reason>`; a waiver without a reason is rejected.
    """
    from verifier.checks.actions_pinned import PinPolicy, check_files
    from verifier.sources.workflow_files import read_all, read_config_section, skip_notices

    section: dict[str, Any] = {}
    if config_file is not None:
        section = _validate(dict(read_config_section(str(config_file), CHECK_ID)), str(config_file))
    if pins:
        merged = dict(section.get("policy") or {"*": "hash-pin"})
        merged.update(pins)
        section["policy"] = merged
    PinPolicy.from_config(
        section
    )  # a bad pattern or mode is a usage error (exit 2) before any work

    files, found = read_all(list(paths), max_size * MIB)
    notices = [] if quiet_skips else skip_notices(found)
    if not files:
        raise InputError(
            ", ".join(paths), "no workflow (.github/workflows/*.yml) or action.yml file found"
        )
    results = check_files(files.rows(), section)
    finish(results, report, {CHECK_ID: section}, notices)
