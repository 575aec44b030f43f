"""Notebook 01 helpers: mean pooling by hand, semantic search as a table, where a model stumbles.

Notebook 01 shows the library calls themselves (`SentenceTransformer`, `encode`, `similarity`,
`util.semantic_search`, `preprocess`); these functions wrap them for reuse in later notebooks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def token_embeddings(model, texts: Sequence[str]):
    """One vector per token (before pooling) and the attention mask that marks real tokens.

    Returns (token_embeddings [batch, tokens, dim], attention_mask [batch, tokens]) as torch tensors.
    """
    import torch
    from sentence_transformers.util import batch_to_device

    features = batch_to_device(model.preprocess(list(texts)), model.device)
    with torch.no_grad():
        out = model[0](dict(features))  # module 0 is the Transformer: tokens in, token vectors out
    return out["token_embeddings"], features["attention_mask"]


def mean_pool(token_embs, attention_mask):
    """Average the token vectors of each text, counting only real tokens (mask = 1), not padding."""
    mask = attention_mask.unsqueeze(-1).to(token_embs.dtype)
    return (token_embs * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def search(model, query: str, texts: Sequence[str], embeddings, k: int = 5,
           topics: Sequence[str] | None = None):
    """`util.semantic_search` for one query, as a table (rank, cosine, topic, text)."""
    import pandas as pd
    from sentence_transformers.util import semantic_search

    if not query or not query.strip():
        raise ValueError("The query is empty: type a sentence to search for.")
    q = model.encode([query], convert_to_tensor=True)
    hits = semantic_search(q, embeddings, top_k=k)[0]
    rows = [{"rank": i + 1, "cosine": round(h["score"], 3),
             **({"topic": topics[h["corpus_id"]]} if topics is not None else {}),
             "text": texts[h["corpus_id"]]} for i, h in enumerate(hits)]
    return pd.DataFrame(rows).set_index("rank")


def embed(model, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings (rows), so a dot product is the cosine similarity."""
    texts = list(texts)
    if not texts:
        raise ValueError("embed() got no texts: pass at least one sentence.")
    return np.asarray(model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True), dtype=np.float32)


def pair_cosines(model, left: Sequence[str], right: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Cosine similarity of each (left[i], right[i]) pair (row by row, not all against all)."""
    if len(left) != len(right):
        raise ValueError(f"left has {len(left)} sentences but right has {len(right)}; pass pairs.")
    a, b = embed(model, left, batch_size), embed(model, right, batch_size)
    return np.sum(a * b, axis=1)  # unit vectors: dot product = cosine


def ranked_pairs(sim, labels: Sequence[str]) -> list[tuple[float, str, str]]:
    """Every pair (i < j) of a square similarity matrix as (cosine, label_i, label_j), highest first."""
    m = np.asarray(sim, dtype=float)
    if m.shape != (len(labels), len(labels)):
        raise ValueError(f"the matrix is {m.shape} but there are {len(labels)} labels")
    i, j = np.triu_indices(len(labels), k=1)
    return sorted(((float(m[a, b]), labels[a], labels[b]) for a, b in zip(i, j, strict=True)),
                  reverse=True)


def category_means(pairs):
    """Per STS category: the number of pairs, the mean gold score (0-5, the course's rubric) and the
    mean model cosine, each with its 95% bootstrap interval; highest gold score first.

    The two means stay on their own scales: a gold 4 out of 5 and a cosine of 0.8 are not the same
    unit, so compare categories within each column, never a cosine with a gold score.
    `pairs` is a DataFrame with columns category, gold and cosine (one row per sentence pair).
    """
    import pandas as pd

    from course.stats import bootstrap_ci

    missing = {"category", "gold", "cosine"} - set(pairs.columns)
    if missing:
        raise ValueError(f"category_means needs the columns {sorted(missing)}; add them to the pairs table.")
    rows = {}
    for category, group in pairs.groupby("category"):
        row = {"n": len(group)}
        for col in ("gold", "cosine"):
            row[col] = group[col].mean()
            row[f"{col}_low"], row[f"{col}_high"] = bootstrap_ci(group[col].to_numpy())
        rows[category] = row
    return pd.DataFrame.from_dict(rows, orient="index").sort_values("gold", ascending=False).round(3)


def spearman_ci(x, y, confidence: float = 0.95, n_resamples: int = 2000,
                seed: int = 0) -> tuple[float, float, float]:
    """Spearman's rank correlation of x and y with a paired percentile-bootstrap interval over items:
    (rho, low, high)."""
    from scipy.stats import bootstrap, spearmanr

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(f"spearman_ci needs two 1-D arrays of the same length (3 or more items), "
                         f"got {x.shape} and {y.shape}.")
    res = bootstrap((x, y), lambda a, b: spearmanr(a, b).statistic, paired=True, vectorized=False,
                    confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                    random_state=seed)
    ci = res.confidence_interval
    return float(spearmanr(x, y).statistic), float(ci.low), float(ci.high)


def category_chart(summary):
    """Two panels, two scales: the rubric's mean gold score (0-5) and the model's mean cosine per
    kind of pair, each with its 95% interval. Read each panel on its own: which kinds sit low?"""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from course.viz import PALETTE, style

    titles = {"gold": "gold score, the course's rubric (0-5)", "cosine": "model cosine"}
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(titles.values()), horizontal_spacing=0.12)
    for k, (col, color) in enumerate((("gold", PALETTE[2]), ("cosine", PALETTE[0])), start=1):
        mean, low, high = (summary[c].to_numpy() for c in (col, f"{col}_low", f"{col}_high"))
        fig.add_trace(go.Bar(name=titles[col], x=list(summary.index), y=list(mean), marker_color=color,
                             text=[f"{v:.2f}" for v in mean], textposition="inside",
                             error_y=dict(type="data", symmetric=False, array=list(high - mean),
                                          arrayminus=list(mean - low))), row=1, col=k)
    fig.update_yaxes(range=[0, 5.2], title_text="mean gold score, 95% CI", row=1, col=1)
    fig.update_yaxes(range=[0, 1.05], title_text="mean cosine, 95% CI", row=1, col=2)
    fig.update_xaxes(title_text="kind of sentence pair")
    fig.update_layout(showlegend=False)
    return style(fig, "The rubric and the model, each on its own scale: mean per kind of pair")
