"""Settings of a OneRoster -> Buzz roster sync, checked when they are built.

The settings mirror the cards of Buzz's own SIS sync (general, course, enrollment and user
settings) plus the safety limits of a sync engine that may remove things: a removal
threshold and cap, no domain deletes and no cascading deletes unless asked for, a minimum
interval between runs and a periodic full reconciliation.

Every problem is reported at once, in one :class:`~oneroster_client.errors.ConfigurationError`
naming each setting and what is wrong with it. :meth:`RosterSettings.from_dict` reads
settings kept in JSON or TOML (enum values as strings, intervals as hours).
"""

from __future__ import annotations

import enum
import math
import re
import types
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from oneroster_client.buzz.enums import Rights
from oneroster_client.errors import ConfigurationError

if TYPE_CHECKING:
    from oneroster_client.buzz.client import BuzzClient

__all__ = [
    "USER_MATCHING_KEYS",
    "CourseRemoval",
    "EnrollmentRemoval",
    "ResolvedRoles",
    "RosterSettings",
    "TooSoon",
    "UsernameScheme",
    "UserspaceScheme",
    "resolve_roles",
]

USER_MATCHING_KEYS = ("reference", "username", "email")
"""How an existing Buzz user may be matched to a OneRoster user, in the default order."""


class CourseRemoval(enum.StrEnum):
    """What to do with a synced Buzz course whose class is no longer in the SIS."""

    NOTHING = "nothing"
    DELETE = "delete"


class EnrollmentRemoval(enum.StrEnum):
    """What to do with a synced Buzz enrollment no longer in the SIS (default: withdraw)."""

    NOTHING = "nothing"
    INACTIVE = "inactive"
    WITHDRAWN = "withdrawn"
    DELETE = "delete"


class TooSoon(enum.StrEnum):
    """What a run started before ``min_interval`` has passed does: warn, or refuse."""

    WARN = "warn"
    REFUSE = "refuse"


class UserspaceScheme(enum.StrEnum):
    """Where a school domain's userspace (login prefix) comes from.

    Both are stable: a userspace is never derived from a name that can change.
    """

    SOURCED_ID = "sourced_id"
    IDENTIFIER = "identifier"


class UsernameScheme(enum.StrEnum):
    """Which OneRoster user field becomes the Buzz username."""

    USERNAME = "username"
    EMAIL = "email"
    SOURCED_ID = "sourced_id"


_E = TypeVar("_E", bound=enum.Enum)
_BUZZ_ID = re.compile(r"[0-9]+")
_USERSPACE_PREFIX = re.compile(r"[a-z0-9-]*")
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_MAX_HOURS = 1_000_000
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?")


def _frozen_mapping(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return types.MappingProxyType(dict(value or {}))


def _tuple_of(value: Iterable[str] | str | None) -> tuple[str, ...]:
    # A lone string (or any single value) is one item, never its characters; None is none.
    # Items of the wrong type are left for the validation to name.
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        return (value,)
    return tuple(value)


@attrs.frozen(kw_only=True)
class RosterSettings:
    """How one district's OneRoster roster is synced into Buzz.

    Attributes:
        parent_domain_id: the district's Buzz domain; school domains are created under it.
            It is never created or deleted by the sync.
        student_role: the Buzz role students get in their courses: a role id, or a role
            name resolved with :func:`resolve_roles`.
        teacher_role: likewise for teachers.
        district_key: the key of this district's run history and lock; defaults to
            ``parent_domain_id``.
        userspace_scheme: where school userspaces come from.
        userspace_prefix: put in front of every school userspace (``[a-z0-9-]``).
        base_courses: Buzz base course ids by class, course or school sourcedId (looked up
            in that order); classes are derivative copies of their base course.
        default_base_course_id: the base course when none of ``base_courses`` applies;
            ``None`` creates empty courses.
        unshared_courses: what to do with synced courses no longer in the SIS.
        unshared_enrollments: what to do with synced enrollments no longer in the SIS.
        ignore_sis_dates: leave course and enrollment dates to Buzz.
        time_zone: the IANA time zone the SIS dates are meant in (``"America/Chicago"``).
        user_matching: how existing Buzz users are matched, in order; must include
            ``"reference"`` (the sourcedId kept on every synced object).
        username_scheme: which OneRoster field becomes the Buzz username.
        observers: roster parents, guardians and relatives as observers of their students.
        observer_rights: the rights an observer gets on each linked student.
        removal_threshold: the largest fraction (0 to 1) of an entity type Buzz holds that a
            run may remove before it is held for approval.
        removal_cap: the largest number of removals per entity type in one run before it is
            held for approval; ``None``: no absolute cap.
        delete_domains: allow deleting school domains (a cascading delete in Buzz).
        cascade_deletes: allow user and course deletes, which cascade to enrollments.
        notify: e-mail addresses a run report is sent to.
        min_interval: the shortest time between two runs of this district.
        too_soon: what a run started within ``min_interval`` of the last one does.
        full_every_runs: incremental runs between two full reconciliations.
        full_every: the longest time between two full reconciliations.
    """

    parent_domain_id: str
    student_role: str
    teacher_role: str
    district_key: str | None = None
    userspace_scheme: UserspaceScheme = UserspaceScheme.SOURCED_ID
    userspace_prefix: str = ""
    base_courses: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False
    )
    default_base_course_id: str | None = None
    unshared_courses: CourseRemoval = CourseRemoval.NOTHING
    unshared_enrollments: EnrollmentRemoval = EnrollmentRemoval.WITHDRAWN
    ignore_sis_dates: bool = False
    time_zone: str = "UTC"
    user_matching: tuple[str, ...] = attrs.field(default=USER_MATCHING_KEYS, converter=_tuple_of)
    username_scheme: UsernameScheme = UsernameScheme.USERNAME
    observers: bool = True
    observer_rights: Rights = Rights.READ_USER
    removal_threshold: float = 0.10
    removal_cap: int | None = 1000
    delete_domains: bool = False
    cascade_deletes: bool = False
    notify: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of)
    min_interval: timedelta = timedelta(hours=12)
    too_soon: TooSoon = TooSoon.WARN
    full_every_runs: int = 10
    full_every: timedelta = timedelta(days=7)

    def __attrs_post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigurationError("invalid roster settings: " + "; ".join(problems))

    @property
    def key(self) -> str:
        """The district's key for run history and locking."""
        return self.district_key or self.parent_domain_id

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """:attr:`time_zone` as a ``ZoneInfo``."""
        return zoneinfo.ZoneInfo(self.time_zone)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RosterSettings:
        """Read settings kept in JSON or TOML.

        Enum settings may be given by value or name in any case (``"withdrawn"``,
        ``"WITHDRAWN"``); intervals as hours (``12``, ``"12"``) or with units (``"7d"``,
        ``"1d12h"``, ``"90m"``); booleans also as ``"true"``/``"false"``/``"yes"``/``"no"``;
        ``notify`` and ``user_matching`` also as comma-separated text; ``observer_rights``
        as an integer or flag names (``"READ_USER|READ_ENROLLMENT"``).

        Raises:
            ConfigurationError: naming every unknown or invalid setting.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(
                f"roster settings must be a mapping of names to values, got {type(data).__name__}"
            )
        known = {field.name: field for field in attrs.fields(cls)}
        problems = [
            f"{key!r} is not a roster setting (known: {', '.join(sorted(known))})"
            for key in data
            if key not in known
        ]
        values: dict[str, Any] = {}
        for key, raw in data.items():
            reader = _READERS.get(str(key))
            if key not in known:
                continue
            try:
                values[str(key)] = reader(raw) if reader is not None and raw is not None else raw
            except (TypeError, ValueError, OverflowError) as exc:
                problems.append(f"{key}: {exc}")
        problems += [
            f"{name}: is required"
            for name, field in known.items()
            if field.default is attrs.NOTHING and name not in values
        ]
        if problems:
            raise ConfigurationError("invalid roster settings: " + "; ".join(problems))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (intervals in hours); ``from_dict`` reads it back."""
        out: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, timedelta):
                value = value.total_seconds() / 3600
            elif isinstance(value, Rights):
                value = int(value)
            elif isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[field.name] = value
        return out


# --- validation ---------------------------------------------------------------------------


def _problems(settings: RosterSettings) -> list[str]:
    problems: list[str] = []
    problems += _identity_problems(settings)
    problems += _course_problems(settings)
    problems += _enum_problems(settings)
    problems += _user_problems(settings)
    problems += _safety_problems(settings)
    problems += _schedule_problems(settings)
    return problems


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _identity_problems(s: RosterSettings) -> list[str]:
    problems = []
    if not _text(s.parent_domain_id):
        problems.append("parent_domain_id: must be the district's Buzz domain id, got nothing")
    elif not _BUZZ_ID.fullmatch(s.parent_domain_id):
        problems.append("parent_domain_id: must be a Buzz domain id (digits only)")
    for name in ("student_role", "teacher_role"):
        if not _text(getattr(s, name)):
            problems.append(f"{name}: must be a Buzz role id or role name, got nothing")
    if (
        _text(s.student_role)
        and _text(s.teacher_role)
        and s.student_role.strip().casefold() == s.teacher_role.strip().casefold()
    ):
        problems.append(
            "student_role and teacher_role: name the same role; students and "
            "teachers need different roles"
        )
    if s.district_key is not None and not _text(s.district_key):
        problems.append("district_key: must be non-empty text, or None for parent_domain_id")
    if not isinstance(s.userspace_prefix, str) or not _USERSPACE_PREFIX.fullmatch(
        s.userspace_prefix
    ):
        problems.append("userspace_prefix: may hold only lower-case letters, digits and hyphens")
    return problems


def _course_problems(s: RosterSettings) -> list[str]:
    problems = []
    for key, value in s.base_courses.items():
        if not _text(key):
            problems.append("base_courses: a key is empty; keys are sourcedIds")
        if not isinstance(value, str) or not _BUZZ_ID.fullmatch(value):
            problems.append(f"base_courses[{key!r}]: must be a Buzz course id (digits only)")
    if s.default_base_course_id is not None and not (
        isinstance(s.default_base_course_id, str) and _BUZZ_ID.fullmatch(s.default_base_course_id)
    ):
        problems.append(
            "default_base_course_id: must be a Buzz course id (digits only), or None for "
            "empty courses"
        )
    return problems


_ENUM_SETTINGS: dict[str, type[enum.Enum]] = {
    "userspace_scheme": UserspaceScheme,
    "unshared_courses": CourseRemoval,
    "unshared_enrollments": EnrollmentRemoval,
    "username_scheme": UsernameScheme,
    "too_soon": TooSoon,
}


def _enum_problems(s: RosterSettings) -> list[str]:
    problems = []
    for name, kind in _ENUM_SETTINGS.items():
        if not isinstance(getattr(s, name), kind):
            allowed = ", ".join(repr(member.value) for member in kind)
            problems.append(f"{name}: must be a {kind.__name__} ({allowed})")
    for name in ("ignore_sis_dates", "observers", "delete_domains", "cascade_deletes"):
        if not isinstance(getattr(s, name), bool):
            problems.append(f"{name}: must be True or False")
    return problems


def _user_problems(s: RosterSettings) -> list[str]:
    problems = []
    if not _text(s.time_zone):
        problems.append("time_zone: must be an IANA time zone name such as 'America/Chicago'")
    else:
        try:
            zoneinfo.ZoneInfo(s.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            problems.append(
                f"time_zone: {s.time_zone!r} is not a known IANA time zone "
                "(e.g. 'America/Chicago', 'UTC')"
            )
    unknown = [key for key in s.user_matching if key not in USER_MATCHING_KEYS]
    repeated = sorted({key for key in s.user_matching if s.user_matching.count(key) > 1})
    if unknown:
        problems.append(
            f"user_matching: unknown {unknown!r}; use some of {list(USER_MATCHING_KEYS)!r}"
        )
    if repeated:
        problems.append(f"user_matching: {repeated!r} listed more than once")
    if "reference" not in s.user_matching:
        problems.append(
            "user_matching: must include 'reference' (the sourcedId every synced object "
            "carries; without it later runs cannot find what earlier runs created)"
        )
    if not isinstance(s.observer_rights, Rights):
        problems.append("observer_rights: must be Rights flags, e.g. Rights.READ_USER")
    elif s.observers and s.observer_rights == Rights.NONE:
        problems.append(
            "observer_rights: grants nothing; use Rights.READ_USER, or observers=False to "
            "leave parents and guardians out"
        )
    return problems


def _safety_problems(s: RosterSettings) -> list[str]:
    problems = []
    threshold = s.removal_threshold
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or math.isnan(threshold)
        or not 0 <= threshold <= 1
    ):
        problems.append(
            "removal_threshold: must be a fraction from 0 to 1 (0.10 holds a run that would "
            "remove more than 10% of what Buzz holds)"
        )
    cap = s.removal_cap
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
        problems.append("removal_cap: must be a whole number of at least 0, or None for no cap")
    for index, address in enumerate(s.notify):
        if not isinstance(address, str) or not _EMAIL.fullmatch(address):
            problems.append(f"notify[{index}]: is not an e-mail address (name@example.org)")
    seen = [a.casefold() for a in s.notify if isinstance(a, str)]
    if len(set(seen)) != len(seen):
        problems.append("notify: an address is listed more than once")
    return problems


def _schedule_problems(s: RosterSettings) -> list[str]:
    problems = []
    for name in ("min_interval", "full_every"):
        value = getattr(s, name)
        if not isinstance(value, timedelta):
            problems.append(f"{name}: must be a timedelta (from_dict also reads hours)")
        elif value < timedelta(0):
            problems.append(f"{name}: must not be negative")
    runs = s.full_every_runs
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 0:
        problems.append(
            "full_every_runs: must be a whole number of at least 0 (0: every run is full)"
        )
    return problems


# --- from_dict readers --------------------------------------------------------------------


def _enum_reader(kind: type[_E]) -> Callable[[Any], _E]:
    def read(value: Any) -> _E:
        if isinstance(value, kind):
            return value
        if isinstance(value, str):
            wanted = value.strip().casefold().replace("-", "_")
            for member in kind:
                if wanted in (str(member.value).casefold(), member.name.casefold()):
                    return member
        allowed = ", ".join(repr(member.value) for member in kind)
        raise ValueError(f"must be one of {allowed}")

    return read


def _read_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
    raise ValueError("must be true or false")


def _read_hours(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        hours = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().casefold().replace(" ", "")
        try:
            hours = float(text)
        except ValueError:
            match = _DURATION.fullmatch(text)
            if match is None or not any(match.groups()):
                raise ValueError(
                    "must be hours (12) or a duration such as '7d', '1d12h', '90m'"
                ) from None
            days, hrs, mins = (float(part or 0) for part in match.groups())
            hours = days * 24 + hrs + mins / 60
    else:
        raise ValueError("must be hours (12) or a duration such as '7d', '1d12h', '90m'")
    if not math.isfinite(hours) or abs(hours) > _MAX_HOURS:
        raise ValueError("must be a finite number of hours, at most a million")
    return timedelta(hours=hours)


def _read_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(value)
    raise ValueError("must be a list, or comma-separated text")


def _read_rights(value: Any) -> Rights:
    if isinstance(value, Rights):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return Rights(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isdigit():
            return Rights(int(text))
        flags = Rights.NONE
        for name in text.split("|"):
            member = Rights.__members__.get(name.strip().upper())
            if member is None:
                raise ValueError(f"unknown rights flag {name.strip()!r}")
            flags |= member
        return flags
    raise ValueError("must be a rights mask (512) or flag names ('READ_USER')")


def _read_fraction(value: Any) -> float:
    if isinstance(value, str):
        text = value.strip()
        scale = 100.0 if text.endswith("%") else 1.0
        try:
            return float(text.removesuffix("%")) / scale
        except ValueError:
            raise ValueError("must be a fraction from 0 to 1, or a percentage ('10%')") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a fraction from 0 to 1")
    return float(value)


def _read_optional_int(value: Any) -> int | None:
    if isinstance(value, str):
        text = value.strip()
        if text.casefold() in ("", "none", "null"):
            return None
        if not text.isdigit():
            raise ValueError("must be a whole number, or none")
        return int(text)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("must be a whole number, or none")


def _read_int(value: Any) -> int:
    number = _read_optional_int(value)
    if number is None:
        raise ValueError("must be a whole number")
    return number


def _read_id(value: Any) -> str:
    # TOML and JSON users write ids as numbers; Buzz ids are text.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise ValueError("must be text or a whole number")


def _read_base_courses(value: Any) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError("must be a table of sourcedId = Buzz course id")
    return {str(key): _read_id(course) for key, course in value.items()}


_READERS: dict[str, Callable[[Any], Any]] = {
    **{name: _enum_reader(kind) for name, kind in _ENUM_SETTINGS.items()},
    "parent_domain_id": _read_id,
    "student_role": _read_id,
    "teacher_role": _read_id,
    "default_base_course_id": _read_id,
    "district_key": _read_id,
    "base_courses": _read_base_courses,
    "ignore_sis_dates": _read_bool,
    "observers": _read_bool,
    "delete_domains": _read_bool,
    "cascade_deletes": _read_bool,
    "user_matching": _read_list,
    "notify": _read_list,
    "observer_rights": _read_rights,
    "removal_threshold": _read_fraction,
    "removal_cap": _read_optional_int,
    "full_every_runs": _read_int,
    "min_interval": _read_hours,
    "full_every": _read_hours,
}


# --- roles --------------------------------------------------------------------------------


@attrs.frozen
class ResolvedRoles:
    """The Buzz role ids enrollments are created with.

    Attributes:
        student_role_id: the role of student enrollments.
        teacher_role_id: the role of teacher enrollments.
    """

    student_role_id: str
    teacher_role_id: str


def resolve_roles(settings: RosterSettings, buzz: BuzzClient) -> ResolvedRoles:
    """Turn the configured student and teacher roles into Buzz role ids.

    A role given as an id (digits) is used as it is; a name is looked up, ignoring case,
    among the roles of ``parent_domain_id`` (``listroles``, which includes inherited roles).
    Buzz is asked only when a name has to be resolved.

    Raises:
        ConfigurationError: a name matches no role (the message lists the names there are)
            or several roles with different ids.
        BuzzError: ``listroles`` failed.
    """
    wanted = {"student_role": settings.student_role, "teacher_role": settings.teacher_role}
    if all(_BUZZ_ID.fullmatch(value.strip()) for value in wanted.values()):
        return ResolvedRoles(settings.student_role.strip(), settings.teacher_role.strip())
    roles = buzz.list_roles(settings.parent_domain_id)
    ids = {
        name: _role_id(name, value, roles, settings.parent_domain_id)
        for name, value in wanted.items()
    }
    if ids["student_role"] == ids["teacher_role"]:
        raise ConfigurationError(
            f"student_role and teacher_role both resolve to Buzz role {ids['student_role']}; "
            "students and teachers need different roles"
        )
    return ResolvedRoles(ids["student_role"], ids["teacher_role"])


def _role_id(setting: str, value: str, roles: Iterable[Any], domain_id: str) -> str:
    value = value.strip()
    if _BUZZ_ID.fullmatch(value):
        return value
    roles = list(roles)
    matches = [role for role in roles if (role.name or "").strip().casefold() == value.casefold()]
    # Enrollments take course roles ("C") or roles valid anywhere (""); prefer those.
    course_roles = [role for role in matches if (role.entity_type or "") in ("C", "")]
    ids = sorted({str(role.id) for role in (course_roles or matches) if role.id})
    if len(ids) == 1:
        return ids[0]
    if not ids:
        names = sorted({role.name for role in roles if role.name}, key=str.casefold)
        raise ConfigurationError(
            f"{setting}: no Buzz role is named {value!r} in domain {domain_id}; the roles "
            "available are: " + (", ".join(repr(name) for name in names) or "none")
        )
    raise ConfigurationError(
        f"{setting}: several Buzz roles are named {value!r} (ids {', '.join(ids)}); "
        "give the role id instead"
    )
