//! `[data]` of the MNIST-format models: the four IDX files of a folder (MNIST, Fashion-MNIST), a
//! held-out tail of the training files for validation, and normalized image batches.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::Backend;
use serde::{Deserialize, Serialize};
use zoo_data::digit::{digit_from_bytes, read_digit};
use zoo_data::mnist::{MnistBatcher, MnistDataset, MnistFolder, MnistItem, MnistVariant};
use zoo_data::ClassificationBatch;
use zoo_models::InvalidConfig;

use super::{
    check_train_limit, locate_dir, Batches, DataFlags, DataSource, LoadContext, PredictFlags,
    PredictInputs, Reads, Splits,
};
use crate::config::ConfigError;
use crate::task::Classification;

/// Where MNIST lives in a checkout, relative to its root: the embedded sample.
const MNIST_SAMPLE: &str = "data/mnist-sample";
/// Where Debian's `dataset-fashion-mnist` package installs the full Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// `[data]` of an MNIST-format model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistData {
    /// `mnist` or `fashion-mnist` (decides the class names and the default folder).
    pub dataset: MnistVariant,
    /// The folder of the four IDX files; absent means the dataset's default folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Fraction of the training files held out (from their end) for validation.
    pub valid_fraction: f64,
    /// Train on the first N training images only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Normalization mean of pixels scaled to [0, 1].
    pub mean: f32,
    /// Normalization standard deviation.
    pub std: f32,
}

impl MnistData {
    /// The folder a dataset is read from when the config names none: the MNIST sample of this
    /// checkout, or the Debian package's Fashion-MNIST folder.
    pub fn default_dir(variant: MnistVariant) -> PathBuf {
        match variant {
            MnistVariant::Mnist => PathBuf::from(MNIST_SAMPLE),
            MnistVariant::FashionMnist => PathBuf::from(FASHION_MNIST_DIR),
        }
    }

    /// The folder the files are read from: the configured one (a relative one is looked up from
    /// the working directory, then from this checkout), or the dataset's default folder.
    pub fn folder(&self) -> PathBuf {
        locate_dir(
            self.dir
                .clone()
                .unwrap_or_else(|| Self::default_dir(self.dataset)),
        )
    }

    fn batcher(&self) -> MnistBatcher {
        MnistBatcher::new(self.mean, self.std)
    }
}

impl DataSource for MnistData {
    type Item = MnistItem;
    type Set = MnistDataset;
    type Info = ();

    fn validate(&self) -> Result<(), InvalidConfig> {
        if !(0.0..1.0).contains(&self.valid_fraction) {
            return Err(InvalidConfig::new(
                "valid_fraction",
                format!("is {}, must be in [0, 1)", self.valid_fraction),
            ));
        }
        check_train_limit(self.train_limit)?;
        if !(self.std.is_finite() && self.std > 0.0 && self.mean.is_finite()) {
            return Err(InvalidConfig::new(
                "std",
                format!(
                    "is {}, must be a positive number (and data.mean finite)",
                    self.std
                ),
            ));
        }
        Ok(())
    }

    fn apply(&mut self, flags: &DataFlags, _model: &str) -> Result<(), ConfigError> {
        if let Some(name) = &flags.dataset {
            let variant = MnistVariant::ALL
                .into_iter()
                .find(|v| v.name() == name)
                .ok_or_else(|| ConfigError::Invalid {
                    file: "--dataset".into(),
                    key: "data.dataset".into(),
                    reason: format!("is \"{name}\", must be \"mnist\" or \"fashion-mnist\""),
                })?;
            if variant != self.dataset && flags.dir.is_none() {
                self.dir = None; // the new dataset's own default folder
            }
            self.dataset = variant;
        }
        flags.set_dir_and_limit(&mut self.dir, &mut self.train_limit);
        Ok(())
    }

    fn pin_dir(&mut self) {
        if self.dir.is_none() {
            self.dir = Some(Self::default_dir(self.dataset));
        }
    }

    fn dir(&self) -> Option<PathBuf> {
        Some(self.folder())
    }

    /// The training files minus their last `valid_fraction` (then cut to `train_limit`), that
    /// held-out tail for validation (the test set if the fraction is 0), the test files for test.
    fn load(&self, _context: &LoadContext) -> anyhow::Result<Splits<Self>> {
        let dir = self.folder();
        let folder = MnistFolder::open(&dir).with_context(|| hint_for(&dir))?;
        let held_out = (folder.train.len() as f64 * self.valid_fraction).round() as usize;
        let (train, valid) = folder.train.split_at(folder.train.len() - held_out);
        let train = match self.train_limit {
            Some(limit) => train.take(limit),
            None => train,
        };
        let valid = if held_out == 0 {
            folder.test.clone()
        } else {
            valid
        };
        Ok(Splits {
            samples: [train.len(), valid.len(), folder.test.len()],
            train,
            valid,
            test: folder.test,
            dataset: self.dataset.name().to_string(),
            info: (),
        })
    }

    fn info(&self, _run_dir: &Path) -> anyhow::Result<()> {
        Ok(())
    }

    fn classes(&self, _info: &()) -> Vec<String> {
        self.dataset
            .class_names()
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    /// Each input is a picture file, read as MNIST's digits were made.
    fn predict_inputs(
        &self,
        _info: &(),
        inputs: &[String],
        flags: &PredictFlags,
    ) -> anyhow::Result<PredictInputs<MnistItem>> {
        let items = inputs
            .iter()
            .map(|path| {
                let pixels = read_digit(Path::new(path), flags.invert)?;
                Ok(MnistItem { pixels, label: 0 })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(PredictInputs {
            labels: inputs.to_vec(),
            samples: (0..items.len()).collect(),
            items,
        })
    }

    fn reads(&self) -> Reads {
        Reads::Pictures
    }

    fn picture_inputs(
        &self,
        _info: &(),
        pictures: &[(String, Vec<u8>)],
        flags: &PredictFlags,
    ) -> anyhow::Result<PredictInputs<MnistItem>> {
        let items = pictures
            .iter()
            .map(|(name, bytes)| {
                let pixels = digit_from_bytes(bytes, flags.invert, Path::new(name))?;
                Ok(MnistItem { pixels, label: 0 })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(PredictInputs {
            labels: pictures.iter().map(|(name, _)| name.clone()).collect(),
            samples: (0..items.len()).collect(),
            items,
        })
    }
}

impl Batches<Classification<3>> for MnistData {
    /// Images as sequences of rows, `[B, 28, 28]`.
    fn batch<B: Backend>(
        &self,
        items: Vec<MnistItem>,
        device: &B::Device,
    ) -> ClassificationBatch<B, 3> {
        self.batcher().batch(items, device)
    }
}

impl Batches<Classification<4>> for MnistData {
    /// Images with one channel, `[B, 1, 28, 28]`.
    fn batch<B: Backend>(
        &self,
        items: Vec<MnistItem>,
        device: &B::Device,
    ) -> ClassificationBatch<B, 4> {
        self.batcher().batch(items, device)
    }
}

fn hint_for(dir: &Path) -> String {
    if dir == Path::new(FASHION_MNIST_DIR) {
        format!("cannot load Fashion-MNIST from {} (install it with `apt-get install dataset-fashion-mnist`, or pass --data-dir)", dir.display())
    } else {
        format!("cannot load the dataset from {}", dir.display())
    }
}
