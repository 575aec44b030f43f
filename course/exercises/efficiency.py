"""Self-checks for notebook 09 (smaller, faster, cheaper embeddings)."""

from __future__ import annotations

import math

import numpy as np

from course.exercises import as_number, exercise, feedback, not_attempted, placeholder

# New sentences for the exercises: none of them is in the course data.
SENTENCES = [
    "A zebra foal can stand and walk within an hour of being born.",
    "The recipe needs two eggs, a cup of flour and a pinch of salt.",
    "Our train was delayed for forty minutes by a signal failure.",
    "My cat sleeps on the warm laptop whenever I leave it open.",
    "Heavy rain is expected across the north by Friday evening.",
]


def _array(answer, what: str) -> np.ndarray | None:
    try:
        arr = np.asarray(answer)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 2:
        feedback(False, "", f"Expected {what}: a 2-D array with one row per sentence, got {type(answer).__name__}.")
        return None
    return arr


@exercise("09.1", "Truncated Matryoshka embeddings")
def check_truncated(answer, folder, dim: int) -> bool:
    """`answer` must be ex.SENTENCES embedded by the model in `folder`, truncated to `dim` and normalised."""
    if not_attempted(answer):
        return placeholder(f"load the model with SentenceTransformer(folder, truncate_dim={dim}) and encode "
                           "ex.SENTENCES with normalize_embeddings=True.")
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(folder), device="cpu").encode(SENTENCES)
    arr = _array(answer, f"{len(reference)} embeddings")
    if arr is None:
        return False
    if arr.shape != (len(reference), dim):
        return feedback(False, "", f"shape {arr.shape}, expected {(len(reference), dim)}: one row per sentence "
                                   f"and {dim} numbers each (truncate_dim={dim}).")
    norms = np.linalg.norm(arr, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-3):
        return feedback(False, "", f"row lengths are {np.round(norms, 3).tolist()}: truncating a unit vector "
                                   "shortens it; pass normalize_embeddings=True to rescale.")
    expected = reference[:, :dim] / np.linalg.norm(reference[:, :dim], axis=1, keepdims=True)
    return feedback(np.allclose(arr, expected, atol=1e-4),
                    f"{dim} numbers per sentence, {dim * 4} bytes instead of {reference.shape[1] * 4}.",
                    "the numbers differ from the model's first dimensions: use the Matryoshka model's "
                    "folder and encode ex.SENTENCES in their order.")


@exercise("09.2", "Quantize embeddings to int8")
def check_int8(answer, embeddings: np.ndarray, calibration: np.ndarray) -> bool:
    """`answer` must be `embeddings` quantized to int8 with buckets from `calibration`."""
    if not_attempted(answer):
        return placeholder("call quantize_embeddings(embeddings, precision=\"int8\", "
                           "calibration_embeddings=calibration).")
    arr = _array(answer, "int8 codes")
    if arr is None:
        return False
    if arr.dtype != np.int8:
        return feedback(False, "", f"dtype is {arr.dtype}, expected int8: precision=\"int8\" "
                                   "(\"uint8\" and \"binary\" are other formats).")
    if arr.shape != embeddings.shape:
        return feedback(False, "", f"shape {arr.shape}, expected {embeddings.shape}: one byte per number.")
    from sentence_transformers import quantize_embeddings

    expected = quantize_embeddings(embeddings, precision="int8", calibration_embeddings=calibration)
    if np.array_equal(arr, expected):
        return feedback(True, f"{arr.nbytes // len(arr)} bytes per vector instead of "
                              f"{embeddings.nbytes // len(embeddings)}.", "")
    alone = quantize_embeddings(embeddings, precision="int8", calibration_embeddings=embeddings)
    if np.array_equal(arr, alone):
        return feedback(False, "", "the buckets came from the embeddings themselves: pass "
                                   "calibration_embeddings=calibration so every vector shares one scale.")
    return feedback(False, "", "the codes differ from quantize_embeddings(..., precision=\"int8\", "
                               "calibration_embeddings=calibration) on these embeddings.")


@exercise("09.3", "Quantize the ONNX encoder per tensor")
def check_per_tensor(answer, onnx_dir, float_vectors: np.ndarray, tokenizer) -> bool:
    """`answer` must be the mean cosine between ex.SENTENCES encoded by `onnx_dir`/model.pre.onnx
    quantized to int8 with one scale per matrix (per_channel=False) and `float_vectors`, the
    PyTorch model's unit vectors of the same sentences. The check quantizes the same file itself."""
    if not_attempted(answer):
        return placeholder("call quantize_dynamic(onnx_dir / \"model.pre.onnx\", "
                           "onnx_dir / \"model_int8_tensor.onnx\", weight_type=QuantType.QInt8, "
                           "per_channel=False), encode ex.SENTENCES with an OnnxEncoder on the new file and "
                           "average the row-wise dot products with float_vectors.")
    import tempfile
    from pathlib import Path

    from onnxruntime.quantization import QuantType, quantize_dynamic

    from course.efficiency import OnnxEncoder

    value = as_number(answer, "a mean cosine similarity")
    if value is None:
        return False
    onnx_dir = Path(onnx_dir)
    with tempfile.TemporaryDirectory() as tmp:
        quantize_dynamic(onnx_dir / "model.pre.onnx", Path(tmp) / "tensor.onnx", weight_type=QuantType.QInt8,
                         per_channel=False)
        per_tensor = float((OnnxEncoder(Path(tmp) / "tensor.onnx", tokenizer).encode(SENTENCES)
                            * float_vectors).sum(axis=1).mean())
    per_channel = float((OnnxEncoder(onnx_dir / "model_int8.onnx", tokenizer).encode(SENTENCES)
                         * float_vectors).sum(axis=1).mean())
    if math.isnan(value) or not -1.0 <= value <= 1.0 + 1e-6:
        return feedback(False, "", f"{value} is not a mean cosine of unit vectors: it lies between -1 and 1.")
    if abs(value - 1.0) < 1e-4 and per_tensor < 0.9999:
        return feedback(False, "", "1.0: did you compare the float model with itself? Encode ex.SENTENCES with "
                                   "the OnnxEncoder on model_int8_tensor.onnx.")
    if abs(value - per_channel) < 1e-4 < abs(per_tensor - per_channel):
        return feedback(False, "", "that is the per-channel model (model_int8.onnx): quantize again with "
                                   "per_channel=False and encode with the new file.")
    closer = "closer to" if per_channel > per_tensor else "no closer to"
    return feedback(abs(value - per_tensor) < 1e-3,
                    f"mean cosine {value:.4f} with one scale per matrix; {per_channel:.4f} with one per column "
                    f"(model_int8.onnx): per-channel scales keep the vectors {closer} the float model's.",
                    f"{value:.4f} differs from {per_tensor:.4f}, what per_channel=False gives here: quantize "
                    "model.pre.onnx with weight_type=QuantType.QInt8, and compare unit vectors row by row.")


@exercise("09.4", "Encode with a static model")
def check_static(answer, folder) -> bool:
    """`answer` must be ex.SENTENCES embedded by the static model saved in `folder`."""
    if not_attempted(answer):
        return placeholder("build SentenceTransformer(modules=[StaticEmbedding.from_model2vec(folder)]) "
                           "and encode ex.SENTENCES.")
    from course.efficiency import load_static

    expected = load_static(folder).encode(SENTENCES)
    arr = _array(answer, "static embeddings")
    if arr is None:
        return False
    if arr.shape != expected.shape:
        return feedback(False, "", f"shape {arr.shape}, expected {expected.shape}: the static model gives "
                                   f"{expected.shape[1]} numbers per sentence (the PCA size).")
    a, e = arr / np.linalg.norm(arr, axis=1, keepdims=True), expected / np.linalg.norm(expected, axis=1, keepdims=True)
    return feedback(np.allclose(a, e, atol=1e-4),
                    "the same vectors as the distilled model: a table lookup and a mean, no transformer.",
                    "the vectors differ from the distilled model's: load the folder you saved with "
                    "m2v.save_pretrained and encode ex.SENTENCES in their order.")


@exercise("09.5", "Measure an HNSW index's recall@10")
def check_recall(answer, vectors: np.ndarray, queries: np.ndarray, m: int, ef_search: int,
                 tolerance: float = 0.05) -> bool:
    """`answer` must be recall@10 of an HNSW index (M=`m`, efSearch=`ef_search`) over `vectors`
    against exact search; the check builds the same index and allows `tolerance` (graph building
    on several threads is not fully deterministic)."""
    if not_attempted(answer):
        return placeholder("build faiss.IndexHNSWFlat, search the queries for 10 neighbours, and average "
                           "len(set(found) & set(exact)) / 10 over queries.")
    from course.efficiency import flat_index, hnsw_index, recall_at_k

    _, truth = flat_index(vectors).search(queries, 10)
    index = hnsw_index(vectors, m, ef_construction=40)
    index.hnsw.efSearch = ef_search
    expected = float(recall_at_k(index.search(queries, 10)[1], truth).mean())
    value = as_number(answer, "a recall between 0 and 1")
    if value is None:
        return False
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        return feedback(False, "", f"{value} is not a recall: it is a share, between 0 and 1.")
    if value > 1.0 - 1e-9 and expected < 0.95:
        return feedback(False, "", "recall 1.0: did you compare exact search with itself? Search the HNSW "
                                   "index for `found` and the flat index for `truth`.")
    return feedback(abs(value - expected) <= tolerance,
                    f"recall@10 = {value:.3f}: the share of the true 10 nearest neighbours the graph found.",
                    f"{value:.3f} is far from {expected:.3f}, what the same settings give here: check M, "
                    "efSearch and that you search for 10 neighbours in both indexes.")
