//! The input part of an LSTM layer's gates on the CPU, `x · W_ihᵀ + b_ih + b_hh` for every step at
//! once, as one operation with its own backward pass: the matrix products through `gemm` (whose
//! AVX-512 kernels Burn's ndarray matmul, `matrixmultiply`, does not have), the rows spread over
//! rayon's threads; one node in the autodiff graph instead of a matmul, two broadcast additions
//! and their gradients.
//!
//! [`super::lstm_cpu`]'s callers use it on `NdArray` and `Autodiff<NdArray>`; the LSTM parity
//! tests (PyTorch fixtures, forward and gradients) and the tests below hold it equal to the tensor
//! operations.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, NdArray};
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use rayon::prelude::*;

use super::cast;
use super::cpu::{self, gemm, primitive, primitive_values, tensor, values};
use super::rnn::GateWeights;

/// Sizes of one product `[rows, input] · [input, out]`.
#[derive(Debug, Clone, Copy)]
struct Dims {
    rows: usize,
    input: usize,
    out: usize,
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

/// `x [rows, input] · wᵀ + b1 + b2`, `w` `[out, input]`.
fn forward(x: &[f32], w: &[f32], b1: &[f32], b2: &[f32], d: Dims) -> Vec<f32> {
    let bias: Vec<f32> = b1.iter().zip(b2).map(|(a, b)| a + b).collect();
    let mut out = vec![0.0; d.rows * d.out];
    by_row_blocks(&mut out, d.out, |first, block| {
        for row in block.chunks_exact_mut(d.out) {
            row.copy_from_slice(&bias);
        }
        let x = &x[first * d.input..];
        // w read as wᵀ: element (i, o) at o·input + i.
        let m = block.len() / d.out;
        gemm(
            m,
            d.input,
            d.out,
            x,
            (d.input, 1),
            w,
            (1, d.input),
            true,
            block,
            d.out,
        );
    });
    out
}

/// Gradients of `x`, `w` and of each bias from that of the output, `g` `[rows, out]`.
fn backward(g: &[f32], x: &[f32], w: &[f32], d: Dims) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // d x = g · w, by blocks of rows.
    let mut d_x = vec![0.0; d.rows * d.input];
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
            (d.input, 1),
            false,
            block,
            d.input,
        );
    });
    // d w = gᵀ · x, by blocks of output rows.
    let mut d_w = vec![0.0; d.out * d.input];
    by_row_blocks(&mut d_w, d.input, |first, block| {
        // gᵀ from output row `first` on: element (o, r) at r·out + o.
        let g = &g[first..];
        let m = block.len() / d.input;
        gemm(
            m,
            d.rows,
            d.input,
            g,
            (1, d.out),
            x,
            (d.input, 1),
            false,
            block,
            d.input,
        );
    });
    // d b = the column sums of g (the same for both biases).
    let mut d_b = vec![0.0; d.out];
    for row in g.chunks_exact(d.out) {
        for (sum, v) in d_b.iter_mut().zip(row) {
            *sum += v;
        }
    }
    (d_x, d_w, d_b)
}

/// `x_t · W_ihᵀ + b_ih + b_hh` for every step, `[T, B, gates·H]` from `x` `[T, B, input]`; call
/// only where [`cpu::supported`]`::<B>` is true.
pub(crate) fn input_gates<B: Backend>(weights: &GateWeights<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    let [seq, batch, input] = x.dims();
    let w = weights.weight_ih.val();
    let out = w.dims()[0];
    let device = x.device();
    let bias = |b: &Option<Param<Tensor<B, 1>>>| {
        b.as_ref()
            .map_or_else(|| Tensor::zeros([out], &device), |b| b.val())
    };
    let (b1, b2) = (bias(&weights.bias_ih), bias(&weights.bias_hh));
    let x = x.reshape([seq * batch, input]);
    let d = Dims {
        rows: seq * batch,
        input,
        out,
    };
    let y: Tensor<B, 2> = if cpu::is_inference::<B>() {
        let (x, w, b1, b2): (
            Tensor<NdArray, 2>,
            Tensor<NdArray, 2>,
            Tensor<NdArray, 1>,
            Tensor<NdArray, 1>,
        ) = (cast(x), cast(w), cast(b1), cast(b2));
        let y = forward(&values(x), &values(w), &values(b1), &values(b2), d);
        cast(tensor(y, [d.rows, d.out]))
    } else {
        cast(tracked(cast(x), cast(w), cast(b1), cast(b2), d))
    };
    y.reshape([seq, batch, out])
}

fn tracked(
    x: Tensor<Autodiff<NdArray>, 2>,
    w: Tensor<Autodiff<NdArray>, 2>,
    b1: Tensor<Autodiff<NdArray>, 1>,
    b2: Tensor<Autodiff<NdArray>, 1>,
    d: Dims,
) -> Tensor<Autodiff<NdArray>, 2> {
    let [x, w, b1, b2] = [
        x.into_primitive().tensor(),
        w.into_primitive().tensor(),
        b1.into_primitive().tensor(),
        b2.into_primitive().tensor(),
    ];
    let nodes = [&x, &w, &b1, &b2].map(|t| t.node.clone());
    let xs = primitive_values::<2>(x.primitive);
    let ws = primitive_values::<2>(w.primitive);
    let b1 = primitive_values::<1>(b1.primitive);
    let b2 = primitive_values::<1>(b2.primitive);
    let y = primitive(forward(&xs, &ws, &b1, &b2, d), [d.rows, d.out]);
    let output = match InputGatesBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(Arc::new(Saved { x: xs, w: ws, d }), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[derive(Debug)]
struct Saved {
    x: Vec<f32>,
    w: Vec<f32>,
    d: Dims,
}

/// The autodiff node; its parents are `x`, `W_ih`, `b_ih`, `b_hh`.
#[derive(Debug)]
struct InputGatesBackward;

impl Backward<NdArray, 4> for InputGatesBackward {
    type State = Arc<Saved>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved = ops.state;
        let d = saved.d;
        let grad = primitive_values::<2>(grads.consume::<NdArray>(&ops.node));
        let (d_x, d_w, d_b) = backward(&grad, &saved.x, &saved.w, d);
        let [p_x, p_w, p_b1, p_b2] = ops.parents;
        if let Some(node) = p_x {
            grads.register::<NdArray>(node.id, primitive(d_x, [d.rows, d.input]));
        }
        if let Some(node) = p_w {
            grads.register::<NdArray>(node.id, primitive(d_w, [d.out, d.input]));
        }
        if let Some(node) = p_b1 {
            grads.register::<NdArray>(node.id, primitive(d_b.clone(), [d.out]));
        }
        if let Some(node) = p_b2 {
            grads.register::<NdArray>(node.id, primitive(d_b, [d.out]));
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

        let fused = input_gates(&weights, x.clone());
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
}
