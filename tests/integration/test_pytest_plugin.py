"""The pytest plugins as a user's project sees them, run with pytest's own ``pytester``.

Each inner run is a separate process with plugin autoloading off and the plugins named
with ``-p``, so the test does not depend on the package's entry points being installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ONEROSTER = ("-p", "oneroster_client.testing.pytest_plugin")
BUZZ = ("-p", "oneroster_client.buzz.testing.pytest_plugin")
SKYWARD = ("-p", "skyward_adapter.pytest_plugin")


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    # The inner process imports this checkout, as the outer one does.
    checkout = str(Path(__file__).resolve().parents[2])
    inherited = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", checkout + (os.pathsep + inherited if inherited else ""))
    for name in [name for name in os.environ if name.startswith("SKYWARD_")]:
        monkeypatch.delenv(name)
    return pytester


FIXTURE_TESTS = """
import pytest

from oneroster_client import OneRosterClient
from oneroster_client.testing import OneRosterServer
from oneroster_client.testing.pytest_plugin import RecordedSleep


def test_district_defaults_to_sixty_students(oneroster_district):
    assert len(oneroster_district["demographics"]) == 60


@pytest.mark.oneroster_district(students=25, seed=3)
def test_marker_chooses_the_district(oneroster_district, oneroster_api):
    assert len(oneroster_district["demographics"]) == 25
    assert oneroster_api.demographics.list().count() == 25


def test_factory_makes_private_copies(oneroster_district_factory):
    first = oneroster_district_factory(students=15, seed=2)
    second = oneroster_district_factory(students=15, seed=2)
    assert first["users"] == second["users"] and first["users"] is not second["users"]
    first["users"].clear()
    assert oneroster_district_factory(students=15, seed=2)["users"]
    assert len(oneroster_district_factory(students=8, seed=2)["demographics"]) == 8


def test_server_serves_the_district(oneroster_server, oneroster_district):
    assert isinstance(oneroster_server, OneRosterServer)
    assert oneroster_server.district is oneroster_district
    assert oneroster_server.base_url.startswith("http://127.0.0.1:")


def test_client_is_connected_with_oauth2(oneroster_api, oneroster_server):
    assert isinstance(oneroster_api, OneRosterClient)
    assert oneroster_api.base_url == oneroster_server.base_url
    assert oneroster_api.students.list().count() == 60
    assert oneroster_server.token_requests == 1


def test_retries_record_waits_instead_of_sleeping(
    oneroster_api, oneroster_server, oneroster_retry_sleep
):
    assert isinstance(oneroster_retry_sleep, RecordedSleep)
    oneroster_server.faults.retry_after = "30"
    oneroster_server.faults.fail_statuses = [429, 503]
    assert oneroster_api.orgs.list().count() > 0
    assert oneroster_retry_sleep.waits[0] == 30.0
    assert len(oneroster_retry_sleep.waits) == 2


def test_gradebook_writes_stay_in_one_test_a(oneroster_district):
    oneroster_district["users"].clear()


def test_gradebook_writes_stay_in_one_test_b(oneroster_district):
    assert oneroster_district["users"]
"""


def test_oneroster_fixtures(run: pytest.Pytester) -> None:
    run.makepyfile(test_fixtures=FIXTURE_TESTS)
    result = run.runpytest_subprocess(*ONEROSTER, "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=8)
    assert "slept" not in result.stdout.str()


def test_the_district_marker_takes_keywords_only(run: pytest.Pytester) -> None:
    run.makepyfile(
        """
        import pytest

        @pytest.mark.oneroster_district(500)
        def test_positional(oneroster_district):
            pass
        """
    )
    result = run.runpytest_subprocess(*ONEROSTER, "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*takes keywords only*students=500*"])


def test_the_marker_is_declared(run: pytest.Pytester) -> None:
    result = run.runpytest_subprocess(*ONEROSTER, "--markers", timeout=120)
    result.stdout.fnmatch_lines(["@pytest.mark.oneroster_district(**options)*"])


def test_buzz_server_fixture(run: pytest.Pytester) -> None:
    run.makepyfile(
        """
        def test_buzz(buzz_server):
            token_url, user_id, private_key_pem, key_id = buzz_server.jwt_credentials()
            assert token_url.startswith("http://127.0.0.1:")
        """
    )
    result = run.runpytest_subprocess(*BUZZ, "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1)


SKYWARD_TEST = """
import pytest

@pytest.mark.skyward_cassette("never_recorded.yaml")
def test_reads(skyward_cassette):
    assert skyward_cassette.client.orgs.list().all()
"""


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_missing_cassette_fails_in_ci(
    run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    run.makepyfile(test_skyward=SKYWARD_TEST)
    result = run.runpytest_subprocess(*SKYWARD, "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*never_recorded.yaml is missing*CI never records*"])
    assert "skipped" not in result.stdout.str()


@pytest.mark.parametrize("ci", [None, "false"])
def test_a_missing_cassette_skips_outside_ci(
    run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    run.makepyfile(test_skyward=SKYWARD_TEST)
    result = run.runpytest_subprocess(*SKYWARD, "-p", "no:cacheprovider", "-rs", timeout=120)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*SKYWARD_BASE_URL*"])


def test_recording_asked_for_in_ci_still_records(
    run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    run.makeconftest(
        """
        import pytest

        from skyward_adapter.testing import loopback_settings, skyward_like_server


        @pytest.fixture
        def skyward_settings():
            with skyward_like_server() as server:
                yield loopback_settings(server, page_size=30)
        """
    )
    run.makepyfile(test_skyward=SKYWARD_TEST)
    result = run.runpytest_subprocess(
        *SKYWARD, "-p", "no:cacheprovider", "--record-skyward", timeout=120
    )
    result.assert_outcomes(passed=1)
    assert (run.path / "cassettes" / "never_recorded.yaml").is_file()
    replay = run.runpytest_subprocess(*SKYWARD, "-p", "no:cacheprovider", timeout=120)
    replay.assert_outcomes(passed=1)  # a committed cassette replays in CI


def test_without_vcrpy_the_cassette_fixture_names_the_extra(
    run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    run.makeconftest(
        """
        import sys

        sys.modules["vcr"] = None  # as if vcrpy were not installed
        """
    )
    run.makepyfile(test_skyward=SKYWARD_TEST)
    result = run.runpytest_subprocess(*SKYWARD, "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(['*pip install "oneroster-client[[]recording[]]"*'])
