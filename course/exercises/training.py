"""Self-checks for notebook 06 (fine-tuning)."""

from __future__ import annotations

import math

from course.exercises import as_number, feedback, not_attempted, placeholder


def check_triplet_accuracy(answer, expected: float) -> bool:
    """The learner's own triplet accuracy must match the evaluator's (same model, same triplets)."""
    if not_attempted(answer):
        return placeholder("encode anchors, positives and negatives, compare cos(a, p) with "
                           "cos(a, n) per triplet, and take the share where the positive wins.")
    value = as_number(answer, "a share between 0 and 1")
    if value is None:
        return False
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        return feedback(False, "", f"{value} is not a share: accuracy lies between 0 and 1.")
    if abs(value - (1.0 - expected)) < 1e-6 and abs(expected - 0.5) > 1e-6:
        return feedback(False, "", "that is 1 - accuracy: count triplets where the POSITIVE is "
                                   "closer, i.e. cos(a, p) > cos(a, n).")
    return feedback(abs(value - expected) < 1e-4,
                    f"{value:.3f} matches the TripletEvaluator: that is all the metric is.",
                    f"{value:.3f} differs from the evaluator's {expected:.3f}. Normalise the "
                    "embeddings (or use cosine similarity), compare row by row (not all pairs), "
                    "and use a strict '>'.")
