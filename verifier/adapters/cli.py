"""The ``verifier`` command line. The only module (with the other adapters) that prints or exits.

Subcommands are imported lazily from ``verifier.adapters.commands`` so that ``verifier --help`` and
``verifier check sarif`` never import sigstore, spdx-tools or cyclonedx.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from verifier import __version__
from verifier.errors import EXIT_INPUT, EXIT_UNEVALUATED, VerifierError


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules imported only when used (``module:attr``)."""

    def __init__(
        self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, the lazy ones included, without importing them."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module only now (when it is the one being run)."""
        if cmd_name in self.lazy:
            target, _help = self.lazy[cmd_name]
            module_name, attr = target.split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                return _unavailable(cmd_name)
            command = getattr(module, attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            if cmd_name in _EXTRAS:
                _require_extra(*_EXTRAS[cmd_name])
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, with the short help from the table (listing imports nothing)."""
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        rows += [(name, cmd.get_short_help_str()) for name, cmd in sorted(self.commands.items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


# Commands that need an optional extra: (extra, modules it installs). Checked when the command is chosen.
_EXTRAS = {"webhook": ("webhook", ("uvicorn", "starlette", "prometheus_client"))}


def _require_extra(extra: str, modules: tuple[str, ...]) -> None:
    from importlib.util import find_spec

    missing = [m for m in modules if find_spec(m) is None]
    if missing:
        raise click.ClickException(
            f"this needs the [{extra}] extra ({', '.join(missing)} not installed): "
            f"pip install 'verifier[{extra}]'"
        )


def _unavailable(name: str) -> click.Command:
    @click.command(
        name, help="Not available in this build.", context_settings={"ignore_unknown_options": True}
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        raise click.UsageError(f"'{name}' is not available in this build of verifier")

    return command


_CMD = "verifier.adapters.commands"


class CheckGroup(LazyGroup):
    """``verifier check``: the commands of the table, and ``verifier check <id>`` for every registered check."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command of the table, else the generic command of the check with that id."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        from verifier.checks import registry

        try:
            meta = registry.get(cmd_name)
        except KeyError:
            return None
        from verifier.adapters.commands.check_any import command_for

        return command_for(meta)


@click.group(
    cls=CheckGroup,
    lazy={
        "sarif": (
            f"{_CMD}.check_sarif:command",
            "Trivy SARIF/JSON findings within the severity policy.",
        ),
        "actions": (f"{_CMD}.check_actions:command", "Every `uses:` pinned to a full commit SHA."),
        "trust-policy": (
            f"{_CMD}.check_trust_policy:command",
            "Cloud OIDC trust policies scoped to the right repository and ref.",
        ),
        "signature": (f"{_CMD}.check_signature:command", "Image signed by a trusted signer."),
        "sbom": (f"{_CMD}.check_sbom:command", "Verified SBOM attestation for the image."),
    },
)
def check() -> None:
    """Run one check and decide with the policy bundle.

    Every registered check also runs from its section of a config alone: `verifier check <id> --config
    verifier.yaml` (the ids are those of docs/checks/).
    """


@click.group(
    cls=LazyGroup,
    lazy={
        "check": (f"{__name__}:check", "Run one check and decide with the policy bundle."),
        "policy": (f"{_CMD}.policy:group", "Work with the Rego policy bundle (run its tests)."),
        "verify-bundle": (
            f"{_CMD}.verify_bundle:command",
            "Verify a Sigstore bundle (sigstore-conformance client protocol).",
        ),
        "sbom": (f"{_CMD}.sbom:group", "Read and validate plain SBOM files."),
        "gate": (f"{_CMD}.gate:command", "All checks for one release, one decision."),
        "init": (f"{_CMD}.init:command", "Write a commented starter verifier.yaml."),
        "webhook": (f"{_CMD}.webhook:command", "Serve the Kubernetes ValidatingWebhook."),
        "audit": (f"{_CMD}.audit:group", "Auditors' reports over many repositories and images."),
        "report": (f"{_CMD}.report:group", "Render a JSON report in another format."),
        "trust": (f"{_CMD}.trust:group", "Refresh the pinned Sigstore trust roots through TUF."),
    },
)
@click.version_option(__version__, prog_name="verifier", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def cli(verbose: int) -> None:
    """verifier: may this release be admitted to production?

    \b
    Exit codes:
      0  allowed (warnings may be printed)
      1  denied
      2  usage error or unreadable/invalid input
      3  could not evaluate (registry down, timeout): treat as deny
    """
    # Only commands that log (the webhook) import logging; a short check does not pay ~8 ms for it. Without
    # a configured handler Python still prints warnings and errors on stderr.
    if verbose or "logging" in sys.modules:
        import logging

        level = logging.WARNING - 10 * verbose
        logging.basicConfig(
            level=max(level, logging.DEBUG),
            format="verifier: %(levelname)s: %(message)s",
            stream=sys.stderr,
        )
        from verifier._internal.logsafe import install

        install()  # logged values (image names, registry answers) cannot forge lines


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: turns our errors into messages and exit codes, never tracebacks."""
    try:
        # With standalone_mode=False click returns ctx.exit()'s code instead of exiting.
        rv = cli.main(args=argv, prog_name="verifier", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("verifier: aborted", err=True)
        sys.exit(EXIT_UNEVALUATED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INPUT if exc.exit_code in (1, 2) else exc.exit_code)
    except VerifierError as exc:
        click.echo(f"verifier: error: {exc.diagnostics()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("verifier: interrupted", err=True)
        sys.exit(EXIT_UNEVALUATED)
    except OSError as exc:
        # An I/O failure no command turned into one of our errors (stdout on a full disk, a reader that
        # went away): a message and "could not complete", never a traceback, never an allow.
        from verifier.adapters.common import silence_stdout

        silence_stdout()
        if not isinstance(exc, BrokenPipeError):
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"verifier: error: {exc.strerror or exc}{where}", err=True)
        sys.exit(EXIT_UNEVALUATED)
    code = rv if isinstance(rv, int) else 0
    try:
        sys.stdout.flush()  # what a command printed may still be buffered: fail here, not at exit
    except BrokenPipeError:
        pass
    except OSError as exc:
        click.echo(f"verifier: error: stdout: cannot write: {exc.strerror}", err=True)
        code = EXIT_INPUT
    sys.exit(code)
