use burn::module::Initializer;
use burn::nn::{Linear, LinearConfig, Lstm, LstmConfig};
use burn::prelude::*;

use crate::InvalidConfig;

/// Shape of [`MnistLstm`]; the defaults are seed 001's (input 28, hidden 128, 2 layers, 10 classes).
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
    /// Checks that every field can build a model, naming the first one that cannot.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("input_size", self.input_size, 1)?;
        InvalidConfig::at_least("hidden_size", self.hidden_size, 1)?;
        InvalidConfig::at_least("num_layers", self.num_layers, 1)?;
        InvalidConfig::at_least("num_classes", self.num_classes, 2)
    }

    /// Builds the model with freshly initialized weights on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MnistLstm<B> {
        let lstm = (0..self.num_layers)
            .map(|layer| {
                let input = if layer == 0 {
                    self.input_size
                } else {
                    self.hidden_size
                };
                LstmConfig::new(input, self.hidden_size, true)
                    .with_initializer(pytorch_lstm_init(self.hidden_size))
                    .init(device)
            })
            .collect();
        MnistLstm {
            lstm,
            fc: LinearConfig::new(self.hidden_size, self.num_classes).init(device),
        }
    }
}

/// PyTorch's `nn.LSTM` initialization: every weight and bias drawn from U(−1/√hidden, 1/√hidden).
fn pytorch_lstm_init(hidden_size: usize) -> Initializer {
    let bound = 1.0 / (hidden_size as f64).sqrt();
    Initializer::Uniform {
        min: -bound,
        max: bound,
    }
}

/// Seeds 001/003: an image read row by row as a sequence, a stacked LSTM, and a linear classifier
/// on the last step's hidden state.
///
/// Input `[batch, seq = rows, input_size = columns]` (`[B, 28, 28]` for MNIST), output logits
/// `[batch, num_classes]`.
#[derive(Module, Debug)]
pub struct MnistLstm<B: Backend> {
    /// The LSTM layers, first to last; layer `k > 0` reads layer `k - 1`'s outputs.
    pub lstm: Vec<Lstm<B>>,
    /// Maps the last step's hidden state `[B, hidden]` to logits `[B, classes]`.
    pub fc: Linear<B>,
}

impl<B: Backend> MnistLstm<B> {
    /// `images [batch, seq, input_size]` → logits `[batch, num_classes]`.
    pub fn forward(&self, images: Tensor<B, 3>) -> Tensor<B, 2> {
        let [batch, seq, _] = images.dims();
        let mut x = images;
        for layer in &self.lstm {
            x = layer.forward(x, None).0;
        }
        let hidden = x.dims()[2];
        let last = x
            .slice([0..batch, seq - 1..seq, 0..hidden])
            .reshape([batch, hidden]);
        self.fc.forward(last)
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
        assert_eq!(model.lstm.len(), 2);
        let [d_input, _] = model.lstm[1].input_gate.input_transform.weight.dims();
        assert_eq!(d_input, 128);
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
