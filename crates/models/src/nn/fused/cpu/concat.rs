//! Tensors side by side along their last axis, on the CPU, as one operation with its own
//! backward pass: row after row, each part's row copied whole.
//!
//! Burn's `Tensor::cat` on `ndarray` along the last axis goes through ndarray's `append`, one
//! element at a time, then copies the result again to make it row-major: for a bidirectional
//! LSTM's two directions that was half of the character tagger's forward pass, and its gradient
//! (slices of the output's, each copied to row-major) as slow again.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;

use super::super::cast;
use super::{any_rank_values, primitive, primitive_values, tensor, values};

/// `parts` (`[.., w_k]`, the same leading axes) joined along the last axis, `[.., Σ w_k]`; call
/// only on this route of [`super::super::route`] (`autodiff`: `Autodiff<NdArray>`).
pub(crate) fn cat_last<B: Backend, const D: usize, const N: usize>(
    autodiff: bool,
    parts: [Tensor<B, D>; N],
) -> Tensor<B, D> {
    let shapes = parts.each_ref().map(|part| part.dims());
    let joined = Joined::of(&shapes);
    if !autodiff {
        let parts = parts.map(|part| values(cast::<_, Tensor<NdArray, D>>(part)));
        cast(tensor(joined.join(&parts), joined.shape))
    } else {
        cast(tracked(parts.map(cast), joined))
    }
}

/// The layout of a join: its parts' widths, the rows they share and the joined shape.
#[derive(Debug, Clone)]
struct Joined<const D: usize, const N: usize> {
    widths: [usize; N],
    rows: usize,
    shape: [usize; D],
}

impl<const D: usize, const N: usize> Joined<D, N> {
    /// The join of parts of `shapes`.
    ///
    /// # Panics
    /// If two parts differ before the last axis (as `Tensor::cat` does).
    fn of(shapes: &[[usize; D]; N]) -> Self {
        let lead = &shapes[0][..D - 1];
        for shape in shapes {
            assert_eq!(
                &shape[..D - 1],
                lead,
                "cat: the parts differ before their last axis: {shapes:?}"
            );
        }
        let widths = shapes.map(|shape| shape[D - 1]);
        let mut shape = shapes[0];
        shape[D - 1] = widths.iter().sum();
        Joined {
            widths,
            rows: lead.iter().product(),
            shape,
        }
    }

    /// `parts` (row-major, `rows × width` each) side by side.
    fn join(&self, parts: &[Vec<f32>; N]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.shape[D - 1]);
        for row in 0..self.rows {
            for (part, &width) in parts.iter().zip(&self.widths) {
                out.extend_from_slice(&part[row * width..(row + 1) * width]);
            }
        }
        out
    }

    /// The gradient of each part from that of the join, `joined` (row-major).
    fn split(&self, joined: &[f32]) -> [Vec<f32>; N] {
        let mut parts = self
            .widths
            .map(|width| Vec::with_capacity(self.rows * width));
        let mut rest = joined;
        for _ in 0..self.rows {
            for (part, &width) in parts.iter_mut().zip(&self.widths) {
                let (row, after) = rest.split_at(width);
                part.extend_from_slice(row);
                rest = after;
            }
        }
        parts
    }

    /// The shape of part `k`.
    fn part_shape(&self, k: usize) -> [usize; D] {
        let mut shape = self.shape;
        shape[D - 1] = self.widths[k];
        shape
    }
}

fn tracked<const D: usize, const N: usize>(
    parts: [Tensor<Autodiff<NdArray>, D>; N],
    joined: Joined<D, N>,
) -> Tensor<Autodiff<NdArray>, D> {
    let parts = parts.map(|part| part.into_primitive().tensor());
    let nodes = parts.each_ref().map(|part| part.node.clone());
    let values = parts.map(|part| primitive_values::<D>(part.primitive));
    let out = primitive(joined.join(&values), joined.shape);
    let output = match CatBackward::<D>
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(Arc::new(joined), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

/// The autodiff node; its parents are the parts, in order.
#[derive(Debug)]
struct CatBackward<const D: usize>;

impl<const D: usize, const N: usize> Backward<NdArray, N> for CatBackward<D> {
    type State = Arc<Joined<D, N>>;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let joined = ops.state;
        let grad = any_rank_values(grads.consume::<NdArray>(&ops.node));
        let parts = joined.split(&grad);
        for (k, (parent, part)) in ops.parents.into_iter().zip(parts).enumerate() {
            if let Some(node) = parent {
                grads.register::<NdArray>(node.id, primitive(part, joined.part_shape(k)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tolerance};

    use super::*;

    type A = Autodiff<NdArray>;

    fn random<const D: usize>(shape: [usize; D]) -> Tensor<A, D> {
        Tensor::random(shape, Distribution::Default, &Default::default()).require_grad()
    }

    /// The join is Burn's `cat` along the last axis, and each part's gradient is the slice of the
    /// output's gradient over its columns, for parts of different widths (a strided one among
    /// them), in a graph and out of one.
    #[test]
    fn the_join_and_its_gradients_are_burns_cat() {
        let (a, b, c) = (random([2, 3, 4]), random([3, 2, 1]), random([2, 3, 5]));
        let strided = || b.clone().swap_dims(0, 1);
        let weights = random([2, 3, 10]).detach();
        // Each graph built and taken back in turn: a backward pass consumes the graph.
        let ours = cat_last::<A, 3, 3>(true, [a.clone(), strided(), c.clone()]);
        let joined = ours.to_data();
        let grads_ours = (ours * weights.clone()).sum().backward();
        let burns = Tensor::cat(vec![a.clone(), strided(), c.clone()], 2);
        joined.assert_eq(&burns.to_data(), true);
        let grads_burn = (burns * weights).sum().backward();
        for part in [&a, &b, &c] {
            part.grad(&grads_ours)
                .unwrap()
                .into_data()
                .assert_approx_eq::<f32>(
                    &part.grad(&grads_burn).unwrap().into_data(),
                    Tolerance::absolute(1e-7),
                );
        }
        let inner = |t: &Tensor<A, 3>| t.clone().inner();
        let plain = cat_last::<NdArray, 3, 2>(false, [inner(&a), inner(&c)]);
        plain.into_data().assert_eq(
            &Tensor::cat(vec![inner(&a), inner(&c)], 2).into_data(),
            true,
        );
    }
}
