"""Apply a mapping to a frame, one text column per output field; never judges cell values.

What it does find per row is about the mapping, not the lead: a cell its `map:` lacks
(`unmapped_value`, an error) and a spreadsheet error value read as empty
(`spreadsheet_error_value`, a warning). Those come back as `LeadRecords.problems`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat

import numpy as np
import pandas as pd

from importer.mapping.model import (
    SPREADSHEET_ERRORS,
    ColumnMapping,
    FieldSource,
    check_columns,
    parse_template,
)
from importer.models import Problem
from importer.records import FieldRef, LeadRecords

# Hash input: drop everything but letters, digits, '@' and '.' so "Bob@X.com " == "bob@x.com".
_HASH_DROP = re.compile(r"[^\w@.]|_")
_HASH_DELETE = bytes(c for c in range(1, 128) if not (chr(c).isalnum() or chr(c) in "@."))
# Brackets and quotes that may frame a template part: opener -> closer.
_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">", '"': '"', "'": "'", "“": "”", "‘": "’",
          "«": "»", "‹": "›", "„": "“"}  # fmt: skip
_OPENERS = re.compile(r"(?:[" + re.escape("".join(_PAIRS)) + r"]\s*)+$")
_CLOSERS = re.compile(r"^(?:\s*[" + re.escape("".join(set(_PAIRS.values()))) + r"])+")
_SHOWN_KEYS = 10


def apply_mapping(
    frame: pd.DataFrame, mapping: ColumnMapping, where: str = "the sheet"
) -> LeadRecords:
    """The lead records of every row: one text column per mapped field ("" when empty).

    Values are taken as they are: normalizing (zip, phone, state) is validation's job.
    Raises MappingError if the frame lacks a mapped column, naming it as in `where`.
    """
    check_columns(mapping, list(frame.columns), where)
    cells = _Cells(frame)

    def part(fields: list[tuple[FieldRef, FieldSource]]) -> pd.DataFrame:
        columns = {ref.name: _apply_source(cells, ref, source) for ref, source in fields}
        return pd.DataFrame(columns, index=frame.index, copy=False)

    return LeadRecords(
        lead=part([(FieldRef.lead(n), s) for n, s in mapping.lead.items()]),
        appointment=part([(FieldRef.appointment(n), s) for n, s in mapping.appointment.items()]),
        files=[
            part([(FieldRef.file(i, n), s) for n, s in entry.items()])
            for i, entry in enumerate(mapping.survey_files)
        ],
        checks=part([(FieldRef.check(n), s) for n, s in mapping.checks.items()]),
        problems=cells.problems,
    )


@dataclass
class _Cells:
    """The frame's cells as text, each column read once, spreadsheet error values as ""."""

    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    _read: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(text per row, True where the cell was a spreadsheet error value)."""
        if name not in self._read:
            values = self.frame[name].to_numpy(dtype=object)
            # A sheet as read holds only str (one C-speed check); other frames are
            # made text first.
            if pd.api.types.infer_dtype(values, skipna=False) != "string":
                values = self.frame[name].fillna("").astype(str).to_numpy(dtype=object)
            errors = _spreadsheet_errors(values)
            if errors.any():
                values = values.copy()
                values[errors] = ""
            self._read[name] = (values, errors)
        return self._read[name]

    def note_errors(self, ref: FieldRef, name: str, rows: np.ndarray) -> None:
        """A warning per row of `rows` (a mask) whose cell of `name` was an error value."""
        if not rows.any():
            return
        values = self.frame[name].to_numpy(dtype=object)
        for position in np.flatnonzero(rows):
            shown = str(values[position]).strip()
            what = f'"{shown}" in column "{name}" is a spreadsheet error value; read as empty'
            row = int(self.frame.index[position])
            self.problems.append(Problem.warning(row, ref, "spreadsheet_error_value", what))

    def first_filled(self, ref: FieldRef, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the first non-blank cell of `names` and the column it came from (for a
        single column, an empty array: every cell came from it)."""
        if len(names) == 1:  # the common case: no blank test needed
            values, errors = self.column(names[0])
            self.note_errors(ref, names[0], errors)
            return values, np.empty(0, dtype=object)
        result = np.full(len(self.frame), "", dtype=object)
        origin = np.full(len(self.frame), "", dtype=object)
        blank = np.ones(len(self.frame), dtype=bool)
        for name in names:
            values, errors = self.column(name)
            self.note_errors(ref, name, errors & blank)
            take = blank & ~_blank(values)
            result[take] = values[take]
            origin[take] = name
            blank &= ~take
            if not blank.any():
                break
        return result, origin


def _spreadsheet_errors(values: np.ndarray) -> np.ndarray:
    """True where a cell is a spreadsheet error value (#N/A, #VALUE!, ...), spaces aside."""
    errors = np.zeros(len(values), dtype=bool)
    # Every such value has a "#": only cells holding one are looked at, and a column with
    # none at all (most) is passed over with one search of its joined text.
    cells = values.tolist()
    if "#" not in "\x00".join(cells):
        return errors
    with_hash = np.array(["#" in v for v in cells], dtype=bool)
    if with_hash.any():
        candidates = values[with_hash].tolist()
        found = [v.strip().upper() in SPREADSHEET_ERRORS for v in candidates]
        errors[with_hash] = found
    return errors


def _blank(values: np.ndarray) -> np.ndarray:
    # Blank = empty or all whitespace ("".isspace() is False, hence the two tests).
    # str.isspace mapped in C, plus one array comparison: twice as quick as a loop over
    # the cells, itself ~5x quicker than .str.strip (python benchmarks/run.py --only
    # dry_heavy, three defaults).
    spaces = np.fromiter(map(str.isspace, values.tolist()), dtype=bool, count=len(values))
    return spaces | (values == "")


def _apply_source(cells: _Cells, ref: FieldRef, source: FieldSource) -> pd.Series:
    frame = cells.frame
    if source.value is not None:
        return pd.Series(source.value, index=frame.index, dtype=object)
    if source.template is not None:
        values = render_template(frame, source.template, cells, ref).to_numpy(dtype=object)
    elif source.hash:
        # Hash inputs are the cells as typed, error values included: an id must not change
        # between versions of this tool, or a re-import would make a second lead.
        values = hash_ids(frame, source.hash).to_numpy(dtype=object)
    else:
        values, origin = cells.first_filled(ref, source.columns)
        if source.value_map:
            values = _translate(cells, ref, source, values, origin)
    if source.default is not None:
        values = np.where(_blank(values), source.default, values)
    return pd.Series(values, index=frame.index, dtype=object)


def _translate(
    cells: _Cells, ref: FieldRef, source: FieldSource, values: np.ndarray, origin: np.ndarray
) -> np.ndarray:
    """Cells through the map (case and surrounding spaces ignored); a cell the map lacks
    takes the default, or stays as typed with an `unmapped_value` error."""
    table = {cell.casefold(): value for cell, value in source.value_map}
    codes, distinct = pd.factorize(values)
    keys = [str(v).strip().casefold() for v in distinct.tolist()]
    mapped = np.array([table.get(key) for key in keys], dtype=object)
    empty = np.array([not key for key in keys], dtype=bool)
    found = (mapped != None)[codes]  # noqa: E711 - elementwise on an object array
    out = np.where(found, mapped[codes], values)
    missing = ~found & ~empty[codes]
    if source.default is not None:
        return np.where(missing, source.default, out)
    shown = ", ".join(cell for cell, _ in source.value_map[:_SHOWN_KEYS])
    more = ", ..." if len(source.value_map) > _SHOWN_KEYS else ""
    for position in np.flatnonzero(missing):
        column = origin[position] if len(origin) else source.columns[0]
        what = (
            f'"{str(values[position]).strip()}" in column "{column}" is not in the '
            f"map ({shown}{more}); add it there, or a default"
        )
        row = int(cells.frame.index[position])
        cells.problems.append(Problem.error(row, ref, "unmapped_value", what))
    return out


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class _Layout:
    """A template cut for rendering: per part the text that frames it, between parts the
    separators, and the text before the first part and after the last."""

    columns: tuple[str, ...]
    openers: tuple[str, ...]
    closers: tuple[str, ...]
    separators: tuple[str, ...]  # separators[i] joins part i to a later part
    prefix: str
    suffix: str


@lru_cache(maxsize=256)
def template_layout(template: str) -> _Layout:
    """How a template's literal text is shared out (see `render_template`)."""
    literals, columns = parse_template(template)
    openers, closers = [], []
    claimed = 0  # characters at the start of the current literal closing the previous part
    for i in range(len(columns)):
        before, after = literals[i][claimed:], literals[i + 1]
        opener, closer = _frame(before, after)
        openers.append(opener)
        closers.append(closer)
        claimed = len(closer)
    separators = [
        literals[i + 1][len(closers[i]) : len(literals[i + 1]) - len(openers[i + 1])]
        for i in range(len(columns) - 1)
    ]
    prefix = literals[0][: len(literals[0]) - len(openers[0])]
    suffix = literals[-1][len(closers[-1]) :]
    return _Layout(
        columns, tuple(openers), tuple(closers), tuple(separators + [""]), prefix, suffix
    )


def _frame(before: str, after: str) -> tuple[str, str]:
    """The brackets or quotes that open right before a part and close right after it."""
    opening = _OPENERS.search(before)
    closing = _CLOSERS.match(after)
    if not (opening and closing):
        return "", ""
    opened = [(i, c) for i, c in enumerate(opening.group(0)) if c in _PAIRS]
    closed = [(i, c) for i, c in enumerate(closing.group(0)) if not c.isspace()]
    pairs = 0
    while (
        pairs < min(len(opened), len(closed)) and _PAIRS[opened[-1 - pairs][1]] == closed[pairs][1]
    ):
        pairs += 1
    if not pairs:
        return "", ""
    start = opened[-pairs][0]
    end = closed[pairs - 1][0] + 1
    return opening.group(0)[start:], closing.group(0)[:end]


def render_template(
    frame: pd.DataFrame,
    template: str,
    cells: _Cells | None = None,
    ref: FieldRef | None = None,
) -> pd.Series:
    """Fill a template per row; an empty part drops out with the text that only frames it.

    The literal text is shared out once per template:
    - brackets or quotes that open right before a part and close right after it (`(`/`)`,
      `[`/`]`, quotes) belong to that part, and go with it when it is empty;
    - the rest of the text between two parts is their separator, kept only between two
      non-empty parts (the separator after the earlier one);
    - the text before the first part and after the last is kept when any part is filled.
    "{Street}, {City}, {State} {Zip}" with City empty gives "1 Main St, UT 84045";
    "Business: {name} ({website})" with no website gives "Business: Acme". Cells are
    trimmed; spreadsheet error values count as empty (a warning each, for `ref`).
    """
    layout = template_layout(template)
    cells = cells or _Cells(frame)
    parts = []
    for i, column in enumerate(layout.columns):
        values, errors = cells.column(column)
        if ref is not None and column not in layout.columns[:i]:
            cells.note_errors(ref, column, errors)
        parts.append(np.fromiter(map(str.strip, values), dtype=object, count=len(values)))
    if len(parts) > _MOST_PATTERN_PARTS:
        rendered = _render_part_by_part(layout, parts, len(frame))
    else:
        rendered = _render_by_filled_parts(layout, parts, len(frame))
    return pd.Series(rendered, index=frame.index, dtype=object)


# Rows are grouped by which parts they fill, one bit per part in an int64.
_MOST_PATTERN_PARTS = 62


def _render_by_filled_parts(layout: _Layout, parts: list[np.ndarray], rows: int) -> np.ndarray:
    """The rendered text per row, made for each group of rows that fill the same parts.

    Rows that fill the same parts share one layout of literal text, so each group is one
    join per row: five times quicker than `_render_part_by_part` on 1M rows (python
    benchmarks/run.py --only dry_heavy), which tests/test_speed_paths.py compares it with.
    """
    pattern = np.zeros(rows, dtype=np.int64)
    for i, part in enumerate(parts):
        pattern |= (part != "").astype(np.int64) << i
    rendered = np.full(rows, "", dtype=object)
    for code in np.unique(pattern).tolist():
        if not code:
            continue  # no part filled: no text at all
        group = pattern == code
        every = bool(group.all())
        taken = slice(None) if every else group
        pieces = _filled_layout(layout, [i for i in range(len(parts)) if code >> i & 1])
        columns = [repeat(p) if isinstance(p, str) else parts[p][taken] for p in pieces]
        # zip ends with the parts (a literal repeats for ever); one join per row
        joined = map("".join, zip(*columns, strict=False))
        text = np.fromiter(joined, dtype=object, count=int(group.sum()))
        if every:
            return text
        rendered[group] = text
    return rendered


def _filled_layout(layout: _Layout, filled: list[int]) -> list[str | int]:
    """The literal text and the parts (by number) that rows filling `filled` are made of."""
    pieces: list[str | int] = []
    text = layout.prefix
    for position, i in enumerate(filled):
        pieces += [text + layout.openers[i], i]
        text = layout.closers[i] + (layout.separators[i] if position < len(filled) - 1 else "")
    pieces.append(text + layout.suffix)
    return [piece for piece in pieces if piece != ""]


def _render_part_by_part(layout: _Layout, parts: list[np.ndarray], rows: int) -> np.ndarray:
    """The rendered text per row, one part at a time over all rows (numpy object arrays)."""
    result = np.full(rows, "", dtype=object)
    pending = result  # the separator after the last non-empty part, per row
    seen = np.zeros(rows, dtype=bool)
    for i, part in enumerate(parts):
        filled = part != ""
        framed = np.where(filled, layout.openers[i] + part + layout.closers[i], "")
        result = result + np.where(seen & filled, pending, "") + framed
        pending = np.where(filled, _literal(layout.separators[i]), pending)
        seen |= filled
    return np.where(seen, _literal(layout.prefix) + result + _literal(layout.suffix), "")


def _literal(text: str) -> np.ndarray:
    """A template's literal text as an object array of one, to broadcast over the rows:
    a bare str would become a numpy string first, which drops a NUL ending it."""
    return np.array([text], dtype=object)


# ---------------------------------------------------------------- hash ids


def _cells(frame: pd.DataFrame, column: str) -> list[str]:
    values = frame[column].to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # a sheet as read
        return values.tolist()
    return frame[column].fillna("").astype(str).tolist()


def hash_ids(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Stable ids "h" + 16 hex of sha256 over the normalized cells; "" when all are empty.

    Each cell is lower-cased and cut to letters, digits, '@' and '.' (so surrounding
    spaces go too); the cells are joined with "\\x1f". Same cells, same id, on any machine.
    """
    texts = [_cells(frame, c) for c in columns]
    blank = b"\x1f" * (len(columns) - 1)
    sha = hashlib.sha256
    ids = []
    # Rows a block at a time: the bytes made of their cells are freed, and their memory
    # reused, before the next block (memory a big sheet takes anew is slow to come by).
    for start in range(0, len(frame), _HASH_BLOCK):
        parts = [_hash_cells(text[start : start + _HASH_BLOCK]) for text in texts]
        for cells in zip(*parts, strict=True):
            joined = b"\x1f".join(cells)
            ids.append("" if joined == blank else "h" + sha(joined).hexdigest()[:16])
    return pd.Series(ids, index=frame.index, dtype=object)


_HASH_BLOCK = 1 << 16


def _hash_cells(values: list[str]) -> list[bytes]:
    # Fast path, ten times quicker than a regex per cell: ASCII cells are joined, lowered
    # and stripped of unwanted bytes in one pass each. Both paths give the same bytes.
    if not values:
        return []
    bulk = "\x00".join(values)
    if bulk.isascii() and bulk.count("\x00") == len(values) - 1:
        return bulk.lower().encode("ascii").translate(None, _HASH_DELETE).split(b"\x00")
    return [_HASH_DROP.sub("", v.lower()).encode("utf-8") for v in values]
