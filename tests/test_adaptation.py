"""course.adaptation and its exercise checks (notebook 08), on small made-up data and fake models."""

import numpy as np
import pytest
from datasets import Dataset

from course import adaptation as ad
from course import stats
from course.datasets import DataError
from course.env import Profile
from course.exercises import adaptation as ex

SMOKE = Profile(name="smoke", device="cpu", online=False, seeds=(0,), hub_rows=500, batch_size=64)


class FakeEncoder:
    """A bi-encoder with fixed vectors per sentence (unit length after normalisation)."""

    def __init__(self, vectors: dict[str, list[float]]):
        self.vectors = vectors

    def encode(self, texts, batch_size=64, normalize_embeddings=False, convert_to_tensor=False, **_):
        v = np.array([self.vectors[t] for t in texts], dtype=np.float32)
        if normalize_embeddings:
            v = v / np.linalg.norm(v, axis=1, keepdims=True)
        if convert_to_tensor:
            import torch

            return torch.from_numpy(v)
        return v


class FakeCross:
    """A cross-encoder whose score is the share of words the two sentences have in common."""

    def predict(self, pairs, **_):
        out = []
        for a, b in pairs:
            wa, wb = set(a.lower().split()), set(b.lower().split())
            out.append(len(wa & wb) / len(wa | wb))
        return np.array(out)


def pairs_dataset(n=6):
    return Dataset.from_dict({"sentence1": [f"left {i}" for i in range(n)],
                              "sentence2": [f"right {i}" for i in range(n)],
                              "score": [i / n for i in range(n)]})


def test_preset_sizes_and_overrides():
    a = ad.preset(SMOKE)
    assert a.seeds == (0,) and a.deletion_ratio == 0.6 and a.gold_pairs < ad.preset(
        Profile("cpu", "cpu", False, (0, 1, 2), 5000, 64)).gold_pairs
    assert ad.preset(SMOKE, gold_pairs=7).gold_pairs == 7
    with pytest.raises(ValueError, match="no field"):
        ad.preset(SMOKE, gold_pairz=7)


def test_offline_tsdae_starts_from_the_packaged_model_and_online_from_plain_bert(monkeypatch):
    monkeypatch.setattr(ad, "resolve", lambda name: "/packaged/minilm")
    assert ad.preset(SMOKE).tsdae_model == "/packaged/minilm"
    online = Profile("gpu", "cuda", True, (0, 1, 2), 100_000, 256)
    assert ad.preset(online).tsdae_model == ad.PLAIN_BERT


def test_unlabelled_sentences_drop_test_sentences_and_duplicates():
    test = {"sentence1": ["held out a"], "sentence2": ["held out b"]}
    pool = ["one", "held out a", "two", "one ", "", "held out b", "three"]
    assert ad.unlabelled_sentences(pool, test) == ["one", "two", "three"]
    assert ad.unlabelled_sentences(pool, test, limit=2) == ["one", "two"]
    with pytest.raises(DataError, match="test sentences"):
        ad.unlabelled_sentences(["held out a"], test)


def test_spearman_and_reciprocal_ranks():
    model = FakeEncoder({"a": [1, 0], "b": [1, 1], "c": [0, 1], "q1": [1, 0.1], "q2": [0.1, 1]})
    assert ad.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert ad.spearman([3, 2, 1], [10, 20, 30]) == pytest.approx(-1.0)
    queries = [{"query": "q1", "relevant": ["id_b"]}, {"query": "q2", "relevant": ["id_a"]}]
    rr = ad.reciprocal_ranks(model, queries, ["a", "b", "c"], ["id_a", "id_b", "id_c"], k=2)
    assert rr.tolist() == [0.5, 0.0]  # q1: a first, b second; q2: a is third, outside the top 2


def test_seed_mean_diff_intervals():
    rng = np.random.default_rng(0)
    gold = rng.normal(size=60)
    noisy = [gold + rng.normal(scale=2.0, size=60) for _ in range(3)]
    close = [gold + rng.normal(scale=0.1, size=60) for _ in range(3)]
    better = ad.seed_mean_diff(gold, noisy, close, n_resamples=500)
    assert better.diff > 0 and better.low > 0 and better.significant
    same = ad.seed_mean_diff(gold, noisy, noisy, n_resamples=200)
    assert same.diff == pytest.approx(0.0) and same.low <= 0 <= same.high
    with pytest.raises(ValueError, match="seeds"):
        ad.seed_mean_diff(gold, noisy, close[:2])


def test_seed_table_and_verdict_wording():
    rows = [{"arm": "x", "seed": s, "Spearman": v} for s, v in enumerate([0.5, 0.7])]
    table = ad.seed_table(rows)
    assert table.loc["x", ("Spearman", "mean")] == pytest.approx(0.6)
    assert table.loc["x", ("Spearman", "min")] == pytest.approx(0.5)
    up, flat, down = (stats.PairedDiff(0.5, 0.6, 10, lo, hi) for lo, hi in ((0.01, 0.2), (-0.1, 0.2), (-0.3, -0.01)))
    assert "helped" in ad.verdict(up, "X") and "no clear difference" in ad.verdict(flat, "X")
    assert "hurt" in ad.verdict(down, "X")


def test_silver_sources_frame_and_figures():
    frame = ad.silver_sources_frame({"random": [0.1, 0.2, 0.9, 0.0], "nn": [0.6, 0.7]})
    assert frame.loc["random", "share"] == pytest.approx(0.25) and frame.loc["nn", "share"] == 1.0
    assert "1/4" in frame.loc["random", "share > 0.5"]
    assert frame.loc["random", "low"] < 0.25 < frame.loc["random", "high"] and frame.loc["nn", "high"] == 1.0
    assert len(ad.label_histogram({"a": [0.1], "b": [0.9]}).data) == 2
    point = ad.as_points(stats.PairedDiff(0.5, 0.52, 10, -0.01, 0.05))
    assert point["gain"] == pytest.approx(2.0) and point["low"] == pytest.approx(-1.0)
    fig = ad.routes_figure([{"labels": "0 (unlabelled in-domain text)", "route": "r", **point}])
    assert [t.name for t in fig.data] == ["measured here", "published"]
    assert len(ad.published_frame()) == len(ad.PUBLISHED)


# ---------------------------------------------------------------- exercise checks

NEW = ["red apple pie", "apple pie red", "blue sky today", "sky blue today"]
BI = FakeEncoder({"red apple pie": [1, 0, 0], "apple pie red": [0.9, 0.1, 0], "blue sky today": [0, 1, 0],
                  "sky blue today": [0, 0.9, 0.1]})


def right_answer():
    partner = dict(zip(NEW, ex.nearest_neighbours(BI, NEW), strict=True))
    return [(a, partner[a], float(FakeCross().predict([(a, partner[a])])[0])) for a in NEW]


def test_check_silver_pairs(capsys):
    assert not ex.check_silver_pairs(..., NEW, BI, FakeCross())
    assert "Not attempted" in capsys.readouterr().out
    assert ex.check_silver_pairs(right_answer(), NEW, BI, FakeCross())
    selfish = [(a, a, 1.0) for a in NEW]
    assert not ex.check_silver_pairs(selfish, NEW, BI, FakeCross())
    assert "itself" in capsys.readouterr().out
    cosines = [(a, b, float(np.dot(*BI.encode([a, b], normalize_embeddings=True)))) for a, b, _ in right_answer()]
    assert not ex.check_silver_pairs(cosines, NEW, BI, FakeCross())
    assert "bi-encoder's cosines" in capsys.readouterr().out
    assert not ex.check_silver_pairs(right_answer()[:2], NEW, BI, FakeCross())
    assert not ex.check_silver_pairs("pairs", NEW, BI, FakeCross())


def test_check_tsdae_dataset(capsys):
    import random

    from sentence_transformers.sentence_transformer.datasets import DenoisingAutoEncoderDataset

    rng = random.Random(0)

    def delete(text, ratio=0.6):
        words = text.split()
        return " ".join([w for w in words if rng.random() > ratio] or [rng.choice(words)])

    mine = [f"sentence number {i} has quite a few words in it to delete" for i in range(6)]
    assert not ex.check_tsdae_dataset(...)
    assert ex.check_tsdae_dataset(DenoisingAutoEncoderDataset(mine, noise_fn=delete))
    assert not ex.check_tsdae_dataset(DenoisingAutoEncoderDataset(mine, noise_fn=lambda t: delete(t, 0.1)))
    assert "deletes" in capsys.readouterr().out
    shuffled = DenoisingAutoEncoderDataset(mine, noise_fn=lambda t: " ".join(reversed(t.split())))
    assert not ex.check_tsdae_dataset(shuffled)
    assert "order" in capsys.readouterr().out
    assert not ex.check_tsdae_dataset(DenoisingAutoEncoderDataset(mine, noise_fn=delete), course_sentences=mine)
    assert not ex.check_tsdae_dataset(mine)


def test_notebook_teaches_the_library_calls():
    import nbformat

    from course.nbtools import NOTEBOOKS

    nb = nbformat.read(NOTEBOOKS / "08_few_labels_augsbert_tsdae.ipynb", as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for call in ("CrossEncoder(", "CrossEncoderTrainer(", "cross.predict(", "util.semantic_search(",
                 "bm25s.BM25(", "DenoisingAutoEncoderDataset(", "DenoisingAutoEncoderLoss(",
                 "tie_encoder_decoder=True", 'pooling_mode="cls"', "CosineSimilarityLoss("):
        assert call in source, f"notebook 08 no longer shows {call}"


# ---------------------------------------------------------------- claims notebook 08 makes about the libraries


def _notebook_08_text() -> str:
    import nbformat

    from course.nbtools import NOTEBOOKS

    nb = nbformat.read(NOTEBOOKS / "08_few_labels_augsbert_tsdae.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells)


def test_tied_tsdae_decoder_ignores_decoder_name_and_reuses_the_word_embeddings(caplog):
    """Section 7: with tie_encoder_decoder=True a decoder_name_or_path is ignored with a warning (so the
    recap does not pass one); section 7's load report: the packaged checkpoint has no LM-head weights,
    and the decoder's output matrix starts as the pretrained word-embedding matrix."""
    import logging
    import re
    from pathlib import Path

    from safetensors import safe_open
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import DenoisingAutoEncoderLoss
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    path = ad.preset(SMOKE).tsdae_model
    encoder = Transformer(path)
    model = SentenceTransformer(modules=[encoder, Pooling(encoder.get_embedding_dimension(), pooling_mode="cls")],
                                device="cpu")
    with caplog.at_level(logging.WARNING):
        loss = DenoisingAutoEncoderLoss(model, decoder_name_or_path="no-such/decoder", tie_encoder_decoder=True)
    assert "decoder_name_or_path will be invalid" in caplog.text
    assert Path(loss.decoder.config._name_or_path).resolve() == Path(path).resolve()
    with safe_open(str(Path(path) / "model.safetensors"), "pt") as f:
        assert not [k for k in f.keys() if "predictions" in k], "the packaged model now ships an LM head"
    words = encoder.auto_model.embeddings.word_embeddings.weight
    assert np.allclose(loss.decoder.get_output_embeddings().weight.detach().numpy(), words.detach().numpy())
    calls = re.findall(r"DenoisingAutoEncoderLoss\([^)]*\)", _notebook_08_text())
    assert calls and not [c for c in calls if "decoder_name_or_path" in c], calls


def test_nltk_word_tokenize_needs_punkt_tab(monkeypatch, tmp_path):
    """Section 7: DenoisingAutoEncoderDataset's default noise calls nltk.word_tokenize, which needs the
    punkt_tab data (a download); the notebook's own noise function avoids it."""
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    with pytest.raises(LookupError, match="punkt_tab"):
        nltk.word_tokenize("A dog runs.")
    assert "*punkt_tab*" in _notebook_08_text()


def test_bm25s_tokenize_lowercases_and_drops_stop_words_and_single_letters():
    """Section 4's description of bm25s.tokenize."""
    import bm25s

    tokens = bm25s.tokenize(["The Cat sat on a B mat"], stopwords="en", show_progress=False, return_ids=False)
    assert tokens == [["cat", "sat", "mat"]]
