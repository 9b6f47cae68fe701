//! Running cargo and friends: echo the command, run it, report failure as one line.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// The cargo that runs us (`$CARGO`), or `cargo` from the PATH, without the variables `cargo run`
/// gave xtask about xtask itself.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ... for the program it runs; a cargo
/// started from xtask would inherit them, and build scripts that watch one (ring's watches
/// `CARGO_MANIFEST_DIR`) would then see another value than in a cargo started from a shell:
/// `cargo xtask train` and `cargo run --release -p zoo-cli -- eval` rebuilt ring, rustls, ureq
/// and zoo-cli for each other, minutes every time. Without them, both share one build.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let about_xtask = name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_ref());
        if about_xtask {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// Echoes `command` like a shell line, runs it to completion, and fails unless it succeeds.
pub fn run(mut command: Command) -> Result<(), String> {
    let line = shell_line(&command);
    eprintln!("$ {line}");
    let status = command
        .status()
        .map_err(|err| format!("cannot start `{line}`: {err}"))?;
    outcome(&line, status)
}

/// Whether the command `line` ended well, as [`run`] reports it.
pub fn outcome(line: &str, status: std::process::ExitStatus) -> Result<(), String> {
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// `command` as a shell line, for echoing.
pub fn shell_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| {
            let part = part.to_string_lossy();
            if part.is_empty() || part.contains(' ') {
                format!("'{part}'")
            } else {
                part.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
