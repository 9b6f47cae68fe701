//! `[optimizer] lr_decay`: the learning rate falls by a factor after every epoch (1, the default,
//! keeps it constant), as `torch.optim.lr_scheduler.ExponentialLR` stepped once an epoch does.

use burn::lr_scheduler::LrScheduler;
use burn::prelude::Backend;

/// The learning rate of step `s`: `lr * decay^(s / steps_per_epoch)`, the epoch's number
/// counted from 0. Its record is the steps taken, so a resumed run goes on at the same rate.
#[derive(Debug, Clone)]
pub struct EpochDecay {
    lr: f64,
    decay: f64,
    steps_per_epoch: usize,
    steps: usize,
}

impl EpochDecay {
    /// Starts at `lr`, times `decay` after each epoch of `steps_per_epoch` steps.
    pub fn new(lr: f64, decay: f64, steps_per_epoch: usize) -> Self {
        Self {
            lr,
            decay,
            steps_per_epoch: steps_per_epoch.max(1),
            steps: 0,
        }
    }
}

impl LrScheduler for EpochDecay {
    type Record<B: Backend> = usize;

    fn step(&mut self) -> f64 {
        let epoch = self.steps / self.steps_per_epoch;
        self.steps += 1;
        if self.decay == 1.0 {
            return self.lr;
        }
        self.lr * self.decay.powi(epoch.min(i32::MAX as usize) as i32)
    }

    fn to_record<B: Backend>(&self) -> usize {
        self.steps
    }

    fn load_record<B: Backend>(self, steps: usize) -> Self {
        Self { steps, ..self }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;

    #[test]
    fn the_rate_falls_after_each_epoch_and_resumes_where_it_was() {
        let mut schedule = EpochDecay::new(0.01, 0.5, 2);
        let rates: Vec<f64> = (0..6).map(|_| schedule.step()).collect();
        assert_eq!(rates, [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]);
        let record = LrScheduler::to_record::<NdArray>(&schedule);
        let mut resumed = EpochDecay::new(0.01, 0.5, 2).load_record::<NdArray>(record);
        assert_eq!(resumed.step(), 0.00125);
        let mut constant = EpochDecay::new(0.004, 1.0, 3);
        assert!((0..10).all(|_| constant.step() == 0.004));
    }
}
