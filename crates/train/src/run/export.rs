//! `zoo export`: a run's weights as a `.safetensors` file with PyTorch's names and layouts, which
//! `model.load_state_dict(safetensors.torch.load_file(FILE), strict=True)` reads into the
//! matching PyTorch class.

use std::path::Path;

use burn::tensor::backend::AutodiffBackend;
use zoo_models::import::{apply_all, pytorch_tensors, to_safetensors, Named, Rename};

use super::artifacts::write_atomic;
use super::run_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::DataSource;
use crate::model::ZooModel;

/// Writes the weights of the run in `run_dir` (trained as `experiment` says) to `out`, PyTorch's
/// names after the `renames`; returns the tensors written, as named in the file.
pub(crate) fn export<M: ZooModel>(
    experiment: &Experiment<M>,
    run_dir: &Path,
    out: &Path,
    renames: &[Rename],
    placement: &Placement,
) -> anyhow::Result<Vec<Named>> {
    let info = experiment.data.info(run_dir)?;
    placement.run(ExportJob {
        experiment,
        run_dir,
        info,
        out,
        renames,
    })
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
