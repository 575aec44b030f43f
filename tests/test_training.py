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


@pytest.fixture(scope="module")
def evaluator():
    cfg = tr.preset("smoke")
    sts = tr.sts_pairs(cfg, online=False)
    assert len(sts) == cfg.sts_rows
    return tr.evaluators(tr.heldout_triplets(cfg), sts)


# ---------------------------------------------------------------- presets

def test_presets_cover_profiles_and_overrides_apply():
    assert set(tr.PRESETS) == set(tr.COMPARE) == {"smoke", "cpu", "gpu"}
    cfg = tr.preset("cpu", learning_rate=3e-5, epochs=1)
    assert (cfg.learning_rate, cfg.epochs, cfg.model) == (3e-5, 1, course.DEFAULT_MODEL)
    assert tr.preset("smoke").max_steps > 0 and tr.preset("smoke").length == "2 steps"
    assert tr.preset("cpu", epochs=1).length == "1 epoch(s)"


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
    assert len(cos) == 2 * len(TRIPLETS) and cos["label"][:2] == [1.0, 0.0]
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


def test_train_changes_the_weights(tiny_dir, trained):
    base = course.load_embedder(str(tiny_dir), device="cpu")
    a = base.encode(["A dog runs."])
    b = trained.model.encode(["A dog runs."])
    assert not np.allclose(a, b)


def test_evaluate_gives_two_scores_in_range(trained, evaluator):
    scores = tr.evaluate(trained.model, evaluator)
    assert set(scores) == {"triplet accuracy", "STS Spearman"}
    assert 0 <= scores["triplet accuracy"] <= 1 and -1 <= scores["STS Spearman"] <= 1
    table = tr.before_after_table(scores, {k: v + 0.1 for k, v in scores.items()})
    assert list(table.columns) == ["before", "after", "change"]
    assert np.allclose(table["change"], 0.1)


def test_save_and_reload_encode_identically(trained, tmp_path):
    path = tr.save_model(trained.model, tmp_path / "m")
    assert (path / "config_sentence_transformers.json").is_file()
    assert tr.reload_matches(trained.model, path, ["A cat sleeps.", "It rains."]) < 1e-5


def test_default_model_dir_is_where_notebook07_looks():
    assert tr.default_model_dir() == course.artifacts_dir() / "models" / "minilm-course-nli"


def test_push_without_token_does_nothing(trained, capsys):
    assert tr.push_to_hub(trained.model, "me/model", token=None) is None
    assert "HF_TOKEN" in capsys.readouterr().out


def test_compare_losses_and_summary(tiny_dir, evaluator):
    configs = [tr.preset("smoke", model=str(tiny_dir), batch_size=4, max_steps=1, loss=lo, seed=s)
               for lo in ("mnrl", "cosine") for s in (0, 1)]
    rows = tr.compare_losses(configs, TRIPLETS, evaluator)
    assert [(r["loss"], r["seed"]) for r in rows] == [("mnrl", 0), ("mnrl", 1),
                                                     ("cosine", 0), ("cosine", 1)]
    summary = tr.summarize(rows)
    acc = [r["triplet accuracy"] for r in rows[:2]]
    assert summary.loc["mnrl", ("triplet accuracy", "mean")] == pytest.approx(np.mean(acc), abs=1e-3)
    assert summary.loc["mnrl", ("triplet accuracy", "count")] == 2
    fig = tr.comparison_figure(summary)
    assert [t.name for t in fig.data] == ["mnrl", "cosine"]


# ---------------------------------------------------------------- plots

def test_loss_curve_one_line_per_run(trained):
    fig = tr.loss_curve({"a": trained, "b": trained})
    assert [t.name for t in fig.data] == ["a", "b"] and list(fig.data[0].x) == [1, 2]


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

def test_exercise_check(capsys):
    assert ex.check_triplet_accuracy(..., 0.7) is False
    assert ex.check_triplet_accuracy(0.7, 0.7) is True
    assert ex.check_triplet_accuracy(0.3, 0.7) is False
    assert "1 - accuracy" in capsys.readouterr().out
    assert ex.check_triplet_accuracy(0.5, 0.7) is False
    assert ex.check_triplet_accuracy("many", 0.7) is False


def _benchmark():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks/train_throughput.py")
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
