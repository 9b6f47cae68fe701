//! The MNIST CNN of pytorch/examples.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;

use crate::nn::{forward_conv2d_relu_pool, forward_linear};
use crate::{Classifier, InvalidConfig};

/// Shape of [`MnistCnn`], the MNIST net of pytorch/examples.
#[derive(Config, Debug)]
pub struct MnistCnnConfig {
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
    /// Units of the hidden fully connected layer.
    #[config(default = 500)]
    pub hidden_size: usize,
}

impl MnistCnnConfig {
    /// Checks that every field can build a model, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("hidden_size", self.hidden_size, 1)?;
        InvalidConfig::at_least("num_classes", self.num_classes, 2)
    }

    /// Builds the model with freshly initialized weights on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MnistCnn<B> {
        MnistCnn {
            conv1: Conv2dConfig::new([1, 20], [5, 5]).init(device),
            conv2: Conv2dConfig::new([20, 50], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(4 * 4 * 50, self.hidden_size).init(device),
            fc2: LinearConfig::new(self.hidden_size, self.num_classes).init(device),
            relu: Relu::new(),
        }
    }
}

/// The MNIST CNN of pytorch/examples: conv 1→20 5×5, ReLU, max-pool 2; conv 20→50 5×5,
/// ReLU, max-pool 2; Linear 800→500, ReLU; Linear 500→10.
///
/// Input `[batch, 1, 28, 28]`, output logits `[batch, num_classes]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use zoo_models::MnistCnnConfig;
///
/// let device = Default::default();
/// let model = MnistCnnConfig::new().init::<NdArray>(&device);
/// let images = Tensor::<NdArray, 4>::zeros([2, 1, 28, 28], &device); // [batch, channel, h, w]
/// assert_eq!(model.forward(images).dims(), [2, 10]); // [batch, classes]
/// ```
#[derive(Module, Debug)]
pub struct MnistCnn<B: Backend> {
    /// `[B, 1, 28, 28]` → `[B, 20, 24, 24]`.
    pub conv1: Conv2d<B>,
    /// `[B, 20, 12, 12]` → `[B, 50, 8, 8]`.
    pub conv2: Conv2d<B>,
    /// 2×2 max-pooling, stride 2, after each convolution.
    pub pool: MaxPool2d,
    /// `[B, 800]` → `[B, hidden]`.
    pub fc1: Linear<B>,
    /// `[B, hidden]` → `[B, classes]`.
    pub fc2: Linear<B>,
    /// The activation between layers (after the convolutions, inside
    /// [`forward_conv2d_relu_pool`]).
    pub relu: Relu,
}

impl<B: Backend> MnistCnn<B> {
    /// `images [batch, 1, 28, 28]` → logits `[batch, num_classes]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = forward_conv2d_relu_pool(&self.conv1, &self.pool, images);
        let x = forward_conv2d_relu_pool(&self.conv2, &self.pool, x);
        let x: Tensor<B, 2> = x.flatten(1, 3);
        let x = self.relu.forward(forward_linear(&self.fc1, x));
        forward_linear(&self.fc2, x)
    }
}

#[cfg(feature = "pretrained")]
impl<B: Backend> MnistCnn<B> {
    /// The zoo's trained `mnist-cnn` (feature `pretrained`): the weights of
    /// `crates/models/pretrained/mnist-cnn/`, whose README gives the command that trained them and
    /// their test figure. For 28×28 digits `[batch, 1, 28, 28]` normalized with MNIST's mean 0.1307 and deviation 0.3081.
    pub fn pretrained(device: &B::Device) -> Self {
        crate::pretrained::build("mnist-cnn", device, |config: &MnistCnnConfig, device| {
            config.init(device)
        })
    }
}

impl<B: Backend> Classifier<B, 4> for MnistCnn<B> {
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
        // pytorch/examples Net: 520 + 25,050 + 400,500 + 5,010.
        let device = Default::default();
        let model = MnistCnnConfig::new().init::<NdArray>(&device);
        let images = Tensor::<NdArray, 4>::ones([2, 1, 28, 28], &device);
        assert_eq!(model.forward(images).dims(), [2, 10]);
        assert_eq!(model.num_params(), 431_080);
    }
}
