"""Self-checks for notebook 01."""

from __future__ import annotations

import re
from collections.abc import Sequence

from course.exercises import exercise, feedback, not_attempted, placeholder

TARGET = "A zebra grazes on the savanna."
STOPWORDS = {"a", "an", "the", "on", "in", "of", "and", "is", "are", "at", "to", "it", "its"}
_SUFFIXES = ("ing", "ed", "es", "s", "e")


def stem(word: str) -> str:
    """A rough word stem: one common ending cut off ("grazes", "grazing", "grazed" -> "graz")."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """The lower-case content words of a text (a few function words left out)."""
    return [w for w in re.findall(r"[a-z']+", text.lower()) if w not in STOPWORDS]


def content_words(text: str) -> set[str]:
    """Stems of the content words, for the no-overlap rule."""
    return {stem(w) for w in words(text)}


def same_stem(a: str, b: str) -> bool:
    """Equal stems, or one stem (4+ letters) starting the other: "graz"/"grazer", "savanna"/"savannah"."""
    short, long = sorted((a, b), key=len)
    return short == long or (len(short) >= 4 and long.startswith(short))


@exercise("01.2", "Say it without the sentence's words")
def check_paraphrase(answer, model, target: str = TARGET, threshold: float = 0.5) -> bool:
    """Pass if `answer` shares no content word (by stem) with `target` yet has cosine >= threshold."""
    if not_attempted(answer):
        return placeholder(f"write a sentence that means '{target}' without using its words.")
    if not isinstance(answer, str) or not answer.strip():
        return feedback(False, "", "The answer should be a non-empty sentence (a string).")
    theirs = content_words(target)
    reused = sorted({w for w in words(answer) if any(same_stem(stem(w), t) for t in theirs)})
    if reused:
        return feedback(False, "", f"You reused {reused}: another form of a word of '{target}' "
                        "counts too (words are compared by stem). Find other words for them.")
    a, t = model.encode([answer, target])
    cos = float(model.similarity(a, t))
    return feedback(cos >= threshold,
                    f"cosine {cos:.3f} with no shared words: the model matched meaning, not spelling.",
                    f"cosine {cos:.3f} is below {threshold}: say the same thing more directly.")


@exercise("01.1", "Search the corpus with your own question")
def check_search(query, answer, model, corpus_emb, texts: Sequence[str], topics: Sequence[str],
                 topic: str = "music", k: int = 3) -> bool:
    """Pass if `answer` is the top-k list util.semantic_search gives for the learner's own `query`
    over `corpus_emb`, and at least k-1 of those hits are about `topic`."""
    from sentence_transformers.util import semantic_search

    if not_attempted(query) or not_attempted(answer):
        return placeholder(f"set query to your own question about {topic}, then answer to the "
                           f"top-{k} hits of util.semantic_search for it.")
    if not isinstance(query, str) or not query.strip():
        return feedback(False, "", "query should be your question, as a non-empty string.")
    if query.strip() in texts:
        return feedback(False, "", "That query is a corpus sentence: write a question in your own words.")
    if isinstance(answer, list) and answer and isinstance(answer[0], list):
        return feedback(False, "", "util.semantic_search returns one list of hits per query: "
                        "take the first one, [0].")
    if not isinstance(answer, list) or not all(isinstance(h, dict) and {"corpus_id", "score"} <= set(h)
                                               for h in answer):
        return feedback(False, "", "answer should be the list of hits ({'corpus_id': ..., 'score': ...}) "
                        "that util.semantic_search(query_emb, corpus_emb, top_k=...)[0] returns.")
    if len(answer) != k:
        return feedback(False, "", f"You have {len(answer)} hits: ask for top_k={k}.")
    want = semantic_search(model.encode([query], convert_to_tensor=True), corpus_emb, top_k=k)[0]
    if [h["corpus_id"] for h in answer] != [h["corpus_id"] for h in want]:
        return feedback(False, "", "These are not the nearest corpus sentences to your query: encode "
                        "the query with the same model and search corpus_emb (the encoded corpus).")
    lines = "\n".join(f"   {h['score']:.3f} [{topics[h['corpus_id']]}] {texts[h['corpus_id']]}" for h in answer)
    on_topic = sum(topics[h["corpus_id"]] == topic for h in answer)
    return feedback(on_topic >= k - 1,
                    f"{on_topic} of your {k} hits are about {topic}:\n{lines}",
                    f"only {on_topic} of your {k} hits are about {topic}:\n{lines}\n"
                    f"   Make the question more clearly about {topic}.")


BGE_QUERY = "Represent this sentence for searching relevant passages: "  # bge-*-en-v1.5's query instruction
PROMPT_QUESTION = "Which horse breed suits a beginner rider?"
PROMPT_PASSAGE = "Calm, steady breeds such as the Haflinger suit riders who are just starting out."


def _vector(x):
    """One embedding as a flat float array, or None if it is not one vector."""
    import numpy as np

    try:
        v = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    return v.ravel() if v.ndim == 1 or (v.ndim == 2 and v.shape[0] == 1) else None


@exercise("01.3", "Query and document prompts")
def check_prompts(answer, model, question: str = PROMPT_QUESTION, passage: str = PROMPT_PASSAGE,
                  instruction: str = BGE_QUERY) -> bool:
    """Pass if `answer` is (query vector, passage vector) from a bge-style model: the question
    encoded with the query instruction in front (encode_query), the passage with no prompt
    (encode_document). `model` is the same weights without prompts, to compute what is expected."""
    import numpy as np

    if not_attempted(answer):
        return placeholder("build SentenceTransformer(name, prompts={'query': instruction}), then set answer "
                           "to (its encode_query(question), its encode_document(passage)).")
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return feedback(False, "", "answer should be a pair: (query vector, passage vector).")
    got = [_vector(v) for v in answer]
    dim = model.get_embedding_dimension()
    if any(v is None or v.shape != (dim,) for v in got):
        return feedback(False, "", f"Each part should be one vector of {dim} numbers: encode one string "
                        "(the question, then the passage), not a list of several.")
    plain_q, prompted_q, plain_p, prompted_p = model.encode(
        [question, instruction + question, passage, instruction + passage])
    q, p = got

    def same(a, b):
        return bool(np.allclose(a, b, atol=1e-4))

    if same(q, plain_p) or same(p, prompted_q):
        return feedback(False, "", "The two are swapped: answer = (query vector, passage vector).")
    if same(q, plain_q):
        return feedback(False, "", "The question was encoded without the instruction: build the model with "
                        "prompts={'query': instruction} and encode the question with encode_query.")
    if same(p, prompted_p):
        return feedback(False, "", "The passage got the query instruction: bge-style models put it before "
                        "queries only. Encode the passage with encode_document.")
    if not (same(q, prompted_q) and same(p, plain_p)):
        return feedback(False, "", "These are not the vectors encode_query(question) and "
                        "encode_document(passage) give for a model built from `name` with "
                        "prompts={'query': instruction}.")
    shift = float(model.similarity(prompted_q, plain_q))
    return feedback(True, f"the query vector is encode(instruction + question): cosine {shift:.3f} with the "
                    "question encoded bare; the passage has no prompt, as bge-style models expect.", "")
