"""Notebook 09's measurements as JSON: per variant its dims or dtype, bytes per vector in memory
(and on disk, for int8 rescoring), the encoder's bytes on disk, encode sentences/s, ms per query
(encode one query + search the stand-in vectors) and quality (course retrieval nDCG@10 with its 95%
interval, STS Spearman where defined); plus the HNSW sweep, both training losses, and the encoders
(PyTorch, ONNX float32, ONNX int8, static) with speed, size on disk and, for ONNX int8, the paired
difference from the PyTorch model on both yardsticks.

    python benchmarks/efficiency.py                 # the active profile (COURSE_PROFILE, default cpu)
    COURSE_PROFILE=smoke python benchmarks/efficiency.py

It trains the two fine-tuned models (with and without MatryoshkaLoss), exports MiniLM to ONNX and
quantizes it to int8, and distils the static model like the notebook, with the same functions; the
JSON object is the last line printed.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np


def main() -> int:
    import course
    from course import efficiency as eff

    P = course.profile()
    S = eff.preset(P)
    started = time.perf_counter()
    data = eff.eval_data(S.calibration, S.sts_pairs)
    model_path = course.models.resolve(S.model)
    base_model = course.load_embedder(S.model, device=P.device)
    base = eff.embed_eval(base_model, data)
    pairs = eff.training_pairs(S, P.online)
    mrl, mrl_run = eff.finetune(model_path, pairs, S, matryoshka_dims=S.dims)
    standard, standard_run = eff.finetune(model_path, pairs, S, matryoshka_dims=None)
    models = {"MiniLM": base, "fine-tuned, MNRL": eff.embed_eval(standard, data),
              "fine-tuned, Matryoshka": eff.embed_eval(mrl, data)}
    dims = eff.dims_table(models, data, S.dims, S.resamples)

    calibration = base_model.encode(data.calibration_texts, normalize_embeddings=True)
    docs, queries = eff.unit(base.docs), eff.unit(base.queries)
    found = eff.quantized_search(docs, queries, calibration, S.rescore_multiplier)
    reference = np.vstack([docs, calibration])
    X = eff.standin_vectors(reference, S.ann_vectors)
    XQ = eff.standin_vectors(reference, S.ann_queries, seed=1)
    search = eff.format_search_ms(X, XQ, calibration, S, dims=sorted(set(S.dims) | {S.static_dims}))
    quant = eff.quantization_table(found, data, search, docs.shape[1], S.resamples)

    distill_start = time.perf_counter()
    static = eff.distill_static(model_path, S, data, eff.model_dir("minilm-static"))
    distill_s = time.perf_counter() - distill_start
    static_score = eff.score(eff.embed_eval(static, data), data, resamples=S.resamples)
    cpu_model = base_model if P.device == "cpu" else course.load_embedder(S.model, device="cpu")
    onnx_dir = eff.model_dir("minilm-onnx")
    export_start = time.perf_counter()
    onnx_float = eff.export_onnx(cpu_model, onnx_dir / "model.onnx")
    export_s = time.perf_counter() - export_start
    onnx_int8 = eff.quantize_onnx(onnx_float, onnx_dir / "model_int8.onnx")
    encoders = {"MiniLM": base_model, "static": static,
                "ONNX float32": eff.OnnxEncoder(onnx_float, cpu_model.tokenizer, cpu_model.max_seq_length),
                "ONNX int8": eff.OnnxEncoder(onnx_int8, cpu_model.tokenizer, cpu_model.max_seq_length)}
    texts = data.corpus_texts[: S.speed_texts]
    encode = {name: (eff.throughput(m, texts, S.repeats), eff.query_ms(m, data.query_texts, S.repeats,
                                                                        S.latency_queries))
              for name, m in encoders.items()}
    model_bytes = {"MiniLM": eff.weight_bytes(cpu_model), "static": eff.disk_bytes(eff.model_dir("minilm-static")),
                   "ONNX float32": eff.disk_bytes(onnx_float), "ONNX int8": eff.disk_bytes(onnx_int8)}
    onnx_emb = eff.embed_eval(encoders["ONNX int8"], data)
    onnx_score = eff.score(onnx_emb, data, resamples=S.resamples)
    onnx_vs_float = eff.compare(base, onnx_emb, data, resamples=S.resamples)

    _, truth = eff.flat_index(X).search(XQ, eff.TOP_K)
    build_start = time.perf_counter()
    hnsw = eff.hnsw_index(X, S.hnsw_m, S.ef_construction)
    build_s = time.perf_counter() - build_start
    sweep = eff.hnsw_sweep(hnsw, XQ, truth, S.ef_search, S.repeats)
    search["hnsw"] = float(sweep.set_index("ef_search").loc[64, "ms_per_query"])
    course_hnsw = eff.hnsw_index(docs, S.hnsw_m, S.ef_construction)
    course_hnsw.hnsw.efSearch = 64
    mean, ci = eff.retrieval(eff.ndcg(course_hnsw.search(queries, eff.TOP_K)[1], data.relevant), S.resamples)

    table = eff.frontier_table(dims, quant, static_score, S.static_dims, (mean, *ci), encode, search, S.hnsw_m,
                               encoders={"ONNX int8": onnx_score}, model_bytes=model_bytes)
    columns = ["variant", "dims", "dtype", "bytes_per_vector", "disk_bytes_per_vector", "model_bytes",
               "encode_sentences_per_s", "query_ms", "search_ms", "ndcg", "ndcg_low", "ndcg_high", "sts"]
    report = {
        "profile": P.name, "device": P.device, "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "stand_in_vectors": len(X), "queries_timed": len(XQ), "repeats": S.repeats,
        "train_pairs": len(pairs), "distill_s": round(distill_s, 1),
        "train_loss": {"matryoshka (sum over sizes)": round(mrl_run.training_loss, 4),
                       "mnrl": round(standard_run.training_loss, 4)},
        "variants": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                     for row in table[columns].replace({np.nan: None}).to_dict("records")],
        "encoders": {name: {"sentences_per_s": round(encode[name][0], 1), "ms_per_query": round(encode[name][1], 3),
                            "model_bytes": int(model_bytes[name]), "device": str(m.device)}
                     for name, m in encoders.items()},
        "onnx": {"export_s": round(export_s, 1), "quantization": "dynamic int8, per channel (onnxruntime)",
                 "vs_pytorch": {metric: {"before": round(d.before, 4), "after": round(d.after, 4),
                                         "diff": round(d.diff, 4), "low": round(d.low, 4), "high": round(d.high, 4)}
                                for metric, d in onnx_vs_float.items()}},
        "hnsw": {"vectors": len(X), "m": S.hnsw_m, "ef_construction": S.ef_construction, "build_s": round(build_s, 2),
                 "exact_ms_per_query": round(search["float32"], 4),
                 "sweep": sweep.round(4).to_dict("records")},
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
