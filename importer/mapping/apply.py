"""Apply a mapping to a frame, one text column per output field; never judges cell values."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from importer.mapping.model import ColumnMapping, FieldSource, check_columns, parse_template
from importer.records import LeadRecords

# Hash input: drop everything but letters, digits, '@' and '.' so "Bob@X.com " == "bob@x.com".
_HASH_DROP = re.compile(r"[^\w@.]|_")
_HASH_DELETE = bytes(c for c in range(1, 128) if not (chr(c).isalnum() or chr(c) in "@."))


def apply_mapping(
    frame: pd.DataFrame, mapping: ColumnMapping, where: str = "the sheet"
) -> LeadRecords:
    """The lead records of every row: one text column per mapped field ("" when empty).

    Values are taken as they are: normalizing (zip, phone, state) is validation's job.
    Raises MappingError if the frame lacks a mapped column, naming it as in `where`.
    """
    check_columns(mapping, list(frame.columns), where)

    def part(sources: dict[str, FieldSource]) -> pd.DataFrame:
        columns = {name: _apply_source(frame, source) for name, source in sources.items()}
        return pd.DataFrame(columns, index=frame.index)

    return LeadRecords(
        lead=part(mapping.lead),
        appointment=part(mapping.appointment),
        files=[part(entry) for entry in mapping.survey_files],
    )


def _apply_source(frame: pd.DataFrame, source: FieldSource) -> pd.Series:
    if source.value is not None:
        return pd.Series(source.value, index=frame.index, dtype=object)
    if source.template is not None:
        values = render_template(frame, source.template)
    elif source.hash:
        values = hash_ids(frame, source.hash)
    else:
        values = frame[source.columns[0]].fillna("").astype(str)
    if source.default is not None:
        # Blank = empty or all whitespace; a plain loop is ~5x quicker than .str.strip here.
        blank = np.array([not v or v.isspace() for v in values.tolist()], dtype=bool)
        values = values.where(~blank, source.default)
    return values


def render_template(frame: pd.DataFrame, template: str) -> pd.Series:
    """Fill a template per row; empty parts drop out with the text that joins them.

    "{Street}, {City}, {State} {Zip}" with City empty gives "1 Main St, UT 84045": a
    separator is kept only between two non-empty parts (the one after the earlier part),
    the text before the first and after the last column only when some part is non-empty.
    """
    literals, columns = parse_template(template)
    # numpy object arrays: about three times quicker than pandas' .str accessors here.
    result = np.full(len(frame), "", dtype=object)
    pending = result  # the separator after the last non-empty part, per row
    seen = np.zeros(len(frame), dtype=bool)
    for i, column in enumerate(columns):
        part = np.array([v.strip() for v in _cells(frame, column)], dtype=object)
        filled = part != ""
        result = result + np.where(seen & filled, pending, "") + part
        pending = np.where(filled, literals[i + 1], pending)
        seen |= filled
    rendered = np.where(seen, literals[0] + result + literals[-1], "")
    return pd.Series(rendered, index=frame.index, dtype=object)


def _cells(frame: pd.DataFrame, column: str) -> list[str]:
    return frame[column].fillna("").astype(str).tolist()


def hash_ids(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Stable ids "h" + 16 hex of sha256 over the normalized cells; "" when all are empty.

    Each cell is lower-cased and cut to letters, digits, '@' and '.' (so surrounding
    spaces go too); the cells are joined with "\\x1f". Same cells, same id, on any machine.
    """
    parts = [_hash_cells(_cells(frame, c)) for c in columns]
    blank = b"\x1f" * (len(columns) - 1)
    sha = hashlib.sha256
    ids = []
    for cells in zip(*parts, strict=True):
        joined = b"\x1f".join(cells)
        ids.append("" if joined == blank else "h" + sha(joined).hexdigest()[:16])
    return pd.Series(ids, index=frame.index, dtype=object)


def _hash_cells(values: list[str]) -> list[bytes]:
    # Fast path, ten times quicker than a regex per cell: ASCII cells are joined, lowered
    # and stripped of unwanted bytes in one pass each. Both paths give the same bytes.
    if not values:
        return []
    bulk = "\x00".join(values)
    if bulk.isascii() and bulk.count("\x00") == len(values) - 1:
        return bulk.lower().encode("ascii").translate(None, _HASH_DELETE).split(b"\x00")
    return [_HASH_DROP.sub("", v.lower()).encode("utf-8") for v in values]
