"""Self-checks for notebook 05 (mining triplets from NLI)."""

from __future__ import annotations

from course.exercises import feedback, not_attempted, placeholder

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
