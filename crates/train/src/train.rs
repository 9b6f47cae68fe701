//! `zoo train`: trains the configured model with burn-train's supervised learner and writes the run
//! folder (`config.toml`, checkpoints, `metrics.csv`, `model.mpk`, `summary.json`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::module::{AutodiffModule, Module, ModuleDisplay};
use burn::prelude::Backend;
use burn::tensor::backend::{AutodiffBackend, DeviceOps};
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::{Learner, SupervisedTraining, TrainingStrategy};

use crate::artifacts::{
    metrics_csv, peak_memory_mib, weights_checksum, write_atomic, EpochRow, Summary,
    TaggingSummary, CONFIG_FILE, METRICS_FILE, MODEL_FILE,
};
use crate::backend::{BackendJob, Target};
use crate::checkpoint::{resume_point, AtomicMpkRecorder};
use crate::config::ExperimentConfig;
use crate::eval::evaluate;
use crate::models::{with_model, Components, ModelJob, ModelParts};
use crate::optim::optimizer;
use crate::plots;
use crate::progress::{CsvMetricLogger, Divergence, ProgressPrinter, SharedLog};
use crate::strategy::TimedSingleDevice;
use crate::task::{LossWatch, Tally, Task, Trainee};

/// A training run to start: the resolved config and the folder it writes.
pub struct TrainRun {
    /// The experiment, flags applied.
    pub config: ExperimentConfig,
    /// The run folder (created, empty or holding an unfinished run).
    pub dir: PathBuf,
    /// Continue the unfinished run in `dir` from its last complete epoch (`zoo train --resume`)
    /// instead of starting from epoch 1.
    pub resume: bool,
    /// When the command started (for `total_seconds`).
    pub started: Instant,
    /// This process's place in a multi-node run (`--nodes`, `--rank`, ...), if it is one.
    #[cfg(feature = "distributed")]
    pub node: Option<crate::distributed::NodeSpec>,
}

impl BackendJob for TrainRun {
    type Output = Summary;

    fn run<B: AutodiffBackend>(self, device: B::Device, target: Target) -> anyhow::Result<Summary> {
        B::seed(&device, self.config.train.seed);
        write_atomic(
            &self.dir.join(CONFIG_FILE),
            self.config.to_toml().as_bytes(),
        )?;
        with_model::<B, _>(&self.config, &device, &self.dir, Fit { run: &self, target })
    }
}

/// Checks that a global batch of `items` splits evenly over `parts` nodes or devices (`what`).
fn split_batch(items: usize, parts: usize, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        items % parts == 0 && items >= parts,
        "the batch size {items} is the global batch of the {parts} {what}s: it must be a multiple of {parts}{}",
        match items {
            1 => format!(" (this model trains on one sequence per step: train it on one {what})"),
            _ => String::new(),
        }
    );
    Ok(())
}

struct Fit<'a> {
    run: &'a TrainRun,
    target: Target,
}

impl<B: AutodiffBackend> ModelJob<B> for Fit<'_> {
    type Output = Summary;

    fn run<M, T, I, D, Bt, F>(
        self,
        parts: ModelParts<B, M, T, D, Bt>,
        metrics: F,
    ) -> anyhow::Result<Summary>
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
        ) -> SupervisedTraining<Components<B, M, T>>,
    {
        let ModelParts {
            model,
            task,
            data,
            batcher,
            device,
            batch_size: items_per_batch,
            files,
            picture,
        } = parts;
        let config = &self.run.config;
        let dir = &self.run.dir;
        let resume = match self.run.resume {
            true => Some(resume_point(dir)?),
            false => None,
        };
        for (name, contents) in &files {
            write_atomic(&dir.join(name), contents.as_bytes())?;
        }
        let [train_samples, valid_samples, test_samples] = data.samples;
        let batch_size = config.train.batch_size;
        let parameters = Module::num_params(&model);
        println!(
            "Training {} ({parameters} parameters) on {} ({}): {} {train_samples} train / {valid_samples} valid / {test_samples} test, {} epochs, batch {batch_size}, {} lr {}",
            config.model.name, self.target.backend, self.target.device_name, data.dataset, config.train.epochs, config.optimizer.name, config.optimizer.lr,
        );
        #[cfg(feature = "distributed")]
        let follower = self.run.node.as_ref().is_some_and(|n| n.rank != 0);
        #[cfg(not(feature = "distributed"))]
        let follower = false;
        match follower {
            false => println!("Run folder: {}", dir.display()),
            // Its folder is a scratch one, deleted at the end (cli.rs writes node-R.log).
            true => println!("Run folder: rank 0's; this node writes only its node log"),
        }
        match &resume {
            Some(point) if point.epoch > 0 => println!(
                "Resuming after epoch {} of {}: its weights, optimizer state and metrics are kept; epoch {} sees the batches it would have seen",
                point.epoch,
                config.train.epochs,
                point.epoch + 1
            ),
            Some(_) => println!("Resuming: no epoch had finished, so training starts from epoch 1"),
            None => {}
        }

        let clip = config.optimizer.grad_clip_norm.map(|norm| norm as f32);
        let watch = LossWatch::default();
        let trainee = Trainee::new(model, task.clone(), clip).with_loss_watch(watch.clone());
        let learner = Learner::new(
            trainee,
            optimizer::<B, Trainee<B, M, T>>(&config.optimizer),
            config.optimizer.lr,
        );
        // A node of a multi-node run computes its slice of every global batch.
        #[cfg(feature = "distributed")]
        let (collective, shard) = match &self.run.node {
            Some(node) => {
                let nodes = node.nodes as usize;
                split_batch(items_per_batch, nodes, "node")?;
                let collective = crate::distributed::Collective::join::<B::InnerBackend>(
                    node.clone(),
                    device.inner().clone(),
                )?;
                println!(
                    "Node {} of {}: joined through the coordinator at {}; {} of the {train_samples} training samples per epoch, batch {} of the global {items_per_batch}",
                    node.rank,
                    node.nodes,
                    node.coordinator,
                    train_samples / nodes,
                    items_per_batch / nodes
                );
                (Some(collective), (nodes, node.rank as usize))
            }
            None => (None, (1, 0)),
        };
        #[cfg(not(feature = "distributed"))]
        let shard = (1, 0);
        // Several devices of this machine (`--devices`): each batches its slice of every global
        // batch on itself, like the nodes of a multi-node run.
        let others: Vec<B::Device> = self
            .target
            .others
            .iter()
            .map(|id| <B::Device as burn::tensor::backend::Device>::from_id(*id))
            .collect();
        let shard = match others.len() {
            0 => shard,
            n => {
                let devices = n + 1;
                split_batch(items_per_batch, devices, "device")?;
                println!(
                    "Devices: {devices} ({}, {}); batch {} on each of the global {items_per_batch}",
                    self.target.device_name,
                    self.target.other_names.join(", "),
                    items_per_batch / devices
                );
                (devices, 0)
            }
        };
        let total = data.train.len();
        let train_set = crate::shard::Cut::new(data.train, total, shard.0);
        // One loader thread: batches arrive in the same order every run, so a seed fixes the
        // metrics. Every node and device draws the same global batches and batches only its own
        // slice, on itself.
        let loader = |slice: usize, on: &B::Device, set| {
            DataLoaderBuilder::new(crate::shard::ShardBatcher::new(
                batcher.clone(),
                shard.0,
                slice,
            ))
            .batch_size(items_per_batch)
            .shuffle(config.train.seed)
            .set_device(on.clone())
            .build(set)
        };
        let other_loaders: Vec<_> = others
            .iter()
            .enumerate()
            .map(|(i, other)| (other.clone(), loader(i + 1, other, train_set.clone())))
            .collect();
        let train_loader = loader(shard.1, &device, train_set);
        let valid_loader = DataLoaderBuilder::new(batcher.clone())
            .batch_size(items_per_batch)
            .set_device(device.inner().clone())
            .build(data.valid);

        let log = SharedLog::default();
        if let Some(point) = &resume {
            log.lock().expect("run log lock").rows = point.rows.clone();
        }
        let strategy = TimedSingleDevice::<Components<B, M, T>>::new(
            device.clone(),
            log.clone(),
            watch,
            config.train.seed,
        )
        .with_other_devices(other_loaders);
        #[cfg(feature = "distributed")]
        let strategy = strategy.with_collective(collective.clone());
        let mut training = SupervisedTraining::new(dir, train_loader, valid_loader)
            .with_application_logger(None)
            .with_metric_logger(CsvMetricLogger::new(dir.join(METRICS_FILE), log.clone()))
            .renderer(ProgressPrinter::new(config.train.log_interval))
            .with_file_checkpointer(AtomicMpkRecorder::default())
            .with_checkpointing_strategy(KeepLastNCheckpoints::new(2))
            .with_training_strategy(TrainingStrategy::Custom(Arc::new(strategy)))
            .num_epochs(config.train.epochs);
        if let Some(point) = resume.as_ref().filter(|p| p.epoch > 0) {
            // burn-train restores model, optimizer and scheduler of that epoch, then runs the rest.
            training = training.checkpoint(point.epoch);
        }
        let result = metrics(training).launch(learner);
        let diverged = log.lock().expect("run log lock").diverged;
        if let Some(diverged) = diverged {
            let rows = metrics_csv(&log.lock().expect("run log lock").rows);
            write_atomic(&dir.join(METRICS_FILE), rows.as_bytes())?;
            return Err(divergence_error(diverged, dir, config));
        }
        #[cfg(feature = "distributed")]
        if let Some(lost) = log.lock().expect("run log lock").lost.clone() {
            return Err(anyhow::anyhow!(
                "the other nodes stopped answering at epoch {}, step {} ({}): a node stopped or the network failed. This node stopped before that step's update; {}",
                lost.epoch,
                lost.step,
                lost.why,
                match lost.epoch > 1 {
                    true => format!(
                        "the last complete epoch is in {} (continue it on one machine with `zoo train --resume {}`)",
                        dir.join(format!("checkpoint/model-{}.mpk", lost.epoch - 1)).display(),
                        dir.display()
                    ),
                    false => "no epoch had finished".to_string(),
                }
            ));
        }
        // Every step's all-reduce is done: leave the collective before the test pass, so the
        // connections to the coordinator and the other nodes close cleanly.
        #[cfg(feature = "distributed")]
        if let Some(collective) = &collective {
            collective.leave();
        }
        let model = result.model.model;
        save_model(&model, dir)?;

        let test = evaluate(
            &model,
            &task,
            data.test,
            batcher,
            items_per_batch,
            device.inner(),
        );

        let log = log.lock().expect("run log lock");
        write_atomic(&dir.join(METRICS_FILE), metrics_csv(&log.rows).as_bytes())?;
        draw(dir, &log.rows, &test, &data.classes, |dir| match picture {
            Some(picture) => picture(&model, dir),
            None => Ok(()),
        });
        let train_seconds: Vec<f64> = log
            .rows
            .iter()
            .filter(|r| r.split == "train")
            .map(|r| r.seconds)
            .collect();
        let seconds_per_epoch =
            train_seconds.iter().sum::<f64>() / train_seconds.len().max(1) as f64;
        let last_valid = log.rows.iter().rev().find(|r| r.split == "valid");
        let summary = Summary {
            model: config.model.name.clone(),
            backend: self.target.backend.to_string(),
            device: self.target.device_name.clone(),
            dataset: data.dataset,
            tagging: TaggingSummary::from_tally(&test, &data.classes),
            classes: data.classes,
            epochs: config.train.epochs,
            train_samples,
            valid_samples,
            test_samples,
            test_accuracy: test.accuracy(),
            test_correct: test.correct,
            test_loss: test.mean_loss(),
            valid_accuracy: last_valid.and_then(|r| r.accuracy),
            valid_loss: last_valid.map_or(f64::NAN, |r| r.loss),
            seconds_per_epoch,
            samples_per_second: train_samples as f64 / seconds_per_epoch,
            total_seconds: self.run.started.elapsed().as_secs_f64(),
            parameters,
            seed: config.train.seed,
            zoo_version: env!("CARGO_PKG_VERSION").to_string(),
            peak_memory_mib: peak_memory_mib(),
            weights_sha256: weights_checksum(&model),
            devices: (!others.is_empty()).then_some(others.len() + 1),
            #[cfg(feature = "distributed")]
            nodes: self.run.node.as_ref().map(|n| n.nodes),
            #[cfg(not(feature = "distributed"))]
            nodes: None,
            #[cfg(feature = "distributed")]
            allreduce: collective.map(|c| {
                let stats = c.stats();
                crate::artifacts::AllReduceFigures {
                    steps: stats.calls,
                    ms_per_step: 1e3 * stats.seconds / stats.calls.max(1) as f64,
                    bytes_per_step: stats.bytes_per_call,
                }
            }),
            #[cfg(not(feature = "distributed"))]
            allreduce: None,
        };
        summary.write(dir)?;
        match follower {
            false => println!(
                "Trained in {:.1} s per epoch ({:.0} samples/s); summary in {}",
                summary.seconds_per_epoch,
                summary.samples_per_second,
                dir.join(crate::artifacts::SUMMARY_FILE).display()
            ),
            true => println!(
                "Trained in {:.1} s per epoch ({:.0} samples/s, all nodes together)",
                summary.seconds_per_epoch, summary.samples_per_second,
            ),
        }
        Ok(summary)
    }
}

/// The message of a run stopped by a NaN or infinite loss: where, what was kept, what to try.
fn divergence_error(d: Divergence, dir: &Path, config: &ExperimentConfig) -> anyhow::Error {
    let kept = if d.epoch > 1 {
        format!(
            "the weights of the last complete epoch are kept in {} (no model.mpk was written)",
            dir.join(format!("checkpoint/model-{}.mpk", d.epoch - 1))
                .display()
        )
    } else {
        "no epoch had finished, so no weights were kept".to_string()
    };
    let clip = match config.optimizer.grad_clip_norm {
        Some(norm) => format!("a tighter gradient clipping (grad_clip_norm is {norm})"),
        None => "gradient clipping (`grad_clip_norm = 1.0` under [optimizer] in a config file)"
            .to_string(),
    };
    anyhow::anyhow!(
        "training diverged: the loss became {} at epoch {}, step {}; training stopped before that step's update and {kept}. Usual remedies: a lower learning rate (--lr, now {:?}), {clip}, or another seed",
        d.loss,
        d.epoch,
        d.step,
        config.optimizer.lr
    )
}

/// Draws the run's pictures: the curves, the test set's confusion matrix (classifiers), and what
/// `picture` draws. A picture that cannot be drawn is a warning: the run's results stand.
fn draw(
    dir: &Path,
    rows: &[EpochRow],
    test: &Tally,
    classes: &[String],
    picture: impl FnOnce(&Path) -> anyhow::Result<()>,
) {
    let warn = |what: &str, result: anyhow::Result<()>| {
        if let Err(error) = result {
            eprintln!("warning: cannot draw {what}: {error:#}");
        }
    };
    warn(plots::CURVES_PNG, plots::curves(dir, rows));
    if !test.confusion.is_empty() {
        warn(
            plots::CONFUSION_PNG,
            plots::confusion(dir, &test.confusion, classes),
        );
    }
    warn("the model's picture", picture(dir));
}

/// Saves the trained weights as `model.mpk`, atomically.
pub(crate) fn save_model<B: Backend, M: Module<B>>(model: &M, dir: &Path) -> anyhow::Result<()> {
    model
        .clone()
        .save_file(dir.join(MODEL_FILE), &AtomicMpkRecorder::default())
        .with_context(|| format!("cannot save the model into {}", dir.display()))
}
