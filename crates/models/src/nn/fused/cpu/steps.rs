//! What the fused CPU recurrences share ([`super::lstm`], [`super::gru`]): a recurrence's sizes
//! and padding, the batch cut into one block of sequences per thread (the sequences of a batch
//! never meet, so each block runs the whole recurrence alone), each thread's rows of the shared
//! time-major buffers, and `W_hh` laid out for the steps' matrix products.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::cell_math::multiversioned;

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

    /// How many leading sequences step `t` runs: every real one is among them. Sequences sorted
    /// longest first (the character tagger's words, as PyTorch packs them) make that exactly the
    /// real ones, so the step's matrix product skips the ended sequences; in any other order the
    /// padded rows it still covers are computed and left unread, as before.
    pub(super) fn active(&self, t: usize) -> usize {
        match &self.lengths {
            None => self.batch,
            Some(lengths) => lengths.iter().rposition(|&l| t < l).map_or(0, |b| b + 1),
        }
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
    /// Blocks of padded sequences hold about as many real steps each (longest-first words: a
    /// few long ones in the first block, many short ones in the last), else as many sequences.
    pub(super) fn blocks(&self) -> Vec<Range<usize>> {
        const MIN_ROWS: usize = 8;
        let n = rayon::current_num_threads()
            .min(self.batch / MIN_ROWS)
            .max(1);
        let Some(lengths) = self.lengths.as_ref().filter(|_| n > 1) else {
            return (0..n)
                .map(|k| k * self.batch / n..(k + 1) * self.batch / n)
                .collect();
        };
        // Cut where the running count of real steps passes each n-th of the total.
        let total: usize = lengths.iter().sum();
        let mut cuts = vec![0];
        let mut steps = 0;
        for (b, &length) in lengths.iter().enumerate() {
            steps += length;
            if cuts.len() < n && steps * n >= total * cuts.len() && b + 1 < self.batch {
                cuts.push(b + 1);
            }
        }
        cuts.push(self.batch);
        cuts.windows(2).map(|w| w[0]..w[1]).collect()
    }
}

/// Cuts each of the `slabs` `[B, width]` slabs of `buf` into the rows of each block: `parts[k][t]`
/// is block `k`'s rows of slab `t`. The blocks are [`Dims::blocks`]: consecutive, covering the
/// batch. Each thread then works in the shared buffers, with no copy of its rows in or out.
pub(super) fn split_blocks<'a, T>(
    buf: &'a mut [T],
    slabs: usize,
    width: usize,
    blocks: &[Range<usize>],
) -> Vec<Vec<&'a mut [T]>> {
    let batch = blocks.last().map_or(0, |rows| rows.end);
    assert_eq!(buf.len(), slabs * batch * width, "recurrence: buffer size");
    let mut parts: Vec<Vec<&mut [T]>> = blocks.iter().map(|_| Vec::new()).collect();
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

/// A `[slabs, B, width]` buffer that the blocks' threads write whole, value by value, before
/// anything reads it: a recurrence's outputs and the states its forward pass keeps. It is not
/// zeroed first: zeroing these buffers (megabytes a batch) was about a third of the `memset`
/// that took 5.5% of the MNIST-LSTM epoch on the Xeon (perf).
pub(super) struct Unwritten {
    values: Vec<f32>,
    shape: [usize; 3],
}

/// One block's rows of an [`Unwritten`] buffer, per slab, each to be written once
/// ([`super::put`], [`super::put_zeros`]; zeros at a padded step).
pub(super) type Parts<'a> = Vec<&'a mut [MaybeUninit<f32>]>;

impl Unwritten {
    /// `slabs` slabs of `[B, width]`; none when `slabs` is 0 (a state a pass does not keep).
    pub(super) fn new(slabs: usize, batch: usize, width: usize) -> Self {
        Self {
            values: Vec::with_capacity(slabs * batch * width),
            shape: [slabs, batch, width],
        }
    }

    /// Each block's rows, per slab ([`split_blocks`]).
    pub(super) fn parts(&mut self, blocks: &[Range<usize>]) -> Vec<Parts<'_>> {
        let [slabs, batch, width] = self.shape;
        let spare = &mut self.values.spare_capacity_mut()[..slabs * batch * width];
        split_blocks(spare, slabs, width, blocks)
    }

    /// The values, once written.
    ///
    /// # Safety
    ///
    /// Every value of every part [`Unwritten::parts`] gave has been written.
    pub(super) unsafe fn written(mut self) -> Vec<f32> {
        let [slabs, batch, width] = self.shape;
        // SAFETY: the caller's promise: all `slabs · batch · width` values are written.
        unsafe { self.values.set_len(slabs * batch * width) };
        self.values
    }
}

/// Where the rows `rows` of slab `t` of a `[.., B, width]` buffer lie (`batch` = B).
pub(super) fn slab_rows(batch: usize, rows: &Range<usize>, t: usize, width: usize) -> Range<usize> {
    let start = (t * batch + rows.start) * width;
    start..start + rows.len() * width
}

/// `W_hh` `[GH, H]` as a recurrence's steps take it: transposed for the forward pass's products
/// and, for a pass that saves what its backward pass needs, as it is for the backward's, each in
/// [`Panels`].
pub(super) struct StepWeights {
    /// `W_hhᵀ` `[H, GH]`.
    pub(super) t: Panels,
    /// `W_hh` `[GH, H]`, where kept for the backward pass.
    pub(super) kept: Option<Panels>,
}

impl StepWeights {
    /// `w_hh` `[rows, cols]` for a pass that saves what its backward pass needs (`save`: kept and
    /// transposed) or not ([`StepWeights::read`]).
    pub(super) fn of(w_hh: super::Primitive, save: bool, rows: usize, cols: usize) -> Self {
        if !save {
            return StepWeights::read(w_hh, rows, cols);
        }
        super::with_values::<2, _>(w_hh, |w| StepWeights {
            t: Panels::of_transpose(w, rows, cols),
            kept: Some(Panels::of(w, rows, cols)),
        })
    }

    /// `w_hh` transposed straight from its buffer, for a pass that saves nothing: a parameter
    /// read for inference is not copied first (a served tagger's batches are small enough for
    /// that copy to show).
    pub(super) fn read(w_hh: super::Primitive, rows: usize, cols: usize) -> Self {
        StepWeights {
            t: Panels::read(w_hh, rows, cols),
            kept: None,
        }
    }
}

/// The right operand of a recurrence's step products, `[k, n]`, as column panels of
/// [`Panels::WIDTH`]: each panel `[k, WIDTH]` row-major and contiguous, one product each.
///
/// gemm reads the right operand of a product with few rows in place (see [`super::gemm`]), 64
/// values from each of its `k` rows at a time (its AVX-512 kernel's height). From `W_hhᵀ` `[H,
/// 4H]` those rows lie 4H floats apart: for the 2 × 128 LSTM, 2 KiB, so that the 128 rows of a
/// kernel's panel share a few cache sets and were read again from L2 for every kernel call. In
/// panels they are 256 bytes apart and stay in L1: the step's product 11–12% faster for a batch
/// block of 50 at 128 units (5–10% for 16 to 100 rows, 64 to 256 units; the backward's `[4H, H]`
/// 5%), standalone on the Xeon. The same kernel sums the same terms in the same order as over
/// `W_hhᵀ` as it is: one epoch of every recurrent model trains to the same weights.
#[derive(Debug)]
pub(super) struct Panels {
    k: usize,
    n: usize,
    values: Vec<f32>,
}

impl Panels {
    /// Columns of one panel: 64, the height of gemm's AVX-512 kernel (four 16-lane vectors).
    const WIDTH: usize = 64;

    /// `w` `[rows, cols]` (row-major) itself.
    pub(super) fn of(w: &[f32], rows: usize, cols: usize) -> Self {
        Self::build(rows, cols, |first, width, panel| {
            for (row, out) in panel.chunks_exact_mut(width).enumerate() {
                super::put(out, &w[row * cols + first..][..width]);
            }
        })
    }

    /// The transpose of `w` `[rows, cols]` (a parameter's primitive, read in place where it is
    /// row-major): `[cols, rows]`.
    pub(super) fn read(w: super::Primitive, rows: usize, cols: usize) -> Self {
        super::with_values::<2, _>(w, |w| Panels::of_transpose(w, rows, cols))
    }

    /// The transpose of `w` `[rows, cols]` (row-major): `[cols, rows]`. Each of the panel's
    /// columns is a row of `w`, read whole and written down the panel, which stays in L1.
    pub(super) fn of_transpose(w: &[f32], rows: usize, cols: usize) -> Self {
        Self::build(cols, rows, |first, width, panel| {
            for j in 0..width {
                let column = &w[(first + j) * cols..][..cols];
                for (out, &value) in panel.chunks_exact_mut(width).zip(column) {
                    out[j] = MaybeUninit::new(value);
                }
            }
        })
    }

    /// `[k, n]` from `panel(first, width, values)`, which writes every value of the panel of
    /// columns `first..first + width` (`[k, width]`, row-major). A large matrix's panels are
    /// written by rayon's threads: built on the calling thread, once a layer and batch, the
    /// transposes of `W_ih` and `W_hh` were 4% of a `mnist-lstm` test pass while the other
    /// threads waited (perf, Xeon model 207).
    fn build(
        k: usize,
        n: usize,
        panel: impl Fn(usize, usize, &mut [MaybeUninit<f32>]) + Sync,
    ) -> Self {
        if k == 0 || n == 0 {
            return Panels {
                k,
                n,
                values: Vec::new(),
            };
        }
        let full = k * Self::WIDTH;
        let write = |start: usize, part: &mut [MaybeUninit<f32>]| {
            // Parts hold whole panels, so `start` is where a panel begins.
            let mut first = start / k;
            for values in part.chunks_mut(full) {
                let width = Self::WIDTH.min(n - first);
                assert_eq!(values.len(), k * width, "panels: a part cut inside a panel");
                panel(first, width, values);
                first += width;
            }
        };
        // SAFETY: `panel` writes every value of each panel, and the panels cover the parts.
        let values = unsafe { super::written_in_parts(k * n, full, write) };
        Panels { k, n, values }
    }

    /// `c[m × n] (+)= a[m × k] · self` (`accumulate`), the rows of `a` `rs_a` apart and those of
    /// `c` `rs_c` apart, by gemm. From two rows up each value is gemm's kernel's: its sum over
    /// `k` from zero, in order, by fused multiply-adds, then added to `c`'s, whatever rows run
    /// with it. A single row takes gemm's vector path, which adds each term to `c` as it goes
    /// (other bits; [`Panels::row_as_kernel`] sums one row as the kernel does).
    pub(super) fn product(
        &self,
        m: usize,
        a: &[f32],
        rs_a: usize,
        accumulate: bool,
        c: &mut [f32],
        rs_c: usize,
    ) {
        for (first, width, panel) in panels(&self.values, self.k, self.n) {
            super::gemm(
                m,
                self.k,
                width,
                a,
                (rs_a, 1),
                panel,
                (width, 1),
                accumulate,
                &mut c[first..],
                rs_c,
            );
        }
    }

    /// `c[n] (+)= a[k] · self` for one row, summed as gemm's kernel sums each value of a product
    /// of several rows ([`Panels::product`]): the bits the row gets among others.
    pub(super) fn row_as_kernel(&self, a: &[f32], accumulate: bool, c: &mut [f32]) {
        row_product(&a[..self.k], &self.values, accumulate, &mut c[..self.n]);
    }
}

/// The panels of [`Panels`]' `values` (`[k, n]` in all): each one's first column, width and
/// values `[k, width]`.
#[inline(always)]
fn panels(values: &[f32], k: usize, n: usize) -> impl Iterator<Item = (usize, usize, &[f32])> {
    (0..n).step_by(Panels::WIDTH).map(move |first| {
        let width = Panels::WIDTH.min(n - first);
        (first, width, &values[first * k..][..k * width])
    })
}

multiversioned! {
    /// [`Panels::row_as_kernel`]: one row `a` `[k]` by the panels `values` into `c` `[n]`.
    fn row_product / row_product_baseline(
        a: &[f32],
        values: &[f32],
        accumulate: bool,
        c: &mut [f32],
    ) {
        let (k, n) = (a.len(), c.len());
        for (first, width, panel) in panels(values, k, n) {
            let mut sums = [0.0f32; Panels::WIDTH];
            let sums = &mut sums[..width];
            for (&x, row) in a.iter().zip(panel.chunks_exact(width)) {
                for (sum, &w) in sums.iter_mut().zip(row) {
                    *sum = x.mul_add(w, *sum);
                }
            }
            for (out, &sum) in c[first..first + width].iter_mut().zip(sums.iter()) {
                *out = if accumulate { *out + sum } else { sum };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step runs the leading sequences that cover its real ones; padded sequences are cut
    /// into blocks of about as many real steps, every sequence in one block.
    #[test]
    fn steps_run_the_real_rows_and_blocks_share_the_real_steps() {
        let dims = |lengths: Option<Vec<usize>>, batch| Dims {
            seq: 24,
            batch,
            hidden: 4,
            reverse: false,
            lengths,
        };
        let longest_first = dims(
            Some(vec![1, 24, 20, 9, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1]),
            16,
        );
        assert_eq!(
            [0, 1, 2, 3, 9, 20, 23].map(|t| longest_first.active(t)),
            [16, 11, 8, 6, 3, 2, 2]
        );
        assert_eq!(dims(None, 16).active(5), 16);
        let blocks = longest_first.blocks();
        assert_eq!(blocks.first().map(|b| b.start), Some(0));
        assert_eq!(blocks.last().map(|b| b.end), Some(16));
        assert!(
            blocks
                .windows(2)
                .all(|w| w[0].end == w[1].start && w[0].start < w[0].end)
        );
        if blocks.len() == 2 {
            // 80 real steps: the first block ends where the count reaches 40.
            assert_eq!(blocks[0], 0..3);
        }
        assert_eq!(dims(None, 16).blocks().len(), blocks.len());
    }

    /// A product through [`Panels`] is gemm's product over the matrix itself, bit for bit, for
    /// widths that are and are not multiples of a panel, and for the matrix and its transpose;
    /// and its first rows alone (two, three; one as the kernel sums it) give the bits they give
    /// among the others.
    #[test]
    fn panel_products_are_the_plain_products() {
        let value = |v: usize| ((v * 7919) % 113) as f32 / 17.0 - 3.0;
        let m = 40;
        for (rows, cols) in [(4 * 37, 37), (37, 3 * 37), (512, 128), (64, 64), (400, 200)] {
            let w: Vec<f32> = (0..rows * cols).map(value).collect();
            let len = m * rows.max(cols);
            let a: Vec<f32> = (0..len).map(|v| value(v + 5)).collect();
            let c0: Vec<f32> = (0..len).map(|v| value(v + 11)).collect();
            for transpose in [false, true] {
                // a[m × k] · w (accumulated) or a[m × k] · wᵀ (not): `[k, n]` either way.
                let (k, n) = if transpose {
                    (cols, rows)
                } else {
                    (rows, cols)
                };
                let (panels, w_strides) = match transpose {
                    false => (Panels::of(&w, rows, cols), (cols, 1)),
                    true => (Panels::of_transpose(&w, rows, cols), (1, cols)),
                };
                let accumulate = !transpose;
                let (mut want, mut got) = (c0.clone(), c0.clone());
                let gemm = super::super::gemm;
                gemm(m, k, n, &a, (k, 1), &w, w_strides, accumulate, &mut want, n);
                panels.product(m, &a, k, accumulate, &mut got, n);
                let case = format!("{rows}x{cols}, transposed {transpose}");
                assert_eq!(got, want, "{case}");
                for few in 1..=3 {
                    let mut got = c0[..few * n].to_vec();
                    match few {
                        1 => panels.row_as_kernel(&a, accumulate, &mut got),
                        _ => panels.product(few, &a, k, accumulate, &mut got, n),
                    }
                    assert_eq!(got, want[..few * n], "{case}: the first {few} rows alone");
                }
            }
        }
    }
}
