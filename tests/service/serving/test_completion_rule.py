"""When a typed whole word counts as finished: by the probabilities of the words it begins."""

from service.serving.completion import RULE_WORDS, finished, split_fragment


def test_a_word_likelier_than_its_longer_words_together_is_finished() -> None:
    assert finished("the", [("the", 0.6), ("they", 0.2), ("then", 0.1)])
    assert finished("The", [("the", 0.6), ("they", 0.2)])  # the tokenizer's lower case


def test_a_likeliest_word_outweighed_by_its_longer_words_is_still_being_typed() -> None:
    # "that th|": "the" is the likeliest single word, but "they", "then" and "there" together
    # are likelier: the person may well be typing one of them.
    ranked = [("the", 0.40), ("they", 0.25), ("then", 0.20), ("there", 0.10)]
    assert not finished("the", ranked)
    assert not finished("the", [("they", 0.5), ("the", 0.4)])


def test_only_the_likeliest_completions_weigh_in() -> None:
    tail = [(f"the{i}", 0.01) for i in range(40)]  # many unlikely longer words
    assert finished("the", [("the", 0.2), *tail])  # 0.2 > 0.01 * (RULE_WORDS - 1)
    assert 0.01 * (RULE_WORDS - 1) < 0.2 < 0.01 * 40


def test_no_ranked_word_leaves_the_text_read_as_finished() -> None:
    assert finished("zzz", [])


def test_split_fragment_finds_the_typed_word() -> None:
    assert split_fragment("i loved this mov") == ("i loved this ", "mov")
    assert split_fragment("i loved this ") == ("i loved this ", None)
