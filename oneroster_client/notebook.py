"""Notebook helpers: HTML views of records and listings, DataFrames and progress bars.

Jupyter shows any object with a ``_repr_html_`` method as HTML. Records
(:class:`~oneroster_client.models.base.WireObject`) and listings
(:class:`~oneroster_client.paging.Listing`) delegate theirs to this module, so these views
follow the same privacy rule as the text reprs: a field declared hidden (names, contact
details, identifiers, demographics, passwords) never appears, and vendor fields show their
names only.

DataFrames (:func:`records_dataframe`, ``Listing.to_dataframe()``) are the data itself and
carry every field: their columns are the models' snake_case attribute names. pandas and
tqdm are the ``notebook`` extra (``pip install "oneroster-client[notebook]"``) and are
imported only when a DataFrame or a progress bar is asked for.

This module sits below the client: it reads records and listings through their public
attributes and imports neither, so the models may import it.
"""

from __future__ import annotations

import contextlib
import enum
import html
import typing
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlencode

import attrs

from oneroster_client._extras import require_extra
from oneroster_client._redact import redact_url

__all__ = [
    "NOTEBOOK_INSTALL",
    "PREVIEW_ROWS",
    "TqdmProgress",
    "html_table",
    "listing_dataframe",
    "listing_html",
    "record_html",
    "records_dataframe",
    "require_extra",
    "tqdm_progress",
]

NOTEBOOK_INSTALL = 'pip install "oneroster-client[notebook]"'
"""The command that installs what this module's optional parts need."""

PREVIEW_ROWS = 5
"""Rows of a listing shown in its HTML view once ``to_dataframe()`` has read it."""

Progress = Callable[[int, int | None], None]


class _ListingLike(Protocol):
    """What the views need of a listing (the attributes of ``paging.Listing``)."""

    path: str
    model: type[Any]
    params: tuple[tuple[str, str], ...]
    progress: Progress | None
    complete: bool | None
    received: int
    total: int | None
    problems: list[str]

    def __iter__(self) -> typing.Iterator[Any]: ...


# --- optional dependencies ------------------------------------------------------------------


# --- HTML -----------------------------------------------------------------------------------


def _is_reference(value: object) -> bool:
    """A GUIDRef: a record reference with ``sourced_id`` and ``href`` (not a record)."""
    kind = type(value)
    return attrs.has(kind) and {"sourced_id", "href"} <= attrs.fields_dict(kind).keys()


def _cell_text(value: object) -> str:
    """The short text of a value in a table cell (not yet escaped)."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if _is_reference(value):
        return str(getattr(value, "sourced_id", ""))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(_cell_text(item) for item in value)
    if attrs.has(type(value)):
        return repr(value)  # nested records (UserId) hide what their own repr hides
    return str(value)


def html_table(
    rows: Iterable[Sequence[Any] | Mapping[str, Any]],
    columns: Sequence[str],
    *,
    caption: str | None = None,
) -> str:
    """An HTML table for notebooks: one header row, then one row per item.

    Cells are shown compactly (references as their sourcedId, enumerations as their value,
    dates in ISO 8601, sequences comma-separated, ``None`` as an empty cell) and escaped.
    The table shows whatever it is given: leave personal values out before calling it.

    Args:
        rows: each row is a sequence of values in ``columns`` order, or a mapping from
            column name to value (missing keys give empty cells).
        columns: the header labels.
        caption: a title above the table.

    Returns:
        The ``<table>`` markup.
    """
    parts = ['<table class="oneroster">']
    if caption is not None:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    header = "".join(f"<th>{html.escape(str(column))}</th>" for column in columns)
    parts.append(f"<thead><tr>{header}</tr></thead><tbody>")
    for row in rows:
        values = [row.get(column) for column in columns] if isinstance(row, Mapping) else list(row)
        cells = "".join(f"<td>{html.escape(_cell_text(value))}</td>" for value in values)
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _shown_fields(record: Any) -> list[tuple[str, str]]:
    """(attribute, text) of the fields the text repr shows, in the same order.

    A field declared with ``repr=False`` is personal or secret and left out; a field with
    its own repr function (``extra``, ``metadata``) is shown through it, which gives the
    names of vendor fields but not their values.
    """
    shown: list[tuple[str, str]] = []
    extra: tuple[str, str] | None = None
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        if value is None or field.repr is False:
            continue
        text = field.repr(value) if callable(field.repr) else _cell_text(value)
        if field.name == "extra":
            extra = (field.name, text)  # last, as in the text repr
        else:
            shown.append((field.name, text))
    if extra is not None:
        shown.append(extra)
    return shown


def record_html(record: Any) -> str:
    """The HTML view of one record: a two-column table of the fields the repr shows.

    Fields that are unset or hidden (personal data) are left out, exactly as in ``repr``.

    Args:
        record: a model instance (any attrs class declared with the models' ``hidden()``).

    Returns:
        The ``<table>`` markup, captioned with the model's name.
    """
    rows = _shown_fields(record)
    return html_table(rows, ("field", "value"), caption=type(record).__name__)


def _shown_query(listing: _ListingLike) -> str:
    # Filter literals can be student data (names, emails): shown redacted, as in repr().
    if not listing.params:
        return ""
    return unquote(redact_url("?" + urlencode(listing.params, quote_via=quote)))


# Rows read by to_dataframe(), per listing. Stored with the listing's problems list, which
# every new read replaces, so a view never shows rows of an earlier read as current.
_PREVIEWS: weakref.WeakKeyDictionary[Any, tuple[list[str], list[Any]]] = weakref.WeakKeyDictionary()


def _remember_preview(listing: _ListingLike, records: list[Any]) -> None:
    # A listing-like object without weak references simply gets no preview.
    with contextlib.suppress(TypeError):
        _PREVIEWS[listing] = (listing.problems, records[:PREVIEW_ROWS])


def _preview(listing: _ListingLike) -> list[Any] | None:
    try:
        entry = _PREVIEWS.get(listing)
    except TypeError:  # pragma: no cover - as above
        return None
    if entry is None or entry[0] is not listing.problems:
        return None
    return entry[1]


def _preview_table(model: type[Any], records: list[Any]) -> str:
    # The columns the text repr would show for at least one of these records; vendor
    # fields and metadata are left to the record view to keep the table narrow.
    names = [
        field.name
        for field in attrs.fields(model)
        if field.repr is not False
        and field.name not in ("extra", "metadata")
        and any(getattr(record, field.name, None) is not None for record in records)
    ]
    rows = [[getattr(record, name, None) for name in names] for record in records]
    return html_table(rows, names, caption=f"first {len(records)} rows")


def listing_html(listing: _ListingLike) -> str:
    """The HTML view of a listing: what it reads, and what the last read found.

    Before the first read it says that the listing is lazy. After a read it gives the
    records received, the announced total, whether the listing is complete and each
    problem; after ``to_dataframe()`` it also shows the first rows (hidden fields left
    out). The filter's literals are redacted, as in ``repr``. Showing it reads nothing.

    Args:
        listing: a :class:`~oneroster_client.paging.Listing`.

    Returns:
        The markup of the view.
    """
    model = getattr(listing.model, "__name__", str(listing.model))
    target = html.escape(listing.path + _shown_query(listing))
    parts = [
        '<div class="oneroster-listing">',
        f"<strong>Listing</strong> of <code>{html.escape(model)}</code> from <code>{target}</code>",
    ]
    if listing.complete is None:
        if listing.received:
            parts.append(
                f"<p>Reading: {listing.received} record(s) received so far, not read to the "
                "end.</p>"
            )
        else:
            parts.append(
                "<p>Lazy: nothing has been read yet. Iterate it, or call <code>.all()</code>, "
                "<code>.first(n)</code> or <code>.to_dataframe()</code> to read it.</p>"
            )
        parts.append("</div>")
        return "".join(parts)
    total = "not announced" if listing.total is None else str(listing.total)
    complete = "yes" if listing.complete else "no"
    parts.append(
        html_table(
            [(listing.received, total, complete)],
            ("received", "total announced", "complete"),
        )
    )
    if listing.problems:
        items = "".join(f"<li>{html.escape(problem)}</li>" for problem in listing.problems)
        parts.append(f"<p>Problems:</p><ul>{items}</ul>")
    rows = _preview(listing)
    if rows:
        parts.append(_preview_table(listing.model, rows))
    elif rows is None and listing.received:
        parts.append(
            "<p>The listing does not keep records; <code>.to_dataframe()</code> reads them "
            "into a DataFrame and shows the first rows here.</p>"
        )
    parts.append("</div>")
    return "".join(parts)


# --- DataFrames -----------------------------------------------------------------------------


def _is_date_type(annotation: object) -> bool:
    """Whether a field's type admits a date or a datetime (``datetime | date | None``)."""
    if isinstance(annotation, type):
        return issubclass(annotation, date)
    return any(_is_date_type(arg) for arg in typing.get_args(annotation))


def _date_fields(model: type[Any]) -> set[str]:
    try:
        hints = typing.get_type_hints(model)
    except (NameError, TypeError):  # pragma: no cover - unresolvable annotations
        return set()
    return {name for name, annotation in hints.items() if _is_date_type(annotation)}


def _column_value(value: object) -> object:
    """A field value as a DataFrame cell: references as ids, enumerations as strings."""
    if isinstance(value, enum.Enum):
        return value.value
    if _is_reference(value):
        return getattr(value, "sourced_id", None)
    if isinstance(value, list | tuple):
        return [_column_value(item) for item in value]
    if attrs.has(type(value)) and hasattr(value, "to_dict"):
        return value.to_dict()  # nested objects (UserId) as their wire dicts
    return value


def _as_utc(value: object) -> object:
    if isinstance(value, datetime):
        # A time without a zone is taken as UTC, as OneRoster 1.1 datetimes are.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    return value


def _dates_only(values: list[object]) -> bool:
    present = [value for value in values if value is not None]
    return bool(present) and all(isinstance(value, date) for value in present)


def records_dataframe(
    records: Iterable[Any], model: type[Any] | None = None, *, columns: Sequence[str] | None = None
) -> Any:
    """Records as a pandas DataFrame, one row per record, one column per model attribute.

    - Columns are the snake_case attribute names in model order (``class_`` stays
      ``class_``), ``metadata`` and ``extra`` (vendor fields, by wire name) included.
    - A reference (``GUIDRef``) becomes its ``sourcedId``; a list of references becomes a
      Python **list** of sourcedIds (ids may contain commas, and ``DataFrame.explode``
      turns lists into rows).
    - Dates and datetimes become ``datetime64[us, UTC]`` columns: datetimes converted to
      UTC, dates at midnight UTC; missing values are ``NaT``.
    - Enumerations become their string values (values the spec does not list are kept as
      sent); nested objects such as ``UserId`` become their wire dicts.

    Unlike the HTML views, a DataFrame holds every field, personal ones included.

    Args:
        records: model instances, all of the same model (or objects with the attributes
            named in ``columns``, e.g. the partial records of a ``fields=`` listing).
        model: the model, which gives the columns when there are no records; taken from
            the first record otherwise.
        columns: only these attributes, in this order (a missing one gives empty cells);
            the model's fields, ``extra`` last, by default.

    Returns:
        A ``pandas.DataFrame``.

    Raises:
        ModuleNotFoundError: pandas is not installed (the message names the extra).
    """
    pd = require_extra("pandas", extra="notebook", purpose="a DataFrame")
    rows = list(records)
    kind = model if model is not None else (type(rows[0]) if rows else None)
    if kind is None:
        return pd.DataFrame()
    if columns is not None:
        names = list(columns)
    else:
        names = [field.name for field in attrs.fields(kind)]
        names = [name for name in names if name != "extra"] + ["extra"]  # vendor fields last
    date_fields = _date_fields(kind)
    series: dict[str, Any] = {}
    for name in names:
        values = [getattr(record, name, None) for record in rows]
        all_dates = all(value is None or isinstance(value, date) for value in values)
        if all_dates and (name in date_fields or _dates_only(values)):
            series[name] = pd.Series(
                [_as_utc(value) for value in values], dtype="datetime64[us, UTC]"
            )
            continue
        converted = [_column_value(value) for value in values]
        series[name] = pd.Series(converted, dtype=object if not rows else None)
    return pd.DataFrame(series, columns=names)


def listing_dataframe(
    listing: _ListingLike,
    *,
    progress: bool | Progress = False,
    read: Callable[[], Iterable[Any]] | None = None,
    columns: Sequence[str] | None = None,
) -> Any:
    """Read a listing into a DataFrame (see :func:`records_dataframe` for the columns).

    Args:
        listing: the listing to read (read in full, with its usual completeness checks).
        progress: ``True`` shows a tqdm progress bar (in Jupyter, a widget) while pages
            arrive; a callable is called with (records received, total or ``None``) after
            each page. Either comes on top of the listing's own ``progress``.
        read: what reads the listing's records (iterating the listing by default); a
            ``fields=`` listing passes one that reads its partial records.
        columns: the columns, when not the model's fields (see :func:`records_dataframe`).

    Raises:
        ModuleNotFoundError: pandas (or, for ``progress=True``, tqdm) is not installed.
        IncompleteResultError: the listing is incomplete (unless ``allow_incomplete``).
    """
    require_extra("pandas", extra="notebook", purpose="to_dataframe()")  # before reading
    bar: TqdmProgress | None = None
    extra_progress: Progress | None = None
    if progress is True:
        model = getattr(listing.model, "__name__", "records")
        bar = extra_progress = tqdm_progress(f"{model} {listing.path}")
    elif callable(progress):
        extra_progress = progress
    own = listing.progress
    if extra_progress is not None:
        listing.progress = _both(own, extra_progress)
    try:
        records = list(listing if read is None else read())
    finally:
        listing.progress = own
        if bar is not None:
            bar.close()
    _remember_preview(listing, records)
    return records_dataframe(records, listing.model, columns=columns)


def _both(first: Progress | None, second: Progress) -> Progress:
    if first is None:
        return second

    def report(received: int, total: int | None) -> None:
        first(received, total)
        second(received, total)

    return report


# --- progress bars --------------------------------------------------------------------------


class TqdmProgress:
    """A listing ``progress`` callback that drives a ``tqdm.auto`` bar.

    Call it with (records received, total or ``None``), as a listing does after each
    page; the bar's length follows the announced total. ``bar_class`` is the tqdm class
    to draw with (``tqdm.auto.tqdm``, the notebook-aware one, by default). Close it when
    the read is over (or use it as a context manager): a listing may read past an
    announced total, so it does not close itself.
    """

    def __init__(self, description: str, *, bar_class: Any = None, **options: Any) -> None:
        if bar_class is None:
            auto = require_extra("tqdm.auto", extra="notebook", purpose="a progress bar")
            bar_class = auto.tqdm
        options.setdefault("unit", "record")
        self._bar: Any = bar_class(total=None, desc=description, **options)

    def __call__(self, received: int, total: int | None) -> None:
        bar = self._bar
        if total is not None and bar.total != max(total, received):
            bar.total = max(total, received)
        bar.update(received - bar.n)

    @property
    def count(self) -> int:
        """Records counted so far."""
        return int(self._bar.n)

    @property
    def total(self) -> int | None:
        """The bar's length: the announced total, or ``None`` while none was announced."""
        total = self._bar.total
        return None if total is None else int(total)

    def close(self) -> None:
        """Finish the bar."""
        self._bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def tqdm_progress(description: str, **options: Any) -> TqdmProgress:
    """A progress callback for listings that renders a tqdm bar (a widget in Jupyter).

    tqdm is imported on this first use. Example::

        with tqdm_progress("students") as progress:
            students = client.students.list(progress=progress).all()

    Args:
        description: the label before the bar.
        **options: passed to ``tqdm.auto.tqdm`` (e.g. ``file=``, ``leave=False``).

    Raises:
        ModuleNotFoundError: tqdm is not installed (the message names the extra).
    """
    return TqdmProgress(description, **options)
