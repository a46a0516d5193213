"""Listing and get() options: a misspelt or wrong option is refused, never dropped.

A dropped ``filtr=`` would read the whole collection as if it were the filtered one, so
every method built from the endpoint table checks the names it is given against the one
table of options, before any request is sent.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client import F, OneRosterClient, RetryPolicy
from oneroster_client.endpoints import OPERATIONS
from oneroster_client.errors import ConfigurationError, FilterError
from oneroster_client.testing.district import District
from oneroster_client.testing.hostile import Received, Reply, ScriptedServer
from oneroster_client.testing.server import OneRosterServer

LIST_OPTIONS = (
    "filter",
    "sort",
    "order_by",
    "fields",
    "page_size",
    "max_workers",
    "allow_incomplete",
    "progress",
)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    def answer(received: Received) -> Reply:
        return Reply(body={"users": [], "user": None}, headers=[("X-Total-Count", "0")])

    with ScriptedServer(answer) as started:
        yield started


@pytest.fixture
def client(server: ScriptedServer) -> Iterator[OneRosterClient]:
    server.received.clear()
    with OneRosterClient(
        server.url("/ims/oneroster/v1p1"), auth=None, retry=RetryPolicy.none()
    ) as one:
        yield one


def _refused(call: Callable[[], object]) -> str:
    with pytest.raises(TypeError) as caught:
        call()
    return str(caught.value)


@pytest.mark.parametrize(
    ("given_name", "suggested"),
    [
        ("filtr", "filter"),
        ("order", "order_by"),
        ("orderBy", "order_by"),
        ("limit", "page_size"),
        ("pageSize", "page_size"),
        ("max_worker", "max_workers"),
        ("feilds", "fields"),
        ("allow_incomplet", "allow_incomplete"),
    ],
)
def test_a_misspelt_listing_option_is_refused_with_the_closest_name(
    client: OneRosterClient, server: ScriptedServer, given_name: str, suggested: str
) -> None:
    message = _refused(lambda: client.users.list(**{given_name: "x"}).all())  # type: ignore[misc]
    assert f"users.list() got an unexpected keyword argument {given_name!r}" in message
    assert f"did you mean {suggested!r}?" in message
    assert server.received == []  # nothing was read with the option left out


def test_the_filter_typo_of_the_trial_reads_nothing(
    client: OneRosterClient, server: ScriptedServer
) -> None:
    message = _refused(lambda: client.users.list(filtr=F.role == "student").all())  # type: ignore[call-arg]
    assert "'filtr'" in message and "'filter'" in message
    assert server.received == []


def test_nested_gradebook_and_delta_listings_check_their_options_too(
    client: OneRosterClient, server: ScriptedServer
) -> None:
    since = datetime(2025, 1, 1, tzinfo=UTC)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("classes.students()", lambda: client.classes.students("c-1", filtr="x")),  # type: ignore[call-arg]
        (
            "classes.results_for_student()",
            lambda: client.classes.results_for_student("c-1", "s-1", limit=5),  # type: ignore[call-arg]
        ),
        ("line_items.list()", lambda: client.line_items.list(order="desc")),  # type: ignore[call-arg]
        ("users.changed_since()", lambda: client.users.changed_since(since, fitler="x")),  # type: ignore[call-arg]
    ]
    for where, call in calls:
        assert _refused(call).startswith(f"{where} got an unexpected keyword argument")
    assert server.received == []


def test_get_takes_only_fields_and_says_where_listing_options_belong(
    client: OneRosterClient, server: ScriptedServer
) -> None:
    message = _refused(lambda: client.users.get("u-1", filter="role='student'"))  # type: ignore[call-arg]
    assert "users.get() got an unexpected keyword argument 'filter'" in message
    assert "option of listings" in message
    assert "did you mean 'fields'" in _refused(lambda: client.users.get("u-1", feilds=["role"]))  # type: ignore[call-arg]
    assert server.received == []


@pytest.mark.parametrize("name", ["page_size", "max_workers"])
@pytest.mark.parametrize("value", [0, -5, 2.5, True, "3"])
def test_zero_and_other_bad_counts_are_refused_by_name(
    client: OneRosterClient, server: ScriptedServer, name: str, value: object
) -> None:
    with pytest.raises(ConfigurationError, match=name):
        client.users.list(**{name: value}).all()  # type: ignore[misc]
    assert server.received == []


def test_allow_incomplete_and_progress_must_be_what_they_say(client: OneRosterClient) -> None:
    with pytest.raises(ConfigurationError, match="allow_incomplete must be True or False"):
        client.users.list(allow_incomplete="no")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="progress must be a function"):
        client.users.list(progress=10)  # type: ignore[arg-type]


def test_none_means_the_client_default(client: OneRosterClient, server: ScriptedServer) -> None:
    client.users.list(page_size=None, max_workers=None).all()
    assert server.received[0].param("limit") == str(client.page_size)


def test_every_documented_option_is_accepted_by_every_listing(
    client: OneRosterClient, server: ScriptedServer
) -> None:
    seen: list[str] = []
    listing = client.users.list(
        filter=F.role == "student",
        sort="family_name",
        order_by="desc",
        fields=["role", "username"],
        page_size=7,
        max_workers=2,
        allow_incomplete=True,
        progress=lambda received, total: seen.append(f"{received}/{total}"),
    )
    assert list(listing.dicts()) == []
    sent = server.received[0]
    assert sent.param("filter") == "role='student'"
    assert (sent.param("sort"), sent.param("orderBy"), sent.param("limit")) == (
        "familyName",
        "desc",
        "7",
    )
    assert seen == ["0/0"]


def test_the_signatures_come_from_the_same_table(client: OneRosterClient) -> None:
    for op in OPERATIONS:
        if op.method != "GET":
            continue
        method = getattr(getattr(client, op.attribute), op.name)
        keywords = [
            parameter.name
            for parameter in inspect.signature(method).parameters.values()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        assert tuple(keywords) == (LIST_OPTIONS if op.collection else ("fields",)), op.name


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(
        lambda n: n not in LIST_OPTIONS and not keyword.iskeyword(n)
    )
)
def test_any_other_name_is_refused_naming_it(
    client: OneRosterClient, server: ScriptedServer, name: str
) -> None:
    options: dict[str, Any] = {name: None}
    message = _refused(lambda: client.students.list(**options))
    assert f"unexpected keyword argument {name!r}" in message
    assert server.received == []


# --- get() with fields= --------------------------------------------------------------------

USER_REQUIRED = ["role", "enabled_user", "orgs", "username", "given_name", "family_name"]


@pytest.fixture
def district_client(oneroster_server: OneRosterServer) -> Iterator[OneRosterClient]:
    with OneRosterClient(
        oneroster_server.base_url, auth=oneroster_server.oauth2(), retry=RetryPolicy.none()
    ) as one:
        yield one


def test_get_asks_for_the_sourced_id_itself_as_listings_do(
    district_client: OneRosterClient,
    oneroster_server: OneRosterServer,
    oneroster_district: District,
) -> None:
    row = oneroster_district["users"][0]
    user = district_client.users.get(row["sourcedId"], fields=USER_REQUIRED)
    assert (user.sourced_id, user.username, user.email) == (row["sourcedId"], row["username"], None)
    sent = oneroster_server.requests[-1].query["fields"]
    assert sent == "sourcedId,role,enabledUser,orgs,username,givenName,familyName"
    listing = district_client.users.list(fields=USER_REQUIRED)
    assert len(listing.all()) == len(oneroster_district["users"])  # models, not refused


def test_a_partial_get_says_how_to_read_that_record_partially(
    district_client: OneRosterClient, oneroster_district: District
) -> None:
    sourced_id = oneroster_district["users"][0]["sourcedId"]
    with pytest.raises(FilterError) as caught:
        district_client.users.get(sourced_id, fields=["given_name"])
    message = str(caught.value)
    assert message.startswith("fields=givenName leaves out role, ")  # not sourcedId: it is added
    suggested = f"users.list(filter=F.sourced_id == {sourced_id!r}, fields='givenName').dicts()"
    assert f"(for this record: {suggested})" in message
    # The suggestion works: it reads exactly that record, partially.
    rows = list(
        eval(suggested, {"F": F, "users": district_client.users})  # the text the message gives
    )
    assert rows == [
        {"sourcedId": sourced_id, "givenName": oneroster_district["users"][0]["givenName"]}
    ]
