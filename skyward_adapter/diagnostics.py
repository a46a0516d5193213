"""Check a Skyward connection step by step and say what to fix, in a district admin's words.

:func:`check_connection` walks the path a sync takes: the token endpoint (OAuth 2), the
credentials, the OneRoster base path (``GET /orgs?limit=1``), which collections can be
read (rostering, demographics, gradebook) and, when grade pass back is on, whether it is
licensed and allowed. The pass back check leaves nothing behind in the SIS: it reads the
scopes the token was granted, and sends one PUT that every server must refuse (a JSON
array where a line item belongs) to see whether the write gets past authorisation: a
403 means pass back is not allowed, a 400 or 422 that it is. Known Skyward failures get a hint:
old API User Access credentials after the move to Integration Access, an expired or
invalid token answered with HTTP 500, grade pass back not licensed or not allowed, a
missing demographics scope, an unreachable token host, a token URL that redirects
elsewhere, a TLS failure, a wrong base path. No secret ever appears in the report.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

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
from oneroster_client.retry import RetryPolicy
from skyward_adapter.auth import SkywardOAuth2, token_error_code
from skyward_adapter.connection import connect, default_retry_policy
from skyward_adapter.settings import PASSBACK_SCOPES, SkywardSettings

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
    "unless the LMS/OneRoster API licence was bought."
)
HINT_PASSBACK_SCOPES = (
    f"Grade pass back needs the scope {SCOPE_PREFIX}gradebook.createput (and "
    "gradebook.readonly and gradebook.delete) on the token. " + HINT_PASSBACK
)
HINT_PASSBACK_OFF = (
    "Turn grade pass back on in the settings (passback=True, or SKYWARD_PASSBACK=1) so "
    "that tokens are requested with the gradebook scopes; without them every gradebook "
    "PUT is refused with HTTP 403."
)
HINT_PASSBACK_PATH = (
    "This server does not accept OneRoster 1.1 gradebook PUTs at /lineItems: check that "
    "the district's Skyward version serves grade pass back through OneRoster."
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
        ok: every required check passed (token, credentials, base path, rostering reads,
            and grade pass back when ``settings.passback`` is on).
        checks: each step, in order.
        readable: collection (wire name, e.g. ``"lineItems"``) -> whether it could be read;
            collections not tried are absent.
        writable: whether grade pass back is allowed (the token has the gradebook write
            scope and a gradebook PUT gets past authorisation); ``None`` when not checked
            or when the answer did not tell.
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
            allowed = "allowed" if self.writable else "not allowed"
            lines.append(f"  grade pass back: {allowed}")
        return "\n".join(lines)


class _Checker:
    def __init__(
        self,
        settings: SkywardSettings,
        client: OneRosterClient,
        *,
        session: requests.Session | None,
        timeout: float,
    ) -> None:
        self.settings = settings
        self.client = client
        self.session = session
        self.timeout = timeout
        self.passback_scopes_refused: str | None = None
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
        scope_refused = code == "invalid_scope" or (
            isinstance(error, TokenRefusedError) and error.problem == "scope"
        )
        if scope_refused and self.settings.passback and self.settings.scopes:
            # Tried again without the gradebook scopes, to tell "pass back not allowed"
            # from scopes that are wrong altogether.
            self.passback_scopes_refused = f"HTTP {status} {code}"
            return False
        self.add("token endpoint", True, f"{host} answered (HTTP {status} {code})")
        if scope_refused:
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

    def passback(self, required: bool) -> None:
        """Whether grade pass back is licensed and allowed; writes nothing that can stay."""
        name = "grade pass back"
        if self.passback_scopes_refused is not None:
            self.writable = False
            detail = (
                "the token endpoint refused the gradebook scopes "
                f"({self.passback_scopes_refused}); a token without them was issued"
            )
            self.add(name, False, detail, HINT_PASSBACK_SCOPES, required)
            return
        granted = self._granted_scopes()
        write_scope = SCOPE_PREFIX + "gradebook.createput"
        if granted and write_scope not in granted:
            self.writable = False
            detail = "the token was issued without " + write_scope
            hint = HINT_PASSBACK_SCOPES if self.settings.passback else HINT_PASSBACK_OFF
            self.add(name, False, detail, hint, required)
            return
        unread = [
            collection
            for collection in ("lineItems", "results")
            if not self.readable.get(collection, False)
        ]
        status, said = self._probe()
        if status is None:
            self.add(name, False, f"could not tell: {said}", required=required)
            return
        detail, outcome_hint, allowed = _probe_outcome(status, said)
        if allowed and unread:
            detail += "; but " + " and ".join(unread) + " cannot be read"
            self.writable = True
            self.add(name, False, detail, HINT_GRADEBOOK_READ, required)
            return
        if allowed and granted and not set(PASSBACK_SCOPES) <= set(granted):
            missing = sorted(set(PASSBACK_SCOPES) - set(granted))
            detail += "; the token lacks " + ", ".join(missing)
        self.writable = allowed
        self.add(name, bool(allowed), detail, outcome_hint, required)

    def _granted_scopes(self) -> tuple[str, ...] | None:
        auth = self.client.auth
        return auth.granted_scopes if isinstance(auth, SkywardOAuth2) else None

    def _probe(self) -> tuple[int | None, str]:
        """PUT a JSON array to a fresh line item id: refused by any server, after auth."""
        probe_id = f"skyward-adapter-passback-check-{uuid.uuid4().hex[:12]}"
        url = f"{self.client.base_url}/lineItems/{quote(probe_id, safe='')}"
        session = self.session if self.session is not None else requests.Session()
        try:
            response = session.put(
                url,
                data=b"[]",
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                auth=self.client.auth,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            with response:
                excerpt = b"".join(_limited(response, 16 * 1024))
        except (requests.RequestException, OneRosterError) as error:
            return None, f"PUT /lineItems: {type(error).__name__}: {_first_line(error)}"
        finally:
            if self.session is None:
                session.close()
        return response.status_code, _described(excerpt)


def _limited(response: requests.Response, limit: int) -> list[bytes]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(4096):
        chunks.append(chunk[: limit - size])
        size += len(chunk)
        if size >= limit:
            break
    return chunks


def _described(body: bytes) -> str:
    """The server's own words from a statusInfo (or OAuth error) body, if any."""
    try:
        data: Any = json.loads(body or b"null")
    except (ValueError, RecursionError):
        return ""
    infos = data.get("statusInfoSet") if isinstance(data, dict) else None
    if isinstance(infos, dict):
        infos = [infos]
    if isinstance(infos, list):
        for info in infos:
            if isinstance(info, dict) and isinstance(info.get("imsx_description"), str):
                return str(info["imsx_description"])[:160]
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])[:80]
    return ""


def _probe_outcome(status: int, said: str) -> tuple[str, str | None, bool | None]:
    """Detail, hint and verdict for the answer to the pass back probe."""
    answer = f"HTTP {status}" + (f" ({said})" if said else "")
    if status in (400, 422):
        detail = (
            "licensed and allowed: a PUT /lineItems the server had to refuse got past "
            f"authorisation ({answer}); nothing was written"
        )
        return detail, None, True
    if status == 403:
        return f"PUT /lineItems refused: {answer}", HINT_PASSBACK, False
    if status in (404, 405):
        return f"PUT /lineItems not served: {answer}", HINT_PASSBACK_PATH, False
    if status == 401:
        return f"PUT /lineItems: the credentials were refused, {answer}", HINT_TOKEN_REFUSED, None
    if 200 <= status < 300:
        detail = (
            f"allowed, but the server accepted a PUT /lineItems without a line item in it "
            f"({answer}); look for a line item whose id starts with "
            "'skyward-adapter-passback-check-' in Skyward and delete it"
        )
        return detail, None, True
    return f"could not tell: PUT /lineItems answered {answer}", None, None


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
    check_writes: bool | None = None,
    timeout: float = 20.0,
    retry: RetryPolicy | None = None,
    session: requests.Session | None = None,
    **connect_options: Any,
) -> ConnectionReport:
    """Check that the settings reach Skyward's OneRoster API, and what they may do.

    Never raises for a connection problem: every failure becomes a failed :class:`Check`
    with a hint. Secrets never appear in the report, and nothing is written to the SIS.

    With grade pass back on (``settings.passback``), the check "grade pass back" says
    whether it is licensed and allowed: the token must carry the gradebook write scope,
    line items and results must be readable, and a PUT to ``/lineItems/<fresh id>`` with
    a JSON array as its body (which no server can store) must be refused as invalid
    (400 or 422, so the write got past authorisation) rather than forbidden (403). When
    the token endpoint refuses the gradebook scopes, the rest is checked with a token
    requested without them.

    Args:
        settings: the settings to check.
        check_writes: check grade pass back; ``None`` (the default) follows
            ``settings.passback``. The check is required for ``ok`` only when
            ``settings.passback`` is on.
        timeout: seconds per request.
        retry: the retry policy; a short one by default so the check stays quick.
        session: a ``requests.Session`` to use.
        connect_options: passed on to :func:`skyward_adapter.connect` (e.g.
            ``client_auth``).

    Returns:
        The report; ``report.ok`` is true when tokens, credentials, the base path and the
        rostering collections all work (and grade pass back, when it is on).
    """
    if retry is None:
        retry = default_retry_policy(
            max_attempts=2, backoff_base=0.25, backoff_max=2.0, deadline=30.0
        )
    passback = settings.passback if check_writes is None else check_writes
    options: dict[str, Any] = {
        "retry": retry,
        "session": session,
        "timeout": timeout,
        **connect_options,
    }
    checker = _run(settings, settings, options, None, passback=passback)
    if checker.passback_scopes_refused is not None:
        read_only = attrs.evolve(settings, passback=False)
        refused = checker.passback_scopes_refused
        checker = _run(settings, read_only, options, refused, passback=passback)
    ok = all(check.ok for check in checker.checks if check.required) and bool(checker.checks)
    return ConnectionReport(
        ok=ok,
        checks=checker.checks,
        readable=checker.readable,
        writable=checker.writable,
        settings=settings.describe(),
    )


def _run(
    settings: SkywardSettings,
    used: SkywardSettings,
    options: dict[str, Any],
    scopes_refused: str | None,
    *,
    passback: bool,
) -> _Checker:
    """Every step with the ``used`` settings (``settings`` without pass back on a retry)."""
    with connect(used, **options) as client:
        checker = _Checker(used, client, session=options["session"], timeout=options["timeout"])
        proceed = True
        if isinstance(client.auth, SkywardOAuth2):
            proceed = checker.token(client.auth)
            if checker.passback_scopes_refused is not None:
                return checker  # asked again without the gradebook scopes
        checker.passback_scopes_refused = scopes_refused
        if proceed and checker.base_path():
            checker.collections()
            if passback:
                checker.passback(required=settings.passback)
    return checker
