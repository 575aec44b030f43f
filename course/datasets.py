"""The course's datasets: a topic corpus, NLI pairs and STS pairs.

Offline they come from the JSONL files in `course/data/` (written for this course, see
`course/data/README.md`); online the same loaders take Hugging Face dataset ids. Every
loader returns a `datasets.Dataset` with the same columns whichever source it read.
A bad local file raises DataError naming the file, the line and the fix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from course.env import is_online

DATA_DIR = Path(__file__).resolve().parent / "data"
COURSE = "course"
NLI_LABELS = ("entailment", "neutral", "contradiction")  # ids 0, 1, 2 as in MNLI / all-nli
HUB_NLI = "sentence-transformers/all-nli"
HUB_STS = "sentence-transformers/stsb"


class DataError(ValueError):
    """A data file or dataset does not have the shape the course expects."""


def _fail(path: Path, line: int | None, problem: str, fix: str) -> DataError:
    where = f"{path}, line {line}" if line else str(path)
    return DataError(f"{where}: {problem}. {fix}")


def read_jsonl(
    path: str | Path,
    columns: dict[str, type | tuple[type, ...]],
    id_column: str | None = "id",
) -> list[dict]:
    """Read a JSON-lines file and check every row: valid JSON, required columns of the right
    type, no empty text, no repeated id. Extra columns are kept."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file. Check the path (course files live in {DATA_DIR}).")
    rows, seen = [], {}
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
            for col, kind in columns.items():
                if col not in row:
                    raise _fail(path, n, f"missing column {col!r}", f"Every row needs {sorted(columns)}")
                value = row[col]
                if not isinstance(value, kind) or isinstance(value, bool):
                    raise _fail(path, n, f"column {col!r} is {value!r}", f"Expected {_kind(kind)}")
                if isinstance(value, str) and not value.strip():
                    raise _fail(path, n, f"column {col!r} is empty", "Give it some text or drop the row")
            if id_column:
                rid = row[id_column]
                if rid in seen:
                    raise _fail(path, n, f"duplicate id {rid!r} (first on line {seen[rid]})", "Ids must be unique")
                seen[rid] = n
            rows.append(row)
    if not rows:
        raise _fail(path, None, "has no rows", "Check that you passed the right file")
    return rows


def _kind(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "an integer", float: "a number"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _check_choice(path: Path, rows: list[dict], column: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for n, row in enumerate(rows, start=1):
        if row[column] not in allowed:
            raise _fail(path, n, f"unknown {column} {row[column]!r}", f"Use one of {', '.join(allowed)}")


def _select(rows: list[dict], split: str | None, path: Path) -> list[dict]:
    if split is None:
        return rows
    chosen = [r for r in rows if r.get("split") == split]
    if not chosen:
        found = sorted({r.get("split") for r in rows})
        raise DataError(f"{path}: no rows in split {split!r}. Splits in this file: {found}.")
    return chosen


def _to_dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list(rows)


def load_corpus(split: str | None = None, path: str | Path | None = None):
    """Topic-labelled sentences (id, topic, text, split) for search and the semantic map."""
    path = Path(path or DATA_DIR / "corpus.jsonl")
    rows = read_jsonl(path, {"id": str, "topic": str, "text": str, "split": str})
    return _to_dataset(_select(rows, split, path))


def load_nli(source: str = COURSE, split: str | None = "train", limit: int | None = None,
             path: str | Path | None = None):
    """NLI pairs as (premise_id, premise, hypothesis, label) with label a string.

    source="course" reads the course file (splits train/test by premise); a hub id such as
    "sentence-transformers/all-nli" (pair-class, splits train/dev/test) needs a network.
    """
    if source == COURSE:
        path = Path(path or DATA_DIR / "nli.jsonl")
        rows = read_jsonl(path, {"id": str, "premise_id": str, "premise": str,
                                 "hypothesis": str, "label": str, "split": str})
        _check_choice(path, rows, "label", NLI_LABELS)
        rows = _select(rows, split, path)[:limit]
        return _to_dataset(rows)
    ds = load_hub(source, "pair-class" if source == HUB_NLI else None, split or "train", limit)
    _require(ds, ("premise", "hypothesis", "label"), source)
    names = NLI_LABELS
    return ds.map(lambda r: {"premise_id": premise_id(r["premise"]),
                             "label": names[r["label"]] if isinstance(r["label"], int) else r["label"]})


def load_sts(source: str = COURSE, split: str = "test", limit: int | None = None,
             path: str | Path | None = None):
    """STS pairs (sentence1, sentence2, score) with score scaled to 0-1 as in sentence-transformers/stsb.

    The course file keeps the annotators' 0-5 value in `gold` and a `category`. Splits:
    course dev/test; hub train/validation/test ("dev" is accepted for validation).
    """
    if source == COURSE:
        path = Path(path or DATA_DIR / "sts.jsonl")
        rows = read_jsonl(path, {"id": str, "sentence1": str, "sentence2": str,
                                 "score": (int, float), "split": str})
        for n, row in enumerate(rows, start=1):
            if not 0 <= row["score"] <= 5:
                raise _fail(path, n, f"score {row['score']} is outside 0-5", "Use the 0-5 scale of STS_GUIDE.md")
        rows = [{**r, "gold": float(r["score"]), "score": r["score"] / 5.0} for r in _select(rows, split, path)]
        return _to_dataset(rows[:limit])
    hub_split = "validation" if split == "dev" else split
    ds = load_hub(source, None, hub_split, limit)
    _require(ds, ("sentence1", "sentence2", "score"), source)
    return ds


def load_queries(limit: int | None = None, path: str | Path | None = None) -> list[dict]:
    """Search queries written for the course (id, query, relevant corpus ids, split), with every
    relevant id checked against the corpus."""
    path = Path(path or DATA_DIR / "retrieval.jsonl")
    rows = read_jsonl(path, {"id": str, "query": str, "relevant": list, "split": str})
    known = set(load_corpus()["id"])
    for n, row in enumerate(rows, start=1):
        missing = [c for c in row["relevant"] if c not in known]
        if not row["relevant"] or missing:
            raise _fail(path, n, f"relevant ids {missing or '[]'} are not corpus ids",
                        "List one or more ids from course/data/corpus.jsonl")
    return rows[:limit]


def premise_id(text: str) -> str:
    """A stable id for a premise, so hub NLI data can be grouped and split like ours."""
    return "h" + hashlib.sha1(text.strip().encode()).hexdigest()[:10]


def load_hub(name: str, subset: str | None, split: str, limit: int | None = None):
    """A split of a Hugging Face dataset (first `limit` rows), or one clear error when offline."""
    if not is_online():
        raise DataError(
            f"Dataset {name!r} needs the Hugging Face Hub, which is not reachable (offline). "
            f"Use source='{COURSE}' for the course's own data."
        )
    from datasets import load_dataset

    spec = f"{split}[:{limit}]" if limit else split
    try:
        return load_dataset(name, subset, split=spec)
    except Exception as err:  # datasets raises many types; the learner needs one sentence
        raise DataError(f"Could not load {name!r} (subset {subset}, split {spec}): {err}") from err


def _require(ds, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise DataError(f"{name}: missing columns {missing}; it has {ds.column_names}.")
