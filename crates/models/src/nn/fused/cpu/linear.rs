//! A linear layer's product on the CPU, `x · W + b` for every row at once, as one operation with
//! its own backward pass: the matrix products through `gemm` (whose AVX-512 kernels Burn's
//! ndarray matmul, `matrixmultiply`, does not have), the rows spread over rayon's threads; one
//! node in the autodiff graph instead of a matmul, the bias broadcasts and their gradients.
//!
//! It serves two callers: the input part of an LSTM or GRU layer's gates, `x_t · W_ihᵀ + b_ih +
//! b_hh` for all steps ([`input_gates`], weights in PyTorch's `[out, in]` layout, two biases), and
//! Burn's `Linear` ([`linear`], weights `[in, out]`), through [`crate::nn::forward_linear`]. The LSTM
//! parity tests (PyTorch fixtures, forward and gradients) and the tests below hold it equal to
//! the tensor operations.

use std::mem::MaybeUninit;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::{TensorMetadata, TensorPrimitive};
use rayon::prelude::*;

use super::super::cast;
use super::cell_math::multiversioned;
use super::{
    any_rank_values, gemm, primitive, primitive_values, put, tensor, values, written_in_parts,
    zeros,
};
use crate::nn::GateWeights;

/// How the weight matrix is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `[out, input]`, PyTorch's (an LSTM's `W_ih`): the product is `x · Wᵀ`.
    OutIn,
    /// `[input, out]`, Burn's `Linear`: the product is `x · W`.
    InOut,
}

/// Sizes of one product `[rows, input] · [input, out]`, and the weight's layout.
#[derive(Debug, Clone, Copy)]
struct Dims {
    rows: usize,
    input: usize,
    out: usize,
    layout: Layout,
}

impl Dims {
    /// Strides `(row, column)` that read the weight as the `[input, out]` matrix of the product.
    fn w_in_out(&self) -> (usize, usize) {
        match self.layout {
            Layout::OutIn => (1, self.input),
            Layout::InOut => (self.out, 1),
        }
    }

    /// The weight's shape as stored.
    fn w_shape(&self) -> [usize; 2] {
        match self.layout {
            Layout::OutIn => [self.out, self.input],
            Layout::InOut => [self.input, self.out],
        }
    }
}

/// Runs `f(first_row, block)` on blocks of whole rows of `out` (rows of `width` values), one
/// block per rayon thread.
fn by_row_blocks(out: &mut [f32], width: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = out.len() / width;
    let per = rows.div_ceil(rayon::current_num_threads().max(1)).max(1);
    out.par_chunks_mut(per * width)
        .enumerate()
        .for_each(|(k, block)| f(k * per, block));
}

/// `x [rows, input] · W + b1 + b2`, `W` read from `w` as `d.layout` says. Each thread writes
/// the bias into its rows and adds the product: no zeros written first (the LSTM's input
/// products, 5.7 MB a layer and batch for MNIST-LSTM).
fn forward(x: &[f32], w: &[f32], b1: &[f32], b2: &[f32], d: Dims) -> Vec<f32> {
    let bias = summed(b1, b2);
    let rows = |at: usize, part: &mut [MaybeUninit<f32>]| {
        for row in part.chunks_exact_mut(d.out) {
            put(row, &bias);
        }
        // SAFETY: the loop above wrote every value of `part` (a whole number of rows).
        let block = unsafe { &mut *(part as *mut [MaybeUninit<f32>] as *mut [f32]) };
        let x = &x[at / d.out * d.input..];
        let m = block.len() / d.out;
        gemm(
            m,
            d.input,
            d.out,
            x,
            (d.input, 1),
            w,
            d.w_in_out(),
            true,
            block,
            d.out,
        );
    };
    // SAFETY: `rows` writes every value of its part.
    unsafe { written_in_parts(d.rows * d.out, d.out, rows) }
}

/// The gradient of `x` from that of the output, `g` `[rows, out]`: `g · Wᵀ`, by blocks of rows.
fn input_grad(g: &[f32], w: &[f32], d: Dims) -> Vec<f32> {
    let mut d_x = zeros(d.rows * d.input);
    let (rs, cs) = d.w_in_out();
    by_row_blocks(&mut d_x, d.input, |first, block| {
        let g = &g[first * d.out..];
        let m = block.len() / d.input;
        gemm(
            m,
            d.out,
            d.input,
            g,
            (d.out, 1),
            w,
            (cs, rs),
            false,
            block,
            d.input,
        );
    });
    d_x
}

/// The gradient of `w` (in its layout) from that of the output, `g` `[rows, out]`.
fn weight_grad(g: &[f32], x: &[f32], d: Dims) -> Vec<f32> {
    // d w as stored: gᵀ · x (`[out, input]`) or xᵀ · g (`[input, out]`), by blocks of its rows;
    // `a` is the matrix read transposed (element (j, r) at r·a_cols + j).
    let [w_rows, w_cols] = d.w_shape();
    let (a, a_cols, b) = match d.layout {
        Layout::OutIn => (g, d.out, x),
        Layout::InOut => (x, d.input, g),
    };
    let mut d_w = zeros(w_rows * w_cols);
    by_row_blocks(&mut d_w, w_cols, |first, block| {
        let m = block.len() / w_cols;
        gemm(
            m,
            d.rows,
            w_cols,
            &a[first..],
            (1, a_cols),
            b,
            (w_cols, 1),
            false,
            block,
            w_cols,
        );
    });
    d_w
}

/// The gradient of each bias from that of the output, `g` `[rows, out]`: its column sums, by
/// blocks of columns, each summed row after row ([`column_sums`]).
fn bias_grad(g: &[f32], d: Dims) -> Vec<f32> {
    let mut d_b = vec![0.0; d.out];
    by_row_blocks(&mut d_b, 1, |first, sums| {
        column_sums(g, d.out, first, sums)
    });
    d_b
}

multiversioned! {
    /// `sums[j] += g[r][first + j]` for every row `r` of `g` (rows of `width`), in order: each
    /// sum's order is the rows', whatever the instruction set, so every version gives the same
    /// bits; with AVX-512, 16 columns an instruction instead of the baseline's 4 (the LSTMs'
    /// `[T·B, 4H]` gradients: a quarter fewer samples in this loop over an `mnist-lstm` epoch).
    fn column_sums / column_sums_baseline(g: &[f32], width: usize, first: usize, sums: &mut [f32]) {
        for row in g.chunks_exact(width) {
            for (sum, v) in sums.iter_mut().zip(&row[first..]) {
                *sum += v;
            }
        }
    }
}

/// `x_t · W_ihᵀ + b_ih + b_hh` for every step, `[T, B, gates·H]` from `x` `[T, B, input]`, with
/// only the first `hh_gates` gates of `b_hh` (the LSTM adds all four, the GRU r and z: its `b_hn`
/// goes inside the reset product); call only on this route of [`super::super::route`]
/// (`autodiff`: `Autodiff<NdArray>`).
pub(crate) fn input_gates<B: Backend>(
    autodiff: bool,
    weights: &GateWeights<B>,
    x: Tensor<B, 3>,
    hh_gates: usize,
) -> Tensor<B, 3> {
    let [seq, batch, input] = x.dims();
    let w = weights.weight_ih.val();
    let out = w.dims()[0];
    let [b1, b2] = gate_biases(weights, hh_gates);
    let d = Dims {
        rows: seq * batch,
        input,
        out,
        layout: Layout::OutIn,
    };
    product(autodiff, x, w, b1, b2, d)
}

/// The bias [`input_gates`] adds, `b_ih + b_hh` (`hh_gates` gates of `b_hh`), as its values,
/// summed as it sums them: for a recurrence on `NdArray` that makes each step's input part
/// itself ([`super::lstm::layer`]).
pub(crate) fn input_bias<B: Backend>(weights: &GateWeights<B>, hh_gates: usize) -> Vec<f32> {
    let [b1, b2] = gate_biases(weights, hh_gates).map(|b| values::<1>(cast(b)));
    summed(&b1, &b2)
}

/// `b_ih` and `b_hh` with only its first `hh_gates` gates, zeros for a layer without bias.
fn gate_biases<B: Backend>(weights: &GateWeights<B>, hh_gates: usize) -> [Tensor<B, 1>; 2] {
    let w = weights.weight_ih.val();
    let (out, device) = (w.dims()[0], w.device());
    let zeros = || Tensor::zeros([out], &device);
    let b1 = (weights.bias_ih.as_ref()).map_or_else(zeros, |b| b.val());
    let b2 = (weights.folded_bias_hh(hh_gates)).unwrap_or_else(zeros);
    [b1, b2]
}

/// `b1 + b2`, value by value.
fn summed(b1: &[f32], b2: &[f32]) -> Vec<f32> {
    b1.iter().zip(b2).map(|(a, b)| a + b).collect()
}

/// `x · weight + bias` of Burn's `Linear` (`weight [input, out]`) over the last axis of `x`; call
/// only on this route of [`super::super::route`] (`autodiff`: `Autodiff<NdArray>`).
pub(crate) fn linear<B: Backend, const D: usize>(
    autodiff: bool,
    x: Tensor<B, D>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, D> {
    let shape = x.dims();
    let [input, out] = weight.dims();
    assert_eq!(
        shape[D - 1],
        input,
        "linear: the input's last axis has {} values, the layer expects {input}",
        shape[D - 1]
    );
    let rows = shape[..D - 1].iter().product();
    let device = x.device();
    let bias = bias.unwrap_or_else(|| Tensor::zeros([out], &device));
    let d = Dims {
        rows,
        input,
        out,
        layout: Layout::InOut,
    };
    product(autodiff, x, weight, bias, Tensor::zeros([out], &device), d)
}

/// The operation on the generic backend: `x [.., input]` (`rows` rows in all) → `[.., out]`.
/// `x` goes in as it is: a strided one (the batch-first input of an LSTM, swapped to time-major)
/// is read by [`primitive_values`], faster than by Burn's reshape. The output is made in its final
/// shape: Burn's ndarray reshape copies the whole tensor, even a contiguous one.
fn product<B: Backend, const D: usize>(
    autodiff: bool,
    x: Tensor<B, D>,
    w: Tensor<B, 2>,
    b1: Tensor<B, 1>,
    b2: Tensor<B, 1>,
    d: Dims,
) -> Tensor<B, D> {
    if !autodiff {
        let (x, w, b1, b2): (
            Tensor<NdArray, D>,
            Tensor<NdArray, 2>,
            Tensor<NdArray, 1>,
            Tensor<NdArray, 1>,
        ) = (cast(x), cast(w), cast(b1), cast(b2));
        let shape = out_shape(&x.dims(), d.out);
        let y = forward(&values(x), &values(w), &values(b1), &values(b2), d);
        cast(tensor(y, shape))
    } else {
        cast(tracked::<D>(cast(x), cast(w), cast(b1), cast(b2), d))
    }
}

/// The shape of the product of `x` (`x_shape`, `[.., input]`): `[.., out]`.
fn out_shape<const D: usize>(x_shape: &[usize; D], out: usize) -> [usize; D] {
    let mut shape = *x_shape;
    shape[D - 1] = out;
    shape
}

fn tracked<const D: usize>(
    x: Tensor<Autodiff<NdArray>, D>,
    w: Tensor<Autodiff<NdArray>, 2>,
    b1: Tensor<Autodiff<NdArray>, 1>,
    b2: Tensor<Autodiff<NdArray>, 1>,
    d: Dims,
) -> Tensor<Autodiff<NdArray>, D> {
    let [x, w, b1, b2] = [
        x.into_primitive().tensor(),
        w.into_primitive().tensor(),
        b1.into_primitive().tensor(),
        b2.into_primitive().tensor(),
    ];
    let nodes = [&x, &w, &b1, &b2].map(|t| t.node.clone());
    let x_shape = x.primitive.shape();
    let xs = primitive_values::<D>(x.primitive);
    let ws = primitive_values::<2>(w.primitive);
    let b1 = primitive_values::<1>(b1.primitive);
    let b2 = primitive_values::<1>(b2.primitive);
    let shape = out_shape(&x_shape.dims::<D>(), d.out);
    let y = primitive(forward(&xs, &ws, &b1, &b2, d), shape);
    let output = match ProductBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let saved = Saved {
                x: xs,
                x_shape,
                w: ws,
                d,
            };
            prep.finish(Arc::new(saved), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[derive(Debug)]
struct Saved {
    x: Vec<f32>,
    /// `x`'s shape, `[.., input]`, for its gradient.
    x_shape: burn::tensor::Shape,
    w: Vec<f32>,
    d: Dims,
}

/// The autodiff node; its parents are `x`, the weight and the two biases (`W_ih`, `b_ih`, `b_hh`
/// of an LSTM; a `Linear`'s weight, its bias and a constant zero).
#[derive(Debug)]
struct ProductBackward;

impl Backward<NdArray, 4> for ProductBackward {
    type State = Arc<Saved>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved = ops.state;
        let d = saved.d;
        let grad = any_rank_values(grads.consume::<NdArray>(&ops.node));
        // Only the gradients some parent takes: not `x`'s of a model's first layer (its input,
        // 2% of the MNIST-LSTM step's products), nor a frozen weight's.
        let [p_x, p_w, p_b1, p_b2] = ops.parents;
        if let Some(node) = p_x {
            let d_x = input_grad(&grad, &saved.w, d);
            grads.register::<NdArray>(node.id, primitive(d_x, saved.x_shape.clone()));
        }
        if let Some(node) = p_w {
            let d_w = weight_grad(&grad, &saved.x, d);
            grads.register::<NdArray>(node.id, primitive(d_w, d.w_shape()));
        }
        if p_b1.is_some() || p_b2.is_some() {
            let d_b = bias_grad(&grad, d);
            for node in [p_b1, p_b2].into_iter().flatten() {
                grads.register::<NdArray>(node.id, primitive(d_b.clone(), [d.out]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tolerance};

    use super::*;

    type T = Autodiff<NdArray>;

    /// The fused product and the tensor operations give the same output and the same gradients
    /// of `x`, `W_ih` and both biases, on sizes that do not divide among the threads.
    #[test]
    fn agrees_with_tensor_operations_forward_and_backward() {
        let device = Default::default();
        let (seq, batch, input, out) = (5, 7, 9, 12);
        let init = burn::nn::Initializer::Uniform {
            min: -0.5,
            max: 0.5,
        };
        let weights = GateWeights::<T>::new(input, out / 4, 4, true, &init, &device);
        let x = Tensor::<T, 3>::random([seq, batch, input], Distribution::Default, &device)
            .require_grad();
        let upstream = Tensor::<T, 3>::random([seq, batch, out], Distribution::Default, &device);

        let fused = input_gates(true, &weights, x.clone(), 4);
        let reference = {
            let y = weights.input_part(x.clone().reshape([seq * batch, input]));
            let y = y + weights.bias_hh.as_ref().unwrap().val().unsqueeze();
            y.reshape([seq, batch, out])
        };
        let tolerance = Tolerance::absolute(1e-5);
        fused
            .clone()
            .into_data()
            .assert_approx_eq::<f32>(&reference.clone().into_data(), tolerance);

        let grads_fused = (fused * upstream.clone()).sum().backward();
        let grads_ref = (reference * upstream).sum().backward();
        let grad_of = |grads: &<T as burn::tensor::backend::AutodiffBackend>::Gradients| {
            vec![
                x.grad(grads).unwrap().into_data(),
                weights.weight_ih.val().grad(grads).unwrap().into_data(),
                weights
                    .bias_ih
                    .as_ref()
                    .unwrap()
                    .val()
                    .grad(grads)
                    .unwrap()
                    .into_data(),
                weights
                    .bias_hh
                    .as_ref()
                    .unwrap()
                    .val()
                    .grad(grads)
                    .unwrap()
                    .into_data(),
            ]
        };
        for (a, b) in grad_of(&grads_fused).iter().zip(grad_of(&grads_ref).iter()) {
            a.assert_approx_eq::<f32>(b, tolerance);
        }
    }

    /// Burn's `Linear` through the operation equals `Linear::forward`, output and the gradients of
    /// the input, weight and bias: a rank-3 input, a layer without bias, the `Col` weight layout.
    #[test]
    fn a_linear_layer_agrees_with_burns_forward_and_backward() {
        use burn::nn::{LinearConfig, LinearLayout};
        let device = Default::default();
        let tolerance = Tolerance::absolute(1e-5);
        // A `Col` layer's weight is a transposed view made at initialization, a node that keeps
        // no gradient of its own (in Burn's layers too): its forward pass only.
        for (layout, bias, gradients) in [
            (LinearLayout::Row, true, true),
            (LinearLayout::Row, false, true),
            (LinearLayout::Col, true, false),
        ] {
            let layer = LinearConfig::new(9, 13)
                .with_layout(layout)
                .with_bias(bias)
                .init::<T>(&device);
            let x =
                Tensor::<T, 3>::random([3, 7, 9], Distribution::Default, &device).require_grad();
            let upstream = Tensor::<T, 3>::random([3, 7, 13], Distribution::Default, &device);
            // Each graph built and run on its own: a backward pass frees the graph it ran through.
            // The reference: tensor operations, equal to `Linear::forward`.
            let (w, b) = (layer.weight.val(), layer.bias.as_ref().map(|b| b.val()));
            let product = x.clone().matmul(w.clone().unsqueeze::<3>());
            let reference = match &b {
                Some(b) => product + b.clone().unsqueeze::<3>(),
                None => product,
            };
            reference
                .clone()
                .into_data()
                .assert_approx_eq::<f32>(&layer.forward(x.clone()).into_data(), tolerance);
            let grads_ref = (reference.clone() * upstream.clone()).sum().backward();
            let ours = crate::nn::forward_linear(&layer, x.clone());
            ours.clone()
                .into_data()
                .assert_approx_eq::<f32>(&reference.into_data(), tolerance);
            let grads_ours = (ours * upstream).sum().backward();
            if !gradients {
                continue;
            }
            let pairs = [
                (
                    x.grad(&grads_ours).unwrap().into_data(),
                    x.grad(&grads_ref).unwrap().into_data(),
                ),
                (
                    w.grad(&grads_ours).unwrap().into_data(),
                    w.grad(&grads_ref).unwrap().into_data(),
                ),
            ];
            for (a, b) in &pairs {
                a.assert_approx_eq::<f32>(b, tolerance);
            }
            if let Some(b) = b {
                b.grad(&grads_ours)
                    .unwrap()
                    .into_data()
                    .assert_approx_eq::<f32>(&b.grad(&grads_ref).unwrap().into_data(), tolerance);
            }
        }
    }
}
