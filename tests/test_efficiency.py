"""Notebook 09's plumbing: yardsticks, truncation, quantized search, stand-in vectors, HNSW recall,
the ONNX int8 encoder, the token filter for distillation, the frontier, and the exercise checks."""

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from course import efficiency as eff
from course.exercises import efficiency as ex


def unit_rows(n, d, seed=0):
    return eff.unit(np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32))


def test_presets_scale_with_the_profile():
    smoke, cpu = eff.preset("smoke"), eff.preset("cpu")
    assert smoke.ann_vectors < cpu.ann_vectors and smoke.train_rows < (cpu.train_rows or 10**9)
    assert 64 in smoke.ef_search and 64 in cpu.ef_search, "the frontier reads the efSearch=64 row"
    assert set(eff.MATRYOSHKA_DIMS) >= {cpu.static_dims} and all(p.repeats >= 3 for p in eff.PRESETS.values())
    assert eff.preset("cpu", epochs=5).epochs == 5
    with pytest.raises(ValueError, match="unknown profile"):
        eff.preset("laptop")


def test_eval_data_keeps_calibration_apart_and_points_at_real_documents():
    data = eff.eval_data(calibration=50)
    assert len(data.calibration_texts) == 50
    used = set(data.corpus_texts) | set(data.query_texts) | set(data.sts_left) | set(data.sts_right)
    assert not used & set(data.calibration_texts)
    assert len(data.relevant) == len(data.query_texts)
    assert all(rel and max(rel) < len(data.corpus_texts) for rel in data.relevant)
    assert len(data.sts_left) == len(data.sts_right) == len(data.sts_gold) > 100


def test_training_pairs_are_premise_and_entailment_in_mnrl_order():
    pairs = eff.training_pairs(eff.preset("smoke"))
    assert pairs.column_names == ["anchor", "positive"] and 0 < len(pairs) <= 64
    import course

    nli = course.load_nli(split="train")
    entailed = {(r["premise"], r["hypothesis"]) for r in nli if r["label"] == "entailment"}
    assert all((r["anchor"], r["positive"]) in entailed for r in pairs)


def test_truncate_keeps_the_prefix_at_unit_length():
    x = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
    t = eff.truncate(x, 4)
    assert t.shape == (5, 4) and np.allclose(np.linalg.norm(t, axis=1), 1)
    assert np.allclose(t * np.linalg.norm(x[:, :4], axis=1, keepdims=True), x[:, :4], atol=1e-6)
    with pytest.raises(ValueError, match="between 1 and 16"):
        eff.truncate(x, 32)


def test_top_k_and_ndcg():
    scores = np.array([[0.1, 0.9, 0.5, 0.3], [0.8, 0.1, 0.2, 0.7]])
    assert eff.top_k(scores, 2).tolist() == [[1, 2], [0, 3]]
    ranked = np.array([[1, 2, 0], [2, 0, 1]])
    got = eff.ndcg(ranked, [frozenset({1}), frozenset({0, 1})], k=3)
    best2 = 1 + 1 / np.log2(3)
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx((1 / np.log2(3) + 1 / np.log2(4)) / best2)
    assert eff.ndcg(np.array([[3, 2, 0]]), [frozenset({1})], k=3)[0] == 0.0


def test_score_is_perfect_when_queries_are_their_documents():
    docs = unit_rows(20, 8)
    gold = np.linspace(0, 1, 12)
    data = eff.EvalData(["a"] * 12, ["b"] * 12, gold, [str(i) for i in range(20)], ["x"] * 20, ["q"] * 5,
                        [frozenset({i}) for i in range(5)], [])
    left, noise = unit_rows(12, 8, seed=1), unit_rows(12, 8, seed=2)
    orth = eff.unit(noise - (noise * left).sum(axis=1, keepdims=True) * left)  # perpendicular to left
    right = gold[:, None] * left + np.sqrt(1 - gold**2)[:, None] * orth  # cos(left, right) = gold
    s = eff.score(eff.Embedded(left, right, docs[:5], docs), data, resamples=200)
    assert np.allclose(s.pair_cos, gold, atol=1e-5)
    assert s.ndcg == pytest.approx(1.0) and s.ndcg_ci == (1.0, 1.0) and "nDCG@10 1.000" in str(s)
    assert s.sts == pytest.approx(1.0) and s.sts_ci == pytest.approx((1.0, 1.0))


def test_verdict_follows_the_interval():
    from course.stats import PairedDiff

    assert eff.verdict(PairedDiff(0.5, 0.6, 50, 0.02, 0.18)).startswith("higher")
    assert eff.verdict(PairedDiff(0.5, 0.4, 50, -0.18, -0.02)).startswith("lower")
    assert eff.verdict(PairedDiff(0.5, 0.55, 50, -0.03, 0.12)).startswith("not distinguishable")


def test_quantized_search_finds_near_duplicates_in_every_format():
    docs = unit_rows(200, 64)
    queries = eff.unit(docs[:20] + 0.05 * unit_rows(20, 64, seed=3))
    calibration = unit_rows(500, 64, seed=4)
    found = eff.quantized_search(docs, queries, calibration, rescore_multiplier=4)
    assert set(found) == {"float32", "int8", "binary", "binary + int8 rescoring"}
    for name, ranked in found.items():
        assert ranked.shape == (20, 10)
        assert (ranked[:, 0] == np.arange(20)).mean() >= 0.9, name
    assert (found["binary + int8 rescoring"][:, 0] == np.arange(20)).all()


def test_dequantize_inverts_int8_within_one_bucket():
    from sentence_transformers import quantize_embeddings

    calibration = unit_rows(300, 16)
    x = unit_rows(10, 16, seed=5) * 0.5
    codes = quantize_embeddings(x, precision="int8", calibration_embeddings=calibration)
    step = (calibration.max(0) - calibration.min(0)) / 255
    inside = (x >= calibration.min(0)) & (x <= calibration.max(0))
    err = np.abs(eff.dequantize(codes, calibration) - x)
    assert (err[inside] <= step.max() + 1e-6).all()


def test_rescore_orders_candidates_by_float_score():
    docs = np.eye(4, dtype=np.float32)
    q = np.array([[0.1, 0.9, 0.5, 0.0]], dtype=np.float32)
    assert eff.rescore(q, np.array([[0, 1, 2, 3]]), docs, k=2).tolist() == [[1, 2]]


def test_bytes_per_vector():
    assert eff.bytes_per_vector(384, "float32") == 1536
    assert eff.bytes_per_vector(384, "int8") == 384 and eff.bytes_per_vector(384, "binary") == 48
    assert eff.hnsw_bytes(384, 32) == 1536 + 256
    with pytest.raises(ValueError, match="unknown dtype"):
        eff.bytes_per_vector(384, "float16")


def test_standin_vectors_match_the_reference_spread():
    rng = np.random.default_rng(0)
    reference = eff.unit(rng.standard_normal((2000, 8)) * np.array([5, 3, 1, 1, 0.5, 0.5, 0.2, 0.1]) + 1)
    x = eff.standin_vectors(reference, 4000)
    assert x.shape == (4000, 8) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    assert np.allclose(x.mean(axis=0), reference.mean(axis=0), atol=0.05)
    with pytest.raises(ValueError, match="at least 2"):
        eff.standin_vectors(reference[:1], 10)


def test_hnsw_recall_is_measured_against_exact_search():
    x, q = unit_rows(2000, 32), unit_rows(30, 32, seed=9)
    _, truth = eff.flat_index(x).search(q, 10)
    assert eff.recall_at_k(truth, truth).mean() == 1.0
    index = eff.hnsw_index(x, m=8, ef_construction=40)
    sweep = eff.hnsw_sweep(index, q, truth, ef_search=(4, 256), repeats=3)
    assert list(sweep.ef_search) == [4, 256]
    assert sweep.recall.iloc[1] >= sweep.recall.iloc[0] and sweep.recall.iloc[1] > 0.9
    assert (sweep.recall_low <= sweep.recall).all() and (sweep.ms_per_query > 0).all()


def test_median_seconds_repeats_and_rejects_zero():
    calls = []
    assert eff.median_seconds(lambda: calls.append(1), repeats=3) >= 0 and len(calls) == 4  # warm-up + 3
    with pytest.raises(ValueError):
        eff.median_seconds(lambda: None, repeats=0)


def test_keep_only_removes_every_other_token():
    keep = ["the", "then", "dog", "##s", "[CLS]", "a.b"]
    pattern = re.compile(eff.keep_only(keep))
    vocab = keep + ["th", "they", "dogs", "##", "cat", "[SEP]", "axb", "[unused1]"]
    assert [t for t in vocab if not pattern.match(t)] == keep
    assert eff.token_filter(eff.preset("cpu"), "unused", eff.eval_data(calibration=1)) == eff.FULL_VOCABULARY


def test_pareto_and_frontier_table():
    import pandas as pd

    table = pd.DataFrame({"variant": ["a", "b", "c", "d"], "cost": [1, 2, 3, 4], "ndcg": [0.5, 0.9, 0.8, 0.95]})
    assert eff.pareto(table, "cost") == ["a", "b", "d"]
    dims_tbl = pd.DataFrame([dict(model="m", dims=d, sts=0.5, ndcg=0.9, ndcg_low=0.8, ndcg_high=1.0) for d in (8, 4)])
    quant = pd.DataFrame([dict(variant=v, bytes_per_vector=b, ms_per_query=0.1, ndcg=0.8, ndcg_low=0.7, ndcg_high=0.9)
                          for v, b in [("float32", 32), ("int8", 8), ("binary", 1), ("binary + int8 rescoring", 1)]])
    static = eff.Score(0.4, (0.3, 0.5), 0.7, (0.6, 0.8), np.zeros(3), np.zeros(3))
    search = {"float32@8": 1.0, "float32@4": 0.5, "hnsw": 0.2}
    fast = eff.Score(0.5, (0.4, 0.6), 0.88, (0.8, 0.95), np.zeros(3), np.zeros(3))
    out = eff.frontier_table(dims_tbl, quant, static, 4, (0.85, 0.8, 0.9),
                             {"MiniLM": (100, 5.0), "static": (1e4, 0.1), "ONNX int8": (300, 2.0)}, search, m=2,
                             encoders={"ONNX int8": fast}, model_bytes={"MiniLM": 90e6, "ONNX int8": 23e6})
    assert len(out) == 2 + 3 + 1 + 1 + 1 and out.ndcg.is_monotonic_decreasing
    by_name = out.set_index("variant")
    row = by_name.loc["static @ 4"]
    assert row.bytes_per_vector == 16 and row.query_ms == pytest.approx(0.6) and np.isnan(row.model_bytes)
    onnx = by_name.loc["MiniLM, ONNX int8 encoder @ 8"]
    assert (onnx.bytes_per_vector, onnx.encode_ms, onnx.query_ms, onnx.model_bytes) == (32, 2.0, 3.0, 23e6)
    assert by_name.loc["m @ 8", "model_bytes"] == 90e6
    assert tuple(by_name.loc["MiniLM binary", ["bytes_per_vector", "disk_bytes_per_vector"]]) == (1, 0)
    rescored = by_name.loc["MiniLM binary + int8 rescoring (1 B in memory + 8 B on disk)"]
    assert rescored.bytes_per_vector == 1 and rescored.disk_bytes_per_vector == 8  # the int8 copy: 1 byte per number


# ---------------------------------------------------------------- the ONNX encoder (section 4)


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    """The packaged MiniLM on the CPU, exported to ONNX and quantized to int8 (about 15 s)."""
    from sentence_transformers import SentenceTransformer

    import course

    model = SentenceTransformer(course.models.resolve(eff.DEFAULT_MODEL), device="cpu")
    folder = tmp_path_factory.mktemp("onnx")
    exported = eff.export_onnx(model, folder / "model.onnx")
    return model, exported, eff.quantize_onnx(exported, folder / "model_int8.onnx")


def test_onnx_export_reproduces_the_model_and_int8_is_close_and_4x_smaller(onnx_model):
    model, exported, int8 = onnx_model
    texts = ex.SENTENCES + ["short", "a much longer sentence " * 40]  # padding, and truncation at 256 tokens
    reference = model.encode(texts, normalize_embeddings=True)
    encoder = eff.OnnxEncoder(exported, model.tokenizer, model.max_seq_length)
    assert np.allclose(encoder.encode(texts, batch_size=3), reference, atol=1e-4)
    quantized = eff.OnnxEncoder(int8, model.tokenizer, model.max_seq_length).encode(texts)
    cos = (quantized * reference).sum(axis=1)
    assert cos.min() > 0.95 and not np.allclose(quantized, reference, atol=1e-3)  # close, and really changed
    assert np.allclose(np.linalg.norm(quantized, axis=1), 1, atol=1e-5)
    assert eff.disk_bytes(int8) < 0.3 * eff.disk_bytes(exported)
    assert eff.disk_bytes(exported.parent) >= eff.disk_bytes(exported) + eff.disk_bytes(int8)
    assert eff.weight_bytes(model) == 4 * sum(p.numel() for p in model.parameters())
    assert (exported.parent / "model.pre.onnx").exists()  # kept for exercise 3, as in the notebook


def test_onnx_helpers_reject_missing_files_and_empty_input(onnx_model, tmp_path):
    model, exported, _ = onnx_model
    with pytest.raises(FileNotFoundError, match="export the model first"):
        eff.OnnxEncoder(tmp_path / "none.onnx", model.tokenizer)
    with pytest.raises(FileNotFoundError, match="export the model first"):
        eff.quantize_onnx(tmp_path / "none.onnx", tmp_path / "out.onnx")
    with pytest.raises(FileNotFoundError, match="save the model there first"):
        eff.disk_bytes(tmp_path / "none")
    with pytest.raises(ValueError, match="non-empty"):
        eff.OnnxEncoder(exported, model.tokenizer).encode([])


def test_check_per_tensor(onnx_model, capsys):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model, exported, int8 = onnx_model
    folder, tokenizer = exported.parent, model.tokenizer
    float_vectors = model.encode(ex.SENTENCES, normalize_embeddings=True)
    assert ex.check_per_tensor(..., folder, float_vectors, tokenizer).passed is False
    assert "per_channel=False" in capsys.readouterr().out
    quantize_dynamic(folder / "model.pre.onnx", folder / "tensor.onnx", weight_type=QuantType.QInt8)
    mine = eff.OnnxEncoder(folder / "tensor.onnx", tokenizer).encode(ex.SENTENCES)
    assert ex.check_per_tensor(float((mine * float_vectors).sum(axis=1).mean()), folder, float_vectors, tokenizer)
    assert "one scale per matrix" in capsys.readouterr().out
    channel = eff.OnnxEncoder(int8, tokenizer).encode(ex.SENTENCES)
    assert not ex.check_per_tensor(float((channel * float_vectors).sum(axis=1).mean()), folder, float_vectors,
                                   tokenizer)
    assert "per-channel" in capsys.readouterr().out
    assert not ex.check_per_tensor(1.0, folder, float_vectors, tokenizer) and "itself" in capsys.readouterr().out
    assert not ex.check_per_tensor("high", folder, float_vectors, tokenizer)


# ---------------------------------------------------------------- exercise checks


def test_check_int8(capsys):
    from sentence_transformers import quantize_embeddings

    emb, calibration = unit_rows(5, 16), unit_rows(100, 16, seed=1)
    assert ex.check_int8(..., emb, calibration).passed is False and "Not attempted" in capsys.readouterr().out
    right = quantize_embeddings(emb, precision="int8", calibration_embeddings=calibration)
    assert ex.check_int8(right, emb, calibration)
    alone = quantize_embeddings(emb, precision="int8", calibration_embeddings=emb)
    assert not ex.check_int8(alone, emb, calibration)
    assert "calibration_embeddings=calibration" in capsys.readouterr().out
    assert not ex.check_int8(right.astype(np.uint8), emb, calibration) and "dtype" in capsys.readouterr().out


def test_check_recall(capsys):
    x, q = unit_rows(1000, 16), unit_rows(20, 16, seed=2)
    _, truth = eff.flat_index(x).search(q, 10)
    index = eff.hnsw_index(x, 8, 40)
    index.hnsw.efSearch = 16
    value = eff.recall_at_k(index.search(q, 10)[1], truth).mean()
    assert ex.check_recall(value, x, q, m=8, ef_search=16)
    assert not ex.check_recall(1.7, x, q, m=8, ef_search=16) and "share" in capsys.readouterr().out
    assert not ex.check_recall("high", x, q, m=8, ef_search=16)
    assert ex.check_recall(..., x, q, m=8, ef_search=16).passed is False


def test_exercise_sentences_are_new():
    data = eff.eval_data(calibration=2000)
    known = set(data.corpus_texts) | set(data.calibration_texts) | set(data.sts_left) | set(data.sts_right)
    assert not known & set(ex.SENTENCES)


# ---------------------------------------------------------------- the benchmark


def test_benchmark_prints_every_variant_as_json(capsys):
    """benchmarks/efficiency.py end to end in the smoke profile (conftest): about a minute on 2 CPUs."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "efficiency.py"
    spec = importlib.util.spec_from_file_location("efficiency_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main() == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["profile"] == "smoke" and report["stand_in_vectors"] == eff.preset("smoke").ann_vectors
    variants = {v["variant"]: v for v in report["variants"]}
    minilm = [variants[name] for name in ("MiniLM @ 384", "MiniLM int8", "MiniLM binary")]
    assert [(v["dtype"], v["bytes_per_vector"]) for v in minilm] == [("float32", 1536), ("int8", 384), ("binary", 48)]
    rescored = [v for name, v in variants.items() if name.startswith("MiniLM binary + int8 rescoring")]
    assert len(rescored) == 1 and rescored[0]["bytes_per_vector"] == 48 and rescored[0]["disk_bytes_per_vector"] == 384
    static = variants[f"static @ {eff.preset('smoke').static_dims}"]
    hnsw = variants["MiniLM + HNSW index"]
    assert hnsw["bytes_per_vector"] == eff.hnsw_bytes(384, eff.preset("smoke").hnsw_m)
    assert static["encode_sentences_per_s"] > 0 and hnsw["query_ms"] > hnsw["search_ms"] > 0
    assert all(0 <= v["ndcg_low"] <= v["ndcg"] <= v["ndcg_high"] <= 1 for v in variants.values())
    assert [row["ef_search"] for row in report["hnsw"]["sweep"]] == list(eff.preset("smoke").ef_search)
    onnx = variants["MiniLM, ONNX int8 encoder @ 384"]
    assert onnx["bytes_per_vector"] == 1536 and onnx["model_bytes"] < 0.3 * variants["MiniLM @ 384"]["model_bytes"]
    assert set(report["encoders"]) == {"MiniLM", "static", "ONNX float32", "ONNX int8"}
    assert all(e["sentences_per_s"] > 0 and e["ms_per_query"] > 0 for e in report["encoders"].values())
    assert set(report["onnx"]["vs_pytorch"]) == {"STS Spearman", "nDCG@10"}
    assert all(d["low"] <= d["diff"] <= d["high"] for d in report["onnx"]["vs_pytorch"].values())
    assert report["train_loss"]["matryoshka (sum over sizes)"] > report["train_loss"]["mnrl"] > 0
