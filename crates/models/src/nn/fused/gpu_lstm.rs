//! The LSTM recurrence on the CubeCL backends (wgpu, cuda) as one operation: per step, one matrix
//! product `h_{t-1} · W_hhᵀ` and one fused CubeCL kernel for the gates, the cell update and the
//! hidden state; its own backward pass, again one fused kernel and one matrix product per step,
//! and the gradient of `W_hh` as a single product at the end. One node in the autodiff graph per
//! layer and direction, instead of a dozen operations per step.
//!
//! [`crate::nn::Lstm`] uses it automatically on `Wgpu` (on `Cuda` once let:
//! [`super::set_cuda_kernel`]; Burn's fused backends, `f32`), with or without `Autodiff`, for
//! sequences without padding (`forward_packed` with lengths takes the tensor path). The same math as [`super::cpu::lstm`] and the tensor path, held equal to
//! them by `zoo check --backend wgpu|cuda` (outputs, final state and every gradient; the test suite
//! runs it on Mesa's lavapipe, `crates/cli/tests/backends.rs`).
//!
//! Layout: `gates_x` `[T, B, 4H]` holds `x_t · W_ihᵀ + b_ih + b_hh` in time order (computed by the
//! caller with tensor operations); `w_hh` is PyTorch's `[4H, H]`, gates i, f, g, o. The kernels
//! index by *step* `s` (the order the recurrence runs) and by *row* `t` (the time position:
//! `s`, or `T − 1 − s` for the reverse direction), so nothing is flipped or copied.

use std::any::TypeId;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ir::{BackendIr, InitOperationIr, OperationIr};
use burn::prelude::*;
use burn::tensor::{DType, TensorMetadata, TensorPrimitive};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime};
use burn_fusion::client::GlobalFusionClient;
use burn_fusion::stream::OperationStreams;
use burn_fusion::{Fusion, FusionBackend, FusionTensor, NoOp};
use cubecl::prelude::{ComputeClient, CubeCount, CubeDim};

use super::cast;

/// The backend the kernels run on: a CubeCL runtime without Burn's fusion layer.
type Inner<R, BT> = CubeBackend<R, f32, i32, BT>;
/// Burn's `Wgpu` / `Cuda`: [`Inner`] behind the fusion layer.
type Outer<R, BT> = Fusion<Inner<R, BT>>;

/// The two CubeCL kernels (in their own module: CubeCL's prelude names `Tensor` and `Float` too).
mod kernels {
    use cubecl::prelude::*;

    /// `sigmoid(x)`.
    #[cube]
    fn sigmoid<F: Float>(x: F) -> F {
        F::new(1.0) / (F::new(1.0) + (F::new(0.0) - x).exp())
    }

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

/// Which backend `B` is, among those the kernel serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    #[cfg(feature = "wgpu")]
    Wgpu { tracked: bool },
    #[cfg(feature = "cuda")]
    Cuda { tracked: bool },
}

#[cfg(feature = "wgpu")]
type WgpuRuntime = burn::backend::wgpu::WgpuRuntime;
#[cfg(feature = "wgpu")]
type WgpuOuter = Outer<WgpuRuntime, u32>;
#[cfg(feature = "cuda")]
type CudaRuntime = burn_cubecl::cubecl::cuda::CudaRuntime;
#[cfg(feature = "cuda")]
type CudaOuter = Outer<CudaRuntime, u8>;

/// The backend `B` is, when the kernel serves it; [`super::route`] asks.
pub(crate) fn served<B: Backend>() -> Option<Served> {
    let id = TypeId::of::<B>();
    #[cfg(feature = "wgpu")]
    for tracked in [false, true] {
        let of = if tracked {
            TypeId::of::<Autodiff<WgpuOuter>>()
        } else {
            TypeId::of::<WgpuOuter>()
        };
        if id == of {
            return Some(Served::Wgpu { tracked });
        }
    }
    // Not yet run successfully on a real GPU: only when let (`super::set_cuda_kernel`).
    #[cfg(feature = "cuda")]
    if super::cuda_kernel() {
        for tracked in [false, true] {
            let of = if tracked {
                TypeId::of::<Autodiff<CudaOuter>>()
            } else {
                TypeId::of::<CudaOuter>()
            };
            if id == of {
                return Some(Served::Cuda { tracked });
            }
        }
    }
    let _ = id;
    None
}

/// One layer and direction without padding: `gates_x [T, B, 4H]`, `w_hh [4H, H]`, `h0`/`c0`
/// `[B, H]` → outputs `[T, B, H]` and the final `h`, `c`, on the backend [`served`] found.
pub(crate) fn recurrence<B: Backend>(
    served: Served,
    gates_x: Tensor<B, 3>,
    w_hh: Tensor<B, 2>,
    h0: Tensor<B, 2>,
    c0: Tensor<B, 2>,
    reverse: bool,
) -> (Tensor<B, 3>, Tensor<B, 2>, Tensor<B, 2>) {
    let seq = gates_x.dims()[0];
    let inputs = (gates_x, w_hh, h0, c0);
    let packed: Tensor<B, 3> = match served {
        #[cfg(feature = "wgpu")]
        Served::Wgpu { tracked: false } => cast(wgpu_plain(cast(inputs), reverse)),
        #[cfg(feature = "wgpu")]
        Served::Wgpu { tracked: true } => cast(wgpu_tracked(cast(inputs), reverse)),
        #[cfg(feature = "cuda")]
        Served::Cuda { tracked: false } => cast(cuda_plain(cast(inputs), reverse)),
        #[cfg(feature = "cuda")]
        Served::Cuda { tracked: true } => cast(cuda_tracked(cast(inputs), reverse)),
    };
    // Rows 0..T are the outputs, T the final h, T + 1 the final c.
    let h = packed.clone().slice(s![seq]).squeeze_dim(0);
    let c = packed.clone().slice(s![seq + 1]).squeeze_dim(0);
    (packed.slice(s![0..seq]), h, c)
}

/// The four inputs of a recurrence on backend `B`.
type Inputs<B> = (Tensor<B, 3>, Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>);

// The kernel's entry points for each backend it serves, concrete rather than generic so that
// they are compiled once, into this crate. Called as `plain::<R, BT>` from the generic
// `recurrence`, they were compiled again into every crate that builds an LSTM on any backend
// (CubeCL's kernels and Burn's autodiff for each runtime, minutes of a release build each: the
// workspace's test build compiled them into five crates), CPU-only users' crates included.

#[cfg(feature = "wgpu")]
#[inline(never)]
fn wgpu_plain(inputs: Inputs<WgpuOuter>, reverse: bool) -> Tensor<WgpuOuter, 3> {
    plain::<WgpuRuntime, u32>(inputs, reverse)
}

#[cfg(feature = "wgpu")]
#[inline(never)]
fn wgpu_tracked(
    inputs: Inputs<Autodiff<WgpuOuter>>,
    reverse: bool,
) -> Tensor<Autodiff<WgpuOuter>, 3> {
    tracked::<WgpuRuntime, u32>(inputs, reverse)
}

#[cfg(feature = "cuda")]
#[inline(never)]
fn cuda_plain(inputs: Inputs<CudaOuter>, reverse: bool) -> Tensor<CudaOuter, 3> {
    plain::<CudaRuntime, u8>(inputs, reverse)
}

#[cfg(feature = "cuda")]
#[inline(never)]
fn cuda_tracked(
    inputs: Inputs<Autodiff<CudaOuter>>,
    reverse: bool,
) -> Tensor<Autodiff<CudaOuter>, 3> {
    tracked::<CudaRuntime, u8>(inputs, reverse)
}

/// A fused tensor's value on the inner backend (its pending fused work is run first).
fn unfuse<R: CubeRuntime, BT: BoolElement, const D: usize>(
    tensor: FusionTensor<<Inner<R, BT> as FusionBackend>::FusionRuntime>,
) -> Tensor<Inner<R, BT>, D> {
    let value = tensor
        .client
        .clone()
        .resolve_tensor_float::<Inner<R, BT>>(tensor);
    Tensor::from_primitive(TensorPrimitive::Float(value))
}

/// An inner tensor handed back to the fusion layer as a new fused tensor.
fn fuse<R: CubeRuntime, BT: BoolElement, const D: usize>(
    tensor: Tensor<Inner<R, BT>, D>,
    client: &GlobalFusionClient<<Inner<R, BT> as FusionBackend>::FusionRuntime>,
) -> FusionTensor<<Inner<R, BT> as FusionBackend>::FusionRuntime> {
    let value = tensor.into_primitive().tensor();
    let (shape, dtype) = (value.shape(), value.dtype());
    let handle = <Inner<R, BT> as BackendIr>::float_tensor_handle(value);
    let init = InitOperationIr::create(shape, dtype, || client.register_tensor_handle(handle));
    client
        .register(
            OperationStreams::default(),
            OperationIr::Init(init),
            NoOp::<Inner<R, BT>>::new(),
        )
        .pop()
        .unwrap_or_else(|| unreachable!("lstm_gpu: an init operation has one output"))
}

fn plain<R: CubeRuntime, BT: BoolElement>(
    (gates_x, w_hh, h0, c0): Inputs<Outer<R, BT>>,
    reverse: bool,
) -> Tensor<Outer<R, BT>, 3> {
    let [gates_x, w_hh, h0, c0] = [
        gates_x.into_primitive().tensor(),
        w_hh.into_primitive().tensor(),
        h0.into_primitive().tensor(),
        c0.into_primitive().tensor(),
    ];
    let client = gates_x.client.clone();
    let (packed, _) = forward::<R, BT>(
        unfuse(gates_x),
        unfuse(w_hh),
        unfuse(h0),
        unfuse(c0),
        reverse,
    );
    Tensor::from_primitive(TensorPrimitive::Float(fuse(packed, &client)))
}

fn tracked<R: CubeRuntime, BT: BoolElement>(
    (gates_x, w_hh, h0, c0): Inputs<Autodiff<Outer<R, BT>>>,
    reverse: bool,
) -> Tensor<Autodiff<Outer<R, BT>>, 3> {
    let [gates_x, w_hh, h0, c0] = [
        gates_x.into_primitive().tensor(),
        w_hh.into_primitive().tensor(),
        h0.into_primitive().tensor(),
        c0.into_primitive().tensor(),
    ];
    let nodes = [&gates_x, &w_hh, &h0, &c0].map(|t| t.node.clone());
    let client = gates_x.primitive.client.clone();
    let (packed, saved) = forward::<R, BT>(
        unfuse(gates_x.primitive),
        unfuse(w_hh.primitive),
        unfuse(h0.primitive),
        unfuse(c0.primitive),
        reverse,
    );
    let packed = fuse(packed, &client);
    let output = match RecurrenceBackward::<R, BT>(std::marker::PhantomData)
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(saved, packed),
        OpsKind::UnTracked(prep) => prep.finish(packed),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
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

/// Threads for one unit per `(b, j)`.
fn launch_shape<R: CubeRuntime>(client: &ComputeClient<R>, cells: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new(client, cells);
    (
        cubecl::calculate_cube_count_elemwise(client, cells, dim),
        dim,
    )
}

/// The tensor's primitive, contiguous (what the kernels' plain indexing expects): itself, or a
/// contiguous copy to read from.
fn raw<R: CubeRuntime, BT: BoolElement, const D: usize>(
    tensor: &Tensor<Inner<R, BT>, D>,
) -> CubeTensor<R> {
    burn_cubecl::kernel::into_contiguous(tensor.clone().into_primitive().tensor())
}

/// A tensor the kernels write: row-major with no padding between rows, which their plain
/// indexing expects. (`Tensor::empty` may pad rows on CUDA, whose allocator pitches the last
/// dimension to an aligned width: `[B, 6]` gets 8 floats per row.)
fn empty_contiguous<R: CubeRuntime, BT: BoolElement, const D: usize>(
    client: &ComputeClient<R>,
    device: &R::Device,
    shape: [usize; D],
) -> Tensor<Inner<R, BT>, D> {
    let tensor = burn_cubecl::ops::numeric::empty_device_contiguous_dtype(
        client.clone(),
        device.clone(),
        shape.into(),
        DType::F32,
    );
    Tensor::from_primitive(TensorPrimitive::Float(tensor))
}

/// The primitive of a tensor made by [`empty_contiguous`], for a kernel to write into (not
/// [`raw`], which would hand the kernel a copy if it were not contiguous).
fn out<R: CubeRuntime, BT: BoolElement, const D: usize>(
    tensor: &Tensor<Inner<R, BT>, D>,
) -> CubeTensor<R> {
    let primitive = tensor.clone().into_primitive().tensor();
    assert!(
        primitive.is_contiguous(),
        "lstm_gpu: an output buffer must be contiguous"
    );
    primitive
}

/// The row of step `s`: the time position it computes.
fn row(step: usize, seq: usize, reverse: bool) -> u32 {
    (if reverse { seq - 1 - step } else { step }) as u32
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
    let w_t = w_hh.clone().transpose();
    let (h0_raw, c0_raw) = (raw(&h0), raw(&c0));
    let (acts_raw, hs_raw, cs_raw, packed_raw) = (out(&acts), out(&hs), out(&cs), out(&packed));
    let cells = batch * hidden;
    let (count, dim) = launch_shape(&client, cells);
    for step in 0..seq {
        let h_prev = if step == 0 {
            h0.clone()
        } else {
            hs.clone().slice(s![step]).reshape([batch, hidden])
        };
        let recurrent = raw(&h_prev.matmul(w_t.clone()));
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
    }
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

/// The autodiff node of one recurrence; its parents are `gates_x`, `w_hh`, `h0`, `c0`.
#[derive(Debug)]
struct RecurrenceBackward<R, BT>(std::marker::PhantomData<(R, BT)>);

impl<R: CubeRuntime, BT: BoolElement> Backward<Outer<R, BT>, 4> for RecurrenceBackward<R, BT> {
    type State = Saved<R, BT>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Outer<R, BT>>(&ops.node);
        let client = grad.client.clone();
        let (gates_x, w_hh, h0, c0) = backward(&ops.state, unfuse(grad));
        let [p_gates_x, p_w_hh, p_h0, p_c0] = ops.parents;
        if let Some(node) = p_gates_x {
            grads.register::<Outer<R, BT>>(node.id, fuse(gates_x, &client));
        }
        if let Some(node) = p_w_hh {
            grads.register::<Outer<R, BT>>(node.id, fuse(w_hh, &client));
        }
        if let Some(node) = p_h0 {
            grads.register::<Outer<R, BT>>(node.id, fuse(h0, &client));
        }
        if let Some(node) = p_c0 {
            grads.register::<Outer<R, BT>>(node.id, fuse(c0, &client));
        }
    }
}
