//! Checkpoints read on the training thread's clock: training goes on only once the epoch's
//! weights have been read from the device; writing the files stays in the background.
//!
//! burn-train saves each epoch's model, optimizer and scheduler records on three threads of its
//! own while training continues. On a backend behind Burn's fusion layer (`wgpu`, `cuda`), a
//! tensor read on one thread while another thread's operations replace it can lose its handle,
//! and the run panics on the device thread ("Should have handle for tensor", burn-fusion 0.21,
//! tracel-ai/burn#4347 and #4947; seen here in CI after the second epoch of a wgpu run). The gate
//! closes that window: `GatedCheckpointing` counts the records a checkpoint will read, the
//! recorder (`AtomicMpkRecorder`) reports each record once read, and the training loop waits on
//! [`SaveGate::wait`] after every checkpoint. Only the copy from the device is waited for
//! (PyTorch's `torch.save` does that much and the file writing too, before its loop goes on).

use std::sync::{Arc, Condvar, Mutex};

use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::EventStoreClient;

/// How many records one checkpoint reads: model, optimizer, scheduler.
const RECORDS_PER_CHECKPOINT: usize = 3;

/// Records that checkpoints are to read and have read, shared by the checkpointing strategy,
/// the recorder and the training loop (clones share one count).
#[derive(Debug, Clone, Default)]
pub struct SaveGate {
    counts: Arc<(Mutex<Counts>, Condvar)>,
}

#[derive(Debug, Default)]
struct Counts {
    expected: usize,
    read: usize,
}

impl SaveGate {
    fn expect(&self, records: usize) {
        self.counts.0.lock().expect("save gate lock").expected += records;
    }

    /// A record is being read; dropping the guard (after the read, or while unwinding from a
    /// failed one) counts it as read.
    pub(crate) fn reading(&self) -> Reading<'_> {
        Reading { gate: self }
    }

    /// Blocks until every record that checkpoints so far were to read has been read.
    pub fn wait(&self) {
        let (counts, read) = &*self.counts;
        let counts = counts.lock().expect("save gate lock");
        drop(
            read.wait_while(counts, |c| c.read < c.expected)
                .expect("save gate lock"),
        );
    }
}

/// One record being read (see [`SaveGate::reading`]).
pub(crate) struct Reading<'a> {
    gate: &'a SaveGate,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let (counts, read) = &*self.gate.counts;
        // A poisoned lock still holds the counts; waking the waiter matters more.
        let mut counts = counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.read += 1;
        read.notify_all();
    }
}

/// A checkpointing strategy that tells `gate` how many records each of its saves will read.
pub(crate) struct GatedCheckpointing {
    inner: Box<dyn CheckpointingStrategy>,
    gate: SaveGate,
}

impl GatedCheckpointing {
    pub(crate) fn new(inner: Box<dyn CheckpointingStrategy>, gate: SaveGate) -> Self {
        Self { inner, gate }
    }
}

impl CheckpointingStrategy for GatedCheckpointing {
    fn checkpointing(
        &mut self,
        epoch: usize,
        store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        let actions = self.inner.checkpointing(epoch, store);
        let saves = actions
            .iter()
            .filter(|action| matches!(action, CheckpointingAction::Save))
            .count();
        self.gate.expect(saves * RECORDS_PER_CHECKPOINT);
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waiting_ends_once_every_expected_record_is_read_and_not_before() {
        let gate = SaveGate::default();
        gate.expect(2);
        let (sent, done) = std::sync::mpsc::channel();
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                gate.wait();
                sent.send(()).unwrap();
            })
        };
        drop(gate.reading());
        assert!(done.recv_timeout(Duration::from_millis(200)).is_err());
        // A read that panics still counts: the loop must not hang on a failed save.
        let reader = gate.clone();
        let failed = std::thread::spawn(move || {
            let _reading = reader.reading();
            panic!("read failed");
        });
        assert!(failed.join().is_err());
        done.recv_timeout(Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
    }
}
