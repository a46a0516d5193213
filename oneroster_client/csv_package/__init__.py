"""OneRoster 1.1 CSV binding: read and write bulk and delta CSV packages as typed models.

A package is a folder or a zip holding ``manifest.csv`` and up to 13 data files (section 10
of the OneRoster 1.1 CSV tables). :func:`write_package` streams records into such a
package; :func:`read_package` opens one and :meth:`CsvPackage.iter_records` streams its
rows back as models, built by :func:`oneroster_client.converter.structure` so that the
CSV reader shares every tolerance rule of the JSON reader.

Reading is tolerant and never silent:

* UTF-8 with or without a BOM; a line that is not valid UTF-8 is decoded as Windows-1252
  and reported as a warning;
* header names are matched case-insensitively after trimming; the 1.0-era spellings seen
  in real exports (``grade``, ``schoolYearId``, ``userId``, ``agents``, demographics'
  ``userSourcedId``) are mapped when the 1.1 column is not also present;
* ``metadata.<key>`` columns go to ``metadata``; any other unknown column (``ext_vendor_x``)
  goes to the model's ``extra`` under its header name, as a string;
* blank lines are skipped; a row with the wrong number of cells, a bad value, or a
  sourcedId already read is reported as a :class:`CsvRowError` (file, line, column) and
  the rows around it are still read;
* unknown enumeration values are kept as strings and reported as :class:`CsvWarning`;
* hostile input is contained: files are streamed line by line within ``max_file_size``
  and ``max_line_size`` (a zip member is measured as it expands), zip members are never
  extracted, and members with unsafe names (``../x.csv``, absolute paths) or that are
  symbolic links are not read. Whatever the bytes, reading raises only
  :class:`CsvPackageError` (a package that cannot be read at all) or records
  :class:`CsvRowError` entries; never a ``csv``, ``zipfile`` or decoding exception.

Writing is exact: columns in the 1.1 order, ``true``/``false``, lists comma-joined in one
cell, ``{type:identifier}`` user ids, the converter's date formats. ``Course.resources``
and ``Class.resources`` become rows of ``courseResources.csv`` and ``classResources.csv``
and are merged back on reading, so a written package reads back to equal models.

What the CSV binding cannot carry: a GUIDRef's ``href`` (reading sets ``type`` from the
column, e.g. ``org`` for ``orgSourcedIds``), ``Org.children`` and
``AcademicSession.children`` (derived from ``parentSourcedId``), an empty string or empty
list (both read back as ``None``), non-string ``metadata``/``extra`` values (written as
text, read back as strings), and the own sourcedId, status and title of a link row (link
rows are written with ids ``<owner>-<resource>`` and the owner's status).
"""

from oneroster_client.csv_package.errors import (
    CsvPackageError,
    CsvRowError,
    CsvTargetError,
    CsvWarning,
    CsvWriteError,
)
from oneroster_client.csv_package.reader import CsvPackage, read_package
from oneroster_client.csv_package.rows import DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_LINE_SIZE
from oneroster_client.csv_package.specs import COLLECTIONS, FILE_COLUMNS, FileMode
from oneroster_client.csv_package.writer import write_package

__all__ = [
    "COLLECTIONS",
    "DEFAULT_MAX_FILE_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "FILE_COLUMNS",
    "CsvPackage",
    "CsvPackageError",
    "CsvRowError",
    "CsvTargetError",
    "CsvWarning",
    "CsvWriteError",
    "FileMode",
    "read_package",
    "write_package",
]
