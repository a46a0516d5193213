"""Listings in notebooks, through real HTTP: the HTML view, to_dataframe() and progress."""

from __future__ import annotations

import html
import sys
from collections.abc import Callable, Iterator

import attrs
import pytest

from oneroster_client import F, OneRosterClient, RetryPolicy
from oneroster_client.errors import IncompleteResultError
from oneroster_client.models import User
from oneroster_client.testing import OneRosterServer, generate_district
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer

STUDENTS = 40


@pytest.fixture(scope="module")
def district_server() -> Iterator[OneRosterServer]:
    with OneRosterServer(generate_district(students=STUDENTS, seed=11)) as server:
        yield server


@pytest.fixture
def server(district_server: OneRosterServer) -> Iterator[OneRosterServer]:
    district_server.faults = type(district_server.faults)()
    yield district_server
    district_server.faults = type(district_server.faults)()


@pytest.fixture
def client(server: OneRosterServer) -> Iterator[OneRosterClient]:
    retry = RetryPolicy(sleep=lambda seconds: None)
    with OneRosterClient(
        server.base_url, auth=server.oauth2(), retry=retry, timeout=5.0, page_size=15
    ) as api:
        yield api


def test_before_reading_the_view_says_lazy_and_hides_the_filter(
    client: OneRosterClient, server: OneRosterServer
) -> None:
    before = len(server.requests)
    listing = client.students.list(filter=F.family_name == "Nakamura-Smith")
    markup = listing._repr_html_()
    assert "Lazy: nothing has been read yet" in markup
    assert "<code>User</code>" in markup and "/students?filter=familyName=" in markup
    assert "Nakamura" not in markup and "REDACTED" in markup
    assert len(server.requests) == before  # showing it read nothing


def test_after_to_dataframe_the_view_shows_counts_and_first_rows_without_personal_data(
    client: OneRosterClient,
) -> None:
    pytest.importorskip("pandas")
    listing = client.students.list()
    frame = listing.to_dataframe()
    markup = listing._repr_html_()
    assert f"<td>{STUDENTS}</td><td>{STUDENTS}</td><td>yes</td>" in markup
    assert "first 5 rows" in markup
    for sourced_id in frame["sourced_id"][:5]:
        assert f"<td>{sourced_id}</td>" in markup
    personal = ("username", "given_name", "family_name", "email", "identifier")
    for column in personal:
        assert f"<th>{column}</th>" not in markup
        for value in frame[column][:5]:
            assert html.escape(str(value)) not in markup, column


def test_a_listing_read_otherwise_says_where_rows_come_from(client: OneRosterClient) -> None:
    listing = client.teachers.list()
    teachers = listing.all()
    markup = listing._repr_html_()
    assert f"<td>{len(teachers)}</td>" in markup
    assert "does not keep records" in markup


def test_an_incomplete_listing_is_reported_in_the_view_and_the_frame_keeps_what_came(
    client: OneRosterClient, server: OneRosterServer
) -> None:
    pytest.importorskip("pandas")
    server.faults.total_count_delta = 3
    with pytest.raises(IncompleteResultError):
        client.students.list().to_dataframe()
    listing = client.students.list(allow_incomplete=True)
    frame = listing.to_dataframe()
    assert len(frame) == STUDENTS
    markup = listing._repr_html_()
    assert f"<td>{STUDENTS}</td><td>{STUDENTS + 3}</td><td>no</td>" in markup
    assert f"announced {STUDENTS + 3} records but {STUDENTS} arrived" in markup


def test_rows_of_an_earlier_read_are_not_shown_as_current(
    client: OneRosterClient, server: OneRosterServer
) -> None:
    pytest.importorskip("pandas")
    listing = client.students.list(allow_incomplete=True)
    listing.to_dataframe()
    assert "first 5 rows" in listing._repr_html_()
    server.faults.total_count_delta = 3
    listing.all()  # read again: the listing's state is new, the rows above are not
    markup = listing._repr_html_()
    assert "first 5 rows" not in markup and "<td>no</td>" in markup


def test_dataframe_columns_follow_the_model_and_match_the_records(
    client: OneRosterClient,
) -> None:
    pd = pytest.importorskip("pandas")
    listing = client.students.list()
    frame = listing.to_dataframe()
    records = listing.all()
    assert list(frame.columns) == [f.name for f in attrs.fields(User) if f.name != "extra"] + [
        "extra"
    ]
    assert "sourcedId" not in frame.columns  # snake_case, not wire names
    assert frame["sourced_id"].tolist() == [r.sourced_id for r in records]
    assert frame["orgs"].tolist() == [[ref.sourced_id for ref in r.orgs] for r in records]
    assert frame["role"].tolist() == [str(r.role) for r in records]
    assert isinstance(frame["date_last_modified"].dtype, pd.DatetimeTZDtype)
    enrollments = client.enrollments.list().to_dataframe()
    assert set(enrollments["class_"]) <= set(client.classes.list().to_dataframe()["sourced_id"])


def test_an_empty_listing_still_has_the_model_columns(client: OneRosterClient) -> None:
    pd = pytest.importorskip("pandas")
    frame = client.students.list(filter=F.family_name == "nobody-has-this-name").to_dataframe()
    assert len(frame) == 0
    assert list(frame.columns)[:3] == ["sourced_id", "status", "date_last_modified"]
    assert "given_name" in frame.columns and "orgs" in frame.columns
    assert isinstance(frame["date_last_modified"].dtype, pd.DatetimeTZDtype)


def test_progress_callable_runs_beside_the_listings_own(client: OneRosterClient) -> None:
    pytest.importorskip("pandas")
    own: list[tuple[int, int | None]] = []
    extra: list[tuple[int, int | None]] = []
    listing = client.students.list(progress=lambda r, t: own.append((r, t)))
    listing.to_dataframe(progress=lambda r, t: extra.append((r, t)))
    assert own == extra and extra[-1] == (STUDENTS, STUDENTS)
    assert [received for received, _ in extra] == [15, 30, 40]
    own.clear()
    listing.all()
    assert len(extra) == 3 and own  # restored: only the listing's own callback now


def test_progress_true_draws_a_tqdm_bar(
    client: OneRosterClient, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("tqdm")
    client.students.list().to_dataframe(progress=True)
    err = capsys.readouterr().err
    assert "User /students" in err and f"{STUDENTS}/{STUDENTS}" in err


def test_without_pandas_to_dataframe_names_the_extra_before_any_request(
    client: OneRosterClient, server: OneRosterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    before = len(server.requests)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "oneroster-client\[notebook\]"'):
        client.students.list().to_dataframe()
    assert len(server.requests) == before


# --- fields=: a DataFrame of just the selected columns ------------------------------------


def test_a_fields_listing_gives_just_those_columns_read_as_in_full_records(
    client: OneRosterClient,
) -> None:
    pytest.importorskip("pandas")
    selected = ["role", "given_name", "orgs", "dateLastModified", "grades"]
    partial = client.students.list(fields=selected).to_dataframe()
    assert list(partial.columns) == [
        "sourced_id",
        "role",
        "given_name",
        "orgs",
        "date_last_modified",
        "grades",
    ]
    full = client.students.list().to_dataframe()[list(partial.columns)]
    assert len(partial) == STUDENTS
    for column in partial.columns:
        assert partial[column].tolist() == full[column].tolist(), column
    assert partial["date_last_modified"].dtype == full["date_last_modified"].dtype


def test_an_empty_fields_listing_still_has_the_selected_columns(client: OneRosterClient) -> None:
    pytest.importorskip("pandas")
    frame = client.students.list(
        filter=F.family_name == "nobody-has-this-name", fields="familyName,class"
    ).to_dataframe()
    assert len(frame) == 0
    assert list(frame.columns) == ["sourced_id", "family_name", "class_"]


def test_the_view_of_a_fields_listing_still_hides_personal_columns(
    client: OneRosterClient,
) -> None:
    pytest.importorskip("pandas")
    listing = client.students.list(fields=["role", "given_name"])
    frame = listing.to_dataframe()
    markup = listing._repr_html_()
    assert "first 5 rows" in markup and "<th>role</th>" in markup
    assert "<th>given_name</th>" not in markup
    for value in frame["given_name"][:5]:
        assert html.escape(str(value)) not in markup


def test_an_unreadable_selected_value_makes_the_listing_incomplete(
    serve: Callable[[Callable[[Received], Reply]], ScriptedServer],
) -> None:
    pytest.importorskip("pandas")
    users = [
        {"sourcedId": "u-1", "enabledUser": "true"},
        {"sourcedId": "u-2", "enabledUser": "perhaps"},
        {"sourcedId": "u-3", "enabledUser": "0"},
    ]
    server = serve(
        lambda received: Reply(body={"users": users if received.param("offset") == "0" else []})
    )
    with OneRosterClient(server.url("/v1p1"), auth=None, retry=RetryPolicy.none()) as api:
        with pytest.raises(IncompleteResultError, match="1 of 3 records could not be read"):
            api.users.list(fields=["enabledUser"]).to_dataframe()
        listing = api.users.list(fields=["enabledUser"], allow_incomplete=True)
        frame = listing.to_dataframe()
    assert frame.to_dict("list") == {"sourced_id": ["u-1", "u-3"], "enabled_user": [True, False]}
    assert listing.complete is False
    assert [(error.position, error.error.field) for error in listing.errors] == [(1, "enabledUser")]
