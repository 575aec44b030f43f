"""Self-checks for notebook 04 (SBERT, bi- vs cross-encoder)."""

from __future__ import annotations

from typing import Any

from course.exercises import exercise, feedback, not_attempted, placeholder


def _example_batch():
    """Two texts, the second padded; padding vectors are large so an unmasked max shows it."""
    import torch

    gen = torch.Generator().manual_seed(0)
    tokens = torch.randn(2, 5, 4, generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])
    tokens[1, 2:] = 10.0  # what a careless max would pick up
    return tokens, mask


def reference_max_pool(token_embs, attention_mask):
    """Max pooling over real tokens only, as sentence-transformers' Pooling(pooling_mode='max')."""
    from sentence_transformers.sentence_transformer.modules import Pooling

    pool = Pooling(embedding_dimension=token_embs.shape[-1], pooling_mode="max")
    return pool({"token_embeddings": token_embs, "attention_mask": attention_mask})["sentence_embedding"]


@exercise("04.3", "Max pooling with the attention mask")
def check_max_pool(answer: Any) -> bool:
    """The learner's max_pool(token_embs, attention_mask) must ignore padding tokens."""
    import torch

    if not_attempted(answer):
        return placeholder("write max_pool(token_embs, attention_mask) and set answer = max_pool.")
    if not callable(answer):
        return feedback(False, "", "answer should be your function itself (answer = max_pool), "
                        "not its result.")
    tokens, mask = _example_batch()
    try:
        got = answer(tokens.clone(), mask.clone())
    except Exception as err:  # the learner's code: report, don't crash the notebook
        return feedback(False, "", f"your function raised {type(err).__name__}: {err}")
    want = reference_max_pool(tokens, mask)
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
        return feedback(False, "", f"expected a tensor of shape {tuple(want.shape)} "
                        "(one vector per text); take the max over dim=1.")
    if torch.allclose(got, tokens.max(dim=1).values):
        return feedback(False, "", "the second text's maximum came from padding (the 10.0s): "
                        "set padded positions to -inf with masked_fill before taking the max.")
    return feedback(torch.allclose(got, want, atol=1e-6),
                    "padding ignored: your max pooling matches Pooling(pooling_mode='max').",
                    "not the same as Pooling(pooling_mode='max'): take the max over real tokens only.")


@exercise("04.1", "Count the cross-encoder's pairs")
def check_pair_count(answer: Any, n: int = 10_000) -> bool:
    """Cross-encoder passes needed to find the most similar pair among n sentences."""
    if not_attempted(answer):
        return placeholder(f"how many pairs must a cross-encoder score for n = {n:,}?")
    want = n * (n - 1) // 2
    if answer == n * n:
        return feedback(False, "", "n*n counts each pair twice and pairs a sentence with itself.")
    if answer == n * (n - 1):
        return feedback(False, "", "(A, B) and (B, A) are the same pair: count it once.")
    return feedback(answer == want, f"{want:,} passes, against {n:,} encodings for the bi-encoder.",
                    "count unordered pairs of distinct sentences.")


# New queries for the retrieve-then-rerank exercise: each asks for a distractor of the rerank set,
# so the near-misses around it are the answers of other queries.
NEW_QUERIES = (
    "mastiff that weighs 60 kilograms",
    "Which pool is heated all year?",
    "match where Italy beat Spain",
)


def reference_retrieve_rerank(bi, cross, query: str, corpus, corpus_emb, k: int = 10) -> list[str]:
    """util.semantic_search for the top k, then cross.rank over those k: passages, best first."""
    from sentence_transformers.util import semantic_search

    q = bi.encode([query], convert_to_tensor=True, normalize_embeddings=True)
    candidates = [corpus[h["corpus_id"]] for h in semantic_search(q, corpus_emb, top_k=k)[0]]
    return [candidates[r["corpus_id"]] for r in cross.rank(query, candidates)]


@exercise("04.2", "Retrieve, then rerank")
def check_retrieve_rerank(answer: Any, bi, cross, corpus, corpus_emb, k: int = 10) -> bool:
    """The learner's retrieve_then_rerank(query) must return the k passages, reranked, best first."""
    from sentence_transformers.util import semantic_search

    if not_attempted(answer):
        return placeholder("write retrieve_then_rerank(query) and set answer = retrieve_then_rerank.")
    if not callable(answer):
        return feedback(False, "", "answer should be your function itself (answer = retrieve_then_rerank).")
    for query in NEW_QUERIES:
        try:
            got = answer(query)
        except Exception as err:  # the learner's code: report, don't crash the notebook
            return feedback(False, "", f"your function raised {type(err).__name__} on {query!r}: {err}")
        want = reference_retrieve_rerank(bi, cross, query, corpus, corpus_emb, k)
        if not isinstance(got, (list, tuple)) or not all(isinstance(t, str) for t in got):
            return feedback(False, "", "return a list of passage texts, best first (not ids, scores or dicts).")
        if len(got) != len(want):
            return feedback(False, "", f"for {query!r} you returned {len(got)} passages; return the "
                            f"top {k} of util.semantic_search, reordered.")
        q = bi.encode([query], convert_to_tensor=True, normalize_embeddings=True)
        bi_order = [corpus[h["corpus_id"]] for h in semantic_search(q, corpus_emb, top_k=k)[0]]
        if list(got) == bi_order and bi_order != want:
            return feedback(False, "", f"for {query!r} this is the bi-encoder's order: score the k "
                            "candidates with cross.rank(query, candidates) and sort by that.")
        if set(got) != set(want):
            return feedback(False, "", f"for {query!r} some passages are not among the bi-encoder's top "
                            f"{k}: rerank only the candidates util.semantic_search returns.")
        if list(got) != want:
            return feedback(False, "", f"for {query!r} the order differs from cross.rank's: sort by the "
                            "cross-encoder score, highest first.")
    return feedback(True, f"retrieve-then-rerank works on {len(NEW_QUERIES)} new queries: top {k} by "
                    "cosine, reordered by the cross-encoder.", "")
