"""The semantic map of notebook 02: embed the course corpus once, draw it in 2D (UMAP and PCA),
place a new sentence on the map and measure what the 2D picture hides.

UMAP is imported inside the functions that need it: its import and first fit compile numba code
(about 20 s the first time in a process), and nothing else in the course should pay for that.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course.basics import embed
from course.viz import PALETTE, style

# UMAP sizes per profile: smoke runs fewer epochs, but the same code path (fit + transform).
PRESETS = {
    "smoke": dict(n_neighbors=10, n_epochs=60, min_dist=0.1),
    "cpu": dict(n_neighbors=15, n_epochs=300, min_dist=0.1),
    "gpu": dict(n_neighbors=15, n_epochs=500, min_dist=0.1),
}
STAR_COLOR = "#111111"


def wrap(text: str, width: int = 60) -> str:
    """Hover text: the sentence broken with <br> about every `width` characters."""
    return "<br>".join(textwrap.wrap(text, width)) or text


def fit_umap(embeddings: np.ndarray, n_neighbors: int = 15, n_epochs: int | None = None,
             min_dist: float = 0.1, seed: int = 0):
    """A fitted UMAP (cosine metric, fixed seed) whose `transform` places new sentences.

    One throw-away `transform` at the end compiles the search code, so the learner's first
    "where does my sentence land?" returns at once instead of after seconds of JIT.
    """
    import warnings

    import umap

    with warnings.catch_warnings():  # "n_jobs overridden by random_state": expected, we want determinism
        warnings.simplefilter("ignore", UserWarning)
        reducer = umap.UMAP(n_components=2, metric="cosine", n_neighbors=n_neighbors,
                            n_epochs=n_epochs, min_dist=min_dist, random_state=seed)
        reducer.fit(embeddings)
        reducer.transform(embeddings[:1])
    return reducer


def fit_pca(embeddings: np.ndarray, seed: int = 0):
    """A fitted 2-component PCA: the linear view that keeps the largest variance directions."""
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit(embeddings)


@dataclass
class SemanticMap:
    """The corpus embedded once, with its UMAP and PCA layouts, reused by every cell."""

    texts: list[str]
    topics: list[str]
    embeddings: np.ndarray  # (n, d), unit length
    umap: Any
    pca: Any
    xy_umap: np.ndarray = field(repr=False)  # (n, 2)
    xy_pca: np.ndarray = field(repr=False)  # (n, 2)

    @property
    def topic_names(self) -> list[str]:
        """Topics in order of first appearance (the colour order of every plot)."""
        return list(dict.fromkeys(self.topics))

    def layout(self, method: str) -> np.ndarray:
        """The 2D coordinates of one method: "umap" or "pca"."""
        layouts = {"umap": self.xy_umap, "pca": self.xy_pca}
        if method not in layouts:
            raise ValueError(f"Unknown layout {method!r}: use 'umap' or 'pca'.")
        return layouts[method]


def build_map(model, texts: Sequence[str], topics: Sequence[str], n_neighbors: int = 15,
              n_epochs: int | None = None, min_dist: float = 0.1, seed: int = 0,
              batch_size: int = 64) -> SemanticMap:
    """Embed the texts once and fit both 2D layouts (UMAP with cosine metric, and PCA)."""
    texts, topics = list(texts), list(topics)
    if len(texts) != len(topics):
        raise ValueError(f"build_map got {len(texts)} texts but {len(topics)} topics: "
                         "pass one topic per text.")
    if len(texts) <= n_neighbors:
        raise ValueError(f"build_map needs more texts ({len(texts)}) than n_neighbors "
                         f"({n_neighbors}): add texts or lower n_neighbors.")
    emb = embed(model, texts, batch_size)
    reducer = fit_umap(emb, n_neighbors=n_neighbors, n_epochs=n_epochs, min_dist=min_dist,
                       seed=seed)
    pca = fit_pca(emb, seed)
    return SemanticMap(texts, topics, emb, reducer, pca, np.asarray(reducer.embedding_),
                       pca.transform(emb))


def topic_colors(topics: Sequence[str]) -> dict[str, str]:
    """A fixed colour per topic from the course palette (same topic, same colour everywhere)."""
    names = list(dict.fromkeys(topics))
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(names)}


def _topic_traces(xy: np.ndarray, topics: Sequence[str], texts: Sequence[str],
                  show_legend: bool = True) -> list:
    import plotly.graph_objects as go

    colors = topic_colors(topics)
    topics_arr = np.asarray(topics)
    traces = []
    for topic, color in colors.items():
        idx = np.flatnonzero(topics_arr == topic)
        traces.append(go.Scatter(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=topic, legendgroup=topic,
            showlegend=show_legend,
            marker=dict(size=9, color=color, opacity=0.85, line=dict(width=0.5, color="white")),
            text=[wrap(texts[i]) for i in idx],
            hovertemplate=f"<b>{topic}</b><br>%{{text}}<extra></extra>"))
    return traces


def _star(xy: np.ndarray, sentence: str):
    import plotly.graph_objects as go

    return go.Scatter(x=[xy[0]], y=[xy[1]], mode="markers", name="your sentence",
                      marker=dict(symbol="star", size=24, color="gold",
                                  line=dict(width=2, color=STAR_COLOR)),
                      text=[wrap(sentence)], hovertemplate="<b>your sentence</b><br>%{text}"
                      "<extra></extra>")


def map_figure(smap: SemanticMap, method: str = "umap", title: str | None = None,
               highlight: tuple[np.ndarray, str] | None = None):
    """Scatter of the corpus in 2D, one colour per topic, the sentence on hover; `highlight`
    (xy, sentence) adds a large star."""
    import plotly.graph_objects as go

    fig = go.Figure(_topic_traces(smap.layout(method), smap.topics, smap.texts))
    if highlight is not None:
        fig.add_trace(_star(np.asarray(highlight[0]), highlight[1]))
    fig.update_xaxes(showticklabels=False, title=f"{method.upper()} 1")
    fig.update_yaxes(showticklabels=False, title=f"{method.upper()} 2")
    fig.update_layout(legend=dict(title="topic", itemsizing="constant", font=dict(size=16)))
    default = f"The course corpus in 2D ({method.upper()}, {len(smap.texts)} sentences)"
    return style(fig, title or default, height=620)


def compare_figure(smap: SemanticMap, title: str = "Same embeddings, two 2D views"):
    """UMAP and PCA side by side, sharing one legend (click a topic to hide it in both)."""
    from plotly.subplots import make_subplots

    pca_var = smap.pca.explained_variance_ratio_.sum()
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.04, subplot_titles=(
        "UMAP (cosine): keeps neighbourhoods", f"PCA: keeps {pca_var:.0%} of the variance"))
    for col, method in ((1, "umap"), (2, "pca")):
        for trace in _topic_traces(smap.layout(method), smap.topics, smap.texts,
                                   show_legend=col == 1):
            fig.add_trace(trace, row=1, col=col)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(legend=dict(title="topic", itemsizing="constant"))
    return style(fig, title, height=600)


def nearest(query: np.ndarray, embeddings: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of the k rows of `embeddings` closest to `query`
    (both unit length), most similar first: computed in the full space, not on the map."""
    sims = embeddings @ np.asarray(query, dtype=np.float32).ravel()
    k = min(k, len(sims))
    idx = np.argpartition(-sims, k - 1)[:k]
    idx = idx[np.argsort(-sims[idx], kind="stable")]
    return idx, sims[idx]


@dataclass
class Landing:
    """Where one sentence lands: its map position and its nearest corpus sentences.

    Displays itself in a notebook (figure, then the neighbour table), or a friendly message
    when there was nothing to place.
    """

    sentence: str
    message: str = ""
    xy: np.ndarray | None = None
    neighbours: Any = None  # pandas DataFrame: rank, cosine, topic, sentence
    figure: Any = None

    @property
    def ok(self) -> bool:
        return self.xy is not None

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if not self.ok:
            print(self.message)
            return
        display(self.figure)
        print(self.message)
        display(self.neighbours.style.hide(axis="index").format({"cosine": "{:.3f}"}))


def locate(smap: SemanticMap, model, sentence: str, k: int = 5) -> Landing:
    """Embed one sentence, place it with the fitted UMAP and list its k nearest neighbours
    (cosine, full embedding space). Empty input gives a Landing with a friendly message."""
    import pandas as pd

    if not isinstance(sentence, str) or not sentence.strip():
        return Landing(sentence=str(sentence or ""), message=(
            "✏️  Type a sentence first (the box is empty), e.g. 'My horse loves carrots.'"))
    sentence = sentence.strip()
    query = embed(model, [sentence])
    xy = smap.umap.transform(query)[0]
    idx, sims = nearest(query[0], smap.embeddings, k)
    table = pd.DataFrame({"rank": range(1, len(idx) + 1), "cosine": sims.round(3),
                          "topic": [smap.topics[i] for i in idx],
                          "sentence": [smap.texts[i] for i in idx]})
    top = table["topic"].mode().iloc[0]
    msg = (f"Nearest {len(idx)} corpus sentences (cosine in the full {smap.embeddings.shape[1]}-d "
           f"space); most of them are about: {top}")
    return Landing(sentence, msg, xy, table)


def render_landing(smap: SemanticMap, model, sentence: str, k: int = 5) -> Landing:
    """What the "where does my sentence land?" box shows: the map with a star, and the
    neighbour table; a message instead for empty input. The widget callback calls only this."""
    landing = locate(smap, model, sentence, k)
    if landing.ok:
        landing.figure = map_figure(smap, "umap", highlight=(landing.xy, landing.sentence),
                                    title=f"Where does it land? ★ = “{_short(landing.sentence)}”")
    return landing


def _short(text: str, n: int = 50) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def knn_indices(points: np.ndarray, k: int, metric: str = "euclidean") -> np.ndarray:
    """For every row, the indices of its k nearest other rows (itself excluded)."""
    from sklearn.neighbors import NearestNeighbors

    if not 0 < k < len(points):
        raise ValueError(f"k={k} must be between 1 and the number of points minus one "
                         f"({len(points) - 1}).")
    nn = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(points)
    idx = nn.kneighbors(points, return_distance=False)
    # drop each point itself (normally column 0; exact duplicates can swap places)
    return np.array([[j for j in row if j != i][:k] for i, row in enumerate(idx)])


def neighbour_purity(points: np.ndarray, topics: Sequence[str], k: int = 10,
                     metric: str = "euclidean") -> float:
    """Mean share of each point's k nearest neighbours that have the point's own topic."""
    labels = np.asarray(topics)
    idx = knn_indices(points, k, metric)
    return float((labels[idx] == labels[:, None]).mean())


def neighbour_overlap(full: np.ndarray, flat: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's k true (cosine, full-space) neighbours that are also among
    its k nearest on the 2D map: 1.0 means the map keeps every neighbourhood."""
    a, b = knn_indices(full, k, "cosine"), knn_indices(flat, k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def what_2d_hides(smap: SemanticMap, k: int = 10):
    """Full space vs UMAP vs PCA, side by side: topic purity of the k nearest neighbours,
    silhouette by topic, and how many true neighbours stay neighbours on the map."""
    import pandas as pd
    from sklearn.metrics import silhouette_score

    views = {f"full {smap.embeddings.shape[1]}-d (cosine)": (smap.embeddings, "cosine"),
             "UMAP 2D": (smap.xy_umap, "euclidean"), "PCA 2D": (smap.xy_pca, "euclidean")}
    rows = []
    for name, (points, metric) in views.items():
        rows.append({"space": name,
                     f"purity@{k}": neighbour_purity(points, smap.topics, k, metric),
                     "silhouette": float(silhouette_score(points, smap.topics, metric=metric)),
                     f"true neighbours kept@{k}": neighbour_overlap(smap.embeddings, points, k)})
    return pd.DataFrame(rows).set_index("space").round(3)
