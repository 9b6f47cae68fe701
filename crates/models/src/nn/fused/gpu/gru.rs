//! The GRU recurrence on the CubeCL backends (wgpu, cuda) as one operation ([`super`]): per step
//! one fused CubeCL kernel for the gates and the hidden state; its own backward pass, again one
//! fused kernel per step, and the gradients of `W_hh` and `b_hn` as single reductions at the end.
//!
//! PyTorch's cell: `r = σ(x_r + h·W_hrᵀ + b_hr)`, `z = σ(x_z + h·W_hzᵀ + b_hz)`,
//! `n = tanh(x_n + r ⊙ (h·W_hnᵀ + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`.
//!
//! Layout: `gates_x` `[T, B, 3H]` holds `x_t · W_ihᵀ + b_ih`, with `b_hh` added to the r and z
//! parts only (`b_hn` sits inside the reset product and comes as `[1, H]`); `w_hh` is PyTorch's
//! `[3H, H]`, gates r, z, n. Steps and rows as in [`super::lstm`].

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

    /// One step forward, one unit per `(b, j)` of `[B, H]`, from `gates_x[row]` and `recurrent`
    /// (`h_{s} · W_hhᵀ`, `[B, 3H]`). Saves the activations `[r, z, n]` of step `s` in `acts[s]`,
    /// `h·W_hnᵀ + b_hn` in `hns[s]`, `h` in `hs[s + 1]` (step 0 copies `h0` into row 0); writes `h`
    /// to `packed[row]`, and at the last step to `packed[T]`.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cell_forward<F: Float>(
        gates_x: &Tensor<F>,
        recurrent: &Tensor<F>,
        b_hn: &Tensor<F>,
        h0: &Tensor<F>,
        acts: &mut Tensor<F>,
        hns: &mut Tensor<F>,
        hs: &mut Tensor<F>,
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
        let gx = row as usize * cells * 3 + b * 3 * hidden + j;
        let rc = b * 3 * hidden + j;
        let r = sigmoid::<F>(gates_x[gx] + recurrent[rc]);
        let z = sigmoid::<F>(gates_x[gx + hidden] + recurrent[rc + hidden]);
        let hn = recurrent[rc + 2 * hidden] + b_hn[j];
        let n = (gates_x[gx + 2 * hidden] + r * hn).tanh();
        let s = step as usize;
        let mut h_prev = hs[s * cells + unit];
        if s == 0 {
            h_prev = h0[unit];
            hs[unit] = h_prev;
        }
        let h = (F::new(1.0) - z) * n + z * h_prev;
        let a = s * cells * 3 + b * 3 * hidden + j;
        acts[a] = r;
        acts[a + hidden] = z;
        acts[a + 2 * hidden] = n;
        hns[s * cells + unit] = hn;
        hs[(s + 1) * cells + unit] = h;
        packed[row as usize * cells + unit] = h;
        if last == 1 {
            packed[seq as usize * cells + unit] = h;
        }
    }

    /// One step backward, one unit per `(b, j)`: `dh = grad[row] + dh_next` (the output's gradient
    /// plus the one coming back through the recurrence); writes the gradients of the
    /// pre-activations to `dgates_x[row]` (time order: r, z and `x_n`'s) and of the recurrent
    /// part to `drec[s]` (step order: r, z and `h·W_hnᵀ + b_hn`'s, for `W_hh`, `b_hn` and the
    /// state), and `dh·z`, the part of `h_{s}`'s gradient that bypasses `W_hh`, to `dh_direct`.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cell_backward<F: Float>(
        acts: &Tensor<F>,
        hns: &Tensor<F>,
        hs: &Tensor<F>,
        grad: &Tensor<F>,
        dh_next: &Tensor<F>,
        drec: &mut Tensor<F>,
        dgates_x: &mut Tensor<F>,
        dh_direct: &mut Tensor<F>,
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
        let a = s * cells * 3 + b * 3 * hidden + j;
        let r = acts[a];
        let z = acts[a + hidden];
        let n = acts[a + 2 * hidden];
        let one = F::new(1.0);
        let dh = grad[row as usize * cells + unit] + dh_next[unit];
        let dn = dh * (one - z) * (one - n * n);
        let dz = dh * (hs[s * cells + unit] - n) * z * (one - z);
        let dr = dn * hns[s * cells + unit] * r * (one - r);
        let dhn = dn * r;
        drec[a] = dr;
        drec[a + hidden] = dz;
        drec[a + 2 * hidden] = dhn;
        let x = row as usize * cells * 3 + b * 3 * hidden + j;
        dgates_x[x] = dr;
        dgates_x[x + hidden] = dz;
        dgates_x[x + 2 * hidden] = dn;
        dh_direct[unit] = dh * z;
    }
}

/// One layer and direction without padding: `gates_x [T, B, 3H]`, `w_hh [3H, H]`, `b_hn [H]`,
/// `h0 [B, H]` → outputs `[T, B, H]` and the final `h`, on the backend [`super::served`] found.
pub(crate) fn recurrence<B: Backend>(
    served: Served,
    gates_x: Tensor<B, 3>,
    w_hh: Tensor<B, 2>,
    b_hn: Tensor<B, 1>,
    h0: Tensor<B, 2>,
    reverse: bool,
) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let seq = gates_x.dims()[0];
    let packed = packed(served, (gates_x, w_hh, b_hn.unsqueeze(), h0), reverse);
    // Rows 0..T are the outputs, T the final h.
    let h = packed.clone().slice(s![seq]).squeeze_dim(0);
    (packed.slice(s![0..seq]), h)
}

entry_points!(Kernels);

/// The GRU's kernels, as a [`Recurrence`]: its inputs are `gates_x`, `w_hh`, `b_hn` `[1, H]`, `h0`.
#[derive(Debug)]
struct Kernels;

impl<R: CubeRuntime, BT: BoolElement> Recurrence<R, BT> for Kernels {
    type Saved = Saved<R, BT>;

    fn forward(
        (gates_x, w_hh, b_hn, h0): Inputs<Inner<R, BT>>,
        reverse: bool,
    ) -> (Tensor<Inner<R, BT>, 3>, Saved<R, BT>) {
        forward(gates_x, w_hh, b_hn, h0, reverse)
    }

    fn backward(saved: &Saved<R, BT>, grad: Tensor<Inner<R, BT>, 3>) -> Inputs<Inner<R, BT>> {
        backward(saved, grad)
    }
}

/// What the backward pass reads: the activations and `h·W_hnᵀ + b_hn` of every step, `h` before
/// and after every step (step order), `W_hh`, and the direction.
#[derive(Debug, Clone)]
struct Saved<R: CubeRuntime, BT: BoolElement> {
    acts: Tensor<Inner<R, BT>, 3>,
    hns: Tensor<Inner<R, BT>, 3>,
    hs: Tensor<Inner<R, BT>, 3>,
    w_hh: Tensor<Inner<R, BT>, 2>,
    reverse: bool,
}

/// The forward pass: the packed output `[T + 1, B, H]` (outputs, final `h`) and what the
/// backward pass needs.
fn forward<R: CubeRuntime, BT: BoolElement>(
    gates_x: Tensor<Inner<R, BT>, 3>,
    w_hh: Tensor<Inner<R, BT>, 2>,
    b_hn: Tensor<Inner<R, BT>, 2>,
    h0: Tensor<Inner<R, BT>, 2>,
    reverse: bool,
) -> (Tensor<Inner<R, BT>, 3>, Saved<R, BT>) {
    let [seq, batch, gates] = gates_x.dims();
    let hidden = gates / 3;
    let device = gates_x.device();
    let gx = raw(&gates_x);
    let client = gx.client.clone();
    let hs = empty_contiguous(&client, &device, [seq + 1, batch, hidden]);
    let hns = empty_contiguous(&client, &device, [seq, batch, hidden]);
    let acts = empty_contiguous(&client, &device, [seq, batch, gates]);
    let packed = empty_contiguous(&client, &device, [seq + 1, batch, hidden]);
    let (b_hn_raw, h0_raw) = (raw(&b_hn), raw(&h0));
    let (acts_raw, hns_raw, hs_raw, packed_raw) = (out(&acts), out(&hns), out(&hs), out(&packed));
    let cells = batch * hidden;
    let (count, dim) = launch_shape(&client, cells);
    each_step(&h0, &hs, &w_hh, |step, recurrent| {
        kernels::cell_forward::launch::<R>(
            &client,
            count.clone(),
            dim,
            gx.clone().into_tensor_arg(),
            recurrent.into_tensor_arg(),
            b_hn_raw.clone().into_tensor_arg(),
            h0_raw.clone().into_tensor_arg(),
            acts_raw.clone().into_tensor_arg(),
            hns_raw.clone().into_tensor_arg(),
            hs_raw.clone().into_tensor_arg(),
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
        hns,
        hs,
        w_hh,
        reverse,
    };
    (packed, saved)
}

/// The backward pass: gradients of `gates_x`, `w_hh`, `b_hn` `[1, H]`, `h0` from that of the
/// packed output.
fn backward<R: CubeRuntime, BT: BoolElement>(
    saved: &Saved<R, BT>,
    grad: Tensor<Inner<R, BT>, 3>,
) -> Inputs<Inner<R, BT>> {
    let [seq, batch, gates] = saved.acts.dims();
    let hidden = gates / 3;
    let device = grad.device();
    let (acts, hns, hs, grad_raw) = (
        raw(&saved.acts),
        raw(&saved.hns),
        raw(&saved.hs),
        raw(&grad),
    );
    let client = acts.client.clone();
    let drec = empty_contiguous(&client, &device, [seq, batch, gates]);
    let dgates_x = empty_contiguous(&client, &device, [seq, batch, gates]);
    let mut dh = grad.clone().slice(s![seq]).reshape([batch, hidden]);
    let (drec_raw, dgates_x_raw) = (out(&drec), out(&dgates_x));
    let cells = batch * hidden;
    let (count, dim) = launch_shape(&client, cells);
    for step in (0..seq).rev() {
        let dh_direct = empty_contiguous(&client, &device, [batch, hidden]);
        kernels::cell_backward::launch::<R>(
            &client,
            count.clone(),
            dim,
            acts.clone().into_tensor_arg(),
            hns.clone().into_tensor_arg(),
            hs.clone().into_tensor_arg(),
            grad_raw.clone().into_tensor_arg(),
            raw(&dh).into_tensor_arg(),
            drec_raw.clone().into_tensor_arg(),
            dgates_x_raw.clone().into_tensor_arg(),
            out(&dh_direct).into_tensor_arg(),
            step as u32,
            row(step, seq, saved.reverse),
            cells as u32,
            hidden as u32,
            DType::F32.into(),
        );
        let through_w_hh = drec
            .clone()
            .slice(s![step])
            .reshape([batch, gates])
            .matmul(saved.w_hh.clone());
        dh = dh_direct + through_w_hh;
    }
    let h_prev = saved
        .hs
        .clone()
        .slice(s![0..seq])
        .reshape([seq * batch, hidden]);
    let drec = drec.reshape([seq * batch, gates]);
    let db_hn = drec.clone().slice(s![.., 2 * hidden..gates]).sum_dim(0);
    let dw_hh = drec.transpose().matmul(h_prev);
    (dgates_x, dw_hh, db_hn, dh)
}
