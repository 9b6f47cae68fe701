//! Regression with a mean-squared error.

use burn::nn::loss::{MseLoss, Reduction};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::train::metric::LossMetric;
use burn::train::{
    InferenceStep, LearningComponentsTypes, RegressionOutput, SupervisedTraining, TrainStep,
};
use zoo_data::RegressionBatch;
use zoo_models::Regressor;

use super::{loss_sum, Answer, Solves, Tally, Task};

/// Regression with a mean-squared error; inputs `[B, features]`, targets `[B, outputs]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Regression;

impl<B: Backend, M: Regressor<B>> Solves<B, Regression> for M {
    fn solve(&self, batch: RegressionBatch<B>) -> RegressionOutput<B> {
        let predictions = self.predict(batch.inputs);
        let loss =
            MseLoss::new().forward(predictions.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, predictions, batch.targets)
    }
}

impl Task for Regression {
    type Batch<B: Backend> = RegressionBatch<B>;
    type Output<B: Backend> = RegressionOutput<B>;
    const SCORED_BY_ACCURACY: bool = false;

    fn loss<B: Backend>(output: &RegressionOutput<B>) -> Tensor<B, 1> {
        output.loss.clone()
    }

    fn values<B: Backend>(output: &RegressionOutput<B>) -> Tensor<B, 2> {
        output.output.clone()
    }

    fn tally<B: Backend>(output: &RegressionOutput<B>) -> Tally {
        let count = output.targets.dims()[0];
        Tally {
            loss_sum: loss_sum(&output.loss, count),
            correct: None,
            count,
            ..Tally::default()
        }
    }

    fn answers<B: Backend>(output: RegressionOutput<B>) -> Vec<Answer> {
        let [count, outputs] = output.output.dims();
        let values = output
            .output
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("float tensors read back as f32");
        (0..count)
            .map(|i| Answer::Values(values[i * outputs..(i + 1) * outputs].to_vec()))
            .collect()
    }

    fn metrics<LC>(training: SupervisedTraining<LC>) -> SupervisedTraining<LC>
    where
        LC: LearningComponentsTypes,
        LC::TrainingModel: TrainStep<Output = RegressionOutput<LC::Backend>>,
        LC::InferenceModel: InferenceStep<
            Output = RegressionOutput<<LC::Backend as AutodiffBackend>::InnerBackend>,
        >,
    {
        training.metrics((LossMetric::new(),))
    }
}
