//! `zoo`: the command line with the zoo's models.

use std::process::ExitCode;

fn main() -> ExitCode {
    zoo_cli::main(&zoo_cli::models::registry())
}
