//! Consecutive slabs of a tensor's first axis, `x[range]`, as one operation: the LSTM's outputs
//! (slabs `0..T`) and final `h`, `c` (slabs `T`, `T + 1`) of the recurrence's packed
//! `[T + 2, B, H]` result.
//!
//! Burn's `slice` copies the slabs out, and its backward pass zeroes a tensor of the whole shape on
//! the calling thread and assigns the gradient into it through a strided iterator: in the
//! MNIST-LSTM epoch that was most of what the training step did on one thread while the others
//! waited. Here a buffer held nowhere else is cut in place, and the gradient of leading slabs is
//! the incoming one with zeros appended.

use std::mem::MaybeUninit;
use std::ops::Range;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;

use super::super::cast;
use super::{Primitive, copied, primitive, primitive_values, put, put_zeros, written_in_parts};

/// `x[range]` of `x` `[N, B, H]`; call only on this route of [`super::super::route`]
/// (`autodiff`: `Autodiff<NdArray>`).
pub(crate) fn slabs<B: Backend>(
    autodiff: bool,
    x: Tensor<B, 3>,
    range: Range<usize>,
) -> Tensor<B, 3> {
    let [n, batch, hidden] = x.dims();
    assert!(
        range.start <= range.end && range.end <= n,
        "slabs: {range:?} of {n} slabs"
    );
    let shape = Shape {
        total: n,
        range,
        slab: batch * hidden,
        dims: [batch, hidden],
    };
    if !autodiff {
        let x: Tensor<NdArray, 3> = cast(x);
        let out = cut(x.into_primitive().tensor(), &shape);
        return cast(Tensor::<NdArray, 3>::from_primitive(
            TensorPrimitive::Float(out),
        ));
    }
    let x: Tensor<Autodiff<NdArray>, 3> = cast(x);
    let x = x.into_primitive().tensor();
    let node = x.node.clone();
    let out = cut(x.primitive, &shape);
    let output = match SlabsBackward
        .prepare::<NoCheckpointing>([node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(shape, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    cast(Tensor::<Autodiff<NdArray>, 3>::from_primitive(
        TensorPrimitive::Float(output),
    ))
}

/// Where the slabs lie in the tensor they are cut from.
#[derive(Debug, Clone)]
struct Shape {
    /// Slabs of the whole tensor.
    total: usize,
    range: Range<usize>,
    /// Values a slab.
    slab: usize,
    /// A slab's shape.
    dims: [usize; 2],
}

impl Shape {
    /// Where the slabs' values lie in the whole tensor's.
    fn values(&self) -> Range<usize> {
        self.range.start * self.slab..self.range.end * self.slab
    }

    fn of(&self, slabs: usize) -> [usize; 3] {
        [slabs, self.dims[0], self.dims[1]]
    }
}

/// The slabs' values: a row-major buffer shared with another tensor gives a copy of the slabs
/// alone; one held nowhere else is cut down in place.
fn cut(x: Primitive, shape: &Shape) -> Primitive {
    let values = shape.values();
    let shared = match &x {
        burn::backend::ndarray::NdArrayTensor::F32(storage) if !storage.is_unique() => storage
            .view()
            .as_slice()
            .map(|all| copied(&all[values.clone()])),
        _ => None,
    };
    let mine = shared.unwrap_or_else(|| {
        let mut all = primitive_values::<3>(x);
        all.truncate(values.end);
        all.drain(..values.start);
        all
    });
    primitive(mine, shape.of(shape.range.len()))
}

/// `len` values: `values` at `at`, zeros elsewhere, written once each by rayon's threads. Growing
/// the gradient of a recurrence's outputs by the two state slabs (`Vec::resize`) copied it
/// whole on the training thread alone while the others waited.
fn placed(len: usize, at: Range<usize>, values: &[f32]) -> Vec<f32> {
    let write = |start: usize, part: &mut [MaybeUninit<f32>]| {
        let end = start + part.len();
        let (lo, hi) = (at.start.clamp(start, end), at.end.clamp(start, end));
        let (head, rest) = part.split_at_mut(lo - start);
        let (mid, tail) = rest.split_at_mut(hi - lo);
        put_zeros(head);
        if hi > lo {
            put(mid, &values[lo - at.start..hi - at.start]);
        }
        put_zeros(tail);
    };
    // SAFETY: `write` writes every value of its part.
    unsafe { written_in_parts(len, 1, write) }
}

/// The autodiff node; its parent is the tensor cut.
#[derive(Debug)]
struct SlabsBackward;

impl Backward<NdArray, 1> for SlabsBackward {
    type State = Shape;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let shape = ops.state;
        let grad = primitive_values::<3>(grads.consume::<NdArray>(&ops.node));
        let [parent] = ops.parents;
        let Some(parent) = parent else { return };
        let full = placed(shape.total * shape.slab, shape.values(), &grad);
        grads.register::<NdArray>(parent.id, primitive(full, shape.of(shape.total)));
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tolerance};

    use super::*;

    type A = Autodiff<NdArray>;

    /// A gradient placed in a larger buffer lands at its range with zeros around it, whether the
    /// threads' parts start before, inside or after the range.
    #[test]
    fn placed_values_land_at_their_range() {
        let len = 3 * super::super::SERIAL + 7;
        for at in [0..1000, len / 3..len / 2 + 11, len - 5..len, 5..len - 3] {
            let values: Vec<f32> = (0..at.len()).map(|v| v as f32 + 1.0).collect();
            let mut want = vec![0.0; len];
            want[at.clone()].copy_from_slice(&values);
            assert_eq!(placed(len, at.clone(), &values), want, "at {at:?}");
        }
    }

    /// Each cut equals Burn's slice, forward and backward, whether or not the tensor is shared,
    /// and the gradients of several cuts of one tensor add up as the slices' do.
    #[test]
    fn cuts_match_burns_slice() {
        let device = Default::default();
        let x: Tensor<A, 3> = Tensor::random([6, 3, 4], Distribution::Normal(0.0, 1.0), &device);
        let weights: Tensor<A, 3> =
            Tensor::random([6, 3, 4], Distribution::Normal(0.0, 1.0), &device);
        let loss = |cut: &dyn Fn(Tensor<A, 3>, Range<usize>) -> Tensor<A, 3>| {
            let x = x.clone().detach().require_grad();
            let y = x.clone() * 1.0; // a tensor of the graph's own, not a leaf
            let parts = [4..5, 5..6, 0..4].map(|r| {
                let w = weights.clone().slice(s![r.clone()]);
                (cut(y.clone(), r) * w).sum()
            });
            let [a, b, c] = parts;
            let total = a + b * 2.0 + c * 3.0;
            let grads = total.backward();
            (total.into_data(), x.grad(&grads).unwrap().into_data())
        };
        let (ours, ours_grad) = loss(&|t, r| slabs(true, t, r));
        let (burns, burns_grad) = loss(&|t, r| t.slice(s![r]));
        ours.assert_approx_eq::<f32>(&burns, Tolerance::absolute(1e-6));
        ours_grad.assert_approx_eq::<f32>(&burns_grad, Tolerance::absolute(1e-6));
        // Without autodiff, from a tensor held elsewhere and from one held nowhere else.
        let plain = x.clone().inner();
        let shared = slabs(false, plain.clone(), 1..3);
        assert_eq!(shared.to_data(), plain.clone().slice(s![1..3]).to_data());
        let want = plain.clone().slice(s![0..4]).to_data();
        let alone = Tensor::<NdArray, 3>::from_data(plain.to_data(), &device);
        assert_eq!(slabs(false, alone, 0..4).to_data(), want);
    }
}
