#!/usr/bin/env python3
"""The tutorials' own PyTorch classes, trained one epoch and saved as their users save them.

Run from the repository root with `pip install torch safetensors` done:

    python3 tools/make_seed_checkpoints.py

Each class below is copied from its seed (the tutorials this zoo comes from), trained for one
epoch on data/mnist-sample with the seed's optimizer, batch size and preprocessing, and saved with
`torch.save(model.state_dict(), ...)` to tests/fixtures/seeds/<name>.pt, beside <name>.json:
the zoo model it fits, its preprocessing (`mean`, `std` of `[data]`), and PyTorch's own count of
correct answers on the 10,000 official test digits. tests/tests/import.rs imports each file with
the `--rename` flags `zoo import` proposes and compares the counts.

The sequence-models tutorial's LSTMTagger is trained as the seed trains it (300 epochs of its two sentences, SGD lr
0.1) and saved the same way (seed000_tagger.pt), with its `word_to_ix` and `tag_to_ix` saved by
`json.dump` (seed000_word_to_ix.json, seed000_tag_to_ix.json) and, in seed000_tagger.json, the
tags PyTorch gives the two sentences and a new one, and the SHA-256 of each tensor's float32
bytes (for the export round trip).

    python3 tools/make_seed_checkpoints.py [NAME ...]   # only those (e.g. seed000_tagger)
"""
import hashlib
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import idx  # noqa: E402

OUT = os.path.join("tests", "fixtures", "seeds")
DATA = os.path.join("data", "mnist-sample")


class Net(nn.Module):
    """pytorch/examples' MNIST CNN, as written there."""

    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 50, 5, 1)
        self.fc1 = nn.Linear(4*4*50, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2, 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2, 2)
        x = x.view(-1, 4*4*50)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


class CNN(nn.Module):
    """Morvan's PyTorch tutorial's CNN, as written there."""

    def __init__(self):
        super(CNN, self).__init__()
        self.conv1 = nn.Sequential(  # input shape (1, 28, 28)
            nn.Conv2d(
                in_channels=1,      # input height
                out_channels=16,    # n_filters
                kernel_size=5,      # filter size
                stride=1,           # filter movement/step
                padding=2,
            ),      # output shape (16, 28, 28)
            nn.ReLU(),    # activation
            nn.MaxPool2d(kernel_size=2),    # output shape (16, 14, 14)
        )
        self.conv2 = nn.Sequential(  # input shape (16, 14, 14)
            nn.Conv2d(16, 32, 5, 1, 2),  # output shape (32, 14, 14)
            nn.ReLU(),  # activation
            nn.MaxPool2d(2),  # output shape (32, 7, 7)
        )
        self.out = nn.Linear(32 * 7 * 7, 10)   # fully connected layer, output 10 classes

    def forward(self, x):
        x = self.conv1(x)
        x = self.conv2(x)
        x = x.view(x.size(0), -1)
        output = self.out(x)
        return output


class RNN(nn.Module):
    """Morvan's PyTorch tutorial's RNN, as written there."""

    def __init__(self):
        super(RNN, self).__init__()

        self.rnn = nn.LSTM(
            input_size=28,
            hidden_size=64,
            num_layers=1,
            batch_first=True,
        )

        self.out = nn.Linear(64, 10)

    def forward(self, x):
        r_out, (h_n, h_c) = self.rnn(x, None)
        out = self.out(r_out[:, -1, :])
        return out


class Rnn(nn.Module):
    """The MNIST RNN tutorial's `Rnn`, as written there."""

    def __init__(self, in_dim, hidden_dim, n_layer, n_class):
        super(Rnn, self).__init__()
        self.n_layer = n_layer
        self.hidden_dim = hidden_dim
        self.lstm = nn.LSTM(in_dim, hidden_dim, n_layer, batch_first=True)
        self.classifier = nn.Linear(hidden_dim, n_class)

    def forward(self, x):
        out, _ = self.lstm(x)
        out = out[:, -1, :]
        out = self.classifier(out)
        return out


class LSTMTagger(nn.Module):
    """The sequence-models tutorial's LSTMTagger, as written there."""

    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim

        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)

        self.lstm = nn.LSTM(embedding_dim, hidden_dim)

        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)
        self.hidden = self.init_hidden()

    def init_hidden(self):
        return (torch.zeros(1, 1, self.hidden_dim),
                torch.zeros(1, 1, self.hidden_dim))

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, self.hidden = self.lstm(
            embeds.view(len(sentence), 1, -1), self.hidden)
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


def sha256_f32(tensor):
    """SHA-256 of a tensor's values as little-endian float32, in row-major order."""
    values = tensor.detach().float().flatten().tolist()
    return hashlib.sha256(struct.pack("<%df" % len(values), *values)).hexdigest()


def seed000_tagger():
    """The sequence-models tutorial's tagger, trained and saved as the seed does (its `autograd.Variable` wrappers
    are plain tensors in today's PyTorch, and `log_softmax` names its dimension)."""
    torch.manual_seed(1)
    training_data = [
        ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
        ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ]
    word_to_ix = {}
    for sent, tags in training_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}

    def prepare_sequence(seq, to_ix):
        return torch.LongTensor([to_ix[w] for w in seq])

    model = LSTMTagger(2, 3, len(word_to_ix), len(tag_to_ix))
    loss_function = nn.NLLLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(300):
        for sentence, tags in training_data:
            model.zero_grad()
            model.hidden = model.init_hidden()
            loss = loss_function(model(prepare_sequence(sentence, word_to_ix)),
                                 prepare_sequence(tags, tag_to_ix))
            loss.backward()
            optimizer.step()

    ix_to_tag = {i: t for t, i in tag_to_ix.items()}

    def tag(words):
        model.hidden = model.init_hidden()
        with torch.no_grad():
            best = model(prepare_sequence(words, word_to_ix)).argmax(1)
        return [ix_to_tag[int(i)] for i in best]

    correct = sum(
        p == t for sentence, tags in training_data for p, t in zip(tag(sentence), tags)
    )
    new = "Everybody ate the book"
    state = model.state_dict()
    torch.save(state, os.path.join(OUT, "seed000_tagger.pt"))
    for name, vocab in [("word_to_ix", word_to_ix), ("tag_to_ix", tag_to_ix)]:
        with open(os.path.join(OUT, "seed000_%s.json" % name), "w") as f:
            json.dump(vocab, f)
    sha = {k: sha256_f32(v) for k, v in state.items()}
    with open(os.path.join(OUT, "seed000_tagger.json"), "w") as f:
        json.dump(
            {"model": "pos-tagger", "embedding_dim": 2, "hidden_size": 3,
             "correct": correct, "count": sum(len(t) for _, t in training_data),
             "tagged": {" ".join(s): tag(s) for s in [d[0] for d in training_data] + [new.split()]},
             "sha256": sha},
            f,
            indent=1,
        )
    print("seed000_tagger (pos-tagger): %d/9 training tokens right" % correct)


# name, class, zoo model, image layout, mean, std, optimizer, lr, batch size
CHECKPOINTS = [
    ("seed000_net", Net, "mnist-cnn", "nchw", 0.1307, 0.3081, "sgd", 0.01, 64),
    ("seed004_cnn", CNN, "small-cnn", "nchw", 0.0, 1.0, "adam", 0.001, 50),
    ("seed004_rnn", RNN, "mnist-lstm-small", "rows", 0.0, 1.0, "adam", 0.01, 64),
    ("seed003_rnn", lambda: Rnn(28, 128, 2, 10), "mnist-lstm", "rows", 0.0, 1.0, "adam", 1e-3, 100),
]


def images(name, layout, mean, std):
    x = (idx(os.path.join(DATA, name)).float() / 255 - mean) / std
    return x.unsqueeze(1) if layout == "nchw" else x


def main():
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    if not only or "seed000_tagger" in only:
        seed000_tagger()
    train_y = idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz")).long()
    test_y = idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")).long()
    for name, make, model_name, layout, mean, std, optimizer, lr, batch in CHECKPOINTS:
        if only and name not in only:
            continue
        torch.manual_seed(1)
        train_x = images("train-images-idx3-ubyte.gz", layout, mean, std)
        test_x = images("t10k-images-idx3-ubyte.gz", layout, mean, std)
        model = make()
        if optimizer == "sgd":
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.5)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        order = torch.randperm(len(train_x))
        for start in range(0, len(order), batch):
            b = order[start : start + batch]
            out = model(train_x[b])
            loss = F.nll_loss(out, train_y[b]) if make is Net else F.cross_entropy(out, train_y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            correct = int((model(test_x).argmax(1) == test_y).sum())
        torch.save(model.state_dict(), os.path.join(OUT, name + ".pt"))
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(
                {"model": model_name, "mean": mean, "std": std, "correct": correct,
                 "keys": list(model.state_dict().keys())},
                f,
                indent=1,
            )
        print("%s (%s): %d/10000 correct" % (name, model_name, correct))


if __name__ == "__main__":
    main()
