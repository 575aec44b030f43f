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


def category_gaps(pairs):
    """Per STS category: mean human score and mean model cosine (both 0-1), their 95% bootstrap
    intervals, the gap model - human and the number of pairs; largest gap first.

    `pairs` is a DataFrame with columns category, human and model (one row per sentence pair).
    """
    import pandas as pd

    from course.stats import bootstrap_ci

    missing = {"category", "human", "model"} - set(pairs.columns)
    if missing:
        raise ValueError(f"category_gaps needs the columns {sorted(missing)}; add them to the pairs table.")
    rows = {}
    for category, group in pairs.groupby("category"):
        row = {"n": len(group)}
        for col in ("human", "model"):
            row[col] = group[col].mean()
            row[f"{col}_low"], row[f"{col}_high"] = bootstrap_ci(group[col].to_numpy())
        row["gap"] = row["model"] - row["human"]
        rows[category] = row
    return pd.DataFrame.from_dict(rows, orient="index").sort_values("gap", ascending=False).round(3)


def gap_chart(summary):
    """Grouped bars with 95% intervals: what people said vs what the model says, per kind of pair."""
    import plotly.graph_objects as go

    from course.viz import PALETTE, style

    bars = []
    for col, color in (("human", PALETTE[2]), ("model", PALETTE[0])):
        mean, low, high = (summary[c].to_numpy() for c in (col, f"{col}_low", f"{col}_high"))
        bars.append(go.Bar(name=col, x=list(summary.index), y=list(mean), marker_color=color,
                           text=[f"{v:.2f}" for v in mean], textposition="inside",
                           error_y=dict(type="data", symmetric=False, array=list(high - mean),
                                        arrayminus=list(mean - low))))
    fig = go.Figure(bars)
    fig.update_layout(barmode="group", yaxis_title="mean similarity (0-1), 95% CI",
                      xaxis_title="kind of sentence pair", yaxis_range=[0, 1.1],
                      legend=dict(title="who scores"))
    return style(fig, "People vs the model: mean similarity per kind of pair")
