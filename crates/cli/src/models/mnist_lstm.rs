//! `mnist-lstm` and `mnist-lstm-small`: seeds 001 and 004's LSTMs reading MNIST row by row.

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{InvalidConfig, MnistLstm, MnistLstmConfig};
use zoo_train::data::MnistData;
use zoo_train::task::Classification;
use zoo_train::{Registration, ZooModel};

/// The registrations of this file.
pub const REGISTER: &[Registration] = &[
    Registration::of::<MnistLstmModel>(),
    Registration::variant::<MnistLstmModel>(
        "mnist-lstm-small",
        "seed 004: 1-layer LSTM (hidden 64) over MNIST rows, last step -> Linear -> 10",
        include_str!("../../../../configs/mnist-lstm-small.toml"),
    ),
];

/// [`MnistLstm`] on MNIST-format images read as 28 rows of 28 pixels.
pub struct MnistLstmModel;

impl ZooModel for MnistLstmModel {
    const NAME: &'static str = "mnist-lstm";
    const DESCRIPTION: &'static str =
        "seed 001: MNIST rows as a 28-step sequence, 2-layer LSTM (hidden 128), last step -> Linear -> 10";
    const CONFIG: &'static str = include_str!("../../../../configs/mnist-lstm.toml");
    type Config = MnistLstmConfig;
    type Data = MnistData;
    type Task = Classification<3>;
    type Module<B: AutodiffBackend> = MnistLstm<B>;

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
