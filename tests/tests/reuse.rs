//! `examples/use-zoo-models`, the crate that shows another project using zoo-models with only
//! Burn beside it, runs: its own forward passes, then a trained run's `model.mpk`.

use std::process::Command;

use zoo_tests::{example_bin, mnist_sample, zoo};

#[test]
fn the_example_crate_runs_the_models_and_loads_a_trained_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    zoo(
        tmp.path(),
        &[
            "train",
            "--model",
            "mnist-lstm",
            "--epochs",
            "1",
            "--train-limit",
            "200",
            "--data-dir",
            mnist_sample().to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .assert_ok();

    let out = Command::new(example_bin())
        .arg(run.join("model.mpk"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("images [4, 28, 28] -> logits [4, 10]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("outputs [3, 12, 64], h_n [4, 3, 32]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Loaded ") && stdout.contains("(214282 parameters)"),
        "{stdout}"
    );

    // A file that is not a model is one clear error.
    let bad = tmp.path().join("bad.mpk");
    std::fs::write(&bad, b"not a model").unwrap();
    let out = Command::new(example_bin()).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: cannot load"));
}
