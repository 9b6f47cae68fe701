//! What the toolkit does with a model: train it ([`fit`]), evaluate a run ([`eval`]), answer new
//! inputs ([`predict`]), import PyTorch weights ([`import`]), time training steps ([`mod@bench`]),
//! and the files of a run folder ([`artifacts`]).

use std::path::Path;

use anyhow::Context;
use burn::module::Module;
use burn::prelude::Backend;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};

use crate::learner::checkpoint::AtomicMpkRecorder;

pub mod artifacts;
pub mod bench;
pub mod eval;
pub mod fit;
pub mod import;
pub mod predict;

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
pub(crate) fn load_model<B: Backend, M: Module<B>>(
    model: M,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<M> {
    let path = dir.join(artifacts::MODEL_FILE);
    model
        .load_file(
            &path,
            &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
            device,
        )
        .with_context(|| format!("{}: cannot load the model weights", path.display()))
}
