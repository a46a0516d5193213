"""District -> OneRoster CSV package -> models round trip, and serving a CSV package."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneroster_client import OneRosterClient
from oneroster_client.csv_package import read_package, write_package
from oneroster_client.testing import COLLECTION_MODELS, District, OneRosterServer, generate_district


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(students=150, seed=11)


@pytest.mark.parametrize("suffix", ["package", "package.zip"])
def test_district_round_trips_through_a_csv_package(
    district: District, tmp_path: Path, suffix: str
) -> None:
    target = write_package(tmp_path / suffix, district.records(), mode="delta")
    package = read_package(target)
    loaded = package.load()
    assert package.errors == []
    for name in COLLECTION_MODELS:
        assert loaded[name] == list(district.models(name)), name


def test_server_serves_a_district_read_from_a_csv_package(
    district: District, tmp_path: Path
) -> None:
    target = write_package(tmp_path / "package.zip", district.records())
    from_csv = District.from_csv_package(target)
    assert from_csv.csv_errors == []
    assert from_csv.counts() == district.counts()
    with OneRosterServer(from_csv) as server:
        client = OneRosterClient(server.base_url, auth=server.oauth2())
        students = client.students.list(page_size=40).all()
        expected = [row["sourcedId"] for row in district["users"] if row["role"] == "student"]
        assert [student.sourced_id for student in students] == expected
        some_class = district["classes"][0]["sourcedId"]
        assert client.classes.students(some_class).all()


def test_bad_rows_in_a_served_package_are_reported_not_hidden(tmp_path: Path) -> None:
    small = generate_district(students=20, seed=3)
    target = write_package(tmp_path / "pkg", small.records())
    users_csv = target / "users.csv"
    lines = users_csv.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("enabledUser")] = "maybe"
    lines[1] = ",".join(cells)
    users_csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_csv = District.from_csv_package(target)
    assert len(from_csv["users"]) == len(small["users"]) - 1
    assert len(from_csv.csv_errors) == 1
    error = from_csv.csv_errors[0]
    assert (error.file, error.line, error.column) == ("users.csv", 2, "enabledUser")


def test_size_limits_reach_the_reader_and_the_district_keeps_what_was_read(
    tmp_path: Path,
) -> None:
    small = generate_district(students=20, seed=3)
    target = write_package(tmp_path / "pkg", small.records())
    users_size = (target / "users.csv").stat().st_size

    from_csv = District.from_csv_package(target, max_file_size=users_size // 2)

    assert 0 < len(from_csv["users"]) < len(small["users"])
    users_errors = [e for e in from_csv.csv_errors if e.file == "users.csv"]
    (error,) = users_errors
    assert "max_file_size" in error.message
