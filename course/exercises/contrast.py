"""Self-checks of notebook 03: a contrast score, triplet losses and one training step, each
on inputs the notebook does not compute above the exercise (concepts.json, `exercises`)."""

from __future__ import annotations

from typing import Any

from course.exercises import as_number, exercise, feedback, not_attempted, placeholder


def _book():
    from course.contrast import load_concepts

    return load_concepts()


@exercise("03.1", "Contrast two concepts by a feature")
def check_contrast(answer: Any, model) -> bool:
    """The contrast of the exercise's feature: cos(feature, "a A") - cos(feature, "a B")."""
    from course import contrast as cx

    book = _book()
    ex = book.exercises["contrast"]
    a, b, feature = ex["a"], ex["b"], ex["feature"]
    if not_attempted(answer):
        return placeholder(f"encode '{feature}', '{book.template.format(a)}' and '{book.template.format(b)}', "
                           "then take the similarity with A minus the similarity with B.")
    value = as_number(answer, "a contrast score")
    if value is None:
        return False
    want = float(cx.contrast_features(model, a, b, [feature], book.template)["contrast"].iloc[0])
    bare = float(cx.contrast_features(model, a, b, [feature], "{}")["contrast"].iloc[0])
    side = a if want > 0 else b
    if abs(value - want) < 2e-3:
        return feedback(True, f"{want:+.3f}: '{feature}' points to the {side}"
                        + ("." if side == a else f", although a person would name it as a {a}'s feature: "
                           "the model measures how words are used together, not zoology."), "")
    if abs(value + want) < 2e-3:
        return feedback(False, "", f"{value:+.3f} has the wrong sign: the contrast is cos(feature, {a}) "
                        f"minus cos(feature, {b}), in that order.")
    if abs(value - bare) < 2e-3:
        return feedback(False, "", f"Embed the concepts as the lesson does, through the template: "
                        f"'{book.template.format(a)}', not '{a}'.")
    return feedback(False, "", f"{value:+.3f} is not the contrast. Encode the feature and the two "
                    "concepts with model.encode, compare with model.similarity, subtract B from A.")


@exercise("03.2", "Triplet losses for new negatives")
def check_triplet_losses(answer: Any, model, margin: float | None = None) -> bool:
    """{negative: triplet loss} for the exercise's anchor and positive, cosine version:
    max(0, margin - (cos(anchor, positive) - cos(anchor, negative)))."""
    from course import contrast as cx

    margin = cx.MARGIN if margin is None else margin
    book = _book()
    ex = book.exercises["triplet"]
    negatives = list(ex["negatives"])
    if not_attempted(answer):
        return placeholder(f"a dict {{negative: loss}} for anchor '{ex['anchor']}', positive "
                           f"'{ex['positive']}' and the negatives {negatives}.")
    if not isinstance(answer, dict) or set(answer) != set(negatives):
        return feedback(False, "", f"answer should be a dict with one entry per negative: {negatives}.")
    try:
        got = {k: float(v) for k, v in answer.items()}
    except (TypeError, ValueError):
        return feedback(False, "", "Each value should be one number (the loss of that negative).")
    if any(v < 0 for v in got.values()):
        return feedback(False, "", "A loss is never negative: clip it with max(0, ...).")
    want = cx.triplet_table(model, ex["anchor"], ex["positive"], negatives, margin, book.template)
    want = dict(zip(want["negative"], want["triplet loss"], strict=True))
    wrong = [n for n in negatives if abs(got[n] - want[n]) > 2e-3]
    if wrong:
        bare = cx.triplet_table(model, ex["anchor"], ex["positive"], negatives, margin, "{}")
        if all(abs(got[n] - v) <= 2e-3 for n, v in zip(bare["negative"], bare["triplet loss"], strict=True)):
            return feedback(False, "", f"Embed the words through the template, '{book.template.format('cat')}', "
                            "as the lesson does.")
        return feedback(False, "", f"The losses of {wrong} are off. Per negative: "
                        f"max(0, {margin} - (cos(anchor, positive) - cos(anchor, negative))).")
    teach = [n for n in want if want[n] > 0]
    hardest = max(want, key=want.get)
    return feedback(True, f"{len(teach)} of {len(negatives)} negatives still teach ({', '.join(teach)}); "
                    f"the hardest is '{hardest}' (loss {want[hardest]:.3f}).", "")


def _gaps(model, batch: dict):
    import torch

    a, p, n = (model.encode(list(batch[c]), convert_to_tensor=True) for c in ("anchor", "positive", "negative"))
    cos = torch.nn.functional.cosine_similarity
    return (cos(a, p) - cos(a, n)).cpu()


@exercise("03.3", "One training step with MNRL")
def check_training_step(answer: Any, model) -> bool:
    """`answer` is a trained copy of `model` (not `model` itself) after one step on the exercise's
    batch: its weights changed, and cos(a, p) - cos(a, n) on the batch grew on average."""
    import torch

    batch = _book().exercises["training"]
    if not_attempted(answer):
        return placeholder("copy the model, take one step with MultipleNegativesRankingLoss on the "
                           "batch, and set answer to the trained copy.")
    if not hasattr(answer, "encode") or not hasattr(answer, "parameters"):
        return feedback(False, "", "answer should be your trained SentenceTransformer copy itself.")
    if answer is model:
        return feedback(False, "", "That is the original model: train copy.deepcopy(model), so the "
                        "rest of the notebook keeps the untouched one.")
    mine, theirs = dict(answer.named_parameters()), dict(model.named_parameters())
    if all(torch.equal(mine[k], theirs[k]) for k in theirs):
        return feedback(False, "", "The copy's weights equal the original's: call loss.backward() and "
                        "then optimizer.step(), with an optimizer built on the copy's parameters.")
    before, after = _gaps(model, batch), _gaps(answer, batch)
    lines = ", ".join(f"{b:+.3f} -> {a:+.3f}" for b, a in zip(before.tolist(), after.tolist(), strict=True))
    return feedback(
        bool(after.mean() > before.mean()),
        f"cos(anchor, positive) - cos(anchor, negative), eval mode, per triplet: {lines}. "
        "One step pulled the positives closer relative to the negatives.",
        f"The gaps did not grow on average ({lines}). Minimise the loss (no minus sign), use a small "
        "learning rate such as 2e-5, and call student.train() before the forward pass.")
