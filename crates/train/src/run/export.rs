//! `zoo export`: a run's weights as a `.safetensors` file with PyTorch's names and layouts, which
//! `model.load_state_dict(safetensors.torch.load_file(FILE), strict=True)` reads into the
//! matching PyTorch class.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use zoo_models::import::{apply_all, pytorch_tensors, to_safetensors, Named, Rename};

use super::artifacts::{write_atomic, write_info_files};
use super::run_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::DataSource;
use crate::model::ZooModel;

/// What `zoo export` wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The tensors of the `.safetensors` file, as named there.
    pub tensors: Vec<Named>,
    /// The data's files written beside it (a tagger's `vocab-words.txt` and `vocab-tags.txt`).
    pub beside: Vec<PathBuf>,
}

/// Writes the weights of the run in `run_dir` (trained as `experiment` says) to `out`, PyTorch's
/// names after the `renames`, and the data's files (a tagger's vocabularies) beside it.
pub(crate) fn export<M: ZooModel>(
    experiment: &Experiment<M>,
    run_dir: &Path,
    out: &Path,
    renames: &[Rename],
    placement: &Placement,
) -> anyhow::Result<Exported> {
    let info = experiment.data.info(run_dir)?;
    let folder = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create the folder {}", folder.display()))?;
    let tensors = placement.run(ExportJob {
        experiment,
        run_dir,
        info: info.clone(),
        out,
        renames,
    })?;
    let beside = write_info_files(&experiment.data, &info, folder)?
        .into_iter()
        .map(|name| folder.join(name))
        .collect();
    Ok(Exported { tensors, beside })
}

struct ExportJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    run_dir: &'a Path,
    info: <M::Data as DataSource>::Info,
    out: &'a Path,
    renames: &'a [Rename],
}

impl<M: ZooModel> BackendJob for ExportJob<'_, M> {
    type Output = Vec<Named>;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        _target: Target,
    ) -> anyhow::Result<Vec<Named>> {
        let model = run_model::<M, B>(self.experiment, &self.info, self.run_dir, &device)?;
        let bytes = to_safetensors(&model, self.renames)?;
        write_atomic(self.out, &bytes)?;
        Ok(pytorch_tensors(&model)
            .into_iter()
            .map(|tensor| Named {
                name: apply_all(self.renames, &tensor.name),
                ..tensor
            })
            .collect())
    }
}
