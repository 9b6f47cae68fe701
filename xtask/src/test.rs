//! `cargo xtask test`: the whole suite, as CI runs it (`.ci/run` calls exactly this).
//!
//! Tests run in release: the training tests need optimized Burn, and the release build of the
//! dependencies is then shared with `cargo xtask train`.

use crate::cmd::{cargo, run as run_command, workspace_root};

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
        &["test", "--workspace", "--release", "--no-fail-fast"],
        // Every backend compiles (CUDA needs no GPU to build), and the GPU path runs on wgpu:
        // Mesa's software Vulkan (lavapipe) in CI, any Vulkan GPU elsewhere.
        &[
            "test",
            "--release",
            "--package",
            "zoo-train",
            "--features",
            "wgpu,cuda",
            "--test",
            "backends",
        ],
    ];
    for step in steps {
        let mut command = cargo();
        command.current_dir(&root).args(*step);
        if step[0] == "doc" {
            command.env("RUSTDOCFLAGS", "-D warnings");
        }
        run_command(command)?;
    }
    eprintln!("all checks passed");
    Ok(())
}
