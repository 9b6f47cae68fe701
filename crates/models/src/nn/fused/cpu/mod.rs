//! The fused CPU operations ([`lstm`] and [`gru`] with [`slabs`], [`conv`], [`linear`], [`concat`],
//! [`gather`], [`adam`]) and what they share: which backends get them, moving tensors between the generic `B`
//! and `NdArray`, and a single-threaded matrix product on plain slices.

use std::any::TypeId;
use std::mem::MaybeUninit;

use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::{TensorData, TensorPrimitive};

pub(crate) mod adam;
mod cell_math;
pub(crate) mod concat;
pub(crate) mod conv;
pub(crate) mod gather;
pub(crate) mod gru;
mod gru_cell;
pub(crate) mod linear;
pub(crate) mod lstm;
mod lstm_cell;
mod pool;
mod slabs;
mod steps;

/// `Some(tracked)` when `B` is `NdArray` (`false`) or `Autodiff<NdArray>` (`true`), the backends
/// the CPU operations serve; [`super::route`] asks.
pub(crate) fn served<B: Backend>() -> Option<bool> {
    let id = TypeId::of::<B>();
    if id == TypeId::of::<NdArray>() {
        Some(false)
    } else if id == TypeId::of::<Autodiff<NdArray>>() {
        Some(true)
    } else {
        None
    }
}

/// The backend's float primitive, as autodiff nodes and gradients hold it.
pub(crate) type Primitive = <NdArray as burn::tensor::backend::BackendTypes>::FloatTensorPrimitive;

/// The `f32` values of a tensor, row-major.
pub(crate) fn values<const D: usize>(tensor: Tensor<NdArray, D>) -> Vec<f32> {
    primitive_values::<D>(tensor.into_primitive().tensor())
}

/// [`values`] of a rank-`D` primitive (an autodiff tensor's inner value, a gradient).
///
/// A buffer held nowhere else is taken as it is; one still shared (a parameter, a value the
/// autodiff graph keeps) is copied in one pass when row-major ([`copied`]). Burn's `into_data`
/// would copy a shared buffer element by element through a dynamic-rank iterator, which took 9%
/// of the CNN training step.
///
/// A strided buffer (a transposed or permuted view) is copied by [`strided_values`], several
/// times faster than through Burn's dynamic-rank iterator.
pub(crate) fn primitive_values<const D: usize>(primitive: Primitive) -> Vec<f32> {
    if let burn::backend::ndarray::NdArrayTensor::F32(storage) = &primitive {
        let view = storage.view();
        match view.as_slice() {
            Some(row_major) if !storage.is_unique() => return copied(row_major),
            // Held nowhere else: `into_data` below takes the buffer itself.
            Some(_) => {}
            None => {
                if let Some(values) = strided_values(view) {
                    return values;
                }
            }
        }
    }
    Tensor::<NdArray, D>::from_primitive(TensorPrimitive::Float(primitive))
        .into_data()
        .into_vec::<f32>()
        .unwrap_or_else(|err| unreachable!("cpu: f32 checked before: {err:?}"))
}

/// Below this many values, [`copied`], [`zeros`] and [`written_in_parts`] write on the calling
/// thread alone.
pub(crate) const SERIAL: usize = 1 << 16;

/// `f` of the row-major values of a rank-`D` primitive, borrowed where its buffer is row-major
/// (a parameter read for inference is not copied first), else [`primitive_values`].
pub(crate) fn with_values<const D: usize, R>(
    primitive: Primitive,
    f: impl FnOnce(&[f32]) -> R,
) -> R {
    if let burn::backend::ndarray::NdArrayTensor::F32(storage) = &primitive {
        if let Some(row_major) = storage.view().as_slice() {
            return f(row_major);
        }
    }
    f(&primitive_values::<D>(primitive))
}

/// A copy of `values`; a large one made by rayon's threads rather than by the calling thread
/// alone while the others wait.
pub(crate) fn copied(values: &[f32]) -> Vec<f32> {
    if values.len() < SERIAL {
        return values.to_vec();
    }
    let copy = |at: usize, part: &mut [MaybeUninit<f32>]| put(part, &values[at..at + part.len()]);
    // SAFETY: `copy` writes every value of its part.
    unsafe { written_in_parts(values.len(), 1, copy) }
}

/// `len` values, written by `write(start, part)` one part a thread (each part a whole number of
/// `unit`s: rows of a matrix), each part one call (a `memset`, a `memcpy`, a matrix product).
/// Rayon's `collect` of `repeat_n(0.0, len)` or `par_iter().copied()` cut a buffer into dozens of
/// jobs of 16-byte stores: [`zeros`] alone was 8% of the MNIST-LSTM epoch on a Xeon (perf).
///
/// # Safety
///
/// `write` writes every value of the part it is given.
pub(crate) unsafe fn written_in_parts(
    len: usize,
    unit: usize,
    write: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync,
) -> Vec<f32> {
    use rayon::prelude::*;
    let mut values = Vec::with_capacity(len);
    if len < SERIAL {
        write(0, &mut values.spare_capacity_mut()[..len]);
        // SAFETY: `write` wrote all `len` values, the caller's promise.
        unsafe { values.set_len(len) };
        return values;
    }
    let units = len.div_ceil(unit.max(1));
    let part = units.div_ceil(rayon::current_num_threads()).max(1) * unit.max(1);
    values.spare_capacity_mut()[..len]
        .par_chunks_mut(part)
        .enumerate()
        .for_each(|(k, chunk)| write(k * part, chunk));
    // SAFETY: `write` wrote every one of the `len` values, the caller's promise.
    unsafe { values.set_len(len) };
    values
}

/// Writes `src` into `dst`, of the same length: one row or part of a buffer made by
/// [`written_in_parts`] or [`steps::Unwritten`]. One `memcpy` (libc's, AVX-512 where the CPU
/// has it): a loop of `MaybeUninit::write` compiled to 16-byte SSE moves for the crate's
/// baseline target, and those loops (the recurrences' kept states and outputs, the input
/// products' bias rows) took 10% of the MNIST-LSTM epoch's samples on the Xeon (perf).
pub(crate) fn put(dst: &mut [MaybeUninit<f32>], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "cpu: row length");
    // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and every `f32` is a valid one.
    let src = unsafe { &*(src as *const [f32] as *const [MaybeUninit<f32>]) };
    dst.copy_from_slice(src);
}

/// Writes zeros into `dst`, as [`put`] writes values.
pub(crate) fn put_zeros(dst: &mut [MaybeUninit<f32>]) {
    dst.fill(MaybeUninit::new(0.0));
}

/// [`primitive_values`] of a primitive of any rank up to 6 (a gradient whose rank the operation
/// does not fix).
pub(crate) fn any_rank_values(primitive: Primitive) -> Vec<f32> {
    use burn::tensor::TensorMetadata;
    match primitive.shape().num_dims() {
        1 => primitive_values::<1>(primitive),
        2 => primitive_values::<2>(primitive),
        3 => primitive_values::<3>(primitive),
        4 => primitive_values::<4>(primitive),
        5 => primitive_values::<5>(primitive),
        rank => {
            assert_eq!(rank, 6, "cpu: ndarray tensors have rank 1 to 6, got {rank}");
            primitive_values::<6>(primitive)
        }
    }
}

/// The values of a strided view of rank 2 to 4, row-major: a view whose last axis is contiguous
/// (a batch-first sequence swapped to time-major) one row at a time, any other through ndarray's
/// fixed-rank iterator.
fn strided_values(view: ndarray::ArrayViewD<'_, f32>) -> Option<Vec<f32>> {
    let last = ndarray::Axis(view.ndim().checked_sub(1)?);
    let width = view.len_of(last);
    if width > 1 && view.stride_of(last) == 1 {
        let rows: Vec<&[f32]> = (view.lanes(last).into_iter())
            .map(|row| row.to_slice())
            .collect::<Option<_>>()?;
        // A large one by rayon's threads: the MNIST-LSTM's batch swapped to time-major was copied
        // on the calling thread while the others waited (1.3% of a test pass, perf, Xeon model 207).
        let copy = |at: usize, part: &mut [MaybeUninit<f32>]| {
            for (out, row) in part.chunks_exact_mut(width).zip(&rows[at / width..]) {
                put(out, row);
            }
        };
        // SAFETY: parts are whole rows, and `copy` writes each of them.
        return Some(unsafe { written_in_parts(view.len(), width, copy) });
    }
    Some(match view.ndim() {
        2 => view
            .into_dimensionality::<ndarray::Ix2>()
            .ok()?
            .iter()
            .copied()
            .collect(),
        3 => view
            .into_dimensionality::<ndarray::Ix3>()
            .ok()?
            .iter()
            .copied()
            .collect(),
        4 => view
            .into_dimensionality::<ndarray::Ix4>()
            .ok()?
            .iter()
            .copied()
            .collect(),
        _ => return None,
    })
}

/// `len` zeros; a large buffer written by rayon's threads. `vec![0.0; len]` zeroes a buffer on
/// the calling thread alone while the other cores wait: the buffers of an LSTM layer (its gates,
/// outputs and their gradients, megabytes a batch) made that serial zeroing about a tenth of the
/// MNIST-LSTM epoch's time outside the matrix products. A small one ([`SERIAL`], a served
/// request's) is zeroed at once: waking another thread for it costs more than the writing.
pub(crate) fn zeros(len: usize) -> Vec<f32> {
    if len < SERIAL {
        return vec![0.0; len];
    }
    let zero = |_: usize, part: &mut [MaybeUninit<f32>]| put_zeros(part);
    // SAFETY: `zero` writes every value of its part.
    unsafe { written_in_parts(len, 1, zero) }
}

thread_local! {
    /// [`with_scratch`]'s buffers on this thread.
    static SCRATCH: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on `N` buffers of `lens` values from the calling thread's scratch space, kept from one
/// call to the next: their values are whatever an earlier call left, so `f` writes before it
/// reads. Fresh `vec![0.0; n]`s were zeroed on every call: 5% of `small-cnn`'s epoch, for the
/// convolution's column matrices.
pub(crate) fn with_scratch<const N: usize, R>(
    lens: [usize; N],
    f: impl FnOnce([&mut [f32]; N]) -> R,
) -> R {
    let mut bufs: [Vec<f32>; N] =
        SCRATCH.with_borrow_mut(|pool| std::array::from_fn(|_| pool.pop().unwrap_or_default()));
    for (buf, &len) in bufs.iter_mut().zip(&lens) {
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
    }
    let mut at = 0;
    let result = f(bufs.each_mut().map(|buf| {
        at += 1;
        &mut buf[..lens[at - 1]]
    }));
    SCRATCH.with_borrow_mut(|pool| pool.extend(bufs));
    result
}

/// A tensor of the CPU backend from row-major values.
pub(crate) fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<NdArray, D> {
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

/// [`tensor`] as the backend's primitive, for autodiff nodes and gradients.
pub(crate) fn primitive(values: Vec<f32>, shape: impl Into<burn::tensor::Shape>) -> Primitive {
    burn::backend::ndarray::NdArrayTensor::from_data(TensorData::new(values, shape))
}

/// `c[m×n] (+)= a[m×k] · b[k×n]` (strides as `(row, column)`), on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    accumulate: bool,
    c: &mut [f32],
    rsc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(k == 0 || a.len() > (m - 1) * rsa + (k - 1) * csa);
    assert!(k == 0 || b.len() > (k - 1) * rsb + (n - 1) * csb);
    assert!(c.len() > (m - 1) * rsc + (n - 1));
    // gemm copies the left operand into its own layout when the other side has more than 8 ×
    // its 6 columns; at 16 a product of up to 96 (a thread's 50 rows of a batch of 100, a
    // 50-channel convolution) reads it in place. The same sums in the same order, so the same
    // bits; `mnist-cnn`'s test pass 0.46–0.49 → 0.42–0.44 s on the Xeon. Only products on one
    // thread (`Parallelism::None`, the zoo's) read this setting.
    static IN_PLACE: std::sync::Once = std::sync::Once::new();
    IN_PLACE.call_once(|| gemm::set_lhs_packing_threshold_single_thread(16));
    // SAFETY: the asserts above keep every index the strides reach inside the slices, and `c`
    // is borrowed mutably, so it overlaps neither `a` nor `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            rsc as isize,
            accumulate,
            a.as_ptr(),
            csa as isize,
            rsa as isize,
            b.as_ptr(),
            csb as isize,
            rsb as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transposed or permuted view reads as the row-major values of what it shows, whichever
    /// of the two copies (rows of a contiguous last axis, or the element iterator) it takes.
    #[test]
    fn strided_views_read_row_major() {
        let x = Tensor::<NdArray, 3>::from_data(
            TensorData::new((0..2 * 3 * 4).map(|v| v as f32).collect(), [2, 3, 4]),
            &Default::default(),
        );
        for view in [x.clone().swap_dims(0, 1), x.clone().swap_dims(1, 2)] {
            let want = view.to_data().into_vec::<f32>().unwrap();
            assert_eq!(values(view), want);
        }
        assert_eq!(zeros(100_003), vec![0.0; 100_003]);
        let many: Vec<f32> = (0..100_003).map(|v| v as f32).collect();
        assert_eq!(copied(&many), many);
    }
}
