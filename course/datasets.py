"""The course's datasets: a topic corpus, NLI pairs, STS pairs and search queries.

Every loader takes a `source`: "course" (the JSONL files in `course/data/`, written for this
course, see `course/data/README.md`), the path of your own .jsonl or .csv file, or (for NLI
and STS, online) a Hugging Face dataset id. Each returns the same columns whichever source it
read. A bad file raises one DataError naming the file, the line and the fix.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from course.env import CourseError, is_online

DATA_DIR = Path(__file__).resolve().parent / "data"
COURSE = "course"
NLI_LABELS = ("entailment", "neutral", "contradiction")  # ids 0, 1, 2 as in MNLI / all-nli
HUB_NLI = "sentence-transformers/all-nli"
HUB_STS = "sentence-transformers/stsb"
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv"}
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_QUOTE_FIX = 'Close the quote, or write a quote inside quoted text as two quotes ("")'
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")

Kind = type | tuple[type, ...]
RowCheck = Callable[[dict], "tuple[str, str] | None"]  # a row -> (problem, fix), or None if fine


class DataError(CourseError, ValueError):
    """A data file or dataset does not have the shape the course expects."""


def _fail(path: Path, line: int | None, problem: str, fix: str) -> DataError:
    where = f"{path}, line {line}" if line else str(path)
    return DataError(f"{where}: {problem}. {fix}")


# ---------------------------------------------------------------- reading files

def read_table(path: str | Path, columns: dict[str, Kind], id_column: str | None = "id",
               optional: dict[str, Kind] | None = None, check: RowCheck | None = None,
               fmt: str | None = None) -> list[dict]:
    """Read a JSONL or CSV file (chosen by its suffix, or `fmt`) and check every row: required
    `columns` present with the right type, `optional` ones typed when present, no empty text,
    no repeated id, and `check` (one more rule per row). Extra columns are kept.

    In a CSV, numbers are parsed and a list column holds space-separated values.
    """
    path = Path(path)
    fmt = fmt or FORMATS.get(path.suffix.lower())
    if not path.is_file():
        raise DataError(f"{path}: no such file. Check the path (course files live in {DATA_DIR}).")
    if fmt is None:
        raise _fail(path, None, f"is not a .jsonl or .csv file (suffix {path.suffix!r})",
                    "Save it as JSON lines (.jsonl, one object per line) or as .csv with a header row")
    records = _jsonl_records(path) if fmt == "jsonl" else read_csv(path, list(columns))
    rows, seen = [], {}
    for n, row in records:
        for col in columns:
            if col not in row:
                raise _fail(path, n, f"missing column {col!r}", f"Every row needs {sorted(columns)}")
        for col, kind in {**(optional or {}), **columns}.items():
            if col in row:
                row[col] = _typed(path, n, col, row[col], kind, from_text=fmt == "csv")
        if id_column and id_column in row:
            rid = row[id_column]
            if rid in seen:
                raise _fail(path, n, f"duplicate id {rid!r} (first on line {seen[rid]})", "Ids must be unique")
            seen[rid] = n
        if check and (verdict := check(row)):
            raise _fail(path, n, *verdict)
        rows.append(row)
    if not rows:
        raise _fail(path, None, "has no rows", "Check that you passed the right file")
    return rows


def read_jsonl(path: str | Path, columns: dict[str, Kind], id_column: str | None = "id") -> list[dict]:
    """read_table for a JSON-lines file, whatever its suffix."""
    return read_table(path, columns, id_column, fmt="jsonl")


def _jsonl_records(path: Path) -> Iterable[tuple[int, dict]]:
    try:
        with open(path, encoding="utf-8") as fh:
            for n, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError as err:
                    raise _fail(path, n, f"not valid JSON ({err.msg})", "Write one JSON object per line") from None
                if not isinstance(row, dict):
                    raise _fail(path, n, "is not a JSON object", "Write one JSON object per line")
                yield n, row
    except UnicodeDecodeError:
        raise _fail(path, None, "is not UTF-8 text", "Save it with the UTF-8 encoding") from None


def read_csv(path: str | Path, columns: Iterable[str], fix: str | None = None) -> list[tuple[int, dict]]:
    """(line, row of strings) for every row of a CSV file with a header row.

    One row per line. The delimiter (comma, semicolon, tab or |) is the one whose header names
    `columns`; a .tsv is tab-separated. An unclosed quote, a quoted field running over several
    lines or a row with the wrong number of fields raises a DataError naming its line; `fix`
    is the advice for a header that lacks a column.
    """
    path, columns = Path(path), list(columns)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(path, None, "is not UTF-8 text", "Save it as UTF-8 (spreadsheets: CSV UTF-8)") from None
    header_line = next((line for line in text.splitlines() if line.strip()), None)
    if header_line is None:
        raise _fail(path, None, "the file is empty", f"Write a header row ({','.join(columns)}) and one row per line")
    delimiter = _delimiter(path, header_line, columns)
    sep = f"{DELIMITERS[delimiter]}-separated"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header, records, start = None, [], 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not fields:
                continue
            if header is None:
                header = [f.strip() for f in fields]
                missing = [c for c in columns if c not in header]
                if missing:
                    raise _fail(path, line, f"missing column(s) {missing}; the header has {header} "
                                f"(read as {sep})", fix or f"Name the columns {columns} in the header row")
                continue
            if reader.line_num > line:  # one row per line: a quote that runs on swallows rows
                raise _fail(path, line, f"a quoted field opened on this line runs on to line "
                            f"{reader.line_num}", _QUOTE_FIX)
            if len(fields) != len(header):
                raise _fail(path, line, f"{len(fields)} field(s) where the header has {len(header)} ({sep})",
                            f"Put text that contains a {DELIMITERS[delimiter]} in double quotes, or fix the row")
            records.append((line, {h: f.strip() for h, f in zip(header, fields, strict=True)}))
    except csv.Error as err:
        problem = ("a quoted field opened on this line is never closed" if "end of data" in str(err)
                   else f"its quoting is broken ({err})")
        raise _fail(path, start, problem, _QUOTE_FIX) from None
    if not records:
        raise _fail(path, None, "has a header but no rows", "Add one row per line under the header")
    return records


def _delimiter(path: Path, header_line: str, columns: list[str]) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    names = {d: [f.strip() for f in next(csv.reader([header_line], delimiter=d))] for d in DELIMITERS}
    for d, found in names.items():
        if set(columns) <= set(found):
            return d
    return max(DELIMITERS, key=lambda d: len(names[d]))  # ties: comma


def _typed(path: Path, n: int, col: str, value, kind: Kind, from_text: bool):
    """`value` checked against `kind`; CSV text is parsed into numbers and lists first."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if from_text and isinstance(value, str) and str not in kinds:
        if list in kinds:
            value = value.split()
        elif value.strip():
            try:
                value = int(value) if kinds == (int,) else float(value)
            except ValueError:
                pass
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise _fail(path, n, f"column {col!r} is {value!r}", f"Expected {_kind(kind)}")
    if isinstance(value, str) and not value.strip():
        raise _fail(path, n, f"column {col!r} is empty", "Give it some text or drop the row")
    return value


def _kind(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "an integer", float: "a number", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _one_of(column: str, allowed: Iterable[str]) -> RowCheck:
    allowed = tuple(allowed)
    return lambda row: (None if row[column] in allowed else
                        (f"unknown {column} {row[column]!r}", f"Use one of {', '.join(allowed)}"))


def _select(rows: list[dict], split: str | None, path: Path, default: str | None) -> list[dict]:
    """Rows of one split; a file without a split column gives all its rows for the default split."""
    if split is None:
        return rows
    if not any("split" in r for r in rows):
        if split == default:
            return rows
        raise DataError(f"{path}: has no 'split' column, so it has no split {split!r}. "
                        "Pass split=None to use every row, or add a split column.")
    chosen = [r for r in rows if r.get("split") == split]
    if not chosen:
        found = sorted({str(r.get("split")) for r in rows})
        raise DataError(f"{path}: no rows in split {split!r}. Splits in this file: {found}.")
    return chosen


def _to_dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list(rows)


# ---------------------------------------------------------------- where a loader reads from

def _local_file(source: str | Path, path: str | Path | None, default: str, hub_example: str | None = None,
                columns: Iterable[str] = ()) -> Path | None:
    """The file a loader reads (`path`, the course file, or `source` as a path), or None when
    `source` is a hub id; anything else is one DataError naming both options."""
    if path is not None:
        return Path(path)
    source = str(source)
    if source == COURSE:
        return DATA_DIR / default
    file = Path(source).expanduser()
    if file.is_file():
        return file
    if hub_example and _HUB_ID.fullmatch(source) and file.suffix.lower() not in FORMATS:
        return None
    if hub_example:
        raise DataError(f"{source!r} is neither an existing file (there is no {file.resolve()}) nor a "
                        f"Hugging Face dataset id like {hub_example!r}: pass the path of a .jsonl or "
                        f".csv file, or a hub id (online), or '{COURSE}' for the course's own data.")
    raise DataError(f"{source!r} is not an existing file (there is no {file.resolve()}): pass the path of "
                    f"a .jsonl or .csv file with columns {', '.join(columns)}, or '{COURSE}' for the "
                    "course's own data.")


# ---------------------------------------------------------------- the loaders

def load_corpus(source: str | Path = COURSE, split: str | None = None, path: str | Path | None = None):
    """Topic-labelled sentences (id, topic, text, split) for search and the semantic map.

    `source`: "course", or the path of your own .jsonl/.csv file with columns id, topic, text
    (and optionally split).
    """
    columns = {"id": str, "topic": str, "text": str}
    file = _local_file(source, path, "corpus.jsonl", columns=columns)
    rows = read_table(file, columns, optional={"split": str})
    return _to_dataset(_select(rows, split, file, default=None))


def load_nli(source: str | Path = COURSE, split: str | None = "train", limit: int | None = None,
             path: str | Path | None = None):
    """NLI pairs as (premise_id, premise, hypothesis, label) with label a string.

    `source`: "course" (the course file, splits train/test by premise); the path of your own
    .jsonl/.csv file with columns premise, hypothesis, label (entailment / neutral /
    contradiction) and optionally id, premise_id, split; or a hub id such as
    "sentence-transformers/all-nli" (pair-class, splits train/dev/test), which needs a network.
    """
    file = _local_file(source, path, "nli.jsonl", HUB_NLI)
    if file is not None:
        rows = read_table(file, {"premise": str, "hypothesis": str, "label": str},
                          optional={"id": str, "premise_id": str, "split": str},
                          check=_one_of("label", NLI_LABELS))
        rows = [r if "premise_id" in r else {"premise_id": premise_id(r["premise"]), **r}
                for r in _select(rows, split, file, default="train")[:limit]]
        return _to_dataset(rows)
    source = str(source)
    ds = load_hub(source, "pair-class" if source == HUB_NLI else None, split or "train", limit)
    _require(ds, ("premise", "hypothesis", "label"), source)
    names = NLI_LABELS
    return ds.map(lambda r: {"premise_id": premise_id(r["premise"]),
                             "label": names[r["label"]] if isinstance(r["label"], int) else r["label"]})


def load_sts(source: str | Path = COURSE, split: str | None = "test", limit: int | None = None,
             path: str | Path | None = None):
    """STS pairs (sentence1, sentence2, score) with score scaled to 0-1 as in sentence-transformers/stsb.

    `source`: "course" (splits dev/test; the annotators' 0-5 value stays in `gold`); the path of
    your own .jsonl/.csv file with columns sentence1, sentence2, score on the 0-5 scale (and
    optionally id, category, split); or a hub id (splits train/validation/test, "dev" is
    accepted for validation), which needs a network.
    """
    file = _local_file(source, path, "sts.jsonl", HUB_STS)
    if file is not None:
        def in_range(row):
            return (None if 0 <= row["score"] <= 5 else
                    (f"score {row['score']} is outside 0-5", "Use the 0-5 scale of STS_GUIDE.md"))

        rows = read_table(file, {"sentence1": str, "sentence2": str, "score": (int, float)},
                          optional={"id": str, "category": str, "split": str}, check=in_range)
        rows = [{**r, "gold": float(r["score"]), "score": r["score"] / 5.0}
                for r in _select(rows, split, file, default="test")]
        return _to_dataset(rows[:limit])
    hub_split = "validation" if split == "dev" else split
    ds = load_hub(str(source), None, hub_split, limit)
    _require(ds, ("sentence1", "sentence2", "score"), str(source))
    return ds


def load_queries(source: str | Path = COURSE, limit: int | None = None,
                 path: str | Path | None = None, corpus: str | Path = COURSE) -> list[dict]:
    """Search queries (id, query, relevant corpus ids, split), every relevant id checked against
    the corpus (`corpus`: "course" or your corpus file, see load_corpus).

    `source`: "course", or the path of your own .jsonl/.csv file with columns id, query,
    relevant (in a CSV: the ids separated by spaces) and optionally split.
    """
    columns = {"id": str, "query": str, "relevant": list}
    file = _local_file(source, path, "retrieval.jsonl", columns=columns)
    known = set(load_corpus(corpus)["id"])

    def relevant_known(row):
        missing = [c for c in row["relevant"] if c not in known]
        if row["relevant"] and not missing:
            return None
        return (f"relevant ids {missing or '[]'} are not corpus ids",
                f"List one or more ids from {'course/data/corpus.jsonl' if corpus == COURSE else corpus}")

    return read_table(file, columns, optional={"split": str}, check=relevant_known)[:limit]


def premise_id(text: str) -> str:
    """A stable id for a premise, so hub NLI data can be grouped and split like ours."""
    return "h" + hashlib.sha1(text.strip().encode()).hexdigest()[:10]


def load_hub(name: str, subset: str | None, split: str, limit: int | None = None):
    """A split of a Hugging Face dataset (first `limit` rows), or one clear error when offline."""
    if not is_online():
        raise DataError(
            f"Dataset {name!r} is not a local file and needs the Hugging Face Hub, which is not "
            f"reachable (offline): pass the path of a .jsonl or .csv file, or source='{COURSE}' "
            "for the course's own data."
        )
    from datasets import load_dataset

    spec = f"{split}[:{limit}]" if limit else split
    try:
        return load_dataset(name, subset, split=spec)
    except Exception as err:  # datasets raises many types; the learner needs one sentence
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"Could not load {name!r} (subset {subset}, split {spec}): {reason}. Check the "
                        "dataset id on huggingface.co, or pass the path of a local file.") from err


def _require(ds, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise DataError(f"{name}: missing columns {missing}; it has {ds.column_names}.")
