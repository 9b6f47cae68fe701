//! Building blocks shared by the models: PyTorch-compatible recurrent layers and a fast CPU
//! convolution.

mod conv;
#[cfg(feature = "ndarray")]
mod conv_cpu;
#[cfg(feature = "ndarray")]
mod cpu;
mod gru;
mod lstm;
#[cfg(feature = "ndarray")]
mod lstm_cpu;
mod rnn;

pub use conv::{conv2d_gemm, forward_conv2d};
pub use gru::{Gru, GruConfig};
pub use lstm::{Lstm, LstmConfig, LstmState};
#[cfg(feature = "ndarray")]
pub use lstm_cpu::without_fused_lstm;
pub use rnn::{GateWeights, RnnError, RnnLayer};
