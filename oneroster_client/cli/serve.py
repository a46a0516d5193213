"""``oneroster serve`` and ``oneroster buzz-serve``: loopback servers to try things against."""

from __future__ import annotations

import argparse
import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from oneroster_client.cli._common import (
    EXIT_OK,
    Context,
    UsageProblem,
    port_number,
    positive_int,
    seconds,
)
from oneroster_client.errors import ConfigurationError

__all__ = [
    "DEMO_DOMAIN",
    "SERVED_CLIENT_ID",
    "SETTINGS_USED",
    "SHOWN_DEFAULTS",
    "add_parsers",
    "wait",
]

DEMO_DOMAIN = "100"
"""The district domain id the loopback Buzz server is seeded with."""

SETTINGS_USED = ("sis.client_id", "sis.client_secret")
"""The settings ``serve`` reads: the client credentials it accepts (only these are
listed in its ``--help``)."""

SERVED_CLIENT_ID = "oneroster-test-client"
"""The client id ``serve`` accepts when none is configured."""

SHOWN_DEFAULTS = {"sis.client_id": SERVED_CLIENT_ID}
"""The defaults ``serve --help`` shows for the settings it reads."""


def wait(ctx: Context, seconds: float | None) -> None:
    """Block until Ctrl-C, or for ``seconds`` when given."""
    ctx.note("Press Ctrl+C to stop." if seconds is None else f"Serving for {seconds:g} s.")
    stop = threading.Event()
    try:
        if seconds is None:
            while not stop.wait(3600):
                pass
        else:
            time.sleep(seconds)
    except KeyboardInterrupt:
        ctx.note("Stopped.")


def _district(ctx: Context) -> Any:
    from oneroster_client.testing import District, generate_district

    args = ctx.args
    if args.csv:
        district = District.from_csv_package(args.csv)
        for problem in district.csv_errors[:5]:
            ctx.note(f"warning: {problem}")
        if len(district.csv_errors) > 5:
            ctx.note(f"warning: {len(district.csv_errors) - 5} more rows could not be read")
        return district
    if args.skyward:
        from skyward_adapter.testing import skyward_like_district

        return skyward_like_district(students=args.students, seed=args.seed).district
    return generate_district(students=args.students, seed=args.seed)


def run_serve(ctx: Context) -> int:
    """Serve a district from the loopback OneRoster 1.1 server until Ctrl-C."""
    from oneroster_client.testing import OneRosterServer

    args = ctx.args
    values = ctx.settings.values
    client_id = values["sis.client_id"] or SERVED_CLIENT_ID
    given_secret = values["sis.client_secret"]
    district = _district(ctx)
    options: dict[str, Any] = {"client_id": client_id, "client_secret": given_secret}
    if args.skyward:
        from skyward_adapter.testing import QMLATIV_BASE_PATH, SKYWARD_GRADEBOOK_RULES

        options.update(base_path=QMLATIV_BASE_PATH, gradebook_rules=SKYWARD_GRADEBOOK_RULES)
    with _bound(args.port, lambda: OneRosterServer(district, port=args.port, **options)) as running:
        ctx.say(f"Serving {district} (OneRoster 1.1, loopback only)")
        ctx.say("Connect with these settings (e.g. in another terminal):")
        if args.skyward:
            ctx.say("  export ONEROSTER_SIS=skyward")
        ctx.say(f"  export ONEROSTER_BASE_URL={running.base_url}")
        ctx.say(f"  export ONEROSTER_TOKEN_URL={running.token_url}")
        ctx.say(f"  export ONEROSTER_CLIENT_ID={client_id}")
        if given_secret:
            # Not even a masked part of it: a secret the user chose may be used elsewhere.
            ctx.say("  # ONEROSTER_CLIENT_SECRET: the one you gave (not shown)")
        else:
            # A throwaway secret made for this loopback server: printing it is how the
            # user gets it, and it opens nothing else.
            print(
                f"  export ONEROSTER_CLIENT_SECRET={running.client_secret}"
                "   # throwaway, for this local server only",
                file=ctx.out,
                flush=True,
            )
        wait(ctx, args.duration)
    return EXIT_OK


def run_buzz_serve(ctx: Context) -> int:
    """Serve the loopback Buzz (DLAP) server until Ctrl-C."""
    from oneroster_client.buzz.testing import BuzzServer

    args = ctx.args
    seed = {
        "domains": [
            {"id": args.domain, "name": "Example USD", "userspace": "exusd", "parentid": "1"}
        ]
    }
    key_path = Path(args.key_file)
    _check_key_folder(key_path)
    with _bound(args.port, lambda: BuzzServer(seed=seed, port=args.port)) as server:
        token_url, user_id, private_key, key_id = server.jwt_credentials()
        ctx.secrets.add(private_key.strip())
        key_file = _write_key(key_path, private_key)
        ctx.say("Serving a Buzz (DLAP) server (loopback only)")
        ctx.say("Connect with these settings (e.g. in another terminal):")
        ctx.say(f"  export ONEROSTER_BUZZ_URL={server.base_url}")
        ctx.say(f"  export ONEROSTER_BUZZ_TOKEN_URL={token_url}")
        ctx.say(f"  export ONEROSTER_BUZZ_USER_ID={user_id}")
        ctx.say(f"  export ONEROSTER_BUZZ_KEY_ID={key_id}")
        ctx.say(f"  export ONEROSTER_BUZZ_PRIVATE_KEY_FILE={key_file}")
        ctx.say(f"  export ONEROSTER_BUZZ_DOMAIN={args.domain}")
        ctx.say("  export ONEROSTER_BUZZ_USER_AGENT='my-sync/1.0 (me@example.org)'")
        wait(ctx, args.duration)
    return EXIT_OK


_Server = TypeVar("_Server")


def _bound(port: int, start: Callable[[], _Server]) -> _Server:
    """The server ``start`` makes (it binds ``port``); a port in use is a usage error."""
    try:
        return start()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise UsageProblem(
            f"port {port} is in use (another server, or an earlier run still going): "
            "choose another with --port, or --port 0 for any free port"
        ) from None


def _check_key_folder(path: Path) -> None:
    """Refuse a ``--key-file`` the key cannot be written to, before the server starts."""
    if path.is_dir():
        raise UsageProblem(f"--key-file {str(path)!r} is a folder: give a file path")
    folder = path.parent
    if not folder.exists():
        raise UsageProblem(
            f"--key-file {str(path)!r}: the folder {str(folder)!r} does not exist: create it "
            "first, or choose another path"
        )
    if not folder.is_dir():
        raise UsageProblem(f"--key-file {str(path)!r}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageProblem(
            f"--key-file {str(path)!r}: cannot write in the folder {str(folder)!r} "
            "(permission denied)"
        )


_KEY_HEADER = "-----BEGIN PRIVATE KEY-----"


def _write_key(path: Path, pem: str) -> Path:
    """Write the key owner-only; replace only a key file an earlier run wrote.

    The key is written to a new owner-only file beside ``path`` and moved over it, so the
    result is owner-only even where an older file had wider permissions, and never half
    written.
    """
    if path.exists() and not _holds_a_private_key(path):
        raise ConfigurationError(
            f"--key-file {path} exists and is not a private key file: choose another path "
            "(the key file is replaced only when it holds a key from an earlier run)"
        )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(pem)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as error:
        # The message names the path asked for, never the temporary file beside it.
        raise UsageProblem(
            f"--key-file {str(path)!r}: cannot write it ({error.strerror or error})"
        ) from None
    return path.resolve()


def _holds_a_private_key(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as file:
            return file.read(len(_KEY_HEADER)) == _KEY_HEADER
    except OSError:
        return False


def add_parsers(commands: Any, parents: list[argparse.ArgumentParser], formatter: type) -> None:
    """Add ``serve`` and ``buzz-serve``."""
    serve = commands.add_parser(
        "serve",
        parents=parents,
        formatter_class=formatter,
        help="run the loopback OneRoster server with a district",
        description="Serve a generated district (or a CSV package) from the loopback "
        "OneRoster 1.1 server on 127.0.0.1 until Ctrl-C, and print the settings to connect. "
        "The client id and secret are those configured (--client-id, "
        "ONEROSTER_CLIENT_SECRET), else a fixed id and a throwaway secret.",
    )
    serve.add_argument("--students", type=positive_int, default=500, help="students generated")
    serve.add_argument("--seed", type=int, default=1, help="seed of the generated district")
    serve.add_argument("--csv", metavar="PACKAGE", help="serve this CSV package (folder or zip)")
    serve.add_argument(
        "--skyward", action="store_true", help="Skyward-like: Qmlativ base path and quirks"
    )
    serve.add_argument("--port", type=port_number, default=8765, help="the port (0: any free port)")
    serve.add_argument(
        "--duration",
        type=seconds,
        default=None,
        help="stop after this many seconds",
    )
    serve.set_defaults(run=run_serve)

    buzz = commands.add_parser(
        "buzz-serve",
        formatter_class=formatter,
        help="run the loopback Buzz server",
        description="Serve a loopback Buzz (DLAP) server on 127.0.0.1 until Ctrl-C, with an "
        "empty district domain; writes the application identity's private key to a file "
        "(owner-only) and prints the settings to connect.",
    )
    buzz.add_argument("--port", type=port_number, default=8766, help="the port (0: any free port)")
    buzz.add_argument("--domain", default=DEMO_DOMAIN, help="the district domain's id")
    buzz.add_argument(
        "--key-file", default="buzz-serve-key.pem", help="where the private key is written"
    )
    buzz.add_argument(
        "--duration",
        type=seconds,
        default=None,
        help="stop after this many seconds",
    )
    buzz.set_defaults(run=run_buzz_serve)
