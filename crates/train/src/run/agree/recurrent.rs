//! The recurrent layers on a backend against the reference: outputs, final state and every
//! gradient (input, initial state, each parameter) of a loss that weighs each of them at random,
//! through the fused operation where one serves the backend and through Burn's tensor operations.
//!
//! The quick shapes: an LSTM and a GRU of two bidirectional layers with a given initial state (the
//! reverse direction, and the gradient flowing from the second layer into the first). Then the
//! models' own sizes: mnist-lstm's and mnist-gru's (28 steps, batch 100, 28 → 128, two layers:
//! 12,800 cells a step span many GPU thread blocks) and a padded bidirectional batch of the
//! tagger's size (sentences of different lengths, 100 → 128).

use burn::backend::ndarray::NdArrayDevice;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::record::Recorder;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Distribution;
use zoo_models::nn::fused::{uses_fused, with_fused};
use zoo_models::nn::{Gru, GruConfig, Lstm, LstmConfig, LstmState};

use super::{floats, recorder, worst, Check, Checked, Reference, ReferenceTrain, Values};
use crate::backend::{BackendJob, BackendName, Target};

/// The layer of a case.
enum Layer {
    Lstm(LstmConfig),
    Gru(GruConfig),
}

/// A shape to check: its layer, `(steps, batch)`, each sequence's length when the batch is
/// padded, and the seed of its weights and data.
struct Case {
    label: &'static str,
    layer: Layer,
    shape: (usize, usize),
    lengths: Option<Vec<usize>>,
    seed: u64,
}

impl Case {
    /// Its layer's size: `(input, hidden, layers × directions)`.
    fn sizes(&self) -> (usize, usize, usize) {
        let (input, hidden, layers) = match &self.layer {
            Layer::Lstm(c) => (c.input_size, c.hidden_size, c.num_layers),
            Layer::Gru(c) => (c.input_size, c.hidden_size, c.num_layers),
        };
        let directions = if self.bidirectional() { 2 } else { 1 };
        (input, hidden, layers * directions)
    }

    fn bidirectional(&self) -> bool {
        match &self.layer {
            Layer::Lstm(c) => c.bidirectional,
            Layer::Gru(c) => c.bidirectional,
        }
    }
}

/// The quick cases first ([`QUICK`] of them), then the models' sizes.
fn cases() -> Vec<Case> {
    // Sentences of 1 to 40 words in one batch of 32, as the tagger's buckets hold them.
    let sentences: Vec<usize> = (0..32).map(|b| 1 + (b * 17 + 5) % 40).collect();
    vec![
        Case {
            label: "LSTM 5→6, 2 layers, bidirectional, 7 steps × 3",
            layer: Layer::Lstm(
                LstmConfig::new(5, 6)
                    .with_num_layers(2)
                    .with_bidirectional(true),
            ),
            shape: (7, 3),
            lengths: None,
            seed: 11,
        },
        Case {
            label: "GRU 5→6, 2 layers, bidirectional, 7 steps × 3",
            layer: Layer::Gru(
                GruConfig::new(5, 6)
                    .with_num_layers(2)
                    .with_bidirectional(true),
            ),
            shape: (7, 3),
            lengths: None,
            seed: 13,
        },
        Case {
            label: "LSTM 28→128, 2 layers, 28 steps × 100 (mnist-lstm)",
            layer: Layer::Lstm(LstmConfig::new(28, 128).with_num_layers(2)),
            shape: (28, 100),
            lengths: None,
            seed: 12,
        },
        Case {
            label: "GRU 28→128, 2 layers, 28 steps × 100 (mnist-gru)",
            layer: Layer::Gru(GruConfig::new(28, 128).with_num_layers(2)),
            shape: (28, 100),
            lengths: None,
            seed: 14,
        },
        Case {
            label: "LSTM 100→128, bidirectional, padded 1-40 steps × 32 (pos-tagger)",
            layer: Layer::Lstm(LstmConfig::new(100, 128).with_bidirectional(true)),
            shape: (40, 32),
            lengths: Some(sentences),
            seed: 15,
        },
    ]
}

/// How many of [`cases`] `zoo check --quick` runs.
const QUICK: usize = 2;

/// The recurrent layers' checks, a job for the backend the user picked
/// (`placement.run(RecurrentChecks { quick })`): for each case (the quick ones only when
/// `quick`), the fused operation (where one serves the backend) and, off the reference backend
/// itself, Burn's tensor operations.
///
/// A job rather than a function that runs it: the crate that calls `placement.run` compiles it
/// for every backend, and there (the `zoo` binary) Burn's GPU backends are compiled for the models
/// already, so it adds no second copy of them to zoo-train (minutes of every release build).
pub struct RecurrentChecks {
    /// The quick cases only.
    pub quick: bool,
}

impl BackendJob for RecurrentChecks {
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
        let count = if self.quick { QUICK } else { usize::MAX };
        for case in cases().into_iter().take(count) {
            let found = match &case.layer {
                Layer::Lstm(config) => check_case(
                    &case,
                    &paths,
                    &device,
                    |d| config.init::<ReferenceTrain>(d),
                    |d| config.init::<B>(d),
                )?,
                Layer::Gru(config) => check_case(
                    &case,
                    &paths,
                    &device,
                    |d| config.init::<ReferenceTrain>(d),
                    |d| config.init::<B>(d),
                )?,
            };
            checks.extend(found);
        }
        Ok(Checked {
            device: target.device_name,
            checks,
        })
    }
}

/// `case` on each of `paths` against the reference: the layer `reference` makes on the CPU, its
/// weights loaded into the one `init` makes on `device`.
fn check_case<B: AutodiffBackend, L: Recurrent<B>, R: Recurrent<ReferenceTrain>>(
    case: &Case,
    paths: &[(&str, bool)],
    device: &B::Device,
    reference: impl Fn(&NdArrayDevice) -> R,
    init: impl Fn(&B::Device) -> L,
) -> anyhow::Result<Vec<Check>> {
    let cpu = NdArrayDevice::Cpu;
    <Reference as Backend>::seed(&cpu, case.seed);
    let model = reference(&cpu);
    // Burn draws a lazily initialized parameter on first use: the values before the weights.
    let expected = with_fused(false, || outputs_and_grads(&model, case, &cpu));
    let weights = recorder().record(model.into_record(), ())?;
    let mut checks = Vec::new();
    for &(path, on) in paths {
        let record = Recorder::<B>::load(&recorder(), weights.clone(), device)?;
        let model = init(device).load_record(record);
        let run = with_fused(on, || outputs_and_grads(&model, case, device));
        let (worst, at) = worst(&expected, &run)?;
        checks.push(Check {
            what: format!("{}, {path}", case.label),
            worst,
            at,
        });
    }
    Ok(checks)
}

/// A recurrent layer under check: [`Lstm`] or [`Gru`].
trait Recurrent<B: AutodiffBackend>: Module<B> {
    /// Initial states the layer takes (`h0`, and the LSTM's `c0`).
    const STATES: &'static [&'static str];

    /// The last layer's outputs and each final state, from `x` and the initial `states`.
    fn run(
        &self,
        x: Tensor<B, 3>,
        states: Vec<Tensor<B, 3>>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, Vec<Tensor<B, 3>>);
}

impl<B: AutodiffBackend> Recurrent<B> for Lstm<B> {
    const STATES: &'static [&'static str] = &["hidden", "cell"];

    fn run(
        &self,
        x: Tensor<B, 3>,
        states: Vec<Tensor<B, 3>>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, Vec<Tensor<B, 3>>) {
        let [hidden, cell] = <[Tensor<B, 3>; 2]>::try_from(states)
            .unwrap_or_else(|_| unreachable!("the LSTM's two states"));
        let state = Some(LstmState { hidden, cell });
        let (out, state) = match lengths {
            Some(lengths) => self.forward_packed(x, lengths, state),
            None => self.forward(x, state),
        };
        (out, vec![state.hidden, state.cell])
    }
}

impl<B: AutodiffBackend> Recurrent<B> for Gru<B> {
    const STATES: &'static [&'static str] = &["hidden"];

    fn run(
        &self,
        x: Tensor<B, 3>,
        mut states: Vec<Tensor<B, 3>>,
        lengths: Option<&[usize]>,
    ) -> (Tensor<B, 3>, Vec<Tensor<B, 3>>) {
        let h0 = states.pop();
        let (out, h) = match lengths {
            Some(lengths) => self.forward_packed(x, lengths, h0),
            None => self.forward(x, h0),
        };
        (out, vec![h])
    }
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

/// Outputs, final states and every gradient of `layer` on `case`'s data (drawn from its seed on
/// the CPU, so every backend gets the same numbers).
fn outputs_and_grads<B: AutodiffBackend, L: Recurrent<B>>(
    layer: &L,
    case: &Case,
    device: &B::Device,
) -> Values {
    let (seq, batch) = case.shape;
    let (input, hidden, states) = case.sizes();
    let cpu = NdArrayDevice::Cpu;
    <Reference as Backend>::seed(&cpu, case.seed + 1);
    let draw = |shape: [usize; 3]| {
        let values = Tensor::<Reference, 3>::random(shape, Distribution::Normal(0.0, 1.0), &cpu);
        Tensor::<B, 3>::from_data(values.into_data(), device)
    };
    let x = draw([seq, batch, input]).require_grad();
    let initial: Vec<Tensor<B, 3>> = (L::STATES.iter())
        .map(|_| draw([states, batch, hidden]).require_grad())
        .collect();
    // The loss's weights are drawn before the forward pass, which on the reference draws the
    // lazily initialized parameters from the same generator.
    let directions = if case.bidirectional() { 2 } else { 1 };
    let w_out = draw([seq, batch, hidden * directions]);
    let w_states: Vec<Tensor<B, 3>> = (L::STATES.iter())
        .map(|_| draw([states, batch, hidden]))
        .collect();
    let (out, finals) = layer.run(x.clone(), initial.clone(), case.lengths.as_deref());
    let mut loss = (out.clone() * w_out).sum();
    for (state, w) in finals.iter().zip(w_states) {
        loss = loss + (state.clone() * w).sum();
    }
    let grads = loss.backward();
    let grad = |t: &Tensor<B, 3>| t.grad(&grads).map(floats).unwrap_or_default();
    let mut found = vec![("output".to_string(), floats(out.inner()))];
    for (name, state) in L::STATES.iter().zip(&finals) {
        found.push((format!("final {name}"), floats(state.clone().inner())));
    }
    found.push(("d input".to_string(), grad(&x)));
    for (name, state) in L::STATES.iter().zip(&initial) {
        found.push((format!("d initial {name}"), grad(state)));
    }
    let mut visitor = ParamGrads::<B> {
        grads: &grads,
        path: Vec::new(),
        found: Vec::new(),
    };
    layer.visit(&mut visitor);
    found.extend(visitor.found);
    found
}
