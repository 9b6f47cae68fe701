#!/usr/bin/env python3
"""PyTorch reference outputs for zoo_models::nn::{Lstm, Gru}.

Run from the repository root with `pip install torch` done:

    python3 tools/make_fixtures.py

For every configuration below it writes crates/models/tests/fixtures/<name>.json holding the
state_dict (name -> shape + values), the input, the optional initial state and lengths (a packed
batch), the outputs `output, h_n[, c_n]` and the gradients of `output.sum() + h_n.sum() [+
c_n.sum()]` with respect to the input, the initial state and every weight, and <name>.pt, the state_dict as torch.save writes it (for the import tests).

It also trains yunjey's pytorch-tutorial MNIST LSTM (2 layers, hidden 128, Adam 0.01, batch 100) for one epoch
on data/mnist-sample and writes tests/fixtures/mnist_lstm_1epoch.pt (its state_dict, keys
`lstm.*` and `fc.*`) and tests/fixtures/mnist_lstm_1epoch.json (its test-set predictions).
"""
import gzip
import json
import os

import torch
import torch.nn as nn

OUT = os.path.join("crates", "models", "tests", "fixtures")

CONFIGS = [
    # name, kind, input, hidden, layers, bias, batch_first, bidirectional, given state
    ("lstm_1layer", "lstm", 5, 4, 1, True, False, False, False),
    ("lstm_3layers_batch_first", "lstm", 5, 4, 3, True, True, False, False),
    ("lstm_bidirectional", "lstm", 5, 4, 1, True, False, True, False),
    ("lstm_3layers_bidirectional_batch_first_state", "lstm", 3, 6, 3, True, True, True, True),
    ("lstm_no_bias_state", "lstm", 5, 4, 2, False, False, False, True),
    ("gru_1layer", "gru", 5, 4, 1, True, False, False, False),
    ("gru_3layers_bidirectional_batch_first_state", "gru", 3, 6, 3, True, True, True, True),
    ("gru_no_bias_batch_first", "gru", 5, 4, 2, False, True, False, False),
]
SEQ, BATCH = 7, 3
# Written after the ones above (the same random stream for those): a packed bidirectional GRU
# with a given state (sequences of 7, 4 and 1 steps), and `mnist-gru`'s own shape (28 rows of 28
# pixels, 2 layers of 128) on 4 images. name, kind, input, hidden, layers, bias, batch_first,
# bidirectional, given state, lengths (None: unpacked), seq, batch.
MORE = [
    ("gru_packed_bidirectional_state", "gru", 5, 4, 2, True, False, True, True, [7, 4, 1], 7, 3),
    ("gru_mnist_gru_size", "gru", 28, 128, 2, True, True, False, True, None, 28, 4),
]


def tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    # Nine significant digits: every float32 back exactly, in fewer bytes than repr.
    return {"shape": list(t.shape), "values": [float(f"{float(v):.9g}") for v in t.flatten()]}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    configs = [c + (None, SEQ, BATCH) for c in CONFIGS] + MORE
    for name, kind, inp, hid, layers, bias, batch_first, bidir, given, lengths, seq, batch in configs:
        cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
        net = cls(inp, hid, layers, bias=bias, batch_first=batch_first, bidirectional=bidir)
        shape = (batch, seq, inp) if batch_first else (seq, batch, inp)
        x = torch.randn(*shape, requires_grad=True)
        state_shape = (layers * (2 if bidir else 1), batch, hid)
        h0 = torch.randn(*state_shape, requires_grad=True) if given else None
        c0 = torch.randn(*state_shape, requires_grad=True) if given and kind == "lstm" else None
        run = x
        if lengths is not None:
            run = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
        if kind == "lstm":
            output, (h_n, c_n) = net(run, (h0, c0)) if given else net(run)
        else:
            output, h_n = net(run, h0) if given else net(run)
            c_n = None
        if lengths is not None:
            output, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=batch_first, total_length=seq)
        # The final states count in the loss too, so that their gradients (and h0's) are checked.
        loss = output.sum() + h_n.sum() + (c_n.sum() if c_n is not None else 0)
        loss.backward()
        states = {"h0": tensor(h0.grad)} if h0 is not None else {}
        if c0 is not None:
            states["c0"] = tensor(c0.grad)
        fixture = {
            "lengths": lengths,
            "kind": kind,
            "input_size": inp,
            "hidden_size": hid,
            "num_layers": layers,
            "bias": bias,
            "batch_first": batch_first,
            "bidirectional": bidir,
            "params": {k: tensor(v) for k, v in net.state_dict().items()},
            "input": tensor(x),
            "h0": tensor(h0) if h0 is not None else None,
            "c0": tensor(c0) if c0 is not None else None,
            "output": tensor(output),
            "h_n": tensor(h_n),
            "c_n": tensor(c_n) if c_n is not None else None,
            "grads": {"input": tensor(x.grad), **states, **{k: tensor(p.grad) for k, p in net.named_parameters()}},
        }
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(fixture, f)
        torch.save(net.state_dict(), os.path.join(OUT, name + ".pt"))
        print("wrote", name)


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


class Rnn(torch.nn.Module):
    """The RNN of yunjey's pytorch-tutorial (`mnist-lstm`), as written there."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(28, 128, 2, batch_first=True)
        self.fc = torch.nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


def mnist_lstm():
    torch.manual_seed(1)
    data = os.path.join("data", "mnist-sample")
    norm = lambda images: (images.float() / 255 - 0.1307) / 0.3081
    train_x = norm(idx(os.path.join(data, "train-images-idx3-ubyte.gz")))
    train_y = idx(os.path.join(data, "train-labels-idx1-ubyte.gz")).long()
    test_x = norm(idx(os.path.join(data, "t10k-images-idx3-ubyte.gz")))
    test_y = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz")).long()
    model = Rnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    order = torch.randperm(len(train_x))
    for start in range(0, len(order), 100):
        batch = order[start : start + 100]
        loss = torch.nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predictions = model(test_x).argmax(1)
    correct = int((predictions == test_y).sum())
    out = os.path.join("tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(out, "mnist_lstm_1epoch.pt"))
    with open(os.path.join(out, "mnist_lstm_1epoch.json"), "w") as f:
        json.dump({"correct": correct, "predictions": predictions.tolist()}, f)
    print("mnist_lstm_1epoch: %d/10000 correct" % correct)


if __name__ == "__main__":
    main()
    mnist_lstm()
