//! Building blocks shared by the models: PyTorch-compatible recurrent layers, and the `Linear` and
//! convolution helpers that run the fused operations of [`fused`] where a backend has them.

mod cat;
mod conv;
mod crf;
pub mod fused;
mod gather;
mod gru;
mod linear;
mod lstm;
mod mask;
mod rnn;

pub(crate) use cat::cat_last;
pub use conv::{forward_conv2d, forward_conv2d_relu_pool};
pub use crf::{Crf, CrfConfig};
pub use fused::uses_fused;
pub(crate) use gather::{forward_embedding, select_rows};
pub use gru::{Gru, GruConfig};
pub use linear::forward_linear;
pub use lstm::{Lstm, LstmConfig, LstmState};
pub(crate) use mask::real_positions;
pub use rnn::{GateWeights, RnnError, RnnLayer};
