"""Notebook helpers: HTML views that hide what the reprs hide, DataFrames, progress bars."""

from __future__ import annotations

import html
import io
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client import notebook
from oneroster_client.models import (
    COLLECTION_MODELS,
    Demographics,
    Enrollment,
    GUIDRef,
    LineItem,
    RoleType,
    User,
    UserId,
    WireObject,
)
from oneroster_client.testing import generate_district

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "models"

# Text that appears nowhere in the markup unless a value put it there.
MARK = "\u2603pii"


def _all_models_records() -> list[WireObject]:
    district = generate_district(students=12, seed=4)
    records: list[WireObject] = []
    for name, model in COLLECTION_MODELS.items():
        records.extend(model.from_dict(raw) for raw in district[name][:3])
    return records


RECORDS = _all_models_records()


def _user(**changes: Any) -> User:
    fields: dict[str, Any] = {
        "sourced_id": "usr-1",
        "role": RoleType.STUDENT,
        "enabled_user": True,
        "orgs": (GUIDRef(sourced_id="sch-1", type="org"),),
        "username": "jdoe",
        "given_name": "Jane",
        "family_name": "Doe",
    }
    fields.update(changes)
    return User(**fields)


def _top_level(text: str) -> str:
    """The inside of ``Model(...)`` with nested ``Name(...)`` reprs and strings removed."""
    body = text[text.index("(") + 1 : -1]
    body = re.sub(r"'[^']*'", "''", body)
    while re.search(r"\b[A-Z]\w*\([^()]*\)", body):
        body = re.sub(r"\b[A-Z]\w*\([^()]*\)", "X", body)
    return body


# --- HTML -----------------------------------------------------------------------------------


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_record_html_shows_exactly_the_fields_repr_shows(record: WireObject) -> None:
    markup = record._repr_html_()
    shown = re.findall(r"<tr><td>(\w+)</td>", markup)
    in_repr = re.findall(r"(?:^|, )(\w+)=", _top_level(repr(record)))
    assert shown == in_repr
    hidden = [f.name for f in attrs.fields(type(record)) if f.repr is False]
    for name in hidden:
        assert f"<td>{name}</td>" not in markup


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_record_html_never_shows_a_hidden_value(record: WireObject) -> None:
    markup = record._repr_html_()
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        if field.repr is False and isinstance(value, str) and len(value) > 3:
            assert html.escape(value) not in markup, field.name


@settings(max_examples=50, deadline=None)
@given(
    personal=st.lists(st.text(min_size=1, max_size=30), min_size=7, max_size=7),
    vendor=st.text(min_size=1, max_size=30),
)
def test_personal_and_vendor_values_never_reach_the_html(personal: list[str], vendor: str) -> None:
    values = [MARK + text for text in personal]
    user = _user(
        username=values[0],
        given_name=values[1],
        family_name=values[2],
        email=values[3],
        phone=values[4],
        identifier=values[5],
        user_ids=(UserId(type="LDAP", identifier=values[6]),),
        extra={"ssn": MARK + vendor},
    )
    markup = user._repr_html_()
    assert MARK not in markup
    assert "ssn" in markup  # vendor fields show their names, as in repr
    demographics = Demographics(sourced_id="usr-1", birth_date=date(2010, 5, 1), sex="female")
    assert "2010" not in demographics._repr_html_()


def test_record_html_escapes_what_it_shows() -> None:
    user = _user(sourced_id="<script>alert(1)</script>", grades=("<b>09</b>",))
    markup = user._repr_html_()
    assert "<script>" not in markup and "<b>09" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup


def test_record_html_is_compact_references_as_ids_enums_as_values() -> None:
    enrollment = Enrollment(
        sourced_id="enr-1",
        user=GUIDRef(sourced_id="usr-1", type="user"),
        class_=GUIDRef(sourced_id="cls-1", type="class"),
        school=GUIDRef(sourced_id="sch-1", type="org"),
        role=RoleType.TEACHER,
        begin_date=date(2025, 8, 20),
    )
    markup = enrollment._repr_html_()
    assert "<caption>Enrollment</caption>" in markup
    assert "<td>class_</td><td>cls-1</td>" in markup
    assert "<td>role</td><td>teacher</td>" in markup
    assert "<td>begin_date</td><td>2025-08-20</td>" in markup
    assert "GUIDRef(" not in markup


def test_html_table_takes_sequences_and_mappings() -> None:
    markup = notebook.html_table(
        [("a", 1, None), {"x": "b", "z": ["p", "q"]}], ("x", "y", "z"), caption="c & d"
    )
    assert "<caption>c &amp; d</caption>" in markup
    assert "<th>x</th><th>y</th><th>z</th>" in markup
    assert "<tr><td>a</td><td>1</td><td></td></tr>" in markup
    assert "<tr><td>b</td><td></td><td>p, q</td></tr>" in markup


# --- DataFrames -----------------------------------------------------------------------------


def test_dataframe_columns_are_the_model_attributes() -> None:
    pd = pytest.importorskip("pandas")
    users = [_user(), _user(sourced_id="usr-2", email="b@example.org")]
    frame = notebook.records_dataframe(users)
    names = [f.name for f in attrs.fields(User) if f.name != "extra"] + ["extra"]
    assert list(frame.columns) == names
    assert frame["email"].tolist()[1] == "b@example.org"  # the data itself: every field
    assert frame["role"].tolist() == ["student", "student"]
    assert frame["orgs"].tolist() == [["sch-1"], ["sch-1"]]
    assert isinstance(frame, pd.DataFrame)


def test_dataframe_flattens_references_and_keeps_unknown_values() -> None:
    pytest.importorskip("pandas")
    refs = tuple(GUIDRef(sourced_id=f"usr-{n},x", type="user") for n in range(3))
    user = _user(agents=refs, role="ta", user_ids=(UserId(type="LDAP", identifier="jd"),))
    frame = notebook.records_dataframe([user])
    assert frame["agents"][0] == ["usr-0,x", "usr-1,x", "usr-2,x"]  # lists: ids keep commas
    assert frame["role"][0] == "ta"
    assert frame["user_ids"][0] == [{"type": "LDAP", "identifier": "jd"}]


def test_dataframe_dates_are_utc_datetimes() -> None:
    pd = pytest.importorskip("pandas")
    plus_two = timezone(timedelta(hours=2))
    items = [
        LineItem.from_dict(json.loads((FIXTURES / "line_item.json").read_text("utf-8"))),
    ]
    base = items[0]
    items.append(
        attrs.evolve(
            base,
            sourced_id="li-naive",
            assign_date=datetime(2025, 1, 2, 3, 4, 5),  # no zone: taken as UTC
            due_date=date(2025, 2, 1),
            date_last_modified=datetime(2025, 1, 1, 12, 0, tzinfo=plus_two),
        )
    )
    items.append(attrs.evolve(base, sourced_id="li-old", due_date=date(1, 1, 1)))
    frame = notebook.records_dataframe(items)
    for column in ("assign_date", "due_date", "date_last_modified"):
        assert isinstance(frame[column].dtype, pd.DatetimeTZDtype), column
        assert str(frame[column].dt.tz) == "UTC"
    assert frame["assign_date"][1] == pd.Timestamp("2025-01-02T03:04:05Z")
    assert frame["due_date"][1] == pd.Timestamp("2025-02-01T00:00:00Z")
    assert frame["date_last_modified"][1] == pd.Timestamp("2025-01-01T10:00:00Z")
    assert frame["due_date"][2].year == 1  # outside nanosecond range, not lost


def test_empty_dataframe_has_the_model_columns_and_types() -> None:
    pd = pytest.importorskip("pandas")
    frame = notebook.records_dataframe([], LineItem)
    assert len(frame) == 0
    assert list(frame.columns) == [f.name for f in attrs.fields(LineItem) if f.name != "extra"] + [
        "extra"
    ]
    assert isinstance(frame["due_date"].dtype, pd.DatetimeTZDtype)
    assert notebook.records_dataframe([]).empty


def test_missing_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "oneroster-client\[notebook\]"'):
        notebook.records_dataframe([_user()])


def test_missing_tqdm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ModuleNotFoundError, match=r"tqdm.*oneroster-client\[notebook\]"):
        notebook.tqdm_progress("students")


def test_a_broken_dependency_of_an_extra_is_not_disguised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "half_installed.py").write_text("import not_installed_either_xyz\n", "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        notebook.require_extra("half_installed", extra="notebook", purpose="a test")
    assert caught.value.name == "not_installed_either_xyz"


# --- progress -------------------------------------------------------------------------------


def test_tqdm_progress_follows_the_listing_callbacks() -> None:
    pytest.importorskip("tqdm")
    out = io.StringIO()
    with notebook.tqdm_progress("students", file=out) as progress:
        progress(10, None)
        assert progress.count == 10 and progress.total is None
        progress(40, 100)
        progress(110, 100)  # a server that under-announced: the bar grows, never overflows
        assert progress.count == 110 and progress.total == 110
    assert "students" in out.getvalue()


def test_records_of_every_model_make_a_dataframe() -> None:
    pytest.importorskip("pandas")
    by_model: dict[type[Any], list[WireObject]] = {}
    for record in RECORDS:
        by_model.setdefault(type(record), []).append(record)
    for model, records in by_model.items():
        frame = notebook.records_dataframe(records, model)
        assert frame["sourced_id"].tolist() == [r.sourced_id for r in records]  # type: ignore[attr-defined]
        for field in attrs.fields(model):
            values = [getattr(r, field.name) for r in records]
            if any(isinstance(v, date) for v in values):
                assert str(frame[field.name].dt.tz) == "UTC"


def test_naive_and_aware_times_agree() -> None:
    pd = pytest.importorskip("pandas")
    aware = _user(date_last_modified=datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    naive = _user(sourced_id="usr-2", date_last_modified=datetime(2025, 3, 1, 8, 0))
    frame = notebook.records_dataframe([aware, naive])
    first, second = frame["date_last_modified"]
    assert first == second == pd.Timestamp("2025-03-01T08:00Z")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(max_size=20), min_size=2, max_size=2), max_size=5))
def test_html_table_escapes_every_cell(rows: list[list[str]]) -> None:
    markup = notebook.html_table(rows, ("a", "b"))
    cells = re.findall(r"<td>(.*?)</td>", markup, re.DOTALL)
    assert cells == [html.escape(value) for row in rows for value in row]
    assert markup.count("<tr>") == len(rows) + 1
