"""Tests for course.sbert and its exercise checks (notebook 04)."""

import math

import numpy as np
import pytest
import torch
from datasets import Dataset

import course
from course import sbert as sb
from course.exercises import sbert as ex

SHORT, LONG = "Dogs bark.", "The old grey horse walked slowly back to the stable after a long day in the rain."


@pytest.fixture(scope="module")
def bi():
    return course.load_embedder(device="cpu")


@pytest.fixture(scope="module")
def cross():
    return sb.load_cross_encoder(device="cpu")


@pytest.fixture(scope="module")
def small_corpus(bi):
    """The first 40 corpus sentences (dogs, which the first retrieval queries ask about)."""
    corpus = course.load_corpus().select(range(40))
    return list(corpus["text"]), list(corpus["id"]), bi.encode(list(corpus["text"]), convert_to_tensor=True)


# ---- SBERT from parts


def test_encode_by_hand_masked_matches_and_unmasked_does_not(bi):
    texts = [SHORT, LONG]
    masked = sb.encode_by_hand(bi, texts)
    np.testing.assert_allclose(masked, bi.encode(texts), atol=1e-5)
    unmasked = sb.encode_by_hand(bi, texts, mask_padding=False)
    assert float(masked[0] @ unmasked[0]) < 0.99  # the short text is diluted by padding
    assert float(masked[1] @ unmasked[1]) > 0.9999  # the longest text has no padding


def test_encode_both_ways_unit_vectors(bi):
    masked, unmasked = sb.encode_both_ways(bi, [SHORT, LONG])
    np.testing.assert_allclose(np.linalg.norm(unmasked, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(masked, sb.encode_by_hand(bi, [SHORT, LONG]), atol=1e-6)
    np.testing.assert_allclose(masked, bi.encode([SHORT, LONG]), atol=1e-5)


def test_padding_effect_table(bi):
    table = sb.padding_effect(bi, [SHORT, LONG])
    assert table["padding tokens"].tolist()[1] == 0 and table["padding tokens"].tolist()[0] > 5
    assert (table["cos(alone, masked batch)"] > 0.9999).all()
    assert table["cos(alone, unmasked batch)"].iloc[0] < table["cos(alone, unmasked batch)"].iloc[1]
    with pytest.raises(ValueError, match="at least two"):
        sb.padding_effect(bi, [SHORT])


# ---- scoring pairs


def test_pair_scores_bi_and_cross(bi, cross):
    left, right = [SHORT, "A cat sleeps."], ["A dog barks.", "The stock market fell."]
    cos = sb.pair_scores(bi, left, right)
    assert cos.shape == (2,) and cos[0] > cos[1]
    a, b = bi.encode(left), bi.encode(right)
    np.testing.assert_allclose(cos, np.sum(a * b, axis=1), atol=1e-5)
    scores = sb.pair_scores(cross, left, right)
    assert scores.shape == (2,) and ((scores > 0) & (scores < 1)).all()  # sigmoid of one logit
    assert sb.is_cross_encoder(cross) and not sb.is_cross_encoder(bi)
    with pytest.raises(ValueError, match="pass pairs"):
        sb.pair_scores(bi, left, right[:1])


def test_sts_spearman_and_table(bi):
    sts = Dataset.from_dict({"sentence1": ["A dog runs.", "A dog runs.", "A dog runs."],
                             "sentence2": ["A dog is running.", "A puppy sleeps.", "Tax forms are due."],
                             "score": [1.0, 0.4, 0.0]})
    assert sb.sts_spearman(bi, sts) == pytest.approx(1.0)
    table = sb.sts_table({"minilm": bi}, sts)
    assert table.loc["minilm", "kind"] == "bi-encoder" and table.loc["minilm", "Spearman"] == 1.0


def test_load_cross_encoder_offline_hub_id_is_refused():
    with pytest.raises(course.ModelUnavailableError, match="offline"):
        sb.load_cross_encoder(sb.HUB_STS_CROSS)


# ---- training


def test_cross_training_pairs_labels_and_no_test_split():
    dev = course.load_sts(split="dev")
    nli = course.load_nli(split="train")
    pairs = sb.cross_training_pairs(dev, nli)
    n_premises = len(set(nli["premise_id"]))
    assert len(pairs) == len(dev) + len(nli) + n_premises
    assert set(pairs.column_names) == {"sentence1", "sentence2", "label"}
    assert min(pairs["label"]) >= 0.0 and max(pairs["label"]) <= 1.0
    frame = pairs.to_pandas()
    # every NLI pair keeps its graded score; each random negative pairs a premise with a
    # hypothesis written for another premise, scored 0
    hypotheses = dict(zip(nli["hypothesis"], nli["premise"], strict=False))
    negatives = frame[(frame["label"] == 0.0) & frame["sentence1"].isin(set(nli["premise"]))]
    assert len(negatives) == n_premises
    assert all(hypotheses[h] != p for p, h in zip(negatives["sentence1"], negatives["sentence2"],
                                                  strict=True))
    entailed = frame[(frame["sentence1"] == nli[0]["premise"])
                     & (frame["sentence2"] == nli[0]["hypothesis"])]
    assert entailed["label"].tolist() == [sb.NLI_SCORES[nli[0]["label"]]]
    assert len(sb.cross_training_pairs(dev, nli, limit=10)) == 10
    assert len(sb.cross_training_pairs(dev, nli, random_negatives=0)) == len(dev) + len(nli)
    assert sb.cross_training_pairs(dev, nli, seed=1)["sentence1"] != pairs["sentence1"]
    with pytest.raises(course.DataError, match="test split"):
        sb.cross_training_pairs(course.load_sts(split="test"), nli)
    with pytest.raises(course.DataError, match="NLI labels"):
        sb.cross_training_pairs(dev, nli.map(lambda r: {"label": "maybe"}))


def test_cross_training_pairs_with_a_teacher(bi):
    dev = course.load_sts(split="dev").select(range(6))
    nli = course.load_nli(split="train").select(range(20))
    plain = sb.cross_training_pairs(dev, nli)
    taught = sb.cross_training_pairs(dev, nli, teacher=bi)
    assert [(r["sentence1"], r["sentence2"]) for r in taught] == [(r["sentence1"], r["sentence2"]) for r in plain]
    kinds = {(r["premise"], r["hypothesis"]): r["label"] for r in nli}
    gold = {(r["sentence1"], r["sentence2"]): r["score"] for r in dev}
    soft = [r for r in taught if kinds.get((r["sentence1"], r["sentence2"])) != "contradiction"
            and (r["sentence1"], r["sentence2"]) not in gold]
    expected = sb.teacher_scores(bi, soft)
    assert np.allclose([r["label"] for r in soft], np.clip(expected, 0, None), atol=1e-5)
    for r in taught:
        if kinds.get((r["sentence1"], r["sentence2"])) == "contradiction":
            assert r["label"] == sb.NLI_SCORES["contradiction"]  # what the teacher misses keeps its label
        if (r["sentence1"], r["sentence2"]) in gold:
            assert r["label"] == pytest.approx(gold[(r["sentence1"], r["sentence2"])])
    assert len({round(r["label"], 3) for r in soft}) > 10  # graded, not one number per NLI label
    assert sb.teacher_scores(bi, []) == []


def test_train_cross_encoder_moves_scores_towards_labels():
    ce = sb.load_cross_encoder(device="cpu")
    pairs = Dataset.from_dict({"sentence1": ["A dog barks."] * 4 + ["A cat sleeps."] * 4,
                               "sentence2": ["A dog is barking."] * 4 + ["Stocks fell sharply."] * 4,
                               "label": [1.0] * 4 + [0.0] * 4})
    before = sb.pair_scores(ce, ["A dog barks.", "A cat sleeps."], ["A dog is barking.", "Stocks fell sharply."])
    info = sb.train_cross_encoder(ce, pairs, epochs=3, batch_size=8, learning_rate=1e-4)
    after = sb.pair_scores(ce, ["A dog barks.", "A cat sleeps."], ["A dog is barking.", "Stocks fell sharply."])
    assert info["pairs"] == 8 and info["seconds"] > 0
    assert (after[0] - after[1]) > (before[0] - before[1])
    with pytest.raises(course.DataError, match="lack a .label. column"):
        sb.train_cross_encoder(ce, pairs.remove_columns("label"))


def test_label_entropy_is_the_loss_floor():
    assert sb.label_entropy([0.0, 1.0]) == pytest.approx(0.0, abs=1e-9)
    assert sb.label_entropy([0.5]) == pytest.approx(math.log(2))
    y = np.array([0.3, 0.9])
    bce = lambda p: float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))  # noqa: E731
    assert sb.label_entropy(y) == pytest.approx(bce(y)) and bce(y) < bce(np.array([0.35, 0.85]))


def test_train_cross_encoder_cache_and_ranking_loss(tmp_path, monkeypatch):
    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss

    monkeypatch.setenv("COURSE_ARTIFACTS", str(tmp_path))
    monkeypatch.setenv("COURSE_CACHE", "1")  # the course cache, which the smoke profile leaves off
    rows = Dataset.from_dict({"query": ["dog that barks", "cat asleep"], "positive": ["A dog barks.", "A cat sleeps."],
                              "negative": ["A dog sleeps.", "A cat barks."]})

    def fresh():
        course.seed_everything(0)
        return sb.load_cross_encoder(device="cpu", max_length=32)

    first = fresh()
    info = sb.train_cross_encoder(first, rows, loss=MultipleNegativesRankingLoss(first, num_negatives=1),
                                  epochs=1, batch_size=2, cache=True)
    again = fresh()
    cached = sb.train_cross_encoder(again, rows, loss=MultipleNegativesRankingLoss(again, num_negatives=1),
                                    epochs=1, batch_size=2, cache=True)
    assert not info["cached"] and cached["cached"] and cached["train_loss"] == info["train_loss"]
    for (n, p), (_, q) in zip(first.model.named_parameters(), again.model.named_parameters(), strict=True):
        assert torch.equal(p, q), n
    other = fresh()
    changed = sb.train_cross_encoder(other, rows, loss=MultipleNegativesRankingLoss(other, num_negatives=1),
                                     epochs=2, batch_size=2, cache=True)
    assert not changed["cached"]  # another setting, another cache entry
    entries = course.cache.entries()
    assert len(entries) == 2 and {e["name"] for e in entries} == {"04 cross-encoder training"}
    monkeypatch.setenv("COURSE_CACHE", "0")
    off = fresh()
    assert not sb.train_cross_encoder(off, rows, loss=MultipleNegativesRankingLoss(off, num_negatives=1),
                                      epochs=1, batch_size=2, cache=True)["cached"]  # the cache switched off
    with pytest.raises(course.DataError, match="label"):
        sb.train_cross_encoder(fresh(), rows)  # BinaryCrossEntropyLoss needs labels


def test_train_cross_encoder_head_has_its_own_learning_rate():
    ce = sb.load_cross_encoder(device="cpu")
    pairs = Dataset.from_dict({"sentence1": ["A dog barks.", "A cat sleeps."],
                               "sentence2": ["A dog is barking.", "Stocks fell sharply."],
                               "label": [1.0, 0.0]})
    start = {n: p.detach().clone() for n, p in ce.named_parameters()}
    sb.train_cross_encoder(ce, pairs, epochs=2, batch_size=2, learning_rate=0.0, head_learning_rate=1e-3)
    moved = {n for n, p in ce.named_parameters() if not torch.equal(p, start[n])}
    assert moved and all("classifier" in n or "pooler" in n for n in moved)


# ---- scaling


def test_pair_count_and_best_pair():
    assert [sb.pair_count(n) for n in (1, 2, 10, 10_000)] == [0, 1, 45, 49_995_000]
    rng = np.random.default_rng(1)
    emb = rng.standard_normal((50, 8)).astype(np.float32)
    emb[37] = emb[12] + 0.01  # a near-duplicate
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    i, j, score = sb.best_pair(emb, chunk=7)  # chunks that do not divide 50
    assert (i, j) == (12, 37) and score == pytest.approx(sim.max(), abs=1e-6)


def test_most_similar_pair_both_ways(bi, cross):
    texts = ["A dog is barking loudly.", "Stocks fell on Monday.", "The dog barks loudly.",
             "It will rain tomorrow."]
    found = sb.most_similar_pair_bi(bi, texts)
    assert (found["i"], found["j"]) == (0, 2) and found["encode_s"] > 0
    out = sb.most_similar_pair_cross(cross, texts)
    assert 0 <= out["i"] < out["j"] < 4 and out["seconds"] > 0


def test_run_times_warm_up_then_repeats():
    calls = []
    runs = sb.run_times(lambda: calls.append(1), repeats=5)
    assert len(runs) == 5 and len(calls) == 6 and all(r >= 0 for r in runs)  # one untimed warm-up
    with pytest.raises(ValueError, match="at least once"):
        sb.run_times(lambda: None, repeats=0)


def test_rate_pairs_hold_twice_the_sentences():
    pairs = sb.rate_pairs(["a", "b", "c"])
    assert pairs == [("a", "b"), ("b", "c"), ("c", "a")]
    assert sorted(t for p in pairs for t in p) == ["a", "a", "b", "b", "c", "c"]  # each sentence twice
    with pytest.raises(ValueError, match="two sentences"):
        sb.rate_pairs(["a"])


def test_measure_rates(bi, cross):
    texts = course.load_corpus()["text"][:8]
    rates = sb.measure_rates(bi, cross, texts, repeats=3, batch_size=4)
    assert rates["sentences"] == rates["pairs"] == 8 and rates["repeats"] == 3
    assert rates["sentences_per_s"] > 0 and rates["pairs_per_s"] > 0
    assert rates["bi_spread"] >= 1 and rates["cross_spread"] >= 1


def test_cost_model_counts_sentences_and_pairs():
    costs = sb.CostModel.from_rates(sentences_per_s=100.0, pairs_per_s=50.0, search_s=2.0, search_n=10_000)
    assert costs.per_sentence == pytest.approx(0.01) and costs.per_pair == pytest.approx(0.02)
    assert costs.per_entry == pytest.approx(2e-8)
    assert float(costs.bi(10_000)) == pytest.approx(100 + 2.0)  # n / rate + the n x n matrix
    assert float(costs.cross(10_000)) == pytest.approx(49_995_000 / 50)  # n(n-1)/2 / rate
    assert float(costs.cross(2)) == pytest.approx(0.02) and float(costs.bi(2)) == pytest.approx(0.02 + 8e-8)
    with pytest.raises(ValueError, match="positive"):
        sb.CostModel.from_rates(0.0, 50.0)


def test_cost_table_rows_and_ratio():
    costs = sb.CostModel.from_rates(100.0, 50.0)
    table = sb.cost_table(costs, ns=(2, 10, 10_000))
    assert table["n"].tolist() == [2, 10, 10_000] and table["pairs"].tolist() == [1, 45, 49_995_000]
    assert table["ratio"].tolist() == pytest.approx([1.0, 9.0, 9999.0])  # (n-1)/2 x pair/sentence cost
    assert table["cross-encoder"].iloc[-1] == sb.human_time(49_995_000 / 50)


def test_time_search_is_positive_and_fast():
    assert 0 < sb.time_search(n=500, dim=16) < 5


def test_scaling_verdict_words_follow_the_numbers():
    costs = sb.CostModel.from_rates(100.0, 50.0)
    steady = {"bi_spread": 1.05, "cross_spread": 1.1}
    text = sb.scaling_verdict(costs, steady, n=10_000)
    assert "100 s vs 11.6 days, the bi-encoder is 9,999x faster" in text and "off by 9,999x" in text
    assert "at most 1.10x" in text and "stays 8,657x: timing noise cannot flip it" in text
    noisy = {"bi_spread": 2.0, "cross_spread": 3.0}  # a 6x worst case against a 2x ratio at n = 3
    assert "timing noise could flip it" in sb.scaling_verdict(costs, noisy, n=3)
    cheap_pairs = sb.CostModel.from_rates(100.0, 10_000.0)  # pairs 100x cheaper than sentences
    assert "the cross-encoder is" in sb.scaling_verdict(cheap_pairs, steady, n=10)


def test_human_time():
    assert sb.human_time(4.2) == "4.2 s"
    assert sb.human_time(65 * 3600) == "2.7 days"
    assert sb.human_time(600) == "10.0 min"
    assert sb.human_time(0.0042) == "4.2 ms"


def test_scaling_figure_traces():
    costs = sb.CostModel.from_rates(100.0, 50.0, 2.0)
    measured = [{"n": 8, "bi_s": 0.08, "cross_s": 0.6}, {"n": 24, "bi_s": 0.24, "cross_s": 5.5}]
    fig = sb.scaling_figure(costs, measured)
    names = [t.name for t in fig.data]
    assert len(fig.data) == 5 and names[-1].startswith("SBERT paper")
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert min(fig.data[0].x) == 2 and max(fig.data[0].x) == 10_000  # the count reaches n = 10,000
    assert list(fig.data[-1].y) == [5.0, 65 * 3600.0] and list(fig.data[1].x) == [8, 24]
    assert "102 s vs 11.6 days here" in fig.layout.title.text  # the title states the numbers
    assert len(sb.scaling_figure(costs).data) == 3  # without timed jobs: two lines and the paper


def test_architecture_figure():
    fig = sb.architecture_figure()
    texts = " ".join(a.text for a in fig.layout.annotations)
    for word in ("cosine(u, v)", "same weights", "[SEP]", "head", "Bi-encoder", "Cross-encoder"):
        assert word in texts
    assert len(fig.layout.shapes) == 12  # 11 boxes + the shared-weights link


# ---- retrieve and rerank


def test_retrieve_rerank(bi, cross, small_corpus):
    texts, ids, emb = small_corpus
    table = sb.retrieve_rerank(bi, cross, "Why do dogs pant?", texts, emb, top_k=5, ids=ids)
    assert sorted(table["bi_rank"]) == [1, 2, 3, 4, 5] and table["cross_rank"].tolist() == [1, 2, 3, 4, 5]
    assert (table["moved"] == table["bi_rank"] - table["cross_rank"]).all()
    assert table["cross_score"].is_monotonic_decreasing
    assert table.sort_values("bi_rank")["cosine"].is_monotonic_decreasing
    fig = sb.rerank_figure(table)
    assert len(fig.data) == 5 and [list(t.y) for t in fig.data][0] == [table.bi_rank[0], 1]
    with pytest.raises(ValueError, match="empty"):
        sb.retrieve_rerank(bi, cross, " ", texts, emb)


def test_rerank_helpers(bi, cross, tmp_path):
    rows = sb.load_rerank(split="test").select(range(4))
    corpus = sb.passages(rows)
    assert len(corpus) == 16 and corpus[0] == rows[0]["positive"]
    assert sb.reciprocal_rank(["a", "b", "c"], "b") == 0.5 and sb.reciprocal_rank(["a"], "z") == 0.0
    before, after = sb.rerank_reciprocal_ranks(bi, cross, rows, corpus, top_k=5)
    assert before.shape == after.shape == (4,) and ((before > 0) == (after > 0)).all()
    assert set(np.round(1 / before[before > 0])) <= {1, 2, 3, 4, 5}
    mined = sb.reranker_training_set(bi, sb.load_rerank(split="train"), negatives=2, limit=3)
    assert mined.column_names == ["query", "positive", "negative_1", "negative_2"] and len(mined) == 3
    train = sb.load_rerank(split="train").select(range(3))
    negatives = set(mined["negative_1"]) | set(mined["negative_2"])
    assert negatives <= set(sb.passages(train)) - set(train["positive"])  # training passages, no answers
    assert list(mined["positive"]) == list(train["positive"])
    pairs = sb.reranker_training_set(bi, train, negatives=2, output_format="labeled-pair")
    assert pairs.column_names == ["query", "positive", "label"] and sorted(pairs["label"]) == [0] * 6 + [1] * 3


def test_random_order_mrr_is_the_mean_of_shuffles():
    import random

    rr = np.array([1.0, 0.5, 0.0, 0.2])  # three answers among the top 10, one missing
    expected = 0.75 * sum(1 / r for r in range(1, 11)) / 10
    assert sb.random_order_mrr(rr, 10) == pytest.approx(expected)
    rng, ranks = random.Random(0), []
    for _ in range(20_000):  # shuffle a top 10 holding the answer: where does it land?
        ranks.append(1 / (rng.randrange(10) + 1))
    assert np.mean(ranks) == pytest.approx(sb.random_order_mrr([1.0], 10), abs=0.01)
    assert sb.random_order_mrr([0.0, 0.0], 10) == 0.0 and sb.random_order_mrr([1.0], 1) == 1.0
    with pytest.raises(ValueError, match="at least 1"):
        sb.random_order_mrr([1.0], 0)


def test_fuse_scores_standardises_both():
    fused = sb.fuse_scores([0.9, 0.8, 0.1], [-5.0, 5.0, 0.0])
    assert fused.shape == (3,) and abs(fused.sum()) < 1e-9  # each part has mean 0
    assert int(np.argmax(fused)) == 1  # second by cosine, first by the cross-encoder: wins the sum
    assert np.allclose(sb.fuse_scores([1.0, 1.0], [2.0, 0.0]), [1.0, -1.0])  # a constant part adds nothing


# ---- exercises: retrieve then rerank


def test_check_retrieve_rerank(bi, cross):
    from sentence_transformers.util import semantic_search

    corpus = sb.passages(sb.load_rerank())
    emb = bi.encode(corpus, convert_to_tensor=True, normalize_embeddings=True)

    def bi_only(query):
        q = bi.encode([query], convert_to_tensor=True, normalize_embeddings=True)
        return [corpus[h["corpus_id"]] for h in semantic_search(q, emb, top_k=5)[0]]

    def good(query):
        return ex.reference_retrieve_rerank(bi, cross, query, corpus, emb, k=5)

    assert ex.check_retrieve_rerank(good, bi, cross, corpus, emb, k=5)
    assert not ex.check_retrieve_rerank(..., bi, cross, corpus, emb, k=5)
    assert not ex.check_retrieve_rerank(lambda q: good(q)[:3], bi, cross, corpus, emb, k=5)
    assert not ex.check_retrieve_rerank(lambda q: list(reversed(good(q))), bi, cross, corpus, emb, k=5)
    assert not ex.check_retrieve_rerank(lambda q: 1 / 0, bi, cross, corpus, emb, k=5)
    if any(bi_only(q) != good(q) for q in ex.NEW_QUERIES):  # the untrained head reorders something
        assert not ex.check_retrieve_rerank(bi_only, bi, cross, corpus, emb, k=5)


# ---- exercises


def test_check_max_pool():
    def good(tokens, mask):
        return tokens.masked_fill(mask.unsqueeze(-1) == 0, -math.inf).max(dim=1).values

    def careless(tokens, mask):
        return tokens.max(dim=1).values

    assert ex.check_max_pool(good)
    assert not ex.check_max_pool(careless)
    assert not ex.check_max_pool(...)
    assert not ex.check_max_pool(torch.zeros(2))
    assert not ex.check_max_pool(lambda t, m: 1 / 0)


def test_check_pair_count():
    assert ex.check_pair_count(49_995_000)
    assert not ex.check_pair_count(100_000_000)
    assert not ex.check_pair_count(...)
    assert ex.check_pair_count(45, n=10)


# ---- benchmark script


def test_benchmark_prints_json(capsys):
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bi_vs_cross.py"
    spec = importlib.util.spec_from_file_location("bi_vs_cross", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.main(["--sentences", "6", "--target", "400", "--device", "cpu", "--repeats", "3",
                         "--check-ns", "3", "5"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["target"]["n"] == 400 and [r["n"] for r in printed["whole_jobs"]] == [3, 5]
    assert printed["rates"]["sentences"] == 6 and printed["rates"]["repeats"] == 3
    assert report["target"]["cross_s"] > 0 and printed["paper"]["bi_s"] == 5.0
    target = printed["target"]
    assert target["ratio"] == pytest.approx(target["cross_s"] / target["bi_s"], rel=0.01)
    with pytest.raises(SystemExit, match="between 2"):
        bench.main(["--sentences", "1", "--device", "cpu"])


def test_rerank_benchmark_prints_one_json_line_per_attempt(capsys, tmp_path, monkeypatch):
    import importlib.util
    import json
    from pathlib import Path

    monkeypatch.setenv("COURSE_ARTIFACTS", str(tmp_path))
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    monkeypatch.setenv("COURSE_CACHE", "1")  # so the second call below loads what the first trained
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "rerank.py"
    spec = importlib.util.spec_from_file_location("rerank_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    attempts = ["sts-then-mnrl", "fusion-bi+sts-then-mnrl"]
    reports = bench.main(["--attempts", *attempts])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert lines == reports and [r["attempt"] for r in lines] == attempts
    for r in lines:
        assert {"attempt", "n_queries", "bi_mrr", "rerank_mrr", "random_mrr", "ci_low", "ci_high",
                "train_seconds"} <= set(r)
        assert r["n_queries"] == len(sb.load_rerank(split="test"))
        assert r["ci_low"] <= r["rerank_mrr"] - r["bi_mrr"] <= r["ci_high"]
        assert 0 < r["random_mrr"] < r["bi_mrr"] <= 1  # the bi-encoder beats a random order of its own top k
    assert lines[0]["bi_mrr"] == lines[1]["bi_mrr"] and lines[0]["train_seconds"] == lines[1]["train_seconds"] > 0
    assert not lines[0]["cached"] and bench.main(["--attempts", "sts-then-mnrl"])[0]["cached"]  # cached by config
