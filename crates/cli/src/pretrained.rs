//! `--pretrained NAME`: a model the zoo ships trained ([`zoo_models::pretrained`]), used as the
//! run folder it came from.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use zoo_models::pretrained::{self, Pretrained};
use zoo_train::run::artifacts::{CONFIG_FILE, MODEL_FILE};

use crate::cli::Trained;

/// The folder of a trained model: the user's run, or a shipped model's files written out.
pub struct RunFolder {
    /// The folder.
    pub path: PathBuf,
    /// The shipped model, for `--pretrained`.
    pub shipped: Option<&'static Pretrained>,
    /// Removes the written-out folder when dropped.
    _written: Option<tempfile::TempDir>,
}

/// A shipped model's test figure (its `score.json`).
#[derive(Debug, Deserialize)]
pub struct Score {
    /// Correct answers.
    pub correct: usize,
    /// Answers: test samples, or tokens for a tagger.
    pub count: usize,
}

impl Trained {
    /// The run folder `--run` names, or the shipped model `--pretrained` names written out.
    pub fn folder(&self) -> anyhow::Result<RunFolder> {
        let Some(name) = &self.pretrained else {
            let path = self
                .run
                .clone()
                .context("give --run DIR or --pretrained NAME")?;
            return Ok(RunFolder {
                path,
                shipped: None,
                _written: None,
            });
        };
        let shipped = pretrained::find(name).with_context(|| {
            let names: Vec<&str> = pretrained::ALL.iter().map(|p| p.name).collect();
            format!(
                "--pretrained {name}: the zoo ships no such model{}; it ships {}",
                zoo_train::registry::did_you_mean(name, names.iter().copied()),
                names.join(", ")
            )
        })?;
        let written = tempfile::Builder::new()
            .prefix("zoo-pretrained-")
            .tempdir()
            .context("cannot make a temporary folder for the shipped model")?;
        write_out(shipped, written.path())?;
        Ok(RunFolder {
            path: written.path().to_path_buf(),
            shipped: Some(shipped),
            _written: Some(written),
        })
    }
}

/// Writes the shipped model's files into `dir` as a run folder holds them.
fn write_out(shipped: &Pretrained, dir: &Path) -> anyhow::Result<()> {
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))
    };
    write(CONFIG_FILE, shipped.experiment.as_bytes())?;
    write(MODEL_FILE, shipped.weights)?;
    for (name, text) in shipped.files {
        write(name, text.as_bytes())?;
    }
    Ok(())
}

/// The shipped model's test figure.
pub fn score(shipped: &Pretrained) -> anyhow::Result<Score> {
    serde_json::from_str(shipped.score)
        .with_context(|| format!("{}: the shipped score.json", shipped.name))
}
