//! `cargo xtask <command>`: the zoo's entry point for users and developers.
//!
//! An ordinary binary with no dependencies, so it starts at once and never compiles Burn itself;
//! each command shells out to cargo with explicit arguments and echoes the command it runs.

mod cmd;
mod test;
mod zoo;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command> [flags]

Commands:
  train [flags]   train a model: builds `zoo` in release with the backend's cargo feature
                  (--backend ndarray|wgpu|cuda) and runs `zoo train` with every flag;
                  with no flags, mnist-lstm on data/mnist-sample;
                  --resume RUN continues a killed run from its last complete epoch
  eval [flags]    `zoo eval --run DIR` (or `--pretrained NAME`, a model the zoo ships):
                  reload a trained model and evaluate it on the test set
  import [flags]  `zoo import --model NAME --from FILE.pt --out DIR [--rename FROM=TO]...`: a
                  PyTorch state_dict becomes a run folder that `eval` reads
  export [flags]  `zoo export --run DIR --out FILE.safetensors [--rename FROM=TO]...`: a run's
                  weights with PyTorch's names and layouts
  pack [flags]    `zoo pack --run DIR --out crates/models/pretrained/NAME`: a run as a shipped
                  model (half-precision weights, configs, the test figure they score)
  predict [flags] `zoo predict --run DIR INPUT...`: a trained model's answers (tags of
                  sentences, classes of images, values of points)
  compare [flags] train one experiment on several backends, same seed, and tabulate
                  s/epoch, samples/s, peak memory and test accuracy (compare.md, compare.json,
                  report.html): --backends ndarray,wgpu[,cuda] [--epochs N] [--train-limit N] [--torch]
  serve [flags]   `zoo serve --pretrained NAME... --run DIR...`: the models over HTTP on
                  127.0.0.1:8080, a JSON API and a page to try them (docs/serve.md)
  report RUN...   one self-contained page (report.html, or --out FILE) of finished runs side by
                  side: their figures, bar charts of s/epoch and accuracy, curves, confusion
  bench [flags]   ms per training step of the zoo MNIST-LSTM, its tensor-op path, Burn's stock
                  Lstm and the MNIST CNN, beside PyTorch on the same shapes (when `import torch`
                  works), with the ratio to PyTorch: [--backend B] [--steps N] [--case NAME];
                  --epoch: whole `zoo train` epochs and test passes of the MNIST models and
                  pos-tagger against PyTorch's loop, taking turns [--rounds N],
                  then `zoo eval` and `zoo predict` of one image as whole processes;
                  --serve: `zoo serve` under 1, 8 and 64 concurrent clients against a FastAPI +
                  uvicorn + torch service on the same weights (tools/serve_torch.py)
  data download mnist|fashion-mnist [--dir DIR] [--mirror URL]...
                  the four IDX archives from the standard mirrors, each checked against its
                  published SHA-256, resumable (data/mnist or data/fashion-mnist by default)
  models          list the models of the zoo
  test            the whole suite, as CI runs it: fmt, clippy, docs without warnings, every
                  backend compiles, all tests (doctests and the example crate included)

`cargo xtask train --help` shows the flags of `zoo train`.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "train" | "eval" | "import" | "export" | "pack" | "predict" | "compare" | "report"
        | "models" | "data" | "coordinator" | "serve" => zoo::run(command, rest),
        "bench" => {
            // PyTorch's row is what the figures are read against: always asked for here.
            let mut args = rest.to_vec();
            if !args.iter().any(|a| a == "--torch") {
                args.push("--torch".to_string());
            }
            zoo::run(command, &args)
        }
        "test" => test::run(rest),
        "help" | "--help" | "-h" => {
            println!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
