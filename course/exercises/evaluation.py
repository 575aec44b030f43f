"""Self-checks for notebook 07 (evaluating embedding models with MTEB)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from course.exercises import as_number, exercise, feedback, not_attempted, placeholder

# New input for the custom-task exercise (written for it, not in the course data): pairs of
# questions, 1 = the same question asked in other words, 0 = a different question on the topic.
MY_PAIRS = {
    "sentence1": ["How do I reset my password?", "How do I reset my password?",
                  "Can I change my delivery address?", "Can I change my delivery address?",
                  "Where can I download my invoice?", "Where can I download my invoice?",
                  "Do you ship to Canada?", "Do you ship to Canada?",
                  "How long does a refund take?", "How long does a refund take?"],
    "sentence2": ["I forgot my login, how can I set a new one?", "How do I change my username?",
                  "Is it possible to send the parcel somewhere else?", "Can I cancel my delivery?",
                  "How do I get a copy of my bill?", "Where can I pay my invoice?",
                  "Can you deliver orders to Canada?", "Do you have a shop in Canada?",
                  "When will I get my money back?", "How do I ask for a refund?"],
    "labels": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
}


@exercise("07.1", "Reproduce mteb's STS score by hand")
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


@exercise("07.2", "Run your own task in mteb")
def check_custom_task(answer: Any, model) -> bool:
    """The mteb result of `model` on a PairClassification task over MY_PAIRS: filed under a
    name and the weights' fingerprint, with the model's own cosine AP as main score."""
    if not_attempted(answer):
        return placeholder("subclass mteb.abstasks.AbsTaskPairClassification with a TaskMetadata (type "
                           "'PairClassification', main_score 'cosine_ap') and a load_data that sets "
                           "self.dataset = DatasetDict({'test': Dataset.from_dict(MY_PAIRS)}); name "
                           "the model, then answer = mteb.evaluate(model, tasks=[YourTask()], cache=shared).")
    name, revision = getattr(answer, "model_name", None), getattr(answer, "model_revision", None)
    if name is None or not getattr(answer, "task_results", None):
        return feedback(False, "", f"Expected the result that mteb.evaluate returns, got "
                                   f"{type(answer).__name__}.")
    from sklearn.metrics import average_precision_score

    from course.basics import pair_cosines
    from course.models import fingerprint

    expected = float(average_precision_score(MY_PAIRS["labels"], pair_cosines(
        model, MY_PAIRS["sentence1"], MY_PAIRS["sentence2"])))
    score = float(answer.task_results[0].get_score())
    problems = [
        (name.startswith("no_model_name"), "it is filed under mteb's placeholder name: set "
                                           "model.model_card_data.model_name"),
        (revision != fingerprint(model), f"its revision is {revision!r}, not a hash of the weights: "
                                         "set model.model_card_data.base_model_revision"),
        (abs(score - expected) > 1e-6, f"its score {score:.4f} is not this model's cosine AP on "
                                       f"MY_PAIRS ({expected:.4f}): check main_score='cosine_ap', the "
                                       "columns sentence1 / sentence2 / labels, and the naming (a "
                                       "cached result may belong to another model)"),
    ]
    hints = [text for bad, text in problems if bad]
    return feedback(not hints, f"{score:.4f} for {name} @ {revision}: your task runs in mteb like "
                               "a built-in one, and the result is filed under this model.",
                    "; ".join(hints) + ".")


@exercise("07.3", "Choose MTEB tasks for FAQ search")
def check_task_choice(answer: Any) -> bool:
    """Tasks for English FAQ search: English retrieval tasks, code search left out."""
    if not_attempted(answer):
        return placeholder("call mteb.get_tasks(task_types=[...], languages=[...]) with the task "
                           "type that finds documents for a query and the ISO code for English, "
                           "then drop the tasks whose metadata.domains include 'Programming'.")
    try:
        tasks = list(answer)
        types = {t.metadata.type for t in tasks}
        english = all(any(lang.startswith("eng") for lang in t.metadata.languages) for t in tasks)
        code = [t.metadata.name for t in tasks if "Programming" in (t.metadata.domains or [])]
    except (TypeError, AttributeError):
        return feedback(False, "", "Expected a list of tasks from mteb.get_tasks(...).")
    if not tasks:
        return feedback(False, "", "The list is empty: loosen a filter.")
    if types != {"Retrieval"} or not english:
        return feedback(False, "", f"Your list holds task types {sorted(types)}"
                        + ("" if english else " and some tasks without English")
                        + ": FAQ search is query -> documents, i.e. 'Retrieval', language 'eng'.")
    if code:
        return feedback(False, "", f"Right type and language, but {len(code)} of the {len(tasks)} "
                        f"are code search (domain 'Programming'), e.g. {', '.join(code[:3])}: "
                        "they say little about a help centre. Drop them.")
    domains = Counter(d for t in tasks for d in (t.metadata.domains or []))
    top = ", ".join(d for d, _ in domains.most_common(5))
    return feedback(True, f"{len(tasks)} English retrieval tasks without code search. Still a wide "
                    f"net (most common domains: {top}): keep the ones nearest your help centre, and "
                    "best of all add a small retrieval task built from your own FAQ, like "
                    "CourseRetrieval.", "")
