//! The `zoo` command line: `zoo train`, `zoo eval`, `zoo import`, `zoo predict`, `zoo compare`,
//! `zoo bench`, `zoo report`, `zoo models`.
// The flags' doc comments are clap's help texts, which name placeholders as `<model>`.
#![allow(rustdoc::invalid_html_tags)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use zoo_models::bench::Case;

use crate::artifacts::{new_run_dir, Summary, CONFIG_FILE, SUMMARY_FILE};
use crate::backend::{dispatch, dispatch_devices, preflight, preflight_devices, BackendName};
use crate::bench::{bench, BenchRun};
use crate::compare::CompareRun;
use crate::config::{ExperimentConfig, Overrides};
use crate::eval::EvalRun;
use crate::import::ImportRun;
use crate::predict::PredictRun;
use crate::report::{self, Entry, REPORT_FILE};
use crate::train::TrainRun;

/// Train, evaluate and list the models of the Burn model zoo.
#[derive(Debug, Parser)]
#[command(name = "zoo", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model and write its run folder (config, checkpoints, metrics, model, summary).
    Train(TrainArgs),
    /// Reload a run's model and evaluate it on the test set.
    Eval(EvalArgs),
    /// Load a PyTorch state_dict (`torch.save(model.state_dict(), FILE)`) into a zoo model and
    /// write a run folder that `zoo eval --run DIR` reads.
    Import(ImportArgs),
    /// Tag sentences with a trained `pos-tagger` run (`zoo predict --run DIR "The dog ate"`), or
    /// classify images with an MNIST model's run (`zoo predict --run DIR digit.png [--invert]`).
    Predict(PredictArgs),
    /// Train the same experiment on several backends and tabulate speed, memory and accuracy.
    Compare(CompareArgs),
    /// Time training steps of the zoo's LSTM and CNN (and Burn's own LSTM) on one backend,
    /// beside PyTorch on the same shapes: milliseconds per step and the ratio to PyTorch.
    Bench(BenchArgs),
    /// Put finished runs side by side in one self-contained HTML page: their figures, bar charts
    /// of seconds per epoch and test accuracy, and each run's curves and confusion matrix.
    Report(ReportArgs),
    /// Run the coordinator of a multi-node run (burn-collective's global orchestrator) until
    /// interrupted: `zoo coordinator --port P`, then each node `zoo train --nodes N --rank R
    /// --coordinator HOST:P --listen HOST:Q`.
    Coordinator(CoordinatorArgs),
    /// Datasets: `zoo data download mnist|fashion-mnist` fetches the four IDX archives from the
    /// standard mirrors and checks each one's SHA-256.
    #[command(subcommand)]
    Data(DataCommand),
    /// List the models of the zoo.
    Models,
}

/// `zoo coordinator` flags.
#[derive(Debug, Args)]
pub struct CoordinatorArgs {
    /// Port to listen on (all interfaces).
    #[arg(long, value_name = "P")]
    pub port: u16,
}

/// `zoo data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download a dataset's four archives (tried mirror after mirror, resumable, each checked
    /// against its published SHA-256 before it is moved into place).
    Download(DownloadArgs),
}

/// `zoo data download` flags.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The dataset.
    #[arg(value_parser = crate::download::DATASETS)]
    pub dataset: String,
    /// Folder to put the files in [default: data/mnist or data/fashion-mnist].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Base URL of a server holding the files under their standard names (repeatable; tried in
    /// the order given, instead of the built-in mirrors).
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
    /// Check the files against this SHA256SUMS file (`HEX  NAME` lines, as sha256sum writes)
    /// instead of the published checksums: for a mirror holding another edition of the files.
    #[arg(long, value_name = "FILE")]
    pub checksums: Option<PathBuf>,
    /// Seconds to wait for a connection, and for each read, before trying the next mirror.
    #[arg(long, default_value_t = 30, value_name = "S")]
    pub timeout: u64,
}

/// `zoo report` flags.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run folders written by `zoo train` (or `zoo import`), in the order to show them.
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// The page to write.
    #[arg(long, value_name = "FILE", default_value = REPORT_FILE)]
    pub out: PathBuf,
    /// The page's title.
    #[arg(long, default_value = "zoo report")]
    pub title: String,
}

/// `zoo compare` flags.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The backends, in order, comma-separated: ndarray,wgpu,cuda.
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub backends: Vec<BackendName>,
    /// Add a row for PyTorch running the same model, data and settings
    /// (tools/torch_reference.py; skipped with a note where `import torch` fails).
    #[arg(long)]
    pub torch: bool,
    /// Folder for the runs and the table [default: runs/compare-<model>-<UTC time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Device number for the GPU backends.
    #[arg(long, value_name = "N")]
    pub device: Option<usize>,
    /// The experiment.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
}

/// Which experiment, and the values that replace the config's.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// Model, a name of `zoo models` [default: mnist-lstm, or the config's model].
    #[arg(long)]
    pub model: Option<String>,
    /// Experiment file (TOML) over the model's built-in config.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Passes over the training set.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Samples per training step.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long, value_name = "F")]
    pub lr: Option<f64>,
    /// Seed of the weights, the shuffling and the toy data.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Folder of the dataset.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Which MNIST-format dataset the files hold.
    #[arg(long, value_parser = ["mnist", "fashion-mnist"])]
    pub dataset: Option<String>,
    /// Train on the first N training samples only.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
}

/// `zoo predict` flags.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Run folder (written by `zoo train`) of a `pos-tagger`, or of an MNIST-format model
    /// (mnist-lstm, mnist-cnn, small-cnn, ...).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// A text file of sentences, one per line (`-` reads standard input); prints one tagged
    /// line per line.
    #[arg(long, value_name = "FILE", conflicts_with = "inputs")]
    pub file: Option<PathBuf>,
    /// Sentences to tag (a tagger run), each one argument; or image files to classify (an MNIST
    /// model's run: PNG of any size, grey or colour), each printed with its class and top 3.
    #[arg(value_name = "SENTENCE|IMAGE", required_unless_present = "file")]
    pub inputs: Vec<String>,
    /// The images are dark ink on a light background (a drawing); MNIST's are light on dark.
    #[arg(long)]
    pub invert: bool,
    /// Backend to run the model on.
    #[arg(long, value_enum, default_value_t = BackendName::Ndarray)]
    pub backend: BackendName,
    /// Device number of the backend (wgpu: its adapters in order; cuda: the GPU) [default: the best one].
    #[arg(long, value_name = "N")]
    pub device: Option<usize>,
}

/// `zoo import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Model the file holds, a name of `zoo models`.
    #[arg(long)]
    pub model: Option<String>,
    /// Experiment file whose `[model]` shape matches the file [default: configs/<model>.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The PyTorch file (.pt / .pth) holding the state_dict.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Folder of the dataset to evaluate on [default: the config's].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run folder to write [default: runs/<model>-import-<UTC time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Backend to evaluate on.
    #[arg(long, value_enum, default_value_t = BackendName::Ndarray)]
    pub backend: BackendName,
    /// Device number of the backend (wgpu: its adapters in order; cuda: the GPU) [default: the best one].
    #[arg(long, value_name = "N")]
    pub device: Option<usize>,
}

/// `zoo train` flags; each replaces the value of the config.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Model to train, a name of `zoo models` [default: mnist-lstm, or the config's model].
    #[arg(long)]
    pub model: Option<String>,
    /// Experiment file (TOML); keys it leaves out come from the model's built-in configs/<model>.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Passes over the training set.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Samples per training step.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long, value_name = "F")]
    pub lr: Option<f64>,
    /// Seed of the weights, the shuffling and the toy data.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Folder of the four MNIST-format IDX files (raw or .gz).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Which MNIST-format dataset the files hold (class names and default folder).
    #[arg(long, value_parser = ["mnist", "fashion-mnist"])]
    pub dataset: Option<String>,
    /// Train on the first N training images only.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Run folder to write [default: runs/<model>-<UTC time>].
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Number of nodes of a multi-node run (one process per machine or device; see
    /// docs/distributed.md); with --rank, --coordinator and --listen.
    #[arg(long, value_name = "N", requires_all = ["rank", "coordinator", "listen"])]
    pub nodes: Option<u32>,
    /// This node's rank, 0 to N-1: rank 0 writes the run folder, the others only node-R.log.
    #[arg(long, value_name = "R", requires = "nodes")]
    pub rank: Option<u32>,
    /// The coordinator started with `zoo coordinator --port P`, as HOST:P.
    #[arg(long, value_name = "HOST:PORT", requires = "nodes")]
    pub coordinator: Option<String>,
    /// Where the other nodes reach this one, HOST:PORT (its tensor service listens on PORT).
    #[arg(long, value_name = "HOST:PORT", requires = "nodes")]
    pub listen: Option<String>,
    /// Seconds to wait for the coordinator, and at each step for the other nodes, before
    /// stopping with an error.
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub node_timeout: u64,
    /// Continue the unfinished run in DIR (killed, or stopped) from its last complete epoch,
    /// with its optimizer state and data order: it ends as the uninterrupted run would have.
    /// Its own config.toml is used; only --epochs may change (other flags must agree with it).
    #[arg(long, value_name = "DIR", conflicts_with = "nodes")]
    pub resume: Option<PathBuf>,
    /// Backend to train on.
    #[arg(long, value_enum, default_value_t = BackendName::Ndarray)]
    pub backend: BackendName,
    /// Device number of the backend (wgpu: its adapters in order; cuda: the GPU) [default: the best one].
    #[arg(long, value_name = "N")]
    pub device: Option<usize>,
    /// Several devices of one machine, data-parallel (cuda; refused on wgpu and ndarray): e.g. `--devices 0,1`. Each
    /// computes its share of every batch; --batch-size stays the global batch (a multiple of
    /// the device count). The first device holds the model and the optimizer.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        num_args = 1,
        conflicts_with = "device"
    )]
    pub devices: Option<Vec<usize>>,
}

/// `zoo bench` flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Backend to time.
    #[arg(long, value_enum, default_value_t = BackendName::Ndarray)]
    pub backend: BackendName,
    /// Device number of the backend (wgpu: its adapters in order; cuda: the GPU) [default: the best one].
    #[arg(long, value_name = "N")]
    pub device: Option<usize>,
    /// Only these cases (repeatable) [default: all]: mnist-lstm, mnist-lstm/tensor-ops,
    /// mnist-lstm/burn-nn-lstm, mnist-cnn.
    #[arg(long = "case", value_name = "NAME", value_parser = parse_case)]
    pub cases: Vec<Case>,
    /// Timed steps per case; the median is reported.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub steps: usize,
    /// Untimed steps before them.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub warmup: usize,
    /// Add PyTorch's times for the same cases (tools/torch_bench.py; on the GPU when the backend
    /// is wgpu or cuda and torch sees one) and the ratio to them.
    #[arg(long)]
    pub torch: bool,
}

fn parse_case(name: &str) -> Result<Case, String> {
    Case::from_name(name).ok_or_else(|| {
        let all: Vec<&str> = Case::ALL.iter().map(|c| c.name()).collect();
        format!(
            "no benchmark case `{name}`; the cases are {}",
            all.join(", ")
        )
    })
}

/// `zoo eval` flags.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run folder written by `zoo train`.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Folder of the dataset, if not the one the run was trained on.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Backend to evaluate on.
    #[arg(long, value_enum, default_value_t = BackendName::Ndarray)]
    pub backend: BackendName,
    /// Device number of the backend (wgpu: its adapters in order; cuda: the GPU) [default: the best one].
    #[arg(long, value_name = "N")]
    pub device: Option<usize>,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train(args).map(|_| ()),
        Command::Eval(args) => eval(args),
        Command::Import(args) => import(args),
        Command::Compare(args) => compare(args),
        Command::Bench(args) => {
            let cases = if args.cases.is_empty() {
                Case::ALL.to_vec()
            } else {
                args.cases
            };
            let run = BenchRun {
                cases,
                steps: args.steps,
                warmup: args.warmup,
            };
            bench(args.backend, args.device, run, args.torch).map(|_| ())
        }
        Command::Predict(args) => predict(args),
        Command::Report(args) => {
            let entries = args
                .runs
                .iter()
                .map(|dir| Entry::from_run(dir))
                .collect::<anyhow::Result<Vec<_>>>()?;
            report::write(&args.out, &args.title, &entries)?;
            println!("Report of {} runs: {}", entries.len(), args.out.display());
            Ok(())
        }
        Command::Coordinator(args) => coordinator(args.port),
        Command::Data(DataCommand::Download(args)) => {
            let mut source = crate::download::source(&args.dataset)
                .expect("clap checked the dataset name")
                .with_mirrors(&args.mirrors);
            if let Some(file) = &args.checksums {
                source = source.with_checksums(file)?;
            }
            let dir = crate::download::target_dir(&source, args.dir);
            crate::download::download(&source, &dir, Duration::from_secs(args.timeout.max(1)))?;
            let dataset = match source.name {
                "fashion-mnist" => " --dataset fashion-mnist",
                _ => "",
            };
            println!(
                "{} is in {}; train on it with: cargo xtask train --data-dir {}{dataset}",
                source.name,
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        Command::Models => {
            for info in zoo_models::registry() {
                println!("{:<18} {}", info.name, info.description);
            }
            Ok(())
        }
    }
}

fn train(args: TrainArgs) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let node = node_spec(&args)?;
    let overrides = Overrides {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        seed: args.seed,
        data_dir: args.data_dir,
        dataset: args.dataset,
        train_limit: args.train_limit,
    };
    let requested = |saved: Option<&ExperimentConfig>| -> anyhow::Result<ExperimentConfig> {
        let mut config = match (saved, &args.model, &args.config) {
            (Some(saved), None, None) => saved.clone(),
            _ => ExperimentConfig::load(args.model.as_deref(), args.config.as_deref())?,
        };
        config.apply(&overrides)?;
        config.pin_data_dir();
        Ok(config)
    };
    let config = match &args.resume {
        Some(dir) => {
            let saved = resumable_config(dir)?;
            let config = requested(Some(&saved))?;
            check_resumable(dir, &saved, &config)?;
            config
        }
        None => requested(None)?,
    };
    match &args.devices {
        Some(devices) => {
            anyhow::ensure!(
                node.is_none(),
                "--devices with --nodes: a node trains on one device; start one node per device \
                 instead, each with its own --device (docs/distributed.md)"
            );
            preflight_devices(args.backend, devices)?
        }
        None => preflight(args.backend, args.device)?,
    }
    // A node other than rank 0 trains in a scratch folder and keeps only its log.
    let follower = node.as_ref().filter(|n| n.rank != 0).map(|n| n.rank);
    let (dir, scratch) = match (&args.resume, follower) {
        (Some(dir), _) => (dir.clone(), None),
        (None, None) => (new_run_dir(args.out.as_deref(), &config.model.name)?, None),
        (None, Some(rank)) => {
            let name = format!("{}-node-{rank}", config.model.name);
            let log_dir = new_run_dir(args.out.as_deref(), &name)?;
            let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
            (scratch.path().to_path_buf(), Some((scratch, log_dir, rank)))
        }
    };
    let run = TrainRun {
        config,
        dir: dir.clone(),
        resume: args.resume.is_some(),
        started,
        #[cfg(feature = "distributed")]
        node,
    };
    let summary = match &args.devices {
        Some(devices) => dispatch_devices(args.backend, devices, run),
        None => dispatch(args.backend, args.device, run),
    };
    if let Some((_scratch, log_dir, rank)) = scratch {
        let log = log_dir.join(format!("node-{rank}.log"));
        let metrics =
            std::fs::read_to_string(dir.join(crate::artifacts::METRICS_FILE)).unwrap_or_default();
        let text = match &summary {
            Ok(s) => format!(
                "node {rank} of {}: {} epochs of {} finished\nweights_sha256 {}\nallreduce {}\ntest_accuracy {:?}\n\n{metrics}",
                s.nodes.unwrap_or(1),
                s.epochs,
                s.model,
                s.weights_sha256,
                serde_json::to_string(&s.allreduce).unwrap_or_default(),
                s.test_accuracy,
            ),
            Err(err) => format!("node {rank}: error: {err:#}\n\n{metrics}"),
        };
        crate::artifacts::write_atomic(&log, text.as_bytes())?;
        println!("Node {rank} log: {}", log.display());
    }
    let summary = summary?;
    if summary.nodes.is_some() {
        println!("Weights SHA-256: {}", summary.weights_sha256);
    }
    Ok(summary)
}

/// The node flags, checked (`None` for a single-process run).
#[cfg(feature = "distributed")]
fn node_spec(args: &TrainArgs) -> anyhow::Result<Option<crate::distributed::NodeSpec>> {
    crate::distributed::NodeSpec::from_flags(
        args.nodes,
        args.rank,
        args.coordinator.clone(),
        args.listen.clone(),
        Duration::from_secs(args.node_timeout.max(1)),
    )
}

#[cfg(not(feature = "distributed"))]
const NO_DISTRIBUTED: &str =
    "this zoo was built without multi-node training (cargo feature `distributed` of zoo-train)";

#[cfg(not(feature = "distributed"))]
fn node_spec(args: &TrainArgs) -> anyhow::Result<Option<NoNodes>> {
    anyhow::ensure!(args.nodes.is_none(), NO_DISTRIBUTED);
    Ok(None)
}

/// Stands in for the node spec in a build without the `distributed` feature.
#[cfg(not(feature = "distributed"))]
struct NoNodes {
    rank: u32,
}

#[cfg(feature = "distributed")]
fn coordinator(port: u16) -> anyhow::Result<()> {
    crate::distributed::run_coordinator(port)
}

#[cfg(not(feature = "distributed"))]
fn coordinator(_port: u16) -> anyhow::Result<()> {
    anyhow::bail!(NO_DISTRIBUTED)
}

/// The config of the unfinished run in `dir`, or why it cannot be resumed.
fn resumable_config(dir: &Path) -> anyhow::Result<ExperimentConfig> {
    anyhow::ensure!(
        dir.is_dir(),
        "cannot resume {}: no such folder (give the run folder that `zoo train` printed)",
        dir.display()
    );
    let file = dir.join(CONFIG_FILE);
    anyhow::ensure!(
        file.is_file(),
        "cannot resume {}: it holds no {CONFIG_FILE}, so it is not a run folder written by `zoo train`",
        dir.display()
    );
    if dir.join(SUMMARY_FILE).exists() {
        anyhow::bail!(
            "{} is a finished run ({SUMMARY_FILE} is written); there is nothing to resume. To train longer, start a new run",
            dir.display()
        );
    }
    let mut saved = ExperimentConfig::load(None, Some(&file))?;
    saved.pin_data_dir();
    Ok(saved)
}

/// Refuses to continue a run as another model or with other settings: only the number of epochs
/// may change.
fn check_resumable(
    dir: &Path,
    saved: &ExperimentConfig,
    requested: &ExperimentConfig,
) -> anyhow::Result<()> {
    if saved.model.name != requested.model.name {
        anyhow::bail!(
            "{} is a run of `{}`; it cannot be resumed as `{}` (leave --model out, or start a new run)",
            dir.display(),
            saved.model.name,
            requested.model.name
        );
    }
    let differences = saved.differences(requested, &["train.epochs"]);
    if !differences.is_empty() {
        anyhow::bail!(
            "cannot resume {} with another configuration: {}. A resumed run continues with its own settings (only --epochs may change); start a new run to train with these",
            dir.display(),
            differences.join("; ")
        );
    }
    Ok(())
}

fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let e = args.experiment;
    let mut config = ExperimentConfig::load(e.model.as_deref(), e.config.as_deref())?;
    config.apply(&Overrides {
        epochs: e.epochs,
        batch_size: e.batch_size,
        lr: e.lr,
        seed: e.seed,
        data_dir: e.data_dir,
        dataset: e.dataset,
        train_limit: e.train_limit,
    })?;
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

fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let lines = match &args.file {
        None => args.inputs,
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| anyhow::anyhow!("cannot read standard input: {e}"))?
            } else {
                std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("{}: cannot read the sentences: {e}", path.display())
                })?
            };
            text.lines().map(str::to_string).collect()
        }
    };
    let tagged = dispatch(
        args.backend,
        args.device,
        PredictRun {
            dir: args.run,
            inputs: lines,
            invert: args.invert,
        },
    )?;
    for line in tagged {
        println!("{line}");
    }
    Ok(())
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let mut config = ExperimentConfig::load(args.model.as_deref(), args.config.as_deref())?;
    config.apply(&Overrides {
        data_dir: args.data_dir,
        ..Overrides::default()
    })?;
    config.pin_data_dir();
    preflight(args.backend, args.device)?;
    let name = format!("{}-import", config.model.name);
    let dir = new_run_dir(args.out.as_deref(), &name)?;
    dispatch(
        args.backend,
        args.device,
        ImportRun {
            config,
            from: args.from,
            dir,
        },
    )
    .map(|_| ())
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let summary = Summary::read(&args.run).ok();
    let test = dispatch(
        args.backend,
        args.device,
        EvalRun {
            dir: args.run.clone(),
            data_dir: args.data_dir,
        },
    )?;
    if let Some(summary) = summary {
        // A tagger counts tokens, the other models samples.
        let count = summary
            .tagging
            .as_ref()
            .map_or(summary.test_samples, |t| t.tokens);
        let same = summary.test_correct == test.correct && count == test.count;
        println!(
            "The run's summary recorded {}/{count} correct: {}",
            summary.test_correct.map_or("-".into(), |c| c.to_string()),
            if same {
                "reproduced exactly"
            } else {
                "NOT reproduced (different data or backend?)"
            }
        );
    }
    Ok(())
}
