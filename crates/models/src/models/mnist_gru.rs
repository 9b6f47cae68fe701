//! The MNIST row-by-row classifiers of the LSTM tutorials with a GRU: an MNIST image read row by row by a stacked GRU.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use crate::nn::{Gru, GruConfig, forward_linear};
use crate::{Classifier, InvalidConfig};

/// Shape of [`MnistGru`]; the defaults are `mnist-gru`'s (input 28, hidden 128, 2 layers, 10
/// classes), with `nn.GRU` where the seed has `nn.LSTM`.
#[derive(Config, Debug)]
pub struct MnistGruConfig {
    /// Features per time step: the pixels of one image row.
    #[config(default = 28)]
    pub input_size: usize,
    /// Hidden units of every GRU layer.
    #[config(default = 128)]
    pub hidden_size: usize,
    /// Stacked GRU layers.
    #[config(default = 2)]
    pub num_layers: usize,
    /// Output classes.
    #[config(default = 10)]
    pub num_classes: usize,
}

impl MnistGruConfig {
    /// Checks that every field can build a model, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("input_size", self.input_size, 1)?;
        InvalidConfig::at_least("hidden_size", self.hidden_size, 1)?;
        InvalidConfig::at_least("num_layers", self.num_layers, 1)?;
        InvalidConfig::at_least("num_classes", self.num_classes, 2)
    }

    /// Builds the model with freshly initialized weights on `device` (PyTorch's initialization).
    pub fn init<B: Backend>(&self, device: &B::Device) -> MnistGru<B> {
        MnistGru {
            gru: GruConfig::new(self.input_size, self.hidden_size)
                .with_num_layers(self.num_layers)
                .with_batch_first(true)
                .init(device),
            fc: LinearConfig::new(self.hidden_size, self.num_classes).init(device),
        }
    }
}

/// An image read row by row as a sequence by a stacked GRU (`nn.GRU(28, 128, 2,
/// batch_first=True)`), and a linear classifier on the last step's hidden state.
///
/// Input `[batch, seq = rows, input_size = columns]` (`[B, 28, 28]` for MNIST), output logits
/// `[batch, num_classes]`.
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use zoo_models::MnistGruConfig;
///
/// let device = Default::default();
/// let model = MnistGruConfig::new().init::<NdArray>(&device); // hidden 128, 2 layers
/// let images = Tensor::<NdArray, 3>::zeros([4, 28, 28], &device); // [batch, rows, columns]
/// assert_eq!(model.forward(images).dims(), [4, 10]);
/// ```
#[derive(Module, Debug)]
pub struct MnistGru<B: Backend> {
    /// `nn.GRU(input_size, hidden_size, num_layers, batch_first=True)`, PyTorch's layout.
    pub gru: Gru<B>,
    /// Maps the last step's hidden state `[B, hidden]` to logits `[B, classes]`.
    pub fc: Linear<B>,
}

impl<B: Backend> MnistGru<B> {
    /// `images [batch, seq, input_size]` → logits `[batch, num_classes]`.
    pub fn forward(&self, images: Tensor<B, 3>) -> Tensor<B, 2> {
        let [batch, seq, _] = images.dims();
        let (x, _) = self.gru.forward(images, None);
        let hidden = x.dims()[2];
        let last = x
            .slice([0..batch, seq - 1..seq, 0..hidden])
            .reshape([batch, hidden]);
        forward_linear(&self.fc, last)
    }
}

impl<B: Backend> Classifier<B, 3> for MnistGru<B> {
    fn logits(&self, images: Tensor<B, 3>) -> Tensor<B, 2> {
        self.forward(images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn has_pytorchs_parameter_count_and_one_logit_per_class() {
        // nn.GRU(28, 128, 2): 3·128·(28 + 128 + 2) + 3·128·(128 + 128 + 2); Linear(128, 10).
        let device = Default::default();
        let model = MnistGruConfig::new().init::<NdArray>(&device);
        assert_eq!(model.num_params(), 60_672 + 99_072 + 1_290);
        let logits = model.forward(Tensor::ones([3, 28, 28], &device));
        assert_eq!(logits.dims(), [3, 10]);
    }
}
