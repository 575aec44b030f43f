"""Loaders: the right columns from the course files, and one clear error for each bad file."""

import json

import pytest

import course
from course.datasets import DataError

NLI_ROW = {"id": "x1", "premise_id": "p1", "premise": "A dog sleeps.", "hypothesis": "An animal rests.",
           "label": "entailment", "split": "train"}


def write(tmp_path, rows, name="bad.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_corpus_columns_and_topics():
    ds = course.load_corpus()
    assert ds.column_names == ["id", "topic", "text", "split"]
    assert {"dogs", "cats", "horses", "zebras"} <= set(ds["topic"])
    assert len(course.load_corpus(split="test")) < len(ds)


def test_nli_splits_and_labels():
    train, test = course.load_nli(split="train"), course.load_nli(split="test")
    assert set(train["label"]) == {"entailment", "neutral", "contradiction"}
    assert len(train) + len(test) == len(course.load_nli(split=None))
    assert len(course.load_nli(split="train", limit=10)) == 10


def test_sts_scores_scaled_to_unit_interval():
    ds = course.load_sts(split="test")
    assert 0.0 <= min(ds["score"]) and max(ds["score"]) <= 1.0
    assert all(abs(s * 5 - g) < 1e-9 for s, g in zip(ds["score"], ds["gold"], strict=True))
    assert set(ds["category"]) == {"paraphrase", "partial", "unrelated", "negation"}


@pytest.mark.parametrize(
    "rows, message",
    [
        (['{"id": "x1", "premise": oops}'], "line 1: not valid JSON"),
        ([{k: v for k, v in NLI_ROW.items() if k != "hypothesis"}], "line 1: missing column 'hypothesis'"),
        ([NLI_ROW, {**NLI_ROW, "id": "x2", "label": "maybe"}], "line 2: unknown label 'maybe'"),
        ([{**NLI_ROW, "premise": "   "}], "line 1: column 'premise' is empty"),
        ([NLI_ROW, NLI_ROW], "line 2: duplicate id 'x1' \\(first on line 1\\)"),
        ([{**NLI_ROW, "hypothesis": 3}], "line 1: column 'hypothesis' is 3"),
        (["[1, 2]"], "line 1: is not a JSON object"),
    ],
)
def test_bad_nli_file_names_file_and_line(tmp_path, rows, message):
    path = write(tmp_path, rows)
    with pytest.raises(DataError, match=message) as err:
        course.load_nli(path=path, split=None)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_sts_score_and_missing_file(tmp_path):
    row = {"id": "s1", "sentence1": "a", "sentence2": "b", "score": 7, "split": "test"}
    with pytest.raises(DataError, match="line 1: score 7 is outside 0-5"):
        course.load_sts(path=write(tmp_path, [row]))
    with pytest.raises(DataError, match="no such file"):
        course.load_corpus(path=tmp_path / "missing.jsonl")


def test_empty_file_and_unknown_split(tmp_path):
    with pytest.raises(DataError, match="has no rows"):
        course.load_corpus(path=write(tmp_path, [""]))
    with pytest.raises(DataError, match="no rows in split 'validation'"):
        course.load_corpus(split="validation")


def test_hub_sources_refuse_clearly_offline():
    with pytest.raises(DataError, match="not reachable \\(offline\\).*source='course'"):
        course.load_nli(source="sentence-transformers/all-nli")
