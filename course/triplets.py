"""NLI pairs -> (anchor, positive, negative) triplets: entailment is the positive,
contradiction the hard negative.

Notebook 05 builds the triplets, compares three kinds of negatives (random, contradiction,
model-mined), browses them and saves them where notebook 06 trains on them:

    triplets, report = mine_triplets(course.load_nli(split="train"))
    save_triplets(triplets, default_triplets_path())

Your own NLI file (CSV or JSONL with premise / hypothesis / label) goes through
`triplets_from_file`, which checks every row and names the file, line and fix on bad input.
"""

from __future__ import annotations

import csv
import html
import json
import random
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course import basics
from course.datasets import NLI_LABELS, DataError, premise_id, read_csv, read_jsonl
from course.env import artifacts_dir
from course.models import fingerprint
from course.stats import Proportion, cluster_proportion

# Size knobs of this lesson, keyed by profile name: how many premises the model-based
# comparison uses (None = all). Mining from labels is cheap and always uses everything.
PRESETS = {"smoke": {"premises": 48}, "cpu": {"premises": None}, "gpu": {"premises": None}}
# The NV-Retriever paper's best setting (TopK-PercPos 95%): keep a mined negative only if it
# scores at least 5% below the positive.
FILTERS = {"relative_margin": 0.05}
TRIPLET_COLUMNS = ("anchor", "positive", "negative")
# Label values a file may use out of the box: the names, or MNLI / all-nli ids 0, 1, 2.
DEFAULT_LABELS: dict[str | int, str] = {**{n: n for n in NLI_LABELS},
                                        **dict(enumerate(NLI_LABELS))}
OTHER_PREMISE = "other premise"


# ---------------------------------------------------------------- mining from labels

@dataclass
class MiningReport:
    """What mining kept and dropped, and why: printed in notebook 05."""

    premises: int = 0
    kept_premises: int = 0
    triplets: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    per_premise: list[dict] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        why = ", ".join(f"{n} {reason}" for reason, n in self.dropped.items() if n) or "none"
        return (f"{self.premises} premises -> {self.triplets} triplets from {self.kept_premises} "
                f"premises; dropped: {why}")

    def table(self):
        """One row per premise: how many hypotheses of each label, triplets kept, and why not."""
        import pandas as pd

        return pd.DataFrame(self.per_premise)


def mine_triplets(nli, max_per_premise: int | None = 4, seed: int = 0):
    """Every (entailment, contradiction) combination of a premise becomes a triplet
    (anchor=premise, positive=entailment, negative=contradiction).

    Premises lacking either label yield nothing; repeated hypotheses count once; a hypothesis
    labelled both entailment and contradiction for one premise is dropped; at most
    `max_per_premise` triplets per premise, sampled with `seed`. Neutral pairs are not used.
    Returns (Dataset, MiningReport).
    """
    groups, anchors, counts = _group_by_premise(nli)
    rng = random.Random(seed)
    report = MiningReport(premises=len(groups), dropped={
        "without an entailment": 0, "without a contradiction": 0, "over the per-premise cap": 0,
        "neutral pairs (not used)": counts["neutral"], "repeated pairs": counts["repeated"],
        "hypotheses with conflicting labels": counts["conflicting"]})
    rows = []
    for pid in sorted(groups):
        pos, neg = groups[pid]["entailment"], groups[pid]["contradiction"]
        combos = [(p, n) for p in pos for n in neg]
        note = "kept"
        if not combos:
            note = "no entailment" if not pos else "no contradiction"
            report.dropped["without an entailment" if not pos else "without a contradiction"] += 1
        else:
            report.kept_premises += 1
            if max_per_premise is not None and len(combos) > max_per_premise:
                report.dropped["over the per-premise cap"] += len(combos) - max_per_premise
                note = f"capped {len(combos)} -> {max_per_premise}"
                combos = rng.sample(combos, max_per_premise)
        rows += [{"anchor": anchors[pid], "positive": p, "negative": n} for p, n in combos]
        report.per_premise.append({"premise": anchors[pid], "entailment": len(pos),
                                   "contradiction": len(neg), "neutral": len(groups[pid]["neutral"]),
                                   "triplets": len(combos), "note": note})
    report.triplets = len(rows)
    return _triplet_dataset(rows), report


def _group_by_premise(nli) -> tuple[dict, dict, Counter]:
    """premise id -> label -> unique hypotheses (in order), after dropping conflicts."""
    groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: {n: [] for n in NLI_LABELS})
    anchors: dict[str, str] = {}
    counts: Counter = Counter()
    for n, row in enumerate(nli, start=1):
        missing = [c for c in ("premise", "hypothesis", "label") if c not in row]
        if missing:
            raise DataError(f"NLI row {n} lacks columns {missing}; it has {sorted(row)}. Load the "
                            "data with course.load_nli or tx.read_nli_file.")
        if row["label"] not in NLI_LABELS:
            raise DataError(f"NLI row {n}: label {row['label']!r} is not one of {NLI_LABELS}. Convert "
                            "label ids with tx.standardize_nli (0/1/2 = entailment/neutral/contradiction).")
        pid = row.get("premise_id") or premise_id(row["premise"])
        anchors.setdefault(pid, row["premise"])
        bucket = groups[pid][row["label"]]
        if row["hypothesis"] in bucket:
            counts["repeated"] += 1
        else:
            bucket.append(row["hypothesis"])
        counts[row["label"]] += 1
    for labels in groups.values():
        both = set(labels["entailment"]) & set(labels["contradiction"])
        counts["conflicting"] += len(both)
        for name in ("entailment", "contradiction"):
            labels[name] = [h for h in labels[name] if h not in both]
    return groups, anchors, counts


def _triplet_dataset(rows: list[dict]):
    from datasets import Dataset

    if rows:
        return Dataset.from_list([{c: r[c] for c in TRIPLET_COLUMNS} for r in rows])
    return Dataset.from_dict({c: [] for c in TRIPLET_COLUMNS})


def split_by_anchor(triplets, test_size: float = 0.2, seed: int = 0):
    """Split triplets into (train, test) so that no anchor appears in both (no leakage)."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size={test_size} must be between 0 and 1, e.g. 0.2.")
    anchors = sorted(set(triplets["anchor"]))
    if len(anchors) < 2:
        raise ValueError(f"Only {len(anchors)} distinct anchor(s): a split by anchor needs at least 2.")
    random.Random(seed).shuffle(anchors)
    n_test = min(len(anchors) - 1, max(1, round(test_size * len(anchors))))
    test = set(anchors[:n_test])
    flags = [a in test for a in triplets["anchor"]]
    pick = lambda want: [i for i, f in enumerate(flags) if f == want]  # noqa: E731
    return triplets.select(pick(False)), triplets.select(pick(True))


def sample_premises(nli, n: int | None, seed: int = 0):
    """All rows of `n` premises drawn with `seed` (all rows if n is None): a smaller lesson."""
    ids = sorted({r.get("premise_id") or premise_id(r["premise"]) for r in nli})
    if n is None or n >= len(ids):
        return nli
    keep = set(random.Random(seed).sample(ids, n))
    return nli.filter(lambda r: (r.get("premise_id") or premise_id(r["premise"])) in keep)


# ---------------------------------------------------------------- other kinds of negatives

def distinct_pairs(triplets, one_positive: bool = False) -> list[tuple[str, str]]:
    """The distinct (anchor, positive) pairs of a triplet set, in order; with one_positive only
    the first positive of each anchor (as in data that labels one answer per query)."""
    pairs = list(dict.fromkeys((r["anchor"], r["positive"]) for r in triplets))
    if one_positive:
        first: dict[str, str] = {}
        pairs = [(a, p) for a, p in pairs if first.setdefault(a, p) == p]
    return pairs


def model_negatives(triplets, model, corpus: Sequence[str], one_positive: bool = False,
                    batch_size: int = 64, **filters):
    """Negatives mined by the model (`sentence_transformers.util.mine_hard_negatives`, top 1):
    one row per distinct (anchor, positive) pair of `triplets`, whose negative is the corpus
    text closest to the anchor that is not one of the anchor's known positives.

    `filters` go to mine_hard_negatives (range_min, range_max, max_score, relative_margin,
    absolute_margin); pairs without a candidate that passes them are dropped. With
    `one_positive=True` the miner is told only the first positive of each anchor, as in most
    real data, so other true paraphrases in the corpus can come back as "negatives".
    """
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    pairs = distinct_pairs(triplets, one_positive)
    if not pairs:
        raise ValueError("No (anchor, positive) pairs to mine negatives for: the triplets are empty.")
    mined = mine_hard_negatives(
        Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [p for _, p in pairs]}),
        model, corpus=list(corpus), num_negatives=1, sampling_strategy="top",
        output_format="triplet", batch_size=batch_size, verbose=False,
        cache_folder=str(artifacts_dir() / "cache" / "mining" / fingerprint(model)), **filters)
    return _triplet_dataset(mined.to_list())


def negative_relations(triplets, nli) -> list[str]:
    """For each triplet, what the NLI labels say its negative is to its anchor:
    'contradiction', 'neutral', 'entailment' (a false negative) or 'other premise'."""
    label = {(r["premise"], r["hypothesis"]): r["label"] for r in nli}
    return [label.get((r["anchor"], r["negative"]), OTHER_PREMISE) for r in triplets]


def relation_table(sets: Mapping[str, object], nli):
    """Counts of negative_relations for each named set of triplets (rows: kind of negative)."""
    import pandas as pd

    names = {"contradiction": "contradiction of anchor", "neutral": "neutral of anchor",
             "entailment": "entailment of anchor (false negative)", OTHER_PREMISE: OTHER_PREMISE}
    counts = {kind: Counter(negative_relations(ds, nli)) for kind, ds in sets.items()}
    return pd.DataFrame([{names[k]: c[k] for k in names} for c in counts.values()],
                        index=list(sets))


def false_negatives(raw, filtered, nli, model, relative_margin: float = FILTERS["relative_margin"]):
    """The mined "negatives" of `raw` that the labels call entailments of the anchor, with
    their cosines, whether they sit within the margin of the positive, whether `filtered` (the
    same mining with the margin filter) dropped them, and what it picked instead."""
    import pandas as pd

    scores = triplet_scores(model, raw)
    after = dict(zip(filtered["anchor"], negative_relations(filtered, nli), strict=True))
    chosen = dict(zip(filtered["anchor"], filtered["negative"], strict=True))
    rows = []
    for i, (r, rel) in enumerate(zip(raw, negative_relations(raw, nli), strict=True)):
        if rel == "entailment":
            pos, neg = float(scores.pos[i]), float(scores.neg[i])
            rows.append({"anchor": r["anchor"], "labelled positive": r["positive"],
                         "cos(a,p)": round(pos, 3), "mined 'negative'": r["negative"],
                         "cos(a,n)": round(neg, 3),
                         "within margin": neg > pos - abs(pos) * relative_margin,
                         "removed by filter": chosen.get(r["anchor"]) != r["negative"],
                         "filtered run picks": after.get(r["anchor"], "nothing")})
    columns = ["anchor", "labelled positive", "cos(a,p)", "mined 'negative'", "cos(a,n)",
               "within margin", "removed by filter", "filtered run picks"]
    return pd.DataFrame(rows, columns=columns)


def filter_effect(raw, filtered, nli) -> dict:
    """What a margin filter did to the false negatives (entailments mined as "negatives") of a
    one-positive mining run: how many it removed, what the filtered run picked instead for
    those anchors, and how many entailments the filtered run picked that the raw run did not."""
    raw_rel = dict(zip(raw["anchor"], negative_relations(raw, nli), strict=True))
    raw_neg = dict(zip(raw["anchor"], raw["negative"], strict=True))
    new_rel = dict(zip(filtered["anchor"], negative_relations(filtered, nli), strict=True))
    new_neg = dict(zip(filtered["anchor"], filtered["negative"], strict=True))
    before = [a for a, rel in raw_rel.items() if rel == "entailment"]
    removed = [a for a in before if new_neg.get(a) != raw_neg[a]]
    return {"raw": len(before), "removed": len(removed), "kept": len(before) - len(removed),
            "instead": Counter(new_rel.get(a, "nothing") for a in removed),
            "new": sum(1 for a, rel in new_rel.items() if rel == "entailment"
                       and not (raw_rel.get(a) == "entailment" and raw_neg.get(a) == new_neg[a])),
            "after": sum(1 for rel in new_rel.values() if rel == "entailment")}


# ---------------------------------------------------------------- measuring negatives

_EMBEDDINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def embed(model, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Normalised embeddings of `texts`, encoding each distinct text once per model."""
    cache = _EMBEDDINGS.setdefault(model, {})
    todo = [t for t in dict.fromkeys(texts) if t not in cache]
    if todo:
        vecs = basics.embed(model, todo, batch_size)
        cache.update(zip(todo, vecs, strict=True))
    return np.stack([cache[t] for t in texts]) if len(texts) else np.zeros((0, 0))


@dataclass
class TripletScores:
    """cos(anchor, positive) and cos(anchor, negative) for each triplet of a set, and each
    triplet's anchor (its premise: the group its interval resamples)."""

    pos: np.ndarray
    neg: np.ndarray
    anchors: list[str] | None = None

    @property
    def hits(self) -> np.ndarray:
        """1 where the positive is closer to the anchor than the negative, else 0."""
        return (self.pos > self.neg).astype(float)

    @property
    def accuracy(self) -> float:
        """Triplet accuracy: share of triplets where the positive is closer than the negative."""
        return float(np.mean(self.pos > self.neg)) if len(self.pos) else float("nan")

    def interval(self, seed: int = 0) -> Proportion:
        """The accuracy as k/n with a 95% interval that resamples premises (anchors), not
        triplets: the triplets of one premise share its text and succeed or fail together."""
        if self.anchors is None:
            raise ValueError("These scores carry no anchors; compute them with "
                             "triplet_scores(model, triplets) to get a by-premise interval.")
        return cluster_proportion(self.hits, self.anchors, unit="premises", seed=seed)


def triplet_scores(model, triplets, batch_size: int = 64) -> TripletScores:
    """Cosine of each anchor to its positive and to its negative (cached encodings)."""
    a, p, n = (embed(model, list(triplets[c]), batch_size) for c in TRIPLET_COLUMNS)
    if not len(a):
        return TripletScores(np.zeros(0), np.zeros(0), [])
    return TripletScores(np.sum(a * p, axis=1), np.sum(a * n, axis=1), list(triplets["anchor"]))


TABLE_COLUMNS = {
    "triplets": "rows in the set",
    "premises": "distinct anchors (premises) among them",
    "cos(anchor, positive)": "mean cosine of anchor and positive",
    "cos(anchor, negative)": "mean cosine of anchor and negative: higher = a closer, harder negative",
    "triplet accuracy": "share of triplets whose positive is closer to the anchor than the negative",
    "accuracy 95% CI": "the accuracy's 95% interval, premises resampled (TripletScores.interval)",
}


def negatives_table(scores: Mapping[str, TripletScores]):
    """One row per kind of negative: size, premises, mean cosines, the model's triplet accuracy
    and its by-premise 95% interval (the columns are explained in TABLE_COLUMNS)."""
    import pandas as pd

    intervals = [s.interval() if s.anchors is not None and len(set(s.anchors)) > 1 else None
                 for s in scores.values()]
    return pd.DataFrame({
        "triplets": [len(s.pos) for s in scores.values()],
        "premises": [len(set(s.anchors)) if s.anchors is not None else None for s in scores.values()],
        "cos(anchor, positive)": [float(np.mean(s.pos)) for s in scores.values()],
        "cos(anchor, negative)": [float(np.mean(s.neg)) for s in scores.values()],
        "triplet accuracy": [s.accuracy for s in scores.values()],
        "accuracy 95% CI": [f"{ci.low:.3f}-{ci.high:.3f}" if ci else "" for ci in intervals],
    }, index=list(scores)).round(3)


def negatives_figure(scores: Mapping[str, TripletScores], title: str | None = None):
    """Scatter of cos(anchor, positive) vs cos(anchor, negative), one colour per kind of
    negative; points above the diagonal are triplets the model gets wrong."""
    import plotly.graph_objects as go

    from course.viz import PALETTE, style

    fig = go.Figure()
    for i, (kind, s) in enumerate(scores.items()):
        fig.add_trace(go.Scatter(
            x=s.pos, y=s.neg, mode="markers", name=f"{kind} (acc {s.accuracy:.2f})",
            marker=dict(color=PALETTE[i % len(PALETTE)], size=8, opacity=0.7),
            hovertemplate="cos(a, p) %{x:.3f}<br>cos(a, n) %{y:.3f}<extra>" + kind + "</extra>"))
    fig.add_trace(go.Scatter(x=[-0.2, 1], y=[-0.2, 1], mode="lines", name="cos(a,n) = cos(a,p)",
                             line=dict(color="black", dash="dash")))
    fig.update_layout(xaxis_title="cos(anchor, positive)", yaxis_title="cos(anchor, negative)")
    return style(fig, title or "Above the diagonal: the negative looks closer than the positive")


# ---------------------------------------------------------------- browsing

def render_triplets(triplets, scores: TripletScores | None = None, page: int = 0,
                    per_page: int = 5) -> str:
    """One page of triplets as an HTML table, with cosines and a tick where the model ranks
    the positive above the negative."""
    n = len(triplets)
    pages = max(1, -(-n // per_page))
    if per_page < 1 or not 0 <= page < pages:
        raise ValueError(f"page={page}, per_page={per_page}: pages run 0..{pages - 1} "
                         f"for {n} triplets with per_page >= 1.")
    if scores is not None and len(scores.pos) != n:
        raise ValueError(f"scores are for {len(scores.pos)} triplets but there are {n}: "
                         "compute them with triplet_scores(model, triplets).")
    head = "<tr><th>#</th><th>anchor</th><th>positive</th><th>negative</th>"
    head += "<th>cos(a,p)</th><th>cos(a,n)</th><th></th></tr>" if scores is not None else "</tr>"
    body = []
    for i in range(page * per_page, min(n, (page + 1) * per_page)):
        r = triplets[i]
        cells = [str(i)] + [html.escape(r[c]) for c in TRIPLET_COLUMNS]
        if scores is not None:
            ok = scores.pos[i] > scores.neg[i]
            cells += [f"{scores.pos[i]:.3f}", f"{scores.neg[i]:.3f}", "✅" if ok else "❌ wrong order"]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    caption = f"<caption>triplets {page * per_page}-{min(n, (page + 1) * per_page) - 1} of {n} " \
              f"(page {page + 1}/{pages})</caption>"
    return f"<table>{caption}{head}{''.join(body)}</table>"


def triplet_browser(triplets, scores: TripletScores | None = None, per_page: int = 5):
    """A slider that pages through the triplets; each move only calls render_triplets."""
    import ipywidgets as widgets

    pages = max(1, -(-len(triplets) // per_page))
    slider = widgets.IntSlider(value=0, min=0, max=pages - 1, description="page")
    view = widgets.HTML(render_triplets(triplets, scores, 0, per_page))
    slider.observe(lambda change: setattr(view, "value", render_triplets(
        triplets, scores, change["new"], per_page)), names="value")
    return widgets.VBox([slider, view])


# ---------------------------------------------------------------- bring your own data

def standardize_nli(rows, source: str = "your data", premise: str = "premise",
                    hypothesis: str = "hypothesis", label: str = "label",
                    labels: Mapping[str | int, str | None] | None = None):
    """Rows with any column and label names -> Dataset(premise_id, premise, hypothesis, label)
    with the course's label names. Takes a datasets.Dataset (e.g. GLUE MNLI) or dicts."""
    out, _ = _standardize(((n, r) for n, r in enumerate(rows, start=1)), source, "row",
                          (premise, hypothesis, label), labels)
    return _nli_dataset(out)


def read_nli_file(path: str | Path, premise: str = "premise", hypothesis: str = "hypothesis",
                  label: str = "label", labels: Mapping[str | int, str | None] | None = None):
    """Read a CSV (header row) or JSONL file of NLI pairs and check every row; see
    triplets_from_file for the arguments."""
    return _nli_dataset(_read_nli(path, (premise, hypothesis, label), labels)[0])


def triplets_from_file(path: str | Path, premise: str = "premise", hypothesis: str = "hypothesis",
                       label: str = "label", labels: Mapping[str | int, str | None] | None = None,
                       max_per_premise: int | None = 4, seed: int = 0):
    """Your own NLI data -> (triplet Dataset(anchor, positive, negative), MiningReport).

    `path`: a .csv/.tsv file with a header row, or a .jsonl file (one JSON object per line).
    `premise`, `hypothesis`, `label`: the names of those columns in your file.
    `labels`: maps your label values to 'entailment' / 'neutral' / 'contradiction' (or None to
    skip such rows), e.g. {"yes": "entailment", "no": "contradiction", "maybe": "neutral"}.
    By default the course names and the MNLI ids 0/1/2 are understood. Bad input raises
    course.DataError naming the file, the line and the fix.
    """
    rows, skipped = _read_nli(path, (premise, hypothesis, label), labels)
    triplets, report = mine_triplets(rows, max_per_premise=max_per_premise, seed=seed)
    report.dropped["rows with a skipped label"] = skipped
    return triplets, report


def _read_nli(path: str | Path, cols: tuple[str, str, str], labels) -> tuple[list[dict], int]:
    _label_mapping(labels)  # a bad mapping is the caller's slip: say so before reading
    path = Path(path)
    kind = {".csv": ",", ".tsv": "\t", ".jsonl": "json", ".ndjson": "json"}.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: not a CSV or JSONL file (suffix {path.suffix!r}). Save it as .csv "
                        "with a header row or as .jsonl with one JSON object per line.")
    if not path.is_file():
        raise DataError(f"{path}: no such file. Check the path.")
    if kind == "json":
        try:
            records = read_jsonl(path, {cols[0]: str, cols[1]: str, cols[2]: (str, int)}, None)
        except DataError as err:
            if "missing column" not in str(err):
                raise
            raise DataError(f"{err} If your file names them differently, pass "
                            "premise=, hypothesis=, label= with its column names.") from None
        numbered: Iterable[tuple[int, dict]] = enumerate(records, start=1)
    else:
        numbered = _read_csv(path, kind, cols)
    return _standardize(numbered, str(path), "line", cols, labels)


def _read_csv(path: Path, delimiter: str, cols: tuple[str, str, str]) -> list[tuple[int, dict]]:
    """The file's rows; the delimiter is detected from the header (see course.datasets.read_csv)."""
    return read_csv(path, cols, fix="Rename them or pass premise=, hypothesis=, label=.")


def _standardize(numbered: Iterable[tuple[int, dict]], where: str, unit: str,
                 cols: tuple[str, str, str], labels) -> tuple[list[dict], int]:
    """Check texts and map labels; returns course-shaped rows and how many were skipped."""
    mapping = _label_mapping(labels)
    out, skipped = [], 0
    for n, row in numbered:
        texts = []
        missing = [c for c in cols if c not in row]
        if missing:
            raise DataError(f"{where}, {unit} {n}: missing column(s) {missing}; it has {sorted(row)}. "
                            "Pass premise=, hypothesis=, label= with your column names.")
        for col in cols[:2]:
            value = row[col]
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{where}, {unit} {n}: column {col!r} is empty or not text "
                                f"({value!r}). Give it some text or drop the row.")
            texts.append(value.strip())
        raw = row[cols[2]]
        key = _label_key(raw)
        if key not in mapping:
            known = sorted({k for k in mapping})
            raise DataError(f"{where}, {unit} {n}: unknown label {raw!r} in column {cols[2]!r}. "
                            f"Known labels: {known}; pass labels={{{raw!r}: 'entailment'}} "
                            "(or 'neutral', 'contradiction', None to skip) to map it.")
        if mapping[key] is None:
            skipped += 1
            continue
        out.append({"premise_id": premise_id(texts[0]), "premise": texts[0],
                    "hypothesis": texts[1], "label": mapping[key]})
    if not out:
        raise DataError(f"{where}: no usable rows (all {skipped} were skipped). Check labels=.")
    return out, skipped


def _label_key(value) -> str:
    return "" if value is None or isinstance(value, bool) else str(value).strip().lower()


def _label_mapping(labels) -> dict[str, str | None]:
    mapping = {_label_key(k): v for k, v in (DEFAULT_LABELS if labels is None else labels).items()}
    for k, v in mapping.items():
        if v is not None and v not in NLI_LABELS:
            raise ValueError(f"labels maps {k!r} to {v!r}, which is not a course label: "
                             f"use one of {NLI_LABELS}, or None to skip those rows.")
    return mapping


def _nli_dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list(rows)


def write_example_file(path: str | Path) -> Path:
    """A tiny NLI file in someone else's format (columns sentence_a / sentence_b / verdict,
    labels yes / no / maybe), for trying triplets_from_file."""
    rows = [
        ("A man is feeding carrots to two grey donkeys.", "Someone is giving food to animals.", "yes"),
        ("A man is feeding carrots to two grey donkeys.", "The donkeys are being ignored.", "no"),
        ("A man is feeding carrots to two grey donkeys.", "The man owns the donkeys.", "maybe"),
        ("A man is feeding carrots to two grey donkeys.", "The man is feeding some animals.", "yes"),
        ("The ferry left the harbour an hour late.", "The ferry departed behind schedule.", "yes"),
        ("The ferry left the harbour an hour late.", "The ferry left exactly on time.", "no"),
        ("Snow closed the mountain pass overnight.", "The pass might reopen by noon.", "maybe"),
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sentence_a", "sentence_b", "verdict"])
        writer.writerows(rows)
    return path


# ---------------------------------------------------------------- files for notebook 06

def default_triplets_path() -> Path:
    """Where notebook 05 leaves the training triplets that notebook 06 loads."""
    return artifacts_dir() / "triplets" / "course_train.jsonl"


def save_triplets(ds, path: str | Path) -> Path:
    """Write (anchor, positive, negative) triplets as JSONL (one object per line)."""
    missing = [c for c in TRIPLET_COLUMNS if c not in ds.column_names]
    if missing:
        raise DataError(f"Cannot save triplets: columns {missing} are missing (it has "
                        f"{ds.column_names}). Build them with mine_triplets or triplets_from_file.")
    if len(ds) == 0:
        raise DataError("Cannot save an empty triplet dataset: mining kept nothing. "
                        "Look at the MiningReport to see why.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in ds.select_columns(list(TRIPLET_COLUMNS)):
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def load_triplets(path: str | Path):
    """Read triplets saved by save_triplets, checking every line; Dataset(anchor, positive, negative)."""
    rows = read_jsonl(path, {c: str for c in TRIPLET_COLUMNS}, id_column=None)
    return _triplet_dataset(rows)
