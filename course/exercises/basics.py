"""Self-checks for notebook 01."""

from __future__ import annotations

import re

from course.exercises import feedback, not_attempted, placeholder

TARGET = "A zebra grazes on the savanna."
STOPWORDS = {"a", "an", "the", "on", "in", "of", "and", "is", "are", "at", "to", "it", "its"}


def content_words(text: str) -> set[str]:
    """Lower-case words minus a few function words (and a plural s), for the no-overlap rule."""
    words = re.findall(r"[a-z']+", text.lower())
    return {w.rstrip("s") or w for w in words if w not in STOPWORDS}


def check_paraphrase(answer, model, target: str = TARGET, threshold: float = 0.5) -> bool:
    """Pass if `answer` shares no content word with `target` yet has cosine >= threshold."""
    if not_attempted(answer):
        return placeholder(f"write a sentence that means '{target}' without using its words.")
    if not isinstance(answer, str) or not answer.strip():
        return feedback(False, "", "The answer should be a non-empty sentence (a string).")
    shared = content_words(answer) & content_words(target)
    if shared:
        return feedback(False, "", f"You reused {sorted(shared)}: find other words for them.")
    a, t = model.encode([answer, target])
    cos = float(a @ t)
    return feedback(cos >= threshold,
                    f"cosine {cos:.3f} with no shared words: the model matched meaning, not spelling.",
                    f"cosine {cos:.3f} is below {threshold}: say the same thing more directly.")
