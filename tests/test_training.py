"""Tests for course.training (notebook 06), its exercise check and the throughput benchmark.

Training runs use a tiny random BERT and max_steps=2, so the file stays quick on a CPU.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset

import course
from course import training as tr
from course.exercises import training as ex
from course.triplets import save_triplets

ROOT = Path(__file__).resolve().parent.parent
TRIPLETS = Dataset.from_list([
    {"anchor": f"A dog number {i} runs in the park.", "positive": f"Dog {i} is outside.",
     "negative": f"Dog {i} is asleep indoors."} for i in range(8)
])


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "bert"
    tr.random_bert(hidden=32, layers=1, heads=2).save(str(path))
    return path


@pytest.fixture(scope="module")
def trained(tiny_dir):
    cfg = tr.preset("smoke", model=str(tiny_dir), batch_size=4)
    return tr.train(cfg, TRIPLETS, progress=False)


def _summary(rows):
    """Notebook 06's summary table: mean, std (ddof=1) and count per loss."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    metrics = [m for m in ("triplet accuracy", "STS Spearman") if m in frame]
    return frame.groupby("loss", sort=False)[metrics].agg(["mean", "std", "count"])


# ---------------------------------------------------------------- presets

def test_presets_cover_profiles_and_overrides_apply():
    assert set(tr.PRESETS) == set(tr.COMPARE) == {"smoke", "cpu", "gpu"}
    cfg = tr.preset("cpu", learning_rate=3e-5, epochs=1)
    assert (cfg.learning_rate, cfg.epochs, cfg.model) == (3e-5, 1, course.DEFAULT_MODEL)
    assert tr.preset("smoke").max_steps > 0 and tr.preset("smoke").length == "2 steps"
    assert tr.preset("cpu", epochs=1).length == "1 epoch(s)"
    assert tr.preset("smoke", max_steps=1).length == "1 step"


def test_preset_rejects_unknown_field_and_bad_values():
    with pytest.raises(ValueError, match="no field"):
        tr.preset("cpu", epoch=2)
    with pytest.raises(ValueError, match="loss="):
        tr.preset("cpu", loss="triplet-magic")
    with pytest.raises(ValueError, match="batch_size"):
        tr.preset("cpu", batch_size=1)
    with pytest.raises(ValueError, match="Unknown profile"):
        tr.preset("tpu")


def test_gpu_preset_offline_falls_back_to_packaged_model_and_course_data():
    p = course.Profile("gpu", "cuda", False, (0,), 10, 8)
    cfg = tr.preset(p)
    assert cfg.model == course.DEFAULT_MODEL and cfg.data == "course" and cfg.train_rows is None
    online = tr.preset(course.Profile("gpu", "cuda", True, (0,), 10, 8))
    assert online.model == tr.PLAIN_BERT and online.data == "all-nli"


def test_compare_configs_are_losses_times_seeds():
    configs = tr.compare_configs("cpu")
    spec = tr.COMPARE["cpu"]
    assert len(configs) == len(spec.losses) * len(spec.seeds) and len(spec.seeds) >= 3
    assert {(c.loss, c.seed) for c in configs} == {(lo, s) for lo in spec.losses for s in spec.seeds}


def test_batch_size_grows_with_free_memory_and_shrinks_with_length():
    t4, a100 = tr.batch_size_for(15.0, max_seq_length=64), tr.batch_size_for(79.0, max_seq_length=64)
    assert t4 == 64 and a100 > t4
    assert tr.batch_size_for(15.0, max_seq_length=128) < t4
    assert tr.batch_size_for(15.0, "sentence-transformers/all-MiniLM-L6-v2", 64) > t4
    assert tr.batch_size_for(0.1) == 8


def test_precision_flags():
    assert tr.precision_flags("auto", cuda=False, capability=(0, 0)) == {"fp16": False, "bf16": False}
    assert tr.precision_flags("auto", cuda=True, capability=(7, 5)) == {"fp16": True, "bf16": False}
    assert tr.precision_flags("auto", cuda=True, capability=(8, 0)) == {"fp16": False, "bf16": True}
    with pytest.raises(ValueError, match="CUDA"):
        tr.precision_flags("fp16", cuda=False, capability=(0, 0))


def test_oom_advice_names_the_two_fixes():
    text = tr.oom_advice(tr.preset("cpu"), 64)
    assert "batch_size=32" in text and "cached-mnrl" in text


# ---------------------------------------------------------------- data and losses

def test_loss_data_columns_per_loss():
    assert tr.loss_data(TRIPLETS, "mnrl").column_names == ["anchor", "positive", "negative"]
    assert tr.loss_data(TRIPLETS, "mnrl-inbatch").column_names == ["anchor", "positive"]
    cos = tr.loss_data(TRIPLETS, "cosine")
    assert len(cos) == 2 * len(TRIPLETS) and cos["score"][:2] == [1.0, 0.0]
    assert cos["sentence1"][:2] == [TRIPLETS[0]["anchor"]] * 2
    assert cos["sentence2"][:2] == [TRIPLETS[0]["positive"], TRIPLETS[0]["negative"]]
    assert tr.loss_data(TRIPLETS, "softmax")["label"][:2] == [0, 1]
    with pytest.raises(course.DataError, match="negative"):
        tr.loss_data(TRIPLETS.select_columns(["anchor", "positive"]), "mnrl")


def test_make_loss_names(tiny_dir):
    model = course.load_embedder(str(tiny_dir), device="cpu")
    names = {n: type(tr.make_loss(n, model)).__name__ for n in tr.LOSSES}
    assert names["mnrl"] == "MultipleNegativesRankingLoss"
    assert names["cached-mnrl"] == "CachedMultipleNegativesRankingLoss"
    assert names["softmax"] == "SoftmaxLoss"
    with pytest.raises(ValueError, match="Unknown loss"):
        tr.make_loss("hinge", model)


def test_course_triplets_prefer_notebook05_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ARTIFACTS", str(tmp_path))
    cfg = tr.preset("cpu")
    mined, source = tr.training_triplets(cfg)
    assert "mined" in source and len(mined) > 100
    save_triplets(TRIPLETS, tr.default_triplets_path())
    loaded, source = tr.training_triplets(cfg)
    assert "notebook 05" in source and loaded["anchor"] == TRIPLETS["anchor"]


def test_heldout_premises_are_not_trained_on():
    cfg = tr.preset("cpu")
    train = set(tr.mine_triplets(course.load_nli(split="train"))[0]["anchor"])
    held = set(tr.heldout_triplets(cfg)["anchor"])
    assert held and not train & held


# ---------------------------------------------------------------- training and evaluation

def test_train_logs_finite_losses_per_step(trained):
    steps, losses = trained.losses()
    assert steps == [1, 2] and all(math.isfinite(v) for v in losses)
    assert trained.batch_size == 4 and trained.seconds > 0


def test_pair_losses_take_the_same_steps_as_triplet_losses(tiny_dir):
    """CosineSimilarityLoss sees two rows per triplet; its batch doubles so the steps do not."""
    steps = {}
    for loss in ("mnrl", "cosine"):
        cfg = tr.preset("smoke", model=str(tiny_dir), loss=loss, batch_size=4, max_steps=-1, epochs=1)
        result = tr.train(cfg, TRIPLETS, progress=False)
        steps[loss] = tr.logged_losses(result.log_history)[0][-1]
        assert result.batch_size == 4  # triplets per step
    assert steps == {"mnrl": 2, "cosine": 2}  # 8 triplets, 4 per step, whatever the loss


def test_train_changes_the_weights(tiny_dir, trained):
    base = course.load_embedder(str(tiny_dir), device="cpu")
    a = base.encode(["A dog runs."])
    b = trained.model.encode(["A dog runs."])
    assert not np.allclose(a, b)


def test_before_after_table_has_the_change():
    scores = {"heldout_cosine_accuracy": 0.5, "sts_spearman_cosine": 0.7}
    table = tr.before_after_table(scores, {k: v + 0.1 for k, v in scores.items()})
    assert list(table.columns) == ["before", "after", "change"]
    assert np.allclose(table["change"], 0.1)


def test_seed_reaches_the_batch_sampler(tiny_dir, tmp_path):
    """The comparison's seeds must change the batches (NO_DUPLICATES shuffles with `seed`)."""
    from sentence_transformers import SentenceTransformerTrainer

    model = course.load_embedder(str(tiny_dir), device="cpu")
    data = Dataset.from_list([{k: f"{v} {j}" for k, v in r.items()} for j in range(4) for r in TRIPLETS])

    def first_batches(seed):
        cfg = tr.preset("smoke", model=str(tiny_dir), seed=seed)
        args = tr.training_args(cfg, str(tmp_path), batch_size=4, progress=False)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                             loss=tr.make_loss("mnrl", model))
        return [list(b) for b in trainer.get_train_dataloader().batch_sampler][:3]

    assert first_batches(0) == first_batches(0)
    assert first_batches(0) != first_batches(1)


def test_save_and_reload_encode_identically(trained, tmp_path):
    from sentence_transformers import SentenceTransformer

    path = tr.save_model(trained.model, tmp_path / "m")
    assert (path / "config_sentence_transformers.json").is_file()
    again = SentenceTransformer(str(path), device="cpu")
    texts = ["A cat sleeps.", "It rains."]
    assert np.abs(trained.model.encode(texts) - again.encode(texts)).max() < 1e-5


def test_item_scores_are_what_the_evaluators_compute(trained):
    from scipy.stats import spearmanr
    from sentence_transformers.sentence_transformer.evaluation import (
        EmbeddingSimilarityEvaluator,
        SequentialEvaluator,
        TripletEvaluator,
    )

    cfg = tr.preset("smoke")
    heldout, sts = tr.heldout_triplets(cfg), tr.sts_pairs(cfg, online=False)
    assert len(sts) == cfg.sts_rows
    scores = SequentialEvaluator([
        TripletEvaluator(list(heldout["anchor"]), list(heldout["positive"]),
                         list(heldout["negative"]), name="heldout"),
        EmbeddingSimilarityEvaluator(list(sts["sentence1"]), list(sts["sentence2"]),
                                     list(sts["score"]), name="sts")])(trained.model)
    items = tr.item_scores(trained.model, heldout, sts)
    assert items.hits.shape == (len(heldout),) and set(np.unique(items.hits)) <= {0.0, 1.0}
    assert items.anchors == list(heldout["anchor"])  # the premise of each triplet, for the interval
    assert items.accuracy == pytest.approx(scores["heldout_cosine_accuracy"], abs=1e-9)
    assert spearmanr(items.cosines, sts["score"])[0] == pytest.approx(
        scores["sts_spearman_cosine"], abs=1e-6)


def test_gain_is_judged_by_its_interval():
    rng = np.random.default_rng(0)
    sts = {"score": list(rng.random(60))}
    cos = np.asarray(sts["score"]) + rng.normal(0, 0.3, 60)
    before = tr.ItemScores(np.r_[np.ones(40), np.zeros(60)], cos)
    better = tr.ItemScores(np.r_[np.ones(80), np.zeros(20)], cos)
    g = tr.gain(before, better, sts)
    assert (g.before_hits, g.after_hits, g.triplets.n) == (40, 80, 100)
    assert g.triplets.low > 0 and "a real gain" in g.lines()[0] and "(40/100)" in g.lines()[0]
    assert g.sts.diff == 0 and "within noise" in g.lines()[1]
    same = tr.gain(before, tr.ItemScores(np.r_[np.ones(39), np.zeros(60), [1.0]], cos), sts)
    assert same.triplets.low < 0 < same.triplets.high and "within noise" in same.lines()[0]
    worse = tr.gain(better, before, sts)
    assert "a real loss" in worse.lines()[0]


def test_gain_resamples_the_premises_of_the_heldout_triplets():
    """4 triplets of a premise flip together: the by-premise interval is wider than the item one."""
    rng = np.random.default_rng(1)
    sts = {"score": list(rng.random(30))}
    cos = np.asarray(sts["score"])
    anchors = [f"p{i}" for i in range(25) for _ in range(4)]
    before_hits = np.repeat(rng.random(25) < 0.5, 4).astype(float)
    after_hits = np.where(np.repeat(rng.random(25) < 0.4, 4), 1.0, before_hits)
    by_item = tr.gain(tr.ItemScores(before_hits, cos), tr.ItemScores(after_hits, cos), sts)
    by_premise = tr.gain(tr.ItemScores(before_hits, cos, anchors), tr.ItemScores(after_hits, cos, anchors), sts)
    assert by_premise.triplets.groups == 25 and by_item.triplets.groups is None
    assert by_premise.triplets.diff == pytest.approx(by_item.triplets.diff)
    width = lambda d: d.high - d.low  # noqa: E731
    assert width(by_premise.triplets) > 1.3 * width(by_item.triplets)
    assert "from 25 premises" in by_premise.lines()[0] and "premises resampled" in by_premise.lines()[0]


def test_loss_vs_seed_sentence_follows_the_table():
    rows = [{"loss": lo, "seed": s, "triplet accuracy": m + d}
            for lo, m in (("a", 0.80), ("b", 0.60)) for s, d in ((0, -0.01), (1, 0.01))]
    assert "the loss matters much more than the seed" in tr.loss_vs_seed(_summary(rows))
    noisy = [{**r, "triplet accuracy": r["triplet accuracy"] + (0.3 if r["seed"] else -0.3)} for r in rows]
    assert "the seed matters more than the loss" in tr.loss_vs_seed(_summary(noisy))
    one_seed = [r for r in rows if r["seed"] == 0]
    assert "unknown" in tr.loss_vs_seed(_summary(one_seed))


def test_seed_agreement_tells_cancelled_flips_from_a_seed_without_effect():
    a, b = np.array([1, 0, 1, 0.0]), np.array([0, 1, 1, 0.0])  # two flips, same count
    lines = tr.seed_agreement({("x", 0): a, ("x", 1): b, ("y", 0): a, ("y", 1): a,
                               ("z", 0): a, ("z", 1): np.ones(4), ("w", 0): a})
    assert lines[0].startswith("x: its 2 seeds disagree on 2 of 4") and "flips cancel out" in lines[0]
    assert "disagree on 0 of 4" in lines[1] and "changed no decision" in lines[1]
    assert "range from 2 to 4 of 4" in lines[2]
    assert "one seed" in lines[3] and len(lines) == 4


def test_default_model_dir_is_where_notebook07_looks():
    assert tr.default_model_dir() == course.artifacts_dir() / "models" / "minilm-course-nli"


def test_comparison_figure_bars_and_error_bars():
    rows = [{"loss": lo, "seed": s, "triplet accuracy": m + d, "STS Spearman": 0.5}
            for lo, m in (("mnrl", 0.7), ("cosine", 0.6)) for s, d in ((0, -0.1), (1, 0.1))]
    fig = tr.comparison_figure(_summary(rows))
    assert [t.name for t in fig.data] == ["mnrl", "cosine"]
    assert list(fig.data[0].y) == pytest.approx([0.7, 0.5])
    assert fig.data[0].error_y.array[0] == pytest.approx(np.std([0.6, 0.8], ddof=1))


# ---------------------------------------------------------------- plots

def test_loss_curve_one_line_per_run(trained):
    fig = tr.loss_curve({"a": trained, "b": trained.log_history})
    assert [t.name for t in fig.data] == ["a", "b"] and list(fig.data[0].x) == [1, 2]
    assert list(fig.data[1].y) == trained.losses()[1]


def test_grouped_bars_values_and_errors():
    fig = tr.grouped_bars({"before": {"x": 0.2, "y": 0.5}, "after": {"x": 0.4, "y": 0.6}}, "t",
                          errors={"after": {"x": 0.01, "y": 0.02}})
    assert [t.name for t in fig.data] == ["before", "after"]
    assert list(fig.data[1].y) == [0.4, 0.6] and list(fig.data[1].error_y.array) == [0.01, 0.02]


# ---------------------------------------------------------------- command line

def test_cli_trains_evaluates_and_saves(tiny_dir, tmp_path, capsys):
    out = tmp_path / "cli-model"
    code = tr.cli(["--profile", "smoke", "--model", str(tiny_dir), "--max-steps", "1",
                   "--batch-size", "4", "--output", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and (out / "modules.json").is_file()
    assert "triplet accuracy" in text and "saved to" in text


def test_cli_bad_value_is_one_clear_line(capsys):
    assert tr.cli(["--profile", "smoke", "--batch-size", "1"]) == 2
    assert "batch_size=1" in capsys.readouterr().out


# ---------------------------------------------------------------- exercise and benchmark

def test_exercise_triplet_evaluator(capsys):
    model = course.load_embedder(device="cpu")
    assert ex.check_triplet_evaluator(..., model).passed is False
    from sentence_transformers.sentence_transformer.evaluation import TripletEvaluator

    mine = TripletEvaluator(ex.MY_TRIPLETS["anchor"], ex.MY_TRIPLETS["positive"],
                            ex.MY_TRIPLETS["negative"], name="mine")
    results = mine(model)
    assert ex.check_triplet_evaluator(results, model).passed is False
    assert "mine_cosine_accuracy" in capsys.readouterr().out
    assert ex.check_triplet_evaluator(results[mine.primary_metric], model).passed is True
    assert "of 6 new triplets (95% CI" in capsys.readouterr().out
    assert ex.check_triplet_evaluator(0.123, model).passed is False  # not a multiple of 1/6
    assert ex.check_triplet_evaluator("many", model).passed is False


def test_exercise_cosine_training(tiny_dir, tmp_path, capsys):
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import (
        CosineSimilarityLoss,
        MultipleNegativesRankingLoss,
    )

    assert ex.check_cosine_training(...).passed is False
    assert ex.check_cosine_training("trainer").passed is False

    def trainer(loss_cls, report_to="none", steps=1):
        model = course.load_embedder(str(tiny_dir), device="cpu")
        args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path), max_steps=steps,
                                                    per_device_train_batch_size=4,
                                                    report_to=report_to, save_strategy="no",
                                                    dataloader_pin_memory=False)
        t = SentenceTransformerTrainer(model=model, args=args, loss=loss_cls(model),
                                       train_dataset=Dataset.from_dict(ex.MY_PAIRS))
        t.train()
        return t

    assert ex.check_cosine_training(trainer(CosineSimilarityLoss)).passed is True
    capsys.readouterr()
    wrong = trainer(MultipleNegativesRankingLoss)
    assert ex.check_cosine_training(wrong).passed is False
    assert "CosineSimilarityLoss" in capsys.readouterr().out


def _benchmark(file: str = "train_throughput.py"):
    spec = importlib.util.spec_from_file_location(file[:-3], ROOT / "benchmarks" / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_flops_and_json(capsys):
    bench = _benchmark()
    assert bench.flops_per_triplet(100, 2, 8, 4) == 3 * 4 * (600 + 6 * 2 * 4 * 8)
    assert bench.main(["--model", "tiny-bert", "--batch-size", "2", "--seq-len", "8",
                       "--steps", "1", "--warmup", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["triplets_per_s"] > 0 and result["achieved_tflops"] >= 0
    assert result["peak_memory_mib"] > 0 and result["precision"] == "fp32"


def test_finetune_gain_benchmark_prints_the_json_line(capsys):
    assert _benchmark("finetune_gain.py").main(["--max-steps", "1"]) == 0  # smoke profile (conftest)
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    keys = {"n", "before", "after", "ci_low", "ci_high", "sts_before", "sts_after", "train_seconds"}
    assert keys <= set(last) and last["profile"] == "smoke" and last["steps"] == 1
    assert last["n"] == tr.preset("smoke").heldout_rows and last["train_seconds"] > 0
    assert last["ci_low"] - 1e-9 <= last["after"] - last["before"] <= last["ci_high"] + 1e-9


# ---------------------------------------------------------------- published numbers in notebook 06

def _notebook_text(name: str) -> str:
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")


def test_notebook_06_quotes_published_numbers_with_their_metric_and_split():
    """The book's fine-tuned 0.849 is Pearson (0.848 Spearman); the blog's 68.3% is dev, 91.5% test;
    the course STS data is in-domain for the NLI training data."""
    text = _notebook_text("06_fine_tuning.ipynb")
    assert "0.849 Pearson (0.848 Spearman)" in text and "0.849 Spearman" not in text
    assert "68.3% triplet accuracy on the all-nli *dev* split" in text and "91.5% on the *test*" in text
    assert "*in-domain*" in text
