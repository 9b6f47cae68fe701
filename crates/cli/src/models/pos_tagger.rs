//! `pos-tagger`: seed 000's LSTM tagger, on UD English-EWT (or the seed's two sentences).

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use zoo_models::{InvalidConfig, LstmTagger, LstmTaggerConfig};
use zoo_train::data::{PosData, PosInfo};
use zoo_train::task::Tagging;
use zoo_train::{Registration, ZooModel};

/// The registrations of this file.
pub const REGISTER: &[Registration] = &[Registration::of::<PosTaggerModel>()];

/// [`LstmTagger`] over a treebank's words, sized by its vocabularies.
pub struct PosTaggerModel;

/// `[model]` of the tagger: [`LstmTaggerConfig`] without `vocab_size` and `num_tags`, which the
/// training data's vocabularies decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaggerNetwork {
    /// Size of a word embedding.
    pub embedding_dim: usize,
    /// Hidden units of each LSTM layer and direction.
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    pub num_layers: usize,
    /// Read sentences in both directions.
    pub bidirectional: bool,
    /// Dropout on embeddings, between layers and before the tag layer.
    pub dropout: f64,
}

impl TaggerNetwork {
    /// The model's config for vocabularies of `vocab_size` words and `num_tags` tags.
    pub fn model(&self, vocab_size: usize, num_tags: usize) -> LstmTaggerConfig {
        LstmTaggerConfig::new(vocab_size, num_tags)
            .with_embedding_dim(self.embedding_dim)
            .with_hidden_size(self.hidden_size)
            .with_num_layers(self.num_layers)
            .with_bidirectional(self.bidirectional)
            .with_dropout(self.dropout)
    }
}

impl ZooModel for PosTaggerModel {
    const NAME: &'static str = "pos-tagger";
    const DESCRIPTION: &'static str = "seed 000: part-of-speech tagger, Embedding -> LSTM -> Linear -> log-softmax per word (UD English-EWT or the seed's toy)";
    const CONFIG: &'static str = include_str!("../../../../configs/pos-tagger-ewt.toml");
    type Config = TaggerNetwork;
    type Data = PosData;
    type Task = Tagging;
    type Module<B: AutodiffBackend> = LstmTagger<B>;

    fn init<B: AutodiffBackend>(
        config: &TaggerNetwork,
        info: &PosInfo,
        device: &B::Device,
    ) -> LstmTagger<B> {
        config
            .model(info.words.len(), info.tags.len())
            .init(device)
    }

    /// The vocabulary sizes come from the data; any valid ones check the rest.
    fn check(config: &TaggerNetwork, _data: &PosData) -> Result<(), InvalidConfig> {
        config.model(3, 2).validate()
    }
}
