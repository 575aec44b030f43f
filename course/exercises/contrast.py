"""Self-check of notebook 03: pick the hardest negative for an anchor."""

from __future__ import annotations

from course.exercises import feedback, not_attempted, placeholder


def check_hardest_negative(answer, model, anchor: str | None = None,
                           candidates: list[str] | None = None) -> bool:
    """True if `answer` is the candidate the model finds most similar to the anchor (defaults:
    the exercise in concepts.json), i.e. the negative that would teach the model the most."""
    from course import contrast as cx

    if anchor is None or candidates is None:
        ex = cx.load_concepts().exercise
        anchor, candidates = anchor or ex["anchor"], candidates or list(ex["candidates"])
    if not_attempted(answer):
        return placeholder(f"set answer to the candidate most similar to '{anchor}', "
                           f"one of {candidates}.")
    if not isinstance(answer, str) or answer.strip() not in candidates:
        return feedback(False, "", f"{answer!r} is not one of the candidates {candidates}; "
                        "answer with one of them, spelled the same.")
    ranked = cx.similarities(model, anchor, candidates)
    best = next(iter(ranked))
    answer = answer.strip()
    return feedback(
        answer == best,
        f"'{best}' is the hardest negative for '{anchor}' (cos {ranked[best]:.3f}): a triplet "
        "with it still has a loss to learn from.",
        f"'{answer}' has cos {ranked[answer]:.3f} with '{anchor}', but another candidate is closer. "
        "Compute cx.similarities(model, anchor, candidates) and take the most similar one.")
