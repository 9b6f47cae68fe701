//! `examples/bring-your-own-model`, a crate outside the workspace with a model of its own, builds
//! from the code the README shows and gets the zoo's commands: it trains an epoch on a small
//! sample, its run reloads to the same test figures, it answers a picture, it resumes, and its
//! run goes into a report.

use std::path::{Path, PathBuf};
use std::process::Command;

use zoo_tests::{cargo, mnist_sample, summary, workspace, zoo_features, Run};

/// The example crate's folder.
fn example_dir() -> PathBuf {
    workspace().join("examples/bring-your-own-model")
}

/// Builds the example (its own workspace and lock file) in the running tests' profile, into
/// this workspace's target folder, with the zoo-cli features of the test build; returns its
/// binary. First the committed lock file must be the one a build of the example resolves
/// (`cargo tree --locked` in its folder): what is committed is what builds.
///
/// It builds a copy, `target/bring-your-own-model/`, made so that Cargo gives every crate the
/// same build hash as in the test build, which has compiled them all (Burn and the zoo's own
/// crates included), so that only the example itself is compiled: the copy is a workspace root
/// whose `crates/` and `vendor/` are links to this checkout's (Cargo hashes a path crate by its
/// place under the workspace root, so the README's `../../crates/models` becomes
/// `crates/models`), with this workspace's `[workspace.package]` and `[workspace.dependencies]`
/// (which the linked crates inherit); cargo runs without the variables
/// `cargo test` sets for this test (`CARGO_MANIFEST_DIR`, which ring's build script watches).
/// Built as the README has it, the example also compiles those forty-odd crates again (eight
/// more minutes on 2 cores), which is what a user's first build does.
fn build_example() -> PathBuf {
    let locked = cargo()
        .current_dir(example_dir())
        .args(["tree", "--quiet", "--offline", "--locked", "--depth", "0"])
        .output()
        .expect("run cargo tree");
    assert!(
        locked.status.success(),
        "examples/bring-your-own-model/Cargo.lock is not what its build resolves (run `cargo \
         tree` in that folder and commit the lock file): {}",
        String::from_utf8_lossy(&locked.stderr)
    );
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let target = profile_dir.parent().expect("target/");
    let copy = workspace().join("target/bring-your-own-model");
    if copy.exists() {
        std::fs::remove_dir_all(&copy).unwrap();
    }
    std::fs::create_dir_all(copy.join("src")).unwrap();
    for linked in ["crates", "vendor", "configs", "data", "tools", "tests"] {
        std::os::unix::fs::symlink(workspace().join(linked), copy.join(linked)).unwrap();
    }
    let ours = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let inherited =
        &ours[ours.find("[workspace.package]").unwrap()..ours.find("[profile.").unwrap()];
    let manifest = std::fs::read_to_string(example_dir().join("Cargo.toml")).unwrap();
    let manifest = manifest
        .replacen("[workspace]\n", &format!("[workspace]\n\n{inherited}"), 1)
        .replace("\"../../crates/", "\"crates/")
        .replace("\"../../vendor/", "\"vendor/");
    std::fs::write(copy.join("Cargo.toml"), manifest).unwrap();
    for file in ["Cargo.lock", "src/main.rs"] {
        std::fs::copy(example_dir().join(file), copy.join(file)).unwrap();
    }
    let mut build = cargo();
    build
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", target)
        .args(["build", "--quiet", "--offline"]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    if let Some(features) = zoo_features() {
        let listed: Vec<String> = features
            .split(',')
            .map(|f| format!("zoo-cli/{f}"))
            .collect();
        build.args(["--features", &listed.join(",")]);
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building the example crate failed");
    profile_dir.join("bring-your-own-model")
}

fn run(bin: &Path, cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(bin)
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("start the example");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_readme_shows_the_example_crate_as_it_is() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    for file in ["Cargo.toml", "src/main.rs"] {
        let text = std::fs::read_to_string(example_dir().join(file)).unwrap();
        assert!(
            readme.contains(text.trim()),
            "README.md's \"Bring your own model\" does not show {file} as it is"
        );
    }
}

#[test]
fn a_model_of_ones_own_trains_reloads_answers_resumes_and_reports() {
    let bin = build_example();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let models = run(&bin, cwd, &["models"]);
    assert!(
        models.assert_ok().stdout.starts_with("pixel-mlp "),
        "{}",
        models.stdout
    );

    let sample = mnist_sample();
    let data = sample.to_str().unwrap();
    let common = ["--train-limit", "600", "--data-dir", data];
    let trained = run(
        &bin,
        cwd,
        &[&["train", "--epochs", "1", "--out", "mine"][..], &common].concat(),
    );
    let stdout = &trained.assert_ok().stdout;
    assert!(
        stdout.contains("Training pixel-mlp (203530 parameters)"),
        "{stdout}"
    );
    let figures = summary(&cwd.join("mine"));
    // One epoch of 600 digits from seed 1: 0.7513 (2-core Intel Xeon, 2026-12-07); 0.03 either
    // way for another CPU's rounding.
    let accuracy = figures["test_accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - 0.7513).abs() <= 0.03,
        "one epoch of 600 digits: {accuracy}"
    );
    for picture in ["curves.png", "curves.svg", "confusion.png"] {
        assert!(cwd.join("mine").join(picture).is_file(), "{picture}");
    }

    let eval = run(&bin, cwd, &["eval", "--run", "mine"]);
    assert!(
        eval.assert_ok().stdout.contains("reproduced exactly"),
        "{}",
        eval.stdout
    );

    // A real test digit, the README's: the model names it, with its top three.
    let digit = workspace().join("data/digits/7.png");
    let answer = run(
        &bin,
        cwd,
        &["predict", "--run", "mine", digit.to_str().unwrap()],
    );
    let line = answer.assert_ok().stdout.trim().to_string();
    assert!(
        line.ends_with(")") && line.contains("7.png: 7  (7 0."),
        "{line}"
    );
    assert_eq!(line.matches(", ").count(), 2, "the top three: {line}");

    // A run stopped after its first epoch continues to the second.
    let first = run(
        &bin,
        cwd,
        &[&["train", "--epochs", "1", "--out", "longer"][..], &common].concat(),
    );
    first.assert_ok();
    std::fs::remove_file(cwd.join("longer/summary.json")).unwrap();
    std::fs::remove_file(cwd.join("longer/model.mpk")).unwrap();
    let resumed = run(&bin, cwd, &["train", "--resume", "longer", "--epochs", "2"]);
    assert!(
        resumed
            .assert_ok()
            .stdout
            .contains("Resuming after epoch 1 of 2"),
        "{}",
        resumed.stdout
    );
    assert_eq!(summary(&cwd.join("longer"))["epochs"], 2);

    let report = run(&bin, cwd, &["report", "mine", "longer", "--out", "r.html"]);
    report.assert_ok();
    let page = std::fs::read_to_string(cwd.join("r.html")).unwrap();
    assert!(page.contains("pixel-mlp"), "the report names the model");
}
