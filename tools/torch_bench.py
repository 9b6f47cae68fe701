#!/usr/bin/env python3
"""PyTorch side of `cargo xtask bench`: milliseconds per training step of the zoo's benchmark cases,
on the shapes `zoo bench` uses, with random inputs. Needs torch only (no numpy).

    python3 tools/torch_bench.py [--device cpu|cuda] [--steps N] [--warmup N] [--case NAME]...

One training step is what a training loop does per batch: zero the gradients, forward, cross-entropy,
backward, optimizer step. Prints one JSON object per case on stdout:
{"case", "backend", "device", "ms_per_step", "steps"}. On CUDA the LSTM runs on cuDNN.
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

os.environ.setdefault("PYTHONWARNINGS", "ignore")
import warnings

warnings.filterwarnings("ignore")

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import MnistCnn, MnistGru, MnistLstm, device_name  # noqa: E402

# The zoo models with a PyTorch twin for `zoo bench` (crates/cli/src/commands/bench.rs): model,
# batch, input shape, optimizer. `zoo bench` asks for every model it times; the others are skipped.
LSTM = {"input_size": 28, "hidden_size": 128, "num_layers": 2, "num_classes": 10}
CASES = {
    "mnist-lstm": (lambda: MnistLstm(LSTM), 100, (28, 28), lambda p: torch.optim.Adam(p, lr=0.01)),
    "mnist-gru": (lambda: MnistGru(LSTM), 100, (28, 28), lambda p: torch.optim.Adam(p, lr=0.01)),
    "mnist-cnn": (
        lambda: MnistCnn({"hidden_size": 500, "num_classes": 10}),
        64,
        (1, 28, 28),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.5),
    ),
}


def keep_freed_memory():
    """glibc's allocator keeps freed blocks up to 32 MiB for reuse, as `zoo` sets it for itself
    (crates/cli/src/memory.rs) and as PyTorch's real training loop gets it anyway: freeing the
    normalized dataset's temporaries raises glibc's adaptive threshold (tools/torch_reference.py).
    Without it each step's multi-megabyte buffers come back as fresh pages: on a 2-core Xeon this
    step measured 28.5 ms of mnist-lstm against 19.4 ms with it, and PyTorch's own epoch 19.97 ms a
    step (1.90 s for 95), so the step flattered the zoo. A no-op off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 1 << 30)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(case, device, steps, warmup):
    build, batch, shape, optimizer = CASES[case]
    torch.manual_seed(1)
    model = build().to(device)
    opt = optimizer(model.parameters())
    x = torch.randn((batch, *shape), device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    sync(device)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step().item()  # waits for the step, as reading the loss does in a training loop
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or auto (cuda when torch sees a GPU) [default: cpu]")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per case [default: 20]")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first [default: 3]")
    parser.add_argument(
        "--case", action="append", help=f"a model; those without a twin here are skipped [default: {', '.join(CASES)}]"
    )
    args = parser.parse_args()
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda: torch sees no CUDA device; use --device cpu")
    device = torch.device(args.device)
    keep_freed_memory()
    for case in args.case or list(CASES):
        if case not in CASES:
            continue
        ms = bench(case, device, args.steps, args.warmup)
        print(
            json.dumps(
                {
                    "case": case,
                    "backend": f"torch {torch.__version__} ({device.type})",
                    "device": device_name(device),
                    "ms_per_step": round(ms, 3),
                    "steps": args.steps,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
