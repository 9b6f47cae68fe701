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

pub use error::InvalidConfig;
pub use traits::{Classifier, Regressor, Sentences, Tagger, WordChars};

// Every file of `src/models/` is one model: a module here, its public items re-exported at the
// crate root (build.rs writes the list, so adding a model is adding its file).
include!(concat!(env!("OUT_DIR"), "/models.rs"));
