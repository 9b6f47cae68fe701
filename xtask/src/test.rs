//! `cargo xtask test`: the whole suite, as CI runs it (`.ci/run` calls exactly this).
//!
//! Tests run in release (the training tests need optimized Burn), in one build with the backends
//! CI can run compiled in (ndarray, and wgpu on Mesa's lavapipe): a separate build for the backend
//! tests doubled CI's compile time. CUDA, which no CI machine can run, is compiled and linted by
//! the clippy step (every backend feature on); compiling it into the release test build as well
//! cost about a third of that build (its backend, and every model's training loop for it once
//! more, in zoo-cli and in the bring-your-own-model example).

use std::path::Path;

use crate::cmd::{cargo, outcome, run as run_command, shell_line, workspace_root};

/// The environment variable that tells the end-to-end tests (tests/src/lib.rs) which zoo-cli
/// features to build the `zoo` binary with.
const ZOO_FEATURES_VAR: &str = "ZOO_TEST_FEATURES";
/// zoo-cli's features that the release test build adds to the default ndarray: the wgpu backend,
/// and the fail points through which the tests make a served model panic.
const TESTED_FEATURES: &str = "wgpu,failpoints";
/// The test that runs beside the others: its binary and its name.
const BESIDE: (&str, &str) = (
    "bring_your_own",
    "a_model_of_ones_own_trains_reloads_answers_resumes_and_reports",
);
/// Every backend feature of zoo-cli and its fail points, for the lint and doc steps.
const ALL_BACKEND_FEATURES: &str = "zoo-cli/wgpu,zoo-cli/cuda,zoo-cli/failpoints";

/// Runs every check in turn, stopping at the first failure.
///
/// The lint and doc steps check in the release profile, as the tests build: Cargo compiles build
/// scripts and procedural macros (a hundred-odd crates) for the profile a command uses, so in
/// release they compile once for all the steps; in the dev profile, whose dependencies are
/// optimized (Cargo.toml), the lint step compiled them again, at `opt-level = 3`.
pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "`cargo xtask test` takes no arguments (got `{arg}`)"
        ));
    }
    let root = workspace_root();
    let steps: &[&[&str]] = &[
        &["fmt", "--all", "--check"],
        // Every line of every backend, CUDA's included, linted.
        &[
            "clippy",
            "--release",
            "--workspace",
            "--all-targets",
            "--features",
            ALL_BACKEND_FEATURES,
            "--",
            "-D",
            "warnings",
        ],
        // The API docs, warnings as errors (RUSTDOCFLAGS below); the same features, so it reuses
        // clippy's checked dependencies.
        &[
            "doc",
            "--release",
            "--no-deps",
            "--workspace",
            "--features",
            ALL_BACKEND_FEATURES,
        ],
    ];
    models_alone(&root)?;
    for step in steps {
        let mut command = cargo();
        command.current_dir(&root).args(*step);
        if step[0] == "doc" {
            command.env("RUSTDOCFLAGS", "-D warnings");
        }
        run_command(command)?;
    }
    let pytorch = run_tests(&root)?;
    eprintln!("all checks passed; {pytorch}");
    Ok(())
}

/// The variable through which the end-to-end tests note each check against PyTorch
/// (tests/src/lib.rs, `note_pytorch_check`): a file, a line a check, `live NAME` or `recorded
/// NAME`.
const PYTORCH_LEDGER_VAR: &str = "ZOO_PYTORCH_LEDGER";

/// `checks against PyTorch: N live, M against recorded figures` from the ledger's lines, with
/// what to install where some could not run live.
fn pytorch_summary(ledger: &str) -> String {
    let count = |how: &str| ledger.lines().filter(|l| l.starts_with(how)).count();
    let (live, recorded) = (count("live "), count("recorded "));
    let hint = match recorded {
        0 => "",
        _ => {
            " (`python3 -c 'import torch'` failed: `pip install torch safetensors` runs them live)"
        }
    };
    format!("checks against PyTorch: {live} live, {recorded} against recorded figures{hint}")
}

/// Every test, in one release build with ndarray and wgpu: the GPU path runs on wgpu, on Mesa's
/// software Vulkan (lavapipe) in CI and on any Vulkan GPU elsewhere. CUDA's missing-driver
/// message is zoo-cli's test; its agreement (`zoo check --backend cuda`) runs on a GPU machine
/// (docs/benchmarks.md).
///
/// The test that builds and trains the example crate outside the workspace ([`BESIDE`]) is
/// minutes of compiling one crate, on one core for much of it: it runs beside the rest of the
/// suite, its output shown when it ends, rather than after it.
fn run_tests(root: &Path) -> Result<String, String> {
    let ledger = std::env::temp_dir().join(format!("xtask-pytorch-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&ledger);
    let features: Vec<String> = (TESTED_FEATURES.split(','))
        .map(|f| format!("zoo-cli/{f}"))
        .collect();
    let features = features.join(",");
    let test = |extra: &[&str]| {
        let mut command = cargo();
        command
            .current_dir(root)
            .args(["test", "--workspace", "--release", "--no-fail-fast"])
            .args(["--features", &features])
            .args(extra)
            // The end-to-end tests build the `zoo` they run with the same features ...
            .env(ZOO_FEATURES_VAR, TESTED_FEATURES)
            // ... and use the binaries this build made (tests/src/lib.rs).
            .env("ZOO_TEST_BINS_BUILT", "1")
            .env(PYTORCH_LEDGER_VAR, &ledger);
        command
    };
    run_command(test(&["--no-run"]))?;
    let (binary, name) = BESIDE;
    let log = std::env::temp_dir().join(format!("xtask-{binary}-{}.log", std::process::id()));
    let mut beside = test(&["--test", binary, "--", name, "--exact"]);
    let line = shell_line(&beside);
    eprintln!("$ {line}  (beside the others; its output follows theirs)");
    let file = std::fs::File::create(&log)
        .map_err(|err| format!("cannot write {}: {err}", log.display()))?;
    let output = file
        .try_clone()
        .map_err(|err| format!("cannot write {}: {err}", log.display()))?;
    let mut child = beside
        .stdout(output)
        .stderr(file)
        .spawn()
        .map_err(|err| format!("cannot start `{line}`: {err}"))?;
    let rest = run_command(test(&["--", "--skip", name]));
    let status = child.wait();
    eprintln!("$ {line}");
    if let Ok(text) = std::fs::read_to_string(&log) {
        eprint!("{text}");
    }
    let _ = std::fs::remove_file(&log);
    let status = status.map_err(|err| format!("`{line}` did not finish: {err}"))?;
    let summary = pytorch_summary(&std::fs::read_to_string(&ledger).unwrap_or_default());
    let _ = std::fs::remove_file(&ledger);
    eprintln!("{summary}");
    rest.and(outcome(&line, status)).map(|()| summary)
}

/// zoo-models alone is Burn and its models: with no features its normal dependencies are `burn`
/// only (no backend, no CLI, no data crate), and it builds so, without a warning.
fn models_alone(root: &Path) -> Result<(), String> {
    let tree = [
        "tree",
        "-p",
        "zoo-models",
        "--no-default-features",
        "-e",
        "normal",
    ];
    let mut command = cargo();
    command
        .current_dir(root)
        .args(tree)
        .args(["--depth", "1", "--prefix", "none"]);
    eprintln!("$ cargo {} --depth 1 --prefix none", tree.join(" "));
    let output = command
        .output()
        .map_err(|err| format!("cannot run cargo tree: {err}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let dependencies: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    if !output.status.success() || dependencies != ["burn"] {
        return Err(format!(
            "zoo-models without features must depend on burn alone; cargo tree says:\n{text}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut check = cargo();
    check
        .current_dir(root)
        .args(["clippy", "--release", "-p", "zoo-models"])
        .arg("--no-default-features")
        .args(["--", "-D", "warnings"]);
    run_command(check)
}

#[cfg(test)]
mod tests {
    use super::pytorch_summary;

    #[test]
    fn the_summary_counts_live_and_recorded_checks() {
        let ledger =
            "live export of mnist-cnn\nrecorded export of pos-tagger\nlive export of small-cnn\n";
        let summary = pytorch_summary(ledger);
        assert!(
            summary.starts_with(
                "checks against PyTorch: 2 live, 1 against recorded figures (`python3"
            ),
            "{summary}"
        );
        assert_eq!(
            pytorch_summary(""),
            "checks against PyTorch: 0 live, 0 against recorded figures"
        );
    }
}
