"""TextHandler: the text clean-up steps TorchServe's text handlers share,
and the vocabulary (source_vocab.pt) they map tokens through.

TorchServe's source_vocab.pt is a pickled torchtext Vocab, and torchtext is
not packaged by Debian: loading one fails with a message saying so. A plain
{token: id} dict saved with torch.save works without torchtext."""

import os
import re
import string
import unicodedata

import torch
import torch.nn.functional as F

from ..handler_utils.contractions import CONTRACTION_MAP
from ..handler_utils.text_utils import DictVocab, get_tokenizer
from ..utils.util import CLEANUP_REGEX
from .base_handler import BaseHandler

CONTRACTIONS_PATTERN = re.compile(
    "({})".format("|".join(re.escape(key) for key in CONTRACTION_MAP)),
    flags=re.IGNORECASE | re.DOTALL)

_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)


class TextHandler(BaseHandler):
    def __init__(self):
        super().__init__()
        self.source_vocab = None
        self.tokenizer = get_tokenizer("basic_english")
        self.input_text = None
        self.lig = None
        self.initialized = None

    def initialize(self, context):
        super().initialize(context)
        self.initialized = False
        path = self.manifest["model"].get("sourceVocab") or \
            self.get_source_vocab_path(context)
        self.source_vocab = _load_vocab(path)
        self.initialized = True

    def get_source_vocab_path(self, ctx):
        path = os.path.join(ctx.system_properties.get("model_dir"),
                            "source_vocab.pt")
        if not os.path.isfile(path):
            raise Exception("Missing the source_vocab file. Refer default "
                            "handler documentation for details on using "
                            "text_handler.")
        return path

    def _expand_contractions(self, text):
        def expand(match):
            found = match.group(0)
            expansion = CONTRACTION_MAP.get(found) or \
                CONTRACTION_MAP[found.lower()]
            # keep the case of the first letter ("Don't" -> "Do not")
            return found[0] + expansion[1:]

        return CONTRACTIONS_PATTERN.sub(expand, text).replace("'", "")

    def _remove_accented_characters(self, text):
        return unicodedata.normalize("NFKD", text).encode(
            "ascii", "ignore").decode("utf-8", "ignore")

    def _remove_html_tags(self, text):
        return CLEANUP_REGEX.sub("", text)

    def _remove_punctuation(self, text):
        return text.translate(_NO_PUNCTUATION)

    # TorchServe's first spelling, which older handlers call
    _remove_puncutation = _remove_punctuation

    def _tokenize(self, text):
        return self.tokenizer(text)

    def get_word_token(self, input_tokens):
        # byte-level BPE tokenizers mark a leading space with "Ġ"
        return [token.replace("\u0120", "") for token in input_tokens]

    def summarize_attributions(self, attributions):
        attributions = F.softmax(attributions, dim=-1)
        return attributions / torch.norm(attributions.sum(dim=-1))


def _load_vocab(path):
    try:
        vocab = torch.load(path)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] != "torchtext":
            raise
        raise ModuleNotFoundError(
            "{} is a torchtext vocabulary and torchtext is not installed; "
            "save a plain {{token: id}} dict instead".format(
                os.path.basename(path)), name="torchtext") from e
    if isinstance(vocab, dict):
        return DictVocab(vocab)
    return vocab
