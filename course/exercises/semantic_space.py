"""Self-check of notebook 02: write a sentence that sits between two topics of the map."""

from __future__ import annotations

from collections.abc import Sequence

from course.exercises import feedback, not_attempted, placeholder


def check_bridge(answer, smap, model, topics: Sequence[str] = ("dogs", "weather"), k: int = 6,
                 need: int = 2) -> bool:
    """True if the answer's k nearest corpus sentences (cosine, full space) include at least
    `need` from each of the given topics: a sentence that belongs to both neighbourhoods."""
    from course.semantic_map import locate

    topics = list(topics)
    unknown = [t for t in topics if t not in smap.topic_names]
    if unknown:
        raise ValueError(f"Unknown topic(s) {unknown}; the map's topics are {smap.topic_names}.")
    if not_attempted(answer):
        return placeholder(f"write one sentence that is about {' and '.join(topics)} at once.")
    if not isinstance(answer, str) or not answer.strip():
        return feedback(False, "", "answer must be a sentence (a non-empty string).")
    found = list(locate(smap, model, answer, k).neighbours["topic"])
    counts = {t: found.count(t) for t in topics}
    summary = ", ".join(f"{n} about {t}" for t, n in counts.items())
    return feedback(
        all(n >= need for n in counts.values()),
        f"a bridge: of your {k} nearest neighbours, {summary}. On the map your star sits "
        "between the two islands, or on the edge of one of them.",
        f"of your {k} nearest neighbours, {summary} (need {need} of each; all topics found: "
        f"{found}). Mention both topics more evenly.")
