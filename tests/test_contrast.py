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
    assert book.exercise["anchor"] not in book.exercise["candidates"]
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


def test_contrast_figure_bars_and_sides():
    table = pd.DataFrame({"feature": ["stripes", "mane", "fur"], "contrast": [-0.3, 0.1, 0.01]})
    fig = cx.contrast_figure(table, "horse", "zebra", expected={"fur": "shared"})
    bar = fig.data[0]
    assert list(bar.y) == ["fur", "mane", "stripes"]  # biggest contrast drawn on top
    assert list(bar.marker.color) == [cx.PALETTE[7], cx.PALETTE[0], cx.PALETTE[1]]
    lo, hi = fig.layout.xaxis.range
    assert lo == -hi and hi > 0.3


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


def test_concept_heatmap_and_similarities(model):
    fig = cx.concept_heatmap(model, ["dog", "cat", "car"])
    z = np.array(fig.data[0].z)
    assert z.shape == (3, 3) and np.allclose(np.diag(z), 1, atol=1e-4) and np.allclose(z, z.T)
    sims = cx.similarities(model, "dog", ["car", "wolf", "puppy"])
    assert list(sims) == ["puppy", "wolf", "car"]
    assert cx.hardest_negative(model, "dog", ["car", "wolf"]) == "wolf"


def test_triplet_table_easy_vs_hard_negative(model, book):
    table = cx.triplet_table(model, **book.triplet, margin=0.3)
    assert table["cos(anchor, negative)"].is_monotonic_decreasing
    row = table.set_index("negative")
    assert row.loc["wolf", "cos(anchor, negative)"] > row.loc["car", "cos(anchor, negative)"]
    assert row.loc["car", "triplet loss"] == 0 and row.loc["wolf", "triplet loss"] > 0
    expected = np.maximum(0, 0.3 - table["gap"])
    assert np.allclose(table["triplet loss"], expected, atol=2e-3)
    fig = cx.degrees_figure(table, "dog", "puppy", 0.3)
    colors = dict(zip(fig.data[0].y, fig.data[0].marker.color, strict=True))
    assert colors["wolf"] == cx.PALETTE[3] and colors["car"] == cx.PALETTE[7]


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


def test_exercise_check_hardest_negative(model, book):
    cands = list(book.exercise["candidates"])
    best = cx.hardest_negative(model, book.exercise["anchor"], cands)
    assert ex.check_hardest_negative(..., model) is False
    assert ex.check_hardest_negative("unicorn", model) is False
    assert ex.check_hardest_negative(next(c for c in cands if c != best), model) is False
    assert ex.check_hardest_negative(best, model) is True
