use std::process::ExitCode;

use clap::Parser;
use zoo_train::cli::{run, Cli};

fn main() -> ExitCode {
    zoo_models::bench::keep_freed_memory();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
