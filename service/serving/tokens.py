"""How many tokens the model reads of a text: what the batcher and the explainer size their
model calls by, so that no call pads past its cap.

The exported graph standardises a text before it splits it at spaces (training/text.py does
it in TensorFlow; this module mirrors its rules in Python, for counting only): HTML line
breaks (`<br />`) go; each of `!?.,;:()"-` is a token of its own, so "!!!" is three; Penn
Treebank brackets (-lrb-) are one; letters and digits make words, with apostrophes inside
them ("don't"), and every other character (spaces, newlines, tabs, symbols) only parts them.
A text of newlines or punctuation runs is therefore as many tokens as it has words and marks,
not as its spaces say. Contractions written apart ("does n't") are joined by the graph and
counted as two here: the count may be one high, never low.
"""

import re

# Order matters: line breaks and treebank brackets before punctuation and words.
TOKEN = re.compile(
    r"(?P<skip><br\s*/?>)"
    r"|-[lr][rsc]b-"
    r"|[!?.,;:()\"-]"
    r"|[^\W_]+(?:'+[^\W_]+)*",
    re.IGNORECASE,
)


def count_tokens(text: str, cap: int) -> int:
    """The tokens the graph reads of `text`, counted up to `cap` (it reads no more): at least
    1, since an empty text still takes one padded step."""
    count = 0
    for match in TOKEN.finditer(text):
        if match.lastgroup == "skip":
            continue
        count += 1
        if count >= cap:
            break
    return max(count, 1)
