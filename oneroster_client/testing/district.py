"""An in-memory OneRoster district: the data the loopback server serves.

Records are kept as wire-shaped dicts (camelCase, spec formats), which is what a server
sends; typed models are produced on request. Keys are the OneRoster collection names
(``orgs``, ``academicSessions``, ``users`` ...), one list per entity type.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from oneroster_client import converter
from oneroster_client.models import COLLECTION_MODELS, Record

__all__ = ["COLLECTION_MODELS", "District"]


@attrs.define
class District:
    """All records of one district, by collection, as wire dicts.

    Attributes:
        collections: collection name -> list of wire-shaped records. Every name in
            :data:`COLLECTION_MODELS` is present (possibly empty).
    """

    collections: dict[str, list[dict[str, Any]]] = attrs.field(
        factory=lambda: {name: [] for name in COLLECTION_MODELS}
    )
    csv_errors: list[Any] = attrs.field(factory=list, repr=False)
    """Rows of a CSV package that could not be read (see :meth:`from_csv_package`)."""

    def __attrs_post_init__(self) -> None:
        unknown = set(self.collections) - set(COLLECTION_MODELS)
        if unknown:
            raise ValueError(f"unknown OneRoster collections: {sorted(unknown)}")
        for name in COLLECTION_MODELS:
            self.collections.setdefault(name, [])

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={len(rows):,}" for name, rows in self.collections.items())
        return f"District({counts})"

    def __getitem__(self, collection: str) -> list[dict[str, Any]]:
        return self.collections[collection]

    def counts(self) -> dict[str, int]:
        """Number of records per collection."""
        return {name: len(rows) for name, rows in self.collections.items()}

    def models(self, collection: str) -> Iterator[Record]:
        """Yield the records of one collection as typed models."""
        model = COLLECTION_MODELS[collection]
        for row in self.collections[collection]:
            yield converter.structure(row, model)

    def records(self) -> dict[str, Iterator[Record]]:
        """Every collection as a lazy stream of models (e.g. for writing a CSV package)."""
        return {name: self.models(name) for name in COLLECTION_MODELS}

    @classmethod
    def from_csv_package(cls, source: str | os.PathLike[str], **limits: int) -> District:
        """Read a OneRoster 1.1 CSV package (folder or zip) into a district.

        Rows that cannot be read are left out of the district; they are listed, with file,
        line and column, in the returned district's ``csv_errors``.

        Args:
            source: the package folder or zip file.
            **limits: ``max_file_size`` and ``max_line_size``, passed to
                :func:`~oneroster_client.csv_package.read_package`.

        Raises:
            CsvPackageError: the package cannot be read at all (no manifest, not a
                readable zip, a file present twice).
        """
        # Imported here: the CSV package is only needed by callers that read one.
        from oneroster_client.csv_package import read_package

        package = read_package(source, **limits)
        district = cls.from_records(package.load())
        district.csv_errors = list(package.errors)
        return district

    @classmethod
    def from_records(cls, records: Mapping[str, Iterable[Record]]) -> District:
        """Build a district from models, e.g. those read from a OneRoster CSV package."""
        collections: dict[str, list[dict[str, Any]]] = {name: [] for name in COLLECTION_MODELS}
        for name, items in records.items():
            if name not in COLLECTION_MODELS:
                raise ValueError(f"unknown OneRoster collection {name!r}")
            collections[name] = [item.to_dict() for item in items]
        return cls(collections=collections)
