"""``Link`` headers (RFC 8288) and the query parameters of paging links.

OneRoster 1.1 servers announce the next page with ``Link: <url>; rel="next"``
(pagination). :func:`parse_link_header` reads such headers tolerantly: it never raises, whatever
the server sends, and it honours the grammar of RFC 8288 section 3 (commas and
semicolons inside ``<...>`` and inside quoted parameter values, backslash escapes,
several relation types in one ``rel``, case-insensitive relation types, only the first
``rel`` of a link counted).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urljoin, urlsplit

__all__ = ["int_param", "parse_link_header", "resolve_link"]

_WHITESPACE = " \t\r\n"
# Characters that end a bare (unquoted) parameter name or value.
_BARE_END = ";,=" + _WHITESPACE


def parse_link_header(value: object) -> dict[str, str]:
    """Parse an RFC 8288 ``Link`` header into ``{relation type: target}``.

    Relation types are lower-cased; when several links share one, the first wins.
    Malformed parts are skipped.

    Args:
        value: the header value (anything that is not a string gives an empty dict).

    Returns:
        The targets (as written, possibly relative) by relation type.
    """
    links: dict[str, str] = {}
    if not isinstance(value, str):
        return links
    for target, params in _LinkScanner(value).links():
        for relation in params.get("rel", "").split():
            links.setdefault(relation.lower(), target)
    return links


def resolve_link(target: str, request_url: str) -> str:
    """The absolute URL of a link ``target`` sent in the answer to ``request_url``.

    RFC 8288 section 3.2: a relative target is resolved against the URL of the request
    that received it (``</ims/oneroster/v1p1/users?offset=100>`` or ``<?offset=100>``).
    """
    return urljoin(request_url, target.strip())


def int_param(url: str, name: str) -> int | None:
    """The first query parameter ``name`` of ``url`` as an integer, or ``None``.

    ``None`` when the parameter is missing or not an integer (including numbers too long
    to convert).
    """
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == name:
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


class _LinkScanner:
    """A single left-to-right pass over a ``Link`` header; every step advances."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def links(self) -> list[tuple[str, dict[str, str]]]:
        found: list[tuple[str, dict[str, str]]] = []
        text = self.text
        while self.at < len(text):
            self._skip(_WHITESPACE + ",")
            if self.at >= len(text):
                break
            if text[self.at] != "<":
                self._skip_to_next_link()
                continue
            end = text.find(">", self.at + 1)
            if end < 0:
                break  # an unterminated target: nothing usable follows
            target = text[self.at + 1 : end].strip()
            self.at = end + 1
            found.append((target, self._params()))
        return found

    def _params(self) -> dict[str, str]:
        # link-param = token BWS [ "=" BWS ( token / quoted-string ) ], after ";"
        params: dict[str, str] = {}
        text = self.text
        while True:
            self._skip(_WHITESPACE)
            if self.at >= len(text) or text[self.at] == ",":
                return params
            if text[self.at] != ";":
                self._skip_to_next_link()
                return params
            self.at += 1
            self._skip(_WHITESPACE)
            name = self._bare().lower()
            self._skip(_WHITESPACE)
            value = ""
            if self.at < len(text) and text[self.at] == "=":
                self.at += 1
                self._skip(_WHITESPACE)
                value = self._quoted() if self._peek() == '"' else self._bare()
            if name:
                # RFC 8288 section 3.3: occurrences after the first are ignored.
                params.setdefault(name, value)

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _skip(self, characters: str) -> None:
        while self.at < len(self.text) and self.text[self.at] in characters:
            self.at += 1

    def _bare(self) -> str:
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in _BARE_END:
            self.at += 1
        return self.text[start : self.at]

    def _quoted(self) -> str:
        # quoted-string with quoted-pair (RFC 9110 section 5.6.4); may be unterminated.
        self.at += 1
        chars: list[str] = []
        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char == "\\" and self.at + 1 < len(text):
                chars.append(text[self.at + 1])
                self.at += 2
                continue
            self.at += 1
            if char == '"':
                break
            chars.append(char)
        return "".join(chars)

    def _skip_to_next_link(self) -> None:
        # Junk: move past the next comma outside quotes and angle brackets.
        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char == '"':
                self._quoted()
                continue
            if char == "<":
                end = text.find(">", self.at + 1)
                self.at = len(text) if end < 0 else end + 1
                continue
            self.at += 1
            if char == ",":
                return
