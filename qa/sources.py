"""Reading QA input tables (long-format CSV files or the app's tidy votes table) into validated frames."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.taxonomy import CATEGORIES

# The app's tidy export names some columns differently; both spellings are accepted.
ALIASES = {"sample_id": "item", "voter": "rater"}
VOTE_COLUMNS = ("item", "rater", "category")
RELABEL_COLUMNS = ("stage", "group", "set_id", "set_category", "item", "previous_label", "rater", "label")
LABEL_COLUMNS = ("item", "group", "label")
MOS_COLUMNS = ("dataset", "item", "rater", "rating")
PEOPLE_COLUMNS = ("person", "gender", "we", "ms", "eb", "cb", "lp")
# Votes of these stages / roles are the member votes every agreement statistic is computed on.
MEMBER_STAGES = {"1", "member", "members"}
MEMBER_ROLES = {"member"}

_CATEGORY_BY_KEY = {c.value.lower(): c.value for c in CATEGORIES}
_NAMES = [c.value for c in CATEGORIES]


def read_table(path: Path | str, required: Sequence[str], what: str) -> pd.DataFrame:
    """Read a UTF-8 CSV as strings, check `required` columns; errors name the file, line and column.

    Cells of required columns are stripped; empty cells are an error. Line numbers count the header as 1.
    """
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} file {where}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{what} file {where} line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x})",
            remedy="save the file as UTF-8",
        ) from None
    if not text.strip():
        raise ConfigError(f"{what} file {where}: empty file", remedy=f"expected a header {','.join(required)}")
    frame = _parse(raw.removeprefix(codecs.BOM_UTF8), text, f"{what} file {where}")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.rename(columns={k: v for k, v in ALIASES.items() if k in frame.columns and v not in frame.columns})
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{what} file {where}: missing column(s) {', '.join(missing)} (found: {', '.join(frame.columns)})",
            remedy=f"the header must include {','.join(required)}",
        )
    if frame.empty:
        raise ConfigError(f"{what} file {where}: no data rows")
    for col in required:
        frame[col] = frame[col].str.strip()
        blank = frame[col].eq("")
        if blank.any():
            raise ConfigError(f"{what} file {where} line {_line(blank)}: empty value in column {col!r}")
    frame.attrs["source"] = where
    return frame


def _parse(data: bytes, text: str, where: str) -> pd.DataFrame:
    """Every column as strings: Arrow's fast reader, or pandas' parser for a message naming the bad line.

    A file with quotes is first checked strictly (`check_quoting`): both parsers accept a quote that
    never closes (the rest of the file becomes one value) or text after a closing quote.
    """
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    if b'"' in data:
        check_quoting(text, where)
    names = next(csv.reader(io.StringIO(text.splitlines()[0])), [])
    if len(set(names)) == len(names):
        try:
            table = pa_csv.read_csv(io.BytesIO(data), convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
            return table.to_pandas()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # fall through: the slower parser says which line is wrong
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        if "C error: " in detail:
            detail = detail.split("C error: ", 1)[1]
        raise ConfigError(f"{where}: malformed CSV: {detail}") from None


_NEWLINE = re.compile(r"\r\n|\r|\n")  # what the csv module counts as a line end


def check_quoting(text: str, where: str) -> None:
    """ConfigError naming `where` and the line for a quoted field that never closes or has text after its quote.

    Lines count the header as 1, as the csv module counts them (LF, CRLF or CR end a line). A quote
    inside an unquoted field (`5'10"`) is text, as in RFC 4180 readers.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    record_line = 1
    # No field is longer than the file: lift csv's field limit so that only quoting errors are raised.
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        for _ in reader:
            record_line = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ConfigError(f"{where} line {_unclosed_quote_line(text, record_line)}: unterminated quote: "
                              "the quoted field opened on this line never closes",
                              remedy="close the quote; inside a quoted field, write each quote twice") from None
        if "expected after" in str(exc):
            raise ConfigError(f"{where} line {reader.line_num}: malformed CSV: text after a closing quote",
                              remedy="quote the whole field and write each quote inside it twice") from None
        raise ConfigError(f"{where} line {reader.line_num}: malformed CSV: {exc}") from None
    finally:
        csv.field_size_limit(limit)


def _unclosed_quote_line(text: str, record_line: int) -> int:
    """The line of the quote opening the field that never closes, in the record starting at `record_line`.

    Strict parsing already reached the end of the file inside that record, so each of its earlier quoted
    fields closed and was followed by a delimiter: walk its fields until one finds no closing quote.
    """
    ends = _NEWLINE.finditer(text)
    start = 0
    for _ in range(record_line - 1):
        start = next(ends).end()
    pos = start
    while True:
        if text.startswith('"', pos):
            close = text.find('"', pos + 1)
            while close >= 0 and text.startswith('"', close + 1):  # a doubled quote is text
                close = text.find('"', close + 2)
            if close < 0:
                return record_line + len(_NEWLINE.findall(text, start, pos))
            pos = close + 1
        comma = text.find(",", pos)
        if comma < 0:  # cannot happen after csv's error; the record start is the best guess
            return record_line
        pos = comma + 1


def _line(mask: pd.Series) -> int:
    """CSV line number of the first True row (header is line 1); rows keep their file position as index."""
    return int(mask.index[np.flatnonzero(mask.to_numpy())[0]]) + 2


def normalise_categories(frame: pd.DataFrame, column: str, what: str, *, allow: Sequence[str] = ()) -> pd.DataFrame:
    """Map category names case-insensitively onto the taxonomy spelling; unknown names are an error.

    Without extra `allow`ed values the column becomes a categorical over the six names (taxonomy order).
    """
    where = frame.attrs.get("source", what)
    codes, uniques = pd.factorize(frame[column], sort=False)
    mapping = dict(_CATEGORY_BY_KEY)
    mapping.update({a.lower(): a for a in allow})
    canonical = [mapping.get(str(u).strip().lower()) for u in uniques]
    if None in canonical:
        bad = canonical.index(None)
        line = int(frame.index[np.flatnonzero(codes == bad)[0]]) + 2
        known = ", ".join(c.value for c in CATEGORIES)
        raise ConfigError(f"{what} file {where} line {line}: unknown category {uniques[bad]!r} in column {column!r}",
                          remedy=f"known categories: {known}")
    names = [c.value for c in CATEGORIES] + [a for a in allow if a not in _CATEGORY_BY_KEY.values()]
    position = np.array([names.index(c) for c in canonical] or [0], dtype=np.int64)
    values = pd.Categorical.from_codes(position[codes], categories=names)
    frame[column] = values if not allow else values.astype(str)
    return frame


def _no_duplicates(frame: pd.DataFrame, keys: list[str], what: str) -> None:
    dup = frame.duplicated(keys, keep="first")
    if dup.any():
        row = frame.iloc[int(np.flatnonzero(dup.to_numpy())[0])]
        ident = ", ".join(f"{k}={row[k]!r}" for k in keys)
        raise ConfigError(
            f"{what} file {frame.attrs.get('source', what)} line {_line(dup)}: duplicate row for {ident}",
            remedy="each rater may vote once per item",
        )


def member_votes(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the member votes when the table says who voted at which rung (role or stage column)."""
    if "role" in frame.columns:
        return frame[frame["role"].astype(str).str.strip().str.lower().isin(MEMBER_ROLES)]
    if "stage" in frame.columns:
        return frame[frame["stage"].astype(str).str.strip().str.lower().isin(MEMBER_STAGES)]
    return frame


def validate_votes(frame: pd.DataFrame, what: str = "votes", *, members_only: bool = True) -> pd.DataFrame:
    """Check a votes table (item, rater, category, ...): known categories, one vote per (item, rater)."""
    frame = normalise_categories(frame, "category", what)
    if members_only:
        kept = member_votes(frame)
        if kept.empty:
            raise ConfigError(f"{what} file {frame.attrs.get('source', what)}: no member votes (role/stage column)")
        kept.attrs.update(frame.attrs)
        frame = kept
    _no_duplicates(frame, ["item", "rater"], what)
    return frame


def read_votes(path: Path | str, *, members_only: bool = True) -> pd.DataFrame:
    """Votes CSV: columns item,rater,category (extra columns such as group, stage, confidence kept)."""
    return validate_votes(read_table(path, VOTE_COLUMNS, "votes"), members_only=members_only)


def from_app_table(table: pd.DataFrame, *, members_only: bool = True) -> pd.DataFrame:
    """The app's tidy votes table (sample_id, voter, role, group, stage, category, ...) as a votes frame."""
    frame = table.rename(columns={k: v for k, v in ALIASES.items() if k in table.columns})
    missing = [c for c in VOTE_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"app votes table: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise ConfigError("app votes table: no votes yet", remedy="annotate some samples or use --from-csv")
    frame = frame.astype({c: str for c in ("item", "rater", "category", "group") if c in frame.columns})
    frame.attrs["source"] = "app database"
    if members_only:
        frame = member_votes(frame)
    # Votes are immutable and a correction is a new revision (rows come oldest first): keep the latest.
    frame = frame.drop_duplicates(["item", "rater"], keep="last")
    frame.attrs["source"] = "app database"
    return validate_votes(frame, "app votes", members_only=members_only)


def read_relabels(path: Path | str) -> pd.DataFrame:
    """Cross-check re-labels CSV: stage,group,set_id,set_category,item,previous_label,rater,label."""
    frame = read_table(path, RELABEL_COLUMNS, "re-labels")
    for col in ("set_category", "previous_label", "label"):
        frame = normalise_categories(frame, col, "re-labels")
    _no_duplicates(frame, ["stage", "set_id", "item", "rater"], "re-labels")
    return frame


APP_RELABEL_COLUMNS = {"stage_name": "stage", "target_group": "group", "sample_id": "item",
                       "previous_category": "previous_label", "voter": "rater", "category": "label"}


def relabels_from_app_table(table: pd.DataFrame) -> pd.DataFrame:
    """The app's cross-check table (set_id, stage_name, target_group, sample_id, voter, ...) as re-labels.

    `group` is the re-labelling (receiving) group, as in the CSV format.
    """
    if table.empty:
        raise ConfigError("app cross-check table: no re-labels yet",
                          remedy="draw sets with `emotions app crosscheck-draw`, let members re-label them, "
                                 "or use --from-csv")
    frame = table.rename(columns=APP_RELABEL_COLUMNS)
    frame = frame.astype({c: str for c in ("stage", "group", "set_id", "item", "rater")})
    frame = frame[list(RELABEL_COLUMNS)]
    for col in ("set_category", "previous_label", "label"):
        frame = normalise_categories(frame, col, "app re-labels")
    _no_duplicates(frame, ["stage", "set_id", "item", "rater"], "app re-labels")
    frame.attrs["source"] = "app database"
    return frame


def read_labels(path: Path | str) -> pd.DataFrame:
    """Previous labels for cross-check planning: item,group,label, or member votes with a group column."""
    head = read_table(path, ("item", "group"), "labels")
    if "label" in head.columns:
        return normalise_categories(head, "label", "labels", allow=("more",))
    if {"rater", "category"} <= set(head.columns):
        return labels_from_votes(validate_votes(head, "labels"))
    raise ConfigError(f"labels file {path}: needs a label column, or rater and category columns (member votes)")


def labels_from_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """Each item's group result from member votes (item, group, label; label "more" without a majority)."""
    from qa.consistency import group_results

    if "group" not in votes.columns:
        raise ConfigError("previous labels: the votes have no group column")
    results = group_results(votes, item="item", label="category").rename("label").reset_index()
    results["group"] = results["item"].map(votes.drop_duplicates("item").set_index("item")["group"]).astype(str)
    return results


def read_mos(path: Path | str) -> pd.DataFrame:
    """MOS ratings CSV: dataset,item,rater,rating with integer ratings 1..5."""
    frame = read_table(path, MOS_COLUMNS, "MOS ratings")
    rating = pd.to_numeric(frame["rating"], errors="coerce")
    bad = rating.isna() | ~rating.isin([1, 2, 3, 4, 5])
    if bad.any():
        value = frame["rating"].to_numpy()[np.flatnonzero(bad.to_numpy())[0]]
        raise ConfigError(f"MOS ratings file {path} line {_line(bad)}: rating {value!r} is not an integer 1..5")
    frame["rating"] = rating.astype(int)
    _no_duplicates(frame, ["dataset", "item", "rater"], "MOS ratings")
    return frame


def read_people(path: Path | str) -> pd.DataFrame:
    """People CSV for Eq. 1: person,gender,we,ms,eb,cb,lp (scores 0..100; gender m/f)."""
    frame = read_table(path, PEOPLE_COLUMNS, "people")
    for col in ("we", "ms", "eb", "cb", "lp"):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna()
        if bad.any():
            raise ConfigError(f"people file {path} line {_line(bad)}: column {col!r} is not a number")
        frame[col] = values.astype(float)
    frame["gender"] = frame["gender"].str.lower().str[0]
    bad = ~frame["gender"].isin(["m", "f"])
    if bad.any():
        raise ConfigError(f"people file {path} line {_line(bad)}: gender must be m or f")
    _no_duplicates(frame, ["person"], "people")
    return frame


def category_codes(series: pd.Series) -> np.ndarray:
    """Class indices 0..5 (taxonomy order) of validated category names."""
    if isinstance(series.dtype, pd.CategoricalDtype) and list(series.cat.categories[:6]) == _NAMES:
        return series.cat.codes.to_numpy(dtype=np.int64)
    return series.map({name: i for i, name in enumerate(_NAMES)}).to_numpy(dtype=np.int64)

