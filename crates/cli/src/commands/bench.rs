//! `zoo bench`: milliseconds per training step of models of the registry on one backend (the
//! step `zoo train` takes: [`zoo_train::run::bench`]), beside PyTorch running the same models
//! (`tools/torch_bench.py`) in a child process, with the ratio to PyTorch. `cargo xtask bench`
//! builds and runs it.
//!
//! A case is a model's name, `NAME/tensor-ops` for the same model with the fused operations off
//! (`train.fused = false`), or `mnist-lstm/burn-nn-lstm`: mnist-lstm's network on Burn 0.21's
//! stock `burn::nn::Lstm`, for comparison.

use std::process::Command;

use anyhow::Context;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use zoo_models::{Classifier, InvalidConfig, MnistLstmConfig};
use zoo_train::backend::{BackendName, Placement};
use zoo_train::config::Overrides;
use zoo_train::data::MnistData;
use zoo_train::task::Classification;
use zoo_train::{Registration, Registry, ZooModel};

use super::compare::{tool_script, torch_importable};
use crate::cli::BenchArgs;

/// The cases timed when none is named.
const DEFAULT_CASES: [&str; 5] = [
    "mnist-lstm",
    "mnist-lstm/tensor-ops",
    "mnist-lstm/burn-nn-lstm",
    "mnist-gru",
    "mnist-cnn",
];
/// The suffix of a case with the fused operations off.
const TENSOR_OPS: &str = "/tensor-ops";

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

/// Runs `zoo bench`: the cases on the backend, then (with `--torch`) PyTorch's, and the table.
pub fn run(args: BenchArgs, registry: &Registry) -> anyhow::Result<()> {
    if args.epoch {
        return super::bench_epoch::run(&args, registry);
    }
    if args.serve {
        return super::bench_serve::run(&args);
    }
    let registry = registry.clone().with(BURN_LSTM);
    let cases: Vec<String> = match args.cases.is_empty() {
        true => DEFAULT_CASES.map(String::from).to_vec(),
        false => args.cases.clone(),
    };
    let placement = args.on.placement();
    placement.preflight()?;
    let mut rows = Vec::new();
    for case in &cases {
        rows.push(time_case(&registry, case, &placement, &args)?);
    }
    if args.torch && torch_importable() {
        let torch_device = match placement.backend {
            BackendName::Ndarray => "cpu",
            _ => "auto",
        };
        rows.extend(torch_rows(&cases, torch_device, args.steps, args.warmup)?);
    }
    println!("\n{}", table(&rows));
    Ok(())
}

/// Times one case.
fn time_case(
    registry: &Registry,
    case: &str,
    placement: &Placement,
    args: &BenchArgs,
) -> anyhow::Result<BenchRow> {
    let (model, fused) = match case.strip_suffix(TENSOR_OPS) {
        Some(model) => (model, false),
        None => (case, true),
    };
    let mut experiment = registry.load(Some(model), None).map_err(|e| {
        anyhow::anyhow!("no benchmark case `{case}` ({e}); a case is a model, MODEL{TENSOR_OPS} or mnist-lstm/burn-nn-lstm")
    })?;
    experiment.apply(&Overrides {
        fused: Some(fused),
        ..Overrides::default()
    })?;
    let timing = experiment.time_steps(placement, args.steps, args.warmup)?;
    let row = BenchRow {
        case: case.to_string(),
        backend: timing.backend,
        device: timing.device,
        ms_per_step: timing.ms_per_step,
    };
    println!(
        "[{}] {:<24} {:>9.2} ms/step",
        row.backend, row.case, row.ms_per_step
    );
    Ok(row)
}

/// The model a case is compared with in PyTorch: its name up to the first `/`.
fn torch_case(case: &str) -> &str {
    case.split('/').next().unwrap_or(case)
}

/// `mnist-lstm/burn-nn-lstm`: `mnist-lstm`'s network on Burn's stock LSTM.
const BURN_LSTM: Registration = Registration::of::<BurnLstmModel>();

/// `mnist-lstm`'s network on Burn's stock LSTM, with its config and data.
struct BurnLstmModel;

impl ZooModel for BurnLstmModel {
    const NAME: &'static str = "mnist-lstm/burn-nn-lstm";
    const DESCRIPTION: &'static str =
        "mnist-lstm's network on Burn 0.21's stock burn::nn::Lstm (zoo bench only)";
    const CONFIG: &'static str = include_str!("../../../../configs/mnist-lstm.toml");
    type Config = MnistLstmConfig;
    type Data = MnistData;
    type Task = Classification<3>;
    type Module<B: AutodiffBackend> = BurnLstmNet<B>;

    fn recipe() -> MnistLstmConfig {
        MnistLstmConfig::new()
    }

    fn init<B: AutodiffBackend>(
        config: &MnistLstmConfig,
        _: &(),
        device: &B::Device,
    ) -> BurnLstmNet<B> {
        BurnLstmNet::new(config, device)
    }

    fn check(config: &MnistLstmConfig, _data: &MnistData) -> Result<(), InvalidConfig> {
        config.validate()
    }
}

/// `burn::nn::Lstm` layers stacked as `MnistLstm`'s, and `Linear` on the last step.
#[derive(Module, Debug)]
struct BurnLstmNet<B: Backend> {
    layers: Vec<burn::nn::Lstm<B>>,
    fc: Linear<B>,
}

impl<B: Backend> BurnLstmNet<B> {
    fn new(config: &MnistLstmConfig, device: &B::Device) -> Self {
        let hidden = config.hidden_size;
        Self {
            layers: (0..config.num_layers)
                .map(|k| {
                    let input = if k == 0 { config.input_size } else { hidden };
                    burn::nn::LstmConfig::new(input, hidden, true).init(device)
                })
                .collect(),
            fc: LinearConfig::new(hidden, config.num_classes).init(device),
        }
    }
}

impl<B: Backend> Classifier<B, 3> for BurnLstmNet<B> {
    fn logits(&self, images: Tensor<B, 3>) -> Tensor<B, 2> {
        let [batch, seq, _] = images.dims();
        let x = (self.layers.iter()).fold(images, |x, lstm| lstm.forward(x, None).0);
        let hidden = x.dims()[2];
        let last = x.slice(s![.., seq - 1]).reshape([batch, hidden]);
        self.fc.forward(last)
    }
}

/// PyTorch's rows, from `tools/torch_bench.py` (one JSON object per line).
fn torch_rows(
    cases: &[String],
    device: &str,
    steps: usize,
    warmup: usize,
) -> anyhow::Result<Vec<BenchRow>> {
    let mut wanted: Vec<&str> = cases.iter().map(|c| torch_case(c)).collect();
    wanted.sort();
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
        rows.iter()
            .find(|r| r.backend.starts_with("torch") && r.case == torch_case(case))
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
