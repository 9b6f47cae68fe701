//! `zoo import`: a PyTorch `state_dict` file becomes a run folder that `zoo eval` reads.

use std::path::PathBuf;

use anyhow::Context;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::module::{AutodiffModule, ModuleDisplay};
use burn::tensor::backend::{AutodiffBackend, DeviceOps};
use burn::train::SupervisedTraining;

use crate::artifacts::{write_atomic, CONFIG_FILE, MODEL_FILE};
use crate::backend::{BackendJob, Target};
use crate::config::ExperimentConfig;
use crate::eval::evaluate;
use crate::models::{with_model, Components, ModelJob, ModelParts};
use crate::task::{Tally, Task};
use crate::train::save_model;

/// Loads `from` into the model `config` describes, writes `dir/config.toml` and `dir/model.mpk`,
/// and evaluates the imported model on the test set.
pub struct ImportRun {
    /// The resolved experiment (model shape, dataset).
    pub config: ExperimentConfig,
    /// The PyTorch file.
    pub from: PathBuf,
    /// The run folder to write.
    pub dir: PathBuf,
}

impl BackendJob for ImportRun {
    type Output = Tally;

    fn run<B: AutodiffBackend>(self, device: B::Device, _target: Target) -> anyhow::Result<Tally> {
        with_model::<B, _>(&self.config, &device, &self.dir, Import { run: &self })
    }
}

struct Import<'a> {
    run: &'a ImportRun,
}

impl<B: AutodiffBackend> ModelJob<B> for Import<'_> {
    type Output = Tally;

    fn run<M, T, I, D, Bt, F>(
        self,
        parts: ModelParts<B, M, T, D, Bt>,
        _metrics: F,
    ) -> anyhow::Result<Tally>
    where
        M: AutodiffModule<B> + ModuleDisplay + 'static,
        M::InnerModule: ModuleDisplay + 'static,
        T: Task<B, M> + Task<B::InnerBackend, M::InnerModule>,
        I: Clone + Send + Sync + std::fmt::Debug + 'static,
        D: Dataset<I> + Clone + 'static,
        Bt: Batcher<B, I, <T as Task<B, M>>::Batch>
            + Batcher<B::InnerBackend, I, <T as Task<B::InnerBackend, M::InnerModule>>::Batch>
            + Clone
            + 'static,
        F: FnOnce(
            SupervisedTraining<Components<B, M, T>>,
        ) -> SupervisedTraining<Components<B, M, T>>,
    {
        let run = self.run;
        let model = zoo_models::import::load_pytorch(parts.model, &run.from)?;
        std::fs::create_dir_all(&run.dir)
            .with_context(|| format!("cannot create the run folder {}", run.dir.display()))?;
        write_atomic(&run.dir.join(CONFIG_FILE), run.config.to_toml().as_bytes())?;
        save_model(&model, &run.dir)?;
        for (name, contents) in &parts.files {
            write_atomic(&run.dir.join(name), contents.as_bytes())?;
        }
        println!(
            "Imported {} into {} ({})",
            run.from.display(),
            run.dir.display(),
            MODEL_FILE
        );
        let test = evaluate(
            &model.valid(),
            &parts.task,
            parts.data.test,
            parts.batcher,
            parts.batch_size,
            parts.device.inner(),
        );
        Ok(test)
    }
}
