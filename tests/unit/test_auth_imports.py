"""``import oneroster_client`` stays light: authlib and the optional extras load on use only.

Each check runs a fresh interpreter, because this test process has long imported them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("authlib", "joserfc", "cryptography", "vcr", "pandas", "tqdm", "oauthlib")


def loaded_after(code: str) -> set[str]:
    """The top-level packages among HEAVY that ``code`` leaves imported."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_import_oneroster_client_imports_no_heavy_package() -> None:
    assert loaded_after("import oneroster_client") == set()


def test_building_auth_objects_imports_no_heavy_package() -> None:
    code = (
        "from oneroster_client import OAuth1, OAuth2ClientCredentials, BearerToken\n"
        "OAuth1('key', 'secret')\n"
        "OAuth2ClientCredentials('https://sis.example.org/oauth/token', 'id', 'secret')\n"
        "BearerToken('token')"
    )
    assert loaded_after(code) == set()


def test_oauth1_signing_imports_authlib_rfc5849_only_on_first_use() -> None:
    code = (
        "import requests\nfrom oneroster_client import OAuth1\n"
        "requests.Request('GET', 'https://sis.example.org/x', auth=OAuth1('k', 's')).prepare()"
    )
    # authlib's RFC 5849 code, without the JOSE and cryptography stack its OAuth 2 side needs
    assert loaded_after(code) == {"authlib"}
