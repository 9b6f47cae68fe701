//! 2-d convolution (stride 1, no dilation, one group, zero padding) on the CPU as one operation
//! with its own backward pass: each image unrolled into columns (im2col) and multiplied by the
//! weight matrix, the images spread over rayon's threads; the backward pass multiplies back and
//! folds the columns into the input's gradient (col2im). One node in the autodiff graph instead of
//! the `kh·kw` slices, the stack and the layout copies of [`super::conv2d_gemm`].
//!
//! [`super::forward_conv2d`] uses it automatically on `NdArray` and `Autodiff<NdArray>`;
//! the tests hold it equal to Burn's own convolution, forward and gradients.

use std::ops::Range;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use rayon::prelude::*;

use super::cast;
use super::cpu::{self, gemm, primitive, primitive_values, tensor, values};

/// Sizes of one convolution.
#[derive(Debug, Clone, Copy)]
struct Dims {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    out_channels: usize,
    kh: usize,
    kw: usize,
    /// top, left, bottom, right
    padding: [usize; 4],
}

impl Dims {
    fn out_h(&self) -> usize {
        self.height + self.padding[0] + self.padding[2] + 1 - self.kh
    }
    fn out_w(&self) -> usize {
        self.width + self.padding[1] + self.padding[3] + 1 - self.kw
    }
    /// Rows of the column matrix: `C·kh·kw`.
    fn taps(&self) -> usize {
        self.channels * self.kh * self.kw
    }
    /// Output pixels per channel.
    fn pixels(&self) -> usize {
        self.out_h() * self.out_w()
    }
    fn image(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The images cut into one block per thread.
    fn blocks(&self) -> Vec<std::ops::Range<usize>> {
        let n = rayon::current_num_threads().min(self.batch).max(1);
        (0..n)
            .map(|k| k * self.batch / n..(k + 1) * self.batch / n)
            .collect()
    }

    /// The input row that output row `oy` reads through kernel row `i`, if not in the padding.
    fn source_row(&self, i: usize, oy: usize) -> Option<usize> {
        (oy + i)
            .checked_sub(self.padding[0])
            .filter(|&y| y < self.height)
    }

    /// For kernel column `j`: the output columns `lo..hi` that read inside the input, and the
    /// input column that `lo` reads (output column `ox` reads `ox + j - left`).
    fn source_cols(&self, j: usize) -> (usize, usize, usize) {
        let left = self.padding[1];
        let lo = left.saturating_sub(j).min(self.out_w());
        let hi = (self.width + left)
            .saturating_sub(j)
            .min(self.out_w())
            .max(lo);
        (lo, hi, lo + j - left.min(lo + j))
    }
}

/// `image [C, H, W]` → `cols [C·kh·kw, OH·OW]` (zero where a tap falls in the padding).
fn im2col(image: &[f32], d: &Dims, cols: &mut [f32]) {
    let (oh, ow, p) = (d.out_h(), d.out_w(), d.pixels());
    for c in 0..d.channels {
        for i in 0..d.kh {
            for j in 0..d.kw {
                let row = &mut cols[((c * d.kh + i) * d.kw + j) * p..][..p];
                let (lo, hi, x0) = d.source_cols(j);
                for oy in 0..oh {
                    let out = &mut row[oy * ow..][..ow];
                    let Some(y) = d.source_row(i, oy) else {
                        out.fill(0.0);
                        continue;
                    };
                    let src = &image[(c * d.height + y) * d.width + x0..][..hi - lo];
                    out[..lo].fill(0.0);
                    out[lo..hi].copy_from_slice(src);
                    out[hi..].fill(0.0);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds `cols [C·kh·kw, OH·OW]` into `image [C, H, W]`.
fn col2im(cols: &[f32], d: &Dims, image: &mut [f32]) {
    let (oh, ow, p) = (d.out_h(), d.out_w(), d.pixels());
    for c in 0..d.channels {
        for i in 0..d.kh {
            for j in 0..d.kw {
                let row = &cols[((c * d.kh + i) * d.kw + j) * p..][..p];
                let (lo, hi, x0) = d.source_cols(j);
                for oy in 0..oh {
                    let Some(y) = d.source_row(i, oy) else {
                        continue;
                    };
                    let dst = &mut image[(c * d.height + y) * d.width + x0..][..hi - lo];
                    for (v, g) in dst.iter_mut().zip(&row[oy * ow + lo..oy * ow + hi]) {
                        *v += g;
                    }
                }
            }
        }
    }
}

/// The column matrices of a block of images, `[images, C·kh·kw, OH·OW]`, kept by the forward
/// pass for the backward one.
type Columns = Vec<(Range<usize>, Vec<f32>)>;

/// `x [N, C, H, W]`, `w [O, C, kh, kw]`, `bias [O]` → `[N, O, OH, OW]`, and the columns when
/// `save`.
fn forward(x: &[f32], w: &[f32], bias: &[f32], d: &Dims, save: bool) -> (Vec<f32>, Columns) {
    let (taps, p, o) = (d.taps(), d.pixels(), d.out_channels);
    let mut out = vec![0.0f32; d.batch * o * p];
    let per_block: Vec<_> = d
        .blocks()
        .into_par_iter()
        .map(|images| {
            let per_image = if save { images.len() } else { 1 };
            let mut cols = vec![0.0f32; per_image * taps * p];
            let mut block = vec![0.0f32; images.len() * o * p];
            for (k, n) in images.clone().enumerate() {
                let cols = &mut cols[if save { k } else { 0 } * taps * p..][..taps * p];
                im2col(&x[n * d.image()..][..d.image()], d, cols);
                let y = &mut block[k * o * p..][..o * p];
                for (ch, row) in y.chunks_exact_mut(p).enumerate() {
                    row.fill(bias[ch]);
                }
                gemm(o, taps, p, w, (taps, 1), cols, (p, 1), true, y, p);
            }
            (images, block, cols)
        })
        .collect();
    let mut columns = Vec::new();
    for (images, block, cols) in per_block {
        out[images.start * o * p..images.end * o * p].copy_from_slice(&block);
        if save {
            columns.push((images, cols));
        }
    }
    (out, columns)
}

/// Gradients of `x`, `w` and `bias` from `grad [N, O, OH, OW]`.
fn backward(
    columns: &Columns,
    w: &[f32],
    d: &Dims,
    grad: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (taps, p, o) = (d.taps(), d.pixels(), d.out_channels);
    let per_block: Vec<_> = columns
        .par_iter()
        .map(|(images, cols)| {
            let mut d_cols = vec![0.0f32; taps * p];
            let mut d_x = vec![0.0f32; images.len() * d.image()];
            let mut d_w = vec![0.0f32; o * taps];
            let mut d_b = vec![0.0f32; o];
            for (k, n) in images.clone().enumerate() {
                let dy = &grad[n * o * p..][..o * p];
                let cols = &cols[k * taps * p..][..taps * p];
                // dW += dY · colsᵀ
                gemm(o, p, taps, dy, (p, 1), cols, (1, p), true, &mut d_w, taps);
                for (b, row) in d_b.iter_mut().zip(dy.chunks_exact(p)) {
                    *b += row.iter().sum::<f32>();
                }
                // dcols = Wᵀ · dY, folded back into the image.
                gemm(taps, o, p, w, (1, taps), dy, (p, 1), false, &mut d_cols, p);
                col2im(&d_cols, d, &mut d_x[k * d.image()..][..d.image()]);
            }
            (images.clone(), d_x, d_w, d_b)
        })
        .collect();
    let mut d_x = vec![0.0f32; d.batch * d.image()];
    let mut d_w = vec![0.0f32; o * taps];
    let mut d_b = vec![0.0f32; o];
    for (images, bx, bw, bb) in per_block {
        d_x[images.start * d.image()..images.end * d.image()].copy_from_slice(&bx);
        d_w.iter_mut().zip(&bw).for_each(|(s, v)| *s += v);
        d_b.iter_mut().zip(&bb).for_each(|(s, v)| *s += v);
    }
    (d_x, d_w, d_b)
}

/// The convolution on `NdArray` / `Autodiff<NdArray>` (call only where
/// [`cpu::supported`]`::<B>` is true); `bias` zeros when the layer has none.
pub(crate) fn conv2d<B: Backend>(
    input: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    padding: [usize; 4],
) -> Tensor<B, 4> {
    let [batch, channels, height, width] = input.dims();
    let [out_channels, weight_channels, kh, kw] = weight.dims();
    assert_eq!(
        channels, weight_channels,
        "conv2d: input has {channels} channels, the weight expects {weight_channels}"
    );
    let d = Dims {
        batch,
        channels,
        height,
        width,
        out_channels,
        kh,
        kw,
        padding,
    };
    let bias = bias.unwrap_or_else(|| Tensor::zeros([out_channels], &input.device()));
    if cpu::is_inference::<B>() {
        let (x, w, b): (Tensor<NdArray, 4>, Tensor<NdArray, 4>, Tensor<NdArray, 1>) =
            (cast(input), cast(weight), cast(bias));
        let (out, _) = forward(&values(x), &values(w), &values(b), &d, false);
        cast(tensor(out, [batch, out_channels, d.out_h(), d.out_w()]))
    } else {
        cast(tracked(cast(input), cast(weight), cast(bias), d))
    }
}

fn tracked(
    x: Tensor<Autodiff<NdArray>, 4>,
    w: Tensor<Autodiff<NdArray>, 4>,
    b: Tensor<Autodiff<NdArray>, 1>,
    d: Dims,
) -> Tensor<Autodiff<NdArray>, 4> {
    let [x, w, b] = [
        x.into_primitive().tensor(),
        w.into_primitive().tensor(),
        b.into_primitive().tensor(),
    ];
    let nodes = [&x, &w, &b].map(|t| t.node.clone());
    let xs = primitive_values::<4>(x.primitive);
    let ws = primitive_values::<4>(w.primitive);
    let bs = primitive_values::<1>(b.primitive);
    let shape = [d.batch, d.out_channels, d.out_h(), d.out_w()];
    let output = match ConvBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (out, columns) = forward(&xs, &ws, &bs, &d, true);
            let saved = ConvSaved { columns, w: ws, d };
            prep.finish(Arc::new(saved), primitive(out, shape))
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(primitive(forward(&xs, &ws, &bs, &d, false).0, shape))
        }
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[derive(Debug)]
struct ConvSaved {
    columns: Columns,
    w: Vec<f32>,
    d: Dims,
}

/// The autodiff node of one convolution; its parents are the input, the weight and the bias.
#[derive(Debug)]
struct ConvBackward;

impl Backward<NdArray, 3> for ConvBackward {
    type State = Arc<ConvSaved>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved = ops.state;
        let d = saved.d;
        let grad = grads.consume::<NdArray>(&ops.node);
        let grad = primitive_values::<4>(grad);
        let (d_x, d_w, d_b) = backward(&saved.columns, &saved.w, &d, &grad);
        let [p_x, p_w, p_b] = ops.parents;
        if let Some(node) = p_x {
            let shape = [d.batch, d.channels, d.height, d.width];
            grads.register::<NdArray>(node.id, primitive(d_x, shape));
        }
        if let Some(node) = p_w {
            let shape = [d.out_channels, d.channels, d.kh, d.kw];
            grads.register::<NdArray>(node.id, primitive(d_w, shape));
        }
        if let Some(node) = p_b {
            grads.register::<NdArray>(node.id, primitive(d_b, [d.out_channels]));
        }
    }
}
