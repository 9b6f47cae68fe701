//! `zoo compare`: the same experiment (config and seed) trained on several backends, one after
//! the other, each in its own `zoo train` process (so each has its own peak memory), optionally
//! beside PyTorch running `tools/torch_reference.py` on the same model, data and settings; one
//! table (`compare.md`, `compare.json`) of seconds per epoch, samples per second, peak memory and
//! test accuracy.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use zoo_train::backend::{BackendName, Placement};
use zoo_train::run::artifacts::{new_run_dir, write_atomic, Summary, CONFIG_FILE};
use zoo_train::{LoadedExperiment, Registry};

use crate::cli::CompareArgs;
use crate::report::{self, Entry, REPORT_FILE};

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    /// `ndarray`, `wgpu`, `cuda`, or `torch (cpu)` / `torch (cuda)`.
    pub backend: String,
    /// The device's name.
    pub device: String,
    /// Seconds of one training pass over the training set.
    pub seconds_per_epoch: Option<f64>,
    /// Training samples per second.
    pub samples_per_second: Option<f64>,
    /// Peak resident host memory of the process, MiB.
    pub peak_memory_mib: Option<f64>,
    /// Test accuracy of the final model.
    pub test_accuracy: Option<f64>,
    /// Why the row has no figures, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `compare.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The model compared.
    pub model: String,
    /// Epochs each backend trained.
    pub epochs: usize,
    /// Training samples per epoch.
    pub train_samples: Option<usize>,
    /// The seed all rows share.
    pub seed: u64,
    /// One row per backend, in the order asked.
    pub rows: Vec<CompareRow>,
}

/// Runs `zoo compare`.
pub fn run(args: CompareArgs, registry: &Registry) -> anyhow::Result<()> {
    let e = &args.experiment;
    let mut config = registry.load(e.model.as_deref(), e.config.as_deref())?;
    config.apply(&e.overrides())?;
    config.pin_data_dir();
    CompareRun {
        config,
        backends: args.backends,
        device: args.device,
        torch: args.torch,
        out: args.out,
    }
    .run()
    .map(|_| ())
}

/// What to compare.
pub struct CompareRun {
    /// The experiment, flags applied.
    pub config: Box<dyn LoadedExperiment>,
    /// The backends, in order.
    pub backends: Vec<BackendName>,
    /// `--device` for the GPU backends.
    pub device: Option<usize>,
    /// Add a PyTorch row.
    pub torch: bool,
    /// The output folder (default: `runs/compare-<model>-<UTC time>`).
    pub out: Option<PathBuf>,
}

impl CompareRun {
    /// Trains on every backend and writes the table; fails (after writing what it has) when a
    /// backend failed.
    pub fn run(self) -> anyhow::Result<Comparison> {
        // Every backend is checked before the first one trains.
        for &backend in &self.backends {
            let device = (backend != BackendName::Ndarray)
                .then_some(self.device)
                .flatten();
            Placement::new(backend, device).preflight()?;
        }
        let out = new_run_dir(
            self.out.as_deref(),
            &format!("compare-{}", self.config.model_name()),
        )?;
        let config_path = out.join(CONFIG_FILE);
        write_atomic(&config_path, self.config.to_toml().as_bytes())?;
        let exe = std::env::current_exe().context("cannot find the zoo binary itself")?;

        let mut rows = Vec::new();
        let mut train_samples = None;
        for &backend in &self.backends {
            let dir = out.join(backend.as_str());
            let log = out.join(format!("{backend}.log"));
            println!(
                "[{backend}] training {} ({} epochs); log in {}",
                self.config.model_name(),
                self.config.train_section().epochs,
                log.display()
            );
            let command = train_command(&exe, &config_path, backend, self.device, &dir);
            let row = match run_logged(command, &log) {
                Ok(()) => {
                    let summary = Summary::read(&dir)?;
                    train_samples = Some(summary.train_samples);
                    row_of(&summary)
                }
                Err(error) => failed_row(backend.as_str(), error),
            };
            print_row(&row);
            rows.push(row);
        }
        if self.torch {
            rows.extend(self.torch_row(&config_path, &out)?);
        }

        let comparison = Comparison {
            model: self.config.model_name().to_string(),
            epochs: self.config.train_section().epochs,
            train_samples,
            seed: self.config.train_section().seed,
            rows,
        };
        let json = serde_json::to_string_pretty(&comparison).expect("comparisons serialize");
        write_atomic(&out.join("compare.json"), format!("{json}\n").as_bytes())?;
        let table = markdown(&comparison);
        write_atomic(&out.join("compare.md"), table.as_bytes())?;
        report::write(
            &out.join(REPORT_FILE),
            &format!("zoo compare: {}", comparison.model),
            &report_entries(&comparison, &out),
        )?;
        println!("\n{table}");
        println!(
            "Written: {}, {} and {}",
            out.join("compare.md").display(),
            out.join("compare.json").display(),
            out.join(REPORT_FILE).display()
        );
        if let Some(bad) = comparison.rows.iter().find(|r| r.error.is_some()) {
            anyhow::bail!(
                "backend `{}` failed: {}",
                bad.backend,
                bad.error.as_deref().unwrap_or("")
            );
        }
        Ok(comparison)
    }

    /// The PyTorch row, or `None` (with a note) when `python3` cannot import torch.
    fn torch_row(&self, config_path: &Path, out: &Path) -> anyhow::Result<Option<CompareRow>> {
        if !torch_importable() {
            return Ok(None);
        }
        let dir = out.join("torch");
        let log = out.join("torch.log");
        println!(
            "[torch] training {} with tools/torch_reference.py; log in {}",
            self.config.model_name(),
            log.display()
        );
        let command = torch_command(config_path, &dir, self.config.data_dir(), false)?;
        let row = match run_logged(command, &log) {
            Ok(()) => {
                let summary = TorchSummary::read(&dir)?;
                CompareRow {
                    backend: summary.backend,
                    device: summary.device,
                    seconds_per_epoch: Some(summary.seconds_per_epoch),
                    samples_per_second: Some(summary.samples_per_second),
                    peak_memory_mib: summary.peak_memory_mib,
                    test_accuracy: summary.test_accuracy,
                    error: None,
                }
            }
            Err(error) => failed_row("torch", error),
        };
        print_row(&row);
        Ok(Some(row))
    }
}

/// The report's entries of a comparison: each backend's run (with its pictures), the PyTorch
/// row and failed rows from the table.
fn report_entries(comparison: &Comparison, out: &Path) -> Vec<Entry> {
    comparison
        .rows
        .iter()
        .map(|row| {
            let dir = out.join(&row.backend);
            match Summary::read(&dir) {
                Ok(summary) if row.error.is_none() => {
                    Entry::from_summary(row.backend.clone(), &summary, Some(dir))
                }
                _ => Entry {
                    name: row.backend.clone(),
                    model: comparison.model.clone(),
                    backend: row.backend.clone(),
                    device: row.device.clone(),
                    epochs: row.error.is_none().then_some(comparison.epochs),
                    seconds_per_epoch: row.seconds_per_epoch,
                    test_accuracy: row.test_accuracy,
                    test_loss: None,
                    dir: None,
                    error: row.error.clone(),
                },
            }
        })
        .collect()
}

/// What `tools/torch_reference.py` writes.
#[derive(Debug, Deserialize)]
pub(crate) struct TorchSummary {
    pub backend: String,
    pub device: String,
    pub seconds_per_epoch: f64,
    pub samples_per_second: f64,
    pub peak_memory_mib: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub train_samples: Option<usize>,
    pub test_seconds: Option<f64>,
    pub test_samples: Option<usize>,
}

impl TorchSummary {
    /// `dir/summary.json`, as the reference wrote it.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(dir.join("summary.json"))
            .with_context(|| format!("{}: no summary.json", dir.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not the reference's summary", dir.display()))
    }
}

/// `zoo train --config CONFIG --backend BACKEND [--device N] --out DIR`, by this very binary.
pub(crate) fn train_command(
    exe: &Path,
    config: &Path,
    backend: BackendName,
    device: Option<usize>,
    dir: &Path,
) -> Command {
    let mut command = Command::new(exe);
    command
        .arg("train")
        .arg("--config")
        .arg(config)
        .args(["--backend", backend.as_str(), "--out"])
        .arg(dir);
    if let (Some(index), true) = (device, backend != BackendName::Ndarray) {
        command.args(["--device", &index.to_string()]);
    }
    command
}

/// `python3 tools/torch_reference.py --config CONFIG --out DIR [--data-dir D] [--cpu]`.
pub(crate) fn torch_command(
    config: &Path,
    dir: &Path,
    data_dir: Option<PathBuf>,
    cpu: bool,
) -> anyhow::Result<Command> {
    let mut command = Command::new("python3");
    command
        .arg(tool_script("torch_reference.py")?)
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(dir);
    if let Some(data) = data_dir {
        command.arg("--data-dir").arg(data);
    }
    if cpu {
        command.arg("--cpu");
    }
    Ok(command)
}

/// `tools/NAME` of this checkout: beside the sources `zoo` was built from, or under the current
/// folder (a copied checkout on another machine).
pub(crate) fn tool_script(name: &str) -> anyhow::Result<PathBuf> {
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools")
        .join(name);
    let here = Path::new("tools").join(name);
    [built.clone(), here]
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{}: the PyTorch script is missing (run zoo from its checkout)",
                built.display()
            )
        })
}

/// Whether `python3 -c "import torch"` works here; when not, says that PyTorch's row is skipped.
pub(crate) fn torch_importable() -> bool {
    let importable = Command::new("python3")
        .args(["-c", "import torch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !importable {
        println!(
            "[torch] skipped: `python3 -c \"import torch\"` fails on this machine (pip install torch)"
        );
    }
    importable
}

/// Runs `command` with its output in `log`; an error carries its last `error:` line.
pub(crate) fn run_logged(mut command: Command, log: &Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let status = command
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("no output")
        .trim_start_matches("error:")
        .trim()
        .to_string();
    anyhow::bail!("{last} ({status}; see {})", log.display())
}

fn row_of(summary: &Summary) -> CompareRow {
    CompareRow {
        backend: summary.backend.clone(),
        device: summary.device.clone(),
        seconds_per_epoch: Some(summary.seconds_per_epoch),
        samples_per_second: Some(summary.samples_per_second),
        peak_memory_mib: summary.peak_memory_mib,
        test_accuracy: summary.test_accuracy,
        error: None,
    }
}

/// The row of a backend that failed, with its error.
pub fn failed_row(backend: &str, error: anyhow::Error) -> CompareRow {
    CompareRow {
        backend: backend.to_string(),
        device: "-".into(),
        seconds_per_epoch: None,
        samples_per_second: None,
        peak_memory_mib: None,
        test_accuracy: None,
        error: Some(error.to_string()),
    }
}

fn print_row(row: &CompareRow) {
    match &row.error {
        Some(error) => println!("[{}] failed: {error}", row.backend),
        None => println!(
            "[{}] {}: {} s/epoch, test accuracy {}",
            row.backend,
            row.device,
            figure(row.seconds_per_epoch, 2),
            figure(row.test_accuracy, 4)
        ),
    }
}

/// `value` with `decimals` decimals, or `-` when there is none.
pub(crate) fn figure(value: Option<f64>, decimals: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

/// The table of `compare.md`.
pub fn markdown(comparison: &Comparison) -> String {
    let mut table = format!(
        "{}, {} epoch(s), {} training samples, seed {}\n\n\
         | backend | device | s/epoch | samples/s | peak host memory (MiB) | test accuracy |\n\
         | --- | --- | ---: | ---: | ---: | ---: |\n",
        comparison.model,
        comparison.epochs,
        comparison
            .train_samples
            .map_or("?".into(), |n| n.to_string()),
        comparison.seed
    );
    for row in &comparison.rows {
        let accuracy = match &row.error {
            Some(error) => format!("failed: {}", error.replace('|', "/")),
            None => figure(row.test_accuracy, 4),
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.backend,
            row.device.replace('|', "/"),
            figure(row.seconds_per_epoch, 2),
            figure(row.samples_per_second, 0),
            figure(row.peak_memory_mib, 0),
            accuracy
        ));
    }
    table
}
