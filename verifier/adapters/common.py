"""What every deciding command shares: output/policy options and the collect → decide → report tail."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, TypeVar

import click

from verifier.errors import EXIT_ALLOWED, EXIT_DENIED, ConfigError
from verifier.models import Decision

if TYPE_CHECKING:
    from verifier.models.config import VerifierConfig
    from verifier.output._common import UpdateOutcome
    from verifier.pipeline import Evaluation, SourceOptions

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "sarif", "markdown", "github")


@dataclasses.dataclass(frozen=True)
class ReportOptions:
    """Options of the decide-and-report tail, shared by every command that decides."""

    format: str = "table"
    output: Path | None = None
    policy_dir: Path | None = None
    opa_url: str | None = None
    explain: bool = False
    input_json: Path | None = None
    now: datetime | None = None
    fail_on_warn: bool = False
    exit_zero: bool = False


def report_options(func: F) -> F:
    """Add --format/--output/--policy/--opa-url/--explain/--input-json/--now/--fail-on-warn/--exit-zero.

    The decorated command receives one ``report: ReportOptions`` argument instead of the separate options.
    """
    options = [
        click.option(
            "--format",
            "format_",
            type=click.Choice(FORMATS),
            default="table",
            show_default=True,
            help="Output format. json is verifier.report/v1; markdown suits $GITHUB_STEP_SUMMARY; "
            "github prints workflow annotations.",
        ),
        click.option(
            "--output",
            "-o",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the report here instead of stdout.",
        ),
        click.option(
            "--policy",
            "policy_dir",
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            help="Rego policy bundle directory (default: the bundled policies/).",
        ),
        click.option(
            "--opa-url",
            envvar="VERIFIER_OPA_URL",
            help="Decide on an OPA server at this URL instead of the embedded engine.",
        ),
        click.option("--explain", is_flag=True, help="Print the policy input document to stderr."),
        click.option(
            "--input-json",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the policy input document to this file.",
        ),
        click.option(
            "--now",
            type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"]),
            help="Evaluate as of this UTC time (ignore-file expiry, SBOM age). Default: now.",
        ),
        click.option("--fail-on-warn", is_flag=True, help="Exit 1 when the policy only warns."),
        click.option(
            "--exit-zero",
            is_flag=True,
            help="Exit 0 even when denied (upload-only jobs). Errors still exit 2/3.",
        ),
    ]

    @functools.wraps(
        func
    )  # keeps the options of decorators applied before this one (__click_params__)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        now = kwargs.pop("now")
        kwargs["report"] = ReportOptions(
            format=kwargs.pop("format_"),
            output=kwargs.pop("output"),
            policy_dir=kwargs.pop("policy_dir"),
            opa_url=kwargs.pop("opa_url"),
            explain=kwargs.pop("explain"),
            input_json=kwargs.pop("input_json"),
            now=now.replace(tzinfo=UTC) if now else None,
            fail_on_warn=kwargs.pop("fail_on_warn"),
            exit_zero=kwargs.pop("exit_zero"),
        )
        return func(*args, **kwargs)

    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def now_utc(report: ReportOptions) -> datetime:
    """The evaluation time: ``--now`` or the current UTC time (second precision)."""
    return report.now or datetime.now(UTC).replace(microsecond=0)


def load_base_config(path: Path | None) -> VerifierConfig:
    """``--config FILE`` read by the one loader (relative paths resolved to its directory), or an empty
    config when none was given (a short check then never imports pydantic)."""
    if path is None:
        from verifier.models.config import VerifierConfig

        return VerifierConfig()
    from verifier.config import load_config

    return load_config(path)


def with_section(
    config: VerifierConfig, key: str, section_type: type[Any], changes: Mapping[str, Any]
) -> VerifierConfig:
    """``config`` whose ``key`` section is the config's own with ``changes`` (command-line values) laid
    over it, or a new one made of them; the section's validation errors are usage errors (exit 2)."""
    base = config.sections.get(key)
    try:
        if isinstance(base, section_type):
            section = dataclasses.replace(base, **changes)
        else:
            section = section_type(**changes)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    return config.with_sections(**{key: section})


def run_check(
    config: VerifierConfig,
    check_id: str,
    report: ReportOptions,
    *,
    sources: SourceOptions | None = None,
    keep_notice: Callable[[str], bool] | None = None,
) -> NoReturn:
    """``verifier check <x>``: the pipeline on ``config`` restricted to one check, then the report and exit."""
    from verifier.pipeline import evaluate

    evaluation = evaluate(
        config,
        now=now_utc(report),
        only={check_id},
        sources=sources,
        policy_dir=report.policy_dir,
        opa_url=report.opa_url,
    )
    notices = [n for n in evaluation.notices if keep_notice is None or keep_notice(n)]
    finish(evaluation, report, notices)


def finish(
    evaluation: Evaluation, report: ReportOptions, notices: Sequence[str] | None = None
) -> NoReturn:
    """Write the report of ``evaluation`` (``--explain``/``--input-json`` too) and exit with its code."""
    emit_report(evaluation, report, notices)
    sys.exit(exit_code(evaluation.decision, report))


def emit_report(
    evaluation: Evaluation,
    report: ReportOptions,
    notices: Sequence[str] | None = None,
    updates: UpdateOutcome | None = None,
) -> None:
    """The policy input (``--explain`` / ``--input-json``) and the report in ``--format`` (stdout or
    ``--output``), with what became of ``--update`` when it was given."""
    from verifier.output import render
    from verifier.output._common import image_groups

    if report.explain:
        click.echo(json.dumps(evaluation.policy_input, indent=2, sort_keys=True), err=True)
    if report.input_json:
        _write(
            report.input_json, json.dumps(evaluation.policy_input, indent=2, sort_keys=True) + "\n"
        )
    shown_notices = evaluation.notices if notices is None else notices
    groups = image_groups(evaluation.results, evaluation.digests, evaluation.images)
    if report.format == "json":
        from verifier.output.json import write_json

        def write(out: BinaryIO) -> None:
            write_json(out, evaluation.decision, evaluation.results, shown_notices, groups, updates)

        if report.output:
            with _file_errors(report.output), report.output.open("wb") as out:
                write(out)
        else:
            with _stdout_errors():
                stdout: BinaryIO | None = getattr(sys.stdout, "buffer", None)
                if stdout is None:  # a text-only stream (some test harnesses): write the text whole
                    buffer = io.BytesIO()
                    write(buffer)
                    sys.stdout.write(buffer.getvalue().decode())
                else:
                    sys.stdout.flush()
                    write(stdout)
                    stdout.flush()
        return
    text = render(
        report.format, evaluation.decision, evaluation.results, shown_notices, groups, updates
    )
    write_output(text, report.output)


def write_output(text: str, path: Path | None, *, newline: bool = True) -> None:
    """``text`` into ``path``, or onto stdout without one (a newline added when it lacks one and
    ``newline``); a failed write is exit 2 naming where (see :func:`_stdout_errors` for stdout)."""
    if path is not None:
        _write(path, text)
        return
    with _stdout_errors():
        click.echo(text, nl=newline and not text.endswith("\n"))
        sys.stdout.flush()


@contextlib.contextmanager
def _stdout_errors() -> Iterator[None]:
    """A reader that went away (``| head``) ends the report quietly, the exit code still the decision's;
    any other failure to write it (a full disk) is exit 2 with the reason, not a traceback."""
    try:
        yield
    except BrokenPipeError:
        silence_stdout()
    except OSError as exc:
        silence_stdout()
        raise ConfigError(f"stdout: cannot write the report: {exc.strerror}") from exc


def silence_stdout() -> None:
    """Point stdout at /dev/null once writing to it has failed, so that Python's own flush at exit does
    not fail again (and print a traceback)."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextlib.contextmanager
def _file_errors(path: Path) -> Iterator[None]:
    """A file that cannot be written is exit 2 naming it."""
    try:
        yield
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from exc


def is_allowed(decision: Decision, report: ReportOptions) -> bool:
    """Allowed, and not turned into a deny by ``--fail-on-warn``."""
    return decision.allowed and not (report.fail_on_warn and decision.warn)


def exit_code(decision: Decision, report: ReportOptions) -> int:
    """0 allowed, 1 denied (0 with ``--exit-zero``)."""
    return EXIT_ALLOWED if is_allowed(decision, report) or report.exit_zero else EXIT_DENIED


def _write(path: Path, text: str) -> None:
    with _file_errors(path):
        path.write_text(text, encoding="utf-8")
