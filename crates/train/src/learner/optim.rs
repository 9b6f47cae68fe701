//! One optimizer type for Adam and SGD, so the learner is compiled once per model, not once per
//! model and optimizer. Defaults follow PyTorch (Adam eps 1e-8; SGD momentum without dampening).

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::LearningRate;
use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, Sgd, SgdConfig, SgdState, SimpleOptimizer,
};
use burn::prelude::*;
use burn::record::Record;
use burn::tensor::backend::AutodiffBackend;

use zoo_models::nn::fused::{self, AdamConstants, AdamInput, AdamMoments};

use crate::config::{OptimizerName, OptimizerSection};

/// Adam's constants: PyTorch's defaults (`betas = (0.9, 0.999)`, `eps = 1e-8`).
const ADAM: AdamConstants = AdamConstants {
    beta_1: 0.9,
    beta_2: 0.999,
    epsilon: 1e-8,
};

/// Adam or SGD, chosen by the config.
#[derive(Clone)]
pub enum ZooOptimizer<B: Backend> {
    /// Adam: Burn's, and its constants where the fused step can stand in for it (no weight
    /// decay), on the backends that have one.
    Adam(Adam, Option<AdamConstants>),
    /// SGD, possibly with momentum.
    Sgd(Sgd<B>),
}

/// Per-parameter state of a [`ZooOptimizer`]: the chosen optimizer's.
#[derive(Record, Clone)]
pub struct ZooOptimizerState<B: Backend, const D: usize> {
    adam: Option<AdamState<B, D>>,
    sgd: Option<SgdState<B, D>>,
}

impl<B: Backend> SimpleOptimizer<B> for ZooOptimizer<B> {
    type State<const D: usize> = ZooOptimizerState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        match self {
            ZooOptimizer::Adam(adam, fused) => {
                let (tensor, adam) = adam_step(adam, *fused, lr, tensor, grad, state);
                (tensor, Some(ZooOptimizerState { adam, sgd: None }))
            }
            ZooOptimizer::Sgd(sgd) => {
                let (tensor, sgd) = sgd.step(lr, tensor, grad, state.and_then(|s| s.sgd));
                (tensor, Some(ZooOptimizerState { adam: None, sgd }))
            }
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        ZooOptimizerState {
            adam: state
                .adam
                .map(|s| <Adam as SimpleOptimizer<B>>::to_device(s, device)),
            sgd: state
                .sgd
                .map(|s| <Sgd<B> as SimpleOptimizer<B>>::to_device(s, device)),
        }
    }
}

/// One Adam step: fused where the backend has it and `fused` gives the constants, Burn's
/// otherwise (the same values to the bit either way).
fn adam_step<B: Backend, const D: usize>(
    adam: &Adam,
    fused: Option<AdamConstants>,
    lr: LearningRate,
    param: Tensor<B, D>,
    grad: Tensor<B, D>,
    state: Option<ZooOptimizerState<B, D>>,
) -> (Tensor<B, D>, Option<AdamState<B, D>>) {
    let moments = state.and_then(|s| s.adam).map(|s| AdamMoments {
        time: s.momentum.time,
        moment_1: s.momentum.moment_1,
        moment_2: s.momentum.moment_2,
    });
    let mut input = AdamInput {
        param,
        grad,
        moments,
    };
    if let Some(constants) = fused {
        match fused::adam_step(constants, lr, input) {
            Ok((param, moments)) => return (param, Some(burn_state(moments))),
            Err(unserved) => input = unserved,
        }
    }
    let state = input.moments.map(burn_state);
    adam.step(lr, input.param, input.grad, state)
}

/// Adam's moments as Burn's `Adam` keeps them (and checkpoints record them).
fn burn_state<B: Backend, const D: usize>(moments: AdamMoments<B, D>) -> AdamState<B, D> {
    let AdamMoments {
        time,
        moment_1,
        moment_2,
    } = moments;
    AdamState::new(AdaptiveMomentumState::new(time, moment_1, moment_2))
}

/// The optimizer of `section`, ready for the learner.
pub fn optimizer<B: AutodiffBackend, M: AutodiffModule<B>>(
    section: &OptimizerSection,
) -> OptimizerAdaptor<ZooOptimizer<B::InnerBackend>, M, B> {
    OptimizerAdaptor::from(ZooOptimizer::new(section))
}

impl<B: Backend> ZooOptimizer<B> {
    /// The optimizer `section` names, with its settings.
    fn new(section: &OptimizerSection) -> Self {
        let decay = (section.weight_decay > 0.0)
            .then(|| WeightDecayConfig::new(section.weight_decay as f32));
        match section.name {
            OptimizerName::Adam => {
                let adam = AdamConfig::new()
                    .with_beta_1(ADAM.beta_1)
                    .with_beta_2(ADAM.beta_2)
                    .with_epsilon(ADAM.epsilon)
                    .with_weight_decay(decay.clone())
                    .build();
                ZooOptimizer::Adam(adam, decay.is_none().then_some(ADAM))
            }
            OptimizerName::Sgd => {
                let momentum = (section.momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(section.momentum)
                        .with_dampening(0.0)
                });
                ZooOptimizer::Sgd(
                    SgdConfig::new()
                        .with_momentum(momentum)
                        .with_weight_decay(decay)
                        .build(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::tensor::TensorData;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    type B = NdArray;

    /// Values that look like a layer's: a spread of magnitudes, signs, and exact zeros (the
    /// rows of an embedding that a batch did not use).
    fn values(shape: [usize; 2], seed: u64) -> Tensor<B, 2> {
        let mut rng = StdRng::seed_from_u64(seed);
        let values: Vec<f32> = (0..shape[0] * shape[1])
            .map(|i| {
                let unit = rng.random::<f32>() - 0.5;
                if (i / shape[1]) % 7 == 3 {
                    0.0
                } else {
                    unit * 10f32.powi((i % 5) as i32 - 3)
                }
            })
            .collect();
        Tensor::from_data(TensorData::new(values, shape), &Default::default())
    }

    fn bits(tensor: &Tensor<B, 2>) -> Vec<u32> {
        let data = tensor.to_data();
        data.as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    fn section(weight_decay: f64) -> OptimizerSection {
        OptimizerSection {
            name: OptimizerName::Adam,
            lr: 0.002,
            momentum: 0.0,
            weight_decay,
            grad_clip_norm: None,
            lr_decay: 0.9,
        }
    }

    /// The zoo's Adam (fused on this backend) and Burn's, step by step on the same gradients:
    /// the parameters and both moments agree to the bit, so a run's figures do not depend on
    /// which of the two ran.
    #[test]
    fn the_fused_adam_step_is_burns_to_the_bit() {
        // The switch is one for the process: held on here, whatever other tests do with it.
        fused::with_fused(true, fused_and_burns_adam_agree);
    }

    fn fused_and_burns_adam_agree() {
        let input = AdamInput {
            param: values([2, 3], 0),
            grad: values([2, 3], 1),
            moments: None,
        };
        assert!(
            fused::adam_step(ADAM, 0.1, input).is_ok(),
            "the fused step did not serve NdArray"
        );
        let zoo = ZooOptimizer::<B>::new(&section(0.0));
        assert!(
            matches!(zoo, ZooOptimizer::Adam(_, Some(_))),
            "fused Adam not chosen"
        );
        let burn = AdamConfig::new().with_epsilon(1e-8).build();
        // Over two of the fused step's chunks, with a partial one.
        let shape = [331, 200];
        let (mut ours, mut theirs) = (values(shape, 1), values(shape, 1));
        let (mut our_state, mut their_state) = (None, None);
        for step in 0..6 {
            let lr = 0.002 * 0.9f64.powi(step);
            let grad = values(shape, 10 + step as u64);
            let (p, s) = zoo.step(lr, ours, grad.clone(), our_state);
            (ours, our_state) = (p, s);
            let (p, s) = SimpleOptimizer::<B>::step(&burn, lr, theirs, grad, their_state);
            (theirs, their_state) = (p, s);
            assert!(
                bits(&ours) == bits(&theirs),
                "parameters differ after step {}",
                step + 1
            );
            let ours_m = &our_state.as_ref().unwrap().adam.as_ref().unwrap().momentum;
            let theirs_m = &their_state.as_ref().unwrap().momentum;
            assert_eq!(ours_m.time, theirs_m.time);
            assert!(
                bits(&ours_m.moment_1) == bits(&theirs_m.moment_1),
                "first moments differ"
            );
            assert!(
                bits(&ours_m.moment_2) == bits(&theirs_m.moment_2),
                "second moments differ"
            );
        }
        assert!(
            bits(&ours) != bits(&values(shape, 1)),
            "the steps changed nothing"
        );
    }

    /// With weight decay the zoo's Adam is Burn's own (the fused step has none).
    #[test]
    fn weight_decay_takes_burns_adam() {
        let zoo = ZooOptimizer::<B>::new(&section(0.01));
        assert!(matches!(zoo, ZooOptimizer::Adam(_, None)));
    }
}
