//! `pos-tagger-char`: the EWT tagger reading each word's characters too (the exercise that ends
//! seed 000's tutorial).

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use zoo_models::{CharTagger, CharTaggerConfig, InvalidConfig};
use zoo_train::data::{PosData, PosInfo};
use zoo_train::task::Tagging;
use zoo_train::{Registration, ZooModel};

/// The registrations of this file.
pub const REGISTER: &[Registration] = &[Registration::of::<PosTaggerCharModel>()];

/// [`CharTagger`] over a treebank's words and their characters, sized by its vocabularies.
pub struct PosTaggerCharModel;

/// `[model]` of the character tagger: [`CharTaggerConfig`] without the vocabulary sizes, which
/// the training data decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharTaggerNetwork {
    /// Size of a word embedding.
    pub word_dim: usize,
    /// Size of a character embedding.
    pub char_dim: usize,
    /// Hidden units of the character BiLSTM, each direction (with `char_cnn`: the
    /// convolution's filters are twice this).
    pub char_hidden: usize,
    /// Characters read by a convolution max-pooled over each word instead of the BiLSTM (off
    /// when the key is absent).
    #[serde(default)]
    pub char_cnn: bool,
    /// Characters each filter of the convolution reads (`char_cnn`; 3 when absent).
    #[serde(default = "default_char_kernel")]
    pub char_kernel: usize,
    /// Hidden units of each sentence LSTM layer and direction.
    pub hidden_size: usize,
    /// Stacked bidirectional sentence LSTM layers.
    pub num_layers: usize,
    /// Dropout on word features, between layers and before the tag layer.
    pub dropout: f64,
    /// Probability of reading any training word as `<unk>`.
    pub word_dropout: f64,
    /// Rare-word dropout: a training word seen `c` ≤ 3 times is read as `<unk>` with
    /// probability `rare_alpha / (rare_alpha + c)`; 0 turns it off.
    pub rare_alpha: f64,
    /// A CRF over the tag scores: trained on whole sentences, decoded by Viterbi (off when
    /// the key is absent).
    #[serde(default)]
    pub crf: bool,
    /// Weight of the auxiliary loss on each training word's frequency class (Plank et al.,
    /// 2016); 0, as when the key is absent, turns it off.
    #[serde(default)]
    pub freq_loss: f64,
    /// Adversarial training: the size of the perturbation of each sentence's word features, a
    /// fraction of their own size; 0, as when the key is absent, turns it off.
    #[serde(default)]
    pub adversarial: f64,
}

/// `char_kernel` when the config leaves it out: [`CharTaggerConfig`]'s own default.
fn default_char_kernel() -> usize {
    CharTaggerConfig::new(1, 1, 1).char_kernel
}

impl CharTaggerNetwork {
    /// The model's config for vocabularies of `words` words, `chars` characters, `tags` tags.
    pub fn model(&self, words: usize, chars: usize, tags: usize) -> CharTaggerConfig {
        CharTaggerConfig::new(words, chars, tags)
            .with_word_dim(self.word_dim)
            .with_char_dim(self.char_dim)
            .with_char_hidden(self.char_hidden)
            .with_char_cnn(self.char_cnn)
            .with_char_kernel(self.char_kernel)
            .with_hidden_size(self.hidden_size)
            .with_num_layers(self.num_layers)
            .with_dropout(self.dropout)
            .with_word_dropout(self.word_dropout)
            .with_rare_alpha(self.rare_alpha)
            .with_crf(self.crf)
            .with_freq_loss(self.freq_loss)
            .with_adversarial(self.adversarial)
    }
}

impl ZooModel for PosTaggerCharModel {
    const NAME: &'static str = "pos-tagger-char";
    const DESCRIPTION: &'static str = "seed 000's exercise: the EWT tagger with a character BiLSTM per word beside the word embedding, and a CRF over the tags (UD English-EWT)";
    const CONFIG: &'static str = include_str!("../../../../configs/pos-tagger-char.toml");
    type Config = CharTaggerNetwork;
    type Data = PosData;
    type Task = Tagging;
    type Module<B: AutodiffBackend> = CharTagger<B>;

    fn init<B: AutodiffBackend>(
        config: &CharTaggerNetwork,
        info: &PosInfo,
        device: &B::Device,
    ) -> CharTagger<B> {
        let chars = info.chars.as_ref().map_or(3, |chars| chars.len());
        config
            .model(info.words.len(), chars, info.tags.len())
            .with_rare_from(info.rare_from)
            .with_log_count_from(info.log_count_from.clone())
            .init(device)
    }

    /// The data must give characters; the vocabulary sizes come from the data, and any valid
    /// ones check the rest.
    fn check(config: &CharTaggerNetwork, data: &PosData) -> Result<(), InvalidConfig> {
        if !data.chars {
            return Err(InvalidConfig::new(
                "chars",
                "is false; pos-tagger-char reads every word's characters: set [data] chars = true",
            ));
        }
        config.model(3, 3, 2).validate()
    }
}
