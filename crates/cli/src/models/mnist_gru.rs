//! `mnist-gru`: the MNIST row-by-row classifier with the zoo's PyTorch-compatible GRU.

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{InvalidConfig, MnistGru, MnistGruConfig};
use zoo_train::data::MnistData;
use zoo_train::task::Classification;
use zoo_train::ZooModel;

/// [`MnistGru`] on MNIST-format images read as 28 rows of 28 pixels.
pub struct MnistGruModel;

impl ZooModel for MnistGruModel {
    const NAME: &'static str = "mnist-gru";
    const DESCRIPTION: &'static str =
        "MNIST rows as a 28-step sequence, 2-layer GRU (hidden 128), last step -> Linear -> 10";
    const CONFIG: &'static str = include_str!("../../../../configs/mnist-gru.toml");
    type Config = MnistGruConfig;
    type Data = MnistData;
    type Task = Classification<3>;
    type Module<B: AutodiffBackend> = MnistGru<B>;

    fn recipe() -> MnistGruConfig {
        MnistGruConfig::new()
    }

    fn init<B: AutodiffBackend>(
        config: &MnistGruConfig,
        _info: &(),
        device: &B::Device,
    ) -> MnistGru<B> {
        config.init(device)
    }

    fn check(config: &MnistGruConfig, _data: &MnistData) -> Result<(), InvalidConfig> {
        config.validate()
    }
}
