"""A tiny token tagger: an embedding per word, then a linear layer giving
a score per entity label. Its sizes are constructor arguments, so
BaseHandler's default loader (which instantiates without arguments) cannot
build it: ner_handler.py does."""

from torch import nn


class TokenTagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, num_labels):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.classifier = nn.Linear(embedding_dim, num_labels)

    def forward(self, ids):
        return self.classifier(self.embedding(ids))
