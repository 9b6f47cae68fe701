#!/usr/bin/env python3
"""Loads a `zoo export` file into the PyTorch class it belongs to and counts its correct answers.

    python3 tools/check_export.py FILE.safetensors CLASS [--record JSON]

CLASS is one of the tutorials' classes (tools/make_seed_checkpoints.py): `Net` (pytorch/examples, for
`mnist-cnn`), `CNN` (Morvan's tutorial, for `small-cnn`, exported with `--rename '^conv(\\d)\\.=conv$1.0.'`),
`Rnn` (yunjey's tutorial, `lstm` + `fc`, for `mnist-lstm`), or `Tagger` (the PyTorch twin of the zoo's
`pos-tagger`, below). The file must load with `strict=True`; the script then prints the count of
correct answers on the 10,000 test digits of data/mnist-sample, normalized as the zoo's models
were trained (mean 0.1307, deviation 0.3081), or, for `Tagger`, of correct UPOS tags of
UD English-EWT's test tokens, words and tags numbered by the `vocab-words.txt` and
`vocab-tags.txt` that `zoo export` wrote beside the file. With `--record`, it writes that count
and the file's SHA-256 to JSON, the fixture tests/tests/pretrained.rs compares with where
PyTorch is not installed.
"""
import hashlib
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import Rnn, idx  # noqa: E402  (yunjey's tutorial's class)
from make_seed_checkpoints import CNN, Net  # noqa: E402
from torch_reference import conllu_sentences  # noqa: E402


class Tagger(nn.Module):
    """The zoo's `pos-tagger` as a PyTorch user writes it: Embedding -> bidirectional LSTM ->
    Linear -> log-softmax, sized from the state_dict's shapes."""

    def __init__(self, state):
        super().__init__()
        vocab, dim = state["embedding.weight"].shape
        hidden = state["lstm.weight_hh_l0"].shape[1]
        layers = sum(1 for k in state if k.startswith("lstm.weight_ih_l") and "reverse" not in k)
        self.embedding = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, layers, batch_first=True,
                            bidirectional="lstm.weight_ih_l0_reverse" in state)
        self.hidden2tag = nn.Linear(state["hidden2tag.weight"].shape[1],
                                    state["hidden2tag.weight"].shape[0])

    def forward(self, words):
        out, _ = self.lstm(self.embedding(words))
        return F.log_softmax(self.hidden2tag(out), dim=-1)


def vocabulary(path):
    """A `zoo export` vocabulary: its header says whether words are lowercased; then one token
    per line, the line's place its id."""
    with open(path, encoding="utf-8") as f:
        header, *tokens = f.read().split("\n")[:-1]
    return {t: i for i, t in enumerate(tokens)}, header.endswith("lowercase=true")


def tagger_count(path, model):
    """Correct UPOS tags of en_ewt-ud-test, one sentence at a time; an unknown word or tag is
    `<unk>` (id 1), as in the zoo."""
    folder = os.path.dirname(path)
    words, lowercase = vocabulary(os.path.join(folder, "vocab-words.txt"))
    tags, _ = vocabulary(os.path.join(folder, "vocab-tags.txt"))
    test = os.path.join("data", "ud-english-ewt", "en_ewt-ud-test.conllu.gz")
    correct = 0
    with torch.no_grad():
        for forms, gold in conllu_sentences(test):
            ids = [words.get(w.lower() if lowercase else w, 1) for w in forms]
            best = model(torch.tensor([ids])).argmax(-1)[0]
            correct += sum(int(b) == tags.get(t, 1) for b, t in zip(best, gold))
    return correct


def main():
    path, name = sys.argv[1], sys.argv[2]
    state = load_file(path)
    model = Tagger(state) if name == "Tagger" else {"Net": Net, "CNN": CNN, "Rnn": Rnn}[name]()
    model.load_state_dict(state, strict=True)
    model.eval()
    if name == "Tagger":
        correct = tagger_count(path, model)
    else:
        correct = mnist_count(model, name)
    print(correct)
    if len(sys.argv) > 4 and sys.argv[3] == "--record":
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        with open(sys.argv[4], "w") as f:
            json.dump({"class": name, "correct": correct, "sha256": sha}, f, indent=1)
            f.write("\n")


def mnist_count(model, name):
    """Correct answers on the 10,000 test digits."""
    data = os.path.join("data", "mnist-sample")
    x = (idx(os.path.join(data, "t10k-images-idx3-ubyte.gz")).float() / 255 - 0.1307) / 0.3081
    y = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz")).long()
    if name != "Rnn":
        x = x.unsqueeze(1)
    with torch.no_grad():
        return int((model(x).argmax(1) == y).sum())


if __name__ == "__main__":
    main()
