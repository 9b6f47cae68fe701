//! A model's data: the `[data]` section of its config ([`DataSource`]), which reads the samples
//! and makes the batches of its task ([`Batches`]).
//!
//! The toolkit's sources: [`MnistData`] (MNIST-format IDX folders), [`PosData`] (CoNLL-U
//! treebanks, or the sequence-models tutorial's two sentences), [`CurveData`] and
//! [`ClusterData`] (the generated points of Morvan's PyTorch tutorial's toys). A model of one's
//! own may use them or bring its own.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, InMemDataset};
use burn::prelude::Backend;
use serde::de::DeserializeOwned;
use serde::Serialize;
use zoo_models::InvalidConfig;

use crate::config::ConfigError;
use crate::task::{Answer, Task};

mod mnist;
mod pos;
mod toy;

pub use mnist::{MnistData, FASHION_MNIST_DIR};
pub use pos::{Corpus, PosData, PosInfo, TAG_VOCAB_FILE, WORD_VOCAB_FILE};
pub use toy::{padded_span, ClusterData, CurveData, Points};

/// The `[data]` section of a model's config, and what it reads.
pub trait DataSource: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static {
    /// One dataset item (an image, a point, a bucket of sentences).
    type Item: Clone + Send + Sync + Debug + 'static;
    /// A split's dataset.
    type Set: Dataset<Self::Item> + Clone + 'static;
    /// What the data decides of a model's shape and answers (the tagger's vocabularies); known
    /// from a run folder without reading the data again.
    type Info: Clone + Send + Sync + 'static;

    /// Checks the section, naming the first field of `[data]` at fault.
    fn validate(&self) -> Result<(), InvalidConfig>;

    /// Applies the command-line data flags (`--data-dir`, `--dataset`, `--train-limit`); a flag
    /// that does not apply to this data is an error naming it. `model` is the model's name.
    fn apply(&mut self, flags: &DataFlags, model: &str) -> Result<(), ConfigError>;

    /// Fills in the folder the data will be read from, so a written config names it.
    fn pin_dir(&mut self) {}

    /// The folder the data is read from, if it comes from one (for tools given the same data).
    fn dir(&self) -> Option<PathBuf> {
        None
    }

    /// Reads the three splits. A run folder that already holds what an earlier command derived
    /// from the data (the tagger's vocabularies) is read from `run_dir` instead.
    fn load(&self, context: &LoadContext) -> anyhow::Result<Splits<Self>>;

    /// The [`Self::Info`] of a finished run in `run_dir`, without reading the data.
    fn info(&self, run_dir: &Path) -> anyhow::Result<Self::Info>;

    /// The files a run folder keeps beside the model, from which [`DataSource::info`] reads
    /// [`Self::Info`] back (the tagger's vocabularies): name and contents. `zoo export` writes
    /// them beside the weights too.
    fn info_files(&self, info: &Self::Info) -> Vec<(&'static str, String)> {
        let _ = info;
        Vec::new()
    }

    /// `zoo import`'s vocabularies (`--vocab-words`, `--vocab-tags`), or the data's files found
    /// beside the `weights`, written into `run_dir`, where [`DataSource::load`] then reads them;
    /// returns the files written. Data without vocabularies refuses the flags; `model` is the
    /// model's name.
    fn import_info(
        &self,
        flags: &VocabFlags,
        weights: &Path,
        run_dir: &Path,
        model: &str,
    ) -> anyhow::Result<Vec<PathBuf>> {
        let _ = (weights, run_dir);
        anyhow::ensure!(
            flags.words.is_none() && flags.tags.is_none(),
            "--vocab-words and --vocab-tags are a tagger's vocabularies; `{model}` reads none"
        );
        Ok(Vec::new())
    }

    /// What [`Self::Info`] decides of the model's shapes, said where an imported file does not
    /// fit and no `[model]` value would fix it.
    fn shape_hint(&self, info: &Self::Info) -> Option<String> {
        let _ = info;
        None
    }

    /// The class names, by label (empty for a regression).
    fn classes(&self, info: &Self::Info) -> Vec<String>;

    /// Dataset items per batch for a config's batch size (1 where an item is a whole batch).
    fn items_per_batch(&self, batch_size: usize) -> usize {
        batch_size
    }

    /// Whether `zoo predict --format conllu` applies: the data tags words.
    const WRITES_CONLLU: bool = false;

    /// `zoo predict`'s line for the `answer` to the input `label`, classes named by `classes`.
    fn describe(
        &self,
        answer: &Answer,
        label: &str,
        classes: &[String],
        flags: &PredictFlags,
    ) -> String {
        let _ = flags;
        answer.describe(label, classes)
    }

    /// `zoo predict`'s inputs (file names, sentences, numbers) as items.
    fn predict_inputs(
        &self,
        info: &Self::Info,
        inputs: &[String],
        flags: &PredictFlags,
    ) -> anyhow::Result<PredictInputs<Self::Item>>;

    /// What `zoo predict` and `zoo serve` read for this data (what [`Self::predict_inputs`]
    /// takes).
    fn reads(&self) -> Reads {
        Reads::Lines
    }

    /// `zoo serve`'s pictures as items, each the bytes of an image file and the name its answer
    /// goes by, read as [`Self::predict_inputs`] reads picture files; refused by data that reads
    /// no pictures.
    fn picture_inputs(
        &self,
        info: &Self::Info,
        pictures: &[(String, Vec<u8>)],
        flags: &PredictFlags,
    ) -> anyhow::Result<PredictInputs<Self::Item>> {
        let _ = (info, pictures, flags);
        anyhow::bail!("this model reads {}, not pictures", self.reads().noun())
    }

    /// The items of several [`PredictInputs`] made into as few as they fit in (a tagger's
    /// sentences into full buckets), their samples kept in order: `zoo serve` answers the
    /// requests that arrive together in one batch. Items of one sample each stay as they are.
    fn regroup(&self, items: Vec<Self::Item>) -> Vec<Self::Item> {
        items
    }

    /// What to draw of a trained model (the toys' fitted curve or decision regions), if anything.
    fn probe(&self, splits: &Splits<Self>) -> Option<Probe<Self::Item>> {
        let _ = splits;
        None
    }
}

/// Data that makes the batches of task `T`, on any backend.
pub trait Batches<T: Task>: DataSource {
    /// One batch of `items` on `device`.
    fn batch<B: Backend>(&self, items: Vec<Self::Item>, device: &B::Device) -> T::Batch<B>;
}

/// Burn's [`Batcher`] for the data loaders, from a [`Batches`].
pub struct TaskBatcher<D, T> {
    data: D,
    task: PhantomData<T>,
}

impl<D: Clone, T> Clone for TaskBatcher<D, T> {
    fn clone(&self) -> Self {
        Self::new(self.data.clone())
    }
}

impl<D, T> TaskBatcher<D, T> {
    /// The batcher of `data`.
    pub fn new(data: D) -> Self {
        Self {
            data,
            task: PhantomData,
        }
    }
}

impl<B: Backend, T: Task, D: Batches<T>> Batcher<B, D::Item, T::Batch<B>> for TaskBatcher<D, T> {
    fn batch(&self, items: Vec<D::Item>, device: &B::Device) -> T::Batch<B> {
        self.data.batch::<B>(items, device)
    }
}

/// The command-line flags that change `[data]`.
#[derive(Debug, Clone, Default)]
pub struct DataFlags {
    /// `--data-dir`.
    pub dir: Option<PathBuf>,
    /// `--dataset`.
    pub dataset: Option<String>,
    /// `--train-limit`.
    pub train_limit: Option<usize>,
}

impl DataFlags {
    /// Puts `--data-dir` and `--train-limit`, where given, into a section's `dir` and
    /// `train_limit`.
    pub fn set_dir_and_limit(&self, dir: &mut Option<PathBuf>, train_limit: &mut Option<usize>) {
        if let Some(given) = &self.dir {
            *dir = Some(given.clone());
        }
        if self.train_limit.is_some() {
            *train_limit = self.train_limit;
        }
    }

    /// The flags given, as `(flag, key)` pairs: for data that takes none of them.
    pub fn given(&self) -> Vec<(&'static str, &'static str)> {
        [
            ("--data-dir", "data.dir", self.dir.is_some()),
            ("--dataset", "data.dataset", self.dataset.is_some()),
            (
                "--train-limit",
                "data.train_limit",
                self.train_limit.is_some(),
            ),
        ]
        .into_iter()
        .filter(|&(_, _, given)| given)
        .map(|(flag, key, _)| (flag, key))
        .collect()
    }
}

/// `zoo import`'s vocabulary flags.
#[derive(Debug, Clone, Default)]
pub struct VocabFlags {
    /// `--vocab-words`.
    pub words: Option<PathBuf>,
    /// `--vocab-tags`.
    pub tags: Option<PathBuf>,
}

/// The `zoo predict` flags data may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PredictFlags {
    /// Images are dark ink on a light background.
    pub invert: bool,
    /// Answer in CoNLL-U (`--format conllu`): the inputs are CoNLL-U text, or lines of raw
    /// text, and each answer is a sentence block with its tag column filled.
    pub conllu: bool,
    /// Each input is a sentence already split into words, joined by single spaces (`zoo
    /// serve`'s lists of words), to be taken as it is rather than split again.
    pub split: bool,
}

/// What a model's `zoo predict` and `zoo serve` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Pictures of digits (image files; PNG over HTTP).
    Pictures,
    /// Sentences to tag.
    Sentences,
    /// Points of this many numbers.
    Points(usize),
    /// Lines of text, as the data reads them.
    Lines,
}

impl Reads {
    /// `"pictures"`, `"sentences"`, `"points of 2 numbers"`, `"lines of text"`.
    pub fn noun(self) -> String {
        match self {
            Reads::Pictures => "pictures".into(),
            Reads::Sentences => "sentences".into(),
            Reads::Points(1) => "points of 1 number".into(),
            Reads::Points(n) => format!("points of {n} numbers"),
            Reads::Lines => "lines of text".into(),
        }
    }
}

/// What [`DataSource::load`] is told.
#[derive(Debug, Clone)]
pub struct LoadContext<'a> {
    /// The run folder (it may hold what an earlier command of the run derived from the data).
    pub run_dir: &'a Path,
    /// The run's seed.
    pub seed: u64,
    /// The config's batch size.
    pub batch_size: usize,
}

/// The three splits of a dataset, and what goes with them.
pub struct Splits<D: DataSource> {
    /// Shuffled every epoch and trained on.
    pub train: D::Set,
    /// Evaluated after every epoch.
    pub valid: D::Set,
    /// Evaluated once, at the end.
    pub test: D::Set,
    /// `mnist`, `fashion-mnist`, `curve`, `two-clusters`, a treebank's folder name...
    pub dataset: String,
    /// What the data decides of the model.
    pub info: D::Info,
    /// Samples (images, points or sentences) in train, valid and test; a dataset's items may
    /// be groups of them.
    pub samples: [usize; 3],
}

/// `zoo predict`'s inputs as items: one label per input, and the items of the inputs that are
/// samples (an empty line is none).
#[derive(Debug, Clone)]
pub struct PredictInputs<I> {
    /// How each input is named in the answer lines (a file name, the sentence's words).
    pub labels: Vec<String>,
    /// The items to run, in order; each holds one or more samples.
    pub items: Vec<I>,
    /// The input each sample comes from, in the order of the items' samples.
    pub samples: Vec<usize>,
}

/// Items to run a trained model on, and how its answers become a picture.
pub struct Probe<I> {
    /// The items.
    pub items: Vec<I>,
    /// Turns the answers (one per sample, in order) into the picture.
    pub draw: Box<dyn FnOnce(Vec<Answer>) -> Picture>,
}

/// What a run folder shows of a trained model besides its curves, drawn by the `zoo` command
/// line (`fit.png`, `regions.png`).
#[derive(Debug, Clone, PartialEq)]
pub enum Picture {
    /// A curve fitted to points `(x, y)`.
    Fit {
        /// The training points.
        points: Vec<(f32, f32)>,
        /// The model's curve over their range.
        curve: Vec<(f32, f32)>,
    },
    /// The class a model picks over the plane, and the labelled training points.
    Regions {
        /// The training points and their classes.
        points: Vec<([f32; 2], usize)>,
        /// The square drawn, `(low, high)` on both axes.
        bounds: (f64, f64),
        /// Cells per side of the grid.
        resolution: usize,
        /// The class picked in each cell, row by row from `low`.
        picked: Vec<usize>,
        /// The class names.
        classes: Vec<String>,
    },
}

/// A relative folder that is not under the working directory is looked up in the checkout the
/// binary was built from, so `zoo` finds `data/mnist-sample` wherever it is started.
pub fn locate_dir(dir: PathBuf) -> PathBuf {
    if dir.is_absolute() || dir.is_dir() {
        return dir;
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(&dir);
    if checkout.is_dir() {
        checkout
    } else {
        dir
    }
}

/// Checks a `[data] train_limit`: absent, or at least one sample.
pub(crate) fn check_train_limit(limit: Option<usize>) -> Result<(), InvalidConfig> {
    match limit {
        Some(0) => Err(InvalidConfig::new(
            "train_limit",
            "is 0, must be at least 1",
        )),
        _ => Ok(()),
    }
}

/// An in-memory dataset that clones cheaply (the items are shared).
#[derive(Clone)]
pub struct SharedItems<I>(std::sync::Arc<InMemDataset<I>>);

impl<I: Clone + Send + Sync> SharedItems<I> {
    /// The dataset of `items`.
    pub fn new(items: Vec<I>) -> Self {
        Self(std::sync::Arc::new(InMemDataset::new(items)))
    }
}

impl<I: Clone + Send + Sync> Dataset<I> for SharedItems<I> {
    fn get(&self, index: usize) -> Option<I> {
        self.0.get(index)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}
