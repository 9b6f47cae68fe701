//! `cargo xtask train|eval|import|predict|models`: build `zoo` in release with only the backend asked for, then
//! run it with the user's flags.

use crate::cmd::{cargo, run as run_command, workspace_root};

/// The backends and the cargo feature of zoo-train that compiles each in.
const BACKENDS: &[(&str, Option<&str>)] = &[
    ("ndarray", None),
    ("wgpu", Some("wgpu")),
    ("cuda", Some("cuda")),
];

/// Runs `zoo <subcommand> <args>`, built for the backend named by `--backend` (default ndarray).
pub fn run(subcommand: &str, args: &[String]) -> Result<(), String> {
    let backend = backend_flag(args)?.unwrap_or("ndarray");
    let feature = BACKENDS
        .iter()
        .find(|(name, _)| *name == backend)
        .map(|(_, feature)| *feature)
        .ok_or_else(|| {
            let names: Vec<_> = BACKENDS.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown backend `{backend}`; choose one of: {}",
                names.join(", ")
            )
        })?;
    let mut command = cargo();
    command.args([
        "run",
        "--release",
        "--quiet",
        "--package",
        "zoo-train",
        "--bin",
        "zoo",
    ]);
    command
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"));
    if let Some(feature) = feature {
        command.args(["--features", feature]);
    }
    command.arg("--").arg(subcommand).args(args);
    run_command(command)
}

/// The value of `--backend X` or `--backend=X`, if given.
fn backend_flag(args: &[String]) -> Result<Option<&str>, String> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--backend" {
            return iter
                .next()
                .map(|v| Some(v.as_str()))
                .ok_or_else(|| "--backend needs a value: ndarray, wgpu or cuda".to_string());
        }
        if let Some(value) = arg.strip_prefix("--backend=") {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_the_backend_in_both_spellings() {
        assert_eq!(
            backend_flag(&args(&["--epochs", "2", "--backend", "wgpu"])),
            Ok(Some("wgpu"))
        );
        assert_eq!(backend_flag(&args(&["--backend=cuda"])), Ok(Some("cuda")));
        assert_eq!(backend_flag(&args(&["--epochs", "2"])), Ok(None));
        assert!(backend_flag(&args(&["--backend"])).is_err());
    }

    #[test]
    fn rejects_an_unknown_backend_before_building_anything() {
        let err = run("train", &args(&["--backend", "tpu"])).unwrap_err();
        assert!(err.contains("unknown backend `tpu`"), "{err}");
    }
}
