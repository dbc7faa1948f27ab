"""Row problems gathered column-wide into messages: the templates, quoting, row order.

It judges nothing: the rules (leads.py) say which rows have which problem; this turns them
into one `Problem` per row and rule, with the message filled in without a loop per row.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from importer.models import Problem

# Message per problem code. {field} is the lead field, {value} the cell as typed (trimmed,
# quoted), {new} the normalized value; other names are filled by the rule that reports it.
MESSAGES: dict[str, str] = {
    "missing_record_id": "{field}: missing; every row needs one",
    "duplicate_record_id": "{field}: {value} is also on row {other}; only the {kept} is sent",
    "missing_address": "{field}: no fullAddress, and no {parts}",
    "invalid_state": "{field}: {value} is not a US state or territory code",
    "invalid_zip": "{field}: {value} is not a 5-digit zip code",
    "invalid_mobile": "{field}: {value} {why}",
    "invalid_full_address": "{field}: {value} {why}",
    "not_us_address": "{field}: {value} {why}",
    "military_address": "{field}: {value} {why}",
    "invalid_email": "{field}: {value} is not a valid email address",
    "invalid_integer": "{field}: {value} is not a whole number (0 to 9223372036854775807)",
    "invalid_boolean": "{field}: {value} is not 1/0, true/false or yes/no",
    "invalid_browser_redirect": "{field}: {value} is not profile, scheduling or deal",
    "missing_calendar": "{field}: scheduling needs calendar or calendar_id",
    "missing_deal": "{field}: deal needs createDeal (the deal to open)",
    "state_normalized": "{field}: {value} read as {new}",
    "zip_zero_padded": "{field}: {value} read as {new} (Excel drops leading zeros)",
    "zip_from_number": "{field}: {value} was stored as a number; sent as {new}",
    "zip_plus4_assumed": "{field}: {value} taken as ZIP+4; sent as {new}",
    "zip_state_mismatch": "{field}: {new} is in {owner}, not {state}",
    "zip_unknown_prefix": "{field}: {new} is in no US state's zip range",
    "mobile_recovered_from_number": "{field}: {value} was stored as a number; sent as {new}",
    "mobile_extension_dropped": (
        "{field}: {value} has an extension, which is dropped; sent as {new}"
    ),
    "po_box": "{field}: {value} is a PO box; a site survey needs the house's street address",
    "browser_redirect_ignored": (
        "{field}: {value} only matters in a browser; a batch import is not redirected"
    ),
}

_ADDRESS_PARTS = ("fullAddress", "state", "city", "zip")
_LONGEST_QUOTE = 60


@dataclass
class ProblemReport:
    """Problems gathered column-wide: per (field, code), the rows and their messages."""

    typed: dict[str, pd.Series]  # each field's cells as typed (trimmed)
    frame: pd.DataFrame  # the normalized fields
    error_codes: frozenset[str]  # the codes that make a row invalid
    parsed: pd.DataFrame | None = None  # fullAddress parsed, when the leads have one
    parts: list[tuple[np.ndarray, str, str, np.ndarray]] = dataclasses.field(default_factory=list)

    def add(self, field: str, code: str, labels: pd.Index, **extra: object) -> None:
        """Messages for `labels`; `extra` fills the template's other names, and may
        replace the cell ({value}) and its normalized form ({new})."""
        if len(labels) == 0:
            return
        values: dict[str, object] = {"field": field}
        if field in self.typed:
            values["value"] = quoted(self.typed[field].loc[labels].to_numpy(dtype=object))
        if field in self.frame:
            values["new"] = self.frame[field].loc[labels].to_numpy(dtype=object)
        values.update(extra)
        message = render(MESSAGES[code], len(labels), values)
        self.parts.append((labels.to_numpy(dtype=np.int64), field, code, message))

    def problems(self) -> list[Problem]:
        """Problems ordered by row, then by the field's column position, errors first."""
        if not self.parts:
            return []
        position = self._positions()
        sizes = [len(rows) for rows, _, _, _ in self.parts]
        # Per part: its place within a row (field position, then errors before warnings).
        place = [
            2 * position.get(field, -1) + (code not in self.error_codes)
            for _, field, code, _ in self.parts
        ]
        rows = np.concatenate([rows for rows, _, _, _ in self.parts])
        part = np.repeat(np.arange(len(self.parts)), sizes)
        order = np.lexsort((np.repeat(place, sizes), rows))
        messages = np.concatenate([message for _, _, _, message in self.parts])[order]
        fields = [field for _, field, _, _ in self.parts]
        codes = [code for _, _, code, _ in self.parts]
        errors = [code in self.error_codes for code in codes]
        return [
            Problem(row, fields[which], codes[which], message, errors[which])
            for row, which, message in zip(
                rows[order].tolist(), part[order].tolist(), messages.tolist(), strict=True
            )
        ]

    def _positions(self) -> dict[str, int]:
        columns = list(self.frame.columns)
        position = {name: index for index, name in enumerate(columns)}
        if "address" not in position:
            parts = [position[name] for name in _ADDRESS_PARTS if name in position]
            position["address"] = min(parts, default=len(columns))
        return position


def render(template: str, count: int, values: dict[str, object]) -> np.ndarray:
    """Fill a message template column-wide: plain strings, or arrays/Series of one per row."""
    message = np.full(count, "", dtype=object)
    for position, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        value = piece if position % 2 == 0 else values[piece]
        if isinstance(value, pd.Series):
            value = value.to_numpy(dtype=object)
        message = message + value
    return message


def quoted(values: np.ndarray) -> np.ndarray:
    """Cell text in double quotes, on one line, cut short when long."""
    text = pd.Series(values, dtype=object).str.replace(r"\s+", " ", regex=True)
    long = text.str.len() > _LONGEST_QUOTE
    text[long] = text[long].str.slice(0, _LONGEST_QUOTE - 3) + "..."
    return ('"' + text + '"').to_numpy(dtype=object)
