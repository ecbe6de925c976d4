"""``verifier check actions PATH...``: every GitHub Actions ``uses:`` pinned to a full commit SHA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from verifier.adapters.common import (
    ReportOptions,
    load_base_config,
    report_options,
    run_check,
    with_section,
)

CHECK_ID = "actions-pinned"


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


@click.command("actions")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="verifier.yaml; its `workflows:` section (policy, mode, deny_rules, warn_rules, warn_waived) "
    "applies, its paths are replaced by PATH... (e.g. policy: {'*': hash-pin, 'actions/*': ref-pin}).",
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
    type=click.IntRange(1),
    help="Treat workflow/action files larger than this many MiB as unreadable.  [default: 4]",
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
    max_size: int | None,
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
    from verifier.checks.actions_pinned import WorkflowsSection

    config = load_base_config(config_file)
    changes: dict[str, Any] = {"paths": tuple(paths)}
    if pins:
        base = config.sections.get("workflows")
        policy = dict(base.policy if isinstance(base, WorkflowsSection) else {}) or {
            "*": "hash-pin"
        }
        changes["policy"] = {**policy, **pins}
    if max_size is not None:
        changes["max_size"] = max_size
    run_check(
        with_section(config, "workflows", WorkflowsSection, changes),
        CHECK_ID,
        report,
        keep_notice=(lambda _notice: False) if quiet_skips else None,
    )
