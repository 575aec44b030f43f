"""The fine-tuning gain of notebook 06 on the course's own data, with its 95% interval.

The run notebook 06 makes in your profile (cpu: all-MiniLM-L6-v2, MNRL with the contradiction
as hard negative, every triplet of the course NLI train split, 1 epoch): held-out triplet
accuracy and STS Spearman before and after, each with a paired-bootstrap interval
(course.stats; the held-out triplets are resampled by premise, since the 4 triplets of a
premise are not independent). The triplets are mined from the NLI file, not read from notebook 05's output,
so the figure does not depend on what ran before.

    COURSE_PROFILE=cpu python benchmarks/finetune_gain.py

Last line, JSON: {"n", "premises", "before", "after", "ci_low", "ci_high", "sts_before",
"sts_after", "train_seconds"} plus the profile, the STS interval and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-steps", type=int, help="stop after this many steps (a quick check)")
    args = ap.parse_args(argv)

    import torch

    import course
    from course import training as tr

    p = course.profile()
    cfg = tr.preset(p, **({"max_steps": args.max_steps} if args.max_steps else {}))
    triplets, source = tr.training_triplets(cfg, use_saved=False)
    heldout, sts = tr.heldout_triplets(cfg), tr.sts_pairs(cfg, p.online)
    print(f"profile {p.name}: {len(triplets)} training triplets ({source}), "
          f"{len(heldout)} held-out triplets, {len(sts)} STS pairs; {cfg.length}", file=sys.stderr)
    result, gain = tr.finetune_gain(cfg, triplets, heldout, sts)
    print("\n".join(gain.lines()), file=sys.stderr)
    t, s = gain.triplets, gain.sts
    print(json.dumps({
        "n": t.n, "premises": t.groups, "before": round(t.before, 4), "after": round(t.after, 4),
        "ci_low": round(t.low, 4), "ci_high": round(t.high, 4),
        "sts_before": round(s.before, 4), "sts_after": round(s.after, 4),
        "sts_ci_low": round(s.low, 4), "sts_ci_high": round(s.high, 4),
        "train_seconds": round(result.seconds, 1), "profile": p.name, "train_triplets": len(triplets),
        "steps": result.log_history[-1].get("step") if result.log_history else None,
        "device": str(result.model.device), "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(), "machine": platform.machine(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
