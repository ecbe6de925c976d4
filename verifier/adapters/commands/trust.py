"""``verifier trust ...``: the Sigstore trust roots as a lifecycle: refresh them through TUF, report their age.

``update`` refreshes each instance's ``trusted_root.json`` (public-good, GitHub's, staging) from its TUF
repository, online or from a copy (``--from DIR``), into ``--dir`` (default: the package's pinned files;
point ``VERIFIER_TRUST_DIR`` at another directory to use it). ``status`` prints each root's age and warns
about any older than ``--max-age``. Exit codes: 0 done (warnings on stderr), 2 metadata refused or bad input
(nothing replaced), 3 the repository could not be reached.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

INSTANCE_NAMES = ("public-good", "github", "staging")


def _out_dir(directory: Path | None) -> Path | None:
    import os

    if directory is not None:
        return directory
    env = os.environ.get("VERIFIER_TRUST_DIR")
    return Path(env) if env else None


@click.group("trust")
def group() -> None:
    """Refresh and inspect the pinned Sigstore trust roots."""


def _common(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option(
        "--instance",
        "instances",
        multiple=True,
        type=click.Choice(INSTANCE_NAMES),
        help="Sigstore instance (repeatable; default: public-good and github).",
    )(func)
    func = click.option(
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the trusted_root*.json files live (default: $VERIFIER_TRUST_DIR, else the package).",
    )(func)
    func = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Trusted TUF metadata kept between updates (default: $XDG_STATE_HOME/verifier/tuf).",
    )(func)
    func = click.option(
        "--max-age",
        default="90d",
        show_default=True,
        help="Warn about a root not refreshed for longer than this (h, d or w).",
    )(func)
    return func


def _max_age(text: str) -> dt.timedelta:
    from verifier.sources.tuf_update import parse_age

    try:
        return parse_age(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--max-age") from None


@group.command("update")
@_common
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Offline import: a directory with a copy of each instance's TUF repository (DIR/<instance>/).",
)
@click.option("--url", help="Repository URL instead of the instance's own (one --instance only).")
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    help="Deadline in seconds for each instance's update.",
)
def update_command(
    instances: tuple[str, ...],
    directory: Path | None,
    state_dir: Path | None,
    max_age: str,
    source: Path | None,
    url: str | None,
    timeout: float,
) -> None:
    """Refresh the trusted roots through TUF; nothing is replaced unless every signature, version and
    expiry checks out."""
    from verifier.sources.tuf_update import INSTANCES, default_state_dir, update_instance

    _max_age(max_age)
    names = instances or ("public-good", "github")
    if url and len(names) != 1:
        raise click.UsageError("--url needs exactly one --instance")
    if url and source:
        raise click.UsageError("give --url or --from, not both")
    state = state_dir or default_state_dir()
    for name in names:
        result = update_instance(
            INSTANCES[name],
            state_dir=state,
            out_dir=_out_dir(directory),
            source=url or source,
            deadline_seconds=timeout,
        )
        what = "updated" if result.changed else "unchanged"
        click.echo(
            f"{name}: {what} {result.path} (sha256 {result.sha256[:16]}…, TUF root v{result.root_version}, "
            f"timestamp v{result.timestamp_version})"
        )


@group.command("status")
@_common
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(
    instances: tuple[str, ...],
    directory: Path | None,
    state_dir: Path | None,
    max_age: str,
    as_json: bool,
) -> None:
    """Each trusted root's age; a warning (stderr) for every one older than --max-age."""
    from verifier.sources.tuf_update import INSTANCES, default_state_dir, root_age

    limit = _max_age(max_age)
    now = dt.datetime.now(dt.UTC)
    ages = [
        root_age(
            INSTANCES[name],
            state_dir=state_dir or default_state_dir(),
            out_dir=_out_dir(directory),
            max_age=limit,
            now=now,
        )
        for name in instances or ("public-good", "github")
    ]
    if as_json:
        doc = [
            {
                "instance": a.instance,
                "path": str(a.path),
                "refreshed_at": a.refreshed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "age_days": round(a.age.total_seconds() / 86400, 1),
                "stale": a.stale,
            }
            for a in ages
        ]
        click.echo(json.dumps(doc, indent=2))
    else:
        for a in ages:
            click.echo(
                f"{a.instance}: {a.path} refreshed {a.refreshed_at:%Y-%m-%d} "
                f"({a.age.days} days ago)"
            )
    for a in ages:
        if a.stale:
            click.echo(
                f"warning: {a.instance} trusted root not refreshed for {a.age.days} days (over "
                f"{max_age}): run verifier trust update",
                err=True,
            )
    sys.exit(0)
