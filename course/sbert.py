"""Notebook 04 helpers: the padding comparison, cross-encoder training with a cache, the
scaling argument by counting x throughput, and the held-out reranking comparison (plumbing
around the calls the notebook shows).

    from course import sbert as sb
    ce = sb.load_cross_encoder()                  # the packaged backbone, a new score head
    rates = sb.measure_rates(model, ce, texts)    # sentences/s and pairs/s, median of 5
    costs = sb.CostModel.from_rates(rates["sentences_per_s"], rates["pairs_per_s"])
    rerank = sb.load_rerank()                     # queries, answers and near-miss passages

A bi-encoder (SBERT) embeds each sentence once and compares vectors; a cross-encoder reads
both sentences of a pair together and outputs a score. The second is often more accurate and
always quadratically more expensive when every pair has to be scored.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course.basics import mean_pool, pair_cosines, token_embeddings
from course.datasets import DATA_DIR, DataError, read_jsonl
from course.env import Profile, is_online
from course.env import device as default_device
from course.models import ModelUnavailableError, packaged_model_path
from course.timings import run_times  # noqa: F401  (sb.run_times: notebook 04 and benchmarks/ time jobs with it)

# Hub cross-encoders for the online path: the STS model whose score ANCHORS.md quotes (sbert.net,
# STSb test Spearman x100 = 90.17), and a reranker trained on MS MARCO search queries.
HUB_STS_CROSS = "cross-encoder/stsb-roberta-base"
HUB_STS_CROSS_PUBLISHED = 90.17
HUB_RERANKER = "cross-encoder/ms-marco-MiniLM-L6-v2"
# SBERT paper (Reimers & Gurevych 2019, ANCHORS.md): most similar pair among 10,000 sentences,
# BERT cross-encoder vs SBERT, V100 GPU.
PAPER = {"n": 10_000, "cross_s": 65 * 3600.0, "bi_s": 5.0}
RERANK_PATH = DATA_DIR / "rerank.jsonl"
RERANK_KINDS = ("number", "negation", "order", "overlap")


@dataclass(frozen=True)
class SbertPreset:
    """Sizes of notebook 04 for one profile."""

    train_pairs: int | None  # STS cross-encoder training pairs (None: all course pairs)
    epochs: int
    train_batch_size: int
    learning_rate: float  # the pretrained backbone
    head_learning_rate: float  # the new, randomly initialised score head
    rate_sentences: int  # sentences (and as many pairs) per throughput measurement
    job_ns: tuple[int, ...]  # n at which the whole most-similar-pair jobs are timed, as a check
    repeats: int  # timing repeats; the median counts
    rerank_queries: int | None  # training queries of the reranker (None: all train queries)
    rerank_negatives: int  # hard negatives mined per training query
    rerank_epochs: int
    rerank_batch_size: int
    rerank_learning_rate: float
    top_k: int  # candidates the cross-encoder reranks


PRESETS = {
    "smoke": SbertPreset(train_pairs=48, epochs=1, train_batch_size=16, learning_rate=5e-5,
                         head_learning_rate=2e-3, rate_sentences=16, job_ns=(4, 8), repeats=5,
                         rerank_queries=12, rerank_negatives=2, rerank_epochs=1, rerank_batch_size=8,
                         rerank_learning_rate=1e-4, top_k=10),
    "cpu": SbertPreset(train_pairs=None, epochs=2, train_batch_size=16, learning_rate=5e-5,
                       head_learning_rate=2e-3, rate_sentences=128, job_ns=(8, 24), repeats=5,
                       rerank_queries=None, rerank_negatives=3, rerank_epochs=6, rerank_batch_size=8,
                       rerank_learning_rate=1e-4, top_k=10),
    "gpu": SbertPreset(train_pairs=None, epochs=2, train_batch_size=16, learning_rate=5e-5,
                       head_learning_rate=2e-3, rate_sentences=320, job_ns=(8, 32), repeats=5,
                       rerank_queries=None, rerank_negatives=3, rerank_epochs=6, rerank_batch_size=8,
                       rerank_learning_rate=1e-4, top_k=10),
}


def preset(p: Profile) -> SbertPreset:
    """The notebook-04 sizes for a profile."""
    return PRESETS[p.name]


# ---------------------------------------------------------------- mean pooling, with and without the mask


def encode_both_ways(model, sentences: Sequence[str], batch_size: int = 32):
    """Unit sentence vectors from one forward pass, pooled by hand twice: (masked, unmasked).

    Batches are taken in the given order (no length sorting), as a first implementation would.
    """
    sentences, masked, unmasked = list(sentences), [], []
    for start in range(0, len(sentences), batch_size):
        tokens, mask = token_embeddings(model, sentences[start:start + batch_size])
        masked.append(mean_pool(tokens, mask).cpu().numpy())
        unmasked.append(tokens.mean(dim=1).cpu().numpy())  # padding vectors averaged in
    return tuple(_unit(np.concatenate(v)) for v in (masked, unmasked))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def encode_by_hand(model, sentences: Sequence[str], mask_padding: bool = True,
                   batch_size: int = 32) -> np.ndarray:
    """Unit sentence vectors from token vectors averaged by hand, with or without the mask."""
    masked, unmasked = encode_both_ways(model, sentences, batch_size)
    return masked if mask_padding else unmasked


def padding_effect(model, sentences: Sequence[str]):
    """Per sentence, batched with the others: padding tokens added, and the cosine between its
    embedding alone and its embedding in the batch, with and without masking the padding."""
    import pandas as pd

    if len(sentences) < 2:
        raise ValueError("padding_effect needs at least two sentences of different lengths.")
    alone = np.concatenate([encode_by_hand(model, [s]) for s in sentences])
    masked, unmasked = encode_both_ways(model, sentences)
    lengths = token_embeddings(model, sentences)[1].sum(dim=1).tolist()
    return pd.DataFrame({
        "sentence": list(sentences), "tokens": lengths,
        "padding tokens": [max(lengths) - n for n in lengths],
        "cos(alone, masked batch)": np.sum(alone * masked, axis=1).round(4),
        "cos(alone, unmasked batch)": np.sum(alone * unmasked, axis=1).round(4),
    })


# ---------------------------------------------------------------- scoring pairs


def load_cross_encoder(name: str | Path | None = None, max_length: int = 128,
                       device: str | None = None):
    """A CrossEncoder with one output (a score): by hub id online or from a local folder;
    None gives the packaged MiniLM backbone with a new, untrained score head."""
    from sentence_transformers.cross_encoder import CrossEncoder

    if name is None:
        target = str(packaged_model_path())
    elif Path(name).expanduser().is_dir():
        target = str(Path(name).expanduser())
    elif not is_online():
        raise ModelUnavailableError(
            f"Cross-encoder {name!r} needs the Hugging Face Hub, which is not reachable (offline). "
            "Use load_cross_encoder() for the packaged backbone, or pass a local folder.")
    else:
        target = str(name)
    with quiet_loading():  # 'converting to CrossEncoder, new head' is expected here
        return CrossEncoder(target, num_labels=1, max_length=max_length,
                            device=device or default_device())


@contextlib.contextmanager
def quiet_loading():
    """Silence load-time progress bars and the expected 'newly initialized head' reports."""
    import logging

    from transformers.utils import logging as hf_logging

    st_logger = logging.getLogger("sentence_transformers")
    verbosity, bars, level = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled(), st_logger.level
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    st_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        st_logger.setLevel(level)


def is_cross_encoder(model) -> bool:
    """True for a CrossEncoder (scores pairs), False for a SentenceTransformer (embeds)."""
    from sentence_transformers.cross_encoder import CrossEncoder

    return isinstance(model, CrossEncoder)


def pair_scores(model, left: Sequence[str], right: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Similarity of each (left[i], right[i]): cosine for a bi-encoder, the head's score for a
    cross-encoder."""
    if is_cross_encoder(model):
        if len(left) != len(right):
            raise ValueError(f"left has {len(left)} sentences but right has {len(right)}; pass pairs.")
        return model.predict(list(zip(left, right, strict=True)), batch_size=batch_size, show_progress_bar=False)
    return pair_cosines(model, left, right, batch_size)


def sts_spearman(model, sts, batch_size: int = 64) -> float:
    """Spearman correlation of a model's pair scores with the gold scores of an STS split."""
    from scipy.stats import spearmanr

    scores = pair_scores(model, sts["sentence1"], sts["sentence2"], batch_size)
    return float(spearmanr(scores, sts["score"])[0])


def sts_table(models: dict, sts, batch_size: int = 64):
    """One row per model: bi- or cross-encoder, Spearman on `sts`, and seconds it took."""
    import pandas as pd

    rows = []
    for name, model in models.items():
        start = time.perf_counter()
        rho = sts_spearman(model, sts, batch_size)
        rows.append({"model": name, "kind": "cross-encoder" if is_cross_encoder(model) else "bi-encoder",
                     "Spearman": round(rho, 4), "seconds": round(time.perf_counter() - start, 2)})
    return pd.DataFrame(rows).set_index("model")


# ---------------------------------------------------------------- training a cross-encoder


# NLI labels read as rough similarity scores on the STS 0-1 scale: an entailed hypothesis is
# close to a paraphrase, a contradiction still shares the premise's topic and words.
NLI_SCORES = {"entailment": 0.9, "neutral": 0.6, "contradiction": 0.3}


def cross_training_pairs(sts, nli, limit: int | None = None, seed: int = 0,
                         random_negatives: int = 1, teacher=None):
    """Training pairs (sentence1, sentence2, label in 0-1), shuffled: STS pairs with their score,
    NLI pairs scored by NLI_SCORES, and for each premise `random_negatives` hypotheses written
    for other premises, scored 0 (unrelated).

    With a `teacher` (a bi-encoder), every pair except the STS pairs and the NLI contradictions
    is scored by the teacher's cosine instead (clipped at 0): graded targets that carry what the
    teacher knows about similarity, while the contradictions carry what it misses."""
    import random

    from datasets import Dataset

    if "split" in sts.column_names and "test" in set(sts["split"]):
        raise DataError("The STS pairs given for training include the test split; train on "
                        "load_sts(split='dev') and keep the test split for evaluation.")
    unknown = set(nli["label"]) - set(NLI_SCORES)
    if unknown:
        raise DataError(f"NLI labels {sorted(unknown)} are not in {sorted(NLI_SCORES)}; pass "
                        "pairs from course.load_nli().")
    rng = random.Random(seed)
    rows = [{"sentence1": r["sentence1"], "sentence2": r["sentence2"], "label": float(r["score"])}
            for r in sts]
    nli_rows = [{"sentence1": r["premise"], "sentence2": r["hypothesis"], "label": NLI_SCORES[r["label"]]}
                for r in nli]
    negatives = []
    premises = dict(zip(nli["premise_id"], nli["premise"], strict=True))
    for pid, premise in premises.items():
        others = [h for q, h in zip(nli["premise_id"], nli["hypothesis"], strict=True) if q != pid]
        negatives += [{"sentence1": premise, "sentence2": h, "label": 0.0}
                      for h in rng.sample(others, min(random_negatives, len(others)))]
    if teacher is not None:
        graded = [r for r, label in zip(nli_rows, nli["label"], strict=True) if label != "contradiction"]
        graded += negatives
        for row, cos in zip(graded, teacher_scores(teacher, graded), strict=True):
            row["label"] = max(cos, 0.0)
    rows += nli_rows + negatives
    rng.shuffle(rows)
    return Dataset.from_list(rows[:limit])


def teacher_scores(teacher, rows: Sequence[dict], batch_size: int = 64) -> list[float]:
    """The teacher bi-encoder's cosine for each (sentence1, sentence2) row."""
    if not rows:
        return []
    left = teacher.encode([r["sentence1"] for r in rows], batch_size=batch_size)
    right = teacher.encode([r["sentence2"] for r in rows], batch_size=batch_size)
    return [float(c) for c in teacher.similarity_pairwise(left, right).cpu().tolist()]


def label_entropy(labels) -> float:
    """The lowest mean BinaryCrossEntropyLoss any model can reach on these 0-1 targets: a
    target of 0.3 is best met by answering exactly 0.3, which still costs its entropy."""
    y = np.clip(np.asarray(labels, dtype=float), 1e-12, 1 - 1e-12)
    return float(np.mean(-(y * np.log(y) + (1 - y) * np.log(1 - y))))


def train_cross_encoder(model, pairs, loss=None, epochs: int = 1, batch_size: int = 16,
                        learning_rate: float = 1e-4, head_learning_rate: float | None = 1e-3,
                        seed: int = 0, cache: bool = False, name: str = "04 cross-encoder training") -> dict:
    """Fine-tune a CrossEncoder in place with CrossEncoderTrainer, as notebook 04 shows it: `loss`
    (default BinaryCrossEntropyLoss, which needs a `label` column), the new score head at its
    own, higher learning rate.

    cache=True: see train_or_load, which this calls; `name` names its cache entry.
    """
    import torch
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    loss = loss or BinaryCrossEntropyLoss(model)
    if isinstance(loss, BinaryCrossEntropyLoss) and "label" not in pairs.column_names:
        raise DataError(f"Training pairs lack a 'label' column (they have {pairs.column_names}); "
                        "BinaryCrossEntropyLoss needs (text, text, label) rows, e.g. from "
                        "cross_training_pairs(sts, nli).")
    if len(pairs) == 0:
        raise DataError("No training pairs: the dataset is empty.")
    heads = {r"classifier|pooler": head_learning_rate} if head_learning_rate else {}
    with tempfile.TemporaryDirectory() as out:
        args = CrossEncoderTrainingArguments(
            output_dir=out, num_train_epochs=epochs, per_device_train_batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_mapping=heads, warmup_steps=0.1, seed=seed,
            save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            dataloader_pin_memory=torch.cuda.is_available())
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=pairs, loss=loss)
        return train_or_load(trainer, cache=cache, name=name)


# The cache entries' names of notebook 04's two trainings (the notebook and benchmarks/ share them).
STS_RUN, RERANKER_RUN = "04 cross-encoder on STS", "04 reranker"

# Training arguments that change what training produces: part of train_or_load's cache key.
CACHE_ARGS = ("num_train_epochs", "max_steps", "per_device_train_batch_size", "learning_rate",
              "learning_rate_mapping", "warmup_steps", "weight_decay", "lr_scheduler_type", "seed")


def train_or_load(trainer, cache: bool = True, name: str = "04 cross-encoder training") -> dict:
    """trainer.train() for a CrossEncoderTrainer, through course.cache.remember when cache=True:
    keyed by the starting weights, the training rows, the loss and its settings and the training
    arguments that matter (CACHE_ARGS), so a rerun or `python -m course warm 04` the night before
    loads the trained weights in a second (the cache's line says when and by whom they were
    trained). The course cache is off in the smoke profile and with COURSE_CACHE=0. Returns pairs,
    epochs, seconds, the mean training loss and whether it came from the cache (then `seconds`
    is the original run's)."""
    from course import cache as store

    model, args, pairs = trainer.model, trainer.args, trainer.train_dataset
    settings = {"loss": type(trainer.loss).__name__, "loss_config": _loss_config(trainer.loss),
                "args": {k: getattr(args, k, None) for k in CACHE_ARGS},
                "max_length": getattr(model, "max_seq_length", None)}

    def fit() -> dict:
        start = time.perf_counter()
        result = trainer.train()
        return {"pairs": len(pairs), "epochs": args.num_train_epochs,
                "seconds": round(time.perf_counter() - start, 1), "train_loss": round(float(result.training_loss), 4)}

    if not cache:
        return {**fit(), "cached": False}
    found = store.lookup(name, fit, model=model, data=pairs, settings=settings)
    info = store.remember(name, fit, model=model, data=pairs, settings=settings)
    return {**info, "cached": found is not None}


def _loss_config(loss) -> dict:
    config = getattr(loss, "get_config_dict", dict)()
    return {k: v if isinstance(v, (int, float, str, bool, type(None))) else repr(v) for k, v in config.items()}


# ---------------------------------------------------------------- the scaling experiment


def pair_count(n: int) -> int:
    """Unordered pairs among n sentences: the cross-encoder passes needed, n(n-1)/2."""
    return n * (n - 1) // 2


def best_pair(embeddings, chunk: int = 1024) -> tuple[int, int, float]:
    """(i, j, cosine) of the most similar pair i < j among unit vectors, row block by row block
    so that 10,000 sentences never need the full 10,000 x 10,000 matrix in memory."""
    import torch

    emb = torch.as_tensor(embeddings)
    best = (-1, -1, -math.inf)
    for start in range(0, len(emb), chunk):
        sim = emb[start:start + chunk] @ emb.T
        rows = torch.arange(start, start + len(sim)).unsqueeze(1)
        sim = sim.masked_fill(torch.arange(len(emb)).unsqueeze(0) <= rows, -math.inf)
        value, flat = sim.flatten().max(dim=0)
        if value.item() > best[2]:
            i, j = divmod(flat.item(), len(emb))
            best = (start + i, j, value.item())
    return best


def most_similar_pair_bi(model, sentences: Sequence[str], batch_size: int = 64) -> dict:
    """Most similar pair with a bi-encoder: n encodings, then one similarity matrix."""
    start = time.perf_counter()
    emb = model.encode(list(sentences), batch_size=batch_size, convert_to_tensor=True,
                       normalize_embeddings=True).cpu()
    encoded = time.perf_counter()
    i, j, score = best_pair(emb)
    end = time.perf_counter()
    return {"i": i, "j": j, "score": score, "encode_s": encoded - start, "search_s": end - encoded}


def most_similar_pair_cross(model, sentences: Sequence[str], batch_size: int = 64) -> dict:
    """Most similar pair with a cross-encoder: one forward pass for every one of n(n-1)/2 pairs."""
    start = time.perf_counter()
    index = list(itertools.combinations(range(len(sentences)), 2))
    scores = model.predict([(sentences[i], sentences[j]) for i, j in index],
                           batch_size=batch_size, show_progress_bar=False)
    best = int(np.argmax(scores))
    return {"i": index[best][0], "j": index[best][1], "score": float(scores[best]),
            "seconds": time.perf_counter() - start}


def rate_pairs(sentences: Sequence[str]) -> list[tuple[str, str]]:
    """Each sentence paired with the next (the last with the first): as many pairs as sentences,
    each sentence in two pairs, so the pairs hold exactly twice the sentences' tokens."""
    sentences = list(sentences)
    if len(sentences) < 2:
        raise ValueError("Measuring a pair rate needs at least two sentences.")
    return list(zip(sentences, sentences[1:] + sentences[:1], strict=True))


def measure_rates(bi, cross, sentences: Sequence[str], repeats: int = 5, batch_size: int = 64) -> dict:
    """Throughput at a fixed batch size, median of `repeats` runs: sentences/s of bi.encode and
    pairs/s of cross.predict (on rate_pairs of the same sentences), with slowest/fastest spreads."""
    sentences = list(sentences)
    pairs = rate_pairs(sentences)
    bi_runs = run_times(lambda: bi.encode(sentences, batch_size=batch_size), repeats)
    cross_runs = run_times(lambda: cross.predict(pairs, batch_size=batch_size, show_progress_bar=False), repeats)
    return {"sentences": len(sentences), "pairs": len(pairs), "repeats": repeats, "batch_size": batch_size,
            "sentences_per_s": len(sentences) / float(np.median(bi_runs)),
            "pairs_per_s": len(pairs) / float(np.median(cross_runs)),
            "bi_spread": max(bi_runs) / min(bi_runs), "cross_spread": max(cross_runs) / min(cross_runs)}


def time_search(n: int = 10_000, dim: int = 384, seed: int = 0) -> float:
    """Seconds that best_pair takes on n random unit vectors: the bi-encoder's n^2 part, measured
    at full size rather than guessed from tiny n."""
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n, dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    start = time.perf_counter()
    best_pair(emb)
    return time.perf_counter() - start


@dataclass(frozen=True)
class CostModel:
    """Seconds per unit of work, measured: counting the units gives the cost at any n."""

    per_sentence: float  # bi-encoder: encode one sentence (1 / sentences per second)
    per_entry: float  # bi-encoder: one entry of the n x n similarity matrix
    per_pair: float  # cross-encoder: one pair through the network (1 / pairs per second)

    @classmethod
    def from_rates(cls, sentences_per_s: float, pairs_per_s: float, search_s: float = 0.0,
                   search_n: int = PAPER["n"]) -> CostModel:
        """The cost model of measured rates, plus a similarity search timed at search_n vectors."""
        if sentences_per_s <= 0 or pairs_per_s <= 0:
            raise ValueError(f"rates must be positive, got {sentences_per_s} sentences/s and {pairs_per_s} pairs/s")
        return cls(per_sentence=1 / sentences_per_s, per_entry=search_s / search_n ** 2, per_pair=1 / pairs_per_s)

    def bi(self, n):
        """Bi-encoder seconds for n sentences: n encodings plus an n x n similarity matrix."""
        n = np.asarray(n, float)
        return self.per_sentence * n + self.per_entry * n * n

    def cross(self, n):
        """Cross-encoder seconds for n sentences: n(n-1)/2 pair passes."""
        n = np.asarray(n, float)
        return self.per_pair * n * (n - 1) / 2


def cost_table(costs: CostModel, ns: Sequence[int] = (2, 10, 100, 1_000, 10_000)):
    """One row per n: pair count, both methods' predicted seconds (and readable), and their ratio."""
    import pandas as pd

    rows = [{"n": n, "pairs": pair_count(n), "bi_s": float(costs.bi(n)), "cross_s": float(costs.cross(n))}
            for n in ns]
    table = pd.DataFrame(rows)
    table["ratio"] = table["cross_s"] / table["bi_s"]
    table["bi-encoder"] = table["bi_s"].map(human_time)
    table["cross-encoder"] = table["cross_s"].map(human_time)
    return table


def scaling_verdict(costs: CostModel, rates: dict, n: int = PAPER["n"]) -> str:
    """The scaling conclusion at n, worded from the cost model, with how far the measured times
    would have to be off to flip it (the ratio itself) beside how much the repeats disagreed."""
    ratio = float(costs.cross(n) / costs.bi(n))
    spread = max(rates["bi_spread"], rates["cross_spread"])
    worst = ratio / (rates["bi_spread"] * rates["cross_spread"])
    faster = "the bi-encoder" if ratio > 1 else "the cross-encoder"
    robust = ("cannot flip it" if worst > 1 else "could flip it") if ratio > 1 else "decides it"
    return (f"At n = {n:,}: {human_time(float(costs.bi(n)))} vs {human_time(float(costs.cross(n)))}, "
            f"{faster} is {max(ratio, 1 / ratio):,.0f}x faster. The pair count fixes the shape; the timings "
            f"only set the scale: to flip the verdict they would have to be off by {ratio:,.0f}x, while "
            f"repeats of one job differed by at most {spread:.2f}x (slowest/fastest). Even taking each job's "
            f"most unfavourable repeat, the ratio stays {worst:,.0f}x: timing noise {robust}.")


def human_time(seconds: float) -> str:
    """Seconds as a readable duration: '4.2 s', '13 min', '7.5 h', '3.1 days'."""
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    if seconds < 0.01:
        return f"{seconds * 1000:.2g} ms"
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"


def scaling_figure(costs: CostModel, measured: Sequence[dict] = (), n_target: int = PAPER["n"],
                   title: str | None = None):
    """Log-log plot of the counting model (n / rate vs n(n-1)/2 / rate) from n = 2 to n_target,
    the whole jobs timed at small n (`measured`: dicts with n, bi_s, cross_s) and the SBERT
    paper's two figures at n = 10,000."""
    import plotly.graph_objects as go

    from course.viz import PALETTE, style

    grid = np.unique(np.geomspace(2, n_target, 80).round())
    fig = go.Figure()
    for key, label, color, model in (("bi_s", "bi-encoder: n / sentences per s", PALETTE[0], costs.bi),
                                     ("cross_s", "cross-encoder: n(n-1)/2 / pairs per s", PALETTE[3], costs.cross)):
        fig.add_scatter(x=grid, y=model(grid), mode="lines", line=dict(color=color, width=3), name=label,
                        hovertemplate="n=%{x:.0f}<br>%{y:.3g} s<extra></extra>")
        if measured:
            fig.add_scatter(x=[m["n"] for m in measured], y=[m[key] for m in measured], mode="markers",
                            marker=dict(size=11, color=color, symbol="circle-open", line=dict(width=3)),
                            name=f"{label.split(':')[0]}: whole job timed")
    fig.add_scatter(x=[PAPER["n"]] * 2, y=[PAPER["bi_s"], PAPER["cross_s"]], mode="markers+text",
                    marker=dict(symbol="star", size=16, color="black"), name="SBERT paper (V100, BERT-base)",
                    text=["SBERT ~5 s", "BERT ~65 h"], textposition="middle left")
    fig.update_xaxes(type="log", title="n sentences")
    fig.update_yaxes(type="log", title="seconds to find the most similar pair")
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    if title is None:
        title = (f"Most similar pair among n sentences: at n = {n_target:,}, "
                 f"{human_time(float(costs.bi(n_target)))} vs {human_time(float(costs.cross(n_target)))} here")
    return style(fig, title, height=620)


# ---------------------------------------------------------------- architecture diagram


def architecture_figure():
    """Side by side: the bi-encoder (two passes through one shared network, then a cosine)
    and the cross-encoder (one pass over the joined pair, then a score head)."""
    import plotly.graph_objects as go

    from course.viz import PALETTE, style

    fig = go.Figure()
    left, right, cosine_x = (1.2, 4.4), 8.8, 2.8
    boxes = [  # (x, y, half width, text, color)
        (left[0], 5, 1.2, "sentence A", "#eeeeee"), (left[1], 5, 1.2, "sentence B", "#eeeeee"),
        (left[0], 3.6, 1.2, "BERT", PALETTE[0]), (left[1], 3.6, 1.2, "BERT", PALETTE[0]),
        (left[0], 2.3, 1.2, "mean pool → u", "#c6dbef"), (left[1], 2.3, 1.2, "mean pool → v", "#c6dbef"),
        (cosine_x, 0.8, 1.2, "cosine(u, v)", "#fdd0a2"),
        (right, 5, 2.0, "[CLS] A [SEP] B [SEP]", "#eeeeee"),
        (right, 3.6, 2.0, "BERT", PALETTE[3]), (right, 2.3, 2.0, "[CLS] vector → head", "#fcbba1"),
        (right, 0.8, 2.0, "score in 0-1", "#fdd0a2"),
    ]
    for x, y, half, text, color in boxes:
        fig.add_shape(type="rect", x0=x - half, x1=x + half, y0=y - 0.4, y1=y + 0.4,
                      fillcolor=color, line=dict(color="#555555"), layer="below")
        fig.add_annotation(x=x, y=y, text=text, showarrow=False, font=dict(size=14,
                           color="white" if color in PALETTE else "black"))
    arrows = [((x, 4.6), (x, 4.0)) for x in (*left, right)]
    arrows += [((x, 3.2), (x, 2.7)) for x in (*left, right)]
    arrows += [((left[0], 1.9), (cosine_x - 0.3, 1.2)), ((left[1], 1.9), (cosine_x + 0.3, 1.2)),
               ((right, 1.9), (right, 1.2))]
    for (x0, y0), (x1, y1) in arrows:
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           text="", showarrow=True, arrowhead=2, arrowwidth=2, arrowcolor="#555555")
    fig.add_shape(type="line", x0=left[0] + 1.2, x1=left[1] - 1.2, y0=3.6, y1=3.6,
                  line=dict(color=PALETTE[0], width=3, dash="dot"))
    fig.add_annotation(x=cosine_x, y=4.3, text="same weights", showarrow=False, font=dict(size=13))
    fig.add_annotation(x=cosine_x, y=6.0, text="<b>Bi-encoder (SBERT)</b>: 2 passes, vectors reusable",
                       showarrow=False)
    fig.add_annotation(x=right, y=6.0, text="<b>Cross-encoder</b>: 1 pass per pair", showarrow=False)
    fig.update_xaxes(visible=False, range=[-0.2, 11])
    fig.update_yaxes(visible=False, range=[0.2, 6.4])
    return style(fig, "Two ways to score a sentence pair", height=480)


# ---------------------------------------------------------------- retrieve, then rerank


def retrieve_rerank(bi, cross, query: str, texts: Sequence[str], embeddings, top_k: int = 10,
                    ids: Sequence[str] | None = None):
    """Top-k by the bi-encoder, then the same k reordered by the cross-encoder: one row per
    candidate with both ranks and scores, sorted by the cross-encoder."""
    import pandas as pd
    from sentence_transformers.util import semantic_search

    if not query or not query.strip():
        raise ValueError("The query is empty: type a sentence to search for.")
    q = bi.encode([query], convert_to_tensor=True, normalize_embeddings=True).cpu()
    hits = semantic_search(q, embeddings, top_k=top_k)[0]
    found = [h["corpus_id"] for h in hits]
    scores = cross.predict([(query, texts[c]) for c in found], show_progress_bar=False)
    order = np.argsort(-scores, kind="stable")
    cross_rank = np.empty(len(found), int)
    cross_rank[order] = np.arange(1, len(found) + 1)
    table = pd.DataFrame({"bi_rank": np.arange(1, len(found) + 1), "cross_rank": cross_rank,
                          "cosine": [round(h["score"], 3) for h in hits],
                          "cross_score": np.round(scores, 3),
                          "id": [ids[c] if ids is not None else c for c in found],
                          "text": [texts[c] for c in found]})
    table["moved"] = table["bi_rank"] - table["cross_rank"]
    return table.sort_values("cross_rank").reset_index(drop=True)


def load_rerank(split: str | None = None, path: str | Path | None = None):
    """The harder retrieval set (id, query, positive, distractors, kind, split), every row checked:
    one passage answers the query, the distractors share its words but do not."""
    path = Path(path or RERANK_PATH)
    rows = read_jsonl(path, {"id": str, "query": str, "positive": str, "distractors": list,
                             "kind": str, "split": str})
    for n, row in enumerate(rows, start=1):
        bad = [d for d in row["distractors"] if not isinstance(d, str) or not d.strip()]
        if not row["distractors"] or bad:
            raise DataError(f"{path}, line {n}: 'distractors' must be a non-empty list of texts, "
                            f"got {row['distractors']!r}. List the passages that do not answer the query.")
        if row["positive"] in row["distractors"]:
            raise DataError(f"{path}, line {n}: the positive passage is also listed as a distractor. "
                            "Remove it from 'distractors'.")
        if row["kind"] not in RERANK_KINDS:
            raise DataError(f"{path}, line {n}: unknown kind {row['kind']!r}. Use one of {RERANK_KINDS}.")
    if split is not None:
        rows = [r for r in rows if r["split"] == split]
        if not rows:
            raise DataError(f"{path}: no rows in split {split!r}. Use 'train', 'test' or None.")
    from datasets import Dataset

    return Dataset.from_list(rows)


def passages(rows) -> list[str]:
    """Every passage of the rerank set once, answers and distractors: the search corpus."""
    return list(dict.fromkeys(t for r in rows for t in (r["positive"], *r["distractors"])))


def reciprocal_rank(ranked: Sequence[str], relevant: str) -> float:
    """1/rank of the relevant passage in a ranked list, 0 if it is not there."""
    ranked = list(ranked)
    return 1.0 / (ranked.index(relevant) + 1) if relevant in ranked else 0.0


def rerank_reciprocal_ranks(bi, cross, queries, corpus: Sequence[str], top_k: int = 10,
                             batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Per query: reciprocal rank of its positive among the bi-encoder's top k, and after the
    cross-encoder reorders those k (util.semantic_search, then cross.rank), as notebook 04 does."""
    from sentence_transformers.util import semantic_search

    corpus = list(corpus)
    emb = bi.encode(corpus, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True)
    q_emb = bi.encode(list(queries["query"]), convert_to_tensor=True, normalize_embeddings=True)
    before, after = [], []
    for row, hits in zip(queries, semantic_search(q_emb, emb, top_k=top_k), strict=True):
        candidates = [corpus[h["corpus_id"]] for h in hits]
        reranked = [candidates[r["corpus_id"]] for r in cross.rank(row["query"], candidates)]
        before.append(reciprocal_rank(candidates, row["positive"]))
        after.append(reciprocal_rank(reranked, row["positive"]))
    return np.array(before), np.array(after)


def random_order_mrr(reciprocal_ranks, k: int) -> float:
    """Expected MRR@k if each query's top k were shuffled at random: a query whose answer is among
    the k gets the mean of 1/1 ... 1/k (the k-th harmonic number / k), one whose answer is missing
    gets 0. A reranker must beat this to have learned anything about the candidates."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    found = np.asarray(reciprocal_ranks, dtype=float) > 0
    return float(found.mean() * sum(1 / r for r in range(1, k + 1)) / k)


def fuse_scores(cosines, cross_scores) -> np.ndarray:
    """Score fusion of one query's candidates: the bi-encoder's cosines and the cross-encoder's
    logits, each standardised over the candidates, added. A third system, neither model alone."""
    def z(x):
        x = np.asarray(x, dtype=float)
        return (x - x.mean()) / (x.std() or 1.0)
    return z(cosines) + z(cross_scores)


def reranker_training_set(bi, train, negatives: int = 3, limit: int | None = None,
                          output_format: str = "n-tuple"):
    """Rows for the reranker: each training query, its answer and its `negatives` hardest
    non-answers among the training passages by the bi-encoder (util.mine_hard_negatives):
    (query, positive, negative_1, ...) for a ranking loss, or (query, passage, label) rows with
    output_format="labeled-pair"."""
    from sentence_transformers.util import mine_hard_negatives

    train = train.select(range(min(limit, len(train)))) if limit else train
    pairs = train.select_columns(["query", "positive"])
    return mine_hard_negatives(pairs, bi, corpus=passages(train), num_negatives=negatives,
                               range_max=10, sampling_strategy="top", output_format=output_format,
                               verbose=False)


def train_reranker(start, bi, train, p: SbertPreset, seed: int = 0, cache: bool = True):
    """Notebook 04's reranker end to end: a copy of `start` (the section-4 cross-encoder) trained
    with MultipleNegativesRankingLoss on mined (query, answer, hard negatives) rows, cached by
    config. Returns (CrossEncoder, info)."""
    import copy

    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss

    reranker = copy.deepcopy(start)
    data = reranker_training_set(bi, train, p.rerank_negatives, p.rerank_queries)
    info = train_cross_encoder(reranker, data, loss=MultipleNegativesRankingLoss(reranker),
                               epochs=p.rerank_epochs, batch_size=p.rerank_batch_size,
                               learning_rate=p.rerank_learning_rate, head_learning_rate=None,
                               seed=seed, cache=cache, name=RERANKER_RUN)
    return reranker, info


def train_sts_cross_encoder(bi, p: SbertPreset, profile_seed: int = 0, device: str | None = None,
                            cache: bool = True):
    """Notebook 04's section-4 cross-encoder end to end: the packaged backbone with a new head,
    trained on STS dev + NLI train + random negatives with the bi-encoder `bi` as teacher
    (cross_training_pairs), cached by config. Returns (CrossEncoder, info)."""
    from course.datasets import load_nli, load_sts
    from course.env import seed_everything

    seed_everything(profile_seed)
    ce = load_cross_encoder(device=device)
    pairs = cross_training_pairs(load_sts(split="dev"), load_nli(split="train"), limit=p.train_pairs,
                                 seed=profile_seed, teacher=bi)
    info = train_cross_encoder(ce, pairs, epochs=p.epochs, batch_size=p.train_batch_size,
                               learning_rate=p.learning_rate, head_learning_rate=p.head_learning_rate,
                               seed=profile_seed, cache=cache, name=STS_RUN)
    return ce, info


def rerank_figure(table, title: str = "Bi-encoder order → cross-encoder order"):
    """Slope chart: each candidate's rank under the bi-encoder (left) and after reranking (right)."""
    import plotly.graph_objects as go

    from course.viz import PALETTE, style

    fig = go.Figure()
    for _, row in table.iterrows():
        color = PALETTE[2] if row["moved"] > 0 else PALETTE[3] if row["moved"] < 0 else "#999999"
        label = row["text"] if len(row["text"]) <= 60 else row["text"][:59] + "…"
        fig.add_scatter(x=["bi-encoder", "cross-encoder"], y=[row["bi_rank"], row["cross_rank"]],
                        mode="lines+markers", line=dict(color=color, width=3), marker=dict(size=10),
                        name=label, hovertemplate=f"{label}<br>rank %{{y}}<extra></extra>")
    fig.update_yaxes(autorange="reversed", title="rank", dtick=1)
    fig.update_layout(showlegend=False)
    return style(fig, title, height=460)
