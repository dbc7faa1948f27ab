"""What a sheet's columns hold, judged on sampled rows (fill, uniqueness, kinds); maps nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from importer.syntax import looks_like_email
from importer.usps import STATE_CODES, STATE_NAMES

# A few hundred rows, spread over the whole sheet, say how full and how unique a column is
# (a sorted list can be empty at its tail) and keep a 100,000-row sheet quick.
SAMPLE_ROWS = 300
# What Excel (and exports such as Prodly's) write into a cell whose formula failed: not data.
ERROR_LITERALS = frozenset(
    {"#N/A", "#N/A N/A", "#NAME?", "#REF!", "#VALUE!", "#DIV/0!", "#NUM!", "#NULL!", "#SPILL!",
     "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#GETTING_DATA"}
)  # fmt: skip

_PHONE_CHARS = re.compile(r"^[\d\s().+-]+(\.0)?$")
_ZIP = re.compile(r"^\d{5}(-\d{4})?(\.0)?$")
_FULL_ADDRESS = re.compile(r",.*\b[A-Za-z]{2}\.?\s+\d{5}(-\d{4})?\s*$")
_URL = re.compile(
    r"^(https?://|www\.)\S+$|^[\w-]+(\.[\w-]+)*\.(com|net|org|io|biz|info|us|co)(/\S*)?$"
)
_DATE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})")
_DATE_TIME = re.compile(_DATE.pattern + r"[ T]+\d{1,2}:\d{2}")
_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d+)?|\d{1,3}(,\d{3})+(\.\d+)?)([eE][-+]?\d+)?$")
_IMAGE = re.compile(r"\.(jpe?g|png|gif|heic|heif|webp|bmp|tiff?)$", re.IGNORECASE)
_ID_CELL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/#-]*$")
_YES_NO = frozenset({"y", "n", "yes", "no", "true", "false", "t", "f", "0", "1", "x", "-"})
_STATE_WORDS = frozenset(name.lower() for name in STATE_NAMES.values())


def header_words(header: str) -> list[str]:
    """ "MailingPostalCode" -> mailing, postal, code; "State/Region" -> state, region."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", header)  # camelCase -> camel Case
    return [w for w in re.split(r"[\W_]+", spaced.lower()) if w]


def looks_like_phone(cell: str) -> bool:
    digits = re.sub(r"\D", "", cell.removesuffix(".0"))
    return bool(_PHONE_CHARS.match(cell)) and (
        len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")
    )


def looks_like_zip(cell: str) -> bool:
    return bool(_ZIP.match(cell))


def looks_like_state_code(cell: str) -> bool:
    return cell.upper() in STATE_CODES


def looks_like_state(cell: str) -> bool:
    return looks_like_state_code(cell) or cell.lower() in _STATE_WORDS


def looks_like_full_address(cell: str) -> bool:
    return bool(_FULL_ADDRESS.search(cell))


def looks_like_url(cell: str) -> bool:
    return bool(_URL.match(cell)) and not looks_like_email(cell)


def looks_like_json(cell: str) -> bool:
    return cell[:1] in "{[" and cell[-1:] in "}]"


def looks_like_date(cell: str) -> bool:
    return bool(_DATE.match(cell))


def looks_like_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell))


def looks_like_image_file(cell: str) -> bool:
    """A file name or relative path of a picture; a web address is not a file beside the sheet."""
    return bool(_IMAGE.search(cell)) and not cell.lower().startswith(("http:", "https:", "www."))


def looks_like_id(cell: str) -> bool:
    """One token with a digit that is not a number, date, phone, zip, email or web address."""
    return (
        bool(_ID_CELL.match(cell))
        and any(ch.isdigit() for ch in cell)
        and not (looks_like_email(cell) or looks_like_phone(cell) or looks_like_date(cell))
        and not (looks_like_url(cell) or "." in cell and looks_like_number(cell))
    )


def sample_positions(rows: int) -> np.ndarray:
    """Row positions to judge columns by: every row, or SAMPLE_ROWS spread evenly over them."""
    if rows <= SAMPLE_ROWS:
        return np.arange(rows)
    return np.unique(np.linspace(0, rows - 1, SAMPLE_ROWS).round().astype(int))


@dataclass
class ColumnProfile:
    """One column on the sampled rows: `cells` holds each row's stripped text, "" when the
    cell is empty or an Excel error literal such as #N/A."""

    name: str
    cells: tuple[str, ...]
    total_rows: int

    @cached_property
    def filled(self) -> list[str]:
        return [c for c in self.cells if c]

    @property
    def rows(self) -> int:
        return len(self.cells)

    @property
    def fill(self) -> float:
        return len(self.filled) / self.rows if self.rows else 0.0

    @property
    def empty(self) -> bool:
        return not self.filled

    @cached_property
    def distinct(self) -> list[str]:
        """Different filled values, in the order they first appear."""
        return list(dict.fromkeys(self.filled))

    @property
    def unique(self) -> bool:
        return len(self.distinct) == len(self.filled)

    def share(self, test: Callable[[str], bool]) -> float:
        """Of the filled cells, the part that passes `test` (0 when none is filled)."""
        return sum(map(test, self.filled)) / len(self.filled) if self.filled else 0.0

    def examples(self, count: int = 2, width: int = 30) -> str:
        """The first few different values, cut short: `Working - Contacted, Web` (each one in
        quotes when one of them has a comma)."""
        shown = [_cut(v, width) for v in self.distinct[:count]]
        return (
            ", ".join(f'"{v}"' for v in shown) if any("," in v for v in shown) else ", ".join(shown)
        )


def profile_columns(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, ColumnProfile]:
    """A profile of each named column on the same sampled rows (one not in `frame` is empty)."""
    positions = sample_positions(len(frame))
    profiles = {}
    for column in columns:
        cells: tuple[str, ...] = ()
        if column in frame.columns:
            values = frame[column].iloc[positions].fillna("").astype(str).tolist()
            cells = tuple(_clean(v) for v in values)
        else:
            cells = ("",) * len(positions)
        profiles[column] = ColumnProfile(column, cells, len(frame))
    return profiles


def rows_text(profile: ColumnProfile) -> str:
    """ "all 150 rows", or "all 300 sampled rows" when the sheet has more."""
    sampled = " sampled" if profile.rows < profile.total_rows else ""
    return f"all {profile.rows}{sampled} rows" if profile.rows != 1 else "the one row"


def percent(fill: float) -> str:
    return f"{round(fill * 100)} %"


# What an unplaced column looks like, first match wins: (name, test on cells).
_KINDS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("email addresses", looks_like_email),
    ("phone numbers", looks_like_phone),
    ("web addresses", looks_like_url),
    ("image files", looks_like_image_file),
    ("JSON data", looks_like_json),
    ("dates and times", lambda c: bool(_DATE_TIME.match(c))),
    ("dates", looks_like_date),
    ("zip codes", looks_like_zip),
    ("yes/no flags", lambda c: c.lower() in _YES_NO),
    ("numbers", looks_like_number),
    ("state names or codes", looks_like_state),
)


def describe(profile: ColumnProfile) -> str:
    """What the cells look like, in a few words: "dates", "a category (3 values: A, B, C)"."""
    if profile.empty:
        return (
            "empty on every row"
            if profile.rows == profile.total_rows
            else "empty on every sampled row"
        )
    for kind, test in _KINDS:
        if profile.share(test) >= 0.8:
            return kind
    values = len(profile.distinct)
    if values == 1 and len(profile.filled) > 1:
        return f"one value on every filled row ({profile.examples(1)})"
    if values <= 12 and len(profile.filled) >= 2 * values:
        return f"a category ({values} values: {profile.examples(3, 25)})"
    if len(profile.filled) >= 10 and profile.unique and profile.share(looks_like_id) == 1:
        return "ids"
    return f'text such as "{_cut(profile.distinct[0], 30)}"'


def _clean(value: str) -> str:
    text = value.strip()
    return "" if text in ERROR_LITERALS else text


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."
