//! What a model learns: a [`Task`] turns a batch into an output, a loss, metrics and answers.
//!
//! Three tasks come with the toolkit ([`Classification`], [`Regression`], [`Tagging`]); a model
//! takes one by implementing the trait of zoo-models that says what it computes
//! ([`Classifier`], [`Regressor`], [`Tagger`]), which gives it [`Solves`] for that task. A new
//! kind of task implements [`Task`] and [`Solves`] itself.

use std::fmt::Debug;

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::train::{
    InferenceStep, ItemLazy, LearningComponentsTypes, SupervisedTraining, TrainStep,
};

mod classification;
mod regression;
mod tagging;

pub use classification::Classification;
pub use regression::Regression;
pub use tagging::{Tagging, TaggingOutput};
pub use zoo_models::{Classifier, Regressor, Tagger};

/// A kind of learning problem: what a batch holds, what the model's output is, how that becomes
/// a loss, test totals and the answers `zoo predict` prints.
pub trait Task: Clone + Copy + Debug + Default + Send + Sync + 'static {
    /// The batch the data loader yields on backend `B`.
    type Batch<B: Backend>: Send + Clone + Debug + 'static;
    /// What the model computes from a batch (with its loss), which the metrics read.
    type Output<B: Backend>: ItemLazy + Send + 'static;

    /// Whether the task is scored by accuracy (and its metrics include burn-train's
    /// `AccuracyMetric`); else by its loss alone.
    const SCORED_BY_ACCURACY: bool;

    /// The mean loss of an output, the value to differentiate.
    fn loss<B: Backend>(output: &Self::Output<B>) -> Tensor<B, 1>;

    /// The model's raw outputs in an output, one row per sample (logits, predicted values, one
    /// row of tag scores per word): what `zoo check` compares between backends.
    fn values<B: Backend>(output: &Self::Output<B>) -> Tensor<B, 2>;

    /// Exact totals of an output, for test-set figures.
    fn tally<B: Backend>(output: &Self::Output<B>) -> Tally;

    /// One answer per sample of an output, in batch order (what `zoo predict` prints).
    fn answers<B: Backend>(output: Self::Output<B>) -> Vec<Answer>;

    /// Registers the task's metrics (loss, and accuracy where it means something) on a learner.
    fn metrics<LC>(training: SupervisedTraining<LC>) -> SupervisedTraining<LC>
    where
        LC: LearningComponentsTypes,
        LC::TrainingModel: TrainStep<Output = Self::Output<LC::Backend>>,
        LC::InferenceModel:
            InferenceStep<Output = Self::Output<<LC::Backend as AutodiffBackend>::InnerBackend>>;
}

/// A model that can do task `T` on backend `B`: it maps `T`'s batch to `T`'s output. The tasks
/// of the toolkit implement it for every model of their contract trait.
pub trait Solves<B: Backend, T: Task> {
    /// Runs the model on a batch.
    fn solve(&self, batch: T::Batch<B>) -> T::Output<B>;
}

/// What a model says about one sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A class: `(class, probability)`, likeliest first, at most three.
    Class(Vec<(usize, f32)>),
    /// Predicted values.
    Values(Vec<f32>),
    /// One tag per word.
    Tags(Vec<usize>),
}

impl Answer {
    /// The answer as `zoo predict` prints it for the input `label`, classes by name:
    /// `digit.png: 7  (7 0.981, 2 0.011, 1 0.004)`, `0.5: 0.2612`, `The/DET dog/NOUN`.
    pub fn describe(&self, label: &str, classes: &[String]) -> String {
        let class = |c: usize| classes.get(c).cloned().unwrap_or_else(|| c.to_string());
        match self {
            Answer::Class(top) => {
                let ranked: Vec<String> = top
                    .iter()
                    .map(|&(c, p)| format!("{} {p:.3}", class(c)))
                    .collect();
                let best = top.first().map_or("?".to_string(), |&(c, _)| class(c));
                format!("{label}: {best}  ({})", ranked.join(", "))
            }
            Answer::Values(values) => {
                let values: Vec<String> = values.iter().map(|v| format!("{v:.4}")).collect();
                format!("{label}: {}", values.join(" "))
            }
            Answer::Tags(tags) => label
                .split(' ')
                .zip(tags)
                .map(|(word, &tag)| format!("{word}/{}", class(tag)))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl Answer {
    /// The answer as a line of `zoo eval --predictions`: a class answer's classes by index with
    /// their probabilities to 7 decimals, likeliest first (`7 0.9981234 2 0.0012345 ...`), a
    /// tagger's tags by name, predicted values.
    pub fn record(&self, classes: &[String]) -> String {
        match self {
            Answer::Class(top) => (top.iter())
                .map(|(c, p)| format!("{c} {p:.7}"))
                .collect::<Vec<_>>()
                .join(" "),
            Answer::Values(values) => (values.iter())
                .map(|v| format!("{v}"))
                .collect::<Vec<_>>()
                .join(" "),
            Answer::Tags(tags) => (tags.iter())
                .map(|&t| classes.get(t).cloned().unwrap_or_else(|| t.to_string()))
                .collect::<Vec<_>>()
                .join(" "),
        }
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

/// An `Int` tensor's values, read back to the host.
pub(crate) fn ints<B: Backend>(tensor: Tensor<B, 1, Int>) -> Vec<i64> {
    tensor
        .into_data()
        .convert::<i64>()
        .to_vec()
        .expect("int tensors read back as i64")
}

/// `[true][predicted]` counts of `classes` classes.
pub(crate) fn confusion(predicted: &[i64], targets: &[i64], classes: usize) -> Vec<Vec<usize>> {
    let mut matrix = vec![vec![0; classes]; classes];
    for (&p, &t) in predicted.iter().zip(targets) {
        matrix[t as usize][p as usize] += 1;
    }
    matrix
}

/// The mean loss of an output, times its samples: what [`Tally::loss_sum`] adds up.
pub(crate) fn loss_sum<B: Backend>(loss: &Tensor<B, 1>, count: usize) -> f64 {
    let mean: f64 = loss.clone().into_scalar().elem();
    mean * count as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_print_as_the_predict_lines() {
        let classes: Vec<String> = ["zero", "one", "two"].map(String::from).to_vec();
        let class = Answer::Class(vec![(2, 0.9), (0, 0.07), (1, 0.03)]);
        assert_eq!(
            class.describe("d.png", &classes),
            "d.png: two  (two 0.900, zero 0.070, one 0.030)"
        );
        assert_eq!(
            Answer::Values(vec![0.25]).describe("0.5", &[]),
            "0.5: 0.2500"
        );
        let tags = Answer::Tags(vec![1, 2]);
        assert_eq!(tags.describe("The dog", &classes), "The/one dog/two");
        // And as `zoo eval --predictions` records them.
        assert_eq!(
            class.record(&classes),
            "2 0.9000000 0 0.0700000 1 0.0300000"
        );
        assert_eq!(tags.record(&classes), "one two");
        assert_eq!(Answer::Values(vec![0.25]).record(&[]), "0.25");
    }

    #[test]
    fn tallies_add_up_counts_and_confusion() {
        let mut total = Tally::default();
        total.add(Tally {
            loss_sum: 1.0,
            correct: Some(1),
            count: 2,
            confusion: vec![vec![1, 1], vec![0, 0]],
            ..Tally::default()
        });
        total.add(Tally {
            loss_sum: 2.0,
            correct: Some(2),
            count: 2,
            confusion: vec![vec![0, 0], vec![0, 2]],
            ..Tally::default()
        });
        assert_eq!(total.count, 4);
        assert_eq!(total.accuracy(), Some(0.75));
        assert_eq!(total.mean_loss(), 0.75);
        assert_eq!(total.confusion, vec![vec![1, 1], vec![0, 2]]);
    }
}
