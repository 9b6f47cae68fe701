//! Sequence tagging: one tag per word, the negative log-likelihood of the model's
//! log-probabilities averaged over the real tokens (padding is left out of the loss and of every
//! count).

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{
    ClassificationOutput, InferenceStep, ItemLazy, LearningComponentsTypes, SupervisedTraining,
    TrainStep,
};
use zoo_data::pos::TaggingBatch;
use zoo_models::{Sentences, Tagger, WordChars};

use super::{confusion, ints, loss_sum, Answer, Solves, Tally, Task};

/// What the tagger's metrics read: its log-probabilities and the tags of the real (unpadded)
/// tokens of a batch, `[tokens, tags]` and `[tokens]`, with its mean loss per token, which
/// tokens' words the training split never had, and the sentences' lengths.
pub struct TaggingOutput<B: Backend> {
    /// Burn's accuracy and loss metrics read this.
    pub tokens: ClassificationOutput<B>,
    /// 1 for a token whose word the training split lacks, `Int [tokens]`.
    pub unseen: Tensor<B, 1, Int>,
    /// Tokens of each sentence, in order.
    pub lengths: Vec<usize>,
}

impl<B: Backend> ItemLazy for TaggingOutput<B> {
    type ItemSync = <ClassificationOutput<B> as ItemLazy>::ItemSync;

    fn sync(self) -> Self::ItemSync {
        self.tokens.sync()
    }
}

/// Sequence tagging with the NLL of log-probabilities per real token.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tagging;

impl<B: Backend, M: Tagger<B>> Solves<B, Tagging> for M {
    fn solve(&self, batch: TaggingBatch<B>) -> TaggingOutput<B> {
        let [sentences, longest] = batch.words.dims();
        let scores = self.tag(Sentences {
            words: batch.words,
            lengths: batch.lengths.clone(),
            chars: batch.chars.map(|(ids, lengths)| WordChars { ids, lengths }),
        });
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
            lengths: batch.lengths,
        }
    }
}

impl Task for Tagging {
    type Batch<B: Backend> = TaggingBatch<B>;
    type Output<B: Backend> = TaggingOutput<B>;
    const SCORED_BY_ACCURACY: bool = true;

    fn loss<B: Backend>(output: &TaggingOutput<B>) -> Tensor<B, 1> {
        output.tokens.loss.clone()
    }

    fn values<B: Backend>(output: &TaggingOutput<B>) -> Tensor<B, 2> {
        output.tokens.output.clone()
    }

    fn tally<B: Backend>(output: &TaggingOutput<B>) -> Tally {
        let tokens = &output.tokens;
        let [count, classes] = tokens.output.dims();
        let predicted = ints(tokens.output.clone().argmax(1).reshape([count]));
        let targets = ints(tokens.targets.clone());
        let unseen = ints(output.unseen.clone());
        let mut per_class = vec![[0, 0]; classes];
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
        Tally {
            loss_sum: loss_sum(&tokens.loss, count),
            correct: Some(correct),
            count,
            confusion: confusion(&predicted, &targets, classes),
            per_class,
            unseen: Some(unseen_tally),
        }
    }

    /// Each sentence's likeliest tags: the tags [`Task::tally`] counts, so `zoo predict` and the
    /// test figure agree (a zoo-trained tagger is never trained to answer `<pad>` or `<unk>`).
    fn answers<B: Backend>(output: TaggingOutput<B>) -> Vec<Answer> {
        let scores = output.tokens.output;
        let [count, _] = scores.dims();
        let best = ints(scores.argmax(1).reshape([count]));
        let mut best = best.into_iter().map(|t| t as usize);
        output
            .lengths
            .iter()
            .map(|&length| Answer::Tags(best.by_ref().take(length).collect()))
            .collect()
    }

    fn metrics<LC>(training: SupervisedTraining<LC>) -> SupervisedTraining<LC>
    where
        LC: LearningComponentsTypes,
        LC::TrainingModel: TrainStep<Output = TaggingOutput<LC::Backend>>,
        LC::InferenceModel:
            InferenceStep<Output = TaggingOutput<<LC::Backend as AutodiffBackend>::InnerBackend>>,
    {
        training.metrics((AccuracyMetric::new(), LossMetric::new()))
    }
}
