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
//! [`registry()`] lists the models by name, the way the `zoo` command line picks them.
#![deny(missing_docs)]

pub mod bench;
mod cnn;
mod error;
pub mod import;
mod mlp;
mod mnist_lstm;
pub mod nn;
mod registry;
mod tagger;

pub use cnn::{MnistCnn, MnistCnnConfig, SmallCnn, SmallCnnConfig};
pub use error::InvalidConfig;
pub use mlp::{Mlp, MlpConfig};
pub use mnist_lstm::{MnistLstm, MnistLstmConfig};
pub use registry::{find, registry, ModelInfo, ModelKind};
pub use tagger::{LstmTagger, LstmTaggerConfig};
