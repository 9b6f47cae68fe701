//! 2-D convolution (and the convolution + ReLU + max-pool block of the MNIST CNNs) through the
//! fused CPU operation where the backend has it.
//!
//! Burn 0.21's `ndarray` backend computes `conv2d` and its gradients with a direct loop over every
//! output pixel, about 50 MNIST images a second for the pytorch/examples CNN on 2 cores; the fused
//! operation (unfold + one GEMM forward, two backward, as PyTorch's CPU kernels do) is 100 times
//! faster. The GPU backends have fast convolution kernels of their own and keep Burn's
//! `Conv2d::forward`.

#[cfg(feature = "ndarray")]
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::prelude::*;

/// The padding `[top, left, bottom, right]` of `conv` if it is a plain convolution (stride 1,
/// dilation 1, one group, `Valid` or `Explicit` padding), the kind the CPU operation computes.
#[cfg(feature = "ndarray")]
fn plain_padding<B: Backend>(conv: &Conv2d<B>) -> Option<[usize; 4]> {
    let plain = conv.stride == [1, 1] && conv.dilation == [1, 1] && conv.groups == 1;
    match conv.padding {
        _ if !plain => None,
        PaddingConfig2d::Valid => Some([0; 4]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => Some([top, left, bottom, right]),
        PaddingConfig2d::Same => None,
    }
}

/// `conv.forward(input)`, computed by a fused CPU operation on the `ndarray` backend (see
/// [`super::fused`]) when the layer is a plain convolution (stride 1, dilation 1, one group,
/// `Valid` or `Explicit` padding), and by Burn's own kernel otherwise. Same weights, same result
/// to float rounding.
///
/// `input [batch, in_channels, height, width]` → `[batch, out_channels, height', width']`.
pub fn forward_conv2d<B: Backend>(conv: &Conv2d<B>, input: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "ndarray")]
    if let (Some(padding), Some(super::fused::Route::Cpu { tracked })) =
        (plain_padding(conv), super::fused::route::<B>(input.dtype()))
    {
        return super::fused::cpu::conv::conv2d(
            tracked,
            input,
            conv.weight.val(),
            conv.bias.as_ref().map(|bias| bias.val()),
            padding,
            super::fused::cpu::conv::Epilogue::Identity,
        );
    }
    conv.forward(input)
}

/// `pool.forward(relu(conv.forward(input)))`: the convolution block of the MNIST CNNs. On the
/// `ndarray` backend, for a plain convolution (see [`forward_conv2d`]) and a pooling without
/// padding, dilation or ceil mode, one CPU operation computes all three and their gradients;
/// elsewhere it is the three layers one after the other. Same result to float rounding, except
/// that a NaN in a window makes its output NaN, as in PyTorch (Burn 0.21's CPU max-pool skips NaNs).
///
/// `input [batch, in_channels, height, width]` → `[batch, out_channels, pooled h, pooled w]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::nn::conv::Conv2dConfig;
/// use burn::nn::pool::MaxPool2dConfig;
/// use burn::tensor::Tensor;
/// use zoo_models::nn::forward_conv2d_relu_pool;
///
/// let device = Default::default();
/// let conv = Conv2dConfig::new([1, 20], [5, 5]).init::<NdArray>(&device);
/// let pool = MaxPool2dConfig::new([2, 2]).init();
/// let images = Tensor::<NdArray, 4>::ones([2, 1, 28, 28], &device);
/// let out = forward_conv2d_relu_pool(&conv, &pool, images);
/// assert_eq!(out.dims(), [2, 20, 12, 12]); // 28 - 4 = 24 by the convolution, halved
/// assert!(out.min().into_scalar() >= 0.0); // after ReLU
/// ```
pub fn forward_conv2d_relu_pool<B: Backend>(
    conv: &Conv2d<B>,
    pool: &MaxPool2d,
    input: Tensor<B, 4>,
) -> Tensor<B, 4> {
    #[cfg(feature = "ndarray")]
    if let (Some(padding), Some(super::fused::Route::Cpu { tracked })) =
        (plain_padding(conv), super::fused::route::<B>(input.dtype()))
    {
        let [_, _, height, width] = input.dims();
        let [_, _, kh, kw] = conv.weight.dims();
        let [top, left, bottom, right] = padding;
        let fits = |size: usize, k: usize, window: usize| size + 1 >= k + window;
        let simple_pool = matches!(pool.padding, PaddingConfig2d::Valid)
            && pool.dilation == [1, 1]
            && !pool.ceil_mode
            && pool.stride.iter().all(|&s| s > 0)
            && fits(height + top + bottom, kh, pool.kernel_size[0])
            && fits(width + left + right, kw, pool.kernel_size[1]);
        if simple_pool {
            return super::fused::cpu::conv::conv2d(
                tracked,
                input,
                conv.weight.val(),
                conv.bias.as_ref().map(|bias| bias.val()),
                padding,
                super::fused::cpu::conv::Epilogue::ReluMaxPool {
                    kernel: pool.kernel_size,
                    stride: pool.stride,
                },
            );
        }
    }
    pool.forward(burn::tensor::activation::relu(forward_conv2d(conv, input)))
}

// Every test compares the fused CPU operation with Burn's layers: without the `ndarray` feature
// there is no such operation, and the two sides would be the same code.
#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use burn::backend::{Autodiff, NdArray};
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;

    use super::*;
    use crate::nn::fused::with_fused;

    type B = Autodiff<NdArray>;

    fn assert_close<const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>, what: &str) {
        let diff = (a - b).abs().max().into_scalar();
        assert!(diff < 1e-4, "{what}: largest difference {diff}");
    }

    #[test]
    fn matches_burns_convolution_and_its_gradients() {
        let device = Default::default();
        // Rows shorter than 8 values, of 8 to 16 and of over 16 (copied in blocks of 8).
        for (padding, width) in [
            (PaddingConfig2d::Valid, 8),
            (PaddingConfig2d::Explicit(2, 1, 0, 2), 8),
            (PaddingConfig2d::Explicit(1, 2, 2, 0), 21),
        ] {
            let conv: Conv2d<B> = Conv2dConfig::new([3, 4], [5, 3])
                .with_padding(padding.clone())
                .init(&device);
            let input =
                Tensor::<B, 4>::random([2, 3, 9, width], Distribution::Normal(0.0, 1.0), &device)
                    .require_grad();
            let reference = conv.forward(input.clone());
            let ours = with_fused(true, || forward_conv2d(&conv, input.clone()));
            assert_eq!(ours.dims(), reference.dims(), "{padding:?}");
            assert_close(ours.clone(), reference.clone(), "output");

            // Weigh the outputs so every element has its own gradient.
            let weights =
                Tensor::<B, 4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
            let grads_ref = (reference * weights.clone()).sum().backward();
            let grads_ours = (ours * weights).sum().backward();
            let grad = |grads: &_, t: &Tensor<B, 4>| t.grad(grads).unwrap();
            let (w, i) = (conv.weight.val(), input);
            let close = |a: Tensor<NdArray, 4>, b: Tensor<NdArray, 4>, what| {
                let diff = (a - b).abs().max().into_scalar();
                assert!(diff < 1e-3, "{what} {padding:?}: largest difference {diff}");
            };
            close(
                grad(&grads_ours, &w),
                grad(&grads_ref, &w),
                "weight gradient",
            );
            close(
                grad(&grads_ours, &i),
                grad(&grads_ref, &i),
                "input gradient",
            );
            let bias = conv.bias.as_ref().unwrap().val();
            let db = |g: &_| bias.grad(g).unwrap();
            let diff = (db(&grads_ours) - db(&grads_ref)).abs().max().into_scalar();
            assert!(diff < 1e-3, "bias gradient {padding:?}: {diff}");
        }
    }

    /// The fused convolution + ReLU + max-pool equals Burn's three layers, forward and every
    /// gradient: pools of 2 and of 3 every 2 (overlapping windows), odd sizes that leave a row and
    /// a column out of every window, padding, and an input without gradient (a first layer).
    #[test]
    fn relu_pool_block_matches_burns_layers_and_their_gradients() {
        use burn::nn::pool::MaxPool2dConfig;
        let device = Default::default();
        let cases = [
            (PaddingConfig2d::Valid, [2, 2], [2, 2], [2, 3, 11, 10], true),
            (
                PaddingConfig2d::Explicit(2, 2, 2, 2),
                [2, 2],
                [2, 2],
                [3, 3, 9, 9],
                false,
            ),
            (
                PaddingConfig2d::Explicit(1, 0, 2, 1),
                [3, 3],
                [2, 2],
                [2, 3, 10, 9],
                true,
            ),
            (PaddingConfig2d::Valid, [2, 3], [1, 2], [5, 3, 8, 12], true),
        ];
        for (padding, kernel, stride, shape, input_grad) in cases {
            let what = format!("{padding:?} pool {kernel:?}/{stride:?} input {shape:?}");
            let conv: Conv2d<B> = Conv2dConfig::new([3, 4], [3, 3])
                .with_padding(padding)
                .init(&device);
            let pool = MaxPool2dConfig::new(kernel).with_strides(stride).init();
            let mut input = Tensor::<B, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
            if input_grad {
                input = input.require_grad();
            }
            let reference =
                pool.forward(burn::tensor::activation::relu(conv.forward(input.clone())));
            let ours = with_fused(true, || {
                forward_conv2d_relu_pool(&conv, &pool, input.clone())
            });
            assert_eq!(ours.dims(), reference.dims(), "{what}");
            assert_close(ours.clone(), reference.clone(), &what);

            let weights =
                Tensor::<B, 4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
            let grads_ref = (reference * weights.clone()).sum().backward();
            let grads_ours = (ours * weights).sum().backward();
            let close = |a: Tensor<NdArray, 4>, b: Tensor<NdArray, 4>, of: &str| {
                let diff = (a - b).abs().max().into_scalar();
                assert!(
                    diff < 1e-3,
                    "{of} gradient, {what}: largest difference {diff}"
                );
            };
            let w = conv.weight.val();
            close(
                w.grad(&grads_ours).unwrap(),
                w.grad(&grads_ref).unwrap(),
                "weight",
            );
            if input_grad {
                let (a, b) = (input.grad(&grads_ours), input.grad(&grads_ref));
                close(a.unwrap(), b.unwrap(), "input");
            } else {
                assert!(input.grad(&grads_ours).is_none(), "{what}: input gradient");
            }
            let bias = conv.bias.as_ref().unwrap().val();
            let db = |g: &_| bias.grad(g).unwrap();
            let diff = (db(&grads_ours) - db(&grads_ref)).abs().max().into_scalar();
            assert!(diff < 1e-3, "bias gradient, {what}: {diff}");
        }
    }

    /// A NaN reaching the fused block comes out as NaN (a diverging network must show it), in
    /// the pooled outputs whose windows see it and only there (Burn's ReLU would turn it into 0).
    #[test]
    fn a_nan_in_the_input_comes_out_of_the_relu_pool_block() {
        use burn::nn::pool::MaxPool2dConfig;
        let device = Default::default();
        let conv: Conv2d<NdArray> = Conv2dConfig::new([1, 2], [3, 3]).init(&device);
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let mut values = vec![0.5f32; 12 * 12];
        values[0] = f32::NAN; // the top-left pixel: only the first convolution output reads it
        let input = Tensor::<NdArray, 4>::from_data(
            burn::tensor::TensorData::new(values, [1, 1, 12, 12]),
            &device,
        );
        let out = with_fused(true, || forward_conv2d_relu_pool(&conv, &pool, input));
        let nan = out.is_nan().into_data().into_vec::<bool>().unwrap();
        // [1, 2, 5, 5]: the first pooled value of each channel.
        let expected: Vec<bool> = (0..50).map(|k| k % 25 == 0).collect();
        assert_eq!(nan, expected);
    }
}
