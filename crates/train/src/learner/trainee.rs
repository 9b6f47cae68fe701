//! What the learner trains: a model wrapped with its task and the training options.
//!
//! burn-train's `TrainStep`/`InferenceStep` are implemented here, on [`Trainee`], rather than on
//! the models, so a model needs no training dependency: it only [`Solves`] its task.

use std::marker::PhantomData;

use burn::module::{AutodiffModule, ModuleDisplay};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::train::{InferenceStep, TrainOutput, TrainStep};

use super::clip::clip_global_norm;
use crate::task::{Solves, Task};

/// A model `M` with its task `T` and training options: the module the learner trains.
#[derive(Module, Debug)]
pub struct Trainee<B: Backend, M, T> {
    /// The model.
    pub model: M,
    /// How its batches become a loss.
    #[module(skip)]
    pub task: T,
    /// Global gradient-norm clipping, if any.
    #[module(skip)]
    pub clip_norm: Option<f32>,
    /// Where a training step reports a loss that is not a finite number.
    #[module(skip)]
    pub loss_watch: Option<LossWatch>,
    _backend: PhantomData<B>,
}

/// The first non-finite training loss, reported by [`Trainee`]'s step and read by the training
/// loop, which then stops before the update (the divergence guard).
#[derive(Debug, Clone, Default)]
pub struct LossWatch(std::sync::Arc<std::sync::Mutex<Option<f64>>>);

impl LossWatch {
    /// Records `loss` unless an earlier one is waiting.
    pub fn report(&self, loss: f64) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(loss);
    }

    /// The reported loss, if any, clearing it.
    pub fn take(&self) -> Option<f64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl<B: Backend, M, T> Trainee<B, M, T> {
    /// Wraps `model` for training on `task`.
    pub fn new(model: M, task: T, clip_norm: Option<f32>) -> Self {
        Self {
            model,
            task,
            clip_norm,
            loss_watch: None,
            _backend: PhantomData,
        }
    }

    /// Makes every training step check its loss, reporting a NaN or infinite one to `watch`
    /// (one read of the loss per step).
    pub fn with_loss_watch(mut self, watch: LossWatch) -> Self {
        self.loss_watch = Some(watch);
        self
    }
}

impl<B, M, T> TrainStep for Trainee<B, M, T>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + ModuleDisplay + Solves<B, T>,
    M::InnerModule: ModuleDisplay,
    T: Task,
{
    type Input = T::Batch<B>;
    type Output = T::Output<B>;

    fn step(&self, batch: T::Batch<B>) -> TrainOutput<T::Output<B>> {
        let output = self.model.solve(batch);
        let loss = T::loss(&output);
        if let Some(watch) = &self.loss_watch {
            let value: f64 = loss.clone().into_scalar().elem();
            if !value.is_finite() {
                watch.report(value);
            }
        }
        let grads = loss.backward();
        let mut train = TrainOutput::new(self, grads, output);
        if let Some(max_norm) = self.clip_norm {
            clip_global_norm::<B, _>(self, &mut train.grads, max_norm);
        }
        train
    }
}

impl<B, M, T> InferenceStep for Trainee<B, M, T>
where
    B: Backend,
    M: Module<B> + Solves<B, T>,
    T: Task,
{
    type Input = T::Batch<B>;
    type Output = T::Output<B>;

    fn step(&self, batch: T::Batch<B>) -> T::Output<B> {
        self.model.solve(batch)
    }
}
