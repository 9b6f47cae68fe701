//! `cargo xtask train|eval|import|predict|compare|bench|report|models`: build `zoo` in release with only the
//! backends asked for, then run it with the user's flags.

use crate::cmd::{cargo, run as run_command, workspace_root};

/// The backends and the cargo feature of zoo-cli that compiles each in.
const BACKENDS: &[(&str, Option<&str>)] = &[
    ("ndarray", None),
    ("wgpu", Some("wgpu")),
    ("cuda", Some("cuda")),
];

/// Runs `zoo <subcommand> <args>`, built with the backends named by `--backend` (default
/// ndarray) or, for `compare`, by `--backends a,b,c`.
pub fn run(subcommand: &str, args: &[String]) -> Result<(), String> {
    let backends: Vec<&str> = if subcommand == "compare" {
        flag(args, "--backends")?
            .ok_or("--backends is required: e.g. --backends ndarray,wgpu")?
            .split(',')
            .collect()
    } else {
        vec![flag(args, "--backend")?.unwrap_or("ndarray")]
    };
    let mut features = Vec::new();
    for backend in backends {
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
        features.extend(feature);
    }
    let mut command = cargo();
    command.args([
        "run",
        "--release",
        "--quiet",
        "--package",
        "zoo-cli",
        "--bin",
        "zoo",
    ]);
    command
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"));
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    command.arg("--").arg(subcommand).args(args);
    run_command(command)
}

/// The value of `--name X` or `--name=X`, if given.
fn flag<'a>(args: &'a [String], name: &str) -> Result<Option<&'a str>, String> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == name {
            return iter
                .next()
                .map(|v| Some(v.as_str()))
                .ok_or_else(|| format!("{name} needs a value: ndarray, wgpu or cuda"));
        }
        if let Some(value) = arg.strip_prefix(name).and_then(|v| v.strip_prefix('=')) {
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
            flag(&args(&["--epochs", "2", "--backend", "wgpu"]), "--backend"),
            Ok(Some("wgpu"))
        );
        assert_eq!(
            flag(&args(&["--backend=cuda"]), "--backend"),
            Ok(Some("cuda"))
        );
        assert_eq!(flag(&args(&["--backends=cuda"]), "--backend"), Ok(None));
        assert_eq!(flag(&args(&["--epochs", "2"]), "--backend"), Ok(None));
        assert!(flag(&args(&["--backend"]), "--backend").is_err());
    }

    #[test]
    fn rejects_an_unknown_backend_before_building_anything() {
        let err = run("train", &args(&["--backend", "tpu"])).unwrap_err();
        assert!(err.contains("unknown backend `tpu`"), "{err}");
        let err = run("compare", &args(&["--backends", "ndarray,tpu"])).unwrap_err();
        assert!(err.contains("unknown backend `tpu`"), "{err}");
        let err = run("compare", &args(&["--model", "x"])).unwrap_err();
        assert!(err.contains("--backends is required"), "{err}");
    }
}
