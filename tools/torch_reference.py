#!/usr/bin/env python3
"""PyTorch reference for `zoo compare --torch`: the same MNIST model, data split, hyper-parameters
and seed as a zoo experiment config, trained with PyTorch (cuDNN on a GPU when one is there). Needs torch
only (no numpy, no torchvision).

    python3 tools/torch_reference.py --config runs/compare-x/config.toml --out runs/compare-x/torch

Writes OUT/summary.json with the fields `zoo compare` reads: backend, device, seconds_per_epoch,
samples_per_second, peak_memory_mib, test_accuracy. Seconds per epoch count the training pass only,
as `zoo train` does.
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


MODELS = {
    "mnist-lstm": (MnistLstm, False),
    "mnist-lstm-small": (MnistLstm, False),
    "mnist-cnn": (MnistCnn, True),
    "small-cnn": (SmallCnn, True),
}


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
    if name not in MODELS:
        sys.exit(f"error: the PyTorch reference covers {', '.join(MODELS)}; not `{name}`")
    data, train, opt = config["data"], config["train"], config["optimizer"]
    folder = args.data_dir or data["dir"]

    torch.manual_seed(train["seed"])
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")

    images = read_idx(folder, FILES["train_images"])
    labels = read_idx(folder, FILES["train_labels"])
    held_out = round(len(images) * data["valid_fraction"])
    train_x, train_y = images[: len(images) - held_out], labels[: len(images) - held_out]
    if data.get("train_limit"):
        train_x, train_y = train_x[: data["train_limit"]], train_y[: data["train_limit"]]
    test_x, test_y = read_idx(folder, FILES["test_images"]), read_idx(folder, FILES["test_labels"])

    model_class, image_input = MODELS[name]
    model = model_class(config["model"]).to(device)

    def tensors(x, y):
        x = (x.float() / 255.0 - data["mean"]) / data["std"]
        x = x.unsqueeze(1) if image_input else x
        return x.to(device), y.long().to(device)

    train_x, train_y = tensors(train_x, train_y)
    test_x, test_y = tensors(test_x, test_y)
    if opt["name"] == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=opt["lr"], weight_decay=opt.get("weight_decay", 0.0))
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=opt["lr"], momentum=opt.get("momentum", 0.0),
                                    weight_decay=opt.get("weight_decay", 0.0))
    batch = train["batch_size"]
    seconds = []
    for epoch in range(train["epochs"]):
        model.train()
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        order = torch.randperm(len(train_x), device=device)
        for i in range(0, len(train_x), batch):
            index = order[i : i + batch]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(train_x[index]), train_y[index])
            loss.backward()
            if opt.get("grad_clip_norm"):
                nn.utils.clip_grad_norm_(model.parameters(), opt["grad_clip_norm"])
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        print(f"Train Epoch: {epoch + 1} done in {seconds[-1]:.1f} s: last loss {loss.item():.4f}", flush=True)

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(test_x), batch):
            correct += (model(test_x[i : i + batch]).argmax(1) == test_y[i : i + batch]).sum().item()
    accuracy = correct / len(test_x)
    print(f"Test set: Accuracy: {correct}/{len(test_x)} ({100 * accuracy:.2f}%)")

    per_epoch = sum(seconds) / len(seconds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    summary = {
        "backend": f"torch {torch.__version__} ({device.type})",
        "device": device_name(device),
        "seconds_per_epoch": per_epoch,
        "samples_per_second": len(train_x) / per_epoch,
        "peak_memory_mib": peak,
        "gpu_peak_memory_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        "test_accuracy": accuracy,
        "test_correct": correct,
        "train_samples": len(train_x),
        "epochs": train["epochs"],
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
