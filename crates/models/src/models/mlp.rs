//! The two-layer net of the PyTorch tutorial's regression and classification toys.

use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;

use crate::nn::forward_linear;
use crate::{Classifier, InvalidConfig, Regressor};

/// Shape of [`Mlp`]; the defaults are the `regression` toy's net (1 → 10 → 1),
/// [`MlpConfig::classification`] the `classification` toy's (2 → 10 → 2).
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input features.
    #[config(default = 1)]
    pub input_size: usize,
    /// Hidden units.
    #[config(default = 10)]
    pub hidden_size: usize,
    /// Outputs: 1 for regression, the number of classes for classification.
    #[config(default = 1)]
    pub output_size: usize,
}

impl MlpConfig {
    /// The `classification` toy's net: points of 2 coordinates → 10 hidden units → 2 classes.
    pub fn classification() -> Self {
        Self::new().with_input_size(2).with_output_size(2)
    }

    /// Checks that every field can build a model, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("input_size", self.input_size, 1)?;
        InvalidConfig::at_least("hidden_size", self.hidden_size, 1)?;
        InvalidConfig::at_least("output_size", self.output_size, 1)
    }

    /// [`MlpConfig::validate`], and that the net reads `inputs` features and gives `outputs`
    /// values (the size of the data's points, its classes or targets).
    pub fn validate_for(&self, inputs: usize, outputs: usize) -> Result<(), InvalidConfig> {
        self.validate()?;
        if self.input_size != inputs {
            return Err(InvalidConfig::new(
                "input_size",
                format!(
                    "is {}, but the data's points have {inputs} coordinate(s)",
                    self.input_size
                ),
            ));
        }
        if self.output_size != outputs {
            return Err(InvalidConfig::new(
                "output_size",
                format!("is {}, but the data needs {outputs}", self.output_size),
            ));
        }
        Ok(())
    }

    /// Builds the model with freshly initialized weights on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mlp<B> {
        Mlp {
            hidden: LinearConfig::new(self.input_size, self.hidden_size).init(device),
            out: LinearConfig::new(self.hidden_size, self.output_size).init(device),
            relu: Relu::new(),
        }
    }
}

/// Morvan's PyTorch tutorial's two-layer net, Linear → ReLU → Linear, for the regression (y = x² + noise) and the
/// two-cluster classification toys.
///
/// Input `[batch, input_size]`, output `[batch, output_size]` (predictions or logits).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use zoo_models::MlpConfig;
///
/// let device = Default::default();
/// // The regression net: x [batch, 1] → y [batch, 1].
/// let regression = MlpConfig::new().init::<NdArray>(&device);
/// let x = Tensor::<NdArray, 2>::from_floats([[-1.0], [0.0], [0.5]], &device);
/// assert_eq!(regression.forward(x).dims(), [3, 1]);
/// // The two-cluster classifier: points [batch, 2] → logits [batch, 2].
/// let classifier = MlpConfig::classification().init::<NdArray>(&device);
/// let points = Tensor::<NdArray, 2>::from_floats([[2.0, 2.0], [-2.0, -2.0]], &device);
/// assert_eq!(classifier.forward(points).dims(), [2, 2]);
/// ```
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// `[B, input]` → `[B, hidden]`.
    pub hidden: Linear<B>,
    /// `[B, hidden]` → `[B, output]`.
    pub out: Linear<B>,
    /// The activation between the two layers.
    pub relu: Relu,
}

impl<B: Backend> Mlp<B> {
    /// `x [batch, input_size]` → `[batch, output_size]`.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        forward_linear(
            &self.out,
            self.relu.forward(forward_linear(&self.hidden, x)),
        )
    }
}

/// The classification toy: the outputs are logits.
impl<B: Backend> Classifier<B, 2> for Mlp<B> {
    fn logits(&self, points: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward(points)
    }
}

/// The regression toy: the outputs are the predictions.
impl<B: Backend> Regressor<B> for Mlp<B> {
    fn predict(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn maps_features_to_outputs() {
        let device = Default::default();
        let model = MlpConfig::new()
            .with_input_size(2)
            .with_output_size(2)
            .init::<NdArray>(&device);
        assert_eq!(model.forward(Tensor::zeros([5, 2], &device)).dims(), [5, 2]);
    }
}
