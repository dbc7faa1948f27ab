"""Which column feeds each lead field, from the headers weighed by the cells (variants, typos,
address blocks, fill, other CRMs' vocabularies); it writes no YAML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from importer.suggest.columns import (
    ColumnProfile,
    describe,
    header_words,
    looks_like_full_address,
    looks_like_json,
    looks_like_phone,
    looks_like_state_code,
    looks_like_url,
    looks_like_zip,
    percent,
)
from importer.suggest.record_id import RecordId
from importer.suggest.words import (
    FAMILY_WORDS,
    SYNONYMS,
    TYPO_WORDS,
    WORDS,
    foreign_values,
)
from importer.syntax import compact, looks_like_email

EMAIL_FIELDS = ("creator", "assign_to_email", "setter_email")  # people's names are common here
# Fields whose values mean something only inside one company's Enerflo: mapped live only from
# a header that is their own name, with cells that fit (another CRM's statuses, sources,
# owners or territories are not Enerflo's); otherwise suggested in a comment.
VOCABULARY_FIELDS = ("assign_to_email", "lead_status", "lead_source", "office_name")
ADDRESS_FIELDS = ("address", "city", "state", "zip")
NAME_FIELDS = ("first_name", "last_name", "full_name")
# A fuller column wins over a better-named one only when it is this much fuller.
FULLER_MARGIN = 0.1
LOW_FILL = 0.9  # below this, the comment says how full the column is

# What cells of a column look like, and the lead field that kind of cell belongs to.
SNIFFERS: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("email", "email addresses", looks_like_email),
    ("mobile", "phone numbers", looks_like_phone),
    ("zip", "zip codes", looks_like_zip),
    ("state", "state codes", looks_like_state_code),
    ("fullAddress", "full addresses", looks_like_full_address),
)
_SNIFFED = {name: test for name, _kind, test in SNIFFERS}


@dataclass(frozen=True)
class _Candidate:
    """A header that names `field`: tier 0 a known variant, 1 a word in it, 2 a near miss
    of a variant (a typo), 3 a near miss of a word."""

    tier: int
    rank: int
    index: int
    field: str
    column: str
    close_to: str = ""  # for a typo: the header as it was probably meant


@dataclass
class Choice:
    """A live lead line: `also` are columns that fill rows `column` leaves empty."""

    column: str
    reason: str
    also: tuple[str, ...] = ()


@dataclass
class Held:
    """A lead line suggested in a comment only; `wrapped` writes {column: X} (a check)."""

    field: str
    column: str
    reason: str
    wrapped: bool = False


@dataclass
class Suggestion:
    """What the suggestion has decided so far, column by column."""

    columns: list[str]
    profiles: dict[str, ColumnProfile]
    placed: dict[str, Choice] = field(default_factory=dict)
    held: list[Held] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # unplaced column -> why
    record_id: RecordId | None = None
    appointment: str | None = None
    photos: list[str] = field(default_factory=list)
    family: str = ""  # the address block chosen ("mailing" for Mailing*; "" unprefixed)

    @property
    def has_rows(self) -> bool:
        return bool(self.profiles) and next(iter(self.profiles.values())).rows > 0

    def used(self, column: str) -> bool:
        """True when a live line, a commented one, the appointment or a survey file reads it."""
        return self.mapped(column) or any(h.column == column for h in self.held)

    def mapped(self, column: str) -> bool:
        """True when a live line, the appointment or a survey file reads it."""
        lines = [c.column for c in self.placed.values()] + [self.appointment or "", *self.photos]
        if self.record_id is not None:
            lines += [self.record_id.column or "", *self.record_id.hash]
        return column in lines

    def note(self, column: str, why: str) -> None:
        """Say why a column is not placed; the first reason given stands."""
        self.notes.setdefault(column, why)

    def fill(self, column: str) -> float:
        return self.profiles[column].fill


def match_headers(s: Suggestion) -> None:
    """Place every field a header names (the record id excepted: suggest_id chooses it)."""
    candidates = _header_candidates(s.columns)
    exact = {c.column: c.field for c in candidates if c.tier == 0}
    by_field: dict[str, list[_Candidate]] = {}
    for c in candidates:
        # A header that is itself a variant of one field ("Email Address") is not taken
        # for another through a word in it ("address").
        if c.tier == 0 or exact.get(c.column, c.field) == c.field:
            by_field.setdefault(c.field, []).append(c)
    _keep_fullest_block(s, by_field)
    for name, options in by_field.items():
        _place_field(s, name, options)


def family_of(column: str) -> str:
    """The address block a header belongs to: "mailing" for MailingStreet, "" for Street."""
    words = header_words(column)
    return words[0] if len(words) > 1 and words[0] in FAMILY_WORDS else ""


def _header_candidates(columns: list[str]) -> list[_Candidate]:
    """Every header that names a field, best first."""
    candidates = []
    for index, column in enumerate(columns):
        key = compact(column)
        exact = [n for n, variants in SYNONYMS.items() if key in variants]
        for name in exact:
            candidates.append(_Candidate(0, SYNONYMS[name].index(key), index, name, column))
        for word in header_words(column):
            if word in WORDS:
                candidates.append(_Candidate(1, 0, index, WORDS[word], column))
        corrected = _corrected(column) if not exact else None
        if corrected:
            key, shown = "".join(corrected), " ".join(corrected)
            for name in (n for n, variants in SYNONYMS.items() if key in variants):
                rank = SYNONYMS[name].index(key)
                candidates.append(_Candidate(2, rank, index, name, column, shown))
            for word in (w for w in corrected if w in WORDS):
                candidates.append(_Candidate(3, 0, index, WORDS[word], column, shown))
    return sorted(candidates, key=lambda c: (c.tier, c.rank, c.index))


def _corrected(column: str) -> list[str] | None:
    """The header's words with typos of known words fixed ("Frist Name" -> first, name), or
    None when no word is a typo.

    A typo keeps its first letter and is one edit from a known word of five letters or more
    (a letter dropped, added, changed, or two neighbours swapped: "Adress", "Emial"); a
    shorter word only matches its own letters swapped ("Zpi"), so "List" is not "last".
    Whole words only, so "form_name" is not taken for "forename".
    """
    words = header_words(column)
    fixed = [w if w in TYPO_WORDS else _known_word(w) or w for w in words]
    return fixed if fixed != words else None


def _known_word(word: str) -> str | None:
    near = []
    for known in TYPO_WORDS:
        if known[0] != word[0] or abs(len(known) - len(word)) > 1:
            continue
        if len(known) < 5 and sorted(known) != sorted(word):
            continue
        if _edit_distance(word, known) == 1:
            near.append(known)
    return near[0] if len(near) == 1 else None


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance where swapping two neighbouring letters is one edit."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _keep_fullest_block(s: Suggestion, by_field: dict[str, list[_Candidate]]) -> None:
    """Street, city, state and zip come from one block (Mailing*, Other*, Billing*...): the
    fullest, judged on all four, so a half-empty block does not lend one column to another."""
    families = {family_of(c.column) for name in ADDRESS_FIELDS for c in by_field.get(name, [])}
    if len(families) < 2 or not s.has_rows:
        return

    def score(family: str) -> float:
        fills = [
            max((s.fill(c.column) for c in by_field.get(n, []) if family_of(c.column) == family),
                default=0.0)
            for n in ADDRESS_FIELDS
        ]  # fmt: skip
        return sum(fills) / len(fills)

    scores = {family: score(family) for family in families}
    s.family = max(sorted(families), key=lambda f: (scores[f], f == ""))
    for name in ADDRESS_FIELDS:
        for c in by_field.get(name, []):
            family = family_of(c.column)
            if family != s.family and not s.profiles[c.column].empty:
                s.note(
                    c.column,
                    f"part of the {_block(family)} address block; the {_block(s.family)} block "
                    f"is fuller ({percent(scores[s.family])} vs {percent(scores[family])} filled)",
                )
        by_field[name] = [c for c in by_field.get(name, []) if family_of(c.column) == s.family]


def _block(family: str) -> str:
    return f"{family.capitalize()}*" if family else "unprefixed"


def _place_field(s: Suggestion, name: str, options: list[_Candidate]) -> None:
    seen: set[str] = set()
    options = [o for o in options if not s.used(o.column) and not _seen(seen, o.column)]
    usable = [o for o in options if _fits(s, name, o)]
    if not usable:
        return
    choice = _pick(s, name, usable, options)
    if name not in VOCABULARY_FIELDS or not _hold(s, name, choice.column):
        s.placed[name] = choice


def _seen(seen: set[str], column: str) -> bool:
    """True when `column` was met before; remembers it (a header matched twice counts once)."""
    if column in seen:
        return True
    seen.add(column)
    return False


def _fits(s: Suggestion, name: str, option: _Candidate) -> bool:
    """Whether the cells fit the field the header names; a misfit gets its reason noted."""
    profile = s.profiles[option.column]
    if not s.has_rows:
        return True
    if profile.empty:
        s.note(option.column, describe(profile))
        return False
    if option.tier >= 2 and name in _SNIFFED and profile.share(_SNIFFED[name]) < 0.5:
        return False  # a near miss of a header, and the cells do not bear it out
    misfit = ""
    if name != "add_note" and profile.share(looks_like_json) >= 0.5:
        misfit = "not an Enerflo field: JSON data"
    elif name not in ("add_note", "lead_source") and profile.share(looks_like_url) >= 0.5:
        misfit = "not an Enerflo field: web addresses"
    elif name in EMAIL_FIELDS + ("email",) and profile.share(looks_like_email) < 0.5:
        misfit = f"the header suggests {name}, but the cells are not email addresses"
    elif name == "mobile" and profile.share(_has_digits(7)) < 0.5:
        misfit = "the header suggests a phone, but the cells are not phone numbers"
    elif name == "zip" and profile.share(_has_digits(3)) < 0.5:
        misfit = "the header suggests a zip, but the cells are not zip codes"
    if misfit:
        s.note(option.column, misfit)
    return not misfit


def _has_digits(count: int) -> Callable[[str], bool]:
    return lambda cell: sum(ch.isdigit() for ch in cell) >= count


def _pick(s: Suggestion, name: str, usable: list[_Candidate], options: list[_Candidate]) -> Choice:
    """The best-named of the fullest columns (a state code column first), and why; the
    others get a note saying what won."""
    ranked = usable
    if name == "state" and s.has_rows:
        codes = [o for o in usable if s.profiles[o.column].share(looks_like_state_code) >= 0.8]
        ranked = codes or usable
    top = max(s.fill(o.column) for o in ranked)
    chosen = next(o for o in ranked if s.fill(o.column) >= top - FULLER_MARGIN)
    for o in usable:
        if o not in ranked:
            s.note(o.column, f'state is mapped from "{chosen.column}", which holds 2-letter codes')
        elif o != chosen:
            s.note(o.column, _lost_to(s, name, chosen.column, o.column))
    reason = f'matched header "{chosen.column}"'
    if chosen.close_to:
        reason += f" (close to {chosen.close_to})"
    if s.has_rows and s.fill(chosen.column) < LOW_FILL:
        reason += f"; filled on {percent(s.fill(chosen.column))} of rows"
    empty = [o for o in options if s.profiles[o.column].empty and _before(o, chosen)]
    if s.has_rows and empty:
        reason += f'; "{empty[0].column}" is empty on every row'
    # A fallback is suggested only from a header that is itself a variant of the field
    # ("Phone" for a "MobilePhone"), never from one that merely contains a word of it
    # ("AssistantPhone").
    also = [
        o.column for o in ranked
        if o != chosen and o.tier == 0 and _fills_gaps(s, chosen.column, o.column)
    ]  # fmt: skip
    return Choice(chosen.column, reason, tuple(also[:1]))


def _before(a: _Candidate, b: _Candidate) -> bool:
    return (a.tier, a.rank, a.index) < (b.tier, b.rank, b.index)


def _fills_gaps(s: Suggestion, chosen: str, other: str) -> bool:
    """True when `other` has a value on some sampled row where `chosen` is empty."""
    pairs = zip(s.profiles[chosen].cells, s.profiles[other].cells, strict=True)
    return any(not a and b for a, b in pairs)


def _lost_to(s: Suggestion, name: str, chosen: str, other: str) -> str:
    if s.fill(chosen) - s.fill(other) > FULLER_MARGIN:
        return (
            f'{name} is mapped from "{chosen}", which is fuller '
            f"({percent(s.fill(chosen))} vs {percent(s.fill(other))} filled)"
        )
    return f'{name} is mapped from "{chosen}"'


def _hold(s: Suggestion, name: str, column: str) -> bool:
    """Keep a vocabulary field as a commented line unless its header is the field's own name
    and its cells fit. True when held."""
    profile = s.profiles[column]
    foreign = foreign_values(name, profile) if s.has_rows else None
    if compact(column) == compact(name) and not foreign:
        return False
    why = foreign or _not_own_name(name, column, profile)
    s.held.append(Held(name, column, f"not mapped: {why}"))
    s.note(column, f"another system's vocabulary (see the commented {name} line)")
    return True


def _not_own_name(name: str, column: str, profile: ColumnProfile) -> str:
    values = f" ({profile.examples()})" if profile.filled else ""
    if name == "assign_to_email":
        return (
            f"its emails{values} are another system's owners; map it if they are Enerflo "
            "users' emails"
        )
    what = {"lead_status": "statuses", "lead_source": "sources", "office_name": "offices"}[name]
    return (
        f'"{column}" may hold another system\'s {what}{values}; map it with map: if you want them'
    )
