"""Self-checks for notebook 08 (few labels, no labels: Augmented SBERT and TSDAE)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from course.exercises import exercise, feedback, not_attempted, placeholder

# New sentences for the silver-pair exercise: a topic the course data does not cover (gardening
# and baking), written in near-paraphrase pairs so that every sentence has a clear neighbour.
NEW_SENTENCES = [
    "Tomato plants need at least six hours of direct sun a day.",
    "Give tomatoes a spot with six or more hours of full sunlight.",
    "Water the seedlings in the morning so the leaves dry before night.",
    "Morning watering lets seedling leaves dry out before dark.",
    "Knead the bread dough for ten minutes until it is smooth and elastic.",
    "Work the dough by hand for about ten minutes until it turns springy.",
    "Let the cake cool completely before you spread the icing.",
    "Wait until the sponge is cold, or the frosting will melt.",
]


def nearest_neighbours(bi_encoder, sentences: Sequence[str]) -> list[str]:
    """For each sentence, the most similar *other* sentence by the bi-encoder's cosine."""
    emb = bi_encoder.encode(list(sentences), normalize_embeddings=True)
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    return [sentences[j] for j in sim.argmax(axis=1)]


@exercise("08.1", "Label silver pairs with the cross-encoder")
def check_silver_pairs(answer: Any, sentences: Sequence[str], bi_encoder, cross_encoder) -> bool:
    """One (sentence, nearest other sentence, cross-encoder score) triple per sentence."""
    if not_attempted(answer):
        return placeholder("encode the sentences with the bi-encoder, pair each one with its nearest "
                           "OTHER sentence (util.semantic_search with top_k=2, skip the hit that is the "
                           "sentence itself), then score the pairs with cross.predict(pairs).")
    try:
        triples = [(str(a), str(b), float(s)) for a, b, s in answer]
    except (TypeError, ValueError):
        return feedback(False, "", "Expected a list of (sentence, neighbour, score) triples, e.g. "
                                   "[(a, b, s) for (a, b), s in zip(pairs, scores)].")
    if sorted(a for a, _, _ in triples) != sorted(sentences):
        return feedback(False, "", f"Give exactly one triple per sentence ({len(sentences)}), with each "
                                   "sentence of NEW_SENTENCES first once.")
    if any(a == b for a, b, _ in triples):
        return feedback(False, "", "A sentence is paired with itself: semantic_search finds the query "
                                   "first (cosine 1), so ask for top_k=2 and keep the hit that is not it.")
    truth = dict(zip(sentences, nearest_neighbours(bi_encoder, sentences), strict=True))
    wrong = [a for a, b, _ in triples if truth[a] != b]
    if wrong:
        return feedback(False, "", f"{len(wrong)} sentence(s) are not paired with their nearest neighbour, "
                                   f"e.g. {wrong[0]!r}: rank the other sentences by the bi-encoder's cosine.")
    expected = cross_encoder.predict([(a, b) for a, b, _ in triples], show_progress_bar=False)
    got = np.array([s for _, _, s in triples])
    if not np.allclose(got, expected, atol=1e-3):
        cos = [float(np.dot(*bi_encoder.encode([a, b], normalize_embeddings=True))) for a, b, _ in triples]
        hint = ("those are the bi-encoder's cosines; the silver label comes from the cross-encoder"
                if np.allclose(got, cos, atol=1e-3) else "recompute them with cross.predict(pairs)")
        return feedback(False, "", f"The scores are not the cross-encoder's: {hint}.")
    return feedback(True, f"{len(triples)} silver pairs, labelled by the cross-encoder (mean score "
                          f"{got.mean():.2f}): that is Augmented SBERT's data step on new sentences.", "")


def _noise_stats(dataset, draws: int = 5) -> tuple[float, bool]:
    """Mean share of words deleted over a few draws of every item, and whether every noisy
    text keeps the original's words in order (a deletion, not a shuffle or a rewrite)."""
    deleted, in_order = [], True
    for _ in range(draws):
        for i in range(len(dataset)):
            noisy, original = dataset[i].texts
            words, kept = original.split(), noisy.split()
            it = iter(words)
            in_order &= all(w in it for w in kept)
            deleted.append(1 - len(kept) / max(len(words), 1))
    return float(np.mean(deleted)), in_order


@exercise("08.2", "A TSDAE dataset from your sentences")
def check_tsdae_dataset(answer: Any, course_sentences: Sequence[str] = (), ratio: float = 0.6,
                        min_sentences: int = 5) -> bool:
    """A DenoisingAutoEncoderDataset over at least five of your own sentences, deleting ~60% of words."""
    from sentence_transformers.sentence_transformer.datasets import DenoisingAutoEncoderDataset

    if not_attempted(answer):
        return placeholder("write a few sentences of your own (a domain you know), then "
                           "DenoisingAutoEncoderDataset(my_sentences, noise_fn=delete_words).")
    if not isinstance(answer, DenoisingAutoEncoderDataset):
        return feedback(False, "", f"Expected a DenoisingAutoEncoderDataset, got {type(answer).__name__}.")
    own = [s for s in answer.sentences if s not in set(course_sentences)]
    if len(own) < min_sentences:
        return feedback(False, "", f"Use at least {min_sentences} sentences of your own (found {len(own)} "
                                   "that are not already the notebook's).")
    share, in_order = _noise_stats(answer)
    if not in_order:
        return feedback(False, "", "The noisy text must keep the original's words in their order and only "
                                   "drop some: delete words, do not shuffle or replace them.")
    if abs(share - ratio) > 0.2:
        return feedback(False, "", f"Your noise deletes {share:.0%} of the words on average; TSDAE deletes "
                                   f"about {ratio:.0%}. Check the ratio you pass to the noise function.")
    return feedback(True, f"{len(answer)} sentences; the noise deleted {share:.0%} of the words (each word "
                          f"goes with probability {ratio:.0%}, so a few short sentences land near it, not on "
                          "it), and the decoder must rebuild each sentence from its one vector.", "")
