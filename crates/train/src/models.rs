//! Whichever model a config names, handed to a [`ModelJob`] with its task, data and batcher, so
//! that training, evaluation and the other commands are each written once for every model.

use std::path::Path;

use anyhow::Context;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, InMemDataset};
use burn::module::Module;
use burn::module::{AutodiffModule, ModuleDisplay};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::prelude::{Backend, Tensor, TensorData};
use burn::tensor::backend::AutodiffBackend;
use burn::train::{LearningComponentsMarker, SupervisedTraining};
use zoo_data::mnist::{MnistBatcher, MnistDataset, MnistFolder};
use zoo_data::pos::{
    bucket_by_length, read_conllu, toy_sentences, EncodedSentence, SeenWords, SentenceBucket,
    TagColumn, TaggedSentence, TaggingBatcher, Vocab,
};
use zoo_data::toy::{self, ClusterBatcher, CurveBatcher};
use zoo_models::{LstmTagger, Mlp, ModelKind};

use crate::config::{DataSection, ExperimentConfig, Network, PosData, TaggerNetwork};
use crate::optim::ZooOptimizer;
use crate::plots;
use crate::task::{
    classification_metrics, regression_metrics, tagging_metrics, Classification, Regression,
    Tagging, Task, Trainee,
};

/// The word vocabulary of a tagger run, in its run folder.
pub const WORD_VOCAB_FILE: &str = "vocab-words.txt";
/// The tag vocabulary of a tagger run, in its run folder.
pub const TAG_VOCAB_FILE: &str = "vocab-tags.txt";

/// The learner's components for model `M` and task `T` on backend `B`.
pub type Components<B, M, T> = LearningComponentsMarker<
    B,
    f64,
    Trainee<B, M, T>,
    OptimizerAdaptor<ZooOptimizer<<B as AutodiffBackend>::InnerBackend>, Trainee<B, M, T>, B>,
>;

/// The three splits of a dataset, and its name.
pub struct Splits<D> {
    /// Shuffled every epoch and trained on.
    pub train: D,
    /// Evaluated after every epoch.
    pub valid: D,
    /// Evaluated once, at the end.
    pub test: D,
    /// `mnist`, `fashion-mnist`, `curve` or `two-clusters`.
    pub dataset: String,
    /// The class names, by label (empty for a regression).
    pub classes: Vec<String>,
    /// Samples (images, points or sentences) in train, valid and test; a dataset's items may
    /// be groups of them.
    pub samples: [usize; 3],
}

/// Everything a job needs about one model.
pub struct ModelParts<B: AutodiffBackend, M: AutodiffModule<B>, T, D, Bt> {
    /// The model, freshly initialized on the device.
    pub model: M,
    /// How its batches become a loss.
    pub task: T,
    /// Its data.
    pub data: Splits<D>,
    /// How items become batches.
    pub batcher: Bt,
    /// The device the model lives on.
    pub device: B::Device,
    /// Dataset items per batch (the config's batch size, or 1 where items are whole batches).
    pub batch_size: usize,
    /// Files the run folder keeps beside the model (the tagger's vocabularies): name, contents.
    pub files: Vec<(&'static str, String)>,
    /// What the trained model learned, drawn into the run folder (the toys' fit or regions).
    pub picture: Option<Picture<M::InnerModule>>,
}

/// Draws a trained model into a run folder.
pub type Picture<M> = Box<dyn FnOnce(&M, &Path) -> anyhow::Result<()>>;

/// Cells per side of the classification toy's decision-region grid.
const REGION_RESOLUTION: usize = 160;

/// `fit.png` of the regression toy: its training points and the model's curve over their range.
fn regression_picture<B: Backend>(points: Vec<toy::CurvePoint>) -> Picture<Mlp<B>> {
    Box::new(move |model: &Mlp<B>, dir: &Path| {
        let device = model.devices().into_iter().next().unwrap_or_default();
        let (low, high) = points
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), p| {
                (l.min(p.x), h.max(p.x))
            });
        let n = 200;
        let xs: Vec<f32> = (0..n)
            .map(|i| low + (high - low) * i as f32 / (n - 1) as f32)
            .collect();
        let inputs = Tensor::<B, 2>::from_data(TensorData::new(xs.clone(), [n, 1]), &device);
        let ys = model
            .forward(inputs)
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>();
        let ys = ys.map_err(|e| anyhow::anyhow!("cannot read the model's curve: {e:?}"))?;
        let data: Vec<(f32, f32)> = points.iter().map(|p| (p.x, p.y)).collect();
        plots::regression_fit(dir, &data, &xs.into_iter().zip(ys).collect::<Vec<_>>())
    })
}

/// `regions.png` of the classification toy: the class the model picks over the plane, and the
/// training points.
fn regions_picture<B: Backend>(
    points: Vec<toy::ClusterPoint>,
    classes: Vec<String>,
) -> Picture<Mlp<B>> {
    Box::new(move |model: &Mlp<B>, dir: &Path| {
        let device = model.devices().into_iter().next().unwrap_or_default();
        let labelled: Vec<([f32; 2], usize)> = points
            .iter()
            .map(|p| (p.xy, usize::from(p.label)))
            .collect();
        let (low, high) = plots::region_bounds(&labelled);
        let n = REGION_RESOLUTION;
        let step = (high - low) / n as f64;
        let centres: Vec<f32> = (0..n * n)
            .flat_map(|i| {
                let (row, column) = (i / n, i % n);
                [
                    (low + (column as f64 + 0.5) * step) as f32,
                    (low + (row as f64 + 0.5) * step) as f32,
                ]
            })
            .collect();
        let inputs = Tensor::<B, 2>::from_data(TensorData::new(centres, [n * n, 2]), &device);
        let picked = model.forward(inputs).argmax(1).reshape([n * n]);
        let picked = picked
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .map_err(|e| anyhow::anyhow!("cannot read the model's classes: {e:?}"))?;
        let picked: Vec<usize> = picked.into_iter().map(|c| c as usize).collect();
        plots::decision_regions(dir, &labelled, (low, high), n, &picked, &classes)
    })
}

/// Work to do with whichever model a config names.
pub trait ModelJob<B: AutodiffBackend> {
    /// What the work returns.
    type Output;
    /// Runs the work on one model; `metrics` registers the task's metrics on a learner.
    fn run<M, T, I, D, Bt, F>(
        self,
        parts: ModelParts<B, M, T, D, Bt>,
        metrics: F,
    ) -> anyhow::Result<Self::Output>
    where
        M: AutodiffModule<B> + ModuleDisplay + 'static,
        M::InnerModule: ModuleDisplay + 'static,
        T: Task<B, M> + Task<B::InnerBackend, M::InnerModule>,
        I: Clone + Send + Sync + std::fmt::Debug + 'static,
        D: Dataset<I> + Clone + 'static,
        Bt: Batcher<B, I, <T as Task<B, M>>::Batch>
            + Batcher<B::InnerBackend, I, <T as Task<B::InnerBackend, M::InnerModule>>::Batch>
            + Clone
            + 'static,
        F: FnOnce(
            SupervisedTraining<Components<B, M, T>>,
        ) -> SupervisedTraining<Components<B, M, T>>;
}

/// Builds the model, data and task of `config` on `device` and hands them to `job`. `run_dir`
/// is the run's folder: what an earlier run left there (the tagger's vocabularies) is reused.
pub fn with_model<B: AutodiffBackend, J: ModelJob<B>>(
    config: &ExperimentConfig,
    device: &B::Device,
    run_dir: &Path,
    job: J,
) -> anyhow::Result<J::Output> {
    let device = device.clone();
    let batch_size = config.train.batch_size;
    match (&config.model.network, &config.data) {
        (Network::Tagger(net), DataSection::Pos(data)) => job.run(
            tagger_parts(net, data, config, run_dir, device)?,
            tagging_metrics,
        ),
        (Network::MnistLstm(net), DataSection::Mnist(_)) => job.run(
            mnist_parts(net.init::<B>(&device), Classification::<3>, config, device)?,
            classification_metrics,
        ),
        (Network::MnistCnn(net), DataSection::Mnist(_)) => job.run(
            mnist_parts(net.init::<B>(&device), Classification::<4>, config, device)?,
            classification_metrics,
        ),
        (Network::SmallCnn(net), DataSection::Mnist(_)) => job.run(
            mnist_parts(net.init::<B>(&device), Classification::<4>, config, device)?,
            classification_metrics,
        ),
        (Network::Mlp(net), DataSection::Toy(data)) => {
            let seed = config.train.seed;
            match config.model_info().kind {
                ModelKind::MlpRegression => {
                    let train = toy::curve_on_grid(data.train_points, seed);
                    job.run(
                        ModelParts {
                            model: net.init::<B>(&device),
                            task: Regression,
                            picture: Some(regression_picture::<B::InnerBackend>(train.clone())),
                            data: toy_splits(
                                train,
                                toy::curve_sampled(data.test_points, seed.wrapping_add(1)),
                                "curve",
                                &[],
                            ),
                            batcher: CurveBatcher,
                            device,
                            batch_size,
                            files: Vec::new(),
                        },
                        regression_metrics,
                    )
                }
                _ => {
                    let train = toy::two_clusters(data.train_points, seed);
                    let data = toy_splits(
                        train.clone(),
                        toy::two_clusters(data.test_points, seed.wrapping_add(1)),
                        "two-clusters",
                        &["(2, 2)", "(-2, -2)"],
                    );
                    job.run(
                        ModelParts {
                            model: net.init::<B>(&device),
                            task: Classification::<2>,
                            picture: Some(regions_picture::<B::InnerBackend>(
                                train,
                                data.classes.clone(),
                            )),
                            data,
                            batcher: ClusterBatcher,
                            device,
                            batch_size,
                            files: Vec::new(),
                        },
                        classification_metrics,
                    )
                }
            }
        }
        _ => unreachable!("a validated config pairs each model with its kind of data"),
    }
}

/// The parts of an MNIST model: the config's splits and its normalizing batcher.
fn mnist_parts<B: AutodiffBackend, M: AutodiffModule<B>, T>(
    model: M,
    task: T,
    config: &ExperimentConfig,
    device: B::Device,
) -> anyhow::Result<ModelParts<B, M, T, MnistDataset, MnistBatcher>> {
    let DataSection::Mnist(data) = &config.data else {
        unreachable!("an MNIST config")
    };
    Ok(ModelParts {
        model,
        task,
        data: mnist_splits(config)?,
        batcher: MnistBatcher::new(data.mean, data.std),
        device,
        batch_size: config.train.batch_size,
        files: Vec::new(),
        picture: None,
    })
}

/// Everything the tagger's jobs get.
type TaggerParts<B> =
    ModelParts<B, LstmTagger<B>, Tagging, SharedItems<SentenceBucket>, TaggingBatcher>;

/// The tagger's parts: the corpus's three splits as length buckets of `batch_size` sentences
/// (one bucket per batch), the vocabularies of the training split (or those of `run_dir`, when
/// an earlier command saved them there), and the model sized by them.
fn tagger_parts<B: AutodiffBackend>(
    net: &TaggerNetwork,
    data: &PosData,
    config: &ExperimentConfig,
    run_dir: &Path,
    device: B::Device,
) -> anyhow::Result<TaggerParts<B>> {
    let column = TagColumn::from_name(&data.tag_column).expect("validated tag column");
    let (dataset, mut train, valid, test) = match config.treebank_dir() {
        None => {
            let toy = toy_sentences();
            ("toy".to_string(), toy.clone(), toy.clone(), toy)
        }
        Some(dir) => {
            let split = |name| -> anyhow::Result<Vec<TaggedSentence>> {
                Ok(read_conllu(&treebank_file(&dir, name)?, column)?)
            };
            let name = dir
                .file_name()
                .map_or("conllu".into(), |n| n.to_string_lossy().into_owned());
            (name, split("train")?, split("dev")?, split("test")?)
        }
    };
    if let Some(limit) = data.train_limit {
        train.truncate(limit);
    }
    let (word_file, tag_file) = (run_dir.join(WORD_VOCAB_FILE), run_dir.join(TAG_VOCAB_FILE));
    let (words, tags) = if word_file.is_file() {
        (Vocab::load(&word_file)?, Vocab::load(&tag_file)?)
    } else {
        let of = |pick: fn(&TaggedSentence) -> &Vec<String>| {
            train
                .iter()
                .flat_map(move |s| pick(s).iter().map(String::as_str))
        };
        (
            Vocab::build(of(|s| &s.words), data.min_count, data.lowercase),
            Vocab::build(of(|s| &s.tags), 1, false),
        )
    };
    let seen = SeenWords::new(&train, data.lowercase);
    let batch_size = config.train.batch_size;
    let buckets = |sentences: &[TaggedSentence], seed| {
        let encoded = sentences
            .iter()
            .map(|s| EncodedSentence::new(s, &words, &tags, &seen))
            .collect();
        SharedItems::new(bucket_by_length(encoded, batch_size, seed))
    };
    let model_config = net.model(words.len(), tags.len());
    model_config.validate().map_err(|e| {
        anyhow::anyhow!("the training data gives a model that cannot be built: {e}")
    })?;
    println!(
        "Vocabularies of the training split: {} words (min count {}, lowercase {}), {} tags",
        words.len(),
        data.min_count,
        data.lowercase,
        tags.len()
    );
    Ok(ModelParts {
        model: model_config.init::<B>(&device),
        task: Tagging,
        data: Splits {
            train: buckets(&train, config.train.seed),
            valid: buckets(&valid, 0),
            test: buckets(&test, 0),
            dataset,
            classes: tags.tokens().to_vec(),
            samples: [train.len(), valid.len(), test.len()],
        },
        batcher: TaggingBatcher,
        device,
        batch_size: 1,
        files: vec![
            (WORD_VOCAB_FILE, words.to_text()),
            (TAG_VOCAB_FILE, tags.to_text()),
        ],
        picture: None,
    })
}

/// The one file of `dir` whose name ends in `<split>.conllu` or `<split>.conllu.gz`.
fn treebank_file(dir: &Path, split: &str) -> anyhow::Result<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read the treebank folder {} (pass a Universal Dependencies folder with --data-dir)",
            dir.display()
        )
    })?;
    let mut found: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| {
                n.ends_with(&format!("{split}.conllu"))
                    || n.ends_with(&format!("{split}.conllu.gz"))
            })
        })
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => anyhow::bail!(
            "{}: no *{split}.conllu or *{split}.conllu.gz file; a treebank folder holds the train, dev and test splits (e.g. en_ewt-ud-{split}.conllu.gz)",
            dir.display()
        ),
        _ => {
            found.sort();
            anyhow::bail!(
                "{}: several {split} files ({}); keep one",
                dir.display(),
                found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// MNIST splits: the training files minus their last `valid_fraction` (then cut to `train_limit`),
/// that held-out tail for validation (the test set if the fraction is 0), the test files for test.
fn mnist_splits(config: &ExperimentConfig) -> anyhow::Result<Splits<MnistDataset>> {
    let (variant, dir) = config.mnist_source().expect("an MNIST config");
    let DataSection::Mnist(data) = &config.data else {
        unreachable!("an MNIST config")
    };
    let folder = MnistFolder::open(&dir).with_context(|| hint_for(&dir))?;
    let held_out = (folder.train.len() as f64 * data.valid_fraction).round() as usize;
    let (train, valid) = folder.train.split_at(folder.train.len() - held_out);
    let train = match data.train_limit {
        Some(limit) => train.take(limit),
        None => train,
    };
    let valid = if held_out == 0 {
        folder.test.clone()
    } else {
        valid
    };
    let samples = [train.len(), valid.len(), folder.test.len()];
    Ok(Splits {
        samples,
        train,
        valid,
        test: folder.test,
        dataset: variant.name().to_string(),
        classes: variant
            .class_names()
            .iter()
            .map(|c| c.to_string())
            .collect(),
    })
}

fn hint_for(dir: &Path) -> String {
    if dir == Path::new(crate::config::FASHION_MNIST_DIR) {
        format!("cannot load Fashion-MNIST from {} (install it with `apt-get install dataset-fashion-mnist`, or pass --data-dir)", dir.display())
    } else {
        format!("cannot load the dataset from {}", dir.display())
    }
}

fn toy_splits<I: Clone + Send + Sync>(
    train: Vec<I>,
    test: Vec<I>,
    name: &str,
    classes: &[&str],
) -> Splits<SharedItems<I>> {
    let test = SharedItems::new(test);
    Splits {
        samples: [train.len(), test.len(), test.len()],
        train: SharedItems::new(train),
        valid: test.clone(),
        test,
        dataset: name.to_string(),
        classes: classes.iter().map(|c| c.to_string()).collect(),
    }
}

/// An in-memory dataset that clones cheaply (the items are shared).
#[derive(Clone)]
pub struct SharedItems<I>(std::sync::Arc<InMemDataset<I>>);

impl<I: Clone + Send + Sync> SharedItems<I> {
    fn new(items: Vec<I>) -> Self {
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
