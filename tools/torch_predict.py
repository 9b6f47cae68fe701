#!/usr/bin/env python3
"""PyTorch's side of the inference figures of `zoo bench --epoch`: what a PyTorch user's
`predict.py` does with a model tools/torch_reference.py trained. It imports torch, builds the
model, loads RUN/model.pt, then either scores the test set or classifies images:

    python3 tools/torch_predict.py --config C --run RUN --eval [--data-dir D]   # test-set accuracy
    python3 tools/torch_predict.py --config C --run RUN IMAGE.png...            # class of each image, top 3

The caller times the whole process, from its start (the import of torch included), as `zoo bench
--epoch` times `zoo eval` and `zoo predict`. Images are 28x28 8-bit grey PNGs, MNIST's own pixels
(read with zlib: no Pillow needed). Taggers score the test split of their treebank, the toys
their test points (the regression its mean squared error). Runs on the CPU.
"""

import argparse
import os
import struct
import sys
import tomllib
import zlib

import torch

from torch_reference import (FILES, MODELS, TAGGERS, TOYS, WEIGHTS, Mlp, mnist_batches, mnist_correct, mnist_tensors,
                             read_conllu, read_idx, tagger_batches, tagger_correct, tagger_model, test_line, test_pass,
                             toy_data)


def load_model(config, run):
    """The trained model of RUN/model.pt, in eval mode, and its vocabularies (the tagger's; else None)."""
    saved = torch.load(os.path.join(run, WEIGHTS), weights_only=True)
    vocab, m = saved["vocab"], config["model"]
    if m["name"] in TAGGERS:
        model = tagger_model(m, vocab)
    elif m["name"] in TOYS:
        model = Mlp(m)
    else:
        model = MODELS[m["name"]][0](m)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), vocab


def evaluate(config, model, vocab, folder):
    """Prints the model's accuracy (the regression's MSE) on the test split of `folder`, as `zoo
    eval` does; a toy's test points are drawn again from the config's seed."""
    cpu, size, name = torch.device("cpu"), config["train"]["batch_size"], config["model"]["name"]
    if name in TOYS:
        torch.manual_seed(config["train"]["seed"])
        _, _, (x, y) = toy_data(config, folder, cpu)
        correct, total, _ = test_pass(model, mnist_batches(x, y, size), TOYS[name][1], cpu)
    elif vocab is None:
        x, y = mnist_tensors(config, read_idx(folder, FILES["test_images"]), read_idx(folder, FILES["test_labels"]), cpu)
        batches = mnist_batches(x, y, size)
        correct, total, _ = test_pass(model, batches, mnist_correct, cpu)
    else:
        test = read_conllu(folder, "test", config["data"].get("tag_column", "upos"))
        batches = tagger_batches(test, vocab["words"], vocab["tags"], vocab["lowercase"], size, vocab.get("chars"))
        correct, total, _ = test_pass(model, batches, tagger_correct, cpu)
    print(test_line(name, correct, total))


def read_grey_png(path):
    """The pixels of an 8-bit grey, non-interlaced PNG as a uint8 tensor [height, width]."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"error: {path}: not a PNG file")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body, pos = data[pos + 8 : pos + 8 + length], pos + 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = header
    if (depth, colour, interlace) != (8, 0, 0):
        sys.exit(f"error: {path}: give an 8-bit grey PNG without interlacing")
    raw, rows, prior = zlib.decompress(idat), [], bytearray(width)
    for y in range(height):
        kind, line = raw[y * (width + 1)], bytearray(raw[y * (width + 1) + 1 : (y + 1) * (width + 1)])
        for x in range(width):
            left = line[x - 1] if x else 0
            up, corner = prior[x], prior[x - 1] if x else 0
            guess = left + up - corner
            paeth = min((abs(guess - left), left), (abs(guess - up), up), (abs(guess - corner), corner))[1]
            line[x] = (line[x] + (0, left, up, (left + up) // 2, paeth)[kind]) & 0xFF
        rows.append(bytes(line))
        prior = line
    return torch.frombuffer(bytearray(b"".join(rows)), dtype=torch.uint8).reshape(height, width)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the config.toml the run was trained with")
    parser.add_argument("--run", required=True, help="tools/torch_reference.py's --out folder (its model.pt)")
    parser.add_argument("--eval", action="store_true", help="score the test set")
    parser.add_argument("--data-dir", help="dataset folder for --eval [default: the config's data.dir]")
    parser.add_argument("images", nargs="*", help="PNG files to classify (an MNIST model's)")
    args = parser.parse_args()
    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    model, vocab = load_model(config, args.run)
    if args.eval:
        evaluate(config, model, vocab, args.data_dir or config["data"].get("dir"))
    for path in args.images:
        pixels = read_grey_png(path).unsqueeze(0)
        x, _ = mnist_tensors(config, pixels, torch.zeros(1), torch.device("cpu"))
        with torch.no_grad():
            top = model(x).softmax(1)[0].topk(3)
        best = ", ".join(f"{c} {p:.3f}" for p, c in zip(top.values.tolist(), top.indices.tolist()))
        print(f"{path}: {top.indices[0].item()}  ({best})")


if __name__ == "__main__":
    main()
