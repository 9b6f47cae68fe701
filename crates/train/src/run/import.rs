//! `zoo import`: a PyTorch `state_dict` file becomes a run folder that `zoo eval` reads.

use std::path::Path;

use anyhow::Context;
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, DeviceOps};
use zoo_models::import::{load_pytorch, ImportError, Rename};

use super::artifacts::{write_atomic, CONFIG_FILE, MODEL_FILE};
use super::config_fix::config_fix;
use super::eval::evaluate;
use super::save_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::{DataSource, LoadContext};
use crate::model::ZooModel;
use crate::task::Tally;

/// Loads `from` into the model `experiment` describes, the file's names renamed by `renames`
/// first, writes `dir/config.toml` and `dir/model.mpk` (and what the data keeps beside them), and
/// evaluates the imported model on the test set.
pub(crate) fn import<M: ZooModel>(
    experiment: &Experiment<M>,
    from: &Path,
    renames: &[Rename],
    dir: &Path,
    placement: &Placement,
) -> anyhow::Result<Tally> {
    placement.run(ImportJob {
        experiment,
        from,
        renames,
        dir,
    })
}

struct ImportJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    from: &'a Path,
    renames: &'a [Rename],
    dir: &'a Path,
}

impl<M: ZooModel> BackendJob for ImportJob<'_, M> {
    type Output = Tally;

    fn run<B: AutodiffBackend>(self, device: B::Device, _target: Target) -> anyhow::Result<Tally> {
        let (experiment, dir) = (self.experiment, self.dir);
        zoo_models::nn::fused::set_enabled(experiment.train.fused);
        let context = LoadContext {
            run_dir: dir,
            seed: experiment.train.seed,
            batch_size: experiment.train.batch_size,
        };
        let splits = experiment.data.load(&context)?;
        let model = M::init::<B>(&experiment.model, &splits.info, &device);
        let model = match load_pytorch(model, self.from, self.renames) {
            Ok(model) => model,
            Err(ImportError::Mismatch { path, mismatch, .. }) => {
                let hint =
                    config_fix::<M, B>(experiment, &splits.info, self.from, self.renames, &device);
                return Err(ImportError::Mismatch {
                    path,
                    mismatch,
                    hint,
                }
                .into());
            }
            Err(err) => return Err(err.into()),
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the run folder {}", dir.display()))?;
        write_atomic(&dir.join(CONFIG_FILE), experiment.to_toml().as_bytes())?;
        save_model(&model, dir)?;
        for (name, contents) in &splits.files {
            write_atomic(&dir.join(name), contents.as_bytes())?;
        }
        println!(
            "Imported {} into {} ({MODEL_FILE})",
            self.from.display(),
            dir.display()
        );
        let per_batch = experiment.data.items_per_batch(experiment.train.batch_size);
        Ok(evaluate::<_, M::Task, _, _>(
            &model.valid(),
            &experiment.data,
            splits.test,
            per_batch,
            device.inner(),
        ))
    }
}
