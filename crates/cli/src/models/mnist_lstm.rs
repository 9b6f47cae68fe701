//! `mnist-lstm` and `mnist-lstm-small`: the MNIST classifiers of the PyTorch LSTM tutorials,
//! reading an image row by row.

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{InvalidConfig, MnistLstm, MnistLstmConfig};
use zoo_train::data::MnistData;
use zoo_train::task::Classification;
use zoo_train::ZooModel;

/// [`MnistLstm`] on MNIST-format images read as 28 rows of 28 pixels.
pub struct MnistLstmModel;

impl ZooModel for MnistLstmModel {
    const NAME: &'static str = "mnist-lstm";
    const DESCRIPTION: &'static str =
        "MNIST rows as a 28-step sequence, 2-layer LSTM (hidden 128), last step -> Linear -> 10";
    const CONFIG: &'static str = include_str!("../../../../configs/mnist-lstm.toml");
    type Config = MnistLstmConfig;
    type Data = MnistData;
    type Task = Classification<3>;
    type Module<B: AutodiffBackend> = MnistLstm<B>;

    fn recipe() -> MnistLstmConfig {
        MnistLstmConfig::new()
    }

    fn init<B: AutodiffBackend>(
        config: &MnistLstmConfig,
        _info: &(),
        device: &B::Device,
    ) -> MnistLstm<B> {
        config.init(device)
    }

    fn check(config: &MnistLstmConfig, _data: &MnistData) -> Result<(), InvalidConfig> {
        config.validate()
    }
}

/// The same module at [`MnistLstmConfig::small`]'s size, with its own recipe.
pub struct MnistLstmSmallModel;

impl ZooModel for MnistLstmSmallModel {
    const NAME: &'static str = "mnist-lstm-small";
    const DESCRIPTION: &'static str =
        "1-layer LSTM (hidden 64) over MNIST rows, last step -> Linear -> 10 (Morvan's PyTorch tutorial)";
    const CONFIG: &'static str = include_str!("../../../../configs/mnist-lstm-small.toml");
    type Config = MnistLstmConfig;
    type Data = MnistData;
    type Task = Classification<3>;
    type Module<B: AutodiffBackend> = MnistLstm<B>;

    fn recipe() -> MnistLstmConfig {
        MnistLstmConfig::small()
    }

    fn init<B: AutodiffBackend>(
        config: &MnistLstmConfig,
        info: &(),
        device: &B::Device,
    ) -> MnistLstm<B> {
        MnistLstmModel::init(config, info, device)
    }

    fn check(config: &MnistLstmConfig, data: &MnistData) -> Result<(), InvalidConfig> {
        MnistLstmModel::check(config, data)
    }
}
