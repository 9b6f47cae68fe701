//! `cargo bench -p zoo-models`: one training step of each benchmark case of
//! [`zoo_models::bench`] on Burn's CPU backend (`Autodiff<NdArray>`), and the seed-001 LSTM alone
//! (forward + backward), fused and as tensor operations. `cargo xtask bench` prints the same
//! cases next to PyTorch's.

use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::Distribution;
use criterion::{criterion_group, criterion_main, Criterion};
use zoo_models::bench::{Case, Stepper};
use zoo_models::nn::{without_fused_lstm, LstmConfig};

type B = Autodiff<NdArray>;

fn train_steps(c: &mut Criterion) {
    zoo_models::bench::keep_freed_memory();
    let mut group = c.benchmark_group("train-step");
    group.sample_size(10);
    for case in Case::ALL {
        let mut stepper = Stepper::<B>::new(case, &Default::default());
        group.bench_function(case.name(), |b| b.iter(|| stepper.step()));
    }
    group.finish();
}

fn lstm_alone(c: &mut Criterion) {
    let device = Default::default();
    let lstm = LstmConfig::new(28, 128)
        .with_num_layers(2)
        .with_batch_first(true)
        .init::<B>(&device);
    let x = Tensor::<B, 3>::random([100, 28, 28], Distribution::Normal(0.0, 1.0), &device);
    let run = || {
        let (out, _) = lstm.forward(x.clone().require_grad(), None);
        out.sum().backward()
    };
    let mut group = c.benchmark_group("lstm-2x128-batch100-seq28-forward-backward");
    group.sample_size(10);
    group.bench_function("fused", |b| b.iter(run));
    group.bench_function("tensor-ops", |b| b.iter(|| without_fused_lstm(run)));
    group.finish();
}

criterion_group!(benches, train_steps, lstm_alone);
criterion_main!(benches);
