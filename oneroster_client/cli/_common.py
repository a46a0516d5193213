"""What every command shares: exit codes, the run context, and clients built from settings."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from oneroster_client._urls import check_service_url
from oneroster_client.cli._config import CONFIG_ENV, SETTINGS, Resolved, load_file, resolve
from oneroster_client.cli._output import scrubbed
from oneroster_client.client import sourced_id_problem
from oneroster_client.errors import ConfigurationError

if TYPE_CHECKING:
    from oneroster_client.buzz import BuzzClient
    from oneroster_client.client import OneRosterClient
    from skyward_adapter import SkywardSettings

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_HELD",
    "EXIT_INTERRUPTED",
    "EXIT_ISSUES",
    "EXIT_OK",
    "EXIT_USAGE",
    "Context",
    "Formatter",
]

EXIT_OK = 0
"""Success."""
EXIT_FAILED = 1
"""Failure: a run stopped or some records failed, a connection check failed, an error."""
EXIT_USAGE = 2
"""Usage error: an unknown command or option, or a bad option value (argparse)."""
EXIT_HELD = 3
"""A sync plan was held for approval: nothing was written."""
EXIT_ISSUES = 4
"""The run finished, but records could not be mapped or were refused (validation issues)."""
EXIT_CONFIG = 5
"""Configuration error: settings missing or invalid; nothing was attempted."""
EXIT_INTERRUPTED = 130
"""Interrupted with Ctrl-C."""

_URL_LABELS = {
    "sis.base_url": "the OneRoster base URL",
    "sis.token_url": "the OAuth 2 token URL",
    "buzz.base_url": "the Buzz URL",
    "buzz.token_url": "the Buzz token URL",
}
_URL_EXAMPLES = {
    "sis.base_url": "https://sis.example.org/ims/oneroster/v1p1",
    "sis.token_url": "https://sis.example.org/oauth/token",
    "buzz.base_url": "https://backgroundapi.agilixbuzz.com",
    "buzz.token_url": "https://backgroundapi.agilixbuzz.com/api/oauth/token",
}

USER_AGENT_HELP = "e.g. 'district-sync/1.0 (Example USD; it@example.org)'"


class UsageProblem(ValueError):
    """An argument that parsed but makes no sense (an unknown collection): exit 2."""


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # An option whose help already states its default keeps its own wording.
        if action.help and "default:" in action.help:
            return action.help
        return super()._get_help_string(action)


class Context:
    """One run of the command: its arguments, streams, settings and known secrets.

    Args:
        args: the parsed arguments.
        environ: the environment (``os.environ`` when ``None``).
        out: where results go (standard output when ``None``).
        err: where messages go (standard error when ``None``).
    """

    def __init__(
        self,
        args: argparse.Namespace,
        environ: Mapping[str, str] | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.args = args
        self.environ = os.environ if environ is None else environ
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.secrets: set[str] = set()
        self._resolved: Resolved | None = None

    # --- output -------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        """Print a line of results to standard output, without the known secrets.

        Results are already free of credentials (the library redacts what it reports);
        only the exact known secrets are removed here, so that masked values such as
        ``Key: sp…on`` stay readable.
        """
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, "REDACTED")
        print(text, file=self.out, flush=True)

    def note(self, text: str) -> None:
        """Print a message to standard error, scrubbed of secrets and of anything that
        looks like a credential (messages may quote a server)."""
        print(scrubbed(text, self.secrets), file=self.err, flush=True)

    # --- settings -----------------------------------------------------------------------

    @property
    def settings(self) -> Resolved:
        """The resolved settings (read once, on first use)."""
        if self._resolved is None:
            path = getattr(self.args, "config", None) or self.environ.get(CONFIG_ENV) or None
            data, warnings = load_file(path)
            for warning in warnings:
                self.note(f"warning: {warning}")
            self._resolved = resolve(self.args, self.environ, data, path)
            self.secrets.update(self._resolved.secrets())
        return self._resolved

    def require(self, *names: str) -> list[Any]:
        """The values of settings that must be given; one error names all missing ones."""
        values = self.settings.values
        missing = [name for name in names if values.get(name) in (None, "")]
        if missing:
            raise ConfigurationError("missing settings: " + "; ".join(map(_how_to_set, missing)))
        return [values[name] for name in names]

    # --- clients ------------------------------------------------------------------------

    def oneroster(self, *, passback: bool = False) -> OneRosterClient:
        """A OneRoster client for the configured SIS."""
        if self.settings["sis.kind"] == "skyward":
            from skyward_adapter import connect

            return connect(self.skyward(passback=passback), **self.skyward_options())
        return self._generic_client()

    def skyward_options(self) -> dict[str, Any]:
        """The keyword arguments of ``skyward_adapter.connect`` the settings give."""
        return {
            "timeout": self.settings["sis.timeout"],
            "client_auth": self.settings["sis.client_auth"],
        }

    def url(self, name: str, *, allow_query: bool = False) -> Any:
        """A URL setting, checked as the library will check it, so that a problem names
        where the value came from (flag, environment variable or file).

        Raises:
            ConfigurationError: the URL would be refused; the message names its source.
        """
        value = self.settings[name]
        if value in (None, ""):
            return value
        where = self.settings.where(name)
        label = _URL_LABELS[name] + ("" if where == "default" else f" (from {where})")
        check_service_url(
            value,
            name=label,
            example=_URL_EXAMPLES[name],
            allow_insecure_http=self.settings["sis.allow_insecure_http"],
            allow_query=allow_query,
        )
        return value

    def skyward(self, *, passback: bool = False) -> SkywardSettings:
        """The SIS settings as Skyward settings."""
        from skyward_adapter import SkywardSettings

        self.require("sis.base_url")
        values = self.settings.values
        options: dict[str, Any] = {
            "base_url": self.url("sis.base_url"),
            "key": values["sis.client_id"],
            "secret": values["sis.client_secret"],
            "token_url": self.url("sis.token_url", allow_query=True),
            "auth": values["sis.auth"],
            "access_token": values["sis.access_token"],
            "page_size": values["sis.page_size"],
            "allow_insecure_http": values["sis.allow_insecure_http"],
            "passback": passback,
        }
        if values["sis.scopes"] is not None:
            options["scopes"] = values["sis.scopes"]
        return SkywardSettings(**options)

    def _generic_client(self) -> OneRosterClient:
        from oneroster_client.client import OneRosterClient

        self.require("sis.base_url")
        values = self.settings.values
        base_url = self.url("sis.base_url")
        return OneRosterClient(
            base_url,
            auth=self._generic_auth(),
            timeout=values["sis.timeout"],
            page_size=values["sis.page_size"],
            allow_insecure_http=values["sis.allow_insecure_http"],
        )

    def _generic_auth(self) -> Any:
        from oneroster_client.auth import BearerToken, OAuth1, OAuth2ClientCredentials

        values = self.settings.values
        mode = values["sis.auth"]
        if mode == "auto":
            mode = _auto_mode(values)
        if mode == "token":
            (token,) = self.require("sis.access_token")
            return BearerToken(token)
        if mode == "oauth1":
            key, secret = self.require("sis.client_id", "sis.client_secret")
            return OAuth1(key, secret)
        _, key, secret = self.require("sis.token_url", "sis.client_id", "sis.client_secret")
        return OAuth2ClientCredentials(
            self.url("sis.token_url", allow_query=True),
            key,
            secret,
            scopes=(values["sis.scopes"] or "").split(),
            # 'auto' is HTTP Basic, the OAuth 2 default (RFC 6749 section 2.3.1).
            client_auth="body" if values["sis.client_auth"] == "body" else "basic",
            timeout=values["sis.timeout"],
            allow_insecure_http=values["sis.allow_insecure_http"],
        )

    def buzz(self) -> BuzzClient:
        """A Buzz client for the configured Buzz host, with JWT client assertions."""
        from oneroster_client.buzz import BuzzClient, BuzzJWTAuth

        _, user_id, user_agent = self.require("buzz.base_url", "buzz.user_id", "buzz.user_agent")
        values = self.settings.values
        base_url = self.url("buzz.base_url")
        token_url = self.url("buzz.token_url") or base_url.rstrip("/") + "/api/oauth/token"
        insecure = values["sis.allow_insecure_http"]
        private_key, where = self._private_key()
        try:
            auth = BuzzJWTAuth(
                token_url, user_id, private_key, values["buzz.key_id"], allow_insecure_http=insecure
            )
        except ConfigurationError as error:
            if "private_key" not in str(error):
                raise
            # Name the setting the key came from, not the library's argument.
            raise ConfigurationError(f"{where}: {error}") from None
        return BuzzClient(
            base_url,
            auth=auth,
            user_agent=user_agent,
            timeout=values["sis.timeout"],
            allow_insecure_http=insecure,
        )

    def _private_key(self) -> tuple[str, str]:
        """The Buzz private key, and where it came from (for messages)."""
        values = self.settings.values
        if values["buzz.private_key"]:
            return str(values["buzz.private_key"]), self.settings.where("buzz.private_key")
        if not values["buzz.private_key_file"]:
            raise ConfigurationError(
                "missing settings: "
                + _how_to_set("buzz.private_key_file")
                + " (or the key itself in ONEROSTER_BUZZ_PRIVATE_KEY)"
            )
        path = Path(values["buzz.private_key_file"])
        try:
            key = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not a text file"
            raise ConfigurationError(
                f"Buzz private key file {path}: cannot read it ({reason})"
            ) from None
        self.secrets.add(key.strip())
        source = self.settings.where("buzz.private_key_file")
        return key, f"Buzz private key file {path} (from {source})"


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a usage error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 (any free port) to 65535, got {value}")
    return value


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more (a usage error otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number, 0 or more, got {text!r}")
    return value


def report_path(text: str) -> str:
    """An argparse type: a file the command can write at the end of its run.

    Checked before any work is done, so that a long run does not fail at its last step:
    the folder must exist, be a folder and be writable; the path must not be a folder.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file path, got ''")
    path = Path(text)
    folder = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a folder: give a file path, e.g. {str(path / 'report.html')!r}"
        )
    if not folder.exists():
        raise argparse.ArgumentTypeError(
            f"the folder {str(folder)!r} of {text!r} does not exist: create it first, or "
            "choose another path"
        )
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{str(folder)!r} (in {text!r}) is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: permission denied")
    return text


def id_problem(text: str) -> str | None:
    """Why ``text`` given as a sourcedId would not do, quoting it; ``None`` when it does."""
    problem = sourced_id_problem(text)
    if problem is None:
        return None
    return problem if problem.startswith(repr(text.strip())) else f"{text!r} {problem}"


def sourced_id(text: str) -> str:
    """An argparse type: a sourcedId fit for a URL (not ``.``, ``..``, empty or with
    control characters); a usage error otherwise."""
    problem = id_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text.strip()


def _auto_mode(values: Mapping[str, Any]) -> str:
    if values["sis.token_url"] and values["sis.client_id"] and values["sis.client_secret"]:
        return "oauth2"
    if values["sis.access_token"]:
        return "token"
    return "oauth1"


def _how_to_set(name: str) -> str:
    setting = SETTINGS[name]
    ways = [f"--{setting.flag.lstrip('-')}"] if setting.flag else []
    ways += [f"environment variable {setting.env}", f"{setting.key} in [{setting.section}]"]
    return f"{setting.help} (" + ", ".join(ways) + ")"
