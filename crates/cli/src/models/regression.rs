//! `regression`: the MLP of Morvan's PyTorch tutorial fitting `y = x² + noise`.

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{InvalidConfig, Mlp, MlpConfig};
use zoo_train::data::CurveData;
use zoo_train::task::Regression;
use zoo_train::ZooModel;

/// [`Mlp`] 1 → 10 → 1 with a mean-squared error.
pub struct RegressionModel;

impl ZooModel for RegressionModel {
    const NAME: &'static str = "regression";
    const DESCRIPTION: &'static str =
        "MLP 1-10-1 fitting y = x^2 + noise, mean-squared error (Morvan's PyTorch tutorial)";
    const CONFIG: &'static str = include_str!("../../../../configs/regression.toml");
    type Config = MlpConfig;
    type Data = CurveData;
    type Task = Regression;
    type Module<B: AutodiffBackend> = Mlp<B>;

    fn recipe() -> MlpConfig {
        MlpConfig::new()
    }

    fn init<B: AutodiffBackend>(config: &MlpConfig, _info: &(), device: &B::Device) -> Mlp<B> {
        config.init(device)
    }

    fn check(config: &MlpConfig, _data: &CurveData) -> Result<(), InvalidConfig> {
        config.validate_for(1, 1)
    }
}
