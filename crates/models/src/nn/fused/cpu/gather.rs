//! Rows of a matrix picked by index (an embedding lookup, a word position reading its row of
//! character features), on the CPU, as one operation with its own backward pass: each row
//! copied whole, and its gradient added back into the rows it was read from.
//!
//! Burn's `select` on `ndarray` stacks one view per index through ndarray's `concatenate`, one
//! element at a time: the taggers' embedding lookups and character rows took a quarter of the
//! character tagger's forward pass on the calling thread.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;

use super::super::cast;
use super::{any_rank_values, primitive, primitive_values, tensor, values, zeros};

/// The rows `ids` of `table` `[rows, width]`, in order, shaped `shape` (`[.., width]`, as many
/// rows as ids); call only on this route of [`super::super::route`] (`autodiff`:
/// `Autodiff<NdArray>`).
///
/// # Panics
/// If an id is not a row of `table` (as `select` does).
pub(crate) fn select_rows<B: Backend, const D: usize>(
    autodiff: bool,
    table: Tensor<B, 2>,
    ids: Vec<i64>,
    shape: [usize; D],
) -> Tensor<B, D> {
    let [rows, width] = table.dims();
    assert_eq!(
        shape.iter().product::<usize>(),
        ids.len() * width,
        "select: {} ids of rows {width} wide do not fill {shape:?}",
        ids.len()
    );
    let ids = ids
        .into_iter()
        .map(|id| {
            usize::try_from(id)
                .ok()
                .filter(|&id| id < rows)
                .unwrap_or_else(|| panic!("select: index {id} is not a row of {rows}"))
        })
        .collect();
    let picked = Picked { ids, rows, width };
    if !autodiff {
        let table = values(cast::<_, Tensor<NdArray, 2>>(table));
        cast(tensor(picked.forward(&table), shape))
    } else {
        cast(tracked(cast(table), picked, shape))
    }
}

/// Which rows are read, from a table of what size.
#[derive(Debug)]
struct Picked {
    ids: Vec<usize>,
    rows: usize,
    width: usize,
}

impl Picked {
    /// The picked rows of `table`, one after another.
    fn forward(&self, table: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.ids.len() * self.width);
        for &id in &self.ids {
            out.extend_from_slice(&table[id * self.width..(id + 1) * self.width]);
        }
        out
    }

    /// The table's gradient from the output's, `grad` `[ids, width]`: each row's gradient added
    /// into the row it read (zero for rows never read).
    fn backward(&self, grad: &[f32]) -> Vec<f32> {
        let mut d_table = zeros(self.rows * self.width);
        for (&id, g) in self.ids.iter().zip(grad.chunks_exact(self.width)) {
            for (sum, v) in d_table[id * self.width..(id + 1) * self.width]
                .iter_mut()
                .zip(g)
            {
                *sum += v;
            }
        }
        d_table
    }
}

fn tracked<const D: usize>(
    table: Tensor<Autodiff<NdArray>, 2>,
    picked: Picked,
    shape: [usize; D],
) -> Tensor<Autodiff<NdArray>, D> {
    let table = table.into_primitive().tensor();
    let node = table.node.clone();
    let out = primitive(
        picked.forward(&primitive_values::<2>(table.primitive)),
        shape,
    );
    let output = match GatherBackward
        .prepare::<NoCheckpointing>([node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(Arc::new(picked), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

/// The autodiff node; its parent is the table.
#[derive(Debug)]
struct GatherBackward;

impl Backward<NdArray, 1> for GatherBackward {
    type State = Arc<Picked>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let picked = ops.state;
        let grad = any_rank_values(grads.consume::<NdArray>(&ops.node));
        let [parent] = ops.parents;
        if let Some(node) = parent {
            let d_table = picked.backward(&grad);
            grads.register::<NdArray>(node.id, primitive(d_table, [picked.rows, picked.width]));
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tolerance};

    use super::*;

    type A = Autodiff<NdArray>;

    /// The rows are Burn's `select`, and the table's gradient its gradient: a row read twice gets
    /// both gradients, a row never read none.
    #[test]
    fn picked_rows_and_their_gradient_are_burns_select() {
        let device = Default::default();
        let table = Tensor::<A, 2>::random([6, 3], Distribution::Default, &device).require_grad();
        let ids = || Tensor::<A, 1, Int>::from_ints([4, 0, 4, 2], &device);
        let weights = Tensor::<A, 2>::random([4, 3], Distribution::Default, &device);
        let ours = select_rows::<A, 2>(true, table.clone(), vec![4, 0, 4, 2], [4, 3]);
        let picked = ours.to_data();
        let grads_ours = (ours * weights.clone()).sum().backward();
        let burns = table.clone().select(0, ids());
        picked.assert_eq(&burns.to_data(), true);
        let grads_burn = (burns * weights).sum().backward();
        table
            .grad(&grads_ours)
            .unwrap()
            .into_data()
            .assert_approx_eq::<f32>(
                &table.grad(&grads_burn).unwrap().into_data(),
                Tolerance::absolute(1e-7),
            );
        let plain =
            select_rows::<NdArray, 3>(false, table.clone().inner(), vec![4, 0, 4, 2], [2, 2, 3]);
        plain.into_data().assert_eq(
            &table
                .inner()
                .select(0, ids().inner())
                .reshape([2, 2, 3])
                .into_data(),
            true,
        );
    }
}
