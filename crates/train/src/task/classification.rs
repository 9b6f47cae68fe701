//! Single-label classification: cross-entropy on logits, accuracy, top-3 answers.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::backend::AutodiffBackend;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{
    ClassificationOutput, InferenceStep, LearningComponentsTypes, SupervisedTraining, TrainStep,
};
use zoo_data::ClassificationBatch;
use zoo_models::Classifier;

use super::{confusion, ints, loss_sum, Answer, Solves, Tally, Task};

/// Single-label classification with cross-entropy on logits; inputs of rank `D`
/// (`[B, 28, 28]` rows as a sequence: 3; `[B, 1, 28, 28]` images: 4; `[B, features]`: 2).
#[derive(Debug, Clone, Copy, Default)]
pub struct Classification<const D: usize>;

impl<B: Backend, M: Classifier<B, D>, const D: usize> Solves<B, Classification<D>> for M {
    fn solve(&self, batch: ClassificationBatch<B, D>) -> ClassificationOutput<B> {
        let logits = self.logits(batch.inputs);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl<const D: usize> Task for Classification<D> {
    type Batch<B: Backend> = ClassificationBatch<B, D>;
    type Output<B: Backend> = ClassificationOutput<B>;
    const SCORED_BY_ACCURACY: bool = true;

    fn loss<B: Backend>(output: &ClassificationOutput<B>) -> Tensor<B, 1> {
        output.loss.clone()
    }

    fn values<B: Backend>(output: &ClassificationOutput<B>) -> Tensor<B, 2> {
        output.output.clone()
    }

    fn tally<B: Backend>(output: &ClassificationOutput<B>) -> Tally {
        let [count, classes] = output.output.dims();
        let predicted = ints(output.output.clone().argmax(1).reshape([count]));
        let targets = ints(output.targets.clone());
        let confusion = confusion(&predicted, &targets, classes);
        Tally {
            loss_sum: loss_sum(&output.loss, count),
            correct: Some((0..classes).map(|c| confusion[c][c]).sum()),
            count,
            confusion,
            ..Tally::default()
        }
    }

    fn answers<B: Backend>(output: ClassificationOutput<B>) -> Vec<Answer> {
        top_three(softmax(output.output, 1))
    }

    fn metrics<LC>(training: SupervisedTraining<LC>) -> SupervisedTraining<LC>
    where
        LC: LearningComponentsTypes,
        LC::TrainingModel: TrainStep<Output = ClassificationOutput<LC::Backend>>,
        LC::InferenceModel: InferenceStep<
            Output = ClassificationOutput<<LC::Backend as AutodiffBackend>::InnerBackend>,
        >,
    {
        training.metrics((AccuracyMetric::new(), LossMetric::new()))
    }
}

/// The three likeliest classes of each row of `probabilities [count, classes]`.
fn top_three<B: Backend>(probabilities: Tensor<B, 2>) -> Vec<Answer> {
    let [count, classes] = probabilities.dims();
    let values = probabilities
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("float tensors read back as f32");
    (0..count)
        .map(|i| {
            let row = &values[i * classes..(i + 1) * classes];
            let mut ranked: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            ranked.truncate(3);
            Answer::Class(ranked)
        })
        .collect()
}
