"""Notebook 01 helpers: tokens, mean pooling by hand, semantic search, where a model stumbles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def tokens(model, text: str) -> list[str]:
    """The word pieces the model actually sees, [CLS] and [SEP] included."""
    ids = model.preprocess([text])["input_ids"][0]
    return model.tokenizer.convert_ids_to_tokens(ids.tolist())


def token_embeddings(model, texts: Sequence[str]):
    """One vector per token (before pooling) and the attention mask that marks real tokens.

    Returns (token_embeddings [batch, tokens, dim], attention_mask [batch, tokens]) as torch tensors.
    """
    import torch

    features = model.preprocess(list(texts))
    with torch.no_grad():
        out = model[0](dict(features))  # module 0 is the Transformer: tokens in, token vectors out
    return out["token_embeddings"], features["attention_mask"]


def mean_pool(token_embs, attention_mask):
    """Average the token vectors of each text, counting only real tokens (mask = 1), not padding."""
    mask = attention_mask.unsqueeze(-1).to(token_embs.dtype)
    return (token_embs * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def search(model, query: str, texts: Sequence[str], embeddings, k: int = 5,
           topics: Sequence[str] | None = None):
    """Top-k texts for a query by cosine similarity, as a table (rank, cosine, topic, text)."""
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


def category_gaps(model, sts):
    """Per STS category: mean model cosine vs mean human score (both on 0-1), and the pairs.

    Shows where a general model disagrees with people: negation pairs share most words, so the
    model keeps them close although their meanings clash.
    """
    import pandas as pd

    pairs = pd.DataFrame({"category": sts["category"], "sentence1": sts["sentence1"],
                          "sentence2": sts["sentence2"], "human": sts["score"],
                          "model": pair_cosines(model, sts["sentence1"], sts["sentence2"])})
    summary = pairs.groupby("category")[["human", "model"]].mean().round(3)
    summary["gap"] = (summary["model"] - summary["human"]).round(3)
    return summary.sort_values("gap", ascending=False), pairs


def gap_chart(summary):
    """Grouped bars: what people said vs what the model says, per kind of sentence pair."""
    import plotly.graph_objects as go

    from course.viz import PALETTE, style

    fig = go.Figure([go.Bar(name=col, x=list(summary.index), y=list(summary[col]),
                            text=[f"{v:.2f}" for v in summary[col]], textposition="outside",
                            marker_color=color)
                     for col, color in (("human", PALETTE[2]), ("model", PALETTE[0]))])
    fig.update_layout(barmode="group", yaxis_title="mean similarity (0-1)",
                      xaxis_title="kind of sentence pair", yaxis_range=[0, 1.1])
    return style(fig, "People vs the model: mean similarity per kind of pair")
