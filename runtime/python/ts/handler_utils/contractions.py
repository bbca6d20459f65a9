"""English contractions and their expansions, for text handlers'
_expand_contractions. Keys are lower-case; the handler keeps the case of the
first letter of what it replaces."""

_NOT = {
    "ain't": "is not", "aren't": "are not", "can't": "cannot",
    "couldn't": "could not", "didn't": "did not", "doesn't": "does not",
    "don't": "do not", "hadn't": "had not", "hasn't": "has not",
    "haven't": "have not", "isn't": "is not", "mayn't": "may not",
    "mightn't": "might not", "mustn't": "must not", "needn't": "need not",
    "oughtn't": "ought not", "shan't": "shall not",
    "shouldn't": "should not", "wasn't": "was not", "weren't": "were not",
    "won't": "will not", "wouldn't": "would not",
}

_PRONOUN_FORMS = {
    # pronoun: (its 'd, its 'll, its 're or 's, its 've)
    "i": ("i would", "i will", None, "i have"),
    "you": ("you would", "you will", "you are", "you have"),
    "he": ("he would", "he will", "he is", "he has"),
    "she": ("she would", "she will", "she is", "she has"),
    "it": ("it would", "it will", "it is", "it has"),
    "we": ("we would", "we will", "we are", "we have"),
    "they": ("they would", "they will", "they are", "they have"),
    "that": ("that would", "that will", "that is", "that has"),
    "there": ("there would", "there will", "there is", "there has"),
    "here": (None, None, "here is", None),
    "what": ("what did", "what will", "what is", "what have"),
    "who": ("who would", "who will", "who is", "who have"),
    "where": ("where did", None, "where is", "where have"),
    "when": (None, None, "when is", "when have"),
    "why": (None, None, "why is", "why have"),
    "how": ("how did", "how will", "how is", None),
}


def _pronoun_contractions():
    table = {"i'm": "i am", "let's": "let us", "y'all": "you all",
             "'cause": "because", "o'clock": "of the clock",
             "ma'am": "madam", "could've": "could have",
             "should've": "should have", "would've": "would have",
             "might've": "might have", "must've": "must have"}
    for word, (d, ll, re_s, ve) in _PRONOUN_FORMS.items():
        plural = word in ("you", "we", "they")
        for suffix, expansion in (("'d", d), ("'ll", ll),
                                  ("'re" if plural else "'s", re_s),
                                  ("'ve", ve)):
            if expansion:
                table[word + suffix] = expansion
    return table


CONTRACTION_MAP = dict(_NOT, **_pronoun_contractions())
