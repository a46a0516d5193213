"""Grade passback settings and SIS profiles: what each SIS gradebook can take.

A profile names the limits of the SIS the grades go to. ``oneroster`` is the generic
OneRoster 1.1 gradebook (section 5.10-5.11 of the data model, written with
``PUT /lineItems/{id}`` and ``PUT /results/{id}``). ``skyward`` adds Skyward's passback
limits: only points-based scores (every result carries points, so an exempt result is
not sent), whole-number points possible, short assignment titles, and no category or item
weights.

A profile never changes a grade. What it cannot send is refused, one refusal per record
with the reason, and shows in the run's report. The only thing a profile may shorten is
an assignment title, when :attr:`PassbackSettings.long_titles` says so (the default); each
shortened title is listed in the report.
"""

from __future__ import annotations

import enum
import math
import types
import zoneinfo
from collections.abc import Mapping
from typing import Any

import attrs

from oneroster_client.errors import ConfigurationError

__all__ = ["LongTitles", "PassbackSettings", "ProfileLimits", "SisProfile", "limits_of"]


class SisProfile(enum.StrEnum):
    """The SIS gradebook grades are sent to."""

    ONEROSTER = "oneroster"
    SKYWARD = "skyward"


class LongTitles(enum.StrEnum):
    """What to do with an assignment title longer than the profile allows."""

    TRUNCATE = "truncate"
    REFUSE = "refuse"


@attrs.frozen(kw_only=True)
class ProfileLimits:
    """What a SIS gradebook accepts.

    Attributes:
        max_title_length: the longest line item title, or ``None`` for no limit.
        whole_points_only: points possible must be a whole number.
        sends_weights: the SIS takes category and item weights.
        score_required: every result needs points (an exempt result has none).
    """

    max_title_length: int | None = None
    whole_points_only: bool = False
    sends_weights: bool = True
    score_required: bool = False


_LIMITS: dict[SisProfile, ProfileLimits] = {
    SisProfile.ONEROSTER: ProfileLimits(),
    # Skyward takes assignment names under 50 characters.
    SisProfile.SKYWARD: ProfileLimits(
        max_title_length=49, whole_points_only=True, sends_weights=False, score_required=True
    ),
}


def limits_of(profile: SisProfile) -> ProfileLimits:
    """The limits of a SIS profile."""
    return _LIMITS[profile]


def _profile(value: Any) -> SisProfile:
    try:
        return SisProfile(value)
    except ValueError:
        return value  # type: ignore[no-any-return]  # reported by _problems


def _long_titles(value: Any) -> LongTitles:
    try:
        return LongTitles(value)
    except ValueError:
        return value  # type: ignore[no-any-return]  # reported by _problems


def _frozen(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return types.MappingProxyType(dict(value or {}))


@attrs.frozen(kw_only=True)
class PassbackSettings:
    """How Buzz grades are sent to a SIS gradebook.

    Attributes:
        parent_domain_id: the district's Buzz domain; its class courses (and those of
            its sub-domains) are read.
        profile: ``"oneroster"`` (generic OneRoster 1.1) or ``"skyward"``.
        district_key: the key of the run history and lock; ``parent_domain_id`` when
            ``None``.
        categories: Buzz category name (or Buzz category id) -> SIS category sourcedId.
            A Buzz category not listed here goes to the SIS category with the same title
            (case and surrounding spaces ignored), else to a category the run creates.
        create_categories: create the categories the SIS lacks (``PUT /categories``);
            when ``False`` their line items are refused instead.
        default_category: SIS category sourcedId for items without a Buzz category.
        grading_periods: Buzz grading period id (an item's ``gradingperiod`` or
            ``period``, when Buzz gives one) -> SIS grading period sourcedId. Items
            without one go to the class's grading period holding their due date.
        default_grading_period: academicSession sourcedId for items whose due date
            falls in none of the class's grading periods.
        long_titles: ``"truncate"`` (default) or ``"refuse"`` titles over the profile's
            limit.
        max_title_length: overrides the profile's title limit.
        exempt_flags: the bits of a Buzz score ``status`` that mark it exempt; none by
            default (check your Buzz's values: a run warns about the status bits it
            sees and does not interpret).
        not_submitted_flags: the bits that mark work as missing (not submitted).
        time_zone: the zone (a zoneinfo name) whose calendar day a score date is sent as.
        notify: e-mail addresses the report goes to.

    Raises:
        ConfigurationError: naming every invalid setting.
    """

    parent_domain_id: str
    profile: SisProfile = attrs.field(default=SisProfile.ONEROSTER, converter=_profile)
    district_key: str | None = None
    categories: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)
    create_categories: bool = True
    default_category: str | None = None
    grading_periods: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)
    default_grading_period: str | None = None
    long_titles: LongTitles = attrs.field(default=LongTitles.TRUNCATE, converter=_long_titles)
    max_title_length: int | None = None
    exempt_flags: int = 0
    not_submitted_flags: int = 0
    time_zone: str = "UTC"
    notify: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigurationError("invalid passback settings: " + "; ".join(problems))

    @property
    def key(self) -> str:
        """The district key of the history and lock."""
        return self.district_key or self.parent_domain_id

    @property
    def limits(self) -> ProfileLimits:
        """The profile's limits, with :attr:`max_title_length` applied."""
        limits = limits_of(self.profile)
        if self.max_title_length is not None:
            limits = attrs.evolve(limits, max_title_length=self.max_title_length)
        return limits


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _problems(s: PassbackSettings) -> list[str]:
    problems: list[str] = []
    if not _text(s.parent_domain_id):
        problems.append("parent_domain_id must be a non-empty Buzz domain id")
    if not isinstance(s.profile, SisProfile):
        names = ", ".join(repr(p.value) for p in SisProfile)
        problems.append(f"profile {s.profile!r} is unknown (use one of {names})")
    if not isinstance(s.long_titles, LongTitles):
        names = ", ".join(repr(p.value) for p in LongTitles)
        problems.append(f"long_titles {s.long_titles!r} is unknown (use one of {names})")
    for name in ("district_key", "default_category", "default_grading_period"):
        value = getattr(s, name)
        if value is not None and not _text(value):
            problems.append(f"{name} must be a non-empty sourcedId or None")
    for name in ("categories", "grading_periods"):
        for key, value in getattr(s, name).items():
            if not _text(key) or not _text(value):
                problems.append(f"{name} entry {key!r} must map a Buzz value to a sourcedId")
    problems.extend(_number_problems(s))
    if not _zone_known(s.time_zone):
        problems.append(f"time_zone {s.time_zone!r} is not a known zone (e.g. 'America/Chicago')")
    if not isinstance(s.create_categories, bool):
        problems.append("create_categories must be True or False")
    if not all(_text(address) and "@" in address for address in s.notify):
        problems.append("notify must list e-mail addresses")
    return problems


def _zone_known(name: object) -> bool:
    if not _text(name):
        return False
    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _number_problems(s: PassbackSettings) -> list[str]:
    problems: list[str] = []
    length = s.max_title_length
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)):
        problems.append("max_title_length must be a whole number or None")
    elif length is not None and length < 1:
        problems.append(f"max_title_length must be at least 1, got {length}")
    for name in ("exempt_flags", "not_submitted_flags"):
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{name} must be a non-negative bit mask")
    if (
        isinstance(s.exempt_flags, int)
        and isinstance(s.not_submitted_flags, int)
        and s.exempt_flags & s.not_submitted_flags
    ):
        problems.append("exempt_flags and not_submitted_flags must not share bits")
    return problems


def is_whole(value: float) -> bool:
    """True for a finite number without a fractional part."""
    return math.isfinite(value) and float(value).is_integer()
