"""Held-out reranking on the course's rerank set: the bi-encoder alone vs reranking its top k
with cross-encoders trained by several recipes (the attempts of notebook 04, by name).

Prints one JSON line per attempt:
{"attempt", "n_queries", "bi_mrr", "rerank_mrr", "random_mrr", "ci_low", "ci_high", "train_seconds", ...}
MRR@top_k over the held-out queries; ci_low/ci_high: paired-bootstrap 95% interval of the gain
over the bi-encoder; random_mrr: the expected MRR of a random order of the same top k. Attempts:

  fresh-head-bce     a new score head on the bi-encoder's weights, mined (query, passage, 0/1)
                     rows, BinaryCrossEntropyLoss (notebook 04's first recipe)
  sts-zero-shot      the section-4 STS cross-encoder as it is, no reranking training
  sts-then-bce       the section-4 cross-encoder trained further on the mined 0/1 rows
  sts-then-listnet   ... on mined (query, [passages], [labels]) lists with ListNetLoss
  sts-then-mnrl      ... on mined (query, answer, hard negatives) with MultipleNegativesRankingLoss
                     (the recipe notebook 04 runs)
  fusion-bi+sts-then-mnrl   not a cross-encoder alone: bi-encoder cosine + the sts-then-mnrl
                     logit, each standardised over the k candidates, added

Trained models go through course.cache, keyed by config (a second run loads them, as does a run
after notebook 04 trained the same config; the cache is off in smoke and with COURSE_CACHE=0).
The profile (sizes) comes from COURSE_PROFILE, cpu by default:

    COURSE_PROFILE=cpu python benchmarks/rerank.py
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the packaged model; never wait on the network
os.environ.setdefault("COURSE_PROFILE", "cpu")

ATTEMPTS = ("fresh-head-bce", "sts-zero-shot", "sts-then-bce", "sts-then-listnet", "sts-then-mnrl",
            "fusion-bi+sts-then-mnrl")


def candidate_scores(bi, cross, queries, corpus, top_k):
    """Per query: the top-k candidates by cosine, their cosines, the cross-encoder's logits."""
    import torch
    from sentence_transformers.util import semantic_search

    emb = bi.encode(list(corpus), convert_to_tensor=True, normalize_embeddings=True)
    q_emb = bi.encode(list(queries["query"]), convert_to_tensor=True, normalize_embeddings=True)
    out = []
    for row, hits in zip(queries, semantic_search(q_emb, emb, top_k=top_k), strict=True):
        cands = [corpus[h["corpus_id"]] for h in hits]
        logits = cross.predict([(row["query"], c) for c in cands], activation_fn=torch.nn.Identity(),
                               show_progress_bar=False)
        out.append((row["positive"], cands, [h["score"] for h in hits], logits))
    return out


def reciprocal_ranks(scored, fuse: bool = False):
    """(bi-encoder, reranked) reciprocal ranks per query; reranked by the logits or by their fusion."""
    import numpy as np

    from course import sbert as sb

    before, after = [], []
    for positive, cands, cosines, logits in scored:
        key = sb.fuse_scores(cosines, logits) if fuse else np.asarray(logits)
        before.append(sb.reciprocal_rank(cands, positive))
        after.append(sb.reciprocal_rank([cands[i] for i in np.argsort(-key, kind="stable")], positive))
    return np.array(before), np.array(after)


def train_attempt(name, sts_ce, bi, train, preset, seed, cache):
    """The cross-encoder of one attempt, trained (or loaded from the cache), and its info."""
    from sentence_transformers.cross_encoder import losses

    from course import sbert as sb

    if name == "sts-zero-shot":
        return sts_ce, {"seconds": 0.0, "train_loss": None, "cached": False}
    if name == "sts-then-mnrl":
        return sb.train_reranker(sts_ce, bi, train, preset, seed=seed, cache=cache)
    if name == "fresh-head-bce":  # notebook 04's first recipe: new head, 0/1 rows, gentle backbone rate
        from course.env import seed_everything

        seed_everything(seed)
        model = sb.load_cross_encoder(max_length=64, device=str(bi.device))
        rows = sb.reranker_training_set(bi, train, preset.rerank_negatives, preset.rerank_queries, "labeled-pair")
        info = sb.train_cross_encoder(model, rows, epochs=preset.rerank_epochs, learning_rate=5e-5,
                                      head_learning_rate=1e-3, seed=seed, cache=cache)
        return model, info
    model = copy.deepcopy(sts_ce)
    fmt, loss = {"sts-then-bce": ("labeled-pair", losses.BinaryCrossEntropyLoss(model)),
                 "sts-then-listnet": ("labeled-list", losses.ListNetLoss(model))}[name]
    rows = sb.reranker_training_set(bi, train, preset.rerank_negatives, preset.rerank_queries, fmt)
    batch = preset.rerank_batch_size if fmt == "labeled-pair" else max(1, preset.rerank_batch_size // 2)
    info = sb.train_cross_encoder(model, rows, loss=loss, epochs=preset.rerank_epochs, batch_size=batch,
                                  learning_rate=preset.rerank_learning_rate, head_learning_rate=None,
                                  seed=seed, cache=cache)
    return model, info


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the training runs")
    parser.add_argument("--no-cache", action="store_true",
                        help="train afresh instead of loading cached models of the same config")
    parser.add_argument("--attempts", nargs="+", choices=ATTEMPTS, default=list(ATTEMPTS),
                        help="which attempts to run (default: all)")
    args = parser.parse_args(argv)

    import course
    from course import sbert as sb
    from course import stats

    p = course.profile()
    preset = sb.preset(p)
    bi = course.load_embedder(device=p.device)
    rerank = sb.load_rerank()
    train = rerank.filter(lambda r: r["split"] == "train")
    test = rerank.filter(lambda r: r["split"] == "test")
    corpus = sb.passages(rerank)
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its summary: keep stdout JSON only
        sts_ce, sts_info = sb.train_sts_cross_encoder(bi, preset, args.seed, device=p.device, cache=not args.no_cache)
    reports, trained = [], {}
    for name in args.attempts:
        base = name.removeprefix("fusion-bi+")
        if base not in trained:
            with contextlib.redirect_stdout(sys.stderr):
                trained[base] = train_attempt(base, sts_ce, bi, train, preset, args.seed, not args.no_cache)
        model, info = trained[base]
        before, after = reciprocal_ranks(candidate_scores(bi, model, test, corpus, preset.top_k),
                                         fuse=name.startswith("fusion-"))
        gain = stats.paired_bootstrap(before, after)
        report = {"attempt": name, "n_queries": len(test), "bi_mrr": round(gain.before, 4),
                  "rerank_mrr": round(gain.after, 4), "random_mrr": round(sb.random_order_mrr(before, preset.top_k), 4),
                  "ci_low": round(gain.low, 4), "ci_high": round(gain.high, 4),
                  "train_seconds": info["seconds"], "train_loss": info["train_loss"], "cached": info["cached"],
                  "sts_cross_encoder_seconds": sts_info["seconds"], "profile": p.name, "device": p.device,
                  "top_k": preset.top_k, "seed": args.seed}
        print(json.dumps(report), flush=True)
        reports.append(report)
    return reports


if __name__ == "__main__":
    main()
