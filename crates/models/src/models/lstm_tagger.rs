//! The part-of-speech tagger of PyTorch's sequence-models tutorial (`LSTMTagger`).

use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::nn::{Lstm, LstmConfig, forward_embedding, forward_linear};
use crate::{InvalidConfig, Sentences, Tagger};

/// Shape of [`LstmTagger`]. The defaults are the zoo's `pos-tagger` on UD English-EWT
/// (embeddings of 100, one bidirectional LSTM layer of 128, dropout 0.25);
/// [`LstmTaggerConfig::toy`] is the sequence-models tutorial's own (`LSTMTagger(2, 3, ...)`).
#[derive(Config, Debug)]
pub struct LstmTaggerConfig {
    /// Words in the vocabulary, `<pad>` (id 0) and `<unk>` included.
    pub vocab_size: usize,
    /// Tags the model chooses from (the tag vocabulary's size).
    pub num_tags: usize,
    /// Size of a word embedding.
    #[config(default = 100)]
    pub embedding_dim: usize,
    /// Hidden units of each LSTM layer and direction.
    #[config(default = 128)]
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Read each sentence in both directions (the tag layer then sees `2 * hidden_size`).
    #[config(default = true)]
    pub bidirectional: bool,
    /// Dropout on the embeddings, between LSTM layers and before the tag layer (training only).
    #[config(default = 0.25)]
    pub dropout: f64,
}

impl LstmTaggerConfig {
    /// The tutorial's toy tagger for `vocab_size` words and `num_tags` tags: embeddings of 2,
    /// one LSTM layer of 3 units, one direction, no dropout (`configs/pos-tagger-toy.toml`).
    pub fn toy(vocab_size: usize, num_tags: usize) -> Self {
        Self::new(vocab_size, num_tags)
            .with_embedding_dim(2)
            .with_hidden_size(3)
            .with_bidirectional(false)
            .with_dropout(0.0)
    }

    /// Checks that every field can build a model, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("vocab_size", self.vocab_size, 3)?;
        InvalidConfig::at_least("num_tags", self.num_tags, 2)?;
        InvalidConfig::at_least("embedding_dim", self.embedding_dim, 1)?;
        InvalidConfig::at_least("hidden_size", self.hidden_size, 1)?;
        InvalidConfig::at_least("num_layers", self.num_layers, 1)?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(InvalidConfig::new(
                "dropout",
                format!("is {}, must be in [0, 1)", self.dropout),
            ));
        }
        Ok(())
    }

    /// Builds the model with freshly initialized weights on `device` (PyTorch's initialization:
    /// N(0, 1) embeddings, U(−1/√H, 1/√H) LSTM weights).
    pub fn init<B: Backend>(&self, device: &B::Device) -> LstmTagger<B> {
        let directions = if self.bidirectional { 2 } else { 1 };
        LstmTagger {
            embedding: EmbeddingConfig::new(self.vocab_size, self.embedding_dim).init(device),
            lstm: LstmConfig::new(self.embedding_dim, self.hidden_size)
                .with_num_layers(self.num_layers)
                .with_bidirectional(self.bidirectional)
                .with_batch_first(true)
                .with_dropout(self.dropout)
                .init(device),
            hidden2tag: LinearConfig::new(directions * self.hidden_size, self.num_tags)
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

/// The part-of-speech tagger of PyTorch's sequence-models tutorial: word ids → `Embedding` → `Lstm` → `Linear` → log-softmax
/// over the tags, one distribution per word.
///
/// Input word ids `Int [batch, seq]` (sentences padded with id 0 to the longest, with their
/// lengths), output log-probabilities `[batch, seq, num_tags]`; padded positions hold values
/// that mean nothing and must be left out of losses and accuracies.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::{Int, Tensor};
/// use zoo_models::LstmTaggerConfig;
///
/// let device = Default::default();
/// let tagger = LstmTaggerConfig::new(100, 17) // vocabulary of 100 words, 17 tags
///     .with_embedding_dim(32)
///     .with_hidden_size(64)
///     .with_bidirectional(true)
///     .init::<NdArray>(&device);
/// // Two sentences of 5 and 3 words, the second padded with id 0.
/// let words = Tensor::<NdArray, 2, Int>::from_ints([[4, 9, 2, 7, 3], [5, 8, 6, 0, 0]], &device);
/// let scores = tagger.forward(words, Some(&[5, 3]));
/// assert_eq!(scores.dims(), [2, 5, 17]); // [batch, seq, tags], log-probabilities
/// let tags = scores.argmax(2); // [2, 5, 1]: the best tag of each word
/// assert_eq!(tags.dims(), [2, 5, 1]);
/// ```
#[derive(Module, Debug)]
pub struct LstmTagger<B: Backend> {
    /// `nn.Embedding(vocab_size, embedding_dim)`.
    pub embedding: Embedding<B>,
    /// `nn.LSTM(embedding_dim, hidden_size, num_layers, bidirectional=..., batch_first=True)`.
    pub lstm: Lstm<B>,
    /// `nn.Linear(directions * hidden_size, num_tags)`.
    pub hidden2tag: Linear<B>,
    /// Dropout on the embeddings and on the LSTM's outputs.
    pub dropout: Dropout,
}

impl<B: Backend> LstmTagger<B> {
    /// Word ids `Int [batch, seq]` → log-probabilities of the tags `[batch, seq, num_tags]`.
    /// `lengths` gives each sentence's real length in a padded batch (`None`: none is padded);
    /// padding never changes the scores of real words.
    pub fn forward(&self, words: Tensor<B, 2, Int>, lengths: Option<&[usize]>) -> Tensor<B, 3> {
        let embedded = self
            .dropout
            .forward(forward_embedding(&self.embedding, words));
        let (states, _) = match lengths {
            Some(lengths) => self.lstm.forward_packed(embedded, lengths, None),
            None => self.lstm.forward(embedded, None),
        };
        let scores = forward_linear(&self.hidden2tag, self.dropout.forward(states));
        log_softmax(scores, 2)
    }
}

#[cfg(feature = "pretrained")]
impl<B: Backend> LstmTagger<B> {
    /// The zoo's trained `pos-tagger` (feature `pretrained`): the weights of
    /// `crates/models/pretrained/pos-tagger/`, whose README gives the command that trained them
    /// and their test figure. For UD English-EWT's 17 UPOS tags; word ids from the shipped
    /// vocabulary (`zoo_models::pretrained::find("pos-tagger")`, `lines("vocab-words.txt")`:
    /// lowercased words, 1 = `<unk>`), tag ids from `lines("vocab-tags.txt")`.
    pub fn pretrained(device: &B::Device) -> Self {
        let shipped = crate::pretrained::shipped("pos-tagger");
        let config: LstmTaggerConfig = shipped.config_with(&[
            ("vocab_size", shipped.count("vocab-words.txt")),
            ("num_tags", shipped.count("vocab-tags.txt")),
        ]);
        shipped.load(config.init(device), device)
    }
}

impl<B: Backend> Tagger<B> for LstmTagger<B> {
    /// Reads word ids only; characters, where given, are left unread.
    fn tag(&self, sentences: Sentences<B>) -> Tensor<B, 3> {
        self.forward(sentences.words, Some(&sentences.lengths))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::Tolerance;

    type B = NdArray;

    #[test]
    fn every_word_gets_a_distribution_over_the_tags() {
        let device = Default::default();
        let tagger = LstmTaggerConfig::new(12, 5).init::<B>(&device);
        let words = Tensor::<B, 2, Int>::from_ints([[2, 3, 4, 5]], &device);
        let scores = tagger.forward(words, None);
        assert_eq!(scores.dims(), [1, 4, 5]);
        let total = scores.exp().sum_dim(2).reshape([4]);
        total
            .into_data()
            .assert_approx_eq::<f32>(&TensorData::from([1.0f32; 4]), Tolerance::absolute(1e-5));
    }

    #[test]
    fn padding_does_not_change_the_scores_of_real_words() {
        let device = Default::default();
        let tagger = LstmTaggerConfig::new(20, 4)
            .with_embedding_dim(8)
            .with_hidden_size(6)
            .with_num_layers(2)
            .with_bidirectional(true)
            .init::<B>(&device);
        let alone = tagger.forward(Tensor::from_ints([[7, 8, 9]], &device), None);
        let padded = tagger.forward(
            Tensor::from_ints([[7, 8, 9, 0, 0], [3, 4, 5, 6, 2]], &device),
            Some(&[3, 5]),
        );
        let first = padded.slice(s![0..1, 0..3, ..]);
        alone
            .into_data()
            .assert_approx_eq::<f32>(&first.into_data(), Tolerance::absolute(1e-5));
    }

    #[test]
    fn the_tag_layer_reads_both_directions() {
        let tagger = LstmTaggerConfig::new(10, 3)
            .with_hidden_size(7)
            .with_bidirectional(true)
            .init::<B>(&Default::default());
        assert_eq!(tagger.hidden2tag.weight.dims(), [14, 3]);
    }

    #[test]
    fn bad_shapes_are_rejected_by_name() {
        let err = LstmTaggerConfig::new(2, 17).validate().unwrap_err();
        assert_eq!(err.field, "vocab_size");
        let err = LstmTaggerConfig::new(50, 17)
            .with_dropout(1.0)
            .validate()
            .unwrap_err();
        assert_eq!(err.to_string(), "`dropout` is 1, must be in [0, 1)");
    }
}
