"""Plumbing for notebook 08 (few labels, no labels: Augmented SBERT and TSDAE).

The notebook shows every library call itself (CrossEncoder, bm25s, DenoisingAutoEncoderLoss,
the trainers). This module only sizes the runs per profile, loads the data, scores models,
summarises seeds with intervals and draws the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from course import stats
from course.datasets import DataError, load_corpus, load_nli, load_queries, load_sts
from course.env import Profile
from course.models import resolve

PLAIN_BERT = "bert-base-uncased"
ONLINE_STS = "sentence-transformers/stsb"


@dataclass(frozen=True)
class AdaptPreset:
    """The sizes of notebook 08 for one profile."""

    model: str  # the bi-encoder and the cross-encoder start from it (a hub id online, a folder offline)
    tsdae_model: str  # TSDAE's starting encoder (plain BERT online, the packaged MiniLM offline)
    seeds: tuple[int, ...]
    gold_pairs: int  # labelled pairs (the "few labels")
    random_negatives: int  # extra (a, random b) pairs scored 0 for the cross-encoder
    cross_epochs: int
    learning_rate: float  # pretrained weights
    head_learning_rate: float  # the cross-encoder's new score head
    unlabelled: int  # cap on unlabelled sentences the silver pairs come from
    top_k: int  # neighbours per sentence, for each sampler
    silver_pairs: int  # silver pairs kept for training
    random_pairs: int  # random pairs labelled to show why samplers matter
    bi_epochs: int
    batch_size: int
    tsdae_sentences: int
    tsdae_epochs: int
    tsdae_batch_size: int
    tsdae_learning_rate: float
    deletion_ratio: float = 0.6  # the TSDAE paper's noise: delete 60% of the words


_SIZES = {
    "smoke": dict(gold_pairs=24, random_negatives=24, cross_epochs=1, unlabelled=120, top_k=2,
                  silver_pairs=24, random_pairs=48, bi_epochs=1, batch_size=16, tsdae_sentences=8,
                  tsdae_epochs=1, tsdae_batch_size=8),
    "cpu": dict(gold_pairs=96, random_negatives=96, cross_epochs=4, unlabelled=1_200, top_k=2,
                silver_pairs=192, random_pairs=200, bi_epochs=1, batch_size=16, tsdae_sentences=160,
                tsdae_epochs=1, tsdae_batch_size=8),
    "gpu": dict(gold_pairs=100, random_negatives=100, cross_epochs=4, unlabelled=20_000, top_k=3,
                silver_pairs=5_000, random_pairs=1_000, bi_epochs=4, batch_size=32, tsdae_sentences=20_000,
                tsdae_epochs=1, tsdae_batch_size=16),
}


def preset(p: Profile, **overrides) -> AdaptPreset:
    """The notebook-08 sizes for a profile; any field can be overridden, e.g. preset(P, gold_pairs=50)."""
    model = resolve(None)  # all-MiniLM-L6-v2: the hub id online, the packaged folder offline
    tsdae = PLAIN_BERT if p.online else model
    base = AdaptPreset(model=model, tsdae_model=tsdae, seeds=p.seeds, learning_rate=5e-5,
                       head_learning_rate=1e-3, tsdae_learning_rate=3e-5, **_SIZES[p.name])
    unknown = set(overrides) - set(AdaptPreset.__dataclass_fields__)
    if unknown:
        raise ValueError(f"preset() has no field(s) {sorted(unknown)}; fields: "
                         f"{', '.join(AdaptPreset.__dataclass_fields__)}.")
    return replace(base, **overrides)


# ---------------------------------------------------------------- data


@dataclass
class AdaptData:
    """Gold pairs (few labels), test pairs, unlabelled in-domain sentences, retrieval queries."""

    gold: object  # datasets.Dataset: sentence1, sentence2, score in 0-1
    test: object
    sentences: list[str]
    corpus: list[str]
    corpus_ids: list[str]
    queries: list[dict]
    source: str


def load_data(a: AdaptPreset, p: Profile) -> AdaptData:
    """The notebook's data. Offline: course STS dev (gold) and test, unlabelled sentences from the
    course corpus, NLI train and STS dev; online: the first rows of sentence-transformers/stsb
    train (gold), its test split, and the other train sentences as unlabelled."""
    corpus = load_corpus()
    queries = load_queries()
    if p.online:
        train = load_sts(ONLINE_STS, split="train", limit=a.gold_pairs + a.unlabelled)
        gold, rest = train.select(range(a.gold_pairs)), train.select(range(a.gold_pairs, len(train)))
        test = load_sts(ONLINE_STS, split="test")
        pool = list(rest["sentence1"]) + list(rest["sentence2"])
        source = f"{ONLINE_STS} (train: gold + unlabelled, test)"
    else:
        gold = load_sts(split="dev", limit=a.gold_pairs)
        test = load_sts(split="test")
        nli = load_nli(split="train")
        pool = (list(gold["sentence1"]) + list(gold["sentence2"]) + list(corpus["text"])
                + list(nli["premise"]) + list(nli["hypothesis"]))
        source = "course data (STS dev = gold, STS test; corpus, NLI train and STS dev sentences unlabelled)"
    sentences = unlabelled_sentences(pool, test, a.unlabelled)
    return AdaptData(gold=gold, test=test, sentences=sentences, corpus=list(corpus["text"]),
                     corpus_ids=list(corpus["id"]), queries=queries, source=source)


def unlabelled_sentences(pool: Sequence[str], test, limit: int | None = None) -> list[str]:
    """Distinct sentences from `pool`, in order, minus every sentence of the test pairs (so no
    silver pair or TSDAE sentence repeats a test sentence)."""
    held_out = set(test["sentence1"]) | set(test["sentence2"])
    out = list(dict.fromkeys(s.strip() for s in pool if s.strip() and s.strip() not in held_out))
    if not out:
        raise DataError("No unlabelled sentences are left once the test sentences are removed; "
                        "pass sentences that are not in the test split.")
    return out[:limit]


# ---------------------------------------------------------------- scoring


def spearman(scores, gold) -> float:
    """Spearman rank correlation between a model's pair scores and the gold scores."""
    from scipy.stats import spearmanr

    return float(spearmanr(scores, gold).statistic)


def reciprocal_ranks(model, queries: Sequence[dict], corpus: Sequence[str], corpus_ids: Sequence[str],
                     k: int = 10, batch_size: int = 64) -> np.ndarray:
    """Per query, 1/rank of the first relevant corpus sentence in the model's top k (0 if none):
    their mean is MRR@k."""
    from sentence_transformers import util

    docs = model.encode(list(corpus), batch_size=batch_size, normalize_embeddings=True, convert_to_tensor=True)
    qs = model.encode([q["query"] for q in queries], batch_size=batch_size, normalize_embeddings=True,
                      convert_to_tensor=True)
    out = []
    for q, hits in zip(queries, util.semantic_search(qs, docs, top_k=k), strict=True):
        ranks = [r for r, h in enumerate(hits, start=1) if corpus_ids[h["corpus_id"]] in q["relevant"]]
        out.append(1.0 / ranks[0] if ranks else 0.0)
    return np.asarray(out)


def seed_mean_diff(gold, before: Sequence[Sequence[float]], after: Sequence[Sequence[float]],
                   n_resamples: int = 2000, seed: int = 0) -> stats.PairedDiff:
    """Spearman of `after` minus Spearman of `before`, averaged over seeds (one score array per
    seed on each side), with a 95% bootstrap interval over the test pairs: every resample takes
    the same pairs for every seed and both sides. The interval is about the test sample; the
    spread over seeds is about training noise, so report both."""
    from scipy.stats import bootstrap

    g = np.asarray(gold, dtype=float)
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if b.ndim != 2 or a.shape != b.shape or b.shape[1] != len(g):
        raise ValueError(f"before and after must be (seeds, {len(g)} pairs) arrays, got {b.shape} and {a.shape}")

    def mean_rho(scores, idx):
        return float(np.mean([spearman(s[idx], g[idx]) for s in scores]))

    res = bootstrap((np.arange(len(g)),), lambda idx: mean_rho(a, idx) - mean_rho(b, idx),
                    vectorized=False, n_resamples=n_resamples, method="percentile", random_state=seed)
    whole = np.arange(len(g))
    return stats.PairedDiff(mean_rho(b, whole), mean_rho(a, whole), len(g),
                            float(res.confidence_interval.low), float(res.confidence_interval.high))


def seed_table(rows: Sequence[Mapping]):
    """Mean, standard deviation, min and max of each metric per arm, over seeds."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    metrics = [c for c in frame.columns if c not in ("arm", "seed")]
    table = frame.groupby("arm", sort=False)[metrics].agg(["mean", "std", "min", "max"])
    return table.round(4)


def verdict(diff: stats.PairedDiff, what: str) -> str:
    """One sentence on a before/after difference, worded from its interval."""
    if diff.low > 0:
        return f"{what} helped: {diff} (the interval is above 0)."
    if diff.high < 0:
        return f"{what} hurt: {diff} (the interval is below 0)."
    return f"{what} made no clear difference: {diff} (the interval includes 0)."


# ---------------------------------------------------------------- figures


def silver_sources_frame(labels: Mapping[str, Sequence[float]], threshold: float = 0.5):
    """Per pair source (random, bi-encoder, BM25): pairs, mean cross-encoder score and the share
    scored above `threshold` with its 95% interval (also as numbers: share, low, high)."""
    import pandas as pd

    rows = []
    for values in labels.values():
        v = np.asarray(values, dtype=float)
        share = stats.proportion(int((v > threshold).sum()), len(v))
        rows.append({"pairs": len(v), "mean score": round(float(v.mean()), 3),
                     f"share > {threshold}": str(share), "share": share.value, "low": share.low,
                     "high": share.high})
    return pd.DataFrame(rows, index=list(labels))


def label_histogram(labels: Mapping[str, Sequence[float]], title: str = "Cross-encoder scores by pair source"):
    """Overlaid histograms of the cross-encoder's scores, one per pair source."""
    import plotly.graph_objects as go

    from course import viz

    fig = go.Figure()
    for i, (name, values) in enumerate(labels.items()):
        fig.add_trace(go.Histogram(x=list(values), name=name, xbins=dict(start=0, end=1, size=0.05),
                                   histnorm="percent", opacity=0.6, marker_color=viz.PALETTE[i]))
    fig.update_layout(barmode="overlay", xaxis_title="cross-encoder score (0 = unrelated, 1 = same meaning)",
                      yaxis_title="% of the source's pairs")
    return viz.style(fig, title, height=440)


# Published results quoted next to ours (name the source, split and metric; see ANCHORS).
PUBLISHED = [
    {"labels": "0 (unlabelled in-domain text)", "route": "TSDAE on bert-base-uncased vs an NLI-trained BERT",
     "gain": 59.4 - 50.7, "detail": "AskUbuntu test MAP 59.4 (TSDAE, no labels) vs 50.7 for nli-bert-base "
                                    "(supervised on NLI, not in-domain); paraphrase-distilroberta-base-v1: 54.8",
     "source": "sbert.net, TSDAE example (Wang et al., 2021)"},
    {"labels": "0 (unlabelled in-domain text)", "route": "TSDAE in-domain, then supervised on NLI",
     "gain": 56.5 - 52.3, "detail": "average of AskUbuntu, CQADupStack, Twitter, SciDocs: 56.5 vs 52.3 for the same "
                                    "NLI-supervised model without TSDAE (no in-domain labels in either); "
                                    "masked-LM pre-training instead of TSDAE: 55.9",
     "source": "sbert.net, Domain Adaptation (TSDAE paper, Wang et al., 2021)"},
    {"labels": "~100 to a few 1,000 labelled pairs", "route": "Augmented SBERT, best case",
     "gain": 6.0, "detail": "'up to 6 points' over the bi-encoder trained on gold only (the best case, "
                            "not a typical gain)",
     "source": "Thakur et al., 2021, abstract"},
    {"labels": "10,000+ labelled pairs", "route": "supervised SBERT (bert-base, AllNLI)",
     "gain": 77.12 - 46.35, "detail": "STSb test Spearman 77.12 vs 46.35 for BERT average embeddings",
     "source": "sbert.net"},
]


def as_points(diff: stats.PairedDiff) -> dict:
    """A before/after difference as a point of the routes figure: gain and interval x 100."""
    return {"gain": 100 * diff.diff, "low": 100 * diff.low, "high": 100 * diff.high, "detail": str(diff)}


def published_frame(published: Sequence[Mapping] = PUBLISHED):
    """The published results of the routes figure as a table, with their sources."""
    import pandas as pd

    frame = pd.DataFrame(list(published))[["labels", "route", "gain", "detail", "source"]]
    return frame.round({"gain": 1}).set_index("route")


def routes_figure(measured: Sequence[Mapping], published: Sequence[Mapping] = PUBLISHED):
    """One figure: gain over the starting model by route, grouped by how many labels it needs.
    Measured points (this run, with 95% intervals) and published ones (labelled as such)."""
    import plotly.graph_objects as go

    from course import viz

    order = ["0 (unlabelled in-domain text)", "~100 to a few 1,000 labelled pairs", "10,000+ labelled pairs"]
    fig = go.Figure()
    for kind, rows, color, symbol in (("measured here", measured, viz.PALETTE[0], "circle"),
                                      ("published", published, viz.PALETTE[1], "diamond")):
        rows = list(rows)
        err = dict(type="data", symmetric=False,
                   array=[r.get("high", r["gain"]) - r["gain"] for r in rows],
                   arrayminus=[r["gain"] - r.get("low", r["gain"]) for r in rows])
        fig.add_trace(go.Scatter(
            x=[r["labels"] for r in rows], y=[r["gain"] for r in rows], mode="markers+text",
            name=kind, text=[r["route"] for r in rows], textposition="middle right",
            marker=dict(size=14, color=color, symbol=symbol), error_y=err if kind == "measured here" else None,
            customdata=[[r.get("detail", ""), r.get("source", "this notebook")] for r in rows],
            hovertemplate="%{text}<br>gain %{y:+.1f} points<br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>"))
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    fig.update_xaxes(categoryorder="array", categoryarray=order, title="labelled pairs you have")
    fig.update_yaxes(title="gain, points (Spearman or MAP x 100; hover: compared with what)")
    return viz.style(fig, "Which route? Gains measured here and published", height=560)
