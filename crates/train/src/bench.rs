//! `zoo bench`: milliseconds per training step of the benchmark cases of
//! [`zoo_models::bench`] on one backend, beside PyTorch running the same cases
//! (`tools/torch_bench.py`) in a child process, with the ratio to PyTorch. `cargo xtask bench`
//! builds and runs it.

use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use zoo_models::bench::{Case, Stepper};

use crate::backend::{dispatch, BackendJob, BackendName, Target};
use crate::compare::{tool_script, torch_importable};

/// What `zoo bench` measures.
#[derive(Debug, Clone)]
pub struct BenchRun {
    /// The cases, in order.
    pub cases: Vec<Case>,
    /// Timed steps per case (the median is reported).
    pub steps: usize,
    /// Untimed steps first (kernel compilation, autotuning, allocator warm-up).
    pub warmup: usize,
}

/// One measured case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    /// The case (`mnist-lstm`, `mnist-cnn`, …).
    pub case: String,
    /// `ndarray`, `wgpu`, `cuda`, or `torch 2.x (cpu|cuda)`.
    pub backend: String,
    /// The device's name.
    pub device: String,
    /// Median milliseconds per training step.
    pub ms_per_step: f64,
}

impl BackendJob for BenchRun {
    type Output = Vec<BenchRow>;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        target: Target,
    ) -> anyhow::Result<Vec<BenchRow>> {
        let mut rows = Vec::new();
        for case in self.cases {
            let mut stepper = Stepper::<B>::new(case, &device);
            for _ in 0..self.warmup {
                stepper.step();
            }
            let mut times: Vec<f64> = (0..self.steps.max(1))
                .map(|_| {
                    let start = Instant::now();
                    let loss = stepper.step();
                    let ms = start.elapsed().as_secs_f64() * 1000.0;
                    assert!(loss.is_finite(), "{}: the loss became {loss}", case.name());
                    ms
                })
                .collect();
            times.sort_by(f64::total_cmp);
            let row = BenchRow {
                case: case.name().to_string(),
                backend: target.backend.to_string(),
                device: target.device_name.clone(),
                ms_per_step: times[times.len() / 2],
            };
            println!(
                "[{}] {:<24} {:>9.2} ms/step",
                row.backend, row.case, row.ms_per_step
            );
            rows.push(row);
        }
        Ok(rows)
    }
}

/// Runs the cases on `backend`, then (when `torch`) PyTorch's, and prints the table.
pub fn bench(
    backend: BackendName,
    device: Option<usize>,
    run: BenchRun,
    torch: bool,
) -> anyhow::Result<Vec<BenchRow>> {
    let (steps, warmup) = (run.steps, run.warmup);
    let cases = run.cases.clone();
    let mut rows = dispatch(backend, device, run)?;
    if torch && torch_importable() {
        let torch_device = if backend == BackendName::Ndarray {
            "cpu"
        } else {
            "auto"
        };
        rows.extend(torch_rows(&cases, torch_device, steps, warmup)?);
    }
    println!("\n{}", table(&rows));
    Ok(rows)
}

/// PyTorch's rows, from `tools/torch_bench.py` (one JSON object per line).
fn torch_rows(
    cases: &[Case],
    device: &str,
    steps: usize,
    warmup: usize,
) -> anyhow::Result<Vec<BenchRow>> {
    let mut wanted: Vec<&str> = cases.iter().map(|c| c.torch_case()).collect();
    wanted.dedup();
    let script = tool_script("torch_bench.py")?;
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .args(["--device", device])
        .args(["--steps", &steps.to_string()])
        .args(["--warmup", &warmup.to_string()]);
    for case in &wanted {
        command.args(["--case", case]);
    }
    println!("[torch] {}", script.display());
    let output = command
        .output()
        .with_context(|| format!("cannot start python3 {}", script.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        anyhow::bail!("{}: {last} ({})", script.display(), output.status);
    }
    let rows: Vec<BenchRow> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: output is not the expected JSON", script.display()))?;
    for row in &rows {
        println!("[torch] {:<24} {:>9.2} ms/step", row.case, row.ms_per_step);
    }
    Ok(rows)
}

/// The markdown table: every row, and its time over PyTorch's for the same model.
pub fn table(rows: &[BenchRow]) -> String {
    let torch = |case: &str| {
        let torch_case =
            Case::from_name(case).map_or(case.to_string(), |c| c.torch_case().to_string());
        rows.iter()
            .find(|r| r.backend.starts_with("torch") && r.case == torch_case)
            .map(|r| r.ms_per_step)
    };
    let mut out = String::from(
        "| case | backend | device | ms/step | × PyTorch |\n| --- | --- | --- | ---: | ---: |\n",
    );
    for row in rows {
        let ratio = match torch(&row.case) {
            Some(t) if !row.backend.starts_with("torch") && t > 0.0 => {
                format!("{:.2}", row.ms_per_step / t)
            }
            _ => "—".to_string(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {} |\n",
            row.case, row.backend, row.device, row.ms_per_step, ratio
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(case: &str, backend: &str, ms: f64) -> BenchRow {
        BenchRow {
            case: case.into(),
            backend: backend.into(),
            device: "CPU".into(),
            ms_per_step: ms,
        }
    }

    #[test]
    fn each_row_is_divided_by_pytorchs_time_for_the_same_model() {
        let table = table(&[
            row("mnist-lstm", "ndarray", 150.0),
            row("mnist-lstm/burn-nn-lstm", "ndarray", 300.0),
            row("mnist-cnn", "ndarray", 45.0),
            row("mnist-lstm", "torch 2.15.0 (cpu)", 100.0),
            row("mnist-cnn", "torch 2.15.0 (cpu)", 30.0),
        ]);
        let ratios: Vec<&str> = table
            .lines()
            .skip(2)
            .map(|l| l.trim_end_matches(" |").rsplit("| ").next().unwrap())
            .collect();
        assert_eq!(ratios, ["1.50", "3.00", "1.50", "—", "—"], "{table}");
    }
}
