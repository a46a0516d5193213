"""The generic part of the Buzz client: ``call``, ``batch`` and safe re-sending."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import requests
from requests.auth import AuthBase

from oneroster_client._redact import redact_text
from oneroster_client._urls import check_service_url
from oneroster_client.transport import DEFAULT_MAX_RESPONSE_BYTES
from oneroster_client.buzz._envelope import rows
from oneroster_client.buzz.batch import BatchFailure, BatchResult, BatchSuccess
from oneroster_client.buzz.errors import BuzzError, BuzzResponseError
from oneroster_client.buzz.throttle import BuzzRetryPolicy
from oneroster_client.buzz.transport import AttemptFailure, BuzzTransport, check_command
from oneroster_client.errors import ConfigurationError

logger = logging.getLogger("oneroster_client.buzz")

# Commands that can be repeated without creating anything twice.
_RESEND_SAFE = frozenset(
    {
        "updateusers",
        "updatedomains",
        "updatecourses",
        "updateenrollments",
        "updaterights",
        "deleteusers",
        "deletecourses",
        "deleteenrollments",
        "deletedomain",
        "restoreuser",
        "restorecourse",
        "restoreenrollment",
        "restoredomain",
        "extendsession",
    }
)


@attrs.frozen
class _Lookup:
    """How to find, by ``reference``, what a create may already have made."""

    list_command: str
    plural: str
    singular: str
    scope_key: str  # the item field naming the domain to search in
    answer_entity: str
    answer_id: str


_LOOKUPS = {
    "createusers2": _Lookup("listusers", "users", "user", "domainid", "user", "userid"),
    "createcourses": _Lookup("listcourses", "courses", "course", "domainid", "course", "courseid"),
    "copycourses": _Lookup("listcourses", "courses", "course", "domainid", "course", "courseid"),
    "createdomains": _Lookup("listdomains", "domains", "domain", "parentid", "domain", "domainid"),
}


@attrs.frozen
class _Item:
    index: int
    input: Any
    wire: Mapping[str, Any]


def _reference_query(reference: str) -> str:
    quote = '"' if "'" in reference else "'"
    return f"/reference={quote}{reference}{quote}"


def _check_user_agent(user_agent: object) -> str:
    if not isinstance(user_agent, str) or not user_agent.strip():
        raise ConfigurationError(
            "user_agent is required: Agilix requires a User-Agent that identifies the calling "
            "system, e.g. 'district-sync/1.4 (Example USD; it@example.org)'"
        )
    text = user_agent.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ConfigurationError("user_agent must be one line of printable text")
    if text.lower().startswith(("python-requests", "python-urllib")):
        raise ConfigurationError(
            f"user_agent {text!r} is a library default and does not identify your system: "
            "name your application, version and a contact (never a Buzz app's own User-Agent, "
            "which Agilix suspends)"
        )
    return text


def _check_size(name: str, value: object, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise ConfigurationError(f"{name} must be an integer from 1 to {maximum}, got {value!r}")
    return value


class BuzzClientCore:
    """Connection settings plus the two generic entry points, :meth:`call` and :meth:`batch`.

    See :class:`~oneroster_client.buzz.BuzzClient` for the arguments.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: AuthBase | None,
        user_agent: str,
        batch_size: int = 50,
        page_size: int = 100,
        retry: BuzzRetryPolicy | None = None,
        timeout: float | tuple[float, float] = 30.0,
        allow_insecure_http: bool = False,
        session: requests.Session | None = None,
        request_deadline: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = check_service_url(
            base_url,
            name="base_url",
            example="https://backgroundapi.agilixbuzz.com",
            allow_insecure_http=allow_insecure_http,
        )
        self.user_agent = _check_user_agent(user_agent)
        self.batch_size = _check_size("batch_size", batch_size, 10_000)
        self.page_size = _check_size("page_size", page_size, 100_000)
        self.retry = retry if retry is not None else BuzzRetryPolicy()
        self.transport = BuzzTransport(
            self.base_url,
            auth=auth,
            user_agent=self.user_agent,
            retry=self.retry,
            timeout=timeout,
            session=session,
            request_deadline=request_deadline,
            max_response_bytes=max_response_bytes,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, auth={self.transport.auth!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self.transport.close()

    def __enter__(self) -> BuzzClientCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self,
        cmd: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        method: str | None = None,
    ) -> Mapping[str, Any]:
        """Send any DLAP command and return its ``response`` object (code ``OK``).

        Commands named ``get...``/``list...`` go as GET, every other command as POST
        (override with ``method``). A ``body`` without a ``request``/``requests`` key is
        wrapped as ``{"request": body}``. Reads and idempotent writes are retried per the
        policy; other writes are not re-sent after a failure that may have reached Buzz.

        Raises:
            BuzzCommandError: Buzz answered a code other than ``OK``.
            BuzzError: a subclass for authentication, throttling, HTTP and transport
                failures.
        """
        name = check_command(cmd)
        verb = (method or ("GET" if name.startswith(("get", "list")) else "POST")).upper()
        payload: Any = None
        if body is not None:
            payload = body if ("request" in body or "requests" in body) else {"request": body}
        safe = verb == "GET" or self._resend_safe(name, params)
        return self.transport.request(verb, name, params, payload, resend_safe=safe)

    def batch(
        self,
        cmd: str,
        entity: str,
        items: Iterable[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
    ) -> BatchResult:
        """Send a batch command ``{"requests": {entity: [...]}}`` in chunks of ``batch_size``.

        Every item's answer is matched to the item by position; an item succeeds only
        when its own code is ``OK``. Creates of users, courses and domains whose outcome
        is unknown after a failure are looked up by ``reference`` before being sent again.

        Raises:
            BuzzResponseError: an answer with a different number of items than were sent.
            BuzzError: a whole request failed after retries; ``error.partial`` holds the
                outcome of the items handled before.
        """
        pairs = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ConfigurationError(
                    f"{cmd} item {index}: expected a dict of DLAP fields, got {type(item).__name__}"
                )
            pairs.append((item, item))
        return self._batch(check_command(cmd), entity, pairs, params)

    def _resend_safe(self, cmd: str, params: Mapping[str, Any] | None) -> bool:
        if cmd == "createenrollments":
            return str((params or {}).get("disallowduplicates", "")).lower() == "true"
        return cmd in _RESEND_SAFE

    def _batch(
        self,
        cmd: str,
        entity: str,
        pairs: Sequence[tuple[Any, Mapping[str, Any]]],
        params: Mapping[str, Any] | None,
    ) -> BatchResult:
        items = [_Item(i, given, wire) for i, (given, wire) in enumerate(pairs)]
        done: dict[int, BatchSuccess | BatchFailure] = {}
        try:
            for start in range(0, len(items), self.batch_size):
                chunk = items[start : start + self.batch_size]
                self._run_chunk(cmd, entity, chunk, params, done)
        except BuzzError as error:
            error.partial = _result(cmd, done)
            raise
        result = _result(cmd, done)
        logger.info("Buzz %s: %d items, %d failed", cmd, len(result), len(result.failed))
        return result

    def _run_chunk(
        self,
        cmd: str,
        entity: str,
        chunk: list[_Item],
        params: Mapping[str, Any] | None,
        done: dict[int, BatchSuccess | BatchFailure],
    ) -> None:
        pending, retry, uncertain = chunk, 0, False
        while pending:
            body = {"requests": {entity: [item.wire for item in pending]}}
            outcome = self.transport.exchange("POST", cmd, params, body)
            if not isinstance(outcome, AttemptFailure):
                self._map_answers(cmd, outcome, pending, done, uncertain)
                return
            retry += 1
            if outcome.maybe_processed:
                uncertain = True
                pending = self._settle_unknown(cmd, params, pending, done, outcome)
            wait = self.transport.next_wait(outcome, retry, resend_safe=True)
            if pending and wait is None:
                raise outcome.error
            if pending and wait is not None:
                self.transport.sleep(wait, cmd=cmd, reason=str(outcome.error), retry=retry)

    def _settle_unknown(
        self,
        cmd: str,
        params: Mapping[str, Any] | None,
        pending: list[_Item],
        done: dict[int, BatchSuccess | BatchFailure],
        outcome: AttemptFailure,
    ) -> list[_Item]:
        """Decide what to re-send after an attempt that may have reached Buzz."""
        if self._resend_safe(cmd, params):
            return pending
        lookup = _LOOKUPS.get(cmd)
        if lookup is None:
            raise outcome.error  # re-sending could duplicate, and nothing can be checked
        still: list[_Item] = []
        for item in pending:
            found = self._find_by_reference(lookup, item)
            if found is None:
                still.append(item)
            else:
                done[item.index] = found
        return still

    def _find_by_reference(
        self, lookup: _Lookup, item: _Item
    ) -> BatchSuccess | BatchFailure | None:
        reference = item.wire.get("reference")
        if not isinstance(reference, str) or not reference:
            return BatchFailure(
                input=item.input,
                index=item.index,
                code="OutcomeUnknown",
                message="the request failed after it may have reached Buzz, and the item "
                "has no reference to check whether it was created, so it was not sent again",
            )
        params = {
            "domainid": item.wire.get(lookup.scope_key, "0"),
            "query": _reference_query(reference),
            "limit": 10,
        }
        response = self.transport.request(
            "GET", lookup.list_command, params, None, resend_safe=True
        )
        matches = [
            row
            for row in rows(response, lookup.plural, lookup.singular)
            if isinstance(row, Mapping) and row.get("reference") == reference
        ]
        if not matches:
            return None
        if len(matches) > 1:
            return BatchFailure(
                input=item.input,
                index=item.index,
                code="OutcomeUnknown",
                message=f"{len(matches)} records already carry this reference; not sent again",
            )
        answer = {"code": "OK", lookup.answer_entity: {lookup.answer_id: str(matches[0].get("id"))}}
        logger.info("Buzz: item %d was created by an earlier attempt; not sent again", item.index)
        return BatchSuccess(item.input, answer)

    def _map_answers(
        self,
        cmd: str,
        response: Mapping[str, Any],
        pending: list[_Item],
        done: dict[int, BatchSuccess | BatchFailure],
        uncertain: bool,
    ) -> None:
        answers = rows(response, "responses", "response")
        if len(answers) != len(pending):
            raise BuzzResponseError(
                f"Buzz answered {cmd} with {len(answers)} item results for {len(pending)} items "
                "sent; results cannot be matched to items",
                command=cmd,
            )
        secrets = self.transport.secrets()
        for item, answer in zip(pending, answers, strict=True):
            if isinstance(answer, Mapping) and answer.get("code") == "OK":
                done[item.index] = BatchSuccess(item.input, answer)
                continue
            done[item.index] = _failure(item, answer, secrets, uncertain)


def _failure(item: _Item, answer: Any, secrets: tuple[str, ...], uncertain: bool) -> BatchFailure:
    if not isinstance(answer, Mapping):
        return BatchFailure(
            input=item.input,
            index=item.index,
            code="MissingCode",
            message="answer is not an object",
        )
    code = answer.get("code")
    message = answer.get("message")
    error_id = answer.get("errorId")
    return BatchFailure(
        input=item.input,
        index=item.index,
        code=str(code) if code else "MissingCode",
        message=redact_text(str(message)[:300], secrets=secrets) if message is not None else None,
        error_id=str(error_id) if error_id is not None else None,
        after_unknown_outcome=uncertain,
    )


def _result(cmd: str, done: Mapping[int, BatchSuccess | BatchFailure]) -> BatchResult:
    ordered = [done[index] for index in sorted(done)]
    return BatchResult(
        command=cmd,
        succeeded=tuple(o for o in ordered if isinstance(o, BatchSuccess)),
        failed=tuple(o for o in ordered if isinstance(o, BatchFailure)),
    )
