"""The 61 operations: routing, query parameters, paging headers and gradebook writes.

Collection reads take ``filter`` (section 8.3 grammar, parsed strictly), ``sort`` and
``orderBy`` (8.2), ``fields`` (8.4), and ``limit``/``offset`` paging answered with
``X-Total-Count`` and ``Link`` headers (section 3.5). Unknown sort or selection fields
give a 200 with warnings; a filter that does not parse, names an unknown field, or an
``orderBy`` other than ``asc``/``desc``, gives a 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import attrs

from oneroster_client import converter
from oneroster_client.endpoints import OPERATIONS, Operation
from oneroster_client.errors import FilterError, RecordValidationError
from oneroster_client.query import FilterExpr, evaluate, parse_filter
from oneroster_client.testing.server import faults as fault_modes
from oneroster_client.testing.server.faults import Faults
from oneroster_client.testing.server.gradebook import GradebookRules, GradebookValidator
from oneroster_client.testing.server.http import Request
from oneroster_client.testing.server.refusal import Refusal, status_info
from oneroster_client.testing.server.render import Renderer, known_fields
from oneroster_client.testing.server.store import Resolver, Store

__all__ = ["Call", "Operations", "Outcome", "Router"]

Outcome = tuple[int, dict[str, Any] | None, dict[str, str]]
"""An operation's answer: HTTP status, JSON body (``None`` for none) and headers."""

_FOREIGN_ORIGIN = "http://other-host.invalid:8080"
_ORDERS = ("asc", "desc")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
_QUERY_CACHE_SIZE = 256


class Router:
    """Finds the operation for a method and decoded path under ``base_path``."""

    def __init__(self, base_path: str) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Operation]] = []
        for op in OPERATIONS:
            pattern = re.sub(
                r"\{(\w+)\}",
                r"(?P<\1>[^/]+)",
                re.escape(op.path).replace(r"\{", "{").replace(r"\}", "}"),
            )
            compiled = re.compile("^" + re.escape(base_path) + pattern + "/?$")
            self._routes.append((op.method, compiled, op))

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation and its path parameters; ``None`` for an unknown path.

        Raises:
            Refusal: 405 when the path exists but not with this method.
        """
        for route_method, pattern, op in self._routes:
            match = pattern.match(path)
            if match is not None and route_method == method:
                return op, match.groupdict()
        for _route_method, pattern, op in self._routes:
            if pattern.match(path):
                raise Refusal(405, "unsupported", f"{method} is not supported on {op.path}")
        return None


@attrs.define
class Call:
    """One API request being answered.

    Attributes:
        op: the operation.
        params: its path parameters.
        request: the HTTP request.
        count: the number of this API request (from 1), for periodic faults.
        warnings: statusInfo warnings to send with the answer.
    """

    op: Operation
    params: dict[str, str]
    request: Request
    count: int
    warnings: list[dict[str, str]] = attrs.field(factory=list)

    @property
    def known(self) -> frozenset[str]:
        """The wire field names of the operation's model."""
        return known_fields(self.op.model)


@attrs.frozen
class _Ordering:
    sort: str | None
    descending: bool


class Operations:
    """Answers the 61 operations from a :class:`Store`.

    Args:
        store: the data.
        renderer: turns stored records into sent ones.
        origin: returns the server origin, for ``Link`` URLs.
        faults: returns the faults in force.
        default_limit: the page size when a request gives no ``limit``.
        delete_status: 204 or 200 for gradebook DELETE.
        gradebook_rules: returns the extra rules in force for gradebook PUT.
    """

    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        origin: Callable[[], str],
        faults: Callable[[], Faults],
        default_limit: int,
        delete_status: int,
        gradebook_rules: Callable[[], GradebookRules] = GradebookRules,
    ) -> None:
        self._store = store
        self._validator = GradebookValidator(store, gradebook_rules)
        self._resolver = Resolver(store)
        self._renderer = renderer
        self._origin = origin
        self._faults = faults
        self.default_limit = default_limit
        self.delete_status = delete_status
        self._query_cache: dict[tuple[Any, ...], tuple[tuple[int, ...], list[dict[str, Any]]]] = {}

    def run(self, call: Call) -> Outcome:
        """Answer one API request.

        Raises:
            Refusal: the request cannot be answered with data (400, 403, 404, 422).
        """
        if call.op.method == "PUT":
            return self._put(call)
        if call.op.method == "DELETE":
            return self._delete(call)
        selection = self._selection(call)
        if not call.op.collection:
            return self._read_one(call, selection)
        rows = self._query(call)
        return self._page(call, rows, selection)

    # --- reads --------------------------------------------------------------------------

    def _read_one(self, call: Call, selection: list[str] | None) -> Outcome:
        record = self._resolver.single(call.op, call.params["sourced_id"])
        body: dict[str, Any] = {
            call.op.key or "": self._renderer.render(record, call.op.model, selection)
        }
        if call.warnings:
            body["statusInfoSet"] = call.warnings
        return 200, body, {}

    def _selection(self, call: Call) -> list[str] | None:
        query = call.request.query
        if "fields" not in query:
            return None
        names = [name.strip() for name in query["fields"].split(",") if name.strip()]
        if not names:
            raise Refusal(400, "invalid_blank_selection_field", "fields= names no field")
        known = call.known
        unknown = [name for name in names if name not in known]
        for name in unknown:
            call.warnings.append(status_info("warning", "invalid_selection_field", name))
        return [name for name in names if name in known] if len(unknown) < len(names) else None

    def _filter(self, call: Call) -> FilterExpr | None:
        text = call.request.query.get("filter")
        if not text:
            return None
        try:
            expr = parse_filter(text)
        except FilterError as exc:
            raise Refusal(400, "invalid_filter_field", str(exc)) from None
        for field in expr.fields:
            if field.split(".")[0] not in call.known:
                raise Refusal(400, "invalid_filter_field", field)
        return expr

    def _ordering(self, call: Call) -> _Ordering:
        query = call.request.query
        order = query.get("orderBy")
        if order is not None and order not in _ORDERS:
            raise Refusal(400, "invalid_sort_field", "orderBy must be asc or desc")
        sort = query.get("sort") or None
        if sort is not None and sort.split(".")[0] not in call.known:
            call.warnings.append(status_info("warning", "invalid_sort_field", sort))
            sort = None
        return _Ordering(sort, order == "desc")

    def _query(self, call: Call) -> list[dict[str, Any]]:
        expr = self._filter(call)
        ordering = self._ordering(call)
        key = (
            call.op.operation_id,
            tuple(sorted(call.params.items())),
            str(expr) if expr is not None else None,
            ordering,
        )
        versions = tuple(self._store.versions.values())
        with self._store.lock:
            cached = self._query_cache.get(key)
        if cached is not None and cached[0] == versions:
            rows = cached[1]
        else:
            rows = self._select(call, expr, ordering)
            with self._store.lock:
                if len(self._query_cache) > _QUERY_CACHE_SIZE:
                    self._query_cache.clear()
                self._query_cache[key] = (versions, rows)
        return fault_modes.shuffled(self._faults(), rows, call.count)

    def _select(
        self, call: Call, expr: FilterExpr | None, ordering: _Ordering
    ) -> list[dict[str, Any]]:
        rows = self._resolver.many(call.op, call.params)
        if expr is not None:
            rows = [row for row in rows if evaluate(expr, row)]
        if ordering.sort is not None:
            return sorted(rows, key=_sort_key(ordering.sort), reverse=ordering.descending)
        return list(reversed(rows)) if ordering.descending else rows

    # --- paging -------------------------------------------------------------------------

    def _page(self, call: Call, rows: list[dict[str, Any]], selection: list[str] | None) -> Outcome:
        faults = self._faults()
        limit, offset = self._limit_and_offset(call.request.query)
        served_limit = min(limit, faults.cap_page_size) if faults.cap_page_size else limit
        start = 0 if faults.ignore_offset else offset
        page = rows[start : start + served_limit]
        model = call.op.model
        body: dict[str, Any] = {
            call.op.key or "": [self._renderer.render(row, model, selection) for row in page]
        }
        if call.warnings:
            body["statusInfoSet"] = call.warnings
        headers: dict[str, str] = {}
        if faults.paging_headers:
            total = fault_modes.announced_total(faults, len(rows), len(page))
            headers["X-Total-Count"] = str(total)
            headers["Link"] = self._links(call, offset, served_limit, len(rows))
        return 200, body, headers

    def _limit_and_offset(self, query: Mapping[str, str]) -> tuple[int, int]:
        texts = (query.get("limit") or str(self.default_limit), query.get("offset") or "0")
        if not all(_WHOLE_NUMBER.fullmatch(text) for text in texts):
            raise Refusal(400, "invalid data", "limit and offset must be integers")
        # Past 18 digits the exact value no longer matters: no district is that big.
        limit, offset = (int(text) if len(text) <= 18 else 10**18 for text in texts)
        if limit < 1 or offset < 0:
            raise Refusal(400, "invalid data", "limit must be >= 1 and offset >= 0")
        return limit, offset

    def _links(self, call: Call, offset: int, limit: int, total: int) -> str:
        """The ``Link`` header: first, last, and next/prev where they exist (RFC 8288)."""
        faults = self._faults()
        # Absolute URLs carrying every original parameter, as most providers send them.
        own = "" if faults.relative_links else self._origin()
        next_origin = _FOREIGN_ORIGIN if faults.foreign_next_link else own
        pairs = [(k, v) for k, v in call.request.query_pairs if k not in ("offset", "limit")]
        # The path was decoded for routing: encode it again (ids with spaces, non-ASCII).
        path = quote(call.request.path, safe="/")

        def link(rel: str, new_offset: int, origin: str) -> str:
            query_pairs = [*pairs, ("limit", str(limit)), ("offset", str(new_offset))]
            query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query_pairs)
            return f'<{origin}{path}?{query}>; rel="{rel}"'

        last = max(0, ((total - 1) // limit) * limit) if total else 0
        links = [link("first", 0, own), link("last", last, own)]
        if offset + limit < total:
            links.append(link("next", fault_modes.next_offset(faults, offset, limit), next_origin))
        if offset > 0:
            links.append(link("prev", max(0, offset - limit), own))
        return ", ".join(links)

    # --- gradebook writes ---------------------------------------------------------------

    def _put(self, call: Call) -> Outcome:
        self._check_writes_allowed()
        op, sourced_id = call.op, call.params["sourced_id"]
        key = op.key or ""
        data = _put_payload(call.request.body, key)
        collection = self._resolver.collection_of(op)
        # Checked and stored under the lock: a reference cannot vanish in between.
        with self._store.lock:
            self._validator.check(collection, data, sourced_id)
            data.setdefault("sourcedId", sourced_id)
            return self._store_put(op, collection, data)

    def _store_put(self, op: Operation, collection: str, data: dict[str, Any]) -> Outcome:
        key = op.key or ""
        data.setdefault("status", "active")
        data["dateLastModified"] = converter.format_datetime(datetime.now(UTC))
        try:
            record = converter.structure(data, op.model).to_dict()
        except RecordValidationError as exc:
            raise Refusal(422, "invalid data", str(exc)) from None
        except RecursionError:
            raise Refusal(400, "invalid data", "the body is nested too deeply") from None
        created = self._store.put(collection, record)
        body = {key: self._renderer.render(record, op.model, None)}
        return (201 if created else 200), body, {}

    def _delete(self, call: Call) -> Outcome:
        self._check_writes_allowed()
        op, sourced_id = call.op, call.params["sourced_id"]
        if not self._store.delete(self._resolver.collection_of(op), sourced_id):
            raise Refusal(404, "unknown object", f"{op.model.__name__} {sourced_id} not found")
        return self.delete_status, None, {}

    def _check_writes_allowed(self) -> None:
        if self._faults().gradebook_writes_forbidden:
            raise Refusal(403, "forbidden", "gradebook writes are not enabled for this client")


def _put_payload(body: bytes, key: str) -> dict[str, Any]:
    """The record in a PUT body ``{"<key>": {...}}``, copied; 400 when it is not one."""
    try:
        envelope = json.loads(body or b"null")
    except RecursionError:
        raise Refusal(400, "invalid data", "the body is nested too deeply") from None
    except ValueError:
        raise Refusal(400, "invalid data", "the body is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get(key), dict):
        raise Refusal(400, "invalid data", f'the body must be {{"{key}": {{...}}}}')
    return dict(envelope[key])


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[int, float, str]]:
    parts = field.split(".")

    def key(record: dict[str, Any]) -> tuple[int, float, str]:
        value: Any = record
        for part in parts:
            if isinstance(value, list):
                value = value[0] if value else None
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return (2, 0.0, "")
        # Numbers by value (score 20 before 100), not as text; then text, then missing.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, float(value), "")
        if isinstance(value, list):
            value = ",".join(str(item) for item in value)
        return (1, 0.0, str(value).lower())

    return key
