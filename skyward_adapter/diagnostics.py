"""Check a Skyward connection step by step and say what to fix, in a district admin's words.

:func:`check_connection` walks the path a sync takes: the token endpoint (OAuth 2), the
credentials, the OneRoster base path (``GET /orgs?limit=1``), which collections can be
read (rostering, demographics, gradebook) and, only when asked, whether grades can be
written (a throwaway category is PUT and DELETEd). Known Skyward failures get a hint:
old API User Access credentials after the move to Integration Access, an expired or
invalid token answered with HTTP 500, grade pass back not licensed or not allowed, a
missing demographics scope, an unreachable token host, a token URL that redirects
elsewhere, a TLS failure, a wrong base path. No secret ever appears in the report.
"""

from __future__ import annotations

import textwrap
import uuid
from typing import Any
from urllib.parse import urlsplit

import attrs
import requests

from oneroster_client._redact import redact_text
from oneroster_client.auth import TokenRefusedError
from oneroster_client.client import OneRosterClient
from oneroster_client.endpoints import SCOPE_PREFIX
from oneroster_client.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    OneRosterError,
    PermissionDeniedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    TransportError,
)
from oneroster_client.models import Category
from oneroster_client.retry import RetryPolicy
from skyward_adapter.auth import SkywardOAuth2, token_error_code
from skyward_adapter.connection import connect, default_retry_policy
from skyward_adapter.settings import SkywardSettings

__all__ = ["COLLECTION_GROUPS", "Check", "ConnectionReport", "check_connection"]

COLLECTION_GROUPS: dict[str, tuple[str, ...]] = {
    "rostering": ("orgs", "academicSessions", "courses", "classes", "users", "enrollments"),
    "demographics": ("demographics",),
    "gradebook read": ("lineItems", "results", "categories"),
}
"""The collections checked, by group; only rostering is required for ``ok``."""

_ATTRIBUTES = {
    "orgs": "orgs",
    "academicSessions": "academic_sessions",
    "courses": "courses",
    "classes": "classes",
    "users": "users",
    "enrollments": "enrollments",
    "demographics": "demographics",
    "lineItems": "line_items",
    "results": "results",
    "categories": "categories",
}

_URL_FORMS = (
    "https://<customer>.skyward.com/<customer>API (Qmlativ), "
    "https://skyward.iscorp.com/<CUSTOMER> (Qmlativ hosted by ISCorp) or "
    "https://<host>/api (SMS 2.0)"
)
HINT_BASE_PATH = (
    "Skyward serves OneRoster 1.1 under /ims/oneroster/v1p1 below its API root. Enter the "
    f"API root as the API Base URL: {_URL_FORMS}. On SMS 2.0 the URL is shown under Product "
    "Setup > Skyward Contact Access > District Setup > Configuration > API Configuration."
)
HINT_MIGRATION = (
    "If the district moved from API User Access to Integration Access (Qmlativ), the old "
    "credentials stop working: in Skyward, create an Integration Access with the same Key "
    "and generate a new Secret (it is shown only once), then enter that Secret. Also check "
    "that nothing extra (a space) was copied and that the Integration Access is active."
)
HINT_500 = (
    "Skyward answers an expired or invalid token with HTTP 500 instead of 401 (connectors "
    "treat 500 as an auth error). A freshly issued token got 500 as well: check that the "
    "API Token URL and the API Base URL belong to the same Skyward environment and that the "
    "Integration Access is active and within its effective dates; if so, the Skyward API "
    "server is failing and the district should check its logs."
)
HINT_PASSBACK = (
    "Grade pass back is not allowed: Qmlativ needs the 'QM OneRoster API with writeback' "
    "product (System Profile > Products Owned) and 'Allow Grade Pass Back' ticked in the "
    "OneRoster Configuration of the Integration Access; SMS 2.0 endpoints are read-only "
    "unless the LMS/OneRoster API licence was bought. The token may also lack a gradebook "
    f"write scope ({SCOPE_PREFIX}gradebook.createput; Skyward's write scopes are "
    "unconfirmed)."
)
HINT_DEMOGRAPHICS = (
    f"Demographics need the scope {SCOPE_PREFIX}roster-demographics.readonly: add it to the "
    "scopes and ask the district to share demographics with this Integration Access."
)
HINT_GRADEBOOK_READ = (
    f"Gradebook reads need the scope {SCOPE_PREFIX}gradebook.readonly and gradebook access in "
    "the district's OneRoster Configuration; some Skyward versions do not serve every "
    "gradebook collection."
)
HINT_ROSTER_SCOPE = (
    f"Rostering needs the scope {SCOPE_PREFIX}roster.readonly (or roster-core.readonly) and a "
    "OneRoster Configuration attached to the Integration Access."
)
HINT_SCOPE_REFUSED = (
    "The token endpoint refused the requested scopes: request only scopes this Integration "
    "Access has (for example drop roster-demographics.readonly if demographics are not "
    "shared)."
)
HINT_SCOPE_MISSING = (
    "The token endpoint requires a scope and none was requested: add the OneRoster scopes "
    f"this Integration Access has to the scopes, for example {SCOPE_PREFIX}roster-core.readonly."
)
HINT_TOKEN_REDIRECT = (
    "The API Token URL redirects to another address. Token requests are never sent on to "
    "another address, because the Key and Secret would travel with them: ask the district "
    "or Skyward for the exact token URL and enter it as the API Token URL (the address the "
    "redirect names, if that is the district's Skyward server)."
)
HINT_TOKEN_RATE_LIMITED = (
    "The token endpoint is rate limiting requests (HTTP 429): wait a few minutes and check "
    "again; if it persists, ask the district whether other tools share this Integration Access."
)
HINT_TOKEN_URL_404 = (
    "The API Token URL is not the token endpoint (HTTP 404). Ask the district or Skyward for "
    "the exact token URL; it cannot be derived from the API Base URL."
)
HINT_TOKEN_URL_NOT_OAUTH = (
    "The API Token URL answered without an OAuth error code, so it may not be the token "
    "endpoint: ask the district or Skyward for the exact token URL (it cannot be derived "
    "from the API Base URL). If it is the token endpoint, the Key and Secret were refused. "
    + HINT_MIGRATION
)
HINT_OAUTH1_REFUSED = (
    "The API refused the OAuth 1 signature. Qmlativ Integration Access no longer supports "
    "OAuth 1: ask for OAuth 2 credentials and the API Token URL. For SMS 2.0, check the Key "
    "and Secret of the API key (Secured User > API)."
)
HINT_TOKEN_REFUSED = (
    "The access token was refused: it may have expired or belong to another district. "
    "Issue a new one, or use the Key and Secret so tokens are renewed automatically."
)
HINT_API_REFUSED_TOKEN = (
    "The token endpoint issued a token but the API refused it: check that the API Token URL "
    "and the API Base URL belong to the same district and Skyward environment."
)
HINT_TLS = (
    "The TLS (https) handshake failed: check the host and port (https to a plain-http port "
    "fails this way) and that this machine trusts the server's certificate (a proxy that "
    "inspects TLS needs its certificate installed)."
)
HINT_NOT_JSON = (
    "The API Base URL answered with something that is not OneRoster JSON (probably a web "
    "page): it points at a web page rather than the API root. " + HINT_BASE_PATH
)


def _unreachable_hint(what: str, host: str) -> str:
    return (
        f"Could not connect to {host}: check the {what} for typos, that the host name "
        "resolves (DNS) and that this machine may reach it (firewall, proxy, VPN)."
    )


@attrs.frozen
class Check:
    """One step of the connection check.

    Attributes:
        name: what was checked, e.g. ``"token endpoint"``.
        ok: whether it passed.
        detail: what happened.
        hint: what to do about a failure (or ``None``).
        required: whether a failure makes the whole report fail.
    """

    name: str
    ok: bool
    detail: str
    hint: str | None = None
    required: bool = True


@attrs.define
class ConnectionReport:
    """The outcome of :func:`check_connection`; ``str()`` gives a readable report.

    Attributes:
        ok: every required check passed (token, credentials, base path, rostering reads).
        checks: each step, in order.
        readable: collection (wire name, e.g. ``"lineItems"``) -> whether it could be read;
            collections not tried are absent.
        writable: whether a gradebook write and delete worked; ``None`` when not checked.
        settings: the settings described without secrets.
    """

    ok: bool
    checks: list[Check]
    readable: dict[str, bool] = attrs.field(factory=dict)
    writable: bool | None = None
    settings: list[str] = attrs.field(factory=list)

    def check(self, name: str) -> Check | None:
        """The check with this name, if it ran."""
        return next((check for check in self.checks if check.name == name), None)

    @property
    def failed(self) -> list[Check]:
        """The checks that did not pass."""
        return [check for check in self.checks if not check.ok]

    @property
    def hints(self) -> list[str]:
        """The hints of the failed checks."""
        return [check.hint for check in self.failed if check.hint]

    def __str__(self) -> str:
        lines = [f"Skyward connection check: {'OK' if self.ok else 'FAILED'}"]
        lines += [f"  {line}" for line in self.settings]
        for check in self.checks:
            mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
            lines.append(f"  [{mark}] {check.name}: {check.detail}")
            if check.hint and not check.ok:
                lines += textwrap.wrap(
                    check.hint,
                    width=92,
                    initial_indent="         hint: ",
                    subsequent_indent="               ",
                )
        if self.readable:
            shown = ", ".join(
                f"{name} {'yes' if ok else 'no'}" for name, ok in self.readable.items()
            )
            lines.append(f"  readable: {shown}")
        if self.writable is not None:
            lines.append(f"  gradebook writes: {'yes' if self.writable else 'no'}")
        return "\n".join(lines)


class _Checker:
    def __init__(self, settings: SkywardSettings, client: OneRosterClient) -> None:
        self.settings = settings
        self.client = client
        self.checks: list[Check] = []
        self.readable: dict[str, bool] = {}
        self.writable: bool | None = None
        self.fresh_token = False
        self.orgs_problem: str | None = None
        self._secrets = tuple(settings.secrets)

    def add(
        self, name: str, ok: bool, detail: str, hint: str | None = None, required: bool = True
    ) -> None:
        self.checks.append(Check(name, ok, self.scrub(detail), hint, required))

    def scrub(self, text: str) -> str:
        return redact_text(text, self._secrets)

    # --- steps ----------------------------------------------------------------------------

    def token(self, auth: SkywardOAuth2) -> bool:
        host = urlsplit(auth.token_url).netloc
        try:
            auth.fetch_token()
        except TransportError as error:
            hint = HINT_TLS if _is_tls(error) else _unreachable_hint("API Token URL", host)
            self.add("token endpoint", False, f"could not reach {host}: {error}", hint)
            return False
        except APIError as error:
            return self._token_refused(error, host)
        how = {"basic": "HTTP Basic", "body": "form fields"}.get(auth.client_auth or "", "")
        self.add("token endpoint", True, f"{host} issued a token")
        self.add(
            "credentials",
            True,
            "Key and Secret accepted" + (f" (sent as {how})" if how else ""),
        )
        self.fresh_token = True
        return True

    def _token_refused(self, error: APIError, host: str) -> bool:
        status = error.status_code
        if isinstance(error, TokenRefusedError) and error.problem == "redirect":
            where = error.redirect_host or "another address"
            detail = (
                f"{host} redirected the token request to {where} (HTTP {status}); it was not "
                "followed, so the Key and Secret were not sent there"
            )
            self.add("token endpoint", False, detail, HINT_TOKEN_REDIRECT)
            return False
        if isinstance(error, RateLimitError):
            self.add("token endpoint", False, f"{host} answered HTTP 429", HINT_TOKEN_RATE_LIMITED)
            return False
        if status == 404:
            self.add("token endpoint", False, f"{host} answered HTTP 404", HINT_TOKEN_URL_404)
            return False
        if isinstance(error, ServerError):
            self.add(
                "token endpoint",
                False,
                f"{host} failed with HTTP {status}",
                "The Skyward authorisation server is failing; try again later or ask the "
                "district to check the API server.",
            )
            return False
        code = token_error_code(error)
        if code is None:
            detail = f"{host} answered HTTP {status} without an OAuth error code"
            self.add("token endpoint", False, detail, HINT_TOKEN_URL_NOT_OAUTH)
            return False
        self.add("token endpoint", True, f"{host} answered (HTTP {status} {code})")
        if code == "invalid_scope" or (
            isinstance(error, TokenRefusedError) and error.problem == "scope"
        ):
            hint = HINT_SCOPE_REFUSED if self.settings.scopes else HINT_SCOPE_MISSING
            self.add("credentials", False, f"scopes refused: {error}", hint)
        else:
            self.add("credentials", False, f"Key and Secret refused: {error}", HINT_MIGRATION)
        return False

    def base_path(self) -> bool:
        """GET /orgs?limit=1; True when the path answered (even 403)."""
        name = "OneRoster base path"
        url = self.settings.oneroster_base_url
        try:
            self.client.orgs.list(page_size=1).first(1)
        except PermissionDeniedError as error:
            self._credentials_ok()
            self.add(name, True, f"found at {url} (it answered HTTP 403)")
            self.readable["orgs"] = False
            self.orgs_problem = f"not allowed, {_first_line(error)}"
            return True
        except OneRosterError as error:
            self._base_path_failed(name, url, error)
            return False
        self._credentials_ok()
        self.add(name, True, f"found at {url}")
        self.readable["orgs"] = True
        return True

    def _base_path_failed(self, name: str, url: str, error: OneRosterError) -> None:
        if isinstance(error, NotFoundError):
            self.add(name, False, f"{url}/orgs answered HTTP 404 (not found)", HINT_BASE_PATH)
        elif isinstance(error, AuthenticationError):
            hint = {"oauth2": HINT_API_REFUSED_TOKEN, "oauth1": HINT_OAUTH1_REFUSED}.get(
                self.settings.auth_mode, HINT_TOKEN_REFUSED
            )
            self.add("credentials", False, f"the API refused the credentials: {error}", hint)
        elif isinstance(error, ServerError) and self.fresh_token and error.status_code == 500:
            detail = f"{url}/orgs answered HTTP 500 although the token was just issued"
            self.add(name, False, detail, HINT_500)
        elif isinstance(error, ServerError):
            self.add(name, False, f"{url}/orgs failed: {error}", _server_hint(error))
        elif isinstance(error, TransportError):
            host = urlsplit(url).netloc
            hint = HINT_TLS if _is_tls(error) else _unreachable_hint("API Base URL", host)
            self.add(name, False, f"could not reach {host}: {error}", hint)
        elif isinstance(error, ResponseFormatError):
            detail = f"{url}/orgs did not answer OneRoster JSON: {error}"
            self.add(name, False, detail, HINT_NOT_JSON)
        else:
            self.add(name, False, f"{url}/orgs failed: {error}")

    def _credentials_ok(self) -> None:
        if self.settings.auth_mode == "oauth2":
            return  # already reported by the token step
        what = "access token" if self.settings.auth_mode == "token" else "OAuth 1 signature"
        self.add("credentials", True, f"{what} accepted")

    def collections(self) -> None:
        hints = {
            "rostering": HINT_ROSTER_SCOPE,
            "demographics": HINT_DEMOGRAPHICS,
            "gradebook read": HINT_GRADEBOOK_READ,
        }
        for group, names in COLLECTION_GROUPS.items():
            failures: list[str] = []
            hint = hints[group]
            for collection in names:
                if collection in self.readable:  # orgs: read by the base path step
                    problem, collection_hint = self.orgs_problem, None
                else:
                    problem, collection_hint = self._read(collection)
                    self.readable[collection] = problem is None
                if problem is not None:
                    failures.append(f"{collection}: {problem}")
                    hint = collection_hint or hint
            required = group == "rostering"
            if failures:
                self.add(group, False, "; ".join(failures), hint, required=required)
            else:
                self.add(group, True, ", ".join(names) + " readable", required=required)

    def _read(self, collection: str) -> tuple[str | None, str | None]:
        listing = getattr(self.client, _ATTRIBUTES[collection]).list(page_size=1)
        try:
            listing.first(1)
        except PermissionDeniedError as error:
            return f"not allowed, {_first_line(error)}", None
        except NotFoundError:
            return "HTTP 404: not served by this server", None
        except ServerError as error:
            if self.fresh_token and error.status_code == 500:
                return "HTTP 500 with a fresh token", HINT_500
            return _first_line(error), _server_hint(error)
        except APIError as error:
            return _first_line(error), None
        except OneRosterError as error:
            return _first_line(error), None
        return None, None

    def writes(self) -> None:
        category = Category(
            sourced_id=f"skyward-adapter-check-{uuid.uuid4().hex[:12]}",
            title="Connection check by skyward-adapter (safe to delete)",
        )
        name = "gradebook writes"
        try:
            self.client.categories.put(category)
        except PermissionDeniedError as error:
            self.writable = False
            detail = f"PUT /categories: {_first_line(error)}"
            self.add(name, False, detail, HINT_PASSBACK, required=False)
            return
        except APIError as error:
            self.writable = False
            hint = None
            if error.status_code in (404, 405):
                hint = (
                    "This server does not accept OneRoster 1.1 gradebook PUTs at this path "
                    "(whether Skyward accepts PUT /lineItems and PUT /results is unconfirmed)."
                )
            detail = f"PUT /categories: {_first_line(error)}"
            self.add(name, False, detail, hint, required=False)
            return
        except OneRosterError as error:
            self.writable = False
            self.add(name, False, f"PUT /categories: {_first_line(error)}", required=False)
            return
        try:
            self.client.categories.delete(category.sourced_id)
        except OneRosterError as error:
            self.writable = False
            hint = f"Delete the test category {category.sourced_id!r} in Skyward by hand."
            if isinstance(error, PermissionDeniedError):
                hint += " " + HINT_PASSBACK
            detail = f"PUT worked but DELETE failed: {_first_line(error)}"
            self.add(name, False, detail, hint, required=False)
            return
        self.writable = True
        self.add(name, True, "a test category was written and deleted", required=False)


def _first_line(error: BaseException) -> str:
    """A short account of an error: the status and the server's own words, if any."""
    if isinstance(error, APIError):
        said = next((info.description for info in error.status_infos if info.description), None)
        return f"HTTP {error.status_code}" + (f" ({said[:160]})" if said else "")
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _server_hint(error: APIError) -> str:
    if error.status_code == 500:
        return HINT_500
    return "The Skyward API server is failing or overloaded; try again later."


def _is_tls(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, requests.exceptions.SSLError):
            return True
        current = current.__cause__ or current.__context__
    return "TLS" in str(error)


def check_connection(
    settings: SkywardSettings,
    *,
    check_writes: bool = False,
    timeout: float = 20.0,
    retry: RetryPolicy | None = None,
    session: requests.Session | None = None,
    **connect_options: Any,
) -> ConnectionReport:
    """Check that the settings reach Skyward's OneRoster API, and what they may do.

    Never raises for a connection problem: every failure becomes a failed :class:`Check`
    with a hint. Secrets never appear in the report.

    Args:
        settings: the settings to check.
        check_writes: also PUT and DELETE a throwaway category to see whether grade pass
            back is allowed. Off by default: it writes to the district's gradebook.
        timeout: seconds per request.
        retry: the retry policy; a short one by default so the check stays quick.
        session: a ``requests.Session`` to use.
        connect_options: passed on to :func:`skyward_adapter.connect` (e.g.
            ``client_auth``).

    Returns:
        The report; ``report.ok`` is true when tokens, credentials, the base path and the
        rostering collections all work.
    """
    if retry is None:
        retry = default_retry_policy(
            max_attempts=2, backoff_base=0.25, backoff_max=2.0, deadline=30.0
        )
    client = connect(settings, retry=retry, session=session, timeout=timeout, **connect_options)
    with client:
        checker = _Checker(settings, client)
        proceed = True
        if isinstance(client.auth, SkywardOAuth2):
            proceed = checker.token(client.auth)
        if proceed and checker.base_path():
            checker.collections()
            if check_writes:
                checker.writes()
    ok = all(check.ok for check in checker.checks if check.required) and bool(checker.checks)
    return ConnectionReport(
        ok=ok,
        checks=checker.checks,
        readable=checker.readable,
        writable=checker.writable,
        settings=settings.describe(),
    )
