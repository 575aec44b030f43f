"""MTEB evaluation: the course tasks load the packaged data, and every mteb score equals the
same number computed directly (scipy / sklearn / by hand) on the data mteb used.

Notebook 07 writes the STS and Retrieval tasks in its own cells; `_STS` and `_Retrieval` below
are the same shapes over the same data, so the per-item recipes are tested on all four types."""

from __future__ import annotations

import hashlib
import json

import mteb
import numpy as np
import pandas as pd
import pytest
from datasets import Dataset, DatasetDict
from mteb.abstasks import AbsTaskRetrieval, AbsTaskSTS
from mteb.abstasks.task_metadata import TaskMetadata
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score

import course
from course import evaluation as ev
from course.basics import pair_cosines
from course.exercises import evaluation as ex

LIMIT = 16
PAIRS = "CoursePairClassification"


def _meta(name, kind, main_score):
    return TaskMetadata(name=name, description="test", type=kind, main_score=main_score,
                        eval_langs=["eng-Latn"], dataset={"path": f"local/{name}", "revision": "1"})


class _STS(AbsTaskSTS):
    min_score, max_score = 0, 5
    metadata = _meta("TestSTS", "STS", "cosine_spearman")

    def load_data(self, **kwargs):
        sts = ev.sample(course.load_sts(split="test"), LIMIT)
        self.dataset = DatasetDict({"test": sts.select_columns(["sentence1", "sentence2", "score"])})
        self.data_loaded = True


class _Retrieval(AbsTaskRetrieval):
    metadata = _meta("TestRetrieval", "Retrieval", "ndcg_at_10")
    with_top_ranked = True

    def load_data(self, **kwargs):
        queries, corpus = ev.sample_retrieval(Dataset.from_list(course.load_queries()),
                                              course.load_corpus(), LIMIT)
        split = {"corpus": corpus.select_columns(["id", "text"]),
                 "queries": queries.select_columns(["id", "query"]).rename_column("query", "text"),
                 "relevant_docs": {q["id"]: dict.fromkeys(q["relevant"], 1) for q in queries}}
        if self.with_top_ranked:
            split["top_ranked"] = None
        self.dataset, self.data_loaded = {"default": {"test": split}}, True


@pytest.fixture(scope="module")
def model():
    return course.load_embedder(device="cpu")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from course.training import random_bert

    path = tmp_path_factory.mktemp("tiny") / "bert"
    random_bert(hidden=32, layers=1, heads=2).save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    return course.load_embedder(str(tiny_dir), device="cpu")


@pytest.fixture(scope="module")
def run(model):
    """The four task types (a fixed 16-row sample each) and mteb's result on them."""
    topics, pairs = ev.course_tasks(limit=LIMIT, load=True)
    tasks = [_STS(), topics, _Retrieval(), pairs]
    for task in (tasks[0], tasks[2]):
        task.load_data()
    return tasks, ev.run(model, tasks, name="minilm")


def _task(tasks, name):
    return next(t for t in tasks if t.metadata.name == name)


def test_course_tasks_metadata():
    tasks = ev.course_tasks()
    assert [t.metadata.type for t in tasks] == ["Classification", "PairClassification"]
    pair = tasks[1].metadata
    assert pair.main_score == "cosine_ap"
    nli = ev.DATA_DIR / "nli.jsonl"
    assert pair.dataset["revision"] == ev.data_revision(nli) == hashlib.sha1(nli.read_bytes()).hexdigest()[:12]
    two = ev.data_revision(ev.DATA_DIR / "corpus.jsonl", ev.DATA_DIR / "retrieval.jsonl")
    assert two not in {ev.data_revision(ev.DATA_DIR / "corpus.jsonl"), ev.data_revision(nli)}
    with pytest.raises(ValueError, match="CoursePairClassification"):
        ev.course_tasks(["NoSuchTask"])


def test_full_tasks_load_the_packaged_data():
    cls, pair = ev.course_tasks(load=True)
    assert (len(cls.dataset["train"]), len(cls.dataset["test"])) == (240, 80)
    assert sorted(set(cls.dataset["test"]["label"])) == list(range(10))
    assert set(pair.dataset["test"]["labels"]) == {0, 1}


def test_limit_is_a_fixed_sample():
    a, b = (ev.course_tasks(["CoursePairClassification"], limit=5, load=True)[0] for _ in range(2))
    assert len(a.dataset["test"]) == 5
    assert a.dataset["test"]["sentence1"] == b.dataset["test"]["sentence1"]


def test_sample_retrieval_keeps_relevant_documents():
    queries, corpus = Dataset.from_list(course.load_queries()), course.load_corpus()
    assert ev.sample_retrieval(queries, corpus, None) == (queries, corpus)
    q, c = ev.sample_retrieval(queries, corpus, 6)
    wanted = {d for rel in q["relevant"] for d in rel}
    assert len(q) == 6 and wanted <= set(c["id"]) and len(c) == len(wanted) + 12
    assert ev.sample_retrieval(queries, corpus, 6)[1]["id"] == c["id"]


def test_retrieval_task_needs_top_ranked(model):
    """Notebook 07 says a Retrieval task's split must hold the key top_ranked (None for search
    over the whole corpus): mteb reads it by key."""
    task = _Retrieval()
    task.with_top_ranked = False
    task.load_data()
    with pytest.raises(KeyError, match="top_ranked"):
        mteb.evaluate(model, tasks=[task], cache=None, show_progress_bar=False)


def test_load_queries_checks_ids(tmp_path):
    queries = {q["id"]: q for q in course.load_queries()}
    assert len(queries) == 50
    assert set(queries["q19"]["relevant"]) == {"c098", "c099", "c122"}
    bad = tmp_path / "r.jsonl"
    bad.write_text(json.dumps({"id": "q1", "query": "x", "relevant": ["c999"], "split": "test"}))
    with pytest.raises(course.DataError, match="line 1.*c999"):
        course.load_queries(path=bad)


def test_sts_score_equals_scipy(model, run):
    tasks, result = run
    data = _task(tasks, "TestSTS").dataset["test"]
    cos = pair_cosines(model, data["sentence1"], data["sentence2"])
    expected = spearmanr(cos, data["score"])[0]
    assert ev.main_score(result, "TestSTS") == pytest.approx(expected, abs=1e-6)


def test_pair_classification_ap_equals_sklearn(model, run):
    tasks, result = run
    data = _task(tasks, "CoursePairClassification").dataset["test"]
    cos = pair_cosines(model, data["sentence1"], data["sentence2"])
    expected = average_precision_score(data["labels"], cos)
    assert ev.main_score(result, "CoursePairClassification") == pytest.approx(expected, abs=1e-6)


def test_retrieval_ndcg_equals_per_query_computation(model, run):
    tasks, result = run
    split = _task(tasks, "TestRetrieval").dataset["default"]["test"]
    per_query = ev.query_ndcg(model, split)
    assert len(per_query) == len(split["queries"]) and ((0 <= per_query) & (per_query <= 1)).all()
    assert ev.main_score(result, "TestRetrieval") == pytest.approx(per_query.mean(), abs=1e-4)


def test_retrieval_prompts_reach_mteb_and_the_per_query_recipe(run):
    """mteb encodes retrieval queries with encode_query and documents with encode_document, so
    `model.prompts` changes the score; query_ndcg applies them the same way."""
    tasks, result = run
    task = _task(tasks, "TestRetrieval")
    prompted = course.load_embedder(device="cpu")
    # a long off-topic document prompt: it must reach every document to move the ranking
    prompted.prompts = {"query": "query: ", "document": "A recipe for tomato soup with basil and garlic. " * 4}
    score = mteb.evaluate(prompted, tasks=[task], cache=None, show_progress_bar=False).task_results[0].get_score()
    per_query = ev.query_ndcg(prompted, task.dataset["default"]["test"])
    assert score == pytest.approx(per_query.mean(), abs=1e-4)
    assert score != pytest.approx(ev.main_score(result, "TestRetrieval"), abs=1e-6)  # the prompts did something


def test_classification_accuracy_equals_per_text_hits(model, run):
    tasks, result = run
    data = _task(tasks, "CourseTopicClassification").dataset
    hits = ev.classification_hits(model, data)
    assert len(hits) == len(data["test"])
    assert ev.main_score(result, "CourseTopicClassification") == pytest.approx(hits.mean(), abs=1e-9)


def test_paired_changes_recompute_every_main_score(model, run):
    tasks, result = run
    same = ev.paired_changes(model, model, tasks)
    assert list(same.index) == [t.metadata.name for t in tasks]
    for name, row in same.iterrows():
        assert row["before"] == pytest.approx(ev.main_score(result, name), abs=1e-4)
        assert row["change"] == 0 and row["ci_low"] == row["ci_high"] == 0
        assert row["verdict"] == "no change (the interval is 0 to 0)"
    assert same.loc["TestSTS", "n"] == LIMIT and same.loc["TestSTS", "resampled"] == f"{LIMIT} pairs"
    premises = len(set(_task(tasks, PAIRS).dataset["test"]["sentence1"]))
    assert same.loc[PAIRS, "resampled"] == f"{premises} premises" and premises < LIMIT


def test_paired_changes_see_a_different_model(model, run, tiny):
    tasks, _ = run
    changes = ev.paired_changes(model, tiny, tasks)
    assert (changes["change"] != 0).all()
    assert ((changes["ci_low"] <= changes["change"]) & (changes["change"] <= changes["ci_high"])).all()
    with pytest.raises(ValueError, match="Clustering"):
        ev.paired_changes(model, tiny, [_FakeTask("Clustering")])


class _FakeTask:
    data_loaded = True

    def __init__(self, kind):
        from types import SimpleNamespace

        self.metadata = SimpleNamespace(type=kind, name="Fake", main_score="v_measure")


def test_missing_model_hint_says_how_to_get_one(tmp_path):
    hint = ev.missing_model_hint(tmp_path / "minilm-course-nli")
    assert "\n" not in hint and str(tmp_path) in hint  # one line, naming the folder it looked in
    assert "notebook 06" in hint and "python -m course train --profile cpu" in hint
    assert f"{ev.TRAIN_CLI_SECONDS} s" in hint and "stand-in" in hint


def test_verdict_names_an_interval_edge_at_zero():
    from course.stats import PairedDiff, paired_bootstrap

    assert ev.verdict(PairedDiff(0.5, 0.6, 40, 0.02, 0.2)).startswith("a real gain")
    assert ev.verdict(PairedDiff(0.5, 0.4, 40, -0.2, -0.02)).startswith("a real loss")
    assert "contains 0 inside it" in ev.verdict(PairedDiff(0.5, 0.5, 40, -0.1, 0.1))
    # two texts of 80 turn right: many resamples hold neither, so the interval starts at 0
    before = np.zeros(80)
    after = before.copy()
    after[:2] = 1
    d = paired_bootstrap(before, after)
    assert d.low == 0 < d.high
    assert "starts at exactly 0" in ev.verdict(d)
    assert "ends at exactly 0" in ev.verdict(paired_bootstrap(after, before))


def test_scores_frame_compare_and_chart(run):
    tasks, result = run
    frame = ev.scores_frame([result], tasks)
    assert list(frame["task"]) == [t.metadata.name for t in tasks]
    assert set(frame["mteb"]) == {mteb.__version__}
    other = frame.assign(model="other", score=frame["score"] + 0.1)
    both = pd.concat([frame, other])
    wide = ev.compare(both)
    assert list(wide.columns) == ["minilm", "other", "change"]
    assert np.allclose(wide["change"], 0.1)
    fig = ev.scores_chart(both)
    assert [tr.name for tr in fig.data] == ["minilm", "other"]
    assert np.allclose(fig.data[1].y, frame["score"] + 0.1)
    with pytest.raises(ValueError, match="TestSTS"):
        ev.main_score(result, "Missing")


def test_cache_reuses_results_for_same_weights(model, tmp_path):
    cache = mteb.ResultCache(tmp_path)
    task = lambda: ev.course_tasks(["CoursePairClassification"], limit=8)  # noqa: E731
    first = ev.run(model, task(), name="m", cache=cache)
    files = list((tmp_path / "results").rglob("CoursePairClassification.json"))
    assert len(files) == 1 and ev.fingerprint(model) in str(files[0])
    again, seconds = ev.timed(ev.run, model, task(), name="m", cache=cache)
    assert ev.main_score(again, PAIRS) == pytest.approx(ev.main_score(first, PAIRS), abs=1e-6)
    # A result stored for another task version is stale and is recomputed, not reused.
    stored = json.loads(files[0].read_text())
    stored["dataset_revision"], stored["scores"]["test"][0]["main_score"] = "old", -1.0
    files[0].write_text(json.dumps(stored))
    fresh = ev.run(model, task(), name="m", cache=cache)
    assert ev.main_score(fresh, PAIRS) == pytest.approx(ev.main_score(first, PAIRS))


def test_two_local_models_in_one_cache_get_their_own_scores(tmp_path, tiny_dir):
    """The pitfall of notebook 07: called plainly, mteb files two local models under one
    placeholder name and returns the first one's cached score for the second. ev.run names
    each model and uses its weights' fingerprint as revision, so each gets its own score."""
    from sentence_transformers import SentenceTransformer

    cache = mteb.ResultCache(tmp_path / "cache")
    task = lambda: ev.course_tasks([PAIRS], limit=8)  # noqa: E731
    first = SentenceTransformer(str(course.models.packaged_model_path()), device="cpu")
    second = SentenceTransformer(str(tiny_dir), device="cpu")
    assert first.model_card_data.model_name is None is second.model_card_data.model_name
    scores = [ev.main_score(ev.run(m, task(), cache=cache), PAIRS) for m in (first, second)]
    own = [ev.main_score(ev.run(m, task(), cache=None), PAIRS) for m in (first, second)]
    assert scores == pytest.approx(own, abs=1e-9) and abs(scores[0] - scores[1]) > 0.01
    stored = sorted(p.parent.name for p in (tmp_path / "cache").rglob(f"{PAIRS}.json"))
    assert stored == sorted([ev.fingerprint(first), ev.fingerprint(second)])


def test_pitfall_report_names_the_donor():
    text = ev.pitfall_report({"a": 0.8, "b": 0.8}, {"a": 0.8, "b": 0.6})
    assert text.splitlines() == ["a: reported 0.8000, its own score.",
                                 "b: reported 0.8000, but its own score is 0.6000: it silently "
                                 "received a's cached result."]


def test_fingerprint_follows_the_weights(model):
    before = ev.fingerprint(model)
    param = next(model.parameters())
    with __import__("torch").no_grad():
        param[0, 0] += 1.0
        changed = ev.fingerprint(model)
        param[0, 0] -= 1.0
    assert changed != before and ev.fingerprint(model) == before


def test_result_cache_only_outside_smoke(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ARTIFACTS", str(tmp_path))
    smoke = course.Profile("smoke", "cpu", False, (0,), 10, 8)
    assert ev.result_cache(smoke) is None and not (tmp_path / "mteb").exists()
    cache = ev.result_cache(course.Profile("cpu", "cpu", False, (0,), 10, 8))
    assert cache.cache_path == tmp_path / "mteb"


def test_hub_task_metadata_offline():
    tasks = ev.hub_tasks(course.Profile("gpu", "cpu", False, (0,), 10, 8))
    info = ev.describe_tasks(tasks)
    assert list(info.index) == ["STSBenchmark", "Banking77Classification.v2", "SciFact"]
    assert info.loc["STSBenchmark", "superseded_by"] == "STSBenchmark.v2"
    assert info.loc["SciFact", "main_score"] == "ndcg_at_10"


def test_cost_and_zero_shot_frames():
    names = ["sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-mpnet-base-v2"]
    cost = ev.cost_frame(names)
    assert list(cost.index) == ["all-MiniLM-L6-v2", "all-mpnet-base-v2"]
    extra = cost["params (M)"].iloc[1] - cost["params (M)"].iloc[0]
    assert cost["points per extra 10M params"].iloc[1] == pytest.approx(
        (83.42 - 82.03) / extra * 10, abs=1e-3)
    zs = ev.zero_shot_frame(names[:1])
    assert "MSMARCO" in zs.iloc[0]["annotated training sets"]
    assert zs.iloc[0]["zero-shot % MTEB(eng, v1)"] < 100


def test_published_frame_has_split_and_source():
    frame = ev.published_frame("STSBenchmark")
    assert set(frame["split"]) == {"test"} and len(frame) == 3


def test_exercise_checks(run, capsys):
    tasks, result = run
    target = ev.main_score(result, "TestSTS")
    assert ex.check_sts_by_hand(..., target).passed is False
    assert ex.check_sts_by_hand(target + 0.05, target).passed is False
    assert ex.check_sts_by_hand(target, target).passed is True
    assert ex.check_task_choice(...).passed is False
    assert ex.check_task_choice(mteb.get_tasks(task_types=["STS"], languages=["eng"])).passed is False
    retrieval = mteb.get_tasks(task_types=["Retrieval"], languages=["eng"])
    capsys.readouterr()
    assert ex.check_task_choice(retrieval).passed is False  # code search is in there
    assert "Programming" in capsys.readouterr().out
    no_code = [t for t in retrieval if "Programming" not in (t.metadata.domains or [])]
    assert ex.check_task_choice(no_code).passed is True
    assert f"{len(no_code)} English retrieval tasks without code search" in capsys.readouterr().out


def test_exercise_custom_task(tiny, tmp_path, capsys):
    from mteb.abstasks import AbsTaskPairClassification

    class Pairs(AbsTaskPairClassification):
        metadata = TaskMetadata(name="Pairs", description="d", type="PairClassification",
                                main_score="cosine_ap", eval_langs=["eng-Latn"],
                                dataset={"path": "local/pairs", "revision": "1"})

        def load_data(self, **kwargs):
            self.dataset = DatasetDict({"test": Dataset.from_dict(ex.MY_PAIRS)})
            self.data_loaded = True

    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(course.models.packaged_model_path()), device="cpu")
    cache = mteb.ResultCache(tmp_path)
    assert ex.check_custom_task(..., plain).passed is False
    first = mteb.evaluate(plain, tasks=[Pairs()], cache=cache, show_progress_bar=False)
    capsys.readouterr()
    assert ex.check_custom_task(first, plain).passed is False  # filed under the placeholder name
    assert "placeholder" in capsys.readouterr().out
    stolen = mteb.evaluate(tiny, tasks=[Pairs()], cache=cache, show_progress_bar=False)
    assert ex.check_custom_task(stolen, tiny).passed is False  # the cache handed it model's result
    tiny.model_card_data.model_name = "local/tiny"
    tiny.model_card_data.base_model_revision = ev.fingerprint(tiny)
    own = mteb.evaluate(tiny, tasks=[Pairs()], cache=cache, show_progress_bar=False)
    assert ex.check_custom_task(own, tiny).passed is True


def test_notebook_07_says_how_the_leaderboard_ranks():
    """The MTEB leaderboard ranks by Borda count and shows Mean (Task) / Mean (TaskType), as
    mteb's own benchmark code does; notebook 07 must not call it a plain average."""
    import nbformat

    nb = nbformat.read(ev.DATA_DIR.parent.parent / "notebooks" / "07_mteb_evaluation.ipynb", as_version=4)
    text = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    assert "**Borda count**" in text and "`Mean (Task)`" in text and "`Mean (TaskType)`" in text
    assert "A leaderboard sorts by an average" not in text
    names = {a.value for a in mteb.get_benchmark("MTEB(eng, v2)").aggregations}
    assert {"mean_task", "mean_task_type"} <= names
