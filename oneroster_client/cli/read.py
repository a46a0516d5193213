"""``oneroster check``, ``list``, ``get`` and ``export``: reading a OneRoster server."""

from __future__ import annotations

import argparse
import itertools
import re
from collections.abc import Iterator
from typing import Any, TextIO

import attrs

from oneroster_client._naming import to_wire_name
from oneroster_client.cli._advice import for_the_command_line
from oneroster_client.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Context,
    UsageProblem,
    id_problem,
    positive_int,
    sourced_id,
)
from oneroster_client.cli._output import FORMATS, progress_bar, write_rows
from oneroster_client.client import COLLECTIONS, OneRosterClient
from oneroster_client.endpoints import OPERATIONS, Operation
from oneroster_client.errors import (
    AuthenticationError,
    NotFoundError,
    OneRosterError,
    TransportError,
)
from oneroster_client.models import Record

__all__ = ["add_parsers"]

_CHECKED = ("orgs", "academic_sessions", "courses", "classes", "users", "enrollments")
_GRADEBOOK = ("categories", "line_items", "results")
_EXPORTED = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")


def _folded(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_ATTRIBUTES = {_folded(attribute): attribute for attribute in COLLECTIONS}


def collection_attribute(name: str) -> str:
    """The client attribute of a collection named as in URLs, in snake_case or kebab-case.

    Raises:
        UsageProblem: the name is not a OneRoster collection.
    """
    attribute = _ATTRIBUTES.get(_folded(name))
    if attribute is None:
        known = ", ".join(sorted(op.path.split("/")[1] for op in OPERATIONS if op.name == "list"))
        raise UsageProblem(f"unknown collection {name!r} (known: {known})")
    return attribute


def nested_operation(collection: str, parent: str) -> tuple[Operation, list[str]]:
    """The listing ``/<parent>/<collection>``, e.g. ``classes`` of ``schools/ID``.

    Returns:
        The operation and the ids to call it with.

    Raises:
        UsageProblem: no OneRoster listing has that path, or an id in it is not one.
    """
    given = [part for part in parent.strip("/").split("/") if part] + [collection]
    for op in OPERATIONS:
        if op.method != "GET" or not op.collection:
            continue
        template = op.path.strip("/").split("/")
        if len(template) != len(given):
            continue
        ids = _match(template, given)
        if ids is not None:
            for value in ids:
                problem = id_problem(value)
                if problem is not None:
                    raise UsageProblem(f"--of {parent!r}: {problem}")
            return op, ids
    first = _folded(given[0])
    under = sorted(
        {
            op.path.strip("/").split("/", 2)[-1]
            for op in OPERATIONS
            if op.collection
            and _folded(op.path.strip("/").split("/")[0]) == first
            and op.path.count("{") >= 1
        }
    )
    hint = f"; under {given[0]}/ID: {', '.join(under)}" if under else ""
    raise UsageProblem(
        f"no OneRoster listing /{'/'.join(given[:-1])}/{collection}: --of takes "
        f"PARENT/ID (e.g. schools/ID, classes/ID/lineItems/ID){hint}"
    )


def _match(template: list[str], given: list[str]) -> list[str] | None:
    ids = []
    for part, value in zip(template, given, strict=True):
        if part.startswith("{"):
            ids.append(value)
        elif _folded(part) != _folded(value):
            return None
    return ids


# --- check ----------------------------------------------------------------------------


def run_check(ctx: Context) -> int:
    """Diagnose the connection; Skyward's own diagnosis for ``--sis skyward``."""
    if ctx.settings["sis.kind"] == "skyward":
        from skyward_adapter import check_connection

        report = check_connection(ctx.skyward(passback=ctx.args.passback), **ctx.skyward_options())
        ctx.say(for_the_command_line(str(report)))
        return EXIT_OK if report.ok else EXIT_FAILED
    with ctx.oneroster() as client:
        ctx.say(f"OneRoster base URL: {client.base_url}")
        collections = _CHECKED + (_GRADEBOOK if ctx.args.passback else ())
        failed = 0
        tried_ok = False
        for attribute in collections:
            problem, stop = _probe(client, attribute, first=not tried_ok)
            failed += problem is not None
            tried_ok = tried_ok or problem is None
            shown = for_the_command_line(problem or "")
            ctx.say(f"  {'ok  ' if problem is None else 'FAIL'}  {attribute}{shown}")
            if stop:
                # Credentials, the connection or the base path failed: every other
                # collection would fail the same way, so the first failure says it all.
                ctx.say(f"  ({stop.lstrip()}the other collections were not tried: fix this first)")
                break
        ctx.say("Connection works." if not failed else f"{failed} check(s) failed.")
    return EXIT_OK if not failed else EXIT_FAILED


_WRONG_BASE = (
    "no collection was found at this base URL, which is probably wrong (it is the part "
    "before /orgs, e.g. https://sis.example.org/ims/oneroster/v1p1; see --base-url); "
)


def _probe(client: OneRosterClient, attribute: str, *, first: bool) -> tuple[str | None, str]:
    """What went wrong reading one record of a collection, and why to stop there (``""``
    to go on; a note, maybe empty, ending in a space, to stop).

    ``first`` is true while no collection has been read: a 404 then means that the base
    URL is wrong, and every other collection would answer 404 too.
    """
    try:
        getattr(client, attribute).list(page_size=1).first(1)
    except (AuthenticationError, TransportError) as error:
        return ": " + _first_line(error), " "
    except NotFoundError as error:
        return ": " + _first_line(error), _WRONG_BASE if first else ""
    except OneRosterError as error:
        return ": " + _first_line(error), ""
    return None, ""


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


# --- list, get ------------------------------------------------------------------------


def run_list(ctx: Context) -> int:
    """List a collection, or a collection nested under a record (``--of``)."""
    args = ctx.args
    options: dict[str, Any] = {}
    for name, value in (("filter", args.filter), ("sort", args.sort), ("order_by", args.order)):
        if value is not None:
            options[name] = value
    if args.order is not None and args.sort is None:
        raise UsageProblem("--order needs --sort: OneRoster orders by the sort field")
    if args.of:
        op, ids = nested_operation(args.collection, args.of)
    else:
        op, ids = _operation(collection_attribute(args.collection), "list"), []
    if args.fields:
        options["fields"] = _fields(args.fields, op.model)
    with ctx.oneroster() as client:
        method = getattr(getattr(client, op.attribute), op.name)
        with progress_bar(args.collection, ctx.err) as bar:
            listing = method(*ids, progress=bar, **options)
            rows = listing.dicts()
            if args.limit is not None:
                rows = itertools.islice(rows, args.limit)
            count = write_rows(rows, args.format, ctx.out, options.get("fields"))
    ctx.note(f"{count:,} record(s)")
    return EXIT_OK


def run_get(ctx: Context) -> int:
    """Read one record by sourcedId."""
    args = ctx.args
    attribute = collection_attribute(args.collection)
    fields = _fields(args.fields, _operation(attribute, "get").model) if args.fields else None
    with ctx.oneroster() as client:
        record = getattr(client, attribute).get(args.id, fields=fields)
        write_rows([record.to_dict()], args.format, ctx.out, fields)
    return EXIT_OK


def _operation(attribute: str, name: str) -> Operation:
    return next(op for op in OPERATIONS if op.attribute == attribute and op.name == name)


def _fields(text: str, model: type[Record]) -> list[str]:
    """The wire names of ``--fields``, given in any spelling (``given_name``, ``givenName``).

    Raises:
        UsageProblem: a name that is not a field of the collection's records, or none.
    """
    known = [to_wire_name(field.name) for field in attrs.fields(model) if field.name != "extra"]
    by_folded = {_folded(name): name for name in known}
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageProblem("--fields names no field")
    unknown = [name for name in names if _folded(name) not in by_folded]
    if unknown:
        raise UsageProblem(
            f"--fields: {', '.join(map(repr, unknown))} "
            f"{'is not a field' if len(unknown) == 1 else 'are not fields'} of "
            f"{model.__name__} records (fields: {', '.join(known)})"
        )
    return list(dict.fromkeys(by_folded[_folded(name)] for name in names))


# --- export ---------------------------------------------------------------------------


def run_export(ctx: Context) -> int:
    """Write the district's collections to a OneRoster 1.1 CSV package."""
    from pathlib import Path

    from oneroster_client.csv_package import COLLECTIONS as CSV_COLLECTIONS
    from oneroster_client.csv_package import CsvTargetError, write_package
    from oneroster_client.csv_package.writer import check_target

    args = ctx.args
    names = (
        list(CSV_COLLECTIONS)
        if args.collections == "all"
        else [name.strip() for name in args.collections.split(",") if name.strip()]
    )
    wrong = [name for name in names if name not in CSV_COLLECTIONS]
    if wrong:
        raise UsageProblem(
            f"--collections: unknown {', '.join(wrong)} (known: {', '.join(CSV_COLLECTIONS)})"
        )
    as_zip = args.zip or Path(args.target).suffix.lower() == ".zip"
    try:
        # Checked before the server is read: a long export must not fail at its last step.
        check_target(Path(args.target), names, as_zip=as_zip, overwrite=args.overwrite)
    except CsvTargetError as error:
        raise UsageProblem(str(error)) from None
    counts: dict[str, int] = {}
    with ctx.oneroster() as client:
        records = {name: _counted(client, name, counts, ctx.err) for name in names}
        path = write_package(args.target, records, zip=as_zip, overwrite=args.overwrite)
    for name in names:
        ctx.say(f"  {name:<18}{counts.get(name, 0):>10,}")
    ctx.say(f"Wrote a OneRoster 1.1 CSV package to {path}")
    return EXIT_OK


def _counted(
    client: OneRosterClient, name: str, counts: dict[str, int], stream: TextIO
) -> Iterator[Any]:
    collection = getattr(client, collection_attribute(name))
    with progress_bar(name, stream) as bar:
        for record in collection.list(progress=bar):
            counts[name] = counts.get(name, 0) + 1
            yield record


# --- parsers --------------------------------------------------------------------------


def add_parsers(commands: Any, parents: list[argparse.ArgumentParser], formatter: type) -> None:
    """Add ``check``, ``list``, ``get`` and ``export``."""
    check = commands.add_parser(
        "check",
        parents=parents,
        formatter_class=formatter,
        help="diagnose the connection to a OneRoster server (Skyward too)",
        description="Check that the settings reach the OneRoster server: token, credentials, "
        "base path and the rostering collections. With --sis skyward, Skyward's own "
        "diagnosis with hints. Exit 0 when everything works, 1 otherwise.",
    )
    check.add_argument(
        "--passback", action="store_true", help="also check grade pass back (gradebook access)"
    )
    check.set_defaults(run=run_check)
    _add_list_and_get(commands, parents, formatter)

    export = commands.add_parser(
        "export",
        parents=parents,
        formatter_class=formatter,
        help="write a district to a OneRoster 1.1 CSV package",
        description="Read the district's collections and write them as a OneRoster 1.1 "
        "CSV package (a folder, or a zip when TARGET ends in .zip). TARGET must be new (a "
        "missing or empty folder, a zip that does not exist) unless --overwrite is given; "
        "nothing the export does not write is ever deleted.",
    )
    export.add_argument("target", help="the package folder or .zip file")
    export.add_argument(
        "--collections",
        default=",".join(_EXPORTED),
        help="collections to export, comma-separated, or 'all'",
    )
    export.add_argument("--zip", action="store_true", help="write a zip whatever the name")
    export.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing zip, or the package files of these collections in a "
        "folder that holds files (its other files are kept; a folder holding the CSV files "
        "of collections not exported is refused)",
    )
    export.set_defaults(run=run_export)


def _add_list_and_get(
    commands: Any, parents: list[argparse.ArgumentParser], formatter: type
) -> None:
    listing = commands.add_parser(
        "list",
        parents=parents,
        formatter_class=formatter,
        help="list a collection (or one nested under a record, --of)",
        description="List a OneRoster collection: e.g. 'oneroster list students', "
        "'oneroster list classes --of schools/ID', "
        "'oneroster list results --of classes/ID/lineItems/ID'.",
    )
    listing.add_argument("collection", help="e.g. orgs, schools, classes, users, lineItems")
    listing.add_argument("--of", metavar="PARENT/ID", help="list the collection under a record")
    listing.add_argument("--filter", help="a OneRoster filter, e.g. \"status='active'\"")
    listing.add_argument("--sort", help="the field to sort by")
    listing.add_argument("--order", choices=("asc", "desc"), help="sort order (needs --sort)")
    listing.add_argument("--fields", help="fields to select, comma-separated")
    listing.add_argument("--limit", type=positive_int, help="stop after this many records")
    listing.add_argument("--format", choices=FORMATS, default="table", help="output format")
    listing.set_defaults(run=run_list)

    get = commands.add_parser(
        "get",
        parents=parents,
        formatter_class=formatter,
        help="read one record by sourcedId",
        description="Read one record, e.g. 'oneroster get classes cls-1'.",
    )
    get.add_argument("collection", help="e.g. orgs, classes, users, lineItems")
    get.add_argument("id", type=sourced_id, help="the record's sourcedId")
    get.add_argument("--fields", help="fields to select, comma-separated")
    get.add_argument("--format", choices=FORMATS, default="json", help="output format")
    get.set_defaults(run=run_get)
