//! `pos-tagger`: the LSTM tagger of PyTorch's sequence-models tutorial, on UD English-EWT (or
//! the tutorial's two sentences).

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{InvalidConfig, LstmTagger, LstmTaggerConfig};
use zoo_train::data::{PosData, PosInfo};
use zoo_train::task::Tagging;
use zoo_train::ZooModel;

/// [`LstmTagger`] over a treebank's words, sized by its vocabularies.
pub struct PosTaggerModel;

impl ZooModel for PosTaggerModel {
    const NAME: &'static str = "pos-tagger";
    const DESCRIPTION: &'static str = "the LSTMTagger of PyTorch's sequence-models tutorial: Embedding -> BiLSTM -> Linear -> log-softmax per word (UD English-EWT, or the tutorial's two sentences)";
    const CONFIG: &'static str = include_str!("../../../../configs/pos-tagger-ewt.toml");
    const FROM_DATA: &'static [&'static str] = &["vocab_size", "num_tags"];
    type Config = LstmTaggerConfig;
    type Data = PosData;
    type Task = Tagging;
    type Module<B: AutodiffBackend> = LstmTagger<B>;

    fn recipe() -> LstmTaggerConfig {
        LstmTaggerConfig::new(0, 0)
    }

    fn init<B: AutodiffBackend>(
        config: &LstmTaggerConfig,
        info: &PosInfo,
        device: &B::Device,
    ) -> LstmTagger<B> {
        let sized = LstmTaggerConfig {
            vocab_size: info.words.len(),
            num_tags: info.tags.len(),
            ..config.clone()
        };
        sized.init(device)
    }

    /// The vocabulary sizes come from the data; any valid ones check the rest.
    fn check(config: &LstmTaggerConfig, _data: &PosData) -> Result<(), InvalidConfig> {
        let sized = LstmTaggerConfig {
            vocab_size: 3,
            num_tags: 2,
            ..config.clone()
        };
        sized.validate()
    }
}
