"""Most similar pair among n sentences: bi-encoder vs cross-encoder, by counting x throughput.

Both use the same MiniLM network (the cross-encoder with an untrained head: training does not
change the cost). Measures sentences/s (bi-encoder encode) and pairs/s (cross-encoder predict)
at a fixed batch size, median of --repeats, then counts: n / rate and n(n-1)/2 / rate, plus the
bi-encoder's n x n cosine matrix timed at --target vectors. Also times both whole jobs at a few
small --check-ns against the count. Prints JSON, with the SBERT paper's figures beside it.

    python benchmarks/bi_vs_cross.py --sentences 128 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the packaged model; never wait on the network


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=128,
                        help="sentences (and as many pairs) per throughput run (at most 320, the course corpus)")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats; the median counts")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size of both models")
    parser.add_argument("--target", type=int, default=10_000, help="n to count the cost for")
    parser.add_argument("--check-ns", type=int, nargs="*", default=[8, 24],
                        help="small n at which the whole jobs are timed against the count")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: detected)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import numpy as np

    import course
    from course import sbert as sb

    device = args.device or course.device()
    bi = course.load_embedder(device=device)
    cross = sb.load_cross_encoder(device=device)
    texts = list(course.load_corpus()["text"])
    if not 2 <= args.sentences <= len(texts):
        raise SystemExit(f"--sentences must lie between 2 and {len(texts)}, got {args.sentences}")
    rates = sb.measure_rates(bi, cross, texts[:args.sentences], args.repeats, args.batch_size)
    search_s = sb.time_search(args.target, bi.get_embedding_dimension())
    costs = sb.CostModel.from_rates(rates["sentences_per_s"], rates["pairs_per_s"], search_s, args.target)
    checks = []
    for n in args.check_ns:
        bi_s = float(np.median(sb.run_times(lambda n=n: sb.most_similar_pair_bi(bi, texts[:n], args.batch_size), 3)))
        cross_s = float(np.median(sb.run_times(
            lambda n=n: sb.most_similar_pair_cross(cross, texts[:n], args.batch_size), 3)))
        checks.append({"n": n, "bi_s": round(bi_s, 5), "bi_predicted_s": round(float(costs.bi(n)), 5),
                       "cross_s": round(cross_s, 5), "cross_predicted_s": round(float(costs.cross(n)), 5)})
    bi_target, cross_target = float(costs.bi(args.target)), float(costs.cross(args.target))
    report = {
        "device": device, "model": course.DEFAULT_MODEL,
        "rates": {k: round(v, 3) if isinstance(v, float) else v for k, v in rates.items()},
        "pair_vs_sentence_cost": round(costs.per_pair / costs.per_sentence, 3),
        "search_seconds_at_target": round(search_s, 4),
        "target": {"n": args.target, "pairs": sb.pair_count(args.target), "bi_s": round(bi_target, 3),
                   "cross_s": round(cross_target, 1), "ratio": round(cross_target / bi_target, 1)},
        "whole_jobs": checks,
        "paper": {"n": sb.PAPER["n"], "bi_s": sb.PAPER["bi_s"], "cross_s": sb.PAPER["cross_s"],
                  "ratio": sb.PAPER["cross_s"] / sb.PAPER["bi_s"]},
        "verdict": sb.scaling_verdict(costs, rates, args.target),
    }
    json.dump(report, sys.stdout, indent=2)
    print()
    return report


if __name__ == "__main__":
    main()
