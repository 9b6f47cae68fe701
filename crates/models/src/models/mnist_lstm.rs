//! The MNIST classifiers of the PyTorch LSTM tutorials: an image read row by row by a stacked
//! LSTM.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use crate::nn::{Lstm, LstmConfig, forward_linear};
use crate::{Classifier, InvalidConfig};

/// Shape of [`MnistLstm`]; the defaults are the zoo's `mnist-lstm` (input 28, hidden 128, 2
/// layers, 10 classes), [`MnistLstmConfig::small`] is `mnist-lstm-small`.
#[derive(Config, Debug)]
pub struct MnistLstmConfig {
    /// Features per time step: the pixels of one image row.
    #[config(default = 28)]
    pub input_size: usize,
    /// Hidden units of every LSTM layer.
    #[config(default = 128)]
    pub hidden_size: usize,
    /// Stacked LSTM layers.
    #[config(default = 2)]
    pub num_layers: usize,
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
}

impl MnistLstmConfig {
    /// `mnist-lstm-small`: one LSTM layer of 64 units (the `RNN` class of the Morvan PyTorch
    /// tutorial's LSTM classifier).
    pub fn small() -> Self {
        Self::new().with_hidden_size(64).with_num_layers(1)
    }

    /// Checks that every field can build a model, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("input_size", self.input_size, 1)?;
        InvalidConfig::at_least("hidden_size", self.hidden_size, 1)?;
        InvalidConfig::at_least("num_layers", self.num_layers, 1)?;
        InvalidConfig::at_least("num_classes", self.num_classes, 2)
    }

    /// Builds the model with freshly initialized weights on `device` (PyTorch's initialization).
    pub fn init<B: Backend>(&self, device: &B::Device) -> MnistLstm<B> {
        MnistLstm {
            lstm: LstmConfig::new(self.input_size, self.hidden_size)
                .with_num_layers(self.num_layers)
                .with_batch_first(true)
                .init(device),
            fc: LinearConfig::new(self.hidden_size, self.num_classes).init(device),
        }
    }
}

/// The LSTM tutorials' MNIST classifier: an image read row by row as a sequence, a stacked LSTM, and a linear classifier
/// on the last step's hidden state.
///
/// Input `[batch, seq = rows, input_size = columns]` (`[B, 28, 28]` for MNIST), output logits
/// `[batch, num_classes]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use zoo_models::MnistLstmConfig;
///
/// let device = Default::default();
/// let model = MnistLstmConfig::new().init::<NdArray>(&device); // mnist-lstm: hidden 128, 2 layers
/// let images = Tensor::<NdArray, 3>::zeros([4, 28, 28], &device); // [batch, rows, columns]
/// let logits = model.forward(images);
/// assert_eq!(logits.dims(), [4, 10]);
/// ```
#[derive(Module, Debug)]
pub struct MnistLstm<B: Backend> {
    /// `nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)`, PyTorch's layout.
    pub lstm: Lstm<B>,
    /// Maps the last step's hidden state `[B, hidden]` to logits `[B, classes]`.
    pub fc: Linear<B>,
}

impl<B: Backend> MnistLstm<B> {
    /// `images [batch, seq, input_size]` → logits `[batch, num_classes]`.
    pub fn forward(&self, images: Tensor<B, 3>) -> Tensor<B, 2> {
        let [batch, seq, _] = images.dims();
        let (x, _) = self.lstm.forward(images, None);
        let hidden = x.dims()[2];
        let last = x
            .slice([0..batch, seq - 1..seq, 0..hidden])
            .reshape([batch, hidden]);
        forward_linear(&self.fc, last)
    }
}

#[cfg(feature = "pretrained")]
impl<B: Backend> MnistLstm<B> {
    /// The zoo's trained `mnist-lstm` (feature `pretrained`): the weights of
    /// `crates/models/pretrained/mnist-lstm/`, whose README gives the command that trained them and
    /// their test figure. For 28×28 digits `[batch, 28, 28]` (rows as steps) normalized with MNIST's mean 0.1307 and deviation 0.3081.
    pub fn pretrained(device: &B::Device) -> Self {
        crate::pretrained::build("mnist-lstm", device, |config: &MnistLstmConfig, device| {
            config.init(device)
        })
    }
}

impl<B: Backend> Classifier<B, 3> for MnistLstm<B> {
    fn logits(&self, images: Tensor<B, 3>) -> Tensor<B, 2> {
        self.forward(images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn forward_gives_one_logit_per_class_and_image() {
        let device = Default::default();
        let model = MnistLstmConfig::new()
            .with_num_layers(1)
            .with_hidden_size(16)
            .init::<NdArray>(&device);
        let logits = model.forward(Tensor::ones([3, 28, 28], &device));
        assert_eq!(logits.dims(), [3, 10]);
    }

    #[test]
    fn stacked_layers_read_the_hidden_size() {
        let model = MnistLstmConfig::new().init::<NdArray>(&Default::default());
        assert_eq!(model.lstm.layers.len(), 2);
        assert_eq!(
            model.lstm.layers[1].forward.weight_ih.dims(),
            [4 * 128, 128]
        );
    }

    #[test]
    fn zero_layers_is_rejected_by_name() {
        let err = MnistLstmConfig::new()
            .with_num_layers(0)
            .validate()
            .unwrap_err();
        assert_eq!(err.field, "num_layers");
    }
}
