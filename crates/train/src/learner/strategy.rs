//! The zoo's training loop inside burn-train: burn-train's single-device loop, plus exact timing of
//! each training and validation pass (the device is synchronized before the clock stops), and
//! what makes a resumed run continue exactly where the killed one was: the data order of each
//! epoch and the backend's random numbers depend on the seed and the epoch alone.

use std::time::Instant;

use burn::data::dataloader::Progress;
use burn::module::AutodiffModule;
use burn::optim::GradientsAccumulator;
use burn::prelude::Backend;
use burn::tensor::backend::DeviceOps;
use burn::tensor::Device;
use burn::train::train::MultiDevicesTrainStep;
use burn::train::Interrupter;
use burn::train::{
    EventProcessorTraining, InferenceStep, Learner, LearnerEvent, LearningComponentsTypes,
    SupervisedLearningStrategy, SupervisedTrainingEventProcessor, TrainLoader, TrainingBackend,
    TrainingComponents, TrainingItem, TrainingModel, ValidLoader,
};

use super::checkpoint::epoch_seed;
use super::clip::scale_gradients;

/// The thread that runs a multi-device training loop, while it runs (see [`DeviceWorkerGuard`]).
static MULTI_DEVICE_LOOP: std::sync::Mutex<Option<std::thread::ThreadId>> =
    std::sync::Mutex::new(None);

/// While it lives, a panic on any thread other than the training loop's (burn-train's device
/// workers: a kernel that fails, a GPU out of memory) ends the process with one `error:` line and
/// exit status 1. Without it the loop would wait for that worker's answer forever:
/// `MultiDevicesTrainStep` receives with no timeout and the other workers keep its channel open.
/// Checkpoints are written whole or not at all, so the last one stays usable with `--resume`.
struct DeviceWorkerGuard;

impl DeviceWorkerGuard {
    fn new() -> Self {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let training = *MULTI_DEVICE_LOOP.lock().unwrap_or_else(|e| e.into_inner());
                match training {
                    Some(main) if main != std::thread::current().id() => {
                        let text = crate::backend::panic_text(info.payload())
                            .unwrap_or_else(|| "a panic".into());
                        eprintln!(
                            "error: training on several devices (--devices) stopped: a device \
                             failed: {}; the checkpoints of finished epochs are kept (resume with \
                             `zoo train --resume <run folder>`), or train on one device (--device)",
                            text.replace('\n', " ")
                        );
                        std::process::exit(1);
                    }
                    _ => previous(info),
                }
            }));
        });
        *MULTI_DEVICE_LOOP.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(std::thread::current().id());
        DeviceWorkerGuard
    }
}

impl Drop for DeviceWorkerGuard {
    fn drop(&mut self) {
        *MULTI_DEVICE_LOOP.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(feature = "distributed")]
use super::progress::NodeLost;
use super::progress::{Divergence, SharedLog};
use super::save_gate::SaveGate;
use super::trainee::LossWatch;

/// One device; times every pass into the run log before announcing its end, and stops at the
/// first step whose loss `watch` reports as NaN or infinite (recorded in the log), before that
/// step's update and without a checkpoint of the epoch.
pub struct TimedSingleDevice<LC: LearningComponentsTypes> {
    device: Device<TrainingBackend<LC>>,
    log: SharedLog,
    watch: LossWatch,
    seed: u64,
    /// The other devices of a multi-device run (`--devices`), each with the loader of its slice
    /// of every global batch; empty on one device.
    others: Vec<(Device<TrainingBackend<LC>>, TrainLoader<LC>)>,
    /// What each checkpoint must have read before the next epoch starts.
    saves: SaveGate,
    #[cfg(feature = "distributed")]
    collective: Option<std::sync::Arc<crate::parallel::distributed::Collective>>,
}

impl<LC: LearningComponentsTypes> TimedSingleDevice<LC> {
    /// Trains on `device`, recording pass durations and any divergence in `log`; `seed` is the
    /// run's seed (each epoch reseeds the backend from it).
    pub fn new(
        device: Device<TrainingBackend<LC>>,
        log: SharedLog,
        watch: LossWatch,
        seed: u64,
    ) -> Self {
        Self {
            device,
            log,
            watch,
            seed,
            others: Vec::new(),
            saves: SaveGate::default(),
            #[cfg(feature = "distributed")]
            collective: None,
        }
    }

    /// Waits after every checkpoint until `saves` reports its records read from the device
    /// (the gate given to the checkpointing strategy and the recorder).
    pub fn with_save_gate(mut self, saves: SaveGate) -> Self {
        self.saves = saves;
        self
    }

    /// Trains on `others` too: at every step each device computes the gradients of its slice of
    /// the global batch on its own copy of the model (burn-train's `MultiDevicesTrainStep`, one
    /// thread per device); their mean, on the main device, makes the one update.
    pub fn with_other_devices(
        mut self,
        others: Vec<(Device<TrainingBackend<LC>>, TrainLoader<LC>)>,
    ) -> Self {
        self.others = others;
        self
    }

    fn devices(&self) -> Vec<Device<TrainingBackend<LC>>> {
        std::iter::once(self.device.clone())
            .chain(self.others.iter().map(|(device, _)| device.clone()))
            .collect()
    }

    /// Averages every step's gradients with the other nodes of `collective` before the update.
    #[cfg(feature = "distributed")]
    pub fn with_collective(
        mut self,
        collective: Option<std::sync::Arc<crate::parallel::distributed::Collective>>,
    ) -> Self {
        self.collective = collective;
        self
    }

    /// One training epoch on several devices; `true` when the run must stop (divergence).
    #[allow(clippy::too_many_arguments)]
    fn multi_device_epoch(
        &self,
        step: &MultiDevicesTrainStep<LC>,
        loaders: &[TrainLoader<LC>],
        learner: &mut Learner<LC>,
        processor: &mut SupervisedTrainingEventProcessor<LC>,
        interrupter: &Interrupter,
        epoch: usize,
        global: &Progress,
    ) -> bool {
        let devices = loaders.len();
        let mut batches: Vec<_> = loaders.iter().map(|loader| loader.iter()).collect();
        let mut iteration = 0;
        loop {
            let (outputs, progress) = step.step(&mut batches, &learner.model());
            if outputs.is_empty() {
                return false;
            }
            iteration += 1;
            learner.lr_step();
            if self.diverged(epoch, iteration) {
                return true;
            }
            // Every loader walks the same global batches: progress counts them once.
            let progress = Progress::new(
                progress.items_processed / devices,
                progress.items_total / devices,
            );
            let model = learner.model();
            let mut sum = GradientsAccumulator::<TrainingModel<LC>>::new();
            let mut items = Vec::with_capacity(outputs.len());
            let shares = outputs.len();
            for output in outputs {
                sum.accumulate(&model, output.output.grads.to_device(&self.device, &model));
                items.push(output.output.item);
            }
            // The mean of the devices' mean gradients: the global batch's mean gradient.
            let mut grads = sum.grads();
            scale_gradients::<TrainingBackend<LC>, _>(&model, &mut grads, 1.0 / shares as f32);
            learner.optimizer_step(grads);
            let last = items.len();
            for (k, item) in items.into_iter().enumerate() {
                // Each device's share feeds the metrics; the step is printed once, at its last.
                let item = TrainingItem::new(
                    item,
                    progress.clone(),
                    global.clone(),
                    (k + 1 == last).then_some(iteration),
                    Some(learner.lr_current()),
                );
                processor.process_train(LearnerEvent::ProcessedItem(item));
            }
            if interrupter.should_stop() {
                return false;
            }
        }
    }

    /// Records the divergence a training step of `epoch` reported, if any: `true` when the run
    /// must stop (before that step's update).
    fn diverged(&self, epoch: usize, step: usize) -> bool {
        let Some(loss) = self.watch.take() else {
            return false;
        };
        self.log.lock().expect("run log lock").diverged = Some(Divergence { epoch, step, loss });
        true
    }

    /// One training epoch on one device (a node of a multi-node run averages each step's
    /// gradients with the other nodes'); `true` when the run must stop (divergence, lost nodes).
    fn single_device_epoch(
        &self,
        loader: &TrainLoader<LC>,
        learner: &mut Learner<LC>,
        processor: &mut SupervisedTrainingEventProcessor<LC>,
        interrupter: &Interrupter,
        epoch: usize,
        global: &Progress,
    ) -> bool {
        let mut batches = loader.iter();
        let mut iteration = 0;
        while let Some(batch) = batches.next() {
            iteration += 1;
            learner.lr_step();
            let progress = batches.progress();
            let output = learner.train_step(batch);
            if self.diverged(epoch, iteration) {
                return true;
            }
            #[allow(unused_mut)]
            let mut grads = output.grads;
            #[cfg(feature = "distributed")]
            if let Some(collective) = &self.collective {
                grads = match collective.average(&learner.model(), grads) {
                    Ok(grads) => grads,
                    Err(why) => {
                        self.log.lock().expect("run log lock").lost = Some(NodeLost {
                            epoch,
                            step: iteration,
                            why,
                        });
                        return true;
                    }
                };
            }
            learner.optimizer_step(grads);
            let item = TrainingItem::new(
                output.item,
                progress,
                global.clone(),
                Some(iteration),
                Some(learner.lr_current()),
            );
            processor.process_train(LearnerEvent::ProcessedItem(item));
            if interrupter.should_stop() {
                break;
            }
        }
        false
    }

    /// The validation pass after `epoch`, timed into the run log.
    fn valid_epoch(
        &self,
        loader: &ValidLoader<LC>,
        learner: &Learner<LC>,
        processor: &mut SupervisedTrainingEventProcessor<LC>,
        epoch: usize,
        global: &Progress,
    ) {
        let started = Instant::now();
        let model = learner.model().valid();
        let mut batches = loader.iter();
        let mut iteration = 0;
        while let Some(batch) = batches.next() {
            iteration += 1;
            let progress = batches.progress();
            let item = TrainingItem::new(
                model.step(batch),
                progress,
                global.clone(),
                Some(iteration),
                None,
            );
            processor.process_valid(LearnerEvent::ProcessedItem(item));
        }
        self.record(epoch, "valid", started);
        processor.process_valid(LearnerEvent::EndEpoch(epoch));
    }

    /// Waits until the metric logger has written `epoch`'s validation row. burn-train hands the
    /// epoch's end to its event processor's thread, which passes it on to the metric store's:
    /// a checkpointing strategy that asks the store for the best epoch (`keep_best`) straight
    /// away could be answered before this epoch's figures arrive, and rank the epochs before
    /// it only (which kept a later epoch of equal accuracy on one machine in some runs). The
    /// store answers in order, so once the row is written it knows the epoch.
    fn await_valid_row(&self, epoch: usize) {
        let written = || {
            let log = self.log.lock().expect("run log lock");
            log.rows
                .iter()
                .any(|r| r.epoch == epoch && r.split == "valid")
        };
        let started = Instant::now();
        while !written() && started.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn record(&self, epoch: usize, split: &'static str, started: Instant) {
        // GPU backends queue work: wait for it so the clock measures the computation.
        for device in self.devices() {
            let _ = <TrainingBackend<LC> as Backend>::sync(&device);
        }
        let seconds = started.elapsed().as_secs_f64();
        self.log
            .lock()
            .expect("run log lock")
            .seconds
            .insert((epoch, split), seconds);
    }
}

impl<LC: LearningComponentsTypes> SupervisedLearningStrategy<LC> for TimedSingleDevice<LC> {
    fn fit(
        &self,
        components: TrainingComponents<LC>,
        mut learner: Learner<LC>,
        train_loader: TrainLoader<LC>,
        valid_loader: ValidLoader<LC>,
        starting_epoch: usize,
    ) -> (TrainingModel<LC>, SupervisedTrainingEventProcessor<LC>) {
        let train_loader = train_loader.to_device(&self.device);
        let valid_loader = valid_loader.to_device(self.device.inner());
        learner.fork(&self.device);
        let mut processor = components.event_processor;
        let mut checkpointer = components.checkpointer;
        let interrupter = components.interrupter;

        // The loader reshuffles at each `iter()`, drawing from one generator seeded once: a run
        // resumed after epoch N draws (and drops) the N orders the killed run used, so epoch N+1
        // sees the batches it would have seen.
        // `to_device` forks the loader's generator: the other devices' loaders go through it too,
        // or their shuffles would differ from the first device's and the slices of a global batch
        // would overlap (seen on two lavapipe devices: another epoch-1 loss than one device's).
        let loaders: Vec<TrainLoader<LC>> = std::iter::once(train_loader.clone())
            .chain(
                self.others
                    .iter()
                    .map(|(device, loader)| loader.to_device(device)),
            )
            .collect();
        for _ in 1..starting_epoch {
            for loader in &loaders {
                drop(loader.iter());
            }
        }
        let multi = (!self.others.is_empty()).then(|| {
            (
                DeviceWorkerGuard::new(),
                MultiDevicesTrainStep::<LC>::new(&self.devices()),
            )
        });
        for epoch in starting_epoch..=components.num_epochs {
            let global = Progress::new(epoch, components.num_epochs);
            for device in self.devices() {
                <TrainingBackend<LC> as Backend>::seed(&device, epoch_seed(self.seed, epoch));
            }

            let started = Instant::now();
            if let Some((_, multi)) = &multi {
                let stopped = self.multi_device_epoch(
                    multi,
                    &loaders,
                    &mut learner,
                    &mut processor,
                    &interrupter,
                    epoch,
                    &global,
                );
                if stopped {
                    return (learner.model(), processor);
                }
            } else if self.single_device_epoch(
                &train_loader,
                &mut learner,
                &mut processor,
                &interrupter,
                epoch,
                &global,
            ) {
                return (learner.model(), processor);
            }
            self.record(epoch, "train", started);
            processor.process_train(LearnerEvent::EndEpoch(epoch));
            if interrupter.should_stop() {
                break;
            }

            self.valid_epoch(&valid_loader, &learner, &mut processor, epoch, &global);

            if let Some(checkpointer) = &mut checkpointer {
                self.await_valid_row(epoch);
                checkpointer.checkpoint(&learner, epoch, &components.event_store);
                self.saves.wait();
            }
        }
        (learner.model(), processor)
    }
}
