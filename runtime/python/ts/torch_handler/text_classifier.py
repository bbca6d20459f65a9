"""TextClassifier: one text in (only the first request of a batch is
read, as in TorchServe, so a batch of more fails as "number of batch
response mismatched"), cleaned up, tokenized into unigrams and bigrams,
mapped through source_vocab.pt, run as model(ids, offsets=[0]); the answer
is {label: probability} over all classes."""

import torch
import torch.nn.functional as F

from ..handler_utils.text_utils import ngrams_iterator
from ..utils.util import map_class_to_label
from .text_handler import TextHandler


class TextClassifier(TextHandler):
    ngrams = 2

    def preprocess(self, data):
        row = data[0]
        text = row.get("data") or row.get("body")
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        text = self._remove_html_tags(text)
        text = text.lower()
        text = self._expand_contractions(text)
        text = self._remove_accented_characters(text)
        text = self._remove_punctuation(text)
        tokens = self._tokenize(text)
        ids = torch.as_tensor(
            [self.source_vocab[token]
             for token in ngrams_iterator(tokens, self.ngrams)],
            device=self.device)
        return ids, tokens

    def inference(self, data, *args, **kwargs):
        ids, _ = data
        offsets = torch.as_tensor([0], device=self.device)
        return super().inference(ids, offsets)

    def postprocess(self, data):
        return map_class_to_label(F.softmax(data, dim=-1).tolist(),
                                  self.mapping)

    def get_insights(self, text_preprocess, _, target=0):
        """Captum's LayerIntegratedGradients over the embedding layer:
        [{"importances": [...], "words": [...]}]."""
        try:
            from captum.attr import LayerIntegratedGradients, \
                TokenReferenceBase
        except ImportError as e:
            raise ModuleNotFoundError(
                "explanations need captum, which is not installed "
                "({})".format(e), name="captum") from e
        if self.lig is None:
            self.lig = LayerIntegratedGradients(self.model,
                                                self.model.embedding)
        ids, tokens = text_preprocess
        reference = TokenReferenceBase().generate_reference(
            ids.shape[0], device=self.device).squeeze(0)
        offsets = torch.tensor([0]).to(self.device)
        attributions = self.lig.attribute(
            ids, reference, additional_forward_args=(offsets),
            return_convergence_delta=False, target=target)
        importances = self.summarize_attributions(attributions)
        return [{"importances": importances.tolist(),
                 "words": self.get_word_token(tokens)}]
