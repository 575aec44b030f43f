"""Loaders: the right columns from the course files, and one clear error for each bad file."""

import json

import pytest

import course
import course.triplets
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


# ---------------------------------------------------------------- your own files, by path (JSONL and CSV)

OWN_NLI = ("premise,hypothesis,label\n"
           "A dog sleeps on the porch.,An animal is resting.,entailment\n"
           '"A dog sleeps, snoring.",The dog is running.,contradiction\n')


@pytest.mark.parametrize("name, text", [
    ("mine.csv", OWN_NLI),
    ("mine.csv", OWN_NLI.replace(",", ";").replace('"A dog sleeps; snoring."', '"A dog sleeps, snoring."')),
    ("mine.tsv", OWN_NLI.replace(",", "\t").replace('"A dog sleeps\t snoring."', '"A dog sleeps, snoring."')),
    ("mine.jsonl", '{"premise": "A dog sleeps on the porch.", "hypothesis": "An animal is resting.", '
                   '"label": "entailment"}\n{"premise": "A dog sleeps, snoring.", "hypothesis": '
                   '"The dog is running.", "label": "contradiction"}\n'),
])
def test_load_nli_reads_your_file_by_path(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    ds = course.load_nli(str(path))  # no split column: every row, whatever the default split
    assert ds["label"] == ["entailment", "contradiction"]
    assert ds["premise"][1] == "A dog sleeps, snoring."
    assert ds["premise_id"][0] == course.datasets.premise_id("A dog sleeps on the porch.")
    assert course.triplets.read_nli_file(path)["label"] == ["entailment", "contradiction"]
    with pytest.raises(DataError, match="has no 'split' column.*split=None"):
        course.load_nli(str(path), split="test")


def test_every_loader_reads_a_local_csv(tmp_path):
    (tmp_path / "c.csv").write_text("id,topic,text\nc1,dogs,A dog barks.\nc2,cats,A cat purrs.\n")
    (tmp_path / "q.csv").write_text("id,query,relevant\nq1,Which animal barks?,c1\nq2,Pets?,c1 c2\n")
    (tmp_path / "s.csv").write_text("sentence1,sentence2,score\nA cat.,A kitten.,4.5\nA dog.,A car.,0\n")
    assert course.load_corpus(str(tmp_path / "c.csv"))["id"] == ["c1", "c2"]
    queries = course.load_queries(str(tmp_path / "q.csv"), corpus=str(tmp_path / "c.csv"))
    assert [q["relevant"] for q in queries] == [["c1"], ["c1", "c2"]]
    sts = course.load_sts(str(tmp_path / "s.csv"))
    assert sts["gold"] == [4.5, 0.0] and sts["score"] == [0.9, 0.0]


def test_course_and_path_sources_agree():
    path = course.datasets.DATA_DIR / "sts.jsonl"
    assert course.load_sts(str(path)).to_list() == course.load_sts().to_list()
