//! Burn's `Linear` layer, computed on the CPU backend by a fused operation.

use burn::nn::Linear;
use burn::prelude::*;

/// `linear.forward(input)`, computed on the `ndarray` backend (`f32`; feature `ndarray`, switch of
/// [`super::fused`] on) by one CPU operation with its own backward pass (the products through
/// `gemm`'s AVX-512/AVX2 kernels, the rows over rayon's threads), and by Burn's `Linear::forward`
/// on every other backend. Same weights (either
/// `LinearLayout`), same result to float rounding.
///
/// `input [..., d_input]` → `[..., d_output]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::nn::LinearConfig;
/// use burn::tensor::Tensor;
/// use zoo_models::nn::forward_linear;
///
/// let device = Default::default();
/// let layer = LinearConfig::new(800, 500).init::<NdArray>(&device);
/// let x = Tensor::<NdArray, 2>::ones([64, 800], &device);
/// assert_eq!(forward_linear(&layer, x).dims(), [64, 500]);
/// ```
pub fn forward_linear<B: Backend, const D: usize>(
    linear: &Linear<B>,
    input: Tensor<B, D>,
) -> Tensor<B, D> {
    match super::fused::route::<B>(input.dtype()) {
        #[cfg(feature = "ndarray")]
        Some(super::fused::Route::Cpu { tracked }) => {
            let bias = linear.bias.as_ref().map(|bias| bias.val());
            super::fused::cpu::linear::linear(tracked, input, linear.weight.val(), bias)
        }
        _ => linear.forward(input),
    }
}
