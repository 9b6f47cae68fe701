//! `zoo train` then `zoo eval` on the real MNIST sample: artifacts, determinism, reproduction.

use std::path::Path;

use zoo_tests::{assert_svg_names, mnist_sample, png_size, summary, zoo};

fn losses(run: &Path) -> Vec<String> {
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|line| line.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn a_run_writes_every_artifact_and_eval_reproduces_its_test_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("run");
    let run = zoo(
        tmp.path(),
        &[
            "train",
            "--model",
            "mnist-lstm",
            "--train-limit",
            "600",
            "--epochs",
            "2",
            "--batch-size",
            "50",
            "--data-dir",
            mnist_sample().to_str().unwrap(),
            "--out",
            run_dir.to_str().unwrap(),
        ],
    );
    run.assert_ok();
    assert!(
        run.stdout.contains("Train Epoch: 1 [50/600 (8%)]\tLoss: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Test set: Average loss: "),
        "{}",
        run.stdout
    );

    for file in [
        "config.toml",
        "model.mpk",
        "metrics.csv",
        "summary.json",
        "checkpoint/model-2.mpk",
    ] {
        assert!(run_dir.join(file).is_file(), "missing {file}");
    }
    // The pictures: both panels of the curves, both splits; the 10×10 confusion matrix.
    assert_svg_names(
        &run_dir.join("curves.svg"),
        &[
            "loss per epoch",
            "accuracy per epoch",
            "train loss",
            "valid loss",
            "train accuracy",
            "valid accuracy",
            "epoch",
        ],
    );
    assert_eq!(png_size(&run_dir.join("curves.png")), (1100, 420));
    let (width, height) = png_size(&run_dir.join("confusion.png"));
    assert!(
        width >= 10 * 24 && height >= 10 * 24,
        "confusion.png is {width}×{height}"
    );
    let csv = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "epoch,split,loss,accuracy,seconds");
    let splits: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(splits, ["train", "valid", "train", "valid"]);

    let s = summary(&run_dir);
    for key in [
        "model",
        "backend",
        "device",
        "epochs",
        "train_samples",
        "test_accuracy",
        "test_loss",
        "seconds_per_epoch",
        "samples_per_second",
    ] {
        assert!(
            s.get(key).is_some_and(|v| !v.is_null()),
            "summary lacks {key}: {s}"
        );
    }
    assert_eq!(s["model"], "mnist-lstm");
    assert_eq!(s["backend"], "ndarray");
    assert_eq!(s["train_samples"], 600);
    assert_eq!(s["test_samples"], 10_000);
    // Two epochs on 600 digits from the default seed: 0.5264 (2-core Intel Xeon, 2026-12-07).
    // Still in its steepest learning, the figure moves by a few points with the CPU's matrix
    // kernels (AVX-512 or AVX2 round differently), so 0.08 either way is held.
    let accuracy = s["test_accuracy"].as_f64().unwrap();
    assert!((accuracy - 0.5264).abs() <= 0.08, "{accuracy}");
    assert!(s["seconds_per_epoch"].as_f64().unwrap() > 0.0);

    let eval = zoo(tmp.path(), &["eval", "--run", run_dir.to_str().unwrap()]);
    eval.assert_ok();
    let correct = s["test_correct"].as_u64().unwrap();
    assert!(
        eval.stdout.contains(&format!("Accuracy: {correct}/10000 ")),
        "eval does not reproduce {correct}/10000:\n{}",
        eval.stdout
    );
    assert!(
        eval.stdout.contains("reproduced exactly"),
        "{}",
        eval.stdout
    );
}

#[test]
fn the_same_seed_writes_identical_losses_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let train = |name: &str, seed: &str| {
        let dir = tmp.path().join(name);
        zoo(
            tmp.path(),
            &[
                "train",
                "--model",
                "mnist-lstm-small",
                "--train-limit",
                "400",
                "--epochs",
                "2",
                "--seed",
                seed,
                "--data-dir",
                mnist_sample().to_str().unwrap(),
                "--out",
                dir.to_str().unwrap(),
            ],
        )
        .assert_ok();
        losses(&dir)
    };
    let first = train("a", "7");
    assert_eq!(first.len(), 4);
    assert_eq!(first, train("b", "7"), "same seed, different losses");
    assert_ne!(first, train("c", "8"), "the seed has no effect");
}

#[test]
fn a_partial_config_file_changes_only_its_keys_and_is_written_back_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("tiny.toml");
    std::fs::write(
        &config,
        "[model]\nname = \"mnist-lstm\"\nhidden_size = 16\nnum_layers = 1\n\n[train]\nepochs = 1\n",
    )
    .unwrap();
    let run_dir = tmp.path().join("run");
    zoo(
        tmp.path(),
        &[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--train-limit",
            "200",
            "--data-dir",
            mnist_sample().to_str().unwrap(),
            "--out",
            run_dir.to_str().unwrap(),
        ],
    )
    .assert_ok();
    let written = std::fs::read_to_string(run_dir.join("config.toml")).unwrap();
    assert!(written.contains("hidden_size = 16"), "{written}");
    assert!(
        written.contains("batch_size = 100"),
        "defaults missing: {written}"
    );
    // LSTM 28->16 (4*16*(28+16) weights + 2*4*16 biases) + Linear 16->10.
    assert_eq!(
        summary(&run_dir)["parameters"],
        4 * 16 * (28 + 16) + 2 * 4 * 16 + 16 * 10 + 10
    );
    assert_eq!(summary(&run_dir)["epochs"], 1);

    // The written config repeats the run.
    let again = tmp.path().join("again");
    zoo(
        tmp.path(),
        &[
            "train",
            "--config",
            run_dir.join("config.toml").to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ],
    )
    .assert_ok();
    assert_eq!(losses(&run_dir), losses(&again));
}
