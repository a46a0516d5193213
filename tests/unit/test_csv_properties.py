"""Hostile and arbitrary input to the CSV package reader.

Whatever the bytes of a file, the manifest or the zip, reading raises only
``CsvPackageError`` (a package that cannot be read at all) and otherwise records
``CsvRowError`` entries naming file and line: never ``_csv.Error``, ``BadZipFile``,
``UnicodeDecodeError``, ``RecursionError`` or ``MemoryError``. Zip members are never
extracted, unsafe member names and symbolic links are refused, and size limits bound
what one file or line may cost.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneroster_client.csv_package import (
    FILE_COLUMNS,
    CsvPackage,
    CsvPackageError,
    CsvRowError,
    CsvWriteError,
    read_package,
    write_package,
)
from oneroster_client.errors import OneRosterError
from oneroster_client.models import Org

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FILES = sorted(FILE_COLUMNS)
ALL_BULK = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n" + "".join(
    f"file.{name.removesuffix('.csv')},bulk\n" for name in FILES
)


def manifest(*present: str) -> bytes:
    """A manifest declaring the files named as bulk and every other file absent."""
    text = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
    for name in FILES:
        text += f"file.{name.removesuffix('.csv')},{'bulk' if name in present else 'absent'}\n"
    return text.encode()


ORGS_MANIFEST = manifest("orgs.csv")
ORGS_HEADER = ",".join(FILE_COLUMNS["orgs.csv"])
USERS_HEADER = ",".join(FILE_COLUMNS["users.csv"])
KNOWN_FILES = {*FILES, "manifest.csv"}


def folder_package(folder: Path, files: Mapping[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def zip_package(path: Path, files: Mapping[str, bytes] | list[tuple[str, bytes]]) -> Path:
    items = list(files.items()) if isinstance(files, Mapping) else files
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return path


def read_all(source: Path, **limits: int) -> CsvPackage | None:
    """Read everything; ``None`` when the package as a whole is refused."""
    try:
        package = read_package(source, **limits)
    except CsvPackageError as error:
        assert str(error)
        return None
    package.load()
    for error in package.errors:
        assert isinstance(error, CsvRowError)
        assert error.file
        assert error.line is None or error.line >= 1
        assert error.message.startswith(error.file)
    return package


def listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


# --- arbitrary bytes ----------------------------------------------------------------------

lines = st.one_of(
    st.binary(max_size=80),
    st.text(max_size=40).map(lambda text: text.encode("utf-8")),
    st.sampled_from([b"\x00", b"\xef\xbb\xbf", b'"', b'a,"b\n', b"\xff\xfe", b"\r", b",,,"]),
)
contents = st.lists(lines, max_size=8).map(lambda parts: b"\n".join(parts))


@FUZZ
@given(
    file=st.sampled_from(FILES),
    with_header=st.booleans(),
    body=contents,
    as_zip=st.booleans(),
)
def test_arbitrary_bytes_in_any_file_give_only_library_errors(
    file: str, with_header: bool, body: bytes, as_zip: bool
) -> None:
    header = ",".join(FILE_COLUMNS[file]).encode() + b"\n" if with_header else b""
    files = {"manifest.csv": ALL_BULK.encode(), file: header + body}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = zip_package(root / "p.zip", files) if as_zip else folder_package(root / "p", files)
        before = listing(root)

        package = read_all(source)

        assert package is not None  # a manifest was there: the package itself is readable
        assert listing(root) == before  # reading writes nothing


@FUZZ
@given(manifest=contents, as_zip=st.booleans())
def test_arbitrary_manifest_gives_only_library_errors(manifest: bytes, as_zip: bool) -> None:
    files = {"manifest.csv": manifest, "orgs.csv": f"{ORGS_HEADER}\nsch-1,,,N,school,,\n".encode()}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = zip_package(root / "p.zip", files) if as_zip else folder_package(root / "p", files)

        package = read_all(source)

    assert package is not None


def _valid_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", ALL_BULK)
        archive.writestr("orgs.csv", f"{ORGS_HEADER}\n" + "sch-1,,,North,school,,\n" * 20)
        archive.writestr("users.csv", f"{USERS_HEADER}\n")
    return buffer.getvalue()


VALID_ZIP = _valid_zip()


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(VALID_ZIP) - 1), st.integers(0, 255)), min_size=1, max_size=6
    ),
    cut=st.none() | st.integers(0, len(VALID_ZIP)),
)
def test_damaged_zip_gives_only_library_errors(
    edits: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(VALID_ZIP)
    for position, value in edits:
        data[position] = value
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "p.zip"
        source.write_bytes(bytes(data[:cut]) if cut is not None else bytes(data))

        read_all(source)


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_file_as_package_gives_only_library_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "p.zip"
        source.write_bytes(b"PK\x03\x04" + data)

        assert read_all(source) is None  # no manifest can be read from it


# --- unsafe zip members -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../manifest.csv",
        "/manifest.csv",
        "..\\manifest.csv",
        "a/../../manifest.csv",
        "C:manifest.csv",
    ],
)
def test_traversal_names_are_refused(tmp_path: Path, name: str) -> None:
    source = zip_package(tmp_path / "p.zip", {name: ALL_BULK.encode()})
    before = listing(tmp_path)

    with pytest.raises(CsvPackageError, match=r"manifest\.csv is missing") as caught:
        read_package(source)

    assert "refused" in str(caught.value)
    assert listing(tmp_path) == before


def test_traversal_members_beside_a_package_are_warned_about_and_not_read(tmp_path: Path) -> None:
    orgs = f"{ORGS_HEADER}\nsch-1,,,North,school,,\n".encode()
    evil = f"{ORGS_HEADER}\nevil-1,,,Evil,school,,\n".encode()
    source = zip_package(
        tmp_path / "p.zip",
        [("manifest.csv", ALL_BULK.encode()), ("orgs.csv", orgs), ("../orgs.csv", evil)],
    )

    package = read_package(source)

    assert [org.sourced_id for org in package.iter_records("orgs")] == ["sch-1"]
    (refused,) = [w for w in package.warnings if w.file == "../orgs.csv"]
    assert "climbs out of the package" in refused.message
    assert not (tmp_path.parent / "orgs.csv").exists()


def test_symlink_member_is_not_read(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("orgs.csv")
    link.create_system = 3  # Unix, so that the mode bits below count
    link.external_attr = 0o120777 << 16  # a symbolic link to /etc/passwd
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as archive:
        archive.writestr("manifest.csv", ALL_BULK)
        archive.writestr(link, "/etc/passwd")

    package = read_package(tmp_path / "p.zip")

    assert package.load()["orgs"] == []
    assert any("symbolic link" in w.message for w in package.warnings)
    assert any("orgs.csv is missing" in e.message for e in package.errors)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlink_in_a_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text(f"{ORGS_HEADER}\nsecret-1,,,Secret,school,,\n")
    package_folder = folder_package(tmp_path / "p", {"manifest.csv": ALL_BULK.encode()})
    (package_folder / "orgs.csv").symlink_to(outside)

    package = read_package(package_folder)

    assert package.load()["orgs"] == []
    assert any("symbolic link" in w.message for w in package.warnings)


def test_a_member_present_twice_is_refused(tmp_path: Path) -> None:
    orgs = f"{ORGS_HEADER}\nsch-1,,,North,school,,\n".encode()
    with pytest.warns(UserWarning, match="Duplicate name"):
        source = zip_package(
            tmp_path / "p.zip",
            [("manifest.csv", ALL_BULK.encode()), ("orgs.csv", orgs), ("orgs.csv", b"x")],
        )

    with pytest.raises(CsvPackageError, match="twice") as caught:
        read_package(source)

    assert caught.value.file == "orgs.csv"


def test_names_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    orgs = f"{ORGS_HEADER}\nsch-1,,,North,school,,\n".encode()
    source = zip_package(
        tmp_path / "p.zip",
        [("manifest.csv", ALL_BULK.encode()), ("orgs.csv", orgs), ("Orgs.csv", orgs)],
    )

    with pytest.raises(CsvPackageError, match=r"orgs\.csv is present twice"):
        read_package(source)


def test_encrypted_member_is_a_file_error(tmp_path: Path) -> None:
    source = zip_package(
        tmp_path / "p.zip",
        {"manifest.csv": ALL_BULK.encode(), "orgs.csv": f"{ORGS_HEADER}\n".encode()},
    )
    data = bytearray(source.read_bytes())
    # Set the "encrypted" flag bit in both the local and the central header of orgs.csv.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + 8] == b"orgs.csv":
                data[start + offset] |= 0x1
            start += 4
    source.write_bytes(bytes(data))

    package = read_package(source)

    assert package.load()["orgs"] == []
    (error,) = [e for e in package.errors if e.file == "orgs.csv"]
    assert "encrypted" in error.message


def test_damaged_member_data_ends_the_file_with_an_error(tmp_path: Path) -> None:
    rows = "".join(f"sch-{n},,,School {n},school,,\n" for n in range(2000))
    source = zip_package(
        tmp_path / "p.zip",
        {"manifest.csv": ALL_BULK.encode(), "orgs.csv": f"{ORGS_HEADER}\n{rows}".encode()},
    )
    data = bytearray(source.read_bytes())
    start = data.find(b"orgs.csv") + len(b"orgs.csv")  # the local header's name, then data
    for position in range(start + 200, start + 260):
        data[position] ^= 0x5A
    source.write_bytes(bytes(data))

    package = read_package(source)
    orgs = package.load()["orgs"]

    assert len(orgs) < 2000
    (error,) = [e for e in package.errors if e.file == "orgs.csv"]
    assert "the rest of the file was not read" in error.message


# --- size limits ---------------------------------------------------------------------------


def test_zip_bomb_member_stops_at_the_file_limit(tmp_path: Path) -> None:
    rows = "sch-1,,,North,school,,\n" + "x-1,,,X,school,,\n" * 3_000_000  # about 50 MB
    source = zip_package(
        tmp_path / "p.zip",
        {"manifest.csv": ORGS_MANIFEST, "orgs.csv": f"{ORGS_HEADER}\n{rows}".encode()},
    )
    assert source.stat().st_size < 1_000_000  # a small file that expands hugely

    started = time.monotonic()
    package = read_package(source, max_file_size=1_000_000)
    orgs = list(package.iter_records("orgs"))

    assert time.monotonic() - started < 5
    assert orgs == []  # refused from its declared size, before anything is expanded
    (error,) = package.errors
    assert error.file == "orgs.csv"
    assert "max_file_size" in error.message


def test_file_limit_is_enforced_while_reading(tmp_path: Path) -> None:
    rows = "".join(f"sch-{n},,,School {n},school,,\n" for n in range(1000))
    source = folder_package(
        tmp_path / "p",
        {"manifest.csv": ORGS_MANIFEST, "orgs.csv": f"{ORGS_HEADER}\n{rows}".encode()},
    )

    package = read_package(source, max_file_size=10_000)
    orgs = list(package.iter_records("orgs"))

    assert 0 < len(orgs) < 1000
    (error,) = package.errors
    assert error.line == len(orgs) + 2  # the line that crossed the limit
    assert "larger than 10,000 bytes (max_file_size)" in error.message


def test_huge_cell_is_a_line_error_and_memory_stays_bounded(tmp_path: Path) -> None:
    huge = "x" * (50 * 1024**2)
    orgs = f"{ORGS_HEADER}\nsch-1,,,North,school,,\nsch-2,,,{huge},school,,\nsch-3,,,S,school,,\n"
    source = zip_package(
        tmp_path / "p.zip", {"manifest.csv": ORGS_MANIFEST, "orgs.csv": orgs.encode()}
    )
    del huge, orgs

    tracemalloc.start()
    try:
        package = read_package(source)
        read = [org.sourced_id for org in package.iter_records("orgs")]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert read == ["sch-1"]
    (error,) = package.errors
    assert (error.file, error.line) == ("orgs.csv", 3)
    assert "max_line_size" in error.message
    assert peak < 16 * 1024**2  # well under the 50 MB cell


def test_cell_over_the_csv_field_limit_is_a_row_error(tmp_path: Path) -> None:
    # Under the line limit but over the csv module's 128 KiB field size limit.
    orgs = f'{ORGS_HEADER}\nsch-1,,,"{"y" * 200_000}",school,,\n'
    source = folder_package(
        tmp_path / "p", {"manifest.csv": ORGS_MANIFEST, "orgs.csv": orgs.encode()}
    )

    package = read_package(source)

    assert list(package.iter_records("orgs")) == []
    (error,) = package.errors
    assert (error.file, error.line) == ("orgs.csv", 2)
    assert "field larger than field limit" in error.message


@pytest.mark.parametrize("limit", [0, -1, 1.5, "1"])
def test_limits_must_be_positive(tmp_path: Path, limit: object) -> None:
    folder_package(tmp_path, {"manifest.csv": ORGS_MANIFEST})

    with pytest.raises(ValueError, match="max_line_size must be a positive number"):
        read_package(tmp_path, max_line_size=limit)  # type: ignore[arg-type]


def test_error_list_is_capped_per_file(tmp_path: Path) -> None:
    rows = "".join(f"sch-{n},,,School,not-a-type-{n},,,\n" for n in range(1500))  # 8 cells
    source = folder_package(
        tmp_path / "p",
        {"manifest.csv": ORGS_MANIFEST, "orgs.csv": f"{ORGS_HEADER}\n{rows}".encode()},
    )

    package = read_package(source)
    list(package.iter_records("orgs"))
    errors = package.errors

    assert len(errors) == 1001
    assert "500 more in this file are not listed" in errors[-1].message


def test_a_header_of_many_nameless_columns_gives_one_warning(tmp_path: Path) -> None:
    orgs = f"{ORGS_HEADER}{',' * 100_000}\n"
    source = folder_package(
        tmp_path / "p", {"manifest.csv": ORGS_MANIFEST, "orgs.csv": orgs.encode()}
    )

    package = read_package(source)
    list(package.iter_records("orgs"))

    (warning,) = [w for w in package.warnings if w.file == "orgs.csv"]
    assert "and 99990 more have no name" in warning.message


# --- specific bytes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [b"No\x00rth", b"\xff\xfe\xfd", b"\xef\xbb\xbfNorth", b'"unterminated', b"\x81\x8d\x8f"],
    ids=["nul", "invalid-utf8", "inner-bom", "open-quote", "cp1252-undefined"],
)
def test_odd_bytes_in_a_cell(tmp_path: Path, cell: bytes) -> None:
    orgs = ORGS_HEADER.encode() + b"\nsch-1,,," + cell + b",school,,\nsch-2,,,South,school,,\n"
    source = folder_package(tmp_path / "p", {"manifest.csv": ORGS_MANIFEST, "orgs.csv": orgs})

    package = read_all(source)

    assert package is not None
    read = [org.sourced_id for org in package.iter_records("orgs")]
    if cell.startswith(b'"'):
        # The open quote swallows the rest of the file into one cell: one short row.
        assert read == []
        (error,) = package.errors
        assert (error.line, error.column) == (2, None)
        assert "expected 7 cells, found 4" in error.message
    else:
        assert read == ["sch-1", "sch-2"]


# --- writing -----------------------------------------------------------------------------


def _deep(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_writing_a_deeply_nested_vendor_value_is_a_write_error(tmp_path: Path) -> None:
    org = Org(sourced_id="sch-1", name="North", type="school", extra={"x_vendor": _deep(10_000)})

    with pytest.raises(CsvWriteError, match=r"orgs\.csv record 'sch-1', column x_vendor") as caught:
        write_package(tmp_path / "p", {"orgs": [org]})

    assert isinstance(caught.value, OneRosterError)
    assert isinstance(caught.value, ValueError)


def test_member_whose_header_understates_its_size_is_not_read_past_it(tmp_path: Path) -> None:
    rows = "".join(f"sch-{n},,,School {n},school,,\n" for n in range(100_000))  # ~3 MB
    source = zip_package(
        tmp_path / "p.zip",
        {"manifest.csv": ORGS_MANIFEST, "orgs.csv": f"{ORGS_HEADER}\n{rows}".encode()},
    )
    data = bytearray(source.read_bytes())
    # Declare 1,000 expanded bytes in the local (offset 22) and central (offset 24) headers.
    for signature, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if data[start + name_at : start + name_at + 8] == b"orgs.csv":
                data[start + offset : start + offset + 4] = (1000).to_bytes(4, "little")
            start += 4
    source.write_bytes(bytes(data))

    package = read_package(source, max_file_size=100_000)
    orgs = list(package.iter_records("orgs"))

    assert len(orgs) < 100  # nothing past the declared size is expanded
    (error,) = package.errors
    assert error.file == "orgs.csv"
    assert "the rest of the file was not read" in error.message
