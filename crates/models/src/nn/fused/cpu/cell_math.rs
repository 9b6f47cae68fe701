//! What the fused recurrent cells share (the LSTM's, [`super::lstm_cell`], and the GRU's,
//! [`super::gru_cell`]): an `exp` of their own (range reduction and a polynomial, no branches, no
//! libm call), so that the compiler vectorises their loops, and the macro that compiles a loop
//! three times — AVX-512, AVX2 + FMA, and the baseline — and picks one at run time by what the
//! CPU has. The arithmetic is the same IEEE operations in every version (Rust never fuses a
//! multiply and an add on its own), so all three give the same bits. Against libm's `expf` called
//! per value, this took the LSTM's gate math from a quarter of the MNIST-LSTM training step to a
//! few percent.

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

#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh` through one `exp`; absolute error within a few ulps of 1.
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    2.0 / (1.0 + exp(-2.0 * x)) - 1.0
}

/// Defines `$name`, which runs `$baseline` — the function written once, here — compiled for
/// the best instruction set the CPU has: AVX-512F, AVX2 + FMA, or the target's baseline.
macro_rules! multiversioned {
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident / $baseline:ident($($arg:ident: $ty:ty),* $(,)?) $body:block
    ) => {
        #[inline(always)]
        fn $baseline($($arg: $ty),*) $body

        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                // `unsafe fn`: a safe function with `target_feature` needs Rust 1.86, and the
                // workspace supports 1.85. Safe to call where the CPU has the features.
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) {
                    $baseline($($arg),*)
                }

                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $baseline($($arg),*)
                }

                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX2 and FMA, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $baseline($($arg),*)
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
        assert!((0.0..1e-37).contains(&sigmoid(-1e30)));
        assert_eq!(sigmoid(1e30), 1.0);
        assert_eq!(tanh(-1e30), -1.0);
    }
}
