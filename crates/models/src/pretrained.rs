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

/// Every shipped model (build.rs lists the folders of `pretrained/`).
pub static ALL: &[Pretrained] = &include!(concat!(env!("OUT_DIR"), "/pretrained.rs"));

/// The shipped model named `name`.
pub fn find(name: &str) -> Option<&'static Pretrained> {
    ALL.iter().find(|p| p.name == name)
}

impl Pretrained {
    /// The model's config.
    pub fn config<C: Config>(&self) -> C {
        C::load_binary(self.model_config.as_bytes())
            .unwrap_or_else(|err| panic!("{}: the shipped model.json: {err:?}", self.name))
    }

    /// `module` (built from [`Self::config`]) with the shipped weights.
    pub fn load<B: Backend, M: Module<B>>(&self, module: M, device: &B::Device) -> M {
        let record = NamedMpkBytesRecorder::<FullPrecisionSettings>::default()
            .load(self.weights.to_vec(), device)
            .unwrap_or_else(|err| panic!("{}: the shipped model.mpk: {err}", self.name));
        module.load_record(record)
    }

    /// The entries of the shipped text file `name`, one a line, its `#` header left out: for
    /// `vocab-words.txt`, the words in id order (`<pad>` = 0, `<unk>` = 1, then lowercased
    /// words).
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.files
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, text)| {
                (text.lines())
                    .filter(|line| !line.starts_with('#'))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

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
