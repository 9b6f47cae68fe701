//! Timing training steps of a model: what `zoo bench` reports, on the same work as one step of
//! `zoo train` (the model, its task, its optimizer and one real batch of its training data).
//!
//! A step is forward, loss, backward, optimizer update, and reading the loss back (which waits
//! for an asynchronous backend, as PyTorch's `loss.item()` does). The batch is the same every
//! step, so only the arithmetic is timed.

use std::time::Instant;

use burn::optim::Optimizer;
use burn::prelude::ElementConversion;
use burn::tensor::backend::AutodiffBackend;
use burn::train::TrainStep;

use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::Batches;
use crate::learner::optim::optimizer;
use crate::learner::trainee::Trainee;
use crate::model::ZooModel;
use crate::run::first_batch;
use crate::task::Task;

/// The median time of a model's training step on one backend.
#[derive(Debug, Clone)]
pub struct StepTiming {
    /// `ndarray`, `wgpu` or `cuda`.
    pub backend: String,
    /// The device's name.
    pub device: String,
    /// Median milliseconds per step.
    pub ms_per_step: f64,
}

/// Times `steps` training steps of `experiment`'s model after `warmup` untimed ones (kernel
/// compilation, autotuning, allocator warm-up).
pub(crate) fn time_steps<M: ZooModel>(
    experiment: &Experiment<M>,
    placement: &Placement,
    steps: usize,
    warmup: usize,
) -> anyhow::Result<StepTiming> {
    placement.run(StepJob {
        experiment,
        steps,
        warmup,
    })
}

struct StepJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    steps: usize,
    warmup: usize,
}

impl<M: ZooModel> BackendJob for StepJob<'_, M> {
    type Output = StepTiming;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        target: Target,
    ) -> anyhow::Result<StepTiming> {
        let experiment = self.experiment;
        let (train, data) = (&experiment.train, &experiment.data);
        B::seed(&device, train.seed);
        zoo_models::nn::fused::set_enabled(train.fused);
        let (items, info) = first_batch(experiment)?;
        let batch = <M::Data as Batches<M::Task>>::batch::<B>(data, items, &device);
        let model = M::init::<B>(&experiment.model, &info, &device);
        let clip = experiment.optimizer.grad_clip_norm.map(|n| n as f32);
        let mut trainee = Some(Trainee::new(model, M::Task::default(), clip));
        let mut optim = optimizer::<B, _>(&experiment.optimizer);
        let lr = experiment.optimizer.lr;
        let mut step = || {
            let current = trainee.take().expect("put back after every step");
            let output = TrainStep::step(&current, batch.clone());
            let loss = M::Task::loss(&output.item);
            trainee = Some(optim.step(lr, current, output.grads));
            loss.into_scalar().elem::<f64>()
        };
        for _ in 0..self.warmup {
            step();
        }
        let mut times = Vec::with_capacity(self.steps.max(1));
        for _ in 0..self.steps.max(1) {
            let start = Instant::now();
            let loss = step();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(
                loss.is_finite(),
                "{}: the loss became {loss}",
                experiment.name
            );
        }
        times.sort_by(f64::total_cmp);
        Ok(StepTiming {
            backend: target.backend.to_string(),
            device: target.device_name,
            ms_per_step: times[times.len() / 2],
        })
    }
}
