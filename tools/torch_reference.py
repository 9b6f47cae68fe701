#!/usr/bin/env python3
"""PyTorch reference for `zoo compare --torch`: the same MNIST model, data split, hyper-parameters
and seed as a zoo experiment config, trained with PyTorch (cuDNN on a GPU when one is there). Needs torch
only (no numpy, no torchvision).

    python3 tools/torch_reference.py --config runs/compare-x/config.toml --out runs/compare-x/torch

Writes OUT/model.pt (the state dict, and a tagger's vocabularies, for tools/torch_predict.py) and
OUT/summary.json with the fields `zoo compare` and `zoo bench --epoch` read: backend, device,
seconds_per_epoch, samples_per_second, train_samples, test_seconds, test_samples, peak_memory_mib,
test_accuracy. Seconds per epoch count the training pass only, as `zoo train` does; test_seconds
the pass over the test set. The loop is written as a PyTorch user writes it: tensors in memory,
a shuffled order each epoch, the loss printed every `log_interval` steps.

The MNIST models (mnist-lstm, mnist-lstm-small, mnist-gru, mnist-cnn, small-cnn) read the IDX
files; `pos-tagger` reads a Universal Dependencies folder (CoNLL-U) and is the zoo's tagger built
with nn.Embedding and a bidirectional nn.LSTM over pack_padded_sequence, on the same vocabularies
(lowercased words seen at least `min_count` times) and the same batches (sentences sorted by
length, cut into batches of `batch_size`, the batches shuffled each epoch); `pos-tagger-char` is
its character twin (tools/torch_char_tagger.py) on the same batches. The toys (`regression`,
`classification`) draw Morvan's points with torch from the seed.
"""

import argparse
import gzip
import json
import os
import platform
import resource
import struct
import sys
import time
import tomllib

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_char_tagger import CharTagger, char_rows, char_vocabulary, drop_rates

# The trained weights (and a tagger's vocabularies) in --out, which tools/torch_predict.py loads.
WEIGHTS = "model.pt"

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            magic, count = struct.unpack(">II", data[:8])
            if magic == 2051:
                rows, cols = struct.unpack(">II", data[8:16])
                pixels = torch.frombuffer(bytearray(data), dtype=torch.uint8, count=count * rows * cols, offset=16)
                return pixels.reshape(count, rows, cols)
            return torch.frombuffer(bytearray(data), dtype=torch.uint8, count=count, offset=8)
    sys.exit(f"error: {folder}: no {stem} or {stem}.gz")


class MnistLstm(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.lstm = nn.LSTM(m["input_size"], m["hidden_size"], m["num_layers"], batch_first=True)
        self.fc = nn.Linear(m["hidden_size"], m["num_classes"])

    def forward(self, x):  # [B, 28, 28]
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


class MnistGru(MnistLstm):
    """`mnist-gru`: `mnist-lstm` with `nn.GRU` in place of `nn.LSTM`."""

    def __init__(self, m):
        super().__init__(m)
        self.lstm = nn.GRU(m["input_size"], m["hidden_size"], m["num_layers"], batch_first=True)


class MnistCnn(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 50, 5, 1)
        self.fc1 = nn.Linear(4 * 4 * 50, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = F.relu(self.fc1(x.view(-1, 4 * 4 * 50)))
        return self.fc2(x)


class SmallCnn(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, 1, 2)
        self.conv2 = nn.Conv2d(16, 32, 5, 1, 2)
        self.out = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.out(x.view(x.size(0), -1))


class PosTagger(nn.Module):
    """The zoo's `pos-tagger`: Embedding -> dropout -> (bi)LSTM -> dropout -> Linear -> log-softmax."""

    def __init__(self, m, words, tags):
        super().__init__()
        self.embedding = nn.Embedding(words, m["embedding_dim"])
        self.lstm = nn.LSTM(m["embedding_dim"], m["hidden_size"], m["num_layers"], batch_first=True,
                            bidirectional=m["bidirectional"],
                            dropout=m["dropout"] if m["num_layers"] > 1 else 0.0)
        directions = 2 if m["bidirectional"] else 1
        self.hidden2tag = nn.Linear(directions * m["hidden_size"], tags)
        self.dropout = nn.Dropout(m["dropout"])

    def forward(self, words, lengths):  # [B, T] padded, lengths on the CPU
        x = self.dropout(self.embedding(words))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=words.shape[1])
        return F.log_softmax(self.hidden2tag(self.dropout(out)), dim=-1)

    def loss(self, batch, device):
        """The mean NLL per real word of a batch (word ids, lengths, gold tags with -100 on padding)."""
        words, lengths, gold = batch
        scores = self(words.to(device), lengths)
        return F.nll_loss(scores.flatten(0, 1), gold.to(device).flatten(), ignore_index=-100)

    def predict(self, batch, device):
        """Each word's best tag, `[B, T]`."""
        words, lengths, _ = batch
        return self(words.to(device), lengths).argmax(-1)


class Mlp(nn.Module):
    """The toys of Morvan's tutorial (`regression`, `classification`): Linear -> ReLU -> Linear."""

    def __init__(self, m):
        super().__init__()
        self.hidden = nn.Linear(m["input_size"], m["hidden_size"])
        self.out = nn.Linear(m["hidden_size"], m["output_size"])

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


# The taggers (tagger_data builds them from a treebank).
TAGGERS = ("pos-tagger", "pos-tagger-char")

MODELS = {
    "mnist-lstm": (MnistLstm, False),
    "mnist-lstm-small": (MnistLstm, False),
    "mnist-gru": (MnistGru, False),
    "mnist-cnn": (MnistCnn, True),
    "small-cnn": (SmallCnn, True),
}


def read_conllu(folder, split, column):
    """The sentences of `*-ud-SPLIT.conllu[.gz]` in `folder` (see `conllu_sentences`)."""
    names = [n for n in os.listdir(folder) if n.endswith(f"{split}.conllu") or n.endswith(f"{split}.conllu.gz")]
    if not names:
        sys.exit(f"error: {folder}: no *{split}.conllu or *{split}.conllu.gz")
    return conllu_sentences(os.path.join(folder, sorted(names)[0]), column)


def conllu_sentences(path, column="upos"):
    """The (forms, tags) of each sentence of a CoNLL-U file (.gz or not): word lines only,
    multiword ranges (1-2) and empty nodes (1.1) skipped; UPOS, or XPOS with column="xpos"."""
    opener = gzip.open if path.endswith(".gz") else open
    sentences, words, tags = [], [], []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if words:
                    sentences.append((words, tags))
                words, tags = [], []
            elif not line.startswith("#"):
                cols = line.split("\t")
                if cols[0].isdigit():
                    words.append(cols[1])
                    tags.append(cols[3] if column == "upos" else cols[4])
    if words:
        sentences.append((words, tags))
    return sentences


def vocabulary(tokens, min_count):
    """Id of each token seen at least `min_count` times; 0 is padding, 1 the unknown token."""
    counts = {}
    for t in tokens:
        counts[t] = counts.get(t, 0) + 1
    kept = sorted((t for t, c in counts.items() if c >= max(min_count, 1)), key=lambda t: (-counts[t], t))
    return {t: i + 2 for i, t in enumerate(kept)}


def tagger_batches(sentences, words, tags, lowercase, batch, chars=None):
    """Sentences sorted by length (shuffled first, as the zoo does), cut into padded batches:
    (word ids [B, T], lengths, tag ids [B, T] with -100 on padding), and with a character
    vocabulary `chars` each batch's characters after them (`torch_char_tagger.char_rows`)."""
    order = torch.randperm(len(sentences)).tolist()
    ordered = sorted((sentences[i] for i in order), key=lambda s: len(s[0]))
    batches = []
    for start in range(0, len(ordered), batch):
        chunk = ordered[start : start + batch]
        longest = max(len(w) for w, _ in chunk)
        ids = torch.zeros(len(chunk), longest, dtype=torch.long)
        gold = torch.full((len(chunk), longest), -100, dtype=torch.long)
        for row, (ws, ts) in enumerate(chunk):
            ids[row, : len(ws)] = torch.tensor([words.get(w.lower() if lowercase else w, 1) for w in ws])
            gold[row, : len(ts)] = torch.tensor([tags.get(t, 1) for t in ts])
        spelled = () if chars is None else char_rows([w for w, _ in chunk], chars, longest)
        batches.append((ids, torch.tensor([len(w) for w, _ in chunk]), gold, *spelled))
    return batches


def tagger_data(config, folder):
    """The tagger's model, its batches of the train split and of the test split, their sizes, and
    its vocabularies (`words`, `tags`, `lowercase`, `chars`: what tools/torch_predict.py needs)."""
    data, batch = config["data"], config["train"]["batch_size"]
    column = data.get("tag_column", "upos")
    train, test = read_conllu(folder, "train", column), read_conllu(folder, "test", column)
    if data.get("train_limit"):
        train = train[: data["train_limit"]]
    lowercase = data.get("lowercase", True)
    words = vocabulary((w.lower() if lowercase else w for ws, _ in train for w in ws), data.get("min_count", 1))
    tags = vocabulary((t for _, ts in train for t in ts), 1)
    chars = char_vocabulary(train, vocabulary) if config["model"]["name"] == "pos-tagger-char" else None
    vocab = {"words": words, "tags": tags, "lowercase": lowercase, "chars": chars}
    model = tagger_model(config["model"], vocab, drop_rates(config["model"], train, words, lowercase) if chars else None)
    return (model, tagger_batches(train, words, tags, lowercase, batch, chars),
            tagger_batches(test, words, tags, lowercase, batch, chars), len(train), len(test), vocab)


def tagger_model(m, vocab, rates=None):
    """The tagger `m` names, sized by its vocabularies; `rates`: the character tagger's word
    dropout per word id (none at inference)."""
    words, tags = len(vocab["words"]) + 2, len(vocab["tags"]) + 2
    if m["name"] == "pos-tagger":
        return PosTagger(m, words, tags)
    return CharTagger(m, words, len(vocab["chars"]) + 2, tags, rates if rates is not None else torch.zeros(words))


def tagger_correct(model, batch, device):
    """(correct tags, tags) of one test batch of a tagger."""
    gold = batch[2].to(device)
    predicted = model.predict(batch, device)
    return ((predicted == gold) & (gold != -100)).sum().item(), (gold != -100).sum().item()


def mnist_correct(model, batch, device):
    """(correct answers, images) of one test batch of an MNIST model."""
    x, y = batch
    return (model(x.to(device)).argmax(1) == y.to(device)).sum().item(), len(y)


def test_pass(model, batches, correct_of, device):
    """The model's (correct, total, seconds) over the test batches, in eval mode without gradients."""
    model.eval()
    correct = total = 0
    synchronize(device)
    start = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            right, count = correct_of(model, batch, device)
            correct, total = correct + right, total + count
    synchronize(device)
    return correct, total, time.perf_counter() - start


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"CPU: {model} ({torch.get_num_threads()} threads)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="a zoo config.toml (resolved, every key)")
    parser.add_argument("--out", required=True, help="folder for summary.json")
    parser.add_argument("--data-dir", help="dataset folder [default: the config's data.dir]")
    parser.add_argument("--cpu", action="store_true", help="stay on the CPU even with a GPU")
    args = parser.parse_args()

    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    name = config["model"]["name"]
    covered = [*MODELS, *TAGGERS, *TOYS]
    if name not in covered:
        sys.exit(f"error: the PyTorch reference covers {', '.join(covered)}; not `{name}`")
    data, train, opt = config["data"], config["train"], config["optimizer"]
    folder = args.data_dir or data.get("dir")

    torch.manual_seed(train["seed"])
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    if name in TAGGERS:
        model, train_batches, test_batches, train_samples, test_samples, vocab = tagger_data(config, folder)
        model = model.to(device)
        correct_of = tagger_correct

        def step_loss(batch):
            return model.loss(batch, device)

        def epoch_batches():
            return [train_batches[i] for i in torch.randperm(len(train_batches)).tolist()]
    else:
        model, (train_x, train_y), (test_x, test_y) = (toy_data if name in TOYS else mnist_data)(config, folder, device)
        loss_of, correct_of = TOYS.get(name, (F.cross_entropy, mnist_correct))
        train_samples, test_samples, vocab = len(train_x), len(test_x), None
        size = train["batch_size"]
        test_batches = mnist_batches(test_x, test_y, size)

        def step_loss(batch):
            x, y = batch
            return loss_of(model(x), y)

        def epoch_batches():
            order = torch.randperm(len(train_x), device=device)
            for i in range(0, len(train_x), size):
                index = order[i : i + size]
                yield train_x[index], train_y[index]

    if opt["name"] == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=opt["lr"], weight_decay=opt.get("weight_decay", 0.0))
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=opt["lr"], momentum=opt.get("momentum", 0.0),
                                    weight_decay=opt.get("weight_decay", 0.0))
    decay = torch.optim.lr_scheduler.ExponentialLR(optimizer, opt["lr_decay"]) if opt.get("lr_decay") else None
    log_interval = train.get("log_interval", 0)
    seconds = []
    for epoch in range(train["epochs"]):
        model.train()
        synchronize(device)
        start = time.perf_counter()
        for step, batch in enumerate(epoch_batches()):
            optimizer.zero_grad()
            loss = step_loss(batch)
            loss.backward()
            if opt.get("grad_clip_norm"):
                nn.utils.clip_grad_norm_(model.parameters(), opt["grad_clip_norm"])
            optimizer.step()
            if log_interval and step % log_interval == 0:
                print(f"Train Epoch: {epoch + 1} step {step}\tLoss: {loss.item():.6f}", flush=True)
        synchronize(device)
        seconds.append(time.perf_counter() - start)
        print(f"Train Epoch: {epoch + 1} done in {seconds[-1]:.1f} s: last loss {loss.item():.4f}", flush=True)
        if decay:
            decay.step()

    correct, total, test_seconds = test_pass(model, test_batches, correct_of, device)
    accuracy = correct / total
    print(f"{test_line(name, correct, total)} in {test_seconds:.2f} s")

    per_epoch = sum(seconds) / len(seconds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    summary = {
        "backend": f"torch {torch.__version__} ({device.type})",
        "device": device_name(device),
        "seconds_per_epoch": per_epoch,
        "samples_per_second": train_samples / per_epoch,
        "peak_memory_mib": peak,
        "gpu_peak_memory_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        "test_accuracy": None if name == "regression" else accuracy,
        "test_mse": accuracy if name == "regression" else None,
        "test_correct": correct,
        "test_seconds": test_seconds,
        "test_samples": test_samples,
        "train_samples": train_samples,
        "epochs": train["epochs"],
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    torch.save({"state_dict": model.state_dict(), "vocab": vocab}, os.path.join(args.out, WEIGHTS))


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def mnist_data(config, folder, device):
    """The MNIST model on `device`, and the normalized train split and test set there."""
    data = config["data"]
    images = read_idx(folder, FILES["train_images"])
    labels = read_idx(folder, FILES["train_labels"])
    held_out = round(len(images) * data["valid_fraction"])
    train_x, train_y = images[: len(images) - held_out], labels[: len(images) - held_out]
    if data.get("train_limit"):
        train_x, train_y = train_x[: data["train_limit"]], train_y[: data["train_limit"]]
    test_x, test_y = read_idx(folder, FILES["test_images"]), read_idx(folder, FILES["test_labels"])
    model = MODELS[config["model"]["name"]][0](config["model"]).to(device)
    return model, mnist_tensors(config, train_x, train_y, device), mnist_tensors(config, test_x, test_y, device)


def toy_data(config, folder, device):
    """A toy's model on `device`, and its training and test points there: Morvan's sets drawn by
    torch from the seed (the regression's curve on an even grid, fresh x for its test; two
    Gaussian clusters, and two more for the test). `folder` is unused: a toy has no files."""
    data = config["data"]
    if config["model"]["name"] == "regression":
        grid = torch.linspace(-1, 1, data["train_points"]).unsqueeze(1)
        drawn = torch.rand(data["test_points"], 1) * 2 - 1
        train, test = [(x, x.pow(2) + 0.2 * torch.rand(x.size())) for x in (grid, drawn)]
    else:
        def clusters(n):
            centre = 2 * torch.ones(n, 2)
            return (torch.cat([torch.normal(centre, 1), torch.normal(-centre, 1)]),
                    torch.cat([torch.zeros(n), torch.ones(n)]).long())
        train, test = clusters(data["train_points"]), clusters(data["test_points"])
    model = Mlp(config["model"]).to(device)
    return model, tuple(t.to(device) for t in train), tuple(t.to(device) for t in test)


def squared_error(model, batch, device):
    """(summed squared error, points) of one test batch of the regression."""
    x, y = batch
    return F.mse_loss(model(x.to(device)), y.to(device), reduction="sum").item(), len(y)


# The toys: their loss, and their test figure's sum and count over a batch.
TOYS = {"regression": (F.mse_loss, squared_error), "classification": (F.cross_entropy, mnist_correct)}


def test_line(name, correct, total):
    """What the test pass printed: the regression's mean squared error, else the accuracy."""
    if name == "regression":
        return f"Test set: MSE {correct / total:.4f} over {total} points"
    return f"Test set: Accuracy: {correct}/{total} ({100 * correct / total:.2f}%)"


def mnist_batches(x, y, size):
    """Consecutive (images, labels) batches of `size`, in order: the test pass's."""
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]


def mnist_tensors(config, x, y, device):
    """Images (uint8 [N, 28, 28]) normalized as the config says, [N, 1, 28, 28] for a CNN, and
    their labels, on `device`."""
    data = config["data"]
    x = (x.float() / 255.0 - data["mean"]) / data["std"]
    x = x.unsqueeze(1) if MODELS[config["model"]["name"]][1] else x
    return x.to(device), y.long().to(device)


if __name__ == "__main__":
    main()
