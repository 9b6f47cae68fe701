//! ReLU and max-pooling of a convolution's output, the epilogue
//! [`ReluMaxPool`](super::conv::Epilogue::ReluMaxPool) of [`super::conv`]: each pooled value, and
//! where its window's maximum was for the backward pass.

/// Marks a pooled value whose window held no positive value (ReLU made it 0, and no gradient
/// flows back through it) or a NaN.
pub(super) const NO_ARGMAX: u32 = u32::MAX;

/// One chunk's convolution output: `m` images side by side, `[O, ld]` with each image's
/// `OH × OW` plane at `k·OH·OW` in its channel's row.
pub(super) struct Planes<'a> {
    pub(super) y: &'a [f32],
    pub(super) ld: usize,
    pub(super) m: usize,
    pub(super) out_channels: usize,
    /// `[OH, OW]`.
    pub(super) hw: [usize; 2],
}

/// ReLU and max-pooling of `planes` over `kernel` windows every `stride` pixels into
/// `out [m, O, PH, PW]`, where `[PH, PW]` is `pooled`;
/// writes each pooled value's argmax (its index in `planes.y`, or [`NO_ARGMAX`]) into `argmax`
/// when it is not empty. The first largest value of a window wins, as PyTorch and Burn pick it;
/// a NaN wins, as in PyTorch, so that a diverging network shows it.
pub(super) fn relu_max_pool(
    planes: &Planes,
    [kernel, stride]: [[usize; 2]; 2],
    pooled: [usize; 2],
    out: &mut [f32],
    argmax: &mut [u32],
) {
    let [oh, ow] = planes.hw;
    let (o, p) = (planes.out_channels, oh * ow);
    let per = pooled[0] * pooled[1];
    for k in 0..planes.m {
        for ch in 0..o {
            let base = ch * planes.ld + k * p;
            let plane = &planes.y[base..][..p];
            let at = (k * o + ch) * per;
            let out = &mut out[at..][..per];
            let argmax = argmax.get_mut(at..at + per).unwrap_or_default();
            // The zoo's CNNs pool 2×2 with stride 2: that window gets a branch-free loop (the
            // general one, its branches mispredicted on ReLU's signs, was 14% of `small-cnn`'s
            // epoch on a Xeon, 3.4× this one).
            if kernel == [2, 2] && stride == [2, 2] {
                pool_2x2(plane, ow, pooled, base, out, argmax);
            } else {
                pool_windows(plane, ow, [kernel, stride], pooled, base, out, argmax);
            }
        }
    }
}

/// [`relu_max_pool`] of one plane (at `base` in the chunk) over 2×2 windows, stride 2.
fn pool_2x2(
    plane: &[f32],
    ow: usize,
    [ph, pw]: [usize; 2],
    base: usize,
    out: &mut [f32],
    argmax: &mut [u32],
) {
    let save = !argmax.is_empty();
    let below = ow as u32;
    for py in 0..ph {
        let top = 2 * py * ow;
        let (r0, r1) = (&plane[top..][..2 * pw], &plane[top + ow..][..2 * pw]);
        let out = &mut out[py * pw..][..pw];
        let first = (base + top) as u32;
        for px in 0..pw {
            let (a, b, c, d) = (r0[2 * px], r0[2 * px + 1], r1[2 * px], r1[2 * px + 1]);
            // A tournament keeps the first largest: the bottom pair wins only when larger.
            let (m01, i01) = if b > a { (b, 1) } else { (a, 0) };
            let (m23, i23) = if d > c { (d, below + 1) } else { (c, below) };
            let (m, i) = if m23 > m01 { (m23, i23) } else { (m01, i01) };
            let nan = a.is_nan() | b.is_nan() | c.is_nan() | d.is_nan();
            let positive = m > 0.0;
            out[px] = if nan {
                f32::NAN
            } else if positive {
                m
            } else {
                0.0
            };
            if save {
                argmax[py * pw + px] = if positive & !nan {
                    first + 2 * px as u32 + i
                } else {
                    NO_ARGMAX
                };
            }
        }
    }
}

/// [`relu_max_pool`] of one plane (at `base` in the chunk) over any `[kernel, stride]`.
fn pool_windows(
    plane: &[f32],
    ow: usize,
    [kernel, stride]: [[usize; 2]; 2],
    [ph, pw]: [usize; 2],
    base: usize,
    out: &mut [f32],
    argmax: &mut [u32],
) {
    for py in 0..ph {
        for px in 0..pw {
            let (mut best, mut at, mut nan) = (f32::NEG_INFINITY, 0, false);
            for i in 0..kernel[0] {
                let start = (py * stride[0] + i) * ow + px * stride[1];
                for (j, &v) in plane[start..][..kernel[1]].iter().enumerate() {
                    if v > best {
                        (best, at) = (v, start + j);
                    }
                    nan |= v.is_nan();
                }
            }
            let q = py * pw + px;
            out[q] = if nan { f32::NAN } else { best.max(0.0) };
            if let Some(slot) = argmax.get_mut(q) {
                *slot = if best > 0.0 && !nan {
                    (base + at) as u32
                } else {
                    NO_ARGMAX
                };
            }
        }
    }
}
