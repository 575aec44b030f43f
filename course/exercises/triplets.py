"""Self-checks for notebook 05 (mining triplets from NLI)."""

from __future__ import annotations

from course.exercises import as_number, exercise, feedback, not_attempted, placeholder

_P1 = "A girl is teaching her puppy to sit on the kitchen floor."
_P2 = "The orchestra tuned their instruments before the concert."
_P3 = "A heron stood perfectly still in the shallow river."
# A hand-made NLI table: two entailments x three contradictions (one row repeated), a premise
# with no contradiction, and a premise whose only entailment appears twice.
PUZZLE = [
    {"premise": _P1, "hypothesis": "A young dog is being trained.", "label": "entailment"},
    {"premise": _P1, "hypothesis": "A child is with her pet indoors.", "label": "entailment"},
    {"premise": _P1, "hypothesis": "The puppy is asleep in the garden.", "label": "contradiction"},
    {"premise": _P1, "hypothesis": "The girl has no animals.", "label": "contradiction"},
    {"premise": _P1, "hypothesis": "Nobody is in the kitchen.", "label": "contradiction"},
    {"premise": _P1, "hypothesis": "Nobody is in the kitchen.", "label": "contradiction"},
    {"premise": _P1, "hypothesis": "The puppy is a labrador.", "label": "neutral"},
    {"premise": _P2, "hypothesis": "Musicians prepared to play.", "label": "entailment"},
    {"premise": _P2, "hypothesis": "The concert was sold out.", "label": "neutral"},
    {"premise": _P3, "hypothesis": "A bird was in the water.", "label": "entailment"},
    {"premise": _P3, "hypothesis": "A bird was in the water.", "label": "entailment"},
    {"premise": _P3, "hypothesis": "The heron was flying over a desert.", "label": "contradiction"},
]


def puzzle_answer(max_per_premise: int | None = 4) -> int:
    """How many triplets mine_triplets really makes from PUZZLE."""
    from course.triplets import mine_triplets

    return mine_triplets(PUZZLE, max_per_premise=max_per_premise)[1].triplets


@exercise("05.1", "Count the triplets of a small NLI table")
def check_triplet_count(answer) -> bool:
    """Pass if `answer` is the number of triplets mine_triplets(PUZZLE, max_per_premise=4) makes."""
    if not_attempted(answer):
        return placeholder("count the triplets PUZZLE gives with max_per_premise=4 (an integer).")
    if not isinstance(answer, int) or isinstance(answer, bool):
        return feedback(False, "", "The answer should be a whole number of triplets.")
    right = puzzle_answer(4)
    hints = {  # the usual slips, for PUZZLE's right answer of 5
        7: "That is the count without the cap: max_per_premise=4 limits each premise.",
        6: "Close: a repeated row is the same pair; it does not make a second triplet.",
        4: "Look at the third premise: one entailment and one contradiction make a triplet.",
        8: "Repeated rows count once, and the cap of 4 applies per premise.",
        10: "Repeated rows count once, and the cap of 4 applies per premise.",
    }
    hint = hints.get(answer, "Per premise: (#distinct entailments) x (#distinct contradictions), "
                             "capped at 4; neutral rows are not used.")
    return feedback(answer == right,
                    f"{right} triplets: 4 (capped from 2 x 3), 0 (no contradiction) and 1 "
                    "(the repeated entailment counts once).", hint)


# The mining exercise: skip the closest candidates (often unlabelled positives) and take the next two.
MINING_SETTINGS = {"num_negatives": 2, "range_min": 3, "range_max": 10, "sampling_strategy": "top",
                   "output_format": "triplet"}


def reference_mining(pairs, model, corpus):
    """mine_hard_negatives with MINING_SETTINGS: what the mining exercise asks for."""
    from sentence_transformers.util import mine_hard_negatives

    return mine_hard_negatives(pairs, model, corpus=list(corpus), batch_size=64, verbose=False,
                               **MINING_SETTINGS)


def _rows(ds) -> list[tuple]:
    return sorted(tuple(r[c] for c in ("anchor", "positive", "negative")) for r in ds)


@exercise("05.2", "Mine hard negatives in a rank window")
def check_mining(answer, pairs, model, corpus) -> bool:
    """The learner's mine_hard_negatives(...) output must match MINING_SETTINGS on `pairs`."""
    if not_attempted(answer):
        return placeholder("set answer = mine_hard_negatives(pairs, model, corpus=corpus, ...).")
    columns = getattr(answer, "column_names", None)
    if columns is None:
        return feedback(False, "", "answer should be the Dataset that mine_hard_negatives returns.")
    if columns != ["anchor", "positive", "negative"]:
        return feedback(False, "", f"your dataset has columns {columns}: use output_format=\"triplet\" "
                        "for one (anchor, positive, negative) row per negative.")
    want = reference_mining(pairs, model, corpus)
    got_rows, want_rows = _rows(answer), _rows(want)
    if got_rows == want_rows:
        return feedback(True, f"{len(want)} triplets: two negatives per pair from ranks 4-10 "
                        "(the 3 closest candidates skipped).", "")
    if len(got_rows) == len(pairs):
        return feedback(False, "", "one row per pair: ask for num_negatives=2.")
    first = {(a, p): n for a, p, n in _rows(reference_mining_top(pairs, model, corpus))}
    if any(first.get((a, p)) == n for a, p, n in got_rows):
        return feedback(False, "", "some of your negatives are among the 3 closest candidates: "
                        "skip them with range_min=3.")
    return feedback(False, "", f"{len(got_rows)} rows, expected {len(want_rows)}: check range_max=10, "
                    "sampling_strategy=\"top\" and that you passed corpus=corpus.")


def reference_mining_top(pairs, model, corpus):
    """The single closest non-positive candidate per pair (no range_min): for the hint."""
    from sentence_transformers.util import mine_hard_negatives

    return mine_hard_negatives(pairs, model, corpus=list(corpus), num_negatives=1, batch_size=64,
                               sampling_strategy="top", output_format="triplet", verbose=False)


def table_row(model, triplets) -> dict:
    """The negatives-table row of a triplet set: size, mean cos(anchor, negative), triplet accuracy."""
    from course.triplets import triplet_scores

    s = triplet_scores(model, triplets)
    return {"triplets": len(s.pos), "cos(anchor, negative)": round(float(s.neg.mean()), 3),
            "triplet accuracy": round(s.accuracy, 3)}


@exercise("05.3", "Score your mined triplets")
def check_table_row(answer, model, triplets) -> bool:
    """The learner's row {"triplets", "cos(anchor, negative)", "triplet accuracy"} for `triplets`."""
    if not_attempted(answer):
        return placeholder('set answer = {"triplets": ..., "cos(anchor, negative)": ..., '
                           '"triplet accuracy": ...} for your mined set.')
    if not_attempted(triplets):
        return placeholder("mine my_mined first (the exercise above), then compute its row.")
    want = table_row(model, triplets)
    if not isinstance(answer, dict) or set(answer) != set(want):
        return feedback(False, "", f"answer should be a dict with the keys {sorted(want)}.")
    if answer["triplets"] != want["triplets"]:
        return feedback(False, "", f"triplets: you have {answer['triplets']}, the set has "
                        f"{want['triplets']} rows (len of your dataset).")
    for key, hint in (("cos(anchor, negative)", "the mean over rows of the cosine between each "
                       "anchor and its negative (normalize the embeddings, or use model.similarity)"),
                      ("triplet accuracy", "the share of rows where cos(anchor, positive) > "
                       "cos(anchor, negative)")):
        value = as_number(answer[key], key)
        if value is None:
            return False
        if abs(value - want[key]) > 0.002:
            return feedback(False, "", f"{key}: you have {value:.3f}; it is {hint}.")
    return feedback(True, f"your row: {want['triplets']} triplets, mean cos(anchor, negative) "
                    f"{want['cos(anchor, negative)']:.3f}, triplet accuracy {want['triplet accuracy']:.3f}.", "")
