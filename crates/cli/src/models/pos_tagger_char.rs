//! `pos-tagger-char`: the EWT tagger reading each word's characters too, with a CRF over the
//! tags (the exercise that ends PyTorch's sequence-models tutorial).

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{CharTagger, CharTaggerConfig, InvalidConfig};
use zoo_train::data::{PosData, PosInfo};
use zoo_train::task::Tagging;
use zoo_train::ZooModel;

/// [`CharTagger`] over a treebank's words and their characters, sized by its vocabularies.
pub struct PosTaggerCharModel;

impl ZooModel for PosTaggerCharModel {
    const NAME: &'static str = "pos-tagger-char";
    const DESCRIPTION: &'static str = "the EWT tagger with a character BiLSTM per word beside the word embedding, and a CRF over the tags (the sequence-models tutorial's exercise; UD English-EWT)";
    const CONFIG: &'static str = include_str!("../../../../configs/pos-tagger-char.toml");
    const FROM_DATA: &'static [&'static str] =
        &["vocab_size", "num_chars", "num_tags", "rare_from", "unk_id"];
    type Config = CharTaggerConfig;
    type Data = PosData;
    type Task = Tagging;
    type Module<B: AutodiffBackend> = CharTagger<B>;

    fn recipe() -> CharTaggerConfig {
        CharTaggerConfig::new(0, 0, 0)
    }

    fn init<B: AutodiffBackend>(
        config: &CharTaggerConfig,
        info: &PosInfo,
        device: &B::Device,
    ) -> CharTagger<B> {
        let chars = info.chars.as_ref().map_or(3, |chars| chars.len());
        let sized = CharTaggerConfig {
            vocab_size: info.words.len(),
            num_chars: chars,
            num_tags: info.tags.len(),
            ..config.clone()
        };
        sized
            .with_rare_from(info.rare_from)
            .with_unk_id(zoo_data::pos::Vocab::UNK_ID)
            .init(device)
    }

    /// The data must give characters; the vocabulary sizes come from the data, and any valid
    /// ones check the rest.
    fn check(config: &CharTaggerConfig, data: &PosData) -> Result<(), InvalidConfig> {
        if !data.chars {
            return Err(InvalidConfig::new(
                "chars",
                "is false; pos-tagger-char reads every word's characters: set [data] chars = true",
            ));
        }
        let sized = CharTaggerConfig {
            vocab_size: 3,
            num_chars: 3,
            num_tags: 2,
            ..config.clone()
        };
        sized.with_unk_id(1).validate()
    }
}
