//! The recurrences on the CubeCL backends (wgpu, cuda) as one operation each: the LSTM's
//! ([`lstm`]) and the GRU's ([`gru`]). Per step, one matrix product `h_{t-1} · W_hhᵀ` and one
//! fused CubeCL kernel for the cell; their own backward pass, again one kernel and one product per
//! step, and the gradient of `W_hh` as a single product at the end. One node in the autodiff graph
//! per layer and direction, instead of a dozen operations per step.
//!
//! [`crate::nn::Lstm`] and [`crate::nn::Gru`] use them automatically on `Wgpu` (on `Cuda` once
//! let: [`super::set_cuda_kernel`]; Burn's fused backends, `f32`), with or without `Autodiff`, for
//! sequences without padding (`forward_packed` with lengths takes the tensor path). The same math
//! as the CPU operations and the tensor path, held equal to them by `zoo check --backend
//! wgpu|cuda` (outputs, final state and every gradient; the test suite runs it on Mesa's
//! lavapipe, `crates/cli/tests/backends.rs`).
//!
//! This module holds what both share: which backend is served, moving tensors out of Burn's
//! fusion layer and back, the buffers the kernels write, their launch shape.

use std::any::TypeId;
use std::marker::PhantomData;

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

pub(crate) mod gru;
pub(crate) mod lstm;

/// What the kernels of both cells compute alike (in their own module: CubeCL's prelude names
/// `Tensor` and `Float` too).
mod cube_math {
    use cubecl::prelude::*;

    /// `sigmoid(x)`.
    #[cube]
    pub(super) fn sigmoid<F: Float>(x: F) -> F {
        F::new(1.0) / (F::new(1.0) + (F::new(0.0) - x).exp())
    }
}

/// The backend the kernels run on: a CubeCL runtime without Burn's fusion layer.
type Inner<R, BT> = CubeBackend<R, f32, i32, BT>;
/// Burn's `Wgpu` / `Cuda`: [`Inner`] behind the fusion layer.
type Outer<R, BT> = Fusion<Inner<R, BT>>;

/// Which backend `B` is, among those the kernels serve.
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

/// The backend `B` is, when the kernels serve it; [`super::route`] asks.
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

/// The four inputs of a recurrence on backend `B`: `gates_x` `[T, B, G·H]`, `w_hh` `[G·H, H]`, and
/// two more `[.., H]` (the LSTM's `h0`, `c0`; the GRU's `b_hn` as `[1, H]`, `h0`).
pub(crate) type Inputs<B> = (Tensor<B, 3>, Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>);

/// One cell's kernels: the forward pass over a recurrence's [`Inputs`], giving its packed output
/// and what its backward pass reads, and that backward pass, giving the gradients of the four
/// inputs.
pub(crate) trait Recurrence<R: CubeRuntime, BT: BoolElement>:
    std::fmt::Debug + Send + Sync + 'static
{
    /// What the backward pass reads.
    type Saved: Clone + Send + std::fmt::Debug + 'static;

    /// The packed output `[T + k, B, H]` (the outputs, then the final state) and what the
    /// backward pass needs.
    fn forward(
        inputs: Inputs<Inner<R, BT>>,
        reverse: bool,
    ) -> (Tensor<Inner<R, BT>, 3>, Self::Saved);

    /// The gradients of the four inputs from that of the packed output.
    fn backward(saved: &Self::Saved, grad: Tensor<Inner<R, BT>, 3>) -> Inputs<Inner<R, BT>>;
}

/// The entry points of the recurrence `$kernels` (a [`Recurrence`]) for each backend it serves,
/// and `packed`, which calls the one [`Served`] names. They are concrete rather than generic so
/// that they are compiled once, into this crate: called as `plain::<K, R, BT>` from a generic
/// caller, they were compiled again into every crate that builds a recurrent layer on any backend
/// (CubeCL's kernels and Burn's autodiff for each runtime, minutes of a release build each: the
/// workspace's test build compiled them into five crates), CPU-only users' crates included.
macro_rules! entry_points {
    ($kernels:ty) => {
        #[cfg(feature = "wgpu")]
        #[inline(never)]
        fn wgpu_plain(
            inputs: super::Inputs<super::WgpuOuter>,
            reverse: bool,
        ) -> Tensor<super::WgpuOuter, 3> {
            super::plain::<$kernels, super::WgpuRuntime, u32>(inputs, reverse)
        }

        #[cfg(feature = "wgpu")]
        #[inline(never)]
        fn wgpu_tracked(
            inputs: super::Inputs<Autodiff<super::WgpuOuter>>,
            reverse: bool,
        ) -> Tensor<Autodiff<super::WgpuOuter>, 3> {
            super::tracked::<$kernels, super::WgpuRuntime, u32>(inputs, reverse)
        }

        #[cfg(feature = "cuda")]
        #[inline(never)]
        fn cuda_plain(
            inputs: super::Inputs<super::CudaOuter>,
            reverse: bool,
        ) -> Tensor<super::CudaOuter, 3> {
            super::plain::<$kernels, super::CudaRuntime, u8>(inputs, reverse)
        }

        #[cfg(feature = "cuda")]
        #[inline(never)]
        fn cuda_tracked(
            inputs: super::Inputs<Autodiff<super::CudaOuter>>,
            reverse: bool,
        ) -> Tensor<Autodiff<super::CudaOuter>, 3> {
            super::tracked::<$kernels, super::CudaRuntime, u8>(inputs, reverse)
        }

        /// The packed output of the recurrence over `inputs` on the backend `served` names.
        fn packed<B: Backend>(
            served: Served,
            inputs: super::Inputs<B>,
            reverse: bool,
        ) -> Tensor<B, 3> {
            use crate::nn::fused::cast;
            match served {
                #[cfg(feature = "wgpu")]
                Served::Wgpu { tracked: false } => cast(wgpu_plain(cast(inputs), reverse)),
                #[cfg(feature = "wgpu")]
                Served::Wgpu { tracked: true } => cast(wgpu_tracked(cast(inputs), reverse)),
                #[cfg(feature = "cuda")]
                Served::Cuda { tracked: false } => cast(cuda_plain(cast(inputs), reverse)),
                #[cfg(feature = "cuda")]
                Served::Cuda { tracked: true } => cast(cuda_tracked(cast(inputs), reverse)),
            }
        }
    };
}
use entry_points;

/// The recurrence `K` on the backend without autodiff.
fn plain<K: Recurrence<R, BT>, R: CubeRuntime, BT: BoolElement>(
    (gates_x, w_hh, a, b): Inputs<Outer<R, BT>>,
    reverse: bool,
) -> Tensor<Outer<R, BT>, 3> {
    let [w_hh, a, b] = [w_hh, a, b].map(|t| t.into_primitive().tensor());
    let gates_x = gates_x.into_primitive().tensor();
    let client = gates_x.client.clone();
    let inputs = (unfuse(gates_x), unfuse(w_hh), unfuse(a), unfuse(b));
    let (packed, _) = K::forward(inputs, reverse);
    Tensor::from_primitive(TensorPrimitive::Float(fuse(packed, &client)))
}

/// The recurrence `K` on the autodiff backend: one node, its parents the four inputs.
fn tracked<K: Recurrence<R, BT>, R: CubeRuntime, BT: BoolElement>(
    (gates_x, w_hh, a, b): Inputs<Autodiff<Outer<R, BT>>>,
    reverse: bool,
) -> Tensor<Autodiff<Outer<R, BT>>, 3> {
    let [w_hh, a, b] = [w_hh, a, b].map(|t| t.into_primitive().tensor());
    let gates_x = gates_x.into_primitive().tensor();
    let nodes = [
        gates_x.node.clone(),
        w_hh.node.clone(),
        a.node.clone(),
        b.node.clone(),
    ];
    let client = gates_x.primitive.client.clone();
    let inputs = (
        unfuse(gates_x.primitive),
        unfuse(w_hh.primitive),
        unfuse(a.primitive),
        unfuse(b.primitive),
    );
    let (packed, saved) = K::forward(inputs, reverse);
    let packed = fuse(packed, &client);
    let output = match RecurrenceBackward::<K, R, BT>(PhantomData)
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(saved, packed),
        OpsKind::UnTracked(prep) => prep.finish(packed),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

/// The autodiff node of one recurrence `K`; its parents are its four inputs.
#[derive(Debug)]
struct RecurrenceBackward<K, R, BT>(PhantomData<(K, R, BT)>);

impl<K, R, BT> Backward<Outer<R, BT>, 4> for RecurrenceBackward<K, R, BT>
where
    K: Recurrence<R, BT>,
    R: CubeRuntime,
    BT: BoolElement,
{
    type State = K::Saved;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Outer<R, BT>>(&ops.node);
        let client = grad.client.clone();
        let (gates_x, w_hh, a, b) = K::backward(&ops.state, unfuse(grad));
        let [p_gates_x, p_w_hh, p_a, p_b] = ops.parents;
        if let Some(node) = p_gates_x {
            grads.register::<Outer<R, BT>>(node.id, fuse(gates_x, &client));
        }
        for (parent, grad) in [(p_w_hh, w_hh), (p_a, a), (p_b, b)] {
            if let Some(node) = parent {
                grads.register::<Outer<R, BT>>(node.id, fuse(grad, &client));
            }
        }
    }
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
        .unwrap_or_else(|| unreachable!("recurrence_gpu: an init operation has one output"))
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
        "recurrence_gpu: an output buffer must be contiguous"
    );
    primitive
}

/// The row of step `s`: the time position it computes.
fn row(step: usize, seq: usize, reverse: bool) -> u32 {
    (if reverse { seq - 1 - step } else { step }) as u32
}

/// The recurrent part of each step in turn, `h_{s} · W_hhᵀ` `[B, G·H]` (from `h0` at step 0, from
/// `hs[s]`, which the step before wrote, after it), handed to `launch(s, recurrent)` with the
/// step's kernel to run.
fn each_step<R: CubeRuntime, BT: BoolElement>(
    h0: &Tensor<Inner<R, BT>, 2>,
    hs: &Tensor<Inner<R, BT>, 3>,
    w_hh: &Tensor<Inner<R, BT>, 2>,
    mut launch: impl FnMut(usize, CubeTensor<R>),
) {
    let [seq_plus_1, batch, hidden] = hs.dims();
    let w_t = w_hh.clone().transpose();
    for step in 0..seq_plus_1 - 1 {
        let h_prev = if step == 0 {
            h0.clone()
        } else {
            hs.clone().slice(s![step]).reshape([batch, hidden])
        };
        launch(step, raw(&h_prev.matmul(w_t.clone())));
    }
}
