//! 2-d convolution (stride 1, no dilation, one group, zero padding) on the CPU as one operation
//! with its own backward pass: each thread unrolls a block of images side by side into one column
//! matrix (im2col) and multiplies it by the weight matrix; the backward pass multiplies back and
//! folds the columns into the input's gradient (col2im), and skips that half when the input needs
//! no gradient (a network's first layer). One node in the autodiff graph instead of an unfold into
//! `kh·kw` slices, a stack and layout copies as tensor operations.
//!
//! The operation can end with ReLU and max-pooling ([`Epilogue::ReluMaxPool`], the block of the
//! MNIST CNNs): computed on the convolution's output while it is still in cache, keeping only
//! where each window's maximum was for the backward pass, instead of Burn's separate ReLU and
//! `max_pool2d_with_indices` (with their 64-bit index tensors) and their gradients.
//!
//! [`crate::nn::forward_conv2d`] and [`crate::nn::forward_conv2d_relu_pool`] use it automatically on
//! `NdArray` and `Autodiff<NdArray>`; the tests hold it equal to Burn's own operations, forward
//! and gradients.

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

use super::super::cast;
use super::cell_math::multiversioned;
use super::pool::{NO_ARGMAX, Planes, relu_max_pool};
use super::{gemm, primitive, primitive_values, tensor, values, with_scratch, zeros};

/// What the operation applies to the convolution's output (bias included) before returning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Epilogue {
    /// Nothing: the convolution itself.
    Identity,
    /// ReLU, then max-pooling over `kernel` windows every `stride` pixels (no padding, no
    /// dilation; windows that do not fit are dropped, the floor mode of PyTorch and Burn).
    ReluMaxPool {
        /// Window height and width.
        kernel: [usize; 2],
        /// Step between windows, rows and columns.
        stride: [usize; 2],
    },
}

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
    epilogue: Epilogue,
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

    /// Height and width of what the operation returns: the convolution's, or the pooled one's.
    fn result_hw(&self) -> [usize; 2] {
        match self.epilogue {
            Epilogue::Identity => [self.out_h(), self.out_w()],
            Epilogue::ReluMaxPool { kernel, stride } => [
                (self.out_h().saturating_sub(kernel[0])) / stride[0] + 1,
                (self.out_w().saturating_sub(kernel[1])) / stride[1] + 1,
            ],
        }
    }

    /// The result's shape, `[N, O, H', W']`.
    fn result_shape(&self) -> [usize; 4] {
        let [h, w] = self.result_hw();
        [self.batch, self.out_channels, h, w]
    }

    /// Values of the result per image.
    fn result_image(&self) -> usize {
        let [_, o, h, w] = self.result_shape();
        o * h * w
    }

    /// Images unrolled at a time within a block: as many as keep the column matrix within
    /// [`CHUNK_VALUES`], so that it is still in cache when the product reads it (and, in the
    /// backward pass, the columns' gradient when col2im folds it). Unrolling a whole block at once
    /// made `small-cnn`'s second layer a 10 MB column matrix per thread, written, zeroed and read
    /// back from memory.
    fn chunk(&self) -> usize {
        (CHUNK_VALUES / (self.taps() * self.pixels()).max(1)).max(1)
    }

    /// The row length of the column matrix and the convolution output of a chunk of `c` images:
    /// their `c·OH·OW` columns rounded up to 16 (AVX-512's 16 values), which lets gemm multiply
    /// the columns where they are instead of first copying them into its own layout (a quarter
    /// of `small-cnn`'s forward products on a Xeon).
    fn ld(&self, c: usize) -> usize {
        (c * self.pixels()).next_multiple_of(16)
    }

    /// The images cut into one block per thread.
    fn blocks(&self) -> Vec<Range<usize>> {
        let n = rayon::current_num_threads().min(self.batch).max(1);
        (0..n)
            .map(|k| k * self.batch / n..(k + 1) * self.batch / n)
            .collect()
    }

    /// Height and width of an image with its padding.
    fn padded_hw(&self) -> [usize; 2] {
        [
            self.height + self.padding[0] + self.padding[2],
            self.width + self.padding[1] + self.padding[3],
        ]
    }

    /// A thread's scratch image `[C, H + top + bottom, W + left + right]`, zero, for [`im2col`]
    /// and [`col2im`]; empty when there is no padding (they then read and write the image
    /// itself).
    fn padded_scratch(&self) -> Vec<f32> {
        let [ph, pw] = self.padded_hw();
        let len = if self.padding == [0; 4] {
            0
        } else {
            self.channels * ph * pw
        };
        vec![0.0; len]
    }

    /// Where each row of the image (channel by channel, top to bottom) starts in its padded copy.
    fn padded_rows(&self) -> impl Iterator<Item = usize> {
        let ([ph, pw], [top, left, ..]) = (self.padded_hw(), self.padding);
        let (channels, height) = (self.channels, self.height);
        (0..channels).flat_map(move |c| (0..height).map(move |y| (c * ph + y + top) * pw + left))
    }
}

/// `dst = src[..dst.len()]` for the short rows of an image (a few to a few dozen values): whole
/// 8-value blocks, then one last block that ends with the row and overlaps the one before, each a
/// fixed-size copy the compiler writes out; a `copy_from_slice` of a length known only at run time
/// is a call into the C library, and small-cnn's second layer makes 5,600 of them an image.
#[inline(always)]
fn copy_row(dst: &mut [f32], src: &[f32]) {
    const BLOCK: usize = 8;
    let n = dst.len();
    let src = &src[..n];
    if n < BLOCK {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
        return;
    }
    for k in (0..n - BLOCK).step_by(BLOCK) {
        dst[k..k + BLOCK].copy_from_slice(&src[k..k + BLOCK]);
    }
    dst[n - BLOCK..].copy_from_slice(&src[n - BLOCK..]);
}

/// `image [C, H, W]` → its `OH·OW` columns of `cols`, whose rows (`C·kh·kw` of them, zero where a
/// tap falls in the padding) start every `ld` values. With padding, the image is first copied into
/// the middle of `padded` ([`Dims::padded_scratch`], whose border stays zero), so that every row of
/// a column is one plain copy, without a test or a fill for the border.
#[inline(always)]
fn im2col(image: &[f32], d: &Dims, padded: &mut [f32], cols: &mut [f32], ld: usize) {
    if d.pixels() == 0 {
        return;
    }
    let source: &[f32] = if padded.is_empty() {
        image
    } else {
        for (row, at) in image.chunks_exact(d.width).zip(d.padded_rows()) {
            copy_row(&mut padded[at..][..d.width], row);
        }
        padded
    };
    let [ph, pw] = d.padded_hw();
    let (ow, p) = (d.out_w(), d.pixels());
    for c in 0..d.channels {
        for i in 0..d.kh {
            for j in 0..d.kw {
                let row = &mut cols[((c * d.kh + i) * d.kw + j) * ld..][..p];
                let taps = &source[(c * ph + i) * pw + j..];
                for (oy, out) in row.chunks_exact_mut(ow).enumerate() {
                    copy_row(out, &taps[oy * pw..]);
                }
            }
        }
    }
}

multiversioned! {
    /// The adjoint of [`im2col`]: `image [C, H, W]` (zero on entry) gets the sum of the `OH·OW`
    /// columns of `cols` (rows every `ld` values) that read each of its values. With padding, the
    /// sums are made in `padded` and its middle copied out.
    fn col2im / col2im_baseline(cols: &[f32], d: &Dims, ld: usize, padded: &mut [f32], image: &mut [f32]) {
        if d.pixels() == 0 {
            return;
        }
        let [ph, pw] = d.padded_hw();
        let (ow, p) = (d.out_w(), d.pixels());
        let target: &mut [f32] = if padded.is_empty() {
            &mut *image
        } else {
            padded.fill(0.0);
            &mut *padded
        };
        for c in 0..d.channels {
            for i in 0..d.kh {
                for j in 0..d.kw {
                    let row = &cols[((c * d.kh + i) * d.kw + j) * ld..][..p];
                    let taps = &mut target[(c * ph + i) * pw + j..];
                    for (oy, g) in row.chunks_exact(ow).enumerate() {
                        for (v, g) in taps[oy * pw..][..ow].iter_mut().zip(g) {
                            *v += g;
                        }
                    }
                }
            }
        }
        if !padded.is_empty() {
            for (row, at) in image.chunks_exact_mut(d.width).zip(d.padded_rows()) {
                copy_row(row, &padded[at..]);
            }
        }
    }
}

multiversioned! {
    /// Images `first..first + c` of `x` unrolled side by side into `cols` (rows of `ld`, the
    /// columns past theirs zero), one [`im2col`] each; with AVX-512, its short row copies take
    /// half the instructions.
    fn unroll / unroll_baseline(
        x: &[f32],
        d: &Dims,
        first: usize,
        c: usize,
        padded: &mut [f32],
        cols: &mut [f32],
        ld: usize,
    ) {
        let p = d.pixels();
        for k in 0..c {
            let image = &x[(first + k) * d.image()..][..d.image()];
            im2col(image, d, padded, &mut cols[k * p..], ld);
        }
        for row in cols[..d.taps() * ld].chunks_exact_mut(ld) {
            row[c * p..].fill(0.0);
        }
    }
}

multiversioned! {
    /// Row `r` of `y` (rows of `ld`) set to `values[r]`: the bias a chunk's product adds to
    /// (AVX-512 stores where the CPU has them; the baseline's were 16 bytes).
    fn fill_rows / fill_rows_baseline(y: &mut [f32], ld: usize, values: &[f32]) {
        for (row, v) in y.chunks_exact_mut(ld).zip(values) {
            row.fill(*v);
        }
    }
}

/// `sums[r] += Σ_j rows[r][j]` for the rows of `rows` (of `ld` values), each summed left to
/// right from `-0.0` as `Iterator::sum` sums it, so with its bits: eight rows side by side, so
/// that eight sums advance together instead of each waiting on its last addition (a
/// convolution's bias gradient sums 600 to 10,000 values a channel and chunk of images).
fn add_row_sums(rows: &[f32], ld: usize, sums: &mut [f32]) {
    const ROWS: usize = 8;
    let done = sums.len() / ROWS * ROWS;
    for (sums, rows) in sums
        .chunks_exact_mut(ROWS)
        .zip(rows.chunks_exact(ROWS * ld))
    {
        let rows: [&[f32]; ROWS] = std::array::from_fn(|k| &rows[k * ld..][..ld]);
        let mut acc = [-0.0f32; ROWS];
        for j in 0..ld {
            for (a, row) in acc.iter_mut().zip(rows) {
                *a += row[j];
            }
        }
        for (sum, a) in sums.iter_mut().zip(acc) {
            *sum += a;
        }
    }
    for (sum, row) in sums[done..]
        .iter_mut()
        .zip(rows[done * ld..].chunks_exact(ld))
    {
        *sum += row.iter().sum::<f32>();
    }
}

/// The most values of a column matrix [`Dims::chunk`] unrolls at a time (1 MiB of `f32`).
const CHUNK_VALUES: usize = 1 << 18;

/// What the forward pass keeps of one block of images for the backward one (which unrolls the
/// images again, chunk by chunk, rather than keep their column matrix).
#[derive(Debug)]
struct Block {
    images: Range<usize>,
    /// For [`Epilogue::ReluMaxPool`], per pooled value (in the result's order): where in its
    /// chunk's `[O, c·OH·OW]` convolution output (`c` images, [`Dims::chunk`]) its maximum was,
    /// or [`NO_ARGMAX`].
    argmax: Vec<u32>,
}

/// Splits `values` into the consecutive parts of `blocks` of images, `per_image` values each.
fn split_by_images<'a>(
    mut values: &'a mut [f32],
    blocks: &[Range<usize>],
    per_image: usize,
) -> Vec<&'a mut [f32]> {
    blocks
        .iter()
        .map(|images| {
            let (head, tail) = std::mem::take(&mut values).split_at_mut(images.len() * per_image);
            values = tail;
            head
        })
        .collect()
}

/// `x [N, C, H, W]`, `w [O, C, kh, kw]`, `bias [O]` → the result `[N, O, H', W']` (the
/// convolution, or its pooled ReLU), and what the backward pass needs when `save`.
///
/// Each thread takes a block of images and goes through it a chunk at a time ([`Dims::chunk`]):
/// unrolls the chunk's images side by side into one column matrix `[C·kh·kw, c·OH·OW]`,
/// multiplies it by the weight matrix in one product, and writes its part of the result.
fn forward(x: &[f32], w: &[f32], bias: &[f32], d: &Dims, save: bool) -> (Vec<f32>, Vec<Block>) {
    let (taps, p, o) = (d.taps(), d.pixels(), d.out_channels);
    let per_image = d.result_image();
    let mut out = zeros(d.batch * per_image);
    let blocks = d.blocks();
    let parts = split_by_images(&mut out, &blocks, per_image);
    let chunk = d.chunk();
    assert!(
        o * d.ld(chunk) < NO_ARGMAX as usize,
        "conv2d: chunk too large"
    );
    let pooled = matches!(d.epilogue, Epilogue::ReluMaxPool { .. });
    let saved: Vec<Block> = blocks
        .into_par_iter()
        .zip(parts)
        .map(|(images, out)| {
            let m = images.len();
            let mut argmax = vec![NO_ARGMAX; if save && pooled { out.len() } else { 0 }];
            let mut padded = d.padded_scratch();
            let n = d.ld(chunk.min(m));
            with_scratch([taps * n, o * n], |[cols, y]| {
                for k0 in (0..m).step_by(chunk) {
                    let (c, first) = (chunk.min(m - k0), images.start + k0);
                    let ld = d.ld(c);
                    unroll(x, d, first, c, &mut padded, cols, ld);
                    let y = &mut y[..o * ld];
                    fill_rows(y, ld, bias);
                    gemm(o, taps, ld, w, (taps, 1), cols, (ld, 1), true, y, ld);
                    let out = &mut out[k0 * per_image..(k0 + c) * per_image];
                    match d.epilogue {
                        Epilogue::Identity => {
                            for k in 0..c {
                                for ch in 0..o {
                                    out[(k * o + ch) * p..][..p]
                                        .copy_from_slice(&y[ch * ld + k * p..][..p]);
                                }
                            }
                        }
                        Epilogue::ReluMaxPool { kernel, stride } => {
                            let span = k0 * per_image..(k0 + c) * per_image;
                            let argmax = argmax.get_mut(span).unwrap_or_default();
                            let planes = Planes {
                                y,
                                ld,
                                m: c,
                                out_channels: o,
                                hw: [d.out_h(), d.out_w()],
                            };
                            relu_max_pool(&planes, [kernel, stride], d.result_hw(), out, argmax);
                        }
                    }
                }
            });
            Block { images, argmax }
        })
        .collect();
    (out, saved)
}

/// Which of the operation's inputs need a gradient: `x`, `w`, `bias`.
type Needed = [bool; 3];

/// Gradients of `x` (when needed; zeros otherwise), `w` and `bias` from that of the result,
/// chunk by chunk as [`forward`] went.
fn backward(
    blocks: &[Block],
    x: &[f32],
    w: &[f32],
    d: &Dims,
    grad: &[f32],
    [need_x, need_w, need_b]: Needed,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (taps, p, o) = (d.taps(), d.pixels(), d.out_channels);
    let per_image = d.result_image();
    let chunk = d.chunk();
    let mut d_x = zeros(if need_x { d.batch * d.image() } else { 0 });
    let ranges: Vec<Range<usize>> = blocks.iter().map(|b| b.images.clone()).collect();
    let parts = split_by_images(&mut d_x, &ranges, if need_x { d.image() } else { 0 });
    let partial: Vec<(Vec<f32>, Vec<f32>)> = blocks
        .par_iter()
        .zip(parts)
        .map(|(block, d_x)| {
            let m = block.images.len();
            // dW transposed, `[C·kh·kw, O]`: so gemm reads the columns in place (it would copy
            // them into its own layout for `[O, C·kh·kw]`, a third of that product's time).
            let mut d_w_t = vec![0.0f32; if need_w { o * taps } else { 0 }];
            let mut d_b = vec![0.0f32; if need_b { o } else { 0 }];
            // Two scratch images: col2im leaves sums in the border that im2col needs zero.
            let (mut padded, mut padded_grad) = (d.padded_scratch(), d.padded_scratch());
            let n = d.ld(chunk.min(m));
            let lens = [
                o * n + 1,
                if need_w { taps * n } else { 0 },
                if need_x { taps * n } else { 0 },
            ];
            with_scratch(lens, |[dy, cols, d_cols]| {
                for k0 in (0..m).step_by(chunk) {
                    let (c, first) = (chunk.min(m - k0), block.images.start + k0);
                    let ld = d.ld(c);
                    let span = k0 * per_image..(k0 + c) * per_image;
                    let g = &grad[(block.images.start * per_image)..][span.clone()];
                    // The gradient of the chunk's convolution output, [O, c·OH·OW].
                    // One value past the chunk's `[O, ld]`: where the pooling's gradient goes
                    // from windows without a maximum, read by nothing.
                    let (dy, sink) = (&mut dy[..=o * ld], o * ld);
                    dy.fill(0.0);
                    match d.epilogue {
                        Epilogue::Identity => {
                            for k in 0..c {
                                for ch in 0..o {
                                    dy[ch * ld + k * p..][..p]
                                        .copy_from_slice(&g[(k * o + ch) * p..][..p]);
                                }
                            }
                        }
                        Epilogue::ReluMaxPool { .. } => {
                            // Without a branch on whether the window had a maximum (about half
                            // of them had none, by ReLU's signs, and the branch mispredicted).
                            for (&at, &v) in block.argmax[span].iter().zip(g) {
                                dy[if at == NO_ARGMAX { sink } else { at as usize }] += v;
                            }
                        }
                    }
                    let dy = &dy[..sink];
                    if need_w {
                        // dWᵀ += cols · dYᵀ, the columns unrolled again.
                        unroll(x, d, first, c, &mut padded, cols, ld);
                        gemm(taps, ld, o, cols, (ld, 1), dy, (1, ld), true, &mut d_w_t, o);
                    }
                    if need_b {
                        add_row_sums(dy, ld, &mut d_b);
                    }
                    if need_x {
                        // dcols = Wᵀ · dY, folded back into the images.
                        let d_cols = &mut d_cols[..taps * ld];
                        gemm(taps, o, ld, w, (1, taps), dy, (ld, 1), false, d_cols, ld);
                        let images = &mut d_x[k0 * d.image()..(k0 + c) * d.image()];
                        for (k, image) in images.chunks_exact_mut(d.image()).enumerate() {
                            col2im(&d_cols[k * p..], d, ld, &mut padded_grad, image);
                        }
                    }
                }
            });
            (d_w_t, d_b)
        })
        .collect();
    let mut d_w_t = vec![0.0f32; o * taps];
    let mut d_b = vec![0.0f32; o];
    for (bw, bb) in partial {
        d_w_t.iter_mut().zip(&bw).for_each(|(s, v)| *s += v);
        d_b.iter_mut().zip(&bb).for_each(|(s, v)| *s += v);
    }
    (d_x, transposed(&d_w_t, taps, o), d_b)
}

/// The convolution, then `epilogue`, on `NdArray` (`autodiff` false) or `Autodiff<NdArray>` (call
/// only where [`super::super::route`] gave this route); `bias` zeros when the layer has none.
pub(crate) fn conv2d<B: Backend>(
    autodiff: bool,
    input: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    padding: [usize; 4],
    epilogue: Epilogue,
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
        epilogue,
    };
    let bias = bias.unwrap_or_else(|| Tensor::zeros([out_channels], &input.device()));
    if !autodiff {
        let (x, w, b): (Tensor<NdArray, 4>, Tensor<NdArray, 4>, Tensor<NdArray, 1>) =
            (cast(input), cast(weight), cast(bias));
        let (out, _) = forward(&values(x), &values(w), &values(b), &d, false);
        cast(tensor(out, d.result_shape()))
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
    let shape = d.result_shape();
    let output = match ConvBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (out, blocks) = forward(&xs, &ws, &bs, &d, true);
            let saved = ConvSaved {
                blocks,
                x: xs,
                w: ws,
                d,
            };
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
    blocks: Vec<Block>,
    /// The input, unrolled again by the backward pass.
    x: Vec<f32>,
    w: Vec<f32>,
    d: Dims,
}

/// The autodiff node of one convolution (and its epilogue); its parents are the input, the
/// weight and the bias.
#[derive(Debug)]
struct ConvBackward;

impl Backward<NdArray, 3> for ConvBackward {
    type State = Arc<ConvSaved>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved = ops.state;
        let d = saved.d;
        let grad = grads.consume::<NdArray>(&ops.node);
        let grad = primitive_values::<4>(grad);
        let [p_x, p_w, p_b] = ops.parents;
        let needed = [p_x.is_some(), p_w.is_some(), p_b.is_some()];
        let (d_x, d_w, d_b) = backward(&saved.blocks, &saved.x, &saved.w, &d, &grad, needed);
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

/// `w` (`rows` × `cols`, row-major) transposed: a convolution's weight gradient from the
/// transposed one it accumulates. Transposed sixteen rows at a time, so that the rows being read
/// stay in the first-level cache while each row of the result is written in runs of sixteen.
fn transposed(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const BLOCK: usize = 16;
    let mut t = vec![0.0f32; w.len()];
    for first in (0..rows).step_by(BLOCK) {
        let block = &w[first * cols..(first + BLOCK).min(rows) * cols];
        for k in 0..cols {
            let out = &mut t[k * rows + first..][..block.len() / cols.max(1)];
            for (j, slot) in out.iter_mut().enumerate() {
                *slot = block[j * cols + k];
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocked transpose is the transpose, for sizes that are and are not multiples of its
    /// block.
    #[test]
    fn blocked_transpose_is_the_transpose() {
        for (rows, cols) in [(16, 4), (40, 10), (4 * 37, 37), (7, 1), (0, 3)] {
            let w: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
            let t = transposed(&w, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        t[c * rows + r],
                        w[r * cols + c],
                        "{rows}x{cols} at ({r}, {c})"
                    );
                }
            }
        }
    }

    /// The row sums side by side are `Iterator::sum`'s, bit for bit, for a whole group of eight
    /// rows and a partial one, added to what the sums held.
    #[test]
    fn row_sums_are_the_iterators_bit_for_bit() {
        let (rows, ld) = (11, 613);
        let values: Vec<f32> = (0..rows * ld)
            .map(|k| ((k * 7919) % 1009) as f32 / 37.0 - 13.0)
            .collect();
        let start: Vec<f32> = (0..rows).map(|r| r as f32 * 0.1).collect();
        let mut sums = start.clone();
        add_row_sums(&values, ld, &mut sums);
        let want: Vec<u32> = (values.chunks_exact(ld).zip(&start))
            .map(|(row, s)| (s + row.iter().sum::<f32>()).to_bits())
            .collect();
        assert_eq!(sums.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
    }
}
