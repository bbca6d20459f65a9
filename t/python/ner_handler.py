"""Named-entity tagging of a text body: words split on whitespace, looked
up (lower-cased) in the vocabulary of ner_config.json, tagged by
ner_model.TokenTagger, and named through index_to_name.json.
Answer per request: [{"word": ..., "entity": ...}, ...]."""

import json
import os

import torch
from ts.torch_handler.base_handler import BaseHandler


class NerHandler(BaseHandler):
    def _load_pickled_model(self, model_dir, model_file, model_pt_path):
        # the model's sizes come from the archive's config file
        with open(os.path.join(model_dir, "ner_config.json")) as f:
            config = json.load(f)
        self.vocab = {word: i for i, word in enumerate(config["vocab"])}
        from ner_model import TokenTagger

        model = TokenTagger(len(self.vocab), config["embedding_dim"],
                            config["num_labels"])
        model.load_state_dict(torch.load(model_pt_path,
                                         map_location=self.device))
        return model

    def preprocess(self, data):
        batch = []
        for row in data:
            text = row.get("data") or row.get("body")
            if isinstance(text, (bytes, bytearray)):
                text = text.decode("utf-8")
            words = text.split()
            unknown = self.vocab["<unk>"]
            ids = [self.vocab.get(word.lower(), unknown) for word in words]
            batch.append((words, torch.tensor(ids, dtype=torch.long)))
        return batch

    def inference(self, data, *args, **kwargs):
        with torch.inference_mode():
            return [(words, self.model(ids.to(self.device)).argmax(dim=-1))
                    for words, ids in data]

    def postprocess(self, data):
        return [[{"word": word, "entity": self.mapping[str(label)]}
                 for word, label in zip(words, labels.tolist())]
                for words, labels in data]
