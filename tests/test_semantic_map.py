"""Tests of course.semantic_map (notebook 02). One small map per module: UMAP's first fit in a
process compiles numba code, so it is built once."""

from __future__ import annotations

import numpy as np
import pytest

import course
from course import semantic_map as sm
from course.exercises import semantic_space as ex
from course.viz import PALETTE


class CountingModel:
    """Wraps a model and records how many texts each encode call got."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def encode(self, texts, **kw):
        self.calls.append(len(texts))
        return self.model.encode(texts, **kw)


@pytest.fixture(scope="module")
def model():
    return course.load_embedder(device="cpu")


def fit(embeddings, n_neighbors=5, seed=0):
    import umap
    from sklearn.decomposition import PCA

    reducer = umap.UMAP(n_neighbors=n_neighbors, n_epochs=30, metric="cosine", random_state=seed, n_jobs=1)
    reducer.fit_transform(embeddings)
    return reducer, PCA(n_components=2).fit(embeddings)


@pytest.fixture(scope="module")
def smap(model):
    corpus = course.load_corpus()
    texts, topics = list(corpus["text"]), list(corpus["topic"])
    emb = model.encode(texts, normalize_embeddings=True)
    return sm.SemanticMap(texts, topics, emb, *fit(emb))


def test_wrap_breaks_long_text_for_hover():
    text = "word " * 40
    parts = sm.wrap(text, 60).split("<br>")
    assert len(parts) > 2 and all(len(p) <= 60 for p in parts)
    assert sm.wrap("short") == "short"


def test_nearest_orders_by_cosine():
    emb = np.array([[1, 0], [0, 1], [0.6, 0.8], [0.8, 0.6]], dtype=np.float32)
    idx, sims = sm.nearest(np.array([1.0, 0.0]), emb, k=3)
    assert idx.tolist() == [0, 3, 2]
    assert np.allclose(sims, [1.0, 0.8, 0.6])


def test_island_agreement_follows_the_order_of_topic_similarity():
    # three topics on a line in the full space: a is close to b, far from c
    emb = np.array([[1, 0, 0], [1, 0.1, 0], [0.8, 0.6, 0], [0.8, 0.7, 0], [0, 1, 0.1], [0, 1, 0]], float)
    topics = list("aabbcc")
    same_order = np.array([[0, 0], [0, 1], [2, 0], [2, 1], [9, 0], [9, 1]], float)
    assert sm.island_agreement(emb, topics, same_order) == pytest.approx(1.0)
    mirror = same_order * [-1, 1]
    assert sm.island_agreement(emb, topics, mirror) == pytest.approx(1.0)  # same gaps
    swapped = np.array([[0, 0], [0, 1], [9, 0], [9, 1], [2, 0], [2, 1]], float)  # c between a and b
    assert sm.island_agreement(emb, topics, swapped) < 0


def test_purity_and_overlap_on_known_layouts():
    two_blobs = np.array([[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]], dtype=float)
    assert sm.neighbour_purity(two_blobs, list("aaabbb"), k=2) == 1.0
    assert sm.neighbour_purity(two_blobs, list("ababab"), k=2) < 0.5
    per_point = sm.purity_per_point(two_blobs, list("aaabbb"), k=2)
    assert per_point.shape == (6,) and (per_point == 1.0).all()
    circle = np.stack([np.cos(np.arange(8)), np.sin(np.arange(8))], axis=1)
    assert sm.neighbour_overlap(circle, circle, k=3) == 1.0
    assert sm.neighbour_overlap(circle, np.random.default_rng(0).normal(size=(8, 2)), k=3) < 1.0
    with pytest.raises(ValueError, match="k=6"):
        sm.knn_indices(two_blobs, 6)


def test_semantic_map_holds_both_layouts_and_rejects_bad_input(smap):
    n = len(smap.texts)
    assert smap.embeddings.shape == (n, 384)
    assert np.allclose(smap.xy_umap, smap.umap.embedding_)
    assert np.allclose(smap.xy_pca, smap.pca.transform(smap.embeddings))
    assert smap.xy_umap.shape == smap.xy_pca.shape == (n, 2)
    assert len(smap.topic_names) == 10
    with pytest.raises(ValueError, match="one topic and one vector per text"):
        sm.SemanticMap(smap.texts, smap.topics[:-1], smap.embeddings, smap.umap, smap.pca)
    reducer, pca = fit(smap.embeddings[:40])
    with pytest.raises(ValueError, match="fit UMAP"):
        sm.SemanticMap(smap.texts, smap.topics, smap.embeddings, reducer, pca)
    with pytest.raises(ValueError, match="layout"):
        smap.layout("tsne")


def test_map_figure_one_trace_per_topic(smap):
    fig = sm.map_figure(smap)
    assert [t.name for t in fig.data] == smap.topic_names
    assert [t.marker.color for t in fig.data] == PALETTE[:10]
    assert all(t.marker.size == 9 for t in fig.data)
    assert sum(len(t.x) for t in fig.data) == len(smap.texts)
    hover = [h[0] for t in fig.data for h in t.customdata]
    long_hover = [h for h in hover if len(h) > 70]
    assert long_hover and all("<br>" in h for h in long_hover)
    assert fig.layout.legend.title.text == "topic"


def test_compare_figure_shares_the_legend(smap):
    fig = sm.compare_figure(smap)
    assert len(fig.data) == 20
    assert [t.showlegend for t in fig.data] == [True, False] * 10  # one legend entry per topic
    assert {t.xaxis for t in fig.data} == {"x", "x2"}
    assert "variance" in fig.layout.annotations[1].text and "=" not in fig.layout.annotations[0].text


def test_locate_lists_neighbours_from_full_space(smap, model):
    own = smap.texts[3]
    landing = sm.locate(smap, model, own, k=5)
    assert landing.ok and landing.xy.shape == (2,) and np.isfinite(landing.xy).all()
    assert landing.neighbours["sentence"].iloc[0] == own
    assert landing.neighbours["cosine"].iloc[0] == pytest.approx(1.0, abs=1e-3)
    assert landing.neighbours["cosine"].is_monotonic_decreasing
    assert len(landing.neighbours) == sm.K


@pytest.mark.parametrize("empty", ["", "   ", "\n\t", None])
def test_empty_sentence_gets_a_message(smap, model, empty):
    landing = sm.render_landing(smap, model, empty)
    assert not landing.ok and landing.figure is None
    assert "Type a sentence" in landing.message


def test_render_landing_embeds_once_and_adds_a_star(smap, model, monkeypatch):
    counting = CountingModel(model)
    monkeypatch.setattr(smap.umap, "fit", lambda *a, **k: pytest.fail("refit on interaction"))
    landing = sm.render_landing(smap, counting, "The zebra herd crossed the river.")
    assert counting.calls == [1]  # only the new sentence is embedded; the corpus is reused
    star = landing.figure.data[-1]
    assert star.marker.symbol == "star" and star.marker.size >= 20
    assert len(landing.figure.data) == 11
    assert (star.x[0], star.y[0]) == pytest.approx(tuple(landing.xy))


def test_what_2d_hides_compares_three_spaces(smap):
    table = sm.what_2d_hides(smap, k=5)
    assert list(table.columns) == ["purity@5", "true neighbours kept@5"]
    assert len(table) == 3
    full, pca = table.iloc[0], table.loc["PCA 2D"]
    assert full["true neighbours kept@5"] == 1.0
    assert pca["true neighbours kept@5"] < 1.0
    assert full["purity@5"] > pca["purity@5"]  # 2 linear dimensions cannot hold 10 topics


def test_bridge_check_judges_the_table_the_learner_sees(smap, model, capsys):
    assert ex.check_bridge(..., smap, model).passed is False
    assert ex.check_bridge("", smap, model).passed is False
    capsys.readouterr()
    assert ex.check_bridge("My puppy loves to chase a ball in the park.", smap, model).passed is False
    out = capsys.readouterr().out
    assert f"of your {sm.K} nearest neighbours" in out and out.count("[dogs]") >= 3  # the table, with topics
    solution = "Is it too hot today to walk my dog? The forecast says thirty-five degrees."
    table = sm.locate(smap, model, solution).neighbours
    expected = (table["topic"] == "dogs").sum() >= 2 and (table["topic"] == "weather").sum() >= 2
    assert ex.check_bridge(solution, smap, model).passed is bool(expected) is True
    with pytest.raises(ValueError, match="Unknown topic"):
        ex.check_bridge("x", smap, model, topics=("dogs", "dinosaurs"))


def test_compare_ranges_says_when_seeds_decide():
    assert sm.compare_ranges([0.41, 0.45], [0.46, 0.49]).startswith("lower in every seed")
    assert sm.compare_ranges([0.50, 0.52], [0.46, 0.49]).startswith("higher in every seed")
    assert "overlap" in sm.compare_ranges([0.46, 0.57], [0.48, 0.67])


def test_seed_comparison_refits_the_map_with_the_learners_seeds(smap):
    wide = [fit(smap.embeddings, n_neighbors=50, seed=s)[0] for s in (0, 1)]
    runs = sm.seed_comparison(smap, wide, k=10)
    assert list(runs.index) == [0, 1]
    itself = sm.neighbour_overlap(smap.embeddings, smap.xy_umap, 10)
    assert runs.loc[0, "kept@10 (map above)"] == pytest.approx(itself, abs=1e-3)  # seed 0 is the map itself
    theirs = sm.neighbour_overlap(smap.embeddings, wide[1].embedding_, 10)
    assert runs.loc[1, "kept@10 (yours)"] == pytest.approx(theirs, abs=1e-3)
    assert runs.loc[0, "kept@10 (map above)"] != runs.loc[1, "kept@10 (map above)"]  # another seed, another map


def test_umap_check(smap, capsys):
    import umap

    assert ex.check_umap(..., smap).passed is False
    assert ex.check_umap(smap.xy_umap, smap).passed is False
    assert "not a single reducer" in capsys.readouterr().out
    assert ex.check_umap([smap.xy_umap], smap).passed is False
    assert "umap.UMAP object itself" in capsys.readouterr().out
    unfitted = umap.UMAP(n_neighbors=50, metric="cosine", n_epochs=30, random_state=0)
    assert ex.check_umap([unfitted], smap).passed is False
    assert "not fitted" in capsys.readouterr().out
    wrong = umap.UMAP(n_neighbors=20, metric="euclidean", random_state=3)
    assert ex.check_umap([wrong], smap).passed is False
    out = capsys.readouterr().out
    assert "n_neighbors is 20" in out and "metric is 'euclidean'" in out and "change only n_neighbors" in out
    wide = [fit(smap.embeddings, n_neighbors=50, seed=s)[0] for s in (0, 1)]
    assert ex.check_umap(wide[:1], smap).passed is False
    assert "at least 2" in capsys.readouterr().out
    assert ex.check_umap([wide[0], wide[0]], smap).passed is False
    assert "different for each reducer" in capsys.readouterr().out
    assert ex.check_umap(wide, smap).passed is True
    out = capsys.readouterr().out
    assert "over 2 seeds [0, 1]" in out and "kept@10: n_neighbors=50" in out and "island agreement" in out


def test_refit_changes_only_the_given_settings(smap):
    fitted = sm.refit(smap, [0, 3], n_neighbors=50)
    assert [r.random_state for r in fitted] == [0, 3]
    assert all(r.n_neighbors == 50 and r.min_dist == smap.umap.min_dist for r in fitted)
    assert fitted[0].embedding_.shape == smap.xy_umap.shape
