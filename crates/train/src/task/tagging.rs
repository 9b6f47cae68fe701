//! Sequence tagging: one tag per word, the negative log-likelihood of the model's
//! log-probabilities averaged over the real tokens, or, for a tagger with a CRF, of each
//! sentence's tags as a whole, per real token (padding is left out of the loss and of every
//! count).

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{
    ClassificationOutput, InferenceStep, ItemLazy, LearningComponentsTypes, SupervisedTraining,
    TrainStep,
};
use zoo_data::pos::TaggingBatch;
use zoo_models::nn::Crf;
use zoo_models::{Sentences, Tagger, WordChars};

use super::{confusion, ints, loss_sum, Answer, Solves, Tally, Task};

/// What the tagger's metrics read: the tags it chose and the true tags of the real (unpadded)
/// tokens of a batch, `[tokens, tags]` and `[tokens]`, with its mean loss per token, its word
/// scores, which tokens' words the training split never had, and the sentences' lengths.
pub struct TaggingOutput<B: Backend> {
    /// Burn's accuracy and loss metrics read this: as `output`, the word scores' log-probabilities
    /// (a tagger without a CRF), or 1 at the tag Viterbi decoding chose and 0 elsewhere (with
    /// one).
    pub tokens: ClassificationOutput<B>,
    /// The tagger's word scores of the real tokens, `[tokens, tags]`.
    pub scores: Tensor<B, 2>,
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
        let scores = self.tag(sentences_of(&batch));
        output_of(self.crf(), scores, batch)
    }
}

/// The mean loss per real token of a tagger's `scores` for `batch`: the NLL of each token's
/// tag, or with a CRF of each sentence's tags as a whole.
fn loss_of<B: Backend>(
    crf: Option<&Crf<B>>,
    scores: Tensor<B, 3>,
    batch: &TaggingBatch<B>,
) -> Tensor<B, 1> {
    let tokens = batch.tags.dims()[0];
    match crf {
        None => word_scores(scores, batch)
            .gather(1, batch.tags.clone().reshape([tokens, 1]))
            .mean()
            .neg(),
        Some(crf) => {
            let gold = per_sentence(ints(batch.tags.clone()), &batch.lengths);
            crf.nll(scores, &gold).div_scalar(tokens as f64)
        }
    }
}

/// The real tokens' rows of `scores` `[sentences, longest, tags]`, in order: `[tokens, tags]`.
fn word_scores<B: Backend>(scores: Tensor<B, 3>, batch: &TaggingBatch<B>) -> Tensor<B, 2> {
    let [sentences, longest, tags] = scores.dims();
    scores
        .reshape([sentences * longest, tags])
        .select(0, batch.positions.clone())
}

/// The batch's sentences as a [`Tagger`] reads them.
fn sentences_of<B: Backend>(batch: &TaggingBatch<B>) -> Sentences<B> {
    Sentences {
        words: batch.words.clone(),
        lengths: batch.lengths.clone(),
        chars: batch.chars.clone().map(|chars| WordChars {
            ids: chars.ids,
            lengths: chars.lengths,
            rows: Some(chars.rows),
        }),
    }
}

/// The output of a tagger's `scores` for `batch`: its loss and the tags it chose, word by word
/// or, with a CRF, by Viterbi decoding.
fn output_of<B: Backend>(
    crf: Option<&Crf<B>>,
    scores: Tensor<B, 3>,
    batch: TaggingBatch<B>,
) -> TaggingOutput<B> {
    let loss = loss_of(crf, scores.clone(), &batch);
    let words = word_scores(scores.clone(), &batch);
    let chosen = match crf {
        None => words.clone(),
        Some(crf) => {
            let [tokens, tags] = words.dims();
            let best = crf.decode(scores, &batch.lengths).concat();
            let best = Tensor::<B, 1, Int>::from_data(
                TensorData::new(best.into_iter().map(|t| t as i64).collect(), [tokens]),
                &words.device(),
            );
            best.one_hot::<2>(tags).float()
        }
    };
    TaggingOutput {
        tokens: ClassificationOutput::new(loss, chosen, batch.tags),
        scores: words,
        unseen: batch.unseen,
        lengths: batch.lengths,
    }
}

/// Tokens in sentence order, cut into sentences of `lengths`.
fn per_sentence(tokens: Vec<i64>, lengths: &[usize]) -> Vec<Vec<usize>> {
    let mut tokens = tokens.into_iter().map(|t| t as usize);
    lengths
        .iter()
        .map(|&length| tokens.by_ref().take(length).collect())
        .collect()
}

impl Task for Tagging {
    type Batch<B: Backend> = TaggingBatch<B>;
    type Output<B: Backend> = TaggingOutput<B>;
    const SCORED_BY_ACCURACY: bool = true;

    fn loss<B: Backend>(output: &TaggingOutput<B>) -> Tensor<B, 1> {
        output.tokens.loss.clone()
    }

    fn values<B: Backend>(output: &TaggingOutput<B>) -> Tensor<B, 2> {
        output.scores.clone()
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

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::module::Param;
    use zoo_models::nn::CrfConfig;

    use super::*;

    type B = NdArray;

    /// A tagger whose word scores are given, with a CRF whose transitions are given.
    struct Fixed {
        scores: Tensor<B, 3>,
        crf: Option<Crf<B>>,
    }

    impl Tagger<B> for Fixed {
        fn tag(&self, _sentences: Sentences<B>) -> Tensor<B, 3> {
            self.scores.clone()
        }

        fn crf(&self) -> Option<&Crf<B>> {
            self.crf.as_ref()
        }
    }

    /// One sentence of three words, two tags: word by word tag 0, 1, 0 scores best, but the
    /// CRF forbids 0 → 1 and 1 → 0 so strongly that only 0, 0, 0 or 1, 1, 1 can win, and 0, 0, 0
    /// scores higher (0.9 + 0.4 + 0.9 against 0.1 + 0.6 + 0.1).
    fn tagged(with_crf: bool) -> Vec<Answer> {
        let device = Default::default();
        let scores = Tensor::<B, 3>::from_floats(
            [[
                [0.9f32.ln(), 0.1f32.ln()],
                [0.4f32.ln(), 0.6f32.ln()],
                [0.9f32.ln(), 0.1f32.ln()],
            ]],
            &device,
        );
        let mut crf = CrfConfig::new(2).init::<B>(&device);
        crf.transitions =
            Param::from_tensor(Tensor::from_floats([[0.0, -100.0], [-100.0, 0.0]], &device));
        crf.start = Param::from_tensor(Tensor::zeros([2], &device));
        crf.end = Param::from_tensor(Tensor::zeros([2], &device));
        let tagger = Fixed {
            scores,
            crf: with_crf.then_some(crf),
        };
        let batch = TaggingBatch {
            words: Tensor::from_ints([[2, 3, 4]], &device),
            lengths: vec![3],
            positions: Tensor::from_ints([0, 1, 2], &device),
            tags: Tensor::from_ints([0, 1, 0], &device),
            unseen: Tensor::from_ints([0, 0, 0], &device),
            chars: None,
        };
        Tagging::answers(tagger.solve(batch))
    }

    #[test]
    fn a_tagger_with_a_crf_answers_the_best_sequence_not_the_best_words() {
        assert_eq!(tagged(false), [Answer::Tags(vec![0, 1, 0])]);
        assert_eq!(tagged(true), [Answer::Tags(vec![0, 0, 0])]);
    }
}
