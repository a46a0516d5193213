"""pytest fixtures for Skyward cassettes: record once against a district, replay offline after.

Enable the plugin with ``-p skyward_adapter.pytest_plugin``, with
``pytest_plugins = ["skyward_adapter.pytest_plugin"]`` in the root ``conftest.py``, or
through a ``pytest11`` entry point. Then::

    @pytest.mark.skyward_cassette("springisd_teachers.yaml")
    def test_reads_teachers(skyward_cassette):
        teachers = skyward_cassette.client.teachers.list().all()
        assert teachers

``skyward_cassette`` **records** when ``--record-skyward`` is given (or ``SKYWARD_RECORD=1``)
or when the cassette file does not exist yet, and **replays** otherwise: offline, with
dummy credentials, matching requests on method, path and query. Recording goes through
:func:`skyward_adapter.recording.record_session`, so secrets are removed and personal
data pseudonymised, and nothing is written if anything would leak.

Recording needs settings: the ``skyward_settings`` fixture, by default
:meth:`SkywardSettings.from_env() <skyward_adapter.SkywardSettings.from_env>` (the test
is skipped when ``SKYWARD_BASE_URL`` is not set). Override the fixture to point
elsewhere (e.g. a loopback server). Cassettes live in ``cassettes/`` beside the test
module (fixture ``skyward_cassette_dir``), named ``<module>/<test>.yaml`` unless the
marker gives a name. Marker options: ``pseudonymise_ids=True``, ``pii=False``.

In CI (the ``CI`` environment variable set to anything but ``""``, ``0``, ``false`` or
``no``), a missing cassette **fails** the test instead of recording: CI never records
against a live district on its own, and a test that only skipped would hide the missing
file. ``--record-skyward`` (or ``SKYWARD_RECORD=1``) still records there on purpose.

Loading the plugin does not need ``vcrpy``; using the fixture does (the ``recording``
extra: ``pip install "oneroster-client[recording]"``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from oneroster_client._extras import require_extra
from oneroster_client.client import OneRosterClient
from skyward_adapter.quirks import QuirkReport, quirk_report
from skyward_adapter.settings import SkywardSettings

__all__ = [
    "SkywardCassette",
    "in_ci",
    "skyward_cassette",
    "skyward_cassette_dir",
    "skyward_settings",
]

RECORD_OPTION = "--record-skyward"
RECORD_VARIABLE = "SKYWARD_RECORD"
CI_VARIABLE = "CI"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--record-skyward``."""
    group = parser.getgroup("skyward", "Skyward cassettes")
    group.addoption(
        RECORD_OPTION,
        action="store_true",
        default=False,
        help="record Skyward cassettes again (needs SKYWARD_* settings) instead of replaying",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``skyward_cassette`` marker."""
    config.addinivalue_line(
        "markers",
        "skyward_cassette(name=None, *, pseudonymise_ids=False, pii=True): the cassette the "
        "skyward_cassette fixture records or replays",
    )


@attrs.frozen
class SkywardCassette:
    """What the ``skyward_cassette`` fixture gives a test.

    Attributes:
        path: the cassette file.
        recording: ``True`` when this run records, ``False`` when it replays.
        client: a client connected for this run (real settings when recording, dummy
            ones when replaying).
        settings: the settings the client was connected with.
    """

    path: Path
    recording: bool
    client: OneRosterClient
    settings: SkywardSettings

    @property
    def quirks(self) -> QuirkReport:
        """The client's quirk report."""
        return quirk_report(self.client)


def _wants_recording(config: pytest.Config) -> bool:
    flag = bool(config.getoption(RECORD_OPTION, default=False))
    variable = os.environ.get(RECORD_VARIABLE, "").strip().lower() in ("1", "true", "yes")
    return flag or variable


def in_ci() -> bool:
    """Whether the ``CI`` environment variable says this run is CI (as CI services set it)."""
    value = os.environ.get(CI_VARIABLE, "").strip().lower()
    return value not in ("", "0", "false", "no")


def _require_vcrpy() -> None:
    require_extra("vcr", extra="recording", purpose="the skyward_cassette fixture")


@pytest.fixture
def skyward_settings() -> SkywardSettings:
    """Settings for recording: ``SkywardSettings.from_env()``; skips when not configured."""
    if not os.environ.get("SKYWARD_BASE_URL"):
        pytest.skip(
            "recording a Skyward cassette needs SKYWARD_BASE_URL, SKYWARD_KEY, SKYWARD_SECRET "
            "(and SKYWARD_TOKEN_URL): set them, or commit the cassette to replay it"
        )
    return SkywardSettings.from_env()


@pytest.fixture
def skyward_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """Where cassettes are kept: ``cassettes/`` beside the test module."""
    return Path(request.node.path).parent / "cassettes"


@pytest.fixture
def skyward_cassette(
    request: pytest.FixtureRequest, skyward_cassette_dir: Path
) -> Iterator[SkywardCassette]:
    """Record (first run or ``--record-skyward``) or replay the test's Skyward cassette."""
    # Imported here: vcrpy is needed only by tests that use cassettes, not to load the plugin.
    from skyward_adapter.recording import record_session, replay_session, replay_settings

    marker = request.node.get_closest_marker("skyward_cassette")
    args: tuple[Any, ...] = marker.args if marker is not None else ()
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    name = args[0] if args else options.pop("name", None)
    if name is None:
        module = Path(request.node.path).stem
        test = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
        name = f"{module}/{test}.yaml"
    path = skyward_cassette_dir / name
    asked = _wants_recording(request.config)
    if not asked and not path.is_file() and in_ci():
        pytest.fail(
            f"the Skyward cassette {path} is missing, and CI never records on its own: "
            f"record it with {RECORD_OPTION} (and SKYWARD_* settings) and commit it",
            pytrace=False,
        )
    _require_vcrpy()
    recording = asked or not path.is_file()
    if recording:
        settings: SkywardSettings = request.getfixturevalue("skyward_settings")
        with record_session(
            path,
            settings,
            pii=options.get("pii", True),
            pseudonymise_ids=options.get("pseudonymise_ids", False),
        ) as client:
            yield SkywardCassette(path, True, client, settings)
    else:
        settings = replay_settings(path)
        with replay_session(path, settings) as client:
            yield SkywardCassette(path, False, client, settings)
