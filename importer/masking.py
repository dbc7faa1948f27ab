"""Make text fit for any output: the api key masked, undecodable file-name bytes escaped."""

from __future__ import annotations

import re
from functools import lru_cache

MASK = "***"
# Secrets at least this long are also found encoded, escaped or split up; a shorter one
# would match too much ordinary text once spread over separators.
FUZZY_FROM = 8
# Between two characters of the secret: whitespace or a tag (an HTML body that wraps part
# of an echoed key in <b>...</b>). Possessive, so a failed match never backtracks into it.
_GAP = r"(?:\s|<[^<>]{0,100}>)*+"
_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}


def mask_secret(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced by ***.

    For secrets of 8 characters or more these forms are masked too: URL-encoded (%XX in
    either case), JSON-escaped (\\uXXXX, \\/), HTML character references (&#49; &#x31;
    &amp;), and the secret split by whitespace or tags between its characters. The
    pattern cannot backtrack, so the work stays linear in the length of `text`.
    """
    if not secret or not text:
        return text
    text = text.replace(secret, MASK)
    if len(secret) < FUZZY_FROM:
        return text
    return _pattern(secret).sub(MASK, text)


@lru_cache(maxsize=8)
def _pattern(secret: str) -> re.Pattern[str]:
    return re.compile(_GAP.join(_forms(ch) for ch in secret))


def _forms(ch: str) -> str:
    """A regex for one character of the secret in any of the encodings above."""
    code = ord(ch)
    forms = [
        re.escape(ch),
        f"(?i:%{code:02x})",
        f"(?i:\\\\u{code:04x})",
        f"&#0*{code};",
        f"(?i:&#x0*{code:x};)",
    ]
    if ch in _NAMED:
        forms.append(f"&{_NAMED[ch]};")
    if ch == "/":
        forms.append(r"\\/")
    if ch == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def displayable(text: str) -> str:
    """`text` with lone surrogates shown as \\xNN (or \\uNNNN), so it can be printed,
    stored in SQLite or written into an xlsx. Python keeps the bytes of a file name that
    are not UTF-8 as lone surrogates (surrogateescape); nothing else produces them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub(_escaped, text)
    return text


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
