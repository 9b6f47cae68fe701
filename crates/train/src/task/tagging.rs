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
    /// The adversarial loss of a training step ([`Tagger::adversarial`]), added to `tokens`'
    /// loss where the gradient is taken but not to the loss the metrics show.
    pub adversarial: Option<Tensor<B, 1>>,
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
        let (scores, auxiliary) = self.tag_training(sentences_of(&batch));
        output_of(self.crf(), scores, auxiliary, batch)
    }

    /// With [`Tagger::adversarial`] above 0 and features to perturb, Yasunaga et al. (2018)'s
    /// adversarial training: a first pass finds the direction in which the word features raise
    /// the loss fastest (its gradient); the loss of the features moved that way, each sentence
    /// by `adversarial` times its own features' size, is added to the step's loss.
    fn solve_training(&self, batch: TaggingBatch<B>) -> TaggingOutput<B>
    where
        B: AutodiffBackend,
    {
        let epsilon = self.adversarial();
        if epsilon == 0.0 {
            return self.solve(batch);
        }
        let sentences = sentences_of(&batch);
        let Some(features) = self.features(&sentences) else {
            return self.solve(batch);
        };
        let probe = features.clone().detach().require_grad();
        let (scores, _) = self.tag_features(probe.clone(), &sentences);
        let grads = loss_of(self.crf(), scores, &batch).backward();
        let direction = probe
            .grad(&grads)
            .map(Tensor::<B, 3>::from_inner)
            .unwrap_or_else(|| features.zeros_like());
        let push = perturbation(direction, features.clone().detach(), epsilon);
        let (scores, auxiliary) = self.tag_features(features.clone(), &sentences);
        let (pushed, _) = self.tag_features(features + push, &sentences);
        TaggingOutput {
            adversarial: Some(loss_of(self.crf(), pushed, &batch)),
            ..output_of(self.crf(), scores, auxiliary, batch)
        }
    }
}

/// `direction` scaled, sentence by sentence, to `epsilon` times the size (L2) of the
/// sentence's `features`.
fn perturbation<B: Backend>(
    direction: Tensor<B, 3>,
    features: Tensor<B, 3>,
    epsilon: f64,
) -> Tensor<B, 3> {
    let size = |t: Tensor<B, 3>| t.powi_scalar(2).sum_dim(2).sum_dim(1).sqrt();
    let scale = size(features)
        .div(size(direction.clone()).add_scalar(1e-12))
        .mul_scalar(epsilon);
    direction * scale
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

/// The output of a tagger's `scores` for `batch`: its loss (plus the `auxiliary` loss) and
/// the tags it chose, word by word or, with a CRF, by Viterbi decoding.
fn output_of<B: Backend>(
    crf: Option<&Crf<B>>,
    scores: Tensor<B, 3>,
    auxiliary: Option<Tensor<B, 1>>,
    batch: TaggingBatch<B>,
) -> TaggingOutput<B> {
    let loss = loss_of(crf, scores.clone(), &batch);
    let loss = match auxiliary {
        Some(auxiliary) => loss + auxiliary,
        None => loss,
    };
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
        adversarial: None,
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
        match &output.adversarial {
            Some(adversarial) => output.tokens.loss.clone() + adversarial.clone(),
            None => output.tokens.loss.clone(),
        }
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
    use burn::backend::{Autodiff, NdArray};
    use zoo_data::pos::BatchChars;
    use zoo_models::CharTaggerConfig;

    use super::*;

    type A = Autodiff<NdArray>;

    #[test]
    fn the_perturbation_is_the_direction_at_a_fraction_of_each_sentences_size() {
        let device = Default::default();
        let direction = Tensor::<NdArray, 3>::from_floats(
            [[[3.0, 0.0], [0.0, 4.0]], [[0.0, 1.0], [0.0, 0.0]]],
            &device,
        );
        // Sentence sizes (L2 over all its features): 10 and 2.
        let features = Tensor::<NdArray, 3>::from_floats(
            [[[6.0, 8.0], [0.0, 0.0]], [[0.0, 2.0], [0.0, 0.0]]],
            &device,
        );
        let push = perturbation(direction, features, 0.5).into_data();
        // Sentence 1: (3, 4) of size 5 → size 5; sentence 2: (1) → size 1.
        push.assert_approx_eq::<f32>(
            &TensorData::from([[[3.0f32, 0.0], [0.0, 4.0]], [[0.0, 1.0], [0.0, 0.0]]]),
            burn::tensor::Tolerance::absolute(1e-5),
        );
    }

    /// Sentences of 3 and 2 words (padded), tags of the 5 real words, a row of characters each.
    fn batch(device: &burn::backend::ndarray::NdArrayDevice) -> TaggingBatch<A> {
        TaggingBatch {
            words: Tensor::from_ints([[2, 5, 1], [7, 3, 0]], device),
            lengths: vec![3, 2],
            positions: Tensor::from_ints([0, 1, 2, 3, 4], device),
            tags: Tensor::from_ints([0, 3, 1, 4, 2], device),
            unseen: Tensor::from_ints([0, 0, 1, 0, 0], device),
            chars: Some(BatchChars {
                ids: Tensor::from_ints([[0, 0], [4, 0], [5, 6], [7, 0], [8, 9], [3, 3]], device),
                lengths: vec![1, 1, 2, 1, 2, 2],
                rows: Tensor::from_ints([1, 2, 3, 4, 5, 0], device),
            }),
        }
    }

    #[test]
    fn adversarial_training_adds_the_loss_of_features_pushed_against_it() {
        let device = Default::default();
        // No dropout of any kind: every pass reads the same features.
        let config = |adversarial: f64| {
            CharTaggerConfig::new(10, 10, 5)
                .with_word_dim(6)
                .with_char_dim(4)
                .with_char_hidden(3)
                .with_hidden_size(5)
                .with_dropout(0.0)
                .with_rare_alpha(0.0)
                .with_crf(true)
                .with_adversarial(adversarial)
        };
        let tagger = config(0.05).init::<A>(&device);
        let trained = tagger.solve_training(batch(&device));
        let clean: f32 = trained.tokens.loss.clone().into_scalar();
        // The metrics' loss is the plain tagging loss ...
        let plain: f32 = tagger.solve(batch(&device)).tokens.loss.into_scalar();
        assert!((clean - plain).abs() < 1e-6, "{clean} against {plain}");
        // ... and the loss to differentiate adds the pushed features' loss, which is higher.
        let pushed: f32 = trained
            .adversarial
            .clone()
            .expect("an adversarial loss")
            .into_scalar();
        assert!(pushed > clean, "{pushed} not above {clean}");
        let total: f32 = Tagging::loss(&trained).into_scalar();
        assert!((total - (clean + pushed)).abs() < 1e-5);
        // Its gradient reaches the embeddings through both passes.
        let grads = Tagging::loss(&trained).backward();
        assert!(tagger.embedding.weight.grad(&grads).is_some())
    }

    /// A [`CharTagger`](zoo_models::CharTagger) that counts the times its features are asked
    /// for.
    struct Counted(zoo_models::CharTagger<A>, std::cell::Cell<usize>);

    impl Tagger<A> for Counted {
        fn tag(&self, sentences: Sentences<A>) -> Tensor<A, 3> {
            self.0.tag(sentences)
        }

        fn adversarial(&self) -> f64 {
            self.0.adversarial()
        }

        fn features(&self, sentences: &Sentences<A>) -> Option<Tensor<A, 3>> {
            self.1.set(self.1.get() + 1);
            self.0.features(sentences)
        }

        fn tag_features(
            &self,
            features: Tensor<A, 3>,
            sentences: &Sentences<A>,
        ) -> (Tensor<A, 3>, Option<Tensor<A, 1>>) {
            self.0.tag_features(features, sentences)
        }
    }

    #[test]
    fn without_adversarial_training_a_step_draws_nothing_more_than_the_plain_one() {
        let device = Default::default();
        // The word features draw word dropout: a step without adversarial training that asked
        // for them would shift every later random draw of the run.
        for (adversarial, asked) in [(0.0, 0), (0.1, 1)] {
            let tagger = CharTaggerConfig::new(10, 10, 5)
                .with_word_dim(6)
                .with_char_dim(4)
                .with_char_hidden(3)
                .with_hidden_size(5)
                .with_adversarial(adversarial)
                .init::<A>(&device);
            let counted = Counted(tagger, Default::default());
            let output = counted.solve_training(batch(&device));
            assert_eq!(counted.1.get(), asked);
            assert_eq!(output.adversarial.is_some(), adversarial > 0.0);
        }
    }
}
