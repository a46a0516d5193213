"""Lazy listings that cannot truncate silently (OneRoster 1.1 section 8.1, DESIGN decision 3).

Paging order of preference: follow ``Link: rel="next"`` (never to another host); else use
``X-Total-Count`` and advance the offset by what actually arrived (servers cap ``limit``
without saying so); else stop on an empty page. A page shorter than the limit is never
taken as the end. When the listing ends, what arrived is compared with the announced
total: a shortfall, a repeated page or records that could not be read raise
:class:`~oneroster_client.errors.IncompleteResultError` naming the counts, unless the
caller asked to accept an incomplete listing and inspect it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

import attrs

from oneroster_client import converter
from oneroster_client._naming import to_wire_name
from oneroster_client.converter import ConversionWarning
from oneroster_client.errors import (
    FilterError,
    IncompleteResultError,
    RecordValidationError,
    ResponseFormatError,
)
from oneroster_client.models import Record
from oneroster_client.status import StatusInfo, warnings_from_body
from oneroster_client.transport import Response, Transport, same_origin

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
        next_url: the ``Link rel="next"`` URL, if any.
    """

    items: list[M]
    offset: int
    total: int | None
    warnings: tuple[StatusInfo, ...]
    errors: list[RecordError]
    received: int
    next_url: str | None = attrs.field(default=None, repr=False)


def parse_link_header(value: str | None) -> dict[str, str]:
    """Parse an RFC 8288 ``Link`` header into ``{rel: url}``."""
    links: dict[str, str] = {}
    if not value:
        return links
    for part in _split_links(value):
        section = part.strip()
        if not section.startswith("<") or ">" not in section:
            continue
        url, _, params = section[1:].partition(">")
        for param in params.split(";"):
            name, _, rel = param.strip().partition("=")
            if name.strip().lower() == "rel":
                for token in rel.strip().strip('"').split():
                    links.setdefault(token.lower(), url.strip())
    return links


def _split_links(value: str) -> list[str]:
    # Commas may occur inside <...>: split only outside angle brackets.
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in value:
        if char == "<":
            depth += 1
        elif char == ">":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


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


def _total_of(headers: Mapping[str, str]) -> int | None:
    for name in ("X-Total-Count", "X-Count"):
        value = headers.get(name)
        if value is not None:
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


class Listing(Generic[M]):
    """A lazy, typed, re-iterable OneRoster collection read.

    Iterating yields every record across pages, fetching pages on demand; each iteration
    reads the collection again. :meth:`pages` gives page-level access, :meth:`all` and
    :meth:`first` materialise, :meth:`count` asks the server for the total.

    After an iteration, :attr:`total`, :attr:`received`, :attr:`errors`,
    :attr:`warnings` and :attr:`value_warnings` describe it. By default an incomplete
    read raises :class:`IncompleteResultError` at the end; with ``allow_incomplete=True``
    it ends quietly and :attr:`complete` is ``False``.
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
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
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

    def __repr__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        state = (
            "" if self.complete is None else f", received={self.received}, complete={self.complete}"
        )
        return f"Listing({self.model.__name__}, {self.path}{'?' + query if query else ''}{state})"

    # --- reading --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[M]:
        for page in self.pages():
            yield from page.items

    def dicts(self) -> Iterator[dict[str, Any]]:
        """Yield the records as wire-shaped dicts instead of models.

        For partial records (``fields=`` without every field the model requires) and for
        looking at exactly what the server sent. Paging and the completeness checks are
        the same as for models.
        """
        for page in self._pages(raw=True):
            yield from page.items  # type: ignore[misc]

    def pages(self) -> Iterator[Page[M]]:
        """Yield pages in server order; the checks of the listing run after the last one."""
        missing = missing_required_fields(self.model, dict(self.params).get("fields"))
        if missing:
            raise FilterError(
                f"fields={dict(self.params)['fields']} leaves out {', '.join(missing)}, which a "
                f"{self.model.__name__} needs; add them, or iterate listing.dicts() to read "
                "partial records as dicts"
            )
        return self._pages(raw=False)

    def _pages(self, *, raw: bool) -> Iterator[Page[M]]:
        self._reset()
        self._raw = raw
        first = self._fetch(self._url(0, self.page_size), offset=0)
        yield first
        if self.max_workers > 1 and first.total is not None and first.received:
            yield from self._concurrent_rest(first)
        else:
            yield from self._sequential_rest(first)
        self._finish()

    def _sequential_rest(self, first: Page[M]) -> Iterator[Page[M]]:
        page = first
        offset = first.received
        seen = {self._signature(first)} if first.received else set()
        while True:
            if page.next_url is not None:
                next_url = self._check_next(page.next_url)
                next_offset = _offset_of(next_url, offset)
            elif page.total is not None:
                if offset >= page.total or page.received == 0:
                    return
                next_url, next_offset = self._url(offset, self.page_size), offset
            else:
                if page.received == 0:
                    return
                next_url, next_offset = self._url(offset, self.page_size), offset
            page = self._fetch(next_url, offset=next_offset)
            if page.received:
                signature = self._signature(page)
                if signature in seen:
                    self.problems.append(
                        f"the page at offset {next_offset} repeats an earlier page; the server "
                        "ignores offset or reordered records while paging"
                    )
                    return
                seen.add(signature)
            offset = next_offset + page.received
            yield page
            if page.received == 0:
                return  # an empty page ends the listing whatever its links say

    def _concurrent_rest(self, first: Page[M]) -> Iterator[Page[M]]:
        # The total is known: fetch the remaining pages in parallel, yield in order.
        step = first.received or self.page_size
        offsets = list(range(first.received, first.total or 0, step))
        limiter = _AdaptiveLimit(self.max_workers)
        seen = {self._signature(first)} if first.received else set()
        with ThreadPoolExecutor(
            max_workers=self.max_workers, thread_name_prefix="oneroster-page"
        ) as pool:
            futures: dict[int, Future[Page[M]]] = {}
            position = 0

            def submit_until_window() -> None:
                nonlocal position
                while position < len(offsets) and len(futures) < limiter.limit:
                    offset = offsets[position]
                    futures[offset] = pool.submit(
                        self._fetch,
                        self._url(offset, step),
                        offset=offset,
                        on_retry=limiter.on_retry,
                    )
                    position += 1

            submit_until_window()
            expected_next = first.received
            for offset in offsets:
                if offset not in futures:
                    submit_until_window()
                page = futures.pop(offset).result()
                submit_until_window()
                if page.received and self._signature(page) in seen:
                    self.problems.append(f"the page at offset {offset} repeats an earlier page")
                    for future in futures.values():
                        future.cancel()
                    return
                seen.add(self._signature(page))
                expected_next = offset + page.received
                yield page
                if page.received < step and expected_next < (first.total or 0):
                    # A short page mid-listing: fall back to sequential reads from here.
                    for future in futures.values():
                        future.cancel()
                    futures.clear()
                    tail = attrs.evolve(page, next_url=None)
                    yield from self._sequential_continue(tail, expected_next)
                    return

    def _sequential_continue(self, page: Page[M], offset: int) -> Iterator[Page[M]]:
        while page.total is not None and offset < page.total and page.received:
            page = self._fetch(self._url(offset, self.page_size), offset=offset)
            offset += page.received
            yield page

    def _fetch(self, url: str, *, offset: int, on_retry: Any = None) -> Page[M]:
        response = self._transport.request("GET", url, on_retry=on_retry)
        return self._read_page(response, offset)

    def _read_page(self, response: Response, offset: int) -> Page[M]:
        body = response.json()
        raw_records = extract_envelope(body, self.keys, collection=True, url=response.url)
        if not isinstance(raw_records, list):
            raise ResponseFormatError(
                f"{self.keys[0]!r} in the answer from {urlsplit(response.url).path} is not a list",
                url=response.url,
            )
        received = len(raw_records)
        if self.preprocess is not None:
            # Vendor adapters repair raw records here; what arrived is still counted above.
            raw_records = self.preprocess(raw_records)
        structure = converter.structure
        model, strict = self.model, self.strict
        items: list[M] = []
        errors: list[RecordError] = []
        value_warnings: list[ConversionWarning] = []
        if self._raw:
            items = raw_records
        else:
            for index, raw in enumerate(raw_records):
                try:
                    items.append(structure(raw, model, strict=strict, warnings=value_warnings))
                except RecordValidationError as exc:
                    errors.append(RecordError(position=offset + index, raw=raw, error=exc))
        warnings = warnings_from_body(body)
        total = _total_of(response.headers)
        next_url = parse_link_header(response.headers.get("Link")).get("next")
        with _LOCK:
            self.received += received
            self.errors.extend(errors)
            self.warnings.extend(w for w in warnings if w not in self.warnings)
            self.value_warnings.extend(value_warnings)
            if total is not None:
                self.total = total
        if self.progress is not None:
            self.progress(self.received, self.total)
        return Page(
            items=items,
            offset=offset,
            total=total,
            warnings=warnings,
            errors=errors,
            received=received,
            next_url=next_url,
        )

    def _finish(self) -> None:
        if self.total is not None and self.received != self.total:
            self.problems.append(
                f"the server announced {self.total} records but {self.received} arrived"
            )
        if self.errors:
            self.problems.append(
                f"{len(self.errors)} of {self.received} records could not be read "
                "(see listing.errors for each one with its raw payload)"
            )
        self.complete = not self.problems
        if self.problems:
            message = f"incomplete listing of {self.path}: " + "; ".join(self.problems)
            if self.allow_incomplete:
                logger.warning("%s", message)
                return
            raise IncompleteResultError(message)

    # --- helpers ------------------------------------------------------------------------

    def _url(self, offset: int, limit: int) -> str:
        params = [*self.params, ("limit", str(limit)), ("offset", str(offset))]
        return self._transport.url_for(self.path, params)

    def _check_next(self, url: str) -> str:
        if not same_origin(url, self._transport.base_url):
            raise ResponseFormatError(
                f"the server's next-page link for {self.path} points to another host "
                f"({urlsplit(url).netloc}); refusing to send credentials there",
                url=self._transport.base_url,
            )
        return url

    @staticmethod
    def _signature(page: Page[Any]) -> tuple[Any, ...]:
        ids = [getattr(item, "sourced_id", None) for item in page.items]
        ids += [repr(error.raw)[:100] for error in page.errors]
        return (page.received, tuple(ids[:3]), tuple(ids[-3:]))

    # --- conveniences -------------------------------------------------------------------

    def all(self) -> list[M]:
        """Read every record into a list."""
        return list(self)

    def first(self, count: int = 1) -> list[M]:
        """The first ``count`` records, fetching only the pages needed."""
        found: list[M] = []
        if count <= 0:
            return found
        saved = self.page_size
        self.page_size = min(saved, max(count, 1))
        try:
            self._reset()
            page = self._fetch(self._url(0, self.page_size), offset=0)
            found.extend(page.items[:count])
            if len(found) < count:
                for item in self._rest_after(page):
                    found.append(item)
                    if len(found) >= count:
                        break
        finally:
            self.page_size = saved
        return found

    def _rest_after(self, first: Page[M]) -> Iterator[M]:
        for page in self._sequential_rest(first):
            yield from page.items

    def count(self) -> int:
        """The number of records, from ``X-Total-Count`` when the server sends it.

        Without that header the listing is read in full (records are not kept).
        """
        response = self._transport.request("GET", self._url(0, 1))
        total = _total_of(response.headers)
        if total is not None:
            return total
        return sum(1 for _ in self)

    def to_dataframe(self) -> Any:
        """The records as a pandas DataFrame, one column per wire field.

        GUIDRefs become their sourcedIds (lists of them, comma-joined). Needs pandas
        (``pip install "oneroster-client[notebook]"``).
        """
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                'to_dataframe() needs pandas: pip install "oneroster-client[notebook]"'
            ) from None
        return pd.DataFrame([_flat(record.to_dict()) for record in self])


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


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict) and "sourcedId" in value:
            flat[key] = value["sourcedId"]
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) and "sourcedId" in v for v in value)
        ):
            flat[key] = ",".join(v["sourcedId"] for v in value)
        else:
            flat[key] = value
    return flat


def _offset_of(url: str, default: int) -> int:
    for name, value in parse_qsl(urlsplit(url).query):
        if name == "offset":
            try:
                return int(value)
            except ValueError:
                return default
    return default


_LOCK = threading.Lock()


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
