//! Training a model: burn-train's supervised learner inside the zoo's loop, then the run folder
//! (`config.toml`, checkpoints, `metrics.csv`, `model.mpk`, `summary.json`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::module::{AutodiffModule, Module};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::tensor::backend::{AutodiffBackend, DeviceOps};
use burn::train::{Learner, LearningComponentsMarker, SupervisedTraining, TrainingStrategy};

use super::artifacts::{
    metrics_csv, peak_memory_mib, weights_checksum, write_atomic, write_info_files,
    AllReduceFigures, EpochRow, Summary, TaggingSummary, CONFIG_FILE, METRICS_FILE, SUMMARY_FILE,
};
use super::eval::{answers, evaluate};
use super::save_model;
use crate::backend::{BackendJob, Placement, Target};
use crate::config::Experiment;
use crate::data::{DataSource, LoadContext, Picture, Splits, TaskBatcher};
use crate::learner::best::{best_epoch, checkpointing};
use crate::learner::checkpoint::{checkpoint_file, resume_point, AtomicMpkRecorder, ResumePoint};
use crate::learner::optim::{optimizer, ZooOptimizer};
use crate::learner::progress::{CsvMetricLogger, Divergence, ProgressPrinter, SharedLog};
use crate::learner::save_gate::{GatedCheckpointing, SaveGate};
use crate::learner::schedule::EpochDecay;
use crate::learner::strategy::TimedSingleDevice;
use crate::learner::trainee::{LossWatch, Trainee};
use crate::model::ZooModel;
use crate::parallel::node::NodeSpec;
use crate::parallel::shard::{Cut, ShardBatcher};
use crate::task::{Tally, Task};

/// What `zoo train` asks for, besides the experiment.
#[derive(Debug, Clone)]
pub struct FitRequest {
    /// The run folder (created, empty or holding an unfinished run).
    pub dir: PathBuf,
    /// Continue the unfinished run in `dir` from its last complete epoch instead of starting
    /// from epoch 1.
    pub resume: bool,
    /// When the command started (for `total_seconds`).
    pub started: Instant,
    /// The backend and device(s).
    pub placement: Placement,
    /// This process's place in a multi-node run, if it is one.
    pub node: Option<NodeSpec>,
}

/// A finished training run: what it wrote, and what the command line draws.
#[derive(Debug, Clone)]
pub struct Trained {
    /// `summary.json`, written.
    pub summary: Summary,
    /// The rows of `metrics.csv`.
    pub rows: Vec<EpochRow>,
    /// The test set's totals.
    pub test: Tally,
    /// What the data asks to draw of the trained model, if anything.
    pub picture: Option<Picture>,
}

/// The learner's components for model `M` on backend `B`.
type Components<B, M> = LearningComponentsMarker<
    B,
    EpochDecay,
    Train<B, M>,
    OptimizerAdaptor<ZooOptimizer<<B as AutodiffBackend>::InnerBackend>, Train<B, M>, B>,
>;

/// What the learner trains.
type Train<B, M> = Trainee<B, <M as ZooModel>::Module<B>, <M as ZooModel>::Task>;

/// The trained model, without autodiff.
type Inference<B, M> = <<M as ZooModel>::Module<B> as AutodiffModule<B>>::InnerModule;

/// Trains `experiment` as `request` says.
pub(crate) fn fit<M: ZooModel>(
    experiment: &Experiment<M>,
    request: FitRequest,
) -> anyhow::Result<Trained> {
    let placement = request.placement.clone();
    placement.run(FitJob {
        experiment,
        request,
    })
}

struct FitJob<'a, M: ZooModel> {
    experiment: &'a Experiment<M>,
    request: FitRequest,
}

impl<M: ZooModel> BackendJob for FitJob<'_, M> {
    type Output = Trained;

    fn run<B: AutodiffBackend>(self, device: B::Device, target: Target) -> anyhow::Result<Trained> {
        let FitJob {
            experiment,
            request,
        } = self;
        let run = RunState::<B, M>::prepare(experiment, &request, device, target)?;
        let (model, log, figures) = run.learn(&request)?;
        run.finish(&request, model, &log, figures)
    }
}

/// A run ready to train: its data, fresh model and where it resumes.
struct RunState<'a, B: AutodiffBackend, M: ZooModel> {
    experiment: &'a Experiment<M>,
    splits: Splits<M::Data>,
    model: M::Module<B>,
    device: B::Device,
    target: Target,
    resume: Option<ResumePoint>,
}

impl<'a, B: AutodiffBackend, M: ZooModel> RunState<'a, B, M> {
    /// Seeds the backend, writes `config.toml`, reads the data, builds the model and prints
    /// what is about to run.
    fn prepare(
        experiment: &'a Experiment<M>,
        request: &FitRequest,
        device: B::Device,
        target: Target,
    ) -> anyhow::Result<Self> {
        let (dir, train) = (&request.dir, &experiment.train);
        B::seed(&device, train.seed);
        zoo_models::nn::fused::set_enabled(train.fused);
        write_atomic(&dir.join(CONFIG_FILE), experiment.to_toml().as_bytes())?;
        let resume = match request.resume {
            true => Some(resume_point(dir)?),
            false => None,
        };
        let context = LoadContext {
            run_dir: dir,
            seed: train.seed,
            batch_size: train.batch_size,
        };
        let splits = experiment.data.load(&context)?;
        write_info_files(&experiment.data, &splits.info, dir)?;
        let model = M::init::<B>(&experiment.model, &splits.info, &device);
        let run = Self {
            experiment,
            splits,
            model,
            device,
            target,
            resume,
        };
        run.announce(request);
        Ok(run)
    }

    /// The lines a run starts with: model, data, settings, folder, resumption.
    fn announce(&self, request: &FitRequest) {
        let (experiment, [train, valid, test]) = (self.experiment, self.splits.samples);
        let (settings, optimizer) = (&experiment.train, &experiment.optimizer);
        println!(
            "Training {} ({} parameters) on {} ({}): {} {train} train / {valid} valid / {test} test, {} epochs, batch {}, {} lr {}",
            experiment.name, self.model.num_params(), self.target.backend, self.target.device_name,
            self.splits.dataset, settings.epochs, settings.batch_size, optimizer.name, optimizer.lr,
        );
        match request.node.as_ref().is_some_and(|n| n.rank != 0) {
            false => println!("Run folder: {}", request.dir.display()),
            // Its folder is a scratch one, deleted at the end (the command line keeps its log).
            true => println!("Run folder: rank 0's; this node writes only its node log"),
        }
        match &self.resume {
            Some(point) if point.epoch > 0 => println!(
                "Resuming after epoch {} of {}: its weights, optimizer state and metrics are kept; epoch {} sees the batches it would have seen",
                point.epoch, settings.epochs, point.epoch + 1
            ),
            Some(_) => println!("Resuming: no epoch had finished, so training starts from epoch 1"),
            None => {}
        }
    }

    /// Trains every epoch; the trained model (for inference), the run's log and the all-reduce
    /// figures of a multi-node run.
    fn learn(
        &self,
        request: &FitRequest,
    ) -> anyhow::Result<(Inference<B, M>, SharedLog, Option<AllReduceFigures>)> {
        let experiment = self.experiment;
        let (settings, dir) = (&experiment.train, &request.dir);
        let per_batch = experiment.data.items_per_batch(settings.batch_size);
        let clip = experiment.optimizer.grad_clip_norm.map(|norm| norm as f32);
        let watch = LossWatch::default();
        let trainee = Trainee::new(self.model.clone(), M::Task::default(), clip)
            .with_loss_watch(watch.clone());
        let steps_per_epoch = self.splits.train.len().div_ceil(per_batch.max(1));
        let learner = Learner::new(
            trainee,
            optimizer::<B, Train<B, M>>(&experiment.optimizer),
            EpochDecay::new(
                experiment.optimizer.lr,
                experiment.optimizer.lr_decay,
                steps_per_epoch,
            ),
        );
        let sharing = Sharing::<B>::join(request, &self.target, per_batch, &self.device)?;
        let batcher = TaskBatcher::<M::Data, M::Task>::new(experiment.data.clone());
        let total = self.splits.train.len();
        let train_set = Cut::new(self.splits.train.clone(), total, sharing.parts);
        // One loader thread: batches arrive in the same order every run, so a seed fixes the
        // metrics. Every node and device draws the same global batches and batches only its own
        // slice, on itself.
        let loader = |slice: usize, on: &B::Device, set| {
            DataLoaderBuilder::new(ShardBatcher::new(batcher.clone(), sharing.parts, slice))
                .batch_size(per_batch)
                .shuffle(settings.seed)
                .set_device(on.clone())
                .build(set)
        };
        let other_loaders: Vec<_> = (sharing.others.iter().enumerate())
            .map(|(i, other)| (other.clone(), loader(i + 1, other, train_set.clone())))
            .collect();
        let train_loader = loader(sharing.rank, &self.device, train_set);
        let valid_loader = DataLoaderBuilder::new(batcher.clone())
            .batch_size(per_batch)
            .set_device(self.device.inner().clone())
            .build(self.splits.valid.clone());
        let log = SharedLog::default();
        if let Some(point) = &self.resume {
            log.lock().expect("run log lock").rows = point.rows.clone();
        }
        let saves = SaveGate::default();
        let strategy = TimedSingleDevice::<Components<B, M>>::new(
            self.device.clone(),
            log.clone(),
            watch,
            settings.seed,
        )
        .with_other_devices(other_loaders)
        .with_save_gate(saves.clone());
        #[cfg(feature = "distributed")]
        let strategy = strategy.with_collective(sharing.collective.clone());
        let mut training = SupervisedTraining::new(dir, train_loader, valid_loader)
            .with_application_logger(None)
            .with_metric_logger(CsvMetricLogger::new(dir.join(METRICS_FILE), log.clone()))
            .renderer(ProgressPrinter::new(settings.log_interval))
            .with_file_checkpointer(AtomicMpkRecorder::with_gate(saves.clone()))
            .with_checkpointing_strategy(GatedCheckpointing::new(
                checkpointing(settings.keep_best, <M::Task as Task>::SCORED_BY_ACCURACY),
                saves,
            ))
            .with_training_strategy(TrainingStrategy::Custom(Arc::new(strategy)))
            .num_epochs(settings.epochs);
        if let Some(point) = self.resume.as_ref().filter(|p| p.epoch > 0) {
            // burn-train restores model, optimizer and scheduler of that epoch, then runs the rest.
            training = training.checkpoint(point.epoch);
        }
        let result = M::Task::metrics(training).launch(learner);
        self.stopped_early(&log, dir)?;
        let trainee = match settings.keep_best {
            true => self.keep_best(result.model, &log, dir)?,
            false => result.model,
        };
        Ok((trainee.model, log, sharing.finish()))
    }

    /// `trainee` with the weights of the best validation epoch (`[train] keep_best`), which the
    /// log then names.
    fn keep_best<T: Module<B::InnerBackend>>(
        &self,
        trainee: T,
        log: &SharedLog,
        dir: &Path,
    ) -> anyhow::Result<T> {
        let mut log = log.lock().expect("run log lock");
        let Some(best) = best_epoch(&log.rows, dir).cloned() else {
            return Ok(trainee);
        };
        let last = log
            .rows
            .iter()
            .map(|row| row.epoch)
            .max()
            .unwrap_or(best.epoch);
        let path = checkpoint_file(dir, "model", best.epoch);
        let trainee = super::load_weights(trainee, &path, self.device.inner())
            .context("cannot load the best epoch's weights")?;
        let figure = match best.accuracy {
            Some(accuracy) => format!("accuracy {:.2}%", 100.0 * accuracy),
            None => format!("loss {:.4}", best.loss),
        };
        println!(
            "Keeping the weights of epoch {} of {last}: the best validation {figure} (keep_best)",
            best.epoch
        );
        log.kept_epoch = Some(best.epoch);
        Ok(trainee)
    }

    /// The error of a run that stopped before its last epoch: a diverged loss, or (multi-node)
    /// lost nodes.
    fn stopped_early(&self, log: &SharedLog, dir: &Path) -> anyhow::Result<()> {
        let log = log.lock().expect("run log lock");
        if let Some(diverged) = log.diverged {
            write_atomic(&dir.join(METRICS_FILE), metrics_csv(&log.rows).as_bytes())?;
            return Err(divergence_error(diverged, dir, self.experiment));
        }
        if let Some(lost) = log.lost.clone() {
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
        Ok(())
    }

    /// Saves the model, evaluates it on the test set, writes `metrics.csv` and `summary.json`.
    fn finish(
        self,
        request: &FitRequest,
        model: Inference<B, M>,
        log: &SharedLog,
        allreduce: Option<AllReduceFigures>,
    ) -> anyhow::Result<Trained> {
        let (experiment, dir) = (self.experiment, &request.dir);
        save_model(&model, dir)?;
        let data = &experiment.data;
        let per_batch = data.items_per_batch(experiment.train.batch_size);
        let device = self.device.inner();
        let started = Instant::now();
        let test = evaluate::<_, M::Task, _, _>(
            &model,
            data,
            self.splits.test.clone(),
            per_batch,
            device,
            None,
        );
        let test_seconds = started.elapsed().as_secs_f64();
        let (rows, kept) = {
            let log = log.lock().expect("run log lock");
            (log.rows.clone(), log.kept_epoch)
        };
        write_atomic(&dir.join(METRICS_FILE), metrics_csv(&rows).as_bytes())?;
        let picture = data.probe(&self.splits).map(|probe| {
            (probe.draw)(answers::<_, M::Task, _, _>(
                &model,
                data,
                probe.items,
                per_batch,
                device,
            ))
        });
        let summary = self.summary(
            request,
            &model,
            (&rows, kept),
            (&test, test_seconds),
            allreduce,
        );
        summary.write(dir)?;
        if let Some(tagging) = &summary.tagging {
            print!("{}", tagging.table());
        }
        match request.node.as_ref().is_some_and(|n| n.rank != 0) {
            false => println!(
                "Trained in {:.1} s per epoch ({:.0} samples/s); summary in {}",
                summary.seconds_per_epoch,
                summary.samples_per_second,
                dir.join(SUMMARY_FILE).display()
            ),
            true => println!(
                "Trained in {:.1} s per epoch ({:.0} samples/s, all nodes together)",
                summary.seconds_per_epoch, summary.samples_per_second,
            ),
        }
        Ok(Trained {
            summary,
            rows,
            test,
            picture,
        })
    }

    /// The run's `summary.json`.
    fn summary<N: Module<B::InnerBackend>>(
        &self,
        request: &FitRequest,
        model: &N,
        (rows, kept): (&[EpochRow], Option<usize>),
        (test, test_seconds): (&Tally, f64),
        allreduce: Option<AllReduceFigures>,
    ) -> Summary {
        let experiment = self.experiment;
        let classes = experiment.data.classes(&self.splits.info);
        let train: Vec<f64> = (rows.iter().filter(|r| r.split == "train"))
            .map(|r| r.seconds)
            .collect();
        let seconds_per_epoch = train.iter().sum::<f64>() / train.len().max(1) as f64;
        let last_valid = (rows.iter().rev())
            .find(|r| r.split == "valid" && kept.is_none_or(|epoch| r.epoch == epoch));
        let [train_samples, valid_samples, test_samples] = self.splits.samples;
        Summary {
            model: experiment.name.clone(),
            backend: self.target.backend.to_string(),
            device: self.target.device_name.clone(),
            dataset: self.splits.dataset.clone(),
            tagging: TaggingSummary::from_tally(test, &classes),
            classes,
            epochs: experiment.train.epochs,
            train_samples,
            valid_samples,
            test_samples,
            test_accuracy: test.accuracy(),
            test_correct: test.correct,
            test_loss: test.mean_loss(),
            valid_accuracy: last_valid.and_then(|r| r.accuracy),
            valid_loss: last_valid.map_or(f64::NAN, |r| r.loss),
            kept_epoch: kept,
            seconds_per_epoch,
            samples_per_second: train_samples as f64 / seconds_per_epoch,
            total_seconds: request.started.elapsed().as_secs_f64(),
            test_seconds: Some(test_seconds),
            parameters: model.num_params(),
            seed: experiment.train.seed,
            zoo_version: env!("CARGO_PKG_VERSION").to_string(),
            peak_memory_mib: peak_memory_mib(),
            weights_sha256: weights_checksum(model),
            devices: (!self.target.others.is_empty()).then_some(self.target.others.len() + 1),
            nodes: request.node.as_ref().map(|n| n.nodes),
            allreduce,
        }
    }
}

/// How a run shares each global batch: over several devices of this machine (`--devices`) or
/// over the nodes of a multi-node run (`--nodes`), each computing its slice.
struct Sharing<B: AutodiffBackend> {
    /// Slices of every global batch (1: the whole batch here).
    parts: usize,
    /// This process's slice (its node's rank; the first device's on several devices).
    rank: usize,
    /// The other devices of this machine, each batching its own slice.
    others: Vec<B::Device>,
    /// The collective of a multi-node run.
    #[cfg(feature = "distributed")]
    collective: Option<Arc<crate::parallel::distributed::Collective>>,
}

impl<B: AutodiffBackend> Sharing<B> {
    /// Joins the nodes of `request` or lists the devices of `target`, checking that the global
    /// batch of `per_batch` items splits evenly.
    fn join(
        request: &FitRequest,
        target: &Target,
        per_batch: usize,
        device: &B::Device,
    ) -> anyhow::Result<Self> {
        let others: Vec<B::Device> = (target.others.iter())
            .map(|id| <B::Device as burn::tensor::backend::Device>::from_id(*id))
            .collect();
        if !others.is_empty() {
            let devices = others.len() + 1;
            split_batch(per_batch, devices, "device")?;
            println!(
                "Devices: {devices} ({}, {}); batch {} on each of the global {per_batch}",
                target.device_name,
                target.other_names.join(", "),
                per_batch / devices
            );
            return Ok(Self::with(devices, 0, others, None));
        }
        let Some(node) = &request.node else {
            return Ok(Self::with(1, 0, others, None));
        };
        let nodes = node.nodes as usize;
        split_batch(per_batch, nodes, "node")?;
        #[cfg(feature = "distributed")]
        let collective = Some(crate::parallel::distributed::Collective::join::<
            B::InnerBackend,
        >(node.clone(), device.inner().clone())?);
        #[cfg(not(feature = "distributed"))]
        let collective = {
            let _ = device;
            None
        };
        println!(
            "Node {} of {}: joined through the coordinator at {}; batch {} of the global {per_batch}",
            node.rank,
            node.nodes,
            node.coordinator,
            per_batch / nodes
        );
        Ok(Self::with(nodes, node.rank as usize, others, collective))
    }

    #[cfg(feature = "distributed")]
    fn with(
        parts: usize,
        rank: usize,
        others: Vec<B::Device>,
        collective: Option<Arc<crate::parallel::distributed::Collective>>,
    ) -> Self {
        Self {
            parts,
            rank,
            others,
            collective,
        }
    }

    #[cfg(not(feature = "distributed"))]
    fn with(parts: usize, rank: usize, others: Vec<B::Device>, _collective: Option<()>) -> Self {
        Self {
            parts,
            rank,
            others,
        }
    }

    /// Leaves the collective (every step's all-reduce is done, so the connections close
    /// cleanly before the test pass) and returns what the all-reduces cost.
    fn finish(&self) -> Option<AllReduceFigures> {
        #[cfg(feature = "distributed")]
        if let Some(collective) = &self.collective {
            collective.leave();
            let stats = collective.stats();
            return Some(AllReduceFigures {
                steps: stats.calls,
                ms_per_step: 1e3 * stats.seconds / stats.calls.max(1) as f64,
                bytes_per_step: stats.bytes_per_call,
            });
        }
        None
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

/// The message of a run stopped by a NaN or infinite loss: where, what was kept, what to try.
fn divergence_error<M: ZooModel>(
    d: Divergence,
    dir: &Path,
    experiment: &Experiment<M>,
) -> anyhow::Error {
    let kept = if d.epoch > 1 {
        format!(
            "the weights of the last complete epoch are kept in {} (no model.mpk was written)",
            dir.join(format!("checkpoint/model-{}.mpk", d.epoch - 1))
                .display()
        )
    } else {
        "no epoch had finished, so no weights were kept".to_string()
    };
    let clip = match experiment.optimizer.grad_clip_norm {
        Some(norm) => format!("a tighter gradient clipping (grad_clip_norm is {norm})"),
        None => "gradient clipping (`grad_clip_norm = 1.0` under [optimizer] in a config file)"
            .to_string(),
    };
    anyhow::anyhow!(
        "training diverged: the loss became {} at epoch {}, step {}; training stopped before that step's update and {kept}. Usual remedies: a lower learning rate (--lr, now {:?}), {clip}, or another seed",
        d.loss,
        d.epoch,
        d.step,
        experiment.optimizer.lr
    )
}
