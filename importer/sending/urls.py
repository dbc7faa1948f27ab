"""Check a base URL the way the HTTP stack will read it; never connects to anything."""

from __future__ import annotations

import ipaddress
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from importer.errors import UsageError

EXAMPLE_HINT = "use e.g. --base-url https://enerflo.io"
LOOPBACK_NAMES = ("localhost", "localhost.")


@dataclass(frozen=True)
class BaseUrl:
    """A base URL both parsers read alike: `text` has no trailing slash, query or userinfo."""

    scheme: str
    host: str  # lower-case, IPv6 without brackets
    port: int | None
    path: str

    @property
    def text(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{host}{port}{self.path}".rstrip("/")

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; plain http:// only for loopback hosts.

    Raises UsageError for anything the standard library and urllib3 (which requests
    connects with) could read as different hosts: backslashes, userinfo (`user@`),
    whitespace or control characters, a bad or out-of-range port.
    """
    return parse_base_url(base_url).text


def parse_base_url(base_url: str) -> BaseUrl:
    """Like `check_base_url`, with the parts; the one place a base URL is judged."""
    text = base_url.strip()
    _check_characters(base_url, text)
    ours, theirs = _both_readings(base_url, text)
    if (ours.scheme, ours.host, ours.port) != (theirs.scheme, theirs.host, theirs.port):
        raise UsageError(
            f'base url "{_shown(base_url)}" is ambiguous: it could reach {ours.host} or '
            f"{theirs.host}",
            hint=EXAMPLE_HINT,
        )
    if theirs.scheme == "http" and not theirs.loopback:
        raise UsageError(
            f"refusing plain http:// to {theirs.host}: the api key would travel unencrypted",
            hint="use https://, or http:// only for a local server (127.0.0.1, localhost, ::1)",
        )
    return theirs


def _check_characters(original: str, text: str) -> None:
    if "\\" in text:
        raise UsageError(f'base url "{_shown(original)}" contains a backslash', hint=EXAMPLE_HINT)
    odd = [ch for ch in text if unicodedata.category(ch)[0] in "CZ"]
    if odd:
        raise UsageError(
            f'base url "{_shown(original)}" contains a space or control character '
            f"({_codepoint(odd[0])})",
            hint="retype the URL; it may have been pasted with a hidden character",
        )


def _both_readings(original: str, text: str) -> tuple[BaseUrl, BaseUrl]:
    """The URL as urllib.parse reads it and as urllib3 (what connects) reads it."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f'base url "{_shown(original)}" is not an http(s) address', hint=EXAMPLE_HINT
        )
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise UsageError(
            f'base url "{_shown(original)}" must not carry a query or fragment',
            hint="give only scheme, host and optional path; the api key comes from ENERFLO_API_KEY",
        )
    if "@" in parts.netloc:
        raise UsageError(
            'the base url must not carry a user name or password (before "@")',
            hint="give only scheme, host, optional port and path",
        )
    ours = BaseUrl(parts.scheme, _host(parts.hostname), _port(original, parts), parts.path)
    try:
        url3 = parse_url(text)
    except LocationParseError as exc:
        message = f'base url "{_shown(original)}" cannot be parsed'
        raise UsageError(message, hint=EXAMPLE_HINT) from exc
    theirs = BaseUrl(
        (url3.scheme or "").lower(), _host(url3.host or ""), url3.port, url3.path or ""
    )
    return ours, theirs


def _port(original: str, parts) -> int | None:  # type: ignore[no-untyped-def]
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(
            f'base url "{_shown(original)}" has a port that is not a number from 1 to 65535',
            hint="e.g. https://enerflo.io or http://127.0.0.1:8765",
        )
    return port


def _host(host: str) -> str:
    return host.strip("[]").lower()


def _codepoint(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _shown(text: str) -> str:
    """The URL with characters that would garble a terminal line shown as U+XXXX."""
    return "".join(
        f"<{_codepoint(ch)}>" if unicodedata.category(ch)[0] == "C" else ch for ch in text
    )


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
