//! The GRU recurrence on the CPU as one operation: the forward pass over every step of one layer
//! and direction in plain loops and matrix products, and its own backward pass (one node in the
//! autodiff graph instead of a dozen per step), as [`super::lstm`] does for the LSTM.
//!
//! [`crate::nn::Gru`] uses it automatically on `NdArray` and `Autodiff<NdArray>`; every other
//! backend runs the same math as ordinary tensor operations. The two are held equal by the tests
//! below and by the PyTorch fixtures (forward and gradients).
//!
//! Layout: time-major, row-major `f32`. `gates_x` `[T, B, 3H]` holds `x_t · W_ihᵀ + b_ih + [b_hr,
//! b_hz, 0]` for every step (one matrix product over all steps, done by the caller as its own
//! operation, [`super::linear`]); `w_hh` is PyTorch's `[3H, H]`, gates r, z, n; `b_hn` `[H]` is
//! the recurrent bias of n, which PyTorch puts inside the reset product.

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
use super::{gemm, gru_cell, primitive, primitive_values, put, put_zeros, tensor, values, zeros};

/// One layer and direction: `gates_x [T, B, 3H]`, `w_hh [3H, H]`, `b_hn [H]`, `h0 [B, H]` →
/// outputs `[T, B, H]` (zero at padded steps) and the final `h`. Call only on this route of
/// [`super::super::route`] (`autodiff`: `Autodiff<NdArray>`).
pub(crate) fn recurrence<B: Backend>(
    autodiff: bool,
    gates_x: Tensor<B, 3>,
    w_hh: Tensor<B, 2>,
    b_hn: Tensor<B, 1>,
    h0: Tensor<B, 2>,
    reverse: bool,
    lengths: Option<&[usize]>,
) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let [seq, batch, _] = gates_x.dims();
    let hidden = w_hh.dims()[1];
    let dims = Dims {
        seq,
        batch,
        hidden,
        reverse,
        lengths: lengths.map(<[usize]>::to_vec),
    };
    let packed: Tensor<B, 3> = if !autodiff {
        let parts = (cast(gates_x), cast(w_hh), cast(b_hn), cast(h0));
        cast(plain(parts, dims))
    } else {
        let parts = (cast(gates_x), cast(w_hh), cast(b_hn), cast(h0));
        cast(tracked(parts, dims))
    };
    // Rows 0..T are the outputs, T the final h; the outputs are cut last, when the packed buffer
    // is no longer shared and can be cut in place.
    let h = slabs(autodiff, packed.clone(), seq..seq + 1).squeeze_dim(0);
    (slabs(autodiff, packed, 0..seq), h)
}

/// The inputs of the recurrence on the backend without autodiff.
type Plain = (
    Tensor<NdArray, 3>,
    Tensor<NdArray, 2>,
    Tensor<NdArray, 1>,
    Tensor<NdArray, 2>,
);

fn plain((gates_x, w_hh, b_hn, h0): Plain, dims: Dims) -> Tensor<NdArray, 3> {
    let (packed, _) = forward(
        values(gates_x),
        StepWeights::read(w_hh.into_primitive().tensor(), 3 * dims.hidden, dims.hidden),
        &values(b_hn),
        &values(h0),
        &dims,
        false,
    );
    tensor(packed, [dims.seq + 1, dims.batch, dims.hidden])
}

/// The inputs of the recurrence on the autodiff backend.
type Tracked = (
    Tensor<Autodiff<NdArray>, 3>,
    Tensor<Autodiff<NdArray>, 2>,
    Tensor<Autodiff<NdArray>, 1>,
    Tensor<Autodiff<NdArray>, 2>,
);

fn tracked((gates_x, w_hh, b_hn, h0): Tracked, dims: Dims) -> Tensor<Autodiff<NdArray>, 3> {
    let (gates_x, w_hh, b_hn, h0) = (
        gates_x.into_primitive().tensor(),
        w_hh.into_primitive().tensor(),
        b_hn.into_primitive().tensor(),
        h0.into_primitive().tensor(),
    );
    let nodes = [&gates_x, &w_hh, &b_hn, &h0].map(|t| t.node.clone());
    let run = |save| {
        forward(
            primitive_values::<3>(gates_x.primitive),
            StepWeights::of(w_hh.primitive, save, 3 * dims.hidden, dims.hidden),
            &primitive_values::<1>(b_hn.primitive),
            &primitive_values::<2>(h0.primitive),
            &dims,
            save,
        )
    };
    let shape = [dims.seq + 1, dims.batch, dims.hidden];
    let output = match RecurrenceBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (out, saved) = run(true);
            let saved = saved.unwrap_or_else(|| unreachable!("gru_cpu: saved when asked"));
            prep.finish(Arc::new(saved), primitive(out, shape))
        }
        OpsKind::UnTracked(prep) => prep.finish(primitive(run(false).0, shape)),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

/// The autodiff node of one recurrence; its parents are `gates_x`, `w_hh`, `b_hn`, `h0`.
#[derive(Debug)]
struct RecurrenceBackward;

impl Backward<NdArray, 4> for RecurrenceBackward {
    type State = Arc<Saved>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved = ops.state;
        let grad = primitive_values::<3>(grads.consume::<NdArray>(&ops.node));
        let all = backward(&saved, &grad);
        let Dims {
            seq, batch, hidden, ..
        } = saved.dims;
        let [p_gates_x, p_w_hh, p_b_hn, p_h0] = ops.parents;
        if let Some(node) = p_gates_x {
            grads.register::<NdArray>(node.id, primitive(all.gates_x, [seq, batch, 3 * hidden]));
        }
        if let Some(node) = p_w_hh {
            grads.register::<NdArray>(node.id, primitive(all.w_hh, [3 * hidden, hidden]));
        }
        if let Some(node) = p_b_hn {
            grads.register::<NdArray>(node.id, primitive(all.b_hn, [hidden]));
        }
        if let Some(node) = p_h0 {
            grads.register::<NdArray>(node.id, primitive(all.h0, [batch, hidden]));
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
    /// `W_hh` `[3H, H]`.
    w_hh: Panels,
    /// `[T, B, 3H]`: the gate activations r, z, n.
    acts: Vec<f32>,
    /// `[T, B, H]`: `h · W_hnᵀ + b_hn`, what the reset gate multiplied.
    hn: Vec<f32>,
    /// `[T, B, H]`: the state each step started from.
    h_prev: Vec<f32>,
}

/// One block's share of the forward pass's buffers, each a list of its rows per time step
/// ([`split_blocks`]): `acts` `[T][b, 3H]` (the block's `gates_x` in, the activations out), and,
/// written whole by [`forward_block`] ([`Unwritten`]), `out` `[T + 1][b, H]` and when saving
/// `hn`, `h_prev` `[T][b, H]` (else empty).
struct BlockBufs<'a> {
    acts: Vec<&'a mut [f32]>,
    out: Parts<'a>,
    hn: Parts<'a>,
    h_prev: Parts<'a>,
}

/// The forward pass; `gates_x` `[T, B, 3H]` becomes the saved activations. Returns `[T + 1, B,
/// H]` (outputs, final h) and, when `save`, what [`backward`] needs.
fn forward(
    mut gates_x: Vec<f32>,
    w: StepWeights,
    b_hn: &[f32],
    h0: &[f32],
    dims: &Dims,
    save: bool,
) -> (Vec<f32>, Option<Saved>) {
    let Dims {
        seq, batch, hidden, ..
    } = *dims;
    let blocks = dims.blocks();
    let mut out = Unwritten::new(seq + 1, batch, hidden);
    let kept = if save { seq } else { 0 };
    let (mut hn, mut h_prev) = (
        Unwritten::new(kept, batch, hidden),
        Unwritten::new(kept, batch, hidden),
    );
    {
        let acts = split_blocks(&mut gates_x, seq, 3 * hidden, &blocks);
        let (outs, hns, prevs) = (out.parts(&blocks), hn.parts(&blocks), h_prev.parts(&blocks));
        let work: Vec<(Range<usize>, BlockBufs)> = (blocks.iter().cloned())
            .zip(acts.into_iter().zip(outs))
            .zip(hns.into_iter().zip(prevs))
            .map(|((rows, (acts, out)), (hn, h_prev))| {
                let bufs = BlockBufs {
                    acts,
                    out,
                    hn,
                    h_prev,
                };
                (rows, bufs)
            })
            .collect();
        work.into_par_iter().for_each(|(rows, bufs)| {
            let h = h0[rows.start * hidden..rows.end * hidden].to_vec();
            forward_block(bufs, &w.t, b_hn, h, &dims.rows(&rows), save);
        });
    }
    // SAFETY: `forward_block` writes every row of its block's parts of the three buffers.
    let [out, hn, h_prev] = [out, hn, h_prev].map(|buf| unsafe { buf.written() });
    let saved = save.then(|| Saved {
        dims: dims.clone(),
        blocks,
        w_hh: (w.kept).unwrap_or_else(|| unreachable!("gru_cpu: W_hh kept when saving")),
        acts: gates_x,
        hn,
        h_prev,
    });
    (out, saved)
}

/// [`forward`] for one block of sequences, from its state `h` `[b, H]`; `w_t` is `W_hhᵀ` `[H,
/// 3H]`. Writes every row of `bufs`' [`Unwritten`] parts: zeros at padded steps.
fn forward_block(
    mut bufs: BlockBufs<'_>,
    w_t: &Panels,
    b_hn: &[f32],
    mut h: Vec<f32>,
    dims: &Dims,
    save: bool,
) {
    let Dims {
        seq, batch, hidden, ..
    } = *dims;
    let g3 = 3 * hidden;
    let mut recurrent = vec![0.0f32; batch * g3];
    // h_n + b_hn of one sequence
    let mut hn = vec![0.0f32; hidden];
    for t in dims.order() {
        if save {
            put(bufs.h_prev[t], &h);
        }
        // recurrent = h · W_hhᵀ, for the sequences the step runs
        w_t.product(dims.active(t), &h, hidden, false, &mut recurrent, g3);
        let gates = &mut *bufs.acts[t];
        for b in 0..batch {
            let r = b * hidden..(b + 1) * hidden;
            let out = &mut bufs.out[t][r.clone()];
            if !dims.real(b, t) {
                put_zeros(out);
                if save {
                    put_zeros(&mut bufs.hn[t][r]);
                }
                continue;
            }
            let hs = &mut h[r.clone()];
            let (row, rec) = (&mut gates[b * g3..][..g3], &recurrent[b * g3..][..g3]);
            gru_cell::forward(row, rec, b_hn, &mut hn, hs);
            put(out, hs);
            if save {
                put(&mut bufs.hn[t][r], &hn);
            }
        }
    }
    put(bufs.out[seq], &h);
}

/// Gradients of one recurrence.
struct Grads {
    /// `[T, B, 3H]`
    gates_x: Vec<f32>,
    /// `[3H, H]`
    w_hh: Vec<f32>,
    /// `[H]`
    b_hn: Vec<f32>,
    /// `[B, H]`
    h0: Vec<f32>,
}

/// The backward pass, from the gradient of the forward's packed `[T + 1, B, H]` output.
fn backward(saved: &Saved, grad: &[f32]) -> Grads {
    let Dims {
        seq, batch, hidden, ..
    } = saved.dims;
    let g3 = 3 * hidden;
    let mut all = Grads {
        gates_x: zeros(seq * batch * g3),
        w_hh: vec![0.0; g3 * hidden],
        b_hn: vec![0.0; hidden],
        h0: vec![0.0; batch * hidden],
    };
    let blocks = &saved.blocks;
    let d_gates = split_blocks(&mut all.gates_x, seq, g3, blocks);
    let dh0 = split_blocks(&mut all.h0, 1, hidden, blocks);
    let partial: Vec<(Vec<f32>, Vec<f32>)> = (blocks.iter().zip(d_gates).zip(dh0))
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|((rows, mut d_gates), mut dh0)| {
            let dims = saved.dims.rows(rows);
            let (dh, d_recurrent) = backward_block(saved, rows, &dims, grad, &mut d_gates);
            dh0[0].copy_from_slice(&dh);
            block_weight_grads(saved, rows, &d_recurrent)
        })
        .collect();
    // Summed block by block, in order: the same sums whatever thread finished first.
    for (d_w, d_b) in partial {
        for (sum, v) in all.w_hh.iter_mut().zip(&d_w) {
            *sum += v;
        }
        for (sum, v) in all.b_hn.iter_mut().zip(&d_b) {
            *sum += v;
        }
    }
    all
}

/// The block `rows`' share of `dW_hh = Σ_t d_recurrent_tᵀ · h_prev_t` and of `db_hn` (the n part
/// of `d_recurrent`, summed over steps and sequences), from its `d_recurrent` `[T · b, 3H]`.
fn block_weight_grads(
    saved: &Saved,
    rows: &Range<usize>,
    d_recurrent: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let Dims {
        seq, batch, hidden, ..
    } = saved.dims;
    let g3 = 3 * hidden;
    let mut h_prev = Vec::with_capacity(seq * rows.len() * hidden);
    for t in 0..seq {
        h_prev.extend_from_slice(&saved.h_prev[slab_rows(batch, rows, t, hidden)]);
    }
    let mut d_w = vec![0.0f32; g3 * hidden];
    gemm(
        g3,
        seq * rows.len(),
        hidden,
        d_recurrent,
        (1, g3),
        &h_prev,
        (hidden, 1),
        false,
        &mut d_w,
        hidden,
    );
    let mut d_b = vec![0.0f32; hidden];
    for row in d_recurrent.chunks_exact(g3) {
        for (sum, v) in d_b.iter_mut().zip(&row[2 * hidden..]) {
            *sum += v;
        }
    }
    (d_w, d_b)
}

/// [`backward`] for the sequences `rows` (`dims` their own): writes the gradient of their input
/// part into `d_gates` (`[T][b, 3H]`, as [`split_blocks`] cuts it) and returns that of their
/// initial `h` and the gradient of their recurrent part `[T · b, 3H]`, step by step.
fn backward_block(
    saved: &Saved,
    rows: &Range<usize>,
    dims: &Dims,
    grad: &[f32],
    d_gates: &mut [&mut [f32]],
) -> (Vec<f32>, Vec<f32>) {
    let Dims {
        seq, batch, hidden, ..
    } = *dims;
    let g3 = 3 * hidden;
    let at = |t: usize, width: usize| slab_rows(saved.dims.batch, rows, t, width);
    let mut dh = grad[at(seq, hidden)].to_vec();
    let mut d_recurrent = vec![0.0f32; seq * batch * g3];
    let mut through = vec![0.0f32; batch * hidden];
    for t in dims.order().into_iter().rev() {
        let dg = &mut *d_gates[t];
        let de = &mut d_recurrent[t * batch * g3..][..batch * g3];
        let (acts, hn, h_prev, dy) = (
            &saved.acts[at(t, g3)],
            &saved.hn[at(t, hidden)],
            &saved.h_prev[at(t, hidden)],
            &grad[at(t, hidden)],
        );
        for b in 0..batch {
            if !dims.real(b, t) {
                continue;
            }
            let r = b * hidden..(b + 1) * hidden;
            let dhb = &mut dh[r.clone()];
            for (d, y) in dhb.iter_mut().zip(&dy[r.clone()]) {
                *d += y;
            }
            let (a, d, e) = (
                &acts[b * g3..][..g3],
                &mut dg[b * g3..][..g3],
                &mut de[b * g3..][..g3],
            );
            gru_cell::backward(a, &hn[r.clone()], &h_prev[r], dhb, d, e);
        }
        // What reaches h_{t-1} through W_hh: d_recurrent_t · W_hh; padded rows keep their
        // gradient (their state passed through).
        (saved.w_hh).product(dims.active(t), de, g3, false, &mut through, hidden);
        for b in 0..batch {
            if dims.real(b, t) {
                let r = b * hidden..(b + 1) * hidden;
                for (d, v) in dh[r.clone()].iter_mut().zip(&through[r]) {
                    *d += v;
                }
            }
        }
    }
    (dh, d_recurrent)
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::tensor::{Distribution, Tolerance};

    use super::*;
    use crate::nn::fused::with_fused;
    use crate::nn::{Gru, GruConfig};

    type A = Autodiff<NdArray>;

    fn random<B: Backend, const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
    }

    /// The outputs, final state and the gradient of every input and parameter of a run, the
    /// loss weighting each output differently.
    fn run(
        gru: &Gru<A>,
        x: &Tensor<A, 3>,
        h0: &Tensor<A, 3>,
        lengths: &[usize],
    ) -> Vec<(String, TensorData)> {
        let x = x.clone().require_grad();
        let h0 = h0.clone().require_grad();
        let (out, h_n) = gru.forward_packed(x.clone(), lengths, Some(h0.clone()));
        let weigh = |t: Tensor<A, 3>, seed: f32| {
            let n = t.shape().num_elements();
            let w = Tensor::<A, 1, Int>::arange(0..n as i64, &Default::default())
                .float()
                .mul_scalar(seed)
                .sin()
                .reshape(t.dims());
            (t * w).sum()
        };
        let grads = (weigh(out.clone(), 0.37) + weigh(h_n.clone(), 1.3)).backward();
        let mut all = vec![
            ("output".to_string(), out.inner().into_data()),
            ("h_n".to_string(), h_n.inner().into_data()),
            ("d input".to_string(), x.grad(&grads).unwrap().into_data()),
            ("d h0".to_string(), h0.grad(&grads).unwrap().into_data()),
        ];
        for (k, layer) in gru.layers.iter().enumerate() {
            for (dir, w) in std::iter::once(("fwd", &layer.forward))
                .chain(layer.reverse.as_ref().map(|w| ("rev", w)))
            {
                let g2 = |p: &Param<Tensor<A, 2>>| p.val().grad(&grads).unwrap().into_data();
                let g1 = |p: &Param<Tensor<A, 1>>| p.val().grad(&grads).unwrap().into_data();
                all.push((format!("{k}.{dir}.weight_ih"), g2(&w.weight_ih)));
                all.push((format!("{k}.{dir}.weight_hh"), g2(&w.weight_hh)));
                if let (Some(bi), Some(bh)) = (&w.bias_ih, &w.bias_hh) {
                    all.push((format!("{k}.{dir}.bias_ih"), g1(bi)));
                    all.push((format!("{k}.{dir}.bias_hh"), g1(bh)));
                }
            }
        }
        all
    }

    #[test]
    fn fused_and_tensor_paths_agree_on_outputs_states_and_every_gradient() {
        for (layers, bidirectional, bias, lengths) in [
            (1, false, true, vec![5, 5, 5]),
            (2, true, true, vec![5, 3, 1]),
            (3, true, false, vec![2, 5, 4]),
        ] {
            let gru = GruConfig::new(4, 6)
                .with_num_layers(layers)
                .with_bidirectional(bidirectional)
                .with_bias(bias)
                .init::<A>(&Default::default());
            let directions = if bidirectional { 2 } else { 1 };
            let x = random::<A, 3>([5, 3, 4]);
            let h0 = random::<A, 3>([layers * directions, 3, 6]);
            let fused = with_fused(true, || run(&gru, &x, &h0, &lengths));
            let reference = with_fused(false, || run(&gru, &x, &h0, &lengths));
            for ((what, a), (_, b)) in fused.iter().zip(&reference) {
                assert_eq!(a.shape, b.shape, "{what}");
                a.assert_approx_eq::<f32>(b, Tolerance::absolute(2e-5));
            }
        }
    }

    /// At `mnist-gru`'s own size (2 layers of 128 over 28 steps, batch 100), where rounding
    /// has thousands of terms to gather in: every gradient within 1e-4 of the largest.
    #[test]
    fn fused_and_tensor_paths_agree_at_the_mnist_gru_size() {
        let gru = GruConfig::new(28, 128)
            .with_num_layers(2)
            .init::<A>(&Default::default());
        let x = random::<A, 3>([28, 100, 28]);
        let h0 = random::<A, 3>([2, 100, 128]).mul_scalar(0.5);
        let lengths = vec![28; 100];
        let fused = with_fused(true, || run(&gru, &x, &h0, &lengths));
        let reference = with_fused(false, || run(&gru, &x, &h0, &lengths));
        for ((what, a), (_, b)) in fused.iter().zip(&reference) {
            let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
            let worst = a
                .iter()
                .zip(&b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                worst <= 1e-4 * scale,
                "{what}: {worst} against a largest value of {scale}"
            );
        }
    }

    #[test]
    fn inference_backend_gives_the_autodiff_forward() {
        let gru = GruConfig::new(4, 6)
            .with_num_layers(2)
            .with_bidirectional(true)
            .init::<A>(&Default::default());
        let x = random::<A, 3>([5, 3, 4]);
        let lengths = [5, 2, 4];
        let (tracked, h_tracked) =
            with_fused(true, || gru.forward_packed(x.clone(), &lengths, None));
        let inner = burn::module::AutodiffModule::valid(&gru);
        let (plain, h_plain) = with_fused(true, || inner.forward_packed(x.inner(), &lengths, None));
        tracked
            .inner()
            .into_data()
            .assert_approx_eq::<f32>(&plain.into_data(), Tolerance::absolute(1e-6));
        h_tracked
            .inner()
            .into_data()
            .assert_approx_eq::<f32>(&h_plain.into_data(), Tolerance::absolute(1e-6));
    }
}
