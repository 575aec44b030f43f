"""Evaluating embedding models with MTEB: the course's own tasks offline, real tasks online.

Four small mteb tasks read the course's packaged data (STS pairs, topic classification,
retrieval queries over the corpus, NLI entailment-vs-contradiction pairs), so the whole MTEB
pipeline runs without a network; online, the same functions run real MTEB tasks by name.
Results can be cached in artifacts_dir()/"mteb" so that a re-run is instant.

    from course import evaluation as ev
    result = ev.run(model, ev.course_tasks())
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
from mteb.abstasks import AbsTask, AbsTaskClassification, AbsTaskRetrieval, AbsTaskSTS
from mteb.abstasks.pair_classification import AbsTaskPairClassification
from mteb.abstasks.task_metadata import TaskMetadata
from mteb.models import SentenceTransformerEncoderWrapper

from course.basics import pair_cosines
from course.datasets import DATA_DIR, load_corpus, load_nli, load_queries, load_sts
from course.env import Profile, artifacts_dir
from course.models import fingerprint

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

# What each MTEB task type asks of an embedding, and its usual main score.
TASK_TYPES = {
    "STS": ("Do cosine similarities rank sentence pairs like human 0-5 ratings?", "cosine_spearman"),
    "Classification": ("Does a logistic regression on the embeddings predict a label?", "accuracy"),
    "Clustering": ("Do k-means clusters of the embeddings match the true groups?", "v_measure"),
    "PairClassification": ("Does cosine separate duplicate/entailed pairs from the rest?", "max_ap"),
    "Reranking": ("Does cosine order a short candidate list correctly?", "map_at_1000"),
    "Retrieval": ("Is the relevant document near the top among thousands?", "ndcg_at_10"),
    "Summarization": ("Do summaries close to the text get the higher human ratings?",
                      "cosine_spearman"),
}

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


def data_revision(path: Path) -> str:
    """A short content hash of a data file: the 'task version' of a course task."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]


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


def _take(ds, limit: int | None):
    """A fixed random sample of `limit` rows (all rows if limit is None)."""
    return ds if limit is None else ds.shuffle(seed=0).select(range(min(limit, len(ds))))


class _CourseTask:
    """Mixin: `limit` shrinks the evaluation data to a fixed sample (the smoke profile)."""

    def __init__(self, limit: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.limit = limit


class CourseSTS(_CourseTask, AbsTaskSTS):
    """The course's STS test pairs with their 0-5 gold scores (main score: cosine Spearman)."""

    min_score = 0
    max_score = 5
    metadata = _metadata("CourseSTS", "sts.jsonl", "STS", "cosine_spearman",
                         "Course STS test split: sentence pairs rated 0-5 (STS_GUIDE.md).")

    def load_data(self, num_proc: int | None = None, **kwargs) -> None:
        from datasets import DatasetDict

        sts = _take(load_sts(split="test"), self.limit).select_columns(
            ["sentence1", "sentence2", "gold"])
        self.dataset = DatasetDict({"test": sts.rename_column("gold", "score")})
        self.data_loaded = True


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
        self.dataset = DatasetDict({s: _take(ds.filter(lambda r, s=s: r["split"] == s), n)
                                    .select_columns(["text", "label"]) for s, n in limits.items()})
        self.data_loaded = True


class CourseRetrieval(_CourseTask, AbsTaskRetrieval):
    """Find the relevant corpus sentences for hand-written queries (main score: nDCG@10)."""

    k_values = (1, 3, 5, 10, 20, 100)
    metadata = _metadata("CourseRetrieval", "retrieval.jsonl", "Retrieval", "ndcg_at_10",
                         "Queries written for the course over all 320 corpus sentences.")

    def load_data(self, num_proc: int | None = None, **kwargs) -> None:
        from datasets import Dataset

        queries = load_queries()
        qrels = {q["id"]: dict.fromkeys(q["relevant"], 1) for q in queries}
        corpus = load_corpus()
        if self.limit is not None:  # keep the sampled queries' documents plus some distractors
            queries = list(_take(Dataset.from_list(queries), self.limit))
            qrels = {q["id"]: qrels[q["id"]] for q in queries}
            wanted = {d for rel in qrels.values() for d in rel}
            others = _take(corpus.filter(lambda r: r["id"] not in wanted), 2 * self.limit)
            corpus = corpus.filter(lambda r: r["id"] in wanted or r["id"] in set(others["id"]))
        self.dataset = {"default": {"test": {
            "corpus": Dataset.from_dict({"id": corpus["id"], "text": corpus["text"],
                                         "title": [""] * len(corpus)}),
            "queries": Dataset.from_list([{"id": q["id"], "text": q["query"]} for q in queries]),
            "relevant_docs": qrels,
            "top_ranked": None,
        }}}
        self.data_loaded = True


class CoursePairClassification(_CourseTask, AbsTaskPairClassification):
    """NLI test pairs: is the hypothesis entailed (1) or contradicted (0)? Neutral pairs are
    left out. Main score: average precision of the cosine ranking (max over distances)."""

    metadata = _metadata("CoursePairClassification", "nli.jsonl", "PairClassification",
                         "max_ap", "Course NLI test split, entailment vs contradiction.")

    def load_data(self, num_proc: int | None = None, **kwargs) -> None:
        from datasets import DatasetDict

        pairs = _take(nli_pairs(), self.limit)
        self.dataset = DatasetDict({"test": pairs.rename_columns(
            {"premise": "sentence1", "hypothesis": "sentence2", "label": "labels"})})
        self.data_loaded = True


COURSE_TASKS = (CourseSTS, CourseTopicClassification, CourseRetrieval, CoursePairClassification)


def course_tasks(names: Iterable[str] | None = None, limit: int | None = None,
                 load: bool = False) -> list[AbsTask]:
    """Fresh instances of the course's mteb tasks (all four, or those named); `limit` keeps a
    fixed sample of that many test rows (queries, pairs) per task. With load=True the data is
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


def task_types_frame(benchmark: str = "MTEB(eng, v2)"):
    """What each task type measures, its main score, and how many tasks of that type the
    benchmark holds (read from mteb's task registry, no network)."""
    import pandas as pd

    counts = pd.Series([t.metadata.type for t in mteb.get_benchmark(benchmark).tasks]).value_counts()
    rows = [{"type": k, "asks": v[0], "main_score": v[1], f"tasks in {benchmark}": int(counts.get(k, 0))}
            for k, v in TASK_TYPES.items()]
    return pd.DataFrame(rows).set_index("type")


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



def direct_sts_spearman(model, limit: int | None = None, batch_size: int = 64) -> float:
    """CourseSTS's main score computed by hand: Spearman of cosine vs gold (scipy)."""
    from scipy.stats import spearmanr

    sts = _take(load_sts(split="test"), limit)
    cos = pair_cosines(model, sts["sentence1"], sts["sentence2"], batch_size)
    return float(spearmanr(cos, sts["gold"])[0])


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
