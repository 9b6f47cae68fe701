//! One optimizer type for Adam and SGD, so the learner is compiled once per model, not once per
//! model and optimizer. Defaults follow PyTorch (Adam eps 1e-8; SGD momentum without dampening).

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::LearningRate;
use burn::optim::{Adam, AdamConfig, AdamState, Sgd, SgdConfig, SgdState, SimpleOptimizer};
use burn::prelude::*;
use burn::record::Record;
use burn::tensor::backend::AutodiffBackend;

use crate::config::{OptimizerName, OptimizerSection};

/// Adam or SGD, chosen by the config.
#[derive(Clone)]
pub enum ZooOptimizer<B: Backend> {
    /// Adam.
    Adam(Adam),
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
            ZooOptimizer::Adam(adam) => {
                let (tensor, adam) = adam.step(lr, tensor, grad, state.and_then(|s| s.adam));
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

/// The optimizer of `section`, ready for the learner.
pub fn optimizer<B: AutodiffBackend, M: AutodiffModule<B>>(
    section: &OptimizerSection,
) -> OptimizerAdaptor<ZooOptimizer<B::InnerBackend>, M, B> {
    let decay =
        (section.weight_decay > 0.0).then(|| WeightDecayConfig::new(section.weight_decay as f32));
    let inner = match section.name {
        OptimizerName::Adam => ZooOptimizer::Adam(
            AdamConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(decay)
                .build(),
        ),
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
    };
    OptimizerAdaptor::from(inner)
}
