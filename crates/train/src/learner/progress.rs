//! What a run prints and records while it trains: PyTorch-style progress lines (a
//! [`MetricsRenderer`]), and per-epoch means written to `metrics.csv` (a [`MetricLogger`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::LearnerSummary;

use crate::run::artifacts::{metrics_csv, write_atomic, EpochRow};

/// burn-train's name of the loss metric.
pub(crate) const LOSS: &str = "Loss";
/// burn-train's name of the accuracy metric (in percent).
pub(crate) const ACCURACY: &str = "Accuracy";

/// What the run has measured so far; shared by the training strategy (timings), the metric
/// logger (rows) and the code writing the summary.
#[derive(Debug, Default)]
pub struct RunLog {
    /// Completed epoch rows, in order.
    pub rows: Vec<EpochRow>,
    /// Seconds of each finished pass, by epoch and split name.
    pub seconds: HashMap<(usize, &'static str), f64>,
    /// Where the training loss stopped being a finite number, if it did.
    pub diverged: Option<Divergence>,
    /// Where the other nodes of a multi-node run stopped answering, if they did.
    pub lost: Option<NodeLost>,
    /// The epoch whose weights the run kept (`[train] keep_best`), where not the last.
    pub kept_epoch: Option<usize>,
}

/// A training step whose gradient average over the nodes did not complete.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLost {
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    /// What burn-collective (or the deadline) said.
    pub why: String,
}

/// A training step whose loss was NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Divergence {
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    /// The loss (NaN or ±infinity).
    pub loss: f64,
}

/// A [`RunLog`] shared between threads.
pub type SharedLog = Arc<Mutex<RunLog>>;

/// The split's name in `metrics.csv`.
fn split_name(split: &Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Valid => "valid",
        Split::Test(_) => "test",
    }
}

/// Prints `Train Epoch: 1 [6400/9500 (67%)]\tLoss: 0.213456` every `log_interval` batches.
pub struct ProgressPrinter {
    log_interval: usize,
    names: HashMap<MetricId, String>,
    last_loss: Option<f64>,
}

impl ProgressPrinter {
    /// A printer writing one line every `log_interval` batches (and at the end of the epoch).
    pub fn new(log_interval: usize) -> Self {
        Self {
            log_interval: log_interval.max(1),
            names: HashMap::new(),
            last_loss: None,
        }
    }
}

impl MetricsRendererTraining for ProgressPrinter {
    fn update_train(&mut self, state: MetricState) {
        if let MetricState::Numeric(entry, value) = state {
            if self.names.get(&entry.metric_id).map(String::as_str) == Some(LOSS) {
                self.last_loss = Some(value.current());
            }
        }
    }

    fn update_valid(&mut self, _state: MetricState) {}

    fn render_train(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        let (Some(progress), Some(iteration)) = (item.progress, item.iteration) else {
            return;
        };
        let last = progress.items_processed >= progress.items_total;
        if iteration % self.log_interval != 0 && iteration != 1 && !last {
            return;
        }
        let percent = 100.0 * progress.items_processed as f64 / progress.items_total.max(1) as f64;
        println!(
            "Train Epoch: {} [{}/{} ({percent:.0}%)]\tLoss: {:.6}",
            item.global_progress.items_processed,
            progress.items_processed,
            progress.items_total,
            self.last_loss.unwrap_or(f64::NAN),
        );
    }

    fn render_valid(&mut self, _item: TrainingProgress, _indicators: Vec<ProgressType>) {}

    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl MetricsRendererEvaluation for ProgressPrinter {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}

    fn render_test(&mut self, _item: EvaluationProgress, _indicators: Vec<ProgressType>) {}
}

impl MetricsRenderer for ProgressPrinter {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }
}

/// Writes each finished epoch of each split to `metrics.csv` (atomically, the whole file) and
/// prints its means.
pub struct CsvMetricLogger {
    path: PathBuf,
    log: SharedLog,
    names: HashMap<MetricId, String>,
    running: HashMap<(&'static str, String), f64>,
    history: HashMap<(&'static str, String), Vec<f64>>,
}

impl CsvMetricLogger {
    /// A logger writing `path`, sharing `log` with the training strategy. The rows already in
    /// `log` (the epochs before a resumption) are its history, so burn-train's metric store
    /// ranks a resumed run's epochs as the uninterrupted run's.
    pub fn new(path: PathBuf, log: SharedLog) -> Self {
        let mut history = HashMap::new();
        for row in &log.lock().expect("run log lock").rows {
            remember(&mut history, row);
        }
        Self {
            path,
            log,
            names: HashMap::new(),
            running: HashMap::new(),
            history,
        }
    }
}

/// Adds an epoch's row to the history burn-train's metric store reads, in the store's units
/// (accuracy in percent). The figures as metrics.csv writes them: the store ranks epochs by them
/// (`keep_best`), so two epochs equal in the file are equal there too and the earlier one wins
/// (not whichever of two equal running means came out a rounding error higher), and a resumed
/// run, whose history is read back from the file, ranks them as the uninterrupted run.
fn remember(history: &mut HashMap<(&'static str, String), Vec<f64>>, row: &EpochRow) {
    let split = if row.split == "train" {
        "train"
    } else {
        "valid"
    };
    let mut add = |name: &str, value: f64| {
        history
            .entry((split, name.to_string()))
            .or_default()
            .push(value)
    };
    add(LOSS, row.loss);
    if let Some(accuracy) = row.accuracy {
        add(ACCURACY, 100.0 * accuracy);
    }
}

impl MetricLogger for CsvMetricLogger {
    fn log(&mut self, update: MetricsUpdate, _epoch: usize, split: &Split) {
        for numeric in update.entries_numeric {
            if let Some(name) = self.names.get(&numeric.entry.metric_id) {
                self.running.insert(
                    (split_name(split), name.clone()),
                    numeric.running_entry.current(),
                );
            }
        }
    }

    /// The epoch's mean of the metric; none for an epoch not finished yet (burn-train's metric
    /// store reads epochs from 1 until one has no value).
    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        Ok(self
            .history
            .get(&(split_name(split), name.to_string()))
            .and_then(|values| values.get(epoch.wrapping_sub(1)))
            .map(|&v| vec![NumericEntry::Value(v)])
            .unwrap_or_default())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        let split = split_name(&summary.split);
        let epoch = summary.epoch_number;
        let mut take = |name: &str| self.running.remove(&(split, name.to_string()));
        let loss = take(LOSS).unwrap_or(f64::NAN);
        let accuracy = take(ACCURACY).map(|percent| percent / 100.0);
        let mut log = self.log.lock().expect("run log lock");
        let seconds = log
            .seconds
            .get(&(epoch, split))
            .copied()
            .unwrap_or(f64::NAN);
        let accuracy_text = accuracy
            .map(|a| format!(", Accuracy: {:.2}%", 100.0 * a))
            .unwrap_or_default();
        match split {
            "train" => println!("Train Epoch: {epoch} done in {seconds:.1} s: Average loss: {loss:.4}{accuracy_text}"),
            _ => println!("Valid set: Average loss: {loss:.4}{accuracy_text}"),
        }
        // The row as metrics.csv holds it, so a resumed run (which reads earlier rows back from
        // the file) reports exactly what the uninterrupted run reports.
        let row = EpochRow::as_written(EpochRow {
            epoch,
            split: split.to_string(),
            loss,
            accuracy,
            seconds,
        });
        remember(&mut self.history, &row);
        log.rows.push(row);
        if let Err(err) = write_atomic(&self.path, metrics_csv(&log.rows).as_bytes()) {
            // The rows stay in memory and are written again with the next epoch or the summary.
            eprintln!("warning: {err:#}");
        }
    }
}
