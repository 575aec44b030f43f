"""Plumbing for notebook 09 (smaller, faster, cheaper embeddings): profile sizes, the two
yardsticks with their intervals, timing, stand-in vectors for search at scale, the faiss
indexes behind the cost table, and the figures.

The techniques themselves (MatryoshkaLoss and truncate_dim, quantize_embeddings, an ONNX export
quantized to int8 with onnxruntime, a model2vec StaticEmbedding, a faiss HNSW index) are written
out in the notebook; the functions here
repeat those calls only to run them for many variants, and say so in their docstrings.

    from course import efficiency as eff
    S = eff.preset(course.profile())
    data = eff.eval_data(S.calibration)
    base = eff.embed_eval(model, data)
    print(eff.score(base, data))
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course import stats
from course.datasets import COURSE, HUB_NLI, load_corpus, load_nli, load_queries, load_sts
from course.env import Profile, artifacts_dir
from course.env import device as default_device
from course.models import DEFAULT_MODEL
from course.timings import run_times

TOP_K = 10
MATRYOSHKA_DIMS = (384, 256, 128, 64, 32)
# model2vec's own default: drop BERT's [unused...] placeholder tokens, keep the rest.
FULL_VOCABULARY = r"\[unused\d+\]"


@dataclass(frozen=True)
class EfficiencyPreset:
    """The sizes of notebook 09 for one profile."""

    name: str
    model: str = DEFAULT_MODEL
    dims: tuple[int, ...] = MATRYOSHKA_DIMS
    train_rows: int | None = None  # (anchor, positive) pairs to fine-tune on; None: all
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 5e-5
    sts_pairs: int | None = None  # STS test pairs to score (None: all)
    calibration: int = 1_000  # sentences whose embeddings set the int8 ranges
    static_dims: int = 256  # PCA size of the distilled static model
    static_vocabulary: str = "full"  # "full" | "course" (only the tokens the course data uses)
    ann_vectors: int = 100_000  # stand-in vectors for search timings and the HNSW index
    ann_queries: int = 100
    hnsw_m: int = 32  # graph neighbours per node
    ef_construction: int = 40  # candidate list while building
    ef_search: tuple[int, ...] = (16, 32, 64, 128)  # candidate lists tried while searching
    rescore_multiplier: int = 4  # binary search keeps TOP_K * this many candidates to rescore
    repeats: int = 3  # every timing is the median of this many runs
    speed_texts: int | None = None  # corpus sentences timed for throughput (None: all)
    latency_queries: int = 20  # queries encoded one at a time for the latency
    resamples: int = 2_000  # bootstrap resamples per interval

    @property
    def train_source(self) -> str:
        """Where the fine-tuning pairs come from: all-nli on the GPU profile, the course set otherwise."""
        return HUB_NLI if self.name == "gpu" else COURSE


PRESETS = {
    "smoke": EfficiencyPreset("smoke", train_rows=32, batch_size=16, sts_pairs=48, calibration=200,
                              static_vocabulary="course", ann_vectors=5_000, ann_queries=50, ef_search=(16, 64),
                              resamples=200, speed_texts=32, latency_queries=5),
    "cpu": EfficiencyPreset("cpu", epochs=2, learning_rate=1e-4, ann_vectors=50_000),
    "gpu": EfficiencyPreset("gpu", train_rows=20_000, batch_size=128, epochs=1),
}


def preset(p: Profile | str, **overrides) -> EfficiencyPreset:
    """The preset for a profile (or its name), with any field overridden."""
    from dataclasses import replace

    name = p if isinstance(p, str) else p.name
    if name not in PRESETS:
        raise ValueError(f"unknown profile {name!r}; use one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)


# ---------------------------------------------------------------- the yardsticks' data

@dataclass(frozen=True)
class EvalData:
    """The texts every variant is measured on: STS test pairs with gold scores, the corpus and
    its queries (with the indices of each query's relevant sentences), calibration sentences."""

    sts_left: list[str]
    sts_right: list[str]
    sts_gold: np.ndarray
    corpus_ids: list[str]
    corpus_texts: list[str]
    query_texts: list[str]
    relevant: list[frozenset[int]]
    calibration_texts: list[str] = field(repr=False)

    def __str__(self) -> str:
        return (f"{len(self.sts_gold)} STS test pairs, {len(self.corpus_texts)} corpus sentences, "
                f"{len(self.query_texts)} queries, {len(self.calibration_texts)} calibration sentences")


def eval_data(calibration: int = 1_000, sts_pairs: int | None = None, seed: int = 0) -> EvalData:
    """The course's STS test split (first `sts_pairs`), corpus and queries, plus up to `calibration`
    NLI sentences (none of them in the corpus, the queries or the STS pairs) to calibrate int8."""
    sts, corpus, queries = load_sts(split="test", limit=sts_pairs), load_corpus(), load_queries()
    ids, texts = list(corpus["id"]), list(corpus["text"])
    position = {cid: i for i, cid in enumerate(ids)}
    left, right = list(sts["sentence1"]), list(sts["sentence2"])
    query_texts = [q["query"] for q in queries]
    nli = load_nli(split=None)
    seen = set(texts) | set(query_texts) | set(left) | set(right)
    pool = sorted({s for s in list(nli["premise"]) + list(nli["hypothesis"])} - seen)
    rng = np.random.default_rng(seed)
    chosen = [pool[i] for i in rng.permutation(len(pool))[:calibration]]
    return EvalData(left, right, np.asarray(sts["score"], dtype=float), ids, texts, query_texts,
                    [frozenset(position[c] for c in q["relevant"]) for q in queries], chosen)


def training_pairs(S: EfficiencyPreset, online: bool = False):
    """(anchor, positive) pairs: each NLI premise with a hypothesis it entails.

    The notebook writes these three `datasets` calls out; the benchmark reuses them from here.
    """
    source = S.train_source if online else COURSE
    nli = load_nli(source, split="train", limit=None if source == COURSE else S.train_rows * 3)
    pairs = (nli.filter(lambda row: row["label"] == "entailment")
             .select_columns(["premise", "hypothesis"])
             .rename_columns({"premise": "anchor", "hypothesis": "positive"}))
    return pairs.select(range(min(len(pairs), S.train_rows or len(pairs))))


# ---------------------------------------------------------------- embeddings and scores

@dataclass(frozen=True)
class Embedded:
    """One model's embeddings of the yardstick texts (as the model returns them)."""

    left: np.ndarray
    right: np.ndarray
    queries: np.ndarray
    docs: np.ndarray

    @property
    def dim(self) -> int:
        return self.docs.shape[1]

    def at(self, dim: int) -> Embedded:
        """The first `dim` numbers of every vector, re-normalised: what `truncate_dim=dim` with
        `normalize_embeddings=True` returns (the notebook checks that they agree)."""
        return Embedded(*(truncate(e, dim) for e in (self.left, self.right, self.queries, self.docs)))


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (cosine similarity becomes a dot product)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def truncate(embeddings: np.ndarray, dim: int) -> np.ndarray:
    """Keep the first `dim` numbers and re-normalise, as Matryoshka truncation does."""
    if not 0 < dim <= embeddings.shape[1]:
        raise ValueError(f"cannot truncate {embeddings.shape[1]}-dimensional embeddings to {dim}; "
                         f"pick a size between 1 and {embeddings.shape[1]}")
    return unit(embeddings[:, :dim])


def embed_eval(model, data: EvalData, batch_size: int = 64, docs: np.ndarray | None = None) -> Embedded:
    """Encode the STS pairs, the queries and the corpus with one `model.encode` call (the corpus
    only if its embeddings by this model are not passed as `docs`)."""
    texts = data.sts_left + data.sts_right + data.query_texts + (data.corpus_texts if docs is None else [])
    e = np.asarray(model.encode(texts, batch_size=batch_size, convert_to_numpy=True), dtype=np.float32)
    cuts = np.cumsum([len(data.sts_left), len(data.sts_right), len(data.query_texts)])
    left, right, queries, encoded = np.split(e, cuts)
    return Embedded(left, right, queries, encoded if docs is None else np.asarray(docs, dtype=np.float32))


def top_k(scores: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Indices of the k highest scores per row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def ndcg(ranked: np.ndarray, relevant: Sequence[frozenset[int]], k: int = TOP_K) -> np.ndarray:
    """nDCG@k per query for binary relevance: sum of 1/log2(rank + 1) over the relevant hits in
    the top k, divided by the same sum for a perfect ranking. 1 = every relevant sentence on top."""
    gains = 1.0 / np.log2(np.arange(2, k + 2))
    out = np.empty(len(relevant))
    for i, (row, rel) in enumerate(zip(ranked, relevant, strict=True)):
        hits = np.array([int(doc) in rel for doc in row[:k]], dtype=float)
        out[i] = float(hits @ gains[: len(hits)]) / gains[: min(len(rel), k)].sum()
    return out


def spearman(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Spearman rank correlation: do the similarities order the pairs as the human scores do?"""
    from scipy.stats import spearmanr

    return float(spearmanr(gold, predicted).statistic)


def spearman_ci(gold: np.ndarray, predicted: np.ndarray, resamples: int = 2_000) -> tuple[float, float]:
    """95% bootstrap interval of Spearman's rho, resampling pairs (course.stats.bootstrap_ci)."""
    g, p = np.asarray(gold, dtype=float), np.asarray(predicted, dtype=float)
    return stats.bootstrap_ci(np.arange(len(g)), statistic=lambda idx: spearman(g[idx.astype(int)], p[idx.astype(int)]),
                              n_resamples=resamples)


@dataclass(frozen=True)
class Score:
    """STS Spearman and retrieval nDCG@10 of one variant, each with its 95% interval."""

    sts: float
    sts_ci: tuple[float, float]
    ndcg: float
    ndcg_ci: tuple[float, float]
    pair_cos: np.ndarray = field(repr=False)
    per_query: np.ndarray = field(repr=False)

    def __str__(self) -> str:
        return (f"STS Spearman {self.sts:.3f} ({len(self.pair_cos)} pairs, 95% CI {self.sts_ci[0]:.3f}-"
                f"{self.sts_ci[1]:.3f}) | nDCG@10 {self.ndcg:.3f} ({len(self.per_query)} queries, "
                f"95% CI {self.ndcg_ci[0]:.3f}-{self.ndcg_ci[1]:.3f})")


def retrieval(per_query: np.ndarray, resamples: int = 2_000) -> tuple[float, tuple[float, float]]:
    """Mean nDCG@10 over queries with its bootstrap interval."""
    return float(np.mean(per_query)), stats.bootstrap_ci(per_query, n_resamples=resamples)


def score(emb: Embedded, data: EvalData, dim: int | None = None, resamples: int = 2_000) -> Score:
    """Both yardsticks for one model's embeddings, optionally truncated to `dim`."""
    e = emb.at(dim or emb.dim)
    pair_cos = (e.left * e.right).sum(axis=1)
    per_query = ndcg(top_k(e.queries @ e.docs.T), data.relevant)
    mean, ci = retrieval(per_query, resamples)
    return Score(spearman(data.sts_gold, pair_cos), spearman_ci(data.sts_gold, pair_cos, resamples),
                 mean, ci, pair_cos, per_query)


def dims_table(models: Mapping[str, Embedded], data: EvalData, dims: Sequence[int], resamples: int = 2_000):
    """Quality of every model at every size, with intervals and the share of its own full-size
    quality it keeps (the Matryoshka blog's "percentage of performance")."""
    import pandas as pd

    rows = []
    for name, emb in models.items():
        full = score(emb, data, resamples=resamples)
        for d in dims:
            s = full if d == emb.dim else score(emb, data, d, resamples)
            rows.append(dict(model=name, dims=d, sts=s.sts, sts_low=s.sts_ci[0], sts_high=s.sts_ci[1],
                             ndcg=s.ndcg, ndcg_low=s.ndcg_ci[0], ndcg_high=s.ndcg_ci[1],
                             sts_kept=s.sts / full.sts, ndcg_kept=s.ndcg / full.ndcg))
    return pd.DataFrame(rows)


def compare(before: Embedded, after: Embedded, data: EvalData, dim: int | None = None,
            resamples: int = 2_000) -> dict:
    """after minus before (each at its full size, or both truncated to `dim`) on the same pairs and
    queries: a paired interval for each yardstick."""
    b, a = score(before, data, dim, resamples=200), score(after, data, dim, resamples=200)
    return {"STS Spearman": stats.paired_metric_diff(data.sts_gold, b.pair_cos, a.pair_cos, n_resamples=resamples),
            "nDCG@10": stats.paired_bootstrap(b.per_query, a.per_query, n_resamples=resamples)}


def verdict(diff: stats.PairedDiff, higher: str = "higher", lower: str = "lower") -> str:
    """Words that follow a paired difference's interval, not just its sign."""
    if diff.low == diff.high == 0:
        return "identical on every item"
    if diff.low > 0:
        return f"{higher} (95% CI {diff.low:+.3f} to {diff.high:+.3f} excludes 0)"
    if diff.high < 0:
        return f"{lower} (95% CI {diff.low:+.3f} to {diff.high:+.3f} excludes 0)"
    return f"not distinguishable here (95% CI {diff.low:+.3f} to {diff.high:+.3f} includes 0)"


# ---------------------------------------------------------------- fine-tuning (notebook section 2)

def finetune(model_path: str, pairs, S: EfficiencyPreset, matryoshka_dims: Sequence[int] | None = None,
             output_dir: str | Path | None = None, seed: int = 0):
    """The notebook's training cell as a function: MultipleNegativesRankingLoss, wrapped in
    MatryoshkaLoss when `matryoshka_dims` is given, with the same arguments for both runs.

    Returns (model, the trainer's TrainOutput); its `training_loss` is the mean loss over the steps
    (for MatryoshkaLoss, the sum of the MNRL losses at every size)."""
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

    model = SentenceTransformer(model_path, device=default_device())
    loss = MultipleNegativesRankingLoss(model)
    if matryoshka_dims:
        loss = MatryoshkaLoss(model, loss, matryoshka_dims=list(matryoshka_dims))
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir or artifacts_dir() / "runs"), num_train_epochs=S.epochs,
        per_device_train_batch_size=S.batch_size, learning_rate=S.learning_rate, warmup_steps=0.1,
        batch_sampler=BatchSamplers.NO_DUPLICATES, seed=seed, save_strategy="no", report_to="none",
        disable_tqdm=True)
    result = SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs, loss=loss).train()
    return model, result


def model_dir(name: str) -> Path:
    """Where this notebook saves a model (artifacts/, or artifacts/smoke/ in the smoke profile)."""
    return artifacts_dir() / name


# ---------------------------------------------------------------- quantization (section 3)

def ranges_of(calibration: np.ndarray) -> np.ndarray:
    """Per-dimension (min, max) of the calibration embeddings: the int8 buckets of quantize_embeddings."""
    return np.vstack([calibration.min(axis=0), calibration.max(axis=0)]).astype(np.float32)


def dequantize(codes: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """Approximate float values back from int8 codes made with these calibration embeddings."""
    lo, hi = ranges_of(calibration)
    step = np.where(hi > lo, (hi - lo) / 255, 1.0)
    return (codes.astype(np.float32) + 128.0) * step + lo


def rescore(queries: np.ndarray, candidates: np.ndarray, doc_vectors: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Re-rank each query's candidates by float query . document vector; the best k, best first."""
    cand = np.asarray(candidates)
    scores = np.einsum("qd,qkd->qk", queries, doc_vectors[cand].astype(np.float32))
    return np.take_along_axis(cand, top_k(scores, k), axis=1)


# What each search keeps in memory (binary + rescoring reads its int8 candidates from disk).
RESCORED = "binary + int8 rescoring"
FORMATS = {"float32": "float32", "int8": "int8", "binary": "binary", RESCORED: "binary"}


def quantized_search(docs: np.ndarray, queries: np.ndarray, calibration: np.ndarray,
                     rescore_multiplier: int = 4, k: int = TOP_K) -> dict[str, np.ndarray]:
    """The notebook's quantization cells as one function: the top k per query with float32, int8
    and binary vectors (exact search each), and binary search rescored with int8 documents."""
    from sentence_transformers import quantize_embeddings

    docs_int8 = quantize_embeddings(docs, precision="int8", calibration_embeddings=calibration)
    queries_int8 = quantize_embeddings(queries, precision="int8", calibration_embeddings=calibration)
    binary = binary_index(quantize_embeddings(docs, precision="ubinary"))
    queries_bin = quantize_embeddings(queries, precision="ubinary")
    _, candidates = binary.search(queries_bin, k * rescore_multiplier)
    return {"float32": flat_index(docs).search(queries, k)[1],
            "int8": int8_index(docs_int8).search(queries_int8.astype(np.float32), k)[1],
            "binary": binary.search(queries_bin, k)[1],
            RESCORED: rescore(queries, candidates, dequantize(docs_int8, calibration), k)}


def format_search_ms(vectors: np.ndarray, queries: np.ndarray, calibration: np.ndarray, S: EfficiencyPreset,
                     dims: Sequence[int] = ()) -> dict[str, float]:
    """Median ms per query of exact search over `vectors` in each storage format (and float32 at
    each size in `dims`), with the same faiss indexes as the notebook."""
    from sentence_transformers import quantize_embeddings

    codes = quantize_embeddings(vectors, precision="int8", calibration_embeddings=calibration)
    q_codes = quantize_embeddings(queries, precision="int8", calibration_embeddings=calibration).astype(np.float32)
    binary, q_bin = binary_index(quantize_embeddings(vectors, precision="ubinary")), quantize_embeddings(
        queries, precision="ubinary")
    back = dequantize(codes, calibration)
    k_many = TOP_K * S.rescore_multiplier

    def binary_then_rescore():
        rescore(queries, binary.search(q_bin, k_many)[1], back)

    full = vectors.shape[1]
    out = {f"float32@{d}": search_ms(flat_index(truncate(vectors, d)), truncate(queries, d), repeats=S.repeats)
           for d in sorted(set(dims) | {full})}
    out["float32"] = out[f"float32@{full}"]
    out["int8"] = search_ms(int8_index(codes), q_codes, repeats=S.repeats)
    out["binary"] = search_ms(binary, q_bin, repeats=S.repeats)
    out[RESCORED] = 1000 * median_seconds(binary_then_rescore, S.repeats) / len(queries)
    return out


def quantization_table(found: Mapping[str, np.ndarray], data: EvalData, search: Mapping[str, float],
                       dims: int, resamples: int = 2_000):
    """Per format: bytes per vector and per million, ms per query at scale, nDCG@10 with its
    interval, the share of float32's nDCG@10 kept, and the paired difference from float32."""
    import pandas as pd

    per_query = {name: ndcg(ranked, data.relevant) for name, ranked in found.items()}
    ref = per_query["float32"]
    rows = []
    for name, q in per_query.items():
        nbytes = bytes_per_vector(dims, FORMATS[name]) if name in FORMATS else float("nan")
        mean, (low, high) = retrieval(q, resamples)
        diff = stats.paired_bootstrap(ref, q, n_resamples=resamples)
        rows.append({"variant": name, "bytes_per_vector": nbytes, "MiB_per_million": mib_per_million(nbytes),
                     "ms_per_query": search.get(name, float("nan")), "ndcg": mean, "ndcg_low": low,
                     "ndcg_high": high, "kept": mean / ref.mean(), "vs_float32": verdict(diff, "better", "worse")})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- faiss indexes and timing

def flat_index(vectors: np.ndarray):
    """Exact inner-product search over float32 vectors (cosine, for unit vectors)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def int8_index(codes: np.ndarray):
    """Exact inner-product search over int8 codes stored as 1 byte per number."""
    import faiss

    index = faiss.IndexScalarQuantizer(codes.shape[1], faiss.ScalarQuantizer.QT_8bit_direct_signed,
                                       faiss.METRIC_INNER_PRODUCT)
    index.add(np.ascontiguousarray(codes, dtype=np.float32))
    return index


def binary_index(packed: np.ndarray):
    """Exact Hamming-distance search over bits packed 8 per byte (quantize_embeddings 'ubinary')."""
    import faiss

    index = faiss.IndexBinaryFlat(packed.shape[1] * 8)
    index.add(np.ascontiguousarray(packed, dtype=np.uint8))
    return index


def hnsw_index(vectors: np.ndarray, m: int, ef_construction: int):
    """An HNSW graph over float32 vectors (approximate inner-product search), as built in the notebook."""
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def median_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of `repeats` calls (after one untimed warm-up call)."""
    return statistics.median(run_times(fn, repeats))


def search_ms(index, queries: np.ndarray, k: int = TOP_K, repeats: int = 3) -> float:
    """Median milliseconds per query for one batched `index.search` over all queries."""
    return 1000 * median_seconds(lambda: index.search(queries, k), repeats) / len(queries)


def throughput(model, texts: Sequence[str], repeats: int = 3, batch_size: int = 64) -> float:
    """Encoded sentences per second (median of `repeats` runs over `texts`)."""
    return len(texts) / median_seconds(lambda: model.encode(list(texts), batch_size=batch_size), repeats)


def query_ms(model, queries: Sequence[str], repeats: int = 3, n: int = 20) -> float:
    """Median milliseconds to encode one query on its own (the latency a search box sees)."""
    sample = list(queries)[:n]
    return 1000 * median_seconds(lambda: [model.encode([q]) for q in sample], repeats) / len(sample)


# ---------------------------------------------------------------- a faster encoder: ONNX + int8 (section 4)

def export_onnx(model, path: str | Path) -> Path:
    """The notebook's export cell as a function: the transformer of a SentenceTransformer (module 0,
    token vectors out) to one ONNX file with any batch size and length. Pooling stays outside it
    (OnnxEncoder does it), as in the ONNX files sentence-transformers exports."""
    import torch

    if next(model.parameters()).device.type != "cpu":
        raise ValueError("export a model loaded on the CPU: SentenceTransformer(path, device=\"cpu\")")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = model.tokenizer(["an example", "a second, longer example"], padding=True, return_tensors="pt")
    names = list(example)  # input_ids, token_type_ids, attention_mask for BERT
    auto = {0: torch.export.Dim.AUTO, 1: torch.export.Dim.AUTO}  # batch and length stay free
    program = torch.onnx.export(model[0].auto_model.eval(), (), kwargs={k: example[k] for k in names},
                                input_names=names, output_names=["token_embeddings"],
                                dynamic_shapes={k: auto for k in names}, external_data=False, verbose=False)
    program.save(str(path))
    return path


def quantize_onnx(source: str | Path, target: str | Path, per_channel: bool = True) -> Path:
    """The notebook's quantization cell as a function: onnxruntime's pre-processing (kept next to the
    source as <name>.pre.onnx, exercise 3 quantizes it again), then dynamic int8 quantization
    (weights stored as int8, activations quantized on the fly at every call)."""
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    source, target = Path(source), Path(target)
    if not source.is_file():
        raise FileNotFoundError(f"no ONNX file at {source}: export the model first (eff.export_onnx).")
    prepared = source.with_name(source.stem + ".pre.onnx")
    quant_pre_process(source, prepared, auto_merge=True)
    quantize_dynamic(prepared, target, weight_type=QuantType.QInt8, per_channel=per_channel)
    return target


class OnnxEncoder:
    """An ONNX transformer run by onnxruntime on the CPU, with all-MiniLM-L6-v2's pooling written out
    (the mean of the real tokens' vectors, scaled to length 1): the notebook's class, for the benchmark
    and the checks. `encode` takes the texts and a batch size like SentenceTransformer.encode."""

    device = "cpu"

    def __init__(self, path: str | Path, tokenizer, max_length: int = 256):
        import onnxruntime as ort

        if not Path(path).is_file():
            raise FileNotFoundError(f"no ONNX file at {path}: export the model first (torch.onnx.export, "
                                    "or eff.export_onnx(model, path)).")
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer, self.max_length = tokenizer, max_length

    def encode(self, texts: Sequence[str], batch_size: int = 64, **unused) -> np.ndarray:
        """Unit-length sentence vectors, one row per text (other SentenceTransformer.encode options are ignored)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            raise ValueError("nothing to encode: pass a non-empty list of texts")
        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                   max_length=self.max_length, return_tensors="np")
            tokens = self.session.run(["token_embeddings"], {k: batch[k] for k in self.inputs})[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            out.append(unit((tokens * mask).sum(axis=1) / mask.sum(axis=1)))
        return np.vstack(out)


def disk_bytes(path: str | Path) -> int:
    """Bytes on disk of a file, or of every file under a folder (a saved model)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"nothing at {path}: save the model there first")
    return path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def weight_bytes(model) -> int:
    """Bytes of a torch model's parameters (float32: 4 per weight), what its safetensors file holds."""
    return sum(p.numel() * p.element_size() for p in model.parameters())


# ---------------------------------------------------------------- stand-in vectors (section 6)

def standin_vectors(reference: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n unit vectors drawn from a Gaussian with the mean and covariance of real embeddings: the
    notebook's lines (mean, covariance, multivariate normal, scale to length 1) as a function.

    Offline there are no 100,000 real sentences to embed; these vectors have the same size and
    the same spread over directions as MiniLM's, but no topics or duplicates, so they time an
    index honestly and say less about its recall on real data.
    """
    ref = np.asarray(reference)
    if ref.ndim != 2 or len(ref) < 2:
        raise ValueError(f"need a 2-D array of at least 2 reference embeddings, got shape {ref.shape}")
    mean, cov = ref.mean(axis=0), np.cov(ref, rowvar=False)
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(mean, cov, size=n, method="eigh").astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per query: the share of the exact top k that the approximate search also returned."""
    k = truth.shape[1]
    return np.array([len(set(f[:k].tolist()) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)])


def hnsw_sweep(index, queries: np.ndarray, truth: np.ndarray, ef_search: Sequence[int], repeats: int = 3):
    """Recall@10 (with its interval) and ms per query of an HNSW index at several efSearch values."""
    import pandas as pd

    rows = []
    for ef in ef_search:
        index.hnsw.efSearch = ef
        _, found = index.search(queries, truth.shape[1])
        r = recall_at_k(found, truth)
        low, high = stats.bootstrap_ci(r, n_resamples=1_000)
        rows.append(dict(ef_search=ef, recall=float(r.mean()), recall_low=low, recall_high=high,
                         ms_per_query=search_ms(index, queries, truth.shape[1], repeats)))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the cost table and the frontier

BYTES = {"float32": 4.0, "int8": 1.0, "binary": 1 / 8}


def bytes_per_vector(dims: int, dtype: str) -> float:
    """Storage of one vector: dims times the bytes per number (binary packs 8 numbers per byte)."""
    if dtype not in BYTES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(BYTES)}")
    return dims * BYTES[dtype]


def mib_per_million(nbytes: float) -> float:
    return nbytes * 1e6 / 2**20


@dataclass
class Variant:
    """One way to store and search vectors, with what it costs and what it keeps."""

    name: str
    family: str
    dims: int
    dtype: str
    bytes_per_vector: float
    ndcg: float
    ndcg_ci: tuple[float, float]
    search_ms: float
    encode_ms: float
    sentences_per_s: float
    sts: float | None = None
    disk_bytes: float = 0.0  # read from disk per candidate, not held in memory (int8 rescoring)
    model_bytes: float | None = None  # the encoder's weights on disk (one file or folder per model)

    @property
    def query_ms(self) -> float:
        """Encode one query, then search the stand-in vectors."""
        return self.encode_ms + self.search_ms

    def row(self) -> dict:
        return dict(variant=self.name, family=self.family, dims=self.dims, dtype=self.dtype,
                    bytes_per_vector=self.bytes_per_vector, mib_per_million=mib_per_million(self.bytes_per_vector),
                    disk_bytes_per_vector=self.disk_bytes,
                    encode_sentences_per_s=self.sentences_per_s, encode_ms=self.encode_ms,
                    search_ms=self.search_ms, query_ms=self.query_ms, ndcg=self.ndcg,
                    ndcg_low=self.ndcg_ci[0], ndcg_high=self.ndcg_ci[1], sts=self.sts, model_bytes=self.model_bytes)


def hnsw_bytes(dims: int, m: int) -> float:
    """An HNSW node: the float32 vector plus about 2*M neighbour ids of 4 bytes on the bottom layer."""
    return bytes_per_vector(dims, "float32") + 2 * m * 4


def frontier_table(dims_tbl, quant_tbl, static: Score, static_dims: int, hnsw: tuple[float, float, float],
                   encode: Mapping[str, tuple[float, float]], search: Mapping[str, float], m: int,
                   encoders: Mapping[str, Score] | None = None, model_bytes: Mapping[str, float] | None = None):
    """Every variant measured in the notebook as one table, sorted by nDCG@10.

    `encode` maps "MiniLM", "static" and every name in `encoders` to (sentences per second, ms to
    encode one query); `search` holds ms per query at scale per storage format ("float32@<dims>",
    "int8", ...); `hnsw` is (nDCG@10 on the course queries, its interval's low and high) at the
    efSearch whose latency is search["hnsw"]. `encoders` are faster runs of MiniLM itself (e.g.
    "ONNX int8": its Score), stored as float32 vectors; `model_bytes` gives each encoder's size on disk.
    """
    import pandas as pd

    size = dict(model_bytes or {})
    minilm, stat = encode["MiniLM"], encode["static"]
    rows = [Variant(f"{r.model} @ {r.dims}", r.model, int(r.dims), "float32", bytes_per_vector(r.dims, "float32"),
                    r.ndcg, (r.ndcg_low, r.ndcg_high), search[f"float32@{r.dims}"], minilm[1], minilm[0], r.sts,
                    model_bytes=size.get("MiniLM"))
            for r in dims_tbl.itertuples()]
    dims = int(dims_tbl.dims.max())
    for r in quant_tbl.itertuples():
        if r.variant == "float32":
            continue
        on_disk = bytes_per_vector(dims, "int8") if r.variant == RESCORED else 0.0
        name = f"MiniLM {r.variant}" + (f" ({r.bytes_per_vector:.0f} B in memory + {on_disk:.0f} B on disk)"
                                        if on_disk else "")
        rows.append(Variant(name, "quantized MiniLM", dims, FORMATS[r.variant], r.bytes_per_vector, r.ndcg,
                            (r.ndcg_low, r.ndcg_high), r.ms_per_query, minilm[1], minilm[0], disk_bytes=on_disk,
                            model_bytes=size.get("MiniLM")))
    for name, quality in (encoders or {}).items():
        rows.append(Variant(f"MiniLM, {name} encoder @ {dims}", "faster encoder", dims, "float32",
                            bytes_per_vector(dims, "float32"), quality.ndcg, quality.ndcg_ci, search[f"float32@{dims}"],
                            encode[name][1], encode[name][0], quality.sts, model_bytes=size.get(name)))
    rows.append(Variant(f"static @ {static_dims}", "static (model2vec)", static_dims, "float32",
                        bytes_per_vector(static_dims, "float32"), static.ndcg, static.ndcg_ci,
                        search[f"float32@{static_dims}"], stat[1], stat[0], static.sts, model_bytes=size.get("static")))
    rows.append(Variant("MiniLM + HNSW index", "HNSW index", dims, "float32", hnsw_bytes(dims, m), hnsw[0],
                        (hnsw[1], hnsw[2]), search["hnsw"], minilm[1], minilm[0], model_bytes=size.get("MiniLM")))
    return pd.DataFrame([v.row() for v in rows]).sort_values("ndcg", ascending=False, ignore_index=True)


def pareto(table, cost: str, quality: str = "ndcg") -> list[str]:
    """Variants no other variant beats on both cost (lower) and quality (higher)."""
    out = []
    for _, r in table.iterrows():
        dominated = ((table[cost] <= r[cost]) & (table[quality] >= r[quality])
                     & ((table[cost] < r[cost]) | (table[quality] > r[quality]))).any()
        if not dominated:
            out.append(r["variant"])
    return out


# ---------------------------------------------------------------- static model (section 5)

def course_tokens(tokenizer, texts: Sequence[str]) -> set[str]:
    """The tokenizer's tokens that occur in `texts`, plus its special tokens."""
    used = set(tokenizer.all_special_tokens)
    for text in texts:
        used.update(tokenizer.tokenize(text))
    return used


def keep_only(tokens: Sequence[str]) -> str:
    """A model2vec `token_remove_pattern` that removes every token except `tokens`: distill drops the
    vocabulary tokens the pattern `re.match`es, and this negative lookahead matches every token that
    is not exactly one of `tokens` (the notebook writes the same line out)."""
    if not tokens:
        raise ValueError("keep at least one token")
    return "(?!(?:" + "|".join(map(re.escape, sorted(tokens))) + ")$)"


def token_filter(S: EfficiencyPreset, model_path: str, data: EvalData) -> str:
    """model2vec's default pattern (the full vocabulary) on cpu/gpu; on smoke, a pattern that keeps
    only the tokens of the corpus and the queries, so that distillation takes seconds, not a minute."""
    if S.static_vocabulary == "full":
        return FULL_VOCABULARY
    from transformers import AutoTokenizer

    texts = data.query_texts + data.corpus_texts
    return keep_only(sorted(course_tokens(AutoTokenizer.from_pretrained(model_path), texts)))


def load_static(folder: str | Path):
    """A sentence-transformers model made of one StaticEmbedding module read from a model2vec folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    return SentenceTransformer(modules=[StaticEmbedding.from_model2vec(str(folder))], device="cpu")


def distill_static(model_path: str, S: EfficiencyPreset, data: EvalData, folder: str | Path):
    """The notebook's distillation cell as a function: model2vec's distill, saved, loaded back."""
    from model2vec.distill import distill

    m2v = distill(model_path, pca_dims=S.static_dims, token_remove_pattern=token_filter(S, model_path, data))
    m2v.save_pretrained(str(folder))
    return load_static(folder)


# ---------------------------------------------------------------- figures

def dims_figure(table, title: str = "Quality at each embedding size (95% intervals)"):
    """Two panels, STS Spearman and nDCG@10 against the number of dimensions, one line per model."""
    from plotly.subplots import make_subplots

    from course import viz

    fig = make_subplots(rows=1, cols=2, subplot_titles=("STS Spearman", "retrieval nDCG@10"))
    for i, (name, part) in enumerate(table.groupby("model", sort=False)):
        part = part.sort_values("dims")
        color = viz.PALETTE[i % len(viz.PALETTE)]
        for col, metric in enumerate(("sts", "ndcg"), start=1):
            fig.add_scatter(x=part["dims"], y=part[metric], mode="lines+markers", name=name, legendgroup=name,
                            showlegend=col == 1, line=dict(color=color), row=1, col=col,
                            error_y=dict(type="data", symmetric=False, array=part[f"{metric}_high"] - part[metric],
                                         arrayminus=part[metric] - part[f"{metric}_low"]))
    fig.update_xaxes(type="log", tickvals=sorted(table["dims"].unique()), title_text="dimensions kept")
    return viz.style(fig, title)


def ann_figure(sweep, exact_ms: float, title: str = "HNSW: recall@10 against search time"):
    """Recall@10 (with intervals) against ms per query for each efSearch, and exact search's time."""
    import plotly.graph_objects as go

    from course import viz

    fig = go.Figure(go.Scatter(
        x=sweep["ms_per_query"], y=sweep["recall"], mode="lines+markers+text", name="HNSW",
        text=[f"efSearch={e}" for e in sweep["ef_search"]], textposition="bottom right",
        error_y=dict(type="data", symmetric=False, array=sweep["recall_high"] - sweep["recall"],
                     arrayminus=sweep["recall"] - sweep["recall_low"])))
    fig.add_scatter(x=[exact_ms], y=[1.0], mode="markers+text", name="exact search", text=["exact"],
                    textposition="top left", marker=dict(size=12, symbol="diamond"))
    fig.update_layout(xaxis_title="ms per query (median)", yaxis_title="recall@10 vs exact search")
    fig.update_xaxes(type="log")
    return viz.style(fig, title)


def frontier_figure(table, title: str = "What each variant costs and what it keeps"):
    """nDCG@10 against bytes per vector and against ms per query; the Pareto front of each is drawn."""
    from plotly.subplots import make_subplots

    from course import viz

    fig = make_subplots(rows=1, cols=2, subplot_titles=("storage", "latency (encode + search)"))
    families = list(dict.fromkeys(table["family"]))
    for col, cost in enumerate(("bytes_per_vector", "query_ms"), start=1):
        for i, fam in enumerate(families):
            part = table[table.family == fam]
            fig.add_scatter(x=part[cost], y=part["ndcg"], mode="markers", name=fam, legendgroup=fam,
                            showlegend=col == 1, marker=dict(size=11, color=viz.PALETTE[i % len(viz.PALETTE)]),
                            text=part["variant"], row=1, col=col,
                            hovertemplate="%{text}<br>%{x:.3g}<br>nDCG@10 %{y:.3f}<extra></extra>")
        front = table[table.variant.isin(pareto(table, cost))].sort_values(cost)
        fig.add_scatter(x=front[cost], y=front["ndcg"], mode="lines", name="Pareto front", legendgroup="front",
                        showlegend=col == 1, line=dict(color="gray", dash="dot"), row=1, col=col)
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="bytes per vector", row=1, col=1)
    fig.update_xaxes(title_text="ms per query", row=1, col=2)
    fig.update_yaxes(title_text="nDCG@10 (course queries)", row=1, col=1)
    return viz.style(fig, title, height=560)
