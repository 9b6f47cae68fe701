//! Whether a backend computes what Burn's own tensor operations compute on the CPU (`zoo check`):
//! each model's outputs on a real batch of its data from the same weights, and the LSTM's and the
//! GRU's outputs and every gradient through the fused operations and through tensor operations.
//!
//! The reference is always `NdArray` with the fused operations off: Burn's operations, not the
//! zoo's. So `zoo check --backend ndarray` holds the fused CPU operations to them, and `--backend
//! wgpu` / `cuda` the GPU backend with its fused LSTM kernel. Both sides run in `f32`; a value
//! agrees when `|reference − value| / max(1, |reference|)` is at most [`TOLERANCE`].

use burn::backend::ndarray::NdArrayDevice;
use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module};
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use zoo_models::nn::fused::with_fused;

use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::{Batches, DataSource};
use crate::model::ZooModel;
use crate::run::first_batch;
use crate::task::{Solves, Task};

mod recurrent;

pub use recurrent::RecurrentChecks;

/// The largest relative difference from the reference that counts as the same result.
pub const TOLERANCE: f32 = 1e-4;

/// The reference backend, and the one it records gradients on.
type Reference = NdArray;
type ReferenceTrain = Autodiff<NdArray>;

/// One comparison with the reference.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was compared (`mnist-lstm outputs`, `LSTM 5→6 … fused`).
    pub what: String,
    /// The worst relative difference found (NaN when a value is not a number).
    pub worst: f32,
    /// Where it was: the quantity (`output`, `d input`, a parameter's gradient).
    pub at: String,
}

impl Check {
    /// Whether the backend agrees with the reference here.
    pub fn agrees(&self) -> bool {
        self.worst <= TOLERANCE
    }
}

/// The checks of one backend, with its device's name.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The device's name as its driver gives it.
    pub device: String,
    /// The comparisons.
    pub checks: Vec<Check>,
}

/// Named values of one run: `(quantity, values)`.
pub(crate) type Values = Vec<(String, Vec<f32>)>;

/// The worst `|a − b| / max(1, |a|)` over two runs of the same quantities, and where it is.
pub(crate) fn worst(reference: &Values, run: &Values) -> anyhow::Result<(f32, String)> {
    anyhow::ensure!(
        reference.len() == run.len(),
        "the two backends give {} and {} quantities",
        reference.len(),
        run.len()
    );
    let mut found = (
        0.0f32,
        reference.first().map_or_else(String::new, |r| r.0.clone()),
    );
    for ((name, a), (_, b)) in reference.iter().zip(run) {
        anyhow::ensure!(
            a.len() == b.len(),
            "{name}: {} values on the reference, {} on the backend",
            a.len(),
            b.len()
        );
        for (x, y) in a.iter().zip(b) {
            let error = (x - y).abs() / x.abs().max(1.0);
            if error > found.0 || error.is_nan() {
                found = (error, name.clone());
                if error.is_nan() {
                    return Ok(found);
                }
            }
        }
    }
    Ok(found)
}

/// A tensor's values as `f32`.
pub(crate) fn floats<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .to_vec()
        .unwrap_or_default()
}

/// What comparing one model came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Compared.
    Checked(Checked),
    /// Its data cannot be read here (the reason): nothing was compared.
    NoData(String),
}

/// The in-memory recorder that carries the reference's weights to the backend checked: full
/// precision, so both sides start from the same bits.
fn recorder() -> BinBytesRecorder<FullPrecisionSettings> {
    BinBytesRecorder::default()
}

/// `experiment`'s model on the backend of `placement` against the reference: the outputs of the
/// model (inference, so no dropout) on the first training batch of its data, from the same
/// weights.
pub(crate) fn model_outputs<M: ZooModel>(
    experiment: &Experiment<M>,
    placement: &Placement,
) -> anyhow::Result<Outcome> {
    let (items, info) = match first_batch(experiment) {
        Ok(batch) => batch,
        Err(err) => return Ok(Outcome::NoData(format!("{err:#}"))),
    };
    let job = OutputsJob {
        experiment,
        items,
        info: &info,
    };
    placement.run(job).map(Outcome::Checked)
}

struct OutputsJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    items: Vec<<M::Data as DataSource>::Item>,
    info: &'a <M::Data as DataSource>::Info,
}

impl<M: ZooModel> BackendJob for OutputsJob<'_, M> {
    type Output = Checked;

    fn run<B: AutodiffBackend>(self, device: B::Device, target: Target) -> anyhow::Result<Checked> {
        let Self {
            experiment,
            items,
            info,
        } = self;
        let data = &experiment.data;
        let cpu = NdArrayDevice::Cpu;
        <Reference as Backend>::seed(&cpu, experiment.train.seed);
        let recorder = recorder();
        let (expected, weights) = with_fused(false, || -> anyhow::Result<_> {
            let model = M::init::<ReferenceTrain>(&experiment.model, info, &cpu).valid();
            let batch =
                <M::Data as Batches<M::Task>>::batch::<Reference>(data, items.clone(), &cpu);
            // The forward pass first: Burn draws a lazily initialized parameter on first use.
            let values = floats(M::Task::values(&model.solve(batch)));
            let weights = recorder.record(model.into_record(), ())?;
            Ok((values, weights))
        })?;
        let got = with_fused(experiment.train.fused, || -> anyhow::Result<_> {
            let fresh = M::init::<B>(&experiment.model, info, &device).valid();
            let model = fresh.load_record(Recorder::<B::InnerBackend>::load(
                &recorder, weights, &device,
            )?);
            let batch =
                <M::Data as Batches<M::Task>>::batch::<B::InnerBackend>(data, items, &device);
            Ok(floats(M::Task::values(&model.solve(batch))))
        })?;
        let (worst, at) = worst(
            &vec![("output".to_string(), expected)],
            &vec![("output".to_string(), got)],
        )?;
        Ok(Checked {
            device: target.device_name,
            checks: vec![Check {
                what: format!("{} outputs", experiment.name),
                worst,
                at,
            }],
        })
    }
}
