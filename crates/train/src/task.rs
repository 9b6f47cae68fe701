//! What the learner trains: a zoo model wrapped with the task that turns a batch into a loss.
//!
//! burn-train's `TrainStep`/`InferenceStep` are implemented here, on [`Trainee`], rather than on the
//! zoo models, so `zoo-models` stays free of any training dependency.

use std::fmt::Debug;
use std::marker::PhantomData;

use burn::module::{AutodiffModule, ModuleDisplay};
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{
    ClassificationOutput, InferenceStep, ItemLazy, LearningComponentsTypes, RegressionOutput,
    SupervisedTraining, TrainOutput, TrainStep,
};
use zoo_data::{ClassificationBatch, RegressionBatch};
use zoo_models::{Mlp, MnistCnn, MnistLstm, SmallCnn};

use crate::clip::clip_global_norm;

/// A model that maps an input tensor of rank `D` to class logits `[B, classes]`.
pub trait Classifier<B: Backend, const D: usize> {
    /// `inputs` → logits `[batch, classes]`.
    fn logits(&self, inputs: Tensor<B, D>) -> Tensor<B, 2>;
}

impl<B: Backend> Classifier<B, 3> for MnistLstm<B> {
    fn logits(&self, inputs: Tensor<B, 3>) -> Tensor<B, 2> {
        self.forward(inputs)
    }
}

impl<B: Backend> Classifier<B, 4> for MnistCnn<B> {
    fn logits(&self, inputs: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(inputs)
    }
}

impl<B: Backend> Classifier<B, 4> for SmallCnn<B> {
    fn logits(&self, inputs: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(inputs)
    }
}

impl<B: Backend> Classifier<B, 2> for Mlp<B> {
    fn logits(&self, inputs: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward(inputs)
    }
}

/// Loss and metric totals of some batches, for an exact average over samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Sum over samples of the per-sample loss.
    pub loss_sum: f64,
    /// Correctly classified samples (classification only).
    pub correct: Option<usize>,
    /// Samples seen.
    pub count: usize,
}

impl Tally {
    /// Adds another batch's tally.
    pub fn add(&mut self, other: Tally) {
        let first = self.count == 0;
        self.correct = match (self.correct, other.correct) {
            (Some(a), Some(b)) => Some(a + b),
            (_, b) if first => b,
            (a, _) => a,
        };
        self.loss_sum += other.loss_sum;
        self.count += other.count;
    }

    /// Mean loss per sample.
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.count.max(1) as f64
    }

    /// Fraction classified correctly.
    pub fn accuracy(&self) -> Option<f64> {
        self.correct.map(|c| c as f64 / self.count.max(1) as f64)
    }
}

/// How a batch of a model's data becomes a loss and the inputs of the metrics.
pub trait Task<B: Backend, M>: Clone + Debug + Send + Sync + 'static {
    /// The batch the data loader yields.
    type Batch: Send + Clone + Debug + 'static;
    /// What the metrics read.
    type Output: ItemLazy + Send + 'static;
    /// Runs the model on a batch.
    fn forward(&self, model: &M, batch: Self::Batch) -> Self::Output;
    /// The mean loss of an output, to differentiate.
    fn loss(output: &Self::Output) -> Tensor<B, 1>;
    /// Exact totals of an output, for test-set evaluation.
    fn tally(output: &Self::Output) -> Tally;
}

/// Single-label classification with cross-entropy on logits; inputs of rank `D`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Classification<const D: usize>;

impl<B: Backend, M: Classifier<B, D> + Sync + Send, const D: usize> Task<B, M>
    for Classification<D>
{
    type Batch = ClassificationBatch<B, D>;
    type Output = ClassificationOutput<B>;

    fn forward(&self, model: &M, batch: Self::Batch) -> Self::Output {
        let logits = model.logits(batch.inputs);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }

    fn loss(output: &Self::Output) -> Tensor<B, 1> {
        output.loss.clone()
    }

    fn tally(output: &Self::Output) -> Tally {
        let count = output.targets.dims()[0];
        let predicted = output.output.clone().argmax(1).reshape([count]);
        let correct: i64 = predicted
            .equal(output.targets.clone())
            .int()
            .sum()
            .into_scalar()
            .elem();
        let loss: f64 = output.loss.clone().into_scalar().elem();
        Tally {
            loss_sum: loss * count as f64,
            correct: Some(correct as usize),
            count,
        }
    }
}

/// Regression with a mean-squared error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Regression;

impl<B: Backend> Task<B, Mlp<B>> for Regression {
    type Batch = RegressionBatch<B>;
    type Output = RegressionOutput<B>;

    fn forward(&self, model: &Mlp<B>, batch: Self::Batch) -> Self::Output {
        let predictions = model.forward(batch.inputs);
        let loss =
            MseLoss::new().forward(predictions.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, predictions, batch.targets)
    }

    fn loss(output: &Self::Output) -> Tensor<B, 1> {
        output.loss.clone()
    }

    fn tally(output: &Self::Output) -> Tally {
        let count = output.targets.dims()[0];
        let loss: f64 = output.loss.clone().into_scalar().elem();
        Tally {
            loss_sum: loss * count as f64,
            correct: None,
            count,
        }
    }
}

/// A zoo model `M` with its task `T` and training options: the module the learner trains.
#[derive(Module, Debug)]
pub struct Trainee<B: Backend, M, T> {
    /// The zoo model.
    pub model: M,
    /// How its batches become a loss.
    #[module(skip)]
    pub task: T,
    /// Global gradient-norm clipping, if any.
    #[module(skip)]
    pub clip_norm: Option<f32>,
    _backend: PhantomData<B>,
}

impl<B: Backend, M, T> Trainee<B, M, T> {
    /// Wraps `model` for training on `task`.
    pub fn new(model: M, task: T, clip_norm: Option<f32>) -> Self {
        Self {
            model,
            task,
            clip_norm,
            _backend: PhantomData,
        }
    }
}

impl<B, M, T> TrainStep for Trainee<B, M, T>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + ModuleDisplay,
    M::InnerModule: ModuleDisplay,
    T: Task<B, M>,
{
    type Input = T::Batch;
    type Output = T::Output;

    fn step(&self, batch: T::Batch) -> TrainOutput<T::Output> {
        let output = self.task.forward(&self.model, batch);
        let grads = T::loss(&output).backward();
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
    M: Module<B>,
    T: Task<B, M>,
{
    type Input = T::Batch;
    type Output = T::Output;

    fn step(&self, batch: T::Batch) -> T::Output {
        self.task.forward(&self.model, batch)
    }
}

/// Registers the metrics of a classification run: loss and accuracy, train and valid.
pub fn classification_metrics<LC>(training: SupervisedTraining<LC>) -> SupervisedTraining<LC>
where
    LC: LearningComponentsTypes,
    LC::TrainingModel: TrainStep<Output = ClassificationOutput<LC::Backend>>,
    LC::InferenceModel: InferenceStep<
        Output = ClassificationOutput<<LC::Backend as AutodiffBackend>::InnerBackend>,
    >,
{
    training.metrics((AccuracyMetric::new(), LossMetric::new()))
}

/// Registers the metrics of a regression run: the loss, train and valid.
pub fn regression_metrics<LC>(training: SupervisedTraining<LC>) -> SupervisedTraining<LC>
where
    LC: LearningComponentsTypes,
    LC::TrainingModel: TrainStep<Output = RegressionOutput<LC::Backend>>,
    LC::InferenceModel:
        InferenceStep<Output = RegressionOutput<<LC::Backend as AutodiffBackend>::InnerBackend>>,
{
    training.metrics((LossMetric::new(),))
}
