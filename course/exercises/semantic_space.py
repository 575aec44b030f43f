"""Self-checks of notebook 02: fit a UMAP yourself, and write a sentence between two topics."""

from __future__ import annotations

from collections.abc import Sequence

from course.exercises import exercise, feedback, not_attempted, placeholder


def _umap_problems(reducer, smap, n_neighbors: int) -> list[str]:
    """What is wrong with one fitted reducer for the exercise (empty list: nothing)."""
    if not hasattr(reducer, "n_neighbors") or not hasattr(reducer, "metric"):
        return ["each item should be a umap.UMAP object itself, after .fit(embeddings) or "
                ".fit_transform(embeddings) (not the 2D array fit_transform returns)"]
    layout = getattr(reducer, "embedding_", None)
    seed = reducer.random_state
    return [f"seed {seed}: {msg}" for bad, msg in (
        (reducer.n_neighbors != n_neighbors, f"n_neighbors is {reducer.n_neighbors}, not {n_neighbors}"),
        (reducer.metric != "cosine", f"metric is {reducer.metric!r}: the model compares sentences by cosine"),
        (reducer.n_epochs != smap.umap.n_epochs or reducer.min_dist != smap.umap.min_dist,
         f"n_epochs={reducer.n_epochs}, min_dist={reducer.min_dist}; the map above used "
         f"n_epochs={smap.umap.n_epochs}, min_dist={smap.umap.min_dist}: change only n_neighbors"),
        (layout is None or getattr(layout, "shape", None) != (len(smap.texts), 2),
         f"it is not fitted on the {len(smap.texts)} corpus embeddings (call fit_transform)"),
    ) if bad]


@exercise("02.1", "Refit UMAP with a wider neighbourhood, over seeds")
def check_umap(answer, smap, n_neighbors: int = 50, k: int = 10, min_seeds: int = 2) -> bool:
    """Pass if `answer` is a list of umap.UMAP reducers fitted on the map's embeddings, one per seed,
    with the asked n_neighbors (everything else as the map above); then compare them, seed by seed,
    with the map's UMAP refitted on the same seeds, and say which differences hold over seeds."""
    from course.semantic_map import compare_ranges, seed_comparison

    if not_attempted(answer):
        return placeholder(f"fit umap.UMAP(n_neighbors={n_neighbors}, ...) once per seed in seeds and set "
                           "answer to the list of fitted reducers.")
    if not isinstance(answer, (list, tuple)):
        return feedback(False, "", "answer should be a list with one fitted reducer per seed in seeds, "
                        "not a single reducer: one map is one draw of the seed.")
    problems = [msg for reducer in answer for msg in _umap_problems(reducer, smap, n_neighbors)]
    if problems:
        return feedback(False, "", "; ".join(problems) + ".")
    seeds = [r.random_state for r in answer]
    if None in seeds or len(set(seeds)) < max(min_seeds, len(seeds)):
        return feedback(False, "", f"random_state should be set and different for each reducer (got {seeds}); "
                        f"fit at least {min_seeds}, one per seed in seeds.")
    runs = seed_comparison(smap, answer, k)
    lines = []
    for what in (f"kept@{k}", "island agreement"):
        yours, theirs = runs[f"{what} (yours)"], runs[f"{what} (map above)"]
        lines.append(f"   {what}: n_neighbors={n_neighbors} {yours.min():.2f}-{yours.max():.2f}, "
                     f"n_neighbors={smap.umap.n_neighbors} {theirs.min():.2f}-{theirs.max():.2f}: "
                     f"{compare_ranges(yours, theirs)}")
    return feedback(True, f"over {len(seeds)} seeds {seeds} (kept@{k}: share of the {k} true neighbours "
                    "kept on the map; island agreement: Spearman of island gaps vs topic similarity):\n"
                    + "\n".join(lines), "")


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
