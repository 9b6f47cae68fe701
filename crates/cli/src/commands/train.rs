//! `zoo train`: the experiment (built-in config, `--config` file, flags), its run folder, the
//! pictures of the finished run; `--resume` continues a killed run, `--nodes` joins a
//! multi-node run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use zoo_train::config::ConfigError;
use zoo_train::parallel::node::NodeSpec;
use zoo_train::run::artifacts::{
    new_run_dir, write_atomic, CONFIG_FILE, METRICS_FILE, SUMMARY_FILE,
};
use zoo_train::run::fit::{FitRequest, Trained};
use zoo_train::{LoadedExperiment, Registry};

use crate::cli::TrainArgs;
use crate::plots;

/// Runs `zoo train`; the finished run's figures.
pub fn run(args: TrainArgs, registry: &Registry) -> anyhow::Result<Trained> {
    let started = Instant::now();
    let node = NodeSpec::from_flags(
        args.nodes,
        args.rank,
        args.coordinator.clone(),
        args.listen.clone(),
        Duration::from_secs(args.node_timeout.max(1)),
    )?;
    let experiment = experiment(&args, registry)?;
    anyhow::ensure!(
        node.is_none() || args.devices.is_none(),
        "--devices with --nodes: a node trains on one device; start one node per device \
         instead, each with its own --device (docs/distributed.md)"
    );
    let placement = args.placement();
    placement.preflight()?;
    // A node other than rank 0 trains in a scratch folder and keeps only its log.
    let follower = node.as_ref().filter(|n| n.rank != 0).map(|n| n.rank);
    let model = experiment.model_name().to_string();
    let (dir, scratch) = match (&args.resume, follower) {
        (Some(dir), _) => (dir.clone(), None),
        (None, None) => (new_run_dir(args.out.as_deref(), &model)?, None),
        (None, Some(rank)) => {
            let log_dir = new_run_dir(args.out.as_deref(), &format!("{model}-node-{rank}"))?;
            let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
            (scratch.path().to_path_buf(), Some((scratch, log_dir, rank)))
        }
    };
    let request = FitRequest {
        dir: dir.clone(),
        resume: args.resume.is_some(),
        started,
        placement,
        node,
    };
    let trained = experiment.fit(request);
    if let Some((_scratch, log_dir, rank)) = scratch {
        write_node_log(&log_dir, rank, &dir, &trained)?;
    }
    let trained = trained?;
    if follower.is_none() {
        draw(&dir, &trained);
    }
    if trained.summary.nodes.is_some() {
        println!("Weights SHA-256: {}", trained.summary.weights_sha256);
    }
    Ok(trained)
}

/// The experiment to train: the unfinished run's own config (`--resume`), or the one `--model`
/// and `--config` name; the flags applied.
fn experiment(args: &TrainArgs, registry: &Registry) -> anyhow::Result<Box<dyn LoadedExperiment>> {
    let e = &args.experiment;
    let requested = |saved: Option<&dyn LoadedExperiment>| -> Result<_, ConfigError> {
        let mut experiment = match (saved, &e.model, &e.config) {
            (Some(saved), None, None) => saved.boxed_clone(),
            _ => registry.load(e.model.as_deref(), e.config.as_deref())?,
        };
        experiment.apply(&e.overrides())?;
        experiment.pin_data_dir();
        Ok(experiment)
    };
    match &args.resume {
        Some(dir) => {
            let saved = resumable_config(dir, registry)?;
            let experiment = requested(Some(saved.as_ref()))?;
            check_resumable(dir, saved.as_ref(), experiment.as_ref())?;
            Ok(experiment)
        }
        None => Ok(requested(None)?),
    }
}

/// The config of the unfinished run in `dir`, or why it cannot be resumed.
fn resumable_config(dir: &Path, registry: &Registry) -> anyhow::Result<Box<dyn LoadedExperiment>> {
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
    let mut saved = registry.load(None, Some(&file))?;
    saved.pin_data_dir();
    Ok(saved)
}

/// Refuses to continue a run as another model or with other settings: only the number of epochs
/// may change.
fn check_resumable(
    dir: &Path,
    saved: &dyn LoadedExperiment,
    requested: &dyn LoadedExperiment,
) -> anyhow::Result<()> {
    if saved.model_name() != requested.model_name() {
        anyhow::bail!(
            "{} is a run of `{}`; it cannot be resumed as `{}` (leave --model out, or start a new run)",
            dir.display(),
            saved.model_name(),
            requested.model_name()
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

/// `node-R.log` of a node other than rank 0: its figures (or its error) and its metrics.
fn write_node_log(
    log_dir: &Path,
    rank: u32,
    dir: &Path,
    trained: &anyhow::Result<Trained>,
) -> anyhow::Result<()> {
    let log = log_dir.join(format!("node-{rank}.log"));
    let metrics = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap_or_default();
    let text = match trained {
        Ok(t) => {
            let s = &t.summary;
            format!(
                "node {rank} of {}: {} epochs of {} finished\nweights_sha256 {}\nallreduce {}\ntest_accuracy {:?}\n\n{metrics}",
                s.nodes.unwrap_or(1),
                s.epochs,
                s.model,
                s.weights_sha256,
                serde_json::to_string(&s.allreduce).unwrap_or_default(),
                s.test_accuracy,
            )
        }
        Err(err) => format!("node {rank}: error: {err:#}\n\n{metrics}"),
    };
    write_atomic(&log, text.as_bytes())?;
    println!("Node {rank} log: {}", log.display());
    Ok(())
}

/// Draws the run's pictures: the curves, the test set's confusion matrix (classifiers), and what
/// the data asked for (the toys' fit or regions). A picture that cannot be drawn is a warning:
/// the run's results stand.
fn draw(dir: &Path, trained: &Trained) {
    let warn = |what: &str, result: anyhow::Result<()>| {
        if let Err(error) = result {
            eprintln!("warning: cannot draw {what}: {error:#}");
        }
    };
    warn(plots::CURVES_PNG, plots::curves(dir, &trained.rows));
    if !trained.test.confusion.is_empty() {
        let (matrix, classes) = (&trained.test.confusion, &trained.summary.classes);
        warn(plots::CONFUSION_PNG, plots::confusion(dir, matrix, classes));
    }
    if let Some(picture) = &trained.picture {
        warn("the model's picture", plots::picture(dir, picture));
    }
}
