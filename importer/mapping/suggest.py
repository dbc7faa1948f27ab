"""Suggest a starting mapping YAML from a sheet's headers and cells; it never sends or validates."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from importer.errors import MappingError, OutputError
from importer.mapping.model import LEAD_FIELDS

# Header variants per lead field, compacted (lower-case, letters and digits only), best first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "integration_record_id": (
        "integrationrecordid", "leadid", "recordid", "externalid", "externalrecordid", "id",
        "contactid", "customerid", "custid", "clientid", "uniqueid", "leadnumber", "leadno",
        "recordnumber", "externalleadid", "sourceid",
    ),
    "first_name": ("firstname", "first", "givenname", "fname", "forename", "firstnm"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname", "lastnm"),
    "full_name": (
        "fullname", "name", "custname", "customername", "customer", "contactname", "leadname",
        "clientname", "homeownername", "homeowner", "ownername",
    ),
    "fullAddress": ("fulladdress", "completeaddress", "fulladdr"),
    "address": (
        "address", "street", "streetaddress", "address1", "addressline1", "street1",
        "streetaddress1", "addr", "addr1", "streetline1", "homeaddress", "propertyaddress",
        "serviceaddress", "mailingaddress", "line1",
    ),
    "city": ("city", "town", "locality", "cityname", "municipality", "citytown"),
    "state": (
        "state", "st", "stateregion", "region", "province", "stateprovince", "statecode",
        "stateabbr", "stateprovinceregion",
    ),
    "zip": (
        "zip", "zipcode", "postalcode", "postcode", "postal", "zippostalcode", "zip5",
        "zippostal", "postalzip",
    ),
    "email": ("email", "emailaddress", "emailaddr", "mail", "primaryemail", "contactemail"),
    "mobile": (
        "mobile", "mobilephone", "mobilephonenumber", "mobilenumber", "mobileno", "cell",
        "cellphone", "cellnumber", "cellphonenumber", "phone", "phonenumber", "phoneno", "ph",
        "primaryphone", "phone1", "tel", "telephone", "contactnumber", "homephone",
    ),
    "creator": ("creator", "createdby", "creatoremail"),
    "assign_to_email": (
        "assigntoemail", "repemail", "owneremail", "owner", "leadowner", "contactowner",
        "salesrep", "salesrepemail", "rep", "assignedto", "assignto", "assignedrep",
    ),
    "setter_email": ("setteremail", "setter", "appointmentsetter", "settername"),
    "lead_status": ("leadstatus", "status"),
    "lead_source": ("leadsource", "source", "utmsource", "sourcename"),
    "office_name": ("officename", "office", "branch", "territory", "salesoffice"),
    "add_note": ("addnote", "notes", "note", "comments", "comment", "remarks"),
    "createDeal": ("createdeal",),
    "calendar": ("calendar",),
    "calendar_id": ("calendarid",),
    "browser_redirect": ("browserredirect",),
    "ignore_validation": ("ignorevalidation",),
    "office_match": ("officematch",),
}  # fmt: skip
# A word inside a longer header ("Home Phone #", "Mailing Street") that names the field.
WORDS = {
    "phone": "mobile", "mobile": "mobile", "cell": "mobile", "telephone": "mobile",
    "email": "email", "zip": "zip", "postal": "zip", "postcode": "zip", "city": "city",
    "town": "city", "street": "address", "address": "address", "state": "state",
    "province": "state", "notes": "add_note", "comments": "add_note",
}  # fmt: skip
EMAIL_FIELDS = ("creator", "assign_to_email", "setter_email")  # people's names are common here
STATES = frozenset(  # USPS codes, territories included
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "  # noqa: SIM905
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)
SAMPLE_SIZE = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_CHARS = re.compile(r"^[\d\s().+-]+(\.0)?$")
_ZIP = re.compile(r"^\d{5}(-\d{4})?(\.0)?$")
_FULL_ADDRESS = re.compile(r",.*\b[A-Za-z]{2}\.?\s+\d{5}(-\d{4})?\s*$")
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 _./()+-]*")
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}


def _is_email(cell: str) -> bool:
    return bool(_EMAIL.match(cell))


def _is_full_address(cell: str) -> bool:
    return bool(_FULL_ADDRESS.search(cell))


def _looks_like_phone(cell: str) -> bool:
    digits = re.sub(r"\D", "", cell.removesuffix(".0"))
    return bool(_PHONE_CHARS.match(cell)) and (
        len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")
    )


# What cells of a column look like, and the lead field that kind of cell belongs to.
SNIFFERS: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("email", "email addresses", _is_email),
    ("mobile", "phone numbers", _looks_like_phone),
    ("zip", "zip codes", lambda c: bool(_ZIP.match(c))),
    ("state", "state codes", lambda c: c.upper() in STATES),
    ("fullAddress", "full addresses", _is_full_address),
)


@dataclass
class _Choice:
    column: str
    reason: str


@dataclass
class _Suggestion:
    columns: list[str]
    frame: pd.DataFrame
    placed: dict[str, _Choice] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # unplaced column -> why
    _samples: dict[str, list[str]] = field(default_factory=dict)

    def used(self, column: str) -> bool:
        return any(choice.column == column for choice in self.placed.values())

    def sample(self, column: str) -> list[str]:
        """Up to SAMPLE_SIZE non-empty cells from the top of the column, stripped."""
        if column not in self._samples:
            cells: list[str] = []
            if column in self.frame.columns:
                head = self.frame[column].head(SAMPLE_SIZE * 20).fillna("").astype(str)
                cells = [c.strip() for c in head.tolist() if c.strip()][:SAMPLE_SIZE]
            self._samples[column] = cells
        return self._samples[column]

    def share(self, column: str, test: Callable[[str], bool]) -> float:
        cells = self.sample(column)
        return sum(map(test, cells)) / len(cells) if cells else 0.0


def compact(header: str) -> str:
    """ "State/Region" -> "stateregion": the form headers are compared in."""
    return re.sub(r"[\W_]+", "", header.lower())


def _words(header: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", header)  # camelCase -> camel Case
    return [w for w in re.split(r"[\W_]+", spaced.lower()) if w]


def _header_candidates(columns: list[str]) -> list[tuple[int, int, int, str, str]]:
    """(tier, rank, column index, field, column) for every header that names a field."""
    candidates = []
    for index, column in enumerate(columns):
        key = compact(column)
        for name, variants in SYNONYMS.items():
            if key in variants:
                candidates.append((0, variants.index(key), index, name, column))
        for word in _words(column):
            if word in WORDS:
                candidates.append((1, 0, index, WORDS[word], column))
    return sorted(candidates)


def _match_headers(s: _Suggestion) -> None:
    for _tier, _rank, _index, name, column in _header_candidates(s.columns):
        if name in s.placed or s.used(column):
            if name in s.placed and not s.used(column) and column not in s.notes:
                s.notes[column] = f'{name} is already mapped from "{s.placed[name].column}"'
            continue
        if name in EMAIL_FIELDS and s.sample(column) and s.share(column, _is_email) < 0.5:
            s.notes[column] = f"the header suggests {name}, but the cells are not email addresses"
            continue
        s.placed[name] = _Choice(column, f'matched header "{column}"')
        s.notes.pop(column, None)


def _sniff_cells(s: _Suggestion) -> None:
    for column in s.columns:
        if s.used(column):
            continue
        for name, kind, test in SNIFFERS:
            if name not in s.placed and len(s.sample(column)) and s.share(column, test) >= 0.8:
                s.placed[name] = _Choice(column, f"cells look like {kind}")
                s.notes.pop(column, None)
                break


def _settle_address(s: _Suggestion) -> None:
    """A lone "Address" column with no city, state or zip beside it is a full address."""
    street = s.placed.get("address")
    if street is None or "fullAddress" in s.placed:
        return
    if s.share(street.column, _is_full_address) >= 0.8:
        s.placed["fullAddress"] = _Choice(street.column, "cells look like full addresses")
    elif not any(name in s.placed for name in ("city", "state", "zip")):
        reason = f'matched header "{street.column}"; no city, state or zip column beside it'
        s.placed["fullAddress"] = _Choice(street.column, reason)
    else:
        return
    del s.placed["address"]


def _hash_record_id(s: _Suggestion) -> tuple[str, str] | None:
    """(YAML, reason) for a hash id when no column holds one; None when one does."""
    if "integration_record_id" in s.placed:
        return None
    basis = [s.placed[n].column for n in ("email", "mobile") if n in s.placed]
    basis = basis or [
        s.placed[n].column for n in ("full_name", "first_name", "last_name", "fullAddress",
                                     "address", "zip") if n in s.placed
    ]  # fmt: skip
    basis = basis or list(s.columns)
    listed = ", ".join(_quote(c) for c in basis)
    why = f"no id column: a stable id from {', '.join(basis)}"
    return f"{{hash: [{listed}]}}", why


def _hidden(ch: str) -> bool:
    """A character a YAML reader may take as a line break (\\r, U+0085, U+2028, U+2029),
    or one a reviewer cannot see: controls, format and separator characters but the space."""
    return ch != " " and unicodedata.category(ch)[0] in "CZ"


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _flat(text: str) -> str:
    """Comment-safe text: ASCII controls (tab, line feed...) become spaces and every other
    hidden character shows as \\uXXXX, so none ends the comment (a header
    "Campaign<U+2028>  assign_to_email: ..." must stay one comment line)."""
    return "".join(
        " " if ch < " " or ch == "\x7f" else _escape(ch) if _hidden(ch) else ch for ch in text
    )


def _quote(text: str) -> str:
    """YAML scalar for `text`: plain when safe, else double-quoted with every hidden
    character escaped (YAML reads \\uXXXX and \\UXXXXXXXX back to the same character)."""
    if _PLAIN.fullmatch(text) and text == text.strip() and text.lower() not in _YAML_WORDS:
        return text
    body = "".join(_escape(ch) if _hidden(ch) else "\\" + ch if ch in '"\\' else ch for ch in text)
    return f'"{body}"'


def _render(s: _Suggestion, sheet: str | None, header_row: int, source_name: str | None) -> str:
    origin = f" from {source_name}" if source_name else ""
    lines = [
        f"# Suggested by enerflo-import suggest-mapping{_flat(origin)}.",
        "# Review every line before sending: the comments say why each column was chosen.",
        "version: 1",
    ]
    if sheet is not None or header_row != 1:
        lines.append("source:")
        lines += [f"  sheet: {_quote(sheet)}"] if sheet is not None else []
        lines += [f"  header_row: {header_row}"] if header_row != 1 else []
    entries = [(name, _quote(c.column), c.reason) for name, c in s.placed.items()]
    hashed = _hash_record_id(s)
    if hashed is not None:
        entries.append(("integration_record_id", *hashed))
    entries.sort(key=lambda entry: LEAD_FIELDS.index(entry[0]))
    width = max(len(f"  {name}: {value}") for name, value, _ in entries) + 2
    lines.append("lead:")
    lines += [f"{f'  {name}: {value}':<{width}}# {_flat(why)}" for name, value, why in entries]
    unplaced = [c for c in s.columns if not s.used(c)]
    if unplaced:
        lines += ["", "# Columns not placed (add them under lead: if they matter):"]
        lines += [
            f"#   {_flat(c)}" + (f": {_flat(s.notes[c])}" if c in s.notes else "") for c in unplaced
        ]
    return "\n".join(lines) + "\n"


def suggest_mapping(
    sheet_columns: list[str],
    frame: pd.DataFrame,
    sheet_name: str | None = None,
    header_row: int = 1,
    source_name: str | None = None,
) -> str:
    """Mapping YAML (with comments) that parses and fits the sheet as it stands.

    Headers are matched first (case, spacing, punctuation and common variants ignored),
    then unplaced columns are judged by up to 200 of their non-empty cells. Each column
    is used once. Without an id column the record id is a hash of email and phone.
    `sheet_name` and `header_row` go under `source:` (left out for a CSV's None and row 1).
    """
    s = _Suggestion([c for c in sheet_columns if c.strip()], frame)  # a blank name maps nothing
    _match_headers(s)
    _sniff_cells(s)
    _settle_address(s)
    return _render(s, sheet_name, header_row, source_name)


def write_suggestion(text: str, path: Path, force: bool = False) -> None:
    """Write the mapping; refuses (MappingError) to replace an existing file unless `force`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if force:
            _replace(path, text)
        else:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
    except FileExistsError as exc:
        raise MappingError(
            f"{path}: exists; use --force to overwrite it",
            hint="or write the suggestion somewhere else with -o",
        ) from exc
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the mapping ({exc.strerror or exc})") from exc


def _replace(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
