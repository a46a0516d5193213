"""The ``oneroster`` command: Skyward (or any OneRoster 1.1 SIS) to Buzz, from a terminal.

``oneroster demo`` runs the whole job against loopback servers. ``check``, ``list``,
``get`` and ``export`` read a OneRoster server; ``sync`` rosters Buzz from it and
``passback`` sends Buzz grades back; ``serve`` and ``buzz-serve`` run loopback servers to
try them against. Settings come from flags, then ``ONEROSTER_*`` environment variables,
then a TOML file (``--config``), then defaults. Exit codes and every setting are listed in
``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from typing import TextIO

from oneroster_client import __version__
from oneroster_client.cli import buzz, demo, read, serve
from oneroster_client.cli._advice import for_the_command_line
from oneroster_client.cli._common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_HELD,
    EXIT_INTERRUPTED,
    EXIT_ISSUES,
    EXIT_OK,
    EXIT_USAGE,
    Context,
    Formatter,
    UsageProblem,
)
from oneroster_client.cli._config import CONFIG_ENV, add_flags
from oneroster_client.errors import ConfigurationError, FilterError, OneRosterError

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_HELD",
    "EXIT_INTERRUPTED",
    "EXIT_ISSUES",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
    "run",
]

_EPILOG = """\
exit codes: 0 success; 1 failure (a run stopped or records failed, a check failed);
2 usage error; 3 plan held for approval; 4 validation issues (records that could not be
mapped or were refused); 5 configuration error; 130 interrupted. See docs/cli.md."""


def _settings_parent(
    sections: tuple[str, ...],
    title: str,
    only: tuple[str, ...] | None = None,
    defaults: Mapping[str, str] | None = None,
) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config",
        metavar="PATH",
        help=f"a TOML settings file (default: ${CONFIG_ENV}, else none)",
    )
    add_flags(parent, sections, title, only, defaults)
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The ``oneroster`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="oneroster",
        description="OneRoster 1.1 tools: Skyward (or any OneRoster SIS) to Agilix Buzz "
        "rostering and grade passback. Start with 'oneroster demo'.",
        epilog=_EPILOG,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"oneroster-client {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback (secrets removed) on errors"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sis = _settings_parent(("sis",), "OneRoster connection")
    both = _settings_parent(("sis", "buzz"), "OneRoster and Buzz connections")
    demo.add_parser(commands, Formatter)
    read.add_parsers(commands, [sis], Formatter)
    buzz.add_parsers(commands, [both], Formatter)
    # The loopback server takes only the client id (and the secret) of the settings.
    served = _settings_parent(
        ("sis",),
        "Client credentials served",
        only=serve.SETTINGS_USED,
        defaults=serve.SHOWN_DEFAULTS,
    )
    serve.add_parsers(commands, [served], Formatter)
    return parser


def run(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the command with explicit streams and environment (for tests and embedding).

    Returns:
        The exit code (see ``docs/cli.md``).
    """
    parser = build_parser()
    try:
        with redirect_stdout(out or sys.stdout), redirect_stderr(err or sys.stderr):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        # --help and --version exit 0, usage errors 2.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    ctx = Context(args, environ=environ, out=out, err=err)
    try:
        code: int = args.run(ctx)
    except KeyboardInterrupt:
        ctx.note("Interrupted.")
        return EXIT_INTERRUPTED
    except (UsageProblem, FilterError) as error:
        # Arguments that parsed but make no sense: a collection, a filter, a sort.
        _report(ctx, f"usage error: {error}", error)
        return EXIT_USAGE
    except ConfigurationError as error:
        _report(ctx, f"configuration error: {error}", error)
        return EXIT_CONFIG
    except BrokenPipeError:
        # Standard output was closed (``oneroster list users | head``): main() ends quietly.
        raise
    except (OneRosterError, OSError) as error:
        _report(ctx, f"error: {error}", error)
        return EXIT_FAILED
    except Exception as error:  # an unexpected failure still must not print a secret
        _report(ctx, f"internal error ({type(error).__name__}): {error}", error, always=True)
        return EXIT_FAILED
    return code


def _report(ctx: Context, message: str, error: BaseException, *, always: bool = False) -> None:
    if ctx.args.debug or always:
        ctx.note("".join(traceback.format_exception(error)).rstrip())
    ctx.note(f"oneroster {ctx.args.command}: {for_the_command_line(message)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oneroster`` command.

    Args:
        argv: the arguments (``sys.argv[1:]`` when ``None``).

    Returns:
        The exit code; 1, quietly, when standard output is closed before the command ends
        (``oneroster list users | head``).
    """
    try:
        code = run(argv, out=sys.stdout, err=sys.stderr)
        # Output still buffered is written now, while a closed pipe can still be caught.
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes standard output again at exit: point it at devnull so that the
        # closed pipe is not reported a second time (the recipe of the signal module docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    return code
