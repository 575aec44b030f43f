"""Held-out reranking on the course's rerank set: bi-encoder alone vs bi-encoder + the offline
cross-encoder reranker of notebook 04 (trained on mined hard negatives, cached by config).

Prints one JSON line as its last line:
{"n_queries", "bi_mrr", "rerank_mrr", "ci_low", "ci_high", "train_seconds", ...}
MRR@top_k over the held-out queries; ci_low/ci_high: paired-bootstrap 95% interval of the gain.
The profile (sizes) comes from COURSE_PROFILE, cpu by default:

    COURSE_PROFILE=cpu python benchmarks/rerank.py
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the packaged model; never wait on the network
os.environ.setdefault("COURSE_PROFILE", "cpu")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the reranker's training")
    parser.add_argument("--no-cache", action="store_true",
                        help="train afresh instead of loading a cached reranker of the same config")
    args = parser.parse_args(argv)

    import course
    from course import sbert as sb
    from course import stats

    p = course.profile()
    preset = sb.preset(p)
    model = course.load_embedder(device=p.device)
    rerank = sb.load_rerank()
    train = rerank.filter(lambda r: r["split"] == "train")
    test = rerank.filter(lambda r: r["split"] == "test")
    course.seed_everything(args.seed)
    reranker, info = sb.train_reranker(model, train, preset, seed=args.seed, device=p.device,
                                     cache=not args.no_cache)
    before, after = sb.rerank_reciprocal_ranks(model, reranker, test, sb.passages(rerank), preset.top_k)
    gain = stats.paired_bootstrap(before, after)
    report = {"n_queries": len(test), "bi_mrr": round(gain.before, 4), "rerank_mrr": round(gain.after, 4),
              "ci_low": round(gain.low, 4), "ci_high": round(gain.high, 4),
              "train_seconds": info["seconds"], "cached": info["cached"], "train_rows": info["pairs"],
              "profile": p.name, "device": p.device, "top_k": preset.top_k, "seed": args.seed}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
