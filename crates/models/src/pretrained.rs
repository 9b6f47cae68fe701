//! Weights the zoo trained, shipped inside this crate (feature `pretrained`): each folder of
//! `crates/models/pretrained/` is one trained model, made by the command its `README.md` records,
//! with the test figure its `score.json` holds (what `zoo eval --pretrained NAME` reproduces).
//!
//! ```
//! use burn::backend::NdArray;
//! use zoo_models::MnistCnn;
//!
//! let device = Default::default();
//! let model = MnistCnn::<NdArray>::pretrained(&device); // 28x28 digits, normalized as MNIST's
//! assert_eq!(model.fc2.weight.dims(), [500, 10]);
//! ```

use burn::config::Config;
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};

/// One shipped model: its weights and everything needed to use them.
#[derive(Debug)]
pub struct Pretrained {
    /// The zoo model's name (`zoo models`): `mnist-cnn`, `pos-tagger`, ...
    pub name: &'static str,
    /// The weights: Burn's named MessagePack record, in half precision.
    pub weights: &'static [u8],
    /// The model's config, as Burn's `Config` JSON.
    pub model_config: &'static str,
    /// The whole experiment it was trained with (the run's `config.toml`), for `zoo`.
    pub experiment: &'static str,
    /// Its figure on the test set, as `zoo eval` counts it with these weights: JSON
    /// `{"correct": N, "count": M}`.
    pub score: &'static str,
    /// How it was trained and what it scores (its folder's README.md).
    pub about: &'static str,
    /// The files a run keeps beside its weights (the tagger's vocabularies): name, contents.
    pub files: &'static [(&'static str, &'static str)],
}

/// The shipped model of the folder `pretrained/NAME/`, its text files (vocabularies) named.
macro_rules! shipped {
    ($name:literal $(, $file:literal)*) => {
        Pretrained {
            name: $name,
            weights: include_bytes!(concat!("../pretrained/", $name, "/model.mpk")),
            model_config: include_str!(concat!("../pretrained/", $name, "/model.json")),
            experiment: include_str!(concat!("../pretrained/", $name, "/config.toml")),
            score: include_str!(concat!("../pretrained/", $name, "/score.json")),
            about: include_str!(concat!("../pretrained/", $name, "/README.md")),
            files: &[$(($file, include_str!(concat!("../pretrained/", $name, "/", $file)))),*],
        }
    };
}

/// Every shipped model, one folder of `pretrained/` each (a unit test checks the list against
/// the folders).
pub static ALL: &[Pretrained] = &[
    shipped!("mnist-cnn"),
    shipped!("mnist-lstm"),
    shipped!("pos-tagger", "vocab-tags.txt", "vocab-words.txt"),
    shipped!(
        "pos-tagger-char",
        "vocab-chars.txt",
        "vocab-tags.txt",
        "vocab-words.txt"
    ),
    shipped!("small-cnn"),
];

/// The shipped model named `name`.
pub fn find(name: &str) -> Option<&'static Pretrained> {
    ALL.iter().find(|p| p.name == name)
}

impl Pretrained {
    /// The model's config.
    pub fn config<C: Config>(&self) -> C {
        self.config_with(&[])
    }

    /// `module` (built from [`Self::config`]) with the shipped weights.
    pub fn load<B: Backend, M: Module<B>>(&self, module: M, device: &B::Device) -> M {
        let record = NamedMpkBytesRecorder::<FullPrecisionSettings>::default()
            .load(self.weights.to_vec(), device)
            .unwrap_or_else(|err| panic!("{}: the shipped model.mpk: {err}", self.name));
        module.load_record(record)
    }

    /// The entries of the shipped text file `name`, one a line, the zoo's vocabulary header
    /// (a first line `# zoo vocabulary v1 ...`) left out: for `vocab-words.txt`, the words in id
    /// order (`<pad>` = 0, `<unk>` = 1, then lowercased words). Entries that begin with `#`
    /// (the word `#`, `#'s`) are entries like any other.
    pub fn lines(&self, name: &str) -> Vec<String> {
        let Some((_, text)) = self.files.iter().find(|(file, _)| *file == name) else {
            return Vec::new();
        };
        let mut lines = text.lines().peekable();
        lines.next_if(|line| line.starts_with(VOCAB_HEADER));
        lines.map(str::to_string).collect()
    }

    /// The model's config: `model.json` with `fields` added, each a config field and its value
    /// as JSON (the sizes the shipped vocabularies decide: a tagger's `vocab_size` is
    /// `self.lines("vocab-words.txt").len()`).
    pub(crate) fn config_with<C: Config>(&self, fields: &[(&str, String)]) -> C {
        let added: String = (fields.iter())
            .map(|(field, value)| format!("\"{field}\": {value}, "))
            .collect();
        let json = self
            .model_config
            .trim_start()
            .replacen('{', &format!("{{{added}"), 1);
        C::load_binary(json.as_bytes())
            .unwrap_or_else(|err| panic!("{}: the shipped model.json: {err:?}", self.name))
    }

    /// The number of entries of the shipped file `name`, as JSON.
    pub(crate) fn count(&self, name: &str) -> String {
        self.lines(name).len().to_string()
    }
}

/// The first line of a vocabulary the zoo writes (zoo-data's `Vocab::to_text`), then
/// ` lowercase=true` or ` lowercase=false`.
const VOCAB_HEADER: &str = "# zoo vocabulary v1";

/// The shipped model `name`, built with its config by `init` and loaded with its weights.
pub(crate) fn build<B: Backend, C: Config, M: Module<B>>(
    name: &str,
    device: &B::Device,
    init: impl FnOnce(&C, &B::Device) -> M,
) -> M {
    let pretrained = shipped(name);
    pretrained.load(init(&pretrained.config(), device), device)
}

/// The shipped model `name`, which the crate's constructors know is there.
pub(crate) fn shipped(name: &str) -> &'static Pretrained {
    find(name).unwrap_or_else(|| panic!("no shipped model {name}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use burn::backend::NdArray;
    use burn::prelude::*;

    use super::{ALL, find};
    use crate::{CharTagger, LstmTagger, Sentences, Tagger, WordChars};

    type B = NdArray;

    #[test]
    fn every_folder_of_pretrained_is_shipped_with_all_its_text_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pretrained");
        let mut folders: Vec<(String, Vec<String>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_dir())
            .map(|path| {
                let mut texts: Vec<String> = (std::fs::read_dir(&path).unwrap())
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".txt"))
                    .collect();
                texts.sort();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, texts)
            })
            .collect();
        folders.sort();
        let listed: Vec<(String, Vec<String>)> = (ALL.iter())
            .map(|p| {
                let files = p.files.iter().map(|(f, _)| f.to_string()).collect();
                (p.name.to_string(), files)
            })
            .collect();
        assert_eq!(
            listed,
            folders,
            "pretrained::ALL must list every folder of {}",
            dir.display()
        );
    }

    /// A sentence and the tags `zoo predict --pretrained pos-tagger` (and `pos-tagger-char`)
    /// give it; its words lie before and after the vocabularies' entries `#` and `#'s`.
    const SENTENCE: &str = "I would like to book a flight to Boston on Friday , said Kim at # 3 .";
    const TAGS: &str = "PRON AUX VERB PART VERB DET NOUN ADP PROPN ADP PROPN PUNCT VERB PROPN ADP \
                        SYM NUM PUNCT";

    /// The ids of `tokens` in the shipped vocabulary `file` of `name` (1 = `<unk>`).
    fn ids(name: &str, file: &str, tokens: &[String]) -> Vec<i64> {
        let entries = find(name).unwrap().lines(file);
        let index: HashMap<&str, usize> = (entries.iter().enumerate())
            .map(|(id, e)| (e.as_str(), id))
            .collect();
        let id = |token: &String| index.get(token.as_str()).copied().unwrap_or(1) as i64;
        tokens.iter().map(id).collect()
    }

    /// [`SENTENCE`] as the shipped tagger `name` reads it: lowercased word ids, and the
    /// characters of each word as written where the tagger ships a character vocabulary.
    fn sentence(name: &str, device: &burn::backend::ndarray::NdArrayDevice) -> Sentences<B> {
        let words: Vec<String> = SENTENCE.split(' ').map(str::to_string).collect();
        let lowercased: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let word_ids = ids(name, "vocab-words.txt", &lowercased);
        let chars = (!find(name).unwrap().lines("vocab-chars.txt").is_empty()).then(|| {
            let width = words.iter().map(|w| w.chars().count()).max().unwrap();
            let mut rows = Vec::new();
            for word in &words {
                let mut row = ids(
                    name,
                    "vocab-chars.txt",
                    &word.chars().map(String::from).collect::<Vec<_>>(),
                );
                row.resize(width, 0);
                rows.extend(row);
            }
            WordChars {
                ids: Tensor::<B, 1, Int>::from_ints(rows.as_slice(), device)
                    .reshape([words.len(), width]),
                lengths: words.iter().map(|w| w.chars().count()).collect(),
                rows: None,
            }
        });
        Sentences {
            words: Tensor::<B, 1, Int>::from_ints(word_ids.as_slice(), device)
                .reshape([1, words.len()]),
            lengths: vec![words.len()],
            chars,
        }
    }

    /// The tags the shipped tagger `name`, built as `model`, gives [`SENTENCE`].
    fn tags(
        name: &str,
        model: &impl Tagger<B>,
        device: &burn::backend::ndarray::NdArrayDevice,
    ) -> String {
        let sentences = sentence(name, device);
        let lengths = sentences.lengths.clone();
        let scores = model.tag(sentences);
        let best: Vec<usize> = match model.crf() {
            Some(crf) => crf.decode(scores, &lengths).remove(0),
            None => (scores.argmax(2).into_data().to_vec::<i64>().unwrap())
                .into_iter()
                .map(|id| id as usize)
                .collect(),
        };
        let names = find(name).unwrap().lines("vocab-tags.txt");
        best.iter()
            .map(|&id| names[id].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_shipped_taggers_with_their_shipped_vocabularies_tag_as_zoo_predict_does() {
        let device = Default::default();
        let plain = LstmTagger::<B>::pretrained(&device);
        let char_tagger = CharTagger::<B>::pretrained(&device);
        let squeezed = TAGS.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(tags("pos-tagger", &plain, &device), squeezed);
        assert_eq!(tags("pos-tagger-char", &char_tagger, &device), squeezed);
        // Every entry of the vocabularies is a row of the embeddings, `#` included.
        for (name, rows) in [
            ("pos-tagger", plain.embedding.weight.dims()[0]),
            ("pos-tagger-char", char_tagger.embedding.weight.dims()[0]),
        ] {
            let words = find(name).unwrap().lines("vocab-words.txt");
            assert_eq!(words.len(), rows, "{name}");
            assert!(words.iter().any(|w| w == "#"), "{name}");
        }
        let chars = find("pos-tagger-char").unwrap().lines("vocab-chars.txt");
        assert_eq!(chars.len(), char_tagger.char_embedding.weight.dims()[0]);
    }
}
