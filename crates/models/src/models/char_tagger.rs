//! The exercise that ends PyTorch's sequence-models tutorial: the LSTM tagger with
//! character-level features.

use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig, PaddingConfig1d,
};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::log_softmax;

use crate::nn::{
    Crf, CrfConfig, Lstm, LstmConfig, cat_last, forward_embedding, forward_linear, real_positions,
    select_rows,
};
use crate::{InvalidConfig, Sentences, Tagger};

/// Shape of [`CharTagger`]; the defaults are the zoo's `pos-tagger-char` (the vocabulary sizes
/// and the rare-word ids come from the training data).
#[derive(Config, Debug)]
pub struct CharTaggerConfig {
    /// Words in the vocabulary, `<pad>` (id 0) and `<unk>` (id [`Self::unk_id`]) included.
    pub vocab_size: usize,
    /// Characters in the character vocabulary, `<pad>` (id 0) and `<unk>` included.
    pub num_chars: usize,
    /// Tags the model chooses from.
    pub num_tags: usize,
    /// Size of a word embedding.
    #[config(default = 100)]
    pub word_dim: usize,
    /// Size of a character embedding.
    #[config(default = 32)]
    pub char_dim: usize,
    /// Hidden units of the character BiLSTM, each direction; a word's characters become
    /// `2 * char_hidden` features (its final states, both directions), or, with `char_cnn`, the
    /// number of the convolution's filters is `2 * char_hidden`.
    #[config(default = 64)]
    pub char_hidden: usize,
    /// Characters read by a convolution (`2 * char_hidden` filters `char_kernel` characters
    /// wide, the word's ends padded with zeros) max-pooled over the word's characters, as in Ma
    /// and Hovy (2016), instead of by the character BiLSTM.
    #[config(default = false)]
    pub char_cnn: bool,
    /// Characters each filter of the character convolution reads (`char_cnn`): odd, the
    /// character and as many on each side.
    #[config(default = 3)]
    pub char_kernel: usize,
    /// Hidden units of each sentence LSTM layer and direction.
    #[config(default = 128)]
    pub hidden_size: usize,
    /// Stacked bidirectional sentence LSTM layers.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Dropout on the word features, between LSTM layers and before the tag layer (training
    /// only).
    #[config(default = 0.33)]
    pub dropout: f64,
    /// Probability that a word's id is replaced by `<unk>` in training, whatever the word.
    #[config(default = 0.0)]
    pub word_dropout: f64,
    /// Word dropout that falls on rare words, as in Plank et al. (2016): a training word seen
    /// `c` times (c ≤ 3) is read as `<unk>` with probability `rare_alpha / (rare_alpha + c)`,
    /// so the `<unk>` embedding learns what rare and unseen words look like beside their
    /// characters. 0 turns it off.
    #[config(default = 0.25)]
    pub rare_alpha: f64,
    /// A CRF over the tag layer's scores ([`Crf`]): trained on whole sentences, decoded by
    /// Viterbi. Without it each word's tag is chosen on its own.
    #[config(default = true)]
    pub crf: bool,
    /// The first word id of the words seen at most 1, 2 and 3 times in training (the
    /// vocabulary lists words most frequent first); `vocab_size` where there are none.
    #[config(default = "[usize::MAX; 3]")]
    pub rare_from: [usize; 3],
    /// The id of `<unk>` in the word vocabulary.
    #[config(default = 1)]
    pub unk_id: usize,
}

impl CharTaggerConfig {
    /// Checks that every field can build a model, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("vocab_size", self.vocab_size, 3)?;
        InvalidConfig::at_least("num_chars", self.num_chars, 3)?;
        InvalidConfig::at_least("num_tags", self.num_tags, 2)?;
        InvalidConfig::at_least("word_dim", self.word_dim, 1)?;
        InvalidConfig::at_least("char_dim", self.char_dim, 1)?;
        InvalidConfig::at_least("char_hidden", self.char_hidden, 1)?;
        InvalidConfig::at_least("char_kernel", self.char_kernel, 1)?;
        if self.char_kernel % 2 == 0 {
            return Err(InvalidConfig::new(
                "char_kernel",
                format!(
                    "is {}, must be odd (a character and as many on each side)",
                    self.char_kernel
                ),
            ));
        }
        InvalidConfig::at_least("hidden_size", self.hidden_size, 1)?;
        InvalidConfig::at_least("num_layers", self.num_layers, 1)?;
        if !(self.rare_alpha >= 0.0 && self.rare_alpha.is_finite()) {
            return Err(InvalidConfig::new(
                "rare_alpha",
                format!("is {}, must be 0 or more", self.rare_alpha),
            ));
        }
        for (key, value) in [
            ("dropout", self.dropout),
            ("word_dropout", self.word_dropout),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(InvalidConfig::new(
                    key,
                    format!("is {value}, must be in [0, 1)"),
                ));
            }
        }
        if self.unk_id >= self.vocab_size {
            return Err(InvalidConfig::new(
                "unk_id",
                format!("is {}, not an id of {} words", self.unk_id, self.vocab_size),
            ));
        }
        Ok(())
    }

    /// Builds the model with freshly initialized weights on `device` (PyTorch's initialization).
    pub fn init<B: Backend>(&self, device: &B::Device) -> CharTagger<B> {
        let features = self.word_dim + 2 * self.char_hidden;
        CharTagger {
            embedding: EmbeddingConfig::new(self.vocab_size, self.word_dim).init(device),
            char_embedding: EmbeddingConfig::new(self.num_chars, self.char_dim).init(device),
            char_lstm: (!self.char_cnn).then(|| {
                LstmConfig::new(self.char_dim, self.char_hidden)
                    .with_bidirectional(true)
                    .with_batch_first(true)
                    .init(device)
            }),
            char_cnn: self.char_cnn.then(|| {
                Conv1dConfig::new(self.char_dim, 2 * self.char_hidden, self.char_kernel)
                    .with_padding(PaddingConfig1d::Same)
                    .init(device)
            }),
            lstm: LstmConfig::new(features, self.hidden_size)
                .with_num_layers(self.num_layers)
                .with_bidirectional(true)
                .with_batch_first(true)
                .with_dropout(self.dropout)
                .init(device),
            hidden2tag: LinearConfig::new(2 * self.hidden_size, self.num_tags).init(device),
            crf: self.crf.then(|| CrfConfig::new(self.num_tags).init(device)),
            dropout: DropoutConfig::new(self.dropout).init(),
            word_dropout: self.word_dropout,
            rare_alpha: self.rare_alpha,
            rare_from: self.rare_from,
            unk_id: self.unk_id,
        }
    }
}

/// A part-of-speech tagger that reads each word twice: as a vocabulary id (its embedding) and
/// as written, character by character (a bidirectional character LSTM, its two final states).
/// The two, concatenated, go through a bidirectional sentence LSTM and a tag layer, as in
/// Plank et al. (2016), "Multilingual POS tagging with bidirectional LSTMs" (bilty). Both LSTMs
/// run packed, so neither padded sentences nor padded words change a result.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use zoo_models::{CharTaggerConfig, Sentences, Tagger, WordChars};
///
/// let device = Default::default();
/// // 100 words, 40 characters, 17 tags.
/// let tagger = CharTaggerConfig::new(100, 40, 17).init::<NdArray>(&device);
/// // Two sentences of 3 and 2 words; each distinct word's characters once, padded with 0
/// // (row 0: a padded position), and the row each of the 2 × 3 word positions reads.
/// let words = Tensor::<NdArray, 2, Int>::from_ints([[4, 9, 4], [5, 8, 0]], &device);
/// let chars = Tensor::<NdArray, 2, Int>::from_ints(
///     [[0, 0, 0], [7, 3, 0], [5, 6, 9], [8, 8, 3], [4, 3, 0]],
///     &device,
/// );
/// let rows = Tensor::<NdArray, 1, Int>::from_ints([1, 2, 1, 3, 4, 0], &device);
/// let lengths = vec![1, 2, 3, 3, 2];
/// let sentences = Sentences {
///     words,
///     lengths: vec![3, 2],
///     chars: Some(WordChars { ids: chars, lengths, rows: Some(rows) }),
/// };
/// assert_eq!(tagger.tag(sentences).dims(), [2, 3, 17]); // log-probabilities per word
/// ```
#[derive(Module, Debug)]
pub struct CharTagger<B: Backend> {
    /// Word embeddings, `[vocab_size, word_dim]`.
    pub embedding: Embedding<B>,
    /// Character embeddings, `[num_chars, char_dim]`.
    pub char_embedding: Embedding<B>,
    /// The character BiLSTM, one word a sequence (unless the characters go through
    /// `char_cnn`).
    pub char_lstm: Option<Lstm<B>>,
    /// The character convolution, max-pooled over each word (`CharTaggerConfig::char_cnn`).
    pub char_cnn: Option<Conv1d<B>>,
    /// The sentence BiLSTM over word and character features.
    pub lstm: Lstm<B>,
    /// `nn.Linear(2 * hidden_size, num_tags)`.
    pub hidden2tag: Linear<B>,
    /// The CRF over the tag scores, where the config asks for one.
    pub crf: Option<Crf<B>>,
    /// Dropout on features and states.
    pub dropout: Dropout,
    /// Word dropout probability (training only).
    pub word_dropout: f64,
    /// Rare-word dropout: `alpha / (alpha + count)` (training only).
    pub rare_alpha: f64,
    /// First ids of the words seen at most 1, 2, 3 times.
    pub rare_from: [usize; 3],
    /// Id of `<unk>` among the words.
    pub unk_id: usize,
}

impl<B: Backend> CharTagger<B> {
    /// Each word position's `2 * char_hidden` character features, `[sentences, longest, ..]`:
    /// each row of characters encoded once, then read by every position that names it.
    fn char_features(&self, sentences: &Sentences<B>) -> Tensor<B, 3> {
        let [count, longest] = sentences.words.dims();
        let chars = sentences
            .chars
            .as_ref()
            .expect("CharTagger reads each word's characters: Sentences::chars must be given");
        let encoded = match (&self.char_lstm, &self.char_cnn) {
            // Embedded time-major, shown batch-first: the LSTM, which runs time-major, then
            // reads the embeddings where they lie instead of copying them row by row.
            (Some(lstm), _) => {
                let ids = chars.ids.clone().transpose();
                let embedded = forward_embedding(&self.char_embedding, ids).swap_dims(0, 1);
                last_states(lstm, embedded, &chars.lengths)
            }
            (None, Some(conv)) => {
                let embedded = forward_embedding(&self.char_embedding, chars.ids.clone());
                max_pooled(conv, embedded, &chars.lengths)
            }
            (None, None) => unreachable!("a CharTagger has a character LSTM or convolution"),
        };
        match &chars.rows {
            Some(rows) => select_rows(encoded, rows.clone().reshape([count, longest])),
            None => {
                let features = encoded.dims()[1];
                encoded.reshape([count, longest, features])
            }
        }
    }

    /// Word ids, with each replaced by `<unk>` while training at the word-dropout rate, or a
    /// rare word's rate where higher.
    fn dropped_words(&self, words: Tensor<B, 2, Int>) -> Tensor<B, 2, Int> {
        let device = words.device();
        let rare = self.rare_alpha > 0.0;
        if !B::ad_enabled(&device) || (self.word_dropout == 0.0 && !rare) {
            return words;
        }
        let mut rate = Tensor::<B, 2>::full(words.dims(), self.word_dropout, &device);
        if rare {
            // Thrice, twice, once: each rarer band overwrites with its higher rate.
            for (times, &from) in self.rare_from.iter().enumerate().rev() {
                let rate_here = self.rare_alpha / (self.rare_alpha + (times + 1) as f64);
                let in_band = words
                    .clone()
                    .greater_equal_elem(from.min(i64::MAX as usize) as i64);
                rate = rate.mask_fill(in_band, rate_here.max(self.word_dropout));
            }
        }
        let draw = Tensor::<B, 2>::random(words.dims(), Distribution::Default, &device);
        words.mask_fill(draw.lower(rate), self.unk_id as i64)
    }

    /// The sentences → log-probabilities of the tags `[sentences, longest, tags]`.
    ///
    /// # Panics
    /// If `sentences.chars` is `None`: this tagger reads every word's characters.
    pub fn forward(&self, sentences: Sentences<B>) -> Tensor<B, 3> {
        // Each word position's embedding (after word dropout, in training) beside its
        // character encoding: what the sentence LSTM reads.
        let chars = self.char_features(&sentences);
        let words = forward_embedding(&self.embedding, self.dropped_words(sentences.words));
        let features = self.dropout.forward(cat_last([words, chars]));
        let (states, _) = self.lstm.forward_packed(features, &sentences.lengths, None);
        let states = self.dropout.forward(states);
        log_softmax(forward_linear(&self.hidden2tag, states), 2)
    }
}

/// Each row's final states of the character BiLSTM, `[rows, 2 * hidden]`: forward after the
/// last character, backward after the first (`embedded` `[rows, width, char_dim]`, packed).
fn last_states<B: Backend>(
    lstm: &Lstm<B>,
    embedded: Tensor<B, 3>,
    lengths: &[usize],
) -> Tensor<B, 2> {
    let state = lstm.final_state_packed(embedded, lengths, None);
    let [directions, rows, hidden] = state.hidden.dims();
    state
        .hidden
        .swap_dims(0, 1)
        .reshape([rows, directions * hidden])
}

/// Each row's convolution filters, max-pooled over its characters, `[rows, filters]`
/// (`embedded` `[rows, width, char_dim]`): padded characters read as the zeros the
/// convolution pads a word's ends with, and are never the maximum, so padding changes nothing.
fn max_pooled<B: Backend>(
    conv: &Conv1d<B>,
    embedded: Tensor<B, 3>,
    lengths: &[usize],
) -> Tensor<B, 2> {
    let [rows, width, dim] = embedded.dims();
    let device = embedded.device();
    let padded = real_positions::<B>(lengths, width, &device).bool_not();
    let embedded = embedded.mask_fill(
        padded
            .clone()
            .unsqueeze_dim::<3>(2)
            .expand([rows, width, dim]),
        0.0,
    );
    let filtered = convolve(conv, embedded);
    let filters = filtered.dims()[2];
    let outside = padded.unsqueeze_dim::<3>(2).expand([rows, width, filters]);
    (filtered.mask_fill(outside, f32::NEG_INFINITY))
        .max_dim(1)
        .reshape([rows, filters])
}

/// `conv` (odd width `k`, stride 1, `k / 2` zeros at each end) over `input` `[rows, width,
/// channels]` → `[rows, width, filters]`, as one matrix product: each position's `k`
/// neighbours side by side, times the filters laid out to match. The same numbers as
/// `conv.forward` on `[rows, channels, width]`, without Burn's generic convolution, which on
/// `NdArray` took ten times the whole tagger's step for a batch's words.
fn convolve<B: Backend>(conv: &Conv1d<B>, input: Tensor<B, 3>) -> Tensor<B, 3> {
    let [rows, width, channels] = input.dims();
    let [filters, _, k] = conv.weight.dims();
    let zeros = Tensor::<B, 3>::zeros([rows, k / 2, channels], &input.device());
    let padded = Tensor::cat(vec![zeros.clone(), input, zeros], 1);
    let windows = (0..k)
        .map(|offset| padded.clone().slice([0..rows, offset..offset + width]))
        .collect();
    // weight[f, c, o] is the filter f's weight of channel c at offset o: row o * channels + c.
    let weight = conv
        .weight
        .val()
        .permute([2, 1, 0])
        .reshape([k * channels, filters]);
    let mut output = Tensor::cat(windows, 2)
        .reshape([rows * width, k * channels])
        .matmul(weight);
    if let Some(bias) = &conv.bias {
        output = output + bias.val().unsqueeze_dim(0);
    }
    output.reshape([rows, width, filters])
}

#[cfg(feature = "pretrained")]
impl<B: Backend> CharTagger<B> {
    /// The zoo's trained `pos-tagger-char` (feature `pretrained`): the weights of
    /// `crates/models/pretrained/pos-tagger-char/`, whose README gives the command that trained
    /// them and their test figure. For UD English-EWT's 17 UPOS tags, through its CRF
    /// ([`Tagger::crf`], [`Crf::decode`]); from `zoo_models::pretrained::find("pos-tagger-char")`:
    /// word ids from `lines("vocab-words.txt")` (lowercased words, 1 = `<unk>`), character ids
    /// from `lines("vocab-chars.txt")` (as written, 1 = `<unk>`), tag ids from
    /// `lines("vocab-tags.txt")`.
    pub fn pretrained(device: &B::Device) -> Self {
        let shipped = crate::pretrained::shipped("pos-tagger-char");
        // The training word counts behind rare-word dropout are not shipped: none is rare.
        let config: CharTaggerConfig = shipped.config_with(&[
            ("vocab_size", shipped.count("vocab-words.txt")),
            ("num_chars", shipped.count("vocab-chars.txt")),
            ("num_tags", shipped.count("vocab-tags.txt")),
            ("rare_from", format!("{:?}", [usize::MAX; 3])),
            ("unk_id", "1".to_string()),
        ]);
        shipped.load(config.init(device), device)
    }
}

impl<B: Backend> Tagger<B> for CharTagger<B> {
    fn tag(&self, sentences: Sentences<B>) -> Tensor<B, 3> {
        self.forward(sentences)
    }

    fn crf(&self) -> Option<&Crf<B>> {
        self.crf.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::{Tolerance, s};

    use super::*;
    use crate::WordChars;

    type B = NdArray;

    /// A small tagger, its characters read by the BiLSTM or (`cnn`) by the convolution.
    fn small(cnn: bool) -> CharTagger<B> {
        CharTaggerConfig::new(20, 10, 5)
            .with_word_dim(6)
            .with_char_dim(4)
            .with_char_hidden(3)
            .with_hidden_size(5)
            .with_char_cnn(cnn)
            .init::<B>(&Default::default())
    }

    /// `[sentences, longest, tags]` scores alike at the real word positions of sentences of
    /// 3 and 2 words (padded positions mean nothing).
    fn assert_same_real_words(a: Tensor<B, 3>, b: Tensor<B, 3>) {
        for (sentence, length) in [(0, 3), (1, 2)] {
            a.clone()
                .slice(s![sentence..sentence + 1, 0..length, ..])
                .into_data()
                .assert_approx_eq::<f32>(
                    &b.clone()
                        .slice(s![sentence..sentence + 1, 0..length, ..])
                        .into_data(),
                    Tolerance::absolute(1e-6),
                );
        }
    }

    #[test]
    fn the_convolution_as_one_product_is_burns_convolution() {
        let device = Default::default();
        for k in [1, 3, 5] {
            let conv = Conv1dConfig::new(4, 6, k)
                .with_padding(PaddingConfig1d::Same)
                .init::<B>(&device);
            let input = Tensor::<B, 3>::random([3, 7, 4], Distribution::Default, &device);
            let burns = conv.forward(input.clone().swap_dims(1, 2)).swap_dims(1, 2);
            convolve(&conv, input)
                .into_data()
                .assert_approx_eq::<f32>(&burns.into_data(), Tolerance::absolute(1e-5));
        }
    }

    #[test]
    fn the_character_convolution_reads_a_word_alike_however_wide_its_batch() {
        let device = Default::default();
        let tagger = small(true);
        assert!(tagger.char_lstm.is_none());
        let words = Tensor::<B, 2, Int>::from_ints([[4, 9, 4], [5, 4, 0]], &device);
        let tag = |ids: Tensor<B, 2, Int>| {
            tagger.tag(Sentences {
                words: words.clone(),
                lengths: vec![3, 2],
                chars: Some(WordChars {
                    ids,
                    lengths: vec![1, 2, 3, 3],
                    rows: Some(Tensor::from_ints([1, 2, 1, 3, 1, 0], &device)),
                }),
            })
        };
        // The same words in rows 3 and 6 characters wide.
        let narrow = tag(Tensor::from_ints(
            [[0, 0, 0], [7, 3, 0], [5, 6, 9], [8, 8, 3]],
            &device,
        ));
        let wide = tag(Tensor::from_ints(
            [
                [0, 0, 0, 0, 0, 0],
                [7, 3, 0, 0, 0, 0],
                [5, 6, 9, 0, 0, 0],
                [8, 8, 3, 0, 0, 0],
            ],
            &device,
        ));
        assert_same_real_words(narrow, wide);
    }

    #[test]
    fn a_word_written_once_for_all_its_positions_scores_as_one_row_a_position() {
        for cnn in [false, true] {
            a_word_written_once_scores_as_one_row_a_position(small(cnn));
        }
    }

    fn a_word_written_once_scores_as_one_row_a_position(tagger: CharTagger<B>) {
        let device = Default::default();
        let words = Tensor::<B, 2, Int>::from_ints([[4, 9, 4], [5, 4, 0]], &device);
        let sentences = |chars| Sentences {
            words: words.clone(),
            lengths: vec![3, 2],
            chars: Some(chars),
        };
        // Word 4 (`7 3`) at three positions: a row for each position ...
        let each = tagger.tag(sentences(WordChars {
            ids: Tensor::from_ints(
                [
                    [7, 3, 0],
                    [5, 6, 9],
                    [7, 3, 0],
                    [8, 8, 3],
                    [7, 3, 0],
                    [0, 0, 0],
                ],
                &device,
            ),
            lengths: vec![2, 3, 2, 3, 2, 1],
            rows: None,
        }));
        // ... and once, read by the three.
        let once = tagger.tag(sentences(WordChars {
            ids: Tensor::from_ints([[0, 0, 0], [7, 3, 0], [5, 6, 9], [8, 8, 3]], &device),
            lengths: vec![1, 2, 3, 3],
            rows: Some(Tensor::from_ints([1, 2, 1, 3, 1, 0], &device)),
        }));
        assert_same_real_words(each, once);
    }
}
