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

# UMAP sizes per profile: smoke runs fewer epochs and seeds, but the same code path (fit + transform).
# n_seeds: how many random_states a comparison of settings runs (one map is one draw).
PRESETS = {
    "smoke": dict(n_neighbors=10, n_epochs=60, n_seeds=2),
    "cpu": dict(n_neighbors=15, n_epochs=300, n_seeds=5),
    "gpu": dict(n_neighbors=15, n_epochs=500, n_seeds=5),
}
K = 5  # neighbours listed for a new sentence, in the landing table and the bridge exercise
STAR_COLOR = "#111111"


def wrap(text: str, width: int = 60) -> str:
    """Hover text: the sentence broken with <br> about every `width` characters."""
    return "<br>".join(textwrap.wrap(text, width)) or text


@dataclass
class SemanticMap:
    """The corpus embedded once, with its fitted UMAP and PCA, reused by every later cell."""

    texts: list[str]
    topics: list[str]
    embeddings: np.ndarray  # (n, d), unit length
    umap: Any  # a fitted umap.UMAP: embedding_ holds the layout, transform places new sentences
    pca: Any  # a fitted sklearn PCA
    xy_umap: np.ndarray = field(init=False, repr=False)  # (n, 2)
    xy_pca: np.ndarray = field(init=False, repr=False)  # (n, 2)

    def __post_init__(self) -> None:
        self.texts, self.topics = list(self.texts), list(self.topics)
        self.embeddings = np.asarray(self.embeddings, dtype=np.float32)
        if not len(self.texts) == len(self.topics) == len(self.embeddings):
            raise ValueError(f"SemanticMap got {len(self.texts)} texts, {len(self.topics)} topics and "
                             f"{len(self.embeddings)} embeddings: pass one topic and one vector per text.")
        self.xy_umap = np.asarray(self.umap.embedding_)
        if self.xy_umap.shape != (len(self.texts), 2):
            raise ValueError(f"The UMAP layout is {self.xy_umap.shape}, not ({len(self.texts)}, 2): "
                             "fit UMAP (n_components=2) on these embeddings.")
        self.xy_pca = self.pca.transform(self.embeddings)

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


VIEWS = {"umap": "UMAP (cosine): keeps neighbourhoods", "pca": "PCA: keeps {:.0%} of the variance"}
HOVER = {"sentence": True, "x": False, "y": False}


def points_frame(smap: SemanticMap, methods: Sequence[str] = ("umap",)):
    """One row per sentence and view: x, y, topic, the sentence wrapped for hovering, the view."""
    import pandas as pd

    var = smap.pca.explained_variance_ratio_.sum()
    frames = [pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "topic": smap.topics,
                            "sentence": [wrap(t) for t in smap.texts],
                            "view": VIEWS[m].format(var)})
              for m in methods for xy in [smap.layout(m)]]
    return pd.concat(frames, ignore_index=True)


def style_map(fig, title: str | None = None, height: int = 620):
    """The course look for a map: larger dots with a white rim, no tick labels (the 2D axes
    have no meaning of their own), a topic legend with full-size markers."""
    fig.update_traces(marker=dict(size=9, opacity=0.85, line=dict(width=0.5, color="white")),
                      selector=dict(mode="markers"))
    fig.update_xaxes(showticklabels=False, title="")
    fig.update_yaxes(showticklabels=False, title="")
    fig.update_layout(legend=dict(title="topic", itemsizing="constant"))
    return style(fig, title or fig.layout.title.text, height=height)


def _star(xy: np.ndarray, sentence: str):
    import plotly.graph_objects as go

    return go.Scatter(x=[xy[0]], y=[xy[1]], mode="markers", name="your sentence",
                      marker=dict(symbol="star", size=24, color="gold",
                                  line=dict(width=2, color=STAR_COLOR)),
                      text=[wrap(sentence)], hovertemplate="<b>your sentence</b><br>%{text}"
                      "<extra></extra>")


def map_figure(smap: SemanticMap, method: str = "umap", title: str | None = None,
               highlight: tuple[np.ndarray, str] | None = None):
    """The notebook's `px.scatter` of the corpus in 2D, one colour per topic, the sentence on
    hover; `highlight` (xy, sentence) adds a large star."""
    import plotly.express as px

    fig = px.scatter(points_frame(smap, [method]), x="x", y="y", color="topic", hover_data=HOVER,
                     color_discrete_sequence=PALETTE)
    default = f"The course corpus in 2D ({method.upper()}, {len(smap.texts)} sentences)"
    style_map(fig, title or default)
    if highlight is not None:  # after styling, which would shrink the star to a dot
        fig.add_trace(_star(np.asarray(highlight[0]), highlight[1]))
    return fig


def compare_figure(smap: SemanticMap, title: str = "Same embeddings, two 2D views"):
    """UMAP and PCA side by side, sharing one legend (click a topic to hide it in both)."""
    import plotly.express as px

    fig = px.scatter(points_frame(smap, ["umap", "pca"]), x="x", y="y", color="topic",
                     facet_col="view", hover_data={**HOVER, "view": False},
                     color_discrete_sequence=PALETTE, facet_col_spacing=0.04)
    fig.update_xaxes(matches=None)  # each view keeps its own scale
    fig.update_yaxes(matches=None)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    return style_map(fig, title, height=600)


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


def locate(smap: SemanticMap, model, sentence: str, k: int = K) -> Landing:
    """The notebook's "place a new sentence" calls: embed it, `umap.transform` it onto the fitted
    map, list its k nearest neighbours (cosine, full space). Empty input gives a friendly message."""
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


def render_landing(smap: SemanticMap, model, sentence: str, k: int = K) -> Landing:
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


def purity_per_point(points: np.ndarray, topics: Sequence[str], k: int = 10,
                     metric: str = "euclidean") -> np.ndarray:
    """For each point, the share of its k nearest neighbours that have the point's own topic."""
    labels = np.asarray(topics)
    idx = knn_indices(points, k, metric)
    return (labels[idx] == labels[:, None]).mean(axis=1)


def neighbour_purity(points: np.ndarray, topics: Sequence[str], k: int = 10,
                     metric: str = "euclidean") -> float:
    """Mean share of each point's k nearest neighbours that have the point's own topic."""
    return float(purity_per_point(points, topics, k, metric).mean())


def neighbour_overlap(full: np.ndarray, flat: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's k true (cosine, full-space) neighbours that are also among
    its k nearest on the 2D map: 1.0 means the map keeps every neighbourhood."""
    a, b = knn_indices(full, k, "cosine"), knn_indices(flat, k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def what_2d_hides(smap: SemanticMap, k: int = 10):
    """Full space vs UMAP vs PCA, side by side: topic purity of the k nearest neighbours and how
    many true neighbours stay neighbours on the map."""
    import pandas as pd

    views = {f"full {smap.embeddings.shape[1]}-d (cosine)": (smap.embeddings, "cosine"),
             "UMAP 2D": (smap.xy_umap, "euclidean"), "PCA 2D": (smap.xy_pca, "euclidean")}
    rows = []
    for name, (points, metric) in views.items():
        rows.append({"space": name,
                     f"purity@{k}": neighbour_purity(points, smap.topics, k, metric),
                     f"true neighbours kept@{k}": neighbour_overlap(smap.embeddings, points, k)})
    return pd.DataFrame(rows).set_index("space").round(3)


def topic_centroids(embeddings: np.ndarray, topics: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Topic names (order of first appearance) and the mean vector of each topic's rows."""
    labels = np.asarray(topics)
    names = list(dict.fromkeys(topics))
    return names, np.stack([np.asarray(embeddings)[labels == t].mean(axis=0) for t in names])


def island_agreement(embeddings: np.ndarray, topics: Sequence[str], xy: np.ndarray) -> float:
    """Do the gaps between islands on a 2D map follow how similar the topics really are?
    Spearman correlation, over all pairs of topics, of the full-space cosine of the topic
    centroids with minus the distance of their 2D centres (1 = same order, 0 = unrelated)."""
    from scipy.stats import spearmanr

    names, full = topic_centroids(embeddings, topics)
    _, flat = topic_centroids(xy, topics)
    unit = full / np.linalg.norm(full, axis=1, keepdims=True)
    i, j = np.triu_indices(len(names), k=1)
    cos = np.sum(unit[i] * unit[j], axis=1)
    dist = np.linalg.norm(flat[i] - flat[j], axis=1)
    return float(spearmanr(cos, -dist).statistic)


def refit(smap: SemanticMap, seeds: Sequence[int], **params: Any) -> list[Any]:
    """The map's own UMAP with `params` changed, fitted once per seed on the map's embeddings.

    A check cell uses it to guard a claim about a setting without the learner's (or the
    solution's) reducers: a student copy has no solution cells to define them."""
    from sklearn.base import clone

    return [clone(smap.umap).set_params(random_state=seed, **params).fit(smap.embeddings)
            for seed in seeds]


def seed_comparison(smap: SemanticMap, reducers: Sequence[Any], k: int = 10):
    """Fitted UMAP reducers (one per seed) against the map's own UMAP refitted with the same seeds:
    per seed, the true neighbours kept@k and the island agreement of both. One row per seed."""
    import pandas as pd
    from sklearn.base import clone

    rows = []
    for reducer in reducers:
        seed = reducer.random_state
        baseline = clone(smap.umap).set_params(random_state=seed).fit(smap.embeddings).embedding_
        row = {"seed": seed}
        for who, xy in (("yours", reducer.embedding_), ("map above", baseline)):
            row[f"kept@{k} ({who})"] = neighbour_overlap(smap.embeddings, xy, k)
            row[f"island agreement ({who})"] = island_agreement(smap.embeddings, smap.topics, xy)
        rows.append(row)
    return pd.DataFrame(rows).set_index("seed").round(3)


def compare_ranges(yours: Sequence[float], theirs: Sequence[float]) -> str:
    """How two ranges over seeds compare: higher or lower in every seed, or overlapping."""
    if max(yours) < min(theirs):
        return "lower in every seed (the ranges do not overlap)"
    if min(yours) > max(theirs):
        return "higher in every seed (the ranges do not overlap)"
    return "the ranges overlap: the seed moves it as much as n_neighbors does"
