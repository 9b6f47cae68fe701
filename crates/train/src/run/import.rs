//! `zoo import`: a PyTorch `state_dict` file becomes a run folder that `zoo eval` reads.

use std::path::Path;

use anyhow::Context;
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, DeviceOps};
use zoo_models::import::{load_pytorch, ImportError, Rename};

use super::artifacts::{write_atomic, write_info_files, CONFIG_FILE, MODEL_FILE};
use super::config_fix::config_fix;
use super::eval::evaluate;
use super::save_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::{DataSource, LoadContext, VocabFlags};
use crate::model::ZooModel;
use crate::task::Tally;

/// What `zoo import` reads: the PyTorch file, the renames of its names, and the data's files
/// (a tagger's vocabularies) that go with it.
#[derive(Debug, Clone, Copy)]
pub struct ImportSource<'a> {
    /// The PyTorch `state_dict` file.
    pub weights: &'a Path,
    /// Applied to the file's names, in order, before they are matched.
    pub renames: &'a [Rename],
    /// `--vocab-words` and `--vocab-tags`.
    pub vocab: &'a VocabFlags,
}

/// Loads `from` into the model `experiment` describes, the file's names renamed first, writes
/// `dir/config.toml` and `dir/model.mpk` (and what the data keeps beside them), and evaluates
/// the imported model on the test set.
pub(crate) fn import<M: ZooModel>(
    experiment: &Experiment<M>,
    from: ImportSource<'_>,
    dir: &Path,
    placement: &Placement,
) -> anyhow::Result<Tally> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the run folder {}", dir.display()))?;
    let written = experiment
        .data
        .import_info(from.vocab, from.weights, dir, M::NAME)?;
    let result = placement.run(ImportJob {
        experiment,
        from: from.weights,
        renames: from.renames,
        dir,
    });
    if result.is_err() {
        // A failed import leaves no vocabulary that a later import into the folder would read.
        for file in written {
            let _ = std::fs::remove_file(file);
        }
    }
    result
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
                    config_fix::<M, B>(experiment, &splits.info, self.from, self.renames, &device)
                        .or_else(|| {
                            let shapes = !mismatch.wrong_shape.is_empty();
                            shapes.then(|| experiment.data.shape_hint(&splits.info))?
                        });
                return Err(ImportError::Mismatch {
                    path,
                    mismatch,
                    hint,
                }
                .into());
            }
            Err(err) => return Err(err.into()),
        };
        write_atomic(&dir.join(CONFIG_FILE), experiment.to_toml().as_bytes())?;
        save_model(&model, dir)?;
        write_info_files(&experiment.data, &splits.info, dir)?;
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
            None,
        ))
    }
}
