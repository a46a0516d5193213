"""Synthetic OneRoster 1.1 districts: realistic, consistent and fast to build.

:func:`generate_district` builds a whole district (orgs, academic sessions, courses,
classes, users, enrollments, demographics, gradebook and resources) as canonical wire
dicts, ready to be served by the loopback server or written as a CSV package::

    >>> from oneroster_client.testing import generate_district
    >>> district = generate_district(students=200, seed=7)
    >>> district.counts()["demographics"]
    200

Output is canonical: camelCase keys, DateTimes as ``YYYY-MM-DDTHH:MM:SS.sssZ``, Dates as
``YYYY-MM-DD``, JSON booleans and floats, no ``None`` values, GUIDRefs as
``{"sourcedId": ..., "type": ...}`` without ``href``, and no ``children`` lists. The same
arguments always give the same district (every random choice comes from
:class:`random.Random` instances seeded from ``seed``; the clock is never read).

GUIDRefs use the model name as ``type`` (``org``, ``academicSession``, ``course``,
``class``, ``user``, ``category``, ``lineItem``, ``resource``), as most providers do.

Records share small objects: every GUIDRef dict (e.g. ``{"sourcedId": "sch-001", "type":
"org"}``) and several lists (a school's ``orgs`` list, a grade's ``grades`` list, a
class's ``terms``) are the same object in many records. That keeps a 50,000-student
district (about 1.2 million records with the gradebook) under 700 MB and a few seconds to
build, but it means the records are **read-only**: copy a record with
:func:`copy.deepcopy` before changing it.

The cycle garbage collector is paused while a district is built (it would rescan the
growing heap again and again) and re-enabled afterwards.
"""

from __future__ import annotations

import gc
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from oneroster_client.converter import format_datetime
from oneroster_client.testing.catalogue import (
    ALL_GRADES,
    CATALOGUE,
    CATEGORIES,
    CLASS_SIZE,
    COMMENTS,
    DISTRICT_SUFFIXES,
    FAMILY_NAMES,
    FEMALE_NAMES,
    FOREIGN_BIRTH,
    GENERIC_TOPICS,
    GRADE_AGE,
    GRADE_WEIGHTS,
    LEVEL_GRADES,
    LEVEL_SUFFIX,
    MALE_NAMES,
    PLACES,
    RESOURCES,
    SCHOOL_NAMESAKES,
    SCHOOL_PLACE_HEADS,
    SCHOOL_PLACE_TAILS,
    SCORE_MAXIMA,
    SCORE_MAXIMA_WEIGHTS,
    SLUGS,
    STATES,
    TOPICS,
    CourseSpec,
    slug,
)
from oneroster_client.testing.district import COLLECTION_MODELS, District

__all__ = ["generate_district"]

Wire = dict[str, Any]

_DEFAULT_MODIFIED = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
_MAX_CLASSES_PER_STUDENT = 12  # the smallest per-grade course catalogue (elementary)
_STUDENTS_PER_SCHOOL = 650  # used to pick a school count when none is given
_SECTIONS_PER_TEACHER = 5
_STAMP_POOL_SIZE = 4096
_ACTIVE = "active"
_DELETED = "tobedeleted"


def _ref(sourced_id: str, kind: str) -> Wire:
    return {"sourcedId": sourced_id, "type": kind}


def _width(count: int, minimum: int) -> int:
    return max(minimum, len(str(count)))


def _weekday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


def _weekday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.weekday() - 4 if day.weekday() >= 5 else 0)


class _Session(NamedTuple):
    sourced_id: str
    ref: Wire
    start: date
    end: date


@dataclass(slots=True)
class _School:
    number: str  # "001"
    ref: Wire
    orgs: list[Wire]  # [ref], shared by the users of this school
    level: str
    grades: tuple[str, ...]
    size: float
    students: list[int] = field(default_factory=list)
    courses: list[_Course] = field(default_factory=list)
    classes: list[_Class] = field(default_factory=list)
    teachers: list[int] = field(default_factory=list)  # indices into _Generator.teachers


@dataclass(slots=True)
class _Course:
    spec: CourseSpec
    record: Wire
    ref: Wire
    grades: list[str]
    semester: bool
    students: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Class:
    sourced_id: str
    record: Wire
    ref: Wire
    course: _Course
    terms: tuple[_Session, ...]
    begin: str
    end: str  # exclusive, as the spec defines enrollment endDate
    students: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Household:
    """A family: siblings share the family name and the guardians."""

    family: str
    refs: list[Wire] = field(default_factory=list)  # shared as every child's agents
    records: list[Wire] = field(default_factory=list)
    children: int = 0


@dataclass(slots=True)
class _Teacher:
    ref: Wire
    suffix: str  # sourcedId without "usr-", used in enrollment ids
    room: str


def _score_pools() -> dict[float, list[float]]:
    # Scores are multiples of 0.5 shared from one list per maximum (memory), up to 120%
    # of the maximum for extra credit.
    return {
        maximum: [step / 2 for step in range(int(maximum * 2 * 1.2) + 1)]
        for maximum in SCORE_MAXIMA
    }


@dataclass(slots=True)
class _Gradebook:
    """What building the gradebook draws from: its random stream and shared tables."""

    rng: random.Random
    stamp: Callable[[], str]
    category_refs: list[Wire] = field(default_factory=list)
    school_days: dict[str, list[int]] = field(default_factory=dict)
    category_titles: list[str] = field(default_factory=lambda: [t for t, _w in CATEGORIES])
    category_weights: list[int] = field(
        default_factory=lambda: list(itertools.accumulate(w for _t, w in CATEGORIES))
    )
    maximum_weights: list[int] = field(
        default_factory=lambda: list(itertools.accumulate(SCORE_MAXIMA_WEIGHTS))
    )
    score_pools: dict[float, list[float]] = field(default_factory=_score_pools)


# Elementary class periods by subject; specials (art, music...) meet in period 6.
_ELEMENTARY_SLOTS = {
    "homeroom": "1",
    "English Language Arts": "2",
    "Mathematics": "3",
    "Science": "4",
    "Social Studies": "5",
}


class _Span(NamedTuple):
    """When a class meets: its term refs (shared list), terms, and enrollment dates."""

    refs: list[Wire]
    terms: tuple[_Session, ...]
    begin: str
    end: str  # exclusive, as the spec defines enrollment endDate


@dataclass(slots=True)
class _Families:
    """Households built so far and how many guardians each new one gets."""

    guardian_width: int
    whole: int
    fraction: float
    households: list[_Household] = field(default_factory=list)
    guardian_count: int = 0


@dataclass(slots=True)
class _StudentDraw:
    """What drawing one student needs besides its own arguments."""

    rng: random.Random
    stamp: Callable[[], str]
    grade_lists: dict[str, list[str]]  # shared one-grade lists
    us_births: tuple[tuple[str, str, tuple[str, ...]], ...]


# --- entry point -------------------------------------------------------------------------


def generate_district(
    *,
    students: int = 500,
    seed: int = 0,
    schools: int | None = None,
    school_year: int = 2025,
    teachers_per_school: int | None = None,
    classes_per_student: int = 6,
    guardians_per_student: float = 1.5,
    with_gradebook: bool = True,
    district_id: str = "dst-1",
    modified: datetime | None = None,
) -> District:
    """Build a realistic, referentially consistent OneRoster 1.1 district.

    The district has one district org and ``schools`` schools (elementary, middle and high
    by grade band), a school year with two terms and four grading periods, a course
    catalogue per school, class sections sized to the enrolment, teachers, students,
    guardians (linked both ways through ``agents``), administrators and aides, an
    enrollment for each student in ``classes_per_student`` classes plus one primary teacher
    (sometimes a co-teacher) per class, demographics for every student, a gradebook and a
    handful of resources. A few records have status ``tobedeleted`` (withdrawn students
    and their enrollments, former teachers, retired courses).

    Records are shared-structure wire dicts and must be treated as read-only (see the
    module documentation).

    Args:
        students: number of student users (and demographics records).
        seed: seed of every random choice; equal arguments give equal districts.
        schools: number of schools; by default about one per 650 students, at least three
            (an elementary, a middle and a high school) when there are three students or
            more. One school is a K-12 school, two are a K-8 and a high school.
        school_year: the year the school year ends (``"2025"`` is 2024-25).
        teachers_per_school: teachers per school; by default one per five class sections.
        classes_per_student: classes each student is enrolled in (1 to 12); in elementary
            schools the homeroom is one of them.
        guardians_per_student: average number of guardians linked to a student; siblings
            share their guardians.
        with_gradebook: also build categories, line items and results.
        district_id: sourcedId of the district org.
        modified: newest possible ``dateLastModified``; records are spread over the year
            before it. Defaults to 2025-01-15T12:00:00.000Z. Must be timezone-aware.

    Returns:
        The district; every collection of :data:`COLLECTION_MODELS` is present.

    Raises:
        ValueError: an argument is out of range or ``modified`` is naive.
    """
    _check_arguments(
        students=students,
        schools=schools,
        teachers_per_school=teachers_per_school,
        classes_per_student=classes_per_student,
        guardians_per_student=guardians_per_student,
        school_year=school_year,
        district_id=district_id,
        modified=modified,
    )
    if modified is None:
        modified = _DEFAULT_MODIFIED
    if schools is None:
        schools = 1 if students < 3 else max(3, round(students / _STUDENTS_PER_SCHOOL))
    generator = _Generator(
        students=students,
        seed=seed,
        schools=schools,
        school_year=school_year,
        teachers_per_school=teachers_per_school,
        classes_per_student=classes_per_student,
        guardians_per_student=guardians_per_student,
        district_id=district_id,
        modified=modified,
    )
    # Millions of small acyclic dicts would make the cycle collector rescan the growing
    # heap over and over (about half the run time); nothing built here forms a cycle.
    collector_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return generator.run(with_gradebook=with_gradebook)
    finally:
        if collector_was_enabled:
            gc.enable()


def _check_arguments(
    *,
    students: int,
    schools: int | None,
    teachers_per_school: int | None,
    classes_per_student: int,
    guardians_per_student: float,
    school_year: int,
    district_id: str,
    modified: datetime | None,
) -> None:
    """Raise ValueError naming the first argument of generate_district out of range."""
    if students < 0:
        raise ValueError("students must be >= 0")
    if schools is not None and schools < 1:
        raise ValueError("schools must be >= 1")
    if teachers_per_school is not None and teachers_per_school < 1:
        raise ValueError("teachers_per_school must be >= 1")
    if not 1 <= classes_per_student <= _MAX_CLASSES_PER_STUDENT:
        raise ValueError(f"classes_per_student must be between 1 and {_MAX_CLASSES_PER_STUDENT}")
    if not 0 <= guardians_per_student <= 4:
        raise ValueError("guardians_per_student must be between 0 and 4")
    if not 1901 <= school_year <= 9998:
        raise ValueError("school_year must be a four-digit year")
    if not district_id.strip():
        raise ValueError("district_id must not be empty")
    if modified is not None and modified.tzinfo is None:
        raise ValueError("modified must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")


def _school_levels(count: int) -> list[str]:
    if count == 1:
        return ["k12"]
    if count == 2:
        return ["k8", "high"]
    # Roughly the US mix: three elementary schools for each middle and high school.
    high = max(1, round(count * 0.2))
    middle = max(1, round(count * 0.2))
    return ["elementary"] * (count - high - middle) + ["middle"] * middle + ["high"] * high


class _Generator:
    """Builds one district; each phase draws from its own seeded random stream."""

    def __init__(
        self,
        *,
        students: int,
        seed: int,
        schools: int,
        school_year: int,
        teachers_per_school: int | None,
        classes_per_student: int,
        guardians_per_student: float,
        district_id: str,
        modified: datetime,
    ) -> None:
        self.student_count = students
        self.seed = seed
        self.school_count = schools
        self.year = school_year
        self.teachers_per_school = teachers_per_school
        self.classes_per_student = classes_per_student
        self.guardians_per_student = guardians_per_student
        self.district_id = district_id
        self.collections: dict[str, list[Wire]] = {name: [] for name in COLLECTION_MODELS}
        self.usernames: dict[str, int] = {}
        self.day_strings: dict[int, str] = {}
        self.stamps = self._stamp_pool(modified)
        # Filled by the phases below.
        self.schools: list[_School] = []
        self.domain = ""
        self.state = ""
        self.cities: tuple[str, ...] = ()
        self.district_ref: Wire = _ref(district_id, "org")
        self.year_session: _Session
        self.terms: list[_Session] = []
        self.grading_periods: dict[str, list[_Session]] = {}
        self.student_refs: list[Wire] = []
        self.student_suffixes: list[str] = []
        self.student_withdrawn: list[bool] = []
        self.student_ability: list[float] = []
        self.teachers: list[_Teacher] = []
        self.staff: list[Wire] = []
        self.student_users: list[Wire] = []
        self.guardian_users: list[Wire] = []
        # Shared by the classes that meet in one period (records are read-only).
        self.period_lists = {str(n): [str(n)] for n in range(1, 8)}

    def _rng(self, phase: str) -> random.Random:
        # A string seed is hashed with SHA-512, so streams are stable across runs and
        # independent: turning the gradebook off does not change the roster.
        return random.Random(f"oneroster-district/{self.seed}/{phase}")

    def _stamp_pool(self, modified: datetime) -> list[str]:
        rng = self._rng("stamps")
        year_ms = 365 * 86_400_000
        oldest = modified - timedelta(milliseconds=year_ms)
        offsets = sorted(rng.randrange(1, year_ms + 1) for _ in range(_STAMP_POOL_SIZE))
        return [format_datetime(oldest + timedelta(milliseconds=offset)) for offset in offsets]

    def _stamper(self, rng: random.Random) -> Callable[[], str]:
        stamps, rand, size = self.stamps, rng.random, len(self.stamps)
        return lambda: stamps[int(rand() * size)]

    def _day(self, ordinal: int) -> str:
        text = self.day_strings.get(ordinal)
        if text is None:
            text = self.day_strings[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def _username(self, base: str) -> str:
        seen = self.usernames.get(base, 0) + 1
        self.usernames[base] = seen
        return base if seen == 1 else f"{base}{seen}"

    def run(self, *, with_gradebook: bool) -> District:
        """Run every phase in dependency order and return the district."""
        self._orgs()
        self._sessions()
        self._courses()
        self._students()
        self._classes()
        self._staff()
        self._enrollments()
        if with_gradebook:
            self._gradebook()
        self._resources()
        self.collections["users"] = self.staff + self.student_users + self.guardian_users
        return District(collections=self.collections)

    # --- orgs and sessions ---------------------------------------------------------------

    def _orgs(self) -> None:
        """The district org and its schools, with NCES-like identifiers."""
        rng = self._rng("orgs")
        stamp = self._stamper(rng)
        self.state, fips, self.cities = rng.choice(STATES)
        place = rng.choice(PLACES)
        self.domain = f"{slug(place)}.k12.example.org"
        lea = f"{fips}{rng.randrange(10_000, 100_000)}"  # NCES LEA ids: state FIPS + 5 digits
        district_ref = self.district_ref
        orgs = self.collections["orgs"]
        orgs.append(
            {
                "sourcedId": self.district_id,
                "status": _ACTIVE,
                "dateLastModified": stamp(),
                "name": f"{place} {rng.choice(DISTRICT_SUFFIXES)}",
                "type": "district",
                "identifier": lea,
            }
        )
        bases = list(SCHOOL_NAMESAKES) + [
            f"{head} {tail}" for head in SCHOOL_PLACE_HEADS for tail in SCHOOL_PLACE_TAILS
        ]
        rng.shuffle(bases)
        numbers = sorted(rng.sample(range(1, 100_000), self.school_count))
        width = _width(self.school_count, 3)
        for index, level in enumerate(_school_levels(self.school_count)):
            number = f"{index + 1:0{width}d}"
            sourced_id = f"sch-{number}"
            ref = _ref(sourced_id, "org")
            base = bases[index % len(bases)]
            repeat = index // len(bases)
            name = f"{base} {LEVEL_SUFFIX[level]}" + (f" No. {repeat + 1}" if repeat else "")
            orgs.append(
                {
                    "sourcedId": sourced_id,
                    "status": _ACTIVE,
                    "dateLastModified": stamp(),
                    "name": name,
                    "type": "school",
                    "identifier": f"{lea}{numbers[index]:05d}",  # NCES school ids: 12 digits
                    "parent": district_ref,
                }
            )
            self.schools.append(
                _School(
                    number=number,
                    ref=ref,
                    orgs=[ref],
                    level=level,
                    grades=LEVEL_GRADES[level],
                    size=rng.uniform(0.6, 1.4),  # schools serving the same grades differ in size
                )
            )

    def _sessions(self) -> None:
        """The school year, its two terms and four grading periods (quarters)."""
        rng = self._rng("sessions")
        stamp = self._stamper(rng)
        year = self.year
        first = _weekday_on_or_after(date(year - 1, 8, 15))
        last = _weekday_on_or_before(date(year, 6, 5))
        middle = first + (last - first) / 2
        fall_end = middle + timedelta(days=(4 - middle.weekday()) % 7)  # next Friday
        spring_start = fall_end + timedelta(days=3)
        label = f"{year - 1}-{year}"
        sessions = self.collections["academicSessions"]

        def add(
            sourced_id: str, title: str, kind: str, start: date, end: date, parent: _Session | None
        ) -> _Session:
            record: Wire = {
                "sourcedId": sourced_id,
                "status": _ACTIVE,
                "dateLastModified": stamp(),
                "title": title,
                "type": kind,
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
                "schoolYear": str(year),
            }
            if parent is not None:
                record["parent"] = parent.ref
            sessions.append(record)
            return _Session(sourced_id, _ref(sourced_id, "academicSession"), start, end)

        self.year_session = add(f"ay-{year}", label, "schoolYear", first, last, None)
        spans = ((f"Fall {year - 1}", first, fall_end), (f"Spring {year}", spring_start, last))
        quarter = 0
        for number, (title, start, end) in enumerate(spans, start=1):
            term = add(f"term-{year}-{number}", title, "term", start, end, self.year_session)
            self.terms.append(term)
            half = start + (end - start) / 2
            first_end = half + timedelta(days=(4 - half.weekday()) % 7)
            periods = []
            for begin, finish in ((start, first_end), (first_end + timedelta(days=3), end)):
                quarter += 1
                periods.append(
                    add(
                        f"gp-{year}-{quarter}",
                        f"Q{quarter} {label}",
                        "gradingPeriod",
                        begin,
                        finish,
                        term,
                    )
                )
            self.grading_periods[term.sourced_id] = periods

    # --- courses -------------------------------------------------------------------------

    def _courses(self) -> None:
        """Each school's share of the catalogue, plus an occasional retired course."""
        rng = self._rng("courses")
        stamp = self._stamper(rng)
        courses = self.collections["courses"]
        year_ref = self.year_session.ref
        # Shared lists: one per subject, SCED code and grade set.
        shared: dict[tuple[str, ...], list[str]] = {}

        def share(*items: str) -> list[str]:
            return shared.setdefault(items, list(items))

        for school in self.schools:
            offered = set(school.grades)
            number = 0
            for spec in CATALOGUE:
                grades = [grade for grade in spec.grades if grade in offered]
                if not grades:
                    continue
                number += 1
                sourced_id = f"crs-{school.number}-{number:04d}"
                record: Wire = {
                    "sourcedId": sourced_id,
                    "status": _ACTIVE,
                    "dateLastModified": stamp(),
                    "title": spec.title,
                    "courseCode": spec.code,
                    "grades": share(*grades),
                    "subjects": share(spec.subject),
                    "subjectCodes": share(spec.sced),
                    "org": school.ref,
                    "schoolYear": year_ref,
                }
                courses.append(record)
                # Secondary electives are often one-semester courses.
                semester = (
                    spec.kind == "elective"
                    and school.level in ("middle", "high")
                    and rng.random() < 0.4
                )
                school.courses.append(
                    _Course(spec, record, _ref(sourced_id, "course"), grades, semester)
                )
            if rng.random() < 0.3:  # a retired course, kept as tobedeleted, without classes
                number += 1
                courses.append(
                    {
                        "sourcedId": f"crs-{school.number}-{number:04d}",
                        "status": _DELETED,
                        "dateLastModified": stamp(),
                        "title": "Keyboarding (retired)",
                        "courseCode": "KEYB",
                        "grades": share(*school.grades),
                        "subjects": share("Computer Science"),
                        "subjectCodes": share("10001"),
                        "org": school.ref,
                        "schoolYear": year_ref,
                    }
                )

    # --- students, guardians, demographics -----------------------------------------------

    def _students(self) -> None:
        """Students, their households of guardians (linked both ways) and demographics."""
        rng = self._rng("students")
        stamp = self._stamper(rng)
        rand = rng.random
        count = self.student_count
        grades = rng.choices(ALL_GRADES, [GRADE_WEIGHTS[g] for g in ALL_GRADES], k=count)
        by_grade: dict[str, tuple[list[_School], list[float]]] = {}
        for grade in ALL_GRADES:
            serving = [school for school in self.schools if grade in school.grades]
            by_grade[grade] = (serving, list(itertools.accumulate(s.size for s in serving)))
        identifiers = rng.sample(range(100_000_000, 1_000_000_000), count)
        width = _width(count, 6)
        families = _Families(
            guardian_width=_width(int(count * self.guardians_per_student) + 1, 6),
            whole=int(self.guardians_per_student),
            fraction=self.guardians_per_student - int(self.guardians_per_student),
        )
        student = _StudentDraw(
            rng=rng,
            stamp=stamp,
            grade_lists={grade: [grade] for grade in ALL_GRADES},
            us_births=tuple(state for state in STATES if state[0] != self.state),
        )
        for index in range(count):
            grade = grades[index]
            serving, cumulative = by_grade[grade]
            school = rng.choices(serving, cum_weights=cumulative)[0]
            school.students.append(index)
            sourced_id = f"usr-s-{index + 1:0{width}d}"
            female = rand() < 0.5
            given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            household = self._household(rng, families)
            household.children += 1
            self._student(
                student, sourced_id, grade, school, female, given, household, identifiers[index]
            )

    def _household(self, rng: random.Random, families: _Families) -> _Household:
        """A sibling's household (one in five students), else a new one with guardians."""
        rand = rng.random
        households = families.households
        if households and rand() < 0.2:  # a sibling of an earlier student
            candidate = households[rng.randrange(len(households))]
            if candidate.children < 4:
                return candidate
        household = _Household(rng.choice(FAMILY_NAMES))
        for position in range(families.whole + (1 if rand() < families.fraction else 0)):
            families.guardian_count += 1
            same_name = position == 0 or rand() < 0.75
            record = self._guardian(
                rng,
                f"usr-g-{families.guardian_count:0{families.guardian_width}d}",
                household.family if same_name else rng.choice(FAMILY_NAMES),
            )
            household.records.append(record)
            household.refs.append(_ref(record["sourcedId"], "user"))
        if household.refs:
            households.append(household)
        return household

    def _student(
        self,
        draw: _StudentDraw,
        sourced_id: str,
        grade: str,
        school: _School,
        female: bool,
        given: str,
        household: _Household,
        identifier_number: int,
    ) -> None:
        """One student's user record, guardian links and demographics."""
        rng = draw.rng
        rand = rng.random
        ref = _ref(sourced_id, "user")
        family = household.family if rand() < 0.92 else rng.choice(FAMILY_NAMES)
        withdrawn = rand() < 0.005
        grad_year = self.year + 12 - (int(grade) if grade.isdigit() else 0)
        username = self._username(f"{SLUGS[given][:1]}{SLUGS[family][:14]}{grad_year % 100:02d}")
        identifier = str(identifier_number)
        status = _DELETED if withdrawn else _ACTIVE
        user: Wire = {
            "sourcedId": sourced_id,
            "status": status,
            "dateLastModified": draw.stamp(),
            "username": username,
            "userIds": [
                {"type": "LDAP", "identifier": username},
                {"type": "SIS", "identifier": identifier},
            ],
            "enabledUser": not withdrawn and rand() > 0.01,
            "givenName": given,
            "familyName": family,
            "role": "student",
            "identifier": identifier,
            "email": f"{username}@students.{self.domain}",
            "orgs": school.orgs,
            "grades": draw.grade_lists[grade],
        }
        if rand() < 0.3:
            pool = FEMALE_NAMES if female else MALE_NAMES
            middle = rng.choice(pool)
            user["middleName"] = middle if rand() < 0.9 else f"{middle} {rng.choice(pool)}"
        if household.refs:
            user["agents"] = household.refs  # siblings share one list
            for guardian in household.records:
                guardian["agents"].append(ref)
                if school.ref not in guardian["orgs"]:
                    guardian["orgs"].append(school.ref)
        self.student_users.append(user)
        self.student_refs.append(ref)
        self.student_suffixes.append(sourced_id[4:])
        self.student_withdrawn.append(withdrawn)
        self.student_ability.append(min(99.0, max(35.0, rng.gauss(80.0, 10.0))))
        self.collections["demographics"].append(
            self._demographics(rng, sourced_id, status, grade, female, draw.us_births)
        )

    def _guardian(self, rng: random.Random, sourced_id: str, family: str) -> Wire:
        rand = rng.random
        female = rand() < 0.6
        given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        roll = rand()
        role = "parent" if roll < 0.85 else "guardian" if roll < 0.95 else "relative"
        username = self._username(f"{SLUGS[given]}.{SLUGS[family]}")
        mail_host = ("example.com", "example.net", "example.org")[int(rand() * 3)]
        guardian: Wire = {
            "sourcedId": sourced_id,
            "status": _ACTIVE,
            "dateLastModified": self.stamps[int(rand() * len(self.stamps))],
            "username": username,
            "enabledUser": rand() < 0.88,  # many guardians never activate their account
            "givenName": given,
            "familyName": family,
            "role": role,
            "email": f"{username}@{mail_host}",
            "phone": f"({rng.randrange(201, 990)}) 555-01{rng.randrange(100):02d}",
            "agents": [],
            "orgs": [],
        }
        if rand() < 0.6:
            guardian["sms"] = guardian["phone"]
        if rand() < 0.5:
            guardian["identifier"] = f"P{rng.randrange(1_000_000, 10_000_000)}"
        self.guardian_users.append(guardian)
        return guardian

    def _demographics(
        self,
        rng: random.Random,
        sourced_id: str,
        status: str,
        grade: str,
        female: bool,
        us_births: Sequence[tuple[str, str, tuple[str, ...]]],
    ) -> Wire:
        rand = rng.random
        # Age on 1 September of the school year's first calendar year, a few held back.
        age = GRADE_AGE[grade] + (1 if rand() < 0.03 else 0)
        born_from = date(self.year - age - 2, 9, 2).toordinal()
        hispanic = rand() < 0.28
        race = rand()
        races = [False] * 5  # aian, asian, black, nhpi, white
        if race < 0.05:
            first, second = rng.sample(range(5), 2)
            races[first] = races[second] = True
        else:
            races[
                4
                if race < 0.62
                else 2
                if race < 0.79
                else 1
                if race < 0.93
                else 0
                if race < 0.975
                else 3
            ] = True
        record: Wire = {
            "sourcedId": sourced_id,
            "status": status,
            "dateLastModified": self.stamps[int(rand() * len(self.stamps))],
            "birthDate": self._day(born_from + int(rand() * 365)),
            "sex": "female" if female else "male",
            "americanIndianOrAlaskaNative": races[0],
            "asian": races[1],
            "blackOrAfricanAmerican": races[2],
            "nativeHawaiianOrOtherPacificIslander": races[3],
            "white": races[4],
            "demographicRaceTwoOrMoreRaces": race < 0.05,
            "hispanicOrLatinoEthnicity": hispanic,
        }
        place = rand()
        if place < 0.08:
            country, cities = rng.choice(FOREIGN_BIRTH)
            record["countryOfBirthCode"] = country
            record["cityOfBirth"] = rng.choice(cities)
        elif place < 0.95:  # the rest leave the place of birth blank
            record["countryOfBirthCode"] = "US"
            state, cities = self.state, self.cities
            if rand() < 0.15:
                state, _fips, cities = rng.choice(us_births)
            record["stateOfBirthAbbreviation"] = state
            record["cityOfBirth"] = rng.choice(cities)
        record["publicSchoolResidenceStatus"] = "01652" if rand() < 0.93 else "01653"
        return record

    # --- classes and staff ---------------------------------------------------------------

    def _classes(self) -> None:
        """Choose each student's courses, then cut every course into class sections."""
        rng = self._rng("classes")
        per_student = self.classes_per_student
        student_grades = [user["grades"][0] for user in self.student_users]
        for school in self.schools:
            core: dict[str, list[_Course]] = {grade: [] for grade in school.grades}
            electives: dict[str, list[_Course]] = {grade: [] for grade in school.grades}
            for course in school.courses:
                for grade in course.grades:
                    kind = course.spec.kind
                    (electives if kind == "elective" else core)[grade].append(course)
            for student in school.students:
                grade = student_grades[student]
                required = core[grade]
                chosen = required[:per_student]
                if len(chosen) < per_student:
                    chosen = chosen + rng.sample(electives[grade], per_student - len(chosen))
                for course in chosen:
                    course.students.append(student)
        self._sections(rng)

    def _sections(self, rng: random.Random) -> None:
        stamp = self._stamper(rng)
        spans = self._spans()
        for school in self.schools:
            size = CLASS_SIZE[school.level]
            number = 0
            for course_index, course in enumerate(school.courses):
                enrolled = course.students
                if not enrolled:
                    continue
                sections = math.ceil(len(enrolled) / size)
                if course.semester and sections == 1 and len(enrolled) > size // 2:
                    sections = 2  # one section each semester
                for section in range(sections):
                    number += 1
                    span = ("fall", "spring")[section % 2] if course.semester else "year"
                    periods, title = self._section_periods(
                        rng, school, course.spec, course_index, section
                    )
                    self._section(
                        stamp,
                        spans[span],
                        school,
                        course,
                        (section, sections, number),
                        periods,
                        title,
                    )

    def _spans(self) -> dict[str, _Span]:
        """The terms and enrollment dates of full-year, fall and spring classes."""
        first, last = self.terms[0], self.terms[1]
        one_day = timedelta(days=1)
        return {
            "year": _Span(
                [first.ref, last.ref],
                (first, last),
                first.start.isoformat(),
                (last.end + one_day).isoformat(),
            ),
            "fall": _Span(
                [first.ref], (first,), first.start.isoformat(), (first.end + one_day).isoformat()
            ),
            "spring": _Span(
                [last.ref], (last,), last.start.isoformat(), (last.end + one_day).isoformat()
            ),
        }

    def _section_periods(
        self,
        rng: random.Random,
        school: _School,
        spec: CourseSpec,
        course_index: int,
        section: int,
    ) -> tuple[list[str], str]:
        """The periods and title of one section of a course."""
        if spec.kind == "homeroom":
            return self.period_lists["1"], f"Homeroom {spec.code[3:]}-{chr(65 + section % 26)}"
        title = f"{spec.title} - {section + 1:02d}"
        if school.level == "elementary" or spec.code.endswith("-E"):
            return self.period_lists[_ELEMENTARY_SLOTS.get(spec.subject, "6")], title
        period = (course_index + section) % 7 + 1
        if spec.subject == "Science" and period < 7 and rng.random() < 0.1:
            return [str(period), str(period + 1)], title  # a double lab
        return self.period_lists[str(period)], title

    def _section(
        self,
        stamp: Callable[[], str],
        span: _Span,
        school: _School,
        course: _Course,
        position: tuple[int, int, int],
        periods: list[str],
        title: str,
    ) -> None:
        """Add one class section of ``course`` and its share of the course's students.

        ``position`` is (section index, sections of the course, class number in school).
        """
        section, sections, number = position
        spec = course.spec
        sourced_id = f"cls-{school.number}-{number:04d}"
        record: Wire = {
            "sourcedId": sourced_id,
            "status": _ACTIVE,
            "dateLastModified": stamp(),
            "title": title,
            "classCode": f"{spec.code}-{section + 1:02d}",
            "classType": "homeroom" if spec.kind == "homeroom" else "scheduled",
            "grades": course.record["grades"],
            "subjects": course.record["subjects"],
            "subjectCodes": course.record["subjectCodes"],
            "course": course.ref,
            "school": school.ref,
            "terms": span.refs,
            "periods": periods,
        }
        self.collections["classes"].append(record)
        school.classes.append(
            _Class(
                sourced_id,
                record,
                _ref(sourced_id, "class"),
                course,
                span.terms,
                span.begin,
                span.end,
                course.students[section::sections],
            )
        )

    def _staff(self) -> None:
        """District and school administrators, aides and teachers."""
        rng = self._rng("staff")
        stamp = self._stamper(rng)
        rand = rng.random
        teacher_total = sum(
            self.teachers_per_school
            or max(1, math.ceil(len(school.classes) / _SECTIONS_PER_TEACHER))
            for school in self.schools
        )
        teacher_width = _width(teacher_total + self.school_count, 5)
        people = teacher_total + 5 * self.school_count + 3  # an upper bound of staff records
        employee_ids = iter(rng.sample(range(100_000, 1_000_000 + 10 * people), people))
        staff_number = {"t": 0, "a": 0, "i": 0}

        def person(role: str, letter: str, orgs: list[Wire], *, status: str = _ACTIVE) -> Wire:
            staff_number[letter] += 1
            width = teacher_width if letter == "t" else 4
            sourced_id = f"usr-{letter}-{staff_number[letter]:0{width}d}"
            female = rand() < 0.7 if role == "teacher" else rand() < 0.5
            given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            family = rng.choice(FAMILY_NAMES)
            username = self._username(f"{SLUGS[given]}.{SLUGS[family]}")
            record: Wire = {
                "sourcedId": sourced_id,
                "status": status,
                "dateLastModified": stamp(),
                "username": username,
                "userIds": [{"type": "LDAP", "identifier": username}],
                "enabledUser": status == _ACTIVE,
                "givenName": given,
                "familyName": family,
                "role": role,
                "identifier": f"E{next(employee_ids)}",
                "email": f"{username}@{self.domain}",
                "phone": f"({rng.randrange(201, 990)}) 555-01{rng.randrange(100):02d}",
                "orgs": orgs,
            }
            if rand() < 0.2:
                record["middleName"] = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            self.staff.append(record)
            return record

        district_orgs = [self.district_ref]
        for _ in range(3):  # superintendent and district office
            person("administrator", "a", district_orgs)
        for school in self.schools:
            self._school_staff(rng, school, person)

    def _school_staff(
        self, rng: random.Random, school: _School, person: Callable[..., Wire]
    ) -> None:
        """A school's principal(s), aides and teachers (one may have left)."""
        person("administrator", "a", school.orgs)  # principal
        if len(school.students) > 600:
            person("administrator", "a", school.orgs)  # assistant principal
        for _ in range(2 if school.level == "elementary" else 1):
            person("aide", "i", school.orgs)
        count = self.teachers_per_school or max(
            1, math.ceil(len(school.classes) / _SECTIONS_PER_TEACHER)
        )
        rooms = rng.sample(range(100, 100 + max(60, count * 2)), count)
        for position in range(count):
            record = person("teacher", "t", school.orgs)
            school.teachers.append(len(self.teachers))
            self.teachers.append(
                _Teacher(
                    _ref(record["sourcedId"], "user"),
                    record["sourcedId"][4:],
                    f"Room {rooms[position]}",
                )
            )
        if rng.random() < 0.3:  # a teacher who left: kept as tobedeleted, no classes
            person("teacher", "t", school.orgs, status=_DELETED)

    # --- enrollments ---------------------------------------------------------------------

    def _enrollments(self) -> None:
        """Assign teachers to classes and enroll teachers and students."""
        rng = self._rng("enrollments")
        for school in self.schools:
            teachers = [self.teachers[index] for index in school.teachers]
            # Classes ordered by subject go to teachers in blocks, so a teacher mostly
            # teaches one subject (and, in elementary schools, one grade).
            ordered = sorted(
                school.classes, key=lambda c: (c.course.spec.subject, c.course.spec.code)
            )
            total = len(ordered)
            for position, klass in enumerate(ordered):
                primary = teachers[position * len(teachers) // total]
                self._class_enrollments(rng, school, klass, teachers, primary)

    def _class_enrollments(
        self,
        rng: random.Random,
        school: _School,
        klass: _Class,
        teachers: list[_Teacher],
        primary: _Teacher,
    ) -> None:
        """The teacher and student enrollments of one class."""
        stamps, rand, size = self.stamps, rng.random, len(self.stamps)
        append = self.collections["enrollments"].append
        refs, suffixes, withdrawn = (
            self.student_refs,
            self.student_suffixes,
            self.student_withdrawn,
        )
        subject = klass.course.spec.subject
        klass.record["location"] = "Gymnasium" if subject == "Physical Education" else primary.room
        class_ref, class_suffix = klass.ref, klass.sourced_id[4:]
        begin, end = klass.begin, klass.end
        staff = [(primary, True)]
        if len(teachers) > 1 and rand() < 0.08:  # a co-teacher, e.g. special education
            other = teachers[rng.randrange(len(teachers))]
            if other is not primary:
                staff.append((other, False))
        for teacher, is_primary in staff:
            append(
                {
                    "sourcedId": f"enr-{class_suffix}-{teacher.suffix}",
                    "status": _ACTIVE,
                    "dateLastModified": stamps[int(rand() * size)],
                    "user": teacher.ref,
                    "class": class_ref,
                    "school": school.ref,
                    "role": "teacher",
                    "primary": is_primary,
                    "beginDate": begin,
                    "endDate": end,
                }
            )
        for student in klass.students:
            append(
                {
                    "sourcedId": f"enr-{class_suffix}-{suffixes[student]}",
                    "status": _DELETED if withdrawn[student] else _ACTIVE,
                    "dateLastModified": stamps[int(rand() * size)],
                    "user": refs[student],
                    "class": class_ref,
                    "school": school.ref,
                    "role": "student",
                    "beginDate": begin,
                    "endDate": end,
                }
            )

    # --- gradebook -----------------------------------------------------------------------

    def _gradebook(self) -> None:
        """Categories, a few line items per scheduled class and a result per student."""
        rng = self._rng("gradebook")
        book = _Gradebook(rng=rng, stamp=self._stamper(rng))
        book.category_refs = self._categories(book.stamp)
        book.school_days = self._school_days()
        for school in self.schools:
            for klass in school.classes:
                if klass.record["classType"] == "homeroom":
                    continue  # homerooms are not graded
                self._class_gradebook(book, klass)

    def _categories(self, stamp: Callable[[], str]) -> list[Wire]:
        """The district's line item categories; returns their GUIDRefs in table order."""
        categories = self.collections["categories"]
        refs: list[Wire] = []
        for title, _weight in CATEGORIES:
            sourced_id = f"cat-{title.lower()}"
            categories.append(
                {
                    "sourcedId": sourced_id,
                    "status": _ACTIVE,
                    "dateLastModified": stamp(),
                    "title": title,
                }
            )
            refs.append(_ref(sourced_id, "category"))
        return refs

    def _school_days(self) -> dict[str, list[int]]:
        """Grading period sourcedId -> the ordinals of its weekdays."""
        school_days: dict[str, list[int]] = {}
        for periods in self.grading_periods.values():
            for period in periods:
                school_days[period.sourced_id] = [
                    ordinal
                    for ordinal in range(period.start.toordinal(), period.end.toordinal() + 1)
                    if date.fromordinal(ordinal).weekday() < 5
                ]
        return school_days

    def _class_gradebook(self, book: _Gradebook, klass: _Class) -> None:
        """Two to four line items of one class, each with a result per student."""
        rng = book.rng
        periods = [gp for term in klass.terms for gp in self.grading_periods[term.sourced_id]]
        class_suffix = klass.sourced_id[4:]
        subject = klass.course.spec.subject
        topics = TOPICS.get(subject, GENERIC_TOPICS)
        counters = dict.fromkeys(book.category_titles, 0)
        for item in range(rng.randint(2, 4)):
            period = periods[item % len(periods)]
            days = book.school_days[period.sourced_id]
            category = rng.choices(range(len(CATEGORIES)), cum_weights=book.category_weights)[0]
            if book.category_titles[category] == "Lab" and subject != "Science":
                category = 1  # classwork instead of a lab outside science
            category_title = book.category_titles[category]
            counters[category_title] += 1
            assign_index = rng.randrange(max(1, len(days) - 5))
            due_index = min(len(days) - 1, assign_index + rng.randint(1, 10))
            hour = rng.randint(13, 22)  # US school hours, in UTC
            maximum = rng.choices(SCORE_MAXIMA, cum_weights=book.maximum_weights)[0]
            sourced_id = f"li-{class_suffix}-{item + 1:02d}"
            record: Wire = {
                "sourcedId": sourced_id,
                "status": _ACTIVE,
                "dateLastModified": book.stamp(),
                "title": f"{category_title} {counters[category_title]}: {rng.choice(topics)}",
                "assignDate": f"{self._day(days[assign_index])}T{hour:02d}:00:00.000Z",
                "dueDate": f"{self._day(days[due_index])}T{hour:02d}:30:00.000Z",
                "class": klass.ref,
                "category": book.category_refs[category],
                "gradingPeriod": period.ref,
                "resultValueMin": 0.0,
                "resultValueMax": maximum,
            }
            if rng.random() < 0.4:
                record["description"] = f"{klass.course.spec.title}: {record['title']}"
            self.collections["lineItems"].append(record)
            self._results(book, klass, sourced_id, maximum, days[due_index])

    def _results(
        self, book: _Gradebook, klass: _Class, item_id: str, maximum: float, due: int
    ) -> None:
        """One result per student of ``klass`` on line item ``item_id``."""
        rand = book.rng.random
        stamps, draws = self.stamps, len(self.stamps) * 8
        refs, suffixes, ability = self.student_refs, self.student_suffixes, self.student_ability
        comments = COMMENTS
        add_result = self.collections["results"].append
        item_ref = _ref(item_id, "lineItem")
        item_suffix = item_id[3:]
        pool = book.score_pools[maximum]
        top = len(pool) - 1
        per_point = maximum * 2 / 100
        score_dates = [self._day(due + offset) for offset in range(8)]
        zero = pool[0]
        for student in klass.students:
            roll = rand()
            comment = None
            if roll < 0.84:
                status = "fully graded"
                percent = ability[student] + (rand() + rand() - 1.0) * 24.0
                if roll < 0.02:
                    percent += 15.0  # extra credit can pass the maximum
                elif roll > 0.835:
                    percent = 0.0  # a zero for work that was not acceptable
                index = int(percent * per_point + 0.5)
                score = pool[0 if index < 0 else top if index > top else index]
                if rand() < 0.05:
                    comment = comments[int(rand() * len(comments))]
            elif roll < 0.87:
                status = "exempt"
                score = zero
            elif roll < 0.93:
                status = "not submitted"
                score = zero
                if rand() < 0.3:
                    comment = "Missing"
            elif roll < 0.96:
                status = "submitted"
                score = zero
            else:
                status = "partially graded"
                index = int(ability[student] * per_point * rand())
                score = pool[index if index < top else top]
            # One draw picks both the timestamp (high bits) and the score date.
            draw = int(rand() * draws)
            result: Wire = {
                "sourcedId": f"res-{item_suffix}-{suffixes[student]}",
                "status": _ACTIVE,
                "dateLastModified": stamps[draw >> 3],
                "lineItem": item_ref,
                "student": refs[student],
                "scoreStatus": status,
                "score": score,
                "scoreDate": score_dates[draw & 7],
            }
            if comment is not None:
                result["comment"] = comment
            add_result(result)

    # --- resources -----------------------------------------------------------------------

    def _resources(self) -> None:
        """A handful of resources, each linked from some courses or classes."""
        rng = self._rng("resources")
        stamp = self._stamper(rng)
        resources = self.collections["resources"]
        by_subject: dict[str, list[Wire]] = {}
        class_only: list[Wire] = []
        linked: set[str] = set()
        vendors: dict[str, str] = {}
        for number, (title, subject, roles, importance, vendor) in enumerate(RESOURCES, 1):
            sourced_id = f"rsc-{number:03d}"
            vendor_id = vendors.setdefault(vendor, f"{vendor}-{rng.randrange(1000, 10000)}")
            record: Wire = {
                "sourcedId": sourced_id,
                "status": _ACTIVE,
                "dateLastModified": stamp(),
                "vendorResourceId": f"{vendor}-{rng.randrange(10_000, 100_000)}",
                "title": title,
                "roles": list(roles),
                "importance": importance,
                "vendorId": vendor_id,
            }
            if rng.random() < 0.5:
                record["applicationId"] = f"app-{vendor.lower()}-{rng.randrange(100, 1000)}"
            resources.append(record)
            ref = _ref(sourced_id, "resource")
            if subject is None:
                class_only.append(ref)
            else:
                by_subject.setdefault(subject, []).append(ref)
        first_course: Wire | None = None
        for school in self.schools:
            for course in school.courses:
                first_course = first_course or course.record
                matching = by_subject.get(course.spec.subject)
                if matching and rng.random() < 0.5:
                    course.record["resources"] = matching
                    linked.update(ref["sourcedId"] for ref in matching)
            for klass in school.classes:
                subject = klass.course.spec.subject
                if subject == "Mathematics" and class_only and rng.random() < 0.1:
                    klass.record["resources"] = class_only
                    linked.update(ref["sourcedId"] for ref in class_only)
        # The spec requires every resource to be linked to a course or class.
        if first_course is not None:
            missing = [
                ref
                for refs in (*by_subject.values(), class_only)
                for ref in refs
                if ref["sourcedId"] not in linked
            ]
            if missing:
                first_course["resources"] = [*first_course.get("resources", ()), *missing]
