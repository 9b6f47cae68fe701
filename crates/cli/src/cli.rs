//! The `zoo` command line's flags (clap): `zoo train`, `zoo eval`, `zoo import`, `zoo predict`,
//! `zoo compare`, `zoo bench`, `zoo check`, `zoo report`, `zoo coordinator`, `zoo data`, `zoo models`.
// The flags' doc comments are clap's help texts, which name placeholders as `<model>`.
#![allow(rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use zoo_models::import::Rename;
use zoo_train::backend::{BackendName, Placement};
use zoo_train::config::Overrides;
use zoo_train::data::DataFlags;

use crate::download::DATASETS;
use crate::report::REPORT_FILE;

/// Train, evaluate and list the models of the Burn model zoo.
#[derive(Debug, Parser)]
#[command(name = "zoo", version)]
#[command(
    after_help = "Examples:\n  zoo predict --pretrained mnist-cnn data/digits/7.png\n  zoo train --model mnist-cnn --epochs 2"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model and write its run folder (config, checkpoints, metrics, model, summary).
    #[command(
        after_help = "Examples:\n  zoo train --model pos-tagger --epochs 2 --seed 3\n  zoo train --resume runs/mnist-lstm-20261206-101500 --epochs 10"
    )]
    Train(TrainArgs),
    /// Reload a run's model and evaluate it on the test set.
    #[command(
        after_help = "Examples:\n  zoo eval --run runs/mnist-cnn-20261206-101500\n  zoo eval --pretrained pos-tagger-char\n  zoo eval --pretrained mnist-cnn --predictions answers.txt"
    )]
    Eval(EvalArgs),
    /// Load a PyTorch state_dict (`torch.save(model.state_dict(), FILE)`) into a zoo model and
    /// write a run folder that `zoo eval --run DIR` reads.
    #[command(
        after_help = "Examples:\n  zoo import --model mnist-lstm --from mnist_lstm.pt --out runs/from-pytorch\n  zoo import --model small-cnn --from cnn.pt --rename '^conv1\\.0\\.=conv1.'"
    )]
    Import(ImportArgs),
    /// Write a run's weights as a `.safetensors` file with PyTorch's names and layouts, which
    /// `model.load_state_dict(safetensors.torch.load_file(FILE))` reads into the matching class.
    #[command(
        after_help = "Examples:\n  zoo export --pretrained mnist-cnn --out mnist_cnn.safetensors\n  zoo export --run runs/small-cnn-20261206-101500 --out cnn.safetensors --rename '^conv(\\d)\\.=conv$1.0.'"
    )]
    Export(ExportArgs),
    /// Write a finished run as a shipped model's folder (`crates/models/pretrained/NAME`): its
    /// weights in half precision, its configs and data files, and the test figure they score.
    #[command(
        after_help = "Examples:\n  zoo pack --run runs/small-cnn-20261206-101500 --out crates/models/pretrained/small-cnn"
    )]
    Pack(PackArgs),
    /// A trained run's answers to new inputs: tags of sentences (a tagger's run), classes of
    /// pictures (an MNIST model's run: `zoo predict --run DIR digit.png [--invert]`), values or
    /// classes of points (the toys' runs: `zoo predict --run DIR 0.5`).
    #[command(
        after_help = "Examples:\n  zoo predict --pretrained mnist-cnn data/digits/7.png\n  zoo predict --pretrained pos-tagger-char \"I'd like to book a flight to Boston.\""
    )]
    Predict(PredictArgs),
    /// Serve trained models over HTTP on 127.0.0.1 (JSON API and a page to try them at `/`;
    /// docs/serve.md) until Ctrl-C or SIGTERM, which lets the requests in flight finish.
    #[command(
        after_help = "Examples:\n  zoo serve --pretrained mnist-cnn --pretrained pos-tagger-char\n  zoo serve --run runs/mnist-lstm-20261206-101500 --port 9000"
    )]
    Serve(ServeArgs),
    /// Train the same experiment on several backends and tabulate speed, memory and accuracy.
    #[command(
        after_help = "Examples:\n  zoo compare --model mnist-lstm --backends ndarray,wgpu --epochs 1 --train-limit 2000"
    )]
    Compare(CompareArgs),
    /// Time training steps of the zoo's models (and Burn's own LSTM) on one backend, beside
    /// PyTorch on the same shapes: milliseconds per step and the ratio to PyTorch.
    #[command(after_help = "Examples:\n  zoo bench --torch\n  zoo bench --epoch --rounds 2")]
    Bench(BenchArgs),
    /// Check that a backend computes what the CPU computes: every model's outputs on a batch of
    /// its data, and the LSTM's and GRU's outputs and gradients (fused and tensor paths), against
    /// Burn's ndarray operations from the same weights. Exits 1 when one differs by more than
    /// 1e-4. On cuda it checks the LSTM and GRU kernels that training there leaves off unless
    /// ZOO_CUDA_LSTM_KERNEL=1.
    #[command(
        after_help = "Examples:\n  zoo check --backend wgpu --quick\n  zoo check --backend ndarray --model mnist-lstm"
    )]
    Check(CheckArgs),
    /// Put finished runs side by side in one self-contained HTML page: their figures, bar charts
    /// of seconds per epoch and test accuracy, and each run's curves and confusion matrix.
    #[command(
        after_help = "Examples:\n  zoo report runs/mnist-lstm-20261206-090000 runs/mnist-cnn-20261206-091500 --out report.html"
    )]
    Report(ReportArgs),
    /// Run the coordinator of a multi-node run (burn-collective's global orchestrator) until
    /// interrupted: `zoo coordinator --port P`, then each node `zoo train --nodes N --rank R
    /// --coordinator HOST:P --listen HOST:Q`.
    #[command(
        after_help = "Examples:\n  zoo coordinator --port 7000\n  zoo train --nodes 2 --rank 0 --coordinator HOST:7000 --listen HOST0:7001"
    )]
    Coordinator(CoordinatorArgs),
    /// Datasets: `zoo data download mnist|fashion-mnist` fetches the four IDX archives from the
    /// standard mirrors and checks each one's SHA-256.
    #[command(subcommand)]
    #[command(after_help = "Examples:\n  zoo data download mnist --dir data/mnist")]
    Data(DataCommand),
    /// List the models.
    #[command(after_help = "Examples:\n  zoo models")]
    Models,
}

/// Parses a backend name (`ndarray`, `wgpu`, `cuda`).
fn backend(name: &str) -> Result<BackendName, String> {
    name.parse()
}

/// Where a command runs: `--backend` and `--device`.
#[derive(Debug, Args)]
pub struct On {
    /// Backend to run on: ndarray (CPU), wgpu or cuda.
    #[arg(long, value_parser = backend, default_value = "ndarray")]
    pub backend: BackendName,
    /// Device number of the backend (wgpu: its adapters in order; cuda: the GPU) [default: the best one].
    #[arg(long, value_name = "N")]
    pub device: Option<usize>,
}

impl On {
    /// The placement on one device.
    pub fn placement(&self) -> Placement {
        Placement::new(self.backend, self.device)
    }
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
    #[command(
        after_help = "Examples:\n  zoo data download mnist --dir data/mnist\n  zoo data download fashion-mnist --timeout 60"
    )]
    Download(DownloadArgs),
}

/// `zoo data download` flags.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The dataset.
    #[arg(value_parser = DATASETS)]
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
    #[arg(long, value_parser = backend, value_delimiter = ',', required = true)]
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
    /// Experiment file (TOML); keys it leaves out come from the model's built-in config.
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
    /// Run the layers as fused operations where the backend has them (true), or as Burn's
    /// tensor operations everywhere (false): same results to float rounding, slower.
    #[arg(long, value_name = "BOOL")]
    pub fused: Option<bool>,
    /// Folder of the dataset (the four MNIST-format IDX files, raw or .gz; a treebank folder).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Which MNIST-format dataset the files hold (class names and default folder).
    #[arg(long, value_parser = ["mnist", "fashion-mnist"])]
    pub dataset: Option<String>,
    /// Train on the first N training samples only.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
}

impl ExperimentArgs {
    /// The flags that replace config values.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            seed: self.seed,
            fused: self.fused,
            data: DataFlags {
                dir: self.data_dir.clone(),
                dataset: self.dataset.clone(),
                train_limit: self.train_limit,
            },
        }
    }
}

/// `zoo predict` flags.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The trained model.
    #[command(flatten)]
    pub model: Trained,
    /// A text file of inputs, one per line (`-` reads standard input); prints one answer line
    /// per line.
    #[arg(long, value_name = "FILE", conflicts_with = "inputs")]
    pub file: Option<PathBuf>,
    /// Inputs, each one argument: sentences to tag (a tagger's run), image files to classify
    /// (an MNIST model's run: PNG of any size, grey or colour), points (the toys: `0.5`, `1,-2`;
    /// after `--` when one starts with a minus sign, as in `-- -1,2`).
    #[arg(
        value_name = "INPUT",
        required_unless_present = "file",
        allow_negative_numbers = true
    )]
    pub inputs: Vec<String>,
    /// The images are dark ink on a light background (a drawing); MNIST's are light on dark.
    #[arg(long)]
    pub invert: bool,
    /// How a tagger answers: `text` (`word/TAG` pairs, a line per sentence) or `conllu` (CoNLL-U,
    /// the run's tag column filled; the input is CoNLL-U, as --file or `-`, or raw text, one
    /// sentence a line).
    #[arg(long, value_enum, default_value = "text")]
    pub format: AnswerFormat,
    /// Where to run the model.
    #[command(flatten)]
    pub on: On,
}

/// `zoo predict --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnswerFormat {
    /// One line per input.
    Text,
    /// CoNLL-U sentences (taggers).
    Conllu,
}

/// `zoo serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A model the zoo ships trained (repeatable): mnist-lstm, mnist-cnn, small-cnn,
    /// pos-tagger, pos-tagger-char.
    #[arg(long = "pretrained", value_name = "NAME")]
    pub pretrained: Vec<String>,
    /// A run folder written by `zoo train` or `zoo import` (repeatable); served under its
    /// folder's name.
    #[arg(
        long = "run",
        value_name = "DIR",
        required_unless_present = "pretrained"
    )]
    pub runs: Vec<PathBuf>,
    /// Address to listen on; the default takes connections from this machine only.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub host: std::net::IpAddr,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080, value_name = "P")]
    pub port: u16,
    /// How long a request waits for others to share its batch, in milliseconds; with 0, a
    /// batch is whatever has queued while the model ran the last one.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub batch_window: u64,
    /// The most inputs (pictures, sentences) in one batch.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_batch: usize,
    /// Requests waiting for each model; one more is answered 503 until the queue drains.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub queue: usize,
    /// Open connections at once; more wait to be accepted.
    #[arg(long, default_value_t = 512, value_name = "N")]
    pub max_connections: usize,
    /// Where to run the models.
    #[command(flatten)]
    pub on: On,
}

/// A trained model: a run folder, or one the zoo ships.
#[derive(Debug, Args)]
pub struct Trained {
    /// Run folder written by `zoo train` (or `zoo import`).
    #[arg(long, value_name = "DIR", required_unless_present = "pretrained")]
    pub run: Option<PathBuf>,
    /// A model the zoo ships trained, instead of a run: mnist-lstm, mnist-cnn, small-cnn,
    /// pos-tagger (`zoo models` marks them).
    #[arg(long, value_name = "NAME", conflicts_with = "run")]
    pub pretrained: Option<String>,
}

/// `zoo import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Model the file holds, a name of `zoo models`.
    #[arg(long)]
    pub model: Option<String>,
    /// Experiment file whose `[model]` shape matches the file [default: the model's built-in config].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The PyTorch file (.pt / .pth) holding the state_dict.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Rename the file's tensors before they are matched: FROM a regular expression, TO its
    /// replacement (`$1` for a group), e.g. `--rename '^rnn\.=lstm.'`; repeatable, applied in
    /// order. A file that does not fit proposes the renames that would make it fit.
    #[arg(long, value_name = "FROM=TO")]
    pub rename: Vec<Rename>,
    /// A tagger's word vocabulary, the ids its embedding rows were trained with: PyTorch's
    /// `word_to_ix` saved with `json.dump`, a JSON list of words, one word per line, or the
    /// zoo's `vocab-words.txt` [default: vocab-words.txt beside --from, if there; else the
    /// training split's].
    #[arg(long, value_name = "FILE")]
    pub vocab_words: Option<PathBuf>,
    /// A tagger's tag vocabulary (`tag_to_ix`), in the same forms as --vocab-words [default:
    /// vocab-tags.txt beside --from, if there; else the training split's].
    #[arg(long, value_name = "FILE")]
    pub vocab_tags: Option<PathBuf>,
    /// Folder of the dataset to evaluate on [default: the config's].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run folder to write [default: runs/<model>-import-<UTC time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where to evaluate.
    #[command(flatten)]
    pub on: On,
}

/// `zoo export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The trained model to write out.
    #[command(flatten)]
    pub model: Trained,
    /// The `.safetensors` file to write (a tagger's `vocab-words.txt` and `vocab-tags.txt` go
    /// beside it).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Rename the tensors after PyTorch's names of the model are made (`lstm.weight_ih_l0`):
    /// FROM a regular expression, TO its replacement, e.g. `--rename '^lstm\.=rnn.'` for a
    /// class whose LSTM is `self.rnn`; repeatable, applied in order.
    #[arg(long, value_name = "FROM=TO")]
    pub rename: Vec<Rename>,
    /// Where to load the run.
    #[command(flatten)]
    pub on: On,
}

/// `zoo pack` flags.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The run folder to pack.
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// The folder to write (`crates/models/pretrained/<model>` ships it with the zoo).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Where to evaluate the packed weights.
    #[command(flatten)]
    pub on: On,
}

/// `zoo train` flags; each replaces the value of the config.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The experiment.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
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
    /// Where to train.
    #[command(flatten)]
    pub on: On,
    /// Several devices of one machine, data-parallel (wgpu, cuda): e.g. `--devices 0,1`. Each
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

impl TrainArgs {
    /// The placement: `--devices`, or `--backend` and `--device`.
    pub fn placement(&self) -> Placement {
        Placement {
            devices: self.devices.clone(),
            ..self.on.placement()
        }
    }
}

/// `zoo bench` flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Only these cases (repeatable) [default: mnist-lstm, mnist-lstm/tensor-ops,
    /// mnist-lstm/burn-nn-lstm, mnist-gru, mnist-cnn]: a model of `zoo models`, `MODEL/tensor-ops` for it
    /// with the fused operations off, or `mnist-lstm/burn-nn-lstm` (Burn's stock LSTM).
    #[arg(long = "case", value_name = "NAME")]
    pub cases: Vec<String>,
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
    /// Time whole epochs instead of steps: `zoo train --epochs 1` against PyTorch's loop
    /// (tools/torch_reference.py) on the same model, data, split, batch and optimizer, the two
    /// taking turns, with the pass over the test set and peak memory; then, on ndarray, `zoo
    /// eval` and `zoo predict` of one image as whole processes against tools/torch_predict.py
    /// [models: every built-in one of `zoo models`, or the --case ones].
    #[arg(long)]
    pub epoch: bool,
    /// `zoo serve` under load instead: requests/s, median and 99th-percentile latency at 1, 8
    /// and 64 concurrent clients and peak memory, for mnist-cnn and pos-tagger, against a
    /// PyTorch service on the same weights (tools/serve_torch.py: FastAPI + uvicorn + torch),
    /// the two taking turns of 5 seconds (or 20,000 requests) each.
    #[arg(long, conflicts_with = "epoch")]
    pub serve: bool,
    /// With --epoch: rounds of turns; the best round of each side is reported.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub rounds: usize,
    /// With --epoch: folder for the runs and the table [default: runs/bench-epoch-<UTC time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where to time.
    #[command(flatten)]
    pub on: On,
}

/// `zoo check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only these models (repeatable) [default: every model of `zoo models`].
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// The LSTM and the GRU at a small shape only, not also at the models' sizes (mnist-lstm's
    /// and mnist-gru's 28 steps × 100 of 128 units, a padded bidirectional tagger batch), which
    /// spread over many GPU thread blocks but take a minute or two on a software renderer
    /// (lavapipe).
    #[arg(long)]
    pub quick: bool,
    /// The backend to check.
    #[command(flatten)]
    pub on: On,
}

/// `zoo eval` flags.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The trained model.
    #[command(flatten)]
    pub model: Trained,
    /// Folder of the dataset, if not the one the run was trained on.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Also write every test sample's answer to FILE, one line each in the test set's order:
    /// a classifier's three likeliest classes (by index) with their probabilities, a
    /// regression's values (a tagger's tags: `zoo predict --format conllu --file`).
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
    /// Where to evaluate.
    #[command(flatten)]
    pub on: On,
}
