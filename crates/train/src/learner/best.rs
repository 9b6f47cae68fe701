//! `[train] keep_best = true`: the run keeps the weights of the epoch with the best validation
//! figure (highest accuracy; lowest loss for a task without one), not the last epoch's: early
//! stopping on the held-out split, decided after every epoch. Its checkpoint is kept beside
//! the last two (which resuming needs) until a better epoch replaces it.

use std::path::Path;

use burn::train::checkpoint::{
    CheckpointingAction, CheckpointingStrategy, ComposedCheckpointingStrategy, KeepLastNCheckpoints,
};
use burn::train::metric::store::{Aggregate, Direction, EventStoreClient, Split};

use super::checkpoint::checkpoint_file;
use super::progress::{ACCURACY, LOSS};
use crate::run::artifacts::EpochRow;

/// Checkpoints burn-train keeps: the last two epochs', and, with `keep_best`, the best one's
/// by validation accuracy (`accuracy`) or loss.
pub(crate) fn checkpointing(keep_best: bool, accuracy: bool) -> Box<dyn CheckpointingStrategy> {
    let last = KeepLastNCheckpoints::new(2);
    match keep_best {
        false => Box::new(last),
        true => Box::new(
            ComposedCheckpointingStrategy::builder()
                .add(last)
                .add(BestEpoch {
                    current: None,
                    accuracy,
                })
                .build(),
        ),
    }
}

/// Keeps the checkpoint of the best epoch so far, as burn-train's metric store ranks them.
struct BestEpoch {
    current: Option<usize>,
    accuracy: bool,
}

impl CheckpointingStrategy for BestEpoch {
    fn checkpointing(
        &mut self,
        epoch: usize,
        store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        let (metric, direction) = match self.accuracy {
            true => (ACCURACY, Direction::Highest),
            false => (LOSS, Direction::Lowest),
        };
        let best = store
            .find_epoch(metric, Aggregate::Mean, direction, &Split::Valid)
            .unwrap_or(epoch);
        let mut actions = Vec::new();
        if let Some(current) = self.current.filter(|&current| current != best) {
            actions.push(CheckpointingAction::Delete(current));
        }
        if best == epoch {
            actions.push(CheckpointingAction::Save);
        }
        self.current = Some(best);
        actions
    }
}

/// The epoch whose weights to keep: the best validation row of `rows` (highest accuracy, else
/// lowest loss; the earliest of equals) among the epochs whose checkpoint is in `run_dir`.
pub(crate) fn best_epoch<'a>(rows: &'a [EpochRow], run_dir: &Path) -> Option<&'a EpochRow> {
    let saved = |row: &&EpochRow| checkpoint_file(run_dir, "model", row.epoch).is_file();
    let score = |row: &EpochRow| row.accuracy.unwrap_or(-row.loss);
    rows.iter()
        .filter(|row| row.split == "valid")
        .filter(saved)
        .fold(None, |best: Option<&EpochRow>, row| match best {
            Some(best) if score(best) >= score(row) => Some(best),
            _ => Some(row),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize, split: &str, loss: f64, accuracy: Option<f64>) -> EpochRow {
        EpochRow {
            epoch,
            split: split.into(),
            loss,
            accuracy,
            seconds: 1.0,
        }
    }

    #[test]
    fn the_best_saved_validation_epoch_is_kept_the_earliest_of_equals() {
        let dir = tempfile::tempdir().unwrap();
        for epoch in [2, 3, 4, 5] {
            let file = checkpoint_file(dir.path(), "model", epoch);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, b"x").unwrap();
        }
        let rows = [
            row(1, "train", 0.1, Some(0.99)),
            row(1, "valid", 0.5, Some(0.97)), // best, but no checkpoint left
            row(2, "valid", 0.4, Some(0.95)),
            row(3, "valid", 0.3, Some(0.96)),
            row(4, "valid", 0.2, Some(0.96)),
            row(5, "valid", 0.1, Some(0.94)),
        ];
        assert_eq!(best_epoch(&rows, dir.path()).map(|r| r.epoch), Some(3));
        // Without accuracy (a regression), the lowest loss.
        let losses: Vec<EpochRow> = rows
            .iter()
            .map(|r| EpochRow {
                accuracy: None,
                ..r.clone()
            })
            .collect();
        assert_eq!(best_epoch(&losses, dir.path()).map(|r| r.epoch), Some(5));
        assert!(best_epoch(&rows[..2], dir.path()).is_none());
    }
}
