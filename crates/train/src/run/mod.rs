//! What the toolkit does with a model: train it ([`fit`]), evaluate a run ([`eval`]), answer new
//! inputs ([`predict`], and as a server, [`serve`]), import and export PyTorch weights ([`import`], [`export`]), time training
//! steps ([`mod@bench`]), and the files of a run folder ([`artifacts`]).

use std::path::Path;

use anyhow::Context;
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::prelude::Backend;
use burn::tensor::backend::AutodiffBackend;

use crate::config::Experiment;
use crate::data::{DataSource, LoadContext};
use crate::learner::checkpoint::AtomicMpkRecorder;
use crate::model::ZooModel;

#[cfg(feature = "ndarray")]
pub mod agree;
pub mod artifacts;
pub mod bench;
mod config_fix;
pub mod eval;
pub mod export;
pub mod fit;
pub mod import;
pub mod pack;
pub mod predict;
pub mod serve;
mod weights;

pub use weights::load_weights;
pub(crate) use weights::msgpack_document_len;

/// Saves the trained weights as `model.mpk`, atomically.
pub(crate) fn save_model<B: Backend, M: Module<B>>(model: &M, dir: &Path) -> anyhow::Result<()> {
    model
        .clone()
        .save_file(
            dir.join(artifacts::MODEL_FILE),
            &AtomicMpkRecorder::default(),
        )
        .with_context(|| format!("cannot save the model into {}", dir.display()))
}

/// `model` with the weights of the run in `dir`.
fn load_model<B: Backend, M: Module<B>>(
    model: M,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<M> {
    load_weights(model, &dir.join(artifacts::MODEL_FILE), device)
}

/// The trained model of the run in `dir` on `device`, built as `experiment` says with the data's
/// `info`, the fused operations switched as the run's config says.
pub(crate) fn run_model<M: ZooModel, B: AutodiffBackend>(
    experiment: &Experiment<M>,
    info: &<M::Data as DataSource>::Info,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<M::Module<B>> {
    zoo_models::nn::fused::set_enabled(experiment.train.fused);
    load_model(M::init::<B>(&experiment.model, info, device), dir, device)
}

/// A batch's items of `M`'s data, and what the data decides of the model's shape.
pub(crate) type Sample<M> = (
    Vec<<<M as ZooModel>::Data as DataSource>::Item>,
    <<M as ZooModel>::Data as DataSource>::Info,
);

/// The first training batch of `experiment`'s data, as items, with what the data decides of the
/// model's shape: the batch `zoo bench` times and `zoo check` compares. The data is loaded in a
/// scratch folder of its own, so no earlier run's files (vocabularies) are read.
pub(crate) fn first_batch<M: ZooModel>(experiment: &Experiment<M>) -> anyhow::Result<Sample<M>> {
    let (train, data) = (&experiment.train, &experiment.data);
    let scratch = tempfile::tempdir()?;
    let context = LoadContext {
        run_dir: scratch.path(),
        seed: train.seed,
        batch_size: train.batch_size,
    };
    let splits = data.load(&context)?;
    let items = (0..data.items_per_batch(train.batch_size))
        .filter_map(|i| splits.train.get(i))
        .collect();
    Ok((items, splits.info))
}
