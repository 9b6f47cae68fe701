//! `cargo xtask test`: the whole suite, as CI runs it (`.ci/run` calls exactly this).
//!
//! Tests run in release (the training tests need optimized Burn), in one build with every backend
//! compiled in: a separate build for the backend tests doubled CI's compile time.

use crate::cmd::{cargo, run as run_command, workspace_root};

/// The environment variable that tells the end-to-end tests (tests/src/lib.rs) which zoo-cli
/// features to build the `zoo` binary with.
const ZOO_FEATURES_VAR: &str = "ZOO_TEST_FEATURES";
/// zoo-cli's backend features besides the default ndarray.
const ALL_BACKENDS: &str = "wgpu,cuda";

/// Runs every check in turn, stopping at the first failure.
pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "`cargo xtask test` takes no arguments (got `{arg}`)"
        ));
    }
    let root = workspace_root();
    let steps: &[&[&str]] = &[
        &["fmt", "--all", "--check"],
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        // The API docs, warnings as errors (RUSTDOCFLAGS below); reuses clippy's checked deps.
        &["doc", "--no-deps", "--workspace"],
        // Every test, in one release build that has every backend compiled in: CUDA needs no GPU
        // to build (and its missing driver is tested), and the GPU path runs on wgpu: Mesa's
        // software Vulkan (lavapipe) in CI, any Vulkan GPU elsewhere. One build of Burn with all
        // backends, not a second one for the backend tests.
        &[
            "test",
            "--workspace",
            "--release",
            "--no-fail-fast",
            "--features",
            "zoo-cli/wgpu,zoo-cli/cuda",
        ],
    ];
    models_alone(&root)?;
    for step in steps {
        let mut command = cargo();
        command.current_dir(&root).args(*step);
        if step[0] == "doc" {
            command.env("RUSTDOCFLAGS", "-D warnings");
        }
        if step[0] == "test" {
            // The end-to-end tests build the `zoo` they run with the same features.
            command.env(ZOO_FEATURES_VAR, ALL_BACKENDS);
            // ... and use the binaries this build made (tests/src/lib.rs).
            command.env("ZOO_TEST_BINS_BUILT", "1");
        }
        run_command(command)?;
    }
    eprintln!("all checks passed");
    Ok(())
}

/// zoo-models alone is Burn and its models: with no features its normal dependencies are `burn`
/// only (no backend, no CLI, no data crate), and it builds so, without a warning.
fn models_alone(root: &std::path::Path) -> Result<(), String> {
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
        .args(["clippy", "-p", "zoo-models", "--no-default-features"])
        .args(["--", "-D", "warnings"]);
    run_command(check)
}
