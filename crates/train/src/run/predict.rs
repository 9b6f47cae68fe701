//! `zoo predict`: a trained run's answers to new inputs (pictures, sentences, points), one line
//! per input.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, DeviceOps};

use super::eval::answers;
use super::run_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::{DataSource, PredictFlags};
use crate::model::ZooModel;

/// The answers of the run in `run_dir` (trained as `experiment` says) to `inputs`: one line per
/// input, as [`crate::task::Answer::describe`] prints it (an empty line for an input that holds
/// no sample, such as an empty sentence).
pub(crate) fn predict<M: ZooModel>(
    experiment: &Experiment<M>,
    run_dir: &Path,
    inputs: &[String],
    flags: &PredictFlags,
    placement: &Placement,
) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        !flags.conllu || M::Data::WRITES_CONLLU,
        "--format conllu writes a tagger's tags as CoNLL-U; `{}` tags no words",
        M::NAME
    );
    let info = experiment.data.info(run_dir)?;
    let read = experiment.data.predict_inputs(&info, inputs, flags)?;
    placement.run(PredictJob {
        experiment,
        run_dir,
        info,
        read,
        flags,
    })
}

struct PredictJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    run_dir: &'a Path,
    info: <M::Data as DataSource>::Info,
    read: crate::data::PredictInputs<<M::Data as DataSource>::Item>,
    flags: &'a PredictFlags,
}

impl<M: ZooModel> BackendJob for PredictJob<'_, M> {
    type Output = Vec<String>;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        _target: Target,
    ) -> anyhow::Result<Vec<String>> {
        let (experiment, read) = (self.experiment, self.read);
        let model = run_model::<M, B>(experiment, &self.info, self.run_dir, &device)?.valid();
        let data = &experiment.data;
        let per_batch = data.items_per_batch(experiment.train.batch_size);
        let found =
            answers::<_, M::Task, _, _>(&model, data, read.items, per_batch, device.inner());
        let classes = data.classes(&self.info);
        let mut lines = vec![String::new(); read.labels.len()];
        for (&input, answer) in read.samples.iter().zip(found) {
            lines[input] = data.describe(&answer, &read.labels[input], &classes, self.flags);
        }
        Ok(lines)
    }
}
