"""Batch results: every item's outcome mapped back to the input that produced it.

DLAP answers a batch with HTTP 200 and ``response.responses.response[]``, one element per
item in request order, each with its own ``code``. An item counts as succeeded only when
its own code is ``OK``: an element without a code, or an answer with a different number
of elements than were sent, is never read as a success.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import attrs

__all__ = ["BatchFailure", "BatchResult", "BatchSuccess"]

_CREATED_KEYS = (
    ("user", "userid"),
    ("course", "courseid"),
    ("enrollment", "enrollmentid"),
    ("domain", "domainid"),
)


class BatchSuccess(NamedTuple):
    """One succeeded item: the input as given and Buzz's answer for it."""

    input: Any
    answer: Mapping[str, Any]

    def __repr__(self) -> str:
        # The input may be a user record with names and a password: show its kind only.
        return f"BatchSuccess(input=<{type(self.input).__name__}>, id={self.id!r})"

    @property
    def id(self) -> str | None:
        """The id Buzz gave a created record (``user.userid``, ``course.courseid``, ...)."""
        for entity, key in _CREATED_KEYS:
            inner = self.answer.get(entity)
            if isinstance(inner, Mapping) and inner.get(key) is not None:
                return str(inner[key])
        return None


@attrs.frozen(kw_only=True)
class BatchFailure:
    """One failed item.

    Attributes:
        input: the input as given.
        index: its position in the input.
        code: the DLAP code (``"BadRequest"``, ``"AccessDenied"`` ...), or
            ``"OutcomeUnknown"`` when the request failed after it may have reached Buzz
            and the item could not be checked, so it was not sent again.
        message: Buzz's message for the item (secrets removed).
        error_id: Buzz's ``errorId`` to quote to Agilix support.
        after_unknown_outcome: the item was sent again after an attempt whose outcome is
            unknown; an "already exists" answer (``Duplicate enrollment``) may then mean
            the first attempt succeeded.
    """

    input: Any
    index: int
    code: str
    message: str | None = None
    error_id: str | None = None
    after_unknown_outcome: bool = False

    def __repr__(self) -> str:
        # The input may be a user record: show where it was, not what it held.
        return (
            f"BatchFailure(index={self.index}, code={self.code!r}, message={self.message!r}, "
            f"error_id={self.error_id!r})"
        )


@attrs.frozen(kw_only=True)
class BatchResult:
    """The outcome of a batch command, item by item.

    Attributes:
        command: the DLAP command.
        succeeded: ``(input, answer)`` pairs, in input order.
        failed: the failed items, in input order.
    """

    command: str
    succeeded: tuple[BatchSuccess, ...] = ()
    failed: tuple[BatchFailure, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no item failed."""
        return not self.failed

    def __len__(self) -> int:
        return len(self.succeeded) + len(self.failed)

    def __repr__(self) -> str:
        return (
            f"BatchResult(command={self.command!r}, succeeded={len(self.succeeded)}, "
            f"failed={len(self.failed)})"
        )

    def raise_for_failures(self) -> BatchResult:
        """Raise :class:`~oneroster_client.buzz.BuzzCommandError` for the first failure.

        Returns:
            ``self`` when every item succeeded, for chaining.
        """
        from oneroster_client.buzz.errors import BuzzCommandError

        if not self.failed:
            return self
        first = self.failed[0]
        raise BuzzCommandError(
            f"{self.command}: {len(self.failed)} of {len(self)} items failed; first at index "
            f"{first.index}: {first.code}" + (f" ({first.message})" if first.message else ""),
            command=self.command,
            code=first.code,
            message=first.message,
            error_id=first.error_id,
        )
