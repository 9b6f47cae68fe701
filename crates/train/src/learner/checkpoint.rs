//! Epoch checkpoints that survive a kill, and where a killed run resumes.
//!
//! burn-train saves three files per epoch under `RUN/checkpoint/` (`model-N.mpk`,
//! `optim-N.mpk`, `scheduler-N.mpk`) through the recorder given to it; [`AtomicMpkRecorder`]
//! makes each of them appear whole or not at all (serialized in memory, written to a temporary
//! file, synced, renamed). [`resume_point`] then picks the last epoch whose three files are all
//! there *and* whose train and valid rows are in `metrics.csv`: a kill at any instant (mid-step,
//! mid-validation, mid-save) leaves such an epoch, or none, and never a half-written file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::record::{
    BurnRecord, FileRecorder, FullPrecisionSettings, NamedMpkFileRecorder, Record, Recorder,
    RecorderError,
};
use burn::tensor::backend::Backend;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::save_gate::SaveGate;
use crate::run::artifacts::{parse_metrics_csv, write_atomic, EpochRow, METRICS_FILE};

/// The folder of the epoch checkpoints inside a run folder (burn-train's name).
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// The three records burn-train keeps per epoch.
const PARTS: [&str; 3] = ["model", "optim", "scheduler"];

/// Burn's named MessagePack format, full precision, written atomically: the bytes are produced in
/// memory, written to a temporary file beside the target, synced and renamed into place. Files
/// are byte-compatible with [`NamedMpkFileRecorder`] (the same metadata is recorded), so
/// anything that reads a zoo `.mpk` with Burn's own recorder keeps working.
///
/// A checkpoint's records are read from the device under its [`SaveGate`] (see that module).
#[derive(Debug, Default, Clone)]
pub struct AtomicMpkRecorder {
    inner: NamedMpkFileRecorder<FullPrecisionSettings>,
    gate: SaveGate,
}

impl AtomicMpkRecorder {
    /// A recorder that reports every record it has read to `gate`.
    pub fn with_gate(gate: SaveGate) -> Self {
        Self {
            inner: NamedMpkFileRecorder::default(),
            gate,
        }
    }
}

impl<B: Backend> Recorder<B> for AtomicMpkRecorder {
    type Settings = FullPrecisionSettings;
    type RecordArgs = PathBuf;
    type RecordOutput = ();
    type LoadArgs = PathBuf;

    fn record<R: Record<B>>(&self, record: R, args: PathBuf) -> Result<(), RecorderError> {
        let reading = self.gate.reading();
        let item = record.into_item::<FullPrecisionSettings>();
        drop(reading);
        // Recorded as Burn's own named-MessagePack recorder would record it.
        let item = BurnRecord::<_, B>::new::<NamedMpkFileRecorder<FullPrecisionSettings>>(item);
        Recorder::<B>::save_item(self, item, args)
    }

    fn save_item<I: Serialize>(&self, item: I, mut file: PathBuf) -> Result<(), RecorderError> {
        file.set_extension(<Self as FileRecorder<B>>::file_extension());
        let mut bytes = Vec::new();
        rmp_serde::encode::write_named(&mut bytes, &item)
            .map_err(|err| RecorderError::Unknown(err.to_string()))?;
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|err| {
                RecorderError::Unknown(format!("cannot create {}: {err}", parent.display()))
            })?;
        }
        write_atomic(&file, &bytes).map_err(|err| RecorderError::Unknown(format!("{err:#}")))
    }

    fn load_item<I: DeserializeOwned>(&self, file: &mut PathBuf) -> Result<I, RecorderError> {
        Recorder::<B>::load_item(&self.inner, file)
    }
}

impl<B: Backend> FileRecorder<B> for AtomicMpkRecorder {
    fn file_extension() -> &'static str {
        "mpk"
    }
}

/// Where a killed run continues.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumePoint {
    /// The last complete epoch (0: none finished; the run starts over).
    pub epoch: usize,
    /// The `metrics.csv` rows of epochs `1..=epoch`.
    pub rows: Vec<EpochRow>,
}

/// Finds the last complete epoch of the run in `dir` and tidies what a kill left behind: rows of
/// later epochs, checkpoint files of later or incomplete epochs, and temporary files of
/// interrupted writes are removed, so the folder holds exactly epochs `1..=epoch`. A checkpoint
/// file that does not decode whole (cut short, corrupted) does not count: the epoch before it
/// is resumed, with a line saying so; where no epoch's files are whole the run is refused before
/// anything is removed.
pub fn resume_point(dir: &Path) -> anyhow::Result<ResumePoint> {
    let metrics = dir.join(METRICS_FILE);
    let rows = match std::fs::read_to_string(&metrics) {
        Ok(text) => parse_metrics_csv(&text).with_context(|| {
            format!(
                "{}: not a metrics file written by zoo; the run cannot be resumed",
                metrics.display()
            )
        })?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read {}", metrics.display()));
        }
    };
    let checkpoints = dir.join(CHECKPOINT_DIR);
    let has = |epoch: usize, split: &str| rows.iter().any(|r| r.epoch == epoch && r.split == split);
    let saved = |epoch: usize| {
        PARTS
            .iter()
            .all(|part| checkpoint_file(dir, part, epoch).is_file())
    };
    let broken = |epoch: usize| {
        PARTS
            .iter()
            .map(|part| checkpoint_file(dir, part, epoch))
            .find(|file| !decodes_whole(file))
    };
    let last_row = rows.iter().map(|r| r.epoch).max().unwrap_or(0);
    let mut skipped = None;
    let epoch = (1..=last_row)
        .rev()
        .filter(|&e| has(e, "train") && has(e, "valid") && saved(e))
        .find(|&e| match broken(e) {
            Some(file) => {
                skipped.get_or_insert(file);
                false
            }
            None => true,
        })
        .unwrap_or(0);
    if let Some(file) = &skipped {
        if epoch == 0 {
            anyhow::bail!(
                "{}: the checkpoint is cut short or corrupt, and no earlier epoch's checkpoint is \
                 whole: the run cannot be resumed; train it again into another folder",
                file.display()
            );
        }
        eprintln!(
            "zoo: {} is cut short or corrupt: resuming after epoch {epoch}",
            file.display()
        );
    }

    let rows: Vec<EpochRow> = rows.into_iter().filter(|r| r.epoch <= epoch).collect();
    tidy(dir, &checkpoints, epoch)?;
    if rows.is_empty() {
        remove_if_there(&metrics)?;
    } else {
        write_atomic(
            &metrics,
            crate::run::artifacts::metrics_csv(&rows).as_bytes(),
        )?;
    }
    Ok(ResumePoint { epoch, rows })
}

/// Whether the file at `path` is one whole MessagePack document (what a write the zoo finished
/// leaves), read into memory no larger than the file.
fn decodes_whole(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| {
        crate::run::msgpack_document_len(&bytes).is_ok_and(|len| len == bytes.len())
    })
}

/// Removes checkpoint files of epochs after `epoch` and the temporary files of writes a kill
/// interrupted (in the run folder and its checkpoint folder).
fn tidy(dir: &Path, checkpoints: &Path, epoch: usize) -> anyhow::Result<()> {
    for folder in [dir, checkpoints] {
        let Ok(entries) = std::fs::read_dir(folder) else {
            continue;
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stale_part = name.starts_with(".partial-");
            let later = folder == checkpoints && checkpoint_epoch(name).is_some_and(|e| e > epoch);
            if stale_part || later {
                remove_if_there(&entry.path())?;
            }
        }
    }
    Ok(())
}

/// The checkpoint file of `part` (`model`, `optim`, `scheduler`) of `epoch` in the run folder
/// `dir`, as burn-train names it: `dir/checkpoint/model-3.mpk`.
pub(crate) fn checkpoint_file(dir: &Path, part: &str, epoch: usize) -> PathBuf {
    dir.join(CHECKPOINT_DIR).join(format!("{part}-{epoch}.mpk"))
}

/// The epoch of a checkpoint file name (`model-3.mpk` → 3).
fn checkpoint_epoch(name: &str) -> Option<usize> {
    let stem = name.strip_suffix(".mpk")?;
    let (part, epoch) = stem.rsplit_once('-')?;
    PARTS.contains(&part).then_some(())?;
    epoch.parse().ok()
}

fn remove_if_there(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// The seed of the backend's random numbers (dropout) for one epoch: a function of the run's
/// seed and the epoch alone, so a resumed run draws what the uninterrupted run drew.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::artifacts::metrics_csv;

    fn row(epoch: usize, split: &str) -> EpochRow {
        EpochRow {
            epoch,
            split: split.into(),
            loss: 1.0 / epoch as f64,
            accuracy: Some(0.5),
            seconds: 1.0,
        }
    }

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_last_epoch_with_rows_and_all_three_files_is_chosen_and_later_traces_removed() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        let rows = [
            row(1, "train"),
            row(1, "valid"),
            row(2, "train"),
            row(2, "valid"),
            row(3, "train"),
        ];
        std::fs::write(run.join(METRICS_FILE), metrics_csv(&rows)).unwrap();
        let cp = run.join(CHECKPOINT_DIR);
        for part in PARTS {
            touch(&cp.join(format!("{part}-1.mpk")));
        }
        // Epoch 2: the scheduler's file was never written (killed mid-save).
        touch(&cp.join("model-2.mpk"));
        touch(&cp.join("optim-2.mpk"));
        touch(&cp.join(".partial-abc"));
        touch(&run.join(".partial-metrics"));

        let point = resume_point(run).unwrap();
        assert_eq!(point.epoch, 1);
        assert_eq!(point.rows, rows[..2].to_vec());
        assert_eq!(
            names(&cp),
            ["model-1.mpk", "optim-1.mpk", "scheduler-1.mpk"]
        );
        assert_eq!(
            std::fs::read_to_string(run.join(METRICS_FILE)).unwrap(),
            metrics_csv(&rows[..2])
        );
        assert_eq!(names(run), [CHECKPOINT_DIR, METRICS_FILE]);
    }

    #[test]
    fn checkpoint_files_without_their_metrics_rows_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        std::fs::write(run.join(METRICS_FILE), metrics_csv(&[row(1, "train")])).unwrap();
        for part in PARTS {
            touch(&run.join(CHECKPOINT_DIR).join(format!("{part}-1.mpk")));
        }
        let point = resume_point(run).unwrap();
        assert_eq!(point.epoch, 0);
        assert!(point.rows.is_empty());
        assert!(!run.join(METRICS_FILE).exists());
        assert!(names(&run.join(CHECKPOINT_DIR)).is_empty());
    }

    #[test]
    fn a_run_killed_before_any_file_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resume_point(dir.path()).unwrap().epoch, 0);
    }

    #[test]
    fn a_metrics_file_that_is_not_ours_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(METRICS_FILE), "hello\n").unwrap();
        let err = format!("{:#}", resume_point(dir.path()).unwrap_err());
        assert!(
            err.contains("metrics.csv") && err.contains("cannot be resumed"),
            "{err}"
        );
    }

    #[test]
    fn checkpoint_names_parse() {
        assert_eq!(checkpoint_epoch("model-12.mpk"), Some(12));
        assert_eq!(checkpoint_epoch("scheduler-3.mpk"), Some(3));
        assert_eq!(checkpoint_epoch("other-3.mpk"), None);
        assert_eq!(checkpoint_epoch("model-x.mpk"), None);
    }

    #[test]
    fn atomic_recorder_files_load_with_burns_own_recorder() {
        use burn::backend::NdArray;
        use burn::module::Module;
        use burn::nn::{Linear, LinearConfig};
        type B = NdArray;
        let device = Default::default();
        let dir = tempfile::tempdir().unwrap();
        let linear: Linear<B> = LinearConfig::new(3, 2).init(&device);
        // Read before cloning: Burn initializes parameters lazily, each clone on its own.
        let weights = linear.weight.val().into_data();
        linear
            .save_file(dir.path().join("w"), &AtomicMpkRecorder::default())
            .unwrap();
        assert_eq!(names(dir.path()), ["w.mpk"]);
        let fresh: Linear<B> = LinearConfig::new(3, 2).init(&device);
        let loaded = fresh
            .load_file(
                dir.path().join("w"),
                &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
                &device,
            )
            .unwrap();
        assert_eq!(loaded.weight.val().into_data(), weights);
    }
}
