"""NLI pairs -> (anchor, positive, negative) triplets: entailment is the positive,
contradiction the hard negative.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class MiningReport:
    """What mining kept and dropped, and why: printed in notebook 05."""

    premises: int = 0
    kept_premises: int = 0
    triplets: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        why = ", ".join(f"{n} {reason}" for reason, n in self.dropped.items() if n) or "none"
        return (f"{self.premises} premises -> {self.triplets} triplets from {self.kept_premises} "
                f"premises; dropped: {why}")


def mine_triplets(nli, max_per_premise: int | None = 4, seed: int = 0):
    """Every (entailment, contradiction) combination of a premise becomes a triplet
    (anchor=premise, positive=entailment, negative=contradiction).

    Premises lacking either label yield nothing; repeated hypotheses count once; at most
    `max_per_premise` triplets per premise, sampled with `seed`. Returns (Dataset, MiningReport).
    """
    from datasets import Dataset

    groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    anchors: dict[str, str] = {}
    for row in nli:
        pid = row.get("premise_id") or row["premise"]
        anchors.setdefault(pid, row["premise"])
        bucket = groups[pid][row["label"]]
        if row["hypothesis"] not in bucket:
            bucket.append(row["hypothesis"])
    rng = random.Random(seed)
    report = MiningReport(premises=len(groups), dropped={"without an entailment": 0,
                                                          "without a contradiction": 0,
                                                          "over the per-premise cap": 0})
    rows = []
    for pid in sorted(groups):
        pos, neg = groups[pid].get("entailment", []), groups[pid].get("contradiction", [])
        if not pos or not neg:
            report.dropped["without an entailment" if not pos else "without a contradiction"] += 1
            continue
        combos = [(p, n) for p in pos for n in neg]
        if max_per_premise is not None and len(combos) > max_per_premise:
            report.dropped["over the per-premise cap"] += len(combos) - max_per_premise
            combos = rng.sample(combos, max_per_premise)
        rows += [{"anchor": anchors[pid], "positive": p, "negative": n} for p, n in combos]
        report.kept_premises += 1
    report.triplets = len(rows)
    columns = {"anchor": [], "positive": [], "negative": []}
    return (Dataset.from_list(rows) if rows else Dataset.from_dict(columns)), report
