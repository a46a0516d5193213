"""Settings of the ``oneroster`` command: flags, then environment variables, then a TOML file.

Every setting has one row in :data:`SETTINGS`: its flag (none for secrets: a value on the
command line is visible to every user of the machine in the process list), its
environment variable, its place in the TOML file and its default. :func:`resolve` picks,
for each setting, the first of: the flag, the environment variable, the file, the
default.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import stat
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from oneroster_client._redact import redact_text
from oneroster_client.errors import ConfigurationError

__all__ = [
    "CONFIG_ENV",
    "SETTINGS",
    "Resolved",
    "Setting",
    "add_flags",
    "load_file",
    "resolve",
]

CONFIG_ENV = "ONEROSTER_CONFIG"
"""The environment variable naming the TOML file when ``--config`` is not given."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _boolean(text: str) -> bool:
    folded = text.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError("expected true or false (1/0, yes/no)")


def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ValueError("must be a whole number of at least 1") from None
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _positive_float(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError("must be a number more than 0") from None
    # 0 fails every request; NaN or infinity would wait on a silent server for ever.
    if not (math.isfinite(number) and number > 0):
        raise ValueError("must be a finite number more than 0")
    return number


@attrs.frozen
class Setting:
    """One setting of the command line.

    Attributes:
        name: the key in the resolved values, ``section.key``.
        env: the environment variable.
        help: what it is, for ``--help`` and ``docs/cli.md``.
        flag: the command-line flag; ``None`` for secrets (environment or file only).
        default: the value when given nowhere.
        parse: turns the text of a flag or variable into the value.
        choices: the allowed values, if limited.
        secret: never shown (not in output, errors or ``--help``).
    """

    name: str
    env: str
    help: str
    flag: str | None = None
    default: Any = None
    parse: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    secret: bool = False

    @property
    def section(self) -> str:
        """The TOML table the setting lives in."""
        return self.name.partition(".")[0]

    @property
    def key(self) -> str:
        """The key in its TOML table."""
        return self.name.partition(".")[2]

    @property
    def dest(self) -> str:
        """The argparse attribute of the flag."""
        return "opt_" + self.name.replace(".", "_")


_SIS = (
    Setting(
        "sis.kind",
        "ONEROSTER_SIS",
        "the SIS: 'generic' (any OneRoster 1.1 server; base URL with its full path) or "
        "'skyward' (base URL as Skyward's API Base URL; Skyward's quirks repaired)",
        flag="--sis",
        default="generic",
        choices=("generic", "skyward"),
    ),
    Setting("sis.base_url", "ONEROSTER_BASE_URL", "the OneRoster base URL", flag="--base-url"),
    Setting(
        "sis.client_id",
        "ONEROSTER_CLIENT_ID",
        "the OAuth 2 client id or OAuth 1 consumer key (Skyward's Key)",
        flag="--client-id",
    ),
    Setting(
        "sis.client_secret",
        "ONEROSTER_CLIENT_SECRET",
        "the client secret (Skyward's Secret)",
        secret=True,
    ),
    Setting(
        "sis.token_url",
        "ONEROSTER_TOKEN_URL",
        "the OAuth 2 token URL; without it 'auto' signs with OAuth 1",
        flag="--token-url",
    ),
    Setting(
        "sis.client_auth",
        "ONEROSTER_CLIENT_AUTH",
        "how the client id and secret are sent to the OAuth 2 token URL: 'basic' (HTTP "
        "Basic), 'body' (form fields) or 'auto' (HTTP Basic; with --sis skyward, form fields "
        "when Basic is refused)",
        flag="--client-auth",
        default="auto",
        choices=("auto", "basic", "body"),
    ),
    Setting(
        "sis.auth",
        "ONEROSTER_AUTH",
        "how to authenticate: 'auto' (OAuth 2 with a token URL, else an access token, "
        "else OAuth 1), 'oauth2', 'oauth1' or 'token'",
        flag="--auth",
        default="auto",
        choices=("auto", "oauth2", "oauth1", "token"),
    ),
    Setting(
        "sis.access_token",
        "ONEROSTER_ACCESS_TOKEN",
        "a pre-issued bearer token (auth 'token')",
        secret=True,
    ),
    Setting(
        "sis.scopes",
        "ONEROSTER_SCOPES",
        "OAuth 2 scopes to request, separated by spaces; when not given, none for "
        "'generic' and Skyward's rostering scopes for 'skyward'",
        flag="--scopes",
    ),
    Setting(
        "sis.page_size",
        "ONEROSTER_PAGE_SIZE",
        "records per page",
        flag="--page-size",
        default=1000,
        parse=_positive_int,
    ),
    Setting(
        "sis.timeout",
        "ONEROSTER_TIMEOUT",
        "seconds per request",
        flag="--timeout",
        default=30.0,
        parse=_positive_float,
    ),
    Setting(
        "sis.allow_insecure_http",
        "ONEROSTER_ALLOW_INSECURE_HTTP",
        "permit plain http to a host that is not loopback (test servers only)",
        flag="--allow-insecure-http",
        default=False,
        parse=_boolean,
    ),
)

_BUZZ = (
    Setting(
        "buzz.base_url",
        "ONEROSTER_BUZZ_URL",
        "the Buzz API host (the background host for sync jobs)",
        flag="--buzz-url",
        default="https://backgroundapi.agilixbuzz.com",
    ),
    Setting(
        "buzz.token_url",
        "ONEROSTER_BUZZ_TOKEN_URL",
        "the Buzz token URL; when not given, <buzz-url>/api/oauth/token",
        flag="--buzz-token-url",
    ),
    Setting(
        "buzz.user_id",
        "ONEROSTER_BUZZ_USER_ID",
        "the Buzz application identity's user id (JWT iss and sub)",
        flag="--buzz-user-id",
    ),
    Setting(
        "buzz.key_id",
        "ONEROSTER_BUZZ_KEY_ID",
        "the id (kid) of the RSA key registered for that user",
        flag="--buzz-key-id",
    ),
    Setting(
        "buzz.private_key_file",
        "ONEROSTER_BUZZ_PRIVATE_KEY_FILE",
        "a file holding the PEM private key that signs Buzz token requests",
        flag="--buzz-private-key-file",
    ),
    Setting(
        "buzz.private_key",
        "ONEROSTER_BUZZ_PRIVATE_KEY",
        "the PEM private key itself (instead of a file)",
        secret=True,
    ),
    Setting(
        "buzz.user_agent",
        "ONEROSTER_BUZZ_USER_AGENT",
        "the User-Agent Agilix requires: your system, version and a contact",
        flag="--user-agent",
    ),
    Setting(
        "buzz.parent_domain_id",
        "ONEROSTER_BUZZ_DOMAIN",
        "the district's Buzz domain id",
        flag="--domain",
    ),
    Setting(
        "buzz.district_key",
        "ONEROSTER_DISTRICT_KEY",
        "the key of the district's run history and lock; when not given, the domain id",
        flag="--district-key",
    ),
)

SETTINGS: dict[str, Setting] = {setting.name: setting for setting in (*_SIS, *_BUZZ)}
"""Every layered setting, by name."""

SECTIONS = ("sis", "buzz", "roster", "passback")
"""The tables a TOML file may hold; ``roster`` and ``passback`` are passed to the library
(``RosterSettings.from_dict``, ``PassbackSettings``)."""


@attrs.frozen
class Resolved:
    """The values of the settings, where each came from, and the file's library tables.

    Attributes:
        values: setting name -> value.
        sources: setting name -> ``--flag``, the variable name, the file or ``default``.
        tables: the file's ``roster`` and ``passback`` tables.
    """

    values: dict[str, Any]
    sources: dict[str, str]
    tables: dict[str, dict[str, Any]]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def secrets(self) -> tuple[str, ...]:
        """The secret values, for scrubbing anything shown."""
        return tuple(
            str(self.values[name])
            for name, setting in SETTINGS.items()
            if setting.secret and self.values.get(name)
        )

    def where(self, name: str) -> str:
        """Where a setting came from, for messages."""
        return self.sources.get(name, "default")


def add_flags(
    parser: argparse.ArgumentParser,
    sections: Iterable[str],
    title: str,
    only: Iterable[str] | None = None,
    defaults: Mapping[str, str] | None = None,
) -> None:
    """Add the flags of the settings of ``sections`` as one argument group.

    The flags default to ``SUPPRESS`` so that a flag not given leaves the environment
    and the file their say; the help text names the default, the variable and the key.
    A flag's value is checked as it is parsed, so a bad one is a usage error (exit 2).

    Args:
        parser: the parser to add the flags to.
        sections: the tables whose settings get flags.
        title: the title of the group in ``--help``.
        only: when given, just these settings (names such as ``"sis.client_id"``): a
            command lists only the options it uses.
        defaults: the default a command itself uses when a setting is given nowhere,
            by setting name, shown in ``--help`` instead of the setting's own.
    """
    group = parser.add_argument_group(title)
    wanted = None if only is None else frozenset(only)
    for setting in SETTINGS.values():
        if setting.section not in sections or setting.flag is None:
            continue
        if wanted is not None and setting.name not in wanted:
            continue
        shown = (defaults or {}).get(setting.name)
        if shown is None:
            shown = "none" if setting.default is None else setting.default
        where = f"default: {shown}; env {setting.env}; [{setting.section}] {setting.key}"
        if setting.parse is _boolean:
            group.add_argument(
                setting.flag,
                dest=setting.dest,
                action="store_const",
                const=True,
                default=argparse.SUPPRESS,
                help=f"{setting.help} ({where})",
            )
            continue
        group.add_argument(
            setting.flag,
            dest=setting.dest,
            default=argparse.SUPPRESS,
            type=str if setting.parse is str else _flag_type(setting.parse),
            choices=setting.choices,
            metavar=None if setting.choices else setting.flag.lstrip("-").upper().replace("-", "_"),
            help=f"{setting.help} ({where})",
        )


def _flag_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: ``parse``, its complaint shown as argparse's usage error."""

    def convert(text: str) -> Any:
        try:
            return parse(text.strip())
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{error}, got {text!r}") from None

    return convert


def load_file(path: str | os.PathLike[str] | None) -> tuple[dict[str, Any], list[str]]:
    """Read a TOML settings file; no path gives no settings.

    Returns:
        The tables, and warnings (e.g. a file with secrets that others may read).

    Raises:
        ConfigurationError: the file cannot be read, is not TOML, or has unknown tables
            or keys.
    """
    if path is None:
        return {}, []
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigurationError(f"config file {file}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"config file {file}: not valid TOML: {error}") from None
    _check_tables(file, data)
    warnings = []
    if _has_secret(data) and _readable_by_others(file):
        warnings.append(
            f"config file {file} holds secrets and other users may read it (chmod 600 {file})"
        )
    return data, warnings


def _check_tables(file: Path, data: Mapping[str, Any]) -> None:
    problems = []
    for section, table in data.items():
        if section not in SECTIONS:
            problems.append(f"unknown table [{section}] (known: {', '.join(SECTIONS)})")
        elif not isinstance(table, dict):
            problems.append(f"[{section}] must be a table")
        elif section in ("sis", "buzz"):
            known = sorted(s.key for s in SETTINGS.values() if s.section == section)
            problems += [
                f"unknown key {key!r} in [{section}] (known: {', '.join(known)})"
                for key in table
                if f"{section}.{key}" not in SETTINGS
            ]
        elif section == "passback":
            problems += _unknown_passback_keys(table)
    if problems:
        raise ConfigurationError(f"config file {file}: " + "; ".join(problems))


def _unknown_passback_keys(table: Mapping[str, Any]) -> list[str]:
    """A problem for each key of ``[passback]`` that is not a passback setting.

    ``[roster]`` is checked by ``RosterSettings.from_dict``; the passback settings take
    keywords, so an unknown key is named here, with the closest known one.
    """
    from oneroster_client.buzz.passback import PassbackSettings

    known = sorted(field.name for field in attrs.fields(PassbackSettings))
    problems = []
    for key in table:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(
            f"{key!r} is not a passback setting in [passback] (known: {', '.join(known)}){hint}"
        )
    return problems


def _has_secret(data: Mapping[str, Any]) -> bool:
    return any(
        isinstance(data.get(s.section), dict) and s.key in data[s.section]
        for s in SETTINGS.values()
        if s.secret
    )


def _readable_by_others(file: Path) -> bool:
    try:
        mode = file.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH)) and os.name == "posix"


def resolve(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    data: Mapping[str, Any],
    file: str | None = None,
) -> Resolved:
    """Each setting from its flag, else its variable, else the file, else its default.

    Raises:
        ConfigurationError: naming every value that is invalid and where it came from
            (secret values are never quoted).
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for name, setting in SETTINGS.items():
        raw, source = _raw_value(setting, args, environ, data, file)
        if source is None:
            values[name] = setting.default
            continue
        sources[name] = source
        try:
            values[name] = _parsed(setting, raw)
        except (TypeError, ValueError) as error:
            shown = "" if setting.secret else f" {str(raw)!r}"
            problems.append(f"{source}:{shown} {error}")
    if problems:
        secrets = [str(v) for n, v in values.items() if SETTINGS[n].secret and v]
        raise ConfigurationError(redact_text("; ".join(problems), secrets=secrets))
    tables = {name: dict(data.get(name) or {}) for name in ("roster", "passback")}
    return Resolved(values=values, sources=sources, tables=tables)


def _raw_value(
    setting: Setting,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    data: Mapping[str, Any],
    file: str | None,
) -> tuple[Any, str | None]:
    if hasattr(args, setting.dest):
        return getattr(args, setting.dest), setting.flag
    text = environ.get(setting.env)
    if text is not None and text.strip() != "":
        return text, f"environment variable {setting.env}"
    table = data.get(setting.section)
    if isinstance(table, dict) and setting.key in table:
        return table[setting.key], f"{setting.key} in [{setting.section}] of {file}"
    return None, None


def _parsed(setting: Setting, raw: Any) -> Any:
    if isinstance(raw, str):
        value = setting.parse(raw.strip()) if setting.parse is not str else raw.strip()
    elif setting.parse is _boolean and isinstance(raw, bool):
        value = raw
    elif setting.parse in (_positive_int, _positive_float) and isinstance(raw, int | float):
        value = setting.parse(str(raw))
    else:
        raise TypeError(f"must be text, got {type(raw).__name__}")
    if setting.choices is not None and value not in setting.choices:
        raise ValueError(f"must be one of {', '.join(setting.choices)}")
    return value
