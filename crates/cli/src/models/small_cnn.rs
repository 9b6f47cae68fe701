//! `small-cnn`: the CNN of Morvan's PyTorch tutorial.

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{InvalidConfig, SmallCnn, SmallCnnConfig};
use zoo_train::data::MnistData;
use zoo_train::task::Classification;
use zoo_train::ZooModel;

/// [`SmallCnn`] on MNIST-format images `[B, 1, 28, 28]`.
pub struct SmallCnnModel;

impl ZooModel for SmallCnnModel {
    const NAME: &'static str = "small-cnn";
    const DESCRIPTION: &'static str =
        "the CNN of Morvan's PyTorch tutorial: conv 16 -> conv 32 (5x5 pad 2, max-pool 2) -> Linear 1568-10";
    const CONFIG: &'static str = include_str!("../../../../configs/small-cnn.toml");
    type Config = SmallCnnConfig;
    type Data = MnistData;
    type Task = Classification<4>;
    type Module<B: AutodiffBackend> = SmallCnn<B>;

    fn recipe() -> SmallCnnConfig {
        SmallCnnConfig::new()
    }

    fn init<B: AutodiffBackend>(
        config: &SmallCnnConfig,
        _info: &(),
        device: &B::Device,
    ) -> SmallCnn<B> {
        config.init(device)
    }

    fn check(config: &SmallCnnConfig, _data: &MnistData) -> Result<(), InvalidConfig> {
        config.validate()
    }
}
