//! The zoo's training loop inside burn-train: burn-train's single-device loop, plus exact timing of
//! each training and validation pass (the device is synchronized before the clock stops), and
//! what makes a resumed run continue exactly where the killed one was: the data order of each
//! epoch and the backend's random numbers depend on the seed and the epoch alone.

use std::time::Instant;

use burn::data::dataloader::Progress;
use burn::module::AutodiffModule;
use burn::prelude::Backend;
use burn::tensor::backend::DeviceOps;
use burn::tensor::Device;
use burn::train::{
    EventProcessorTraining, InferenceStep, Learner, LearnerEvent, LearningComponentsTypes,
    SupervisedLearningStrategy, SupervisedTrainingEventProcessor, TrainLoader, TrainingBackend,
    TrainingComponents, TrainingItem, TrainingModel, ValidLoader,
};

use crate::checkpoint::epoch_seed;
#[cfg(feature = "distributed")]
use crate::progress::NodeLost;
use crate::progress::{Divergence, SharedLog};
use crate::task::LossWatch;

/// One device; times every pass into the run log before announcing its end, and stops at the
/// first step whose loss `watch` reports as NaN or infinite (recorded in the log), before that
/// step's update and without a checkpoint of the epoch.
pub struct TimedSingleDevice<LC: LearningComponentsTypes> {
    device: Device<TrainingBackend<LC>>,
    log: SharedLog,
    watch: LossWatch,
    seed: u64,
    #[cfg(feature = "distributed")]
    collective: Option<std::sync::Arc<crate::distributed::Collective>>,
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
            #[cfg(feature = "distributed")]
            collective: None,
        }
    }

    /// Averages every step's gradients with the other nodes of `collective` before the update.
    #[cfg(feature = "distributed")]
    pub fn with_collective(
        mut self,
        collective: Option<std::sync::Arc<crate::distributed::Collective>>,
    ) -> Self {
        self.collective = collective;
        self
    }

    fn record(&self, epoch: usize, split: &'static str, started: Instant) {
        // GPU backends queue work: wait for it so the clock measures the computation.
        let _ = <TrainingBackend<LC> as Backend>::sync(&self.device);
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
        for _ in 1..starting_epoch {
            drop(train_loader.iter());
        }
        for epoch in starting_epoch..=components.num_epochs {
            let global = Progress::new(epoch, components.num_epochs);
            <TrainingBackend<LC> as Backend>::seed(&self.device, epoch_seed(self.seed, epoch));

            let started = Instant::now();
            let mut batches = train_loader.iter();
            let mut iteration = 0;
            while let Some(batch) = batches.next() {
                iteration += 1;
                learner.lr_step();
                let progress = batches.progress();
                let output = learner.train_step(batch);
                if let Some(loss) = self.watch.take() {
                    self.log.lock().expect("run log lock").diverged = Some(Divergence {
                        epoch,
                        step: iteration,
                        loss,
                    });
                    return (learner.model(), processor);
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
                            return (learner.model(), processor);
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
            self.record(epoch, "train", started);
            processor.process_train(LearnerEvent::EndEpoch(epoch));
            if interrupter.should_stop() {
                break;
            }

            let started = Instant::now();
            let model = learner.model().valid();
            let mut batches = valid_loader.iter();
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

            if let Some(checkpointer) = &mut checkpointer {
                checkpointer.checkpoint(&learner, epoch, &components.event_store);
            }
        }
        (learner.model(), processor)
    }
}
