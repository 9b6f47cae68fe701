#!/usr/bin/env bash
# The GPU check (docs/benchmarks.md, "GPU check"), for a machine with an NVIDIA GPU, its driver,
# CUDA and PyTorch, but no Rust toolchain and no network. Build `zoo` where Rust is:
#
#   cargo build --release -p zoo-cli --features cuda
#   mkdir -p target/gpu && strip -o target/gpu/zoo target/release/zoo
#
# bring the repository and target/gpu/zoo to the GPU machine, and run from the repository root:
#
#   tools/gpu_check.sh [ZOO [OUT]]
#
# CubeCL compiles each kernel (NVRTC) and autotunes each matrix-product shape on first use, for
# minutes on a fresh machine: step 2 pays that, timed apart, before the timed steps (the autotune
# results are cached under target/autotune for them).
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=${1:-target/gpu/zoo}
out=${2:-target/gpu/runs}
if [ ! -x "$zoo" ]; then
  echo "error: no zoo binary at $zoo; build it as the top of tools/gpu_check.sh says" >&2
  exit 1
fi
mkdir -p "$out"

section() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
timed() {
  local start=$SECONDS
  "$@"
  echo "-- $((SECONDS - start)) s: $*"
}

section "1. every model and the fused LSTM and GRU kernels against the CPU (zoo check)"
timed "$zoo" check --backend cuda

section "2. warm-up: kernels compiled and autotuned (not a speed figure)"
timed "$zoo" bench --backend cuda --case mnist-lstm --case mnist-gru --case mnist-cnn --steps 1 --warmup 1
timed env ZOO_CUDA_LSTM_KERNEL=1 "$zoo" bench --backend cuda --case mnist-lstm --case mnist-gru --steps 1 --warmup 1

section "3. training steps against PyTorch (cuDNN): recurrences as tensor operations, then the kernels"
timed "$zoo" bench --backend cuda --torch
timed env ZOO_CUDA_LSTM_KERNEL=1 "$zoo" bench --backend cuda --torch --case mnist-lstm --case mnist-gru

section "4. one epoch of each against PyTorch's loop on the GPU (the kernels on), both taggers included"
timed env ZOO_CUDA_LSTM_KERNEL=1 "$zoo" bench --epoch --backend cuda --rounds 1 --out "$out/epochs" \
  --case mnist-lstm --case mnist-gru --case mnist-cnn --case pos-tagger --case pos-tagger-char
