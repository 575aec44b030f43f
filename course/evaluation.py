"""Evaluating embedding models with MTEB: the course's own tasks offline, real tasks online.

Notebook 07 writes two mteb tasks over the course's packaged data in its own cells (STS pairs
and a retrieval task, the types a learner needs most); this module holds the other two
(topic classification, NLI entailment-vs-contradiction pairs) and the plumbing: the smoke
profile's fixed samples, a result cache in artifacts_dir()/"mteb" so a re-run is instant, and
tables. `run` files each model under a name and a hash of its weights, so two local models
never share a cached score (the pitfall notebook 07 demonstrates). `paired_changes` puts a 95%
interval on each before/after change by recomputing the task's metric per item.

    from course import evaluation as ev
    result = ev.run(model, ev.course_tasks(load=True))
    ev.scores_frame([result])
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mteb
import numpy as np
from mteb.abstasks import AbsTask, AbsTaskClassification, AbsTaskPairClassification
from mteb.abstasks.task_metadata import TaskMetadata
from mteb.models import SentenceTransformerEncoderWrapper

from course.basics import pair_cosines
from course.datasets import DATA_DIR, load_corpus, load_nli
from course.env import Profile, artifacts_dir
from course.models import fingerprint
from course.stats import PairedDiff, paired_bootstrap, paired_metric_diff

# mteb 2.26 calls a sentence-transformers method that 6.x renamed; the FutureWarning is raised
# inside mteb on every evaluate, and only an mteb release can fix it.
warnings.filterwarnings("ignore", message="The `get_sentence_embedding_dimension` method",
                        category=FutureWarning)

HUB_TASKS = {"smoke": ("STSBenchmark",),
             "cpu": ("STSBenchmark", "Banking77Classification.v2"),
             "gpu": ("STSBenchmark", "Banking77Classification.v2", "SciFact")}


@dataclass(frozen=True)
class EvalPreset:
    """What one profile evaluates: rows per course task (None: all), real MTEB tasks online,
    and whether results are cached."""

    limit: int | None
    hub_tasks: tuple[str, ...]
    cache: bool


PRESETS = {name: EvalPreset(limit=12 if name == "smoke" else None, hub_tasks=tasks,
                            cache=name != "smoke")
           for name, tasks in HUB_TASKS.items()}

# Published MTEB numbers from /work/shared/ANCHORS.md (MTEB paper table and results repository).
PUBLISHED = [
    # model, task, split, metric, score (0-1), source
    ("bert-base-uncased", "STSBenchmark", "test", "cosine_spearman", 0.4729, "MTEB paper"),
    ("all-MiniLM-L6-v2", "STSBenchmark", "test", "cosine_spearman", 0.8203, "MTEB paper"),
    ("all-mpnet-base-v2", "STSBenchmark", "test", "cosine_spearman", 0.8342, "MTEB paper"),
    ("bert-base-uncased", "Banking77Classification", "test", "accuracy", 0.6341, "MTEB paper"),
    ("all-MiniLM-L6-v2", "Banking77Classification", "test", "accuracy", 0.7975, "MTEB paper"),
    ("all-MiniLM-L6-v2", "Banking77Classification.v2", "test", "accuracy", 0.7985,
     "mteb results repo (mteb 2.13)"),
    ("all-mpnet-base-v2", "Banking77Classification", "test", "accuracy", 0.8186, "MTEB paper"),
    ("bert-base-uncased", "MTEB English average (56 tasks)", "mixed", "mean of main scores",
     0.3833, "MTEB paper"),
    ("all-MiniLM-L6-v2", "MTEB English average (56 tasks)", "mixed", "mean of main scores",
     0.5626, "MTEB paper"),
    ("all-mpnet-base-v2", "MTEB English average (56 tasks)", "mixed", "mean of main scores",
     0.5778, "MTEB paper"),
]


def data_revision(*paths: Path) -> str:
    """The 'task version' of a course task: a short SHA-1 of its data files, new whenever
    they change (notebook 07 shows this one line)."""
    return hashlib.sha1(b"".join(Path(p).read_bytes() for p in paths)).hexdigest()[:12]


def _metadata(name: str, file: str, kind: str, main_score: str, description: str) -> TaskMetadata:
    return TaskMetadata(
        name=name, description=description, type=kind, main_score=main_score,
        dataset={"path": f"course/data/{file}", "revision": data_revision(DATA_DIR / file)},
        reference="https://www.sbert.net/examples/sentence_transformer/training/nli/README.html",
        category="t2t", modalities=["text"], eval_splits=["test"], eval_langs=["eng-Latn"],
        date=("2026-01-01", "2026-12-31"), domains=["Written"], task_subtypes=[],
        license="apache-2.0", annotations_creators="expert-annotated", dialect=[],
        sample_creation="created", bibtex_citation="",
    )


def sample(ds, limit: int | None):
    """A fixed random sample of `limit` rows (all rows if limit is None): the smoke profile's
    small tasks."""
    return ds if limit is None else ds.shuffle(seed=0).select(range(min(limit, len(ds))))


def sample_retrieval(queries, corpus, limit: int | None):
    """(queries, corpus) for a retrieval task: a fixed sample of `limit` queries, and of the
    corpus their relevant documents plus 2 * limit others as distractors (all if limit is None)."""
    if limit is None:
        return queries, corpus
    queries = sample(queries, limit)
    wanted = {doc for relevant in queries["relevant"] for doc in relevant}
    with _quiet_progress():
        others = set(sample(corpus.filter(lambda r: r["id"] not in wanted), 2 * limit)["id"])
        return queries, corpus.filter(lambda r: r["id"] in wanted or r["id"] in others)


class _CourseTask:
    """Mixin: `limit` shrinks the evaluation data to a fixed sample (the smoke profile)."""

    def __init__(self, limit: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.limit = limit


class CourseTopicClassification(_CourseTask, AbsTaskClassification):
    """Predict the topic (10 classes) of a corpus sentence with a logistic regression on its
    embedding, trained on the corpus train split (main score: accuracy).

    MTEB's own classification tasks draw 8 examples per label, 10 times, and average; with
    only 24 train sentences per topic we train on all of them once, so the score is exact.
    """

    samples_per_label = 24
    n_experiments = 1
    metadata = _metadata("CourseTopicClassification", "corpus.jsonl", "Classification",
                         "accuracy", "Course corpus: topic of a sentence, 10 topics.")

    def load_data(self, num_proc: int | None = None, **kwargs) -> None:
        from datasets import DatasetDict

        corpus = load_corpus()
        topics = sorted(set(corpus["topic"]))
        ds = corpus.map(lambda r: {"label": topics.index(r["topic"])})
        limits = {"train": None if self.limit is None else 3 * self.limit, "test": self.limit}
        self.dataset = DatasetDict({s: sample(ds.filter(lambda r, s=s: r["split"] == s), n)
                                    .select_columns(["text", "label"]) for s, n in limits.items()})
        self.data_loaded = True


class CoursePairClassification(_CourseTask, AbsTaskPairClassification):
    """NLI test pairs: is the hypothesis entailed (1) or contradicted (0)? Neutral pairs are
    left out. Main score: average precision of the pairs ranked by cosine (`cosine_ap`)."""

    metadata = _metadata("CoursePairClassification", "nli.jsonl", "PairClassification",
                         "cosine_ap", "Course NLI test split, entailment vs contradiction.")

    def load_data(self, num_proc: int | None = None, **kwargs) -> None:
        from datasets import DatasetDict

        pairs = sample(nli_pairs(), self.limit)
        self.dataset = DatasetDict({"test": pairs.rename_columns(
            {"premise": "sentence1", "hypothesis": "sentence2", "label": "labels"})})
        self.data_loaded = True


COURSE_TASKS = (CourseTopicClassification, CoursePairClassification)


def course_tasks(names: Iterable[str] | None = None, limit: int | None = None,
                 load: bool = False) -> list[AbsTask]:
    """Fresh instances of the course's mteb tasks (both, or those named); `limit` keeps a
    fixed sample of that many test rows per task. With load=True the data is
    read now and stays in `task.dataset` after mteb.evaluate (which unloads what it loaded)."""
    by_name = {cls.metadata.name: cls for cls in COURSE_TASKS}
    names = list(names) if names is not None else list(by_name)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"Unknown course task(s) {unknown}; the course tasks are {list(by_name)}.")
    tasks = [by_name[n](limit=limit) for n in names]
    with _quiet_progress():
        for task in tasks if load else []:
            task.load_data()
    return tasks


def nli_pairs(split: str = "test"):
    """NLI pairs with label 1 for entailment and 0 for contradiction (neutral dropped)."""
    nli = load_nli(split=split).filter(lambda r: r["label"] != "neutral")
    return nli.map(lambda r: {"label": int(r["label"] == "entailment")}).select_columns(
        ["premise", "hypothesis", "label"])


def hub_tasks(profile: Profile) -> list[AbsTask]:
    """The real MTEB tasks this profile runs online (their metadata also works offline)."""
    return list(mteb.get_tasks(tasks=list(PRESETS[profile.name].hub_tasks)))


def describe_tasks(tasks: Iterable[AbsTask]):
    """One row per task: name, type, main score, splits, dataset and its revision (the task
    version), and the newer task that supersedes it, if any."""
    import pandas as pd

    return pd.DataFrame([{
        "task": t.metadata.name, "type": t.metadata.type, "main_score": t.metadata.main_score,
        "eval_splits": ", ".join(t.metadata.eval_splits), "dataset": t.metadata.dataset["path"],
        "revision": t.metadata.dataset["revision"][:12], "superseded_by": t.superseded_by or "",
    } for t in tasks]).set_index("task")


def as_mteb_model(model, name: str):
    """Wrap a SentenceTransformer for mteb under `name`, with its weights' hash as revision."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # mteb calls a renamed s-t method
        wrapper = SentenceTransformerEncoderWrapper(model)
    wrapper.mteb_model_meta = wrapper.mteb_model_meta.model_copy(
        update={"name": name, "revision": fingerprint(model)})
    return wrapper


def result_cache(profile: Profile):
    """A ResultCache in artifacts_dir()/'mteb' for cpu/gpu; None (no writes) in smoke."""
    if not PRESETS[profile.name].cache:
        return None
    return mteb.ResultCache(artifacts_dir() / "mteb")


def _stale(cache, task: AbsTask, meta) -> bool:
    """True if the cache holds a result for another task version or mteb version."""
    old = cache.load_task_result(task.metadata.name, meta)
    return old is not None and (old.dataset_revision != task.metadata.revision
                                or old.mteb_version != mteb.__version__)


def run(model, tasks: Sequence[AbsTask], name: str | None = None, cache=None,
        batch_size: int = 64):
    """Evaluate a SentenceTransformer on mteb tasks with `mteb.evaluate`; with a cache, a task
    already scored for these exact weights, task version and mteb version is read back."""
    if not tasks:
        raise ValueError("No tasks to run: pass course_tasks() or mteb.get_tasks(tasks=[...]).")
    name = name or model.model_card_data.model_name or "unnamed-model"
    wrapped = as_mteb_model(model, name)
    results = []
    for task in tasks:
        redo = cache is not None and _stale(cache, task, wrapped.mteb_model_meta)
        with warnings.catch_warnings(), _quiet_progress():
            warnings.simplefilter("ignore", (FutureWarning, DeprecationWarning, UserWarning))
            results.append(mteb.evaluate(wrapped, tasks=[task], cache=cache,
                                         encode_kwargs={"batch_size": batch_size,
                                                        "show_progress_bar": False},
                                         overwrite_strategy="always" if redo else "only-missing",
                                         show_progress_bar=False))
    merged = results[0]
    merged.task_results = [tr for r in results for tr in r.task_results]
    return merged


@contextlib.contextmanager
def _quiet_progress():
    """Hide the datasets map/filter progress bars while mteb loads the course data."""
    from datasets.utils import logging as ds_logging

    was_on = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            ds_logging.enable_progress_bar()


def scores_frame(results: Iterable, tasks: Iterable[AbsTask] | None = None):
    """A long table: model, task, type, metric, score, split, task version, mteb version, seconds."""
    import pandas as pd

    types = {t.metadata.name: (t.metadata.type, t.metadata.main_score) for t in tasks or []}
    rows = []
    for res in results:
        for tr in res.task_results:
            for split, subsets in tr.scores.items():
                kind, metric = types.get(tr.task_name) or _type_of(tr.task_name)
                rows.append({"model": res.model_name, "task": tr.task_name, "type": kind,
                             "metric": metric, "score": float(np.mean([s["main_score"] for s in subsets])),
                             "split": split, "task_version": tr.dataset_revision[:12],
                             "mteb": tr.mteb_version, "seconds": round(tr.evaluation_time or 0.0, 2)})
    return pd.DataFrame(rows)


def _type_of(task_name: str) -> tuple[str, str]:
    by_name = {cls.metadata.name: cls.metadata for cls in COURSE_TASKS}
    md = by_name.get(task_name) or mteb.get_task(task_name).metadata
    return md.type, md.main_score


def compare(frame):
    """Models side by side (one column each) per task, plus the difference last minus first."""
    wide = frame.pivot_table(index=["task", "metric"], columns="model", values="score", sort=False)
    models = list(dict.fromkeys(frame["model"]))
    wide = wide[models]
    if len(models) > 1:
        wide["change"] = wide[models[-1]] - wide[models[0]]
    return wide.round(4)


def scores_chart(frame, title: str = "MTEB main score per task"):
    """Grouped bars: one group per task, one bar per model, score printed on each bar."""
    import plotly.graph_objects as go

    from course.viz import PALETTE, style

    fig = go.Figure()
    for i, (model, part) in enumerate(frame.groupby("model", sort=False)):
        fig.add_bar(name=model, x=[f"{t}<br>({m})" for t, m in zip(part["task"], part["metric"], strict=True)],
                    y=part["score"], text=[f"{v:.3f}" for v in part["score"]],
                    textposition="outside", marker_color=PALETTE[i % len(PALETTE)])
    fig.update_layout(barmode="group", yaxis=dict(title="score", range=[0, 1.08]),
                      legend=dict(orientation="h", y=-0.25))
    return style(fig, title)


def published_frame(task: str | None = None):
    """The published MTEB reference numbers (ANCHORS.md), optionally for one task."""
    import pandas as pd

    df = pd.DataFrame(PUBLISHED, columns=["model", "task", "split", "metric", "score", "source"])
    return df[df["task"] == task] if task else df



# ---------------------------------------------------------------- intervals for before/after

def paired_changes(before_model, after_model, tasks: Sequence[AbsTask], batch_size: int = 64):
    """Each task's main score for two models, the change and its paired 95% interval.

    The metric is recomputed per item on the rows mteb scores (test_evaluation.py checks that it
    equals mteb's number): STS resamples pairs and recomputes Spearman
    (`stats.paired_metric_diff`); pair classification resamples *premises* (the NLI pairs of one
    premise share its text, so they are not independent: a cluster bootstrap) and recomputes the
    AP; classification resamples test texts (hit or miss) and retrieval queries (nDCG@10 each)
    with `stats.paired_bootstrap`. The `resampled` column says what was drawn.
    """
    import pandas as pd

    rows = []
    for task in tasks:
        if not task.data_loaded:
            with _quiet_progress():
                task.load_data()
        kind = task.metadata.type
        per_item = _PER_ITEM.get(kind)
        if per_item is None:
            raise ValueError(f"No per-item recipe for task type {kind!r} ({task.metadata.name}); "
                             f"supported: {sorted(_PER_ITEM)}.")
        d = per_item(task, before_model, after_model, batch_size)
        resampled = f"{d.groups} {d.unit}" if d.groups else f"{d.n} {_ITEM_UNIT[kind]}"
        rows.append({"task": task.metadata.name, "metric": task.metadata.main_score,
                     "before": d.before, "after": d.after, "change": d.diff, "ci_low": d.low,
                     "ci_high": d.high, "n": d.n, "resampled": resampled, "verdict": verdict(d)})
    return pd.DataFrame(rows).set_index("task").round(4)


def verdict(d: PairedDiff) -> str:
    """A before/after change in words, judged by its 95% interval. An interval with 0 as an
    edge (many resamples show exactly no change, as with a few changed texts) says so."""
    if d.low > 0:
        return "a real gain (the whole interval is above 0)"
    if d.high < 0:
        return "a real loss (the whole interval is below 0)"
    if d.low == d.high == 0:
        return "no change (the interval is 0 to 0)"
    if d.low == 0:
        return "within noise (the interval starts at exactly 0: at least 2.5% of resamples show no gain)"
    if d.high == 0:
        return "within noise (the interval ends at exactly 0: at least 2.5% of resamples show no loss)"
    return "within noise (the interval contains 0 inside it)"


def _sts_change(task, before, after, batch_size):
    data = task.dataset["test"]
    cos = [pair_cosines(m, data["sentence1"], data["sentence2"], batch_size) for m in (before, after)]
    return paired_metric_diff(list(data["score"]), *cos)


def _pair_change(task, before, after, batch_size):
    from sklearn.metrics import average_precision_score

    data = task.dataset["test"]
    cos = [pair_cosines(m, data["sentence1"], data["sentence2"], batch_size) for m in (before, after)]
    return paired_metric_diff(list(data["labels"]), *cos, metric=average_precision_score,
                              groups=list(data["sentence1"]), unit="premises")


def _classification_change(task, before, after, batch_size):
    hits = [classification_hits(m, task.dataset, batch_size) for m in (before, after)]
    return paired_bootstrap(*hits)


def classification_hits(model, dataset, batch_size: int = 64) -> np.ndarray:
    """1/0 per test text: mteb's classifier (logistic regression, max_iter=100, seed 42) fit on
    the train embeddings gets its label right."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=100, random_state=42)
    clf.fit(model.encode(list(dataset["train"]["text"]), batch_size=batch_size), dataset["train"]["label"])
    predicted = clf.predict(model.encode(list(dataset["test"]["text"]), batch_size=batch_size))
    return (predicted == np.asarray(dataset["test"]["label"])).astype(float)


def _retrieval_change(task, before, after, batch_size):
    split = task.dataset["default"]["test"]
    return paired_bootstrap(*[query_ndcg(m, split, batch_size=batch_size) for m in (before, after)])


def query_ndcg(model, split, k: int = 10, batch_size: int = 64) -> np.ndarray:
    """nDCG@k per query (binary relevance), ranking the split's corpus by cosine. Like mteb, it
    encodes queries with `model.encode_query` and documents with `model.encode_document`, so
    the model's query/document prompts (`model.prompts`) apply."""
    kwargs = {"batch_size": batch_size, "normalize_embeddings": True, "convert_to_numpy": True}
    docs = model.encode_document(list(split["corpus"]["text"]), **kwargs)
    queries = model.encode_query(list(split["queries"]["text"]), **kwargs)
    doc_ids = np.asarray(split["corpus"]["id"])
    out = []
    for qid, q in zip(split["queries"]["id"], queries, strict=True):
        relevant = set(split["relevant_docs"][qid])
        top = doc_ids[np.argsort(-(docs @ q))[:k]]
        dcg = sum(1 / np.log2(i + 2) for i, d in enumerate(top) if d in relevant)
        ideal = sum(1 / np.log2(i + 2) for i in range(min(len(relevant), k)))
        out.append(dcg / ideal)
    return np.asarray(out)


_PER_ITEM = {"STS": _sts_change, "PairClassification": _pair_change,
             "Classification": _classification_change, "Retrieval": _retrieval_change}
_ITEM_UNIT = {"STS": "pairs", "PairClassification": "pairs", "Classification": "texts",
              "Retrieval": "queries"}


# Measured on a 2-core laptop-class CPU (profile cpu, offline): the whole of notebook 06, and the
# same training run from the command line (model load, before/after evaluation, training, save;
# median of 3 runs 36 s).
NOTEBOOK_06_MINUTES, TRAIN_CLI_SECONDS = 3, 40


def missing_model_hint(path: Path) -> str:
    """One line for notebook 07 when notebook 06's model is missing: what is missing and how to
    get it (with how long it takes), and what stands in meanwhile."""
    return (f"No fine-tuned model in {path}: run notebook 06 (about {NOTEBOOK_06_MINUTES} min on a "
            f"CPU) or `python -m course train --profile cpu` (about {TRAIN_CLI_SECONDS} s), then run "
            "this notebook again; until then an untrained tiny BERT stands in, named "
            "tiny-random-bert-stand-in wherever it appears.")


def pitfall_report(reported: dict[str, float], own: dict[str, float]) -> str:
    """One line per model: the score a cached run reported against the model's own score,
    naming the model whose result it received when they differ."""
    lines = []
    for name, got in reported.items():
        if abs(got - own[name]) < 1e-6:
            lines.append(f"{name}: reported {got:.4f}, its own score.")
            continue
        donor = next((o for o in own if o != name and abs(got - own[o]) < 1e-6), None)
        lines.append(f"{name}: reported {got:.4f}, but its own score is {own[name]:.4f}"
                     + (f": it silently received {donor}'s cached result." if donor else "."))
    return "\n".join(lines)


def main_score(result, task_name: str) -> float:
    """The main score of one task in an mteb result."""
    for tr in result.task_results:
        if tr.task_name == task_name:
            return float(tr.get_score())
    raise ValueError(f"No result for task {task_name!r}; the result holds "
                     f"{[tr.task_name for tr in result.task_results]}.")


def zero_shot_frame(model_names: Sequence[str], benchmarks: Sequence[str] = ("MTEB(eng, v1)", "MTEB(eng, v2)")):
    """Per model: the training datasets mteb knows of and the share of each benchmark's tasks
    the model did NOT train on (mteb's 'zero-shot' percentage), from the model registry."""
    import pandas as pd

    rows = []
    for name in model_names:
        meta = mteb.get_model_meta(name)
        row = {"model": name, "annotated training sets": ", ".join(sorted(meta.training_datasets or []))}
        for b in benchmarks:
            row[f"zero-shot % {b}"] = meta.zero_shot_percentage(mteb.get_benchmark(b).tasks)
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def cost_frame(model_names: Sequence[str], task: str = "STSBenchmark"):
    """Parameters, embedding size and memory (mteb registry) beside the published score on
    `task`, and the score gained per extra million parameters over the smallest model."""
    import pandas as pd

    pub = published_frame(task).set_index("model")["score"]
    rows = []
    for name in model_names:
        meta = mteb.get_model_meta(name)
        short = name.split("/")[-1]
        rows.append({"model": short, "params (M)": meta.n_parameters / 1e6, "dim": meta.embed_dim,
                     "memory (MB)": meta.memory_usage_mb, f"{task} (published)": pub.get(short)})
    df = pd.DataFrame(rows).set_index("model").sort_values("params (M)")
    base = df.iloc[0]
    extra = df["params (M)"] - base["params (M)"]
    df["points per extra 10M params"] = (100 * (df[f"{task} (published)"] - base[f"{task} (published)"])
                                         / extra.where(extra > 0) * 10)
    return df.round(3)


def timed(fn, *args, **kwargs):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start
