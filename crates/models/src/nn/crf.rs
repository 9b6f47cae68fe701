//! A linear-chain conditional random field over a tagger's per-word scores: a score for every
//! tag following every other, for starting and for ending a sentence; trained on the whole tag
//! sequence's log-likelihood (the forward algorithm), read back by Viterbi decoding.

use burn::module::{Module, Param};
use burn::prelude::*;

use super::real_positions;

/// Shape of [`Crf`].
#[derive(Config, Debug)]
pub struct CrfConfig {
    /// Tags the sequences are made of.
    pub num_tags: usize,
}

impl CrfConfig {
    /// A CRF whose scores all start at 0 (every tag sequence as likely as the word scores say).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Crf<B> {
        let tags = self.num_tags;
        Crf {
            transitions: Param::from_tensor(Tensor::zeros([tags, tags], device)),
            start: Param::from_tensor(Tensor::zeros([tags], device)),
            end: Param::from_tensor(Tensor::zeros([tags], device)),
        }
    }
}

/// A linear-chain CRF: the score of tags `y` for word scores `e` is
/// `start[y_0] + Σ_t e[t, y_t] + Σ_t transitions[y_{t-1}, y_t] + end[y_last]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use zoo_models::nn::CrfConfig;
///
/// let device = Default::default();
/// let crf = CrfConfig::new(3).init::<NdArray>(&device);
/// // Two sentences of 2 and 1 words (the second padded), 3 tags.
/// let scores = Tensor::<NdArray, 3>::from_floats(
///     [[[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]], [[0.0, 0.0, 3.0], [9.0, 9.0, 9.0]]],
///     &device,
/// );
/// assert_eq!(crf.decode(scores.clone(), &[2, 1]), vec![vec![1, 0], vec![2]]);
/// let loss = crf.nll(scores, &[vec![1, 0], vec![2]]); // -log p(tags), summed over sentences
/// assert!(loss.into_scalar() > 0.0);
/// ```
#[derive(Module, Debug)]
pub struct Crf<B: Backend> {
    /// `transitions[i][j]`: the score of tag `j` right after tag `i`, `[tags, tags]`.
    pub transitions: Param<Tensor<B, 2>>,
    /// The score of a sentence's first tag, `[tags]`.
    pub start: Param<Tensor<B, 1>>,
    /// The score of a sentence's last tag, `[tags]`.
    pub end: Param<Tensor<B, 1>>,
}

/// `log Σ exp` over dimension `dim`, kept (as Burn's reductions do); stable for any scale.
fn log_sum_exp<B: Backend, const D: usize>(values: Tensor<B, D>, dim: usize) -> Tensor<B, D> {
    let top = values.clone().detach().max_dim(dim);
    (values - top.clone()).exp().sum_dim(dim).log() + top
}

impl<B: Backend> Crf<B> {
    /// The negative log-likelihood of each sentence's `tags` under the word scores `scores`
    /// `[sentences, longest, tags]`, summed over the sentences; `tags[s]` has one tag a word
    /// (its length is the sentence's), and scores past a sentence's end are never read.
    ///
    /// # Panics
    /// If a sentence is empty or longer than `longest`, or a tag is not below `tags`.
    pub fn nll(&self, scores: Tensor<B, 3>, tags: &[Vec<usize>]) -> Tensor<B, 1> {
        let lengths: Vec<usize> = tags.iter().map(Vec::len).collect();
        self.log_partition(scores.clone(), &lengths).sum() - self.gold_score(scores, tags)
    }

    /// `log Σ_y exp score(y)` of each sentence, `[sentences]`: the forward algorithm, one
    /// word at a time; a sentence that has ended keeps its value.
    fn log_partition(&self, scores: Tensor<B, 3>, lengths: &[usize]) -> Tensor<B, 1> {
        let [count, longest, tags] = scores.dims();
        let device = scores.device();
        if !B::ad_enabled(&device) {
            // No gradient wanted (a test pass): one pass over the scores on the host, as
            // `decode` does, instead of a handful of small tensor operations a word.
            let (chain, scores) = (self.on_host(), host_values(scores.reshape([-1])));
            let z = lengths
                .iter()
                .enumerate()
                .map(|(s, &length)| {
                    chain.log_partition(&scores[s * longest * tags..][..length * tags])
                })
                .collect::<Vec<f32>>();
            return Tensor::from_data(TensorData::new(z, [count]), &device);
        }
        let word = |t: usize| {
            scores
                .clone()
                .slice([0..count, t..t + 1])
                .reshape([count, tags])
        };
        // Which sentences go on past each word, uploaded once: `[sentences, longest]`.
        let going = real_positions::<B>(lengths, longest, &device);
        let transitions = self.transitions.val().unsqueeze_dim::<3>(0);
        let mut alpha = word(0) + self.start.val().unsqueeze_dim(0);
        for t in 1..longest {
            let through = alpha.clone().unsqueeze_dim::<3>(2) + transitions.clone();
            let next = log_sum_exp(through, 1).reshape([count, tags]) + word(t);
            let going_on = going
                .clone()
                .slice([0..count, t..t + 1])
                .expand([count, tags]);
            alpha = alpha.mask_where(going_on, next);
        }
        log_sum_exp(alpha + self.end.val().unsqueeze_dim(0), 1).reshape([count])
    }

    /// The score of the given tags, summed over the sentences, `[1]`.
    fn gold_score(&self, scores: Tensor<B, 3>, tags: &[Vec<usize>]) -> Tensor<B, 1> {
        let [count, longest, num_tags] = scores.dims();
        let device = scores.device();
        let ints = |values: Vec<i64>| {
            let len = values.len();
            Tensor::<B, 1, Int>::from_data(TensorData::new(values, [len]), &device)
        };
        let (mut cells, mut pairs, mut firsts, mut lasts) = (vec![], vec![], vec![], vec![]);
        for (s, sentence) in tags.iter().enumerate() {
            for (t, &tag) in sentence.iter().enumerate() {
                cells.push(((s * longest + t) * num_tags + tag) as i64);
            }
            for pair in sentence.windows(2) {
                pairs.push((pair[0] * num_tags + pair[1]) as i64);
            }
            firsts.push(sentence[0] as i64);
            lasts.push(sentence[sentence.len() - 1] as i64);
        }
        let emitted = scores
            .reshape([count * longest * num_tags])
            .select(0, ints(cells));
        let moved = self
            .transitions
            .val()
            .reshape([num_tags * num_tags])
            .select(0, ints(pairs));
        let started = self.start.val().select(0, ints(firsts));
        let ended = self.end.val().select(0, ints(lasts));
        emitted.sum() + moved.sum() + started.sum() + ended.sum()
    }

    /// Each sentence's highest-scoring tags (Viterbi), one a word: `lengths[s]` tags for
    /// sentence `s` of `scores` `[sentences, longest, tags]`.
    pub fn decode(&self, scores: Tensor<B, 3>, lengths: &[usize]) -> Vec<Vec<usize>> {
        let [_, longest, tags] = scores.dims();
        let (chain, scores) = (self.on_host(), host_values(scores.reshape([-1])));
        lengths
            .iter()
            .enumerate()
            .map(|(s, &length)| {
                let words = &scores[s * longest * tags..][..length * tags];
                chain.viterbi(words)
            })
            .collect()
    }

    /// The CRF's scores, copied to the host.
    fn on_host(&self) -> Chain {
        Chain::new(
            host_values(self.transitions.val().reshape([-1])),
            host_values(self.start.val()),
            host_values(self.end.val()),
        )
    }
}

/// `log Σ exp` of `values` (at least one), stable for any scale.
fn log_sum_exp_of(values: impl Iterator<Item = f32> + Clone) -> f32 {
    let top = values.clone().fold(f32::NEG_INFINITY, f32::max);
    values.map(|v| (v - top).exp()).sum::<f32>().ln() + top
}

/// `exp(v - top)` of each of `values` and `top` (their largest), in `f64`.
fn scaled(values: impl Iterator<Item = f32> + Clone) -> (Vec<f64>, f64) {
    let top = values.clone().fold(f32::NEG_INFINITY, f32::max);
    (
        values.map(|v| f64::from(v - top).exp()).collect(),
        f64::from(top),
    )
}

/// The values of a tensor, as `f32`, on the host.
fn host_values<B: Backend>(tensor: Tensor<B, 1>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .to_vec()
        .expect("f32 values")
}

/// The CRF's scores on the host, for decoding and for a test pass's likelihood.
struct Chain {
    transitions: Vec<f32>,
    start: Vec<f32>,
    end: Vec<f32>,
    tags: usize,
    /// `exp(transitions - top_move)`, for the forward algorithm in `exp` space.
    moves: Vec<f64>,
    /// The largest transition score.
    top_move: f64,
}

impl Chain {
    /// The chain of these scores (`transitions` row-major `[tags, tags]`).
    fn new(transitions: Vec<f32>, start: Vec<f32>, end: Vec<f32>) -> Self {
        let (moves, top_move) = scaled(transitions.iter().copied());
        Chain {
            tags: start.len(),
            transitions,
            start,
            end,
            moves,
            top_move,
        }
    }

    /// `log Σ_y exp score(y)` of one sentence whose word scores are `words` (`[length, tags]`,
    /// row-major): the forward algorithm in `exp` space, in `f64`, each step scaled by its
    /// largest value (whose log is kept): one `exp` a tag and word rather than one a pair of
    /// tags. Where that underflows (transition scores hundreds apart) it stays in log space.
    fn log_partition(&self, words: &[f32]) -> f32 {
        let tags = self.tags;
        let first: Vec<f32> = (0..tags).map(|j| self.start[j] + words[j]).collect();
        let (mut alpha, mut log_scale) = scaled(first.into_iter());
        let mut next = vec![0.0f64; tags];
        for word in words.chunks_exact(tags).skip(1) {
            for (j, slot) in next.iter_mut().enumerate() {
                *slot = (0..tags)
                    .map(|i| alpha[i] * self.moves[i * tags + j])
                    .sum::<f64>();
            }
            let top_word = word.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            for (slot, &w) in next.iter_mut().zip(word) {
                *slot *= f64::from(w - top_word).exp();
            }
            let top = next.iter().fold(0.0f64, |a, &b| a.max(b));
            if !(top > 0.0 && top.is_finite()) {
                return self.log_partition_in_logs(words);
            }
            next.iter_mut().for_each(|v| *v /= top);
            log_scale += top.ln() + self.top_move + f64::from(top_word);
            std::mem::swap(&mut alpha, &mut next);
        }
        let (ends, log_end) = scaled(self.end.iter().copied());
        let total: f64 = alpha.iter().zip(&ends).map(|(a, e)| a * e).sum();
        (total.ln() + log_scale + log_end) as f32
    }

    /// [`Self::log_partition`] in log space throughout: a `log Σ exp` for every pair of tags.
    fn log_partition_in_logs(&self, words: &[f32]) -> f32 {
        let tags = self.tags;
        let mut alpha: Vec<f32> = (0..tags).map(|j| self.start[j] + words[j]).collect();
        let mut next = vec![0.0f32; tags];
        for word in words.chunks_exact(tags).skip(1) {
            for (j, slot) in next.iter_mut().enumerate() {
                let through = (0..tags).map(|i| alpha[i] + self.transitions[i * tags + j]);
                *slot = log_sum_exp_of(through) + word[j];
            }
            std::mem::swap(&mut alpha, &mut next);
        }
        log_sum_exp_of(alpha.iter().zip(&self.end).map(|(a, e)| a + e))
    }

    /// The best tags of one sentence whose word scores are `words` (`[length, tags]`, row-major).
    fn viterbi(&self, words: &[f32]) -> Vec<usize> {
        let tags = self.tags;
        let length = words.len() / tags;
        let mut best: Vec<f32> = (0..tags).map(|j| self.start[j] + words[j]).collect();
        let mut back = vec![0usize; length * tags];
        for t in 1..length {
            let next: Vec<f32> = (0..tags)
                .map(|j| {
                    let (from, score) = (0..tags)
                        .map(|i| (i, best[i] + self.transitions[i * tags + j]))
                        .fold((0, f32::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
                    back[t * tags + j] = from;
                    score + words[t * tags + j]
                })
                .collect();
            best = next;
        }
        let mut tag = (0..tags)
            .max_by(|&a, &b| (best[a] + self.end[a]).total_cmp(&(best[b] + self.end[b])))
            .expect("at least one tag");
        let mut path = vec![tag; length];
        for t in (1..length).rev() {
            tag = back[t * tags + tag];
            path[t - 1] = tag;
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};

    type B = NdArray;

    /// Every tag sequence of `length` words over `tags` tags.
    fn sequences(length: usize, tags: usize) -> Vec<Vec<usize>> {
        (0..tags.pow(length as u32))
            .map(|mut code| {
                (0..length)
                    .map(|_| {
                        let tag = code % tags;
                        code /= tags;
                        tag
                    })
                    .collect()
            })
            .collect()
    }

    /// A CRF and word scores with distinct values everywhere, from a fixed pattern.
    fn example(count: usize, longest: usize, tags: usize) -> (Crf<B>, Tensor<B, 3>) {
        let device = Default::default();
        let wave = |n: usize, k: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32 + k) * 1.7).sin() * 2.0).collect()
        };
        let crf = Crf {
            transitions: Param::from_tensor(
                Tensor::<B, 1>::from_floats(wave(tags * tags, 0.3).as_slice(), &device)
                    .reshape([tags, tags]),
            ),
            start: Param::from_tensor(Tensor::from_floats(wave(tags, 1.1).as_slice(), &device)),
            end: Param::from_tensor(Tensor::from_floats(wave(tags, 2.9).as_slice(), &device)),
        };
        let scores =
            Tensor::<B, 1>::from_floats(wave(count * longest * tags, 0.0).as_slice(), &device)
                .reshape([count, longest, tags]);
        (crf, scores)
    }

    /// The score of one sentence's tags, written out from the definition.
    fn score(crf: &Crf<B>, words: &[f32], tags: &[usize], num_tags: usize) -> f32 {
        let values = |t: Tensor<B, 1>| t.into_data().to_vec::<f32>().unwrap();
        let transitions = values(crf.transitions.val().reshape([-1]));
        let (start, end) = (values(crf.start.val()), values(crf.end.val()));
        let mut total = start[tags[0]] + end[tags[tags.len() - 1]];
        for (t, &tag) in tags.iter().enumerate() {
            total += words[t * num_tags + tag];
            if t > 0 {
                total += transitions[tags[t - 1] * num_tags + tag];
            }
        }
        total
    }

    #[test]
    fn nll_and_viterbi_match_every_sequence_written_out() {
        let (count, longest, tags) = (3, 4, 3);
        let lengths = [4, 1, 3];
        let (crf, scores) = example(count, longest, tags);
        let words = scores.clone().into_data().to_vec::<f32>().unwrap();
        let gold = vec![vec![2, 0, 1, 1], vec![1], vec![0, 0, 2]];
        let mut expected_nll = 0.0f64;
        for (s, &length) in lengths.iter().enumerate() {
            let words = &words[s * longest * tags..][..length * tags];
            let all = sequences(length, tags);
            let totals: Vec<f32> = all.iter().map(|y| score(&crf, words, y, tags)).collect();
            let log_z = totals.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
            expected_nll += log_z - score(&crf, words, &gold[s], tags) as f64;
            let best = (0..all.len())
                .max_by(|&a, &b| totals[a].total_cmp(&totals[b]))
                .unwrap();
            assert_eq!(
                crf.decode(scores.clone(), &lengths)[s],
                all[best],
                "sentence {s}"
            );
        }
        let nll = crf.nll(scores, &gold).into_scalar() as f64;
        assert!(
            (nll - expected_nll).abs() < 1e-4,
            "{nll} against {expected_nll}"
        );
    }

    /// The forward algorithm in scaled `exp` space is the one in log space, for scores of a
    /// usual scale and for transition scores far apart.
    #[test]
    fn the_scaled_forward_algorithm_is_the_log_space_one() {
        let (crf, scores) = example(1, 6, 5);
        let words = scores.into_data().to_vec::<f32>().unwrap();
        let host = crf.on_host();
        for spread in [1.0f32, 40.0] {
            let spread_out = host.transitions.iter().map(|m| m * spread).collect();
            let chain = Chain::new(spread_out, host.start.clone(), host.end.clone());
            let (scaled, in_logs) = (
                chain.log_partition(&words),
                chain.log_partition_in_logs(&words),
            );
            assert!(
                (scaled - in_logs).abs() <= 1e-5 * in_logs.abs().max(1.0),
                "spread {spread}: {scaled} against {in_logs}"
            );
        }
    }

    #[test]
    fn padding_changes_nothing_and_gradients_reach_every_score() {
        let (crf, scores) = example(2, 5, 4);
        let gold = vec![vec![3, 1], vec![0, 2, 2, 1, 3]];
        let nll = crf.nll(scores.clone(), &gold).into_scalar();
        // Past the first sentence's second word, its scores are never read.
        let padded = scores.clone().slice_assign(
            [0..1, 2..5, 0..4],
            Tensor::full([1, 3, 4], 50.0, &scores.device()),
        );
        assert_eq!(crf.nll(padded, &gold).into_scalar(), nll);

        // With a graph the forward algorithm runs as tensor operations, without one (`nll`
        // above) on the host: the two agree.
        let device = Default::default();
        let crf = Crf::<Autodiff<B>> {
            transitions: Param::from_tensor(Tensor::from_inner(crf.transitions.val())),
            start: Param::from_tensor(Tensor::from_inner(crf.start.val())),
            end: Param::from_tensor(Tensor::from_inner(crf.end.val())),
        };
        let scores =
            Tensor::<Autodiff<B>, 3>::from_data(scores.into_data(), &device).require_grad();
        let tracked = crf.nll(scores.clone(), &gold);
        let (tracked_value, host_value) = (tracked.clone().into_scalar(), nll);
        assert!(
            (tracked_value - host_value).abs() < 1e-5 * tracked_value.abs().max(1.0),
            "{tracked_value} against {host_value}"
        );
        let grads = tracked.backward();
        let nonzero = |t: Tensor<NdArray, 2>| t.abs().sum().into_scalar() > 0.0;
        assert!(nonzero(crf.transitions.grad(&grads).unwrap()));
        assert!(nonzero(scores.grad(&grads).unwrap().reshape([10, 4])));
    }
}
