//! Whichever model a config names, handed to a [`ModelJob`] with its task, data and batcher, so
//! that training, evaluation and the other commands are each written once for every model.

use std::path::Path;

use anyhow::Context;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, InMemDataset};
use burn::module::{AutodiffModule, ModuleDisplay};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::tensor::backend::AutodiffBackend;
use burn::train::{LearningComponentsMarker, SupervisedTraining};
use zoo_data::mnist::{MnistBatcher, MnistDataset, MnistFolder};
use zoo_data::toy::{self, ClusterBatcher, CurveBatcher};
use zoo_models::ModelKind;

use crate::config::{DataSection, ExperimentConfig, Network};
use crate::optim::ZooOptimizer;
use crate::task::{
    classification_metrics, regression_metrics, Classification, Regression, Task, Trainee,
};

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
}

/// Everything a job needs about one model.
pub struct ModelParts<B: AutodiffBackend, M, T, D, Bt> {
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

/// Builds the model, data and task of `config` on `device` and hands them to `job`.
pub fn with_model<B: AutodiffBackend, J: ModelJob<B>>(
    config: &ExperimentConfig,
    device: &B::Device,
    job: J,
) -> anyhow::Result<J::Output> {
    let device = device.clone();
    match (&config.model.network, &config.data) {
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
                ModelKind::MlpRegression => job.run(
                    ModelParts {
                        model: net.init::<B>(&device),
                        task: Regression,
                        data: toy_splits(
                            toy::curve_on_grid(data.train_points, seed),
                            toy::curve_sampled(data.test_points, seed.wrapping_add(1)),
                            "curve",
                            &[],
                        ),
                        batcher: CurveBatcher,
                        device,
                    },
                    regression_metrics,
                ),
                _ => job.run(
                    ModelParts {
                        model: net.init::<B>(&device),
                        task: Classification::<2>,
                        data: toy_splits(
                            toy::two_clusters(data.train_points, seed),
                            toy::two_clusters(data.test_points, seed.wrapping_add(1)),
                            "two-clusters",
                            &["(2, 2)", "(-2, -2)"],
                        ),
                        batcher: ClusterBatcher,
                        device,
                    },
                    classification_metrics,
                ),
            }
        }
        _ => unreachable!("a validated config pairs each model with its kind of data"),
    }
}

/// The parts of an MNIST model: the config's splits and its normalizing batcher.
fn mnist_parts<B: AutodiffBackend, M, T>(
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
    })
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
    Ok(Splits {
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
