//! The zoo's models: each file implements [`zoo_train::ZooModel`] for models of zoo-models (a
//! marker type per registered name), and [`registry`] lists them. Adding a model is its file
//! here, its module in `crates/models/src/models/`, its config in `configs/` and its line below
//! (CONTRIBUTING.md).

use zoo_train::{Registration, Registry};

pub mod classification;
pub mod mnist_cnn;
pub mod mnist_gru;
pub mod mnist_lstm;
pub mod pos_tagger;
pub mod pos_tagger_char;
pub mod regression;
pub mod small_cnn;

/// The model `zoo` trains when neither `--model` nor a config file names one.
pub const DEFAULT_MODEL: &str = "mnist-lstm";

/// Every model of the zoo, in the order `zoo models` lists them; the first, [`DEFAULT_MODEL`],
/// is the one trained by default.
pub fn registry() -> Registry {
    [
        Registration::of::<mnist_lstm::MnistLstmModel>(),
        Registration::of::<mnist_lstm::MnistLstmSmallModel>(),
        Registration::of::<mnist_cnn::MnistCnnModel>(),
        Registration::of::<small_cnn::SmallCnnModel>(),
        Registration::of::<mnist_gru::MnistGruModel>(),
        Registration::of::<regression::RegressionModel>(),
        Registration::of::<classification::ClassificationModel>(),
        Registration::of::<pos_tagger::PosTaggerModel>(),
        Registration::of::<pos_tagger_char::PosTaggerCharModel>(),
    ]
    .into_iter()
    .fold(Registry::new(), Registry::with)
}
