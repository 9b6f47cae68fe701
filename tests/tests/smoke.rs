//! The commands no other test runs end to end: `zoo pack` makes a folder that `zoo eval` scores
//! as it says, `zoo bench` times steps and prints its table, and `mnist-gru` trains.

use zoo_tests::{mnist_sample, summary, zoo};

#[test]
fn pack_writes_a_shipped_models_folder_that_eval_reproduces() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let args = [
        "train",
        "--model",
        "classification",
        "--out",
        run.to_str().unwrap(),
    ];
    zoo(tmp.path(), &args).assert_ok();
    let packed = tmp.path().join("packed");
    let pack = zoo(
        tmp.path(),
        &[
            "pack",
            "--run",
            run.to_str().unwrap(),
            "--out",
            packed.to_str().unwrap(),
        ],
    );
    pack.assert_ok();
    let mut files: Vec<String> = std::fs::read_dir(&packed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "README.md",
            "config.toml",
            "model.json",
            "model.mpk",
            "score.json"
        ]
    );
    // Half precision: the packed weights are smaller than the run's.
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&packed.join("model.mpk")) < size(&run.join("model.mpk")));
    // score.json holds what the packed weights score, which eval of the folder reproduces.
    let score: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(packed.join("score.json")).unwrap()).unwrap();
    let eval = zoo(tmp.path(), &["eval", "--run", packed.to_str().unwrap()]);
    eval.assert_ok();
    let line = format!("Accuracy: {}/{} ", score["correct"], score["count"]);
    assert!(eval.stdout.contains(&line), "{line}\n{}", eval.stdout);
    assert_eq!(score["count"], 200);
    // Within a point of the full-precision run's figure.
    let full = summary(&run)["test_correct"].as_u64().unwrap();
    assert!(
        full.abs_diff(score["correct"].as_u64().unwrap()) <= 2,
        "{full} {score}"
    );
    let about = std::fs::read_to_string(packed.join("README.md")).unwrap();
    assert!(
        about.contains("zoo eval --pretrained classification"),
        "{about}"
    );
}

#[test]
fn bench_times_two_steps_of_each_case_and_prints_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let out = zoo(
        tmp.path(),
        &[
            "bench",
            "--case",
            "classification",
            "--case",
            "classification/tensor-ops",
            "--steps",
            "2",
            "--warmup",
            "1",
        ],
    );
    out.assert_ok();
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("| classification"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    for row in rows {
        let ms: f64 = row.split('|').nth(4).unwrap().trim().parse().unwrap();
        assert!(ms > 0.0 && ms.is_finite(), "{row}");
    }
    let err = zoo(
        tmp.path(),
        &["bench", "--case", "resnet-50", "--steps", "2"],
    );
    assert!(err.error_line().contains("no benchmark case `resnet-50`"));
}

#[test]
fn mnist_gru_trains_and_reloads() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("gru");
    let data = mnist_sample();
    let args = [
        "train",
        "--model",
        "mnist-gru",
        "--epochs",
        "1",
        "--train-limit",
        "500",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ];
    zoo(tmp.path(), &args).assert_ok();
    let s = summary(&run);
    assert_eq!(s["model"], "mnist-gru");
    assert_eq!(s["train_samples"], 500);
    // One epoch on 500 digits from the default seed: 0.3317 (2-core Intel Xeon, 2026-12-07);
    // early in training the figure moves by a few points with the CPU's rounding, so 0.08
    // either way is held.
    let accuracy = s["test_accuracy"].as_f64().unwrap();
    assert!((accuracy - 0.3317).abs() <= 0.08, "{accuracy}");
    let eval = zoo(tmp.path(), &["eval", "--run", run.to_str().unwrap()]);
    assert!(
        eval.assert_ok().stdout.contains("reproduced exactly"),
        "{}",
        eval.stdout
    );
}
