import json

import numpy as np
import pytest
from datasets import Dataset

import course
from course import stats
from course import triplets as tx
from course.exercises import triplets as ex


def nli_rows(*specs):
    """(premise, hypothesis, label) tuples -> rows as load_nli gives them."""
    return [{"premise_id": "p" + p[:8], "premise": p, "hypothesis": h, "label": lab}
            for p, h, lab in specs]


@pytest.fixture(scope="module")
def model():
    return course.load_embedder()


@pytest.fixture(autouse=True)
def artifacts(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ARTIFACTS", str(tmp_path / "artifacts"))


# ---------------------------------------------------------------- mining from labels

def test_every_entailment_contradiction_combination_is_a_triplet():
    rows = nli_rows(("P", "e1", "entailment"), ("P", "e2", "entailment"),
                    ("P", "c1", "contradiction"), ("P", "c2", "contradiction"),
                    ("P", "c3", "contradiction"), ("P", "n", "neutral"))
    ds, report = tx.mine_triplets(rows, max_per_premise=None)
    assert len(ds) == 6 and report.triplets == 6
    assert {(r["positive"], r["negative"]) for r in ds} == {(e, c) for e in ("e1", "e2")
                                                            for c in ("c1", "c2", "c3")}
    assert set(ds["anchor"]) == {"P"} and ds.column_names == ["anchor", "positive", "negative"]
    assert report.dropped["neutral pairs (not used)"] == 1


def test_cap_is_per_premise_and_deterministic():
    rows = nli_rows(*[("P", f"e{i}", "entailment") for i in range(3)],
                    *[("P", f"c{i}", "contradiction") for i in range(3)],
                    ("Q", "qe", "entailment"), ("Q", "qc", "contradiction"))
    a, rep = tx.mine_triplets(rows, max_per_premise=4, seed=1)
    b, _ = tx.mine_triplets(rows, max_per_premise=4, seed=1)
    others = [tx.mine_triplets(rows, max_per_premise=4, seed=s)[0] for s in (2, 3, 4)]
    assert len(a) == 5 and rep.dropped["over the per-premise cap"] == 5
    assert a.to_list() == b.to_list()
    assert any(set(map(str, a.to_list())) != set(map(str, c.to_list())) for c in others)
    assert "capped 9 -> 4" in set(rep.table()["note"])


def test_premises_without_both_labels_yield_nothing():
    rows = nli_rows(("P", "e", "entailment"), ("P", "n", "neutral"),
                    ("Q", "c", "contradiction"), ("R", "e", "entailment"))
    ds, report = tx.mine_triplets(rows)
    assert len(ds) == 0 and ds.column_names == ["anchor", "positive", "negative"]
    assert report.dropped["without a contradiction"] == 2
    assert report.dropped["without an entailment"] == 1 and report.kept_premises == 0
    assert "0 triplets" in str(report)


def test_duplicates_count_once_and_conflicts_are_dropped():
    rows = nli_rows(("P", "e", "entailment"), ("P", "e", "entailment"),
                    ("P", "c", "contradiction"), ("P", "x", "entailment"),
                    ("P", "x", "contradiction"))
    ds, report = tx.mine_triplets(rows)
    assert ds.to_list() == [{"anchor": "P", "positive": "e", "negative": "c"}]
    assert report.dropped["repeated pairs"] == 1
    assert report.dropped["hypotheses with conflicting labels"] == 1


def _notebook_cell(start: str) -> str:
    import nbformat

    from course.nbtools import NOTEBOOKS

    nb = nbformat.read(NOTEBOOKS / "05_nli_triplets.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
    assert len(cells) == 1, f"notebook 05 has {len(cells)} code cells starting with {start!r}"
    return cells[0]


def test_notebook_groupby_agrees_with_mine_triplets_on_conflicting_rows():
    rows = nli_rows(("P", "e", "entailment"), ("P", "e", "entailment"), ("P", "c", "contradiction"),
                    ("P", "x", "entailment"), ("P", "x", "contradiction"), ("P", "n", "neutral"),
                    ("Q", "y", "entailment"), ("Q", "y", "contradiction"), ("Q", "c2", "contradiction"))
    scope = {"nli": Dataset.from_list(rows), "Dataset": Dataset}
    exec(_notebook_cell("df = nli.to_pandas()"), scope)  # the visible groupby of section 2
    shown = scope["all_triplets"].to_list()
    assert all(t["positive"] != t["negative"] for t in shown)
    assert shown == tx.mine_triplets(rows, max_per_premise=None)[0].to_list()
    assert shown == [{"anchor": "P", "positive": "e", "negative": "c"}]


def test_mining_rejects_rows_it_cannot_read():
    with pytest.raises(course.DataError, match="label 0 is not one of"):
        tx.mine_triplets([{"premise": "P", "hypothesis": "h", "label": 0}])
    with pytest.raises(course.DataError, match=r"lacks columns \['label'\]"):
        tx.mine_triplets([{"premise": "P", "hypothesis": "h"}])


def test_course_train_numbers_and_no_leakage_across_splits():
    nli = course.load_nli(split="train")
    train, report = tx.mine_triplets(nli)
    test, _ = tx.mine_triplets(course.load_nli(split="test"))
    assert report.premises == len(set(nli["premise_id"])) and len(train) == report.triplets > 600
    train_texts = set(train["anchor"]) | set(train["positive"]) | set(train["negative"])
    test_texts = set(test["anchor"]) | set(test["positive"]) | set(test["negative"])
    assert not train_texts & test_texts


def test_split_by_anchor_keeps_anchors_apart():
    ds, _ = tx.mine_triplets(course.load_nli(split="train"))
    train, test = tx.split_by_anchor(ds, test_size=0.25, seed=0)
    assert len(train) + len(test) == len(ds) and len(test) > 0
    assert not set(train["anchor"]) & set(test["anchor"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        tx.split_by_anchor(ds, test_size=1.5)


def test_sample_premises_takes_whole_premises():
    nli = course.load_nli(split="train")
    small = tx.sample_premises(nli, 10, seed=0)
    assert len(set(small["premise_id"])) == 10
    whole = {pid: n for pid, n in zip(*np.unique(nli["premise_id"], return_counts=True),
                                      strict=True)}
    assert all(whole[pid] == n for pid, n in zip(*np.unique(small["premise_id"],
                                                            return_counts=True), strict=True))
    assert tx.sample_premises(nli, None) is nli


# ---------------------------------------------------------------- kinds of negatives

def test_negative_relations_read_the_labels():
    nli = nli_rows(("P", "e", "entailment"), ("P", "c", "contradiction"), ("Q", "x", "neutral"))
    trips = Dataset.from_list([{"anchor": "P", "positive": "e", "negative": n}
                               for n in ("c", "e", "x")])
    assert tx.negative_relations(trips, nli) == ["contradiction", "entailment", tx.OTHER_PREMISE]
    table = tx.relation_table({"k": trips}, nli)
    assert table.loc["k", "entailment of anchor (false negative)"] == 1


def test_scores_match_the_sentence_transformers_evaluator(model):
    from sentence_transformers.sentence_transformer.evaluation import TripletEvaluator

    ds = Dataset.from_list([
        {"anchor": "A dog runs on the beach.", "positive": "A dog is running by the sea.",
         "negative": "The stock market fell today."},
        {"anchor": "A cat sleeps on the sofa.", "positive": "A kitten naps on a couch.",
         "negative": "A cat is awake and hunting outside."},
        {"anchor": "It is raining hard.", "positive": "The weather is sunny and dry.",
         "negative": "Heavy rain is falling."}])
    s = tx.triplet_scores(model, ds)
    assert s.pos.shape == s.neg.shape == (3,)
    assert s.pos[0] > s.neg[0] and s.pos[2] < s.neg[2]  # the last row is deliberately wrong
    ref = TripletEvaluator(ds["anchor"], ds["positive"], ds["negative"])(model)
    assert s.accuracy == pytest.approx(ref[next(k for k in ref if k.endswith("cosine_accuracy"))])
    table = tx.negatives_table({"toy": s})
    assert table.loc["toy", "triplets"] == 3 and table.loc["toy", "premises"] == 3
    assert table.loc["toy", "triplet accuracy"] == pytest.approx(s.accuracy, abs=1e-3)
    assert s.anchors == ds["anchor"] and list(s.hits) == [1.0, 1.0, 0.0]
    assert list(table.columns) == list(tx.TABLE_COLUMNS)  # every column is explained


def test_accuracy_interval_resamples_premises_not_triplets():
    """Four triplets of one premise fail or succeed together: the interval is by premise."""
    anchors = [f"premise {i}" for i in range(30) for _ in range(4)]
    right = np.repeat(np.arange(30) % 3 != 0, 4)  # 20 premises right on all 4, 10 wrong on all 4
    s = tx.TripletScores(np.where(right, 0.8, 0.2), np.full(120, 0.5), anchors)
    ci = s.interval()
    wilson = stats.proportion(80, 120)
    assert (ci.k, ci.n, ci.groups, ci.unit) == (80, 120, 30, "premises")
    assert (ci.high - ci.low) > 1.5 * (wilson.high - wilson.low)
    table = tx.negatives_table({"toy": s})
    assert table.loc["toy", "premises"] == 30
    assert table.loc["toy", "accuracy 95% CI"] == f"{ci.low:.3f}-{ci.high:.3f}"
    with pytest.raises(ValueError, match="no anchors"):
        tx.TripletScores(s.pos, s.neg).interval()


def test_model_negatives_filters_and_false_negatives(model):
    nli = tx.sample_premises(course.load_nli(split="train"), 12, seed=0)
    ds, _ = tx.mine_triplets(nli)
    corpus = sorted(set(nli["hypothesis"]))
    mined = tx.model_negatives(ds, model, corpus)
    pairs = tx.distinct_pairs(ds)
    assert len(pairs) < len(ds)  # premises with two contradictions repeat their (anchor, positive)
    assert list(zip(mined["anchor"], mined["positive"], strict=True)) == pairs  # one row per pair
    assert len({tuple(r.values()) for r in mined}) == len(mined)  # no repeated rows
    known = {(r["anchor"], r["positive"]) for r in ds}
    assert all((r["anchor"], r["negative"]) not in known for r in mined)  # positives excluded
    strict = tx.model_negatives(ds, model, corpus, max_score=0.3)
    assert len(strict) <= len(mined) and max(tx.triplet_scores(model, strict).neg) <= 0.3 + 1e-4
    filtered = tx.model_negatives(ds, model, corpus, **tx.FILTERS)
    assert tx.triplet_scores(model, filtered).accuracy == 1.0  # the margin guarantees it
    raw = tx.model_negatives(ds, model, corpus, one_positive=True)
    assert len(raw) == len(set(ds["anchor"]))
    fn = tx.false_negatives(raw, tx.model_negatives(ds, model, corpus, one_positive=True,
                                                    **tx.FILTERS), nli, model)
    assert list(fn.columns)[:2] == ["anchor", "labelled positive"]
    assert fn[fn["within margin"]]["removed by filter"].all()
    assert all(label == "entailment" for label in tx.negative_relations(
        Dataset.from_dict({"anchor": list(fn["anchor"]), "positive": list(fn["labelled positive"]),
                           "negative": list(fn["mined 'negative'"])}), nli))


def test_filter_effect_counts_add_up():
    nli = nli_rows(("A", "a1", "entailment"), ("A", "a2", "entailment"), ("A", "ac", "contradiction"),
                   ("B", "b1", "entailment"), ("B", "b2", "entailment"), ("B", "b3", "entailment"),
                   ("C", "c1", "entailment"), ("C", "cc", "contradiction"))
    trip = lambda rows: Dataset.from_list([dict(zip(("anchor", "positive", "negative"), r, strict=True))  # noqa: E731
                                           for r in rows])
    raw = trip([("A", "a1", "a2"), ("B", "b1", "b2"), ("C", "c1", "cc")])
    filtered = trip([("A", "a1", "ac"), ("B", "b1", "b3"), ("C", "c1", "b1")])
    effect = tx.filter_effect(raw, filtered, nli)
    assert (effect["raw"], effect["removed"], effect["kept"], effect["new"], effect["after"]) == (2, 2, 0, 1, 1)
    assert effect["instead"] == {"contradiction": 1, "entailment": 1}
    same = tx.filter_effect(raw, raw, nli)
    assert (same["removed"], same["kept"], same["new"], same["after"]) == (0, 2, 0, 2)


def test_distinct_pairs_one_positive():
    ds = Dataset.from_list([{"anchor": "A", "positive": p, "negative": n}
                            for p in ("p1", "p2") for n in ("n1", "n2")])
    assert tx.distinct_pairs(ds) == [("A", "p1"), ("A", "p2")]
    assert tx.distinct_pairs(ds, one_positive=True) == [("A", "p1")]


def test_figure_has_a_trace_per_kind_and_a_diagonal():
    s = tx.TripletScores(np.array([0.8, 0.5]), np.array([0.1, 0.6]))
    fig = tx.negatives_figure({"random": s, "hard": s})
    assert [t.name.split(" ")[0] for t in fig.data[:2]] == ["random", "hard"]
    assert list(fig.data[0].y) == [0.1, 0.6] and fig.data[2].mode == "lines"
    assert "acc 0.50" in fig.data[0].name


# ---------------------------------------------------------------- browsing

def test_render_pages_escapes_and_marks_wrong_order():
    ds = Dataset.from_list([{"anchor": f"a{i} <b>", "positive": f"p{i}", "negative": f"n{i}"}
                            for i in range(7)])
    s = tx.TripletScores(np.linspace(0.9, 0.3, 7), np.full(7, 0.5))
    page1 = tx.render_triplets(ds, s, page=1, per_page=5)
    assert "a5 &lt;b&gt;" in page1 and "a4" not in page1 and "<b>" not in page1
    assert page1.count("<tr>") == 3 and page1.count("❌") == 2  # rows 5, 6 score 0.4, 0.3
    assert "page 2/2" in page1 and "cos(a,p)" not in tx.render_triplets(ds, page=0)
    with pytest.raises(ValueError, match="pages run 0..1"):
        tx.render_triplets(ds, s, page=2, per_page=5)
    with pytest.raises(ValueError, match="scores are for 2 triplets"):
        tx.render_triplets(ds, tx.TripletScores(np.zeros(2), np.zeros(2)))


def test_browser_callback_renders_the_chosen_page():
    ds = Dataset.from_list([{"anchor": f"a{i}", "positive": "p", "negative": "n"}
                            for i in range(6)])
    box = tx.triplet_browser(ds, per_page=2)
    slider, view = box.children
    assert slider.max == 2 and "a0" in view.value
    slider.value = 2
    assert view.value == tx.render_triplets(ds, page=2, per_page=2)


# ---------------------------------------------------------------- bring your own data

def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_byo_csv_with_custom_columns_and_labels(tmp_path):
    path = tx.write_example_file(tmp_path / "mine.csv")
    labels = {"yes": "entailment", "no": "contradiction", "maybe": "neutral"}
    ds, report = tx.triplets_from_file(path, premise="sentence_a", hypothesis="sentence_b",
                                       label="verdict", labels=labels)
    assert len(ds) == 3 and report.kept_premises == 2
    assert report.dropped["without an entailment"] == 1  # the snow premise has only "maybe"


def test_byo_jsonl_with_label_ids_and_skipped_labels(tmp_path):
    rows = [{"premise": "P", "hypothesis": "e", "label": 0},
            {"premise": "P", "hypothesis": "c", "label": 2},
            {"premise": "P", "hypothesis": "?", "label": -1}]
    path = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows))
    with pytest.raises(course.DataError, match=r"d.jsonl, line 3: unknown label -1"):
        tx.triplets_from_file(path)
    labels = {**tx.DEFAULT_LABELS, -1: None}
    ds, report = tx.triplets_from_file(path, labels=labels)
    assert ds.to_list() == [{"anchor": "P", "positive": "e", "negative": "c"}]
    assert report.dropped["rows with a skipped label"] == 1
    nli = tx.read_nli_file(path, labels=labels)
    assert nli["label"] == ["entailment", "contradiction"]


def test_byo_csv_label_ids_arrive_as_text(tmp_path):
    path = write(tmp_path / "d.csv", "premise,hypothesis,label\nP,e,0\nP,c,2\nP,n,1\n")
    assert len(tx.triplets_from_file(path)[0]) == 1


@pytest.mark.parametrize("name,text,message", [
    ("a.csv", "premise,hyp,label\nP,e,entailment\n",
     r"a.csv, line 1: missing column\(s\) \['hypothesis'\].*pass premise="),
    ("b.jsonl", '{"premise": "P", "label": "entailment"}\n',
     r"b.jsonl, line 1: missing column 'hypothesis'.*pass premise="),
    ("c.csv", "premise,hypothesis,label\nP,e,entailment\nP,c,contra\n",
     r"c.csv, line 3: unknown label 'contra'.*labels="),
    ("d.csv", "premise,hypothesis,label\nP,e,entailment\nP,  ,contradiction\n",
     r"d.csv, line 3: column 'hypothesis' is empty"),
    ("e.jsonl", '{"premise": "", "hypothesis": "h", "label": "entailment"}\n',
     r"e.jsonl, line 1: column 'premise' is empty"),
    ("f.txt", "premise\thypothesis\tlabel\n", r"f.txt: not a CSV or JSONL file"),
    ("g.json", '[{"premise": "P"}]', r"not a CSV or JSONL file.*\.jsonl"),
    ("h.csv", "", r"h.csv: the file is empty"),
    ("i.csv", "premise,hypothesis,label\n", r"i.csv: has a header but no rows"),
    ("j.jsonl", "not json\n", r"j.jsonl, line 1: not valid JSON"),
    ("k.csv", "premise,hypothesis,label\nP,e\n", r"k.csv, line 2: 2 field\(s\) where the header has 3"),
])
def test_byo_bad_input_names_file_line_and_fix(tmp_path, name, text, message):
    path = write(tmp_path / name, text)
    with pytest.raises(course.DataError, match=message):
        tx.triplets_from_file(path)


def test_byo_bad_arguments(tmp_path):
    with pytest.raises(course.DataError, match="no such file"):
        tx.triplets_from_file(tmp_path / "missing.csv")
    path = tx.write_example_file(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="not a course label"):
        tx.triplets_from_file(path, labels={"yes": "entails"})
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00premise")
    with pytest.raises(course.DataError, match="not UTF-8"):
        tx.triplets_from_file(tmp_path / "bin.csv")


def test_standardize_hub_style_rows():
    rows = Dataset.from_list([{"premise": "P", "hypothesis": "e", "label": 0, "idx": 1},
                              {"premise": "P", "hypothesis": "c", "label": 2, "idx": 2}])
    nli = tx.standardize_nli(rows, source="glue/mnli")
    assert nli["label"] == ["entailment", "contradiction"] and nli["premise_id"][0].startswith("h")
    with pytest.raises(course.DataError, match="glue/mnli, row 1: missing column"):
        tx.standardize_nli(rows, source="glue/mnli", premise="sentence1")


# ---------------------------------------------------------------- files for notebook 06

def test_save_and_load_round_trip(tmp_path):
    ds, _ = tx.mine_triplets(course.load_nli(split="train"))
    path = tx.save_triplets(ds, tx.default_triplets_path())
    assert path == tx.default_triplets_path() and path.parent.name == "triplets"
    assert str(path).startswith(str(tmp_path))
    back = tx.load_triplets(path)
    assert back.to_list() == ds.to_list() and back.column_names == list(tx.TRIPLET_COLUMNS)


def test_save_and_load_reject_bad_triplets(tmp_path):
    with pytest.raises(course.DataError, match="columns \\['negative'\\] are missing"):
        tx.save_triplets(Dataset.from_dict({"anchor": ["a"], "positive": ["p"]}), tmp_path / "x")
    with pytest.raises(course.DataError, match="empty triplet dataset"):
        tx.save_triplets(tx.mine_triplets([])[0], tmp_path / "x")
    bad = write(tmp_path / "t.jsonl", '{"anchor": "a", "positive": "p"}\n')
    with pytest.raises(course.DataError, match="t.jsonl, line 1: missing column 'negative'"):
        tx.load_triplets(bad)


# ---------------------------------------------------------------- exercise

def test_exercise_check(capsys):
    assert ex.puzzle_answer() == 5 and ex.puzzle_answer(None) == 7
    assert ex.check_triplet_count(5)
    assert not ex.check_triplet_count(7) and "without the cap" in capsys.readouterr().out
    assert not ex.check_triplet_count(...) and "Not attempted" in capsys.readouterr().out
    assert not ex.check_triplet_count("5")


def test_mining_exercise_checks(model, capsys):
    nli = tx.sample_premises(course.load_nli(split="train"), 10, seed=0)
    base, _ = tx.mine_triplets(nli)
    pairs = Dataset.from_list([{"anchor": a, "positive": p} for a, p in tx.distinct_pairs(base)])
    corpus = sorted(set(nli["hypothesis"]))
    good = ex.reference_mining(pairs, model, corpus)
    assert ex.check_mining(good, pairs, model, corpus)
    assert not ex.check_mining(..., pairs, model, corpus)
    top = ex.reference_mining_top(pairs, model, corpus)
    assert not ex.check_mining(top, pairs, model, corpus) and "num_negatives=2" in capsys.readouterr().out
    assert not ex.check_mining(good.rename_column("negative", "negative_1"), pairs, model, corpus)
    row = ex.table_row(model, good)
    assert row["triplets"] == len(good) and 0 <= row["triplet accuracy"] <= 1
    assert ex.check_table_row(row, model, good)
    assert not ex.check_table_row({**row, "triplet accuracy": row["triplet accuracy"] - 0.1}, model, good)
    assert not ex.check_table_row({**row, "triplets": 1}, model, good)
    assert not ex.check_table_row(row, model, ...) and "mine my_mined first" in capsys.readouterr().out
