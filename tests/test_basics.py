import numpy as np
import pytest
import torch

import course
from course import basics
from course.exercises import basics as ex


@pytest.fixture(scope="module")
def model():
    return course.load_embedder()


def test_tokens_show_word_pieces(model):
    toks = basics.tokens(model, "Zebras graze.")
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]" and "##s" in toks


def test_mean_pool_by_hand_equals_model(model):
    texts = ["a dog", "a much longer sentence about a sleepy cat on a mat"]
    tok, mask = basics.token_embeddings(model, texts)
    assert mask[0].sum() < mask[1].sum()  # the short one is padded
    pooled = torch.nn.functional.normalize(basics.mean_pool(tok, mask), dim=-1).numpy()
    assert np.allclose(pooled, model.encode(texts), atol=1e-5)


def test_mean_pool_ignores_padding():
    tok = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert torch.allclose(basics.mean_pool(tok, mask), torch.tensor([[2.0, 2.0]]))


def test_search_ranks_the_right_topic_first(model):
    texts = ["Horses need their hooves trimmed.", "Bake the bread for forty minutes.", "Cats purr."]
    emb = model.encode(texts, convert_to_tensor=True)
    table = basics.search(model, "hoof care for my pony", texts, emb, k=2, topics=["h", "c", "k"])
    assert list(table["topic"])[0] == "h" and len(table) == 2
    assert table["cosine"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="query is empty"):
        basics.search(model, "  ", texts, emb)


def test_category_gaps_and_chart(model):
    sts = course.load_sts(split="dev")
    summary, pairs = basics.category_gaps(model, sts)
    assert set(summary.index) == {"paraphrase", "partial", "unrelated", "negation"}
    assert len(pairs) == len(sts)
    assert summary.loc["paraphrase", "model"] > summary.loc["unrelated", "model"]
    fig = basics.gap_chart(summary)
    assert [t.name for t in fig.data] == ["human", "model"]
    assert fig.layout.yaxis.title.text


def test_paraphrase_check(model, capsys):
    assert ex.check_paraphrase(..., model) is False
    assert "Not attempted" in capsys.readouterr().out
    assert ex.check_paraphrase("Zebras eat grass.", model) is False
    assert "reused ['zebra']" in capsys.readouterr().out
    assert ex.check_paraphrase("Interest rates went up.", model) is False
    assert ex.check_paraphrase("Striped wild horses eat grass on African plains.", model) is True
