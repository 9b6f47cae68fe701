//! Rows of a matrix picked by index (embedding lookups), computed on the CPU backend by a fused
//! operation.

use burn::nn::Embedding;
use burn::prelude::*;

/// `table.select(0, ids)`, `[.., width]` with the leading axes of `ids`: on the
/// `ndarray` backend (`f32`; feature `ndarray`, switch of [`super::fused`] on) one CPU operation
/// that copies whole rows and adds their gradients back; Burn's `select` on every other backend.
/// The same values exactly.
pub(crate) fn select_rows<B: Backend, const I: usize, const D: usize>(
    table: Tensor<B, 2>,
    ids: Tensor<B, I, Int>,
) -> Tensor<B, D> {
    assert_eq!(
        D,
        I + 1,
        "select_rows: the output has one axis more than the ids"
    );
    let width = table.dims()[1];
    let mut shape = [width; D];
    shape[..I].copy_from_slice(&ids.dims());
    match super::fused::route::<B>(table.dtype()) {
        #[cfg(feature = "ndarray")]
        Some(super::fused::Route::Cpu { tracked }) => {
            let ids = ids
                .into_data()
                .convert::<i64>()
                .into_vec::<i64>()
                .unwrap_or_else(|err| unreachable!("ids convert to i64: {err:?}"));
            super::fused::cpu::gather::select_rows(tracked, table, ids, shape)
        }
        _ => {
            let count = ids.shape().num_elements();
            table.select(0, ids.reshape([count])).reshape(shape)
        }
    }
}

/// `embedding.forward(ids)`, `ids [batch, seq]` → `[batch, seq, d_model]`, through
/// [`select_rows`].
pub(crate) fn forward_embedding<B: Backend>(
    embedding: &Embedding<B>,
    ids: Tensor<B, 2, Int>,
) -> Tensor<B, 3> {
    select_rows(embedding.weight.val(), ids)
}
