//! The `zoo` command line of the Burn model zoo, as a library: [`main`] gives any set of models
//! (the zoo's, [`models::registry`], or a crate's own, registered with
//! [`zoo_train::Registration::of`]) every command: `train` (with `--resume`, `--devices`,
//! `--nodes`), `eval`, `import`, `predict`, `compare`, `bench`, `report`, `models`, and the
//! pictures of each run.
//!
//! ```no_run
//! use zoo_train::{Registration, Registry};
//!
//! # struct MyModel;
//! # fn registry() -> Registry { zoo_cli::models::registry() }
//! fn main() -> std::process::ExitCode {
//!     // let registry = Registry::new().with(Registration::of::<MyModel>());
//!     zoo_cli::main(&registry())
//! }
//! ```
#![deny(missing_docs)]

use std::process::ExitCode;

use clap::Parser;
use zoo_train::Registry;

pub mod cli;
pub mod commands;
pub mod download;
mod memory;
pub mod models;
mod pipe;
pub mod plots;
pub mod pretrained;
pub mod report;
mod serve;

pub use commands::run;
pub use memory::keep_freed_memory;

/// The `zoo` command line with the models of `registry`: parses the arguments, runs the
/// command, prints an error as one `error:` line and exits non-zero.
pub fn main(registry: &Registry) -> ExitCode {
    keep_freed_memory();
    pipe::end_quietly_on_broken_pipe();
    match run(cli::Cli::parse(), registry) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
