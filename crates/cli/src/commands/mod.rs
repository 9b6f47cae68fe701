//! One file per `zoo` subcommand; [`run`] picks it. `bench`, `bench_epoch`, `bench_infer` and
//! `compare` are public for their tables.

use zoo_train::Registry;

use crate::cli::{Cli, Command};

pub mod bench;
pub mod bench_epoch;
pub mod bench_infer;
mod bench_serve;
mod check;
pub mod compare;
mod data;
pub(crate) mod eval;
mod export;
mod import;
mod predict;
mod report;
mod serve;
mod train;

/// Runs a parsed command line with the models of `registry`.
pub fn run(cli: Cli, registry: &Registry) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(args, registry).map(|_| ()),
        Command::Eval(args) => eval::run(args, registry),
        Command::Import(args) => import::run(args, registry),
        Command::Export(args) => export::run(args, registry),
        Command::Pack(args) => pack(args, registry),
        Command::Predict(args) => predict::run(args, registry),
        Command::Serve(args) => serve::run(args, registry),
        Command::Compare(args) => compare::run(args, registry),
        Command::Bench(args) => bench::run(args, registry),
        Command::Check(args) => check::run(args, registry),
        Command::Report(args) => report::run(args),
        Command::Coordinator(args) => coordinator(args.port),
        Command::Data(command) => data::run(command),
        Command::Models => {
            for registration in registry.entries() {
                let shipped = zoo_models::pretrained::find(registration.name).is_some();
                println!(
                    "{:<18} {:<12} {}",
                    registration.name,
                    if shipped { "[pretrained]" } else { "" },
                    registration.description
                );
            }
            Ok(())
        }
    }
}

#[cfg(feature = "distributed")]
fn coordinator(port: u16) -> anyhow::Result<()> {
    zoo_train::parallel::distributed::run_coordinator(port)
}

#[cfg(not(feature = "distributed"))]
fn coordinator(_port: u16) -> anyhow::Result<()> {
    anyhow::bail!(zoo_train::parallel::node::NO_DISTRIBUTED)
}

/// `zoo pack`: the run as a shipped model's folder.
fn pack(args: crate::cli::PackArgs, registry: &Registry) -> anyhow::Result<()> {
    let experiment = run_config(registry, &args.run)?;
    let placement = args.on.placement();
    placement.preflight()?;
    experiment.pack(&args.run, &args.out, &placement)?;
    println!("Packed {} into {}", args.run.display(), args.out.display());
    Ok(())
}

/// The experiment a run folder was trained with (its `config.toml`), read with `registry`.
pub(crate) fn run_config(
    registry: &Registry,
    dir: &std::path::Path,
) -> anyhow::Result<Box<dyn zoo_train::LoadedExperiment>> {
    let path = dir.join(zoo_train::run::artifacts::CONFIG_FILE);
    anyhow::ensure!(
        path.is_file(),
        "{}: no {} here; pass the folder of a run made by `zoo train` (runs/<name>)",
        dir.display(),
        zoo_train::run::artifacts::CONFIG_FILE
    );
    Ok(registry.load(None, Some(&path))?)
}
