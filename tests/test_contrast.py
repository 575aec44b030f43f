"""Tests of course.contrast (notebook 03) and its exercise check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import course
from course import contrast as cx
from course.exercises import contrast as ex


@pytest.fixture(scope="module")
def model():
    return course.load_embedder(device="cpu")


@pytest.fixture(scope="module")
def book():
    return cx.load_concepts()


def test_concepts_file_is_consistent(book):
    assert {"dog", "cat", "wolf", "horse", "zebra", "donkey", "car"} <= set(book.concepts)
    hz = book.pair("horse", "zebra")
    assert "black and white stripes" in hz.b_only and "four legs" in hz.shared
    for p in book.pairs:
        assert len(set(p.features)) == len(p.features), f"{p.a}/{p.b} repeats a feature"
    labels = [label for _, label in book.toy]
    assert all(labels.count(x) >= 2 for x in labels)
    assert {"fox", "wolf"} <= set(book.concepts)  # the contrast exercise's concepts
    ex_triplet = book.exercises["triplet"]
    assert ex_triplet["anchor"] not in ex_triplet["negatives"]
    training = book.exercises["training"]
    assert len(training["anchor"]) == len(training["positive"]) == len(training["negative"]) >= 2
    assert book.pair("bat", "bird").a_only
    with pytest.raises(ValueError, match="No pair"):
        book.pair("cat", "car")


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"template": "a dog"}), "needs exactly one"),
    (json.dumps({"template": "a {}", "pairs": []}), "'pairs' is missing, empty"),
])
def test_bad_concepts_file_names_the_problem(tmp_path, content, message):
    path = tmp_path / "concepts.json"
    path.write_text(content)
    with pytest.raises(course.DataError, match=message):
        cx.load_concepts(path)
    with pytest.raises(course.DataError, match="no such file"):
        cx.load_concepts(tmp_path / "missing.json")


def test_stripes_explain_horse_vs_zebra(model, book):
    pair = book.pair("horse", "zebra")
    table = cx.contrast_features(model, "horse", "zebra", pair.features)
    assert table["feature"].iloc[0] == "black and white stripes"
    assert table["contrast"].iloc[0] < 0  # points to zebra
    shared = table.set_index("feature").loc[["four legs", "fur", "a tail"], "contrast"]
    assert (shared.abs() < abs(table["contrast"].iloc[0]) / 2).all()
    assert list(table.columns) == ["feature", "cos horse", "cos zebra", "contrast"]


def test_contrast_features_rejects_bad_input(model):
    with pytest.raises(ValueError, match="two different"):
        cx.contrast_features(model, "dog", "Dog", ["fur"])
    with pytest.raises(ValueError, match="No features"):
        cx.contrast_features(model, "dog", "cat", ["", "  "])
    with pytest.raises(ValueError, match="need a name"):
        cx.contrast_features(model, "", "cat", ["fur"])


def test_contrast_figure_colour_is_the_persons_label_with_a_legend():
    table = pd.DataFrame({"feature": ["stripes", "mane", "fur"], "contrast": [-0.3, 0.1, 0.01]})
    expected = {"stripes": "zebra", "mane": "horse", "fur": "shared"}
    fig = cx.contrast_figure(table, "horse", "zebra", expected=expected)
    bars = {t.name: t for t in fig.data}
    assert list(bars) == ["a person: only horse", "a person: only zebra", "a person: both (explains nothing)"]
    assert list(bars["a person: only horse"].y) == ["mane"] and list(bars["a person: only zebra"].y) == ["stripes"]
    assert [t.marker.color for t in fig.data] == [cx.COLORS["a"], cx.COLORS["b"], cx.COLORS["shared"]]
    assert list(fig.layout.yaxis.categoryarray) == ["fur", "mane", "stripes"]  # biggest contrast drawn on top
    lo, hi = fig.layout.xaxis.range
    assert lo == -hi and hi > 0.3
    # a shared feature on the zebra's side keeps its label colour: side = model, colour = person
    flipped = cx.contrast_figure(table.assign(contrast=[-0.3, 0.1, -0.2]), "horse", "zebra", expected=expected)
    assert list(flipped.data[2].x) == [-0.2]
    plain = cx.contrast_figure(table, "horse", "zebra")
    assert [t.name for t in plain.data] == ["your feature"] and len(plain.data[0].y) == 3


def test_verdicts_count_what_the_model_sees():
    pair = cx.ContrastPair("dog", "cat", "?", ("fur", "a pet"), ("barks", "fetches"), ("meows",))
    table = pd.DataFrame({"feature": ["barks", "a pet", "meows", "fetches", "fur"],
                          "contrast": [0.14, 0.12, -0.13, -0.06, 0.02]})
    real, typical = cx.verdicts(table, pair)
    assert typical == pytest.approx(0.07)  # median of |0.12| and |0.02|
    assert dict(zip(real["feature"], real["seen"], strict=True)) == {"barks": True, "fetches": False, "meows": True}
    assert list(real["concept"]) == ["dog", "dog", "cat"]


def test_surprises_flags_what_a_person_would_not_expect():
    pair = cx.ContrastPair("dog", "cat", "?", ("fur", "a pet"), ("barks", "fetches"), ("meows",))
    table = pd.DataFrame({"feature": ["barks", "a pet", "meows", "fetches", "fur"],
                          "contrast": [0.14, 0.12, -0.13, -0.01, 0.02]})
    found = cx.surprises(table, pair)
    assert any(s.startswith("'a pet' belongs to both") for s in found)
    assert any(s.startswith("'fetches' belongs to dog, but") for s in found)
    assert not any("'fur'" in s or "'barks'" in s for s in found)


def test_parse_and_render_contrast(model):
    assert cx.parse_features("stripes, a mane\n fur;; ") == ["stripes", "a mane", "fur"]
    assert isinstance(cx.render_contrast(model, "horse", "zebra", " , "), cx.Notice)
    same = cx.render_contrast(model, "horse", "horse", "stripes")
    assert isinstance(same, cx.Notice) and "different" in same
    fig = cx.render_contrast(model, "horse", "zebra", "stripes, four legs")
    assert sorted(fig.data[0].y) == ["four legs", "stripes"]


def test_similarities_most_similar_first(model):
    sims = cx.similarities(model, "dog", ["car", "wolf", "puppy"])
    assert list(sims) == ["puppy", "wolf", "car"]
    emb = model.encode(["a dog", "a wolf"])
    assert sims["wolf"] == pytest.approx(float(model.similarity(emb[0], emb[1])), abs=1e-5)


def test_triplet_table_easy_vs_hard_negative(model, book):
    table = cx.triplet_table(model, **book.triplet, margin=0.3)
    assert table["cos(anchor, negative)"].is_monotonic_decreasing
    row = table.set_index("negative")
    assert row.loc["wolf", "cos(anchor, negative)"] > row.loc["car", "cos(anchor, negative)"]
    assert row.loc["car", "triplet loss"] == 0 and row.loc["wolf", "triplet loss"] > 0
    expected = np.maximum(0, 0.3 - table["gap"])
    assert np.allclose(table["triplet loss"], expected, atol=2e-3)
    fig = cx.degrees_figure(table, "dog", "puppy", 0.3)
    by_name = {t.name: t for t in fig.data}
    assert "wolf" in by_name["loss > 0: still teaches"].y and "car" in by_name["loss = 0: teaches nothing"].y
    assert by_name["loss > 0: still teaches"].marker.color == cx.COLORS["teaches"]
    assert fig.layout.legend.title.text


def test_loss_figure_splits_teaching_and_idle_triplets():
    fig = cx.loss_figure([0.0, 0.0, 0.2, 0.5, 0.01])
    assert [len(t.x) for t in fig.data] == [3, 2]
    assert "(3)" in fig.data[0].name and "(2)" in fig.data[1].name
    assert [t.marker.color for t in fig.data] == [cx.COLORS["teaches"], cx.COLORS["solved"]]


def test_triplet_loss_2d_by_hand():
    far = torch.tensor([[0.0, 0.0], [0.0, 0.1], [5.0, 0.0], [5.0, 0.1]])
    assert cx.triplet_loss_2d(far, list("aabb"), margin=1.0).item() == 0.0
    # anchor 0, positive 1 at distance 1, negatives at 1 and 2: violations 1 and 0 -> ...
    pts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-2.0, 0.0]])
    loss = cx.triplet_loss_2d(pts, list("aabb"), margin=1.0)
    d = torch.cdist(pts, pts)
    by_hand = [max(0.0, d[a, p] - d[a, n] + 1.0) for a, p in [(0, 1), (1, 0), (2, 3), (3, 2)]
               for n in ([2, 3] if a < 2 else [0, 1])]
    assert loss.item() == pytest.approx(float(np.mean(by_hand)))
    with pytest.raises(ValueError, match="two items with the same label"):
        cx.triplet_loss_2d(pts, list("abcd"))


def test_train_toy_pulls_positives_and_pushes_negatives(book):
    names = [n for n, _ in book.toy]
    labels = [label for _, label in book.toy]
    run = cx.train_toy(cx.toy_start(len(names), seed=0), labels, names, steps=60, frames=31)
    assert run.frames.shape == (31, len(names), 2)
    assert run.steps[0] == 0 and run.steps[-1] == 60 and run.steps == sorted(run.steps)
    assert run.losses[-1] < 0.5 * run.losses[0]
    before, after = cx.spread(run.frames[0], labels), cx.spread(run.frames[-1], labels)
    assert after["within"] < before["within"] and after["between"] > before["between"]
    with pytest.raises(ValueError, match="n_items, 2"):
        cx.train_toy(np.zeros((3, 3)), list("aab"))


def test_min_triplet_gap_is_the_margin_the_toy_reaches(book):
    xy = np.array([[0, 0], [0, 1], [5, 0], [5, 1]], dtype=float)
    assert cx.min_triplet_gap(xy, list("aabb")) == pytest.approx(4.0)  # d(a, n) = 5, d(a, p) = 1
    assert cx.min_triplet_gap(xy, list("abab")) == pytest.approx(1 - 5)  # the "negative" is the close one
    labels = [label for _, label in book.toy]
    run = cx.train_toy(cx.toy_start(len(labels), seed=0), labels, steps=60, frames=2, margin=1.0)
    if run.losses[-1] == 0:  # zero loss: every triplet clears the margin
        assert cx.min_triplet_gap(run.frames[-1], labels) >= 1.0 - 1e-5
    else:
        assert cx.min_triplet_gap(run.frames[-1], labels) < 1.0
    with pytest.raises(ValueError, match="two labels"):
        cx.min_triplet_gap(xy, list("aaaa"))


def test_toy_animation_has_frames_and_a_slider(book):
    names = [n for n, _ in book.toy]
    labels = [label for _, label in book.toy]
    run = cx.train_toy(cx.toy_start(len(names)), labels, names, steps=20, frames=11)
    fig = cx.toy_animation(run)
    assert len(fig.frames) == 11 == len(fig.layout.sliders[0].steps)
    assert len(fig.data) == len(set(labels))
    lo, hi = fig.layout.xaxis.range
    assert lo < run.frames[..., 0].min() and hi > run.frames[..., 0].max()
    assert "loss" in fig.frames[-1].layout.title.text


def test_contrast_check(model, book, capsys):
    ex_c = book.exercises["contrast"]
    def score(template):
        return float(cx.contrast_features(model, ex_c["a"], ex_c["b"], [ex_c["feature"]], template)["contrast"].iloc[0])

    want, bare = score(book.template), score("{}")
    assert ex.check_contrast(..., model).passed is False
    assert ex.check_contrast("red", model).passed is False
    assert ex.check_contrast(-want, model).passed is False
    assert "wrong sign" in capsys.readouterr().out
    assert ex.check_contrast(bare, model).passed is False
    assert "template" in capsys.readouterr().out
    assert ex.check_contrast(want, model).passed is True


def test_triplet_losses_check(model, book, capsys):
    task = book.exercises["triplet"]
    table = cx.triplet_table(model, task["anchor"], task["positive"], task["negatives"], cx.MARGIN, book.template)
    right = dict(zip(table["negative"], table["triplet loss"], strict=True))
    assert ex.check_triplet_losses(..., model).passed is False
    assert ex.check_triplet_losses({"lion": 0.1}, model).passed is False
    assert "one entry per negative" in capsys.readouterr().out
    assert ex.check_triplet_losses({k: v - 1 for k, v in right.items()}, model).passed is False
    assert "max(0" in capsys.readouterr().out
    wrong = {**right, task["negatives"][0]: right[task["negatives"][0]] + 0.1}
    assert ex.check_triplet_losses(wrong, model).passed is False
    assert repr([task["negatives"][0]]) in capsys.readouterr().out
    assert ex.check_triplet_losses(right, model).passed is True
    assert "hardest" in capsys.readouterr().out


def test_training_step_check(model, book, capsys):
    import copy

    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    assert ex.check_training_step(..., model).passed is False
    assert ex.check_training_step(model, model).passed is False
    assert "deepcopy" in capsys.readouterr().out
    untrained = copy.deepcopy(model)
    assert ex.check_training_step(untrained, model).passed is False
    assert "optimizer.step()" in capsys.readouterr().out

    def one_step(sign):
        torch.manual_seed(0)
        student = copy.deepcopy(model)
        loss_fn = MultipleNegativesRankingLoss(student)
        optimizer = torch.optim.AdamW(student.parameters(), lr=2e-5)
        student.train()
        batch = book.exercises["training"]
        (sign * loss_fn([student.preprocess(batch[c]) for c in ("anchor", "positive", "negative")], None)).backward()
        optimizer.step()
        return student

    assert ex.check_training_step(one_step(-1), model).passed is False  # maximised the loss
    assert "did not grow" in capsys.readouterr().out
    assert ex.check_training_step(one_step(+1), model).passed is True
