"""Self-checks of notebook 02: fit a UMAP yourself, and write a sentence between two topics."""

from __future__ import annotations

from collections.abc import Sequence

from course.exercises import exercise, feedback, not_attempted, placeholder


@exercise("02.1", "Refit UMAP with a wider neighbourhood")
def check_umap(answer, smap, n_neighbors: int = 50, k: int = 10) -> bool:
    """Pass if `answer` is a umap.UMAP fitted on the map's embeddings with the asked
    n_neighbors, cosine metric and a fixed random_state; then compare it with the map's UMAP."""
    from course.semantic_map import island_agreement, neighbour_overlap

    if not_attempted(answer):
        return placeholder(f"fit umap.UMAP(n_neighbors={n_neighbors}, ...) on the embeddings and set "
                           "answer to the fitted reducer.")
    layout = getattr(answer, "embedding_", None)
    if not hasattr(answer, "n_neighbors") or not hasattr(answer, "metric"):
        return feedback(False, "", "answer should be the umap.UMAP object itself, after "
                        "reducer.fit_transform(embeddings) (not the 2D array it returns).")
    problems = [msg for bad, msg in (
        (answer.n_neighbors != n_neighbors, f"n_neighbors is {answer.n_neighbors}, not {n_neighbors}"),
        (answer.metric != "cosine", f"metric is {answer.metric!r}: the model compares sentences by cosine"),
        (answer.random_state is None, "random_state is not set, so the picture changes on every run"),
        (layout is None or getattr(layout, "shape", None) != (len(smap.texts), 2),
         f"it is not fitted on the {len(smap.texts)} corpus embeddings (call fit_transform)"),
    ) if bad]
    if problems:
        return feedback(False, "", "; ".join(problems) + ".")
    theirs, ours = neighbour_overlap(smap.embeddings, layout, k), neighbour_overlap(smap.embeddings, smap.xy_umap, k)
    gaps_theirs = island_agreement(smap.embeddings, smap.topics, layout)
    gaps_ours = island_agreement(smap.embeddings, smap.topics, smap.xy_umap)
    return feedback(True, f"your map (n_neighbors={n_neighbors}) keeps {theirs:.0%} of the true "
                    f"neighbours@{k}, the map above (n_neighbors={smap.umap.n_neighbors}) {ours:.0%}; "
                    f"island gaps vs topic similarity: Spearman {gaps_theirs:.2f} vs {gaps_ours:.2f}.", "")


@exercise("02.2", "A sentence between two topics")
def check_bridge(answer, smap, model, topics: Sequence[str] = ("dogs", "weather"), need: int = 2) -> bool:
    """True if, among the answer's nearest corpus sentences (the table `render_landing` shows),
    at least `need` are labelled with each of the given topics."""
    from course.semantic_map import K, locate

    topics = list(topics)
    unknown = [t for t in topics if t not in smap.topic_names]
    if unknown:
        raise ValueError(f"Unknown topic(s) {unknown}; the map's topics are {smap.topic_names}.")
    if not_attempted(answer):
        return placeholder(f"write one sentence that is about {' and '.join(topics)} at once.")
    if not isinstance(answer, str) or not answer.strip():
        return feedback(False, "", "answer must be a sentence (a non-empty string).")
    table = locate(smap, model, answer, K).neighbours
    found = list(table["topic"])
    counts = {t: found.count(t) for t in topics}
    summary = ", ".join(f"{n} labelled {t}" for t, n in counts.items())
    shown = "\n".join(f"   {r.cosine:.3f} [{r.topic}] {r.sentence}" for r in table.itertuples())
    return feedback(
        all(n >= need for n in counts.values()),
        f"a bridge: of your {K} nearest neighbours, {summary}:\n{shown}",
        f"of your {K} nearest neighbours, {summary} (need {need} of each):\n{shown}\n"
        "   Mention both topics more evenly.")
