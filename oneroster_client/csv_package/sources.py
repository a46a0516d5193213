"""Where the files of a package are: a folder or a zip file, opened safely.

Only the package's own top-level files are read. Nothing is ever extracted or written:
zip members are streamed from the archive, so a member named ``../evil.csv`` or
``/etc/passwd`` cannot reach the file system, and such names are refused anyway (with a
warning) together with symbolic links, which a package has no use for. A file that is
present twice (``users.csv`` and ``Users.csv``, or a zip holding one name twice) makes
the package ambiguous and is refused with :class:`CsvPackageError`.
"""

from __future__ import annotations

import abc
import contextlib
import io
import lzma
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from oneroster_client.csv_package.errors import CsvPackageError
from oneroster_client.csv_package.specs import MANIFEST, PACKAGE_FILES

__all__ = ["READ_FAILURES", "FolderSource", "Source", "ZipSource", "open_source"]

# What a damaged, truncated or unsupported zip member raises while it is opened or read:
# bad CRC or header (BadZipFile), corrupt deflate/bzip2/lzma data (zlib.error, OSError,
# LZMAError), a truncated stream (EOFError), encryption (RuntimeError), an unknown
# compression method (NotImplementedError).
READ_FAILURES: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
)

# Opening also checks the archive's structure, which raises ValueError for some damage.
_OPEN_FAILURES: tuple[type[BaseException], ...] = (*READ_FAILURES, ValueError)


class Source(abc.ABC):
    """The files of a package.

    Attributes:
        names: lower-cased top-level file name -> the member or file to open.
        skipped: ``(name, reason)`` of entries refused as unsafe; reported as warnings.
    """

    names: dict[str, str]
    skipped: list[tuple[str, str]]

    @abc.abstractmethod
    def open(self, member: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        """Open one file for reading.

        Raises:
            CsvPackageError: the file cannot be opened (damaged, encrypted, vanished).
        """

    @abc.abstractmethod
    def size_of(self, member: str) -> int | None:
        """The size the file declares, if it declares one (a zip member's expanded size)."""


def _add(names: dict[str, str], key: str, member: str, where: Path) -> None:
    if key in names and key in PACKAGE_FILES:
        raise CsvPackageError(
            f"{where}: {key} is present twice ({names[key]!r} and {member!r});"
            " cannot tell which to read",
            file=member,
        )
    names.setdefault(key, member)


class FolderSource(Source):
    """A package folder; symbolic links in it are not followed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.names = {}
        self.skipped = []
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            raise CsvPackageError(f"{folder}: cannot be listed ({exc.strerror})") from None
        for entry in entries:
            if entry.is_symlink():
                self.skipped.append((entry.name, "a symbolic link; not followed"))
            elif entry.is_file(follow_symlinks=False):
                _add(self.names, entry.name.lower(), entry.name, folder)

    def open(self, member: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        try:
            # O_NOFOLLOW: a file swapped for a link after the folder was listed is refused.
            descriptor = os.open(self.folder / member, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise CsvPackageError(
                f"{self.folder / member}: cannot be opened ({exc.strerror})", file=member
            ) from None
        return open(descriptor, "rb")

    def size_of(self, member: str) -> int | None:
        return None  # counted while reading


def unsafe_reason(name: str) -> str | None:
    """Why a zip member name is refused, or ``None`` for a plain relative name."""
    if "\x00" in name:
        return "a name with a NUL character"
    if "\\" in name:
        return "a name with a backslash"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute name"
    if ".." in name.split("/"):
        return "a name that climbs out of the package ('..')"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


class ZipSource(Source):
    """A zipped package, possibly with everything under one top-level folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped = []
        self._infos: dict[str, zipfile.ZipInfo] = {}
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except _OPEN_FAILURES as exc:
            raise CsvPackageError(f"{path}: not a readable zip file ({exc})") from None
        members = self._safe_members(infos)
        prefix = ""
        if MANIFEST not in {info.filename.lower() for info in members}:
            # Zips made by "compress folder" hold everything under one top-level folder.
            nested = [m for m in members if m.filename.lower().endswith("/" + MANIFEST)]
            if len(nested) == 1:
                prefix = nested[0].filename[: -len(MANIFEST)]
        self.names = {}
        for info in members:
            rest = info.filename[len(prefix) :]
            if info.filename.startswith(prefix) and "/" not in rest:
                _add(self.names, rest.lower(), info.filename, path)
                self._infos.setdefault(info.filename, info)

    def _safe_members(self, infos: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
        members = []
        seen: set[str] = set()
        for info in infos:
            name = info.filename
            if info.is_dir() or name.startswith("__MACOSX/"):
                continue
            reason = unsafe_reason(name)
            if reason is None and _is_symlink(info):
                reason = "a symbolic link"
            if reason is not None:
                self.skipped.append((name, f"{reason}; not read"))
                continue
            if name in seen and name.lower().rsplit("/", 1)[-1] in PACKAGE_FILES:
                raise CsvPackageError(
                    f"{self.path}: the zip holds {name!r} twice; cannot tell which to read",
                    file=name,
                )
            seen.add(name)
            members.append(info)
        return members

    def size_of(self, member: str) -> int | None:
        return self._infos[member].file_size

    @contextlib.contextmanager
    def _open(self, member: str) -> Iterator[IO[bytes]]:
        info = self._infos[member]
        if info.flag_bits & 0x1:
            raise CsvPackageError(f"{member}: the zip member is encrypted", file=member)
        with contextlib.ExitStack() as stack:
            try:
                archive = stack.enter_context(zipfile.ZipFile(self.path))
                stream = stack.enter_context(archive.open(info))
            except _OPEN_FAILURES as exc:
                reason = f"{member}: cannot be opened ({exc})"
                raise CsvPackageError(reason, file=member) from None
            # ZipExtFile's own readline is Python code; a BufferedReader splits lines in C.
            yield io.BufferedReader(stream, 1 << 16)  # type: ignore[type-var]

    def open(self, member: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return self._open(member)


def open_source(path: Path) -> Source:
    """The source for a package folder or zip file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CsvPackageError: ``path`` is neither a folder nor a readable zip file.
    """
    if path.is_dir():
        return FolderSource(path)
    if path.is_file():
        try:
            is_zip = zipfile.is_zipfile(path)
        except OSError as exc:
            raise CsvPackageError(f"{path}: cannot be read ({exc.strerror})") from None
        if not is_zip:
            raise CsvPackageError(f"{path}: not a folder or a zip file")
        return ZipSource(path)
    raise FileNotFoundError(f"{path}: no such folder or zip file")
