//! The models of the classic PyTorch sequence and vision tutorials, as Burn modules.
//!
//! Every model is a plain `#[derive(Module)]` struct generic over `B: Backend`, built from a
//! `#[derive(Config)]` config with `init(&device)`, and its `forward` returns logits (or, for the
//! regression net, predictions). Nothing here names a backend, a dataset or a training loop, so a
//! project that only wants [`MnistLstm`] adds this crate and Burn, nothing else.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use zoo_models::MnistLstmConfig;
//!
//! let device = Default::default();
//! let model = MnistLstmConfig::new().init::<NdArray>(&device);
//! let images = Tensor::<NdArray, 3>::zeros([4, 28, 28], &device); // [batch, rows, columns]
//! assert_eq!(model.forward(images).dims(), [4, 10]); // [batch, classes]
//! ```
//!
//! Features (none on by default): `ndarray` runs the layers as fused CPU operations on Burn's
//! `NdArray` backend (several times faster; [`nn::fused`]), `wgpu` and `cuda` add the fused LSTM
//! kernel for Burn's `Wgpu` and `Cuda`, `import` loads PyTorch `state_dict` files ([`import`]).
#![deny(missing_docs)]

mod error;
#[cfg(feature = "import")]
pub mod import;
pub mod nn;
#[cfg(feature = "pretrained")]
pub mod pretrained;
mod traits;

/// The models, one file each; their configs and modules are re-exported below.
mod models {
    pub mod char_tagger;
    pub mod lstm_tagger;
    pub mod mlp;
    pub mod mnist_cnn;
    pub mod mnist_gru;
    pub mod mnist_lstm;
    pub mod small_cnn;
}

pub use error::InvalidConfig;
pub use models::char_tagger::{CharTagger, CharTaggerConfig};
pub use models::lstm_tagger::{LstmTagger, LstmTaggerConfig};
pub use models::mlp::{Mlp, MlpConfig};
pub use models::mnist_cnn::{MnistCnn, MnistCnnConfig};
pub use models::mnist_gru::{MnistGru, MnistGruConfig};
pub use models::mnist_lstm::{MnistLstm, MnistLstmConfig};
pub use models::small_cnn::{SmallCnn, SmallCnnConfig};
pub use traits::{Classifier, Regressor, Sentences, Tagger, WordChars};
