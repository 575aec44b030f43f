"""Self-checks for notebook 06 (fine-tuning): evaluate on new triplets, train with another loss."""

from __future__ import annotations

import math
from typing import Any

from course.exercises import as_number, exercise, feedback, not_attempted, placeholder
from course.stats import proportion

# New input for the exercises, written for them (not in the course data): a travel and
# kitchen theme, with contradictions that keep the premise's words.
MY_TRIPLETS = {
    "anchor": ["The museum is closed on Mondays but open late on Fridays.",
               "She missed the bus, so she cycled to work in the rain.",
               "The soup needs another ten minutes on a low heat.",
               "Our neighbours' parrot can say twenty words.",
               "The bridge was closed for repairs all summer.",
               "He drank two cups of coffee before the meeting."],
    "positive": ["On Friday evenings you can visit the museum after the usual hours.",
                 "She rode her bike to the office because she had no bus.",
                 "The soup is not ready yet.",
                 "A bird next door has learned to speak.",
                 "Nobody could cross the bridge during the summer months.",
                 "He had some coffee earlier that day."],
    "negative": ["The museum is open on Mondays but closed on Fridays.",
                 "She caught the bus to work and stayed dry.",
                 "The soup is ready and should come off the heat now.",
                 "Our neighbours' parrot has never said a word.",
                 "The bridge stayed open all summer.",
                 "He refused any coffee before the meeting."],
}

# Pairs with a similarity label for CosineSimilarityLoss: 1.0 = same meaning, 0.0 = clash.
MY_PAIRS = {
    "sentence1": ["A child is feeding ducks at the pond.", "A child is feeding ducks at the pond.",
                  "The shop opens at nine.", "The shop opens at nine.",
                  "Two dogs are pulling on a rope.", "Two dogs are pulling on a rope.",
                  "It snowed all night in the hills.", "It snowed all night in the hills."],
    "sentence2": ["A kid is giving bread to birds by the water.", "No one is near the pond.",
                  "You can shop there from nine in the morning.", "The shop never opens before noon.",
                  "A pair of dogs play tug of war.", "The dogs are asleep side by side.",
                  "The hills were covered in fresh snow by morning.", "The hills stayed dry and green."],
    "score": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
}


@exercise("06.1", "Evaluate a model on new triplets")
def check_triplet_evaluator(answer: Any, model) -> bool:
    """The accuracy a TripletEvaluator gives `model` on MY_TRIPLETS (a number, read from its dict)."""
    if not_attempted(answer):
        return placeholder("build TripletEvaluator(anchors=..., positives=..., negatives=..., "
                           "name=...) from MY_TRIPLETS, call it on the model, and read "
                           "results[evaluator.primary_metric].")
    if isinstance(answer, dict):
        keys = [k for k in answer if k.endswith("accuracy")]
        return feedback(False, "", f"That is the whole result dict; pick the accuracy from it, "
                                   f"e.g. answer = results[{keys[0]!r}]" if keys else
                        "That is a dict without an accuracy key: call a TripletEvaluator.")
    value = as_number(answer, "an accuracy between 0 and 1")
    if value is None:
        return False
    expected = _accuracy(model, MY_TRIPLETS)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        return feedback(False, "", f"{value} is not an accuracy: it lies between 0 and 1.")
    if abs(value - (1 - expected)) < 1e-6 and abs(expected - 0.5) > 1e-6:
        return feedback(False, "", "That is 1 - accuracy: check that positives and negatives "
                                   "are passed to the right arguments.")
    n = len(MY_TRIPLETS["anchor"])
    acc = proportion(round(value * n), n)
    return feedback(abs(value - expected) < 1e-6,
                    f"{value:.3f}: the model puts the positive closer in {acc.k} of {n} new triplets "
                    f"(95% CI {acc.low:.3f}-{acc.high:.3f}). {n} hand-written triplets on other topics "
                    f"are another distribution, measured with an interval {acc.high - acc.low:.2f} "
                    "wide: read them as examples, not as a retest of section 5's held-out result.",
                    f"{value:.3f} is not what a TripletEvaluator gives this model on MY_TRIPLETS "
                    "(anchor, positive, negative in that order, the fine-tuned model).")


def _accuracy(model, triplets: dict) -> float:
    from course.basics import embed

    a, p, n = (embed(model, triplets[c]) for c in ("anchor", "positive", "negative"))
    return float(((a * p).sum(axis=1) > (a * n).sum(axis=1)).mean())


@exercise("06.2", "Train with CosineSimilarityLoss")
def check_cosine_training(answer: Any) -> bool:
    """A SentenceTransformerTrainer that ran CosineSimilarityLoss on MY_PAIRS, without logging services."""
    if not_attempted(answer):
        return placeholder("build a Dataset from MY_PAIRS, CosineSimilarityLoss(model), "
                           "SentenceTransformerTrainingArguments(..., max_steps=2, report_to='none'), "
                           "then trainer = SentenceTransformerTrainer(...); trainer.train(); answer = trainer.")
    from sentence_transformers import SentenceTransformerTrainer

    if not isinstance(answer, SentenceTransformerTrainer):
        return feedback(False, "", f"Expected the SentenceTransformerTrainer you ran, got "
                                   f"{type(answer).__name__}.")
    loss = type(answer.loss).__name__
    columns = answer.train_dataset.column_names if answer.train_dataset is not None else []
    problems = [
        (loss != "CosineSimilarityLoss", f"the loss is {loss}; use CosineSimilarityLoss(model)"),
        ("score" not in columns and "label" not in columns,
         f"the dataset has columns {columns}; keep the 'score' column: it is the label"),
        (answer.args.report_to not in ([], ["none"], "none"),
         f"report_to is {answer.args.report_to}; pass report_to='none'"),
        (answer.state.global_step < 1, "the trainer has not run a step: call trainer.train()"),
    ]
    hints = [text for bad, text in problems if bad]
    return feedback(not hints,
                    f"Trained {answer.state.global_step} step(s) with CosineSimilarityLoss: the "
                    "same Trainer, a different loss and data format.",
                    "; ".join(hints) + ".")
