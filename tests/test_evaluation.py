"""MTEB evaluation: the course tasks load the packaged data, and every mteb score equals the
same number computed directly (scipy / sklearn / by hand) on the data mteb used."""

from __future__ import annotations

import json

import mteb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

import course
from course import evaluation as ev
from course.basics import pair_cosines
from course.exercises import evaluation as ex

LIMIT = 16


@pytest.fixture(scope="module")
def model():
    return course.load_embedder(device="cpu")


@pytest.fixture(scope="module")
def run(model):
    """The four course tasks (a fixed 16-row sample each) and mteb's result on them."""
    tasks = ev.course_tasks(limit=LIMIT, load=True)
    return tasks, ev.run(model, tasks, name="minilm")


def _task(tasks, name):
    return next(t for t in tasks if t.metadata.name == name)


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_course_tasks_metadata():
    tasks = ev.course_tasks()
    assert [t.metadata.type for t in tasks] == ["STS", "Classification", "Retrieval",
                                                "PairClassification"]
    sts = tasks[0].metadata
    assert sts.main_score == "cosine_spearman"
    assert sts.dataset["revision"] == ev.data_revision(ev.DATA_DIR / "sts.jsonl")
    with pytest.raises(ValueError, match="CourseSTS"):
        ev.course_tasks(["NoSuchTask"])


def test_full_tasks_load_the_packaged_data():
    sts, cls, ret, pair = ev.course_tasks(load=True)
    assert len(sts.dataset["test"]) == len(course.load_sts(split="test"))
    assert max(sts.dataset["test"]["score"]) <= 5  # gold 0-5, normalised by min/max_score
    assert (len(cls.dataset["train"]), len(cls.dataset["test"])) == (240, 80)
    assert sorted(set(cls.dataset["test"]["label"])) == list(range(10))
    split = ret.dataset["default"]["test"]
    assert len(split["corpus"]) == 320 and len(split["queries"]) == 50
    assert set(pair.dataset["test"]["labels"]) == {0, 1}


def test_limit_is_a_fixed_sample():
    a, b = ev.course_tasks(["CourseSTS"], limit=5)[0], ev.course_tasks(["CourseSTS"], limit=5)[0]
    a.load_data()
    b.load_data()
    assert len(a.dataset["test"]) == 5
    assert a.dataset["test"]["sentence1"] == b.dataset["test"]["sentence1"]


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
    data = _task(tasks, "CourseSTS").dataset["test"]
    cos = pair_cosines(model, data["sentence1"], data["sentence2"])
    expected = spearmanr(cos, data["score"])[0]
    assert ev.main_score(result, "CourseSTS") == pytest.approx(expected, abs=1e-6)
    assert ev.direct_sts_spearman(model, limit=LIMIT) == pytest.approx(expected, abs=1e-6)


def test_pair_classification_ap_equals_sklearn(model, run):
    tasks, result = run
    data = _task(tasks, "CoursePairClassification").dataset["test"]
    cos = pair_cosines(model, data["sentence1"], data["sentence2"])
    expected = average_precision_score(data["labels"], cos)
    scores = next(tr for tr in result.task_results
                  if tr.task_name == "CoursePairClassification").scores["test"][0]
    assert scores["cosine_ap"] == pytest.approx(expected, abs=1e-6)


def test_retrieval_ndcg_equals_hand_computation(model, run):
    tasks, result = run
    split = _task(tasks, "CourseRetrieval").dataset["default"]["test"]
    docs = _unit(model.encode(list(split["corpus"]["text"])))
    queries = _unit(model.encode(list(split["queries"]["text"])))
    doc_ids = np.array(split["corpus"]["id"])
    ndcgs = []
    for qid, q in zip(split["queries"]["id"], queries, strict=True):
        relevant = set(split["relevant_docs"][qid])
        top = doc_ids[np.argsort(-(docs @ q))[:10]]
        dcg = sum(1 / np.log2(i + 2) for i, d in enumerate(top) if d in relevant)
        ideal = sum(1 / np.log2(i + 2) for i in range(min(len(relevant), 10)))
        ndcgs.append(dcg / ideal)
    assert ev.main_score(result, "CourseRetrieval") == pytest.approx(np.mean(ndcgs), abs=1e-4)


def test_classification_accuracy_equals_sklearn(model, run):
    tasks, result = run
    data = _task(tasks, "CourseTopicClassification").dataset
    clf = LogisticRegression(max_iter=100, random_state=42)
    clf.fit(model.encode(list(data["train"]["text"])), data["train"]["label"])
    predicted = clf.predict(model.encode(list(data["test"]["text"])))
    expected = np.mean(predicted == np.array(data["test"]["label"]))
    assert ev.main_score(result, "CourseTopicClassification") == pytest.approx(expected, abs=1e-9)


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
    with pytest.raises(ValueError, match="CourseSTS"):
        ev.main_score(result, "Missing")


def test_cache_reuses_results_for_same_weights(model, tmp_path):
    cache = mteb.ResultCache(tmp_path)
    task = lambda: ev.course_tasks(["CourseSTS"], limit=8)  # noqa: E731
    first = ev.run(model, task(), name="m", cache=cache)
    files = list((tmp_path / "results").rglob("CourseSTS.json"))
    assert len(files) == 1 and ev.fingerprint(model) in str(files[0])
    again, seconds = ev.timed(ev.run, model, task(), name="m", cache=cache)
    assert ev.main_score(again, "CourseSTS") == pytest.approx(ev.main_score(first, "CourseSTS"), abs=1e-6)
    # A result stored for another task version is stale and is recomputed, not reused.
    stored = json.loads(files[0].read_text())
    stored["dataset_revision"], stored["scores"]["test"][0]["main_score"] = "old", -1.0
    files[0].write_text(json.dumps(stored))
    fresh = ev.run(model, task(), name="m", cache=cache)
    assert ev.main_score(fresh, "CourseSTS") == pytest.approx(ev.main_score(first, "CourseSTS"))


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


def test_task_types_frame_counts_the_benchmark():
    frame = ev.task_types_frame("MTEB(eng, v2)")
    column = "tasks in MTEB(eng, v2)"
    assert frame[column].sum() == len(mteb.get_benchmark("MTEB(eng, v2)").tasks)
    assert frame.loc["Retrieval", "main_score"] == "ndcg_at_10"


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
    target = ev.main_score(result, "CourseSTS")
    assert ex.check_sts_by_hand(..., target) is False
    assert ex.check_sts_by_hand(target + 0.05, target) is False
    assert ex.check_sts_by_hand(target, target) is True
    assert ex.check_task_choice(...) is False
    assert ex.check_task_choice(mteb.get_tasks(task_types=["STS"], languages=["eng"])) is False
    assert ex.check_task_choice(mteb.get_tasks(task_types=["Retrieval"], languages=["eng"])) is True
    assert "✅" in capsys.readouterr().out
