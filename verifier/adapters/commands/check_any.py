"""``verifier check <id> --config verifier.yaml``: any registered check, from its section of the config.

Checks with their own command (``check sarif``, ``check actions``, …) take their inputs as arguments and
options; every check, including one added with only a module and a registry line, can run this way.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from verifier.adapters.common import ReportOptions, report_options, run_check
from verifier.checks._base import CheckMeta


def command_for(meta: CheckMeta) -> click.Command:
    """The generic command of one registered check."""

    @click.command(meta.id, help=f"{meta.desc}: the `{meta.section}:` section of --config, alone.")
    @click.option(
        "--config",
        "config_file",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"verifier.yaml with a `{meta.section}:` section (its other checks do not run).",
    )
    @click.argument("image_argument", metavar="[IMAGE]", required=False)
    @click.option(
        "--image",
        help="The image, for image checks (overrides `image:`); the same as the IMAGE argument.",
    )
    @report_options
    def command(
        image_argument: str | None, config_file: Path, image: str | None, report: ReportOptions
    ) -> None:
        from verifier.config import load_config

        if image_argument and image and image_argument != image:
            raise click.UsageError("give the image once: as IMAGE or as --image")
        image = image or image_argument

        config = load_config(config_file)
        if meta.section not in config.sections:
            raise click.UsageError(
                f"{config_file} has no `{meta.section}:` section (check {meta.id})"
            )
        if image:
            config = dataclasses.replace(config, image=image)
        run_check(config, meta.id, report)

    return command
