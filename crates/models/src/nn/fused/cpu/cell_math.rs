//! What the fused recurrent cells share (the LSTM's, [`super::lstm_cell`], and the GRU's,
//! [`super::gru_cell`]): an `exp` of their own (range reduction and a polynomial, no branches, no
//! libm call), so that the compiler vectorises their loops; a reciprocal by Newton's method that
//! gives the division's own bits, in place of the division; and the macro that compiles a loop
//! three times — AVX-512, AVX2 + FMA, and the baseline — and picks one at run time by what the
//! CPU has. Every version gives the same bits: the arithmetic is the same IEEE operations (Rust
//! never fuses a multiply and an add on its own), and where a version has fused multiply-adds
//! they only compute the correctly rounded reciprocal, which a version without them divides for.
//! Against libm's `expf` called per value, this took the LSTM's gate math from a quarter of the
//! MNIST-LSTM training step to a few percent; the reciprocal halved what was left of it.

/// `e^x` to within 2 ulp for `x` in `[-87, 88]` (clamped outside it: `e^-87.3` ≈ 1.2e-38, the
/// smallest normal float, and `e^88` ≈ 1.65e38): Cephes' `expf` without its branches.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two, so that n·LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer (ties to even).
    const ROUND: f32 = 12_582_912.0;
    const ROUND_BITS: i32 = 0x4B40_0000;
    let x = x.clamp(-87.3, 88.0);
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_2e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // 2^n through the exponent bits; n is in [-126, 127]. `shifted` holds n as an integer in its
    // low mantissa bits (1.5·2²³ + n), so n is read from its bits by an integer subtraction:
    // `n as i32` would be Rust's saturating conversion, which checks every lane for NaN and
    // overflow and kept the compiler from vectorising it (the forward cell took three times as
    // long with it).
    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUND_BITS);
    let two_n = f32::from_bits((n_int.wrapping_add(127) as u32) << 23);
    e_r * two_n
}

/// From here up, `1 / d` is subnormal, where [`reciprocal`] is not always the division's.
const SUBNORMAL_RECIPROCAL: f32 = 8.507_059e37; // 2^126

/// `1 / d` for `d` in `[1, 2^126)`, correctly rounded, so bit for bit the division's: a first
/// guess from the bits (12% off at worst), four Newton steps with fused multiply-adds, and one
/// ulp up where `d`'s significand is all ones (`2 − 2⁻²³` times a power of two), the one case
/// where the steps round down. Checked against the division on every `f32` of the range
/// (`the_reciprocal_is_the_division_on_every_float`). On the Xeon's AVX-512 it takes the LSTM
/// cell from 38.6 to 19.7 µs a `[50, 512]` step: the division's unit was its bottleneck.
#[inline(always)]
fn reciprocal(d: f32) -> f32 {
    let mut y = f32::from_bits(0x7EF3_11C3_u32.wrapping_sub(d.to_bits()));
    for _ in 0..4 {
        let e = (-d).mul_add(y, 1.0);
        y = y.mul_add(e, y);
    }
    let all_ones = u32::from(d.to_bits() & 0x7F_FFFF == 0x7F_FFFF);
    f32::from_bits(y.to_bits() + all_ones)
}

/// `v ← scale / v + shift` for denominators `v ≥ 1` (or NaN) and `scale` 1 or 2, as the division
/// gives it. With `FMA` (the AVX-512 and AVX2 + FMA versions of [`multiversioned`]) through
/// [`reciprocal`], unless a value is 2^126 or more, or NaN: then, like a version without fused
/// multiply-adds (where `mul_add` would be a libm call), by division. A power of two times the
/// correctly rounded reciprocal is the correctly rounded quotient while the result is normal.
#[inline(always)]
fn quotients<const FMA: bool>(v: &mut [f32], scale: f32, shift: f32) {
    let far = (v.iter()).fold(false, |far, &d| {
        far | (d >= SUBNORMAL_RECIPROCAL) | d.is_nan()
    });
    if FMA && !far {
        for d in v.iter_mut() {
            *d = scale * reciprocal(*d) + shift;
        }
    } else {
        for d in v.iter_mut() {
            *d = scale / *d + shift;
        }
    }
}

/// `v ← σ(v) = 1 / (1 + e^-v)`, value by value. Written into the values first, the denominators
/// let [`quotients`] look at them all before it divides.
#[inline(always)]
pub(super) fn sigmoids<const FMA: bool>(v: &mut [f32]) {
    for x in v.iter_mut() {
        *x = 1.0 + exp(-*x);
    }
    quotients::<FMA>(v, 1.0, 0.0);
}

/// `v ← tanh(v) = 2 / (1 + e^-2v) − 1`, value by value (through one `exp`; absolute error within
/// a few ulps of 1).
#[inline(always)]
pub(super) fn tanhs<const FMA: bool>(v: &mut [f32]) {
    for x in v.iter_mut() {
        *x = 1.0 + exp(-2.0 * *x);
    }
    quotients::<FMA>(v, 2.0, -1.0);
}

/// Defines `$name`, which runs `$baseline` — the function written once, here — compiled for
/// the best instruction set the CPU has: AVX-512F, AVX2 + FMA, or the target's baseline. Named
/// after the baseline (`fn name / name_baseline<FMA>(..)`), a `const FMA: bool` tells the body
/// whether fused multiply-adds are instructions where it runs (for [`sigmoids`] and [`tanhs`]).
macro_rules! multiversioned {
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident / $baseline:ident($($arg:ident: $ty:ty),* $(,)?) $body:block
    ) => {
        $crate::nn::fused::cpu::cell_math::multiversioned! {
            $(#[$doc])*
            $vis fn $name / $baseline<_FMA>($($arg: $ty),*) $body
        }
    };
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident / $baseline:ident<$fma:ident>($($arg:ident: $ty:ty),* $(,)?)
        $body:block
    ) => {
        #[inline(always)]
        fn $baseline<const $fma: bool>($($arg: $ty),*) $body

        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                // `unsafe fn`: a safe function with `target_feature` needs Rust 1.86, and the
                // workspace supports 1.85. Safe to call where the CPU has the features.
                #[target_feature(enable = "avx512f,fma")]
                unsafe fn avx512($($arg: $ty),*) {
                    $baseline::<true>($($arg),*)
                }

                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $baseline::<true>($($arg),*)
                }

                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX-512F and FMA, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX2 and FMA, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $baseline::<{ cfg!(any(target_feature = "fma", target_arch = "aarch64")) }>($($arg),*)
        }
    };
}

pub(super) use multiversioned;

#[cfg(test)]
mod tests {
    use super::*;

    /// The polynomial `exp` is within 2 ulp of the correctly rounded one over the whole range
    /// the gates use, and saturates instead of giving infinity, NaN or negative values outside.
    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (ours, libm) = (exp(x), (x as f64).exp());
            let ulp = (libm as f32).to_bits().abs_diff(ours.to_bits());
            assert!(ulp <= 2, "exp({x}) = {ours}, libm {libm}: {ulp} ulp apart");
            x += 0.000_73;
        }
        for x in [-1e30, -200.0, -88.0, 89.0, 1e30, f32::MAX] {
            let v = exp(x);
            assert!(v.is_finite() && v >= 0.0, "exp({x}) = {v}");
        }
        let mut v = [-1e30, 1e30, -1e30];
        let (s, t) = v.split_at_mut(2);
        sigmoids::<true>(s);
        tanhs::<true>(t);
        assert!((0.0..1e-37).contains(&v[0]), "σ(-1e30) = {}", v[0]);
        assert_eq!(&v[1..], [1.0, -1.0]);
    }

    multiversioned! {
        /// Counts into `wrong` the floats with bits `first..=last` whose [`reciprocal`] is not
        /// the division's (compiled with fused multiply-adds where the CPU has them: as a libm
        /// call, `mul_add` would take minutes over a billion values).
        fn wrong_reciprocals / wrong_reciprocals_baseline(first: u32, last: u32, wrong: &mut Vec<u32>) {
            for bits in first..=last {
                let d = f32::from_bits(bits);
                if reciprocal(d).to_bits() != (1.0 / d).to_bits() {
                    wrong.push(bits);
                }
            }
        }
    }

    /// The claim [`quotients`] rests on, checked on all 1,056,964,608 floats in `[1, 2^126)`
    /// (126 binades of 2^23, in parallel): Newton's reciprocal is the correctly rounded one.
    #[test]
    fn the_reciprocal_is_the_division_on_every_float() {
        use rayon::prelude::*;
        let (one, limit) = (1.0f32.to_bits(), SUBNORMAL_RECIPROCAL.to_bits());
        assert_eq!(SUBNORMAL_RECIPROCAL, 2f32.powi(126));
        let wrong: Vec<u32> = (one >> 23..limit >> 23)
            .into_par_iter()
            .flat_map_iter(|binade| {
                let mut wrong = Vec::new();
                wrong_reciprocals(binade << 23, (binade << 23) | 0x7F_FFFF, &mut wrong);
                wrong
            })
            .collect();
        let first: Vec<f32> = wrong.iter().take(5).map(|&b| f32::from_bits(b)).collect();
        assert!(wrong.is_empty(), "{} wrong, first {first:?}", wrong.len());
    }

    /// With fused multiply-adds or without, the quotients are the division's bits, denominators
    /// of 2^126 and more (whose reciprocal is subnormal) and NaN included.
    #[test]
    fn quotients_are_the_divisions() {
        let mut d: Vec<f32> = (0..1000).map(|k| 1.0 + (k as f32 * 0.37).exp()).collect();
        d.extend([1.0, 2.0 - f32::EPSILON, 8.5e37, 1.0e38, 1.65e38]);
        let halves = |d: &[f32]| [d[..300].to_vec(), d[300..1000].to_vec(), d[1000..].to_vec()];
        for (scale, shift) in [(1.0, 0.0), (2.0, -1.0)] {
            let want: Vec<u32> = d.iter().map(|x| (scale / x + shift).to_bits()).collect();
            for fma in [true, false] {
                // The near values alone (the reciprocal), and with far ones (division).
                let got: Vec<u32> = halves(&d)
                    .into_iter()
                    .flat_map(|mut part| {
                        match fma {
                            true => quotients::<true>(&mut part, scale, shift),
                            false => quotients::<false>(&mut part, scale, shift),
                        }
                        part.into_iter().map(f32::to_bits)
                    })
                    .collect();
                assert_eq!(got, want, "scale {scale}, FMA {fma}");
            }
        }
        let mut nan = [1.5, f32::NAN];
        quotients::<true>(&mut nan, 1.0, 0.0);
        assert!(nan[0] == 1.0 / 1.5 && nan[1].is_nan());
    }
}
