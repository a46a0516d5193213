"""HTTP for DLAP: one attempt at a time, envelope checks, re-authentication, throttling.

One :meth:`BuzzTransport.exchange` is one command sent (plus at most one repeat after
re-authenticating when Buzz answers ``NoAuthentication``). It returns the ``response``
object of an ``OK`` answer, raises for answers that no retry can fix, and returns an
:class:`AttemptFailure` for failures the caller may retry. :meth:`BuzzTransport.request`
adds Agilix's retry policy for commands that are safe to repeat; the client's batch
logic drives retries itself because re-sending a create needs care.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

import attrs
import requests
from requests.auth import AuthBase

from oneroster_client._redact import redact_text
from oneroster_client.buzz.auth import BuzzAuth
from oneroster_client.buzz.errors import (
    BuzzAuthenticationError,
    BuzzCommandError,
    BuzzError,
    BuzzHTTPError,
    BuzzResponseError,
    BuzzThrottledError,
    BuzzTransportError,
)
from oneroster_client.buzz.throttle import NOT_PROCESSED_STATUSES, BuzzRetryPolicy
from oneroster_client.retry import parse_retry_after
from oneroster_client.status import tls_failure
from oneroster_client.transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    BodyTooLarge,
    check_max_response_bytes,
    check_request_deadline,
    read_limited_body,
)

__all__ = ["AttemptFailure", "BuzzTransport", "encode_params"]

logger = logging.getLogger("oneroster_client.buzz")

_COMMAND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_EXCERPT = 300
# Only the start of an error body is redacted and shown: bounded work on a huge body, and
# far longer than any secret, so none is cut in half before redaction.
_REDACT_WINDOW = 64 * 1024


@attrs.frozen
class AttemptFailure:
    """A failed attempt the caller may retry.

    Attributes:
        error: what to raise when giving up.
        maybe_processed: Buzz may have acted on the request (HTTP 500/502/504, a broken
            connection or a read timeout); re-sending a write could then duplicate it.
        retry_after: the ``Retry-After`` header, when sent.
    """

    error: BuzzError
    maybe_processed: bool
    retry_after: str | None = None


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as DLAP reads them: booleans ``true``/``false``, ``None`` left out."""
    out: dict[str, str] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def check_command(cmd: object) -> str:
    """Refuse a command name that is not a plain DLAP word (it becomes part of the path)."""
    if not isinstance(cmd, str) or not _COMMAND.match(cmd):
        from oneroster_client.errors import ConfigurationError

        raise ConfigurationError(
            f"invalid DLAP command name {cmd!r}: expected a word such as 'listusers'"
        )
    return cmd.lower()


class BuzzTransport:
    """Sends DLAP commands to one Buzz host with one ``requests.Session``."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: AuthBase | None,
        user_agent: str,
        retry: BuzzRetryPolicy,
        timeout: float | tuple[float, float],
        session: requests.Session | None = None,
        request_deadline: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url
        self.auth = auth
        self.user_agent = user_agent
        self.retry = retry
        self.timeout = timeout
        # The same bounds as the OneRoster transport: total time per attempt, decoded size.
        self.request_deadline = check_request_deadline(request_deadline, timeout)
        self.max_response_bytes = check_max_response_bytes(max_response_bytes)
        self.session = session if session is not None else requests.Session()
        self._pause = 0.0
        self._pause_lock = threading.Lock()
        self.requests_sent = 0
        self.answered = False  # some answer came from Buzz (or its token endpoint)
        if isinstance(auth, BuzzAuth):
            auth.bind(
                base_url=base_url, session=self.session, user_agent=user_agent, timeout=timeout
            )

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def secrets(self) -> tuple[str, ...]:
        """The auth plug-in's secrets, to scrub from messages."""
        return self.auth.secrets() if isinstance(self.auth, BuzzAuth) else ()

    def request(
        self,
        method: str,
        cmd: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        resend_safe: bool,
    ) -> Mapping[str, Any]:
        """Send a command, retrying per the policy; return the ``response`` object.

        Args:
            resend_safe: whether repeating the command cannot duplicate anything (reads,
                updates, deletes, enrollments with ``disallowduplicates``). When false, a
                failure after which Buzz may have acted is raised, not retried.
        """
        retry = 0
        while True:
            outcome = self.exchange(method, cmd, params, body)
            if not isinstance(outcome, AttemptFailure):
                return outcome
            retry += 1
            wait = self.next_wait(outcome, retry, resend_safe=resend_safe)
            if wait is None:
                raise outcome.error
            self.sleep(wait, cmd=cmd, reason=str(outcome.error), retry=retry)

    def next_wait(self, failure: AttemptFailure, retry: int, *, resend_safe: bool) -> float | None:
        """The wait before retry number ``retry``, or ``None`` to give up."""
        if failure.maybe_processed and not resend_safe:
            return None
        wait = self.retry.wait_before_retry(retry, failure.retry_after)
        if wait is None and isinstance(failure.error, BuzzThrottledError):
            requested = parse_retry_after(failure.retry_after)
            if requested is not None:
                failure.error.retry_after = requested
        return wait

    def sleep(self, seconds: float, *, cmd: str, reason: str, retry: int) -> None:
        """Wait before a retry, logging why (the reason carries no secrets)."""
        logger.info("Buzz %s: %s; retry %d in %.2f s", cmd, reason, retry, seconds)
        self.retry.sleep(seconds)

    def exchange(
        self, method: str, cmd: str, params: Mapping[str, Any] | None, body: Any
    ) -> Mapping[str, Any] | AttemptFailure:
        """Send one command (re-authenticating once on ``NoAuthentication``).

        Raises:
            BuzzCommandError: Buzz answered a code other than ``OK``.
            BuzzAuthenticationError: still ``NoAuthentication`` after re-authenticating,
                or the auth plug-in could not authenticate.
            BuzzHTTPError: an HTTP error that is not retried.
            BuzzResponseError: an answer without the DLAP envelope.
        """
        outcome = self._attempt(method, cmd, params, body)
        if outcome is _NO_AUTH:
            if not isinstance(self.auth, BuzzAuth) or not self.auth.renewable:
                raise BuzzAuthenticationError(
                    f"Buzz refused the credentials for {cmd} (NoAuthentication) and they "
                    "cannot be renewed",
                    code="NoAuthentication",
                )
            logger.info("Buzz %s: NoAuthentication; authenticating again and retrying once", cmd)
            self.auth.invalidate()
            outcome = self._attempt(method, cmd, params, body)
            if outcome is _NO_AUTH:
                raise BuzzAuthenticationError(
                    f"Buzz answered NoAuthentication to {cmd} even after authenticating "
                    "again; check the account's rights and that it is not disabled",
                    code="NoAuthentication",
                )
        assert not isinstance(outcome, _NoAuth)
        return outcome

    def _attempt(
        self, method: str, cmd: str, params: Mapping[str, Any] | None, body: Any
    ) -> Mapping[str, Any] | AttemptFailure | _NoAuth:
        self._wait_for_budget(cmd)
        url = f"{self.base_url}/cmd/{cmd}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            self.requests_sent += 1
            raw = self.session.request(
                method,
                url,
                params=encode_params(params),
                data=data,
                headers=headers,
                auth=self.auth,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            content = read_limited_body(
                raw,
                started=started,
                time_limit=self.request_deadline,
                max_bytes=self.max_response_bytes,
            )
        except BodyTooLarge:
            raise BuzzResponseError(
                f"Buzz's answer to {cmd} is larger than max_response_bytes="
                f"{self.max_response_bytes}; pass a larger max_response_bytes to BuzzClient "
                "if Buzz really sends answers that large (smaller batches and pages help)",
                command=cmd,
            ) from None
        except BuzzTransportError as exc:  # the auth plug-in could not reach its endpoint
            if not self.answered and _refused(exc):
                raise self._unreachable(exc.url or url, "authenticating") from None
            return AttemptFailure(exc, maybe_processed=False)
        except BuzzAuthenticationError as exc:
            self.answered = True
            # A busy or failing token endpoint is retried like a command, each time with a
            # fresh assertion; a refusal (400/401) is final.
            if exc.status_code in self.retry.retry_statuses:
                return AttemptFailure(exc, maybe_processed=False)
            raise
        except requests.RequestException as exc:
            if not self.answered and _refused(exc):
                raise self._unreachable(url, cmd) from None
            return self._transport_failure(exc, method, cmd, url)
        self.answered = True
        elapsed = (time.monotonic() - started) * 1000
        logger.debug("Buzz %s %s -> %d in %.0f ms", method, cmd, raw.status_code, elapsed)
        self._note_budget(raw.headers)
        return self._read(raw, content, cmd)

    def _unreachable(self, url: str, doing: str) -> BuzzTransportError:
        """A refused connection before Buzz ever answered: not worth retrying.

        Nothing listens at that address: a wrong URL or port, or a server that is not
        running. Retrying only delays the message; later in a run, when Buzz has
        answered, a refused connection is retried as a passing outage.
        """
        host = url.split("://", 1)[-1].split("/", 1)[0]
        return BuzzTransportError(
            f"the Buzz server could not be reached at {self.base_url}: the connection to "
            f"{host} was refused ({doing}). Check base_url (and token_url, when set): the "
            "scheme, host and port, and that the server is running and reachable from here",
            url=url,
            method="POST" if doing == "authenticating" else None,
        )

    def _transport_failure(
        self, exc: requests.RequestException, method: str, cmd: str, url: str
    ) -> AttemptFailure:
        host = url.split("://", 1)[-1].split("/", 1)[0]
        error = BuzzTransportError(_describe(exc, host, cmd), url=url, method=method)
        if isinstance(exc, requests.exceptions.SSLError):
            raise error from None
        return AttemptFailure(error, maybe_processed=not _never_sent(exc))

    def _read(
        self, raw: requests.Response, content: bytes, cmd: str
    ) -> Mapping[str, Any] | AttemptFailure | _NoAuth:
        status = raw.status_code
        answer = _envelope(content)
        code = answer.get("code") if answer is not None else None
        if code == "NoAuthentication" or status == 401:
            return _NO_AUTH
        if status >= 300:
            return self._http_failure(raw, content, cmd, answer)
        if answer is None:
            raise BuzzResponseError(
                f"Buzz answered {cmd} with HTTP {status} but no DLAP 'response' object "
                "(not JSON, or an HTML error page?)",
                command=cmd,
            )
        if code != "OK":
            raise self.command_error(cmd, answer)
        return answer

    def command_error(self, cmd: str, answer: Mapping[str, Any]) -> BuzzCommandError:
        """The error for a DLAP answer whose code is not ``OK``."""
        code = answer.get("code")
        message = answer.get("message")
        error_id = answer.get("errorId")
        shown = redact_text(str(message)[:_EXCERPT], secrets=self.secrets()) if message else None
        text = f"Buzz {cmd} failed: {code}" + (f" ({shown})" if shown else "")
        text += f" [errorId {error_id}]" if error_id else ""
        return BuzzCommandError(
            text,
            command=cmd,
            code=str(code) if code is not None else "MissingCode",
            message=shown,
            error_id=str(error_id) if error_id is not None else None,
        )

    def _http_failure(
        self, raw: requests.Response, content: bytes, cmd: str, answer: Mapping[str, Any] | None
    ) -> AttemptFailure:
        status = raw.status_code
        # Redact first, then shorten: a secret cut in half would escape redaction.
        text = content.decode("utf-8", "replace")
        excerpt = redact_text(text[:_REDACT_WINDOW], secrets=self.secrets())[:_EXCERPT] or None
        detail = f", {answer.get('code')}" if answer and answer.get("code") else ""
        text = f"Buzz answered {cmd} with HTTP {status}{detail}"
        retry_after = raw.headers.get("Retry-After")
        error: BuzzHTTPError
        if status in NOT_PROCESSED_STATUSES:
            error = BuzzThrottledError(
                text + " (throttled)",
                status_code=status,
                command=cmd,
                retry_after=parse_retry_after(retry_after),
                body_excerpt=excerpt,
            )
        else:
            error = BuzzHTTPError(text, status_code=status, command=cmd, body_excerpt=excerpt)
        if status not in self.retry.retry_statuses:
            raise error
        return AttemptFailure(
            error, maybe_processed=status not in NOT_PROCESSED_STATUSES, retry_after=retry_after
        )

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        delay = self.retry.budget_delay(headers)
        if delay > 0:
            with self._pause_lock:
                self._pause = max(self._pause, delay)

    def _wait_for_budget(self, cmd: str) -> None:
        with self._pause_lock:
            pause, self._pause = self._pause, 0.0
        if pause > 0:
            logger.info("Buzz time budget nearly used up: pausing %.2f s before %s", pause, cmd)
            self.retry.sleep(pause)


class _NoAuth:
    """Marker: Buzz answered ``NoAuthentication``."""


_NO_AUTH = _NoAuth()


def _envelope(content: bytes) -> Mapping[str, Any] | None:
    try:
        payload = json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        return None
    inner = payload.get("response") if isinstance(payload, Mapping) else None
    return inner if isinstance(inner, Mapping) else None


def _refused(exc: BaseException) -> bool:
    """True when the connection was refused (``ECONNREFUSED``) somewhere in the chain."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        # requests -> urllib3 MaxRetryError(reason=NewConnectionError) -> the OSError;
        # the auth plug-in raises its own error with the original as its context.
        pending.extend([*current.args[:1], getattr(current, "reason", None)])
        pending.extend([current.__cause__, current.__context__])
    return False


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached Buzz (connect failed or timed out)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc.args[0]) if exc.args else ""
        return "NewConnectionError" in text or "NameResolutionError" in text
    return False


def _describe(exc: requests.RequestException, host: str, cmd: str) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        advice = tls_failure(exc).advice(setting="the Buzz URL")
        return f"TLS handshake with {host} failed ({cmd}): {advice}"
    if isinstance(exc, requests.Timeout):
        return f"{host} did not answer {cmd} in time"
    if isinstance(exc, requests.ConnectionError):
        return f"could not connect to {host} for {cmd}, or the connection broke"
    return f"request {cmd} to {host} failed: {type(exc).__name__}"
