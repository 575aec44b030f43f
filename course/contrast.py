"""Contrastive intuition (notebook 03): "why is this a horse and not a zebra?" with an
embedding model, a 2D toy trained with a triplet loss, and easy vs hard negatives.

The concepts, feature phrases and toy items live in `course/data/concepts.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course.basics import embed
from course.datasets import DATA_DIR, DataError
from course.viz import PALETTE, style

CONCEPTS_FILE = DATA_DIR / "concepts.json"
MARGIN = 0.3  # cosine margin of the triplet loss in the "degrees of similarity" section
TEMPLATE = "a {}"
NLI_SAMPLE = {"smoke": 40, "cpu": None, "gpu": None}  # NLI triplets scored per profile (None: all)


# ---------------------------------------------------------------- data ---------------------

@dataclass(frozen=True)
class ContrastPair:
    """Two concepts, the question they answer and feature phrases a person would sort into
    shared by both, only `a`'s and only `b`'s."""

    a: str
    b: str
    question: str
    shared: tuple[str, ...]
    a_only: tuple[str, ...]
    b_only: tuple[str, ...]

    @property
    def features(self) -> list[str]:
        return [*self.shared, *self.a_only, *self.b_only]

    def expected(self, feature: str) -> str:
        """What a person expects of a feature: "shared", or the concept it belongs to."""
        if feature in self.a_only:
            return self.a
        if feature in self.b_only:
            return self.b
        return "shared"

    def expectations(self) -> dict[str, str]:
        """Every feature with what a person expects of it (for `contrast_figure`)."""
        return {f: self.expected(f) for f in self.features}


@dataclass(frozen=True)
class ConceptBook:
    """Everything notebook 03 reads from concepts.json."""

    template: str
    concepts: tuple[str, ...]
    pairs: tuple[ContrastPair, ...]
    triplet: dict = field(repr=False)  # anchor, positive, negatives
    toy: tuple[tuple[str, str], ...] = field(repr=False)  # (name, label)
    exercises: dict = field(repr=False)  # contrast, triplet and training inputs

    def pair(self, a: str, b: str) -> ContrastPair:
        """The pair (a, b) as written in the file."""
        for p in self.pairs:
            if (p.a, p.b) == (a, b):
                return p
        known = ", ".join(f"{p.a}/{p.b}" for p in self.pairs)
        raise ValueError(f"No pair {a}/{b} in concepts.json; pairs there: {known}.")


def _need(data: dict, key: str, kind: type, path: Path, where: str = ""):
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, kind) or (hasattr(value, "__len__") and not value):
        raise DataError(f"{path}: {where}{key!r} is missing, empty or not a {kind.__name__}. "
                        "See the `about` field of course/data/concepts.json for the format.")
    return value


def _texts(values: list, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise DataError(f"{path}: {where} must be a list of non-empty strings.")
    return tuple(values)


def _triplet(data: dict, key: str, path: Path, where: str = "") -> dict:
    """An {anchor, positive, negatives} entry, checked."""
    triplet = _need(data, key, dict, path, where)
    for part in ("anchor", "positive"):
        _need(triplet, part, str, path, f"{where}{key}.")
    _texts(_need(triplet, "negatives", list, path, f"{where}{key}."), path, f"{where}{key}.negatives")
    return triplet


def load_concepts(path: str | Path | None = None) -> ConceptBook:
    """Read and check concepts.json: clear DataError naming the file and field if it is off."""
    path = Path(path or CONCEPTS_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file. The course's copy is {CONCEPTS_FILE}.") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err.msg}, line {err.lineno}).") from None
    template = _need(data, "template", str, path)
    if template.count("{}") != 1:
        raise DataError(f"{path}: template {template!r} needs exactly one '{{}}' for the concept.")
    pairs = []
    for i, p in enumerate(_need(data, "pairs", list, path)):
        where = f"pairs[{i}]."
        a, b = _need(p, "a", str, path, where), _need(p, "b", str, path, where)
        pairs.append(ContrastPair(a, b, _need(p, "question", str, path, where),
                                  *(_texts(p.get(k, []), path, where + k)
                                    for k in ("shared", "a_only", "b_only"))))
    triplet = _triplet(data, "triplet", path)
    toy = []
    for i, item in enumerate(_need(data, "toy", list, path)):
        toy.append((_need(item, "name", str, path, f"toy[{i}]."),
                    _need(item, "label", str, path, f"toy[{i}].")))
    exercises = _need(data, "exercises", dict, path)
    contrast = _need(exercises, "contrast", dict, path, "exercises.")
    for key in ("a", "b", "feature"):
        _need(contrast, key, str, path, "exercises.contrast.")
    _triplet(exercises, "triplet", path, "exercises.")
    training = _need(exercises, "training", dict, path, "exercises.")
    columns = [_texts(_need(training, k, list, path, "exercises.training."), path, f"exercises.training.{k}")
               for k in ("anchor", "positive", "negative")]
    if len({len(c) for c in columns}) != 1:
        raise DataError(f"{path}: exercises.training needs as many anchors as positives and negatives.")
    return ConceptBook(template, _texts(_need(data, "concepts", list, path), path, "concepts"),
                       tuple(pairs), triplet, tuple(toy), exercises)


# ------------------------------------------------------ similarities -----------------------

def _clean(items: Sequence[str], what: str) -> list[str]:
    if isinstance(items, str):
        items = [items]
    out = [s.strip() for s in items if isinstance(s, str) and s.strip()]
    if not out:
        raise ValueError(f"No {what} given: pass at least one non-empty text.")
    return out


def encode(model, texts: Sequence[str], template: str = "{}") -> np.ndarray:
    """Unit-length embeddings of the texts, each put through `template` first."""
    texts = [template.format(t) for t in _clean(texts, "texts")]
    return embed(model, texts)


def similarities(model, anchor: str, candidates: Sequence[str],
                 template: str = TEMPLATE) -> dict[str, float]:
    """Cosine similarity of one anchor concept with each candidate, most similar first."""
    candidates = _clean(candidates, "candidates")
    a = encode(model, [anchor], template)[0]
    sims = encode(model, candidates, template) @ a
    order = np.argsort(-sims, kind="stable")
    return {candidates[i]: float(sims[i]) for i in order}


# ------------------------------------------------ contrastive explanation ------------------

def contrast_features(model, a: str, b: str, features: Sequence[str],
                      template: str = TEMPLATE):
    """Score each feature phrase against two concepts: contrast = cos(feature, a) -
    cos(feature, b). Sorted by |contrast|: the features that best separate a from b first."""
    import pandas as pd

    a, b = (c.strip() if isinstance(c, str) else "" for c in (a, b))
    if not a or not b:
        raise ValueError("Both concepts need a name, e.g. contrast_features(model, 'horse', 'zebra', ...).")
    if a.lower() == b.lower():
        raise ValueError(f"Both concepts are {a!r}: pick two different ones to contrast.")
    features = list(dict.fromkeys(_clean(features, "features")))
    concepts = encode(model, [a, b], template)
    sims = encode(model, features) @ concepts.T
    table = pd.DataFrame({"feature": features, f"cos {a}": sims[:, 0], f"cos {b}": sims[:, 1],
                          "contrast": sims[:, 0] - sims[:, 1]})
    order = np.argsort(-np.abs(table["contrast"].to_numpy()), kind="stable")
    return table.iloc[order].reset_index(drop=True).round(3)


# One meaning per colour in every chart of notebook 03 (each chart has a legend).
COLORS = {
    "a": PALETTE[0],  # a person says: only concept A has it
    "b": PALETTE[1],  # a person says: only concept B has it
    "shared": PALETTE[7],  # a person says: both have it, so it should explain nothing
    "unlabelled": PALETTE[9],  # your own feature, nobody labelled it
    "teaches": PALETTE[3],  # triplet loss > 0: this negative still changes the model
    "solved": PALETTE[4],  # triplet loss = 0: already a margin away, teaches nothing
}


def contrast_figure(table, a: str, b: str, expected: dict[str, str] | None = None):
    """Horizontal bars of the model's contrast: right of zero the feature points to `a`, left to
    `b`; the top bar separates them best. The colour is what a person says (`expected`: feature
    -> a, b or "shared"), with a legend; without `expected` every bar is "your feature"."""
    import plotly.graph_objects as go

    t = table.iloc[::-1]  # plotly draws the first row at the bottom
    said = {f: (expected or {}).get(f) for f in t["feature"]}
    groups = ([(a, "a", f"a person: only {a}"), (b, "b", f"a person: only {b}"),
               ("shared", "shared", "a person: both (explains nothing)")] if expected
              else [(None, "unlabelled", "your feature")])
    fig = go.Figure()
    for label, color, name in groups:
        rows = t[[said[f] == label for f in t["feature"]]]
        fig.add_trace(go.Bar(x=rows["contrast"], y=rows["feature"], orientation="h", name=name,
                             marker_color=COLORS[color], text=[f"{v:+.2f}" for v in rows["contrast"]],
                             textposition="outside",
                             hovertemplate="%{y}: contrast %{x:+.3f}<extra>" + name + "</extra>"))
    lim = max(0.05, float(np.abs(t["contrast"]).max())) * 1.3
    fig.update_xaxes(range=[-lim, lim], zeroline=True, zerolinewidth=2, zerolinecolor="#444",
                     title=f"← points to {b}   |   points to {a} →   (model: cos(feature, {a}) − cos(feature, {b}))")
    fig.update_yaxes(categoryorder="array", categoryarray=list(t["feature"]))
    fig.update_layout(legend=dict(title="colour"), barmode="overlay")
    return style(fig, f"Why {a} and not {b}?", height=max(380, 90 + 38 * len(t)))


def verdicts(table, pair: ContrastPair):
    """Each feature a person calls a real difference, with the model's contrast and whether the
    model sees it: on the right side AND larger than the typical (median |contrast|) shared
    feature. Returns (DataFrame feature, concept, contrast, seen; typical shared |contrast|)."""
    import pandas as pd

    contrast = dict(zip(table["feature"], table["contrast"], strict=True))
    shared = [abs(contrast[f]) for f in pair.shared if f in contrast]
    typical = float(np.median(shared)) if shared else 0.0
    rows = [{"feature": f, "concept": owner, "contrast": contrast[f],
             "seen": bool(np.sign(contrast[f]) == sign and abs(contrast[f]) > typical)}
            for owner, sign, feats in ((pair.a, 1, pair.a_only), (pair.b, -1, pair.b_only))
            for f in feats if f in contrast]
    return pd.DataFrame(rows), typical


def surprises(table, pair: ContrastPair) -> list[str]:
    """Where the model disagrees with a person: a shared feature that separates the pair at
    least half as well as the best real difference, or a real difference that the model
    barely sees (below the typical shared feature) or puts on the wrong side."""
    real, typical = verdicts(table, pair)
    contrast = dict(zip(table["feature"], table["contrast"], strict=True))
    best = float(real["contrast"].abs().max()) if len(real) else 0.0
    out = []
    for f in (f for f in pair.shared if f in contrast):
        if best and abs(contrast[f]) > best / 2:
            side = pair.a if contrast[f] > 0 else pair.b
            out.append(f"'{f}' belongs to both, yet the model ties it to {side} "
                       f"(contrast {contrast[f]:+.3f}; the best real difference scores {best:.3f}).")
    for r in real.itertuples():
        if np.sign(r.contrast) != (1 if r.concept == pair.a else -1):
            out.append(f"'{r.feature}' belongs to {r.concept}, but the model leans the other way "
                       f"(contrast {r.contrast:+.3f}).")
        elif not r.seen:
            out.append(f"'{r.feature}' is a real difference, but the model barely sees it (contrast "
                       f"{r.contrast:+.3f}, less than the typical shared feature, {typical:.3f}).")
    return out


def parse_features(text: str | Sequence[str]) -> list[str]:
    """Feature phrases from a comma- or newline-separated string (or a list), blanks dropped."""
    items = re.split(r"[,\n;]", text) if isinstance(text, str) else list(text)
    return [s.strip() for s in items if isinstance(s, str) and s.strip()]


class Notice(str):
    """A message that a notebook prints plainly (no quotes), e.g. for empty widget input."""

    def _ipython_display_(self) -> None:
        print(self)


def render_contrast(model, a: str, b: str, features: str | Sequence[str],
                    template: str = TEMPLATE):
    """What the contrast widget shows: the bar chart for any two concepts and features, or a
    friendly Notice when the input cannot be scored. The widget callback calls only this."""
    feats = parse_features(features)
    if not feats:
        return Notice("✏️  Type some feature phrases, separated by commas (e.g. 'stripes, a mane').")
    try:
        table = contrast_features(model, a, b, feats, template)
    except ValueError as err:
        return Notice(f"✏️  {err}")
    return contrast_figure(table, a.strip(), b.strip())


# ----------------------------------------------- degrees of similarity ---------------------

def triplet_table(model, anchor: str, positive: str, negatives: Sequence[str],
                  margin: float = MARGIN, template: str = TEMPLATE):
    """For each negative: cos(anchor, positive), cos(anchor, negative), the gap between them
    and the triplet loss max(0, margin - gap). Hardest negative (highest cosine) first."""
    import pandas as pd

    sims = similarities(model, anchor, [positive, *negatives], template)
    pos = sims.pop(positive)
    rows = [{"negative": n, "cos(anchor, positive)": pos, "cos(anchor, negative)": s,
             "gap": pos - s, "triplet loss": max(0.0, margin - (pos - s))}
            for n, s in sims.items()]
    return pd.DataFrame(rows).round(3)


def _loss_colors(losses) -> list[tuple[str, str]]:
    return [("teaches", "loss > 0: still teaches") if v > 0 else ("solved", "loss = 0: teaches nothing")
            for v in losses]


def degrees_figure(table, anchor: str, positive: str, margin: float = MARGIN):
    """Bars of cos(anchor, negative) with the positive's cosine and the margin line: negatives
    right of the dashed line still produce a loss (they teach), the rest produce none."""
    import plotly.graph_objects as go

    pos = float(table["cos(anchor, positive)"].iloc[0])
    t = table.iloc[::-1]
    kinds = _loss_colors(t["triplet loss"])
    fig = go.Figure()
    for key, name in dict(kinds).items():
        rows = t[[k == key for k, _ in kinds]]
        fig.add_trace(go.Bar(x=rows["cos(anchor, negative)"], y=rows["negative"], orientation="h",
                             marker_color=COLORS[key], name=name,
                             text=[f"{v:.2f}" for v in rows["cos(anchor, negative)"]],
                             textposition="outside", hovertemplate="%{y}: cos %{x:.3f}<extra></extra>"))
    fig.add_vline(x=pos, line=dict(color="#222", width=3),
                  annotation_text=f"positive '{positive}' {pos:.2f}", annotation_position="top")
    fig.add_vline(x=pos - margin, line=dict(color=COLORS["teaches"], width=2, dash="dash"),
                  annotation_text=f"positive − margin ({margin})", annotation_position="bottom")
    fig.update_xaxes(range=[0, 1.05], title=f"cosine similarity to '{anchor}'")
    fig.update_yaxes(categoryorder="array", categoryarray=list(t["negative"]))
    fig.update_layout(legend=dict(title="negative"), barmode="overlay")
    return style(fig, f"Degrees of similarity to '{anchor}': which negatives still teach?",
                 height=max(400, 120 + 40 * len(t)))


def loss_figure(losses, title: str = "Triplet loss of each NLI triplet"):
    """Histogram of per-triplet losses, split into those that still teach (loss > 0) and those
    that teach nothing (loss = 0), in the colours of the degrees-of-similarity chart."""
    import plotly.graph_objects as go

    losses = np.asarray(losses, dtype=float)
    fig = go.Figure()
    for key, name in (("teaches", "loss > 0: still teaches"), ("solved", "loss = 0: teaches nothing")):
        part = losses[losses > 0] if key == "teaches" else losses[losses == 0]
        fig.add_trace(go.Histogram(x=part, name=f"{name} ({len(part)})", marker_color=COLORS[key],
                                   xbins=dict(start=0, end=max(1.0, float(losses.max()) + 0.05), size=0.05)))
    fig.update_layout(barmode="stack", legend=dict(title="triplets"), bargap=0.05)
    fig.update_xaxes(title="triplet loss = max(0, margin − (cos(anchor, positive) − cos(anchor, negative)))")
    fig.update_yaxes(title="number of triplets")
    return style(fig, title)


# -------------------------------------------------------- toy training ---------------------

@dataclass
class ToyRun:
    """Positions of the toy items over training: frames[i] is (n_items, 2) after steps[i]."""

    names: list[str]
    labels: list[str]
    frames: np.ndarray  # (n_frames, n_items, 2)
    steps: list[int]
    losses: list[float]


def toy_start(n_items: int, seed: int = 0) -> np.ndarray:
    """Starting positions of an untrained encoder: random 2D points (standard normal)."""
    return np.random.default_rng(seed).standard_normal((n_items, 2)).astype(np.float32)


def triplet_loss_2d(xy, labels: Sequence[str], margin: float = 1.0):
    """Batch-all triplet loss on 2D points: mean of max(0, d(a,p) - d(a,n) + margin) over
    every (anchor, positive, negative) the labels allow (torch tensors in and out)."""
    import torch

    lab = np.asarray(labels)
    same = torch.as_tensor(lab[:, None] == lab[None, :])
    pos_mask = same & ~torch.eye(len(lab), dtype=torch.bool)
    neg_mask = ~same
    if not pos_mask.any() or not neg_mask.any():
        raise ValueError("The toy needs at least two items with the same label and two labels.")
    d = torch.cdist(xy, xy)
    # (anchor, positive, negative) cube of margin violations
    viol = d[:, :, None] - d[:, None, :] + margin
    valid = pos_mask[:, :, None] & neg_mask[:, None, :]
    return torch.relu(viol)[valid].mean()


def train_toy(start: np.ndarray, labels: Sequence[str], names: Sequence[str] | None = None,
              steps: int = 60, frames: int = 31, margin: float = 1.0, lr: float = 0.05,
              seed: int = 0) -> ToyRun:
    """Move free 2D points with the triplet loss (plain torch, Adam) and record `frames`
    snapshots: positives get pulled together, negatives pushed at least `margin` apart."""
    import torch

    start = np.asarray(start, dtype=np.float32)
    if start.ndim != 2 or start.shape[1] != 2 or len(start) != len(labels):
        raise ValueError(f"start must be (n_items, 2) with one label per item; got {start.shape} "
                         f"and {len(labels)} labels.")
    torch.manual_seed(seed)
    xy = torch.nn.Parameter(torch.tensor(start))
    opt = torch.optim.Adam([xy], lr=lr)
    keep = set(np.linspace(0, steps, max(2, frames)).round().astype(int).tolist())
    snaps, at, losses = [], [], []
    for step in range(steps + 1):
        loss = triplet_loss_2d(xy, labels, margin)
        if step in keep:
            snaps.append(xy.detach().numpy().copy())
            at.append(step)
            losses.append(loss.item())
        if step < steps:
            opt.zero_grad()
            loss.backward()
            opt.step()
    names = list(names) if names is not None else [str(i) for i in range(len(labels))]
    return ToyRun(names, list(labels), np.stack(snaps), at, losses)


def min_triplet_gap(xy: np.ndarray, labels: Sequence[str]) -> float:
    """The smallest d(anchor, negative) - d(anchor, positive) over every valid triplet of 2D points
    (Euclidean d): when it is at least the margin, every triplet loss is zero."""
    lab = np.asarray(labels)
    d = np.linalg.norm(np.asarray(xy)[:, None] - np.asarray(xy)[None, :], axis=-1)
    same = lab[:, None] == lab[None, :]
    pos = same & ~np.eye(len(lab), dtype=bool)
    if not pos.any() or same.all():
        raise ValueError("min_triplet_gap needs at least two items with the same label and two labels.")
    gaps = d[:, None, :] - d[:, :, None]  # [anchor, positive, negative]: d(a, n) - d(a, p)
    return float(gaps[pos[:, :, None] & ~same[:, None, :]].min())


def spread(xy: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Mean distance within labels and between labels, and their ratio (lower = cleaner)."""
    lab = np.asarray(labels)
    d = np.linalg.norm(xy[:, None] - xy[None, :], axis=-1)
    same = lab[:, None] == lab[None, :]
    off = ~np.eye(len(lab), dtype=bool)
    within, between = float(d[same & off].mean()), float(d[~same].mean())
    return {"within": within, "between": between, "ratio": within / between}


def _toy_traces(run: ToyRun, i: int) -> list:
    import plotly.graph_objects as go

    xy, lab = run.frames[i], np.asarray(run.labels)
    colors = {t: PALETTE[k % len(PALETTE)] for k, t in enumerate(dict.fromkeys(run.labels))}
    traces = []
    for label, color in colors.items():
        idx = np.flatnonzero(lab == label)
        traces.append(go.Scatter(x=xy[idx, 0], y=xy[idx, 1], mode="markers+text", name=label,
                                 text=[run.names[j] for j in idx], textposition="top center",
                                 marker=dict(size=16, color=color,
                                             line=dict(width=1, color="white")),
                                 hovertemplate="%{text}<extra>" + label + "</extra>"))
    return traces


def toy_animation(run: ToyRun, title: str = "Contrastive learning in motion (triplet loss)"):
    """Plotly animation of the toy training: a slider over steps and a play button; works in
    static HTML and Colab without a kernel."""
    import plotly.graph_objects as go

    lo, hi = run.frames.min(axis=(0, 1)), run.frames.max(axis=(0, 1))
    pad = 0.1 * (hi - lo) + 0.3  # room for the text labels, fixed for every frame
    lo, hi = lo - pad, hi + pad

    def label(i: int) -> str:
        return f"step {run.steps[i]}, loss {run.losses[i]:.3f}"

    frames = [go.Frame(data=_toy_traces(run, i), name=str(run.steps[i]),
                       layout=dict(title_text=f"{title}: {label(i)}"))
              for i in range(len(run.steps))]
    fig = go.Figure(data=_toy_traces(run, 0), frames=frames)
    play = dict(label="▶ play", method="animate",
                args=[None, dict(frame=dict(duration=120, redraw=True), fromcurrent=True,
                                 transition=dict(duration=0))])
    pause = dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    fig.update_layout(
        updatemenus=[dict(type="buttons", buttons=[play, pause], x=0.0, y=-0.08,
                          xanchor="left", yanchor="top", direction="left")],
        sliders=[dict(active=0, x=0.2, len=0.8, y=-0.05, currentvalue=dict(prefix="step "),
                      steps=[dict(label=str(s), method="animate",
                                  args=[[str(s)], dict(mode="immediate",
                                                       frame=dict(duration=0, redraw=True),
                                                       transition=dict(duration=0))])
                             for s in run.steps])],
        legend=dict(title="label", itemsizing="constant"))
    fig.update_xaxes(range=[lo[0], hi[0]], showticklabels=False, zeroline=False)
    fig.update_yaxes(range=[lo[1], hi[1]], showticklabels=False, zeroline=False)
    return style(fig, f"{title}: {label(0)}", height=640)
