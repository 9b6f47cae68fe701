#!/usr/bin/env python3
"""What PyTorch's `nn.LSTM` gains from oneDNN on this CPU: the `mnist-lstm` shapes (batch 100, 28
steps of 28 inputs, 2 layers of 128 units), timed with PyTorch's oneDNN (MKL-DNN) path on and off,
the two taking turns, on 2 threads as `zoo bench --epoch` runs it. Needs torch only.

    python3 tools/torch_lstm_onednn.py [--rounds N] [--reps N]

Prints, per round, milliseconds per inference pass (`torch.no_grad`) and per training step
(forward, the last step's sum, backward) each way, then the operator that ran the LSTM on each
path (`aten::mkldnn_rnn_layer` where oneDNN's fused RNN primitive runs it).
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("PYTHONWARNINGS", "ignore")
warnings.filterwarnings("ignore")

import torch  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reps", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(28, 128, 2, batch_first=True)
    x = torch.randn(100, 28, 28)

    def inference():
        with torch.no_grad():
            lstm(x)

    def training_step():
        lstm.zero_grad()
        y, _ = lstm(x)
        y[:, -1].sum().backward()

    def ms(run):
        for _ in range(5):
            run()
        start = time.perf_counter()
        for _ in range(args.reps):
            run()
        return (time.perf_counter() - start) / args.reps * 1e3

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    for rnd in range(1, args.rounds + 1):
        for onednn in (True, False):
            with torch.backends.mkldnn.flags(enabled=onednn):
                print(f"round {rnd} oneDNN {'on ' if onednn else 'off'}: inference "
                      f"{ms(inference):.2f} ms, training step {ms(training_step):.2f} ms")
    for onednn in (True, False):
        print(f"oneDNN {'on ' if onednn else 'off'}: the most time in {busiest_op(inference, onednn)}")


def busiest_op(run, onednn):
    """The operator that takes the most of `run`'s time, profiled with stderr silenced (the
    profiler logs its start and stop there)."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        with torch.backends.mkldnn.flags(enabled=onednn), torch.profiler.profile() as prof:
            run()
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)
    return max(prof.key_averages(), key=lambda e: e.self_cpu_time_total).key


if __name__ == "__main__":
    main()
