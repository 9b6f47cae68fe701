#!/usr/bin/env python3
"""Loads a `zoo export` file into the PyTorch class it belongs to and counts its correct answers.

    python3 tools/check_export.py FILE.safetensors CLASS [--record JSON]

CLASS is one of the seeds' classes (tools/make_seed_checkpoints.py): `Net` (seed 000, for
`mnist-cnn`), `CNN` (seed 004, for `small-cnn`, exported with `--rename '^conv(\\d)\\.=conv$1.0.'`),
`Rnn` (seed 001's, `lstm` + `fc`, for `mnist-lstm`). The file must load with `strict=True`; the
script then prints the count of correct answers on the 10,000 test digits of data/mnist-sample,
normalized as the zoo's models were trained (mean 0.1307, deviation 0.3081). With `--record`, it
writes that count and the file's SHA-256 to JSON, the fixture tests/tests/pretrained.rs compares
with where PyTorch is not installed.
"""
import hashlib
import json
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import Rnn, idx  # noqa: E402  (seed 001's class)
from make_seed_checkpoints import CNN, Net  # noqa: E402


def main():
    path, name = sys.argv[1], sys.argv[2]
    model = {"Net": Net, "CNN": CNN, "Rnn": Rnn}[name]()
    model.load_state_dict(load_file(path), strict=True)
    model.eval()
    data = os.path.join("data", "mnist-sample")
    x = (idx(os.path.join(data, "t10k-images-idx3-ubyte.gz")).float() / 255 - 0.1307) / 0.3081
    y = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz")).long()
    if name != "Rnn":
        x = x.unsqueeze(1)
    with torch.no_grad():
        correct = int((model(x).argmax(1) == y).sum())
    print(correct)
    if len(sys.argv) > 4 and sys.argv[3] == "--record":
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        with open(sys.argv[4], "w") as f:
            json.dump({"class": name, "correct": correct, "sha256": sha}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
