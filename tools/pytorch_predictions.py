#!/usr/bin/env python3
"""Adds PyTorch's answer for every test digit to the fixtures of the PyTorch-trained checkpoints,
so that tests/tests/import.rs compares the zoo's imported models with PyTorch image by image.

Run from the repository root with `pip install torch` done (no training: it loads the committed
.pt files into the tutorials' classes):

    python3 tools/pytorch_predictions.py

For each checkpoint it writes, beside what its JSON holds already, `predictions` (the class
PyTorch gives each of the 10,000 official test digits, in file order), `runner_up` (its second
likeliest class) and `margin` (the probability of the first minus that of the second, rounded
to 7 decimals): where the zoo answers another class, both libraries must be within a hair of a
tie there.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import Rnn as Mnist_LSTM, idx  # noqa: E402
from make_seed_checkpoints import CHECKPOINTS, Net, images  # noqa: E402

FIXTURES = os.path.join("tests", "fixtures")
SEEDS = os.path.join(FIXTURES, "seeds")


def answers(model, x, log_probabilities):
    """Each row's class, second class and the probability margin between them."""
    with torch.no_grad():
        out = model(x)
    probabilities = out.exp() if log_probabilities else out.softmax(1)
    top = probabilities.topk(2, dim=1)
    margin = (top.values[:, 0] - top.values[:, 1]).tolist()
    return top.indices[:, 0].tolist(), top.indices[:, 1].tolist(), [round(m, 7) for m in margin]


def add(json_path, model, x, log_probabilities):
    with open(json_path) as f:
        fixture = json.load(f)
    predictions, runner_up, margin = answers(model, x, log_probabilities)
    test_y = idx(os.path.join("data", "mnist-sample", "t10k-labels-idx1-ubyte.gz")).long().tolist()
    correct = sum(p == t for p, t in zip(predictions, test_y))
    assert correct == fixture["correct"], (json_path, correct, fixture["correct"])
    fixture.update(predictions=predictions, runner_up=runner_up, margin=margin)
    with open(json_path, "w") as f:
        json.dump(fixture, f)
    print("%s: %d/10000, smallest margin %.2e" % (json_path, correct, min(margin)))


def main():
    for name, make, _, layout, mean, std, _, _, _ in CHECKPOINTS:
        model = make()
        model.load_state_dict(torch.load(os.path.join(SEEDS, name + ".pt")))
        model.eval()
        x = images("t10k-images-idx3-ubyte.gz", layout, mean, std)
        add(os.path.join(SEEDS, name + ".json"), model, x, make is Net)
    model = Mnist_LSTM()
    model.load_state_dict(torch.load(os.path.join(FIXTURES, "mnist_lstm_1epoch.pt")))
    model.eval()
    x = images("t10k-images-idx3-ubyte.gz", "rows", 0.1307, 0.3081)
    add(os.path.join(FIXTURES, "mnist_lstm_1epoch.json"), model, x, False)


if __name__ == "__main__":
    main()
