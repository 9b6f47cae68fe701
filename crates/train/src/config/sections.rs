//! The sections every experiment has, whatever its model: `[train]` and `[optimizer]`.

use std::fmt;

use serde::{Deserialize, Serialize};
use zoo_models::InvalidConfig;

/// `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step (also used for validation and test).
    pub batch_size: usize,
    /// Seeds weights, shuffling and the toy data.
    pub seed: u64,
    /// Batches between two progress lines.
    pub log_interval: usize,
    /// Run the layers as fused operations where the backend has them (`zoo_models::nn::fused`);
    /// `false` runs Burn's tensor operations everywhere: same results to float rounding, slower.
    #[serde(default = "fused_by_default")]
    pub fused: bool,
    /// Keep the weights of the epoch with the best validation accuracy (lowest validation loss
    /// where the task has no accuracy), not the last epoch's: early stopping on the held-out
    /// split. The test figure is then that epoch's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_best: bool,
}

fn fused_by_default() -> bool {
    true
}

impl TrainSection {
    /// Checks the section, naming the first key (without `train.`) at fault.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        for (key, value) in [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("log_interval", self.log_interval),
        ] {
            InvalidConfig::at_least(key, value, 1)?;
        }
        Ok(())
    }
}

/// The optimizers the zoo offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    /// Adam with PyTorch's defaults (betas 0.9/0.999, eps 1e-8).
    Adam,
    /// SGD, with optional momentum (no dampening, as in PyTorch).
    Sgd,
}

impl fmt::Display for OptimizerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptimizerName::Adam => "adam",
            OptimizerName::Sgd => "sgd",
        })
    }
}

/// `[optimizer]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSection {
    /// `adam` or `sgd`.
    pub name: OptimizerName,
    /// Learning rate.
    pub lr: f64,
    /// SGD momentum in [0, 1); 0 is plain SGD.
    #[serde(default)]
    pub momentum: f64,
    /// L2 penalty added to the gradients.
    #[serde(default)]
    pub weight_decay: f64,
    /// Rescale the gradients so their global L2 norm is at most this (`clip_grad_norm_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_clip_norm: Option<f64>,
    /// The learning rate is multiplied by this after every epoch (`ExponentialLR(gamma)` stepped
    /// per epoch); 1 keeps it constant.
    #[serde(default = "constant_rate", skip_serializing_if = "is_constant_rate")]
    pub lr_decay: f64,
}

fn constant_rate() -> f64 {
    1.0
}

fn is_constant_rate(decay: &f64) -> bool {
    *decay == 1.0
}

impl OptimizerSection {
    /// Checks the section, naming the first key (without `optimizer.`) at fault.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(InvalidConfig::new(
                "lr",
                format!("is {}, must be a positive number", self.lr),
            ));
        }
        if !(self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return Err(InvalidConfig::new(
                "lr_decay",
                format!(
                    "is {}, must be in (0, 1] (1 keeps the rate constant)",
                    self.lr_decay
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(InvalidConfig::new(
                "momentum",
                format!("is {}, must be in [0, 1)", self.momentum),
            ));
        }
        if self.momentum != 0.0 && self.name != OptimizerName::Sgd {
            return Err(InvalidConfig::new(
                "momentum",
                "applies to `sgd` only (Adam has its own betas)",
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(InvalidConfig::new(
                "weight_decay",
                format!("is {}, must be >= 0", self.weight_decay),
            ));
        }
        if let Some(norm) = self.grad_clip_norm {
            if !(norm.is_finite() && norm > 0.0) {
                return Err(InvalidConfig::new(
                    "grad_clip_norm",
                    format!("is {norm}, must be a positive number"),
                ));
            }
        }
        Ok(())
    }
}
