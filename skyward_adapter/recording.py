"""Record a Skyward session into a scrubbed vcrpy cassette, and replay it without credentials.

For test suites that want real Skyward answers without a network or secrets in the
repository. Needs ``vcrpy`` (a development dependency).

Recording (:func:`record_session`) scrubs every interaction before it is kept:

* credentials: the ``Authorization`` and cookie headers are removed; ``oauth_*`` query
  parameters are dropped; ``client_id``, ``client_secret`` (and assertions, passwords)
  in token request bodies become ``REDACTED``; ``access_token`` (and refresh tokens) in
  token responses become ``REDACTED``; any configured secret found in a body or header is
  replaced.
* personal data (``pii=True``): the names, email, phone, sms, username, identifier,
  ``userIds`` identifiers, password, birth date, city of birth and personal ``metadata``
  of users and demographics are replaced by pseudonyms. The same original value gets
  the same pseudonym everywhere in the cassette: pseudonyms are derived with
  HMAC-SHA256 under a random per-cassette key that is never stored, then turned into
  readable fake names, usernames, ``@example.invalid`` emails, ``555`` phone numbers.
* sourcedIds and references are kept, so records still resolve to each other; with
  ``pseudonymise_ids=True`` they are replaced consistently everywhere (bodies, hrefs,
  request URLs, ``Link`` headers, filter literals), so references still resolve.

Before the cassette is written, it is searched for every configured secret (Key,
Secret, access token, every token issued during the session, ``secrets=``) and every
original personal value that was replaced. If any is found, nothing is written and
:class:`RecordingLeakError` names which kind of value leaked (never the value).

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
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

import vcr
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.serialize import deserialize, serialize
from vcr.serializers import yamlserializer

from oneroster_client.client import OneRosterClient
from oneroster_client.endpoints import OPERATIONS
from oneroster_client.errors import OneRosterError
from skyward_adapter.connection import connect
from skyward_adapter.settings import ONEROSTER_PATH, SkywardSettings

__all__ = [
    "REDACTED",
    "RecordingLeakError",
    "record_http",
    "record_session",
    "replay_http",
    "replay_session",
    "replay_settings",
]

REDACTED = "REDACTED"
"""What a removed credential is replaced with in a cassette."""

MATCH_ON = ("method", "path", "skyward_query")
"""How replayed requests are matched to recorded ones."""

_MIN_SECRET_LENGTH = 4
_MIN_SUBSTRING_LENGTH = 6
_DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_FORM_FIELDS = frozenset(
    {"client_id", "client_secret", "client_assertion", "password", "refresh_token", "code"}
)
_TOKEN_FIELDS = frozenset({"access_token", "refresh_token", "id_token"})

# Personal fields of users and demographics, and the kind of pseudonym each gets.
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
    "cityOfBirth": "text",
}
_PERSON_MARKERS = frozenset({"givenName", "familyName", "username", "enabledUser", "birthDate"})
_PERSONAL_KEY = re.compile(
    r"name|address|street|city|zip|postal|phone|mobile|mail|birth|dob|ssn|social|guardian|"
    r"parent|contact|emergency|gender|ethnic|race|language|note",
    re.IGNORECASE,
)
_LOOKS_PERSONAL = re.compile(r"@|\d{3}\D?\d{3}\D?\d{4}")
_FILTER_PREDICATE = re.compile(r"([\w.]+)(\s*(?:<=|>=|!=|=|<|>|~)\s*)'([^']*)'")
_LINK_URL = re.compile(r"<([^>]*)>")

# What a leak report calls each kind of value (never the value itself).
_KIND_NAMES = {
    "given": "a given or middle name",
    "family": "a family name",
    "email": "an email address",
    "phone": "a phone or SMS number",
    "username": "a username",
    "identifier": "a user identifier",
    "date": "a birth date",
    "text": "a personal metadata value",
    "id": "an original sourcedId (pseudonymise_ids=True)",
}
# Kinds distinctive enough to look for inside longer text, not only as whole values.
_SUBSTRING_KINDS = frozenset({"email", "phone", "username", "identifier", "id"})

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


class RecordingLeakError(OneRosterError):
    """A recording still held a secret or a personal value, so it was not written.

    Attributes:
        kinds: which kinds of value were found (e.g. ``"the Secret"``), never the values.
        path: the cassette path that was not written.
    """

    def __init__(self, kinds: Iterable[str], path: str) -> None:
        self.kinds = tuple(kinds)
        self.path = path
        super().__init__(
            f"the recording was not written to {path}: it still contains "
            f"{', '.join(self.kinds)}. Nothing was saved; check where the value travels "
            "(a URL, a header, a vendor field) and add it to the scrubbing (secrets=...) "
            "or report it as a bug"
        )


# --- pseudonyms ----------------------------------------------------------------------------


def _word(digest: bytes, start: int, syllables: int) -> str:
    letters = []
    for index in range(syllables):
        byte = digest[(start + index) % len(digest)]
        letters.append(_CONSONANTS[byte % len(_CONSONANTS)] + _VOWELS[(byte // 16) % 5])
    return "".join(letters)


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
            if value in self.issued:
                # vcrpy runs the request filter again on filtered requests: idempotent.
                return value
            found = self._by_original.get(value)
            if found is None:
                found = self._make(value, kind)
                self._by_original[value] = found
                self.issued.add(found)
            self.originals.setdefault(value, kind)
            return found

    def _make(self, value: str, kind: str) -> str:
        counter = 0
        while True:
            message = f"{kind}\x00{counter}\x00{value}".encode()
            digest = hmac.new(self._key, message, hashlib.sha256).digest()
            candidate = self._format(digest, kind)
            # A pseudonym must never equal a real value seen so far (or another pseudonym).
            if candidate not in self.originals and candidate not in self.issued:
                return candidate
            counter += 1

    @staticmethod
    def _format(d: bytes, kind: str) -> str:
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


# --- scrubbing -----------------------------------------------------------------------------


def _compile_templates() -> list[re.Pattern[str]]:
    patterns = []
    for path in sorted({op.path for op in OPERATIONS}):
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        patterns.append(re.compile(regex + "/?"))
    return patterns


_TEMPLATES = _compile_templates()


class _Scrubber:
    """Scrubs interactions while recording and checks the cassette before it is written."""

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
        self.issued_tokens: set[str] = set()
        self.clear_ids: set[str] = set()
        self.full_names: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        public = settings.base_url + " " + (settings.token_url or "")
        named: list[tuple[str, str]] = []
        # A Key that is part of the URLs is public anyway; it cannot be scrubbed from paths.
        if settings.key and settings.key not in public:
            named.append(("the Key", settings.key))
        if settings.secret:
            named.append(("the Secret", settings.secret))
        if settings.access_token:
            named.append(("the access token", settings.access_token))
        named += [("a value passed in secrets=", value) for value in extra_secrets if value]
        self.named_secrets = [(kind, v) for kind, v in named if len(v) >= _MIN_SECRET_LENGTH]

    # secrets ------------------------------------------------------------------------------

    def _all_secrets(self) -> list[tuple[str, str]]:
        with self._lock:
            issued = [("an access token issued during the session", t) for t in self.issued_tokens]
        return self.named_secrets + [(k, v) for k, v in issued if len(v) >= _MIN_SECRET_LENGTH]

    def _secret_forms(self) -> list[tuple[str, str]]:
        forms: list[tuple[str, str]] = []
        for kind, value in self._all_secrets():
            for form in {value, quote(value, safe=""), quote_plus(value)}:
                forms.append((kind, form))
        if self.settings.key and self.settings.secret:
            pair = f"{quote_plus(self.settings.key)}:{quote_plus(self.settings.secret)}"
            basic = base64.b64encode(pair.encode()).decode()
            forms.append(("the Key and Secret (HTTP Basic)", basic))
        # Longest first, so a secret containing another is replaced whole.
        return sorted(forms, key=lambda item: len(item[1]), reverse=True)

    def _replace_secrets(self, text: str) -> str:
        for _kind, form in self._secret_forms():
            text = text.replace(form, REDACTED)
        return text

    # URLs ---------------------------------------------------------------------------------

    def map_url(self, url: str) -> str:
        """Drop OAuth parameters and pseudonymise ids and personal filter literals in a URL."""
        parts = urlsplit(url)
        path = self._map_path(parts.path) if self.pseudonymise_ids else parts.path
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            kept: list[tuple[str, str]] = []
            changed = False
            for name, value in pairs:
                lowered = name.lower()
                if lowered.startswith("oauth_") or lowered in _TOKEN_FIELDS | _SECRET_FORM_FIELDS:
                    changed = True
                    continue
                if lowered == "filter":
                    mapped = self._map_filter(value)
                    changed = changed or mapped != value
                    value = mapped
                kept.append((name, value))
            if changed:
                query = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in kept)
        return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))

    def _map_path(self, path: str) -> str:
        lowered = path.lower()
        index = lowered.find(ONEROSTER_PATH)
        prefix, rest = (
            (path[: index + len(ONEROSTER_PATH)], path[index + len(ONEROSTER_PATH) :])
            if index >= 0
            else ("", path)
        )
        for pattern in _TEMPLATES:
            match = pattern.fullmatch(rest)
            if match is None or not match.groupdict():
                continue
            pieces = []
            last = 0
            for name in match.groupdict():
                start, end = match.span(name)
                original = unquote(rest[start:end])
                pieces.append(rest[last:start])
                pieces.append(quote(self.pseudonyms.of(original, "id"), safe=""))
                last = end
            pieces.append(rest[last:])
            return prefix + "".join(pieces)
        return path

    def _map_filter(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            field, operator, literal = match.group(1), match.group(2), match.group(3)
            leaf = field.split(".")[-1]
            if self.pseudonymise_ids and leaf == "sourcedId" and literal:
                literal = self.pseudonyms.of(literal, "id")
            elif self.pii and leaf in _PERSON_FIELDS and literal:
                literal = self.pseudonyms.of(literal, _PERSON_FIELDS[leaf])
            return f"{field}{operator}'{literal}'"

        return _FILTER_PREDICATE.sub(replace, text)

    # JSON ---------------------------------------------------------------------------------

    def scrub_json(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.scrub_json(item) for item in value]
        if not isinstance(value, dict):
            return value
        person = _is_person(value)
        given, family = value.get("givenName"), value.get("familyName")
        if (
            self.pii
            and person
            and isinstance(given, str)
            and isinstance(family, str)
            and given.strip()
            and family.strip()
        ):
            with self.pseudonyms.lock:
                self.full_names.add((given, family))
        output: dict[str, Any] = {}
        for name, item in value.items():
            output[name] = self._scrub_field(name, item, person)
        return output

    def _scrub_field(self, name: str, item: Any, person: bool) -> Any:
        if name in _TOKEN_FIELDS and isinstance(item, str) and item:
            with self._lock:
                self.issued_tokens.add(item)
            return REDACTED
        if name == "sourcedId" and isinstance(item, str):
            if self.pseudonymise_ids:
                return self.pseudonyms.of(item, "id")
            with self._lock:
                self.clear_ids.add(item)
            return item
        if name == "href" and isinstance(item, str) and self.pseudonymise_ids:
            return self.map_url(item)
        if name == "password" and item:
            return REDACTED
        if self.pii and person:
            if name in _PERSON_FIELDS and isinstance(item, str) and item:
                return self.pseudonyms.of(item, _PERSON_FIELDS[name])
            if name == "userIds" and isinstance(item, list):
                return [self._scrub_user_id(entry) for entry in item]
            if name == "metadata" and isinstance(item, dict):
                return self._scrub_metadata(item, personal=False)
        return self.scrub_json(item)

    def _scrub_user_id(self, entry: Any) -> Any:
        if isinstance(entry, dict) and isinstance(entry.get("identifier"), str):
            entry = dict(entry)
            if entry["identifier"]:
                entry["identifier"] = self.pseudonyms.of(entry["identifier"], "identifier")
        return entry

    def _scrub_metadata(self, value: Any, *, personal: bool) -> Any:
        if isinstance(value, dict):
            return {
                key: self._scrub_metadata(item, personal=personal or _personal_key(key))
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._scrub_metadata(item, personal=personal) for item in value]
        if isinstance(value, str) and value and (personal or _LOOKS_PERSONAL.search(value)):
            kind = "email" if "@" in value else "text"
            return self.pseudonyms.of(value, kind)
        return value

    # vcrpy hooks --------------------------------------------------------------------------

    def request(self, request: Any) -> Any:
        """``before_record_request``: the request as it may be stored."""
        for name in list(request.headers):
            if name.lower() in _DROPPED_HEADERS:
                del request.headers[name]
        request.uri = self.map_url(request.uri)
        body = request.body
        if isinstance(body, bytes | str) and body:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            content_type = str(request.headers.get("Content-Type", "")).lower()
            if "x-www-form-urlencoded" in content_type or (
                "grant_type=" in text and not text.lstrip().startswith("{")
            ):
                pairs = parse_qsl(text, keep_blank_values=True)
                text = "&".join(
                    f"{quote_plus(n)}={REDACTED if n in _SECRET_FORM_FIELDS else quote_plus(v)}"
                    for n, v in pairs
                )
            else:
                text = self._scrub_text_json(text)
            request.body = self._replace_secrets(text).encode("utf-8")
            _set_header(request.headers, "Content-Length", str(len(request.body)))
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """``before_record_response``: the response as it may be stored."""
        headers: dict[str, Any] = response.get("headers", {})
        for name in list(headers):
            if name.lower() in _DROPPED_HEADERS:
                del headers[name]
            elif name.lower() == "link":
                headers[name] = [
                    _LINK_URL.sub(lambda m: f"<{self.map_url(m.group(1))}>", str(value))
                    for value in headers[name]
                ]
        body = response.get("body", {}).get("string")
        if isinstance(body, bytes | str) and body:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            text = self._replace_secrets(self._scrub_text_json(text))
            encoded = text.encode("utf-8")
            response["body"]["string"] = encoded
            _set_header(headers, "Content-Length", [str(len(encoded))])
        for name in list(headers):
            headers[name] = [self._replace_secrets(str(value)) for value in headers[name]]
        return response

    def _scrub_text_json(self, text: str) -> str:
        try:
            data = json.loads(text)
        except ValueError:
            return text
        return json.dumps(self.scrub_json(data), ensure_ascii=False, separators=(",", ":"))

    # the check ----------------------------------------------------------------------------

    def find_leaks(self, cassette_dict: Mapping[str, Any]) -> list[str]:
        """Which kinds of secret or personal value still appear in the cassette."""
        seen = _Seen()
        for request in cassette_dict.get("requests", []):
            seen.url(request.uri)
            seen.texts += [str(v) for v in request.headers.values()]
            seen.body(request.body)
        for response in cassette_dict.get("responses", []):
            for header_values in response.get("headers", {}).values():
                for value in header_values if isinstance(header_values, list) else [header_values]:
                    seen.texts.append(str(value))
                    for url in _LINK_URL.findall(str(value)):
                        seen.url(url)
            seen.body(response.get("body", {}).get("string"))
        whole = "\n".join(seen.texts)
        words = _Words(whole)
        found: list[str] = []

        def report(name: str) -> None:
            if name not in found:
                found.append(name)

        key = self.settings.key
        for kind, form in self._secret_forms():
            # The Key may be an ordinary word: look for it as whole words only.
            if words.contains(form) if form == key else form in whole:
                report(kind)
        with self.pseudonyms.lock:
            originals = dict(self.pseudonyms.originals)
            full_names = list(self.full_names)
        for original, kind in originals.items():
            if original in self.clear_ids and kind != "id":
                continue  # e.g. an identifier equal to the sourcedId, which is kept
            if kind in _SUBSTRING_KINDS:
                hit = original in seen.values or (
                    len(original) >= _MIN_SUBSTRING_LENGTH and words.contains(original)
                )
            else:
                # Names and dates are ordinary words elsewhere (a subject called "Art"):
                # they count where personal data lives, in person records and URLs.
                hit = original in seen.person_values or original in seen.url_values
            if hit:
                report(_KIND_NAMES.get(kind, "a personal value"))
        for given, family in full_names:
            if words.contains(f"{given} {family}"):
                report("a full name")
        return found


class _Words:
    """The words of a text, and runs of up to three of them, for fast whole-word lookups."""

    LONGEST = 3

    def __init__(self, text: str) -> None:
        self.text = text
        words = [word for word in _TOKEN_SPLIT.split(text) if word]
        self.runs: set[str] = set(words)
        for length in range(2, self.LONGEST + 1):
            self.runs.update(
                " ".join(words[start : start + length]) for start in range(len(words) - length + 1)
            )

    def contains(self, value: str) -> bool:
        words = [word for word in _TOKEN_SPLIT.split(value) if word]
        if not words:
            return False
        if len(words) > self.LONGEST:
            return value in self.text
        return " ".join(words) in self.runs


_TOKEN_SPLIT = re.compile(r"[\s\"'<>(){}\[\],;&=?/\\]+")


class _Seen:
    """The strings of a cassette: whole texts, JSON values, values of person records, URLs."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.values: set[str] = set()
        self.person_values: set[str] = set()
        self.url_values: set[str] = set()

    def url(self, url: str) -> None:
        self.texts.append(url)
        parts = urlsplit(url)
        found = {unquote(segment) for segment in parts.path.split("/") if segment}
        for _name, value in parse_qsl(parts.query, keep_blank_values=True):
            found.add(value)
            found.update(literal for _f, _o, literal in _FILTER_PREDICATE.findall(value))
        self.url_values |= found
        self.values |= found

    def body(self, body: Any) -> None:
        if not isinstance(body, bytes | str) or not body:
            return
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        self.texts.append(text)
        try:
            data = json.loads(text)
        except ValueError:
            self.values.update(v for _n, v in parse_qsl(text, keep_blank_values=True))
            return
        stack: list[tuple[Any, bool]] = [(data, False)]
        while stack:
            item, in_person = stack.pop()
            if isinstance(item, dict):
                person = in_person or _is_person(item)
                stack.extend((value, person) for value in item.values())
            elif isinstance(item, list):
                stack.extend((value, in_person) for value in item)
            elif isinstance(item, str):
                self.values.add(item)
                if in_person:
                    self.person_values.add(item)


def _personal_key(key: str) -> bool:
    return bool(_PERSONAL_KEY.search(key))


def _is_person(record: Mapping[str, Any]) -> bool:
    return any(marker in record for marker in _PERSON_MARKERS) or (
        "sex" in record and "sourcedId" in record
    )


def _set_header(headers: Any, name: str, value: Any) -> None:
    for existing in list(headers):
        if existing.lower() == name.lower():
            headers[existing] = value
            return


class _CheckingPersister:
    """Never loads (a recording always starts afresh); checks, then writes atomically."""

    def __init__(self, scrubber: _Scrubber) -> None:
        self.scrubber = scrubber
        self.leak: RecordingLeakError | None = None
        self.saved = False

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        raise CassetteNotFoundError()

    def save_cassette(self, cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        path = Path(cassette_path)
        kinds = self.scrubber.find_leaks(cassette_dict)
        if kinds:
            # Raised by the recording context after vcrpy has unpatched: raising here
            # would leave HTTP patched.
            self.leak = RecordingLeakError(kinds, str(path))
            return
        data = serialize(cassette_dict, serializer)
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
        self.saved = True


class _ReplayPersister:
    """Loads a cassette, pointing recorded ``Link`` URLs at the host being replayed.

    The client refuses next-page links to another host, and a cassette recorded against
    one host is replayed against any other.
    """

    def __init__(self, origin: str | None) -> None:
        self.origin = origin

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
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


def _vcr() -> vcr.VCR:
    recorder = vcr.VCR(decode_compressed_response=True, record_on_exception=False)
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
        pii: pseudonymise personal data.
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
        pii: pseudonymise personal data (see the module documentation).
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


def replay_settings(cassette_path: str | os.PathLike[str]) -> SkywardSettings:
    """Dummy settings that replay a cassette: its URLs, page size and auth, fake credentials.

    Raises:
        FileNotFoundError: no cassette there.
        ValueError: the cassette holds no OneRoster request.
    """
    path = Path(cassette_path)
    data = yamlserializer.deserialize(path.read_text(encoding="utf-8"))
    base_url: str | None = None
    token_url: str | None = None
    scopes: str | None = None
    limits: Counter[str] = Counter()
    for interaction in data.get("interactions", []):
        request = interaction.get("request", {})
        uri = str(request.get("uri", ""))
        parts = urlsplit(uri)
        body = request.get("body")
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        index = parts.path.lower().find(ONEROSTER_PATH)
        if index >= 0 and base_url is None:
            base_url = urlunsplit((parts.scheme, parts.netloc, parts.path[:index], "", ""))
        if request.get("method") == "POST" and "grant_type=" in text and token_url is None:
            token_url = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
            scopes = dict(parse_qsl(text)).get("scope")
        for name, value in parse_qsl(parts.query):
            if name == "limit":
                limits[value] += 1
    if base_url is None:
        raise ValueError(f"{path} holds no OneRoster request ({ONEROSTER_PATH})")
    options: dict[str, Any] = {
        "base_url": base_url,
        "key": "replay-key",
        "secret": "replay-secret",
        "allow_http": urlsplit(base_url).scheme == "http",
    }
    if token_url is not None:
        options.update(token_url=token_url, auth="oauth2", scopes=scopes or ())
    else:
        options["auth"] = "oauth1"
    if limits:
        options["page_size"] = int(limits.most_common(1)[0][0])
    return SkywardSettings(**options)
