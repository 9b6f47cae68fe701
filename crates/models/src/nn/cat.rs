//! Tensors side by side along their last axis, computed on the CPU backend by a fused operation.

use burn::prelude::*;

/// `Tensor::cat(parts, D - 1)`: on the `ndarray` backend (`f32`; feature `ndarray`, switch of
/// [`super::fused`] on) one CPU operation that copies whole rows, forward and backward; Burn's
/// `cat` on every other backend. The same values exactly.
pub(crate) fn cat_last<B: Backend, const D: usize, const N: usize>(
    parts: [Tensor<B, D>; N],
) -> Tensor<B, D> {
    match super::fused::route::<B>(parts[0].dtype()) {
        #[cfg(feature = "ndarray")]
        Some(super::fused::Route::Cpu { tracked }) => {
            super::fused::cpu::concat::cat_last(tracked, parts)
        }
        _ => Tensor::cat(parts.to_vec(), D - 1),
    }
}
