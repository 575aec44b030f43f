"""Self-checks for notebook 07 (evaluating embedding models with MTEB)."""

from __future__ import annotations

from typing import Any

from course.exercises import as_number, feedback, not_attempted, placeholder


def check_sts_by_hand(answer: Any, mteb_score: float) -> bool:
    """Your Spearman of cosine vs gold on CourseSTS's data must equal mteb's main score."""
    if not_attempted(answer):
        return placeholder("encode sentence1 and sentence2 of the task's data, take the cosine of "
                           "each pair, then scipy.stats.spearmanr(cosines, data['score'])[0].")
    value = as_number(answer, "a Spearman correlation")
    if value is None:
        return False
    return feedback(
        abs(value - mteb_score) < 1e-6,
        f"{value:.4f}: exactly mteb's cosine_spearman. The benchmark score is nothing more "
        "mysterious than this correlation.",
        f"{value:.4f} is not mteb's {mteb_score:.4f}. Use the task's own rows "
        "(task.dataset['test']), the cosine of each pair, and Spearman (rank) correlation, "
        "not Pearson.",
    )


def check_task_choice(answer: Any) -> bool:
    """A task list for English FAQ search: English retrieval tasks from mteb.get_tasks."""
    if not_attempted(answer):
        return placeholder("call mteb.get_tasks(task_types=[...], languages=[...]) with the task "
                           "type that finds documents for a query and the ISO code for English.")
    try:
        tasks = list(answer)
        types = {t.metadata.type for t in tasks}
        english = all(any(lang.startswith("eng") for lang in t.metadata.languages) for t in tasks)
    except (TypeError, AttributeError):
        return feedback(False, "", "Expected the list of tasks that mteb.get_tasks(...) returns.")
    if not tasks:
        return feedback(False, "", "The list is empty: loosen a filter.")
    return feedback(
        types == {"Retrieval"} and english,
        f"{len(tasks)} English retrieval tasks: the ones whose scores predict FAQ search quality.",
        f"Your list holds task types {sorted(types)}"
        + ("" if english else " and some tasks without English")
        + ": FAQ search is query -> documents, i.e. 'Retrieval', language 'eng'.",
    )
