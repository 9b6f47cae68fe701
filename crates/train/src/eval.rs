//! Test-set evaluation, shared by `zoo train` (the summary's figures) and `zoo eval` (which must
//! reproduce them exactly from the saved run).

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::module::{AutodiffModule, ModuleDisplay};
use burn::prelude::Backend;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::{AutodiffBackend, DeviceOps};

use crate::artifacts::{CONFIG_FILE, MODEL_FILE};
use crate::backend::{BackendJob, Target};
use crate::config::{ExperimentConfig, Overrides};
use burn::train::SupervisedTraining;

use crate::models::{with_model, Components, ModelJob, ModelParts};
use crate::task::{Tally, Task};

/// Loss and accuracy of `model` over every item of the test `dataset`, in batches of
/// `batch_size`; prints them as the PyTorch examples' `Test set: ...` line.
pub fn evaluate<B, M, T, I, D, Bt>(
    model: &M,
    task: &T,
    dataset: D,
    batcher: Bt,
    batch_size: usize,
    device: &B::Device,
) -> Tally
where
    B: Backend,
    T: Task<B, M>,
    I: Clone + Send + Sync + std::fmt::Debug + 'static,
    D: Dataset<I> + 'static,
    Bt: Batcher<B, I, T::Batch> + 'static,
{
    let loader = DataLoaderBuilder::new(batcher)
        .batch_size(batch_size)
        .set_device(device.clone())
        .build(dataset);
    let mut tally = Tally::default();
    for batch in loader.iter() {
        tally.add(T::tally(&task.forward(model, batch)));
    }
    print_test_line(&tally);
    tally
}

/// Prints the PyTorch examples' closing line: `Test set: Average loss: 0.0610, Accuracy: 9829/10000 (98.29%)`.
fn print_test_line(test: &Tally) {
    match test.correct {
        Some(correct) => println!(
            "Test set: Average loss: {:.4}, Accuracy: {correct}/{} ({:.2}%)",
            test.mean_loss(),
            test.count,
            100.0 * test.accuracy().unwrap_or(0.0)
        ),
        None => println!(
            "Test set: Average loss: {:.6} ({} samples)",
            test.mean_loss(),
            test.count
        ),
    }
    if let Some([correct, total]) = test.unseen.filter(|[_, total]| *total > 0) {
        println!(
            "Words unseen in training: {correct}/{total} tagged correctly ({:.2}%)",
            100.0 * correct as f64 / total.max(1) as f64
        );
    }
}

/// `zoo eval`: reloads a run's model and evaluates it on the test set.
pub struct EvalRun {
    /// The run folder.
    pub dir: PathBuf,
    /// Another folder holding the dataset, if not the one the run used.
    pub data_dir: Option<PathBuf>,
}

/// The config a run folder was trained with, its data folder replaced by `data_dir` if given.
pub(crate) fn run_config(
    dir: &Path,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<ExperimentConfig> {
    let path = dir.join(CONFIG_FILE);
    if !path.is_file() {
        anyhow::bail!(
            "{}: no {CONFIG_FILE} here; pass the folder of a run made by `zoo train` (runs/<name>)",
            dir.display()
        );
    }
    let mut config = ExperimentConfig::load(None, Some(&path))?;
    config.apply(&Overrides {
        data_dir,
        ..Overrides::default()
    })?;
    Ok(config)
}

impl BackendJob for EvalRun {
    type Output = Tally;

    fn run<B: AutodiffBackend>(self, device: B::Device, _target: Target) -> anyhow::Result<Tally> {
        let config = run_config(&self.dir, self.data_dir.clone())?;
        with_model::<B, _>(&config, &device, &self.dir, Reload { dir: &self.dir })
    }
}

struct Reload<'a> {
    dir: &'a Path,
}

impl<B: AutodiffBackend> ModelJob<B> for Reload<'_> {
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
        let path = self.dir.join(MODEL_FILE);
        let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        let model = parts
            .model
            .load_file(&path, &recorder, &parts.device)
            .with_context(|| format!("{}: cannot load the model weights", path.display()))?
            .valid();
        let test = evaluate(
            &model,
            &parts.task,
            parts.data.test,
            parts.batcher,
            parts.batch_size,
            parts.device.inner(),
        );
        Ok(test)
    }
}
