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
use zoo_data::pos::TaggingBatch;
use zoo_data::{ClassificationBatch, RegressionBatch};
use zoo_models::{LstmTagger, Mlp, MnistCnn, MnistLstm, SmallCnn};

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Sum over samples of the per-sample loss.
    pub loss_sum: f64,
    /// Correctly classified samples (classification only).
    pub correct: Option<usize>,
    /// Samples seen.
    pub count: usize,
    /// `[correct, total]` by true class (tagging only, else empty).
    pub per_class: Vec<[usize; 2]>,
    /// `[correct, total]` over words absent from the training split (tagging only).
    pub unseen: Option<[usize; 2]>,
    /// `confusion[true][predicted]` counts (classification and tagging, else empty).
    pub confusion: Vec<Vec<usize>>,
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
        self.unseen = match (self.unseen, other.unseen) {
            (Some([a, b]), Some([c, d])) => Some([a + c, b + d]),
            (a, b) => a.or(b),
        };
        if self.per_class.len() < other.per_class.len() {
            self.per_class.resize(other.per_class.len(), [0, 0]);
        }
        for (mine, theirs) in self.per_class.iter_mut().zip(other.per_class) {
            mine[0] += theirs[0];
            mine[1] += theirs[1];
        }
        let classes = self.confusion.len().max(other.confusion.len());
        self.confusion.resize(classes, vec![0; classes]);
        for (mine, theirs) in self.confusion.iter_mut().zip(other.confusion) {
            mine.resize(classes, 0);
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
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
        let [count, classes] = output.output.dims();
        let predicted = ints(output.output.clone().argmax(1).reshape([count]));
        let targets = ints(output.targets.clone());
        let confusion = confusion(&predicted, &targets, classes);
        let loss: f64 = output.loss.clone().into_scalar().elem();
        Tally {
            loss_sum: loss * count as f64,
            correct: Some((0..classes).map(|c| confusion[c][c]).sum()),
            count,
            confusion,
            ..Tally::default()
        }
    }
}

/// An `Int` tensor's values, read back to the host.
fn ints<B: Backend>(tensor: Tensor<B, 1, Int>) -> Vec<i64> {
    tensor
        .into_data()
        .convert::<i64>()
        .to_vec()
        .expect("int tensors read back as i64")
}

/// `[true][predicted]` counts of `classes` classes.
fn confusion(predicted: &[i64], targets: &[i64], classes: usize) -> Vec<Vec<usize>> {
    let mut matrix = vec![vec![0; classes]; classes];
    for (&p, &t) in predicted.iter().zip(targets) {
        matrix[t as usize][p as usize] += 1;
    }
    matrix
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
            ..Tally::default()
        }
    }
}

/// What the tagger's metrics read: its log-probabilities and the tags of the real (unpadded)
/// tokens of a batch, `[tokens, tags]` and `[tokens]`, with its mean loss per token, and which
/// tokens' words the training split never had.
pub struct TaggingOutput<B: Backend> {
    /// Burn's accuracy and loss metrics read this.
    pub tokens: ClassificationOutput<B>,
    /// 1 for a token whose word the training split lacks, `Int [tokens]`.
    pub unseen: Tensor<B, 1, Int>,
}

impl<B: Backend> ItemLazy for TaggingOutput<B> {
    type ItemSync = <ClassificationOutput<B> as ItemLazy>::ItemSync;

    fn sync(self) -> Self::ItemSync {
        self.tokens.sync()
    }
}

/// Sequence tagging: one tag per word, the NLL of the model's log-probabilities averaged over the
/// real tokens of a batch (padding is left out of the loss and of every count).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tagging;

impl<B: Backend> Task<B, LstmTagger<B>> for Tagging {
    type Batch = TaggingBatch<B>;
    type Output = TaggingOutput<B>;

    fn forward(&self, model: &LstmTagger<B>, batch: Self::Batch) -> Self::Output {
        let [sentences, longest] = batch.words.dims();
        let scores = model.forward(batch.words, Some(&batch.lengths));
        let tags = scores.dims()[2];
        let scores = scores
            .reshape([sentences * longest, tags])
            .select(0, batch.positions);
        let tokens = batch.tags.dims()[0];
        let loss = scores
            .clone()
            .gather(1, batch.tags.clone().reshape([tokens, 1]))
            .mean()
            .neg();
        TaggingOutput {
            tokens: ClassificationOutput::new(loss, scores, batch.tags),
            unseen: batch.unseen,
        }
    }

    fn loss(output: &Self::Output) -> Tensor<B, 1> {
        output.tokens.loss.clone()
    }

    fn tally(output: &Self::Output) -> Tally {
        let tokens = &output.tokens;
        let count = tokens.targets.dims()[0];
        let predicted = ints(tokens.output.clone().argmax(1).reshape([count]));
        let targets = ints(tokens.targets.clone());
        let unseen = ints(output.unseen.clone());
        let mut per_class = vec![[0, 0]; tokens.output.dims()[1]];
        let (mut correct, mut unseen_tally) = (0, [0, 0]);
        for ((&p, &t), &u) in predicted.iter().zip(&targets).zip(&unseen) {
            let hit = usize::from(p == t);
            correct += hit;
            per_class[t as usize][0] += hit;
            per_class[t as usize][1] += 1;
            if u != 0 {
                unseen_tally[0] += hit;
                unseen_tally[1] += 1;
            }
        }
        let loss: f64 = tokens.loss.clone().into_scalar().elem();
        Tally {
            loss_sum: loss * count as f64,
            correct: Some(correct),
            count,
            confusion: confusion(&predicted, &targets, tokens.output.dims()[1]),
            per_class,
            unseen: Some(unseen_tally),
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
    M: AutodiffModule<B> + ModuleDisplay,
    M::InnerModule: ModuleDisplay,
    T: Task<B, M>,
{
    type Input = T::Batch;
    type Output = T::Output;

    fn step(&self, batch: T::Batch) -> TrainOutput<T::Output> {
        let output = self.task.forward(&self.model, batch);
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

/// Registers the metrics of a tagging run: token accuracy and loss, train and valid.
pub fn tagging_metrics<LC>(training: SupervisedTraining<LC>) -> SupervisedTraining<LC>
where
    LC: LearningComponentsTypes,
    LC::TrainingModel: TrainStep<Output = TaggingOutput<LC::Backend>>,
    LC::InferenceModel:
        InferenceStep<Output = TaggingOutput<<LC::Backend as AutodiffBackend>::InnerBackend>>,
{
    training.metrics((AccuracyMetric::new(), LossMetric::new()))
}
