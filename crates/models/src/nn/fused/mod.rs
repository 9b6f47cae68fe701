//! The fused operations, and the one place that decides which of them runs.
//!
//! A fused operation computes a whole layer (an LSTM recurrence, a `Linear`, a convolution block)
//! as one operation with its own backward pass, where the reference path is a chain of Burn
//! tensor operations. Both give the same results to float rounding (the tests of each operation
//! hold them equal); the fused one is several times faster.
//!
//! - `route` says, for a backend `B`, which fused operations serve it: `NdArray` and
//!   `Autodiff<NdArray>` get the CPU ones (feature `ndarray`: LSTM, `Linear`, convolution + ReLU +
//!   max-pool), Burn's `Wgpu` and `Cuda` the CubeCL LSTM and GRU kernels (features `wgpu`, `cuda`); every
//!   other backend, or `f16` tensors, the reference path. The optimizer's Adam step is fused
//!   the same way on the CPU ([`adam_step`]), to the bit Burn's.
//! - [`set_enabled`] is the switch: off, every layer takes the reference path on every backend.
//!   It is one value for the whole process, so it holds in every thread that trains (burn-train's
//!   device workers included); `zoo` sets it from the config key `train.fused`.
//! - On `Cuda` the LSTM and GRU kernels also wait for [`set_cuda_kernel`] (or
//!   `ZOO_CUDA_LSTM_KERNEL=1`): they have not yet passed `zoo check --backend cuda` on a real GPU,
//!   so CUDA runs the recurrences as tensor operations until told otherwise.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use burn::prelude::Backend;
use burn::tensor::DType;

pub use adam::{AdamConstants, AdamInput, AdamMoments, adam_step};

mod adam;
#[cfg(feature = "ndarray")]
pub(crate) mod cpu;
// Left out of this crate's own unit tests, which run on the CPU: built into them, the kernel's
// CubeCL and autodiff code cost three more minutes of every release test build. The kernel is held
// to the CPU by `zoo check --backend wgpu` (crates/cli/tests/backends.rs) instead.
#[cfg(all(any(feature = "wgpu", feature = "cuda"), not(test)))]
pub(crate) mod gpu;

/// Whether the fused operations may run (see [`set_enabled`]).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Serializes [`with_fused`], so two callers never see each other's setting.
static SCOPED: Mutex<()> = Mutex::new(());

/// Switches every fused operation on (the default) or off, for the whole process: off, [`Lstm`],
/// [`forward_linear`] and the convolution helpers take Burn's tensor operations on every backend.
/// Same results to float rounding, slower; for comparing the two paths on any model.
///
/// [`Lstm`]: crate::nn::Lstm
/// [`forward_linear`]: crate::nn::forward_linear
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::SeqCst);
}

/// Whether the fused operations are switched on (see [`set_enabled`]).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::SeqCst)
}

/// Runs `f` with the switch set to `on`, then puts it back (also when `f` panics). Calls are
/// serialized, so tests and benchmarks that compare the two paths can run side by side.
pub fn with_fused<R>(on: bool, f: impl FnOnce() -> R) -> R {
    /// Puts the switch back however `f` ends, unwinding included.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            set_enabled(self.0);
        }
    }
    let _only_one = SCOPED.lock().unwrap_or_else(|e| e.into_inner());
    let _restore = Restore(enabled());
    set_enabled(on);
    f()
}

/// The environment variable that lets the LSTM kernel run on CUDA: `ZOO_CUDA_LSTM_KERNEL=1`.
pub const CUDA_KERNEL_VAR: &str = "ZOO_CUDA_LSTM_KERNEL";

/// Whether the LSTM kernel may run on `Cuda`: not yet decided, off, on.
static CUDA_KERNEL: AtomicU8 = AtomicU8::new(UNDECIDED);
const UNDECIDED: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// Lets the fused LSTM kernel run on Burn's `Cuda` backend (`on`), or not. Until it is called the
/// environment decides ([`CUDA_KERNEL_VAR`] set to `1`: on), and by default it is off: the
/// kernel has not yet passed `zoo check --backend cuda` on a real GPU (docs/benchmarks.md), so
/// CUDA runs the LSTM as Burn's tensor operations. `wgpu` does not wait for it.
pub fn set_cuda_kernel(on: bool) {
    CUDA_KERNEL.store(if on { ON } else { OFF }, Ordering::SeqCst);
}

/// Whether the LSTM kernel may run on `Cuda` (see [`set_cuda_kernel`]).
pub fn cuda_kernel() -> bool {
    match CUDA_KERNEL.load(Ordering::SeqCst) {
        UNDECIDED => {
            let on = std::env::var(CUDA_KERNEL_VAR).is_ok_and(|value| value == "1");
            // A call of `set_cuda_kernel` in between wins.
            let _ = CUDA_KERNEL.compare_exchange(
                UNDECIDED,
                if on { ON } else { OFF },
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            CUDA_KERNEL.load(Ordering::SeqCst) == ON
        }
        state => state == ON,
    }
}

/// Whether the layers on backend `B` run fused operations (`f32` tensors, switch on).
pub fn uses_fused<B: Backend>() -> bool {
    route::<B>(DType::F32).is_some()
}

/// The fused operations that serve a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `NdArray` (`tracked: false`) or `Autodiff<NdArray>`: the CPU operations.
    #[cfg(feature = "ndarray")]
    Cpu {
        /// Whether the backend records an autodiff graph.
        tracked: bool,
    },
    /// Burn's `Wgpu` or `Cuda` (fusion on), with or without `Autodiff`: the CubeCL LSTM and GRU
    /// kernels.
    #[cfg(all(any(feature = "wgpu", feature = "cuda"), not(test)))]
    Gpu(gpu::Served),
}

/// Which fused operations serve backend `B` for tensors of `dtype`; `None` means the reference
/// path (switched off, another backend, or not `f32`).
#[cfg_attr(
    not(any(
        feature = "ndarray",
        all(any(feature = "wgpu", feature = "cuda"), not(test))
    )),
    allow(clippy::extra_unused_type_parameters)
)]
pub(crate) fn route<B: Backend>(dtype: DType) -> Option<Route> {
    if dtype != DType::F32 || !enabled() {
        return None;
    }
    #[cfg(feature = "ndarray")]
    if let Some(tracked) = cpu::served::<B>() {
        return Some(Route::Cpu { tracked });
    }
    #[cfg(all(any(feature = "wgpu", feature = "cuda"), not(test)))]
    if let Some(served) = gpu::served::<B>() {
        return Some(Route::Gpu(served));
    }
    None
}

/// Moves a value between two names of the same type: [`route`] has checked, by `TypeId`, which
/// backend a generic `B` is before a fused operation takes its tensors as that backend's.
#[allow(dead_code)] // unused in a build without any fused operation
pub(crate) fn cast<From: 'static, To: 'static>(value: From) -> To {
    *(Box::new(value) as Box<dyn std::any::Any>)
        .downcast::<To>()
        .unwrap_or_else(|_| unreachable!("cast between different backends"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_is_put_back_after_a_scope_and_a_panic() {
        assert!(with_fused(false, || !enabled()));
        let panicked = std::panic::catch_unwind(|| with_fused(false, || panic!("inside")));
        assert!(panicked.is_err());
        // Another test may hold the switch now; a scope of our own reads it reliably.
        assert!(with_fused(true, enabled));
    }

    #[cfg(feature = "ndarray")]
    #[test]
    fn the_cpu_backend_is_served_unless_switched_off() {
        use burn::backend::{Autodiff, NdArray};
        with_fused(true, || {
            assert_eq!(
                route::<NdArray>(DType::F32),
                Some(Route::Cpu { tracked: false })
            );
            assert_eq!(
                route::<Autodiff<NdArray>>(DType::F32),
                Some(Route::Cpu { tracked: true })
            );
            assert_eq!(route::<NdArray>(DType::F16), None);
        });
        with_fused(false, || assert!(!uses_fused::<Autodiff<NdArray>>()));
    }
}
