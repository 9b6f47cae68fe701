//! The files of a run folder and how they are written: always to a temporary file first, then
//! renamed into place, so a crash at any moment leaves the previous complete version.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::data::DataSource;

/// `config.toml`: the resolved experiment.
pub const CONFIG_FILE: &str = "config.toml";
/// `model.mpk`: the trained weights (Burn's named MessagePack, full precision).
pub const MODEL_FILE: &str = "model.mpk";
/// `metrics.csv`: one row per epoch and split.
pub const METRICS_FILE: &str = "metrics.csv";
/// `summary.json`: what the run measured.
pub const SUMMARY_FILE: &str = "summary.json";

/// Writes `contents` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".partial-");
    #[cfg(unix)]
    {
        // A run's files are ordinary files (rw-r--r-- under the usual umask), not 0600 temporaries.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(contents)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot move the new {} into place", path.display()))?;
    Ok(())
}

/// Writes the data's files of `info` (the tagger's vocabularies) into `dir`; returns their names.
pub(crate) fn write_info_files<D: DataSource>(
    data: &D,
    info: &D::Info,
    dir: &Path,
) -> anyhow::Result<Vec<&'static str>> {
    let files = data.info_files(info);
    for (name, contents) in &files {
        write_atomic(&dir.join(name), contents.as_bytes())?;
    }
    Ok(files.into_iter().map(|(name, _)| name).collect())
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    /// 1-based epoch.
    pub epoch: usize,
    /// `train` or `valid`.
    pub split: String,
    /// Mean loss over the split's samples.
    pub loss: f64,
    /// Fraction correct (classifiers only).
    pub accuracy: Option<f64>,
    /// Wall-clock seconds of this pass over the split.
    pub seconds: f64,
}

/// Decimal digits `metrics.csv` keeps of the loss, the accuracy and the seconds: one place for
/// both the writer and [`EpochRow::as_written`], so they cannot drift apart.
const LOSS_DIGITS: usize = 8;
const ACCURACY_DIGITS: usize = 6;
const SECONDS_DIGITS: usize = 3;

impl EpochRow {
    /// The row with its numbers rounded as `metrics.csv` writes them.
    pub fn as_written(self) -> Self {
        let round =
            |value: f64, digits: usize| format!("{value:.digits$}").parse().unwrap_or(value);
        Self {
            loss: round(self.loss, LOSS_DIGITS),
            accuracy: self.accuracy.map(|a| round(a, ACCURACY_DIGITS)),
            seconds: round(self.seconds, SECONDS_DIGITS),
            ..self
        }
    }
}

/// Renders rows as `metrics.csv`: `epoch,split,loss,accuracy,seconds`.
pub fn metrics_csv(rows: &[EpochRow]) -> String {
    let mut csv = String::from("epoch,split,loss,accuracy,seconds\n");
    for row in rows {
        let accuracy = row
            .accuracy
            .map(|a| format!("{a:.ACCURACY_DIGITS$}"))
            .unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{:.LOSS_DIGITS$},{},{:.SECONDS_DIGITS$}\n",
            row.epoch, row.split, row.loss, accuracy, row.seconds
        ));
    }
    csv
}

/// Reads `metrics.csv` back (the inverse of [`metrics_csv`]); a line that is not a row of five
/// fields is an error naming its line number.
pub fn parse_metrics_csv(text: &str) -> anyhow::Result<Vec<EpochRow>> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    anyhow::ensure!(
        header == "epoch,split,loss,accuracy,seconds",
        "line 1 is `{header}`, not the header epoch,split,loss,accuracy,seconds"
    );
    lines
        .enumerate()
        .map(|(i, line)| {
            let bad = || anyhow::anyhow!("line {} is not a metrics row: `{line}`", i + 2);
            let fields: Vec<&str> = line.split(',').collect();
            let [epoch, split, loss, accuracy, seconds] = fields[..] else {
                return Err(bad());
            };
            Ok(EpochRow {
                epoch: epoch.parse().map_err(|_| bad())?,
                split: match split {
                    "train" | "valid" => split.to_string(),
                    _ => return Err(bad()),
                },
                loss: loss.parse().map_err(|_| bad())?,
                accuracy: match accuracy {
                    "" => None,
                    a => Some(a.parse().map_err(|_| bad())?),
                },
                seconds: seconds.parse().map_err(|_| bad())?,
            })
        })
        .collect()
}

/// `summary.json`: what a finished run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Registered model name.
    pub model: String,
    /// `ndarray`, `wgpu` or `cuda`.
    pub backend: String,
    /// The device trained on, as the backend names it.
    pub device: String,
    /// The dataset (`mnist`, `fashion-mnist`, `curve`, `two-clusters`).
    pub dataset: String,
    /// The class names, by label (empty for a regression).
    pub classes: Vec<String>,
    /// Epochs trained.
    pub epochs: usize,
    /// Training samples per epoch.
    pub train_samples: usize,
    /// Validation samples.
    pub valid_samples: usize,
    /// Test samples.
    pub test_samples: usize,
    /// Test-set accuracy of the final model (classifiers only).
    pub test_accuracy: Option<f64>,
    /// Correct test predictions (classifiers only).
    pub test_correct: Option<usize>,
    /// Mean test loss per sample.
    pub test_loss: f64,
    /// Validation accuracy of the kept epoch (the final one, or `kept_epoch`; classifiers only).
    pub valid_accuracy: Option<f64>,
    /// Mean validation loss of the kept epoch.
    pub valid_loss: f64,
    /// The epoch whose weights were kept, for a run with `[train] keep_best` (absent: the
    /// last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_epoch: Option<usize>,
    /// Mean seconds of one training pass over the training set (no validation, no test).
    pub seconds_per_epoch: f64,
    /// Training samples per second over the training passes.
    pub samples_per_second: f64,
    /// Wall-clock seconds of the whole command, data loading included.
    pub total_seconds: f64,
    /// Wall-clock seconds of the test pass: the final model over the test set, batch by batch
    /// as `zoo eval` runs it (runs from before it was recorded lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_seconds: Option<f64>,
    /// Trainable parameters.
    pub parameters: usize,
    /// The seed of weights, shuffling and data.
    pub seed: u64,
    /// The zoo version that trained it.
    pub zoo_version: String,
    /// The process's peak resident memory (host RAM, MiB; Linux `VmHWM`), if known. GPU
    /// memory is not included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_mib: Option<f64>,
    /// SHA-256 of the final weights' values in module order (parameter ids left out): two runs,
    /// or two nodes, holding the same weights have the same checksum.
    #[serde(default)]
    pub weights_sha256: String,
    /// Devices of a multi-device run (`zoo train --devices LIST`), absent on one device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<usize>,
    /// Nodes of a multi-node run (`zoo train --nodes N`), absent for a single process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u32>,
    /// What averaging the gradients over the nodes cost (multi-node runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allreduce: Option<AllReduceFigures>,
    /// The tagger's test figures (tagging runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagging: Option<TaggingSummary>,
}

/// SHA-256 of a model's parameter values in module order (ids left out, so two processes holding
/// the same weights print the same checksum).
pub fn weights_checksum<B: burn::prelude::Backend, M: burn::module::Module<B>>(
    model: &M,
) -> String {
    use burn::module::{ModuleVisitor, Param};
    use burn::tensor::Tensor;
    use sha2::{Digest, Sha256};
    struct Hash(Sha256);
    impl<B: burn::prelude::Backend> ModuleVisitor<B> for Hash {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let data = param.val().into_data();
            self.0.update(data.as_bytes());
        }
    }
    let mut hash = Hash(Sha256::new());
    model.visit(&mut hash);
    hash.0
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The all-reduce of a multi-node run, per training step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllReduceFigures {
    /// All-reduces made (one per step).
    pub steps: u64,
    /// Mean milliseconds per all-reduce (waiting for the slowest node included).
    pub ms_per_step: f64,
    /// Gradient bytes each node sends into each all-reduce.
    pub bytes_per_step: u64,
}

/// This process's peak resident set size in MiB, from `/proc/self/status` (`None` off Linux).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A tagger's test-set figures, by token (padding excluded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaggingSummary {
    /// Tokens tagged correctly / tokens.
    pub token_accuracy: f64,
    /// Test tokens.
    pub tokens: usize,
    /// Accuracy over tokens whose word form never occurs in the training split (`null` when
    /// there is none).
    pub unseen_accuracy: Option<f64>,
    /// Such tokens.
    pub unseen_tokens: usize,
    /// Accuracy and token count of each tag of the test split.
    pub per_tag: std::collections::BTreeMap<String, TagFigures>,
}

/// One tag's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagFigures {
    /// Its tokens tagged correctly / its tokens.
    pub accuracy: f64,
    /// Its tokens in the test split.
    pub count: usize,
}

impl TaggingSummary {
    /// The per-tag figures as a table, one tag a line (as `summary.json` holds them).
    pub fn table(&self) -> String {
        let mut table = String::from("Per tag: tag     accuracy  tokens\n");
        for (tag, figures) in &self.per_tag {
            table.push_str(&format!(
                "         {tag:<7} {:>8.4} {:>7}\n",
                figures.accuracy, figures.count
            ));
        }
        table
    }

    /// The figures of a tagging tally (`None` for another task's), tags named by `tags`.
    pub fn from_tally(test: &crate::task::Tally, tags: &[String]) -> Option<Self> {
        let [unseen_correct, unseen_tokens] = test.unseen?;
        let ratio = |a: usize, b: usize| a as f64 / b.max(1) as f64;
        Some(Self {
            token_accuracy: test.accuracy().unwrap_or(0.0),
            tokens: test.count,
            unseen_accuracy: (unseen_tokens > 0).then(|| ratio(unseen_correct, unseen_tokens)),
            unseen_tokens,
            per_tag: test
                .per_class
                .iter()
                .enumerate()
                .filter(|(_, [_, total])| *total > 0)
                .map(|(i, &[correct, count])| {
                    let name = tags.get(i).cloned().unwrap_or_else(|| format!("#{i}"));
                    let accuracy = ratio(correct, count);
                    (name, TagFigures { accuracy, count })
                })
                .collect(),
        })
    }
}

impl Summary {
    /// Reads `summary.json` from a run folder.
    pub fn read(run: &Path) -> anyhow::Result<Self> {
        let path = run.join(SUMMARY_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read the run summary", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a zoo run summary", path.display()))
    }

    /// Writes `summary.json` into a run folder, atomically.
    pub fn write(&self, run: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self).expect("summaries serialize");
        write_atomic(&run.join(SUMMARY_FILE), format!("{json}\n").as_bytes())
    }
}

/// The folder of a new run: `out` if given (it must not hold an earlier run), else
/// `runs/<model>-<UTC date and time>`.
pub fn new_run_dir(out: Option<&Path>, model: &str) -> anyhow::Result<PathBuf> {
    let dir = match out {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("runs").join(format!("{model}-{}", utc_stamp())),
    };
    if dir.join(SUMMARY_FILE).exists() || dir.join(MODEL_FILE).exists() {
        anyhow::bail!(
            "{} already holds a finished run; choose another --out (runs are never overwritten)",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the run folder {}", dir.display()))?;
    Ok(dir)
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_the_documented_columns() {
        let rows = [
            EpochRow {
                epoch: 1,
                split: "train".into(),
                loss: 0.5,
                accuracy: Some(0.875),
                seconds: 2.0,
            },
            EpochRow {
                epoch: 1,
                split: "valid".into(),
                loss: 0.25,
                accuracy: None,
                seconds: 0.5,
            },
        ];
        assert_eq!(
            metrics_csv(&rows),
            "epoch,split,loss,accuracy,seconds\n1,train,0.50000000,0.875000,2.000\n1,valid,0.25000000,,0.500\n"
        );
    }

    #[test]
    fn the_checksum_ignores_parameter_ids() {
        use burn::backend::NdArray;
        use burn::nn::LinearConfig;
        let device = Default::default();
        let a = LinearConfig::new(3, 2).init::<NdArray>(&device);
        // The same values under fresh parameter ids.
        let mut b = LinearConfig::new(3, 2).init::<NdArray>(&device);
        b.weight = burn::module::Param::from_tensor(a.weight.val());
        b.bias = a
            .bias
            .as_ref()
            .map(|bias| burn::module::Param::from_tensor(bias.val()));
        assert_ne!(a.weight.id, b.weight.id);
        assert_eq!(super::weights_checksum(&a), super::weights_checksum(&b));
        let c = LinearConfig::new(3, 2).init::<NdArray>(&device);
        assert_ne!(super::weights_checksum(&a), super::weights_checksum(&c));
    }

    #[test]
    fn metrics_csv_reads_back_to_the_same_text() {
        let text = "epoch,split,loss,accuracy,seconds\n1,train,0.89412345,0.690000,10.314\n1,valid,0.23700000,,0.412\n";
        let rows = parse_metrics_csv(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].accuracy, None);
        assert_eq!(metrics_csv(&rows), text);
        let err =
            parse_metrics_csv("epoch,split,loss,accuracy,seconds\n1,train,0.5\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn atomic_write_replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        write_atomic(&path, b"first version, longer").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn a_folder_holding_a_run_is_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let run = new_run_dir(Some(dir.path()), "m").unwrap();
        std::fs::write(run.join(SUMMARY_FILE), "{}").unwrap();
        let err = new_run_dir(Some(dir.path()), "m").unwrap_err().to_string();
        assert!(err.contains("already holds a finished run"), "{err}");
    }

    #[test]
    fn stamps_are_utc_dates() {
        let stamp = utc_stamp();
        assert_eq!(stamp.len(), 15);
        assert!(stamp.starts_with("20"), "{stamp}");
    }
}
