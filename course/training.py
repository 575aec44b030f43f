"""Fine-tuning an embedding model: presets, data, losses, the training run, before/after
evaluation, plots and the `python -m course train` command line.

One code path serves the notebook (step by step) and the command line (`cli`), which also
runs under `accelerate launch` on several GPUs: the Hugging Face Trainer underneath picks up
the processes that accelerate starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course.datasets import HUB_NLI, HUB_STS, DataError, load_hub, load_nli, load_sts
from course.env import PROFILES, Profile, artifacts_dir, is_online, profile, seed_everything, use_profile
from course.models import DEFAULT_MODEL, load_embedder, packaged_model_path, save_atomic
from course.stats import PairedDiff, paired_bootstrap, paired_cluster_bootstrap, paired_metric_diff
from course.triplets import default_triplets_path, load_triplets, mine_triplets
from course.viz import PALETTE, style

MODEL_NAME = "minilm-course-nli"
PLAIN_BERT = "bert-base-uncased"
LOSSES = {
    "mnrl": "MNRL, contradiction as hard negative",
    "mnrl-inbatch": "MNRL, in-batch negatives only",
    "cached-mnrl": "Cached MNRL (large batches on small GPUs)",
    "cosine": "CosineSimilarityLoss (entailment 1, contradiction 0)",
    "softmax": "SoftmaxLoss (classify entailment vs contradiction)",
}
# Losses trained on pairs: loss_data turns each triplet into two rows (positive, negative).
ROWS_PER_TRIPLET = {"cosine": 2, "softmax": 2}
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
DATA_SOURCES = ("course", "all-nli")


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one fine-tuning run; `preset()` fills it per profile."""

    model: str = DEFAULT_MODEL
    loss: str = "mnrl"
    data: str = "course"  # course triplets, or "all-nli" (hub triplets, online)
    train_rows: int | None = None  # cap on training triplets (None: all)
    heldout_rows: int | None = None  # cap on held-out triplets
    sts_rows: int | None = None  # cap on STS test pairs
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int | None = 16  # None: chosen from free GPU memory
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    max_seq_length: int | None = None
    precision: str = "auto"  # auto: bf16 on Ampere+, fp16 on older GPUs, fp32 on CPU
    seed: int = 0
    logging_steps: int = 1
    mini_batch_size: int = 32  # for cached-mnrl only

    @property
    def length(self) -> str:
        """How long the run is, in words: '2 steps' or '1 epoch(s)'."""
        if self.max_steps > 0:
            return f"{self.max_steps} step{'s' if self.max_steps > 1 else ''}"
        return f"{self.epochs:g} epoch(s)"


@dataclass(frozen=True)
class ComparePreset:
    """The loss comparison: which losses, which seeds, and the (smaller) run for each."""

    losses: tuple[str, ...]
    seeds: tuple[int, ...]
    overrides: Mapping[str, object] = field(default_factory=dict)


PRESETS: dict[str, TrainConfig] = {
    "smoke": TrainConfig(train_rows=24, heldout_rows=16, sts_rows=32, max_steps=2, batch_size=8),
    "cpu": TrainConfig(epochs=1, batch_size=32, learning_rate=1e-4),
    "gpu": TrainConfig(model=PLAIN_BERT, data="all-nli", train_rows=30_000, heldout_rows=2_000,
                       epochs=1, batch_size=None, learning_rate=5e-5, max_seq_length=64,
                       logging_steps=25),
}
COMPARE: dict[str, ComparePreset] = {
    "smoke": ComparePreset(("mnrl", "mnrl-inbatch"), (0,), {"max_steps": 1}),
    "cpu": ComparePreset(("mnrl", "mnrl-inbatch", "cosine"), (0, 1, 2), {"epochs": 1, "train_rows": 256}),
    "gpu": ComparePreset(("mnrl", "mnrl-inbatch", "cosine"), (0, 1, 2),
                         {"model": DEFAULT_MODEL, "train_rows": 10_000, "logging_steps": 10}),
}


# ---------------------------------------------------------------- presets and devices

def preset(p: Profile | str | None = None, **overrides) -> TrainConfig:
    """The training preset of a profile, with any field overridden by keyword.

    Offline, a preset that needs the hub (plain BERT, all-nli) falls back to the packaged
    MiniLM and the course triplets, so the gpu profile still runs without a network.
    """
    name = p if isinstance(p, str) else (p or profile()).name
    if name not in PRESETS:
        raise ValueError(f"Unknown profile {name!r}; use one of {', '.join(PROFILES)}.")
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ValueError(f"TrainConfig has no field(s) {unknown}; the fields are "
                         f"{[f.name for f in dataclasses.fields(TrainConfig)]}.")
    cfg = dataclasses.replace(PRESETS[name], **overrides)
    online = p.online if isinstance(p, Profile) else is_online()
    if not online and cfg.data == "all-nli":
        cfg = dataclasses.replace(cfg, data="course", train_rows=None, heldout_rows=None,
                                  logging_steps=1)
    if not online and cfg.model == PLAIN_BERT:
        cfg = dataclasses.replace(cfg, model=DEFAULT_MODEL)
    return validate(cfg)


def validate(cfg: TrainConfig) -> TrainConfig:
    """Check a config's choices and return it; a wrong value gets one sentence with the fix."""
    checks = [(cfg.loss in LOSSES, f"loss={cfg.loss!r}: use one of {sorted(LOSSES)}"),
              (cfg.precision in PRECISIONS, f"precision={cfg.precision!r}: use one of {PRECISIONS}"),
              (cfg.data in DATA_SOURCES, f"data={cfg.data!r}: use one of {DATA_SOURCES}"),
              (cfg.batch_size is None or cfg.batch_size >= 2,
               f"batch_size={cfg.batch_size}: MNRL needs at least 2 triplets per batch"),
              (cfg.epochs > 0 or cfg.max_steps > 0, "set epochs > 0 or max_steps > 0"),
              (cfg.learning_rate > 0, f"learning_rate={cfg.learning_rate} must be positive")]
    for ok, message in checks:
        if not ok:
            raise ValueError(f"Bad training config: {message}.")
    return cfg


def compare_configs(p: Profile | str | None = None) -> list[TrainConfig]:
    """One config per (loss, seed) of the profile's loss comparison, smaller than the main run."""
    name = p if isinstance(p, str) else (p or profile()).name
    spec = COMPARE[name]
    base = preset(p, **spec.overrides)
    return [dataclasses.replace(base, loss=loss, seed=seed)
            for loss in spec.losses for seed in spec.seeds]


def gpu_name() -> str | None:
    """The CUDA GPU's name (e.g. 'Tesla T4'), or None without one."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def batch_size_for(free_gib: float, model: str = PLAIN_BERT, max_seq_length: int = 128) -> int:
    """A power-of-two training batch (triplets) that fits `free_gib` of GPU memory.

    Rule of thumb for fp16 training: bert-base needs about 0.2 GiB of activations per triplet
    at 128 tokens, proportionally less for shorter sequences; MiniLM about half of that.
    """
    per_triplet = (0.1 if "MiniLM" in model else 0.2) * max_seq_length / 128
    size = 8
    while (size * 2) * per_triplet <= free_gib * 0.7 and size < 512:
        size *= 2
    return size


def auto_batch_size(cfg: TrainConfig) -> int:
    """cfg.batch_size, or on CUDA one chosen from the free memory (16 on CPU)."""
    if cfg.batch_size:
        return cfg.batch_size
    import torch

    if not torch.cuda.is_available():
        return 16
    free, _ = torch.cuda.mem_get_info()
    return batch_size_for(free / 2**30, cfg.model, cfg.max_seq_length or 128)


def precision_flags(precision: str = "auto", cuda: bool | None = None,
                    capability: tuple[int, int] | None = None) -> dict[str, bool]:
    """fp16/bf16 flags for the Trainer: auto means bf16 on Ampere or newer, fp16 on older GPUs
    (a T4 is 7.5), fp32 on CPU."""
    if cuda is None or capability is None:
        import torch

        cuda = torch.cuda.is_available() if cuda is None else cuda
        if cuda and capability is None:
            capability = torch.cuda.get_device_capability(0)
    if precision == "auto":
        precision = "fp32" if not cuda else ("bf16" if capability >= (8, 0) else "fp16")
    if precision == "fp16" and not cuda:
        raise ValueError("precision='fp16' needs a CUDA GPU; use 'fp32' (or 'bf16') on CPU.")
    return {"fp16": precision == "fp16", "bf16": precision == "bf16"}


def oom_advice(cfg: TrainConfig, batch_size: int) -> str:
    """What to change after CUDA ran out of memory, in one paragraph."""
    smaller = max(2, batch_size // 2)
    return (f"CUDA ran out of memory at batch size {batch_size} (model {cfg.model}, "
            f"max_seq_length {cfg.max_seq_length}). Either halve the batch: "
            f"cfg = tr.preset(P, batch_size={smaller}), or keep the large batch that MNRL "
            f"benefits from and trade time for memory: cfg = tr.preset(P, loss='cached-mnrl', "
            f"batch_size={batch_size}, mini_batch_size=16). Then restart the runtime "
            "(Runtime > Restart session) to free the GPU and run again.")


# ---------------------------------------------------------------- data

def training_triplets(cfg: TrainConfig, use_saved: bool = True):
    """(Dataset(anchor, positive, negative), where it came from) for training.

    Course data: the triplets notebook 05 saved (unless use_saved=False), else mined here from
    the NLI train split. all-nli: the hub's triplet subset (train split), capped at cfg.train_rows.
    """
    if cfg.data == "all-nli":
        ds = load_hub(HUB_NLI, "triplet", "train", cfg.train_rows)
        return ds, f"{HUB_NLI} (triplet, train[:{cfg.train_rows}])"
    path = default_triplets_path()
    if use_saved and path.is_file():
        ds, source = load_triplets(path), f"notebook 05's triplets ({path})"
    else:
        ds, source = mine_triplets(load_nli(split="train"))[0], "course NLI train split, mined here"
    return _cap(ds, cfg.train_rows, cfg.seed), source


def heldout_triplets(cfg: TrainConfig):
    """Held-out triplets: premises never seen in training (course test split, or all-nli test)."""
    if cfg.data == "all-nli":
        return load_hub(HUB_NLI, "triplet", "test", cfg.heldout_rows)
    return _cap(mine_triplets(load_nli(split="test"))[0], cfg.heldout_rows, 0)


def sts_pairs(cfg: TrainConfig, online: bool | None = None):
    """STS test pairs for the Spearman check: the hub's stsb test online, the course's offline."""
    online = is_online() if online is None else online
    return load_sts(source=HUB_STS if online else "course", split="test", limit=cfg.sts_rows)


def _cap(ds, rows: int | None, seed: int):
    return ds if rows is None or rows >= len(ds) else ds.shuffle(seed=seed).select(range(rows))


def loss_data(triplets, loss: str):
    """The training columns a loss expects, built from (anchor, positive, negative) triplets."""
    missing = [c for c in ("anchor", "positive", "negative") if c not in triplets.column_names]
    if missing:
        raise DataError(f"Training data lacks columns {missing} (it has {triplets.column_names}); "
                        "pass triplets from mine_triplets or load_triplets.")
    if len(triplets) == 0:
        raise DataError("No training triplets (train_rows=0, or mining kept none): train on at least "
                        "one batch of triplets.")
    if loss in ("mnrl", "cached-mnrl"):
        return triplets.select_columns(["anchor", "positive", "negative"])
    if loss == "mnrl-inbatch":
        return triplets.select_columns(["anchor", "positive"])
    if loss not in ("cosine", "softmax"):
        raise ValueError(f"Unknown loss {loss!r}; use one of {sorted(LOSSES)}.")
    from datasets import Dataset

    column, pos_label, neg_label = ("score", 1.0, 0.0) if loss == "cosine" else ("label", 0, 1)
    rows = []
    for r in triplets:  # two rows per triplet: (anchor, positive) and (anchor, negative)
        rows.append({"sentence1": r["anchor"], "sentence2": r["positive"], column: pos_label})
        rows.append({"sentence1": r["anchor"], "sentence2": r["negative"], column: neg_label})
    return Dataset.from_list(rows)


def make_loss(name: str, model, distributed: bool = False, mini_batch_size: int = 32):
    """The sentence-transformers loss object for a LOSSES key."""
    from sentence_transformers.sentence_transformer import losses

    if name in ("mnrl", "mnrl-inbatch"):
        return losses.MultipleNegativesRankingLoss(model, gather_across_devices=distributed)
    if name == "cached-mnrl":
        return losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini_batch_size,
                                                         gather_across_devices=distributed)
    if name == "cosine":
        return losses.CosineSimilarityLoss(model)
    if name == "softmax":
        return losses.SoftmaxLoss(model, embedding_dimension=model.get_embedding_dimension(),
                                  num_labels=2)
    raise ValueError(f"Unknown loss {name!r}; use one of {sorted(LOSSES)}.")


# ---------------------------------------------------------------- evaluation

def before_after_table(before: Mapping[str, float], after: Mapping[str, float]):
    """A DataFrame: one row per metric, columns before / after / change."""
    import pandas as pd

    table = pd.DataFrame({"before": before, "after": after})
    table["change"] = table["after"] - table["before"]
    return table.round(3)


@dataclass(frozen=True)
class ItemScores:
    """Per-item results behind the two evaluators' numbers, for paired intervals:
    1/0 per held-out triplet (positive closer than negative), cosine per STS pair, and each
    triplet's anchor (its premise: the triplets of one premise are resampled together)."""

    hits: np.ndarray
    cosines: np.ndarray
    anchors: Sequence[str] | None = None

    @property
    def accuracy(self) -> float:
        return float(self.hits.mean())


def item_scores(model, heldout, sts, batch_size: int = 64) -> ItemScores:
    """What TripletEvaluator and EmbeddingSimilarityEvaluator compute, kept per item."""
    from course.basics import embed, pair_cosines

    a, pos, neg = (embed(model, heldout[c], batch_size) for c in ("anchor", "positive", "negative"))
    hits = ((a * pos).sum(axis=1) > (a * neg).sum(axis=1)).astype(float)
    return ItemScores(hits, pair_cosines(model, sts["sentence1"], sts["sentence2"], batch_size),
                      list(heldout["anchor"]))


@dataclass(frozen=True)
class Gain:
    """Before/after on the held-out triplets (premises resampled) and the STS pairs (pairs
    resampled), each with a paired 95% interval."""

    triplets: PairedDiff
    sts: PairedDiff
    before_hits: int
    after_hits: int

    def lines(self) -> list[str]:
        """Two sentences whose wording follows the intervals."""
        t, n = self.triplets, self.triplets.n
        groups = f" from {t.groups} {t.unit}" if t.groups else ""
        how = f" ({t.unit} resampled)" if t.groups else ""
        return [
            f"held-out triplet accuracy {t.before:.3f} ({self.before_hits}/{n}) -> {t.after:.3f} "
            f"({self.after_hits}/{n}{groups}): {t.diff:+.3f}, 95% CI {t.low:+.3f} to {t.high:+.3f}"
            f"{how}: " + verdict(t),
            f"STS Spearman {self.sts.before:.3f} -> {self.sts.after:.3f} on {self.sts.n} pairs: "
            f"{self.sts.diff:+.3f}, 95% CI {self.sts.low:+.3f} to {self.sts.high:+.3f}: "
            + verdict(self.sts),
        ]


def verdict(d: PairedDiff) -> str:
    """A before/after change in words, judged by its 95% interval."""
    if d.low > 0:
        return "a real gain (the whole interval is above 0)"
    if d.high < 0:
        return "a real loss (the whole interval is below 0)"
    return "within noise (the interval contains 0)"


def gain(before: ItemScores, after: ItemScores, sts) -> Gain:
    """Paired-bootstrap intervals (course.stats) for the triplet accuracy and STS Spearman change.

    Triplets that share a premise are resampled by premise (a cluster bootstrap): 4 triplets
    built from one premise are not 4 independent tests. STS pairs share no sentence, so they are
    resampled one by one."""
    triplets = (paired_bootstrap(before.hits, after.hits) if before.anchors is None else
                paired_cluster_bootstrap(before.hits, after.hits, before.anchors, unit="premises"))
    return Gain(triplets,
                paired_metric_diff(list(sts["score"]), before.cosines, after.cosines),
                int(before.hits.sum()), int(after.hits.sum()))


# ---------------------------------------------------------------- training

@dataclass
class TrainResult:
    """A trained model and what the run left behind (batch_size: triplets per step)."""

    model: object
    config: TrainConfig
    log_history: list[dict]
    seconds: float
    batch_size: int

    def losses(self) -> tuple[list[int], list[float]]:
        """(steps, training loss) from the Trainer's log, for the loss curve."""
        return logged_losses(self.log_history)


def logged_losses(log_history: Sequence[Mapping]) -> tuple[list[int], list[float]]:
    """(steps, training loss) from a Trainer's `state.log_history`."""
    rows = [h for h in log_history if "loss" in h and "step" in h]
    return [h["step"] for h in rows], [float(h["loss"]) for h in rows]


def world_size() -> int:
    """How many processes `accelerate launch` (or torchrun) started; 1 in a notebook."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on the process that prints, evaluates and saves (rank 0)."""
    return int(os.environ.get("RANK", "0")) == 0


def load_base(cfg: TrainConfig):
    """The model to start from: a sentence-transformers model, or a plain BERT given mean pooling."""
    model = load_embedder(cfg.model)
    if cfg.max_seq_length:
        model.max_seq_length = cfg.max_seq_length
    return model


def training_args(cfg: TrainConfig, output_dir: str, batch_size: int, progress: bool = True):
    """SentenceTransformerTrainingArguments for a config: seeded, no checkpoints, no W&B.
    `batch_size` is in dataset rows (two rows per triplet for a pair loss)."""
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers

    in_batch = cfg.loss in ("mnrl", "mnrl-inbatch", "cached-mnrl")
    return SentenceTransformerTrainingArguments(
        output_dir=output_dir, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=batch_size, learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_ratio, seed=cfg.seed,  # seeds dropout and the batch sampler's shuffle
        batch_sampler=BatchSamplers.NO_DUPLICATES if in_batch else BatchSamplers.BATCH_SAMPLER,
        save_strategy="no", eval_strategy="no", logging_steps=cfg.logging_steps,
        report_to="none", disable_tqdm=not progress, dataloader_drop_last=world_size() > 1,
        dataloader_pin_memory=torch.cuda.is_available(),
        **precision_flags(cfg.precision))


def train(cfg: TrainConfig, triplets, model=None, progress: bool = True) -> TrainResult:
    """Fine-tune `model` (default: load cfg.model) on triplets with cfg's loss; seeded.

    Checkpoints go to a temporary folder and are discarded; save the result with save_model.
    """
    import torch
    from sentence_transformers import SentenceTransformerTrainer
    from transformers import PrinterCallback

    validate(cfg)
    seed_everything(cfg.seed)
    model = model if model is not None else load_base(cfg)
    data = loss_data(triplets, cfg.loss)
    batch_size = min(auto_batch_size(cfg), len(triplets))
    # a pair loss gets two rows per triplet: twice the rows per step keeps the same triplets per
    # step and the same number of optimizer steps as the triplet losses (a fair comparison)
    rows = batch_size * ROWS_PER_TRIPLET.get(cfg.loss, 1)
    loss = make_loss(cfg.loss, model, world_size() > 1, cfg.mini_batch_size)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="course-train-") as tmp:
        trainer = SentenceTransformerTrainer(model=model, train_dataset=data, loss=loss,
                                             args=training_args(cfg, tmp, rows, progress))
        if not progress:  # without a progress bar the Trainer prints every log line instead
            trainer.remove_callback(PrinterCallback)
        try:
            trainer.train()
        except torch.OutOfMemoryError as err:
            raise RuntimeError(oom_advice(cfg, batch_size)) from err
    return TrainResult(model, cfg, list(trainer.state.log_history),
                       time.perf_counter() - start, batch_size)


def finetune_gain(cfg: TrainConfig, triplets, heldout, sts, progress: bool = False):
    """Notebook 06's measured run: per-item scores before, train, per-item scores after.
    Returns (TrainResult, Gain). Used by `benchmarks/finetune_gain.py`."""
    model = load_base(cfg)
    before = item_scores(model, heldout, sts)
    result = train(cfg, triplets, model=model, progress=progress)
    return result, gain(before, item_scores(result.model, heldout, sts), sts)


def loss_vs_seed(summary, metric: str = "triplet accuracy") -> str:
    """One sentence, computed from a summary table (per loss: mean, std, count of each metric,
    as notebook 06 builds it with pandas): does the loss or the seed move `metric` more? The
    loss's effect is the gap between the best and worst mean, the seed's the largest sample
    standard deviation (ddof=1) over seeds."""
    means, stds = summary[(metric, "mean")], summary[(metric, "std")]
    best, worst = means.idxmax(), means.idxmin()
    gap, spread = float(means[best] - means[worst]), float(stds.max())
    head = (f"{metric}: the losses differ by up to {gap:.3f} ({best} {means[best]:.3f} vs "
            f"{worst} {means[worst]:.3f})" if gap > 0 else
            f"{metric}: every loss scores {means[best]:.3f} on average")
    if math.isnan(spread):
        return head + "; one seed per loss, so how much the seed moves it is unknown here."
    if gap > 2 * spread:
        finding = "the loss matters much more than the seed"
    elif gap >= spread / 2:
        finding = "the loss and the seed matter about equally: treat the ranking as a hint"
    else:
        finding = "the seed matters more than the loss: the ranking is noise"
    return f"{head}; the seed moves a loss's score by up to {spread:.3f} (sample std over seeds, ddof=1): {finding}."


def seed_agreement(hits: Mapping[tuple[str, int], np.ndarray], n: int | None = None) -> list[str]:
    """One sentence per loss: on how many held-out triplets its seeds' runs disagree, and whether
    their hit counts differ. `hits` maps (loss, seed) to per-triplet 0/1 hits. Tells a seed that
    never reached training (no triplet flips) from flips that cancel out (equal counts, std 0)."""
    lines = []
    for loss in dict.fromkeys(name for name, _ in hits):
        runs = np.stack([np.asarray(h) for (name, _), h in hits.items() if name == loss])
        total = n or runs.shape[1]
        if len(runs) < 2:
            lines.append(f"{loss}: one seed in this profile, so the seed's effect is not measured here.")
            continue
        flipped = int((runs != runs[0]).any(axis=0).sum())
        counts = sorted({int(r.sum()) for r in runs})
        head = f"{loss}: its {len(runs)} seeds disagree on {flipped} of {total} held-out triplets"
        if flipped == 0:
            lines.append(f"{head}: the seed changed no decision, so its std of 0 says the seed "
                         "barely moves this model.")
        elif len(counts) == 1:
            lines.append(f"{head}, yet every seed scores {counts[0]}/{total}: the seed does change "
                         "the model (it shuffles the batches), but the flips cancel out, so the std is 0.")
        else:
            lines.append(f"{head}; their hit counts range from {counts[0]} to {counts[-1]} of {total}.")
    return lines


# ---------------------------------------------------------------- keeping the model

def default_model_dir() -> Path:
    """Where notebook 06 saves the fine-tuned model and notebook 07 looks for it."""
    return artifacts_dir() / "models" / MODEL_NAME


def save_model(model, path: str | Path | None = None) -> Path:
    """Save a SentenceTransformer to a folder (default: default_model_dir()) with
    course.models.save_atomic: an interrupted save leaves the previous model intact."""
    return save_atomic(model, Path(path or default_model_dir()))


# ---------------------------------------------------------------- tiny random BERT

def random_bert(hidden: int = 768, layers: int = 12, heads: int = 12, seed: int = 0):
    """A randomly initialised BERT with mean pooling, built offline from the packaged
    tokenizer: bert-base by default, or a tiny one for quick tests."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden,
                        num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=4 * hidden, max_position_embeddings=512)
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory(prefix="course-bert-") as tmp:
        BertModel(config).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        body = Transformer(tmp, max_seq_length=128)
    return SentenceTransformer(modules=[body, Pooling(hidden, pooling_mode="mean")], device="cpu")


# ---------------------------------------------------------------- plots

def loss_curve(runs, title: str = "Training loss"):
    """Training loss against step, one line per run. `runs`: a TrainResult, a Trainer's
    `state.log_history`, or a {name: either} mapping."""
    import plotly.graph_objects as go

    if not isinstance(runs, Mapping):
        runs = {runs.config.loss: runs} if isinstance(runs, TrainResult) else {"loss": runs}
    fig = go.Figure()
    for i, (name, run) in enumerate(runs.items()):
        steps, values = run.losses() if isinstance(run, TrainResult) else logged_losses(run)
        fig.add_scatter(x=steps, y=values, mode="lines+markers", name=name,
                        line=dict(color=PALETTE[i % len(PALETTE)]))
    fig.update_layout(xaxis_title="step", yaxis_title="loss")
    return style(fig, title, height=420)


def grouped_bars(groups: Mapping[str, Mapping[str, float]], title: str,
                 errors: Mapping[str, Mapping[str, float]] | None = None, y_title: str = "score"):
    """Bars per metric (x) for each group (colour), e.g. before vs after; optional error bars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (group, values) in enumerate(groups.items()):
        err = (errors or {}).get(group)
        fig.add_bar(x=list(values), y=list(values.values()), name=group,
                    marker_color=PALETTE[i % len(PALETTE)],
                    text=[f"{v:.3f}" for v in values.values()], textposition="outside",
                    error_y=dict(type="data", array=[err[m] for m in values]) if err else None)
    fig.update_layout(barmode="group", yaxis_title=y_title, yaxis_range=[0, 1.1])
    return style(fig, title, height=440)


def comparison_figure(summary, title: str = "Losses compared: mean ± std over seeds"):
    """Grouped bars from a summary table (per loss: mean and std of each metric): one colour per
    loss, error bars = std over seeds."""
    metrics = list(dict.fromkeys(summary.columns.get_level_values(0)))
    groups = {loss: {m: float(summary.loc[loss, (m, "mean")]) for m in metrics}
              for loss in summary.index}
    errors = {loss: {m: float(np.nan_to_num(summary.loc[loss, (m, "std")])) for m in metrics}
              for loss in summary.index}
    return grouped_bars(groups, title, errors)


# ---------------------------------------------------------------- command line

def parser() -> argparse.ArgumentParser:
    """Arguments of `python -m course train`: a profile preset plus overrides."""
    ap = argparse.ArgumentParser(
        prog="python -m course train",
        description="Fine-tune an embedding model on NLI triplets (the notebook 06 run), "
                    "evaluate before and after, and save it. Several GPUs: "
                    "accelerate launch -m course train ...")
    ap.add_argument("--profile", choices=PROFILES, help="size preset (default: detected)")
    ap.add_argument("--model", help="hub id or local folder to start from")
    ap.add_argument("--loss", choices=sorted(LOSSES))
    ap.add_argument("--data", choices=DATA_SOURCES, help="course triplets or hub all-nli")
    ap.add_argument("--train-rows", type=int, help="cap on training triplets")
    ap.add_argument("--epochs", type=float)
    ap.add_argument("--max-steps", type=int, help="stop after this many steps (overrides epochs)")
    ap.add_argument("--batch-size", type=int, help="per device (default: preset or from free VRAM)")
    ap.add_argument("--learning-rate", type=float)
    ap.add_argument("--max-seq-length", type=int)
    ap.add_argument("--precision", choices=PRECISIONS)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--output", type=Path, help=f"where to save (default: artifacts/models/{MODEL_NAME}, "
                    "under artifacts/smoke/ in the smoke profile)")
    ap.add_argument("--no-eval", action="store_true", help="skip the before/after evaluation")
    return ap


def cli(argv: list[str]) -> int:
    """`python -m course train ...`: the notebook's training run from a terminal; 0 on success."""
    args = parser().parse_args(argv)
    if args.profile:
        use_profile(args.profile)  # like COURSE_PROFILE: sizes, and artifacts/smoke for a smoke run
    p = profile()
    overrides = {k: v for k, v in vars(args).items()
                 if v is not None and k not in ("profile", "output", "no_eval")}
    try:
        cfg = preset(p, **overrides)
    except ValueError as err:
        print(f"error: {err}")
        return 2
    main = is_main_process()
    triplets, source = training_triplets(cfg)
    if main:
        print(f"profile {p.name} | {world_size()} process(es) | {gpu_name() or p.device} | "
              f"{len(triplets)} triplets from {source}")
        print(cfg)
    measure = main and not args.no_eval
    heldout, sts = (heldout_triplets(cfg), sts_pairs(cfg, p.online)) if measure else (None, None)
    model = load_base(cfg)
    before = item_scores(model, heldout, sts) if measure else None
    result = train(cfg, triplets, model=model)  # the Trainer shows progress on rank 0 only
    if not main:
        return 0
    print(f"trained in {result.seconds:.0f} s at batch size {result.batch_size} per device")
    if before is not None:
        print("\n".join(gain(before, item_scores(result.model, heldout, sts), sts).lines()))
    print(f"saved to {save_model(result.model, args.output)}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(cli(sys.argv[1:]))
