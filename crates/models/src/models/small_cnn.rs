//! The small CNN of Morvan's PyTorch tutorial.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::prelude::*;

use crate::nn::{forward_conv2d_relu_pool, forward_linear};
use crate::{Classifier, InvalidConfig};

/// Shape of [`SmallCnn`], the CNN of Morvan's PyTorch tutorial.
#[derive(Config, Debug)]
pub struct SmallCnnConfig {
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
}

impl SmallCnnConfig {
    /// Checks that every field can build a model, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("num_classes", self.num_classes, 2)
    }

    /// Builds the model with freshly initialized weights on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> SmallCnn<B> {
        let same = || PaddingConfig2d::Explicit(2, 2, 2, 2);
        SmallCnn {
            conv1: Conv2dConfig::new([1, 16], [5, 5])
                .with_padding(same())
                .init(device),
            conv2: Conv2dConfig::new([16, 32], [5, 5])
                .with_padding(same())
                .init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            out: LinearConfig::new(32 * 7 * 7, self.num_classes).init(device),
            relu: Relu::new(),
        }
    }
}

/// The CNN of Morvan's PyTorch tutorial: conv 1→16 5×5 pad 2, ReLU, max-pool 2; conv 16→32 5×5 pad 2, ReLU,
/// max-pool 2; Linear 1568→10.
///
/// Input `[batch, 1, 28, 28]`, output logits `[batch, num_classes]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use zoo_models::SmallCnnConfig;
///
/// let device = Default::default();
/// let model = SmallCnnConfig::new().init::<NdArray>(&device);
/// let images = Tensor::<NdArray, 4>::zeros([3, 1, 28, 28], &device);
/// assert_eq!(model.forward(images).dims(), [3, 10]);
/// ```
#[derive(Module, Debug)]
pub struct SmallCnn<B: Backend> {
    /// `[B, 1, 28, 28]` → `[B, 16, 28, 28]`.
    pub conv1: Conv2d<B>,
    /// `[B, 16, 14, 14]` → `[B, 32, 14, 14]`.
    pub conv2: Conv2d<B>,
    /// 2×2 max-pooling, stride 2, after each convolution.
    pub pool: MaxPool2d,
    /// `[B, 1568]` → `[B, classes]`.
    pub out: Linear<B>,
    /// The activation after each convolution (applied inside [`forward_conv2d_relu_pool`]).
    pub relu: Relu,
}

impl<B: Backend> SmallCnn<B> {
    /// `images [batch, 1, 28, 28]` → logits `[batch, num_classes]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = forward_conv2d_relu_pool(&self.conv1, &self.pool, images);
        let x = forward_conv2d_relu_pool(&self.conv2, &self.pool, x);
        forward_linear(&self.out, x.flatten(1, 3))
    }
}

#[cfg(feature = "pretrained")]
impl<B: Backend> SmallCnn<B> {
    /// The zoo's trained `small-cnn` (feature `pretrained`): the weights of
    /// `crates/models/pretrained/small-cnn/`, whose README gives the command that trained them and
    /// their test figure. For 28×28 digits `[batch, 1, 28, 28]` normalized with MNIST's mean 0.1307 and deviation 0.3081.
    pub fn pretrained(device: &B::Device) -> Self {
        crate::pretrained::build("small-cnn", device, |config: &SmallCnnConfig, device| {
            config.init(device)
        })
    }
}

impl<B: Backend> Classifier<B, 4> for SmallCnn<B> {
    fn logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn maps_a_digit_batch_to_class_logits_with_the_pytorch_nets_parameter_count() {
        // Morvan's PyTorch tutorial's CNN: 416 + 12,832 + 15,690.
        let device = Default::default();
        let model = SmallCnnConfig::new().init::<NdArray>(&device);
        let images = Tensor::<NdArray, 4>::ones([2, 1, 28, 28], &device);
        assert_eq!(model.forward(images).dims(), [2, 10]);
        assert_eq!(model.num_params(), 28_938);
    }
}
