//! `zoo bench --epoch`: what a user watches, timed against PyTorch. For each model, `zoo train
//! --epochs 1` (this binary, in its own process, as a user runs it) and `tools/torch_reference.py`
//! (the same model, data, split, batch and optimizer, written as a PyTorch user writes the loop)
//! take turns for a number of rounds, so that both sides share this machine's drift; the best
//! round of each side gives the seconds of the training epoch and of the pass over the test set,
//! per sample, and their ratio to PyTorch's. Peak memory is each process's own. On ndarray,
//! [`super::bench_infer`] then times `zoo eval` and `zoo predict` of the trained runs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use zoo_train::backend::BackendName;
use zoo_train::config::Overrides;
use zoo_train::run::artifacts::{new_run_dir, write_atomic, Summary, CONFIG_FILE};
use zoo_train::Registry;

use super::bench_infer;
use super::compare::{
    figure, run_logged, torch_command, torch_importable, train_command, TorchSummary,
};
use crate::cli::BenchArgs;

/// The models timed when no `--case` is given: those tools/torch_reference.py has a twin of
/// (every built-in one; a model registered by a user's own program has none).
const DEFAULT_MODELS: [&str; 9] = [
    "mnist-lstm",
    "mnist-lstm-small",
    "mnist-gru",
    "mnist-cnn",
    "small-cnn",
    "regression",
    "classification",
    "pos-tagger",
    "pos-tagger-char",
];

/// One side's figures from one run.
#[derive(Debug, Clone)]
pub struct Side {
    /// `ndarray`, `wgpu`, `cuda`, or `torch 2.x (cpu|cuda)`.
    pub backend: String,
    /// Seconds of the training pass.
    pub seconds_per_epoch: f64,
    /// Samples it trained on.
    pub train_samples: usize,
    /// Seconds of the pass over the test set, if timed.
    pub test_seconds: Option<f64>,
    /// Samples of the test set (images, or sentences).
    pub test_samples: usize,
    /// Peak resident host memory of the process, MiB.
    pub peak_memory_mib: Option<f64>,
}

impl Side {
    fn of_zoo(summary: &Summary) -> Self {
        Side {
            backend: summary.backend.clone(),
            seconds_per_epoch: summary.seconds_per_epoch,
            train_samples: summary.train_samples,
            test_seconds: summary.test_seconds,
            test_samples: summary.test_samples,
            peak_memory_mib: summary.peak_memory_mib,
        }
    }

    fn of_torch(summary: &TorchSummary) -> Self {
        Side {
            backend: summary.backend.clone(),
            seconds_per_epoch: summary.seconds_per_epoch,
            train_samples: summary.train_samples.unwrap_or(0),
            test_seconds: summary.test_seconds,
            test_samples: summary.test_samples.unwrap_or(0),
            peak_memory_mib: summary.peak_memory_mib,
        }
    }

    /// Seconds per training sample.
    pub fn per_train_sample(&self) -> f64 {
        self.seconds_per_epoch / self.train_samples.max(1) as f64
    }

    /// Seconds per test sample, if the test pass was timed.
    pub fn per_test_sample(&self) -> Option<f64> {
        self.test_seconds
            .map(|s| s / self.test_samples.max(1) as f64)
    }

    fn line(&self, model: &str, round: usize) -> String {
        format!(
            "[{}] {model} round {round}: epoch {:.2} s ({:.0} samples/s), test pass {} s, peak {} MiB",
            self.backend,
            self.seconds_per_epoch,
            1.0 / self.per_train_sample(),
            figure(self.test_seconds, 2),
            figure(self.peak_memory_mib, 0),
        )
    }
}

/// The best of two runs of one side: the epoch, the test pass and the peak memory each at their
/// least.
pub fn best(kept: Option<Side>, new: Side) -> Side {
    let Some(kept) = kept else { return new };
    Side {
        seconds_per_epoch: kept.seconds_per_epoch.min(new.seconds_per_epoch),
        test_seconds: least(kept.test_seconds, new.test_seconds),
        peak_memory_mib: least(kept.peak_memory_mib, new.peak_memory_mib),
        ..new
    }
}

/// The lesser of two optional figures, or the one that exists.
pub(crate) fn least(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Runs `zoo bench --epoch`.
pub fn run(args: &BenchArgs, registry: &Registry) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rounds >= 1,
        "--rounds {}: give at least 1",
        args.rounds
    );
    let placement = args.on.placement();
    placement.preflight()?;
    let models: Vec<String> = match args.cases.is_empty() {
        true => DEFAULT_MODELS.map(String::from).to_vec(),
        false => args.cases.clone(),
    };
    // Every model is loaded before the first one trains: a wrong name fails at once.
    let mut experiments = Vec::new();
    for model in &models {
        let mut experiment = registry.load(Some(model), None)?;
        experiment.apply(&Overrides {
            epochs: Some(1),
            ..Overrides::default()
        })?;
        experiment.pin_data_dir();
        experiments.push(experiment);
    }
    let torch = torch_importable();
    let out = new_run_dir(args.out.as_deref(), "bench-epoch")?;
    let exe = std::env::current_exe().context("cannot find the zoo binary itself")?;
    let (mut rows, mut inference) = (Vec::new(), Vec::new());
    for (model, experiment) in models.iter().zip(&experiments) {
        let dir = out.join(model);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let config = dir.join(CONFIG_FILE);
        write_atomic(&config, experiment.to_toml().as_bytes())?;
        let turns = Turns {
            exe: &exe,
            config: &config,
            dir: &dir,
            data_dir: experiment.data_dir(),
            backend: placement.backend,
            device: placement.device,
            torch,
        };
        let (zoo, torch_side) = turns.take(model, args.rounds)?;
        if placement.backend == BackendName::Ndarray {
            let torch_run = dir.join("torch-1");
            let runs = bench_infer::Runs {
                exe: &exe,
                config: &config,
                zoo_run: &dir.join("zoo-1"),
                torch_run: torch_side.is_some().then_some(torch_run.as_path()),
                data_dir: experiment.data_dir(),
                dir: &dir,
            };
            let (zoo_infer, torch_infer) = runs.take(args.rounds)?;
            inference.push((model.clone(), zoo.test_samples, zoo_infer, torch_infer));
        }
        rows.push((model.clone(), zoo, torch_side));
    }
    let mut table = markdown(&rows, args.rounds);
    if inference.is_empty() {
        table.push_str("\nInference is timed on ndarray only (PyTorch's side runs on the CPU).\n");
    } else {
        table.push('\n');
        table.push_str(&bench_infer::markdown(&inference));
    }
    write_atomic(&out.join("bench-epoch.md"), table.as_bytes())?;
    println!("\n{table}");
    println!("Written: {}", out.join("bench-epoch.md").display());
    Ok(())
}

/// One model's runs: the zoo's and PyTorch's, taking turns.
struct Turns<'a> {
    exe: &'a Path,
    config: &'a Path,
    dir: &'a Path,
    data_dir: Option<PathBuf>,
    backend: BackendName,
    device: Option<usize>,
    torch: bool,
}

impl Turns<'_> {
    /// `rounds` rounds of a zoo run then a PyTorch run; the best of each side.
    fn take(&self, model: &str, rounds: usize) -> anyhow::Result<(Side, Option<Side>)> {
        let (mut zoo, mut torch) = (None, None);
        for round in 1..=rounds {
            let run = self.dir.join(format!("zoo-{round}"));
            let log = self.dir.join(format!("zoo-{round}.log"));
            let command = train_command(self.exe, self.config, self.backend, self.device, &run);
            run_logged(command, &log)
                .with_context(|| format!("`zoo train --model {model}` failed"))?;
            let side = Side::of_zoo(&Summary::read(&run)?);
            println!("{}", side.line(model, round));
            zoo = Some(best(zoo, side));
            if !self.torch {
                continue;
            }
            let run = self.dir.join(format!("torch-{round}"));
            let log = self.dir.join(format!("torch-{round}.log"));
            let cpu = self.backend == BackendName::Ndarray;
            let command = torch_command(self.config, &run, self.data_dir.clone(), cpu)?;
            run_logged(command, &log)
                .with_context(|| format!("tools/torch_reference.py failed on {model}"))?;
            let side = Side::of_torch(&TorchSummary::read(&run)?);
            println!("{}", side.line(model, round));
            torch = Some(best(torch, side));
        }
        Ok((zoo.expect("at least one round"), torch))
    }
}

/// `zoo / torch` of two times, if both exist.
pub(crate) fn ratio(zoo: Option<f64>, torch: Option<f64>) -> String {
    match (zoo, torch) {
        (Some(z), Some(t)) if t > 0.0 => {
            // Two decimals; three significant digits below 0.1 (a start against torch's import).
            let r = z / t;
            let decimals = match r > 0.0 && r < 0.1 {
                true => (2.0 - r.log10().floor()) as usize,
                false => 2,
            };
            format!("{r:.decimals$}×")
        }
        _ => "-".into(),
    }
}

/// The table: per model, the zoo's and PyTorch's best epoch and test pass, and their ratios per
/// sample (below 1: the zoo is faster).
pub fn markdown(rows: &[(String, Side, Option<Side>)], rounds: usize) -> String {
    let mut table = format!(
        "Best of {rounds} round(s) per side, one training epoch each; ratios per sample, zoo / \
         PyTorch (below 1.00×: the zoo is faster)\n\n\
         | model | zoo s/epoch | PyTorch s/epoch | epoch ratio | zoo test s | PyTorch test s \
         | test ratio | zoo peak MiB | PyTorch peak MiB |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for (model, zoo, torch) in rows {
        let torch = torch.as_ref();
        table.push_str(&format!(
            "| {model} | {:.2} | {} | {} | {} | {} | {} | {} | {} |\n",
            zoo.seconds_per_epoch,
            figure(torch.map(|t| t.seconds_per_epoch), 2),
            ratio(
                Some(zoo.per_train_sample()),
                torch.map(Side::per_train_sample)
            ),
            figure(zoo.test_seconds, 2),
            figure(torch.and_then(|t| t.test_seconds), 2),
            ratio(zoo.per_test_sample(), torch.and_then(Side::per_test_sample)),
            figure(zoo.peak_memory_mib, 0),
            figure(torch.and_then(|t| t.peak_memory_mib), 0),
        ));
    }
    table
}
