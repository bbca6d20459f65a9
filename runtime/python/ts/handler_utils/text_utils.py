"""The two torchtext helpers TorchServe's text handlers use, so that they
need no torchtext: the "basic_english" tokenizer and n-gram expansion."""

import re

# Punctuation that becomes a token of its own, and characters that only
# separate words; the result is split on whitespace, so spacing is free.
_OWN_TOKEN = re.compile(r"([.,()!?'])")
_SEPARATOR = re.compile(r'<br />|[;:]')


def _basic_english(line):
    line = line.lower().replace('"', "")
    line = _SEPARATOR.sub(" ", line)
    return _OWN_TOKEN.sub(r" \1 ", line).split()


def _split(line):
    return line.split()


def get_tokenizer(tokenizer, language="en"):
    """None -> str.split; "basic_english" -> lower-cased words with
    . , ( ) ! ? ' as tokens of their own; a callable is returned as is."""
    if tokenizer is None:
        return _split
    if callable(tokenizer):
        return tokenizer
    if tokenizer == "basic_english":
        if language != "en":
            raise ValueError("basic_english is only available for English "
                             "(en)")
        return _basic_english
    raise ValueError("tokenizer {!r} needs torchtext, which is not "
                     "installed".format(tokenizer))


def ngrams_iterator(token_list, ngrams):
    """The tokens, then every run of 2..ngrams consecutive tokens joined
    by a space: ["a", "b", "c"], 2 -> a, b, c, "a b", "b c"."""
    yield from token_list
    for n in range(2, ngrams + 1):
        for start in range(len(token_list) - n + 1):
            yield " ".join(token_list[start:start + n])


class DictVocab(dict):
    """A {token: id} vocabulary that answers unknown tokens with the id of
    "<unk>" (0 without one), as a torchtext Vocab with a default index does."""

    def __missing__(self, token):
        return dict.get(self, "<unk>", 0)
