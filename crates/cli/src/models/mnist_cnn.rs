//! `mnist-cnn`: the MNIST CNN of pytorch/examples.

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{InvalidConfig, MnistCnn, MnistCnnConfig};
use zoo_train::data::MnistData;
use zoo_train::task::Classification;
use zoo_train::ZooModel;

/// [`MnistCnn`] on MNIST-format images `[B, 1, 28, 28]`.
pub struct MnistCnnModel;

impl ZooModel for MnistCnnModel {
    const NAME: &'static str = "mnist-cnn";
    const DESCRIPTION: &'static str =
        "the MNIST CNN of pytorch/examples: conv 20 -> conv 50 (5x5, max-pool 2) -> Linear 800-500-10";
    const CONFIG: &'static str = include_str!("../../../../configs/mnist-cnn.toml");
    type Config = MnistCnnConfig;
    type Data = MnistData;
    type Task = Classification<4>;
    type Module<B: AutodiffBackend> = MnistCnn<B>;

    fn recipe() -> MnistCnnConfig {
        MnistCnnConfig::new()
    }

    fn init<B: AutodiffBackend>(
        config: &MnistCnnConfig,
        _info: &(),
        device: &B::Device,
    ) -> MnistCnn<B> {
        config.init(device)
    }

    fn check(config: &MnistCnnConfig, _data: &MnistData) -> Result<(), InvalidConfig> {
        config.validate()
    }
}
