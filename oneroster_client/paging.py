"""Lazy listings that never end short, long or wrong while saying they are complete.

OneRoster 1.1 pages collections with ``limit`` and ``offset`` and announces the size of
the collection in ``X-Total-Count`` and the next page in ``Link: rel="next"`` (the
specification's pagination rules). Servers get each of these wrong in their own way, so
a listing checks every page and ends with :attr:`Listing.complete` ``True`` only when
nothing was left unread, read twice or reported as failed. Otherwise it raises
:class:`~oneroster_client.errors.IncompleteResultError` naming each problem, or, with
``allow_incomplete=True``, ends with ``complete=False`` and :attr:`Listing.problems`.

Choosing the next page:

- **Link.** Follow ``Link: rel="next"`` while the server sends one. A relative target is
  resolved against the URL of the page it came with (RFC 8288 section 3.2); a target on
  another origin is refused with :class:`~oneroster_client.errors.ResponseFormatError`
  (credentials would go there). A target carrying an ``offset`` must ask for exactly the
  offset after the records received so far; one that would skip or re-read records is a
  problem, and the listing goes on by offset itself, never following the server's links
  again.
- **Total.** Otherwise, while below ``X-Total-Count`` (or ``X-Count``), ask for the
  offset after what actually arrived (servers cap ``limit`` without saying so).
- **Empty page.** Otherwise read until an empty page. A page shorter than the limit is
  never taken as the end.

Rules checked on every page:

- **A total on a page boundary.** When the announced total is reached by a *full* page
  (as many records as the limit asked for, or as the largest page the server served
  before another page followed), one more page is asked for: totals that are too low,
  and servers that send the page's own length as the total, end exactly like this. The
  check costs one request only when the total is a multiple of the page size. (A first
  page that is both capped below the limit and the whole announced total cannot be
  told from a small collection, and is taken as one.)
- **Records past the total.** A page whose records go past the total announced with it
  means the total is wrong: it is no longer used, the listing reads on until an empty
  page, and it ends incomplete ("announced N records but M arrived").
- **Repeats.** The sourcedId of every record handed out is remembered (exactly, in a
  compact table: a million take some 40 MiB; a record without one is remembered by a
  bounded rendering of it). A page
  made only of records already handed out means the server ignores ``offset`` (or
  sent the first page again): the listing stops there. A page with some repeats means
  the server reorders records between pages, so others may have been skipped: the
  repeats are left out and the listing is incomplete. Because every page must bring a
  record not seen before, a listing cannot loop forever on a finite collection. (Pages
  whose records a vendor preprocessor drops entirely carry nothing to compare: 20 of
  them in a row end the listing.)
- **Status errors.** A page answered ``200`` whose ``statusInfoSet`` reports an error
  (severity ``error`` or codeMajor ``failure``/``unsupported``) makes the
  listing incomplete.
- **Counts.** At the end, records received are compared with the last announced total;
  records that could not be read as the model are incomplete too (each is kept in
  :attr:`Listing.errors` with its raw payload).

With ``max_workers > 1`` and a total, the pages below the total are fetched in
parallel (offsets generated lazily, ``max_workers`` requests in flight from the moment
the total is known, fewer after a 429) and handed out in order. A page of another size
than the first, or a total found wrong, ends the parallel part: the listing goes on one
page at a time from the offset after the records received, with the same rules.

One page at a time, a listing reads ahead: the next page is read into models on a
worker thread while the caller works on the current one, and the request for the page
after it goes out as soon as the answer arrives, when that page can be told from the
answer alone. Which page comes next is decided by the rules above, in order, as without
reading ahead; at most two requests go beyond the page the caller holds, and closing
the iteration (``break``) ends them. :meth:`Listing.first` does not read ahead.
"""

from __future__ import annotations

import logging
import reprlib
import threading
from array import array
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import SimpleNamespace
from typing import Any, Generic, TypeVar
from urllib.parse import quote, unquote, urlencode, urlsplit

import attrs

from oneroster_client import converter
from oneroster_client._naming import to_wire_name
from oneroster_client._redact import redact_url
from oneroster_client._urls import same_origin
from oneroster_client.converter import ConversionWarning
from oneroster_client.errors import (
    ConfigurationError,
    FilterError,
    IncompleteResultError,
    RecordValidationError,
    ResponseFormatError,
)
from oneroster_client.links import int_param, parse_link_header, resolve_link
from oneroster_client.models import Record
from oneroster_client.status import StatusInfo, parse_status_infos, warnings_from_body
from oneroster_client.transport import Response, Transport

__all__ = [
    "Listing",
    "Page",
    "RecordError",
    "extract_envelope",
    "missing_required_fields",
    "parse_link_header",
]

logger = logging.getLogger("oneroster_client")

M = TypeVar("M", bound=Record)


@attrs.frozen
class RecordError:
    """A record the server sent that could not be read; kept with its raw payload.

    Attributes:
        position: the record's zero-based position in the whole listing.
        raw: the record exactly as received.
        error: what was wrong (model, field path, value).
    """

    position: int
    raw: Any = attrs.field(repr=False)
    error: RecordValidationError

    def __str__(self) -> str:
        return f"record #{self.position}: {self.error}"


@attrs.frozen
class Page(Generic[M]):
    """One page of a listing.

    Attributes:
        items: the records that could be read, in server order.
        offset: the position of the page's first record in the listing.
        total: ``X-Total-Count`` (or ``X-Count``) when the server sent it.
        warnings: status infos riding on the answer (unknown sort or selection fields).
        errors: records of this page that could not be read.
        received: records on the page, readable or not.
        next_url: the ``Link rel="next"`` URL, if any, made absolute.
    """

    items: list[M]
    offset: int
    total: int | None
    warnings: tuple[StatusInfo, ...]
    errors: list[RecordError]
    received: int
    next_url: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class _Early:
    """A request sent before the listing decided it is the next one (read-ahead)."""

    url: str
    offset: int
    answer: Future[Response]


@attrs.frozen
class _Read(Generic[M]):
    """A fetched page with what the listing's checks need, before they run.

    Attributes:
        page: the page as read.
        limit: the ``limit`` the request asked for, when it said.
        keys: the identity of each record handed on (its sourcedId), in order.
        value_warnings: unknown enumeration values kept while reading the records.
        status_errors: error status infos the server sent with the page.
    """

    page: Page[M]
    limit: int | None
    keys: list[object] = attrs.field(repr=False)
    value_warnings: list[ConversionWarning]
    status_errors: tuple[StatusInfo, ...]


def extract_envelope(body: Any, keys: Sequence[str], *, collection: bool, url: str) -> Any:
    """Find the payload in a OneRoster envelope, tolerating the keys vendors really use.

    Looks up the expected key, then the alternative keys, then the only property of the
    right shape (a list for collections, an object for single records) that is not
    ``statusInfoSet``.

    Raises:
        ResponseFormatError: the body is not an object or no payload can be found.
    """
    if not isinstance(body, dict):
        raise ResponseFormatError(
            f"expected a JSON object with {keys[0]!r} from {urlsplit(url).path}, "
            f"got {type(body).__name__}",
            url=url,
        )
    for key in keys:
        if key in body:
            value = body[key]
            if collection and value is None:
                return []
            return value
    wanted = list if collection else dict
    candidates = [
        value
        for name, value in body.items()
        if isinstance(value, wanted) and name.lower() not in ("statusinfoset", "imsx_statusinfo")
    ]
    if len(candidates) == 1:
        return candidates[0]
    raise ResponseFormatError(
        f"the answer from {urlsplit(url).path} has no {keys[0]!r} envelope "
        f"(keys present: {', '.join(sorted(map(str, body))) or 'none'})",
        url=url,
    )


def _total_of(headers: Any) -> int | None:
    for name in ("X-Total-Count", "X-Count"):
        value = headers.get(name)
        if value is not None:
            try:
                total = int(value.strip())
            except ValueError:  # not a number, or too many digits to be one
                return None
            return total if total >= 0 else None
    return None


# Records without a usable sourcedId are remembered by a bounded rendering: cheap, and
# safe for deep or huge values.
_FINGERPRINT = reprlib.Repr()
_FINGERPRINT.maxlevel = 4
_FINGERPRINT.maxstring = 200
_FINGERPRINT.maxother = 200


# Pages in a row whose records a preprocessor dropped entirely before a listing stops.
_MAX_IDLE_PAGES = 20


def _key_of(raw: Any) -> object:
    """The identity of a wire record: its sourcedId, else a bounded rendering."""
    if isinstance(raw, dict):
        key = raw.get("sourcedId")
        if type(key) is str:
            return key
        if type(key) is int:
            return str(key)
    return ("unidentified", _FINGERPRINT.repr(raw))


def _key_of_item(item: Any) -> object:
    if isinstance(item, Record):
        return item.sourced_id
    return _key_of(item)


class Listing(Generic[M]):
    """A lazy, typed, re-iterable OneRoster collection read.

    Iterating yields every record across pages, fetching pages on demand; each iteration
    reads the collection again. :meth:`pages` gives page-level access, :meth:`all` and
    :meth:`first` materialise, :meth:`count` asks the server for the total.

    After an iteration, :attr:`total`, :attr:`received`, :attr:`errors`,
    :attr:`warnings`, :attr:`value_warnings` and :attr:`problems` describe it. By
    default an incomplete read raises :class:`IncompleteResultError` at the end; with
    ``allow_incomplete=True`` it ends quietly and :attr:`complete` is ``False``. The
    module documentation lists the rules.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        path: str,
        model: type[M],
        keys: Sequence[str],
        params: Sequence[tuple[str, str]] = (),
        page_size: int = 100,
        strict: bool = False,
        allow_incomplete: bool = False,
        max_workers: int = 1,
        progress: Callable[[int, int | None], None] | None = None,
        preprocess: Callable[[list[Any]], list[Any]] | None = None,
    ) -> None:
        for name, value in (("page_size", page_size), ("max_workers", max_workers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(
                    f"{name} must be a whole number of at least 1, got {value!r}"
                )
        self._transport = transport
        self.path = path
        self.model = model
        self.keys = tuple(keys)
        self.params = tuple(params)
        self.page_size = page_size
        self.strict = strict
        self.allow_incomplete = allow_incomplete
        self.max_workers = max_workers
        self.progress = progress
        self.preprocess = preprocess
        self._request_params = _with_sourced_id(self.params)
        self._reset()

    def _reset(self) -> None:
        self._raw = False
        self.total: int | None = None
        self.received = 0
        self.errors: list[RecordError] = []
        self.warnings: list[StatusInfo] = []
        self.value_warnings: list[ConversionWarning] = []
        self.complete: bool | None = None
        self.problems: list[str] = []
        self._problem_kinds: set[str] = set()
        self._seen = _KeySet()
        self._follow_links = True
        self._exceeded_total: int | None = None
        self._capacity = 0  # the largest page the server served before another followed
        self._last_received = 0
        self._idle_pages = 0
        # GUIDRefs read in this iteration, shared between records (a page repeats the same
        # few classes and schools); bounded by the converter.
        self._refs: dict[Any, Any] = {}

    def __repr__(self) -> str:
        # Filter literals can be student data (names, emails): shown redacted.
        query = unquote(redact_url("?" + urlencode(self.params, quote_via=quote)))
        state = (
            "" if self.complete is None else f", received={self.received}, complete={self.complete}"
        )
        shown = query if self.params else ""
        return f"Listing({self.model.__name__}, {self.path}{shown}{state})"

    # --- reading --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[M]:
        for page in self.pages():
            yield from page.items

    def dicts(self) -> Iterator[dict[str, Any]]:
        """Yield the records as wire-shaped dicts instead of models.

        For partial records (``fields=`` without every field the model requires) and for
        looking at exactly what the server sent. Paging and the completeness checks are
        the same as for models; ``sourcedId`` is always requested, because the listing
        needs it to tell a repeated record from a new one.
        """
        for page in self._pages(raw=True):
            yield from page.items  # type: ignore[misc]

    def pages(self) -> Iterator[Page[M]]:
        """Yield pages in server order; the checks of the listing run after the last one.

        Raises:
            FilterError: ``fields=`` leaves out fields the model requires.
        """
        self._check_fields()
        return self._pages(raw=False)

    def _check_fields(self) -> None:
        # sourcedId is added to every selection, so it is never missing.
        missing = missing_required_fields(self.model, dict(self._request_params).get("fields"))
        if missing:
            raise FilterError(
                f"fields={dict(self.params)['fields']} leaves out {', '.join(missing)}, which a "
                f"{self.model.__name__} needs; add them, or read the partial records with "
                "listing.dicts() (as dicts) or listing.to_dataframe() (as a DataFrame)"
            )

    def _pages(self, *, raw: bool, sequential: bool = False) -> Generator[Page[M], None, None]:
        self._reset()
        self._raw = raw
        first = self._fetch(self._url(0, self.page_size), offset=0, limit=self.page_size)
        page = self._accept(first)
        if page is None:  # pragma: no cover - a first page cannot repeat anything
            self._finish()
            return
        if not sequential and self._parallel(first):
            # Paging by offsets from here on: the server's links are not needed.
            self._follow_links = False
            last = yield from self._concurrent_rest(first, page)
            if last is not None:
                yield from self._sequential_rest(last)
        elif sequential:
            yield page
            yield from self._sequential_rest(first)
        else:
            yield from self._read_ahead_rest(first, page)
        self._finish()

    def _parallel(self, first: _Read[M]) -> bool:
        page = first.page
        return (
            self.max_workers > 1
            and page.total is not None
            and self._exceeded_total is None
            and 0 < page.received < page.total
        )

    # --- sequential paging ----------------------------------------------------------------

    def _sequential_rest(self, read: _Read[M]) -> Iterator[Page[M]]:
        offset = read.page.offset + read.page.received
        while True:
            step = self._next_request(read, offset)
            if step is None:
                return
            url, limit = step
            read = self._fetch(url, offset=offset, limit=limit)
            page = self._accept(read)
            if page is None:
                return
            yield page
            offset += read.page.received

    def _read_ahead_rest(self, read: _Read[M], page: Page[M]) -> Iterator[Page[M]]:
        """Hand out ``page`` and the pages after it, each read while the one before is used.

        A worker thread reads the next page into models while the caller works on the
        one before; and as soon as that page's answer has arrived, before its records are
        read into models, the request for the page after it is sent when that page can be
        told from this one alone (see :meth:`_likely_next`), so that the server prepares
        it meanwhile. At most two requests go beyond the page the caller holds, and at
        most three pages are held. Which page comes next is still decided here, in order,
        by :meth:`_next_request`, with the same rules as :meth:`_sequential_rest`; an
        early request that turns out not to be the next page is left unused.
        """
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="oneroster-read-ahead") as pool:
            ahead: Future[tuple[_Read[M], _Early | None]] | None = None
            early: _Early | None = None
            try:
                while True:
                    offset = read.page.offset + read.page.received
                    try:
                        step = self._next_request(read, offset)
                    except Exception:
                        yield page  # the problem comes after this page, as when not reading ahead
                        raise
                    if step is not None:
                        url, limit = step
                        if early is None or (early.url, early.offset) != (url, offset):
                            early = _Early(url, offset, pool.submit(self._get, url))
                        ahead = pool.submit(self._complete, early.answer, url, offset, limit, pool)
                    early = None
                    yield page
                    if ahead is None:
                        return
                    read, early = ahead.result()
                    ahead = None
                    next_page = self._accept(read)
                    if next_page is None:
                        return
                    page = next_page
            finally:
                if ahead is not None:
                    ahead.cancel()  # requests under way finish; the pool waits for them

    def _get(self, url: str) -> Response:
        return self._transport.request("GET", url)

    def _complete(
        self,
        answer: Future[Response],
        url: str,
        offset: int,
        limit: int | None,
        pool: ThreadPoolExecutor,
    ) -> tuple[_Read[M], _Early | None]:
        """Read the page ``answer`` brings; ask early for the likely next one meanwhile."""
        early: list[_Early] = []

        def ask_early(received: int, total: int | None, next_url: str | None) -> None:
            likely = self._likely_next(offset + received, received, total, next_url)
            if likely is not None:
                early.append(_Early(likely, offset + received, pool.submit(self._get, likely)))

        read = self._read_page(
            answer.result(), url, offset=offset, limit=limit, raw=self._raw, on_records=ask_early
        )
        return read, (early[0] if early else None)

    def _likely_next(
        self, after: int, received: int, total: int | None, next_url: str | None
    ) -> str | None:
        """The URL of the page after a page, told from that page alone, or ``None``.

        Has no effect on the listing: only where the rules of :meth:`_next_request`
        plainly give one answer (a next link on this server asking for the offset after
        the records received, else the offset after them while below the page's total or
        without one) is the page asked for early, and never once the listing has met a
        problem or pages without records to hand out. Anything else is left to
        :meth:`_next_request` once the page has been checked.
        """
        if received == 0 or self._idle_pages or self._problem_kinds:
            return None  # the end, or a listing in trouble: no request it may not need
        if next_url is not None and self._follow_links:
            same = same_origin(next_url, self._transport.base_url)
            return next_url if same and int_param(next_url, "offset") in (None, after) else None
        if total is not None and after >= total:
            return None
        return self._url(after, self.page_size)

    def _next_request(self, read: _Read[M], offset: int) -> tuple[str, int | None] | None:
        """The URL and limit of the page after ``read``, or ``None`` at the end."""
        page = read.page
        if page.received == 0:
            return None  # an empty page ends the listing whatever its links say
        if page.next_url is not None and self._follow_links:
            link = self._checked_link(page.next_url, offset)
            if link is not None:
                return link, int_param(link, "limit")
        total = self.total if self._exceeded_total is None else None
        if total is not None and offset >= total and not self._is_full(read):
            return None
        return self._url(offset, self.page_size), self.page_size

    def _is_full(self, read: _Read[M]) -> bool:
        received = read.page.received
        if read.limit is not None and received >= read.limit:
            return True
        return 0 < self._capacity <= received

    def _checked_link(self, url: str, offset: int) -> str | None:
        if not same_origin(url, self._transport.base_url):
            shown = urlsplit(redact_url(url)).netloc or url[:100]
            raise ResponseFormatError(
                f"the server's next-page link for {self.path} points to another host "
                f"({shown}); refusing to send credentials there",
                url=self._transport.base_url,
            )
        asked = int_param(url, "offset")
        if asked is None or asked == offset:
            return url
        gap = asked - offset
        effect = f"skip {gap} record(s)" if gap > 0 else f"read {-gap} record(s) again"
        self._problem(
            "link",
            f"the server's next-page link asks for offset {asked} after {offset} records, "
            f"which would {effect}; paging by offset from there on",
        )
        self._follow_links = False
        return None

    # --- concurrent paging ----------------------------------------------------------------

    def _concurrent_rest(
        self, first: _Read[M], first_page: Page[M]
    ) -> Generator[Page[M], None, _Read[M] | None]:
        """Fetch the pages below the total in parallel; hand them out in order.

        ``max_workers`` requests (fewer after a 429) are under way from the moment the
        total is known, and whenever one ends another is sent, even while an earlier
        page is still awaited: pages that arrive out of order wait for their turn, at
        most ``2 * max_workers`` of them, so memory stays bounded.

        Returns:
            the last page read, to go on from one page at a time, or ``None`` when the
            listing stopped.
        """
        step = first.page.received
        offsets = iter(range(step, first.page.total or 0, step))  # lazy: totals can be absurd
        limiter = _AdaptiveLimit(self.max_workers)
        pending: deque[Future[_Read[M]]] = deque()
        most_held = 2 * self.max_workers
        last = first
        with ThreadPoolExecutor(
            max_workers=self.max_workers, thread_name_prefix="oneroster-page"
        ) as pool:

            def refill() -> None:
                under_way = sum(1 for future in pending if not future.done())
                while under_way < limiter.limit and len(pending) < most_held:
                    offset = next(offsets, None)
                    if offset is None:
                        return
                    url = self._url(offset, step)
                    pending.append(
                        pool.submit(
                            self._fetch, url, offset=offset, limit=step, on_retry=limiter.on_retry
                        )
                    )
                    under_way += 1

            def next_in_order() -> _Read[M]:
                head = pending[0]
                while not head.done():
                    # Another page may end first: its worker gets the next request now.
                    wait([f for f in pending if not f.done()], return_when=FIRST_COMPLETED)
                    refill()
                return pending.popleft().result()

            try:
                refill()
                yield first_page
                while pending:
                    read = next_in_order()
                    page = self._accept(read)
                    if page is None:
                        return None
                    if read.page.received != step or self._exceeded_total is not None:
                        yield page
                        return read  # an odd page or a wrong total: one page at a time
                    refill()  # keep every worker busy while the caller uses this page
                    yield page
                    last = read
            finally:
                for future in pending:
                    future.cancel()
        return last

    # --- fetching and reading -------------------------------------------------------------

    def _fetch(self, url: str, *, offset: int, limit: int | None, on_retry: Any = None) -> _Read[M]:
        response = self._transport.request("GET", url, on_retry=on_retry)
        return self._read_page(response, url, offset=offset, limit=limit, raw=self._raw)

    def _read_page(
        self,
        response: Response,
        url: str,
        *,
        offset: int,
        limit: int | None,
        raw: bool,
        on_records: Callable[[int, int | None, str | None], None] | None = None,
    ) -> _Read[M]:
        # Runs on worker threads: reads the answer, changes nothing on the listing.
        body = response.json()
        raw_records = self._records_in(body, response.url)
        received = len(raw_records)
        total = _total_of(response.headers)
        link = parse_link_header(response.headers.get("Link")).get("next")
        next_url = None if link is None else resolve_link(link, url)
        if on_records is not None:
            on_records(received, total, next_url)  # before the records are read into models
        if self.preprocess is not None:
            # Vendor adapters repair raw records here; what arrived is still counted above.
            raw_records = self.preprocess(raw_records)
        keys = [_key_of(record) for record in raw_records]
        value_warnings: list[ConversionWarning] = []
        if raw:
            items: list[Any] = raw_records
            errors: list[RecordError] = []
        else:
            items, errors = self._structure(raw_records, offset, value_warnings)
        page: Page[M] = Page(
            items=items,
            offset=offset,
            total=total,
            warnings=warnings_from_body(body),
            errors=errors,
            received=received,
            next_url=next_url,
        )
        status_errors = tuple(info for info in parse_status_infos(body) if info.is_error)
        return _Read(page, limit, keys, value_warnings, status_errors)

    def _records_in(self, body: Any, url: str) -> list[Any]:
        records = extract_envelope(body, self.keys, collection=True, url=url)
        if not isinstance(records, list):
            raise ResponseFormatError(
                f"{self.keys[0]!r} in the answer from {urlsplit(url).path} is not a list",
                url=url,
            )
        return records

    def _structure(
        self, raw_records: list[Any], offset: int, value_warnings: list[ConversionWarning]
    ) -> tuple[list[M], list[RecordError]]:
        # Equal references within one listing are one shared instance (see _reset).
        items, failures = converter.structure_records(
            raw_records, self.model, strict=self.strict, warnings=value_warnings, refs=self._refs
        )
        errors = [
            RecordError(position=offset + index, raw=raw_records[index], error=exc)
            for index, exc in failures
        ]
        return items, errors

    # --- the checks -----------------------------------------------------------------------

    def _accept(self, read: _Read[M]) -> Page[M] | None:
        """Run the checks on a page in listing order; ``None`` ends the listing."""
        page = read.page
        if read.keys:
            checked = self._without_repeats(read)
            if checked is None:
                return None
            page = checked
            self._idle_pages = 0
        elif read.page.received:
            # Records arrived but a vendor preprocessor handed none on: nothing to check
            # for repeats, so a bound keeps a server that repeats such pages from looping.
            self._idle_pages += 1
            if self._idle_pages >= _MAX_IDLE_PAGES:
                self._problem(
                    "idle",
                    f"{_MAX_IDLE_PAGES} pages in a row up to offset {read.page.offset} "
                    "brought no record to hand out; the server seems to repeat itself",
                )
                return None
        if read.page.received:
            self._capacity = max(self._capacity, self._last_received)
            self._last_received = read.page.received
        if read.status_errors:
            self._status_problem(read)
        total = read.page.total
        beyond = total is not None and read.page.offset + read.page.received > total
        if beyond and self._exceeded_total is None:
            self._exceeded_total = total  # the total is wrong: read until an empty page
        self._account(read, page)
        return page

    def _without_repeats(self, read: _Read[M]) -> Page[M] | None:
        keys, seen = read.keys, self._seen
        fresh = set(keys)
        if len(fresh) == len(keys) and seen.add_new(keys):
            return read.page  # the common case: one look-up and one insertion per record
        offset = read.page.offset
        if seen.issuperset(fresh):
            self._problem(
                "repeat",
                f"the page at offset {offset} repeats an earlier page; the server ignores "
                "offset or reordered records while paging",
            )
            return None
        page = self._drop_repeats(read.page)
        repeated = len(keys) - (len(page.items) + len(page.errors))
        self._problem(
            "overlap",
            f"{repeated} record(s) on the page at offset {offset} repeat records already "
            "received (left out); the server reorders records while paging, so others may "
            "have been missed",
        )
        return page

    def _drop_repeats(self, page: Page[M]) -> Page[M]:
        seen = self._seen
        items: list[M] = []
        for item in page.items:
            key = _key_of_item(item)
            if key not in seen:
                seen.add(key)
                items.append(item)
        errors: list[RecordError] = []
        for error in page.errors:
            key = _key_of(error.raw)
            if key not in seen:
                seen.add(key)
                errors.append(error)
        return attrs.evolve(page, items=items, errors=errors)

    def _status_problem(self, read: _Read[M]) -> None:
        info = read.status_errors[0]
        codes = ", ".join(
            str(part) for part in (info.code_major, info.code_minor_raw) if part is not None
        )
        self._problem(
            "status",
            f"the server answered the page at offset {read.page.offset} with an error "
            f"status ({codes or 'severity error'}); what it could not serve is missing",
        )

    def _account(self, read: _Read[M], page: Page[M]) -> None:
        self.received += read.page.received
        self.errors.extend(page.errors)
        self.warnings.extend(w for w in page.warnings if w not in self.warnings)
        self.value_warnings.extend(read.value_warnings)
        if page.total is not None:
            self.total = page.total
        if self.progress is not None:
            self.progress(self.received, self.total)

    def _problem(self, kind: str, message: str) -> None:
        # One message per kind: a server that gets every page wrong gives one line.
        if kind not in self._problem_kinds:
            self._problem_kinds.add(kind)
            self.problems.append(message)

    def _finish(self) -> None:
        if self._exceeded_total is not None:
            self.problems.append(
                f"the server announced {self._exceeded_total} records but {self.received} "
                "arrived: records kept coming after the announced total, so it is wrong"
            )
        elif self.total is not None and self.received != self.total:
            self.problems.append(
                f"the server announced {self.total} records but {self.received} arrived"
            )
        if self.errors:
            self.problems.append(
                f"{len(self.errors)} of {self.received} records could not be read "
                "(see listing.errors for each one with its raw payload)"
            )
        self.complete = not self.problems
        self._report_problems()

    def _report_problems(self) -> None:
        if not self.problems:
            return
        message = f"incomplete listing of {self.path}: " + "; ".join(self.problems)
        if self.allow_incomplete:
            logger.warning("%s", message)
            return
        raise IncompleteResultError(message)

    # --- helpers ------------------------------------------------------------------------

    def _url(self, offset: int, limit: int) -> str:
        params = [*self._request_params, ("limit", str(limit)), ("offset", str(offset))]
        return self._transport.url_for(self.path, params)

    # --- conveniences -------------------------------------------------------------------

    def all(self) -> list[M]:
        """Read every record into a list."""
        return list(self)

    def first(self, count: int = 1) -> list[M]:
        """The first ``count`` records, fetching only the pages needed.

        Raises:
            FilterError: ``fields=`` leaves out fields the model requires (as for
                :meth:`pages`).
            IncompleteResultError: the pages read had problems (unless
                ``allow_incomplete``).
        """
        if count <= 0:
            return []
        self._check_fields()
        found: list[M] = []
        saved = self.page_size
        self.page_size = min(saved, count)
        pages = self._pages(raw=False, sequential=True)
        try:
            for page in pages:
                found.extend(page.items[: count - len(found)])
                if len(found) >= count:
                    break
        finally:
            pages.close()
            self.page_size = saved
        if self.complete is None:
            self._report_problems()  # stopped early: what was read must still be sound
        return found

    def count(self) -> int:
        """The number of records, from ``X-Total-Count`` when the server sends one.

        A total that the one-record probe cannot back (the total equals the records on
        the page, as with servers that send the page's length) is not trusted: the
        listing is then read in full (records are not kept).
        """
        response = self._transport.request("GET", self._url(0, 1))
        total = _total_of(response.headers)
        if total is not None:
            received = len(self._records_in(response.json(), response.url))
            if total > received or total == received == 0:
                return total
        return sum(len(page.items) for page in self._pages(raw=True))

    def to_dataframe(self, *, progress: bool | Callable[[int, int | None], None] = False) -> Any:
        """Read every record into a pandas DataFrame, one column per model attribute.

        Columns are the snake_case attribute names (the model's fields, also when the
        listing is empty); references become their sourcedIds (a list of references, a
        list of sourcedIds); dates and datetimes become ``datetime64[us, UTC]``;
        enumerations their string values. See
        :func:`oneroster_client.notebook.records_dataframe`.

        A listing with ``fields=`` gives just those columns (snake_case, ``sourced_id``
        first), each read as in a full record; the records may leave out fields the
        model requires. A selected value that cannot be read makes the listing
        incomplete, as for full records (the record is kept in :attr:`errors`).

        Args:
            progress: ``True`` shows a progress bar (tqdm; a widget in Jupyter) while
                pages arrive; a callable gets (records received, total or ``None``).

        Raises:
            ModuleNotFoundError: pandas (or tqdm for ``progress=True``) is not installed;
                the message names the ``notebook`` extra.
            IncompleteResultError: as when iterating (unless ``allow_incomplete``).
        """
        from oneroster_client import notebook  # pandas and tqdm load only when asked for

        selected = self._selected_fields()
        if selected is None:
            return notebook.listing_dataframe(self, progress=progress)
        columns = list(converter.structure_fields({}, self.model, selected))
        return notebook.listing_dataframe(
            self, progress=progress, read=lambda: self._partial_rows(selected), columns=columns
        )

    def _selected_fields(self) -> tuple[str, ...] | None:
        """The wire names a ``fields=`` listing asks for (``sourcedId`` first), or ``None``."""
        selection = dict(self._request_params).get("fields")
        if selection is None:
            return None
        return tuple(name.strip() for name in selection.split(","))

    def _partial_rows(self, selected: Sequence[str]) -> Iterator[Any]:
        """The records of a ``fields=`` listing, each as an object of its selected fields."""
        failed: list[RecordError] = []
        for position, raw in enumerate(self.dicts()):
            try:
                values = converter.structure_fields(raw, self.model, selected, strict=self.strict)
            except RecordValidationError as error:
                failed.append(RecordError(position=position, raw=raw, error=error))
                continue
            yield SimpleNamespace(**values)
        if failed:  # the listing itself was sound; some selected values were not
            self.errors.extend(failed)
            self.problems.append(
                f"{len(failed)} of {self.received} records could not be read "
                "(see listing.errors for each one with its raw payload)"
            )
            self.complete = False
            self._report_problems()

    def _repr_html_(self) -> str:
        """The notebook view: what is read, what the last read found, the first rows."""
        from oneroster_client import notebook

        return notebook.listing_html(self)


def missing_required_fields(model: type[Record], fields: str | None) -> list[str]:
    """Wire names of the fields ``model`` requires that a ``fields=`` selection leaves out."""
    if not fields:
        return []
    selected = {name.strip() for name in fields.split(",")}
    return [
        to_wire_name(field.name)
        for field in attrs.fields(model)
        if field.default is attrs.NOTHING and to_wire_name(field.name) not in selected
    ]


def _with_sourced_id(params: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``params`` with ``sourcedId`` added to a ``fields`` selection that leaves it out."""
    result = []
    for name, value in params:
        if name == "fields" and "sourcedId" not in {f.strip() for f in value.split(",")}:
            value = f"sourcedId,{value}"
        result.append((name, value))
    return tuple(result)


class _KeySet:
    """An exact set of record keys, compact enough for listings of millions of records.

    A listing remembers the key of every record it handed out. As a Python set of
    strings a million sourcedIds take over 100 MiB; here each key's UTF-8 text is kept
    once in one buffer, found through an open-addressing table of entry numbers with a
    31-bit fingerprint per entry: about 16 bytes per key plus its text. Keys are
    compared by their full text, so two keys are the same entry only when they are equal.

    Args:
        fingerprint: the hash of a key (tests pass a poor one to force collisions).
    """

    def __init__(self, fingerprint: Callable[[object], int] = hash) -> None:
        self._fingerprint = fingerprint
        self._slots = array("i", bytes(4 * 1024))  # entry number + 1; 0 is a free slot
        self._mask = 1023
        self._fingerprints = array("i")  # per entry
        self._ends = array("q")  # per entry: where its text ends in _text
        self._text = bytearray()

    def __len__(self) -> int:
        return len(self._ends)

    @staticmethod
    def _encode(key: object) -> bytes:
        # A sourcedId is a string; records without one are keyed by a (kind, text) tuple,
        # marked by a byte that UTF-8 never holds.
        if type(key) is str:
            return key.encode("utf-8", "surrogatepass")
        return b"\xff" + repr(key).encode("utf-8", "surrogatepass")

    def _find(self, key: object) -> tuple[int, int, bool]:
        """(the slot holding ``key`` or the free slot for it, its fingerprint, found)."""
        fingerprint = self._fingerprint(key) & 0x7FFFFFFF
        slots, fingerprints, mask = self._slots, self._fingerprints, self._mask
        index = fingerprint & mask
        while True:
            entry = slots[index] - 1
            if entry < 0:
                return index, fingerprint, False
            if fingerprints[entry] == fingerprint and self._holds(entry, key):
                return index, fingerprint, True
            index = (index + 1) & mask

    def _holds(self, entry: int, key: object) -> bool:
        start = self._ends[entry - 1] if entry else 0
        return self._text[start : self._ends[entry]] == self._encode(key)

    def __contains__(self, key: object) -> bool:
        return self._find(key)[2]

    def add(self, key: object) -> None:
        """Remember ``key``."""
        index, fingerprint, found = self._find(key)
        if not found:
            self._insert(key, index, fingerprint)
            if len(self._ends) * 2 > self._mask:  # at most half full: probes stay short
                self._grow()

    def add_new(self, keys: Sequence[object]) -> bool:
        """Remember ``keys`` if none of them is remembered yet; whether they were."""
        while (len(self._ends) + len(keys)) * 2 > self._mask:
            self._grow()  # room for all of them first: no slot moves below
        # The look-up of _find, inlined: this runs once per record of a listing.
        fingerprint_of, slots, fingerprints, mask = (
            self._fingerprint,
            self._slots,
            self._fingerprints,
            self._mask,
        )
        places = []
        for key in keys:
            fingerprint = fingerprint_of(key) & 0x7FFFFFFF
            index = fingerprint & mask
            while True:
                entry = slots[index] - 1
                if entry < 0:
                    break
                if fingerprints[entry] == fingerprint and self._holds(entry, key):
                    return False
                index = (index + 1) & mask
            places.append((index, fingerprint))
        text, ends, encode = self._text, self._ends, self._encode
        for key, (index, fingerprint) in zip(keys, places, strict=True):
            if slots[index]:  # taken by an earlier key of the same batch
                index, fingerprint, found = self._find(key)
                if found:
                    continue
            text += encode(key)
            ends.append(len(text))
            fingerprints.append(fingerprint)
            slots[index] = len(ends)
        return True

    def _insert(self, key: object, index: int, fingerprint: int) -> None:
        self._text += self._encode(key)
        self._ends.append(len(self._text))
        self._fingerprints.append(fingerprint)
        self._slots[index] = len(self._ends)

    def update(self, keys: Iterable[object]) -> None:
        """Remember every key of ``keys``."""
        for key in keys:
            self.add(key)

    def isdisjoint(self, keys: Iterable[object]) -> bool:
        """Whether none of ``keys`` is remembered."""
        return not any(self._find(key)[2] for key in keys)

    def issuperset(self, keys: Iterable[object]) -> bool:
        """Whether every key of ``keys`` is remembered."""
        return all(self._find(key)[2] for key in keys)

    def _grow(self) -> None:
        size = (self._mask + 1) * 2
        slots = array("i", bytes(4 * size))
        mask = size - 1
        for entry, fingerprint in enumerate(self._fingerprints):
            index = fingerprint & mask
            while slots[index]:
                index = (index + 1) & mask
            slots[index] = entry + 1
        self._slots, self._mask = slots, mask


class _AdaptiveLimit:
    """Concurrency that halves when the server answers 429, so paging backs off."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()

    def on_retry(self, status: int | None) -> None:
        if status == 429:
            with self._lock:
                if self.limit > 1:
                    self.limit = max(1, self.limit // 2)
                    logger.info("rate limited: lowering concurrent page requests to %d", self.limit)
