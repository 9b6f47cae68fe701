//! What the fused CPU recurrences share ([`super::lstm`], [`super::gru`]): a recurrence's sizes
//! and padding, the batch cut into one block of sequences per thread (the sequences of a batch
//! never meet, so each block runs the whole recurrence alone), each thread's rows of the shared
//! time-major buffers, and `W_hh` transposed for the step's matrix product.

use std::ops::Range;

/// Sizes and padding of one recurrence.
#[derive(Debug, Clone)]
pub(super) struct Dims {
    pub(super) seq: usize,
    pub(super) batch: usize,
    pub(super) hidden: usize,
    pub(super) reverse: bool,
    pub(super) lengths: Option<Vec<usize>>,
}

impl Dims {
    /// Time steps in the order the direction reads them.
    pub(super) fn order(&self) -> Vec<usize> {
        if self.reverse {
            (0..self.seq).rev().collect()
        } else {
            (0..self.seq).collect()
        }
    }

    /// Whether step `t` of sequence `b` is real (not padding).
    pub(super) fn real(&self, b: usize, t: usize) -> bool {
        self.lengths.as_ref().is_none_or(|l| t < l[b])
    }

    /// The sequences `rows` of the batch, as a recurrence of their own.
    pub(super) fn rows(&self, rows: &Range<usize>) -> Dims {
        Dims {
            batch: rows.len(),
            lengths: self.lengths.as_ref().map(|l| l[rows.clone()].to_vec()),
            ..self.clone()
        }
    }

    /// The batch cut into one block of sequences per thread: the sequences of a batch never
    /// meet, so each block runs the whole recurrence alone, with no synchronization per step.
    pub(super) fn blocks(&self) -> Vec<Range<usize>> {
        const MIN_ROWS: usize = 8;
        let n = rayon::current_num_threads()
            .min(self.batch / MIN_ROWS)
            .max(1);
        (0..n)
            .map(|k| k * self.batch / n..(k + 1) * self.batch / n)
            .collect()
    }
}

/// Cuts each of the `slabs` `[B, width]` slabs of `buf` into the rows of each block: `parts[k][t]`
/// is block `k`'s rows of slab `t`. The blocks are [`Dims::blocks`]: consecutive, covering the
/// batch. Each thread then works in the shared buffers, with no copy of its rows in or out.
pub(super) fn split_blocks<'a>(
    buf: &'a mut [f32],
    slabs: usize,
    width: usize,
    blocks: &[Range<usize>],
) -> Vec<Vec<&'a mut [f32]>> {
    let batch = blocks.last().map_or(0, |rows| rows.end);
    assert_eq!(buf.len(), slabs * batch * width, "recurrence: buffer size");
    let mut parts: Vec<Vec<&mut [f32]>> = blocks.iter().map(|_| Vec::new()).collect();
    let mut rest = buf;
    for _ in 0..slabs {
        let (mut slab, tail) = std::mem::take(&mut rest).split_at_mut(batch * width);
        rest = tail;
        for (part, rows) in parts.iter_mut().zip(blocks) {
            let (mine, tail) = std::mem::take(&mut slab).split_at_mut(rows.len() * width);
            part.push(mine);
            slab = tail;
        }
    }
    parts
}

/// Where the rows `rows` of slab `t` of a `[.., B, width]` buffer lie (`batch` = B).
pub(super) fn slab_rows(batch: usize, rows: &Range<usize>, t: usize, width: usize) -> Range<usize> {
    let start = (t * batch + rows.start) * width;
    start..start + rows.len() * width
}

/// `W_hh` `[GH, H]` as a recurrence's forward pass takes it: transposed for its steps' products
/// ([`transposed`]), and, for a pass that saves what its backward pass needs, as it is.
pub(super) struct StepWeights {
    /// `W_hhᵀ` `[H, GH]`.
    pub(super) t: Vec<f32>,
    /// `W_hh` `[GH, H]`, where kept for the backward pass.
    pub(super) kept: Option<Vec<f32>>,
}

impl StepWeights {
    /// `w_hh` `[rows, cols]` for a pass that saves what its backward pass needs (`save`: kept and
    /// transposed) or not ([`StepWeights::read`]).
    pub(super) fn of(w_hh: super::Primitive, save: bool, rows: usize, cols: usize) -> Self {
        if !save {
            return StepWeights::read(w_hh, rows, cols);
        }
        let w_hh = super::primitive_values::<2>(w_hh);
        StepWeights {
            t: transposed(&w_hh, rows, cols),
            kept: Some(w_hh),
        }
    }

    /// `w_hh` transposed straight from its buffer, for a pass that saves nothing: a parameter
    /// read for inference is transposed in one pass, not copied and then transposed (a served
    /// tagger's batches are small enough for that copy to show).
    pub(super) fn read(w_hh: super::Primitive, rows: usize, cols: usize) -> Self {
        StepWeights {
            t: super::with_values::<2, _>(w_hh, |w| transposed(w, rows, cols)),
            kept: None,
        }
    }
}

/// `W_hhᵀ` `[H, GH]` from `w_hh` `[GH, H]` (`rows` × `cols`, G gates), row-major: the step's
/// product reads it as gemm's kernels want it. Transposed sixteen rows at a time, so that the rows being read
/// stay in the first-level cache while each row of the result is written in runs of sixteen.
pub(super) fn transposed(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const BLOCK: usize = 16;
    let mut t = vec![0.0f32; w.len()];
    for first in (0..rows).step_by(BLOCK) {
        let block = &w[first * cols..(first + BLOCK).min(rows) * cols];
        for k in 0..cols {
            let out = &mut t[k * rows + first..][..block.len() / cols.max(1)];
            for (j, slot) in out.iter_mut().enumerate() {
                *slot = block[j * cols + k];
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocked transpose is the transpose, for sizes that are and are not multiples of its
    /// block.
    #[test]
    fn w_hh_is_transposed_exactly() {
        for (rows, cols) in [(16, 4), (40, 10), (4 * 37, 37), (7, 1), (0, 3)] {
            let w: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
            let t = transposed(&w, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        t[c * rows + r],
                        w[r * cols + c],
                        "{rows}x{cols} at ({r}, {c})"
                    );
                }
            }
        }
    }
}
