//! The LSTM layer on a backend against the reference: outputs, final state and every gradient
//! (input, initial state, each parameter) of a loss that weighs each of them at random, through
//! the fused operation where one serves the backend and through Burn's tensor operations.
//!
//! Two shapes: two bidirectional layers with a given initial state (the reverse direction, and
//! the gradient flowing from the second layer into the first), and mnist-lstm's sizes (28 steps,
//! batch 100, 28 → 128, two layers), whose 12,800 cells per step span many GPU thread blocks.

use burn::backend::ndarray::NdArrayDevice;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::record::Recorder;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Distribution;
use zoo_models::nn::fused::{uses_fused, with_fused};
use zoo_models::nn::{Lstm, LstmConfig, LstmState};

use super::{floats, recorder, worst, Check, Checked, Reference, ReferenceTrain, Values};
use crate::backend::{BackendJob, BackendName, Target};

/// An LSTM shape to check: its config, `(steps, batch)`, and the seed of its weights and data.
struct Case {
    label: &'static str,
    config: LstmConfig,
    shape: (usize, usize),
    seed: u64,
}

fn cases() -> [Case; 2] {
    [
        Case {
            label: "LSTM 5→6, 2 layers, bidirectional, 7 steps × 3",
            config: LstmConfig::new(5, 6)
                .with_num_layers(2)
                .with_bidirectional(true),
            shape: (7, 3),
            seed: 11,
        },
        Case {
            label: "LSTM 28→128, 2 layers, 28 steps × 100",
            config: LstmConfig::new(28, 128).with_num_layers(2),
            shape: (28, 100),
            seed: 12,
        },
    ]
}

/// The LSTM checks, a job for the backend the user picked (`placement.run(LstmChecks { quick })`):
/// for each shape (the first only when `quick`), the fused operation (where one serves the
/// backend) and, off the reference backend itself, Burn's tensor operations.
///
/// A job rather than a function that runs it: the crate that calls `placement.run` compiles it
/// for every backend, and there (the `zoo` binary) Burn's GPU backends are compiled for the models
/// already, so it adds no second copy of them to zoo-train (minutes of every release build).
pub struct LstmChecks {
    /// The small shape only.
    pub quick: bool,
}

impl BackendJob for LstmChecks {
    type Output = Checked;

    fn run<B: AutodiffBackend>(self, device: B::Device, target: Target) -> anyhow::Result<Checked> {
        let fused = with_fused(true, || {
            uses_fused::<B>() && uses_fused::<B::InnerBackend>()
        });
        let mut paths = Vec::new();
        if fused {
            paths.push(("fused", true));
        }
        if target.backend != BackendName::Ndarray {
            paths.push(("tensor operations", false));
        }
        let mut checks = Vec::new();
        let shapes = if self.quick { 1 } else { 2 };
        for case in cases().into_iter().take(shapes) {
            let (reference, weights) = reference_run(&case)?;
            for &(path, on) in &paths {
                let model = case
                    .config
                    .init::<B>(&device)
                    .load_record(Recorder::<B>::load(&recorder(), weights.clone(), &device)?);
                let run = with_fused(on, || outputs_and_grads(&model, &case, &device));
                let (worst, at) = worst(&reference, &run)?;
                checks.push(Check {
                    what: format!("{}, {path}", case.label),
                    worst,
                    at,
                });
            }
        }
        Ok(Checked {
            device: target.device_name,
            checks,
        })
    }
}

/// The reference's values for `case`, and its weights.
fn reference_run(case: &Case) -> anyhow::Result<(Values, Vec<u8>)> {
    let cpu = NdArrayDevice::Cpu;
    <Reference as Backend>::seed(&cpu, case.seed);
    let model = case.config.init::<ReferenceTrain>(&cpu);
    // Burn draws a lazily initialized parameter on first use: the values before the weights.
    let values = with_fused(false, || outputs_and_grads(&model, case, &cpu));
    let weights = recorder().record(model.into_record(), ())?;
    Ok((values, weights))
}

/// Every parameter's gradient, in the module's visiting order, named by its path.
struct ParamGrads<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    path: Vec<String>,
    found: Values,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for ParamGrads<'_, B> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let name = format!("d {}", self.path.join("."));
        let values = param.val().grad(self.grads).map(floats).unwrap_or_default();
        self.found.push((name, values));
    }
}

/// Outputs, final state and every gradient of `lstm` on `case`'s data (drawn from its seed on
/// the CPU, so every backend gets the same numbers).
fn outputs_and_grads<B: AutodiffBackend>(
    lstm: &Lstm<B>,
    case: &Case,
    device: &B::Device,
) -> Values {
    let config = &case.config;
    let (seq, batch) = case.shape;
    let directions = if config.bidirectional { 2 } else { 1 };
    let states = config.num_layers * directions;
    let (input, hidden) = (config.input_size, config.hidden_size);
    let cpu = NdArrayDevice::Cpu;
    <Reference as Backend>::seed(&cpu, case.seed + 1);
    let draw = |shape: [usize; 3]| {
        let values = Tensor::<Reference, 3>::random(shape, Distribution::Normal(0.0, 1.0), &cpu);
        Tensor::<B, 3>::from_data(values.into_data(), device)
    };
    let x = draw([seq, batch, input]).require_grad();
    let h0 = draw([states, batch, hidden]).require_grad();
    let c0 = draw([states, batch, hidden]).require_grad();
    let weights = [
        draw([seq, batch, hidden * directions]),
        draw([states, batch, hidden]),
        draw([states, batch, hidden]),
    ];
    let state = LstmState {
        hidden: h0.clone(),
        cell: c0.clone(),
    };
    let (out, state) = lstm.forward(x.clone(), Some(state));
    let [w_out, w_h, w_c] = weights;
    let loss = (out.clone() * w_out).sum()
        + (state.hidden.clone() * w_h).sum()
        + (state.cell.clone() * w_c).sum();
    let grads = loss.backward();
    let grad = |t: &Tensor<B, 3>| t.grad(&grads).map(floats).unwrap_or_default();
    let mut found = vec![
        ("output".to_string(), floats(out.inner())),
        ("final hidden".to_string(), floats(state.hidden.inner())),
        ("final cell".to_string(), floats(state.cell.inner())),
        ("d input".to_string(), grad(&x)),
        ("d initial hidden".to_string(), grad(&h0)),
        ("d initial cell".to_string(), grad(&c0)),
    ];
    let mut visitor = ParamGrads::<B> {
        grads: &grads,
        path: Vec::new(),
        found: Vec::new(),
    };
    lstm.visit(&mut visitor);
    found.extend(visitor.found);
    found
}
