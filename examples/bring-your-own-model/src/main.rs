//! A model of one's own with the zoo's whole toolkit: `train` (with `--resume`), `eval`,
//! `predict`, `compare`, `bench`, `report`, the pictures of every run, on every backend.
//!
//! ```text
//! cargo run --release -- train --epochs 2     # then eval --run DIR, predict --run DIR digit.png
//! ```

use std::process::ExitCode;

use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use zoo_models::{Classifier, InvalidConfig};
use zoo_train::data::MnistData;
use zoo_train::task::Classification;
use zoo_train::{Registration, Registry, ZooModel};

/// The module: an image's 784 pixels → a hidden layer → 10 classes.
#[derive(Module, Debug)]
pub struct PixelMlp<B: Backend> {
    hidden: Linear<B>,
    out: Linear<B>,
    relu: Relu,
}

/// Its hyper-parameters: the `[model]` section of its config.
#[derive(Config, Debug)]
pub struct PixelMlpConfig {
    /// Units of the hidden layer.
    #[config(default = 256)]
    pub hidden_size: usize,
}

impl<B: Backend> Classifier<B, 3> for PixelMlp<B> {
    /// `images [batch, 28, 28]` → logits `[batch, 10]`.
    fn logits(&self, images: Tensor<B, 3>) -> Tensor<B, 2> {
        let x = self.relu.forward(self.hidden.forward(images.flatten::<2>(1, 2)));
        self.out.forward(x)
    }
}

/// What the zoo's toolkit needs to know of it.
pub struct PixelMlpModel;

impl ZooModel for PixelMlpModel {
    const NAME: &'static str = "pixel-mlp";
    const DESCRIPTION: &'static str = "an MLP on the 784 pixels of an MNIST digit";
    const CONFIG: &'static str = r#"
        [model]
        name = "pixel-mlp"
        hidden_size = 256

        [data]                  # the zoo's MNIST reader: its embedded 10,000-digit sample
        dataset = "mnist"
        valid_fraction = 0.05
        mean = 0.1307
        std = 0.3081

        [train]
        epochs = 3
        batch_size = 64
        seed = 1
        log_interval = 50

        [optimizer]
        name = "adam"
        lr = 0.001
    "#;
    type Config = PixelMlpConfig;
    type Data = MnistData; // batches of [B, 28, 28] images for Classification<3>
    type Task = Classification<3>; // cross-entropy, accuracy, top-3 answers
    type Module<B: AutodiffBackend> = PixelMlp<B>;

    fn recipe() -> PixelMlpConfig {
        PixelMlpConfig::new() // the [model] above, as Rust builds it
    }

    fn init<B: AutodiffBackend>(config: &PixelMlpConfig, _: &(), device: &B::Device) -> PixelMlp<B> {
        PixelMlp {
            hidden: LinearConfig::new(28 * 28, config.hidden_size).init(device),
            out: LinearConfig::new(config.hidden_size, 10).init(device),
            relu: Relu::new(),
        }
    }

    fn check(config: &PixelMlpConfig, _: &MnistData) -> Result<(), InvalidConfig> {
        InvalidConfig::at_least("hidden_size", config.hidden_size, 1)
    }
}

fn main() -> ExitCode {
    zoo_cli::main(&Registry::new().with(Registration::of::<PixelMlpModel>()))
}
