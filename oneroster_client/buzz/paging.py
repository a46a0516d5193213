"""Lazy listings: DLAP list commands paged with ``query=/id>{last}`` and ``limit``.

Buzz has no page token. The listing asks for ``limit`` rows, then for rows whose id is
greater than the last one seen, and stops when a page comes back shorter than
``limit``. A server that ignores ``query`` would answer the same first page forever; the
listing notices the repeated id and raises :class:`BuzzPagingError` instead of looping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from oneroster_client import _gc
from oneroster_client.buzz._envelope import rows
from oneroster_client.buzz.errors import BuzzPagingError, BuzzResponseError

__all__ = ["BuzzListing"]

T = TypeVar("T")

Fetch = Callable[[Mapping[str, Any]], Mapping[str, Any]]


class BuzzListing(Generic[T]):
    """An iterable over every row of a list command, fetched page by page as you iterate.

    Each ``for`` loop starts a fresh listing. ``pages`` counts the requests of the latest
    iteration.

    Args:
        fetch: sends the command with the given parameters; returns the ``response``.
        command: the DLAP command, for messages.
        params: the command's parameters (without ``limit`` and ``query``).
        plural: the list wrapper, e.g. ``"users"``.
        singular: the row name, e.g. ``"user"``.
        reader: turns a row into the result type, e.g. ``BuzzUser.from_dict``.
        page_size: rows per request; ``None`` for a command that has no paging.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        command: str,
        params: Mapping[str, Any],
        plural: str,
        singular: str,
        reader: Callable[[Mapping[str, Any]], T],
        page_size: int | None,
    ) -> None:
        self._fetch = fetch
        self.command = command
        self._params = dict(params)
        self._plural = plural
        self._singular = singular
        self._reader = reader
        self.page_size = page_size
        self.pages = 0

    def __repr__(self) -> str:
        return f"BuzzListing(command={self.command!r}, page_size={self.page_size})"

    def __iter__(self) -> Iterator[T]:
        self.pages = 0
        if self.page_size is None:
            self.pages = 1
            for row in rows(self._fetch(self._params), self._plural, self._singular):
                yield self._reader(row)
            return
        yield from self._paged(self.page_size)

    def _paged(self, limit: int) -> Iterator[T]:
        seen: set[str] = set()
        last: str | None = None
        while True:
            params = {**self._params, "limit": limit}
            if last is not None:
                params["query"] = f"/id>{last}"
            page = rows(self._fetch(params), self._plural, self._singular)
            self.pages += 1
            built, last, failure = self._build(page, seen, last)
            yield from built
            if failure is not None:
                raise failure  # after the rows before it, as if built one by one
            if len(page) < limit:
                return

    def _build(
        self, page: list[Any], seen: set[str], last: str | None
    ) -> tuple[list[T], str | None, Exception | None]:
        """The page's rows read, up to the first that cannot be; the last id; the error.

        A page is read in one go with the garbage collector paused: a listing of a
        district's enrollments builds a million objects, and collecting meanwhile (none of
        them is garbage) cost a fifth of the time.
        """
        built: list[T] = []
        with _gc.paused():
            for row in page:
                try:
                    last = self._row_id(row)
                    if last in seen:
                        raise BuzzPagingError(
                            f"{self.command} returned id {last} twice: the server seems to "
                            "ignore query=/id>N paging; stopping instead of looping forever",
                            command=self.command,
                        )
                    seen.add(last)
                    built.append(self._reader(row))
                except Exception as error:
                    return built, last, error
        return built, last, None

    def _row_id(self, row: Any) -> str:
        value = row.get("id") if isinstance(row, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
            raise BuzzResponseError(
                f"{self.command} returned a row without an id; cannot page past it",
                command=self.command,
            )
        return str(value)

    def all(self) -> list[T]:
        """Fetch every row into a list."""
        return list(self)
