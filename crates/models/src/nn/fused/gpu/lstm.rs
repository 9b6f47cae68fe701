//! The LSTM recurrence on the CubeCL backends (wgpu, cuda) as one operation ([`super`]): per step
//! one fused CubeCL kernel for the gates, the cell update and the hidden state; its own backward
//! pass, again one fused kernel per step.
//!
//! Layout: `gates_x` `[T, B, 4H]` holds `x_t · W_ihᵀ + b_ih + b_hh` in time order (computed by the
//! caller with tensor operations); `w_hh` is PyTorch's `[4H, H]`, gates i, f, g, o. The kernels
//! index by *step* `s` (the order the recurrence runs) and by *row* `t` (the time position:
//! `s`, or `T − 1 − s` for the reverse direction), so nothing is flipped or copied.

use burn::backend::Autodiff;
use burn::prelude::*;
use burn::tensor::DType;
use burn_cubecl::{BoolElement, CubeRuntime};

use super::{
    Inner, Inputs, Recurrence, Served, each_step, empty_contiguous, entry_points, launch_shape,
    out, raw, row,
};

/// The two CubeCL kernels (in their own module: CubeCL's prelude names `Tensor` and `Float` too).
mod kernels {
    use cubecl::prelude::*;

    use super::super::cube_math::sigmoid;

    /// One step forward, one unit per `(b, j)` of `[B, H]`: gates from `gates_x[row] + recurrent`,
    /// then `c = f·c_prev + i·g`, `h = o·tanh(c)`. Saves the activations `[i, f, g, o]` of step
    /// `s` in `acts[s]`, `h`/`c` in `hs[s + 1]`/`cs[s + 1]` (step 0 reads `c0` and copies `h0`/`c0`
    /// into row 0); writes `h` to `packed[row]`, and at the last step `h`, `c` to `packed[T]`,
    /// `packed[T + 1]`.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cell_forward<F: Float>(
        gates_x: &Tensor<F>,
        recurrent: &Tensor<F>,
        h0: &Tensor<F>,
        c0: &Tensor<F>,
        acts: &mut Tensor<F>,
        hs: &mut Tensor<F>,
        cs: &mut Tensor<F>,
        packed: &mut Tensor<F>,
        step: u32,
        row: u32,
        last: u32,
        seq: u32,
        cells: u32,
        hidden: u32,
        #[define(F)] _dtype: StorageType,
    ) {
        let unit = ABSOLUTE_POS;
        let cells = cells as usize;
        if unit >= cells {
            terminate!();
        }
        let hidden = hidden as usize;
        let b = unit / hidden;
        let j = unit % hidden;
        let gx = row as usize * cells * 4 + b * 4 * hidden + j;
        let rc = b * 4 * hidden + j;
        let i = sigmoid::<F>(gates_x[gx] + recurrent[rc]);
        let f = sigmoid::<F>(gates_x[gx + hidden] + recurrent[rc + hidden]);
        let g = (gates_x[gx + 2 * hidden] + recurrent[rc + 2 * hidden]).tanh();
        let o = sigmoid::<F>(gates_x[gx + 3 * hidden] + recurrent[rc + 3 * hidden]);
        let s = step as usize;
        let mut c_prev = cs[s * cells + unit];
        if s == 0 {
            c_prev = c0[unit];
            hs[unit] = h0[unit];
            cs[unit] = c_prev;
        }
        let c = f * c_prev + i * g;
        let h = o * c.tanh();
        let a = s * cells * 4 + b * 4 * hidden + j;
        acts[a] = i;
        acts[a + hidden] = f;
        acts[a + 2 * hidden] = g;
        acts[a + 3 * hidden] = o;
        hs[(s + 1) * cells + unit] = h;
        cs[(s + 1) * cells + unit] = c;
        packed[row as usize * cells + unit] = h;
        if last == 1 {
            let seq = seq as usize;
            packed[seq * cells + unit] = h;
            packed[(seq + 1) * cells + unit] = c;
        }
    }

    /// One step backward, one unit per `(b, j)`: `dh = grad[row] + dh_next` (the output's gradient
    /// plus the one coming back through the recurrence), `dc = dc_next + dh·o·(1 − tanh²c)`; writes
    /// the gates' pre-activation gradients to `dgates[s]` (step order, for `W_hh`) and
    /// `dgates_x[row]` (time order, for `gates_x`), and `dc·f` to `dc_prev`.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cell_backward<F: Float>(
        acts: &Tensor<F>,
        cs: &Tensor<F>,
        grad: &Tensor<F>,
        dh_next: &Tensor<F>,
        dc_next: &Tensor<F>,
        dgates: &mut Tensor<F>,
        dgates_x: &mut Tensor<F>,
        dc_prev: &mut Tensor<F>,
        step: u32,
        row: u32,
        cells: u32,
        hidden: u32,
        #[define(F)] _dtype: StorageType,
    ) {
        let unit = ABSOLUTE_POS;
        let cells = cells as usize;
        if unit >= cells {
            terminate!();
        }
        let hidden = hidden as usize;
        let b = unit / hidden;
        let j = unit % hidden;
        let s = step as usize;
        let r = row as usize;
        let a = s * cells * 4 + b * 4 * hidden + j;
        let i = acts[a];
        let f = acts[a + hidden];
        let g = acts[a + 2 * hidden];
        let o = acts[a + 3 * hidden];
        let one = F::new(1.0);
        let tc = cs[(s + 1) * cells + unit].tanh();
        let dh = grad[r * cells + unit] + dh_next[unit];
        let dc = dc_next[unit] + dh * o * (one - tc * tc);
        let di = dc * g * i * (one - i);
        let df = dc * cs[s * cells + unit] * f * (one - f);
        let dg = dc * i * (one - g * g);
        let d_o = dh * tc * o * (one - o);
        dgates[a] = di;
        dgates[a + hidden] = df;
        dgates[a + 2 * hidden] = dg;
        dgates[a + 3 * hidden] = d_o;
        let x = r * cells * 4 + b * 4 * hidden + j;
        dgates_x[x] = di;
        dgates_x[x + hidden] = df;
        dgates_x[x + 2 * hidden] = dg;
        dgates_x[x + 3 * hidden] = d_o;
        dc_prev[unit] = dc * f;
    }
}

/// One layer and direction without padding: `gates_x [T, B, 4H]`, `w_hh [4H, H]`, `h0`/`c0`
/// `[B, H]` → outputs `[T, B, H]` and the final `h`, `c`, on the backend [`super::served`] found.
pub(crate) fn recurrence<B: Backend>(
    served: Served,
    gates_x: Tensor<B, 3>,
    w_hh: Tensor<B, 2>,
    h0: Tensor<B, 2>,
    c0: Tensor<B, 2>,
    reverse: bool,
) -> (Tensor<B, 3>, Tensor<B, 2>, Tensor<B, 2>) {
    let seq = gates_x.dims()[0];
    let packed = packed(served, (gates_x, w_hh, h0, c0), reverse);
    // Rows 0..T are the outputs, T the final h, T + 1 the final c.
    let h = packed.clone().slice(s![seq]).squeeze_dim(0);
    let c = packed.clone().slice(s![seq + 1]).squeeze_dim(0);
    (packed.slice(s![0..seq]), h, c)
}

entry_points!(Kernels);

/// The LSTM's kernels, as a [`Recurrence`]: its inputs are `gates_x`, `w_hh`, `h0`, `c0`.
#[derive(Debug)]
struct Kernels;

impl<R: CubeRuntime, BT: BoolElement> Recurrence<R, BT> for Kernels {
    type Saved = Saved<R, BT>;

    fn forward(
        (gates_x, w_hh, h0, c0): Inputs<Inner<R, BT>>,
        reverse: bool,
    ) -> (Tensor<Inner<R, BT>, 3>, Saved<R, BT>) {
        forward(gates_x, w_hh, h0, c0, reverse)
    }

    fn backward(saved: &Saved<R, BT>, grad: Tensor<Inner<R, BT>, 3>) -> Inputs<Inner<R, BT>> {
        backward(saved, grad)
    }
}

/// What the backward pass reads: the activations of every step, `h` and `c` before and after
/// every step (step order), `W_hh`, and the direction.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime, BT: BoolElement> {
    acts: Tensor<Inner<R, BT>, 3>,
    hs: Tensor<Inner<R, BT>, 3>,
    cs: Tensor<Inner<R, BT>, 3>,
    w_hh: Tensor<Inner<R, BT>, 2>,
    reverse: bool,
}

/// The forward pass: the packed output `[T + 2, B, H]` (outputs, final `h`, final `c`) and what
/// the backward pass needs.
fn forward<R: CubeRuntime, BT: BoolElement>(
    gates_x: Tensor<Inner<R, BT>, 3>,
    w_hh: Tensor<Inner<R, BT>, 2>,
    h0: Tensor<Inner<R, BT>, 2>,
    c0: Tensor<Inner<R, BT>, 2>,
    reverse: bool,
) -> (Tensor<Inner<R, BT>, 3>, Saved<R, BT>) {
    let [seq, batch, gates] = gates_x.dims();
    let hidden = gates / 4;
    let device = gates_x.device();
    let gx = raw(&gates_x);
    let client = gx.client.clone();
    let hs = empty_contiguous(&client, &device, [seq + 1, batch, hidden]);
    let cs = empty_contiguous(&client, &device, [seq + 1, batch, hidden]);
    let acts = empty_contiguous(&client, &device, [seq, batch, gates]);
    let packed = empty_contiguous(&client, &device, [seq + 2, batch, hidden]);
    let (h0_raw, c0_raw) = (raw(&h0), raw(&c0));
    let (acts_raw, hs_raw, cs_raw, packed_raw) = (out(&acts), out(&hs), out(&cs), out(&packed));
    let cells = batch * hidden;
    let (count, dim) = launch_shape(&client, cells);
    each_step(&h0, &hs, &w_hh, |step, recurrent| {
        kernels::cell_forward::launch::<R>(
            &client,
            count.clone(),
            dim,
            gx.clone().into_tensor_arg(),
            recurrent.into_tensor_arg(),
            h0_raw.clone().into_tensor_arg(),
            c0_raw.clone().into_tensor_arg(),
            acts_raw.clone().into_tensor_arg(),
            hs_raw.clone().into_tensor_arg(),
            cs_raw.clone().into_tensor_arg(),
            packed_raw.clone().into_tensor_arg(),
            step as u32,
            row(step, seq, reverse),
            u32::from(step + 1 == seq),
            seq as u32,
            cells as u32,
            hidden as u32,
            DType::F32.into(),
        );
    });
    let saved = Saved {
        acts,
        hs,
        cs,
        w_hh,
        reverse,
    };
    (packed, saved)
}

/// The backward pass: gradients of `gates_x`, `w_hh`, `h0`, `c0` from that of the packed output.
fn backward<R: CubeRuntime, BT: BoolElement>(
    saved: &Saved<R, BT>,
    grad: Tensor<Inner<R, BT>, 3>,
) -> Inputs<Inner<R, BT>> {
    let [seq, batch, gates] = saved.acts.dims();
    let hidden = gates / 4;
    let device = grad.device();
    let (acts, cs, grad_raw) = (raw(&saved.acts), raw(&saved.cs), raw(&grad));
    let client = acts.client.clone();
    let dgates = empty_contiguous(&client, &device, [seq, batch, gates]);
    let dgates_x = empty_contiguous(&client, &device, [seq, batch, gates]);
    let mut dh = grad.clone().slice(s![seq]).reshape([batch, hidden]);
    let mut dc = grad.clone().slice(s![seq + 1]).reshape([batch, hidden]);
    let (dgates_raw, dgates_x_raw) = (out(&dgates), out(&dgates_x));
    let cells = batch * hidden;
    let (count, dim) = launch_shape(&client, cells);
    for step in (0..seq).rev() {
        let dc_prev = empty_contiguous(&client, &device, [batch, hidden]);
        kernels::cell_backward::launch::<R>(
            &client,
            count.clone(),
            dim,
            acts.clone().into_tensor_arg(),
            cs.clone().into_tensor_arg(),
            grad_raw.clone().into_tensor_arg(),
            raw(&dh).into_tensor_arg(),
            raw(&dc).into_tensor_arg(),
            dgates_raw.clone().into_tensor_arg(),
            dgates_x_raw.clone().into_tensor_arg(),
            out(&dc_prev).into_tensor_arg(),
            step as u32,
            row(step, seq, saved.reverse),
            cells as u32,
            hidden as u32,
            DType::F32.into(),
        );
        dh = dgates
            .clone()
            .slice(s![step])
            .reshape([batch, gates])
            .matmul(saved.w_hh.clone());
        dc = dc_prev;
    }
    let h_prev = saved
        .hs
        .clone()
        .slice(s![0..seq])
        .reshape([seq * batch, hidden]);
    let dw_hh = dgates
        .reshape([seq * batch, gates])
        .transpose()
        .matmul(h_prev);
    (dgates_x, dw_hh, dh, dc)
}
