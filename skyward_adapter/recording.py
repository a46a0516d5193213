"""Record a Skyward session into a scrubbed vcrpy cassette, and replay it without credentials.

For test suites that want real Skyward answers without a network or secrets in the
repository. Needs ``vcrpy`` (a development dependency), imported on first use.

Recording (:func:`record_session`) scrubs every interaction before it is kept:

* credentials: the ``Authorization`` and cookie headers are removed; ``oauth_*`` and
  other secret query parameters are dropped; token request bodies keep only
  ``grant_type`` and ``scope`` (every other value becomes ``REDACTED``); ``access_token``
  (and refresh tokens) in token responses become ``REDACTED``; any configured secret
  found anywhere is replaced.
* personal data (``pii=True``), by a whitelist: only values known to carry no personal
  data are kept as sent: sourcedIds and references, enumerations from the OneRoster 1.1
  vocabularies (``status``, ``role``, ``type``, ...), grades and periods, dates of known
  date fields, numbers and booleans (not those of a vendor field whose name looks
  personal, such as ``guardianPhone``), scopes and error codes. Every other
  string (names, emails, identifiers, titles, class locations, result comments, org
  names, ``metadata`` and vendor fields, unknown query parameters and filter values) is
  replaced by a consistent pseudonym; sex and race/ethnicity flags become ``null``. Free
  text that must stay readable (error descriptions, unknown headers such as
  ``X-Request-Id``, non-JSON bodies) keeps its lower-case words and OneRoster terms;
  every other word is replaced by its pseudonym.
* pseudonyms are consistent across the cassette: the same original value gets the same
  pseudonym everywhere, derived with HMAC-SHA256 under a random per-cassette key that
  is never stored, then turned into readable fake names, usernames, ``@example.invalid``
  emails, ``555`` phone numbers, dates.
* sourcedIds are kept, so records still resolve to each other; with
  ``pseudonymise_ids=True`` they are replaced consistently everywhere (bodies, hrefs,
  request URLs, ``Link`` headers, filter literals, error descriptions, headers).

Before the cassette is written, every request (URI, query, filter literals, headers,
body) and every response (headers, ``Link`` URLs, body) is searched for every
configured secret (Key, Secret, access token, every token issued during the session,
``secrets=``) and every original value that was replaced. If any is found, nothing is
written and :class:`RecordingLeakError` names the kind of value and where it was
(interaction, request or response, header or JSON path), never the value.

Replaying (:func:`replay_session`) matches requests on method, path and query (OAuth 1
parameters ignored), never on host, headers or body, so a cassette recorded against one
host replays offline with dummy credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets as _secrets
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

import attrs

from oneroster_client import OneRosterClient
from oneroster_client._extras import require_extra
from oneroster_client._redact import REDACTED, secret_query_values
from oneroster_client.endpoints import OPERATIONS
from oneroster_client.errors import OneRosterError
from oneroster_client.models import (
    SEX_AND_RACE_FIELDS,
    ClassType,
    GUIDType,
    Importance,
    OrgType,
    RoleType,
    ScoreStatus,
    SessionType,
    StatusType,
)
from skyward_adapter.connection import connect
from skyward_adapter.settings import ONEROSTER_PATH, SkywardSettings

if TYPE_CHECKING:
    import vcr

__all__ = [
    "REDACTED",
    "LeakPlace",
    "RecordingLeakError",
    "record_http",
    "record_session",
    "replay_http",
    "replay_session",
    "replay_settings",
]

MATCH_ON = ("method", "path", "skyward_query")
"""How replayed requests are matched to recorded ones."""

_MIN_SECRET_LENGTH = 4
_MIN_DISTINCTIVE_LENGTH = 4
_DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_TOKEN_FIELDS = frozenset({"access_token", "refresh_token", "id_token"})
_SECRET_FIELDS = frozenset(
    {"client_id", "client_secret", "client_assertion", "password", "refresh_token", "code"}
)
_KEPT_FORM_FIELDS = frozenset({"grant_type", "scope"})
_KEPT_QUERY_PARAMS = frozenset({"limit", "offset", "sort", "orderby", "fields"})
# Headers whose values are protocol data, kept as sent (secrets still replaced).
_PROTOCOL_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "cache-control",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "date",
        "expires",
        "pragma",
        "retry-after",
        "server",
        "transfer-encoding",
        "user-agent",
        "vary",
        "www-authenticate",
        "x-total-count",
    }
)
# Protocol headers whose words ("Sun", "May", "4") are not looked up as names.
_DATES_AND_COUNTS = frozenset(
    {"date", "expires", "last-modified", "retry-after", "content-length", "x-total-count"}
)

# --- what is personal and what is kept --------------------------------------------------

# Fields of people and the kind of pseudonym each gets.
_PERSON_FIELDS = {
    "givenName": "given",
    "familyName": "family",
    "middleName": "given",
    "preferredFirstName": "given",
    "preferredMiddleName": "given",
    "preferredLastName": "family",
    "email": "email",
    "phone": "phone",
    "sms": "phone",
    "username": "username",
    "identifier": "identifier",
    "birthDate": "date",
}
# Demographic values with so few possible values that any consistent pseudonym would
# give them away: replaced by null.
_NULLED_FIELDS = SEX_AND_RACE_FIELDS
_PERSON_MARKERS = frozenset({"givenName", "familyName", "username", "enabledUser", "birthDate"})
_ENUM_FIELDS = frozenset(
    {
        "status",
        "role",
        "roles",
        "type",
        "classType",
        "sessionType",
        "importance",
        "scoreStatus",
        "enabledUser",
        "primary",
        "token_type",
        "grant_type",
    }
)
_CODE_FIELDS = frozenset({"error", "imsx_codeMajor", "imsx_severity", "imsx_codeMinor"})
_DESCRIPTION_FIELDS = frozenset({"imsx_description", "error_description"})
_DATE_FIELDS = frozenset(
    {
        "dateLastModified",
        "startDate",
        "endDate",
        "beginDate",
        "assignDate",
        "dueDate",
        "scoreDate",
        "schoolYear",
    }
)
# CEDS grade levels used by OneRoster 1.1 (section 4.13.3 of the specification).
_GRADES = frozenset(
    ["IT", "PR", "PK", "TK", "KG", "PS", "UG", "Other", "Ungraded"]
    + [f"{grade:02d}" for grade in range(1, 14)]
)
_SPELLINGS = ("tobedeleted", "inactive", "deleted", "todelete", "true", "false", "bearer")
_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)?)?")
_DATE_TIME_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})?")
_PERIOD = re.compile(r"\d[0-9A-Za-z]{0,3}")
_CODE = re.compile(r"[a-z][a-z_ ]{0,40}")
_SCOPE_PART = re.compile(r"[A-Za-z0-9:/._\-]+")
_PERSONAL_KEY = re.compile(
    r"name|address|street|city|zip|postal|phone|mobile|mail|birth|dob|ssn|social|guardian|"
    r"parent|contact|emergency|gender|sex|ethnic|race|hispanic|language|note|comment",
    re.IGNORECASE,
)
_FILTER_PREDICATE = re.compile(r"([\w.]+)(\s*(?:<=|>=|!=|=|<|>|~)\s*)'([^']*)'")
_LINK_URL = re.compile(r"<([^>]*)>")
_WORD = re.compile(r"[\w@%+][\w@%+.\-]*[\w@%+]|[\w@%+]")
_SEPARATOR = re.compile(r"[.\-@+]")
_SPLIT = re.compile(r"[\s\"'<>(){}\[\],;&=?/\\:]+")

_TOO_DEEP = "(a JSON body nested too deeply to scrub: not recorded)"

# What a leak report calls each kind of value (never the value itself).
_KIND_NAMES = {
    "given": "a given or middle name",
    "family": "a family name",
    "email": "an email address",
    "phone": "a phone or SMS number",
    "username": "a username",
    "identifier": "an identifier",
    "date": "a birth date",
    "text": "a free-text value (title, location, comment, vendor field...)",
    "id": "an original sourcedId (pseudonymise_ids=True)",
    "full": "a full name",
}
# Kinds distinctive enough to look for everywhere, also in protocol headers.
_DISTINCTIVE_KINDS = frozenset({"email", "phone", "username", "identifier", "id"})

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_ENUM_TYPES = (
    StatusType,
    OrgType,
    RoleType,
    SessionType,
    ClassType,
    Importance,
    ScoreStatus,
    GUIDType,
)


def _fold(value: str) -> str:
    return re.sub(r"[\s_\-]", "", value.lower())


# Values of enumerated fields, folded; with the spellings Skyward is known to send.
_ENUM_VALUES = frozenset(
    [_fold(member.value) for enum_type in _ENUM_TYPES for member in enum_type]
    + [_fold(spelling) for spelling in _SPELLINGS]
)


def _vocabulary() -> frozenset[str]:
    """Words of the OneRoster 1.1 API itself, kept in free text (folded to lower case)."""
    words: set[str] = {"get", "put", "delete", "post", "oneroster", "ims", "v1p1", "oauth"}
    words.update(member.value.lower() for enum_type in _ENUM_TYPES for member in enum_type)
    for op in OPERATIONS:
        words.update(part.lower() for part in op.path.split("/") if part and "{" not in part)
        words.update(key.lower() for key in op.envelope_keys)
        words.add(op.model.__name__.lower())
        words.update(_camel(field.name).lower() for field in attrs.fields(op.model))
    return frozenset(words)


_VOCABULARY = _vocabulary()


def _is_date(value: str) -> bool:
    match = _DATE.match(value)
    return match is not None and _DATE_TIME_ZONE.fullmatch(value, match.end()) is not None


def _kept_string(key: str, value: str) -> bool:
    """Whether a string value of field ``key`` is known to carry no personal data."""
    if not value:
        return True
    if key in _ENUM_FIELDS:
        return _fold(value) in _ENUM_VALUES
    if key in _CODE_FIELDS:
        return _CODE.fullmatch(value) is not None
    if key in _DATE_FIELDS:
        return _is_date(value)
    if key == "grades":
        return value in _GRADES
    if key == "periods":
        return _PERIOD.fullmatch(value) is not None
    if key == "scope":
        return all(_SCOPE_PART.fullmatch(part) and "@" not in part for part in value.split())
    return False


def _is_person(record: Mapping[str, Any]) -> bool:
    return any(marker in record for marker in _PERSON_MARKERS)


def _words(text: str) -> list[str]:
    return [word for word in _SPLIT.split(text) if word]


# --- the error ----------------------------------------------------------------------------


@attrs.frozen
class LeakPlace:
    """Where a value that should have been scrubbed was found (never the value).

    Attributes:
        kind: what kind of value it is, e.g. ``"the Secret"`` or ``"a family name"``.
        place: where it is, e.g. ``"interaction 3, response body $.users[2].email"``.
    """

    kind: str
    place: str

    def __str__(self) -> str:
        return f"{self.kind} in {self.place}"


class RecordingLeakError(OneRosterError):
    """A recording still held a secret or a personal value, so it was not written.

    Attributes:
        kinds: which kinds of value were found (e.g. ``"the Secret"``), never the values.
        places: every finding with its place in the cassette (interaction number, request
            or response, header name or JSON path).
        path: the cassette path that was not written.
    """

    _SHOWN = 10

    def __init__(self, places: Iterable[LeakPlace], path: str) -> None:
        self.places = tuple(places)
        self.kinds = tuple(dict.fromkeys(found.kind for found in self.places))
        self.path = path
        shown = "; ".join(str(found) for found in self.places[: self._SHOWN])
        more = len(self.places) - self._SHOWN
        if more > 0:
            shown += f"; and {more} more"
        super().__init__(
            f"the recording was not written to {path}: it still contains {shown}. "
            "Nothing was saved; check where the value travels (a URL, a header, a vendor "
            "field) and add it to the scrubbing (secrets=...) or report it as a bug"
        )


# --- pseudonyms ----------------------------------------------------------------------------


def _word(digest: bytes, start: int, syllables: int) -> str:
    letters = []
    for index in range(syllables):
        byte = digest[(start + index) % len(digest)]
        letters.append(_CONSONANTS[byte % len(_CONSONANTS)] + _VOWELS[(byte // 16) % 5])
    return "".join(letters)


def _format_pseudonym(d: bytes, kind: str) -> str:
    number = int.from_bytes(d[8:16], "big")
    if kind == "given":
        return _word(d, 0, 3).capitalize()
    if kind == "family":
        return _word(d, 3, 4).capitalize()
    if kind == "username":
        return f"{_word(d, 0, 2)}.{_word(d, 2, 3)}{number % 1000:03d}"
    if kind == "email":
        return f"{_word(d, 0, 2)}.{_word(d, 2, 3)}{number % 1000:03d}@example.invalid"
    if kind == "phone":
        return f"(555) 9{number % 100:02d}-{(number // 100) % 10000:04d}"
    if kind == "identifier":
        return f"PSN{number % 10**10:010d}"
    if kind == "date":
        return f"{1900 + d[0] % 28:04d}-{1 + d[1] % 12:02d}-{1 + d[2] % 28:02d}"
    if kind == "id":
        return "id-" + d[:8].hex()
    return "redacted-" + d[:5].hex()


class _Pseudonyms:
    """Consistent pseudonyms: HMAC-SHA256 of the value under a key that is never stored."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._by_original: dict[str, str] = {}
        self.issued: set[str] = set()
        self.originals: dict[str, str] = {}  # original -> kind
        self.lock = threading.RLock()

    def of(self, value: str, kind: str) -> str:
        with self.lock:
            if value in self.issued or value == REDACTED:
                # vcrpy runs the request filter again on filtered requests: idempotent.
                return value
            found = self._by_original.get(value)
            if found is None:
                found = self._make(value, kind)
                self._by_original[value] = found
                self.issued.add(found)
            self.originals.setdefault(value, kind)
            return found

    def known(self, value: str) -> str | None:
        """The pseudonym already given to ``value``, if any."""
        with self.lock:
            return self._by_original.get(value)

    def _make(self, value: str, kind: str) -> str:
        counter = 0
        while True:
            message = f"{kind}\x00{counter}\x00{value}".encode()
            digest = hmac.new(self._key, message, hashlib.sha256).digest()
            candidate = _format_pseudonym(digest, kind)
            # A pseudonym must never equal a real value seen so far (or another pseudonym).
            if candidate not in self.originals and candidate not in self.issued:
                return candidate
            counter += 1


# --- scrubbing -----------------------------------------------------------------------------


def _compile_templates() -> list[re.Pattern[str]]:
    patterns = []
    for path in sorted({op.path for op in OPERATIONS}):
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        patterns.append(re.compile(regex + "/?"))
    return patterns


_TEMPLATES = _compile_templates()


class _Secrets:
    """The secret values of a session: configured ones and tokens issued while recording."""

    def __init__(self, settings: SkywardSettings, extra: Iterable[str]) -> None:
        self.key = settings.key
        public = settings.base_url + " " + (settings.token_url or "")
        named: list[tuple[str, str]] = []
        # A Key that is part of the URLs is public anyway; it cannot be scrubbed from paths.
        if settings.key and settings.key not in public:
            named.append(("the Key", settings.key))
        if settings.secret:
            named.append(("the Secret", settings.secret))
        if settings.access_token:
            named.append(("the access token", settings.access_token))
        named += [("a value passed in secrets=", value) for value in extra if value]
        self._named = [(kind, v) for kind, v in named if len(v) >= _MIN_SECRET_LENGTH]
        self._basic: str | None = None
        if settings.key and settings.secret:
            pair = f"{quote_plus(settings.key)}:{quote_plus(settings.secret)}"
            self._basic = base64.b64encode(pair.encode()).decode()
        self._issued: set[str] = set()
        self._lock = threading.Lock()

    def issued(self, token: str) -> None:
        with self._lock:
            self._issued.add(token)

    def forms(self) -> list[tuple[str, str]]:
        """(kind, form) for every secret in every encoding, longest first."""
        with self._lock:
            issued = [("an access token issued during the session", t) for t in self._issued]
        forms: list[tuple[str, str]] = []
        for kind, value in self._named + issued:
            if len(value) >= _MIN_SECRET_LENGTH:
                forms += [
                    (kind, form) for form in {value, quote(value, safe=""), quote_plus(value)}
                ]
        if self._basic is not None:
            forms.append(("the Key and Secret (HTTP Basic)", self._basic))
        # Longest first, so a secret containing another is replaced whole.
        return sorted(forms, key=lambda item: len(item[1]), reverse=True)

    def replace(self, text: str) -> str:
        for _kind, form in self.forms():
            text = text.replace(form, REDACTED)
        return text


class _Scrubber:
    """Scrubs interactions while recording; :class:`_LeakCheck` checks the result."""

    def __init__(
        self,
        settings: SkywardSettings,
        *,
        extra_secrets: Iterable[str],
        pii: bool,
        pseudonymise_ids: bool,
        key: bytes | None,
    ) -> None:
        self.settings = settings
        self.pii = pii
        self.pseudonymise_ids = pseudonymise_ids
        self.pseudonyms = _Pseudonyms(key if key is not None else _secrets.token_bytes(32))
        self.secrets = _Secrets(settings, extra_secrets)
        self.clear_ids: set[str] = set()
        self.full_names: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        root = urlsplit(settings.api_root).path
        self.vocabulary = _VOCABULARY | {part.lower() for part in root.split("/") if part}

    def seen(self) -> tuple[dict[str, str], set[str], list[tuple[str, str]]]:
        """Original values replaced (with their kind), sourcedIds kept, full names seen."""
        with self.pseudonyms.lock:
            originals = dict(self.pseudonyms.originals)
        with self._lock:
            return originals, set(self.clear_ids), list(self.full_names)

    # values -------------------------------------------------------------------------------

    def sourced_id(self, value: str) -> str:
        if self.pseudonymise_ids:
            return self.pseudonyms.of(value, "id")
        with self._lock:
            self.clear_ids.add(value)
        return value

    def string(self, key: str, value: str) -> Any:
        """The stored form of the string ``value`` of field ``key``."""
        if key == "sourcedId":
            return self.sourced_id(value)
        if key == "href":
            return self.map_url(value)
        if key == "password" and value:
            return REDACTED
        if not self.pii or _kept_string(key, value):
            return self.secrets.replace(value)
        if key in _NULLED_FIELDS:
            return None
        if key in _DESCRIPTION_FIELDS:
            return self.free_text(value)
        return self.pseudonyms.of(value, _PERSON_FIELDS.get(key, "text"))

    def scalar(self, key: str, value: Any, vendor: bool) -> Any:
        """The stored form of a number, boolean or null."""
        if not self.pii or value is None:
            return value
        if key in _NULLED_FIELDS or key in _PERSON_FIELDS:
            return None  # e.g. a phone number sent as a JSON number
        if (vendor or key.lower() not in _VOCABULARY) and _PERSONAL_KEY.search(key):
            return None  # a vendor field such as guardianPhone
        return value

    def free_text(self, text: str) -> str:
        """Readable free text: lower-case words and OneRoster terms kept, the rest replaced."""
        text = self.secrets.replace(text)
        return _WORD.sub(lambda match: self._free_word(match.group(0)), text)

    def _free_word(self, word: str) -> str:
        known = self._known(word)
        if known is not None:
            return known
        inner = self._known_inside(word)
        if inner is not None:
            # An id or email inside a longer word ("req-ISD123-usr-1"): the same pseudonym
            # as everywhere else, and the rest of the word read on its own.
            start, end, mapped = inner
            return self.free_text(word[:start]) + mapped + self.free_text(word[end:])
        if (
            not self.pii
            or (word.isascii() and word.isalpha() and word.islower())
            or word.lower() in self.vocabulary
        ):
            return word
        return self.pseudonyms.of(word, "text")

    def _known(self, word: str) -> str | None:
        """What ``word`` becomes when it was seen before (a pseudonym, a kept id), else None."""
        known = self.pseudonyms.known(word)
        if known is not None:
            return known
        with self._lock:
            clear = word in self.clear_ids
        if clear or word == REDACTED or word in self.pseudonyms.issued:
            return word
        return None

    def _known_inside(self, word: str) -> tuple[int, int, str] | None:
        """The longest known value inside ``word`` between separators, with its position."""
        separators = list(_SEPARATOR.finditer(word))
        starts = [0, *(m.end() for m in separators)]
        ends = [*(m.start() for m in separators), len(word)]
        best: tuple[int, int, str] | None = None
        for start in starts:
            for end in ends:
                if end <= start or (start, end) == (0, len(word)):
                    continue
                if best is not None and end - start <= best[1] - best[0]:
                    continue
                mapped = self._known(word[start:end])
                if mapped is not None:
                    best = (start, end, mapped)
        return best

    # JSON ---------------------------------------------------------------------------------

    def scrub_json(self, value: Any, key: str = "", vendor: bool = False) -> Any:
        if isinstance(value, list):
            return [self.scrub_json(item, key, vendor) for item in value]
        if isinstance(value, dict):
            return self._scrub_object(value, vendor)
        if isinstance(value, str):
            if key in _TOKEN_FIELDS and value:
                self.secrets.issued(value)
                return REDACTED
            return self.string(key, value) if not vendor else self._vendor_string(key, value)
        return self.scalar(key, value, vendor)

    def _scrub_object(self, value: Mapping[str, Any], vendor: bool) -> dict[str, Any]:
        given, family = value.get("givenName"), value.get("familyName")
        named = isinstance(given, str) and isinstance(family, str) and given and family
        if self.pii and named and _is_person(value):
            with self._lock:
                self.full_names.add((str(given), str(family)))
        return {
            name: self.scrub_json(item, name, vendor or name == "metadata")
            for name, item in value.items()
        }

    def _vendor_string(self, key: str, value: str) -> Any:
        # Vendor data (metadata, extensions) has no known vocabulary: only references stay.
        if key in ("sourcedId", "href", "password") or key in _TOKEN_FIELDS:
            return self.string(key, value)
        if not self.pii or not value:
            return self.secrets.replace(value)
        kind = "email" if "@" in value else _PERSON_FIELDS.get(key, "text")
        return self.pseudonyms.of(value, kind)

    def scrub_text(self, text: str, content_type: str) -> str:
        """A body: JSON by field, form by parameter, anything else as free text."""
        stripped = text.lstrip()
        if stripped.startswith(("{", "[")):
            try:
                data = json.loads(text)
                scrubbed = self.scrub_json(data)
            except ValueError:
                return self.free_text(text)
            except RecursionError:
                # Nested too deeply to walk: nothing of it can be shown to be safe.
                return _TOO_DEEP
            return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":"))
        if "x-www-form-urlencoded" in content_type or "grant_type=" in text:
            return "&".join(
                f"{quote_plus(name)}={self._form_value(name, value)}"
                for name, value in parse_qsl(text, keep_blank_values=True)
            )
        return self.free_text(text)

    def _form_value(self, name: str, value: str) -> str:
        return quote_plus(self.secrets.replace(value)) if name in _KEPT_FORM_FIELDS else REDACTED

    # URLs ---------------------------------------------------------------------------------

    def map_url(self, url: str) -> str:
        """Drop credentials and scrub ids, filter literals and other values in a URL."""
        parts = urlsplit(url)
        path = self._map_path(parts.path)
        query = self._map_query(url, parts.query) if parts.query else parts.query
        return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))

    def _map_query(self, url: str, query: str) -> str:
        secret_values = set(secret_query_values(url))
        kept: list[tuple[str, str]] = []
        for name, value in parse_qsl(query, keep_blank_values=True):
            lowered = name.lower()
            if (
                lowered.startswith("oauth_")
                or lowered in _TOKEN_FIELDS | _SECRET_FIELDS
                or (value and value in secret_values)
            ):
                continue
            if lowered == "filter":
                value = _FILTER_PREDICATE.sub(self._map_predicate, value)
            elif lowered not in _KEPT_QUERY_PARAMS and value and self.pii:
                value = self.pseudonyms.of(value, "text")
            kept.append((name, self.secrets.replace(value)))
        return "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in kept)

    def _map_predicate(self, match: re.Match[str]) -> str:
        field, operator, literal = match.group(1), match.group(2), match.group(3)
        mapped = self.string(field.split(".")[-1], literal) if literal else literal
        return f"{field}{operator}'{'' if mapped is None else mapped}'"

    def _map_path(self, path: str) -> str:
        index = path.lower().find(ONEROSTER_PATH)
        cut = index + len(ONEROSTER_PATH) if index >= 0 else 0
        prefix, rest = path[:cut], path[cut:]
        for pattern in _TEMPLATES:
            match = pattern.fullmatch(rest)
            if match is None or not match.groupdict():
                continue
            pieces = []
            last = 0
            for name in match.groupdict():
                start, end = match.span(name)
                mapped = self.sourced_id(unquote(rest[start:end]))
                pieces += [rest[last:start], quote(mapped, safe="")]
                last = end
            pieces.append(rest[last:])
            return prefix + "".join(pieces)
        return path

    # headers ------------------------------------------------------------------------------

    def header(self, name: str, value: str) -> str:
        lowered = name.lower()
        if lowered in ("link", "location", "content-location"):
            if lowered == "link":
                return _LINK_URL.sub(lambda m: f"<{self.map_url(m.group(1))}>", value)
            return self.map_url(value)
        if lowered in _PROTOCOL_HEADERS:
            return self.secrets.replace(value)
        return self.free_text(value)

    # vcrpy hooks --------------------------------------------------------------------------

    def request(self, request: Any) -> Any:
        """``before_record_request``: the request as it may be stored."""
        request.uri = self.map_url(request.uri)
        for name in list(request.headers):
            if name.lower() in _DROPPED_HEADERS:
                del request.headers[name]
            else:
                request.headers[name] = self.header(name, str(request.headers[name]))
        body = request.body
        if isinstance(body, bytes | str) and body:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            content_type = str(request.headers.get("Content-Type", "")).lower()
            request.body = self.scrub_text(text, content_type).encode("utf-8")
            _set_header(request.headers, "Content-Length", str(len(request.body)))
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """``before_record_response``: the response as it may be stored."""
        headers: dict[str, Any] = response.get("headers", {})
        for name in list(headers):
            if name.lower() in _DROPPED_HEADERS:
                del headers[name]
            else:
                values = headers[name] if isinstance(headers[name], list) else [headers[name]]
                headers[name] = [self.header(name, str(value)) for value in values]
        body = response.get("body", {}).get("string")
        if isinstance(body, bytes | str) and body:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            content_type = " ".join(
                str(v) for n, vs in headers.items() if n.lower() == "content-type" for v in vs
            ).lower()
            encoded = self.scrub_text(text, content_type).encode("utf-8")
            response["body"]["string"] = encoded
            _set_header(headers, "Content-Length", [str(len(encoded))])
        return response


def _set_header(headers: Any, name: str, value: Any) -> None:
    for existing in list(headers):
        if existing.lower() == name.lower():
            headers[existing] = value
            return


# --- the check before writing ----------------------------------------------------------------


@attrs.define
class _Place:
    """One string of the cassette and where it is; ``free`` when it is not protocol data."""

    where: str
    text: str
    free: bool


def _is_free_word(word: str) -> bool:
    """Whether a field name or path segment could be data rather than a OneRoster term."""
    return word.lower() not in _VOCABULARY


def _json_places(where: str, data: Any, path: str = "$", key: str = "") -> Iterator[_Place]:
    if isinstance(data, dict):
        for name, item in data.items():
            # Field names are not scrubbed (a vendor may key data by a person): checked.
            yield _Place(f"{where} {path} (a field name)", str(name), _is_free_word(str(name)))
            yield from _json_places(where, item, f"{path}.{name}", str(name))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _json_places(where, item, f"{path}[{index}]", key)
    elif isinstance(data, str):
        yield _Place(f"{where} {path}", data, not _kept_string(key, data))
    elif data is not None:
        yield _Place(f"{where} {path}", str(data), False)


def _url_places(where: str, url: str) -> Iterator[_Place]:
    # The most precise places first: a finding is reported at the first place it occurs.
    parts = urlsplit(url)
    for segment in parts.path.split("/"):
        if segment:
            yield _Place(f"{where} path", unquote(segment), _is_free_word(unquote(segment)))
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        free = name.lower() not in ("limit", "offset")
        yield _Place(f"{where} query {name}", value, free)
        for field, _op, literal in _FILTER_PREDICATE.findall(value):
            yield _Place(f"{where} filter {field}", literal, True)
    yield _Place(where, url, False)


def _body_places(where: str, body: Any) -> Iterator[_Place]:
    if not isinstance(body, bytes | str) or not body:
        return
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        if "=" in text and " " not in text.strip():
            for name, value in parse_qsl(text, keep_blank_values=True):
                yield _Place(f"{where} body field {name}", value, name not in _KEPT_FORM_FIELDS)
        else:
            yield _Place(f"{where} body text", text, True)
    else:
        yield from _json_places(f"{where} body", data)
    yield _Place(f"{where} body", text, False)


def _header_places(where: str, headers: Mapping[str, Any]) -> Iterator[_Place]:
    for name, values in headers.items():
        for value in values if isinstance(values, list) else [values]:
            place = f"{where} header {name}"
            lowered = str(name).lower()
            yield _Place(place, str(value), lowered not in _DATES_AND_COUNTS)
            for url in _LINK_URL.findall(str(value)) if lowered == "link" else ():
                yield from _url_places(f"{place} URL", url)


def _cassette_places(cassette_dict: Mapping[str, Any]) -> Iterator[_Place]:
    requests = cassette_dict.get("requests", [])
    responses = cassette_dict.get("responses", [])
    for number, (request, response) in enumerate(zip(requests, responses, strict=False), 1):
        where = f"interaction {number}"
        yield from _url_places(f"{where}, request URI", request.uri)
        yield from _header_places(f"{where}, request", request.headers)
        yield from _body_places(f"{where}, request", request.body)
        yield from _header_places(f"{where}, response", response.get("headers", {}))
        yield from _body_places(f"{where}, response", response.get("body", {}).get("string"))


class _WordIndex:
    """Runs of up to three words of many texts, each with the first place it occurs in."""

    LONGEST = 3

    def __init__(self) -> None:
        self.runs: dict[str, str] = {}
        self.long_texts: list[tuple[str, str]] = []

    def add(self, place: _Place) -> None:
        words = _words(place.text)
        self.runs.setdefault(place.text, place.where)
        for length in range(1, self.LONGEST + 1):
            for start in range(len(words) - length + 1):
                self.runs.setdefault(" ".join(words[start : start + length]), place.where)
        if len(words) > self.LONGEST:
            self.long_texts.append((place.where, place.text))

    def find(self, value: str) -> str | None:
        """The place where ``value`` occurs as whole words, or ``None``."""
        found = self.runs.get(value)
        if found is not None:
            return found
        words = _words(value)
        if not words:
            return None
        if len(words) <= self.LONGEST:
            return self.runs.get(" ".join(words))
        return next((where for where, text in self.long_texts if value in text), None)


class _LeakCheck:
    """Searches a whole cassette for secrets and original values before it is written."""

    def __init__(self, scrubber: _Scrubber) -> None:
        self.scrubber = scrubber

    def find(self, cassette_dict: Mapping[str, Any]) -> list[LeakPlace]:
        places = list(_cassette_places(cassette_dict))
        found = self._secrets(places)
        everywhere, free = _WordIndex(), _WordIndex()
        for place in places:
            everywhere.add(place)
            if place.free:
                free.add(place)
        found += self._originals(everywhere, free)
        return list(dict.fromkeys(found))

    def _secrets(self, places: list[_Place]) -> list[LeakPlace]:
        found: list[LeakPlace] = []
        key = self.scrubber.secrets.key
        for kind, form in self.scrubber.secrets.forms():
            for place in places:
                # The Key may be an ordinary word: look for it as whole words only.
                hit = form in _words(place.text) if form == key else form in place.text
                if hit:
                    found.append(LeakPlace(kind, place.where))
                    break
        return found

    def _originals(self, everywhere: _WordIndex, free: _WordIndex) -> list[LeakPlace]:
        originals, clear_ids, full_names = self.scrubber.seen()
        found: list[LeakPlace] = []
        for original, kind in originals.items():
            if original in clear_ids and kind != "id":
                continue  # e.g. an identifier equal to the sourcedId, which is kept
            # Distinctive values are looked for everywhere; names, short values and texts
            # only where personal data can be (protocol data holds words like "Sun", "May"
            # or "4": a date, a count).
            distinctive = kind in _DISTINCTIVE_KINDS and len(original) >= _MIN_DISTINCTIVE_LENGTH
            index = everywhere if distinctive else free
            where = index.find(original)
            if where is not None:
                found.append(LeakPlace(_KIND_NAMES.get(kind, "a personal value"), where))
        for given, family in full_names:
            where = everywhere.find(f"{given} {family}")
            if where is not None:
                found.append(LeakPlace(_KIND_NAMES["full"], where))
        return found


# --- vcrpy plumbing ----------------------------------------------------------------------------


class _CheckingPersister:
    """Never loads (a recording always starts afresh); checks, then writes atomically."""

    def __init__(self, scrubber: _Scrubber) -> None:
        self.check = _LeakCheck(scrubber)
        self.leak: RecordingLeakError | None = None
        self.saved = False

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        from vcr.persisters.filesystem import CassetteNotFoundError

        raise CassetteNotFoundError()

    def save_cassette(self, cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        from vcr.serialize import serialize

        path = Path(cassette_path)
        found = self.check.find(cassette_dict)
        if found:
            # Raised by the recording context after vcrpy has unpatched: raising here
            # would leave HTTP patched.
            self.leak = RecordingLeakError(found, str(path))
            return
        _write_atomically(path, serialize(cassette_dict, serializer))
        self.saved = True


def _write_atomically(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a cassette is committed
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class _ReplayPersister:
    """Loads a cassette, pointing recorded ``Link`` URLs at the host being replayed.

    The client refuses next-page links to another host, and a cassette recorded against
    one host is replayed against any other.
    """

    def __init__(self, origin: str | None) -> None:
        self.origin = origin

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(cassette_path)
        if not path.is_file():
            raise CassetteNotFoundError()
        loaded = deserialize(path.read_text(encoding="utf-8"), serializer)
        if self.origin is not None:
            for response in loaded[1]:
                headers = response.get("headers", {})
                for name in list(headers):
                    if name.lower() == "link":
                        headers[name] = [
                            _LINK_URL.sub(lambda m: f"<{self._moved(m.group(1))}>", str(value))
                            for value in headers[name]
                        ]
        return loaded

    def _moved(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.scheme or self.origin is None:
            return url
        origin = urlsplit(self.origin)
        return urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, parts.fragment))

    @staticmethod
    def save_cassette(cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        raise RuntimeError("a replayed cassette is never written")  # pragma: no cover


def _query_matcher(r1: Any, r2: Any) -> None:
    """Match query strings, ignoring OAuth 1 parameters and their order."""

    def significant(request: Any) -> list[tuple[str, str]]:
        return [(n, v) for n, v in request.query if not n.lower().startswith("oauth_")]

    first, second = significant(r1), significant(r2)
    if first != second:
        raise AssertionError(f"{first} != {second}")


def _strip_credentials(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() in _DROPPED_HEADERS:
            del request.headers[name]
    return request


def _import_vcr() -> Any:
    """vcrpy, imported on first use (importing the adapter stays light), or a clear error."""
    return require_extra("vcr", extra="recording", purpose="recording Skyward sessions")


def _vcr() -> vcr.VCR:
    vcr_module = _import_vcr()
    recorder: vcr.VCR = vcr_module.VCR(decode_compressed_response=True, record_on_exception=False)
    recorder.register_matcher("skyward_query", _query_matcher)
    return recorder


# --- public API ----------------------------------------------------------------------------


@contextmanager
def record_http(
    cassette_path: str | os.PathLike[str],
    settings: SkywardSettings,
    *,
    secrets: Iterable[str] = (),
    pii: bool = True,
    pseudonymise_ids: bool = False,
    pseudonym_key: bytes | None = None,
) -> Iterator[None]:
    """Record every HTTP interaction made inside the block into a scrubbed cassette.

    Use :func:`record_session` to get a connected client; this lower-level form records
    whatever code runs inside (e.g. a sync that builds its own client).

    Args:
        cassette_path: where to write the cassette (YAML); replaced when the recording
            succeeds, left untouched otherwise.
        settings: the settings used for the session (their secrets are scrubbed).
        secrets: more secret strings to scrub and check for.
        pii: pseudonymise personal data and free text (see the module documentation).
        pseudonymise_ids: also replace sourcedIds, consistently everywhere.
        pseudonym_key: the HMAC key for pseudonyms; random (and never stored) by default.
            Give one only for reproducible tests.

    Raises:
        RecordingLeakError: a secret or personal value would have been written; nothing
            was written.
    """
    scrubber = _Scrubber(
        settings,
        extra_secrets=secrets,
        pii=pii,
        pseudonymise_ids=pseudonymise_ids,
        key=pseudonym_key,
    )
    persister = _CheckingPersister(scrubber)
    recorder = _vcr()
    recorder.register_persister(persister)
    with recorder.use_cassette(
        os.fspath(cassette_path),
        record_mode="all",
        match_on=MATCH_ON,
        before_record_request=scrubber.request,
        before_record_response=scrubber.response,
    ):
        yield
    if persister.leak is not None:
        raise persister.leak


@contextmanager
def record_session(
    cassette_path: str | os.PathLike[str],
    settings: SkywardSettings,
    *,
    secrets: Iterable[str] = (),
    pii: bool = True,
    pseudonymise_ids: bool = False,
    pseudonym_key: bytes | None = None,
    **connect_options: Any,
) -> Iterator[OneRosterClient]:
    """Record a client session into a scrubbed cassette; yields the connected client.

    Example::

        with record_session("tests/cassettes/springisd.yaml", SkywardSettings.from_env()) as client:
            client.users.list().all()

    Args:
        cassette_path: where to write the cassette.
        settings: the real settings for the session.
        secrets: more secret strings to scrub and check for.
        pii: pseudonymise personal data and free text (see the module documentation).
        pseudonymise_ids: also replace sourcedIds, consistently everywhere.
        pseudonym_key: the HMAC key for pseudonyms; random and never stored by default.
        connect_options: passed to :func:`skyward_adapter.connect`.

    Raises:
        RecordingLeakError: a secret or personal value would have been written; nothing
            was written.
    """
    with (
        record_http(
            cassette_path,
            settings,
            secrets=secrets,
            pii=pii,
            pseudonymise_ids=pseudonymise_ids,
            pseudonym_key=pseudonym_key,
        ),
        connect(settings, **connect_options) as client,
    ):
        yield client


@contextmanager
def replay_http(
    cassette_path: str | os.PathLike[str], *, origin: str | None = None
) -> Iterator[None]:
    """Answer every HTTP request inside the block from the cassette; nothing goes out.

    Requests match on method, path and query (OAuth 1 parameters ignored), in recorded
    order; a request the cassette does not hold raises vcrpy's
    ``CannotOverwriteExistingCassetteException``.

    Args:
        cassette_path: the recorded cassette.
        origin: the scheme, host and port replayed (e.g. ``https://springisd.skyward.com``);
            recorded next-page links are pointed there so the client follows them.

    Raises:
        FileNotFoundError: there is no cassette at ``cassette_path``.
    """
    path = Path(cassette_path)
    if not path.is_file():
        raise FileNotFoundError(f"no cassette at {path}: record it first")
    recorder = _vcr()
    recorder.register_persister(_ReplayPersister(origin))
    with recorder.use_cassette(
        os.fspath(path),
        record_mode="none",
        match_on=MATCH_ON,
        before_record_request=_strip_credentials,
    ):
        yield


@contextmanager
def replay_session(
    cassette_path: str | os.PathLike[str],
    settings: SkywardSettings | None = None,
    **connect_options: Any,
) -> Iterator[OneRosterClient]:
    """Replay a recorded session offline; yields a client connected with dummy credentials.

    Args:
        cassette_path: the recorded cassette.
        settings: settings to connect with; :func:`replay_settings` when omitted. Any host
            works (hosts are not matched), but the OneRoster path, the token path and the
            page size must be those of the recording.
        connect_options: passed to :func:`skyward_adapter.connect`.
    """
    chosen = settings if settings is not None else replay_settings(cassette_path)
    parts = urlsplit(chosen.oneroster_base_url)
    with (
        replay_http(cassette_path, origin=f"{parts.scheme}://{parts.netloc}"),
        connect(chosen, **connect_options) as client,
    ):
        yield client


@attrs.define
class _RecordedShape:
    """What :func:`replay_settings` reads from a cassette's requests."""

    base_url: str | None = None
    token_url: str | None = None
    scopes: str | None = None
    limits: Counter[str] = attrs.field(factory=Counter)

    def read(self, request: Mapping[str, Any]) -> None:
        parts = urlsplit(str(request.get("uri", "")))
        body = request.get("body")
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        index = parts.path.lower().find(ONEROSTER_PATH)
        if index >= 0 and self.base_url is None:
            self.base_url = urlunsplit((parts.scheme, parts.netloc, parts.path[:index], "", ""))
        if request.get("method") == "POST" and "grant_type=" in text and self.token_url is None:
            self.token_url = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
            self.scopes = dict(parse_qsl(text)).get("scope")
        self.limits.update(value for name, value in parse_qsl(parts.query) if name == "limit")


def replay_settings(cassette_path: str | os.PathLike[str]) -> SkywardSettings:
    """Dummy settings that replay a cassette: its URLs, page size and auth, fake credentials.

    Raises:
        FileNotFoundError: no cassette there.
        ValueError: the cassette holds no OneRoster request.
    """
    _import_vcr()
    from vcr.serializers import yamlserializer

    path = Path(cassette_path)
    data = yamlserializer.deserialize(path.read_text(encoding="utf-8"))
    shape = _RecordedShape()
    for interaction in data.get("interactions", []):
        shape.read(interaction.get("request", {}))
    if shape.base_url is None:
        raise ValueError(f"{path} holds no OneRoster request ({ONEROSTER_PATH})")
    options: dict[str, Any] = {
        "base_url": shape.base_url,
        "key": "replay-key",
        "secret": "replay-secret",
        "allow_insecure_http": urlsplit(shape.base_url).scheme == "http",
    }
    if shape.token_url is not None:
        options.update(token_url=shape.token_url, auth="oauth2", scopes=shape.scopes or ())
    else:
        options["auth"] = "oauth1"
    if shape.limits:
        options["page_size"] = int(shape.limits.most_common(1)[0][0])
    return SkywardSettings(**options)
