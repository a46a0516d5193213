"""Skyward connection settings, as a district admin types them into Buzz's SIS settings card.

Buzz's SIS settings card asks for the SIS name, the API Base URL, and either a Key and a
Secret (with an optional API Token URL) or an Access token. Skyward serves OneRoster 1.1
under ``/ims/oneroster/v1p1`` below an API root whose form depends on the product:

* Qmlativ: ``https://<customer>.skyward.com/<customer>API``
* Qmlativ hosted by ISCorp (older districts): ``https://skyward.iscorp.com/<CUSTOMER>``
* SMS 2.0: ``https://<host>/api`` (the URL shown under Product Setup > Skyward Contact
  Access > District Setup > Configuration > API Configuration)

Any of them is accepted with or without ``/ims/oneroster/v1p1``;
:attr:`SkywardSettings.oneroster_base_url` always ends with it. Every problem found is
collected into one :class:`~oneroster_client.errors.ConfigurationError` whose message
names the setting the way the admin saw it (``API Base URL``, ``SKYWARD_BASE_URL``...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from oneroster_client._redact import mask, redact_url
from oneroster_client._urls import check_service_url, is_loopback_host
from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.errors import ConfigurationError

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_SCOPES",
    "ONEROSTER_PATH",
    "PASSBACK_SCOPES",
    "SIS_NAME",
    "AuthMode",
    "SkywardSettings",
]

SIS_NAME = "Skyward"
"""The SIS name Buzz expects, exactly (case and spaces matter)."""

ONEROSTER_PATH = "/ims/oneroster/v1p1"
"""The OneRoster 1.1 path below a Skyward API root."""

DEFAULT_SCOPES: tuple[str, ...] = (
    SCOPE_PREFIX + "roster.readonly",
    SCOPE_PREFIX + "roster-demographics.readonly",
)
"""The scopes Skyward OneRoster 1.1 connectors request (rostering and demographics)."""

PASSBACK_SCOPES: tuple[str, ...] = (
    SCOPE_PREFIX + "gradebook.readonly",
    SCOPE_PREFIX + "gradebook.createput",
    SCOPE_PREFIX + "gradebook.delete",
)
"""The OneRoster 1.1 gradebook scopes added to the request when grade pass back is on:
read line items and results, PUT them, and DELETE them (OneRoster 1.1 security, scopes)."""

DEFAULT_PAGE_SIZE = 1000
"""Records per page; Skyward connectors use 500 to 1000 (the server maximum is unconfirmed)."""

MAX_PAGE_SIZE = 10_000

AuthMode = Literal["oauth2", "oauth1", "token"]
"""How the adapter authenticates once ``auth="auto"`` has been resolved."""

_AUTH_CHOICES = ("auto", "oauth2", "oauth1", "token")
_AUTH_ALIASES = {
    "auto": "auto",
    "keyandsecret": "auto",
    "oauth2": "oauth2",
    "clientcredentials": "oauth2",
    "oauth2clientcredentials": "oauth2",
    "oauth1": "oauth1",
    "oauth1a": "oauth1",
    "oauth10a": "oauth1",
    "token": "token",
    "accesstoken": "token",
    "bearer": "token",
    "bearertoken": "token",
}

# Labels as Buzz's SIS settings card shows them (with the Python name where it differs).
_DEFAULT_LABELS = {
    "sis_name": "SIS name",
    "base_url": "API Base URL",
    "key": "Key",
    "secret": "Secret",
    "token_url": "API Token URL",
    "auth": "Authentication method (auth)",
    "access_token": "Access token",
    "scopes": "Scopes",
    "page_size": "Page size",
    "allow_insecure_http": "allow_insecure_http",
    "passback": "Grade pass back (passback)",
}

# from_dict(): labels and names accepted for each setting, compared without case,
# spaces or punctuation ("API Base URL", "api_base_url" and "apiBaseUrl" are one label).
_DICT_NAMES = {
    "sisname": "sis_name",
    "baseurl": "base_url",
    "apibaseurl": "base_url",
    "key": "key",
    "apikey": "key",
    "clientid": "key",
    "consumerkey": "key",
    "secret": "secret",
    "apisecret": "secret",
    "clientsecret": "secret",
    "consumersecret": "secret",
    "tokenurl": "token_url",
    "apitokenurl": "token_url",
    "auth": "auth",
    "authmethod": "auth",
    "authenticationmethod": "auth",
    "accesstoken": "access_token",
    "apiaccesstoken": "access_token",
    "scopes": "scopes",
    "scope": "scopes",
    "pagesize": "page_size",
    "allowinsecurehttp": "allow_insecure_http",
    "passback": "passback",
    "gradepassback": "passback",
    "allowgradepassback": "passback",
}
# Names this adapter used to accept, and what replaced them.
_RENAMED_DICT_NAMES = {"allowhttp": "allow_insecure_http"}

_ENV_NAMES = {
    "SIS_NAME": "sis_name",
    "BASE_URL": "base_url",
    "KEY": "key",
    "SECRET": "secret",
    "TOKEN_URL": "token_url",
    "AUTH": "auth",
    "ACCESS_TOKEN": "access_token",
    "SCOPES": "scopes",
    "PAGE_SIZE": "page_size",
    "ALLOW_INSECURE_HTTP": "allow_insecure_http",
    "PASSBACK": "passback",
}
_RENAMED_ENV_SUFFIXES = {"ALLOW_HTTP": "ALLOW_INSECURE_HTTP"}

_ONEROSTER_SEGMENT = re.compile(r"/ims/oneroster(?:/(?P<version>[^/]+))?(?P<rest>/.*)?$", re.I)
_BEARER_PREFIX = re.compile(r"^bearer\s+", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Labels and problems found before construction (from_dict / from_env), for the one error.
_BUILD: ContextVar[tuple[Mapping[str, str], tuple[str, ...]] | None] = ContextVar(
    "skyward_settings_build", default=None
)


# --- converters: never raise; odd values are left for the validation to describe ---------


def _optional_text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _access_token(value: Any) -> Any:
    value = _optional_text(value)
    if isinstance(value, str):
        value = _BEARER_PREFIX.sub("", value).strip() or None
    return value


def _base_url(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().rstrip("/")
    return value


def _auth(value: Any) -> Any:
    if value is None:
        return "auto"
    if isinstance(value, str):
        folded = re.sub(r"[\s_.\-]", "", value.lower())
        return _AUTH_ALIASES.get(folded, value.strip())
    return value


def _scopes(value: Any) -> Any:
    if value is None:
        return DEFAULT_SCOPES
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, Iterable):
        return tuple(item.strip() if isinstance(item, str) else item for item in value)
    return value


def _page_size(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        folded = value.strip().lower()
        if folded in ("1", "true", "yes", "on"):
            return True
        if folded in ("", "0", "false", "no", "off"):
            return False
    return value


@attrs.frozen(kw_only=True, repr=False)
class SkywardSettings:
    """What it takes to reach one district's Skyward OneRoster API.

    Build it with keyword arguments, :meth:`from_dict` (Buzz labels or snake_case) or
    :meth:`from_env`. Every setting is checked at construction; all problems are reported
    together in one :class:`~oneroster_client.errors.ConfigurationError`.

    Attributes:
        sis_name: must be exactly ``"Skyward"`` (Buzz matches it with case and spaces).
        base_url: the API Base URL in any Skyward form (see the module documentation),
            with or without ``/ims/oneroster/v1p1``; stored without trailing slashes.
        key: the Key of the Skyward Integration Access (Qmlativ) or API key (SMS 2.0);
            OAuth 2 ``client_id`` or OAuth 1 consumer key.
        secret: the Secret that goes with the Key (Qmlativ shows it once).
        token_url: the API Token URL for OAuth 2 client credentials; when absent, ``auto``
            signs requests with OAuth 1 (older SMS 2.0 and API User setups).
        auth: ``"auto"`` (OAuth 2 with a token URL, else a given access token, else OAuth
            1), ``"oauth2"``, ``"oauth1"`` or ``"token"`` (a pre-issued access token).
        access_token: a pre-issued bearer token (Buzz's "Access token" method).
        scopes: OAuth 2 scopes to request; a string is split on spaces.
        page_size: records per page (1 to 10,000; default 1,000).
        allow_insecure_http: accept plain ``http://`` URLs to a host that is not loopback
            (test servers only; loopback hosts are always accepted over http).
        passback: grade pass back is wanted: OAuth 2 tokens are requested with the
            gradebook scopes (:data:`PASSBACK_SCOPES`) as well as ``scopes``, and
            :func:`~skyward_adapter.check_connection` checks that pass back is licensed
            and allowed. Off by default: a read-only sync asks for read scopes only.
    """

    sis_name: str = attrs.field(default=SIS_NAME)
    base_url: str = attrs.field(converter=_base_url)
    key: str | None = attrs.field(default=None, converter=_optional_text)
    secret: str | None = attrs.field(default=None, converter=_optional_text)
    token_url: str | None = attrs.field(default=None, converter=_optional_text)
    auth: str = attrs.field(default="auto", converter=_auth)
    access_token: str | None = attrs.field(default=None, converter=_access_token)
    scopes: tuple[str, ...] = attrs.field(default=DEFAULT_SCOPES, converter=_scopes)
    page_size: int = attrs.field(default=DEFAULT_PAGE_SIZE, converter=_page_size)
    allow_insecure_http: bool = attrs.field(default=False, converter=_flag)
    passback: bool = attrs.field(default=False, converter=_flag)

    def __attrs_post_init__(self) -> None:
        build = _BUILD.get()
        labels, early = build if build is not None else (_DEFAULT_LABELS, ())
        problems = [*early, *_problems(self, labels)]
        if problems:
            raise ConfigurationError(
                "Skyward settings need attention:\n" + "\n".join(f"  - {p}" for p in problems)
            )

    # --- derived values -----------------------------------------------------------------

    @property
    def api_root(self) -> str:
        """The API root: the base URL without ``/ims/oneroster/v1p1``."""
        parts = urlsplit(self.base_url)
        match = _ONEROSTER_SEGMENT.search(parts.path)
        path = parts.path[: match.start()] if match else parts.path
        return f"{parts.scheme.lower()}://{parts.netloc}{path.rstrip('/')}"

    @property
    def oneroster_base_url(self) -> str:
        """The OneRoster 1.1 base URL; always ends with ``/ims/oneroster/v1p1``."""
        return self.api_root + ONEROSTER_PATH

    @property
    def url_form(self) -> Literal["qmlativ", "qmlativ-iscorp", "sms", "loopback", "unknown"]:
        """Which Skyward URL form the base URL has (used for hints)."""
        parts = urlsplit(self.api_root)
        host = (parts.hostname or "").lower()
        first = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else ""
        if is_loopback_host(host):
            return "loopback"
        if host == "skyward.iscorp.com":
            return "qmlativ-iscorp"
        if host.endswith(".skyward.com") and first.lower().endswith("api") and first != "api":
            return "qmlativ"
        if first.lower() == "api":
            return "sms"
        return "unknown"

    @property
    def auth_mode(self) -> AuthMode:
        """The authentication actually used once ``auto`` is resolved."""
        if self.auth in ("oauth2", "oauth1", "token"):
            return self.auth  # type: ignore[return-value]
        if self.token_url and self.key and self.secret:
            return "oauth2"
        if self.access_token:
            return "token"
        return "oauth1"

    @property
    def requested_scopes(self) -> tuple[str, ...]:
        """The OAuth 2 scopes requested: ``scopes``, plus :data:`PASSBACK_SCOPES` with ``passback``.

        When ``scopes`` is empty no scope is requested at all (the token endpoint then
        grants what the Integration Access has), with or without ``passback``.
        """
        if not self.passback or not self.scopes:
            return self.scopes
        return self.scopes + tuple(scope for scope in PASSBACK_SCOPES if scope not in self.scopes)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values of these settings (for scrubbing): secret and access token."""
        return tuple(value for value in (self.secret, self.access_token) if value)

    def describe(self) -> list[str]:
        """Readable lines describing the settings, without secrets."""
        names = {
            "oauth2": "OAuth 2 client credentials",
            "oauth1": "OAuth 1.0a (HMAC-SHA256 signatures)",
            "token": "pre-issued access token",
        }
        forms = {
            "qmlativ": "Qmlativ form",
            "qmlativ-iscorp": "Qmlativ form hosted by ISCorp",
            "sms": "SMS 2.0 form",
            "loopback": "a test server on this machine",
            "unknown": "not a known Skyward form",
        }
        lines = [
            f"API Base URL: {self.oneroster_base_url} ({forms[self.url_form]})",
            f"Authentication: {names[self.auth_mode]}"
            + (" (chosen automatically)" if self.auth == "auto" else ""),
        ]
        if self.key:
            lines.append(f"Key: {mask(self.key)}")
        if self.auth_mode == "oauth2":
            lines.append(f"API Token URL: {redact_url(self.token_url or '')}")
            lines.append("Scopes: " + (" ".join(self.requested_scopes) or "(none requested)"))
        lines.append(f"Page size: {self.page_size}")
        lines.append(
            "Grade pass back: "
            + ("on (gradebook scopes requested)" if self.passback else "off (read only)")
        )
        return lines

    def __repr__(self) -> str:
        key = repr(mask(self.key)) if self.key else "None"
        secret = "'***'" if self.secret else "None"
        token = "'***'" if self.access_token else "None"
        token_url = repr(redact_url(self.token_url)) if self.token_url else "None"
        return (
            f"SkywardSettings(sis_name={self.sis_name!r}, base_url={redact_url(self.base_url)!r}, "
            f"auth={self.auth!r}, key={key}, secret={secret}, token_url={token_url}, "
            f"access_token={token}, scopes={self.scopes!r}, page_size={self.page_size!r}, "
            f"allow_insecure_http={self.allow_insecure_http!r}, passback={self.passback!r})"
        )

    # --- other constructors -------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkywardSettings:
        """Build settings from a mapping with Buzz labels or Python names.

        Accepts ``"SIS Name"``, ``"API Base URL"``, ``"Key"``, ``"Secret"``, ``"API Token
        URL"``, ``"Access token"``, ``"Authentication method"`` (``"Key and secret"`` or
        ``"Access token"``) as well as ``sis_name``, ``base_url``, ``key``, ``secret``,
        ``token_url``, ``auth``, ``access_token``, ``scopes``, ``page_size``,
        ``allow_insecure_http`` and ``passback`` (also ``"Grade pass back"``). Labels are
        compared without case, spaces or punctuation. Empty values count as not given
        (except the SIS name, whose spelling is checked).

        Raises:
            ConfigurationError: unknown labels or invalid values, all in one message.
        """
        values: dict[str, Any] = {}
        labels = dict(_DEFAULT_LABELS)
        seen_as: dict[str, str] = {}
        early: list[str] = []
        for raw_name, value in data.items():
            name = str(raw_name)
            folded = re.sub(r"[^a-z0-9]", "", name.lower())
            field = _DICT_NAMES.get(folded)
            if field is None:
                early.append(_unknown_setting(name, folded))
                continue
            if field != "sis_name" and (value is None or (isinstance(value, str) and not value)):
                continue
            if field in values and values[field] != value:
                early.append(
                    f"{seen_as[field]!r} and {name!r} are the same setting with different values"
                )
                continue
            values[field] = value
            seen_as[field] = name
            labels[field] = repr(name)
        values.setdefault("base_url", "")
        return cls._build(values, labels, early)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, prefix: str = "SKYWARD_"
    ) -> SkywardSettings:
        """Build settings from environment variables.

        Reads ``{prefix}BASE_URL``, ``KEY``, ``SECRET``, ``TOKEN_URL``, ``AUTH``,
        ``ACCESS_TOKEN``, ``SCOPES`` (space-separated), ``PAGE_SIZE``, ``SIS_NAME``
        (default ``Skyward``), ``ALLOW_INSECURE_HTTP`` (``1``/``true``: plain http to a
        test server that is not loopback) and ``PASSBACK`` (``1``/``true``: grade pass
        back, requesting the gradebook scopes).
        Empty variables count as unset. Other variables are ignored.

        Args:
            environ: the environment; :data:`os.environ` when omitted.
            prefix: the variable prefix.

        Raises:
            ConfigurationError: missing or invalid values, named by variable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        labels = dict(_DEFAULT_LABELS)
        early = [
            f"{prefix}{old} was renamed to {prefix}{new}"
            for old, new in _RENAMED_ENV_SUFFIXES.items()
            if env.get(prefix + old)
        ]
        for suffix, field in _ENV_NAMES.items():
            variable = prefix + suffix
            labels[field] = f"{_DEFAULT_LABELS[field]} ({variable})"
            raw = env.get(variable)
            if raw is None or (raw == "" and field != "sis_name"):
                continue
            values[field] = raw
        values.setdefault("base_url", "")
        return cls._build(values, labels, early)

    @classmethod
    def _build(
        cls, values: dict[str, Any], labels: Mapping[str, str], early: list[str]
    ) -> SkywardSettings:
        with _build_context(labels, tuple(early)):
            return cls(**values)


@contextmanager
def _build_context(labels: Mapping[str, str], early: tuple[str, ...]) -> Iterator[None]:
    token = _BUILD.set((labels, early))
    try:
        yield
    finally:
        _BUILD.reset(token)


# --- validation ----------------------------------------------------------------------------


def _problems(s: SkywardSettings, labels: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    problems += _check_sis_name(s.sis_name, labels["sis_name"])
    insecure = s.allow_insecure_http is True
    problems += _check_base_url(s.base_url, insecure, labels["base_url"])
    if s.token_url is not None:
        problems += _check_token_url(s.token_url, insecure, labels["token_url"])
    problems += _check_auth(s, labels)
    problems += _check_scopes(s.scopes, labels["scopes"])
    page_size = s.page_size
    if (
        not isinstance(page_size, int)
        or isinstance(page_size, bool)
        or not 1 <= page_size <= MAX_PAGE_SIZE
    ):
        problems.append(
            f"{labels['page_size']} must be a whole number from 1 to {MAX_PAGE_SIZE:,} "
            f"(Skyward connectors use 500 to 1000); got {page_size!r}"
        )
    if not isinstance(s.allow_insecure_http, bool):
        problems.append(
            f"{labels['allow_insecure_http']} must be true or false; got {s.allow_insecure_http!r}"
        )
    if not isinstance(s.passback, bool):
        problems.append(
            f"{labels['passback']} must be true or false (yes/no, on/off, 1/0); got {s.passback!r}"
        )
    return problems


def _unknown_setting(name: str, folded: str) -> str:
    renamed = _RENAMED_DICT_NAMES.get(folded)
    if renamed is not None:
        return f"{name!r} was renamed to {renamed!r}"
    return (
        f"unknown setting {name!r}; known settings are SIS Name, API Base URL, "
        "Key, Secret, API Token URL, Access token, Authentication method, "
        "scopes, page_size, allow_insecure_http and passback"
    )


def _describe_whitespace(value: str) -> list[str]:
    found: list[str] = []
    leading = len(value) - len(value.lstrip())
    trailing = len(value) - len(value.rstrip())
    if leading:
        found.append("a leading space" if leading == 1 else f"{leading} leading spaces")
    if trailing:
        found.append("a trailing space" if trailing == 1 else f"{trailing} trailing spaces")
    return found


def _check_sis_name(value: Any, label: str) -> list[str]:
    rule = f"{label} must be exactly {SIS_NAME!r} (capital S, no spaces: case and spaces matter)"
    if value == SIS_NAME:
        return []
    if not isinstance(value, str):
        return [f"{rule}; got {value!r}"]
    if not value.strip():
        return [f"{rule}; it is empty"]
    issues = _describe_whitespace(value)
    if value.strip() != SIS_NAME and value.strip().lower() == SIS_NAME.lower():
        issues.append("different capitalisation")
    if value.strip().lower() != SIS_NAME.lower():
        return [f"{rule}; got {value!r}"]
    return [f"{rule}; got {value!r}, which has " + " and ".join(issues)]


_URL_FORMS = (
    "https://<customer>.skyward.com/<customer>API (Qmlativ), "
    "https://skyward.iscorp.com/<CUSTOMER> (Qmlativ hosted by ISCorp) or "
    "https://<host>/api (SMS 2.0)"
)
_TOKEN_URL_EXAMPLE = "https://<host>/oauth/token"


def _service_url_problem(
    value: Any, label: str, example: str, *, insecure: bool, allow_query: bool
) -> str | None:
    """The one URL check of the library, as a problem line; ``None`` when the URL is fine."""
    if isinstance(value, str) and (any(ch.isspace() for ch in value) or _CONTROL.search(value)):
        # Pasted URLs often carry a line break; the shared check would trim only the ends.
        return f"{label} contains a space or line break; copy the URL again"
    try:
        check_service_url(
            value,
            name=label,
            example=example,
            allow_insecure_http=insecure,
            allow_query=allow_query,
        )
    except ConfigurationError as exc:
        return str(exc)
    return None


def _check_base_url(value: Any, insecure: bool, label: str) -> list[str]:
    problem = _service_url_problem(value, label, _URL_FORMS, insecure=insecure, allow_query=False)
    if problem is not None:
        return [problem]
    match = _ONEROSTER_SEGMENT.search(urlsplit(value).path)
    if match is None:
        return []
    version = (match.group("version") or "").lower()
    rest = match.group("rest") or ""
    if version == "v1p2":
        return [
            f"{label} points at OneRoster 1.2 (…/ims/oneroster/v1p2), which this adapter "
            "does not support: use the OneRoster 1.1 URL (…/ims/oneroster/v1p1) or just "
            "the API root"
        ]
    if version not in ("", "v1p1"):
        return [
            f"{label} names OneRoster version {match.group('version')!r}; this adapter "
            "speaks OneRoster 1.1 (…/ims/oneroster/v1p1)"
        ]
    if rest.strip("/"):
        return [
            f"{label} should end at the API root or at /ims/oneroster/v1p1, but it goes on "
            f"with {rest!r}: remove that part"
        ]
    return []


def _check_token_url(value: Any, insecure: bool, label: str) -> list[str]:
    problem = _service_url_problem(
        value, label, _TOKEN_URL_EXAMPLE, insecure=insecure, allow_query=True
    )
    return [] if problem is None else [problem]


def _check_auth(s: SkywardSettings, labels: Mapping[str, str]) -> list[str]:
    if s.auth not in _AUTH_CHOICES:
        return [
            f"{labels['auth']} must be one of auto, oauth2, oauth1 or token (or 'Key and "
            f"secret' / 'Access token'); got {s.auth!r}"
        ]
    problems: list[str] = []
    for field in ("key", "secret", "access_token"):
        value = getattr(s, field)
        if value is not None and not isinstance(value, str):
            problems.append(f"{labels[field]} must be text")
        elif isinstance(value, str) and _CONTROL.search(value):
            problems.append(f"{labels[field]} contains a control character or line break")
    if isinstance(s.access_token, str) and any(ch.isspace() for ch in s.access_token):
        problems.append(
            f"{labels['access_token']} must be the token only, without spaces or line breaks"
        )
    mode = s.auth_mode
    if mode in ("oauth2", "oauth1"):
        missing = [labels[field] for field in ("key", "secret") if not getattr(s, field)]
        if missing:
            what = " and ".join(missing)
            verb = "is" if len(missing) == 1 else "are"
            hint = (
                "key-and-secret authentication needs both the Key and the Secret of the "
                "Skyward Integration Access (SMS 2.0: the API key)"
            )
            if s.auth == "auto":
                hint += f", or give an {labels['access_token']} instead"
            problems.append(f"{what} {verb} missing: {hint}")
    if mode == "oauth2" and not s.token_url:
        problems.append(
            f"{labels['token_url']} is required for OAuth 2 (auth='oauth2'); without it, "
            "use auth='auto' or 'oauth1' to sign requests with OAuth 1"
        )
    if mode == "token" and not s.access_token:
        problems.append(
            f"{labels['access_token']} is missing: auth='token' sends a pre-issued token"
        )
    return problems


def _check_scopes(scopes: Any, label: str) -> list[str]:
    if not isinstance(scopes, tuple):
        return [f"{label} must be a list of scope URIs or one space-separated string"]
    problems = []
    for scope in scopes:
        if not isinstance(scope, str) or not scope or any(ch.isspace() for ch in scope):
            problems.append(f"{label}: {scope!r} is not a scope (one word, e.g. {SCOPE_PREFIX}…)")
        elif "/v1p2/" in scope:
            problems.append(
                f"{label}: {scope!r} is a OneRoster 1.2 scope; use the v1p1 scopes "
                f"({SCOPE_PREFIX}roster.readonly, …)"
            )
    return problems
