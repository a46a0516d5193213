"""Tests for the OneRoster 1.1 CSV package reader and writer.

Every package here is written by the test itself (with :func:`write_package` or by hand,
byte for byte, to reproduce the quirks of real exports).
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client.csv_package import (
    COLLECTIONS,
    CsvPackageError,
    CsvTargetError,
    read_package,
    write_package,
)
from oneroster_client.models import (
    AcademicSession,
    Category,
    Class,
    ClassType,
    Course,
    Demographics,
    Enrollment,
    Gender,
    GUIDRef,
    GUIDType,
    Importance,
    LineItem,
    Org,
    OrgType,
    Record,
    Resource,
    Result,
    RoleType,
    ScoreStatus,
    SessionType,
    StatusType,
    User,
    UserId,
)

MODIFIED = datetime(2024, 5, 1, 18, 25, 43, 511000, tzinfo=UTC)

# The 1.1 column orders, written out independently of the module under test.
EXPECTED_HEADERS = {
    "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,"
    "parentSourcedId,schoolYear",
    "categories.csv": "sourcedId,status,dateLastModified,title",
    "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
    "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    "classResources.csv": "sourcedId,status,dateLastModified,title,classSourcedId,"
    "resourceSourcedId",
    "courses.csv": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,"
    "grades,orgSourcedId,subjects,subjectCodes",
    "courseResources.csv": "sourcedId,status,dateLastModified,title,courseSourcedId,"
    "resourceSourcedId",
    "demographics.csv": "sourcedId,status,dateLastModified,birthDate,sex,"
    "americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,"
    "nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,"
    "hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,"
    "publicSchoolResidenceStatus",
    "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
    "userSourcedId,role,primary,beginDate,endDate",
    "lineItems.csv": "sourcedId,status,dateLastModified,title,description,assignDate,dueDate,"
    "classSourcedId,categorySourcedId,gradingPeriodSourcedId,resultValueMin,resultValueMax",
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "resources.csv": "sourcedId,status,dateLastModified,vendorResourceId,title,roles,"
    "importance,vendorId,applicationId",
    "results.csv": "sourcedId,status,dateLastModified,lineItemSourcedId,studentSourcedId,"
    "scoreStatus,score,scoreDate,comment",
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,"
    "userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,"
    "grades,password",
}

MANIFEST_FILES = [
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItems",
    "orgs",
    "resources",
    "results",
    "users",
]


def ref(sourced_id: str, kind: GUIDType) -> GUIDRef:
    return GUIDRef(sourced_id=sourced_id, type=kind)


def stamped(**fields: Any) -> dict[str, Any]:
    return {"status": StatusType.ACTIVE, "date_last_modified": MODIFIED, **fields}


def sample_district() -> dict[str, list[Record]]:
    """One or more records of every collection, using every column of the binding."""
    org, session, course = GUIDType.ORG, GUIDType.ACADEMIC_SESSION, GUIDType.COURSE
    user, klass, resource = GUIDType.USER, GUIDType.CLASS, GUIDType.RESOURCE
    return {
        "orgs": [
            Org(**stamped(sourced_id="dist-1", name="North District", type=OrgType.DISTRICT)),
            Org(
                **stamped(
                    sourced_id="sch-1",
                    name="North High, Annex",
                    type=OrgType.SCHOOL,
                    identifier="NCES-1",
                    parent=ref("dist-1", org),
                    metadata={"classification": "public", "boarding": "false"},
                )
            ),
        ],
        "academicSessions": [
            AcademicSession(
                **stamped(
                    sourced_id="sy-2025",
                    title="2024-25",
                    type=SessionType.SCHOOL_YEAR,
                    start_date=date(2024, 8, 1),
                    end_date=date(2025, 6, 30),
                    school_year="2025",
                )
            ),
            AcademicSession(
                **stamped(
                    sourced_id="t-1",
                    title="Fall",
                    type=SessionType.TERM,
                    start_date=date(2024, 8, 1),
                    end_date=date(2024, 12, 20),
                    school_year="2025",
                    parent=ref("sy-2025", session),
                )
            ),
        ],
        "courses": [
            Course(
                **stamped(
                    sourced_id="crs-1",
                    title="Physics",
                    org=ref("sch-1", org),
                    school_year=ref("sy-2025", session),
                    course_code="PHY-1",
                    grades=("09", "10"),
                    subjects=("Science", "Physics"),
                    subject_codes=("03101", "03151"),
                    resources=(ref("res-1", resource), ref("res-2", resource)),
                )
            ),
        ],
        "classes": [
            Class(
                **stamped(
                    sourced_id="cls-1",
                    title='Physics "A"',
                    class_type=ClassType.SCHEDULED,
                    course=ref("crs-1", course),
                    school=ref("sch-1", org),
                    terms=(ref("t-1", session), ref("sy-2025", session)),
                    class_code="PHY-1-A",
                    location="Room 2",
                    grades=("09",),
                    subjects=("Physics",),
                    subject_codes=("03151",),
                    periods=("1", "3"),
                    resources=(ref("res-2", resource),),
                )
            ),
            Class(
                **stamped(
                    sourced_id="cls-2",
                    title="Homeroom 9",
                    class_type=ClassType.HOMEROOM,
                    course=ref("crs-1", course),
                    school=ref("sch-1", org),
                    terms=(ref("t-1", session),),
                )
            ),
        ],
        "users": [
            User(
                **stamped(
                    sourced_id="u-1",
                    role=RoleType.STUDENT,
                    enabled_user=True,
                    orgs=(ref("sch-1", org), ref("dist-1", org)),
                    username="ana.lopez",
                    given_name="Ana",
                    family_name="López",
                    middle_name="María José",
                    user_ids=(
                        UserId(type="LDAP", identifier="ana"),
                        UserId(type="SIS", identifier="12,34"),
                    ),
                    identifier="S-1",
                    email="ana@example.edu",
                    sms="+15550001",
                    phone="555-0001",
                    agents=(ref("u-3", user),),
                    grades=("09",),
                    password="s3cret",
                )
            ),
            User(
                **stamped(
                    sourced_id="u-2",
                    role=RoleType.TEACHER,
                    enabled_user=False,
                    orgs=(ref("sch-1", org),),
                    username="bsmith",
                    given_name="Bob",
                    family_name="Smith",
                )
            ),
            User(
                **stamped(
                    sourced_id="u-3",
                    role=RoleType.PARENT,
                    enabled_user=True,
                    orgs=(ref("sch-1", org),),
                    username="parent",
                    given_name="Pat",
                    family_name="Lopez",
                    agents=(ref("u-1", user),),
                )
            ),
        ],
        "enrollments": [
            Enrollment(
                **stamped(
                    sourced_id="enr-1",
                    user=ref("u-1", user),
                    class_=ref("cls-1", klass),
                    school=ref("sch-1", org),
                    role=RoleType.STUDENT,
                )
            ),
            Enrollment(
                **stamped(
                    sourced_id="enr-2",
                    user=ref("u-2", user),
                    class_=ref("cls-1", klass),
                    school=ref("sch-1", org),
                    role=RoleType.TEACHER,
                    primary=True,
                    begin_date=date(2024, 8, 1),
                    end_date=date(2024, 12, 21),
                )
            ),
        ],
        "demographics": [
            Demographics(
                **stamped(
                    sourced_id="u-1",
                    birth_date=date(2010, 3, 4),
                    sex=Gender.FEMALE,
                    american_indian_or_alaska_native=False,
                    asian=False,
                    black_or_african_american=False,
                    native_hawaiian_or_other_pacific_islander=False,
                    white=True,
                    demographic_race_two_or_more_races=False,
                    hispanic_or_latino_ethnicity=True,
                    country_of_birth_code="US",
                    state_of_birth_abbreviation="NM",
                    city_of_birth="Santa Fe",
                    public_school_residence_status="01652",
                )
            ),
        ],
        "categories": [Category(**stamped(sourced_id="cat-1", title="Homework"))],
        "lineItems": [
            LineItem(
                **stamped(
                    sourced_id="li-1",
                    title="Lab 1",
                    description="Pendulum, with report",
                    class_=ref("cls-1", klass),
                    category=ref("cat-1", GUIDType.CATEGORY),
                    grading_period=ref("t-1", session),
                    assign_date=date(2024, 9, 1),
                    due_date=datetime(2024, 9, 8, 23, 59, tzinfo=UTC),
                    result_value_min=0.0,
                    result_value_max=100.0,
                )
            ),
        ],
        "results": [
            Result(
                **stamped(
                    sourced_id="r-1",
                    line_item=ref("li-1", GUIDType.LINE_ITEM),
                    student=ref("u-1", user),
                    score_status=ScoreStatus.FULLY_GRADED,
                    score=101.5,
                    score_date=date(2024, 9, 10),
                    comment="Extra credit\nwell done",
                )
            ),
            Result(
                **stamped(
                    sourced_id="r-2",
                    line_item=ref("li-1", GUIDType.LINE_ITEM),
                    student=ref("u-3", user),
                    score_status=ScoreStatus.EXEMPT,
                )
            ),
        ],
        "resources": [
            Resource(
                **stamped(
                    sourced_id="res-1",
                    vendor_resource_id="V-1",
                    title="Textbook",
                    roles=(RoleType.STUDENT, RoleType.TEACHER),
                    importance=Importance.PRIMARY,
                    vendor_id="vendor",
                    application_id="app",
                )
            ),
            Resource(**stamped(sourced_id="res-2", vendor_resource_id="V-2")),
        ],
    }


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def make_package(folder: Path, files: Mapping[str, str | bytes], **modes: str) -> Path:
    """Write a hand-made package: files as given, a manifest with the given modes."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    declared = {name: "absent" for name in MANIFEST_FILES}
    for name in files:
        if name != "manifest.csv":
            declared[name.removesuffix(".csv")] = "bulk"
    declared.update(modes)
    if "manifest.csv" not in files:
        manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
        manifest += "".join(f"file.{name},{mode}\n" for name, mode in declared.items())
        (folder / "manifest.csv").write_text(manifest, encoding="utf-8")
    return folder


USERS_HEADER = EXPECTED_HEADERS["users.csv"]


def user_row(sourced_id: str, enabled: str = "true", role: str = "student") -> str:
    return f"{sourced_id},,,{enabled},sch-1,{role},{sourced_id}.name,,Given,Family,,,,,,,,"


# --- writing and round trips ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["bulk", "delta"])
@pytest.mark.parametrize("as_zip", [False, True])
def test_round_trip_every_collection(
    tmp_path: Path, mode: Literal["bulk", "delta"], as_zip: bool
) -> None:
    district = sample_district()
    target = tmp_path / ("package.zip" if as_zip else "package")
    written = write_package(target, {k: iter(v) for k, v in district.items()}, mode=mode)
    assert written == target
    assert zipfile.is_zipfile(target) if as_zip else target.is_dir()

    package = read_package(target)
    loaded = package.load()

    assert package.errors == []
    assert package.warnings == []
    assert set(loaded) == set(COLLECTIONS)
    for collection, records in district.items():
        assert loaded[collection] == records, collection
        assert package.mode_of(collection) == mode
    assert package.mode_of("courseResources") == mode
    assert package.mode_of("classResources.csv") == mode


def test_bulk_leaves_status_empty_when_unset(tmp_path: Path) -> None:
    org = Org(sourced_id="sch-1", name="North High", type=OrgType.SCHOOL)
    write_package(tmp_path, {"orgs": [org]})

    assert read_lines(tmp_path / "orgs.csv") == [
        EXPECTED_HEADERS["orgs.csv"],
        "sch-1,,,North High,school,,",
    ]
    assert read_package(tmp_path).load()["orgs"] == [org]


def test_headers_and_manifest_are_exact(tmp_path: Path) -> None:
    write_package(tmp_path, sample_district(), source_system_name="SIS", source_system_code="42")

    for name, header in EXPECTED_HEADERS.items():
        first = read_lines(tmp_path / name)[0]
        if name == "orgs.csv":  # metadata columns come after the 1.1 columns
            assert first == header + ",metadata.classification,metadata.boarding"
        else:
            assert first == header, name
    expected_manifest = [
        "propertyName,value",
        "manifest.version,1.0",
        "oneroster.version,1.1",
        *(f"file.{name},bulk" for name in MANIFEST_FILES),
        "source.systemName,SIS",
        "source.systemCode,42",
    ]
    assert read_lines(tmp_path / "manifest.csv") == expected_manifest
    assert (tmp_path / "manifest.csv").read_bytes().endswith(b"\r\n")


def test_cells_use_binding_formats(tmp_path: Path) -> None:
    write_package(tmp_path, sample_district(), mode="delta")

    users = list(csv.reader(io.StringIO((tmp_path / "users.csv").read_text("utf-8"))))
    assert users[1] == [
        "u-1",
        "active",
        "2024-05-01T18:25:43.511Z",
        "true",
        "sch-1,dist-1",
        "student",
        "ana.lopez",
        "{LDAP:ana},{SIS:12,34}",
        "Ana",
        "López",
        "María José",
        "S-1",
        "ana@example.edu",
        "+15550001",
        "555-0001",
        "u-3",
        "09",
        "s3cret",
    ]
    assert read_lines(tmp_path / "enrollments.csv")[2] == (
        "enr-2,active,2024-05-01T18:25:43.511Z,cls-1,sch-1,u-2,teacher,true,2024-08-01,2024-12-21"
    )
    line_item = read_lines(tmp_path / "lineItems.csv")[1]
    assert ",2024-09-01,2024-09-08T23:59:00.000Z,cls-1,cat-1,t-1,0.0,100.0" in line_item
    assert read_lines(tmp_path / "courseResources.csv")[1:] == [
        "crs-1-res-1,active,2024-05-01T18:25:43.511Z,,crs-1,res-1",
        "crs-1-res-2,active,2024-05-01T18:25:43.511Z,,crs-1,res-2",
    ]
    assert read_lines(tmp_path / "classResources.csv")[1:] == [
        "cls-1-res-2,active,2024-05-01T18:25:43.511Z,,cls-1,res-2"
    ]


def test_manifest_marks_empty_and_missing_collections_absent(tmp_path: Path) -> None:
    write_package(tmp_path / "p.zip", {"orgs": sample_district()["orgs"], "users": []})

    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        assert sorted(archive.namelist()) == ["manifest.csv", "orgs.csv"]
        manifest = archive.read("manifest.csv").decode()
    assert "file.orgs,bulk" in manifest
    assert "file.users,absent" in manifest
    assert "file.courseResources,absent" in manifest
    package = read_package(tmp_path / "p.zip")
    assert package.mode_of("users") == "absent"
    assert list(package.iter_records("users")) == []


def test_zip_flag_overrides_the_suffix(tmp_path: Path) -> None:
    write_package(tmp_path / "archive", {"orgs": sample_district()["orgs"]}, zip=True)
    write_package(tmp_path / "folder.zip", {"orgs": sample_district()["orgs"]}, zip=False)

    assert zipfile.is_zipfile(tmp_path / "archive")
    assert (tmp_path / "folder.zip" / "orgs.csv").is_file()


def test_a_folder_that_holds_files_is_refused_before_any_record_is_read(tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("mine")
    (tmp_path / "thesis.txt").write_text("mine too")

    def orgs() -> Iterator[Org]:
        raise AssertionError("a record was read before the target was checked")
        yield  # pragma: no cover

    with pytest.raises(CsvTargetError, match=r"not empty .*thesis\.txt, users\.csv.*overwrite"):
        write_package(tmp_path, {"orgs": orgs()})

    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.txt", "users.csv"]
    assert (tmp_path / "users.csv").read_text() == "mine"


def test_overwrite_never_deletes_files_of_collections_not_written(tmp_path: Path) -> None:
    district = sample_district()
    write_package(tmp_path, district)
    (tmp_path / "notes.txt").write_text("kept")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    # Re-writing only orgs over a full package would leave users.csv (and the rest)
    # contradicting the new manifest, or lose them: refused, nothing touched.
    with pytest.raises(CsvTargetError, match=r"users\.csv.*would not replace"):
        write_package(tmp_path, {"orgs": district["orgs"]}, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before

    # Writing every collection again replaces the package and keeps notes.txt.
    write_package(tmp_path, district, source_system_name="again", overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "kept"
    package = read_package(tmp_path)
    assert package.warnings == [] and package.errors == []
    assert "again" in (tmp_path / "manifest.csv").read_text()


def test_overwrite_removes_the_old_file_of_a_collection_written_empty(tmp_path: Path) -> None:
    district = sample_district()
    write_package(tmp_path, {"orgs": district["orgs"], "users": district["users"]})
    (tmp_path / "users.csv").rename(tmp_path / "Users.csv")

    write_package(tmp_path, {"orgs": district["orgs"], "users": []}, overwrite=True)

    # users was written (as absent): its old file must not contradict the manifest.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.csv", "orgs.csv"]
    assert read_package(tmp_path).mode_of("users") == "absent"


def test_every_file_the_manifest_lists_is_in_the_folder(tmp_path: Path) -> None:
    district = sample_district()
    write_package(tmp_path / "p", district)
    write_package(tmp_path / "p", district, overwrite=True)
    manifest = dict(csv.reader(io.StringIO((tmp_path / "p" / "manifest.csv").read_text())))
    listed = {
        key[5:] for key, value in manifest.items() if key.startswith("file.") and value != "absent"
    }
    present = {p.stem for p in (tmp_path / "p").iterdir() if p.name != "manifest.csv"}
    assert listed == present


def test_an_existing_zip_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "p.zip"
    target.write_bytes(b"not yours to replace")
    with pytest.raises(CsvTargetError, match=r"already exists.*overwrite"):
        write_package(target, {"orgs": sample_district()["orgs"]})
    assert target.read_bytes() == b"not yours to replace"

    write_package(target, {"orgs": sample_district()["orgs"]}, overwrite=True)
    assert read_package(target).mode_of("orgs") == "bulk"


def test_targets_of_the_wrong_kind_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder.zip").mkdir()
    with pytest.raises(CsvTargetError, match="is a file, not a folder"):
        write_package(tmp_path / "file", {"orgs": []}, overwrite=True)
    with pytest.raises(CsvTargetError, match="is a folder, not a zip file"):
        write_package(tmp_path / "folder.zip", {"orgs": []}, overwrite=True)


def test_delta_requires_status_and_date(tmp_path: Path) -> None:
    orgs = [
        Org(**stamped(sourced_id="ok", name="A", type=OrgType.SCHOOL)),
        Org(sourced_id="sch-9", name="B", type=OrgType.SCHOOL),
    ]
    with pytest.raises(ValueError, match=r"orgs\.csv record 'sch-9'.*status and dateLastModified"):
        write_package(tmp_path / "p", {"orgs": orgs}, mode="delta")
    assert not (tmp_path / "p" / "manifest.csv").exists()


def test_writer_refuses_values_the_binding_cannot_carry(tmp_path: Path) -> None:
    course = Course(
        sourced_id="crs-1",
        title="Art",
        org=ref("sch-1", GUIDType.ORG),
        subjects=("Art, Design",),
    )
    with pytest.raises(ValueError, match=r"courses\.csv record 'crs-1', column subjects"):
        write_package(tmp_path, {"courses": [course]})
    with pytest.raises(TypeError, match="expected Org records"):
        write_package(tmp_path, {"orgs": [course]})
    with pytest.raises(ValueError, match="unknown OneRoster collections"):
        write_package(tmp_path, {"students": []})


def test_metadata_and_vendor_columns_round_trip(tmp_path: Path) -> None:
    users = [
        User(**{**_minimal_user("u-1"), "metadata": {"house": "Red"}}),
        User(**_minimal_user("u-2")),
        User(**{**_minimal_user("u-3"), "metadata": {"locker": "12"}, "extra": {"ext_x": "v"}}),
    ]
    write_package(tmp_path, {"users": users})

    lines = read_lines(tmp_path / "users.csv")
    assert lines[0] == USERS_HEADER + ",metadata.house,metadata.locker,ext_x"
    assert lines[1].endswith(",Red,,")  # rows written before a column appeared are padded
    assert read_package(tmp_path).load()["users"] == users


def test_non_string_metadata_is_written_as_text(tmp_path: Path) -> None:
    user = User(**{**_minimal_user("u-1"), "metadata": {"n": 3, "flag": True, "tags": ["a"]}})
    write_package(tmp_path, {"users": [user]})

    (loaded,) = read_package(tmp_path).load()["users"]
    assert loaded.metadata == {"n": "3", "flag": "true", "tags": '["a"]'}


def _minimal_user(sourced_id: str) -> dict[str, Any]:
    return {
        "sourced_id": sourced_id,
        "role": RoleType.STUDENT,
        "enabled_user": True,
        "orgs": (ref("sch-1", GUIDType.ORG),),
        "username": sourced_id,
        "given_name": "Given",
        "family_name": "Family",
    }


def test_writing_streams_without_materialising(tmp_path: Path) -> None:
    staged_when_pulled: list[bool] = []

    def users() -> Iterator[User]:
        for index in range(3):
            # Once a record has been handed over, its file is open before the next is asked for.
            staged_when_pulled.append(bool(list(tmp_path.glob(".oneroster-csv-*/users.csv"))))
            yield User(**_minimal_user(f"u-{index}"))

    write_package(tmp_path, {"users": users()})

    assert staged_when_pulled == [False, True, True]
    assert len(read_lines(tmp_path / "users.csv")) == 4


# --- messy input ------------------------------------------------------------------------


def test_messy_but_valid_files_are_read(tmp_path: Path) -> None:
    classes = (
        "\ufeff SourcedId , status,dateLastModified,title,grades,courseSourcedId,classCode,"
        "CLASSTYPE,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods ,"
        "metadata.Wing,ext_vendor_x\r\n"
        "\r\n"
        'cls-1,,,Physics,"09, 10",crs-1,,Scheduled,,sch-1,"t-1, t-2",,,,East,v1\r\n'
        ",,,,,,,,,,,,,,,\r\n"
        "cls-2,,2024-05-01,Art,,crs-1,,homeroom,,sch-1,t-1,,,,,\r\n"
    )
    users = USERS_HEADER + "\r\n" + user_row("u-1", enabled="TRUE") + "\r\n\r\n"
    package = read_package(make_package(tmp_path, {"classes.csv": classes, "users.csv": users}))

    loaded = package.load()

    assert package.errors == []
    assert package.warnings == []
    first, second = loaded["classes"]
    assert isinstance(first, Class)
    assert isinstance(second, Class)
    assert first.class_type is ClassType.SCHEDULED
    assert first.grades == ("09", "10")
    assert [t.sourced_id for t in first.terms] == ["t-1", "t-2"]
    assert first.metadata == {"Wing": "East"}
    assert first.extra == {"ext_vendor_x": "v1"}
    assert second.extra is None
    assert second.date_last_modified == datetime(2024, 5, 1, tzinfo=UTC)
    (user,) = loaded["users"]
    assert isinstance(user, User)
    assert user.enabled_user is True


def test_bad_value_is_a_row_error_and_neighbours_are_read(tmp_path: Path) -> None:
    rows = [user_row(f"u-{i}") for i in range(1, 9)]
    rows[5] = user_row("u-6", enabled="maybe")  # physical line 7
    users = USERS_HEADER + "\n" + "\n".join(rows) + "\n"
    package = read_package(make_package(tmp_path, {"users.csv": users}))

    loaded = [user.sourced_id for user in package.iter_records("users")]

    assert loaded == ["u-1", "u-2", "u-3", "u-4", "u-5", "u-7", "u-8"]
    (error,) = package.errors
    assert str(error) == "users.csv line 7, column enabledUser: expected a boolean, got 'maybe'"
    assert (error.file, error.line, error.column, error.sourced_id) == (
        "users.csv",
        7,
        "enabledUser",
        "u-6",
    )
    assert error.raw["enabledUser"] == "maybe"
    assert "raw=" not in repr(error)  # raw rows may hold personal data
    assert len(loaded) + len(package.errors) == len(rows)


def test_wire_fields_are_reported_by_csv_column(tmp_path: Path) -> None:
    enrollments = (
        EXPECTED_HEADERS["enrollments.csv"]
        + "\n"
        + "e-1,,,cls-1,sch-1,u-1,student,,2024-13-01,\n"
        + "e-2,,,,sch-1,u-1,student,,,\n"
        + "e-3,,,cls-1,sch-1,u-1,student,,,\n"
    )
    users = USERS_HEADER + "\n" + "u-1,,,true,,student,u,,G,F,,,,,,,,\n"
    package = read_package(
        make_package(tmp_path, {"enrollments.csv": enrollments, "users.csv": users})
    )

    loaded = package.load()

    assert [e.sourced_id for e in loaded["enrollments"]] == ["e-3"]
    assert [str(e) for e in package.errors] == [
        "users.csv line 2, column orgSourcedIds: a value is required",
        "enrollments.csv line 2, column beginDate: expected a date such as 2024-05-01,"
        " got '2024-13-01'",
        "enrollments.csv line 3, column classSourcedId: a value is required",
    ]


def test_wrong_cell_counts_are_reported(tmp_path: Path) -> None:
    users = "\n".join(
        [
            USERS_HEADER,
            user_row("u-1"),
            user_row("u-2") + ",surplus",
            user_row("u-3").rsplit(",", 2)[0],
            user_row("u-4"),
        ]
    )
    package = read_package(make_package(tmp_path, {"users.csv": users}))

    loaded = [u.sourced_id for u in package.iter_records("users")]

    assert loaded == ["u-1", "u-4"]
    assert [(e.line, e.column) for e in package.errors] == [(3, None), (4, None)]
    assert package.errors[0].message == (
        "users.csv line 3: expected 18 cells, found 19; the row was not read"
    )
    assert package.errors[0].raw["<cell 19>"] == "surplus"
    assert "found 16" in package.errors[1].message


def test_duplicate_sourced_id_keeps_the_first(tmp_path: Path) -> None:
    users = "\n".join(
        [USERS_HEADER, user_row("u-1"), user_row("u-2"), user_row("u-1", role="teacher")]
    )
    package = read_package(make_package(tmp_path, {"users.csv": users}))

    loaded = list(package.iter_records("users"))

    assert [(u.sourced_id, u.role) for u in loaded] == [
        ("u-1", RoleType.STUDENT),
        ("u-2", RoleType.STUDENT),
    ]
    (error,) = package.errors
    assert (error.line, error.column, error.sourced_id) == (4, "sourcedId", "u-1")
    assert "duplicate sourcedId 'u-1'" in error.message


def test_missing_required_column_is_a_file_error(tmp_path: Path) -> None:
    users = USERS_HEADER.replace(",username", "") + "\n" + "u-1,,,true,sch-1,student,,G,F,,,,,,,,\n"
    orgs = EXPECTED_HEADERS["orgs.csv"] + "\nsch-1,,,North,school,,\n"
    package = read_package(make_package(tmp_path, {"users.csv": users, "orgs.csv": orgs}))

    loaded = package.load()

    assert loaded["users"] == []
    assert [o.sourced_id for o in loaded["orgs"]] == ["sch-1"]
    (error,) = package.errors
    assert (error.file, error.line, error.column) == ("users.csv", 1, "username")
    assert "required column is missing" in error.message


def test_cp1252_file_is_decoded_with_a_warning(tmp_path: Path) -> None:
    orgs = (EXPECTED_HEADERS["orgs.csv"] + "\r\nsch-1,,,École Élémentaire,school,,\r\n").encode(
        "cp1252"
    )
    package = read_package(make_package(tmp_path, {"orgs.csv": orgs}))

    (org,) = package.iter_records("orgs")

    assert isinstance(org, Org)
    assert org.name == "École Élémentaire"
    (warning,) = package.warnings
    assert (warning.file, warning.line) == ("orgs.csv", 2)
    assert "Windows-1252" in warning.message


def test_unknown_enum_value_is_kept_with_a_warning(tmp_path: Path) -> None:
    users = "\n".join([USERS_HEADER, user_row("u-1", role="districtAdministrator")])
    package = read_package(make_package(tmp_path, {"users.csv": users}))

    (user,) = package.iter_records("users")

    assert isinstance(user, User)
    assert user.role == "districtAdministrator"
    (warning,) = package.warnings
    assert (warning.file, warning.line, warning.column) == ("users.csv", 2, "role")
    assert "'districtAdministrator' is not a OneRoster 1.1 value" in warning.message


def test_one_point_zero_header_spellings(tmp_path: Path) -> None:
    users = (
        "sourcedId,enabledUser,orgSourcedIds,role,username,userId,givenName,familyName,agents\n"
        'u-1,TRUE,sch-1,student,ana,"{LDAP:ana},SIS:9",Ana,Lo,u-2\n'
    )
    demographics = "userSourcedId,status,dateLastModified,birthdate,sex\nu-1,,,2010-01-02,female\n"
    package = read_package(
        make_package(tmp_path, {"users.csv": users, "demographics.csv": demographics})
    )

    loaded = package.load()

    (user,) = loaded["users"]
    assert isinstance(user, User)
    assert user.user_ids == (
        UserId(type="LDAP", identifier="ana"),
        UserId(type="SIS", identifier="9"),
    )
    assert user.agents == (ref("u-2", GUIDType.USER),)
    (person,) = loaded["demographics"]
    assert isinstance(person, Demographics)
    assert person.sourced_id == "u-1"
    assert person.birth_date == date(2010, 1, 2)
    assert package.errors == []
    assert [w.column for w in package.warnings] == ["userIds"]


def test_multi_line_cells_keep_physical_line_numbers(tmp_path: Path) -> None:
    orgs = EXPECTED_HEADERS["orgs.csv"] + '\nsch-1,,,"North\nHigh",school,,\nsch-2,,,South,nope,,\n'
    package = read_package(make_package(tmp_path, {"orgs.csv": orgs}))

    (org,) = [o for o in package.iter_records("orgs") if o.sourced_id == "sch-1"]

    assert isinstance(org, Org)
    assert org.name == "North\nHigh"
    assert [(w.line, w.column) for w in package.warnings] == [(4, "type")]


def test_delta_rows_need_status_and_date(tmp_path: Path) -> None:
    orgs = EXPECTED_HEADERS["orgs.csv"] + (
        "\nsch-1,tobedeleted,2024-05-01T00:00:00Z,North,school,,\nsch-2,,,South,school,,\n"
    )
    package = read_package(make_package(tmp_path, {"orgs.csv": orgs}, orgs="delta"))

    (org,) = package.iter_records("orgs")

    assert org.status is StatusType.TOBEDELETED
    (error,) = package.errors
    assert str(error) == "orgs.csv line 3, column status: a value is required in a delta file"


def test_no_row_is_silently_dropped(tmp_path: Path) -> None:
    rows = [
        user_row("u-1"),
        user_row("u-2", enabled="yes please"),
        user_row("u-3") + ",x",
        user_row("u-1"),
        user_row("u-5", role="Teacher"),
        ",,,,,,,,,,,,,,,,,",  # blank row: not data
        user_row(""),
        user_row("u-8"),
    ]
    users = USERS_HEADER + "\n" + "\n".join(rows) + "\n"
    package = read_package(make_package(tmp_path, {"users.csv": users}))

    good = list(package.iter_records("users"))

    assert [u.sourced_id for u in good] == ["u-1", "u-5", "u-8"]
    assert [e.line for e in package.errors] == [3, 4, 5, 8]
    assert len(good) + len(package.errors) == len(rows) - 1


def test_unparsable_csv_stops_the_file_with_an_error(tmp_path: Path) -> None:
    huge = "x" * 200_000  # beyond the csv module's field size limit
    orgs = EXPECTED_HEADERS["orgs.csv"] + f"\nsch-1,,,North,school,,\nsch-2,,,{huge},school,,\n"
    package = read_package(make_package(tmp_path, {"orgs.csv": orgs}))

    assert [org.sourced_id for org in package.iter_records("orgs")] == ["sch-1"]
    (error,) = package.errors
    assert (error.file, error.line) == ("orgs.csv", 3)
    assert "the rest of the file was not read" in error.message


def test_reading_again_does_not_duplicate_errors(tmp_path: Path) -> None:
    users = "\n".join([USERS_HEADER, user_row("u-1", enabled="maybe")])
    package = read_package(make_package(tmp_path, {"users.csv": users}))

    list(package.iter_records("users"))
    list(package.iter_records("users"))

    assert len(package.errors) == 1


# --- manifest and package structure ------------------------------------------------------


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text(USERS_HEADER + "\n")

    with pytest.raises(CsvPackageError, match=r"manifest\.csv is missing"):
        read_package(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_package(tmp_path / "nowhere")
    with pytest.raises(CsvPackageError, match="not a folder or a zip file"):
        read_package(tmp_path / "users.csv")


def test_manifest_and_files_disagree(tmp_path: Path) -> None:
    orgs = EXPECTED_HEADERS["orgs.csv"] + "\nsch-1,,,North,school,,\n"
    package = read_package(make_package(tmp_path, {"orgs.csv": orgs}, orgs="absent", users="bulk"))

    assert package.load()["orgs"] == []
    assert package.mode_of("orgs") == "absent"
    (error,) = package.errors
    assert error.file == "manifest.csv"
    assert "file.users is 'bulk' but users.csv is missing" in error.message
    assert any("file.orgs is 'absent' but orgs.csv exists" in w.message for w in package.warnings)


def test_zip_with_a_top_level_folder(tmp_path: Path) -> None:
    write_package(tmp_path / "src", {"orgs": sample_district()["orgs"]})
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as archive:
        for path in (tmp_path / "src").iterdir():
            archive.write(path, f"export/{path.name}")

    package = read_package(tmp_path / "p.zip")

    assert package.load()["orgs"] == sample_district()["orgs"]


def test_link_rows_without_an_owner_are_reported(tmp_path: Path) -> None:
    courses = EXPECTED_HEADERS["courses.csv"] + "\ncrs-1,,,,Art,,,sch-1,,\n"
    links = EXPECTED_HEADERS["courseResources.csv"] + "\nl-1,,,,crs-1,res-1\nl-2,,,,crs-9,res-1\n"
    package = read_package(
        make_package(tmp_path, {"courses.csv": courses, "courseResources.csv": links})
    )

    (course,) = package.iter_records("courses")

    assert isinstance(course, Course)
    assert course.resources == (ref("res-1", GUIDType.RESOURCE),)
    (error,) = package.errors
    assert (error.file, error.line, error.column) == ("courseResources.csv", 3, "courseSourcedId")


def test_unknown_collection_is_refused(tmp_path: Path) -> None:
    package = read_package(make_package(tmp_path, {}))

    with pytest.raises(ValueError, match="unknown OneRoster collection"):
        package.iter_records("students")
    with pytest.raises(ValueError, match="unknown OneRoster CSV file"):
        package.mode_of("students")


# --- property test ----------------------------------------------------------------------

_ID = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1
).filter(lambda text: not text.isspace())
_TOKEN = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00{}:,"), max_size=8
).map(str.strip)
_DATETIME = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda value: value.replace(microsecond=value.microsecond // 1000 * 1000))
_GRADES = st.lists(st.sampled_from(["KG", "01", "09", "12", "Other"]), min_size=1, max_size=3)


def _refs(kind: GUIDType, min_size: int = 1) -> st.SearchStrategy[tuple[GUIDRef, ...]]:
    return st.lists(_ID.map(lambda sid: ref(sid, kind)), min_size=min_size, max_size=3).map(tuple)


_USERS = st.builds(
    User,
    sourced_id=_ID,
    status=st.none() | st.sampled_from(StatusType),
    date_last_modified=st.none() | _DATETIME,
    metadata=st.none() | st.dictionaries(_ID, _TEXT, min_size=1, max_size=2),
    role=st.sampled_from(RoleType),
    enabled_user=st.booleans(),
    orgs=_refs(GUIDType.ORG),
    username=_TEXT,
    given_name=_TEXT,
    family_name=_TEXT,
    middle_name=st.none() | _TEXT,
    user_ids=st.none()
    | st.lists(st.builds(UserId, type=_TOKEN, identifier=_TOKEN), min_size=1).map(tuple),
    email=st.none() | _TEXT,
    agents=st.none() | _refs(GUIDType.USER),
    grades=st.none() | _GRADES.map(tuple),
    password=st.none() | _TEXT,
)
_ENROLLMENTS = st.builds(
    Enrollment,
    sourced_id=_ID,
    status=st.none() | st.sampled_from(StatusType),
    date_last_modified=st.none() | _DATETIME,
    user=_ID.map(lambda sid: ref(sid, GUIDType.USER)),
    class_=_ID.map(lambda sid: ref(sid, GUIDType.CLASS)),
    school=_ID.map(lambda sid: ref(sid, GUIDType.ORG)),
    role=st.sampled_from([RoleType.STUDENT, RoleType.TEACHER, RoleType.ADMINISTRATOR]),
    primary=st.none() | st.booleans(),
    begin_date=st.none() | st.dates(),
    end_date=st.none() | st.dates(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    users=st.lists(_USERS, max_size=5, unique_by=lambda user: user.sourced_id),
    enrollments=st.lists(_ENROLLMENTS, max_size=5, unique_by=lambda e: e.sourced_id),
    as_zip=st.booleans(),
)
def test_random_users_and_enrollments_round_trip(
    users: list[User], enrollments: list[Enrollment], as_zip: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / ("p.zip" if as_zip else "p")
        write_package(target, {"users": users, "enrollments": enrollments})
        package = read_package(target)

        loaded = package.load()

    assert package.errors == []
    assert loaded["users"] == users
    assert loaded["enrollments"] == enrollments


def test_every_public_name_is_exported_by_the_package() -> None:
    import oneroster_client.csv_package as csv_package

    expected = {
        "COLLECTIONS",
        "FILE_COLUMNS",
        "CsvPackage",
        "CsvPackageError",
        "CsvRowError",
        "CsvTargetError",
        "CsvWarning",
        "FileMode",
        "read_package",
        "write_package",
    }

    assert expected <= set(csv_package.__all__)
    for name in csv_package.__all__:
        assert getattr(csv_package, name) is not None, name
