"""RosterSettings validation, from_dict/to_dict, and resolve_roles (real HTTP to BuzzServer)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_client.buzz import BuzzClient, BuzzJWTAuth, BuzzRetryPolicy, Rights, Role
from oneroster_client.buzz.settings import (
    USER_MATCHING_KEYS,
    CourseRemoval,
    EnrollmentRemoval,
    ResolvedRoles,
    RosterSettings,
    TooSoon,
    UsernameScheme,
    UserspaceScheme,
    resolve_roles,
)
from oneroster_client.buzz.testing import BuzzServer
from oneroster_client.errors import ConfigurationError, OneRosterError

UA = "oneroster-client-tests/1.0 (roster settings tests; tests@example.org)"
REQUIRED: dict[str, Any] = {"parent_domain_id": "1", "student_role": "Student", "teacher_role": "3"}


def make(**overrides: Any) -> RosterSettings:
    return RosterSettings(**{**REQUIRED, **overrides})


def test_defaults_mirror_buzz_sis_sync_and_are_safe() -> None:
    made = make()
    assert made.key == "1"
    assert made.unshared_enrollments is EnrollmentRemoval.WITHDRAWN
    assert made.unshared_courses is CourseRemoval.NOTHING
    assert made.user_matching == USER_MATCHING_KEYS
    assert made.observer_rights == Rights.READ_USER == 512
    assert not made.delete_domains and not made.cascade_deletes
    assert make(district_key="north-usd").key == "north-usd"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.time_zone = "Europe/Paris"  # type: ignore[misc]


def test_base_courses_are_read_only_copies() -> None:
    source = {"sch-1": "100"}
    made = make(base_courses=source)
    source["sch-2"] = "200"
    assert dict(made.base_courses) == {"sch-1": "100"}
    with pytest.raises(TypeError):
        made.base_courses["x"] = "1"  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "setting", "words"),
    [
        ({"parent_domain_id": ""}, "parent_domain_id", "got nothing"),
        ({"parent_domain_id": "north"}, "parent_domain_id", "digits"),
        ({"student_role": "  "}, "student_role", "got nothing"),
        ({"teacher_role": ""}, "teacher_role", "got nothing"),
        ({"student_role": "teacher", "teacher_role": "Teacher"}, "teacher_role", "same role"),
        ({"district_key": " "}, "district_key", "non-empty"),
        ({"userspace_prefix": "North_"}, "userspace_prefix", "lower-case"),
        ({"base_courses": {"sch-1": "abc"}}, "base_courses['sch-1']", "course id"),
        ({"base_courses": {"": "12"}}, "base_courses", "empty"),
        ({"default_base_course_id": "x1"}, "default_base_course_id", "course id"),
        ({"unshared_courses": "delete"}, "unshared_courses", "CourseRemoval"),
        ({"too_soon": "later"}, "too_soon", "TooSoon"),
        ({"observers": "yes"}, "observers", "True or False"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a known IANA time zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone", "not a known IANA time zone"),
        ({"time_zone": ""}, "time_zone", "IANA"),
        ({"user_matching": ("reference", "phone")}, "user_matching", "unknown ['phone']"),
        ({"user_matching": ("reference", "email", "email")}, "user_matching", "more than once"),
        ({"user_matching": ("username",)}, "user_matching", "must include 'reference'"),
        ({"observer_rights": Rights.NONE}, "observer_rights", "grants nothing"),
        ({"observer_rights": 512}, "observer_rights", "Rights flags"),
        ({"removal_threshold": 1.5}, "removal_threshold", "from 0 to 1"),
        ({"removal_threshold": -0.1}, "removal_threshold", "from 0 to 1"),
        ({"removal_threshold": float("nan")}, "removal_threshold", "from 0 to 1"),
        ({"removal_cap": -1}, "removal_cap", "at least 0"),
        ({"removal_cap": True}, "removal_cap", "whole number"),
        ({"notify": ("it@example.org", "not-an-address")}, "notify[1]", "not an e-mail"),
        ({"notify": ("a@example.org\r\nBcc: x@evil.example",)}, "notify[0]", "not an e-mail"),
        ({"notify": ("a@example.org", "A@example.org")}, "notify", "more than once"),
        ({"min_interval": timedelta(hours=-1)}, "min_interval", "negative"),
        ({"full_every": timedelta(days=-7)}, "full_every", "negative"),
        ({"full_every": 7}, "full_every", "timedelta"),
        ({"full_every_runs": -1}, "full_every_runs", "at least 0"),
    ],
)
def test_each_bad_setting_is_named_with_what_is_wrong(
    overrides: dict[str, Any], setting: str, words: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make(**overrides)
    message = str(caught.value)
    assert f"{setting}: " in message
    assert words in message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        make(parent_domain_id="", time_zone="Nowhere/Land", removal_threshold=2, notify=("x",))
    message = str(caught.value)
    for name in ("parent_domain_id", "time_zone", "removal_threshold", "notify[0]"):
        assert name in message


def test_odd_list_values_are_named_not_crashed_on() -> None:
    assert make(notify=None).notify == ()
    with pytest.raises(ConfigurationError, match=r"notify\[0\]: is not an e-mail"):
        make(notify=5)
    with pytest.raises(ConfigurationError, match="user_matching: must include 'reference'"):
        make(user_matching=None)


def test_no_threshold_or_zero_intervals_are_allowed() -> None:
    made = make(removal_threshold=0, removal_cap=None, min_interval=timedelta(0), full_every_runs=0)
    assert made.removal_cap is None


def test_from_dict_reads_what_json_and_toml_hold() -> None:
    made = RosterSettings.from_dict(
        {
            "parent_domain_id": 12,
            "student_role": "Student",
            "teacher_role": 3,
            "userspace_scheme": "IDENTIFIER",
            "unshared_enrollments": "Inactive",
            "unshared_courses": "DELETE",
            "username_scheme": "sourced-id",
            "too_soon": "refuse",
            "ignore_sis_dates": "yes",
            "observers": False,
            "observer_rights": "READ_USER|READ_ENROLLMENT",
            "min_interval": 6,
            "full_every": "7d",
            "removal_threshold": "5%",
            "removal_cap": "none",
            "full_every_runs": "4",
            "notify": "it@example.org, admin@example.org",
            "user_matching": ["reference", "email"],
            "base_courses": {"sch-1": 100},
            "time_zone": "America/Chicago",
        }
    )
    assert made.parent_domain_id == "12" and made.teacher_role == "3"
    assert made.userspace_scheme is UserspaceScheme.IDENTIFIER
    assert made.unshared_enrollments is EnrollmentRemoval.INACTIVE
    assert made.unshared_courses is CourseRemoval.DELETE
    assert made.username_scheme is UsernameScheme.SOURCED_ID
    assert made.too_soon is TooSoon.REFUSE
    assert made.ignore_sis_dates is True and made.observers is False
    assert made.observer_rights == Rights.READ_USER | Rights.READ_ENROLLMENT
    assert made.min_interval == timedelta(hours=6)
    assert made.full_every == timedelta(days=7)
    assert made.removal_threshold == pytest.approx(0.05)
    assert made.removal_cap is None and made.full_every_runs == 4
    assert made.notify == ("it@example.org", "admin@example.org")
    assert made.user_matching == ("reference", "email")
    assert dict(made.base_courses) == {"sch-1": "100"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", timedelta(hours=12)),
        ("1.5", timedelta(minutes=90)),
        ("90m", timedelta(minutes=90)),
        ("1d12h", timedelta(hours=36)),
        ("2D", timedelta(days=2)),
        (0, timedelta(0)),
    ],
)
def test_from_dict_reads_intervals_as_hours_or_durations(text: Any, expected: timedelta) -> None:
    made = RosterSettings.from_dict({**REQUIRED, "min_interval": text})
    assert made.min_interval == expected


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"bogus": 1}, "'bogus' is not a roster setting"),
        ({"too_soon": "later"}, "too_soon: must be one of 'warn', 'refuse'"),
        ({"min_interval": "soon"}, "min_interval: must be hours"),
        ({"min_interval": "nan"}, "min_interval: must be a finite"),
        ({"full_every": 1e30}, "full_every: must be a finite number of hours"),
        ({"removal_threshold": "lots"}, "removal_threshold: must be a fraction"),
        ({"observers": "maybe"}, "observers: must be true or false"),
        ({"observer_rights": "READ_EVERYTHING"}, "unknown rights flag 'READ_EVERYTHING'"),
        ({"removal_cap": "lots"}, "removal_cap: must be a whole number"),
        ({"base_courses": ["100"]}, "base_courses: must be a table"),
        ({"notify": 7}, "notify: must be a list"),
        ({"min_interval": -3}, "min_interval: must not be negative"),
    ],
)
def test_from_dict_names_bad_values(data: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid roster settings") as caught:
        RosterSettings.from_dict({**REQUIRED, **data})
    assert words in str(caught.value)


def test_from_dict_names_missing_required_settings() -> None:
    with pytest.raises(ConfigurationError) as caught:
        RosterSettings.from_dict({"student_role": "Student"})
    message = str(caught.value)
    assert "parent_domain_id: is required" in message
    assert "teacher_role: is required" in message
    with pytest.raises(ConfigurationError, match="must be a mapping"):
        RosterSettings.from_dict([("parent_domain_id", "1")])  # type: ignore[arg-type]


_valid_settings = st.builds(
    RosterSettings,
    parent_domain_id=st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    student_role=st.sampled_from(["2", "Student", "Learner"]),
    teacher_role=st.sampled_from(["3", "Teacher", "Instructor"]),
    userspace_prefix=st.from_regex(r"[a-z0-9-]{0,8}", fullmatch=True),
    userspace_scheme=st.sampled_from(UserspaceScheme),
    unshared_enrollments=st.sampled_from(EnrollmentRemoval),
    ignore_sis_dates=st.booleans(),
    time_zone=st.sampled_from(["UTC", "America/Chicago", "Pacific/Auckland"]),
    user_matching=st.permutations(USER_MATCHING_KEYS).map(tuple),
    observer_rights=st.sampled_from([Rights.READ_USER, Rights.READ_USER | Rights.READ_ENROLLMENT]),
    removal_threshold=st.floats(0, 1),
    removal_cap=st.none() | st.integers(0, 10**6),
    min_interval=st.integers(0, 10**6).map(lambda s: timedelta(seconds=s)),
    full_every_runs=st.integers(0, 100),
)


@settings(max_examples=60, deadline=None)
@given(_valid_settings)
def test_to_dict_round_trips_through_from_dict(made: RosterSettings) -> None:
    assert RosterSettings.from_dict(made.to_dict()) == made


_any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["7d", "1d12h", "warn", "WITHDRAWN", "10%", "a@b.org, c@d.org", "READ_USER"]),
    st.lists(st.text(max_size=6), max_size=3),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4) | st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([f.name for f in attrs.fields(RosterSettings)] + ["junk"]),
        _any_value,
        max_size=8,
    )
)
def test_from_dict_accepts_or_names_the_problem_never_crashes(data: dict[str, Any]) -> None:
    try:
        made = RosterSettings.from_dict({**REQUIRED, **data})
    except ConfigurationError as exc:
        assert str(exc).startswith("invalid roster settings: ")
    else:
        assert RosterSettings.from_dict(made.to_dict()) == made


# --- resolve_roles ------------------------------------------------------------------------


class _Roles:
    """A stand-in exposing only ``list_roles``; records whether Buzz was asked."""

    def __init__(self, roles: list[Role]) -> None:
        self.roles = roles
        self.calls: list[str] = []

    def list_roles(self, domain_id: str) -> list[Role]:
        self.calls.append(domain_id)
        return self.roles


@pytest.fixture
def buzz(buzz_server: BuzzServer) -> Iterator[BuzzClient]:
    token_url, user_id, pem, key_id = buzz_server.jwt_credentials()
    with BuzzClient(
        buzz_server.base_url,
        auth=BuzzJWTAuth(token_url, user_id, pem, key_id),
        user_agent=UA,
        retry=BuzzRetryPolicy(sleep=lambda _: None, random=lambda: 0.5),
        timeout=5.0,
    ) as client:
        yield client


def test_role_ids_pass_through_without_asking_buzz() -> None:
    stand_in = _Roles([])
    resolved = resolve_roles(make(student_role="2", teacher_role="3"), stand_in)  # type: ignore[arg-type]
    assert resolved == ResolvedRoles("2", "3")
    assert stand_in.calls == []


def test_role_names_are_resolved_ignoring_case_over_http(buzz: BuzzClient) -> None:
    resolved = resolve_roles(make(student_role="student", teacher_role="TEACHER"), buzz)
    assert resolved == ResolvedRoles(student_role_id="2", teacher_role_id="3")
    mixed = resolve_roles(make(student_role=" Student ", teacher_role="3"), buzz)
    assert mixed == ResolvedRoles("2", "3")


def test_an_unknown_role_name_lists_the_names_there_are(buzz: BuzzClient) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_roles(make(student_role="Learner", teacher_role="Teacher"), buzz)
    message = str(caught.value)
    assert "student_role" in message and "'Learner'" in message and "domain 1" in message
    assert "'Student'" in message and "'Teacher'" in message


def test_a_role_name_shared_by_several_roles_must_be_given_by_id() -> None:
    roles = [
        Role(id="7", name="Student", entity_type="C"),
        Role(id="8", name="student", entity_type=""),
        Role(id="9", name="Teacher", entity_type="C"),
    ]
    with pytest.raises(ConfigurationError, match=r"several Buzz roles.*ids 7, 8"):
        resolve_roles(make(teacher_role="Teacher"), _Roles(roles))  # type: ignore[arg-type]


def test_course_roles_win_over_domain_roles_of_the_same_name() -> None:
    roles = [
        Role(id="5", name="Teacher", entity_type="D"),
        Role(id="6", name="Teacher", entity_type="C"),
        Role(id="2", name="Student", entity_type="C"),
    ]
    resolved = resolve_roles(make(teacher_role="Teacher"), _Roles(roles))  # type: ignore[arg-type]
    assert resolved == ResolvedRoles("2", "6")


def test_names_resolving_to_one_role_are_refused() -> None:
    roles = [Role(id="2", name="Student", entity_type="C")]
    with pytest.raises(ConfigurationError, match="both resolve to Buzz role 2"):
        resolve_roles(make(teacher_role="2"), _Roles(roles))  # type: ignore[arg-type]


def test_configuration_errors_share_the_library_root() -> None:
    assert issubclass(ConfigurationError, OneRosterError)
