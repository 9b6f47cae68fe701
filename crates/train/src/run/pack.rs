//! `zoo pack`: a finished run as a shipped model's folder (`crates/models/pretrained/NAME/`):
//! half-precision weights, the model's Burn config, the run's experiment and data files, and the
//! test figure those half-precision weights score, which `zoo eval --pretrained NAME` reproduces.

use std::path::Path;

use anyhow::Context;
use burn::module::Module;
use burn::record::{HalfPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::AutodiffBackend;

use super::artifacts::{write_atomic, write_info_files, CONFIG_FILE, MODEL_FILE};
use super::eval::evaluate_run;
use super::run_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::{DataSource, LoadContext};
use crate::model::ZooModel;
use crate::task::Tally;

/// The model's Burn config, as `zoo_models::pretrained` reads it.
pub const MODEL_CONFIG_FILE: &str = "model.json";
/// The test figure of the packed weights: `{"correct": N, "count": M}`.
pub const SCORE_FILE: &str = "score.json";

/// Writes the run in `run_dir` (trained as `experiment` says) into `out` as a shipped model's
/// folder and evaluates the packed weights; returns their test figures.
pub(crate) fn pack<M: ZooModel>(
    experiment: &Experiment<M>,
    run_dir: &Path,
    out: &Path,
    placement: &Placement,
) -> anyhow::Result<Tally> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the folder {}", out.display()))?;
    let files = placement.run(PackJob {
        experiment,
        run_dir,
        out,
    })?;
    let test = evaluate_run(experiment, out, placement, false)?.tally;
    let score = serde_json::json!({ "correct": test.correct, "count": test.count });
    write_atomic(&out.join(SCORE_FILE), format!("{score:#}\n").as_bytes())?;
    write_atomic(
        &out.join(README_FILE),
        about(experiment, &test, &files).as_bytes(),
    )?;
    Ok(test)
}

/// How the folder was made, for its README.
pub const README_FILE: &str = "README.md";

/// The README of a packed model: what it is, how it was trained, what it scores.
fn about<M: ZooModel>(experiment: &Experiment<M>, test: &Tally, files: &[&str]) -> String {
    let figure = match test.correct {
        Some(correct) => format!(
            "{correct}/{} correct ({:.2}%)",
            test.count,
            100.0 * test.accuracy().unwrap_or(0.0)
        ),
        None => format!(
            "mean loss {:.6} over {} samples",
            test.mean_loss(),
            test.count
        ),
    };
    format!(
        "# `{name}`, trained by the zoo\n\n{description}\n\nTrained with `zoo train --config \
         config.toml` (this folder's `config.toml`: seed {seed}, {epochs} epochs, on `ndarray`), \
         then packed with `zoo pack --run RUN --out crates/models/pretrained/{name}`: the weights \
         in half precision (`model.mpk`), the model's config (`model.json`){files}.\n\nTest set, \
         with these weights: {figure} (`score.json`; `zoo eval --pretrained {name}` reproduces \
         it).\n",
        name = M::NAME,
        description = M::DESCRIPTION,
        seed = experiment.train.seed,
        epochs = experiment.train.epochs,
        files = files.iter().map(|f| format!(", `{f}`")).collect::<String>(),
    )
}

struct PackJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    run_dir: &'a Path,
    out: &'a Path,
}

impl<M: ZooModel> BackendJob for PackJob<'_, M> {
    /// The names of the data's files written beside the weights.
    type Output = Vec<&'static str>;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        _target: Target,
    ) -> anyhow::Result<Vec<&'static str>> {
        let (experiment, out) = (self.experiment, self.out);
        let context = LoadContext {
            run_dir: self.run_dir,
            seed: experiment.train.seed,
            batch_size: experiment.train.batch_size,
        };
        let splits = experiment.data.load(&context)?;
        let model = run_model::<M, B>(experiment, &splits.info, self.run_dir, &device)?;
        model
            .save_file(
                out.join(MODEL_FILE),
                &NamedMpkFileRecorder::<HalfPrecisionSettings>::new(),
            )
            .with_context(|| format!("cannot write {}", out.join(MODEL_FILE).display()))?;
        // The fields the data decides are the shipped files' to say (a vocabulary's length).
        let mut model_config = serde_json::to_value(&experiment.model)?;
        if let Some(fields) = model_config.as_object_mut() {
            fields.retain(|key, _| !M::FROM_DATA.contains(&key.as_str()));
        }
        let model_config = serde_json::to_string_pretty(&model_config)?;
        write_atomic(&out.join(MODEL_CONFIG_FILE), model_config.as_bytes())?;
        write_atomic(&out.join(CONFIG_FILE), experiment.to_toml().as_bytes())?;
        write_info_files(&experiment.data, &splits.info, out)
    }
}
