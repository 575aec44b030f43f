"""Most similar pair among n sentences: bi-encoder vs cross-encoder, timed and extrapolated.

Both use the same MiniLM network (the cross-encoder with an untrained head: training does not
change the cost). Prints JSON: the measured seconds per n, the cross/bi ratio, the log-log
slopes and the extrapolation to --target sentences beside the SBERT paper's figures.

    python benchmarks/bi_vs_cross.py --ns 16 32 64 96 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the packaged model; never wait on the network


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns", type=int, nargs="+", default=[8, 16, 32],
                        help="numbers of sentences to time (at most 320, the course corpus)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats; the median counts")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size of both models")
    parser.add_argument("--target", type=int, default=10_000, help="n to extrapolate to")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: detected)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import course
    from course import sbert as sb

    device = args.device or course.device()
    bi = course.load_embedder(device=device)
    cross = sb.load_cross_encoder(device=device)
    texts = list(course.load_corpus()["text"])
    table = sb.time_scaling(bi, cross, texts, sorted(args.ns), args.repeats, args.batch_size)
    search_s = sb.time_search(args.target, bi.get_embedding_dimension())
    costs = sb.fit_costs(table, search_n=args.target, search_s=search_s)
    report = {
        "device": device, "model": course.DEFAULT_MODEL, "batch_size": args.batch_size,
        "repeats": args.repeats,
        "measured": table.round(6).to_dict(orient="records"),
        "search_seconds_at_target": round(search_s, 4),
        "extrapolated": {k: (round(v, 4) if isinstance(v, float) else v)
                         for k, v in sb.extrapolate(table, costs, args.target).items()},
    }
    json.dump(report, sys.stdout, indent=2)
    print()
    return report


if __name__ == "__main__":
    main()
