//! The LSTM recurrence on the CPU as one operation: the forward pass over every step of one layer
//! and direction in plain loops and matrix products, and its own backward pass (one node in the
//! autodiff graph instead of a dozen per step).
//!
//! [`crate::nn::Lstm`] uses it automatically on `NdArray` and `Autodiff<NdArray>` (the zoo's CPU
//! backend); every other backend runs the same math as ordinary tensor operations. The two are
//! held equal by the tests below and by the PyTorch fixtures (forward and gradients).
//!
//! Layout: time-major, row-major `f32`; `W_ih` `[4H, input]` and `W_hh` `[4H, H]` are PyTorch's,
//! gates i, f, g, o. A tracked pass gets the input part of every step's gates, `gates_x` `[T, B,
//! 4H]` = `x_t · W_ihᵀ + b_ih + b_hh`, from one matrix product over all steps made before as an
//! operation of its own ([`super::linear::input_gates`], whose node gives `x`, `W_ih` and the
//! biases their gradients); a pass that tracks nothing over a large batch makes each step's input
//! part inside the recurrence, into a buffer of the step alone ([`Input`]).

use std::mem::MaybeUninit;
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
use super::slabs::slabs;
use super::steps::{Dims, Panels, Parts, StepWeights, Unwritten, slab_rows, split_blocks};
use super::{
    SERIAL, gemm, linear, lstm_cell, primitive, primitive_values, put, put_zeros, tensor, values,
    with_scratch,
};
use crate::nn::GateWeights;

/// One layer and direction of [`crate::nn::Lstm`]: `x` `[T, B, input]` and the state `h0`, `c0`
/// `[B, H]` → outputs `[T, B, H]` (zero at padded steps) and the final `h`, `c`. Call only on
/// this route of [`super::super::route`] (`autodiff`: `Autodiff<NdArray>`).
pub(crate) fn layer<B: Backend>(
    autodiff: bool,
    weights: &GateWeights<B>,
    x: Tensor<B, 3>,
    [h0, c0]: [Tensor<B, 2>; 2],
    reverse: bool,
    lengths: Option<&[usize]>,
) -> (Tensor<B, 3>, [Tensor<B, 2>; 2]) {
    let [seq, batch, _] = x.dims();
    let w_hh = weights.weight_hh.val();
    let hidden = w_hh.dims()[1];
    let dims = Dims {
        seq,
        batch,
        hidden,
        reverse,
        lengths: lengths.map(<[usize]>::to_vec),
    };
    let packed: Tensor<B, 3> = if autodiff {
        let gates_x = linear::input_gates(true, weights, x, 4);
        cast(tracked(cast(gates_x), cast(w_hh), cast(h0), cast(c0), dims))
    } else {
        cast(plain(
            untracked_gates(weights, x),
            cast(w_hh),
            cast(h0),
            cast(c0),
            dims,
        ))
    };
    // Rows 0..T are the outputs, T the final h, T + 1 the final c; the outputs are cut last,
    // when the packed buffer is no longer shared and can be cut in place.
    let h = slabs(autodiff, packed.clone(), seq..seq + 1).squeeze_dim(0);
    let c = slabs(autodiff, packed.clone(), seq + 1..seq + 2).squeeze_dim(0);
    (slabs(autodiff, packed, 0..seq), [h, c])
}

/// A layer's input and what makes the input part of its gates from it, for a pass that tracks
/// nothing: each step writes `b_ih + b_hh`, then adds `x_t · W_ihᵀ`, into a buffer of its own
/// `[b, 4H]` per block, hot in cache for the step's recurrent product and cell, where the tracked
/// pass writes `[T, B, 4H]` (5.7 MB a layer for a batch of MNIST-LSTM) and reads it back. The
/// same operations in the same order as [`super::linear`]'s product over all steps (each row's
/// sum over the input is one kernel's, whatever the rows around it, [`Panels::product`]), so the
/// same bits as the tracked pass: a run's recorded test figures reproduce exactly.
struct Input {
    /// `[T, B, width]`
    x: Vec<f32>,
    width: usize,
    /// `W_ihᵀ` `[width, 4H]`.
    w_ih_t: Panels,
    /// `[4H]`
    bias: Vec<f32>,
}

impl Input {
    /// Step `t`'s input part of the gates of the first `active` of the sequences `rows` (of a
    /// batch of `batch`) into `gates` `[rows.len(), 4H]`.
    fn step(
        &self,
        t: usize,
        (rows, batch): (&Range<usize>, usize),
        active: usize,
        gates: &mut [f32],
    ) {
        let g4 = self.bias.len();
        for row in gates.chunks_exact_mut(g4).take(active) {
            row.copy_from_slice(&self.bias);
        }
        let x = &self.x[(t * batch + rows.start) * self.width..];
        match active {
            // The product over all steps never has a single row: sum it as the kernel does.
            1 => self.w_ih_t.row_as_kernel(x, true, gates),
            _ => (self.w_ih_t).product(active, x, self.width, true, gates, g4),
        }
    }
}

/// Where a forward pass's gate pre-activations come from.
enum Gates {
    /// `gates_x` `[T, B, 4H]`, made before; it becomes the saved activations.
    Made(Vec<f32>),
    /// Made step by step from the layer's input.
    Input(Input),
}

/// One block's gate pre-activations, step by step ([`forward_block`]).
enum BlockGates<'a> {
    /// Its rows of `gates_x` per step ([`split_blocks`]), where the activations are written.
    Made(Vec<&'a mut [f32]>),
    /// The layer's input, the block's sequences of the batch, and the buffer `[b, 4H]` where each
    /// step makes its gates.
    Input(&'a Input, (Range<usize>, usize), Vec<f32>),
}

impl BlockGates<'_> {
    /// Step `t`'s gates `[b, 4H]`, their input part there for the block's first `active`
    /// sequences.
    fn step(&mut self, t: usize, active: usize) -> &mut [f32] {
        match self {
            BlockGates::Made(acts) => acts[t],
            BlockGates::Input(input, (rows, batch), gates) => {
                input.step(t, (rows, *batch), active, gates);
                gates
            }
        }
    }
}

/// The gates of a pass that tracks nothing: made step by step ([`Input`]) when `[T, B, 4H]` is
/// a large buffer, else by one product over all steps, as the tracked pass makes them (the same
/// bits either way). A served sentence's buffer is a few kilobytes, less than building `W_ih`'s
/// panels costs: the tagger's lone client 1088–1144 requests/s with the product against 968–1007
/// with the panels for every request (`zoo bench --serve`, Xeon, alternated).
fn untracked_gates<B: Backend>(weights: &GateWeights<B>, x: Tensor<B, 3>) -> Gates {
    let [seq, batch, input] = x.dims();
    let g4 = weights.weight_ih.val().dims()[0];
    if seq * batch * g4 < SERIAL {
        let gates_x = linear::input_gates(false, weights, x, 4);
        return Gates::Made(values::<3>(cast(gates_x)));
    }
    let w_ih: Tensor<NdArray, 2> = cast(weights.weight_ih.val());
    Gates::Input(Input {
        x: values::<3>(cast(x)),
        width: input,
        w_ih_t: Panels::read(w_ih.into_primitive().tensor(), g4, input),
        bias: linear::input_bias(weights, 4),
    })
}

fn plain(
    gates: Gates,
    w_hh: Tensor<NdArray, 2>,
    h0: Tensor<NdArray, 2>,
    c0: Tensor<NdArray, 2>,
    dims: Dims,
) -> Tensor<NdArray, 3> {
    let (packed, _) = forward(
        gates,
        StepWeights::read(w_hh.into_primitive().tensor(), 4 * dims.hidden, dims.hidden),
        &values(h0),
        &values(c0),
        &dims,
        false,
    );
    tensor(packed, [dims.seq + 2, dims.batch, dims.hidden])
}

fn tracked(
    gates_x: Tensor<Autodiff<NdArray>, 3>,
    w_hh: Tensor<Autodiff<NdArray>, 2>,
    h0: Tensor<Autodiff<NdArray>, 2>,
    c0: Tensor<Autodiff<NdArray>, 2>,
    dims: Dims,
) -> Tensor<Autodiff<NdArray>, 3> {
    let [gates_x, w_hh, h0, c0] = [
        gates_x.into_primitive().tensor(),
        w_hh.into_primitive().tensor(),
        h0.into_primitive().tensor(),
        c0.into_primitive().tensor(),
    ];
    let nodes = [&gates_x, &w_hh, &h0, &c0].map(|t| t.node.clone());
    let run = |save| {
        forward(
            Gates::Made(primitive_values::<3>(gates_x.primitive)),
            StepWeights::of(w_hh.primitive, save, 4 * dims.hidden, dims.hidden),
            &primitive_values::<2>(h0.primitive),
            &primitive_values::<2>(c0.primitive),
            &dims,
            save,
        )
    };
    let shape = [dims.seq + 2, dims.batch, dims.hidden];
    let output = match RecurrenceBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (out, saved) = run(true);
            let saved = saved.unwrap_or_else(|| unreachable!("lstm_cpu: saved when asked"));
            prep.finish(Arc::new(saved), primitive(out, shape))
        }
        OpsKind::UnTracked(prep) => prep.finish(primitive(run(false).0, shape)),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

/// The autodiff node of one recurrence; its parents are `gates_x`, `w_hh`, `h0`, `c0`.
#[derive(Debug)]
struct RecurrenceBackward;

impl Backward<NdArray, 4> for RecurrenceBackward {
    type State = Arc<Saved>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved = ops.state;
        let grad = grads.consume::<NdArray>(&ops.node);
        let grad = primitive_values::<3>(grad);
        let Grads {
            gates_x,
            w_hh,
            h0,
            c0,
        } = backward(&saved, &grad);
        let Dims {
            seq, batch, hidden, ..
        } = saved.dims;
        let [p_gates_x, p_w_hh, p_h0, p_c0] = ops.parents;
        if let Some(node) = p_gates_x {
            grads.register::<NdArray>(node.id, primitive(gates_x, [seq, batch, 4 * hidden]));
        }
        if let Some(node) = p_w_hh {
            grads.register::<NdArray>(node.id, primitive(w_hh, [4 * hidden, hidden]));
        }
        if let Some(node) = p_h0 {
            grads.register::<NdArray>(node.id, primitive(h0, [batch, hidden]));
        }
        if let Some(node) = p_c0 {
            grads.register::<NdArray>(node.id, primitive(c0, [batch, hidden]));
        }
    }
}

/// What the backward pass needs from the forward one, all `[T, B, ..]` (time-major, as the
/// forward pass wrote them).
#[derive(Debug)]
struct Saved {
    dims: Dims,
    /// The blocks of sequences the forward pass ran (one per thread).
    blocks: Vec<Range<usize>>,
    /// `W_hh` `[4H, H]`.
    w_hh: Panels,
    /// `[T, B, 4H]`: the gate activations i, f, g, o.
    acts: Vec<f32>,
    /// `[T, B, H]`: the state each step started from.
    h_prev: Vec<f32>,
    c_prev: Vec<f32>,
    /// `[T, B, H]`: `tanh(c_t)`.
    tanh_c: Vec<f32>,
}

/// One block's share of the forward pass's buffers, each a list of its rows per time step
/// ([`split_blocks`]): its `gates` (the activations written there), and, written whole by
/// [`forward_block`] ([`Unwritten`]), `out` `[T + 2][b, H]` and when saving `h_prev`, `c_prev`,
/// `tanh_c` `[T][b, H]` (else empty).
struct BlockBufs<'a> {
    gates: BlockGates<'a>,
    out: Parts<'a>,
    h_prev: Parts<'a>,
    c_prev: Parts<'a>,
    tanh_c: Parts<'a>,
}

/// The forward pass; made gates (`gates_x` `[T, B, 4H]`) become the saved activations. Returns
/// `[T + 2, B, H]` (outputs, final h, final c) and, when `save` (made gates only), what
/// [`backward`] needs.
fn forward(
    mut gates: Gates,
    w: StepWeights,
    h0: &[f32],
    c0: &[f32],
    dims: &Dims,
    save: bool,
) -> (Vec<f32>, Option<Saved>) {
    let Dims {
        seq, batch, hidden, ..
    } = *dims;
    let blocks = dims.blocks();
    let mut out = Unwritten::new(seq + 2, batch, hidden);
    let kept = if save { seq } else { 0 };
    let state = || Unwritten::new(kept, batch, hidden);
    let (mut h_prev, mut c_prev, mut tanh_c) = (state(), state(), state());
    {
        let g4 = 4 * hidden;
        let block_gates: Vec<BlockGates> = match &mut gates {
            Gates::Made(gates_x) => split_blocks(gates_x, seq, g4, &blocks)
                .into_iter()
                .map(BlockGates::Made)
                .collect(),
            Gates::Input(input) => (blocks.iter())
                .map(|rows| {
                    let buf = vec![0.0; rows.len() * g4];
                    BlockGates::Input(input, (rows.clone(), batch), buf)
                })
                .collect(),
        };
        let (hp, cp, tc) = (
            h_prev.parts(&blocks).into_iter(),
            c_prev.parts(&blocks).into_iter(),
            tanh_c.parts(&blocks).into_iter(),
        );
        let work: Vec<(Range<usize>, BlockBufs)> = blocks
            .iter()
            .cloned()
            .zip(block_gates)
            .zip(out.parts(&blocks))
            .zip(hp.zip(cp).zip(tc))
            .map(|(((rows, gates), out), ((h_prev, c_prev), tanh_c))| {
                let bufs = BlockBufs {
                    gates,
                    out,
                    h_prev,
                    c_prev,
                    tanh_c,
                };
                (rows, bufs)
            })
            .collect();
        work.into_par_iter().for_each(|(rows, bufs)| {
            let (h, c) = (
                h0[rows.start * hidden..rows.end * hidden].to_vec(),
                c0[rows.start * hidden..rows.end * hidden].to_vec(),
            );
            forward_block(bufs, &w.t, h, c, &dims.rows(&rows), save);
        });
    }
    // SAFETY: `forward_block` writes every row of its block's parts of the four buffers.
    let [out, h_prev, c_prev, tanh_c] =
        [out, h_prev, c_prev, tanh_c].map(|buf| unsafe { buf.written() });
    let saved = save.then(|| Saved {
        dims: dims.clone(),
        blocks,
        w_hh: (w.kept).unwrap_or_else(|| unreachable!("lstm_cpu: W_hh kept when saving")),
        acts: match gates {
            Gates::Made(acts) => acts,
            Gates::Input(_) => unreachable!("lstm_cpu: a pass that saves is given its gates"),
        },
        h_prev,
        c_prev,
        tanh_c,
    });
    (out, saved)
}

/// [`forward`] for one block of sequences, from its state `h`, `c` `[b, H]`; `w_t` is `W_hhᵀ`
/// `[H, 4H]`. Writes every row of `bufs`' [`Unwritten`] parts: zeros at padded steps.
fn forward_block(
    mut bufs: BlockBufs<'_>,
    w_t: &Panels,
    mut h: Vec<f32>,
    mut c: Vec<f32>,
    dims: &Dims,
    save: bool,
) {
    let Dims {
        seq, batch, hidden, ..
    } = *dims;
    let g4 = 4 * hidden;
    let mut tanh_c = vec![0.0f32; hidden];
    for t in dims.order() {
        if save {
            put(bufs.h_prev[t], &h);
            put(bufs.c_prev[t], &c);
        }
        let active = dims.active(t);
        let gates = bufs.gates.step(t, active);
        // gates += h · W_hhᵀ, for the sequences the step runs
        w_t.product(active, &h, hidden, true, gates, g4);
        for b in 0..batch {
            let r = b * hidden..(b + 1) * hidden;
            let out = &mut bufs.out[t][r.clone()];
            if !dims.real(b, t) {
                put_zeros(out);
                if save {
                    put_zeros(&mut bufs.tanh_c[t][r]);
                }
                continue;
            }
            let row = &mut gates[b * g4..(b + 1) * g4];
            let (hs, cs) = (&mut h[r.clone()], &mut c[r.clone()]);
            lstm_cell::forward(row, cs, hs, &mut tanh_c);
            put(out, hs);
            if save {
                put(&mut bufs.tanh_c[t][r], &tanh_c);
            }
        }
    }
    put(bufs.out[seq], &h);
    put(bufs.out[seq + 1], &c);
}

/// Gradients of one recurrence.
struct Grads {
    /// `[T, B, 4H]`
    gates_x: Vec<f32>,
    /// `[4H, H]`
    w_hh: Vec<f32>,
    /// `[B, H]`
    h0: Vec<f32>,
    /// `[B, H]`
    c0: Vec<f32>,
}

/// The backward pass, from the gradient of the forward's packed `[T + 2, B, H]` output.
fn backward(saved: &Saved, grad: &[f32]) -> Grads {
    let Dims {
        seq, batch, hidden, ..
    } = saved.dims;
    let g4 = 4 * hidden;
    let mut gates_x = Unwritten::new(seq, batch, g4);
    let (mut h0, mut c0) = (vec![0.0; batch * hidden], vec![0.0; batch * hidden]);
    let mut w_hh = vec![0.0; g4 * hidden];
    {
        let blocks = &saved.blocks;
        let d_gates = gates_x.parts(blocks);
        let dh0 = split_blocks(&mut h0, 1, hidden, blocks);
        let dc0 = split_blocks(&mut c0, 1, hidden, blocks);
        let work: Vec<_> = blocks
            .iter()
            .zip(d_gates)
            .zip(dh0.into_iter().zip(dc0))
            .collect();
        let partial: Vec<Vec<f32>> = work
            .into_par_iter()
            .map(|((rows, mut d_gates), (mut dh0, mut dc0))| {
                let dims = saved.dims.rows(rows);
                with_scratch([seq * rows.len() * g4], |[dg]| {
                    let (dh, dc) = backward_block(saved, rows, &dims, grad, dg, &mut d_gates);
                    for (slot, value) in dh0.iter_mut().chain(&mut dc0).zip([dh, dc]) {
                        slot.copy_from_slice(&value);
                    }
                    block_d_w_hh(saved, rows, dg)
                })
            })
            .collect();
        for part in partial {
            for (sum, v) in w_hh.iter_mut().zip(&part) {
                *sum += v;
            }
        }
    }
    Grads {
        // SAFETY: `backward_block` writes every row of its block's part.
        gates_x: unsafe { gates_x.written() },
        w_hh,
        h0,
        c0,
    }
}

/// The block `rows`' share of `dW_hh = Σ_t d_gates_tᵀ · h_prev_t`, from its `d_gates` (`[T · b,
/// 4H]`): one product over the block's steps and sequences, laid side by side. Summed block by
/// block, in order, as the recurrence has always summed it, so that a seed trains to the same
/// weights as before the blocks shared their buffers.
fn block_d_w_hh(saved: &Saved, rows: &Range<usize>, d_gates: &[f32]) -> Vec<f32> {
    let Dims {
        seq, batch, hidden, ..
    } = saved.dims;
    let g4 = 4 * hidden;
    let mut h_prev = Vec::with_capacity(seq * rows.len() * hidden);
    for t in 0..seq {
        h_prev.extend_from_slice(&saved.h_prev[slab_rows(batch, rows, t, hidden)]);
    }
    let mut d_w = vec![0.0f32; g4 * hidden];
    gemm(
        g4,
        seq * rows.len(),
        hidden,
        d_gates,
        (1, g4),
        &h_prev,
        (hidden, 1),
        false,
        &mut d_w,
        hidden,
    );
    d_w
}

/// [`backward`] for the sequences `rows` (`dims` their own): writes the gradient of their gate
/// pre-activations into `dg` (`[T · b, 4H]`, the block's own, zero at padded steps) and into
/// `d_gates` (`[T][b, 4H]`, the block's rows of the whole batch's, as [`Unwritten::parts`] cuts
/// them), and returns those of their initial `h` and `c`.
fn backward_block(
    saved: &Saved,
    rows: &Range<usize>,
    dims: &Dims,
    grad: &[f32],
    dg: &mut [f32],
    d_gates: &mut [&mut [MaybeUninit<f32>]],
) -> (Vec<f32>, Vec<f32>) {
    let Dims {
        seq, batch, hidden, ..
    } = *dims;
    let g4 = 4 * hidden;
    let at = |t: usize, width: usize| slab_rows(saved.dims.batch, rows, t, width);
    let mut dh = grad[at(seq, hidden)].to_vec();
    let mut dc = grad[at(seq + 1, hidden)].to_vec();
    let mut dh_prev = vec![0.0f32; batch * hidden];
    for t in dims.order().into_iter().rev() {
        let dg = &mut dg[t * batch * g4..][..batch * g4];
        let acts = &saved.acts[at(t, g4)];
        let (dy, tanh_c, c_prev) = (
            &grad[at(t, hidden)],
            &saved.tanh_c[at(t, hidden)],
            &saved.c_prev[at(t, hidden)],
        );
        for b in 0..batch {
            let d = &mut dg[b * g4..][..g4];
            if !dims.real(b, t) {
                d.fill(0.0);
                continue;
            }
            let r = b * hidden..(b + 1) * hidden;
            let a = &acts[b * g4..][..g4];
            let (tc, cp, dy) = (&tanh_c[r.clone()], &c_prev[r.clone()], &dy[r.clone()]);
            lstm_cell::backward(a, tc, cp, &dh[r.clone()], dy, &mut dc[r], d);
        }
        put(d_gates[t], dg);
        // dh_prev = d_gates_t · W_hh; padded rows keep their gradient (their state passed through).
        (saved.w_hh).product(dims.active(t), dg, g4, false, &mut dh_prev, hidden);
        for b in 0..batch {
            if dims.real(b, t) {
                dh[b * hidden..(b + 1) * hidden]
                    .copy_from_slice(&dh_prev[b * hidden..(b + 1) * hidden]);
            }
        }
    }
    (dh, dc)
}

#[cfg(test)]
mod tests {
    use burn::module::{AutodiffModule, Param};
    use burn::tensor::{Distribution, Tolerance};

    use super::*;
    use crate::nn::fused::with_fused;
    use crate::nn::{Lstm, LstmConfig, LstmState};

    type A = Autodiff<NdArray>;

    fn random<B: Backend, const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
    }

    fn close<B: Backend, const D: usize>(what: &str, a: Tensor<B, D>, b: Tensor<B, D>) {
        let (a, b) = (a.into_data(), b.into_data());
        assert_eq!(a.shape, b.shape, "{what}");
        a.assert_approx_eq::<f32>(&b, Tolerance::absolute(2e-5));
    }

    /// Everything a loss can read from a run, each weighted differently, and the gradients of
    /// every input, state and parameter.
    struct Run {
        output: Tensor<NdArray, 3>,
        hidden: Tensor<NdArray, 3>,
        cell: Tensor<NdArray, 3>,
        grads: Vec<(String, Tensor<NdArray, 2>)>,
    }

    fn run(lstm: &Lstm<A>, x: &Tensor<A, 3>, state: &LstmState<A>, lengths: &[usize]) -> Run {
        let x = x.clone().require_grad();
        let (h0, c0) = (
            state.hidden.clone().require_grad(),
            state.cell.clone().require_grad(),
        );
        let (out, last) = lstm.forward_packed(
            x.clone(),
            lengths,
            Some(LstmState {
                hidden: h0.clone(),
                cell: c0.clone(),
            }),
        );
        let weigh = |t: Tensor<A, 3>, seed: f32| {
            let n = t.shape().num_elements();
            let w = Tensor::<A, 1, Int>::arange(0..n as i64, &Default::default())
                .float()
                .mul_scalar(seed)
                .sin()
                .reshape(t.dims());
            (t * w).sum()
        };
        let loss = weigh(out.clone(), 0.37)
            + weigh(last.hidden.clone(), 1.3)
            + weigh(last.cell.clone(), 2.1);
        let grads = loss.backward();
        let flat = |t: Tensor<NdArray, 3>| {
            let [a, b, c] = t.dims();
            t.reshape([a * b, c])
        };
        let mut all = vec![
            ("input".to_string(), flat(x.grad(&grads).unwrap())),
            ("h0".to_string(), flat(h0.grad(&grads).unwrap())),
            ("c0".to_string(), flat(c0.grad(&grads).unwrap())),
        ];
        for (k, layer) in lstm.layers.iter().enumerate() {
            for (dir, w) in std::iter::once(("fwd", &layer.forward))
                .chain(layer.reverse.as_ref().map(|w| ("rev", w)))
            {
                let g2 = |p: &Param<Tensor<A, 2>>| p.val().grad(&grads).unwrap();
                let g1 = |p: &Param<Tensor<A, 1>>| p.val().grad(&grads).unwrap().unsqueeze();
                all.push((format!("{k}.{dir}.weight_ih"), g2(&w.weight_ih)));
                all.push((format!("{k}.{dir}.weight_hh"), g2(&w.weight_hh)));
                if let (Some(bi), Some(bh)) = (&w.bias_ih, &w.bias_hh) {
                    all.push((format!("{k}.{dir}.bias_ih"), g1(bi)));
                    all.push((format!("{k}.{dir}.bias_hh"), g1(bh)));
                }
            }
        }
        Run {
            output: out.inner(),
            hidden: last.hidden.inner(),
            cell: last.cell.inner(),
            grads: all,
        }
    }

    #[test]
    fn fused_and_tensor_paths_agree_on_outputs_states_and_every_gradient() {
        for (bidirectional, batch_first, bias) in [
            (false, false, true),
            (true, true, true),
            (true, false, false),
        ] {
            let lstm = LstmConfig::new(5, 7)
                .with_num_layers(2)
                .with_bidirectional(bidirectional)
                .with_batch_first(batch_first)
                .with_bias(bias)
                .init::<A>(&Default::default());
            let d = if bidirectional { 2 } else { 1 };
            // 19 sequences: on 3 threads, two blocks of 9 and 10 run the recurrence in parallel.
            let batch = 19;
            let x = if batch_first {
                random::<A, 3>([batch, 6, 5])
            } else {
                random([6, batch, 5])
            };
            let state = LstmState {
                hidden: random([2 * d, batch, 7]),
                cell: random([2 * d, batch, 7]),
            };
            let lengths: Vec<usize> = (0..batch).map(|b| 1 + (b * 7) % 6).collect();
            let dims = Dims {
                seq: 6,
                batch,
                hidden: 7,
                reverse: false,
                lengths: None,
            };
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            assert_eq!(pool.install(|| dims.blocks()), [0..9, 9..19]);
            let fused = with_fused(true, || pool.install(|| run(&lstm, &x, &state, &lengths)));
            let plain = with_fused(false, || run(&lstm, &x, &state, &lengths));
            let case = format!("bidirectional {bidirectional}, batch_first {batch_first}");
            close(&format!("{case}: output"), fused.output, plain.output);
            close(&format!("{case}: h_n"), fused.hidden, plain.hidden);
            close(&format!("{case}: c_n"), fused.cell, plain.cell);
            assert_eq!(fused.grads.len(), plain.grads.len());
            for ((name, a), (_, b)) in fused.grads.into_iter().zip(plain.grads) {
                close(&format!("{case}: gradient of {name}"), a, b);
            }
        }
    }

    /// The inference backend's pass gives the autodiff backend's forward (one input product over
    /// all steps) bit for bit, stacked, bidirectional and packed (steps where a block has one
    /// sequence left), whether it makes each step's input part inside the recurrence (a large
    /// batch) or not (a small one); and the tensor path's within rounding.
    #[test]
    fn inference_backend_gives_the_autodiff_forward() {
        let cases = [
            (4, vec![5; 4]),
            (4, vec![7, 4, 4, 2, 1, 1]),
            (64, [vec![16], vec![9; 18], vec![1]].concat()),
        ];
        for (hidden, lengths) in cases {
            let lstm = LstmConfig::new(3, hidden)
                .with_num_layers(2)
                .with_bidirectional(true)
                .init::<A>(&Default::default());
            let seq = lengths[0];
            // The large case's gates, [16, 20, 256], are past `SERIAL`: made step by step.
            assert_eq!(seq * lengths.len() * 4 * hidden >= SERIAL, hidden == 64);
            let x = random::<A, 3>([seq, lengths.len(), 3]);
            let inner = lstm.valid();
            let (tracked, fused, state) = with_fused(true, || {
                let (tracked, _) = lstm.forward_packed(x.clone(), &lengths, None);
                let (fused, state) = inner.forward_packed(x.clone().inner(), &lengths, None);
                (tracked, fused, state)
            });
            let (plain, plain_state) =
                with_fused(false, || inner.forward_packed(x.inner(), &lengths, None));
            assert_eq!(tracked.inner().into_data(), fused.clone().into_data());
            close("fused vs plain", fused, plain);
            close("h_n", state.hidden, plain_state.hidden);
            close("c_n", state.cell, plain_state.cell);
        }
    }
}

#[cfg(test)]
mod seed_size {
    use burn::module::Module;
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    use burn::tensor::backend::AutodiffBackend;
    use burn::tensor::{Distribution, TensorData};

    use super::*;
    use crate::nn::fused::with_fused;
    use crate::{MnistLstm, MnistLstmConfig};

    type A = Autodiff<NdArray>;

    /// The model's loss on the images `x`: cross-entropy against `labels`, or without labels the
    /// mean square of its outputs.
    fn loss(model: &MnistLstm<A>, x: &TensorData, labels: Option<&[i64]>) -> Tensor<A, 1> {
        let device = Default::default();
        let out = model.forward(Tensor::from_data(x.clone(), &device));
        match labels {
            Some(labels) => {
                let y = TensorData::new(labels.to_vec(), [labels.len()]);
                (CrossEntropyLossConfig::new().init(&device))
                    .forward(out, Tensor::from_data(y, &device))
            }
            None => out.powf_scalar(2.0).mean(),
        }
    }

    /// Every parameter's gradient of `loss`, in the model's visiting order.
    fn gradients(model: &MnistLstm<A>, loss: Tensor<A, 1>) -> Vec<Vec<f64>> {
        let grads = loss.backward();
        let mut all = Vec::new();
        model.visit(&mut Collect {
            grads: &grads,
            all: &mut all,
        });
        all
    }

    struct Collect<'a> {
        grads: &'a <A as AutodiffBackend>::Gradients,
        all: &'a mut Vec<Vec<f64>>,
    }

    impl burn::module::ModuleVisitor<A> for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<A, D>>) {
            let g = param
                .val()
                .grad(self.grads)
                .expect("every parameter has a gradient");
            self.all
                .push(g.into_data().convert::<f64>().into_vec().unwrap());
        }
    }

    /// The largest difference of `a` from `reference`, over the largest value of `reference`.
    fn relative_error(a: &[f64], reference: &[f64]) -> f64 {
        let scale = reference
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(1e-30);
        let worst = (a.iter().zip(reference)).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        worst / scale
    }

    /// Every parameter's gradient of the mean square of the outputs on `x` from the fused path
    /// equals the tensor path's, to `1e-4` of the largest value of each gradient.
    fn assert_paths_agree(model: &MnistLstm<A>, x: &TensorData, when: &str) {
        let of = |fused| with_fused(fused, || gradients(model, loss(model, x, None)));
        let (fused, plain) = (of(true), of(false));
        assert_eq!(fused.len(), plain.len());
        for (k, (a, b)) in fused.iter().zip(&plain).enumerate() {
            let error = relative_error(a, b);
            assert!(
                error < 1e-4,
                "parameter {k} {when}: relative gradient error {error:.2e}"
            );
        }
    }

    /// Random images, `[100, 28, 28]`, values from `distribution`.
    fn images(distribution: Distribution) -> TensorData {
        Tensor::<NdArray, 3>::random([100, 28, 28], distribution, &Default::default()).into_data()
    }

    /// `mnist-lstm`'s model at its own sizes (batch 100, 2 × 128, 28 steps, two thread blocks on
    /// two threads): every parameter's gradient from the fused path equals the tensor path's.
    #[test]
    fn mnist_lstm_gradients_match_the_tensor_path_at_the_seeds_sizes() {
        let model = MnistLstmConfig::new().init::<A>(&Default::default());
        let x = images(Distribution::Normal(0.0, 1.0));
        assert_paths_agree(&model, &x, "at initialization");
    }

    /// The two paths stay equal away from initialization too: after 120 Adam steps (lr 0.01, the
    /// seed's optimizer) on one batch with cross-entropy, where the weights have grown and the
    /// gates saturate, the fused gradients still equal the tensor path's. They are compared on
    /// the outputs' mean square, not on the cross-entropy: with the batch learnt, the
    /// cross-entropy's gradient at each true class is `p - 1` for a `p` within `1e-4` of 1, a
    /// difference that keeps only a few of `f32`'s bits on either path, so comparing through it
    /// measures that cancellation (up to `2e-4` in 1 of 12 random draws), not the LSTM (`1e-6`).
    #[test]
    fn gradients_match_the_tensor_path_after_training() {
        let mut model = MnistLstmConfig::new().init::<A>(&Default::default());
        let mut optim = AdamConfig::new().init();
        let x = images(Distribution::Uniform(-0.5, 2.8));
        let labels: Vec<i64> = (0..100).map(|k| (k * 7 % 10) as i64).collect();
        for _ in 0..120 {
            let grads = loss(&model, &x, Some(&labels)).backward();
            let grads = GradientsParams::from_grads(grads, &model);
            model = optim.step(0.01, model, grads);
        }
        assert_paths_agree(&model, &x, "after 120 Adam steps");
    }
}
