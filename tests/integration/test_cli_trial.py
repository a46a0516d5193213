"""Defects a new user met on a first try of the ``oneroster`` command, each run through
the command against loopback servers: export into a folder that holds files, ``--fields``
names, library advice reaching the terminal untranslated, raw OS errors from the servers,
a closed standard output, a wrong base path reported once per collection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oneroster_client.cli import EXIT_OK, EXIT_USAGE
from oneroster_client.csv_package import read_package
from oneroster_client.testing import District, OneRosterServer, generate_district

from .test_cli import SECRET, cli, sis_env


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(students=12, seed=5)


@pytest.fixture
def server(district: District) -> Iterator[OneRosterServer]:
    with OneRosterServer(district, client_secret=SECRET) as running:
        yield running


# --- export into a folder that holds files ----------------------------------------------


def test_export_into_a_folder_with_files_is_refused_and_touches_nothing(
    server: OneRosterServer, tmp_path: Path
) -> None:
    folder = tmp_path / "mydocs"
    folder.mkdir()
    (folder / "users.csv").write_text("my users", encoding="utf-8")
    (folder / "thesis.txt").write_text("my thesis", encoding="utf-8")

    ran = cli("export", str(folder), "--collections", "orgs", env=sis_env(server))

    assert ran.code == EXIT_USAGE, ran.text
    assert "not empty" in ran.err and "--overwrite" in ran.err and "overwrite=" not in ran.err
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.txt", "users.csv"]
    assert (folder / "users.csv").read_text(encoding="utf-8") == "my users"
    # Refused before the server was read.
    assert server.requests == []


def test_re_exporting_fewer_collections_over_a_package_keeps_it_whole(
    server: OneRosterServer, district: District, tmp_path: Path
) -> None:
    folder = tmp_path / "roster"
    assert cli("export", str(folder), env=sis_env(server)).code == EXIT_OK
    (folder / "thesis.txt").write_text("kept", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    ran = cli("export", str(folder), "--collections", "orgs", "--overwrite", env=sis_env(server))

    assert ran.code == EXIT_USAGE, ran.text
    assert "users.csv" in ran.err and "would not replace" in ran.err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before

    again = cli("export", str(folder), "--overwrite", env=sis_env(server))
    assert again.code == EXIT_OK, again.text
    assert (folder / "thesis.txt").read_text(encoding="utf-8") == "kept"
    loaded = read_package(folder).load()
    assert len(loaded["users"]) == len(district["users"])


def test_export_over_an_existing_zip_needs_overwrite(server: OneRosterServer, tmp_path: Path) -> None:
    target = tmp_path / "p.zip"
    target.write_bytes(b"someone else's zip")
    ran = cli("export", str(target), "--collections", "orgs", env=sis_env(server))
    assert ran.code == EXIT_USAGE and "already exists" in ran.err and "--overwrite" in ran.err
    assert target.read_bytes() == b"someone else's zip"
    ran = cli("export", str(target), "--collections", "orgs", "--overwrite", env=sis_env(server))
    assert ran.code == EXIT_OK, ran.text
    assert read_package(target).mode_of("orgs") == "bulk"
