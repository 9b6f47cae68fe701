//! Building blocks shared by the models: PyTorch-compatible recurrent layers, the fused LSTM
//! recurrences (CPU, and a CubeCL kernel for wgpu/cuda), and fast CPU convolution and linear layers.

use std::cell::Cell;

mod conv;
#[cfg(feature = "ndarray")]
mod conv_cpu;
#[cfg(feature = "ndarray")]
mod cpu;
mod gru;
mod linear;
#[cfg(feature = "ndarray")]
mod linear_cpu;
mod lstm;
#[cfg(feature = "ndarray")]
mod lstm_cell_cpu;
#[cfg(feature = "ndarray")]
mod lstm_cpu;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod lstm_gpu;
mod rnn;

pub use conv::{conv2d_gemm, forward_conv2d, forward_conv2d_relu_pool};
pub use gru::{Gru, GruConfig};
pub use linear::forward_linear;
pub use lstm::{Lstm, LstmConfig, LstmState};
pub use rnn::{GateWeights, RnnError, RnnLayer};

thread_local! {
    static FUSED_LSTM: Cell<bool> = const { Cell::new(true) };
}

/// Runs `f` with the fused LSTM recurrences (CPU and GPU) switched off on this thread, so that
/// [`Lstm`] takes the tensor-operation path on every backend: for benchmarks and for tests that
/// hold the two paths equal.
pub fn without_fused_lstm<R>(f: impl FnOnce() -> R) -> R {
    /// Puts the switch back however `f` ends, unwinding included.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            FUSED_LSTM.with(|e| e.set(self.0));
        }
    }
    let _restore = Restore(FUSED_LSTM.with(|e| e.replace(false)));
    f()
}

/// Whether [`Lstm`] on backend `B` runs a fused recurrence (`f32`): `NdArray` (the CPU one, padded
/// batches included), Burn's `Wgpu` and `Cuda` (the CubeCL kernel, sequences without padding),
/// each with or without `Autodiff`, unless switched off on this thread by [`without_fused_lstm`].
/// Any other backend runs the LSTM as tensor operations (same results, slower).
pub fn uses_fused_lstm<B: burn::prelude::Backend>() -> bool {
    #[cfg(feature = "ndarray")]
    if lstm_cpu::available::<B>(burn::tensor::DType::F32) {
        return true;
    }
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if lstm_gpu::available::<B>(burn::tensor::DType::F32) {
        return true;
    }
    false
}

/// Whether [`without_fused_lstm`] leaves the fused recurrences on, on this thread.
#[allow(dead_code)] // unused in a build without any fused recurrence
pub(crate) fn fused_lstm_enabled() -> bool {
    FUSED_LSTM.with(Cell::get)
}

/// Moves a value between two names of the same type (the fused operations check with `TypeId`
/// which backend `B` is before).
#[allow(dead_code)] // unused in a build without any fused operation
pub(crate) fn cast<From: 'static, To: 'static>(value: From) -> To {
    *(Box::new(value) as Box<dyn std::any::Any>)
        .downcast::<To>()
        .unwrap_or_else(|_| unreachable!("cast between different backends"))
}
