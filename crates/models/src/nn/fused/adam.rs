//! Adam's parameter update as one fused operation, for the optimizer of a training loop.

use burn::prelude::*;

#[cfg(feature = "ndarray")]
use super::{Route, cast, cpu, route};

/// Adam's constants (PyTorch's `betas` and `eps`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConstants {
    /// Decay of the running mean of the gradient.
    pub beta_1: f32,
    /// Decay of the running mean of the squared gradient.
    pub beta_2: f32,
    /// Added to the denominator, for numerical stability.
    pub epsilon: f32,
}

/// Adam's running moments of one parameter.
#[derive(Debug, Clone)]
pub struct AdamMoments<B: Backend, const D: usize> {
    /// Steps taken so far.
    pub time: usize,
    /// Running mean of the gradient.
    pub moment_1: Tensor<B, D>,
    /// Running mean of the squared gradient.
    pub moment_2: Tensor<B, D>,
}

/// One parameter's step: its value, its gradient and its moments before the step (`None`
/// before the first).
#[derive(Debug, Clone)]
pub struct AdamInput<B: Backend, const D: usize> {
    /// The parameter.
    pub param: Tensor<B, D>,
    /// Its gradient.
    pub grad: Tensor<B, D>,
    /// Its moments, if it has taken a step before.
    pub moments: Option<AdamMoments<B, D>>,
}

/// One step of Adam (no weight decay, no AMSGrad) as a single pass over the parameter's values,
/// on the backends the fused CPU operations serve (`NdArray`, `f32`, switch on): the same `f32`
/// arithmetic, in the same order, as Burn's `Adam`, so the same results to the bit, several
/// times faster for a large parameter. Returns the parameter and its moments after the step, or
/// the input untouched (`Err`) where the backend is not served, for Burn's `Adam` to take.
#[allow(clippy::result_large_err)] // the input handed back whole, for the caller's fallback
pub fn adam_step<B: Backend, const D: usize>(
    constants: AdamConstants,
    lr: f64,
    input: AdamInput<B, D>,
) -> Result<(Tensor<B, D>, AdamMoments<B, D>), AdamInput<B, D>> {
    #[cfg(feature = "ndarray")]
    if route::<B>(input.param.dtype()) == Some(Route::Cpu { tracked: false }) {
        let time = input.moments.as_ref().map_or(0, |m| m.time) + 1;
        let moments = input.moments.map(|m| (cast(m.moment_1), cast(m.moment_2)));
        let [param, moment_1, moment_2] = cpu::adam::step::<D>(
            constants,
            lr,
            time,
            cast(input.param),
            cast(input.grad),
            moments,
        );
        let moments = AdamMoments {
            time,
            moment_1: cast(moment_1),
            moment_2: cast(moment_2),
        };
        return Ok((cast(param), moments));
    }
    #[cfg(not(feature = "ndarray"))]
    let _ = (constants, lr);
    Err(input)
}
