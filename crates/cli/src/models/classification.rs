//! `classification`: the MLP of Morvan's PyTorch tutorial separating two Gaussian clusters.

use burn::tensor::backend::AutodiffBackend;
use zoo_models::{InvalidConfig, Mlp, MlpConfig};
use zoo_train::data::ClusterData;
use zoo_train::task::Classification;
use zoo_train::ZooModel;

/// [`Mlp`] 2 → 10 → 2 with cross-entropy.
pub struct ClassificationModel;

impl ZooModel for ClassificationModel {
    const NAME: &'static str = "classification";
    const DESCRIPTION: &'static str =
        "MLP 2-10-2 separating two Gaussian clusters, cross-entropy (Morvan's PyTorch tutorial)";
    const CONFIG: &'static str = include_str!("../../../../configs/classification.toml");
    type Config = MlpConfig;
    type Data = ClusterData;
    type Task = Classification<2>;
    type Module<B: AutodiffBackend> = Mlp<B>;

    fn recipe() -> MlpConfig {
        MlpConfig::classification()
    }

    fn init<B: AutodiffBackend>(config: &MlpConfig, _info: &(), device: &B::Device) -> Mlp<B> {
        config.init(device)
    }

    fn check(config: &MlpConfig, _data: &ClusterData) -> Result<(), InvalidConfig> {
        config.validate_for(2, 2)
    }
}
